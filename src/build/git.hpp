#pragma once
// Git sources (SPEC "Builds"): a checkout at exactly the commit the lock names, refused when the
// locked branch or tag now points elsewhere. The repository is reached through one small seam
// (GitClient); GitCli runs the `git` command-line program.

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "build/source.hpp"
#include "util/error.hpp"

namespace strata::build {

/// One ref a remote repository advertises.
struct RemoteRef {
  std::string commit;  ///< 40 hex digits (for an annotated tag's "^{}" entry: the tagged commit)
  std::string name;    ///< e.g. "refs/heads/main", "refs/tags/v1.0^{}", "HEAD"
};

/// The git operations a git source needs.
class GitClient {
 public:
  virtual ~GitClient() = default;
  /// Every ref `url` advertises now (`git ls-remote`).
  virtual Result<std::vector<RemoteRef>> list_refs(const std::string& url) = 0;
  /// Makes `dest` (absent; its parent exists) a checkout of `url` at `commit`, with submodules,
  /// and fails unless HEAD is then exactly `commit`.
  virtual Result<void> checkout(const std::string& url, const std::string& commit,
                                const std::filesystem::path& dest) = 0;
};

/// GitClient over the `git` program on PATH; never prompts for credentials. A missing `git` is
/// one error line that says so.
class GitCli : public GitClient {
 public:
  Result<std::vector<RemoteRef>> list_refs(const std::string& url) override;
  Result<void> checkout(const std::string& url, const std::string& commit,
                        const std::filesystem::path& dest) override;
};

/// What the lock says about a git source.
struct GitSpec {
  std::string package;    ///< "name version", for messages
  std::string url;        ///< repository URL (a "git+" prefix is dropped) or local path
  std::string reference;  ///< the branch, tag or revision asked for ("" or "HEAD": the default branch)
  std::string commit;     ///< the locked commit, 40 hex digits
  std::string subdirectory;
};

/// The commit `reference` names among `refs` ("" when it names none): a branch, then a tag
/// (peeled), then a full ref name or "HEAD".
std::string resolve_reference(const std::vector<RemoteRef>& refs, const std::string& reference);

/// Fails when the commit is not a full sha, or when a named branch or tag now resolves to another
/// commit than the locked one (the ref moved: the lock is out of date). A revision given as the
/// commit (or a prefix of it) needs no look-up; a ref the remote no longer has is not an error.
Result<void> verify_reference(GitClient& git, const GitSpec& spec);

/// Remembers each URL's refs for the lifetime of one install, so that a source verified before
/// anything changes is not asked again when it is built. Thread-safe.
class MemoGit : public GitClient {
 public:
  explicit MemoGit(GitClient& inner) : inner_(inner) {}
  Result<std::vector<RemoteRef>> list_refs(const std::string& url) override;
  Result<void> checkout(const std::string& url, const std::string& commit,
                        const std::filesystem::path& dest) override {
    return inner_.checkout(url, commit, dest);
  }

 private:
  GitClient& inner_;
  std::mutex mutex_;
  std::map<std::string, std::vector<RemoteRef>> refs_;
};

/// The source tree of a git package: the locked commit checked out once into
/// <cache_root>/sources/git/<commit>/ (source key "git:<commit>[:<subdir>]"). Fails, before any
/// checkout, as verify_reference does.
Result<SourceTree> git_source(GitClient& git, const GitSpec& spec, const std::filesystem::path& cache_root);

}  // namespace strata::build
