#include "wheel/install.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "unit/wheel/test_wheel.hpp"
#include "util/fs.hpp"

namespace strata::wheel {
namespace {
namespace fs = std::filesystem;
using testing::TestWheel;

struct Env {
  testing::TempDir tmp;
  fs::path root = tmp.path() / "env";
  fs::path wheels = tmp.path() / "wheels";
  InstallTarget target;
  WheelInstallOptions options;

  Env() {
    fs::create_directories(wheels);
    target.scheme = {root / "lib/python3.11/site-packages", root / "lib64/python3.11/site-packages",
                     root / "bin", root, root / "include/site/python3.11"};
    // Fixed, so that trees of environments in different temp dirs compare equal.
    target.python = "/opt/strata-test/bin/python";
    target.state_dir = root / ".strata";
    options.compile = false;  // unit tests run no interpreter
  }
  fs::path site() const { return target.scheme.purelib; }
};

std::string read(const fs::path& p) {
  auto content = util::read_file(p);
  return content ? *content : std::string("<missing>");
}

bool executable(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && (st.st_mode & 0100) != 0;
}

// Every file under `dir`, relative, with its content.
// Occurrences of `mask` in contents become "<root>" so trees from different temp dirs compare.
std::map<std::string, std::string> tree(const fs::path& dir, const std::string& mask = "\x01") {
  std::map<std::string, std::string> out;
  std::error_code ec;
  if (!fs::exists(dir)) return out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it)
    if (it->is_regular_file()) {
      std::string content = read(it->path());
      for (auto pos = content.find(mask); pos != std::string::npos; pos = content.find(mask))
        content.replace(pos, mask.size(), "<root>");
      out[it->path().lexically_relative(dir).generic_string()] = content;
    }
  return out;
}

TestWheel demo_wheel() {
  TestWheel w;
  w.files = {{"demo/__init__.py", "VALUE = 1\n"},
             {"demo/tool.sh", "#!/bin/sh\necho hi\n", 0755},
             {"demo-1.0.data/scripts/demo-script", "#!python\nimport demo\n"},
             {"demo-1.0.data/scripts/plain.sh", "#!/bin/sh\necho plain\n"},
             {"demo-1.0.data/data/share/demo/readme.txt", "data file\n"},
             {"demo-1.0.data/headers/demo.h", "#define DEMO 1\n"},
             {"demo-1.0.data/platlib/demo_native.py", "NATIVE = 1\n"}};
  w.entry_points = "[console_scripts]\ndemo-cli = demo.cli:main\n[gui_scripts]\ndemo-gui = demo:gui\n";
  return w;
}

TEST(InstallWheel, LaysOutFilesInSchemePaths) {
  Env env;
  auto installed = install_wheel(demo_wheel().write(env.wheels), env.target, env.options);
  ASSERT_TRUE(installed) << installed.error().message;
  EXPECT_EQ(installed->name, "demo");
  EXPECT_EQ(installed->version, "1.0");
  EXPECT_EQ(installed->dist_info, env.site() / "demo-1.0.dist-info");
  EXPECT_EQ(read(env.site() / "demo/__init__.py"), "VALUE = 1\n");
  EXPECT_TRUE(executable(env.site() / "demo/tool.sh"));
  EXPECT_FALSE(executable(env.site() / "demo/__init__.py"));
  EXPECT_EQ(read(env.root / "share/demo/readme.txt"), "data file\n");
  EXPECT_EQ(read(env.target.scheme.headers / "demo/demo.h"), "#define DEMO 1\n");
  EXPECT_EQ(read(env.target.scheme.platlib / "demo_native.py"), "NATIVE = 1\n");
  // #!python rewritten to the target interpreter; other scripts kept; all scripts executable.
  EXPECT_EQ(read(env.root / "bin/demo-script"), "#!" + env.target.python.string() + "\nimport demo\n");
  EXPECT_EQ(read(env.root / "bin/plain.sh"), "#!/bin/sh\necho plain\n");
  EXPECT_TRUE(executable(env.root / "bin/demo-script"));
  EXPECT_TRUE(executable(env.root / "bin/plain.sh"));
  // Launchers for console and gui scripts.
  std::string cli = read(env.root / "bin/demo-cli");
  EXPECT_TRUE(cli.starts_with("#!" + env.target.python.string() + "\n")) << cli;
  EXPECT_NE(cli.find("from demo.cli import main\n"), std::string::npos) << cli;
  EXPECT_NE(read(env.root / "bin/demo-gui").find("sys.exit(gui())"), std::string::npos);
  EXPECT_TRUE(executable(env.root / "bin/demo-cli"));
  // Nothing left in staging, no journal.
  EXPECT_TRUE(fs::is_empty(env.target.state_dir / "staging"));
  EXPECT_FALSE(fs::exists(env.target.state_dir / "journal/demo.json"));
  EXPECT_FALSE(fs::exists(env.site() / "demo-1.0.data"));
}

TEST(InstallWheel, WritesSortedRecordMatchingTheFiles) {
  Env env;
  env.options.direct_url_json = R"({"url": "file:///w/demo.whl", "archive_info": {}})";
  auto installed = install_wheel(demo_wheel().write(env.wheels), env.target, env.options);
  ASSERT_TRUE(installed) << installed.error().message;
  const fs::path di = env.site() / "demo-1.0.dist-info";
  EXPECT_EQ(read(di / "INSTALLER"), "strata\n");
  EXPECT_EQ(read(di / "REQUESTED"), "");
  EXPECT_EQ(read(di / "direct_url.json"), env.options.direct_url_json);
  auto rows = parse_record(read(di / "RECORD"), "RECORD");
  ASSERT_TRUE(rows) << rows.error().message;
  std::vector<std::string> paths;
  for (const auto& row : *rows) paths.push_back(row.path);
  EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end()));
  std::vector<std::string> expected = {"../../../bin/demo-cli",
                                       "../../../bin/demo-gui",
                                       "../../../bin/demo-script",
                                       "../../../bin/plain.sh",
                                       "../../../include/site/python3.11/demo/demo.h",
                                       "../../../lib64/python3.11/site-packages/demo_native.py",
                                       "../../../share/demo/readme.txt",
                                       "demo-1.0.dist-info/INSTALLER",
                                       "demo-1.0.dist-info/METADATA",
                                       "demo-1.0.dist-info/RECORD",
                                       "demo-1.0.dist-info/REQUESTED",
                                       "demo-1.0.dist-info/WHEEL",
                                       "demo-1.0.dist-info/direct_url.json",
                                       "demo-1.0.dist-info/entry_points.txt",
                                       "demo/__init__.py",
                                       "demo/tool.sh"};
  EXPECT_EQ(paths, expected);
  for (const auto& row : *rows) {
    fs::path file = (env.site() / row.path).lexically_normal();
    if (row.path == "demo-1.0.dist-info/RECORD") {
      EXPECT_EQ(row.hash, "");
      EXPECT_FALSE(row.size);
      continue;
    }
    std::string content = read(file);
    EXPECT_EQ(row.hash, TestWheel::hash(content)) << row.path;
    EXPECT_EQ(row.size, content.size()) << row.path;
  }
  EXPECT_EQ(installed->files.size(), rows->size());
}

TEST(InstallWheel, PlatlibRootAndNoRequested) {
  Env env;
  TestWheel w;
  w.purelib = false;
  w.files = {{"native/__init__.py", "x = 1\n"}};
  env.options.requested = false;
  auto installed = install_wheel(w.write(env.wheels), env.target, env.options);
  ASSERT_TRUE(installed) << installed.error().message;
  EXPECT_TRUE(fs::exists(env.target.scheme.platlib / "native/__init__.py"));
  EXPECT_TRUE(fs::exists(env.target.scheme.platlib / "demo-1.0.dist-info/RECORD"));
  EXPECT_FALSE(fs::exists(env.target.scheme.platlib / "demo-1.0.dist-info/REQUESTED"));
  EXPECT_FALSE(fs::exists(env.target.scheme.platlib / "demo-1.0.dist-info/direct_url.json"));
}

TEST(InstallWheel, TrampolineForInterpreterPathWithSpaces) {
  Env env;
  env.target.python = env.root / "my env/bin/python";
  auto installed = install_wheel(demo_wheel().write(env.wheels), env.target, env.options);
  ASSERT_TRUE(installed) << installed.error().message;
  std::string expected = "#!/bin/sh\n'''exec' \"" + env.target.python.string() + "\" \"$0\" \"$@\"\n' '''\n";
  EXPECT_TRUE(read(env.root / "bin/demo-cli").starts_with(expected)) << read(env.root / "bin/demo-cli");
  EXPECT_EQ(read(env.root / "bin/demo-script"), expected + "import demo\n");
}

// Installs `w` and expects a refusal mentioning `why`, with nothing written outside staging.
void expect_refused(const TestWheel& w, std::string_view why, const ArchiveLimits& limits = {}) {
  Env env;
  env.options.limits = limits;
  auto installed = install_wheel(w.write(env.wheels), env.target, env.options);
  ASSERT_FALSE(installed) << "installed a hostile wheel; expected: " << why;
  EXPECT_NE(installed.error().message.find(w.filename()), std::string::npos) << installed.error().message;
  EXPECT_NE(installed.error().message.find(why), std::string::npos) << installed.error().message;
  EXPECT_TRUE(tree(env.root).empty()) << "files left behind";
}

TEST(InstallWheel, RefusesHostileWheels) {
  using Kind = ZipMember::Kind;
  TestWheel w;
  w.files = {{"../escape.py", "x"}};
  expect_refused(w, "escapes the target");
  w.files = {{"/abs.py", "x"}};
  expect_refused(w, "absolute path");
  w.files = {{"demo/link", "/etc/passwd", 0777, Kind::symlink}};
  expect_refused(w, "symbolic link");
  w.files = {{"demo/a.py", "x"}, {"demo/a.py", "y"}};
  expect_refused(w, "duplicate entry");
  w.files = {{"demo-1.0.dist-info/extra.txt", "x"}, {"other-1.0.dist-info/METADATA", "Name: other\n"}};
  expect_refused(w, "more than one .dist-info directory");
  w.files = {{"demo-1.0.data/unknown/x", "x"}};
  expect_refused(w, "unknown scheme directory");
  w.files = {{"demo/big.bin", std::string(4096, 'x')}};
  ArchiveLimits small;
  small.max_entry_size = 1024;
  expect_refused(w, "per-entry limit of 1024 bytes", small);
}

TEST(InstallWheel, RefusesInconsistentWheels) {
  TestWheel w;
  w.files = {{"demo/a.py", "x = 1\n"}};
  w.extra = {{"demo/unlisted.py", "evil\n"}};
  expect_refused(w, "\"demo/unlisted.py\" is not listed in RECORD");

  TestWheel absent;
  absent.files = {{"demo/a.py", "x = 1\n"}};
  absent.extra_record = "demo/gone.py," + TestWheel::hash("y\n") + ",2\n";
  expect_refused(absent, "RECORD lists \"demo/gone.py\", which is not a file in the wheel");
  absent.extra_record = "../outside.py,,\n";
  expect_refused(absent, "RECORD lists \"../outside.py\"");
  TestWheel signed_record;  // rows for RECORD's signature files are no error, present or not
  signed_record.extra_record = "demo-1.0.dist-info/RECORD.jws,,\n";
  signed_record.extra = {{"demo-1.0.dist-info/RECORD.p7s", "sig"}};
  {
    Env env;
    auto installed = install_wheel(signed_record.write(env.wheels), env.target, env.options);
    EXPECT_TRUE(installed) << installed.error().message;
  }

  TestWheel mismatch;
  mismatch.dist_info_override = "other-1.0.dist-info";
  expect_refused(mismatch, "does not match the wheel's project name \"demo\"");

  TestWheel future;
  future.wheel_version = "2.0";
  expect_refused(future, "unsupported Wheel-Version 2.0");

  // A RECORD whose hash does not match the content.
  Env env;
  const std::string di = "demo-1.0.dist-info";
  std::string meta = "Name: demo\nVersion: 1.0\n";
  std::string wheel_meta = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n";
  std::string record = "demo/a.py," + TestWheel::hash("original\n") + ",9\n" + di + "/METADATA," +
                       TestWheel::hash(meta) + "," + std::to_string(meta.size()) + "\n" + di + "/WHEEL," +
                       TestWheel::hash(wheel_meta) + "," + std::to_string(wheel_meta.size()) + "\n" + di +
                       "/RECORD,,\n";
  auto path = env.wheels / "demo-1.0-py3-none-any.whl";
  ASSERT_TRUE(write_zip(path, {{"demo/a.py", "tampered\n"},
                               {di + "/METADATA", meta},
                               {di + "/WHEEL", wheel_meta},
                               {di + "/RECORD", record}}));
  auto installed = install_wheel(path, env.target, env.options);
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message.find("entry \"demo/a.py\" does not match its RECORD hash"),
            std::string::npos)
      << installed.error().message;
  EXPECT_TRUE(tree(env.root).empty());
}

TEST(InstallWheel, RefusesAWheelWhoseNameOrVersionDisagrees) {
  TestWheel di_version;
  di_version.dist_info_override = "demo-6.6.dist-info";
  expect_refused(di_version, "its directory says 6.6");

  // File name demo-1.0, inside demo 6.6 throughout.
  Env env;
  TestWheel inside;
  inside.version = "6.6";
  auto path = inside.write(env.wheels);
  fs::rename(path, env.wheels / "demo-1.0-py3-none-any.whl");
  auto installed = install_wheel(env.wheels / "demo-1.0-py3-none-any.whl", env.target, env.options);
  ASSERT_FALSE(installed);
  EXPECT_NE(installed.error().message.find("the file name says version 1.0"), std::string::npos)
      << installed.error().message;

  TestWheel bad_name;
  bad_name.name = "..";
  bad_name.dist_info_override = "-1.0.dist-info";
  Env other;
  auto bad = install_wheel(bad_name.write(other.wheels), other.target, other.options);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(tree(other.root).empty());
}

TEST(InstallWheel, RefusesAWheelThatIsNotTheLockedProjectAndVersion) {
  for (auto [name, version, ok] : {std::tuple{"goodpkg", "1.0", false}, std::tuple{"demo", "6.6", false},
                                   std::tuple{"Demo", "1.0.0", true}, std::tuple{"DEMO", "1.0", true}}) {
    Env env;
    env.options.expected = ExpectedIdentity{name, version};
    auto installed = install_wheel(demo_wheel().write(env.wheels), env.target, env.options);
    EXPECT_EQ(static_cast<bool>(installed), ok) << name << " " << version;
    if (!ok) {
      EXPECT_NE(installed.error().message.find(fmt::format("the lock has {} {}", name, version)),
                std::string::npos)
          << installed.error().message;
      EXPECT_TRUE(tree(env.root).empty());
    }
  }
}

TEST(InstallWheel, RefusesWhenAnotherVersionIsInstalledAndNotReplaced) {
  Env env;
  ASSERT_TRUE(install_wheel(demo_wheel().write(env.wheels), env.target, env.options));
  TestWheel v2 = demo_wheel();
  v2.version = "2.0";
  for (auto& f : v2.files) {
    if (f.name.starts_with("demo-1.0.data/")) f.name.replace(0, 8, "demo-2.0");
  }
  auto again = install_wheel(v2.write(env.wheels), env.target, env.options);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("is already installed"), std::string::npos) << again.error().message;
}

TEST(PrepareWheel, TouchesNothingOutsideStagingAndCleansUpWhenDropped) {
  Env env;
  {
    auto prepared = prepare_wheel(demo_wheel().write(env.wheels), env.target, env.options);
    ASSERT_TRUE(prepared) << prepared.error().message;
    EXPECT_EQ(prepared->project(), "demo");
    EXPECT_FALSE(fs::exists(env.site()));
    EXPECT_FALSE(fs::exists(env.root / "bin"));
  }
  // Dropped without a commit: the staging directory is gone too.
  EXPECT_TRUE(fs::is_empty(env.target.state_dir / "staging"));
}

TEST(PrepareWheel, SeveralAtOnceThenCommitGivesTheSameTreeAsInstall) {
  Env one, two;
  ASSERT_TRUE(install_wheel(demo_wheel().write(one.wheels), one.target, one.options));
  TestWheel other;
  other.name = "other";
  other.files = {{"other/__init__.py", "X = 1\n"}};
  ASSERT_TRUE(install_wheel(other.write(one.wheels), one.target, one.options));
  auto a = prepare_wheel(demo_wheel().write(two.wheels), two.target, two.options);
  auto b = prepare_wheel(other.write(two.wheels), two.target, two.options);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(commit_wheel(std::move(*b)));
  ASSERT_TRUE(commit_wheel(std::move(*a)));
  auto strip = [](std::map<std::string, std::string> t) {
    std::erase_if(t, [](const auto& kv) { return kv.first.starts_with(".strata"); });
    return t;
  };
  EXPECT_EQ(strip(tree(two.root, two.root.string())), strip(tree(one.root, one.root.string())));
}

TestWheel version2() {
  TestWheel w;
  w.version = "2.0";
  w.files = {{"demo/__init__.py", "VALUE = 2\n"}, {"demo/new.py", "NEW = 1\n"}};
  w.entry_points = "[console_scripts]\ndemo-cli = demo.cli:main2\n";
  return w;
}

TEST(InstallWheel, ReplacementRemovesFilesTheNewVersionDoesNotHave) {
  Env env;
  ASSERT_TRUE(install_wheel(demo_wheel().write(env.wheels), env.target, env.options));
  // Something unrelated in the environment must survive.
  ASSERT_TRUE(util::write_file_atomic(env.site() / "unrelated.py", "keep\n"));
  env.target.replacing = env.site() / "demo-1.0.dist-info";
  auto installed = install_wheel(version2().write(env.wheels), env.target, env.options);
  ASSERT_TRUE(installed) << installed.error().message;
  EXPECT_EQ(installed->replaced, env.site() / "demo-1.0.dist-info");
  EXPECT_FALSE(fs::exists(env.site() / "demo-1.0.dist-info"));
  EXPECT_TRUE(fs::exists(env.site() / "demo-2.0.dist-info/RECORD"));
  EXPECT_EQ(read(env.site() / "demo/__init__.py"), "VALUE = 2\n");
  EXPECT_TRUE(fs::exists(env.site() / "demo/new.py"));
  EXPECT_FALSE(fs::exists(env.site() / "demo/tool.sh"));
  EXPECT_FALSE(fs::exists(env.root / "bin/demo-gui"));
  EXPECT_FALSE(fs::exists(env.root / "share/demo"));  // emptied directories pruned
  EXPECT_NE(read(env.root / "bin/demo-cli").find("main2"), std::string::npos);
  EXPECT_EQ(read(env.site() / "unrelated.py"), "keep\n");
  EXPECT_TRUE(fs::exists(env.root / "bin"));
}

// Interrupting at every step and then recovering must give the same tree as an uninterrupted run.
class Interruption : public ::testing::TestWithParam<FailPoint> {};

TEST_P(Interruption, RecoverGivesTheUninterruptedResult) {
  for (bool replacing : {false, true}) {
    SCOPED_TRACE(replacing ? "replacing" : "fresh install");
    Env reference, env;
    for (Env* e : {&reference, &env}) {
      if (replacing) {
        ASSERT_TRUE(install_wheel(demo_wheel().write(e->wheels), e->target, e->options));
        e->target.replacing = e->site() / "demo-1.0.dist-info";
      }
    }
    ASSERT_TRUE(install_wheel(version2().write(reference.wheels), reference.target, reference.options));

    env.options.fail_point = GetParam();
    auto interrupted = install_wheel(version2().write(env.wheels), env.target, env.options);
    ASSERT_FALSE(interrupted);
    // Whatever the step, no half-written distribution claims to be installed.
    bool v2_claimed = fs::exists(env.site() / "demo-2.0.dist-info");
    bool v1_claimed = fs::exists(env.site() / "demo-1.0.dist-info");
    if (v2_claimed) {
      EXPECT_EQ(tree(env.site() / "demo-2.0.dist-info", env.root.string()),
                tree(reference.site() / "demo-2.0.dist-info", reference.root.string()));
      EXPECT_EQ(read(env.site() / "demo/new.py"), "NEW = 1\n");
    }
    if (v1_claimed) {
      EXPECT_EQ(read(env.site() / "demo/__init__.py"), "VALUE = 1\n");
    }

    auto report = recover(env.target.state_dir);
    ASSERT_TRUE(report) << report.error().message;
    if (GetParam() == FailPoint::after_staging) {
      // Nothing was journaled: the staging directory is abandoned, the old state untouched.
      EXPECT_EQ(report->staging_removed, 1u);
      EXPECT_TRUE(report->completed.empty());
      EXPECT_EQ(fs::exists(env.site() / "demo-1.0.dist-info"), replacing);
      env.options.fail_point = FailPoint::none;
      ASSERT_TRUE(install_wheel(version2().write(env.wheels), env.target, env.options));
    } else {
      EXPECT_EQ(report->completed, std::vector<std::string>{"demo"});
    }
    EXPECT_EQ(tree(env.root, env.root.string()), tree(reference.root, reference.root.string()));
    EXPECT_FALSE(fs::exists(env.target.state_dir / "journal/demo.json"));
    EXPECT_TRUE(fs::is_empty(env.target.state_dir / "staging"));
  }
}

INSTANTIATE_TEST_SUITE_P(AllSteps, Interruption,
                         ::testing::Values(FailPoint::after_staging, FailPoint::after_journal,
                                           FailPoint::after_old_moved, FailPoint::after_some_files,
                                           FailPoint::before_commit, FailPoint::after_commit));

TEST(Recover, RollsBackWhenStagedFilesAreGone) {
  Env env;
  env.options.fail_point = FailPoint::after_some_files;
  ASSERT_FALSE(install_wheel(version2().write(env.wheels), env.target, env.options));
  // Lose the staging directory (e.g. a cleaner ran): the install cannot be finished.
  for (auto& dir : fs::directory_iterator(env.target.state_dir / "staging")) fs::remove_all(dir.path());
  auto report = recover(env.target.state_dir);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->rolled_back, std::vector<std::string>{"demo"});
  EXPECT_TRUE(tree(env.site()).empty());
  EXPECT_TRUE(tree(env.root / "bin").empty());
}

TEST(InstallWheel, PendingJournalBlocksInstall) {
  Env env;
  env.options.fail_point = FailPoint::after_journal;
  ASSERT_FALSE(install_wheel(version2().write(env.wheels), env.target, env.options));
  env.options.fail_point = FailPoint::none;
  auto again = install_wheel(version2().write(env.wheels), env.target, env.options);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("recover first"), std::string::npos) << again.error().message;
}

}  // namespace
}  // namespace strata::wheel
