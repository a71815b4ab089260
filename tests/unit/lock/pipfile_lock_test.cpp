// Unit tests for the Pipfile.lock reader (lock/pipfile_lock.cpp), its selection and the Pipfile
// hash: hand-written locks in the shape pipenv 2026.10 writes (categories, sources, every entry
// kind, malformed input) and the real fixture pipenv wrote (tests/fixtures/locks/pipenv-webapp).
// Selections are compared with `pipenv requirements` in integration/test_pipfile_lock.py.

#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/paths.hpp"

#include "lock/content_hash.hpp"
#include "lock/load.hpp"
#include "lock/pipfile_lock.hpp"
#include "support/selection.hpp"
#include "util/fs.hpp"

namespace strata::lock {
namespace {

using testing::selected;
using testing::target;

constexpr std::string_view kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string app_lock() {
  return fmt::format(R"({{
    "_meta": {{
        "hash": {{"sha256": "feed"}},
        "pipfile-spec": 6,
        "requires": {{"python_version": "3.11"}},
        "sources": [
            {{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}},
            {{"name": "private", "url": "https://pkgs.example/simple", "verify_ssl": true}}
        ]
    }},
    "default": {{
        "Requests": {{"hashes": ["sha256:{0}", "SHA256:{0}"], "version": "==2.32.5"}},
        "colorama": {{"hashes": ["sha256:{0}"], "markers": "sys_platform == 'win32'", "version": "==0.4.6"}},
        "internal-lib": {{"hashes": ["sha256:{0}"], "index": "private", "version": "==1.2.0"}},
        "git-lib": {{"git": "git+https://git.example/git-lib.git", "ref": "7d65bd043e673c9c039549daa729f0475dfc5a0f"}},
        "vendored": {{"path": "./vendor/vendored", "editable": true}},
        "archive": {{"file": "https://files.example/archive-1.0.tar.gz", "hashes": ["sha256:{0}"]}},
        "tomli": {{"markers": "python_version < '3.11'", "version": "*"}}
    }},
    "develop": {{
        "pytest": {{"hashes": ["sha256:{0}"], "version": "==8.4.2"}},
        "requests": {{"hashes": ["sha256:{0}"], "version": "==2.32.5"}}
    }},
    "docs": {{
        "markdown": {{"hashes": ["sha256:{0}"], "markers": "python_version >= '3.9'", "version": "==3.9"}}
    }}
}}
)",
                     kHex);
}

std::string error_of(std::string_view text) {
  auto lock = read_pipfile_lock(text, "Pipfile.lock");
  return lock ? std::string("(no error)") : lock.error().message;
}

const Package& named(const Lock& lock, std::string_view name) {
  for (const auto& p : lock.packages)
    if (p.name == name) return p;
  throw std::runtime_error(fmt::format("no package {}", name));
}

TEST(PipfileLock, ReadsCategoriesSourcesHashesAndEntryKinds) {
  auto lock = read_pipfile_lock(app_lock(), "Pipfile.lock");
  ASSERT_TRUE(lock) << lock.error().message;
  EXPECT_EQ(lock->format, Format::pipfile);
  EXPECT_EQ(lock->lock_version, "6");
  EXPECT_EQ(lock->content_hash, "feed");
  ASSERT_EQ(lock->sources.size(), 2u);
  std::vector<std::string> groups;
  for (const auto& g : lock->groups) groups.push_back(g.name);
  EXPECT_EQ(groups, (std::vector<std::string>{"default", "dev", "docs"}));
  EXPECT_EQ(lock->default_groups, std::vector<std::string>{"default"});
  // requests is in default and develop: one package in two groups.
  ASSERT_EQ(lock->packages.size(), 9u);

  const Package& requests = named(*lock, "requests");
  EXPECT_EQ(requests.display_name, "Requests");
  EXPECT_EQ(requests.version_text, "2.32.5");
  ASSERT_EQ(requests.groups.size(), 2u);
  EXPECT_EQ(requests.groups[1].group, "dev");
  EXPECT_EQ(requests.source.kind, SourceKind::index);
  EXPECT_TRUE(requests.source.url.empty());  // PyPI: the default index
  ASSERT_EQ(requests.artifacts.size(), 2u);
  EXPECT_TRUE(is_hash_only(requests.artifacts[0]));
  EXPECT_EQ(requests.artifacts[1].hashes.at("sha256"), kHex);  // lower-cased algorithm

  EXPECT_EQ(named(*lock, "internal-lib").source.url, "https://pkgs.example/simple");
  EXPECT_EQ(named(*lock, "colorama").groups.at(0).marker->str(), R"(sys_platform == "win32")");

  const Package& git = named(*lock, "git-lib");
  EXPECT_EQ(git.source.kind, SourceKind::vcs);
  EXPECT_EQ(git.source.url, "https://git.example/git-lib.git");
  EXPECT_EQ(git.source.commit_id, "7d65bd043e673c9c039549daa729f0475dfc5a0f");

  const Package& vendored = named(*lock, "vendored");
  EXPECT_EQ(vendored.source.kind, SourceKind::directory);
  EXPECT_EQ(vendored.source.path, "./vendor/vendored");
  EXPECT_TRUE(vendored.source.editable);

  const Package& archive = named(*lock, "archive");
  EXPECT_EQ(archive.source.kind, SourceKind::url);
  ASSERT_EQ(archive.artifacts.size(), 1u);
  EXPECT_EQ(archive.artifacts[0].filename, "archive-1.0.tar.gz");
  EXPECT_EQ(archive.artifacts[0].kind, Artifact::Kind::sdist);
  EXPECT_EQ(archive.artifacts[0].url, "https://files.example/archive-1.0.tar.gz");
}

TEST(PipfileLock, SelectionFollowsCategoriesAndMarkers) {
  auto lock = read_pipfile_lock(app_lock(), "Pipfile.lock");
  ASSERT_TRUE(lock) << lock.error().message;
  auto main_only = select(*lock, target());
  ASSERT_TRUE(main_only) << main_only.error().message;
  // In the lock's key order (nlohmann::json keeps objects sorted, "Requests" first).
  EXPECT_EQ(selected(*main_only), (std::vector<std::string>{"requests==2.32.5", "archive==", "git-lib==",
                                                            "internal-lib==1.2.0", "vendored=="}));
  bool named_marker = false;
  for (const auto& e : main_only->excluded)
    named_marker =
        named_marker || (e.name == "colorama" && e.reason.find("marker is false") != std::string::npos);
  EXPECT_TRUE(named_marker);

  auto windows = select(*lock, target("3.11.7", "win32"));
  ASSERT_TRUE(windows);
  EXPECT_EQ(selected(*windows).at(2), "colorama==0.4.6");

  auto request = target();
  request.only = {"dev"};
  auto dev = select(*lock, request);
  ASSERT_TRUE(dev) << dev.error().message;
  EXPECT_EQ(selected(*dev), (std::vector<std::string>{"requests==2.32.5", "pytest==8.4.2"}));

  request = target();
  request.with = {"docs"};
  auto docs = select(*lock, request);
  ASSERT_TRUE(docs) << docs.error().message;
  EXPECT_EQ(selected(*docs).back(), "markdown==3.9");

  // tomli was skipped by pipenv (its marker was false where it locked): selecting it is an error.
  auto old = select(*lock, target("3.10.13"));
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().kind, ErrorKind::check);
  EXPECT_NE(old.error().message.find("Pipfile.lock: default.tomli: tomli is selected for this target, but "
                                     "the lock pins no version or hash for it"),
            std::string::npos)
      << old.error().message;
}

TEST(PipfileLock, MalformedInputNamesTheSpot) {
  EXPECT_NE(error_of("{\n  \"_meta\": {,\n}").find("Pipfile.lock:2:13: invalid JSON"), std::string::npos)
      << error_of("{\n  \"_meta\": {,\n}");
  EXPECT_NE(error_of("[]").find("expected a JSON object"), std::string::npos);
  EXPECT_NE(error_of("{\"default\": {}}").find("_meta: missing (is this a Pipfile.lock?)"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"_meta": {"pipfile-spec": 5}})").find("unsupported pipfile-spec 5"),
            std::string::npos);
  auto entry = [](std::string_view body) {
    return error_of(fmt::format(
        R"({{"_meta": {{"pipfile-spec": 6, "sources": [{{"name": "pypi", "url": "https://pypi.org/simple"}}]}}, "default": {{"a": {}}}}})",
        body));
  };
  EXPECT_NE(entry(R"({"version": ">=1"})").find("default.a.version: expected \"==<version>\", got \">=1\""),
            std::string::npos)
      << entry(R"({"version": ">=1"})");
  EXPECT_NE(entry(R"({"version": "==x y"})").find("invalid version"), std::string::npos);
  EXPECT_NE(entry(R"({"version": "==1", "hashes": ["sha256:xyz"]})").find("malformed hash \"sha256:xyz\""),
            std::string::npos);
  EXPECT_NE(entry(R"({"version": "==1", "hashes": "sha256:x"})").find("default.a.hashes: expected an array"),
            std::string::npos);
  EXPECT_NE(entry(R"({"version": "==1", "markers": "os =="})").find("default.a.markers: invalid marker"),
            std::string::npos);
  EXPECT_NE(entry(R"({"version": "==1", "index": "other"})").find("names the source \"other\""),
            std::string::npos);
  EXPECT_NE(entry(R"({"git": "https://g", "path": "."})").find("more than one of git, path and file"),
            std::string::npos);
  EXPECT_NE(entry(R"("==1")").find("default.a: expected an object"), std::string::npos);
  EXPECT_NE(error_of(R"({"_meta": {"sources": [{"name": "x"}]}})").find("source \"x\" has no url"),
            std::string::npos);
}

TEST(PipfileLock, DetectedByNameAndContent) {
  auto by_name = parse_lock(app_lock(), "some/dir/Pipfile.lock");
  ASSERT_TRUE(by_name) << by_name.error().message;
  EXPECT_EQ(by_name->format, Format::pipfile);
  auto by_content = parse_lock(app_lock(), "renamed.json");
  ASSERT_TRUE(by_content) << by_content.error().message;
  EXPECT_EQ(by_content->format, Format::pipfile);
  EXPECT_FALSE(looks_like_pipfile_lock("[metadata]\n_meta = 1\n"));
  auto unknown = parse_lock("[tool]\nx = 1\n", "other.toml");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("Pipfile.lock (`pipenv lock`)"), std::string::npos)
      << unknown.error().message;
}

// The real lock pipenv 2026.10.3 wrote: read whole, and its _meta.hash is the Pipfile's hash as
// pipenv computes it; a changed Pipfile has another.
TEST(PipfileLock, RealFixtureAndItsPipfileHash) {
  const auto dir = strata::testing::fixtures_dir() / "locks" / "pipenv-webapp";
  auto lock = load_lock(dir);
  ASSERT_TRUE(lock) << lock.error().message;
  EXPECT_EQ(lock->format, Format::pipfile);
  auto s = select(*lock, target("3.11.7"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_FALSE(s->packages.empty());
  auto pipfile = util::read_file(dir / "Pipfile");
  ASSERT_TRUE(pipfile) << pipfile.error().message;
  auto hash = pipfile_hash(*pipfile, "Pipfile");
  ASSERT_TRUE(hash) << hash.error().message;
  EXPECT_EQ(*hash, lock->content_hash);
  auto changed = pipfile_hash(*pipfile + "\n[extra-cat]\nsix = \"*\"\n", "Pipfile");
  ASSERT_TRUE(changed);
  EXPECT_NE(*changed, lock->content_hash);
}

}  // namespace
}  // namespace strata::lock
