#include "pep/tags.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/format.h>

#include "util/strings.hpp"

// The order below follows packaging 26.3's tags.py, _manylinux.py and _musllinux.py function by
// function (sys_tags = cpython_tags or generic_tags, then compatible_tags).

namespace strata::pep {
namespace {

using Version = std::pair<int, int>;

std::string version_nodot(int major, int minor) { return fmt::format("{}{}", major, minor); }

// packaging.tags._normalize_string
std::string normalize_string(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '.' || c == '-' || c == ' ') c = '_';
  return out;
}

std::string interpreter_short_name(const std::string& implementation) {
  if (implementation == "python") return "py";
  if (implementation == "cpython") return "cp";
  if (implementation == "pypy") return "pp";
  if (implementation == "ironpython") return "ip";
  if (implementation == "jython") return "jy";
  return implementation;
}

// packaging.tags.interpreter_version: py_version_nodot when set, else from sys.version_info.
std::string interpreter_version(const TagEnvironment& env) {
  if (!env.py_version_nodot.empty()) return env.py_version_nodot;
  return version_nodot(env.major, env.minor);
}

// packaging.tags._cpython_abis
std::vector<std::string> cpython_abis(const TagEnvironment& env) {
  const Version py{env.major, env.minor};
  std::vector<std::string> abis;
  const std::string version = version_nodot(env.major, env.minor);
  std::string threading, debug, pymalloc, ucs4;
  if (env.py_debug.value_or(false) ||
      (!env.py_debug.has_value() && (env.has_gettotalrefcount || env.has_debug_pyd)))
    debug = "d";
  if (py >= Version{3, 13} && env.gil_disabled) threading = "t";
  if (py < Version{3, 8}) {
    if (env.with_pymalloc.value_or(true)) pymalloc = "m";
    if (py < Version{3, 3}) {
      if (env.unicode_size ? *env.unicode_size == 4 : env.wide_unicode) ucs4 = "u";
    }
  } else if (!debug.empty()) {
    // Debug builds can also load "normal" extension modules.
    abis.push_back(fmt::format("cp{}{}", version, threading));
  }
  abis.insert(abis.begin(), fmt::format("cp{}{}{}{}{}", version, threading, debug, pymalloc, ucs4));
  return abis;
}

// packaging.tags._is_threaded_cpython: a "t" among the flags after "cpNN" of the first ABI.
bool is_threaded_cpython(const std::vector<std::string>& abis) {
  if (abis.empty()) return false;
  std::string_view abi = abis.front();
  if (!abi.starts_with("cp")) return false;
  std::size_t i = 2;
  if (i >= abi.size() || abi[i] < '0' || abi[i] > '9') return false;
  while (i < abi.size() && abi[i] >= '0' && abi[i] <= '9') ++i;
  return abi.substr(i).find('t') != std::string_view::npos;
}

void cpython_tags(const TagEnvironment& env, const std::vector<std::string>& platforms,
                  std::vector<Tag>& out) {
  const std::string interpreter = "cp" + version_nodot(env.major, env.minor);
  std::vector<std::string> abis = cpython_abis(env);
  const bool threading = is_threaded_cpython(abis);
  std::erase_if(abis, [&](const std::string& abi) {
    return abi == "abi3" || abi == "none" || (threading && abi == "abi3t");
  });
  for (const auto& abi : abis)
    for (const auto& platform : platforms) out.push_back({interpreter, abi, platform});

  const bool stable = Version{env.major, env.minor} >= Version{3, 2};
  const bool use_abi3 = stable && !threading;
  const bool use_abi3t = stable && threading;
  if (use_abi3)
    for (const auto& platform : platforms) out.push_back({interpreter, "abi3", platform});
  if (use_abi3t)
    for (const auto& platform : platforms) out.push_back({interpreter, "abi3t", platform});
  for (const auto& platform : platforms) out.push_back({interpreter, "none", platform});
  if (use_abi3 || use_abi3t) {
    for (int minor = env.minor - 1; minor > 1; --minor) {
      const std::string older = "cp" + version_nodot(env.major, minor);
      for (const auto& platform : platforms) {
        if (use_abi3) out.push_back({older, "abi3", platform});
        if (use_abi3t) out.push_back({older, "abi3t", platform});
      }
    }
  }
}

// packaging.tags._generic_abi. packaging raises SystemError for a missing or malformed
// EXT_SUFFIX; strata then offers only the "none" ABI.
std::vector<std::string> generic_abis(const TagEnvironment& env) {
  if (!env.ext_suffix || !env.ext_suffix->starts_with(".")) return {};
  const auto parts = util::split(*env.ext_suffix, '.');
  if (parts.size() < 3) return cpython_abis(env);  // ".pyd" of CPython <= 3.7 on Windows
  const std::string_view soabi = parts[1];
  std::string abi;
  const auto dash_prefix = [&](std::size_t count) {
    const auto pieces = util::split(soabi, '-');
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < pieces.size() && i < count; ++i) kept.emplace_back(pieces[i]);
    return util::join(kept, "-");
  };
  if (soabi.starts_with("cpython")) {
    const auto pieces = util::split(soabi, '-');
    if (pieces.size() < 2 || pieces[1].empty()) return {};
    abi = "cp" + std::string(pieces[1]);
  } else if (soabi.starts_with("cp")) {
    abi = dash_prefix(1);
  } else if (soabi.starts_with("pypy")) {
    abi = dash_prefix(2);
  } else if (soabi.starts_with("graalpy")) {
    abi = dash_prefix(3);
  } else if (!soabi.empty()) {
    abi = std::string(soabi);
  } else {
    return {};
  }
  return {normalize_string(abi)};
}

void generic_tags(const TagEnvironment& env, const std::vector<std::string>& platforms,
                  std::vector<Tag>& out) {
  const std::string interpreter = interpreter_short_name(env.implementation) + interpreter_version(env);
  std::vector<std::string> abis = generic_abis(env);
  if (std::find(abis.begin(), abis.end(), "none") == abis.end()) abis.emplace_back("none");
  for (const auto& abi : abis)
    for (const auto& platform : platforms) out.push_back({interpreter, abi, platform});
}

// packaging.tags._py_interpreter_range
std::vector<std::string> py_interpreter_range(int major, int minor) {
  std::vector<std::string> out{"py" + version_nodot(major, minor), fmt::format("py{}", major)};
  for (int m = minor - 1; m >= 0; --m) out.push_back("py" + version_nodot(major, m));
  return out;
}

void compatible_tags(const TagEnvironment& env, const std::string& interpreter,
                     const std::vector<std::string>& platforms, std::vector<Tag>& out) {
  const auto versions = py_interpreter_range(env.major, env.minor);
  for (const auto& version : versions)
    for (const auto& platform : platforms) out.push_back({version, "none", platform});
  if (!interpreter.empty()) out.push_back({interpreter, "none", "any"});
  for (const auto& version : versions) out.push_back({version, "none", "any"});
}

// --- manylinux (PEP 513/571/599/600), packaging/_manylinux.py ---

bool is_linux_armhf(const std::optional<ElfHeader>& elf) {
  constexpr std::uint32_t abi_mask = 0xFF000000, abi_ver5 = 0x05000000, float_hard = 0x00000400;
  return elf && elf->ei_class == 1 && elf->ei_data == 1 && elf->machine == 40 &&
         (elf->flags & abi_mask) == abi_ver5 && (elf->flags & float_hard) == float_hard;
}

bool is_linux_i686(const std::optional<ElfHeader>& elf) {
  return elf && elf->ei_class == 1 && elf->ei_data == 1 && elf->machine == 3;
}

bool has(const std::vector<std::string>& archs, std::string_view arch) {
  return std::find(archs.begin(), archs.end(), arch) != archs.end();
}

bool have_compatible_abi(const TagEnvironment& env, const std::vector<std::string>& archs) {
  if (has(archs, "armv7l")) return is_linux_armhf(env.elf);
  if (has(archs, "i686")) return is_linux_i686(env.elf);
  static constexpr std::array<std::string_view, 7> allowed{"x86_64", "aarch64",     "ppc64",  "ppc64le",
                                                           "s390x",  "loongarch64", "riscv64"};
  return std::any_of(archs.begin(), archs.end(), [](const std::string& arch) {
    return std::find(allowed.begin(), allowed.end(), arch) != allowed.end();
  });
}

// If glibc ever changes its major version, packaging guesses 50 as the last minor of the old one.
constexpr int last_glibc_minor = 50;

const char* legacy_manylinux(Version glibc) {
  if (glibc == Version{2, 17}) return "manylinux2014";
  if (glibc == Version{2, 12}) return "manylinux2010";
  if (glibc == Version{2, 5}) return "manylinux1";
  return nullptr;
}

void manylinux_platforms(const TagEnvironment& env, const std::vector<std::string>& archs,
                         std::vector<std::string>& out) {
  if (!have_compatible_abi(env, archs)) return;
  if (!env.glibc) return;  // packaging's (-1, -1): no glibc, no versions
  Version too_old{2, 16};
  if (has(archs, "x86_64") || has(archs, "i686")) too_old = {2, 4};
  const Version current = *env.glibc;
  std::vector<Version> max_list{current};
  for (int major = current.first - 1; major > 1; --major) max_list.emplace_back(major, last_glibc_minor);
  for (const auto& arch : archs) {
    for (const auto& max : max_list) {
      const int min_minor = max.first == too_old.first ? too_old.second : -1;
      for (int minor = max.second; minor > min_minor; --minor) {
        const Version glibc{max.first, minor};
        if (glibc > current) continue;  // _is_compatible: newer than the running glibc
        std::string tag = fmt::format("manylinux_{}_{}_{}", glibc.first, glibc.second, arch);
        if (has(env.manylinux_rejected, tag)) continue;
        out.push_back(std::move(tag));
        if (const char* legacy = legacy_manylinux(glibc)) out.push_back(fmt::format("{}_{}", legacy, arch));
      }
    }
  }
}

void musllinux_platforms(const TagEnvironment& env, const std::vector<std::string>& archs,
                         std::vector<std::string>& out) {
  if (!env.musl) return;
  for (const auto& arch : archs)
    for (int minor = env.musl->second; minor >= 0; --minor)
      out.push_back(fmt::format("musllinux_{}_{}_{}", env.musl->first, minor, arch));
}

std::vector<std::string> linux_platforms(const TagEnvironment& env) {
  std::string linux_platform = normalize_string(env.platform);
  if (!linux_platform.starts_with("linux_")) return {linux_platform};
  if (!env.is_64bit) {
    if (linux_platform == "linux_x86_64")
      linux_platform = "linux_i686";
    else if (linux_platform == "linux_aarch64")
      linux_platform = "linux_armv8l";
  }
  const std::string arch = linux_platform.substr(6);
  std::vector<std::string> archs{arch};
  if (arch == "armv8l") archs = {"armv8l", "armv7l"};
  std::vector<std::string> out;
  for (const auto& a : archs) out.push_back("linux_" + a);
  manylinux_platforms(env, archs, out);
  musllinux_platforms(env, archs, out);
  return out;
}

// --- macOS, packaging.tags.mac_platforms ---

std::vector<std::string> mac_binary_formats(Version version, const std::string& arch) {
  std::vector<std::string> formats{arch};
  if (arch == "x86_64") {
    if (version < Version{10, 4}) return {};
    formats.insert(formats.end(), {"intel", "fat64", "fat3"});
  } else if (arch == "i386") {
    if (version < Version{10, 4}) return {};
    formats.insert(formats.end(), {"intel", "fat3", "fat"});
  } else if (arch == "ppc64") {
    if (version > Version{10, 5} || version < Version{10, 4}) return {};
    formats.emplace_back("fat64");
  } else if (arch == "ppc") {
    if (version > Version{10, 6}) return {};
    formats.insert(formats.end(), {"fat3", "fat"});
  }
  if (arch == "arm64" || arch == "x86_64") formats.emplace_back("universal2");
  if (arch == "x86_64" || arch == "i386" || arch == "ppc64" || arch == "ppc" || arch == "intel")
    formats.emplace_back("universal");
  return formats;
}

std::vector<std::string> mac_platforms(const TagEnvironment& env) {
  std::vector<std::string> out;
  if (!env.mac_version) return out;
  const Version version = *env.mac_version;
  const std::string& arch = env.mac_arch;
  auto add = [&](int major, int minor) {
    for (const auto& format : mac_binary_formats({major, minor}, arch))
      out.push_back(fmt::format("macosx_{}_{}_{}", major, minor, format));
  };
  if (version >= Version{10, 0} && version < Version{11, 0})
    for (int minor = version.second; minor >= 0; --minor) add(10, minor);
  if (version >= Version{11, 0}) {
    for (int major = version.first; major > 10; --major) add(major, 0);
    for (int minor = 16; minor > 3; --minor) {
      if (arch == "x86_64")
        add(10, minor);
      else
        out.push_back(fmt::format("macosx_10_{}_universal2", minor));
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> platform_tags(const TagEnvironment& env) {
  if (env.system == "Darwin") return mac_platforms(env);
  if (env.system == "Linux") return linux_platforms(env);
  return {normalize_string(env.platform)};
}

std::vector<Tag> supported_tags(const TagEnvironment& env) {
  const std::vector<std::string> platforms = platform_tags(env);
  std::vector<Tag> tags;
  const std::string name = interpreter_short_name(env.implementation);
  if (name == "cp")
    cpython_tags(env, platforms, tags);
  else
    generic_tags(env, platforms, tags);
  std::string interpreter;
  if (name == "pp")
    interpreter = "pp3";
  else if (name == "cp")
    interpreter = "cp" + interpreter_version(env);
  compatible_tags(env, interpreter, platforms, tags);
  // packaging lowercases every component (Tag.__init__).
  for (auto& tag : tags) {
    tag.interpreter = util::to_lower(tag.interpreter);
    tag.abi = util::to_lower(tag.abi);
    tag.platform = util::to_lower(tag.platform);
  }
  return tags;
}

}  // namespace strata::pep
