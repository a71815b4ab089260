#include "env/target_spec.hpp"

#include <sys/stat.h>
#include <sys/utsname.h>

#include <cstdlib>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::env {
namespace {
namespace fs = std::filesystem;
using V = std::pair<int, int>;

TargetPlatform parsed(std::string_view text) {
  auto p = parse_platform(text);
  EXPECT_TRUE(p) << text << ": " << (p ? "" : p.error().message);
  return p ? *p : TargetPlatform{};
}

std::string platform_error(std::string_view text) {
  auto p = parse_platform(text);
  EXPECT_FALSE(p) << text << " was accepted";
  if (p) return "";
  EXPECT_EQ(p.error().kind, ErrorKind::usage);
  return p.error().message;
}

TEST(TargetSpec, ParsesTagsAndAliases) {
  auto p = parsed("manylinux_2_28_aarch64");
  EXPECT_EQ(p.arch, "aarch64");
  EXPECT_EQ(p.glibc, (V{2, 28}));
  EXPECT_FALSE(p.musl);
  EXPECT_EQ(parsed("manylinux2014_x86_64").glibc, (V{2, 17}));
  EXPECT_EQ(parsed("manylinux2010_i686").glibc, (V{2, 12}));
  EXPECT_EQ(parsed("manylinux1_x86_64").glibc, (V{2, 5}));
  p = parsed("musllinux_1_2_x86_64");
  EXPECT_EQ(p.musl, (V{1, 2}));
  EXPECT_FALSE(p.glibc);
  p = parsed("linux_x86_64");
  EXPECT_FALSE(p.glibc);
  EXPECT_FALSE(p.musl);
  for (const char* alias : {"linux/arm64", "linux/arm64/v8", "aarch64-unknown-linux-gnu", "LINUX/ARM64"}) {
    p = parsed(alias);
    EXPECT_EQ(p.arch, "aarch64") << alias;
    EXPECT_EQ(p.glibc, kAliasGlibc) << alias;
  }
  EXPECT_EQ(parsed("linux/amd64").arch, "x86_64");
  EXPECT_EQ(parsed("linux").arch, "x86_64");
  EXPECT_EQ(parsed("linux/arm/v7").arch, "armv7l");
  EXPECT_EQ(parsed("linux/386").arch, "i686");
  EXPECT_EQ(parsed("x86_64-unknown-linux-musl").musl, kAliasMusl);
  EXPECT_EQ(parsed("aarch64-manylinux_2_31").glibc, (V{2, 31}));
  p = parsed("macosx_14_0_arm64");
  EXPECT_EQ(p.system, "Darwin");
  EXPECT_EQ(p.mac_version, (V{14, 0}));
}

TEST(TargetSpec, RefusesUnknownPlatformsNamingThem) {
  EXPECT_NE(platform_error("manylinux_2_28_arm64").find("\"arm64\""), std::string::npos);
  EXPECT_NE(platform_error("manylinux_2_x_aarch64").find("manylinux_2_x_aarch64"), std::string::npos);
  EXPECT_NE(platform_error("win_amd64").find("win_amd64"), std::string::npos);
  EXPECT_NE(platform_error("linux/sparc").find("sparc"), std::string::npos);
  EXPECT_NE(platform_error("arm64-apple-darwin").find("arm64-apple-darwin"), std::string::npos);
  EXPECT_NE(platform_error("macosx_14_0_ppc").find("ppc"), std::string::npos);
  EXPECT_NE(platform_error("musllinux_1_aarch64").find("musllinux_1_aarch64"), std::string::npos);
}

// A spec from its first fields (the rest default).
TargetSpec spec(std::string version, std::string platform, std::string implementation = "",
                std::string abi = "") {
  TargetSpec out;
  out.python_version = std::move(version);
  out.platform = std::move(platform);
  out.implementation = std::move(implementation);
  out.abi = std::move(abi);
  return out;
}

std::string describe_error(const TargetSpec& spec) {
  auto interp = describe_interpreter(spec);
  EXPECT_FALSE(interp) << "accepted " << spec.python_version << " " << spec.platform;
  if (interp) return "";
  EXPECT_EQ(interp.error().kind, ErrorKind::usage);
  return interp.error().message;
}

TEST(TargetSpec, RefusesBadVersionsImplementationsAndAbis) {
  for (const char* version : {"", "3", "3.x", "3.12.x", "2.7", "3.5", "3.12.1.1", "3.13.0rc", "3.13.0c1"}) {
    const std::string message = describe_error(spec(version, "linux/amd64"));
    EXPECT_TRUE(message.starts_with("--python-version")) << version << ": " << message;
  }
  EXPECT_NE(describe_error(spec("3.12", "linux/amd64", "jy")).find("--implementation jy"), std::string::npos);
  EXPECT_NE(describe_error(spec("3.12", "linux/amd64", "", "cp312t")).find("--abi cp312t"),
            std::string::npos);
  EXPECT_NE(describe_error(spec("3.8", "linux/amd64", "", "cp38m")).find("cp38"), std::string::npos);
  EXPECT_NE(describe_error(spec("3.10", "linux/amd64", "pp", "cp310")).find("pypy310_pp73"),
            std::string::npos);
  EXPECT_NE(describe_error(spec("3.12", "manylinux_2_28_arm64")).find("--platform"), std::string::npos);
}

TEST(TargetSpec, DescribesTheSchemeAndVersion) {
  auto interp = describe_interpreter(spec("3.12", "manylinux_2_28_aarch64"));
  ASSERT_TRUE(interp) << interp.error().message;
  EXPECT_EQ(interp->version, "3.12.0");
  EXPECT_EQ(interp->executable, "/usr/local/bin/python3.12");
  EXPECT_EQ(interp->paths.at("purelib"), "/usr/local/lib/python3.12/site-packages");
  EXPECT_EQ(interp->paths.at("platlib"), "/usr/local/lib/python3.12/site-packages");
  EXPECT_EQ(interp->paths.at("scripts"), "/usr/local/bin");
  EXPECT_EQ(interp->paths.at("include"), "/usr/local/include/python3.12");
  EXPECT_EQ(interp->paths.at("data"), "/usr/local");
  EXPECT_EQ(interp->markers.at("platform_machine"), "aarch64");
  EXPECT_TRUE(interp->site_dirs.empty());

  TargetSpec free_threaded = spec("3.13.1", "linux/amd64", "", "cp313t");
  free_threaded.prefix = "/opt/py";
  free_threaded.executable = "/opt/py/bin/python3";
  interp = describe_interpreter(free_threaded);
  ASSERT_TRUE(interp) << interp.error().message;
  EXPECT_EQ(interp->paths.at("purelib"), "/opt/py/lib/python3.13t/site-packages");
  EXPECT_EQ(interp->paths.at("include"), "/opt/py/include/python3.13t");
  EXPECT_EQ(interp->executable, "/opt/py/bin/python3");
  EXPECT_EQ(interp->markers.at("python_full_version"), "3.13.1");

  interp = describe_interpreter(spec("3.7", "linux/amd64"));
  ASSERT_TRUE(interp);
  EXPECT_EQ(interp->paths.at("include"), "/usr/local/include/python3.7m");

  interp = describe_interpreter(spec("3.10", "linux/arm64", "pypy"));
  ASSERT_TRUE(interp);
  EXPECT_EQ(interp->paths.at("purelib"), "/opt/pypy/lib/pypy3.10/site-packages");
  EXPECT_EQ(interp->markers.at("implementation_name"), "pypy");
}

TEST(TargetSpec, TargetDirIsFlat) {
  auto scheme = target_dir_scheme("/t");
  EXPECT_EQ(scheme.at("purelib"), "/t");
  EXPECT_EQ(scheme.at("platlib"), "/t");
  EXPECT_EQ(scheme.at("scripts"), "/t/bin");
  EXPECT_EQ(scheme.at("data"), "/t");
}

TEST(TargetSpec, PlatformTagOfABaseImage) {
  EXPECT_EQ(platform_tag("arm64", V{2, 36}), "manylinux_2_36_aarch64");
  EXPECT_EQ(platform_tag("x86_64", std::nullopt, V{1, 2}), "musllinux_1_2_x86_64");
  EXPECT_EQ(platform_tag("amd64", std::nullopt), "linux_x86_64");
  // What it returns parses back to the same machine and C library.
  auto p = parse_platform(platform_tag("arm64", V{2, 36}));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->arch, "aarch64");
  EXPECT_EQ(p->glibc, (V{2, 36}));
}

TEST(TargetSpec, HostPlatformAndElfMachineAgree) {
  auto host = host_platform();
  ASSERT_TRUE(host) << host.error().message;
  auto machine = elf_machine("/proc/self/exe");
  ASSERT_TRUE(machine);
  EXPECT_EQ(*machine, host->arch);
  testing::TempDir tmp;
  ASSERT_TRUE(util::write_file_atomic(tmp.path() / "script", "#!/bin/sh\n"));
  EXPECT_FALSE(elf_machine(tmp.path() / "script"));
  EXPECT_FALSE(elf_machine(tmp.path() / "missing"));
}

// Sets an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// An ELF executable (a link to /bin/true) or, with `script`, a shell script like pyenv's shims.
void make_executable(const fs::path& path, bool script = false) {
  fs::create_directories(path.parent_path());
  if (script) {
    ASSERT_TRUE(util::write_file_atomic(path, "#!/bin/sh\n"));
    ::chmod(path.c_str(), 0755);
  } else {
    fs::create_symlink("/bin/true", path);
  }
}

TEST(TargetSpec, FindsAHostPythonOnPathThenInPyenv) {
  testing::TempDir tmp;
  auto interp = describe_interpreter(spec("3.12", "linux/arm64"));
  ASSERT_TRUE(interp);
  ScopedEnv path("PATH", (tmp.path() / "bin").string());
  ScopedEnv pyenv("PYENV_ROOT", (tmp.path() / "pyenv").string());
  EXPECT_FALSE(find_host_python(*interp));
  make_executable(tmp.path() / "bin/python3.12", true);  // a shim: not an interpreter
  EXPECT_FALSE(find_host_python(*interp));
  fs::remove(tmp.path() / "bin/python3.12");
  make_executable(tmp.path() / "pyenv/versions/3.12.1/bin/python3.12");
  make_executable(tmp.path() / "pyenv/versions/3.12.10/bin/python3.12");
  make_executable(tmp.path() / "pyenv/versions/3.11.9/bin/python3.11");
  EXPECT_EQ(find_host_python(*interp), tmp.path() / "pyenv/versions/3.12.10/bin/python3.12");
  make_executable(tmp.path() / "bin/python3.12");
  EXPECT_EQ(find_host_python(*interp), tmp.path() / "bin/python3.12");
}

}  // namespace
}  // namespace strata::env
