#include "build/git.hpp"

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::build {
namespace fs = std::filesystem;
namespace {

bool is_hex(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789abcdef") == s.npos; }

std::string repository_url(const GitSpec& spec) {
  return spec.url.starts_with("git+") ? spec.url.substr(4) : spec.url;
}

// `git` with options that keep it from prompting or reading the user's pager and editor.
std::vector<std::string> git_command(std::initializer_list<std::string> args) {
  std::vector<std::string> argv = {"git",
                                   "-c",
                                   "core.askPass=true",
                                   "-c",
                                   "advice.detachedHead=false",
                                   "-c",
                                   "protocol.file.allow=always"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Result<util::ProcessOutput> run_git(const std::vector<std::string>& argv, std::string_view what) {
  auto out = util::run_process(argv);
  if (!out) {
    if (out.error().message.find(std::strerror(ENOENT)) != std::string::npos)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: needs the `git` program, which is not on PATH (install git, e.g. "
                              "`apt-get install git`)",
                              what));
    return std::unexpected(out.error());
  }
  return out;
}

Result<void> git_ok(const std::vector<std::string>& argv, std::string_view what) {
  auto out = run_git(argv, what);
  if (!out) return std::unexpected(out.error());
  if (out->exit_code != 0) {
    std::string err(util::trim(out->err));
    std::size_t sub = 7;  // after git_command's options (and "-C DIR")
    if (sub + 2 < argv.size() && argv[sub] == "-C") sub += 2;
    return fail(ErrorKind::runtime, fmt::format("{}: `git {}` failed (exit {}): {}", what, argv[sub],
                                                out->exit_code, err.empty() ? "no output" : err));
  }
  return {};
}

}  // namespace

Result<std::vector<RemoteRef>> GitCli::list_refs(const std::string& url) {
  const std::string what = util::redact_url(url);
  auto out = run_git(git_command({"ls-remote", "--", url}), what);
  if (!out) return std::unexpected(out.error());
  if (out->exit_code != 0)
    return fail(ErrorKind::runtime, fmt::format("{}: `git ls-remote` failed (exit {}): {}", what,
                                                out->exit_code, util::trim(out->err)));
  std::vector<RemoteRef> refs;
  for (auto line : util::split(out->out, '\n')) {
    auto tab = line.find('\t');
    if (tab == line.npos) continue;
    refs.push_back({std::string(line.substr(0, tab)), std::string(util::trim(line.substr(tab + 1)))});
  }
  return refs;
}

Result<void> GitCli::checkout(const std::string& url, const std::string& commit, const fs::path& dest) {
  const std::string what = fmt::format("{} at {}", util::redact_url(url), commit);
  const std::string dir = dest.string();
  if (auto ok = git_ok(git_command({"clone", "--quiet", "--no-checkout", "--", url, dir}), what); !ok)
    return ok;
  // A commit no advertised ref reaches (an old branch head) may still be fetchable by its sha.
  auto have = run_git(git_command({"-C", dir, "cat-file", "-e", commit + "^{commit}"}), what);
  if (!have) return std::unexpected(have.error());
  if (have->exit_code != 0)
    if (auto ok = git_ok(git_command({"-C", dir, "fetch", "--quiet", "origin", commit}), what); !ok)
      return ok;
  if (auto ok = git_ok(git_command({"-C", dir, "checkout", "--quiet", "--detach", commit}), what); !ok)
    return ok;
  if (fs::exists(dest / ".gitmodules"))
    if (auto ok =
            git_ok(git_command({"-C", dir, "submodule", "update", "--quiet", "--init", "--recursive"}), what);
        !ok)
      return ok;
  auto head = run_git(git_command({"-C", dir, "rev-parse", "HEAD"}), what);
  if (!head) return std::unexpected(head.error());
  if (util::trim(head->out) != commit)
    return fail(ErrorKind::runtime,
                fmt::format("{}: the checkout is at {}, not the locked commit", what, util::trim(head->out)));
  return {};
}

Result<std::vector<RemoteRef>> MemoGit::list_refs(const std::string& url) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = refs_.find(url); it != refs_.end()) return it->second;
  }
  auto refs = inner_.list_refs(url);
  if (!refs) return refs;
  std::lock_guard lock(mutex_);
  return refs_.try_emplace(url, std::move(*refs)).first->second;
}

std::string resolve_reference(const std::vector<RemoteRef>& refs, const std::string& reference) {
  auto find = [&](const std::string& name) -> std::string {
    for (const auto& r : refs)
      if (r.name == name) return r.commit;
    return {};
  };
  const std::string ref = reference.empty() ? std::string("HEAD") : reference;
  for (const std::string& name : {"refs/heads/" + ref, "refs/tags/" + ref + "^{}", "refs/tags/" + ref, ref}) {
    auto commit = find(name);
    if (!commit.empty()) return commit;
  }
  return {};
}

Result<void> verify_reference(GitClient& git, const GitSpec& spec) {
  const std::string url = repository_url(spec);
  const std::string commit = util::to_lower(spec.commit);
  if (commit.size() != 40 || !is_hex(commit))
    return fail(ErrorKind::usage,
                fmt::format("{}: the lock names no full commit for {} (got \"{}\"); strata installs git "
                            "sources only at an exact, locked commit",
                            spec.package, util::redact_url(url), spec.commit));
  // A revision given as a (short) sha is the commit itself; a branch or tag must still point at it.
  const std::string ref = spec.reference;
  const bool is_revision =
      ref.size() >= 7 && is_hex(util::to_lower(ref)) && commit.starts_with(util::to_lower(ref));
  if (is_revision || ref == commit) return {};
  auto refs = git.list_refs(url);
  if (!refs) return fail(refs.error().kind, fmt::format("{}: {}", spec.package, refs.error().message));
  std::string now = resolve_reference(*refs, ref);
  if (!now.empty() && now != commit)
    return fail(ErrorKind::runtime,
                fmt::format("{}: {} \"{}\" now points at {}, not the locked commit {}; the lock is out "
                            "of date (re-lock to take the new commit)",
                            spec.package, util::redact_url(url), ref.empty() ? "HEAD" : ref, now, commit));
  return {};
}

Result<SourceTree> git_source(GitClient& git, const GitSpec& spec, const fs::path& cache_root) {
  if (auto verified = verify_reference(git, spec); !verified) return std::unexpected(verified.error());
  const std::string url = repository_url(spec);
  const std::string commit = util::to_lower(spec.commit);
  const fs::path parent = cache_root / "sources" / "git";
  const fs::path dir = parent / commit;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    auto tmp = make_temp_dir(parent);
    if (!tmp) return std::unexpected(tmp.error());
    if (auto ok = git.checkout(url, commit, *tmp / "checkout"); !ok) {
      fs::remove_all(*tmp, ec);
      return fail(ok.error().kind, fmt::format("{}: {}", spec.package, ok.error().message));
    }
    if (auto ok = publish_dir(*tmp, dir); !ok) return std::unexpected(ok.error());
  }
  auto project = project_dir(dir / "checkout", spec.subdirectory, spec.package);
  if (!project) return std::unexpected(project.error());
  std::string key = "git:" + commit;
  if (!spec.subdirectory.empty()) key += ":" + spec.subdirectory;
  return SourceTree{*project, key, std::nullopt};
}

}  // namespace strata::build
