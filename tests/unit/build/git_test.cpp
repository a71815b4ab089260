#include "build/git.hpp"

#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::build {
namespace {

namespace fs = std::filesystem;

const std::string kLocked = "1111111111111111111111111111111111111111";
const std::string kMoved = "2222222222222222222222222222222222222222";

// Records calls; checkout writes a minimal project.
class FakeGit : public GitClient {
 public:
  std::vector<RemoteRef> refs;
  int listed = 0, checkouts = 0;
  Result<std::vector<RemoteRef>> list_refs(const std::string&) override {
    ++listed;
    return refs;
  }
  Result<void> checkout(const std::string&, const std::string&, const fs::path& dest) override {
    ++checkouts;
    fs::create_directories(dest / "sub");
    (void)util::write_file_atomic(dest / "pyproject.toml", "[project]\n");
    (void)util::write_file_atomic(dest / "sub" / "setup.py", "");
    return {};
  }
};

TEST(ResolveReference, BranchesThenPeeledTagsThenFullNames) {
  std::vector<RemoteRef> refs = {{kMoved, "HEAD"},
                                 {kLocked, "refs/heads/main"},
                                 {"3333333333333333333333333333333333333333", "refs/tags/v1"},
                                 {kMoved, "refs/tags/v1^{}"}};
  EXPECT_EQ(resolve_reference(refs, "main"), kLocked);
  EXPECT_EQ(resolve_reference(refs, "v1"), kMoved);
  EXPECT_EQ(resolve_reference(refs, ""), kMoved);
  EXPECT_EQ(resolve_reference(refs, "HEAD"), kMoved);
  EXPECT_EQ(resolve_reference(refs, "refs/heads/main"), kLocked);
  EXPECT_EQ(resolve_reference(refs, "gone"), "");
}

TEST(GitSource, ChecksOutOnceAndKeysByCommitAndSubdirectory) {
  testing::TempDir tmp;
  FakeGit git;
  git.refs = {{kLocked, "refs/heads/main"}};
  GitSpec spec{"demo 1.0", "git+https://example.invalid/demo.git", "main", kLocked, ""};
  auto tree = git_source(git, spec, tmp.path());
  ASSERT_TRUE(tree) << tree.error().message;
  EXPECT_EQ(tree->source_key, "git:" + kLocked);
  EXPECT_EQ(tree->tree, tmp.path() / "sources" / "git" / kLocked / "checkout");
  spec.subdirectory = "sub";
  auto sub = git_source(git, spec, tmp.path());
  ASSERT_TRUE(sub) << sub.error().message;
  EXPECT_EQ(sub->source_key, "git:" + kLocked + ":sub");
  EXPECT_EQ(git.checkouts, 1);
  EXPECT_EQ(git.listed, 2);  // the ref is checked every time, cached or not
}

TEST(GitSource, AMovedRefFailsBeforeAnyCheckout) {
  testing::TempDir tmp;
  FakeGit git;
  git.refs = {{kMoved, "refs/heads/main"}};
  auto tree =
      git_source(git, {"demo 1.0", "https://example.invalid/demo.git", "main", kLocked, ""}, tmp.path());
  ASSERT_FALSE(tree);
  EXPECT_NE(tree.error().message.find("demo 1.0: https://example.invalid/demo.git \"main\" now points at " +
                                      kMoved),
            std::string::npos)
      << tree.error().message;
  EXPECT_EQ(git.checkouts, 0);
}

TEST(GitSource, RevisionsNeedNoLookupAndShortCommitsAreRefused) {
  testing::TempDir tmp;
  FakeGit git;
  auto by_rev =
      git_source(git, {"demo 1.0", "https://example.invalid/demo.git", "1111111", kLocked, ""}, tmp.path());
  ASSERT_TRUE(by_rev) << by_rev.error().message;
  EXPECT_EQ(git.listed, 0);
  auto short_commit =
      git_source(git, {"demo 1.0", "https://example.invalid/demo.git", "main", "1111111", ""}, tmp.path());
  ASSERT_FALSE(short_commit);
  EXPECT_EQ(short_commit.error().kind, ErrorKind::usage);
  EXPECT_NE(short_commit.error().message.find("no full commit"), std::string::npos);
}

TEST(VerifyReference, AMovedRefFailsWithoutACheckoutAndMemoGitAsksOncePerUrl) {
  FakeGit git;
  git.refs = {{kMoved, "refs/heads/main"}};
  MemoGit memo(git);
  GitSpec spec{"demo 1.0", "git+https://example.invalid/demo.git", "main", kLocked, ""};
  auto moved = verify_reference(memo, spec);
  ASSERT_FALSE(moved);
  EXPECT_NE(moved.error().message.find("demo 1.0: https://example.invalid/demo.git \"main\" now points at " +
                                       kMoved),
            std::string::npos)
      << moved.error().message;
  testing::TempDir tmp;
  EXPECT_FALSE(git_source(memo, spec, tmp.path()));  // the build's check: the remembered refs
  EXPECT_EQ(git.listed, 1);
  EXPECT_EQ(git.checkouts, 0);
  spec.reference = "gone";  // a ref the remote no longer has: the locked commit is still fetched
  EXPECT_TRUE(verify_reference(memo, spec));
}

}  // namespace
}  // namespace strata::build
