#include "env/venv.hpp"

#include <unistd.h>

#include <string>

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::env {
namespace fs = std::filesystem;
namespace {

// Used when the base interpreter ships no venv templates (e.g. Debian without python3-venv).
constexpr const char* kActivateFallback =
    R"SH(# This file must be used with "source bin/activate" *from bash or zsh*
# you cannot run it directly

deactivate () {
    if [ -n "${_OLD_VIRTUAL_PATH:-}" ] ; then
        PATH="${_OLD_VIRTUAL_PATH:-}"
        export PATH
        unset _OLD_VIRTUAL_PATH
    fi
    if [ -n "${_OLD_VIRTUAL_PYTHONHOME:-}" ] ; then
        PYTHONHOME="${_OLD_VIRTUAL_PYTHONHOME:-}"
        export PYTHONHOME
        unset _OLD_VIRTUAL_PYTHONHOME
    fi
    hash -r 2> /dev/null
    if [ -n "${_OLD_VIRTUAL_PS1:-}" ] ; then
        PS1="${_OLD_VIRTUAL_PS1:-}"
        export PS1
        unset _OLD_VIRTUAL_PS1
    fi
    unset VIRTUAL_ENV
    unset VIRTUAL_ENV_PROMPT
    if [ ! "${1:-}" = "nondestructive" ] ; then
        unset -f deactivate
    fi
}

deactivate nondestructive

VIRTUAL_ENV="__VENV_DIR__"
export VIRTUAL_ENV

_OLD_VIRTUAL_PATH="$PATH"
PATH="$VIRTUAL_ENV/__VENV_BIN_NAME__:$PATH"
export PATH

if [ -n "${PYTHONHOME:-}" ] ; then
    _OLD_VIRTUAL_PYTHONHOME="${PYTHONHOME:-}"
    unset PYTHONHOME
fi

if [ -z "${VIRTUAL_ENV_DISABLE_PROMPT:-}" ] ; then
    _OLD_VIRTUAL_PS1="${PS1:-}"
    PS1="__VENV_PROMPT__${PS1:-}"
    export PS1
    VIRTUAL_ENV_PROMPT="__VENV_PROMPT__"
    export VIRTUAL_ENV_PROMPT
fi

hash -r 2> /dev/null
)SH";

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
}

Result<void> ensure_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));
  return {};
}

Result<void> ensure_symlink(const fs::path& target, const fs::path& link) {
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(link, ec)) || fs::exists(fs::symlink_status(link, ec))) return {};
  fs::create_symlink(target, link, ec);
  if (ec == std::errc::file_exists && fs::is_symlink(fs::symlink_status(link)))
    ec.clear();  // a racing creator
  if (ec)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot create symlink to {}: {}", link.string(),
                                                target.string(), ec.message()));
  return {};
}

// pyvenv.cfg "key = value" lines.
std::string cfg_value(std::string_view cfg, std::string_view key) {
  for (auto line : util::split(cfg, '\n')) {
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    if (util::trim(line.substr(0, eq)) == key) return std::string(util::trim(line.substr(eq + 1)));
  }
  return {};
}

}  // namespace

bool is_venv(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "pyvenv.cfg", ec);
}

bool is_venv_file(const fs::path& dir, const fs::path& path) {
  const fs::path d = dir.lexically_normal(), p = path.lexically_normal();
  if (!is_venv(d)) return false;
  if (p == d / "pyvenv.cfg") return true;
  if (p.parent_path() != d / "bin") return false;
  const std::string name = p.filename().string();
  return name.starts_with("python") || name.starts_with("activate") || name.starts_with("Activate") ||
         name.starts_with("pypy");
}

namespace {

// Empty, or holding only `.strata/` (strata's state directory).
bool empty_but_for_state(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->path().filename() != ".strata") return false;
  return !ec;
}

// Present from before the first piece of a new venv is made until its pyvenv.cfg is written: a
// creator killed in between leaves a directory that is no venv yet, which the next run completes.
fs::path incomplete_marker(const fs::path& dir) { return dir / ".strata" / "venv-incomplete"; }

// The temporaries of util::write_file_atomic ("<name>.tmp.<pid>.<hex>") that a killed creator
// left beside the files create_venv writes.
void remove_killed_writes(const fs::path& dir) {
  std::error_code ec;
  for (const fs::path& d : {dir, dir / "bin", dir / ".strata"})
    for (const auto& entry : fs::directory_iterator(d, ec)) {
      const std::string name = entry.path().filename().string();
      for (const char* written : {"pyvenv.cfg", "activate", ".gitignore", "venv-incomplete"})
        if (name.starts_with(std::string(written) + ".tmp.") && entry.is_regular_file(ec)) {
          std::error_code e;
          fs::remove(entry.path(), e);
        }
    }
}

}  // namespace

std::string venv_python_version(const fs::path& dir) {
  auto cfg = util::read_file(dir / "pyvenv.cfg");
  if (!cfg) return {};
  std::string version = cfg_value(*cfg, "version");
  return version.empty() ? cfg_value(*cfg, "version_info") : version;
}

std::vector<VenvEntry> venv_layout(const fs::path& dir, const Interpreter& base, const fs::path& exe,
                                   const fs::path& real,
                                   const std::optional<std::string>& activate_template) {
  using Kind = VenvEntry::Kind;
  const std::string xy = fmt::format("{}.{}", base.major, base.minor);
  const bool since_311 = base.major > 3 || (base.major == 3 && base.minor >= 11);
  const fs::path bin = dir / "bin";
  const fs::path lib = dir / "lib";
  std::vector<VenvEntry> out;
  for (const auto& d : {bin, lib / ("python" + xy) / "site-packages", dir / "include"})
    out.push_back({d, Kind::directory, {}});
  if (since_311) out.push_back({dir / "include" / ("python" + xy), Kind::directory, {}});
  // CPython's venv adds lib64 -> lib on 64-bit POSIX other than macOS.
  if (sizeof(void*) == 8) out.push_back({dir / "lib64", Kind::symlink, "lib"});
  const std::string exename = exe.filename().string();
  out.push_back({bin / exename, Kind::symlink, exe.string()});
  for (const std::string& name : {std::string("python"), std::string("python3"), "python" + xy})
    if (name != exename) out.push_back({bin / name, Kind::symlink, exename});

  std::string text = activate_template.value_or(kActivateFallback);
  const std::string name = dir.filename().string();
  // Since 3.12 the template adds the parentheses itself.
  const std::string prompt =
      text.find("(__VENV_PROMPT__)") != std::string::npos ? name : fmt::format("({}) ", name);
  replace_all(text, "__VENV_DIR__", dir.string());
  replace_all(text, "__VENV_NAME__", name);
  replace_all(text, "__VENV_PROMPT__", prompt);
  replace_all(text, "__VENV_BIN_NAME__", "bin");
  replace_all(text, "__VENV_PYTHON__", (bin / exename).string());
  out.push_back({bin / "activate", Kind::file, std::move(text)});
  if (base.major > 3 || (base.major == 3 && base.minor >= 13))
    out.push_back({dir / ".gitignore", Kind::file,
                   "# Created by venv; see https://docs.python.org/3/library/venv.html\n*\n"});

  std::string cfg = fmt::format("home = {}\ninclude-system-site-packages = false\nversion = {}.{}.{}\n",
                                exe.parent_path().string(), base.major, base.minor, base.micro);
  if (since_311) {
    cfg += fmt::format("executable = {}\n", real.string());
    cfg += fmt::format("command = {} -m venv {}\n", base.executable.string(), dir.string());
  }
  out.push_back({dir / "pyvenv.cfg", Kind::file, std::move(cfg)});
  return out;
}

Result<Venv> create_venv(const fs::path& dir_in, const Interpreter& base) {
  std::error_code ec;
  const fs::path dir = fs::absolute(dir_in, ec).lexically_normal();
  if (ec) return fail(ErrorKind::runtime, fmt::format("{}: {}", dir_in.string(), ec.message()));
  const std::string xy = fmt::format("{}.{}", base.major, base.minor);
  Venv venv{dir, dir / "bin" / "python", true};

  auto st = fs::symlink_status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(fs::status(dir, ec)))
      return fail(ErrorKind::usage, fmt::format("{}: exists and is not a directory", dir.string()));
    if (is_venv(dir)) {
      auto cfg = util::read_file(dir / "pyvenv.cfg");
      if (!cfg) return std::unexpected(cfg.error());
      const std::string version = venv_python_version(dir);
      auto parts = util::split(version, '.');
      if (parts.size() < 2 || fmt::format("{}.{}", parts[0], parts[1]) != xy)
        return fail(
            ErrorKind::usage,
            fmt::format(
                "{}: is a virtual environment for Python {}, not {}; remove it or pass that interpreter",
                dir.string(), version.empty() ? "(unknown)" : version, xy));
      venv.created = false;
    } else if (!fs::exists(incomplete_marker(dir), ec) && !empty_but_for_state(dir)) {
      return fail(ErrorKind::usage,
                  fmt::format("{}: exists and is neither a virtual environment nor an empty directory",
                              dir.string()));
    }
  }

  // The interpreter the venv links to: the base itself, or the base of the venv it lives in.
  // sys.executable, not the path strata was given: that may be a wrapper script (a pyenv shim).
  fs::path exe = base.sys_executable.empty() ? base.executable : base.sys_executable;
  if (base.in_venv) {
    auto cfg = util::read_file(base.prefix / "pyvenv.cfg");
    std::string home = cfg ? cfg_value(*cfg, "home") : std::string();
    if (!home.empty() && fs::exists(fs::path(home) / exe.filename(), ec)) {
      exe = fs::path(home) / exe.filename();
    } else {
      exe = base.real_executable;
    }
  }
  const fs::path real = base.in_venv ? fs::canonical(exe, ec) : base.real_executable;

  if (!is_venv(dir)) {
    remove_killed_writes(dir);
    if (auto ok = ensure_dir(dir / ".strata"); !ok) return std::unexpected(ok.error());
    if (auto ok = util::write_file_atomic(incomplete_marker(dir), ""); !ok)
      return std::unexpected(ok.error());
  }
  std::optional<std::string> activate_template;
  if (auto stdlib = base.paths.find("stdlib"); stdlib != base.paths.end())
    if (auto tmpl = util::read_file(fs::path(stdlib->second) / "venv" / "scripts" / "common" / "activate"))
      activate_template = *tmpl;
  for (const VenvEntry& entry : venv_layout(dir, base, exe, real, activate_template)) {
    Result<void> ok;
    switch (entry.kind) {
      case VenvEntry::Kind::directory:
        ok = ensure_dir(entry.path);
        break;
      case VenvEntry::Kind::symlink:
        ok = ensure_symlink(entry.content, entry.path);
        break;
      case VenvEntry::Kind::file:
        // pyvenv.cfg last: its presence is what makes the directory a venv.
        if (entry.path.filename() == "pyvenv.cfg" ? !is_venv(dir) : !fs::exists(entry.path, ec))
          ok = util::write_file_atomic(entry.path, entry.content);
        break;
    }
    if (!ok) return std::unexpected(ok.error());
  }
  fs::remove(incomplete_marker(dir), ec);
  if (fs::is_empty(dir / ".strata", ec)) fs::remove(dir / ".strata", ec);
  return venv;
}

}  // namespace strata::env
