#include "build/source.hpp"

#include <gtest/gtest.h>

#include "fetch/hash.hpp"
#include "support/tempdir.hpp"
#include "util/fs.hpp"
#include "wheel/archive.hpp"

namespace strata::build {
namespace {

namespace fs = std::filesystem;
using Kind = wheel::ZipMember::Kind;

void write(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  ASSERT_TRUE(util::write_file_atomic(path, text));
}

TEST(ArchiveSource, UnpacksAnSdistOnceAndUsesItsTopDirectory) {
  testing::TempDir tmp;
  const fs::path sdist = tmp.path() / "demo-1.0.tar.gz";
  ASSERT_TRUE(wheel::write_tar_gz(sdist, {{"./", "", 0755, Kind::directory},
                                          {"demo-1.0/pyproject.toml", "[project]\nname='demo'\n"},
                                          {"demo-1.0/demo/__init__.py", ""},
                                          {"demo-1.0/run.sh", "#!/bin/sh\n", 0755}}));
  auto sha = fetch::sha256_file(sdist);
  ASSERT_TRUE(sha);
  auto tree = archive_source(sdist, *sha, "", tmp.path() / "cache", {});
  ASSERT_TRUE(tree) << tree.error().message;
  EXPECT_EQ(tree->tree.filename(), "demo-1.0");
  EXPECT_EQ(tree->source_key, "sha256:" + *sha);
  EXPECT_EQ(tree->source_date_epoch, 315532800);  // write_tar_gz's member time
  EXPECT_TRUE(fs::exists(tree->tree / "demo" / "__init__.py"));
  EXPECT_NE(fs::status(tree->tree / "run.sh").permissions() & fs::perms::owner_exec, fs::perms::none);
  // A second call finds the tree in the cache, even with the archive gone.
  fs::remove(sdist);
  auto again = archive_source(sdist, *sha, "", tmp.path() / "cache", {});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->tree, tree->tree);
}

TEST(ArchiveSource, RefusesEscapingMembersAndLinksAndLeavesNothing) {
  testing::TempDir tmp;
  for (const auto& member : std::vector<wheel::ZipMember>{
           {"../evil.py", "x"}, {"demo-1.0/link", "/etc/passwd", 0777, Kind::symlink}, {"/abs.py", "x"}}) {
    const fs::path sdist = tmp.path() / "demo-1.0.tar.gz";
    ASSERT_TRUE(wheel::write_tar_gz(sdist, {{"demo-1.0/setup.py", "x"}, member}));
    auto tree = archive_source(sdist, std::string(64, 'a'), "", tmp.path() / "cache", {});
    ASSERT_FALSE(tree) << member.name;
    EXPECT_NE(tree.error().message.find("refusing entry"), std::string::npos) << tree.error().message;
    EXPECT_FALSE(fs::exists(tmp.path() / "cache" / "sources" / "archive" / std::string(64, 'a')));
    EXPECT_FALSE(fs::exists(tmp.path() / "evil.py"));
  }
}

TEST(ArchiveSource, ZipArchivesSubdirectoriesAndMissingProjects) {
  testing::TempDir tmp;
  const fs::path zip = tmp.path() / "mono.zip";
  ASSERT_TRUE(wheel::write_zip(zip, {{"mono/libs/a/pyproject.toml", "[project]\n"}, {"mono/README", "x"}}));
  auto tree = archive_source(zip, std::string(64, 'b'), "libs/a", tmp.path() / "cache", {});
  ASSERT_TRUE(tree) << tree.error().message;
  EXPECT_EQ(tree->tree.filename(), "a");
  auto missing = archive_source(zip, std::string(64, 'b'), "", tmp.path() / "cache", {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("mono.zip: no pyproject.toml or setup.py"), std::string::npos)
      << missing.error().message;
  auto escape = archive_source(zip, std::string(64, 'b'), "../x", tmp.path() / "cache", {});
  ASSERT_FALSE(escape);
  EXPECT_NE(escape.error().message.find("subdirectory \"../x\""), std::string::npos)
      << escape.error().message;
}

TEST(DirectorySource, KeysByContentAndCopiesWithoutVcsOrCaches) {
  testing::TempDir tmp;
  const fs::path project = tmp.path() / "proj";
  write(project / "pyproject.toml", "[project]\nname='p'\n");
  write(project / "p" / "__init__.py", "");
  write(project / ".git" / "HEAD", "ref: refs/heads/main\n");
  write(project / "p" / "__pycache__" / "x.pyc", "junk");
  auto first = directory_source(project, "", tmp.path() / "cache", true);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->source_key.starts_with("dir:"));
  EXPECT_EQ(first->tree.parent_path(), tmp.path() / "cache" / "sources" / "dir");
  EXPECT_TRUE(fs::exists(first->tree / "p" / "__init__.py"));
  EXPECT_FALSE(fs::exists(first->tree / ".git"));
  EXPECT_FALSE(fs::exists(first->tree / "p" / "__pycache__"));

  // VCS metadata and caches do not change the key; a source file does.
  write(project / ".git" / "HEAD", "ref: refs/heads/other\n");
  auto same = directory_source(project, "", tmp.path() / "cache", true);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->source_key, first->source_key);
  write(project / "p" / "__init__.py", "X = 1\n");
  auto changed = directory_source(project, "", tmp.path() / "cache", true);
  ASSERT_TRUE(changed);
  EXPECT_NE(changed->source_key, first->source_key);
  EXPECT_NE(changed->tree, first->tree);

  // Editable sources are used where they are.
  auto in_place = directory_source(project, "", tmp.path() / "cache", false);
  ASSERT_TRUE(in_place);
  EXPECT_EQ(in_place->tree, project);
  EXPECT_EQ(in_place->source_key, changed->source_key);
}

TEST(EditableKey, FollowsThePathAndBuildConfigurationNotTheSources) {
  testing::TempDir tmp;
  const fs::path project = tmp.path() / "proj";
  write(project / "pyproject.toml", "[project]\nname='p'\n");
  write(project / "p" / "__init__.py", "");
  auto first = editable_key(project);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->starts_with("editable:"));
  write(project / "p" / "__init__.py", "X = 1\n");
  EXPECT_EQ(editable_key(project).value(), *first);
  write(project / "setup.cfg", "[metadata]\n");
  auto with_cfg = editable_key(project);
  ASSERT_TRUE(with_cfg);
  EXPECT_NE(*with_cfg, *first);
  write(project / "pyproject.toml", "[project]\nname='p'\nversion='2'\n");
  EXPECT_NE(editable_key(project).value(), *with_cfg);
  fs::copy(project, tmp.path() / "moved", fs::copy_options::recursive);
  EXPECT_NE(editable_key(tmp.path() / "moved").value(), editable_key(project).value());
}

TEST(DirectorySource, MissingDirectoryIsNamed) {
  testing::TempDir tmp;
  auto missing = directory_source(tmp.path() / "nope", "", tmp.path() / "cache", true);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope: the locked directory does not exist"), std::string::npos);
}

}  // namespace
}  // namespace strata::build
