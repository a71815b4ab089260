// Unit tests for the lock readers (pylock.toml, poetry.lock + pyproject.toml), their error
// messages, Poetry constraints and selection on hand-written locks.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "lock/content_hash.hpp"
#include "lock/load.hpp"
#include "lock/poetry.hpp"
#include "lock/poetry_constraint.hpp"
#include "lock/pylock.hpp"

namespace strata::lock {
namespace {

SelectionRequest linux311() {
  SelectionRequest r;
  r.environment = {{"sys_platform", "linux"},         {"python_version", "3.11"},
                   {"python_full_version", "3.11.7"}, {"os_name", "posix"},
                   {"platform_machine", "x86_64"},    {"implementation_name", "cpython"},
                   {"platform_system", "Linux"},      {"platform_python_implementation", "CPython"}};
  r.python_full_version = "3.11.7";
  return r;
}

std::vector<std::string> names(const Selection& s) {
  std::vector<std::string> out;
  for (const auto& p : s.packages) out.push_back(p.name);
  return out;
}

constexpr std::string_view kPylock = R"L(lock-version = "1.0"
created-by = "hand"
requires-python = ">=3.9"
dependency-groups = ["dev"]
default-groups = []
extras = ["fast"]

[[packages]]
name = "Requests"
version = "2.32.3"
index = "https://pypi.org/simple"
wheels = [{name = "requests-2.32.3-py3-none-any.whl", url = "https://files/requests-2.32.3-py3-none-any.whl", size = 64928, hashes = {sha256 = "ABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCDABCD"}}]

[[packages]]
name = "pytest"
version = "8.0.0"
marker = "'dev' in dependency_groups"
wheels = [{url = "https://files/pytest-8.0.0-py3-none-any.whl", hashes = {sha256 = "0101010101010101010101010101010101010101010101010101010101010101"}}]

[[packages]]
name = "uvloop"
version = "0.21.0"
marker = "'fast' in extras and sys_platform != 'win32'"
sdist = {url = "https://files/uvloop-0.21.0.tar.gz", hashes = {sha256 = "0202020202020202020202020202020202020202020202020202020202020202"}}

[[packages]]
name = "pywin32"
version = "306"
marker = "sys_platform == 'win32'"
wheels = [{path = "wheels/pywin32-306-cp311-cp311-win_amd64.whl", hashes = {sha256 = "0303030303030303030303030303030303030303030303030303030303030303"}}]

[[packages]]
name = "mylib"
directory = {path = "../mylib", editable = true}
)L";

TEST(Pylock, ReadsFieldsAndArtifacts) {
  auto lock = read_pylock(kPylock, "pylock.toml");
  ASSERT_TRUE(lock) << lock.error().message;
  EXPECT_EQ(lock->format, Format::pylock);
  ASSERT_EQ(lock->packages.size(), 5u);
  const Package& r = lock->packages[0];
  EXPECT_EQ(r.name, "requests");
  EXPECT_EQ(r.display_name, "Requests");
  EXPECT_EQ(r.version_text, "2.32.3");
  EXPECT_EQ(r.source.url, "https://pypi.org/simple");
  ASSERT_EQ(r.artifacts.size(), 1u);
  EXPECT_EQ(r.artifacts[0].filename, "requests-2.32.3-py3-none-any.whl");
  EXPECT_EQ(r.artifacts[0].hashes.at("sha256"),
            "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd");
  EXPECT_EQ(r.artifacts[0].size, 64928u);
  EXPECT_EQ(lock->packages[1].artifacts[0].filename, "pytest-8.0.0-py3-none-any.whl");
  EXPECT_EQ(lock->packages[2].artifacts[0].kind, Artifact::Kind::sdist);
  EXPECT_EQ(lock->packages[4].source.kind, SourceKind::directory);
  EXPECT_TRUE(lock->packages[4].source.editable);
  EXPECT_FALSE(is_installable(lock->packages[4]));
  EXPECT_FALSE(is_installable(lock->packages[2]));
  EXPECT_TRUE(is_installable(r));
}

TEST(Pylock, SelectsByMarkersGroupsAndExtras) {
  auto lock = read_pylock(kPylock, "pylock.toml");
  ASSERT_TRUE(lock);
  auto base = select(*lock, linux311());
  ASSERT_TRUE(base) << base.error().message;
  EXPECT_EQ(names(*base), (std::vector<std::string>{"requests", "mylib"}));
  EXPECT_EQ(base->excluded.size(), 3u);

  auto request = linux311();
  request.with = {"dev"};
  request.extras = {"fast"};
  auto more = select(*lock, request);
  ASSERT_TRUE(more) << more.error().message;
  EXPECT_EQ(names(*more), (std::vector<std::string>{"requests", "pytest", "uvloop", "mylib"}));
}

TEST(Pylock, UnknownGroupAndExtraNameWhatExists) {
  auto lock = read_pylock(kPylock, "pylock.toml");
  ASSERT_TRUE(lock);
  auto request = linux311();
  request.with = {"docs"};
  auto r = select(*lock, request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::usage);
  EXPECT_EQ(r.error().message, "pylock.toml: unknown group \"docs\"; the lock has: dev");
  request = linux311();
  request.extras = {"slow"};
  r = select(*lock, request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "pylock.toml: unknown extra \"slow\"; the lock has: fast");
}

TEST(Pylock, RequiresPythonAndEnvironmentsAreChecked) {
  auto lock = read_pylock(kPylock, "pylock.toml");
  ASSERT_TRUE(lock);
  auto request = linux311();
  request.python_full_version = "3.8.10";
  request.environment["python_version"] = "3.8";
  auto r = select(*lock, request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::check);

  std::string text =
      "lock-version = \"1.0\"\ncreated-by = \"x\"\nenvironments = [\"sys_platform == 'win32'\"]\n"
      "packages = []\n";
  auto envs = read_pylock(text, "pylock.toml");
  ASSERT_TRUE(envs) << envs.error().message;
  auto e = select(*envs, linux311());
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().kind, ErrorKind::check);
}

TEST(Pylock, DuplicateSelectedNamesAreAnError) {
  std::string text = R"L(lock-version = "1.0"
created-by = "x"
[[packages]]
name = "a"
version = "1"
wheels = [{url = "https://f/a-1-py3-none-any.whl", hashes = {sha256 = "0000000000000000000000000000000000000000000000000000000000000000"}}]
[[packages]]
name = "A"
version = "2"
wheels = [{url = "https://f/a-2-py3-none-any.whl", hashes = {sha256 = "0000000000000000000000000000000000000000000000000000000000000000"}}]
)L";
  auto lock = read_pylock(text, "pylock.toml");
  ASSERT_TRUE(lock);
  auto r = select(*lock, linux311());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "pylock.toml:7:1: package \"A\" is selected twice for this target (also at pylock.toml:3:1)");
}

TEST(Pylock, MalformedInputsGiveFileLineColumn) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"lock-version = \"1.0\"\ncreated-by = 3\n", "pylock.toml:2:14: expected a string for \"created-by\""},
      {"lock-version = \"2.0\"\ncreated-by = \"x\"\npackages = []\n",
       "pylock.toml:1:16: unsupported lock-version \"2.0\" (strata reads 1.x)"},
      {"lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\n"
       "wheels = [{url = \"u/a-1-py3-none-any.whl\", size = \"big\", hashes = {sha256 = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"}}]\n",
       "pylock.toml:6:51: expected an integer for \"size\""},
      {"lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\n"
       "wheels = [{url = \"u/a-1-py3-none-any.whl\"}]\n",
       "pylock.toml:6:11: missing \"hashes\" in a wheel"},
      {"lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\n"
       "marker = \"python_version >\"\nwheels = []\n",
       ""},
      {"lock-version = \"1.0\"\ncreated-by = [\n", ""},
      // A malformed sha256 (short, long, not hex) is refused when reading, not when downloading.
      {"lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\n"
       "wheels = [{url = \"u/a-1-py3-none-any.whl\", hashes = {sha256 = \"abc\"}}]\n",
       "pylock.toml:6:63: malformed sha256 hash \"abc\": 3 hex digits, expected 64"},
      {"lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\n"
       "wheels = [{url = \"u/a-1-py3-none-any.whl\", hashes = {sha256 = "
       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0\"}}]\n",
       "pylock.toml:6:63: malformed sha256 hash "
       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0\": 65 hex digits, expected 64"},
      {"lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\n"
       "sdist = {url = \"u/a-1.tar.gz\", hashes = {sha256 = "
       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag\"}}\n",
       "pylock.toml:6:51: malformed sha256 hash "
       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag\": \"g\" is not a hex digit"},
  };
  for (const auto& c : cases) {
    auto lock = read_pylock(c.text, "pylock.toml");
    ASSERT_FALSE(lock) << c.text;
    EXPECT_EQ(lock.error().kind, ErrorKind::usage);
    if (!c.message.empty()) {
      EXPECT_EQ(lock.error().message, c.message);
    } else {
      EXPECT_TRUE(lock.error().message.starts_with("pylock.toml:")) << lock.error().message;
    }
  }
}

constexpr std::string_view kPoetry11Lock = R"L([[package]]
name = "Flask"
version = "2.0.1"
description = ""
category = "main"
optional = false
python-versions = ">=3.6"

[package.dependencies]
click = ">=7.1.2"
colorama = {version = "*", markers = "platform_system == \"Windows\""}

[package.extras]
async = ["asgiref (>=3.2)"]

[[package]]
name = "click"
version = "8.0.1"
description = ""
category = "main"
optional = false
python-versions = ">=3.6"

[[package]]
name = "colorama"
version = "0.4.4"
description = ""
category = "main"
optional = false
python-versions = "*"

[[package]]
name = "pytest"
version = "6.2.4"
description = ""
category = "dev"
optional = false
python-versions = ">=3.6"

[metadata]
lock-version = "1.1"
python-versions = "^3.8"
content-hash = "x"

[metadata.files]
flask = [
    {file = "Flask-2.0.1-py3-none-any.whl", hash = "sha256:A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1"},
    {file = "Flask-2.0.1.tar.gz", hash = "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"},
]
click = [{file = "click-8.0.1-py3-none-any.whl", hash = "sha256:c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"}]
)L";

constexpr std::string_view kPoetry11Pyproject = R"L([tool.poetry]
name = "app"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.8"
Flask = "^2.0"

[tool.poetry.dev-dependencies]
pytest = "^6.2"
)L";

TEST(Poetry, Lock11FilesCategoriesAndWalk) {
  auto lock = read_poetry(kPoetry11Lock, "poetry.lock", PyprojectText{kPoetry11Pyproject, "pyproject.toml"});
  ASSERT_TRUE(lock) << lock.error().message;
  EXPECT_EQ(lock->lock_version, "1.1");
  ASSERT_EQ(lock->packages.size(), 4u);
  ASSERT_EQ(lock->packages[0].artifacts.size(), 2u);
  EXPECT_EQ(lock->packages[0].artifacts[0].hashes.at("sha256"),
            "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1");
  EXPECT_EQ(lock->packages[0].extras.at("async"), std::vector<std::string>{"asgiref"});
  auto s = select(*lock, linux311());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(names(*s), (std::vector<std::string>{"flask", "click"}));
  auto request = linux311();
  request.with = {"dev"};
  request.environment["platform_system"] = "Windows";
  request.environment["sys_platform"] = "win32";
  s = select(*lock, request);
  ASSERT_TRUE(s);
  EXPECT_EQ(names(*s), (std::vector<std::string>{"flask", "click", "colorama", "pytest"}));

  // Without a pyproject.toml, category decides (and markers are not known per package).
  auto alone = read_poetry(kPoetry11Lock, "poetry.lock", std::nullopt);
  ASSERT_TRUE(alone);
  s = select(*alone, linux311());
  ASSERT_TRUE(s);
  EXPECT_EQ(names(*s), (std::vector<std::string>{"flask", "click", "colorama"}));
}

TEST(Poetry, Lock21GroupsAndPerGroupMarkers) {
  std::string text =
      R"L(# This file is automatically @generated by Poetry 2.1.1 and should not be changed by hand.
[[package]]
name = "a"
version = "1.0"
description = ""
optional = false
python-versions = "*"
groups = ["main", "dev"]
markers = {main = "sys_platform == \"win32\"", dev = "extra == \"x\""}
files = [{file = "a-1.0-py3-none-any.whl", hash = "sha256:0000000000000000000000000000000000000000000000000000000000000000"}]

[[package]]
name = "b"
version = "2.0"
description = ""
optional = false
python-versions = "*"
groups = ["dev"]
files = []

[extras]
x = ["a"]

[metadata]
lock-version = "2.1"
python-versions = ">=3.9"
content-hash = "x"
)L";
  auto lock = read_poetry(text, "poetry.lock", std::nullopt);
  ASSERT_TRUE(lock) << lock.error().message;
  EXPECT_TRUE(lock->groups_and_markers);
  EXPECT_EQ(lock->created_by, "2.1.1");
  auto s = select(*lock, linux311());
  ASSERT_TRUE(s);
  EXPECT_TRUE(names(*s).empty());
  auto request = linux311();
  request.only = {"dev"};
  s = select(*lock, request);
  ASSERT_TRUE(s);
  EXPECT_EQ(names(*s), std::vector<std::string>{"b"});
  request.extras = {"x"};
  s = select(*lock, request);
  ASSERT_TRUE(s);
  EXPECT_EQ(names(*s), (std::vector<std::string>{"a", "b"}));
}

TEST(Poetry, MalformedInputsGiveFileLineColumn) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"[[package]]\nname = \"a\"\nversion = 1\n[metadata]\nlock-version = \"2.0\"\n",
       "poetry.lock:3:11: expected a string for \"version\""},
      {"[metadata]\nlock-version = \"3.0\"\n",
       "poetry.lock:2:16: unsupported lock-version \"3.0\" (strata reads 1.0 "
       "to 2.1)"},
      {"[[package]]\nname = \"a\"\nversion = \"1\"\n[package.dependencies]\nb = 3\n[metadata]\nlock-version "
       "= "
       "\"2.0\"\n",
       "poetry.lock:5:5: expected a string, table or array for dependency \"b\""},
      {"[[package]]\nname = \"a\"\nversion = \"1\"\n[package.dependencies]\nb = \"^^1\"\n[metadata]\n",
       "poetry.lock:5:5: invalid version constraint \"^^1\""},
      {"[[package]]\nname = \"a\"\n[metadata]\n", "poetry.lock:1:1: missing \"version\" in [[package]]"},
      {"[[package]]\nname = \"a\"\nversion = \"1\"\nsource = {type = \"svnx\"}\n[metadata]\n",
       "poetry.lock:4:18: unsupported source type \"svnx\" (expected legacy, url, file, directory or git)"},
      {"x = [1,\n", ""},
      // A malformed sha256 is refused in files, [metadata.files] and the hashes of lock 1.0.
      {"[[package]]\nname = \"a\"\nversion = \"1\"\nfiles = [{file = \"a-1-py3-none-any.whl\", hash = "
       "\"sha256:abc\"}]\n[metadata]\nlock-version = \"2.0\"\n",
       "poetry.lock:4:49: malformed sha256 hash \"abc\": 3 hex digits, expected 64"},
      {"[[package]]\nname = \"a\"\nversion = \"1\"\n[metadata]\nlock-version = \"1.1\"\n[metadata.files]\n"
       "a = [{file = \"a-1-py3-none-any.whl\", hash = "
       "\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa00\"}]\n",
       "poetry.lock:7:45: malformed sha256 hash "
       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa00\": 66 hex digits, expected 64"},
      {"[[package]]\nname = \"a\"\nversion = \"1\"\n[metadata]\nlock-version = \"1.0\"\n[metadata.hashes]\n"
       "a = [\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"]\n",
       "poetry.lock:7:6: malformed sha256 hash "
       "\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\": \"z\" is not a hex digit"},
      // The same [[package]] twice: both places are named.
      {"[[package]]\nname = \"a\"\nversion = \"1.0\"\n\n[[package]]\nname = \"b\"\nversion = \"1\"\n\n"
       "[[package]]\nname = \"A\"\nversion = \"1.0.0\"\n[metadata]\nlock-version = \"2.0\"\n",
       "poetry.lock:9:1: duplicate [[package]] A 1.0.0 (also at poetry.lock:1:1)"},
  };
  for (const auto& c : cases) {
    auto lock = read_poetry(c.text, "poetry.lock", std::nullopt);
    ASSERT_FALSE(lock) << c.text;
    EXPECT_EQ(lock.error().kind, ErrorKind::usage);
    if (!c.message.empty()) {
      EXPECT_EQ(lock.error().message, c.message);
    } else {
      EXPECT_TRUE(lock.error().message.starts_with("poetry.lock:")) << lock.error().message;
    }
  }
}

TEST(Poetry, OneVersionFromTwoSourcesIsNotADuplicate) {
  const std::string text =
      "[[package]]\nname = \"torch\"\nversion = \"2.0\"\n[package.source]\ntype = \"legacy\"\n"
      "url = \"https://a.example/simple\"\nreference = \"a\"\n\n"
      "[[package]]\nname = \"torch\"\nversion = \"2.0\"\n[package.source]\ntype = \"legacy\"\n"
      "url = \"https://b.example/simple\"\nreference = \"b\"\n[metadata]\nlock-version = \"2.0\"\n";
  auto lock = read_poetry(text, "poetry.lock", std::nullopt);
  ASSERT_TRUE(lock) << lock.error().message;
  EXPECT_EQ(lock->packages.size(), 2u);
}

TEST(PoetryConstraintTest, CaretTildeWildcardsAndUnions) {
  auto v = [](const char* s) { return *pep::Version::parse(s); };
  auto allows = [&](const char* c, const char* version) {
    auto parsed = PoetryConstraint::parse(c);
    EXPECT_TRUE(parsed) << c;
    return parsed && parsed->allows(v(version));
  };
  EXPECT_TRUE(allows("^1.2.3", "1.9"));
  EXPECT_FALSE(allows("^1.2.3", "2.0"));
  EXPECT_FALSE(allows("^1.2.3", "1.2.2"));
  EXPECT_TRUE(allows("^0.2.3", "0.2.9"));
  EXPECT_FALSE(allows("^0.2.3", "0.3.0"));
  EXPECT_FALSE(allows("^0.0.3", "0.0.4"));
  EXPECT_TRUE(allows("~1.2", "1.2.9"));
  EXPECT_FALSE(allows("~1.2", "1.3"));
  EXPECT_TRUE(allows("~1", "1.9"));
  EXPECT_TRUE(allows("~=1.2", "1.9"));
  EXPECT_TRUE(allows("1.2.*", "1.2.7"));
  EXPECT_FALSE(allows("1.2.*", "1.3"));
  EXPECT_TRUE(allows(">=1.0,<2.0 || >=3", "3.1"));
  EXPECT_FALSE(allows(">=1.0,<2.0 || >=3", "2.5"));
  EXPECT_TRUE(allows(">= 1.0 < 2.0", "1.5"));
  EXPECT_TRUE(allows("*", "0.0.1"));
  EXPECT_FALSE(allows("<2.0", "2.0rc1"));
  EXPECT_TRUE(allows("==1.0", "1.0+cpu"));
  EXPECT_TRUE(allows(">=2.7, !=3.0.*, !=3.1.*", "3.11"));
  EXPECT_FALSE(allows(">=2.7, !=3.0.*, !=3.1.*", "3.1.4"));
  EXPECT_FALSE(PoetryConstraint::parse(">=").has_value());
}

TEST(ContentHash, JsonMatchesPythonFormatting) {
  std::string pyproject =
      "[tool.poetry.dependencies]\npython = \"^3.8\"\n\"caf\xc3\xa9\" = {version = \"1\", "
      "extras = [\"a\"], optional = true}\n";
  auto json = poetry_hashed_json(pyproject, "pyproject.toml", ContentHashStyle::poetry_1_2);
  ASSERT_TRUE(json);
  EXPECT_EQ(
      *json,
      "{\"dependencies\": {\"caf\\u00e9\": {\"extras\": [\"a\"], \"optional\": true, \"version\": \"1\"}, "
      "\"python\": \"^3.8\"}, \"dev-dependencies\": null, \"extras\": null, \"source\": null}");
}

TEST(Load, DetectsLockByNameAndContent) {
  auto pylock = parse_lock("lock-version = \"1.0\"\ncreated-by = \"x\"\npackages = []\n", "locks/any.toml");
  ASSERT_TRUE(pylock) << pylock.error().message;
  EXPECT_EQ(pylock->format, Format::pylock);
  auto neither = parse_lock("a = 1\n", "x.toml");
  ASSERT_FALSE(neither);
  EXPECT_EQ(neither.error().kind, ErrorKind::usage);
}

}  // namespace
}  // namespace strata::lock

namespace strata::lock {
namespace {

// Found by the mutation fuzzer: groups that include the next group twice, level after level,
// made the expansion double per level. Each group's requirements are now gathered once.
TEST(Poetry, DiamondDependencyGroupIncludesStayLinear) {
  std::string pyproject = "[project]\nname = \"app\"\nversion = \"1\"\n[dependency-groups]\n";
  constexpr int kLevels = 60;
  for (int i = 0; i < kLevels; ++i)
    pyproject += fmt::format("g{} = [{{include-group = \"g{}\"}}, {{include-group = \"g{}\"}}, \"p{}\"]\n", i,
                             i + 1, i + 1, i);
  pyproject += fmt::format("g{} = [\"leaf\"]\n", kLevels);
  const std::string lock_text = "[metadata]\nlock-version = \"2.1\"\npython-versions = \">=3.9\"\n";
  auto lock = read_poetry(lock_text, "poetry.lock", PyprojectText{pyproject, "pyproject.toml"});
  ASSERT_TRUE(lock) << lock.error().message;
  const Group* top = nullptr;
  for (const auto& g : lock->groups)
    if (g.name == "g0") top = &g;
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(top->roots.size(), static_cast<std::size_t>(kLevels + 1));  // p0..p59 and leaf, once each
}

TEST(Poetry, DependencyGroupCycleIsAnError) {
  const std::string pyproject =
      "[project]\nname = \"app\"\nversion = \"1\"\n[dependency-groups]\n"
      "a = [{include-group = \"b\"}]\nb = [{include-group = \"a\"}]\n";
  auto lock = read_poetry("[metadata]\nlock-version = \"2.1\"\n", "poetry.lock",
                          PyprojectText{pyproject, "pyproject.toml"});
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().message.find("includes itself"), std::string::npos) << lock.error().message;
}

}  // namespace
}  // namespace strata::lock

namespace strata::lock {
namespace {

// Two locked numpy versions (as Poetry 1.8 locks them for two Python ranges): the project allows
// both, numba (extra "jit") only the older one. Poetry's installer then installs 1.26.4 alone;
// strata's walk used to take 2.2.1 for the project and 1.26.4 for numba, and the install hung.
constexpr std::string_view kTwoNumpyLock = R"L([[package]]
name = "numba"
version = "0.59.1"
description = ""
optional = true
python-versions = ">=3.9"
files = []

[package.dependencies]
numpy = ">=1.22,<1.27"

[[package]]
name = "numpy"
version = "1.26.4"
description = ""
optional = false
python-versions = ">=3.9"
files = []

[[package]]
name = "numpy"
version = "2.2.1"
description = ""
optional = false
python-versions = ">=3.10"
files = []

[[package]]
name = "wants-new"
version = "1.0"
description = ""
optional = true
python-versions = "*"
files = []

[package.dependencies]
numpy = ">=2"

[extras]
jit = ["numba"]
new = ["wants-new"]

[metadata]
lock-version = "2.0"
python-versions = ">=3.9,<3.14"
content-hash = "0000000000000000000000000000000000000000000000000000000000000000"
)L";

constexpr std::string_view kTwoNumpyPyproject = R"L([tool.poetry]
name = "app"
version = "1"

[tool.poetry.dependencies]
python = ">=3.9,<3.14"
numpy = ">=1.21"
numba = {version = "0.59.1", optional = true}
wants-new = {version = "1.0", optional = true}

[tool.poetry.extras]
jit = ["numba"]
new = ["wants-new"]
)L";

std::map<std::string, std::string> versions(const Selection& s) {
  std::map<std::string, std::string> out;
  for (const auto& p : s.packages) out[p.name] = p.version_text;
  return out;
}

TEST(Select, SeveralLockedVersionsGiveTheOneEveryDependentAllows) {
  auto lock = read_poetry(kTwoNumpyLock, "poetry.lock", PyprojectText{kTwoNumpyPyproject, "pyproject.toml"});
  ASSERT_TRUE(lock) << lock.error().message;
  auto plain = select(*lock, linux311());
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(versions(*plain), (std::map<std::string, std::string>{{"numpy", "2.2.1"}}));
  auto request = linux311();
  request.extras = {"jit"};
  auto jit = select(*lock, request);
  ASSERT_TRUE(jit) << jit.error().message;
  EXPECT_EQ(versions(*jit), (std::map<std::string, std::string>{{"numba", "0.59.1"}, {"numpy", "1.26.4"}}));
  for (const auto& e : jit->excluded) {
    if (e.name == "numpy") {
      EXPECT_EQ(e.version, "2.2.1");
    }
  }
}

TEST(Select, SeveralLockedVersionsNoneOfWhichEveryDependentAllowsIsAnErrorNamingThem) {
  auto lock = read_poetry(kTwoNumpyLock, "poetry.lock", PyprojectText{kTwoNumpyPyproject, "pyproject.toml"});
  ASSERT_TRUE(lock) << lock.error().message;
  auto request = linux311();
  request.extras = {"jit", "new"};
  auto r = select(*lock, request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::usage);
  for (std::string_view part : {"\"numpy\"", "1.26.4", "2.2.1", ">=1.22,<1.27 (required by numba 0.59.1)",
                                ">=2 (required by wants-new 1.0)"})
    EXPECT_NE(r.error().message.find(part), std::string::npos) << part << " in: " << r.error().message;
}

}  // namespace
}  // namespace strata::lock
