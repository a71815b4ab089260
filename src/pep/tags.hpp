#pragma once
// PEP 425 compatibility tags and the ordered list a target supports, in packaging.tags order.

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

/// Facts about a target interpreter that decide its tags (filled by env::probe).
struct TagEnvironment {
  std::string implementation;  ///< sys.implementation.name, e.g. "cpython", "pypy"
  int major = 3;               ///< sys.version_info
  int minor = 0;
  std::string soabi;             ///< sysconfig SOABI, may be empty
  std::string ext_suffix;        ///< sysconfig EXT_SUFFIX
  std::string abiflags;          ///< sys.abiflags (may be empty)
  std::optional<bool> py_debug;  ///< sysconfig Py_DEBUG / sys.gettotalrefcount
  std::optional<bool> with_pymalloc;
  std::optional<int> unicode_size;
  bool gil_disabled = false;                 ///< Py_GIL_DISABLED (free-threaded builds)
  std::string platform;                      ///< sysconfig.get_platform(), e.g. "linux-x86_64"
  bool is_64bit = true;                      ///< sys.maxsize > 2**32
  std::optional<std::pair<int, int>> glibc;  ///< glibc version when linked against glibc
  std::optional<std::pair<int, int>> musl;   ///< musl version when linked against musl
  std::string elf_arch_check;                ///< result of packaging's ELF checks for armv7l/i686 ("" = n/a)
};

/// Supported tags for `env`, most preferred first, equal to packaging.tags.sys_tags().
std::vector<Tag> supported_tags(const TagEnvironment& env);

}  // namespace strata::pep
