#include "wheel/conflicts.hpp"

#include <map>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "env/installed.hpp"
#include "support/tempdir.hpp"
#include "unit/wheel/test_wheel.hpp"
#include "util/fs.hpp"

namespace strata::wheel {
namespace {
namespace fs = std::filesystem;
using testing::TestWheel;

// A virtual environment as `python -m venv` lays it out: pyvenv.cfg, bin/python links, and
// lib64 -> lib (so that platlib and purelib are two spellings of one directory).
struct Venv {
  testing::TempDir tmp;
  fs::path root = tmp.path() / "venv";
  fs::path wheels = tmp.path() / "wheels";
  InstallTarget target;
  WheelInstallOptions options;

  Venv() {
    fs::create_directories(root / "bin");
    fs::create_directories(root / "lib/python3.11/site-packages");
    fs::create_directories(wheels);
    fs::create_symlink("lib", root / "lib64");
    fs::create_symlink("/usr/bin/python3", root / "bin/python3");
    fs::create_symlink("python3", root / "bin/python");
    EXPECT_TRUE(util::write_file_atomic(root / "bin/activate", "# activate\n"));
    EXPECT_TRUE(util::write_file_atomic(root / "pyvenv.cfg", "home = /usr/bin\n"));
    target.scheme = {root / "lib/python3.11/site-packages", root / "lib64/python3.11/site-packages",
                     root / "bin", root, root / "include/site/python3.11"};
    target.python = root / "bin/python";
    target.state_dir = root / ".strata";
    options.compile = false;
  }
  fs::path site() const { return target.scheme.purelib; }
  Result<InstalledWheel> install(const TestWheel& w) {
    return install_wheel(w.write(wheels), target, options);
  }
};

// Every path under `dir` with its content or link target (the state directory left out).
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = it->path().lexically_relative(dir).generic_string();
    if (rel.starts_with(".strata")) continue;
    if (it->is_symlink())
      out[rel] = "-> " + fs::read_symlink(it->path()).string();
    else if (it->is_regular_file())
      out[rel] = util::read_file(it->path()).value_or("<unreadable>");
    else
      out[rel] = "<dir>";
  }
  return out;
}

TestWheel demo(std::vector<ZipMember> files, std::string entry_points = "") {
  TestWheel w;
  w.files = std::move(files);
  w.files.push_back({"demo/__init__.py", ""});
  w.entry_points = std::move(entry_points);
  return w;
}

void expect_refused(Venv& venv, const TestWheel& w, const std::vector<std::string>& needles) {
  const auto before = snapshot(venv.root);
  auto installed = venv.install(w);
  ASSERT_FALSE(installed) << "installed a wheel that overwrites what it does not own";
  EXPECT_EQ(installed.error().kind, ErrorKind::runtime);
  for (const auto& needle : needles)
    EXPECT_NE(installed.error().message.find(needle), std::string::npos) << needle << "\n"
                                                                         << installed.error().message;
  EXPECT_EQ(snapshot(venv.root), before);
}

TEST(CheckConflicts, AnEntryPointNamedLikeTheInterpreterIsRefused) {
  for (const char* name : {"python", "python3", "activate"}) {
    Venv venv;
    expect_refused(
        venv, demo({}, fmt::format("[console_scripts]\n{} = demo:main\n", name)),
        {"demo-1.0-py3-none-any.whl", (venv.root / "bin" / name).string(), "the environment (venv)"});
    EXPECT_EQ(fs::read_symlink(venv.root / "bin/python"), "python3");
  }
}

TEST(CheckConflicts, DataFilesCannotReplaceTheInterpreterOrPyvenvCfg) {
  Venv venv;
  expect_refused(venv, demo({{"demo-1.0.data/scripts/python", "#!/bin/sh\n", 0755}}),
                 {(venv.root / "bin/python").string(), "the environment (venv)"});
  expect_refused(venv, demo({{"demo-1.0.data/data/pyvenv.cfg", "home = /tmp\n"}}),
                 {(venv.root / "pyvenv.cfg").string(), "the environment (venv)"});
  expect_refused(venv, demo({{"demo-1.0.data/data/bin/python3", "#!/bin/sh\n"}}),
                 {(venv.root / "bin/python3").string(), "the environment (venv)"});
}

TEST(CheckConflicts, TheVenvsFilesStayItsOwnWhateverARecordClaims) {
  Venv venv;
  const fs::path old = venv.site() / "demo-0.9.dist-info";
  fs::create_directories(old);
  ASSERT_TRUE(util::write_file_atomic(old / "METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 0.9\n"));
  ASSERT_TRUE(
      util::write_file_atomic(old / "RECORD", "../../../bin/python,,\ndemo-0.9.dist-info/RECORD,,\n"));
  venv.target.replacing = old;
  expect_refused(venv, demo({}, "[console_scripts]\npython = demo:main\n"),
                 {(venv.root / "bin/python").string(), "the environment (venv)"});
}

TEST(CheckConflicts, AnotherDistributionsFilesAreRefusedNamingIt) {
  Venv venv;
  TestWheel six;
  six.name = "six";
  six.version = "1.16.0";
  six.files = {{"six.py", "SIX = 1\n"}};
  six.entry_points = "[console_scripts]\nsix-tool = six:main\n";
  ASSERT_TRUE(venv.install(six));
  expect_refused(venv, demo({{"six.py", "EVIL = 1\n"}}),
                 {(venv.site() / "six.py").string(), "owner: six 1.16.0"});
  expect_refused(venv, demo({}, "[console_scripts]\nsix-tool = demo:main\n"),
                 {(venv.root / "bin/six-tool").string(), "owner: six 1.16.0"});
  // Also through the other spelling of the library directory (lib64 -> lib).
  expect_refused(venv, demo({{"demo-1.0.data/platlib/six.py", "EVIL = 1\n"}}),
                 {"six.py", "owner: six 1.16.0"});
  // A file where a directory would have to be made is one the wheel would replace too.
  expect_refused(venv, demo({{"six.py/evil.py", "EVIL = 1\n"}}),
                 {(venv.site() / "six.py").string() + " is not a directory (owner: six 1.16.0)"});
  expect_refused(
      venv, demo({{"demo-1.0.data/scripts/python/x", "#!/bin/sh\n"}}),
      {(venv.root / "bin/python").string() + " is not a directory (owner: the environment (venv))"});
  EXPECT_EQ(util::read_file(venv.site() / "six.py").value_or(""), "SIX = 1\n");
}

TEST(CheckConflicts, UnmanagedFilesAreRefused) {
  Venv venv;
  ASSERT_TRUE(util::write_file_atomic(venv.site() / "sitecustomize.py", "# the image's own\n"));
  expect_refused(venv, demo({{"sitecustomize.py", "import os\n"}}),
                 {(venv.site() / "sitecustomize.py").string(), "owner: unmanaged"});
  fs::create_directories(venv.site() / "demo_data");
  expect_refused(venv, demo({{"demo_data", "not a directory\n"}}), {"a directory is in the way"});
}

TEST(CheckConflicts, MetadataDirectoriesCannotBePlanted) {
  Venv venv;
  expect_refused(venv, demo({{"demo-1.0.data/purelib/planted-6.6.dist-info/METADATA", "Name: planted\n"}}),
                 {"inside the metadata directory planted-6.6.dist-info"});
  expect_refused(venv,
                 demo({{"demo-1.0.data/data/lib64/python3.11/site-packages/planted-6.6.egg-info", "x\n"}}),
                 {"inside the metadata directory planted-6.6.egg-info"});
  expect_refused(venv, demo({{"demo-1.0.data/purelib/demo-1.0.dist-info/extra", "x\n"}}),
                 {"inside the metadata directory demo-1.0.dist-info"});
  auto installed = env::scan_installed(std::vector<fs::path>{venv.site()});
  ASSERT_TRUE(installed);
  EXPECT_TRUE(installed->distributions.empty());
}

TEST(CheckConflicts, IdenticalNamespaceInitIsShared) {
  Venv venv;
  const std::string init = "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n";
  TestWheel a;
  a.name = "alpha";
  a.files = {{"ns/__init__.py", init}, {"ns/alpha.py", "A = 1\n"}};
  ASSERT_TRUE(venv.install(a));
  TestWheel b = a;
  b.name = "beta";
  b.files = {{"ns/__init__.py", init}, {"ns/beta.py", "B = 1\n"}};
  auto shared = venv.install(b);
  ASSERT_TRUE(shared) << shared.error().message;
  TestWheel c = a;
  c.name = "gamma";
  c.files = {{"ns/__init__.py", "import os\n"}};
  expect_refused(venv, c, {(venv.site() / "ns/__init__.py").string(), "owner: alpha 1.0"});
}

TEST(CheckConflicts, TheReplacedDistributionsFilesMayBeOverwritten) {
  Venv venv;
  TestWheel v1 = demo({{"demo_extra.py", "V = 1\n"}}, "[console_scripts]\ndemo-cli = demo:main\n");
  ASSERT_TRUE(venv.install(v1));
  TestWheel v2 = v1;
  v2.version = "2.0";
  v2.files[0].data = "V = 2\n";
  // Not named as replaced: the new version may not take over the old one's files.
  expect_refused(venv, v2, {"demo is already installed"});
  venv.target.replacing = venv.site() / "demo-1.0.dist-info";
  auto replaced = venv.install(v2);
  ASSERT_TRUE(replaced) << replaced.error().message;
  EXPECT_EQ(util::read_file(venv.site() / "demo_extra.py").value_or(""), "V = 2\n");
}

TEST(CheckConflicts, TwoWheelsOfOneInstallMayNotWriteTheSameFile) {
  Venv venv;
  TestWheel a;
  a.name = "alpha";
  a.files = {{"shared.py", "WHO = 'alpha'\n"}, {"ns/__init__.py", ""}};
  a.entry_points = "[console_scripts]\ntool = alpha:main\n";
  TestWheel b = a;
  b.name = "beta";
  b.files = {{"shared.py", "WHO = 'beta'\n"}, {"ns/__init__.py", ""}};
  std::vector<PreparedWheel> prepared;
  for (const auto& w : {a, b}) {
    auto p = prepare_wheel(w.write(venv.wheels), venv.target, venv.options);
    ASSERT_TRUE(p) << p.error().message;
    prepared.push_back(std::move(*p));
  }
  auto checked = check_conflicts(prepared, {});
  ASSERT_FALSE(checked);
  const std::string& m = checked.error().message;
  EXPECT_NE(m.find((venv.site() / "shared.py").string() + " (also written by alpha-1.0-py3-none-any.whl"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find((venv.root / "bin/tool").string()), std::string::npos) << m;
  EXPECT_EQ(m.find("ns/__init__.py"), std::string::npos) << m;  // identical: shared

  // Without the clashing files, the same pair passes.
  a.files.erase(a.files.begin());
  a.entry_points.clear();
  prepared.clear();
  for (const auto& w : {a, b})
    prepared.push_back(*prepare_wheel(w.write(venv.wheels), venv.target, venv.options));
  EXPECT_TRUE(check_conflicts(prepared, {}));

  // Two wheels of one project.
  TestWheel a2 = a;
  a2.version = "2.0";
  prepared.clear();
  for (const auto& w : {a, a2})
    prepared.push_back(*prepare_wheel(w.write(venv.wheels), venv.target, venv.options));
  auto twice = check_conflicts(prepared, {});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("alpha is also installed by alpha-1.0-py3-none-any.whl"),
            std::string::npos)
      << twice.error().message;
}

}  // namespace
}  // namespace strata::wheel
