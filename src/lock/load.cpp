#include "lock/load.hpp"

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "lock/manifest.hpp"
#include "lock/pdm_lock.hpp"
#include "lock/pipfile_lock.hpp"
#include "lock/pylock.hpp"
#include "lock/requirements.hpp"
#include "lock/uv_lock.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::lock {
namespace {

bool is_pylock_name(std::string_view name) {
  return name == "pylock.toml" ||
         (name.starts_with("pylock.") && name.ends_with(".toml") && name.size() > 12);
}

std::optional<Format> format_by_name(std::string_view name) {
  if (name == "poetry.lock") return Format::poetry;
  if (is_pylock_name(name)) return Format::pylock;
  if (name == "uv.lock") return Format::uv;
  if (name == "pdm.lock") return Format::pdm;
  if (is_requirements_name(name)) return Format::requirements;
  if (name == "Pipfile.lock") return Format::pipfile;
  return std::nullopt;
}

// A poetry.lock has [metadata] and [[package]]; a pylock.toml has lock-version and created-by at
// the top; a layer manifest has manifest-version before its first table; a uv.lock starts with
// `version = 1`; a pdm.lock has `lock_version` in its [metadata]; a Pipfile.lock is a JSON object
// with "_meta". Looks at line starts only; the
// reader does the real checking.
std::optional<Format> format_by_content(std::string_view text) {
  if (looks_like_pipfile_lock(text)) return Format::pipfile;
  if (looks_like_manifest(text)) return Format::manifest;
  if (looks_like_uv_lock(text)) return Format::uv;
  if (looks_like_pdm_lock(text)) return Format::pdm;
  bool metadata = false, created_by = false, lock_version = false, packages = false;
  for (std::string_view line : util::split(text, '\n')) {
    line = util::trim(line);
    metadata = metadata || line.starts_with("[metadata]");
    created_by = created_by || line.starts_with("created-by");
    lock_version = lock_version || line.starts_with("lock-version");
    packages = packages || line.starts_with("[[packages]]");
  }
  if (lock_version && (created_by || packages) && !metadata) return Format::pylock;
  if (metadata) return Format::poetry;
  if (looks_like_requirements(text)) return Format::requirements;
  return std::nullopt;
}

// Every format strata reads, with the command that makes one.
constexpr std::string_view kFormats =
    "strata reads uv.lock (`uv lock`), poetry.lock with its pyproject.toml (`poetry lock`), "
    "pylock.toml / pylock.*.toml (`uv export --format pylock.toml -o pylock.toml`, `pdm export -f "
    "pylock`), pdm.lock (`pdm lock`), Pipfile.lock (`pipenv lock`), hashed requirements*.txt (`pip-compile "
    "--generate-hashes`, "
    "`uv pip compile --generate-hashes`) and layer manifests (`strata plan`)";

}  // namespace

Result<LockFiles> find_lock(const std::filesystem::path& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    return fail(ErrorKind::usage, fmt::format("{}: no such file or directory", path.string()));
  LockFiles files;
  if (std::filesystem::is_directory(status)) {
    std::vector<std::filesystem::path> candidates;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      std::string name = entry.path().filename().string();
      if (format_by_name(name) && entry.is_regular_file(ec)) candidates.push_back(entry.path());
    }
    if (ec)
      return fail(ErrorKind::usage,
                  fmt::format("{}: cannot list the directory: {}", path.string(), ec.message()));
    std::sort(candidates.begin(), candidates.end());
    // requirements*.txt beside a real lock is usually its export: the lock is meant.
    const bool real_lock = std::any_of(candidates.begin(), candidates.end(), [](const auto& c) {
      return !is_requirements_name(c.filename().string());
    });
    if (real_lock)
      std::erase_if(candidates, [](const auto& c) { return is_requirements_name(c.filename().string()); });
    if (candidates.empty()) {
      // The absolute path: "." says nothing in a Docker build's log.
      std::filesystem::path where = std::filesystem::absolute(path, ec).lexically_normal();
      if (!where.has_filename() && where != where.root_path()) where = where.parent_path();
      return fail(ErrorKind::usage,
                  fmt::format("{}: no lock file here (looked for uv.lock, poetry.lock, pylock.toml, "
                              "pylock.*.toml, pdm.lock, Pipfile.lock and hashed requirements*.txt); make "
                              "one in the project with `poetry lock`, `uv lock`, `pdm lock`, "
                              "`pip-compile --generate-hashes` or `pipenv lock`",
                              (ec ? path : where).string()));
    }
    if (candidates.size() > 1) {
      std::vector<std::string> names;
      for (const auto& c : candidates) names.push_back(c.filename().string());
      return fail(ErrorKind::usage, fmt::format("{}: several lock files ({}); name the one to use",
                                                path.string(), util::join(names, ", ")));
    }
    files.lock = candidates.front();
  } else {
    files.lock = path;
  }
  std::string name = files.lock.filename().string();
  auto format = format_by_name(name);
  if (!format) {
    auto text = util::read_file(files.lock);
    if (!text) return std::unexpected(text.error());
    format = format_by_content(*text);
  }
  if (!format) {
    return fail(ErrorKind::usage,
                fmt::format("{}: not a lock strata reads ({})", files.lock.string(), kFormats));
  }
  files.format = *format;
  if (files.format == Format::poetry) {
    files.pyproject = files.lock.parent_path() / "pyproject.toml";
    if (!std::filesystem::is_regular_file(files.pyproject, ec)) {
      return fail(ErrorKind::usage,
                  fmt::format("{}: a poetry.lock needs the pyproject.toml beside it ({} is missing)",
                              files.lock.string(), files.pyproject.string()));
    }
  }
  if (files.format == Format::pdm) {
    // Optional: tells the lock's extras from its dependency groups.
    auto pyproject = files.lock.parent_path() / "pyproject.toml";
    if (std::filesystem::is_regular_file(pyproject, ec)) files.pyproject = pyproject;
  }
  if (files.format == Format::pipfile) {
    // Optional: the lock's _meta.hash is checked against it (plan/prepare).
    auto pipfile = files.lock.parent_path() / "Pipfile";
    if (std::filesystem::is_regular_file(pipfile, ec)) files.pyproject = pipfile;
  }
  return files;
}

Result<Lock> parse_lock(std::string_view text, std::string_view source_name,
                        std::optional<PyprojectText> pyproject) {
  std::string_view base = source_name.substr(source_name.find_last_of('/') + 1);
  auto format = format_by_name(base);
  if (!format) format = format_by_content(text);
  if (!format) {
    return fail(ErrorKind::usage, fmt::format("{}: not a lock strata reads ({})", source_name, kFormats));
  }
  if (*format == Format::pylock) return read_pylock(text, source_name);
  if (*format == Format::uv) return read_uv_lock(text, source_name);
  if (*format == Format::manifest) return load_manifest(text, source_name);
  if (*format == Format::pdm) return read_pdm_lock(text, source_name, pyproject);
  if (*format == Format::pipfile) return read_pipfile_lock(text, source_name);
  if (*format == Format::requirements) {
    // Text only: an included file cannot be read.
    const std::string name(source_name);
    return read_requirements(name, [&](const std::filesystem::path& path) -> Result<std::string> {
      if (path == name) return std::string(text);
      return fail(ErrorKind::usage, fmt::format("{}: cannot include files when reading text", path.string()));
    });
  }
  return read_poetry(text, source_name, pyproject);
}

Result<Lock> load_lock(const std::filesystem::path& path) {
  auto files = find_lock(path);
  if (!files) return std::unexpected(files.error());
  auto text = util::read_file(files->lock);
  if (!text) return std::unexpected(text.error());
  std::string lock_name = files->lock.string();
  if (files->format == Format::pylock) return read_pylock(*text, lock_name);
  if (files->format == Format::uv) return read_uv_lock(*text, lock_name);
  if (files->format == Format::manifest) return load_manifest(*text, lock_name);
  if (files->format == Format::pdm && files->pyproject.empty()) return read_pdm_lock(*text, lock_name);
  if (files->format == Format::pipfile) return read_pipfile_lock(*text, lock_name);
  if (files->format == Format::requirements)
    return read_requirements(files->lock, [](const std::filesystem::path& p) { return util::read_file(p); });
  auto pyproject = util::read_file(files->pyproject);
  if (!pyproject) return std::unexpected(pyproject.error());
  std::string pyproject_name = files->pyproject.string();
  if (files->format == Format::pdm)
    return read_pdm_lock(*text, lock_name, PyprojectText{*pyproject, pyproject_name});
  return read_poetry(*text, lock_name, PyprojectText{*pyproject, pyproject_name});
}

}  // namespace strata::lock
