#include "wheel/install.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pep/name.hpp"
#include "pep/version.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "wheel/bytecode.hpp"
#include "wheel/conflicts.hpp"
#include "wheel/metadata.hpp"
#include "wheel/record.hpp"
#include "wheel/replaced.hpp"
#include "wheel/scripts.hpp"
#include "wheel/unpack.hpp"

namespace strata::wheel {
namespace fs = std::filesystem;
namespace {

// PEP 503 normalization (kept local so the wheel layer needs nothing but strings from pep/).
std::string normalize(std::string_view name) {
  std::string out;
  bool sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      sep = true;
      continue;
    }
    if (sep && !out.empty()) out += '-';
    sep = false;
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return out;
}

std::string errno_text(int e) { return std::strerror(e); }

std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

// Writes files created under the staging directory: umask-respecting mode, plus x bits where
// r bits are set when `executable` (pip's "default mode plus executable").
class FileWriter {
 public:
  static Result<FileWriter> create(const fs::path& path) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: cannot create directory: {}", path.parent_path().string(), ec.message()));
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
      return fail(ErrorKind::runtime, fmt::format("{}: cannot create: {}", path.string(), errno_text(errno)));
    return FileWriter(fd, path);
  }
  FileWriter(FileWriter&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}
  FileWriter& operator=(FileWriter&&) = delete;
  ~FileWriter() {
    if (fd_ >= 0) ::close(fd_);
  }
  Result<void> write(std::string_view data) {
    while (!data.empty()) {
      ssize_t put = ::write(fd_, data.data(), data.size());
      if (put < 0 && errno == EINTR) continue;
      if (put < 0)
        return fail(ErrorKind::runtime,
                    fmt::format("{}: cannot write: {}", path_.string(), errno_text(errno)));
      data.remove_prefix(static_cast<std::size_t>(put));
    }
    return {};
  }
  Result<void> close(bool executable) {
    if (executable) {
      struct stat st {};
      if (::fstat(fd_, &st) == 0) ::fchmod(fd_, (st.st_mode | ((st.st_mode & 0444) >> 2)) & 07777);
    }
    int rc = ::close(std::exchange(fd_, -1));
    if (rc != 0)
      return fail(ErrorKind::runtime, fmt::format("{}: cannot write: {}", path_.string(), errno_text(errno)));
    return {};
  }

 private:
  FileWriter(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  fs::path path_;
};

Result<void> write_whole(const fs::path& path, std::string_view content, bool executable) {
  auto w = FileWriter::create(path);
  if (!w) return std::unexpected(w.error());
  if (auto ok = w->write(content); !ok) return ok;
  return w->close(executable);
}

std::pair<std::string, std::uint64_t> hash_file(const fs::path& path, std::string_view algorithm = "sha256") {
  Hasher h(algorithm);
  auto content = util::read_file(path);
  if (!content) return {"", 0};
  h.update(*content);
  return {h.finish(), content->size()};
}

// Renames `from` (a file or a directory) to `to`, creating parents; across filesystems copies
// beside `to`, then renames.
Result<void> move_into_place(const fs::path& from, const fs::path& to, util::DirMaker& dirs) {
  if (auto ok = dirs.ensure(to.parent_path()); !ok) return ok;
  if (::rename(from.c_str(), to.c_str()) == 0) return {};
  int e = errno;
  if (e != EXDEV)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot move into place: {}", to.string(), errno_text(e)));
  std::error_code ec;
  fs::path tmp = to.parent_path() / ("." + to.filename().string() + ".strata-" + random_suffix());
  if (fs::is_directory(fs::symlink_status(from)))
    fs::copy(from, tmp, fs::copy_options::recursive, ec);
  else
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    return fail(ErrorKind::runtime, fmt::format("{}: cannot copy into place: {}", to.string(), ec.message()));
  }
  if (::rename(tmp.c_str(), to.c_str()) != 0) {
    e = errno;
    fs::remove_all(tmp, ec);
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot move into place: {}", to.string(), errno_text(e)));
  }
  fs::remove_all(from, ec);
  return {};
}

// Removes `dir` and its parents while they are empty, never at or above a root.
void prune_empty_dirs(fs::path dir, const std::vector<fs::path>& roots) {
  std::error_code ec;
  while (true) {
    bool inside = false;
    for (const auto& root : roots) inside = inside || is_within(dir, root);
    if (!inside) return;
    if (!fs::is_empty(dir, ec) || ec) return;
    if (!fs::remove(dir, ec) || ec) return;
    dir = dir.parent_path();
  }
}

// Deletes a file of a replaced distribution, and for a .py its __pycache__ pycs.
void remove_old_file(const fs::path& file, const std::vector<fs::path>& roots) {
  std::error_code ec;
  fs::remove(file, ec);
  if (file.extension() == ".py") {
    fs::path cache = file.parent_path() / "__pycache__";
    std::vector<fs::path> pycs;
    for (auto it = fs::directory_iterator(cache, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
      if (is_bytecode_of(it->path().filename().string(), file)) pycs.push_back(it->path());
    for (const auto& p : pycs) fs::remove(p, ec);
    prune_empty_dirs(cache, roots);
  }
  prune_empty_dirs(file.parent_path(), roots);
}

// ---- journal ----

struct Journal {
  std::string project;
  fs::path staging;
  std::vector<std::pair<fs::path, fs::path>> moves;            // staged -> destination
  std::pair<fs::path, fs::path> dist_info;                     // staged -> destination
  std::optional<std::pair<fs::path, fs::path>> old_dist_info;  // installed -> aside
  std::vector<fs::path> old_files;
  std::vector<fs::path> roots;
};

nlohmann::json to_json(const Journal& j) {
  auto pair = [](const std::pair<fs::path, fs::path>& p) {
    return nlohmann::json::array({p.first.string(), p.second.string()});
  };
  nlohmann::json moves = nlohmann::json::array();
  for (const auto& m : j.moves) moves.push_back(pair(m));
  nlohmann::json old_files = nlohmann::json::array();
  for (const auto& f : j.old_files) old_files.push_back(f.string());
  nlohmann::json roots = nlohmann::json::array();
  for (const auto& r : j.roots) roots.push_back(r.string());
  return {{"format", 1},
          {"project", j.project},
          {"staging", j.staging.string()},
          {"moves", moves},
          {"dist_info", pair(j.dist_info)},
          {"old_dist_info", j.old_dist_info ? pair(*j.old_dist_info) : nlohmann::json(nullptr)},
          {"old_files", old_files},
          {"roots", roots}};
}

Result<Journal> journal_from_json(std::string_view text, const fs::path& source) {
  try {
    auto doc = nlohmann::json::parse(text);
    Journal j;
    auto pair = [](const nlohmann::json& p) {
      return std::pair<fs::path, fs::path>(p.at(0).get<std::string>(), p.at(1).get<std::string>());
    };
    if (doc.at("format").get<int>() != 1) throw std::runtime_error("unknown journal format");
    j.project = doc.at("project").get<std::string>();
    j.staging = doc.at("staging").get<std::string>();
    for (const auto& m : doc.at("moves")) j.moves.push_back(pair(m));
    j.dist_info = pair(doc.at("dist_info"));
    if (!doc.at("old_dist_info").is_null()) j.old_dist_info = pair(doc.at("old_dist_info"));
    for (const auto& f : doc.at("old_files")) j.old_files.emplace_back(f.get<std::string>());
    for (const auto& r : doc.at("roots")) j.roots.emplace_back(r.get<std::string>());
    return j;
  } catch (const std::exception& e) {
    return fail(ErrorKind::runtime,
                fmt::format("{}: unreadable install journal: {}", source.string(), e.what()));
  }
}

fs::path journal_path(const fs::path& state_dir, std::string_view project) {
  return state_dir / "journal" / (std::string(project) + ".json");
}

struct Stop {};  // a FailPoint was reached

// Runs the protocol from wherever it stopped: old .dist-info aside, files in, new .dist-info in.
Result<void> apply_moves(const Journal& j, FailPoint fp) {
  util::DirMaker dirs;
  if (j.old_dist_info && fs::exists(fs::symlink_status(j.old_dist_info->first)) &&
      !fs::exists(fs::symlink_status(j.old_dist_info->second))) {
    if (auto ok = move_into_place(j.old_dist_info->first, j.old_dist_info->second, dirs); !ok) return ok;
  }
  if (fp == FailPoint::after_old_moved) throw Stop{};
  std::size_t moved = 0;
  for (const auto& [staged, dest] : j.moves) {
    if (fs::exists(fs::symlink_status(staged))) {
      if (auto ok = move_into_place(staged, dest, dirs); !ok) return ok;
    }
    if (fp == FailPoint::after_some_files && ++moved == j.moves.size() / 2) throw Stop{};
  }
  if (fp == FailPoint::before_commit) throw Stop{};
  if (fs::exists(fs::symlink_status(j.dist_info.first))) {
    if (auto ok = move_into_place(j.dist_info.first, j.dist_info.second, dirs); !ok) return ok;
  }
  return {};
}

// After the commit: old files, the aside .dist-info, staging and journal go.
void clean_up(const Journal& j, const fs::path& journal_file) {
  std::error_code ec;
  for (const auto& f : j.old_files) remove_old_file(f, j.roots);
  fs::remove_all(j.staging, ec);
  fs::remove(journal_file, ec);
}

// Removes what an install that cannot finish put in place; the project ends up not installed.
void roll_back(const Journal& j, const fs::path& journal_file) {
  std::error_code ec;
  for (const auto& [staged, dest] : j.moves) {
    if (fs::exists(fs::symlink_status(staged))) continue;
    if (fs::is_directory(fs::symlink_status(dest))) {
      fs::remove_all(dest, ec);  // a whole directory the install created (see collapse_moves)
      prune_empty_dirs(dest.parent_path(), j.roots);
    } else {
      remove_old_file(dest, j.roots);
    }
  }
  fs::remove_all(j.dist_info.second, ec);
  for (const auto& f : j.old_files) remove_old_file(f, j.roots);
  if (j.old_dist_info) fs::remove_all(j.old_dist_info->first, ec);
  fs::remove_all(j.staging, ec);
  fs::remove(journal_file, ec);
}

// ---- staging ----

struct StagedFile {
  std::string entry;  // archive path
  fs::path staged;
  std::string hash;          // sha256 of the bytes as in the archive
  std::string written_hash;  // sha256 of what was written (differs for rewritten scripts)
  std::uint64_t size = 0;    // bytes in the archive
  std::uint64_t written_size = 0;
  bool executable = false;
};

std::optional<std::string> data_key_of(std::string_view entry, std::string_view data_dir, std::string& rest) {
  if (!entry.starts_with(data_dir) || entry.size() <= data_dir.size() || entry[data_dir.size()] != '/')
    return std::nullopt;
  auto tail = entry.substr(data_dir.size() + 1);
  auto slash = tail.find('/');
  if (slash == std::string_view::npos) {
    rest.clear();
    return std::string(tail);
  }
  rest = std::string(tail.substr(slash + 1));
  return std::string(tail.substr(0, slash));
}

// A .py file of the wheel that gets a pyc.
struct PySource {
  std::string entry;  // archive path
  fs::path staged;
  fs::path dest;
  std::string dfile;  // dest relative to its library directory
};

// A pyc in staging, ready to move.
struct StagedPyc {
  fs::path staged;
  fs::path dest;
  std::string hash;
  std::uint64_t size = 0;
};

// Reads a compiled pyc: RECORD hash and size; makes it read-only when it is shared from a cache.
Result<StagedPyc> finish_pyc(const fs::path& written, const fs::path& dest, bool read_only) {
  auto content = util::read_file(written);
  if (!content) return std::unexpected(content.error());
  if (read_only) ::chmod(written.c_str(), 0444);
  Hasher h;
  h.update(*content);
  return StagedPyc{written, dest, h.finish(), content->size()};
}

}  // namespace

namespace detail {

class Installer {
 public:
  Installer(fs::path wheel, InstallTarget target, WheelInstallOptions options)
      : wheel_(std::move(wheel)),
        target_(std::move(target)),
        options_(std::move(options)),
        wheel_name_(wheel_.filename().string()) {}
  Installer(const Installer&) = delete;
  Installer& operator=(const Installer&) = delete;
  ~Installer() {
    std::error_code ec;
    if (!staging_.empty() && !keep_staging_) fs::remove_all(staging_, ec);
  }

  Result<void> prepare();
  Result<InstalledWheel> commit();
  const std::string& project() const { return project_; }
  const std::string& wheel_name() const { return wheel_name_; }
  const InstallTarget& target() const { return target_; }
  std::vector<std::pair<fs::path, fs::path>> staged() const {
    std::vector<std::pair<fs::path, fs::path>> out = journal_.moves;
    out.push_back(journal_.dist_info);
    return out;
  }
  std::vector<std::pair<fs::path, std::string>> destinations() const {
    std::vector<std::pair<fs::path, std::string>> out;
    for (std::size_t i = 0; i < journal_.moves.size(); ++i)
      out.emplace_back(journal_.moves[i].second, record_[i].hash);
    out.emplace_back(journal_.dist_info.second, std::string());
    return out;
  }

 private:
  std::unexpected<Error> refuse(std::string_view why) const {
    return fail(ErrorKind::runtime, fmt::format("{}: {}", wheel_name_, why));
  }
  Result<void> note_top_level(std::string_view path);
  Result<void> stage_archive();
  Result<void> stage_unpacked(const UnpackedWheel& unpacked);
  Result<void> verify_record();
  Result<void> verify_identity();
  Result<void> place_files();
  void collapse_moves();
  Result<std::vector<StagedPyc>> staged_pycs(Compiler& compiler, const BytecodeIdentity& id,
                                             const std::vector<PySource>& sources);
  Result<std::vector<StagedPyc>> cached_pycs(Compiler& compiler, const BytecodeIdentity& id,
                                             const std::vector<PySource>& sources);

  fs::path wheel_;
  InstallTarget target_;
  WheelInstallOptions options_;
  std::string wheel_name_;
  fs::path staging_;
  bool keep_staging_ = false;  ///< the journal owns the staging directory (or a test stopped)
  std::vector<StagedFile> files_;
  std::string dist_info_;  // e.g. "six-1.16.0.dist-info"
  std::string project_;    // normalized
  std::map<std::string, std::string> metadata_;
  fs::path lib_dir_;
  Journal journal_;
  std::vector<RecordRow> record_;
  InstalledWheel result_;
  util::DirMaker dirs_;                       ///< directories made under staging
  LinkMode link_mode_ = LinkMode::automatic;  ///< what works from the unpacked tree into staging
};

Result<void> Installer::note_top_level(std::string_view path) {
  std::string expected = normalize(wheel_name_.substr(0, wheel_name_.find('-')));
  std::string top(path.substr(0, path.find('/')));
  if (!top.ends_with(".dist-info")) return {};
  if (dist_info_.empty()) {
    std::string stem = top.substr(0, top.size() - std::string_view(".dist-info").size());
    std::string di_name = normalize(stem.substr(0, stem.find('-')));
    if (di_name != expected)
      return refuse(fmt::format(
          "the .dist-info directory \"{}\" does not match the wheel's project name \"{}\"", top, expected));
    dist_info_ = top;
  } else if (top != dist_info_) {
    return refuse(fmt::format("more than one .dist-info directory (\"{}\" and \"{}\")", dist_info_, top));
  }
  return {};
}

Result<void> Installer::stage_archive() {
  auto reader = ArchiveReader::open(wheel_, options_.limits);
  if (!reader) return std::unexpected(reader.error());
  while (true) {
    auto entry = reader->next();
    if (!entry) return std::unexpected(entry.error());
    if (!*entry) break;
    const ArchiveEntry& e = **entry;
    if (auto ok = note_top_level(e.path); !ok) return ok;
    if (e.directory) continue;
    StagedFile f;
    f.entry = e.path;
    f.staged = staging_ / "files" / e.path;
    f.executable = e.executable;
    auto writer = FileWriter::create(f.staged);
    if (!writer) return std::unexpected(writer.error());
    Hasher hasher;
    auto ok = reader->read([&](std::string_view chunk) -> Result<void> {
      hasher.update(chunk);
      f.size += chunk.size();
      return writer->write(chunk);
    });
    if (!ok) return ok;
    if (auto closed = writer->close(f.executable); !closed) return closed;
    f.hash = hasher.finish();
    f.written_hash = f.hash;
    f.written_size = f.size;
    files_.push_back(std::move(f));
  }
  if (dist_info_.empty()) return refuse("no .dist-info directory in the wheel");
  return {};
}

Result<void> Installer::stage_unpacked(const UnpackedWheel& unpacked) {
  LinkMode& mode = link_mode_;
  mode = options_.link_mode;
  for (const auto& e : unpacked.entries) {
    // The manifest was written by unpack_to_cache, but the cache is shared: check names again.
    std::string normalized;
    if (auto why = check_member_path(e.path, normalized); why || normalized != e.path)
      return refuse(fmt::format("unpacked entry \"{}\": {}", e.path, why ? *why : "not normalized"));
    if (auto ok = note_top_level(e.path); !ok) return ok;
    StagedFile f;
    f.entry = e.path;
    f.staged = staging_ / "files" / e.path;
    f.executable = e.executable;
    if (auto ok = dirs_.ensure(f.staged.parent_path()); !ok) return ok;
    auto used = link_file(unpacked.tree / e.path, f.staged, mode);
    if (!used) return std::unexpected(used.error());
    // Once automatic found what works here, keep using it (same source and target filesystems).
    if (mode == LinkMode::automatic) mode = *used;
    result_.link_mode = *used;
    f.hash = f.written_hash = e.hash;
    f.size = f.written_size = e.size;
    files_.push_back(std::move(f));
  }
  if (dist_info_.empty()) return refuse("no .dist-info directory in the wheel");
  return {};
}

Result<void> Installer::verify_record() {
  const fs::path di = staging_ / "files" / dist_info_;
  auto wheel_meta = util::read_file(di / "WHEEL");
  if (!wheel_meta) return refuse(fmt::format("missing {}/WHEEL", dist_info_));
  auto wheel_headers = parse_headers(*wheel_meta);
  auto version = wheel_headers["wheel-version"];
  auto major = util::parse_uint(version.substr(0, version.find('.')));
  if (!major)
    return refuse(fmt::format("{}/WHEEL: missing or invalid Wheel-Version \"{}\"", dist_info_, version));
  if (*major != 1) return refuse(fmt::format("unsupported Wheel-Version {} (strata supports 1.x)", version));
  lib_dir_ = util::to_lower(wheel_headers["root-is-purelib"]) == "true" ? target_.scheme.purelib
                                                                        : target_.scheme.platlib;

  auto metadata = util::read_file(di / "METADATA");
  if (!metadata) return refuse(fmt::format("missing {}/METADATA", dist_info_));
  metadata_ = parse_headers(*metadata);
  if (metadata_["name"].empty() || metadata_["version"].empty())
    return refuse(fmt::format("{}/METADATA has no Name or Version", dist_info_));
  project_ = normalize(metadata_["name"]);
  if (!dist_info_.starts_with(metadata_["name"] + "-") &&
      normalize(dist_info_.substr(0, dist_info_.find('-'))) != project_)
    return refuse(fmt::format("{}/METADATA names project \"{}\"", dist_info_, metadata_["name"]));

  std::string record_entry = dist_info_ + "/RECORD";
  auto record_text = util::read_file(di / "RECORD");
  if (!record_text) return refuse(fmt::format("missing {}", record_entry));
  auto rows = parse_record(*record_text, wheel_name_ + ":" + record_entry);
  if (!rows) return std::unexpected(rows.error());
  auto is_record = [&](std::string_view entry) {
    return entry == record_entry || entry == record_entry + ".jws" || entry == record_entry + ".p7s";
  };
  std::map<std::string, const RecordRow*> by_path;
  std::set<std::string> in_wheel;
  for (const auto& f : files_) in_wheel.insert(f.entry);
  for (const auto& row : *rows) {
    // Every row names a file of the wheel; RECORD and its signature files may be listed either way.
    std::string normalized;
    if (check_member_path(row.path, normalized) || (!in_wheel.contains(normalized) && !is_record(normalized)))
      return refuse(fmt::format("{} lists \"{}\", which is not a file in the wheel", record_entry, row.path));
    by_path[normalized] = &row;
  }
  for (auto& f : files_) {
    if (is_record(f.entry)) continue;
    auto it = by_path.find(f.entry);
    if (it == by_path.end()) return refuse(fmt::format("entry \"{}\" is not listed in RECORD", f.entry));
    const RecordRow& row = *it->second;
    if (row.hash.empty()) return refuse(fmt::format("entry \"{}\" has no hash in RECORD", f.entry));
    std::string actual = f.hash;
    std::string algorithm = row.hash.substr(0, row.hash.find('='));
    if (algorithm != "sha256") {
      Hasher check(algorithm);
      if (!check.valid() || algorithm == "md5" || algorithm == "sha1")
        return refuse(
            fmt::format("entry \"{}\": unsupported RECORD hash algorithm \"{}\"", f.entry, algorithm));
      actual = hash_file(f.staged, algorithm).first;
    }
    if (actual != row.hash)
      return refuse(fmt::format("entry \"{}\" does not match its RECORD hash (RECORD {}, archive {})",
                                f.entry, row.hash, actual));
    if (row.size && *row.size != f.size)
      return refuse(fmt::format("entry \"{}\" does not match its RECORD size (RECORD {}, archive {})",
                                f.entry, *row.size, f.size));
  }
  return {};
}

// The file name, the .dist-info directory and METADATA name one project at one version, and the
// lock's when it is given: a lock entry for one package never installs another.
Result<void> Installer::verify_identity() {
  const std::string& name = metadata_["name"];
  const std::string& version = metadata_["version"];
  if (!pep::is_valid_name(name))
    return refuse(fmt::format("{}/METADATA: \"{}\" is not a valid project name", dist_info_, name));
  auto same_version = [](const std::string& a, const std::string& b) {
    auto va = pep::Version::parse(a), vb = pep::Version::parse(b);
    return va && vb ? *va == *vb : a == b;
  };
  const std::string stem = dist_info_.substr(0, dist_info_.size() - std::string_view(".dist-info").size());
  const std::size_t dash = stem.starts_with(name + "-") ? name.size() : stem.find('-');
  if (dash != std::string::npos && !same_version(stem.substr(dash + 1), version))
    return refuse(fmt::format("{}/METADATA says version {}, its directory says {}", dist_info_, version,
                              stem.substr(dash + 1)));
  if (auto file = pep::WheelFilename::parse(wheel_name_); file && !same_version(file->version.str(), version))
    return refuse(fmt::format("the file name says version {}, {}/METADATA says {}", file->version.str(),
                              dist_info_, version));
  if (const auto& expected = options_.expected;
      expected && (normalize(expected->name) != project_ || !same_version(expected->version, version)))
    return refuse(fmt::format("the wheel is {} {}, but the lock has {} {}", name, version, expected->name,
                              expected->version));
  return {};
}

Result<void> Installer::place_files() {
  const SchemePaths& s = target_.scheme;
  const std::string data_dir =
      dist_info_.substr(0, dist_info_.size() - std::string_view(".dist-info").size()) + ".data";
  // Destination -> index into journal_.moves and record_ (pushed together), and who claimed it.
  std::map<fs::path, std::pair<std::size_t, std::string>> dest_index;
  std::vector<PySource> to_compile;
  auto add_move = [&](const StagedFile& f, const fs::path& dest, bool compile) -> Result<void> {
    auto [it, inserted] = dest_index.emplace(dest, std::pair{journal_.moves.size(), f.entry});
    if (!inserted)
      return refuse(
          fmt::format("\"{}\" and \"{}\" would both install {}", it->second.second, f.entry, dest.string()));
    journal_.moves.emplace_back(f.staged, dest);
    auto rel = dest.lexically_relative(lib_dir_).generic_string();
    record_.push_back({rel, f.written_hash, f.written_size});
    if (compile && dest.extension() == ".py") {
      // Where the source lands relative to its library directory: what its pyc records.
      fs::path root = is_within(dest, s.purelib) ? s.purelib : s.platlib;
      to_compile.push_back({f.entry, f.staged, dest, dest.lexically_relative(root).generic_string()});
    }
    return {};
  };

  for (auto& f : files_) {
    std::string rest;
    if (f.entry.starts_with(dist_info_ + "/")) continue;  // the directory moves as a whole
    auto key = data_key_of(f.entry, data_dir, rest);
    if (!key) {
      if (auto ok = add_move(f, lib_dir_ / f.entry, true); !ok) return ok;
      continue;
    }
    if (rest.empty())
      return refuse(fmt::format("entry \"{}\" is not inside a {}/<scheme> directory", f.entry, data_dir));
    if (*key == "purelib" || *key == "platlib") {
      if (auto ok = add_move(f, (*key == "purelib" ? s.purelib : s.platlib) / rest, true); !ok) return ok;
    } else if (*key == "headers") {
      if (auto ok = add_move(f, s.headers / metadata_["name"] / rest, false); !ok) return ok;
    } else if (*key == "data") {
      if (auto ok = add_move(f, s.data / rest, false); !ok) return ok;
    } else if (*key == "scripts") {
      auto content = util::read_file(f.staged);
      if (!content) return std::unexpected(content.error());
      // Always a fresh file: the staged one may be a link into the unpack cache.
      std::string script = rewrite_python_shebang(*content, target_.python).value_or(*content);
      std::error_code ec;
      fs::remove(f.staged, ec);
      if (auto ok = write_whole(f.staged, script, true); !ok) return ok;
      Hasher h;
      h.update(script);
      f.written_hash = h.finish();
      f.written_size = script.size();
      if (auto ok = add_move(f, s.scripts / rest, false); !ok) return ok;
    } else {
      return refuse(
          fmt::format("entry \"{}\": unknown scheme directory \"{}\" in {}", f.entry, *key, data_dir));
    }
  }

  // Entry-point launchers.
  const fs::path di = staging_ / "files" / dist_info_;
  if (auto ep_text = util::read_file(di / "entry_points.txt")) {
    auto entries = parse_entry_points(*ep_text, wheel_name_ + ":" + dist_info_ + "/entry_points.txt");
    if (!entries) return std::unexpected(entries.error());
    for (const auto& ep : *entries) {
      StagedFile f;
      f.entry = fmt::format("entry point \"{}\"", ep.name);
      f.staged = staging_ / "launchers" / ep.name;
      std::string script = launcher_script(ep, target_.python);
      if (auto ok = write_whole(f.staged, script, true); !ok) return ok;
      Hasher h;
      h.update(script);
      f.written_hash = h.finish();
      f.written_size = script.size();
      if (auto ok = add_move(f, s.scripts / ep.name, false); !ok) return ok;
    }
  }

  // Bytecode for the .py files of the library directories.
  if (options_.compile && !to_compile.empty()) {
    std::unique_ptr<Compiler> own;
    Compiler* compiler = options_.compiler;
    if (!compiler) {
      unsigned needed = static_cast<unsigned>(std::min<std::size_t>(4, 1 + to_compile.size() / 128));
      auto started =
          Compiler::start(target_.python, options_.compile_workers ? options_.compile_workers : needed);
      if (!started) return std::unexpected(started.error());
      own = std::move(*started);
      compiler = own.get();
    }
    auto id = compiler->identity();
    if (!id) return std::unexpected(id.error());
    auto pycs = options_.unpacked && id->hash_based ? cached_pycs(*compiler, *id, to_compile)
                                                    : staged_pycs(*compiler, *id, to_compile);
    if (!pycs) return std::unexpected(pycs.error());
    for (const auto& pyc : *pycs) {
      StagedFile f;
      f.entry = pyc.staged.string();
      f.staged = pyc.staged;
      f.written_hash = pyc.hash;
      f.written_size = pyc.size;
      ++result_.compiled;
      // A pyc shipped in the wheel is replaced by the compiled one, as pip does.
      if (auto it = dest_index.find(pyc.dest); it != dest_index.end()) {
        journal_.moves[it->second.first].first = f.staged;
        record_[it->second.first].hash = f.written_hash;
        record_[it->second.first].size = f.written_size;
        continue;
      }
      if (auto ok = add_move(f, pyc.dest, false); !ok) return ok;
    }
  }

  // Installer metadata, then RECORD listing everything (RECORD itself without hash).
  auto add_meta = [&](std::string_view file, std::string_view content) -> Result<void> {
    std::error_code ec;
    fs::remove(di / file, ec);
    return write_whole(di / file, content, false);
  };
  if (auto ok = add_meta("INSTALLER", "strata\n"); !ok) return ok;
  if (options_.requested) {
    if (auto ok = add_meta("REQUESTED", ""); !ok) return ok;
  }
  if (!options_.direct_url_json.empty()) {
    if (auto ok = add_meta("direct_url.json", options_.direct_url_json); !ok) return ok;
  }
  std::error_code ec;
  const std::string record_name = dist_info_ + "/RECORD";
  for (auto it = fs::recursive_directory_iterator(di, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string rel = dist_info_ + "/" + it->path().lexically_relative(di).generic_string();
    if (rel == record_name) continue;
    auto [hash, size] = hash_file(it->path());
    record_.push_back({rel, hash, size});
  }
  if (ec) return fail(ErrorKind::runtime, fmt::format("{}: cannot list: {}", di.string(), ec.message()));
  record_.push_back({record_name, "", std::nullopt});
  if (auto ok = add_meta("RECORD", format_record(record_)); !ok) return ok;
  journal_.dist_info = {di, lib_dir_ / dist_info_};
  return {};
}

Result<void> Installer::prepare() {
  staging_ = target_.state_dir / "staging" / random_suffix();
  std::error_code ec;
  fs::create_directories(staging_, ec);
  if (ec)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot create: {}", staging_.string(), ec.message()));
  if (auto ok = options_.unpacked ? stage_unpacked(*options_.unpacked) : stage_archive(); !ok) return ok;
  if (auto ok = verify_record(); !ok) return ok;
  if (auto ok = verify_identity(); !ok) return ok;
  journal_.project = project_;
  journal_.staging = staging_;
  journal_.roots = {target_.scheme.purelib, target_.scheme.platlib, target_.scheme.scripts,
                    target_.scheme.data, target_.scheme.headers};
  return place_files();
}

// A top-level directory of the wheel's root that is not in the library directory yet, and that
// receives nothing but its own staged files, moves with one rename instead of one per file.
void Installer::collapse_moves() {
  const fs::path files = staging_ / "files";
  std::map<std::string, bool> whole;  // top-level name -> may move as one directory
  for (const auto& [staged, dest] : journal_.moves) {
    const fs::path rel_dest = dest.lexically_relative(lib_dir_);
    const fs::path rel_staged = staged.lexically_relative(files);
    const bool in_lib = !rel_dest.empty() && *rel_dest.begin() != "..";
    const bool in_files = !rel_staged.empty() && *rel_staged.begin() != "..";
    const bool mirrored =
        in_lib && in_files && rel_dest == rel_staged && ++rel_dest.begin() != rel_dest.end();
    if (in_lib) whole.try_emplace(rel_dest.begin()->string(), true).first->second &= mirrored;
    if (in_files) whole.try_emplace(rel_staged.begin()->string(), true).first->second &= mirrored;
  }
  std::vector<std::pair<fs::path, fs::path>> moves;
  std::set<std::string> moved;
  std::error_code ec;
  for (auto& [staged, dest] : journal_.moves) {
    const fs::path rel = staged.lexically_relative(files);
    const std::string top = rel.empty() ? std::string() : rel.begin()->string();
    auto it = whole.find(top);
    if (it != whole.end() && it->second && !moved.contains(top)) {
      if (fs::exists(fs::symlink_status(lib_dir_ / top, ec))) {
        it->second = false;  // already there (a namespace package, a replaced version): file by file
      } else {
        moved.insert(top);
        moves.emplace_back(files / top, lib_dir_ / top);
        continue;
      }
    }
    if (it != whole.end() && it->second && moved.contains(top)) continue;
    moves.emplace_back(std::move(staged), std::move(dest));
  }
  journal_.moves = std::move(moves);
}

// Compiles the staged sources in place (no unpacked cache, or timestamp-based pycs).
Result<std::vector<StagedPyc>> Installer::staged_pycs(Compiler& compiler, const BytecodeIdentity& id,
                                                      const std::vector<PySource>& sources) {
  std::vector<CompileJob> jobs;
  for (const auto& py : sources) jobs.push_back({py.staged, py.dfile, pyc_path(py.staged, id.cache_tag)});
  auto written = compiler.compile(jobs);
  if (!written) return std::unexpected(written.error());
  std::vector<StagedPyc> out;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!(*written)[i]) continue;
    auto pyc = finish_pyc(jobs[i].cfile, pyc_path(sources[i].dest, id.cache_tag), false);
    if (!pyc) return std::unexpected(pyc.error());
    out.push_back(std::move(*pyc));
  }
  return out;
}

// The wheel's pycs for this interpreter live beside its unpacked tree (`pyc/<identity>/`, with a
// manifest of their hashes), compiled by the first install that needs them: since a pyc records
// only the path relative to its library directory, every later install of the wheel for the same
// interpreter links or copies them like any other file instead of compiling again.
Result<std::vector<StagedPyc>> Installer::cached_pycs(Compiler& compiler, const BytecodeIdentity& id,
                                                      const std::vector<PySource>& sources) {
  const UnpackedWheel& unpacked = *options_.unpacked;
  const fs::path dir = unpacked.dir / "pyc" / id.key;
  auto load = [&]() -> std::optional<std::map<std::string, std::pair<std::string, std::uint64_t>>> {
    auto text = util::read_file(dir / "manifest.json");
    if (!text) return std::nullopt;
    try {
      std::map<std::string, std::pair<std::string, std::uint64_t>> out;
      const auto doc = nlohmann::json::parse(*text);
      for (const auto& [entry, v] : doc.at("pycs").items())
        out[entry] = {v.at(0).get<std::string>(), v.at(1).get<std::uint64_t>()};
      return out;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  auto manifest = load();
  std::error_code gone;
  if (!manifest && fs::exists(dir, gone)) {
    // Torn by a power loss (the manifest is not fsynced): compile again.
    const fs::path broken = unpacked.dir / "pyc" / (".broken-" + random_suffix());
    if (::rename(dir.c_str(), broken.c_str()) == 0) fs::remove_all(broken, gone);
  }
  if (!manifest) {
    // Locked while the workers fill it; what killed runs left beside it goes first.
    util::remove_stale_temp_dirs(unpacked.dir / "pyc", ".tmp-");
    util::remove_stale_temp_dirs(unpacked.dir / "pyc", ".broken-");
    auto tmp_dir = util::TempDir::create(unpacked.dir / "pyc");
    if (!tmp_dir) return std::unexpected(tmp_dir.error());
    const fs::path tmp = tmp_dir->path();
    std::vector<CompileJob> jobs;
    for (const auto& py : sources)
      jobs.push_back({unpacked.tree / py.entry, py.dfile, pyc_path(tmp / py.entry, id.cache_tag)});
    auto written = compiler.compile(jobs);
    if (!written) return std::unexpected(written.error());
    std::map<std::string, std::pair<std::string, std::uint64_t>> built;
    nlohmann::json pycs = nlohmann::json::object();
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (!(*written)[i]) continue;
      auto pyc = finish_pyc(jobs[i].cfile, {}, true);
      if (!pyc) return std::unexpected(pyc.error());
      built[sources[i].entry] = {pyc->hash, pyc->size};
      pycs[sources[i].entry] = nlohmann::json::array({pyc->hash, pyc->size});
    }
    std::error_code ec;
    fs::create_directories(tmp, ec);
    if (auto ok = util::write_file_atomic(tmp / "manifest.json",
                                          nlohmann::json{{"format", 1}, {"pycs", pycs}}.dump(),
                                          util::Durability::process_crash);
        !ok)
      return std::unexpected(ok.error());
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      int e = errno;
      fs::remove_all(tmp, ec);
      // Another process compiled the same wheel first: use theirs.
      if (e != EEXIST && e != ENOTEMPTY)
        return fail(ErrorKind::runtime,
                    fmt::format("{}: cannot move into place: {}", dir.string(), errno_text(e)));
      manifest = load();
      if (!manifest)
        return fail(ErrorKind::runtime, fmt::format("{}: unreadable bytecode cache", dir.string()));
    } else {
      manifest = std::move(built);
    }
  }
  std::vector<StagedPyc> out;
  for (const auto& py : sources) {
    auto it = manifest->find(py.entry);
    if (it == manifest->end()) continue;  // did not compile
    const fs::path staged = pyc_path(py.staged, id.cache_tag);
    if (auto ok = dirs_.ensure(staged.parent_path()); !ok) return std::unexpected(ok.error());
    const fs::path cached = pyc_path(dir / py.entry, id.cache_tag);
    auto used = link_file(cached, staged, link_mode_);
    if (!used && ::unlink(staged.c_str()) == 0)  // the wheel ships this pyc: ours replaces it
      used = link_file(cached, staged, link_mode_);
    if (!used) return std::unexpected(used.error());
    out.push_back({staged, pyc_path(py.dest, id.cache_tag), it->second.first, it->second.second});
  }
  return out;
}

Result<InstalledWheel> Installer::commit() {
  std::error_code ec;
  const fs::path jfile = journal_path(target_.state_dir, project_);
  if (fs::exists(jfile))
    return fail(ErrorKind::runtime,
                fmt::format("{}: an interrupted install of {} is pending ({}); recover first", wheel_name_,
                            project_, jfile.string()));

  // Another installed version (in either library directory) must be the one being replaced.
  const fs::path dest_di = lib_dir_ / dist_info_;
  std::vector<fs::path> lib_dirs = {target_.scheme.purelib};
  if (target_.scheme.platlib != target_.scheme.purelib) lib_dirs.push_back(target_.scheme.platlib);
  for (const auto& lib : lib_dirs) {
    for (auto it = fs::directory_iterator(lib, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::string n = it->path().filename().string();
      if (!n.ends_with(".dist-info")) continue;
      if (normalize(n.substr(0, n.find('-'))) != project_) continue;
      std::error_code eq;
      if (target_.replacing && fs::equivalent(it->path(), *target_.replacing, eq)) continue;
      return fail(ErrorKind::runtime,
                  fmt::format("{}: {} is already installed ({}) and is not the distribution being replaced",
                              wheel_name_, project_, it->path().string()));
    }
  }

  // The replaced distribution's files are computed from the file-by-file moves.
  std::set<fs::path> new_dests;
  for (const auto& m : journal_.moves) new_dests.insert(m.second);
  collapse_moves();
  for (const auto& [staged, dest] : journal_.moves) {
    if (fs::is_directory(fs::symlink_status(staged, ec))) continue;  // a whole new directory
    auto st = fs::symlink_status(dest, ec);
    if (fs::is_directory(st))
      return refuse(fmt::format("cannot install {}: a directory is in the way", dest.string()));
  }

  // The files of the replaced distribution that the new one does not overwrite go after the commit.
  if (target_.replacing) {
    const fs::path& old_di = *target_.replacing;
    auto old_record = util::read_file(old_di / "RECORD");
    if (!old_record) return std::unexpected(old_record.error());
    auto rows = parse_record(*old_record, (old_di / "RECORD").string());
    if (!rows) return std::unexpected(rows.error());
    journal_.old_files = replaced_files(old_di, *rows, new_dests, journal_.roots);
    journal_.old_dist_info = {old_di, staging_ / "old" / old_di.filename()};
    result_.replaced = old_di;
  }

  if (options_.fail_point == FailPoint::after_staging) {
    keep_staging_ = true;
    return fail(ErrorKind::runtime, "stopped after staging (test)");
  }

  std::string journal_text;
  try {
    journal_text = to_json(journal_).dump(1);
  } catch (const std::exception&) {
    return refuse("a path is not valid UTF-8");
  }
  fs::create_directories(jfile.parent_path(), ec);
  // Not fsynced: the files it describes are not either; it protects against kills, not power loss.
  if (auto ok = util::write_file_atomic(jfile, journal_text, util::Durability::process_crash); !ok)
    return std::unexpected(ok.error());
  keep_staging_ = true;  // the journal owns it now
  if (options_.fail_point == FailPoint::after_journal)
    return fail(ErrorKind::runtime, "stopped after journal (test)");

  try {
    if (auto ok = apply_moves(journal_, options_.fail_point); !ok) {
      roll_back(journal_, jfile);
      return std::unexpected(ok.error());
    }
  } catch (const Stop&) {
    return fail(ErrorKind::runtime, "stopped while moving (test)");
  }
  if (options_.fail_point == FailPoint::after_commit)
    return fail(ErrorKind::runtime, "stopped after commit (test)");
  clean_up(journal_, jfile);

  result_.name = metadata_["name"];
  result_.version = metadata_["version"];
  result_.dist_info = dest_di;
  for (const auto& row : record_) result_.files.push_back((lib_dir_ / row.path).lexically_normal());
  return std::move(result_);
}

}  // namespace detail

PreparedWheel::PreparedWheel(std::unique_ptr<detail::Installer> installer)
    : installer_(std::move(installer)) {}
PreparedWheel::PreparedWheel(PreparedWheel&&) noexcept = default;
PreparedWheel& PreparedWheel::operator=(PreparedWheel&&) noexcept = default;
PreparedWheel::~PreparedWheel() = default;
const std::string& PreparedWheel::project() const { return installer_->project(); }
const std::string& PreparedWheel::wheel_name() const { return installer_->wheel_name(); }
const InstallTarget& PreparedWheel::target() const { return installer_->target(); }
std::vector<std::pair<fs::path, std::string>> PreparedWheel::destinations() const {
  return installer_->destinations();
}
std::vector<std::pair<fs::path, fs::path>> PreparedWheel::staged() const { return installer_->staged(); }

Result<SchemePaths> scheme_paths(const env::Interpreter& interpreter) {
  SchemePaths s;
  auto get = [&](std::string_view key, fs::path& out) -> bool {
    auto it = interpreter.paths.find(key);
    if (it == interpreter.paths.end() || it->second.empty()) return false;
    out = it->second;
    return true;
  };
  for (auto [key, out] : {std::pair<std::string_view, fs::path*>{"purelib", &s.purelib},
                          {"platlib", &s.platlib},
                          {"scripts", &s.scripts},
                          {"data", &s.data}}) {
    if (!get(key, *out))
      return fail(ErrorKind::runtime, fmt::format("{}: the interpreter reports no \"{}\" install path",
                                                  interpreter.executable.string(), key));
  }
  if (!get("headers", s.headers) && !get("include", s.headers))
    return fail(ErrorKind::runtime, fmt::format("{}: the interpreter reports no \"headers\" install path",
                                                interpreter.executable.string()));
  return s;
}

Result<PreparedWheel> prepare_wheel(const fs::path& wheel, const InstallTarget& target,
                                    WheelInstallOptions options) {
  for (const auto* p : {&target.scheme.purelib, &target.scheme.platlib, &target.scheme.scripts,
                        &target.scheme.data, &target.scheme.headers, &target.state_dir, &target.python})
    if (!p->is_absolute())
      return fail(ErrorKind::usage, fmt::format("install target path \"{}\" is not absolute", p->string()));
  InstallTarget normalized = target;
  for (auto* p : {&normalized.scheme.purelib, &normalized.scheme.platlib, &normalized.scheme.scripts,
                  &normalized.scheme.data, &normalized.scheme.headers, &normalized.state_dir})
    *p = p->lexically_normal();
  if (normalized.replacing) *normalized.replacing = normalized.replacing->lexically_normal();
  auto installer = std::make_unique<detail::Installer>(wheel, std::move(normalized), std::move(options));
  if (auto ok = installer->prepare(); !ok) return std::unexpected(ok.error());
  return PreparedWheel(std::move(installer));
}

Result<InstalledWheel> commit_wheel(PreparedWheel prepared) { return prepared.installer_->commit(); }

Result<InstalledWheel> install_wheel(const fs::path& wheel, const InstallTarget& target,
                                     const WheelInstallOptions& options) {
  auto prepared = prepare_wheel(wheel, target, options);
  if (!prepared) return std::unexpected(prepared.error());
  std::vector<fs::path> libs = {prepared->target().scheme.purelib};
  if (libs[0] != prepared->target().scheme.platlib) libs.push_back(prepared->target().scheme.platlib);
  auto installed = env::scan_installed(libs);
  if (!installed) return std::unexpected(installed.error());
  if (auto ok = check_conflicts(std::span(&*prepared, 1), *installed); !ok)
    return std::unexpected(ok.error());
  return commit_wheel(std::move(*prepared));
}

Result<RecoveryReport> recover(const fs::path& state_dir) {
  RecoveryReport report;
  std::error_code ec;
  std::vector<fs::path> abandoned;
  std::vector<fs::path> journals;
  for (auto it = fs::directory_iterator(state_dir / "journal", ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    if (it->path().extension() == ".json") journals.push_back(it->path());
  std::sort(journals.begin(), journals.end());
  for (const auto& jfile : journals) {
    auto text = util::read_file(jfile);
    if (!text) return std::unexpected(text.error());
    auto journal = journal_from_json(*text, jfile);
    if (!journal) return std::unexpected(journal.error());
    const Journal& j = *journal;
    bool committed = fs::exists(fs::symlink_status(j.dist_info.second)) &&
                     !fs::exists(fs::symlink_status(j.dist_info.first));
    if (committed) {
      clean_up(j, jfile);
      report.completed.push_back(j.project);
      continue;
    }
    // Finishable when every file is still staged or already in place, and the .dist-info staged.
    bool finishable = fs::exists(fs::symlink_status(j.dist_info.first));
    for (const auto& [staged, dest] : j.moves)
      finishable =
          finishable && (fs::exists(fs::symlink_status(staged)) || fs::exists(fs::symlink_status(dest)));
    if (finishable) {
      auto ok = apply_moves(j, FailPoint::none);
      if (ok) {
        clean_up(j, jfile);
        report.completed.push_back(j.project);
        continue;
      }
    }
    roll_back(j, jfile);
    report.rolled_back.push_back(j.project);
  }
  for (auto it = fs::directory_iterator(state_dir / "staging", ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    abandoned.push_back(it->path());
  for (const auto& dir : abandoned) {
    std::error_code e;
    fs::remove_all(dir, e);
    ++report.staging_removed;
  }
  return report;
}

namespace {

// The files RECORD lists for the .dist-info at `di`, as absolute paths.
Result<std::vector<fs::path>> record_files(const fs::path& di) {
  auto text = util::read_file(di / "RECORD");
  if (!text) return std::unexpected(text.error());
  auto rows = parse_record(*text, (di / "RECORD").string());
  if (!rows) return std::unexpected(rows.error());
  std::vector<fs::path> out;
  for (const auto& row : *rows) out.push_back((di.parent_path() / row.path).lexically_normal());
  return out;
}

}  // namespace

Result<RemovedDistribution> remove_distribution(const fs::path& dist_info, const InstallTarget& target) {
  auto files = record_files(dist_info);
  if (!files) return std::unexpected(files.error());
  // Files another distribution of the same library directory also claims stay.
  std::set<fs::path> shared;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dist_info.parent_path(), ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (!it->path().filename().string().ends_with(".dist-info") || it->path() == dist_info) continue;
    if (auto others = record_files(it->path())) shared.insert(others->begin(), others->end());
  }
  const std::vector<fs::path> roots = {target.scheme.purelib, target.scheme.platlib, target.scheme.scripts,
                                       target.scheme.data, target.scheme.headers};
  const fs::path staging = target.state_dir / "staging" / random_suffix();
  util::DirMaker dirs;
  if (auto ok = dirs.ensure(staging); !ok) return std::unexpected(ok.error());
  const fs::path aside = staging / dist_info.filename();
  if (auto ok = move_into_place(dist_info, aside, dirs); !ok) return std::unexpected(ok.error());

  RemovedDistribution removed{.dist_info = dist_info, .files = 0};
  for (const fs::path& file : *files) {
    if (is_within(file, dist_info) || is_within(file, target.state_dir) || shared.contains(file)) continue;
    bool inside = false;
    for (const auto& root : roots) inside = inside || is_within(file, root);
    if (!inside || !fs::exists(fs::symlink_status(file, ec))) continue;
    remove_old_file(file, roots);
    ++removed.files;
  }
  fs::remove_all(staging, ec);
  return removed;
}

void remove_empty_state_dirs(const fs::path& state_dir) {
  std::error_code ec;  // a directory that is not empty (or not there) stays as it is
  for (const char* dir : {"staging", "journal"}) fs::remove(state_dir / dir, ec);
  fs::remove(state_dir, ec);
}

}  // namespace strata::wheel
