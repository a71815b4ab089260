#pragma once
// Targets without an interpreter (SPEC "Targets without an interpreter"): an env::Interpreter
// computed from a Python version, a platform tag and an implementation, without running Python —
// the marker environment, the wheel tags (pep::supported_tags of the TagEnvironment built here
// equals packaging.tags' cpython_tags/generic_tags + compatible_tags for that interpreter) and the
// install scheme. For cross-platform planning and installs (`--python-version 3.12 --platform
// manylinux_2_28_aarch64`) and for `strata image`, which reads the target from a base image's files.

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "env/probe.hpp"
#include "util/error.hpp"

namespace strata::env {

/// A target as flags describe it. Every field is plain text as the user (or a base image) gives it.
struct TargetSpec {
  /// "3.12" or "3.12.4" (also "3.13.0rc1"); without a micro version the target is X.Y.0, as uv
  /// assumes for `--python-version`.
  std::string python_version;
  /// A platform tag or alias (see parse_platform); "" = the host's architecture and C library.
  std::string platform;
  /// "cp" (CPython, also "cpython"; "" means cp) or "pp" (PyPy 7.3, also "pypy").
  std::string implementation;
  /// CPython's ABI: "" = the default for the version ("cp37m" before 3.8, else "cpXY"); "cpXYt"
  /// is the free-threaded build (3.13+).
  std::string abi;
  /// Where the target's Python lives on the target system: sys.prefix (the scheme's root) and the
  /// executable scripts' shebangs name. "" = /usr/local and <prefix>/bin/pythonX.Y (pypyX.Y), the
  /// layout of the official `python:` (`pypy:` has /opt/pypy) images.
  std::filesystem::path prefix;
  std::filesystem::path executable;
};

/// A parsed platform: the machine and C library a target's wheels must fit.
struct TargetPlatform {
  std::string system = "Linux";  ///< platform.system(): "Linux" or "Darwin"
  std::string arch;              ///< wheel-tag architecture: x86_64, aarch64, i686, armv7l, …
  std::optional<std::pair<int, int>> glibc, musl;  ///< at most one; none for a bare linux_<arch>
  std::optional<std::pair<int, int>> mac_version;  ///< Darwin only
};

/// The glibc version `linux/amd64`-style aliases and `<arch>-unknown-linux-gnu` mean: 2.28, uv's
/// `--python-platform x86_64-unknown-linux-gnu` / `aarch64-unknown-linux-gnu` default (Debian 10+,
/// RHEL 8+, Ubuntu 18.10+); `-musl` aliases mean musl 1.2 (Alpine 3.13+).
inline constexpr std::pair<int, int> kAliasGlibc{2, 28};
inline constexpr std::pair<int, int> kAliasMusl{1, 2};

/// Parses a platform: a PEP 600 tag (`manylinux_2_28_aarch64`), a legacy manylinux tag
/// (`manylinux2014_x86_64`, `manylinux2010_*`, `manylinux1_*`), a PEP 656 tag (`musllinux_1_2_x86_64`),
/// `linux_<arch>` (no manylinux/musllinux tags), `macosx_14_0_arm64`, an OCI platform
/// (`linux/amd64`, `linux/arm64`, `linux/arm64/v8`, `linux/arm/v7`, `linux/386`, `linux/ppc64le`,
/// `linux/s390x`, `linux/riscv64`) or uv's `--python-platform` names (`x86_64-unknown-linux-gnu`,
/// `aarch64-unknown-linux-musl`, `aarch64-manylinux_2_28`, `linux`). The error names the text.
Result<TargetPlatform> parse_platform(std::string_view text);

/// The host's platform (uname's machine, the running glibc or, on musl, kAliasMusl).
Result<TargetPlatform> host_platform();

/// The platform tag of a C library and machine as a base image shows them — what `strata image`
/// passes as TargetSpec::platform: "manylinux_2_36_aarch64", "musllinux_1_2_x86_64", or
/// "linux_<arch>" when neither is known. `machine` may be uname's or OCI's spelling (arm64, amd64).
std::string platform_tag(std::string_view machine, std::optional<std::pair<int, int>> glibc,
                         std::optional<std::pair<int, int>> musl = std::nullopt);

/// The interpreter `spec` describes, computed without running anything: implementation,
/// version, `markers` (the PEP 508 environment packaging's default_environment() would give on it;
/// platform_release and platform_version, kernel facts, are ""), `tag_env` (so that
/// pep::supported_tags gives packaging's order for it: manylinux tags down to 2_17 — 2_5 on
/// x86_64/i686 — with the legacy aliases, musllinux down to 1_0), `paths` (the posix_prefix
/// scheme under `prefix`: lib/pythonX.Y/site-packages, bin, include/pythonX.Y, data), no site
/// dirs; `executable` (never run) is only what the target's scripts name in their shebangs.
/// Usage errors (exit 2) name the flag and its value.
Result<Interpreter> describe_interpreter(const TargetSpec& spec);

/// The install scheme of a target interpreter re-rooted as pip's `--target DIR` lays it out: a
/// flat library directory DIR (purelib = platlib), scripts in DIR/bin, data in DIR, headers in
/// DIR/include/python (the install adds the project's name).
std::map<std::string, std::string, std::less<>> target_dir_scheme(const std::filesystem::path& dir);

/// A host interpreter that can byte-compile for `target` (same implementation and X.Y): the
/// first of python<X.Y> (pypy<X.Y>) on PATH, then pyenv's versions ($PYENV_ROOT or ~/.pyenv,
/// versions/<X.Y>[.*]/bin/python<X.Y>, newest first), ELF executables only (a wrapper script such as
/// a pyenv shim runs whatever its environment selects). Only names are looked at here; the caller
/// probes it to be sure. nullopt when there is none.
std::optional<std::filesystem::path> find_host_python(const Interpreter& target);

/// The machine of an ELF executable (symlinks followed) in the wheel-tag spelling (x86_64, aarch64,
/// i686, armv7l, ppc64le, s390x, …), nullopt when it is not a readable ELF file.
std::optional<std::string> elf_machine(const std::filesystem::path& executable);

/// The spec's facts as JSON (`strata debug --json` "target", reports' "target" for a described one).
nlohmann::json to_json(const TargetSpec& spec);

}  // namespace strata::env
