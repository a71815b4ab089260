// Unit tests for the uv.lock reader (lock/uv_lock.cpp) and `uv sync`'s selection on hand-written
// locks: every source kind, malformed input, forks, workspaces and conflict markers. Real locks
// written by uv are compared with `uv export` in integration/test_uv_lock.py.

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/paths.hpp"

#include "lock/load.hpp"
#include "lock/uv_lock.hpp"
#include "support/selection.hpp"

namespace strata::lock {
namespace {

using testing::selected;
using testing::target;

std::string reason(const Selection& s, std::string_view name) {
  for (const auto& e : s.excluded)
    if (e.name == name) return e.reason;
  return "";
}

constexpr std::string_view kHash = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string wheel(std::string_view file) {
  return fmt::format(R"(wheels = [{{ url = "https://files.example/{}", hash = "{}", size = 10 }}])", file,
                     kHash);
}

// A project "app" with a dependency, an extra, a dev group and a marker edge.
std::string app_lock() {
  return fmt::format(R"(version = 1
revision = 3
requires-python = ">=3.9"

[[package]]
name = "app"
version = "0.1.0"
source = {{ editable = "." }}
dependencies = [
    {{ name = "requests" }},
    {{ name = "tomli", marker = "python_full_version < '3.11'" }},
]

[package.optional-dependencies]
fast = [{{ name = "uvloop", marker = "sys_platform != 'win32'" }}]

[package.dev-dependencies]
dev = [{{ name = "pytest" }}]

[package.metadata]
requires-dist = [{{ name = "requests" }}]

[[package]]
name = "requests"
version = "2.32.3"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://files.example/requests-2.32.3.tar.gz", hash = "{0}", size = 131218, upload-time = "2024-05-29T15:37:49.536Z" }}
{1}

[[package]]
name = "tomli"
version = "2.0.1"
source = {{ registry = "https://pypi.org/simple" }}
{2}

[[package]]
name = "uvloop"
version = "0.21.0"
source = {{ registry = "https://pypi.org/simple" }}
{3}

[[package]]
name = "pytest"
version = "8.3.0"
source = {{ registry = "https://pypi.org/simple" }}
{4}
)",
                     kHash, wheel("requests-2.32.3-py3-none-any.whl"), wheel("tomli-2.0.1-py3-none-any.whl"),
                     wheel("uvloop-0.21.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
                     wheel("pytest-8.3.0-py3-none-any.whl"));
}

Lock read(std::string_view text) {
  auto lock = read_uv_lock(text, "uv.lock");
  if (!lock) ADD_FAILURE() << lock.error().message;
  return lock ? std::move(*lock) : Lock{};
}

std::string error_of(std::string_view text) {
  auto lock = read_uv_lock(text, "uv.lock");
  EXPECT_FALSE(lock) << "expected an error";
  if (lock) return "";
  EXPECT_EQ(lock.error().kind, ErrorKind::usage);
  return lock.error().message;
}

TEST(UvLock, ReadsPackagesArtifactsAndEdges) {
  Lock lock = read(app_lock());
  EXPECT_EQ(lock.format, Format::uv);
  EXPECT_EQ(lock.project_name, "app");
  EXPECT_EQ(lock.requires_python, ">=3.9");
  EXPECT_EQ(lock.created_by, "uv (lock revision 3)");
  ASSERT_EQ(lock.packages.size(), 5u);
  const Package& requests = lock.packages[1];
  EXPECT_EQ(requests.source.kind, SourceKind::index);
  EXPECT_EQ(requests.source.url, "");  // PyPI: the default index
  ASSERT_EQ(requests.artifacts.size(), 2u);
  EXPECT_EQ(requests.artifacts[0].kind, Artifact::Kind::sdist);
  EXPECT_EQ(requests.artifacts[0].filename, "requests-2.32.3.tar.gz");
  EXPECT_EQ(requests.artifacts[0].size, 131218u);
  EXPECT_EQ(requests.artifacts[1].filename, "requests-2.32.3-py3-none-any.whl");
  EXPECT_EQ(requests.artifacts[1].hashes.at("sha256"), std::string(kHash.substr(7)));
  const Package& app = lock.packages[0];
  EXPECT_EQ(app.optional_dependencies.at("fast").front().name, "uvloop");
  EXPECT_EQ(app.group_dependencies.at("dev").front().name, "pytest");
  EXPECT_EQ(lock.extras, std::vector<std::string>{"fast"});
  ASSERT_EQ(lock.groups.size(), 2u);
  EXPECT_EQ(lock.groups[0].name, "main");
  EXPECT_EQ(lock.groups[1].name, "dev");
  EXPECT_EQ(lock.default_groups, std::vector<std::string>{"main"});
}

TEST(UvLock, SelectionIsMainOnlyByDefaultAndFollowsMarkers) {
  Lock lock = read(app_lock());
  auto s = select(lock, target("3.11.7"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(selected(*s), std::vector<std::string>{"requests==2.32.3"});
  EXPECT_EQ(reason(*s, "app"), "the project, installed by COPY of its source");
  EXPECT_NE(reason(*s, "tomli").find("marker is false"), std::string::npos) << reason(*s, "tomli");

  auto old = select(lock, target("3.10.13"));
  ASSERT_TRUE(old);
  EXPECT_EQ(selected(*old), (std::vector<std::string>{"requests==2.32.3", "tomli==2.0.1"}));

  SelectionRequest r = target();
  r.with = {"dev"};
  r.extras = {"fast"};
  auto all = select(lock, r);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(selected(*all),
            (std::vector<std::string>{"requests==2.32.3", "uvloop==0.21.0", "pytest==8.3.0"}));

  SelectionRequest only = target();
  only.only = {"dev"};  // uv's --only-group dev
  only.extras = {"fast"};
  auto dev = select(lock, only);
  ASSERT_TRUE(dev) << dev.error().message;
  EXPECT_EQ(selected(*dev), std::vector<std::string>{"pytest==8.3.0"});
  SelectionRequest without = target();
  without.without = {"main"};
  without.with = {"dev"};
  auto no_main = select(lock, without);
  ASSERT_TRUE(no_main);
  EXPECT_EQ(selected(*no_main), std::vector<std::string>{"pytest==8.3.0"});

  SelectionRequest win = target("3.11.7", "win32");
  win.extras = {"fast"};
  auto w = select(lock, win);
  ASSERT_TRUE(w);
  EXPECT_EQ(selected(*w), std::vector<std::string>{"requests==2.32.3"});

  SelectionRequest unknown = target();
  unknown.extras = {"nope"};
  auto u = select(lock, unknown);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message.find("unknown extra \"nope\"; the lock has: fast"), std::string::npos)
      << u.error().message;

  auto too_old = select(lock, target("3.8.18"));
  ASSERT_FALSE(too_old);
  EXPECT_EQ(too_old.error().kind, ErrorKind::check);
}

TEST(UvLock, EverySourceKind) {
  std::string text = fmt::format(R"(version = 1
requires-python = ">=3.9"

[[package]]
name = "idx"
version = "1.0"
source = {{ registry = "https://example.org/simple/" }}
{0}

[[package]]
name = "local-idx"
version = "1.0"
source = {{ registry = "../wheels" }}
wheels = [{{ path = "local_idx-1.0-py3-none-any.whl", hash = "{1}" }}]

[[package]]
name = "gitpkg"
version = "0.1"
source = {{ git = "https://github.com/o/r?subdirectory=sub&tag=v1#0123456789abcdef0123456789abcdef01234567" }}

[[package]]
name = "gitbranch"
version = "0.1"
source = {{ git = "https://github.com/o/b?branch=main#0123456789abcdef0123456789abcdef01234567" }}

[[package]]
name = "byurl"
version = "2.0"
source = {{ url = "https://files.example/byurl-2.0-py3-none-any.whl" }}
wheels = [{{ url = "https://files.example/byurl-2.0-py3-none-any.whl", hash = "{1}" }}]

[[package]]
name = "urlsdist"
version = "1.5"
source = {{ url = "https://files.example/urlsdist-1.5.tar.gz" }}
sdist = {{ hash = "{1}" }}

[[package]]
name = "bypath"
version = "3.0"
source = {{ path = "dist/bypath-3.0-py3-none-any.whl" }}
wheels = [{{ filename = "bypath-3.0-py3-none-any.whl", hash = "{1}" }}]

[[package]]
name = "dir"
version = "0.1"
source = {{ directory = "vendor/dir" }}

[[package]]
name = "edit"
source = {{ editable = "libs/edit" }}

[[package]]
name = "virt"
version = "0.0.0"
source = {{ virtual = "tools/virt" }}
)",
                                 wheel("idx-1.0-py3-none-any.whl"), kHash);
  Lock lock = read(text);
  ASSERT_EQ(lock.packages.size(), 10u);
  const auto& p = lock.packages;
  EXPECT_EQ(p[0].source.kind, SourceKind::index);
  EXPECT_EQ(p[0].source.url, "https://example.org/simple/");
  ASSERT_EQ(lock.sources.size(), 1u);
  EXPECT_EQ(p[1].source.path, "../wheels");
  EXPECT_EQ(p[1].artifacts.at(0).path, "../wheels/local_idx-1.0-py3-none-any.whl");
  EXPECT_EQ(p[2].source.kind, SourceKind::vcs);
  EXPECT_EQ(p[2].source.url, "https://github.com/o/r");
  EXPECT_EQ(p[2].source.requested_revision, "v1");
  EXPECT_EQ(p[2].source.subdirectory, "sub");
  EXPECT_EQ(p[2].source.commit_id, "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(p[3].source.requested_revision, "main");
  EXPECT_EQ(p[4].source.kind, SourceKind::url);
  EXPECT_EQ(p[4].artifacts.at(0).kind, Artifact::Kind::wheel);
  // A URL sdist: uv records only its hash; the file is the source URL.
  EXPECT_EQ(p[5].artifacts.at(0).kind, Artifact::Kind::sdist);
  EXPECT_EQ(p[5].artifacts.at(0).url, "https://files.example/urlsdist-1.5.tar.gz");
  EXPECT_EQ(p[5].artifacts.at(0).filename, "urlsdist-1.5.tar.gz");
  EXPECT_EQ(p[6].source.kind, SourceKind::file);
  EXPECT_EQ(p[6].artifacts.at(0).path, "dist/bypath-3.0-py3-none-any.whl");
  EXPECT_EQ(p[7].source.kind, SourceKind::directory);
  EXPECT_FALSE(p[7].source.editable);
  EXPECT_TRUE(p[8].source.editable);
  EXPECT_TRUE(p[8].version_text.empty());  // a dynamic version
  EXPECT_TRUE(p[9].virtual_source);
}

TEST(UvLock, MalformedInputNamesTheSpot) {
  EXPECT_EQ(
      error_of("version = 2\nrevision = 1\nrequires-python = \">=3.9\"\n"),
      "uv.lock:1:11: unsupported uv.lock version 2 (strata reads version 1; a newer uv wrote this lock)");
  EXPECT_NE(error_of("revision = 1\n").find("missing \"version\""), std::string::npos);
  std::string head = "version = 1\nrequires-python = \">=3.9\"\n[[package]]\nname = \"a\"\nversion = \"1\"\n";
  EXPECT_NE(error_of(head).find("uv.lock:3:1: missing \"source\" for package \"a\""), std::string::npos)
      << error_of(head);
  EXPECT_NE(error_of(head + "source = { git = \"https://g/r?tag=v1\" }\n").find("has no \"#<commit>\""),
            std::string::npos);
  EXPECT_NE(error_of(head + "source = { git = \"https://g/r#abc\" }\n").find("is not a full commit hash"),
            std::string::npos);
  EXPECT_NE(error_of(head + "source = { registry = \"x\", url = \"y\" }\n").find("expected one kind"),
            std::string::npos);
  EXPECT_NE(
      error_of(head + "source = { registry = \"https://pypi.org/simple\" }\n"
                      "wheels = [{ url = \"https://f/a-1-py3-none-any.whl\", hash = \"sha256:xyz\" }]\n")
          .find("malformed sha256 hash"),
      std::string::npos);
  EXPECT_NE(error_of(head + "source = { registry = \"https://pypi.org/simple\" }\n"
                            "wheels = [{ url = \"https://f/a-1.tar.gz\", hash = \"sha256\" }]\n")
                .find("does not end in .whl"),
            std::string::npos);
  EXPECT_NE(error_of("version = 1\nrequires-python = \">=3.9\"\n[[package]]\nname = \"a\"\n"
                     "source = { registry = \"https://pypi.org/simple\" }\n")
                .find("missing \"version\" for registry package \"a\""),
            std::string::npos);
  EXPECT_NE(error_of(head + "source = { editable = \".\" }\ndependencies = [{ name = \"b\" }]\n")
                .find("depends on \"b\", which is not in the lock"),
            std::string::npos);
  EXPECT_NE(error_of(head +
                     "source = { editable = \".\" }\ndependencies = [{ name = \"b\", marker = \"os ==\" }]\n")
                .find("invalid marker"),
            std::string::npos);
  // Two entries of one name: an edge must say which.
  std::string two =
      head + "source = { editable = \".\" }\ndependencies = [{ name = \"b\" }]\n" +
      "[[package]]\nname = \"b\"\nversion = \"1\"\nsource = { registry = \"https://pypi.org/simple\" }\n" +
      "[[package]]\nname = \"b\"\nversion = \"2\"\nsource = { registry = \"https://pypi.org/simple\" }\n";
  EXPECT_NE(error_of(two).find("without a version or source, but the lock has 2 entries"), std::string::npos)
      << error_of(two);
}

TEST(UvLock, ForksPickTheVersionWhoseMarkerHolds) {
  std::string text = fmt::format(R"(version = 1
revision = 2
requires-python = ">=3.9"
resolution-markers = [
    "python_full_version >= '3.10'",
    "python_full_version < '3.10'",
]

[[package]]
name = "app"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [
    {{ name = "numpy", version = "2.0.2", source = {{ registry = "https://pypi.org/simple" }}, marker = "python_full_version < '3.10'" }},
    {{ name = "numpy", version = "2.2.0", source = {{ registry = "https://pypi.org/simple" }}, marker = "python_full_version >= '3.10'" }},
    {{ name = "colorama", marker = "sys_platform == 'win32'" }},
]

[[package]]
name = "numpy"
version = "2.0.2"
source = {{ registry = "https://pypi.org/simple" }}
resolution-markers = ["python_full_version < '3.10'"]
{0}

[[package]]
name = "numpy"
version = "2.2.0"
source = {{ registry = "https://pypi.org/simple" }}
resolution-markers = ["python_full_version >= '3.10'"]
{1}

[[package]]
name = "colorama"
version = "0.4.6"
source = {{ registry = "https://pypi.org/simple" }}
{2}
)",
                                 wheel("numpy-2.0.2-cp39-cp39-manylinux_2_17_x86_64.whl"),
                                 wheel("numpy-2.2.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
                                 wheel("colorama-0.4.6-py2.py3-none-any.whl"));
  Lock lock = read(text);
  EXPECT_EQ(lock.packages[1].resolution_markers.size(), 1u);
  auto s39 = select(lock, target("3.9.18"));
  ASSERT_TRUE(s39) << s39.error().message;
  EXPECT_EQ(selected(*s39), std::vector<std::string>{"numpy==2.0.2"});
  auto s311 = select(lock, target("3.11.7", "win32"));
  ASSERT_TRUE(s311) << s311.error().message;
  EXPECT_EQ(selected(*s311), (std::vector<std::string>{"numpy==2.2.0", "colorama==0.4.6"}));
}

// Extras x1 and x2 of "proj" conflict; each pins another sortedcontainers, told apart by conflict
// markers as uv writes them.
constexpr std::string_view kConflicts = R"(version = 1
revision = 3
requires-python = ">=3.9"
conflicts = [[
    { package = "proj", extra = "x1" },
    { package = "proj", extra = "x2" },
], [
    { package = "proj", group = "g1" },
    { package = "proj", group = "g2" },
]]

[[package]]
name = "proj"
version = "0.1.0"
source = { virtual = "." }

[package.optional-dependencies]
x1 = [{ name = "sortedcontainers", version = "2.3.0", source = { registry = "https://pypi.org/simple" } }]
x2 = [{ name = "sortedcontainers", version = "2.4.0", source = { registry = "https://pypi.org/simple" } }]

[package.dev-dependencies]
g1 = [{ name = "idna", version = "3.6", source = { registry = "https://pypi.org/simple" } }]
g2 = [{ name = "idna", version = "3.7", source = { registry = "https://pypi.org/simple" } }]

[[package]]
name = "sortedcontainers"
version = "2.3.0"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["extra == 'extra-4-proj-x1' and extra != 'extra-4-proj-x2'"]
dependencies = [{ name = "helper", marker = "extra == 'extra-4-proj-x1'" }]

[[package]]
name = "sortedcontainers"
version = "2.4.0"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["extra != 'extra-4-proj-x1' and extra == 'extra-4-proj-x2'"]
dependencies = [{ name = "helper", marker = "extra != 'extra-4-proj-x1'" }, { name = "other", marker = "extra == 'extra-4-proj-x1'" }]

[[package]]
name = "helper"
version = "1.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "other"
version = "1.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "idna"
version = "3.6"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "idna"
version = "3.7"
source = { registry = "https://pypi.org/simple" }
)";

TEST(UvLock, ConflictMarkersFollowWhatIsActivated) {
  Lock lock = read(kConflicts);
  ASSERT_EQ(lock.conflicts.size(), 2u);
  EXPECT_EQ(lock.conflicts[0][1].extra, "x2");
  EXPECT_EQ(lock.conflicts[1][0].group, "g1");

  SelectionRequest r = target();
  r.extras = {"x1"};
  auto x1 = select(lock, r);
  ASSERT_TRUE(x1) << x1.error().message;
  EXPECT_EQ(selected(*x1), (std::vector<std::string>{"sortedcontainers==2.3.0", "helper==1.0"}));

  r.extras = {"x2"};
  auto x2 = select(lock, r);
  ASSERT_TRUE(x2) << x2.error().message;
  // `other` needs x1 active: not with x2 alone.
  EXPECT_EQ(selected(*x2), (std::vector<std::string>{"sortedcontainers==2.4.0", "helper==1.0"}));
  EXPECT_NE(reason(*x2, "other").find("marker is false"), std::string::npos) << reason(*x2, "other");

  r.extras = {"x1", "x2"};
  auto both = select(lock, r);
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().kind, ErrorKind::usage);
  EXPECT_EQ(both.error().message,
            "uv.lock: extra \"x1\" of proj and extra \"x2\" of proj conflict (the lock's `conflicts` forbid "
            "selecting both)");

  SelectionRequest g = target();
  g.with = {"g2"};
  auto g2 = select(lock, g);
  ASSERT_TRUE(g2) << g2.error().message;
  EXPECT_EQ(selected(*g2), std::vector<std::string>{"idna==3.7"});
  g.with = {"g1", "g2"};
  auto groups = select(lock, g);
  ASSERT_FALSE(groups);
  EXPECT_NE(groups.error().message.find("group \"g1\" of proj and group \"g2\" of proj conflict"),
            std::string::npos);
}

constexpr std::string_view kWorkspace = R"(version = 1
revision = 3
requires-python = ">=3.9"

[manifest]
members = ["app", "lib-a", "lib-b"]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "lib-a" }]

[[package]]
name = "lib-a"
version = "0.2.0"
source = { editable = "packages/lib-a" }
dependencies = [{ name = "six" }]

[package.dev-dependencies]
test = [{ name = "iniconfig" }]

[[package]]
name = "lib-b"
version = "0.3.0"
source = { editable = "packages/lib-b" }
dependencies = [{ name = "attrs" }]

[[package]]
name = "six"
version = "1.16.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "attrs"
version = "24.2.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "iniconfig"
version = "2.0.0"
source = { registry = "https://pypi.org/simple" }
)";

TEST(UvLock, WorkspaceMembersAreTheProject) {
  Lock lock = read(kWorkspace);
  EXPECT_EQ(lock.members, (std::vector<std::string>{"app", "lib-a", "lib-b"}));
  auto root = select(lock, target());
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_EQ(selected(*root), std::vector<std::string>{"six==1.16.0"});
  EXPECT_EQ(reason(*root, "lib-a"), "the project, installed by COPY of its source");

  SelectionRequest one = target();
  one.packages = {"lib_b"};
  auto b = select(lock, one);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(selected(*b), std::vector<std::string>{"attrs==24.2.0"});

  SelectionRequest all = target();
  all.all_packages = true;
  all.with = {"test"};
  auto every = select(lock, all);
  ASSERT_TRUE(every) << every.error().message;
  EXPECT_EQ(selected(*every), (std::vector<std::string>{"six==1.16.0", "attrs==24.2.0", "iniconfig==2.0.0"}));

  SelectionRequest bad = target();
  bad.packages = {"six"};
  auto not_member = select(lock, bad);
  ASSERT_FALSE(not_member);
  EXPECT_EQ(not_member.error().message,
            "uv.lock: \"six\" is not a member of the workspace (members: app, lib-a, lib-b)");
}

TEST(UvLock, PackageTakesAGroupItDoesNotDefineFromTheWorkspaceRoot) {
  std::string text(kWorkspace);
  text.replace(text.find("dependencies = [{ name = \"lib-a\" }]"), 35,
               "dependencies = [{ name = \"lib-a\" }]\n\n[package.dev-dependencies]\n"
               "dev = [{ name = \"iniconfig\" }]\ntest = [{ name = \"six\" }]");
  Lock lock = read(text);
  SelectionRequest b = target();
  b.packages = {"lib-b"};
  b.with = {"dev"};  // only the root has it
  auto dev = select(lock, b);
  ASSERT_TRUE(dev) << dev.error().message;
  EXPECT_EQ(selected(*dev), (std::vector<std::string>{"attrs==24.2.0", "iniconfig==2.0.0"}));
  EXPECT_EQ(reason(*dev, "app"), "the project, installed by COPY of its source");
  b.with = {"test"};
  auto root_test = select(lock, b);
  ASSERT_TRUE(root_test) << root_test.error().message;
  EXPECT_EQ(selected(*root_test), (std::vector<std::string>{"six==1.16.0", "attrs==24.2.0"}));

  SelectionRequest a = target();
  a.packages = {"lib-a"};
  a.only = {"test"};  // lib-a's own test group; the root's is not added
  auto own = select(lock, a);
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_EQ(selected(*own), std::vector<std::string>{"iniconfig==2.0.0"});
}

TEST(UvLock, NonProjectWorkspaceInstallsMembersAndManifestGroups) {
  std::string text(kWorkspace);
  text.replace(text.find("source = { editable = \".\" }"), 27, "source = { editable = \"apps/app\" }");
  text.replace(text.find("members = [\"app\", \"lib-a\", \"lib-b\"]"), 35,
               "members = [\"app\", \"lib-a\", \"lib-b\"]\n\n[manifest.dependency-groups]\n"
               "lint = [{ name = \"iniconfig\", specifier = \">=2\" }]");
  Lock lock = read(text);
  EXPECT_EQ(lock.project_name, "");
  SelectionRequest r = target();
  auto s = select(lock, r);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(selected(*s), (std::vector<std::string>{"six==1.16.0", "attrs==24.2.0"}));
  r.with = {"lint"};
  auto lint = select(lock, r);
  ASSERT_TRUE(lint) << lint.error().message;
  EXPECT_EQ(selected(*lint), (std::vector<std::string>{"six==1.16.0", "attrs==24.2.0", "iniconfig==2.0.0"}));
}

TEST(UvLock, ReadsManifestBuildConstraints) {
  // As uv 0.13.9 writes `[tool.uv] build-constraint-dependencies`.
  std::string text(kWorkspace);
  text.replace(
      text.find("members = [\"app\", \"lib-a\", \"lib-b\"]"), 35,
      "members = [\"app\", \"lib-a\", \"lib-b\"]\nbuild-constraints = [\n"
      "    { name = \"setuptools\", specifier = \"==70.0.0\" },\n"
      "    { name = \"Wheel\", marker = \"python_full_version >= '3.9'\", specifier = \"<0.45\" },\n]");
  Lock lock = read(text);
  ASSERT_EQ(lock.build_constraints.size(), 2u);
  EXPECT_EQ(lock.build_constraints[0].name, "setuptools");
  EXPECT_EQ(lock.build_constraints[0].constraint, "==70.0.0");
  EXPECT_FALSE(lock.build_constraints[0].marker);
  EXPECT_EQ(lock.build_constraints[1].name, "wheel");
  EXPECT_EQ(lock.build_constraints[1].display_name, "Wheel");
  EXPECT_EQ(lock.build_constraints[1].constraint, "<0.45");
  ASSERT_TRUE(lock.build_constraints[1].marker);
  EXPECT_EQ(lock.build_constraints[1].marker->str(), "python_full_version >= \"3.9\"");
  // Constraints are not requirements: the selection is as without them.
  auto s = select(lock, target());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(selected(*s), std::vector<std::string>{"six==1.16.0"});

  std::string bad(kWorkspace);
  bad.replace(bad.find("members = [\"app\", \"lib-a\", \"lib-b\"]"), 35,
              "build-constraints = [{ name = \"wheel\", specifier = \"<<1\" }]");
  EXPECT_NE(error_of(bad).find("invalid specifier \"<<1\" in an entry of \"manifest.build-constraints\""),
            std::string::npos)
      << error_of(bad);
}

TEST(UvLock, DetectedByNameAndContent) {
  auto by_name = parse_lock(app_lock(), "some/dir/uv.lock");
  ASSERT_TRUE(by_name) << by_name.error().message;
  EXPECT_EQ(by_name->format, Format::uv);
  auto by_content = parse_lock(app_lock(), "renamed.lock");
  ASSERT_TRUE(by_content) << by_content.error().message;
  EXPECT_EQ(by_content->format, Format::uv);
  auto unknown = parse_lock("[tool]\nx = 1\n", "other.toml");
  ASSERT_FALSE(unknown);
  for (std::string_view needle : {"uv.lock (`uv lock`)", "poetry.lock", "`poetry lock`", "pylock.toml",
                                  "`uv export --format pylock.toml", "`strata plan`"})
    EXPECT_NE(unknown.error().message.find(needle), std::string::npos)
        << needle << ": " << unknown.error().message;
}

}  // namespace
}  // namespace strata::lock

namespace strata::lock {
namespace {

// The uv fixtures hold a uv.lock and the pylock.toml `uv export` wrote from it (webapp-uv with
// every extra and group, datasci-uv with uv's default `dev` group): both select the same.
TEST(UvLock, RealLocksSelectWhatUvExportedAsPylock) {
  struct Case {
    const char* fixture;
    bool everything;
  };
  for (const Case& c : {Case{"webapp-uv", true}, Case{"datasci-uv", false}}) {
    std::filesystem::path dir = strata::testing::fixtures_dir() / "locks" / c.fixture;
    auto uv = load_lock(dir / "uv.lock");
    ASSERT_TRUE(uv) << uv.error().message;
    auto pylock = load_lock(dir / "pylock.toml");
    ASSERT_TRUE(pylock) << pylock.error().message;
    for (const char* version : {"3.9.18", "3.11.7", "3.12.1", "3.13.0"}) {
      SelectionRequest r = target(version);
      if (c.everything) {
        r.all_extras = true;
        for (const auto& g : uv->groups) r.with.push_back(g.name);
      } else {
        r.with = {"dev"};
      }
      auto from_uv = select(*uv, r);
      ASSERT_TRUE(from_uv) << from_uv.error().message;
      SelectionRequest plain = target(version);
      plain.with = {};
      auto from_pylock = select(*pylock, plain);
      ASSERT_TRUE(from_pylock) << from_pylock.error().message;
      auto a = selected(*from_uv), b = selected(*from_pylock);
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      EXPECT_EQ(a, b) << c.fixture << " on " << version;
      EXPECT_GT(a.size(), 5u);
    }
  }
}

}  // namespace
}  // namespace strata::lock

namespace strata::lock {
namespace {

// uv writes revision 0 (no key) to 5 so far; revisions only add, so later ones are read too, and
// keys this reader does not know (a newer revision's) are ignored as uv's own reader does. Locks
// before uv 0.3 named the tables [[distribution]]; uv 0.6.15 wrote `upload_time`.
TEST(UvLock, EveryRevisionAndOlderSpellings) {
  for (std::string revision : {"", "revision = 1\n", "revision = 2\n", "revision = 3\n", "revision = 4\n",
                               "revision = 5\n", "revision = 42\n"}) {
    std::string text = "version = 1\n" + revision +
                       "requires-python = \">=3.9\"\n\n[[package]]\nname = \"a\"\nversion = \"1.0\"\n"
                       "source = { registry = \"https://pypi.org/simple\" }\n"
                       "wheels = [{ url = \"https://f/a-1.0-py3-none-any.whl\", hash = \"sha256:" +
                       std::string(64, 'a') +
                       "\", upload_time = \"2025-04-20T00:00:00Z\", some-future-key = 1 }]\n";
    Lock lock = read(text);
    ASSERT_EQ(lock.packages.size(), 1u) << revision;
    EXPECT_EQ(lock.packages[0].artifacts.size(), 1u);
  }
  Lock old = read(
      "version = 1\nrequires-python = \">=3.9\"\n\n[[distribution]]\nname = \"a\"\nversion = \"1.0\"\n"
      "source = { registry = \"https://pypi.org/simple\" }\n");
  EXPECT_EQ(old.packages.size(), 1u);
}

}  // namespace
}  // namespace strata::lock
