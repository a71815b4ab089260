#include "env/probe.hpp"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::env {
namespace {

namespace fs = std::filesystem;

// What the probe script prints for Debian 12's /usr/bin/python3 (trimmed to one site dir).
constexpr const char* kCanned = R"({
  "sys_executable": "/usr/bin/python3", "real_executable": "/usr/bin/python3.11",
  "implementation": "cpython", "version_info": [3, 11, 2, "final", 0],
  "prefix": "/usr", "base_prefix": "/usr", "exec_prefix": "/usr", "base_exec_prefix": "/usr",
  "in_venv": false,
  "paths": {"stdlib": "/usr/lib/python3.11", "platstdlib": "/usr/lib/python3.11",
            "purelib": "/usr/local/lib/python3.11/dist-packages",
            "platlib": "/usr/local/lib/python3.11/dist-packages",
            "include": "/usr/include/python3.11", "platinclude": "/usr/include/python3.11",
            "scripts": "/usr/local/bin", "data": "/usr/local", "headers": "/usr/include/python3.11"},
  "site_dirs": ["/usr/local/lib/python3.11/dist-packages", "/usr/lib/python3/dist-packages"],
  "markers": {"implementation_name": "cpython", "implementation_version": "3.11.2", "os_name": "posix",
              "platform_machine": "x86_64", "platform_release": "6.1.0", "platform_system": "Linux",
              "platform_version": "#1 SMP", "python_full_version": "3.11.2",
              "platform_python_implementation": "CPython", "python_version": "3.11", "sys_platform": "linux"},
  "tag_facts": {"py_version_nodot": "311", "soabi": "cpython-311-x86_64-linux-gnu",
                "ext_suffix": ".cpython-311-x86_64-linux-gnu.so", "abiflags": "", "py_debug": false,
                "has_gettotalrefcount": false, "has_debug_pyd": false, "with_pymalloc": true,
                "unicode_size": null, "wide_unicode": true, "gil_disabled": false, "system": "Linux",
                "platform": "linux-x86_64", "is_64bit": true, "glibc": [2, 36], "musl": null,
                "elf": {"class": 2, "data": 1, "machine": 62, "flags": 0}, "manylinux_rejected": [],
                "mac": null}
})";

TEST(ProbeParse, ReadsEveryField) {
  auto r = detail::parse_probe_output(kCanned, "/usr/bin/python3");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->implementation, "cpython");
  EXPECT_EQ(r->version, "3.11.2");
  EXPECT_EQ(r->major, 3);
  EXPECT_EQ(r->minor, 11);
  EXPECT_EQ(r->micro, 2);
  EXPECT_EQ(r->real_executable, "/usr/bin/python3.11");
  EXPECT_FALSE(r->in_venv);
  EXPECT_EQ(r->paths.at("purelib"), "/usr/local/lib/python3.11/dist-packages");
  EXPECT_EQ(r->paths.at("headers"), "/usr/include/python3.11");
  ASSERT_EQ(r->site_dirs.size(), 2u);
  EXPECT_EQ(r->site_dirs[1], "/usr/lib/python3/dist-packages");
  EXPECT_EQ(r->markers.at("python_version"), "3.11");
  EXPECT_EQ(r->markers.size(), 11u);
  const auto& t = r->tag_env;
  EXPECT_EQ(t.implementation, "cpython");
  EXPECT_EQ(t.minor, 11);
  EXPECT_EQ(t.glibc, (std::pair{2, 36}));
  EXPECT_FALSE(t.musl);
  EXPECT_EQ(t.py_debug, false);
  EXPECT_FALSE(t.unicode_size);
  ASSERT_TRUE(t.elf);
  EXPECT_EQ(t.elf->machine, 62);
  EXPECT_EQ(t.ext_suffix, ".cpython-311-x86_64-linux-gnu.so");
  EXPECT_EQ(pep::supported_tags(t).front().str(), "cp311-cp311-linux_x86_64");
}

TEST(ProbeParse, BadJsonNamesTheInterpreter) {
  auto r = detail::parse_probe_output("Traceback (most recent call last):", "/opt/py/bin/python3");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/opt/py/bin/python3"), std::string::npos);
  EXPECT_NE(r.error().message.find("Traceback"), std::string::npos);
}

TEST(ProbeParse, MissingOrMistypedFieldNamesTheInterpreter) {
  std::string text = kCanned;
  text.replace(text.find("\"in_venv\": false"), 16, "\"in_venv\": \"no\"");
  auto r = detail::parse_probe_output(text, "/opt/py/bin/python3");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/opt/py/bin/python3"), std::string::npos);
  EXPECT_FALSE(detail::parse_probe_output("{}", "x"));
  EXPECT_FALSE(detail::parse_probe_output("[1]", "x"));
}

TEST(ProbeJson, ToJsonCarriesPathsMarkersAndFacts) {
  auto r = detail::parse_probe_output(kCanned, "python3");
  ASSERT_TRUE(r);
  r->executable = "/usr/bin/python3";
  const auto j = to_json(*r);
  EXPECT_EQ(j["executable"], "/usr/bin/python3");
  EXPECT_EQ(j["version"], "3.11.2");
  EXPECT_EQ(j["paths"]["scripts"], "/usr/local/bin");
  EXPECT_EQ(j["site_dirs"][0], "/usr/local/lib/python3.11/dist-packages");
  EXPECT_EQ(j["markers"]["sys_platform"], "linux");
  EXPECT_EQ(j["tag_environment"]["glibc"], nlohmann::json::array({2, 36}));
  EXPECT_TRUE(j["tag_environment"]["musl"].is_null());
}

// A stand-in interpreter file: the probe never executes it because a fake runner answers.
struct FakeInterpreter {
  strata::testing::TempDir dir;
  fs::path exe = dir.path() / "bin" / "python3";
  fs::path cache = dir.path() / "cache";
  int runs = 0;
  std::string answer = kCanned;
  int exit_code = 0;
  std::string err;

  explicit FakeInterpreter(std::string_view content =
                               "\x7f"
                               "ELF fake interpreter") {
    fs::create_directories(exe.parent_path());
    write(content);
  }
  void write(std::string_view content) {
    std::ofstream(exe, std::ios::binary | std::ios::trunc) << content;
    fs::permissions(exe, fs::perms::owner_all);
  }
  ProbeOptions options() {
    ProbeOptions o;
    o.cache_dir = cache;
    o.run = [this](const std::vector<std::string>& argv, const std::string&) -> Result<util::ProcessOutput> {
      ++runs;
      EXPECT_EQ(argv.at(0), exe.string());
      EXPECT_EQ(argv.at(1), "-I");
      return util::ProcessOutput{exit_code, answer, err};
    };
    return o;
  }
  std::vector<fs::path> cache_files() const {
    std::vector<fs::path> files;
    if (fs::exists(cache))
      for (const auto& e : fs::directory_iterator(cache)) files.push_back(e.path());
    return files;
  }
};

TEST(ProbeCache, SecondProbeIsServedFromTheCache) {
  FakeInterpreter fake;
  auto first = probe_interpreter(fake.exe.string(), fake.options());
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->executable, fake.exe);
  EXPECT_EQ(fake.runs, 1);
  ASSERT_EQ(fake.cache_files().size(), 1u);
  const auto cached_at = fs::last_write_time(fake.cache_files()[0]);

  auto second = probe_interpreter(fake.exe.string(), fake.options());
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(fake.runs, 1);
  EXPECT_EQ(second->executable, fake.exe);
  EXPECT_EQ(second->version, "3.11.2");
  EXPECT_EQ(second->tag_env.glibc, first->tag_env.glibc);
  EXPECT_EQ(fs::last_write_time(fake.cache_files()[0]), cached_at);
}

TEST(ProbeCache, ChangedSizeOrMtimeInvalidates) {
  FakeInterpreter fake;
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), fake.options()));
  EXPECT_EQ(fake.runs, 1);

  fake.write(
      "\x7f"
      "ELF a longer fake interpreter");  // new size
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), fake.options()));
  EXPECT_EQ(fake.runs, 2);
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), fake.options()));
  EXPECT_EQ(fake.runs, 2);

  // Same size, different mtime (an in-place upgrade).
  fs::last_write_time(fake.exe, fs::last_write_time(fake.exe) - std::chrono::hours(1));
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), fake.options()));
  EXPECT_EQ(fake.runs, 3);
}

TEST(ProbeCache, VenvConfigChangeInvalidates) {
  FakeInterpreter fake;
  const fs::path cfg = fake.dir.path() / "pyvenv.cfg";
  std::ofstream(cfg) << "home = /usr/bin\ninclude-system-site-packages = false\n";
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), fake.options()));
  std::ofstream(cfg) << "home = /usr/bin\ninclude-system-site-packages = true\n";
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), fake.options()));
  EXPECT_EQ(fake.runs, 2);
}

TEST(ProbeCache, CorruptCacheFileIsIgnoredAndRewritten) {
  FakeInterpreter fake;
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), fake.options()));
  const fs::path file = fake.cache_files().at(0);
  std::ofstream(file, std::ios::trunc) << "{\"key\": 1, \"probe\"";
  auto r = probe_interpreter(fake.exe.string(), fake.options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(fake.runs, 2);
  auto text = util::read_file(file);
  ASSERT_TRUE(text);
  EXPECT_TRUE(nlohmann::json::accept(*text));
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), fake.options()));
  EXPECT_EQ(fake.runs, 2);
}

TEST(ProbeCache, ScriptWrappersAreNotCached) {
  FakeInterpreter fake("#!/bin/sh\nexec python3 \"$@\"\n");
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), fake.options()));
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), fake.options()));
  EXPECT_EQ(fake.runs, 2);
  EXPECT_TRUE(fake.cache_files().empty());
}

TEST(ProbeCache, EmptyCacheDirDisablesTheCache) {
  FakeInterpreter fake;
  auto options = fake.options();
  options.cache_dir.clear();
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), options));
  ASSERT_TRUE(probe_interpreter(fake.exe.string(), options));
  EXPECT_EQ(fake.runs, 2);
}

TEST(Probe, FailingInterpreterErrorNamesItWithStatusAndStderr) {
  FakeInterpreter fake;
  fake.exit_code = 1;
  fake.err = "Traceback (most recent call last):\n  ...\nSyntaxError: invalid syntax\n";
  auto r = probe_interpreter(fake.exe.string(), fake.options());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(fake.exe.string()), std::string::npos);
  EXPECT_NE(r.error().message.find("status 1"), std::string::npos);
  EXPECT_NE(r.error().message.find("SyntaxError: invalid syntax"), std::string::npos);
  EXPECT_TRUE(fake.cache_files().empty());
}

TEST(Probe, BadOutputIsNotCached) {
  FakeInterpreter fake;
  fake.answer = "not json";
  auto r = probe_interpreter(fake.exe.string(), fake.options());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(fake.exe.string()), std::string::npos);
  EXPECT_TRUE(fake.cache_files().empty());
}

TEST(Probe, PythonTwoIsRejectedClearly) {
  FakeInterpreter fake;
  fake.exit_code = 2;
  fake.err = "Unknown option: -I\nusage: python [option] ...\n";
  auto r = probe_interpreter(fake.exe.string(), fake.options());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Python 3.6"), std::string::npos);
}

TEST(ProbeResolve, MissingAndNonExecutableInterpretersAreNamed) {
  strata::testing::TempDir dir;
  auto missing = detail::resolve_interpreter((dir.path() / "nope" / "python3").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope/python3"), std::string::npos);

  const fs::path plain = dir.path() / "python3";
  std::ofstream(plain) << "x";
  fs::permissions(plain, fs::perms::owner_read | fs::perms::owner_write);
  auto not_exec = detail::resolve_interpreter(plain.string());
  ASSERT_FALSE(not_exec);
  EXPECT_NE(not_exec.error().message.find("not executable"), std::string::npos);

  auto on_path = detail::resolve_interpreter("strata-no-such-python-xyz");
  ASSERT_FALSE(on_path);
  EXPECT_NE(on_path.error().message.find("strata-no-such-python-xyz"), std::string::npos);
  EXPECT_NE(on_path.error().message.find("PATH"), std::string::npos);

  auto directory = detail::resolve_interpreter(dir.path().string());
  ASSERT_FALSE(directory);
}

TEST(ProbeResolve, NameIsFoundOnPathAndMadeAbsolute) {
  auto sh = detail::resolve_interpreter("sh");
  ASSERT_TRUE(sh) << sh.error().message;
  EXPECT_TRUE(sh->is_absolute());
  EXPECT_EQ(sh->filename(), "sh");
}

}  // namespace
}  // namespace strata::env
