// Unit tests for layer manifests (docs/layer-manifest.md): the writer's sorted, stable bytes, the
// reader's round trip into the Lock model, its errors, and detection by content in lock/load.

#include <gtest/gtest.h>

#include "lock/load.hpp"
#include "lock/manifest.hpp"
#include "lock/pylock.hpp"
#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::lock {
namespace {

constexpr std::string_view kPylock = R"L(lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "Zope.Interface"
version = "7.1"
index = "https://user:secret@private.example/simple"
wheels = [{name = "zope.interface-7.1-cp311-cp311-manylinux_2_17_x86_64.whl", url = "https://user:secret@private.example/files/z.whl", size = 250, hashes = {sha256 = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"}},
          {name = "zope.interface-7.1-cp310-cp310-manylinux_2_17_x86_64.whl", url = "https://private.example/files/y.whl", size = 240, hashes = {sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}]

[[packages]]
name = "attrs"
version = "24.2.0"
requires-python = ">=3.7"
wheels = [{name = "attrs-24.2.0-py3-none-any.whl", url = "https://files/attrs-24.2.0-py3-none-any.whl", size = 63001, hashes = {sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", md5 = "01010101010101010101010101010101"}}]

[[packages]]
name = "local-wheel"
version = "1.0"
archive = {path = "wheels/local_wheel-1.0-py3-none-any.whl", hashes = {sha256 = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"}}

[[packages]]
name = "mylib"
vcs = {type = "git", url = "https://tok@git.example/mylib.git", requested-revision = "main", commit-id = "abc123", subdirectory = "lib"}

[[packages]]
name = "tree"
directory = {path = "../tree", editable = true}
)L";

Lock pylock() {
  auto lock = read_pylock(kPylock, "pylock.toml");
  EXPECT_TRUE(lock) << lock.error().message;
  return lock ? *lock : Lock{};
}

void add_private_source(Lock& lock) {
  Source source;
  source.name = "private";
  source.url = lock.packages[0].source.url;
  lock.sources.push_back(source);
}

std::vector<const Package*> all(const Lock& lock) {
  std::vector<const Package*> out;
  for (const auto& p : lock.packages) out.push_back(&p);
  return out;
}

TEST(Manifest, WritesSortedStableBytes) {
  Lock lock = pylock();
  add_private_source(lock);
  std::string text = write_manifest(lock, "webapp", "bucket-03", all(lock));
  EXPECT_EQ(text, R"(# strata layer manifest; install with: strata install --layer <this file> --env <venv>
manifest-version = 1
project = "webapp"
layer = "bucket-03"

[[packages]]
name = "attrs"
version = "24.2.0"
requires-python = ">=3.7"

[[packages.artifacts]]
name = "attrs-24.2.0-py3-none-any.whl"
url = "https://files/attrs-24.2.0-py3-none-any.whl"
hashes = { md5 = "01010101010101010101010101010101", sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }
size = 63001

[[packages]]
name = "local-wheel"
version = "1.0"
kind = "file"
path = "wheels/local_wheel-1.0-py3-none-any.whl"

[[packages.artifacts]]
name = "local_wheel-1.0-py3-none-any.whl"
path = "wheels/local_wheel-1.0-py3-none-any.whl"
hashes = { sha256 = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd" }

[[packages]]
name = "mylib"
kind = "vcs"
url = "https://git.example/mylib.git"
vcs = "git"
requested-revision = "main"
commit = "abc123"
subdirectory = "lib"

[[packages]]
name = "tree"
kind = "directory"
path = "../tree"
editable = true

[[packages]]
name = "zope-interface"
version = "7.1"
index = "https://private.example/simple"
source = "private"

[[packages.artifacts]]
name = "zope.interface-7.1-cp310-cp310-manylinux_2_17_x86_64.whl"
url = "https://private.example/files/y.whl"
hashes = { sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" }
size = 240

[[packages.artifacts]]
name = "zope.interface-7.1-cp311-cp311-manylinux_2_17_x86_64.whl"
url = "https://private.example/files/z.whl"
hashes = { sha256 = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" }
size = 250
)");
  // The project is part of the bytes (another project's layer is another owner); without one
  // (a manifest of an older strata) the key is left out and reads back empty.
  EXPECT_NE(write_manifest(lock, "billing", "bucket-03", all(lock)), text);
  std::string anonymous = write_manifest(lock, "", "bucket-03", all(lock));
  EXPECT_EQ(anonymous.find("project ="), std::string::npos);
  auto read = load_manifest(anonymous, "03-bucket-03.toml");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->layer_project, "");
  // The order packages are given in does not matter.
  auto reversed = all(lock);
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(write_manifest(lock, "webapp", "bucket-03", reversed), text);
}

TEST(Manifest, NeverWritesUserinfo) {
  Lock lock = pylock();
  std::string text = write_manifest(lock, "webapp", "private", all(lock));
  EXPECT_EQ(text.find("secret"), std::string::npos);
  EXPECT_EQ(text.find("tok@"), std::string::npos);
  EXPECT_EQ(text.find("user"), std::string::npos);
}

TEST(Manifest, LeavesOutAUrlWhoseQueryCarriesACredential) {
  Lock lock = pylock();
  ASSERT_FALSE(lock.packages.empty());
  ASSERT_FALSE(lock.packages[0].artifacts.empty());
  lock.packages[0].artifacts[0].url = "https://files.example/attrs.whl?X-Amz-Signature=deadbeef&v=1";
  std::string text = write_manifest(lock, "webapp", "private", all(lock));
  EXPECT_EQ(text.find("deadbeef"), std::string::npos);
  EXPECT_EQ(text.find("files.example"), std::string::npos);
  EXPECT_NE(text.find(lock.packages[0].artifacts[0].filename), std::string::npos);
}

TEST(Manifest, RoundTripsIntoTheLockModel) {
  Lock lock = pylock();
  std::string text = write_manifest(lock, "webapp", "top", all(lock));
  auto read = load_manifest(text, "05-top.toml");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->format, Format::manifest);
  EXPECT_EQ(read->layer, "top");
  EXPECT_EQ(read->layer_project, "webapp");
  EXPECT_EQ(read->project_name, "");
  EXPECT_TRUE(read->groups.empty());
  ASSERT_EQ(read->packages.size(), 5u);
  const Package& attrs = read->packages[0];
  EXPECT_EQ(attrs.name, "attrs");
  EXPECT_EQ(attrs.version_text, "24.2.0");
  EXPECT_EQ(attrs.requires_python, ">=3.7");
  ASSERT_EQ(attrs.artifacts.size(), 1u);
  EXPECT_EQ(attrs.artifacts[0].kind, Artifact::Kind::wheel);
  EXPECT_EQ(attrs.artifacts[0].size, 63001u);
  EXPECT_EQ(attrs.artifacts[0].hashes.at("sha256"), std::string(64, 'a'));
  EXPECT_EQ(read->packages[1].source.kind, SourceKind::file);
  const Package& mylib = read->packages[2];
  EXPECT_EQ(mylib.source.kind, SourceKind::vcs);
  EXPECT_EQ(mylib.source.commit_id, "abc123");
  EXPECT_EQ(mylib.source.subdirectory, "lib");
  EXPECT_TRUE(read->packages[3].source.editable);
  const Package& zope = read->packages[4];
  EXPECT_EQ(zope.source.kind, SourceKind::index);
  EXPECT_EQ(zope.source.url, "https://private.example/simple");
  // Writing what was read gives the same bytes.
  EXPECT_EQ(write_manifest(*read, "webapp", "top", all(*read)), text);

  // Every package is selected, whatever the target.
  SelectionRequest request;
  request.python_full_version = "3.11.7";
  auto selection = select(*read, request);
  ASSERT_TRUE(selection) << selection.error().message;
  EXPECT_EQ(selection->packages.size(), 5u);
}

TEST(Manifest, NamedSourcesBecomeLockSources) {
  Lock lock = pylock();
  add_private_source(lock);
  auto read = load_manifest(write_manifest(lock, "webapp", "x", {&lock.packages[0]}), "m.toml");
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->sources.size(), 1u);
  EXPECT_EQ(read->sources[0].name, "private");
  EXPECT_EQ(read->sources[0].url, "https://private.example/simple");
  EXPECT_EQ(read->packages[0].source.name, "private");
}

TEST(Manifest, RelocatesRelativePaths) {
  Lock lock = pylock();
  std::string text = write_manifest(lock, "webapp", "x", {&lock.packages[2], &lock.packages[4]}, "..");
  EXPECT_NE(text.find("path = \"../wheels/local_wheel-1.0-py3-none-any.whl\""), std::string::npos) << text;
  EXPECT_NE(text.find("path = \"../../tree\""), std::string::npos) << text;
}

TEST(Manifest, ABumpChangesOnlyThatPackagesEntry) {
  Lock lock = pylock();
  std::string before = write_manifest(lock, "webapp", "x", {&lock.packages[1]});
  lock.packages[0].version_text = "7.2";  // another package
  EXPECT_EQ(write_manifest(lock, "webapp", "x", {&lock.packages[1]}), before);
}

struct BadCase {
  std::string text;
  std::string expected;  // a substring of the message
};

TEST(Manifest, BadInputIsAUsageErrorWithLineAndColumn) {
  const std::string head = "manifest-version = 1\nlayer = \"x\"\n";
  std::vector<BadCase> cases = {
      {head + "colour = \"red\"\n", "m.toml:3:10: unknown key \"colour\" in the manifest"},
      {head + "[[packages]]\nname = \"a\"\nversion = \"1\"\nmarker = \"x\"\n",
       "m.toml:6:10: unknown key \"marker\" in [[packages]]"},
      {head + "[[packages]]\nname = \"a\"\nversion = \"1\"\n[[packages.artifacts]]\nname = \"a.whl\"\n"
              "hashes = { sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\" "
              "}\nsha = 1\n",
       "m.toml:9:7: unknown key \"sha\" in an artifact"},
      {"manifest-version = 2\nlayer = \"x\"\n", "m.toml:1:20: unsupported manifest-version 2"},
      {"layer = \"x\"\n", "missing \"manifest-version\""},
      {head + "project = \"\"\n", "m.toml:3:11: empty \"project\""},
      {head + "project = 3\n", "m.toml:3:11:"},
      {head + "[[packages]]\nname = \"a\"\n", "m.toml:3:1: missing \"version\" for package \"a\""},
      {head + "[[packages]]\nname = \"a\"\nversion = \"1\"\nkind = \"svn\"\n",
       "m.toml:6:8: unknown kind \"svn\""},
      {head + "[[packages]]\nname = \"a\"\nversion = \"1\"\n[[packages]]\nname = \"A\"\nversion = \"2\"\n",
       "package \"a\" appears twice"},
      {head + "[[packages]]\nname = \"a\"\nversion = \"1\"\n[[packages.artifacts]]\nname = \"a.whl\"\n",
       "missing \"hashes\" in an artifact"},
  };
  for (const auto& c : cases) {
    auto lock = load_manifest(c.text, "m.toml");
    ASSERT_FALSE(lock) << c.text;
    EXPECT_EQ(lock.error().kind, ErrorKind::usage);
    EXPECT_NE(lock.error().message.find(c.expected), std::string::npos)
        << "got: " << lock.error().message << "\nwanted: " << c.expected;
  }
}

TEST(Manifest, DetectedByContentWhateverItsName) {
  Lock lock = pylock();
  std::string text = write_manifest(lock, "webapp", "frameworks", {&lock.packages[1]});
  EXPECT_TRUE(looks_like_manifest(text));
  EXPECT_FALSE(looks_like_manifest(kPylock));
  auto parsed = parse_lock(text, "layers/03-frameworks.toml");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, Format::manifest);
  EXPECT_EQ(parsed->layer, "frameworks");

  // `install FILE` and `install --layer FILE` find it the same way.
  testing::TempDir dir;
  auto file = dir.path() / "03-frameworks.toml";
  ASSERT_TRUE(util::write_file_atomic(file, text));
  auto files = find_lock(file);
  ASSERT_TRUE(files) << files.error().message;
  EXPECT_EQ(files->format, Format::manifest);
  auto loaded = load_lock(file);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->layer, "frameworks");
  EXPECT_EQ(loaded->packages.size(), 1u);
}

}  // namespace
}  // namespace strata::lock
