#pragma once
// PEP 425 compatibility tags and the ordered list a target supports, in packaging.tags order.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace strata::pep {

struct Tag {
  std::string interpreter;  ///< e.g. "cp311", "py3"
  std::string abi;          ///< e.g. "cp311", "abi3", "none"
  std::string platform;     ///< e.g. "manylinux_2_17_x86_64", "any"
  std::string str() const { return interpreter + "-" + abi + "-" + platform; }
  bool operator==(const Tag&) const = default;
};

/// The ELF header fields of the interpreter executable that packaging's manylinux checks read.
struct ElfHeader {
  int ei_class = 0;  ///< 1 = 32-bit, 2 = 64-bit
  int ei_data = 0;   ///< 1 = little endian, 2 = big endian
  int machine = 0;   ///< e_machine (3 = i386, 40 = ARM, 62 = x86-64, 183 = AArch64)
  std::uint32_t flags = 0;
};

/// Facts about a target interpreter that decide its tags (filled by env::probe). Optional
/// fields are "unset" exactly when the interpreter's sysconfig variable is None.
struct TagEnvironment {
  std::string implementation;  ///< sys.implementation.name, e.g. "cpython", "pypy"
  int major = 3;               ///< sys.version_info
  int minor = 0;
  std::string py_version_nodot;              ///< sysconfig py_version_nodot ("" when unset)
  std::string soabi;                         ///< sysconfig SOABI, may be empty (informational)
  std::optional<std::string> ext_suffix;     ///< sysconfig EXT_SUFFIX (nullopt when not a string)
  std::string abiflags;                      ///< sys.abiflags (may be empty, informational)
  std::optional<bool> py_debug;              ///< sysconfig Py_DEBUG
  bool has_gettotalrefcount = false;         ///< hasattr(sys, "gettotalrefcount")
  bool has_debug_pyd = false;                ///< "_d.pyd" in EXTENSION_SUFFIXES (Windows debug)
  std::optional<bool> with_pymalloc;         ///< sysconfig WITH_PYMALLOC
  std::optional<int> unicode_size;           ///< sysconfig Py_UNICODE_SIZE
  bool wide_unicode = true;                  ///< sys.maxunicode == 0x10FFFF
  bool gil_disabled = false;                 ///< Py_GIL_DISABLED (free-threaded builds)
  std::string system;                        ///< platform.system(), e.g. "Linux", "Darwin"
  std::string platform;                      ///< sysconfig.get_platform(), e.g. "linux-x86_64"
  bool is_64bit = true;                      ///< struct.calcsize("P") == 8
  std::optional<std::pair<int, int>> glibc;  ///< glibc version when linked against glibc
  std::optional<std::pair<int, int>> musl;   ///< musl version when linked against musl
  std::optional<ElfHeader> elf;              ///< ELF header of sys.executable, when readable
  /// manylinux tags (e.g. "manylinux_2_17_armv7l") that a `_manylinux` module importable in
  /// the target declares incompatible (PEP 600); usually empty.
  std::vector<std::string> manylinux_rejected;
  /// macOS version and architecture as packaging.tags.mac_platforms() derives them.
  std::optional<std::pair<int, int>> mac_version;
  std::string mac_arch;
};

/// Supported tags for `env`, most preferred first, equal to packaging.tags.sys_tags() of
/// packaging 26.3 (Linux, macOS and generic platforms; not iOS, Android or Emscripten).
std::vector<Tag> supported_tags(const TagEnvironment& env);

/// The platform tags for `env`, most preferred first (packaging.tags.platform_tags()).
std::vector<std::string> platform_tags(const TagEnvironment& env);

}  // namespace strata::pep
