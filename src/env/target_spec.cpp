#include "env/target_spec.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <system_error>
#include <vector>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif

#include <fmt/format.h>

#include "util/strings.hpp"

namespace strata::env {
namespace fs = std::filesystem;
namespace {

using Version = std::pair<int, int>;

// The architectures manylinux/musllinux wheels are built for (PEP 599/600/656 and packaging's
// _manylinux._have_compatible_abi), in their wheel-tag spelling.
constexpr std::array<std::string_view, 9> kLinuxArchs{"x86_64", "aarch64", "i686",    "armv7l",     "ppc64le",
                                                      "ppc64",  "s390x",   "riscv64", "loongarch64"};
constexpr std::array<std::string_view, 2> kMacArchs{"arm64", "x86_64"};

std::optional<int> small_number(std::string_view s) {
  auto n = util::parse_uint(s);
  if (!n || *n > 1000) return std::nullopt;
  return static_cast<int>(*n);
}

bool known_linux_arch(std::string_view arch) {
  return std::find(kLinuxArchs.begin(), kLinuxArchs.end(), arch) != kLinuxArchs.end();
}

std::string arch_list() {
  std::vector<std::string> out(kLinuxArchs.begin(), kLinuxArchs.end());
  return util::join(out, ", ");
}

/// uname / OCI / Debian spellings of a machine in the wheel-tag spelling.
std::string canonical_arch(std::string_view machine) {
  const std::string m = util::to_lower(machine);
  if (m == "amd64" || m == "x86-64" || m == "x64") return "x86_64";
  if (m == "arm64" || m == "arm64/v8" || m == "armv8") return "aarch64";
  if (m == "386" || m == "i386" || m == "i486" || m == "i586" || m == "x86") return "i686";
  if (m == "arm" || m == "arm/v7" || m == "armv7" || m == "armhf" || m == "armv7hl") return "armv7l";
  if (m == "loong64") return "loongarch64";
  return m;
}

Result<TargetPlatform> linux_platform(std::string_view text, std::string arch, std::optional<Version> glibc,
                                      std::optional<Version> musl) {
  if (!known_linux_arch(arch))
    return fail(ErrorKind::usage, fmt::format("--platform {}: unknown architecture \"{}\" (one of: {})", text,
                                              arch, arch_list()));
  TargetPlatform p;
  p.arch = std::move(arch);
  p.glibc = glibc;
  p.musl = musl;
  return p;
}

// "2_28_aarch64" → (2, 28, "aarch64"); nullopt when it is not <int>_<int>_<arch>.
struct VersionedArch {
  Version version;
  std::string arch;
};
std::optional<VersionedArch> versioned_arch(std::string_view rest) {
  auto first = rest.find('_');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = rest.find('_', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto major = small_number(rest.substr(0, first));
  auto minor = small_number(rest.substr(first + 1, second - first - 1));
  if (!major || !minor || second + 1 >= rest.size()) return std::nullopt;
  return VersionedArch{{*major, *minor}, std::string(rest.substr(second + 1))};
}

std::string version_nodot(int major, int minor) { return fmt::format("{}{}", major, minor); }

struct ParsedVersion {
  int major = 0, minor = 0, micro = 0;
  std::string full;  ///< platform.python_version(): "3.12.0", "3.13.0rc1"
};

Result<ParsedVersion> parse_python_version(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(
        ErrorKind::usage,
        fmt::format("--python-version {}: {} (expected X.Y or X.Y.Z, e.g. 3.12 or 3.12.4)", text, why));
  };
  const std::string_view trimmed = util::trim(text);
  if (trimmed.empty()) return bad("empty");
  auto parts = util::split(trimmed, '.');
  if (parts.size() < 2 || parts.size() > 3) return bad("not a Python version");
  ParsedVersion v;
  auto major = small_number(parts[0]);
  auto minor = small_number(parts[1]);
  if (!major || !minor) return bad("not a Python version");
  v.major = *major;
  v.minor = *minor;
  std::string suffix;
  if (parts.size() == 3) {
    std::string_view micro = parts[2];
    std::size_t digits = 0;
    while (digits < micro.size() && micro[digits] >= '0' && micro[digits] <= '9') ++digits;
    auto number = small_number(micro.substr(0, digits));
    if (!number) return bad("not a Python version");
    v.micro = *number;
    std::string_view pre = micro.substr(digits);
    if (!pre.empty()) {
      std::size_t letters = 0;
      while (letters < pre.size() && pre[letters] >= 'a' && pre[letters] <= 'z') ++letters;
      std::string_view level = pre.substr(0, letters);
      if ((level != "a" && level != "b" && level != "rc") || !small_number(pre.substr(letters)))
        return bad("not a Python version");
      suffix = std::string(pre);
    }
  }
  if (v.major != 3) return bad("strata targets Python 3 only");
  if (v.minor < 6) return bad("strata targets Python 3.6 and newer");
  v.full = fmt::format("{}.{}.{}{}", v.major, v.minor, v.micro, suffix);
  return v;
}

struct Implementation {
  std::string name;      ///< sys.implementation.name
  std::string short_id;  ///< "cp", "pp"
  std::string platform_name;
};

Result<Implementation> parse_implementation(std::string_view text) {
  const std::string s = util::to_lower(util::trim(text));
  if (s.empty() || s == "cp" || s == "cpython") return Implementation{"cpython", "cp", "CPython"};
  if (s == "pp" || s == "pypy") return Implementation{"pypy", "pp", "PyPy"};
  return fail(ErrorKind::usage, fmt::format("--implementation {}: not an implementation strata can describe "
                                            "(cp: CPython, pp: PyPy)",
                                            text));
}

std::optional<std::pair<int, int>> running_glibc() {
#if defined(__GLIBC__)
  auto parts = util::split(gnu_get_libc_version(), '.');
  if (parts.size() >= 2) {
    auto major = small_number(parts[0]);
    auto minor = small_number(parts[1]);
    if (major && minor) return std::pair{*major, *minor};
  }
#endif
  return std::nullopt;
}

// An interpreter binary: wrapper scripts (pyenv's shims) run whatever their environment selects.
bool is_executable_binary(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0 && elf_machine(path).has_value();
}

}  // namespace

Result<TargetPlatform> parse_platform(std::string_view text) {
  const std::string s = util::to_lower(util::trim(text));
  if (s.empty()) return host_platform();
  // OCI platforms: os/arch[/variant].
  if (s.starts_with("linux/")) {
    const std::string arch = canonical_arch(std::string_view(s).substr(6));
    return linux_platform(text, arch, kAliasGlibc, std::nullopt);
  }
  if (s == "linux") return linux_platform(text, "x86_64", kAliasGlibc, std::nullopt);
  // uv's target triples: <arch>-unknown-linux-gnu / -musl, <arch>-manylinux_X_Y, <arch>-manylinux2014.
  if (auto dash = s.find('-'); dash != std::string::npos) {
    const std::string arch = canonical_arch(std::string_view(s).substr(0, dash));
    const std::string_view rest = std::string_view(s).substr(dash + 1);
    if (rest == "unknown-linux-gnu") return linux_platform(text, arch, kAliasGlibc, std::nullopt);
    if (rest == "unknown-linux-musl") return linux_platform(text, arch, std::nullopt, kAliasMusl);
    if (rest == "manylinux2014") return linux_platform(text, arch, Version{2, 17}, std::nullopt);
    if (rest.starts_with("manylinux_")) {
      auto parts = util::split(rest.substr(10), '_');
      if (parts.size() == 2 && small_number(parts[0]) && small_number(parts[1]))
        return linux_platform(text, arch, Version{*small_number(parts[0]), *small_number(parts[1])},
                              std::nullopt);
    }
    return fail(ErrorKind::usage, fmt::format("--platform {}: not a platform strata knows (e.g. "
                                              "manylinux_2_28_aarch64, musllinux_1_2_x86_64, linux/arm64)",
                                              text));
  }
  struct Legacy {
    std::string_view prefix;
    Version glibc;
  };
  for (const Legacy& legacy :
       {Legacy{"manylinux2014_", {2, 17}}, Legacy{"manylinux2010_", {2, 12}}, Legacy{"manylinux1_", {2, 5}}})
    if (s.starts_with(legacy.prefix))
      return linux_platform(text, s.substr(legacy.prefix.size()), legacy.glibc, std::nullopt);
  if (s.starts_with("manylinux_") || s.starts_with("musllinux_") || s.starts_with("macosx_")) {
    const std::size_t prefix = s.find('_') + 1;
    auto parsed = versioned_arch(std::string_view(s).substr(prefix));
    if (!parsed)
      return fail(ErrorKind::usage,
                  fmt::format("--platform {}: expected {}<major>_<minor>_<arch>", text, s.substr(0, prefix)));
    if (s.starts_with("macosx_")) {
      if (std::find(kMacArchs.begin(), kMacArchs.end(), parsed->arch) == kMacArchs.end())
        return fail(ErrorKind::usage,
                    fmt::format("--platform {}: unknown macOS architecture \"{}\" (arm64 or x86_64)", text,
                                parsed->arch));
      TargetPlatform p;
      p.system = "Darwin";
      p.arch = parsed->arch;
      p.mac_version = parsed->version;
      return p;
    }
    if (s.starts_with("manylinux_")) return linux_platform(text, parsed->arch, parsed->version, std::nullopt);
    return linux_platform(text, parsed->arch, std::nullopt, parsed->version);
  }
  if (s.starts_with("linux_")) return linux_platform(text, s.substr(6), std::nullopt, std::nullopt);
  return fail(
      ErrorKind::usage,
      fmt::format("--platform {}: not a platform strata knows (a wheel platform tag such as "
                  "manylinux_2_28_aarch64, manylinux2014_x86_64 or musllinux_1_2_x86_64, or linux/amd64, "
                  "linux/arm64)",
                  text));
}

Result<TargetPlatform> host_platform() {
  struct utsname name {};
  if (::uname(&name) != 0)
    return fail(ErrorKind::runtime, "uname: cannot read the host's machine for a target without --platform");
  const std::string arch = canonical_arch(name.machine);
  const auto glibc = running_glibc();
  std::optional<Version> musl;
  if (!glibc) musl = kAliasMusl;  // not linked against glibc: strata's builds are, so this is rare
  const std::string subject = fmt::format("(the host: {})", name.machine);
  return linux_platform(subject, arch, glibc, musl);
}

std::string platform_tag(std::string_view machine, std::optional<std::pair<int, int>> glibc,
                         std::optional<std::pair<int, int>> musl) {
  const std::string arch = canonical_arch(machine);
  if (glibc) return fmt::format("manylinux_{}_{}_{}", glibc->first, glibc->second, arch);
  if (musl) return fmt::format("musllinux_{}_{}_{}", musl->first, musl->second, arch);
  return "linux_" + arch;
}

Result<Interpreter> describe_interpreter(const TargetSpec& spec) {
  auto version = parse_python_version(spec.python_version);
  if (!version) return std::unexpected(version.error());
  auto impl = parse_implementation(spec.implementation);
  if (!impl) return std::unexpected(impl.error());
  auto platform = parse_platform(spec.platform);
  if (!platform) return std::unexpected(platform.error());
  const bool pypy = impl->short_id == "pp";
  const std::string nodot = version_nodot(version->major, version->minor);
  const Version py{version->major, version->minor};

  // The ABI: what the default build of that version reports, or the one asked for.
  bool free_threaded = false, debug = false;
  if (!spec.abi.empty()) {
    const std::string abi = util::to_lower(spec.abi);
    const std::string base = "cp" + nodot;
    if (pypy) {
      if (abi != fmt::format("pypy{}_pp73", nodot))
        return fail(ErrorKind::usage, fmt::format("--abi {}: PyPy {}.{} has the ABI pypy{}_pp73", spec.abi,
                                                  py.first, py.second, nodot));
    } else if (abi == base + "t" && py >= Version{3, 13}) {
      free_threaded = true;
    } else if (abi == base + "d" && py >= Version{3, 8}) {
      debug = true;
    } else if (abi != (py < Version{3, 8} ? base + "m" : base)) {
      return fail(ErrorKind::usage,
                  fmt::format("--abi {}: not an ABI of CPython {}.{} (expected {}{})", spec.abi, py.first,
                              py.second, py < Version{3, 8} ? base + "m" : base,
                              py >= Version{3, 13} ? fmt::format(" or {}t", base) : std::string()));
    }
  }

  Interpreter interp;
  interp.implementation = impl->name;
  interp.major = version->major;
  interp.minor = version->minor;
  interp.micro = version->micro;
  interp.version = version->full;

  const bool darwin = platform->system == "Darwin";
  const std::string& arch = platform->arch;
  const bool is_64bit = arch != "i686" && arch != "armv7l";
  const std::string libc = platform->musl ? "musl" : "gnu";
  const std::string multiarch = darwin ? "darwin"
                                       : fmt::format("{}-linux-{}{}", arch == "armv7l" ? "arm" : arch, libc,
                                                     arch == "armv7l" ? "eabihf" : "");

  // PEP 508 (packaging.markers.default_environment on that interpreter).
  interp.markers = {
      {"implementation_name", impl->name},
      {"implementation_version", pypy ? std::string() : version->full},
      {"os_name", "posix"},
      {"platform_machine", arch},
      {"platform_release", ""},
      {"platform_system", platform->system},
      {"platform_version", ""},
      {"python_full_version", version->full},
      {"platform_python_implementation", impl->platform_name},
      {"python_version", fmt::format("{}.{}", py.first, py.second)},
      {"sys_platform", darwin ? "darwin" : "linux"},
  };

  // packaging.tags' inputs.
  pep::TagEnvironment& t = interp.tag_env;
  t.implementation = impl->name;
  t.major = py.first;
  t.minor = py.second;
  t.py_version_nodot = nodot;
  t.abiflags =
      pypy ? ""
           : fmt::format("{}{}{}", free_threaded ? "t" : "", debug ? "d" : "", py < Version{3, 8} ? "m" : "");
  t.soabi = pypy ? fmt::format("pypy{}-pp73-{}", nodot, multiarch)
                 : fmt::format("cpython-{}{}-{}", nodot, t.abiflags, multiarch);
  t.ext_suffix = "." + t.soabi + ".so";
  t.py_debug = debug;
  t.with_pymalloc = py < Version{3, 8} ? std::optional<bool>(true) : std::nullopt;
  t.gil_disabled = free_threaded;
  t.system = platform->system;
  t.is_64bit = is_64bit;
  if (darwin) {
    t.platform =
        fmt::format("macosx-{}.{}-{}", platform->mac_version->first, platform->mac_version->second, arch);
    t.mac_version = platform->mac_version;
    t.mac_arch = arch;
  } else {
    t.platform = "linux-" + arch;
    t.glibc = platform->glibc;
    t.musl = platform->musl;
    // packaging reads the interpreter's ELF header only to tell armhf and i686 builds.
    if (arch == "i686") t.elf = pep::ElfHeader{1, 1, 3, 0};
    if (arch == "armv7l") t.elf = pep::ElfHeader{1, 1, 40, 0x05000400};
  }

  // The posix_prefix scheme (sysconfig) under the target's prefix.
  const fs::path prefix = spec.prefix.empty() ? fs::path(pypy ? "/opt/pypy" : "/usr/local") : spec.prefix;
  const std::string short_version = fmt::format("{}.{}", py.first, py.second);
  const std::string lib_name = (pypy ? "pypy" : "python") + short_version + (free_threaded ? "t" : "");
  const std::string include_name = (pypy ? "pypy" : "python") + short_version + t.abiflags;
  interp.executable = spec.executable.empty() ? prefix / "bin" / ((pypy ? "pypy" : "python") + short_version)
                                              : spec.executable;
  interp.sys_executable = interp.real_executable = interp.executable;
  interp.prefix = interp.base_prefix = interp.exec_prefix = interp.base_exec_prefix = prefix;
  const fs::path lib = prefix / "lib" / lib_name;
  const fs::path include = prefix / "include" / include_name;
  interp.paths = {{"stdlib", lib.string()},
                  {"platstdlib", lib.string()},
                  {"purelib", (lib / "site-packages").string()},
                  {"platlib", (lib / "site-packages").string()},
                  {"include", include.string()},
                  {"platinclude", include.string()},
                  {"headers", include.string()},
                  {"scripts", (prefix / "bin").string()},
                  {"data", prefix.string()}};
  return interp;
}

std::map<std::string, std::string, std::less<>> target_dir_scheme(const fs::path& dir) {
  return {{"purelib", dir.string()},
          {"platlib", dir.string()},
          {"scripts", (dir / "bin").string()},
          {"data", dir.string()},
          {"headers", (dir / "include" / "python").string()}};
}

std::optional<fs::path> find_host_python(const Interpreter& target) {
  const std::string short_version = fmt::format("{}.{}", target.major, target.minor);
  const std::string name = (target.implementation == "pypy" ? "pypy" : "python") + short_version +
                           (target.tag_env.gil_disabled ? "t" : "");
  const char* path_env = std::getenv("PATH");
  for (auto dir : util::split(path_env ? path_env : "", ':')) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(std::string(dir)) / name;
    if (is_executable_binary(candidate)) return candidate;
  }
  fs::path root;
  if (const char* pyenv = std::getenv("PYENV_ROOT"); pyenv && *pyenv)
    root = pyenv;
  else if (const char* home = std::getenv("HOME"); home && *home)
    root = fs::path(home) / ".pyenv";
  if (root.empty()) return std::nullopt;
  std::vector<std::string> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root / "versions", ec)) {
    const std::string v = entry.path().filename().string();
    if (v == short_version || v.starts_with(short_version + ".")) versions.push_back(v);
  }
  std::sort(versions.begin(), versions.end(), [](const std::string& a, const std::string& b) {
    auto micro = [](const std::string& v) {
      auto parts = util::split(v, '.');
      return parts.size() > 2 ? small_number(parts[2]).value_or(-1) : -1;
    };
    return micro(a) > micro(b);  // newest first
  });
  for (const auto& v : versions) {
    const fs::path candidate = root / "versions" / v / "bin" / name;
    if (is_executable_binary(candidate)) return candidate;
  }
  return std::nullopt;
}

std::optional<std::string> elf_machine(const fs::path& executable) {
  std::ifstream in(executable, std::ios::binary);
  unsigned char head[20] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  if (in.gcount() != sizeof head || head[0] != 0x7f || head[1] != 'E' || head[2] != 'L' || head[3] != 'F')
    return std::nullopt;
  const bool big = head[5] == 2;
  const int machine = big ? (head[18] << 8 | head[19]) : (head[19] << 8 | head[18]);
  switch (machine) {
    case 3:
      return "i686";
    case 40:
      return "armv7l";
    case 62:
      return "x86_64";
    case 183:
      return "aarch64";
    case 21:
      return big ? "ppc64" : "ppc64le";
    case 22:
      return "s390x";
    case 243:
      return "riscv64";
    case 258:
      return "loongarch64";
    default:
      return std::nullopt;
  }
}

nlohmann::json to_json(const TargetSpec& spec) {
  return {{"python_version", spec.python_version},
          {"platform", spec.platform},
          {"implementation", spec.implementation.empty() ? std::string("cp") : spec.implementation},
          {"abi", spec.abi}};
}

}  // namespace strata::env
