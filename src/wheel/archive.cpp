#include "wheel/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "util/strings.hpp"

namespace strata::wheel {

struct ArchiveReader::State {
  archive* a = nullptr;
  bool skip_dot = false;  ///< tar's "./" entry of the archive's root
  ~State() {
    if (a != nullptr) archive_read_free(a);
  }
};

ArchiveReader::ArchiveReader(std::unique_ptr<State> state, std::filesystem::path wheel, ArchiveLimits limits,
                             std::uint64_t total_bound)
    : state_(std::move(state)), wheel_(std::move(wheel)), limits_(limits), total_bound_(total_bound) {}
ArchiveReader::~ArchiveReader() = default;
ArchiveReader::ArchiveReader(ArchiveReader&&) noexcept = default;
ArchiveReader& ArchiveReader::operator=(ArchiveReader&&) noexcept = default;

Result<ArchiveReader> ArchiveReader::open(const std::filesystem::path& wheel, const ArchiveLimits& limits,
                                          ArchiveFormat format) {
  auto state = std::make_unique<State>();
  state->a = archive_read_new();
  if (state->a == nullptr)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot allocate reader", wheel.string()));
  // The seekable reader lists a zip's entries from the central directory (as zipfile and pip do);
  // the streaming one would also accept an archive whose end was cut off.
  archive_read_support_format_zip_seekable(state->a);
  if (format == ArchiveFormat::source) {
    archive_read_support_format_tar(state->a);
    archive_read_support_format_gnutar(state->a);
    archive_read_support_filter_gzip(state->a);
    archive_read_support_filter_bzip2(state->a);
    archive_read_support_filter_xz(state->a);
    state->skip_dot = true;
  }
  if (archive_read_open_filename(state->a, wheel.c_str(), 1 << 16) != ARCHIVE_OK)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot open as a {}: {}", wheel.string(),
                            format == ArchiveFormat::zip ? "zip archive (truncated, or no central directory)"
                                                         : "tar or zip archive",
                            archive_error_string(state->a)));
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(wheel, ec);
  std::uint64_t bound = limits.max_total_size;
  if (limits.max_ratio != 0 && !ec && file_size <= bound / limits.max_ratio)
    bound = std::min(bound, std::max(limits.ratio_floor, file_size * limits.max_ratio));
  return ArchiveReader(std::move(state), wheel, limits, bound);
}

std::string ArchiveReader::total_bound_reason() const {
  if (total_bound_ == limits_.max_total_size)
    return fmt::format("the total limit of {} bytes", limits_.max_total_size);
  return fmt::format(
      "{} bytes, {} times the archive's size (a zip bomb? STRATA_MAX_UNPACK_RATIO raises the bound)",
      total_bound_, limits_.max_ratio);
}

Result<ArchiveLimits> archive_limits_from_env() {
  ArchiveLimits limits;
  const char* value = std::getenv("STRATA_MAX_UNPACK_RATIO");
  if (value == nullptr || *value == '\0') return limits;
  auto ratio = util::parse_uint(value);
  if (!ratio)
    return fail(
        ErrorKind::usage,
        fmt::format("STRATA_MAX_UNPACK_RATIO: \"{}\" is not a whole number (0 lifts the bound)", value));
  limits.max_ratio = *ratio;
  return limits;
}

std::optional<std::string> check_member_path(std::string_view raw, std::string& normalized) {
  normalized.clear();
  if (raw.empty()) return "empty path";
  if (raw.find('\0') != std::string_view::npos) return "path contains a NUL byte";
  if (raw.find('\\') != std::string_view::npos) return "path contains a backslash";
  if (raw.front() == '/') return "absolute path";
  if (raw.size() >= 2 && raw[1] == ':') return "absolute (drive) path";
  std::string_view rest = raw;
  if (rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return "empty path";
  std::size_t start = 0;
  while (start <= rest.size()) {
    std::size_t end = rest.find('/', start);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view part = rest.substr(start, end - start);
    if (part.empty()) return "path has an empty component";
    if (part == "..") return "path escapes the target (\"..\")";
    if (part != ".") {
      if (!normalized.empty()) normalized += '/';
      normalized += part;
    }
    start = end + 1;
  }
  if (normalized.empty()) return "empty path";
  return std::nullopt;
}

Result<std::optional<ArchiveEntry>> ArchiveReader::next() {
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(state_->a, &entry);
  if (rc == ARCHIVE_EOF) return std::optional<ArchiveEntry>{};
  if (rc < ARCHIVE_WARN)
    return fail(ErrorKind::runtime, fmt::format("{}: corrupt archive after entry \"{}\": {}", name(),
                                                current_, archive_error_string(state_->a)));
  const char* raw_name = archive_entry_pathname(entry);
  std::string raw = raw_name != nullptr ? raw_name : "";
  if (state_->skip_dot && (raw == "." || raw == "./") && archive_entry_filetype(entry) == AE_IFDIR)
    return next();
  current_ = raw;
  auto refuse = [&](std::string_view why) {
    return fail(ErrorKind::runtime, fmt::format("{}: refusing entry \"{}\": {}", name(), raw, why));
  };
  if (++count_ > limits_.max_entries)
    return refuse(fmt::format("more than {} entries in the archive", limits_.max_entries));
  ArchiveEntry out;
  if (auto why = check_member_path(raw, out.path)) return refuse(*why);
  if (archive_entry_hardlink(entry) != nullptr) return refuse("hard link entries are not allowed");
  auto type = archive_entry_filetype(entry);
  if (type == AE_IFLNK) return refuse("symbolic link entries are not allowed");
  if (type == AE_IFDIR) {
    out.directory = true;
  } else if (type != AE_IFREG && type != 0) {
    return refuse("only regular files and directories are allowed (device, fifo or socket entry)");
  }
  if (!out.directory && raw.back() == '/') out.directory = true;
  out.executable = (archive_entry_perm(entry) & 0111) != 0;
  if (archive_entry_mtime_is_set(entry) != 0) out.mtime = archive_entry_mtime(entry);
  declared_size_.reset();
  if (!out.directory && archive_entry_size_is_set(entry) != 0) {
    auto declared = archive_entry_size(entry);
    if (declared < 0 || static_cast<std::uint64_t>(declared) > limits_.max_entry_size)
      return refuse(fmt::format("declared size {} bytes exceeds the per-entry limit of {} bytes", declared,
                                limits_.max_entry_size));
    declared_size_ = static_cast<std::uint64_t>(declared);
    declared_total_ += *declared_size_;
    if (declared_total_ > total_bound_)
      return refuse(fmt::format("the archive declares more than {}", total_bound_reason()));
  }
  // A file may not share its path with another file or a directory, in either order.
  if (out.directory) {
    if (seen_files_.contains(out.path))
      return refuse("a file with the same path already exists in the archive");
    seen_dirs_.insert(out.path);
  } else {
    if (seen_files_.contains(out.path)) return refuse("duplicate entry");
    if (seen_dirs_.contains(out.path))
      return refuse("a directory with the same path already exists in the archive");
    seen_files_.insert(out.path);
  }
  for (std::size_t slash = out.path.find('/'); slash != std::string::npos;
       slash = out.path.find('/', slash + 1)) {
    std::string parent = out.path.substr(0, slash);
    if (seen_files_.contains(parent))
      return refuse(fmt::format("its parent \"{}\" is a file in the archive", parent));
    seen_dirs_.insert(std::move(parent));
  }
  return std::optional<ArchiveEntry>(std::move(out));
}

Result<void> ArchiveReader::read(const std::function<Result<void>(std::string_view)>& sink) {
  std::uint64_t entry_total = 0;
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  while (true) {
    int rc = archive_read_data_block(state_->a, &buf, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN)
      return fail(ErrorKind::runtime, fmt::format("{}: cannot read entry \"{}\": {}", name(), current_,
                                                  archive_error_string(state_->a)));
    // Sparse offsets do not occur in zip; refuse them rather than mis-write.
    if (offset < 0 || static_cast<std::uint64_t>(offset) != entry_total)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: refusing entry \"{}\": non-contiguous data", name(), current_));
    entry_total += size;
    total_ += size;
    // Checked before the block reaches the sink: at most one block is inflated beyond a bound.
    if (declared_size_ && entry_total > *declared_size_)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: refusing entry \"{}\": it inflates beyond its declared size of {} bytes",
                              name(), current_, *declared_size_));
    if (entry_total > limits_.max_entry_size)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: refusing entry \"{}\": it expands beyond the per-entry limit of {} bytes",
                              name(), current_, limits_.max_entry_size));
    if (total_ > total_bound_)
      return fail(ErrorKind::runtime, fmt::format("{}: refusing entry \"{}\": the archive expands beyond {}",
                                                  name(), current_, total_bound_reason()));
    if (size > 0) {
      auto ok = sink(std::string_view(static_cast<const char*>(buf), size));
      if (!ok) return ok;
    }
  }
  if (declared_size_ && entry_total != *declared_size_)
    return fail(ErrorKind::runtime,
                fmt::format("{}: refusing entry \"{}\": it inflates to {} bytes, not its declared {}", name(),
                            current_, entry_total, *declared_size_));
  return {};
}

namespace {

Result<void> write_archive(const std::filesystem::path& path, const std::vector<ZipMember>& members,
                           bool zip) {
  archive* a = archive_write_new();
  if (a == nullptr) return fail(ErrorKind::runtime, fmt::format("{}: cannot allocate writer", path.string()));
  auto error = [&](std::string_view what) {
    std::string message = fmt::format("{}: {}: {}", path.string(), what, archive_error_string(a));
    archive_write_free(a);
    return fail(ErrorKind::runtime, message);
  };
  if (zip ? archive_write_set_format_zip(a) != ARCHIVE_OK
          : (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
             archive_write_add_filter_gzip(a) != ARCHIVE_OK))
    return error("cannot select the archive format");
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) return error("cannot create");
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_mtime(e, 315532800, 0);
    switch (m.kind) {
      case ZipMember::Kind::file:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(m.data.size()));
        break;
      case ZipMember::Kind::directory:
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
      case ZipMember::Kind::symlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, m.data.c_str());
        break;
      case ZipMember::Kind::hardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, m.data.c_str());
        break;
      case ZipMember::Kind::fifo:
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
    }
    archive_entry_set_perm(e, static_cast<__LA_MODE_T>(m.mode));
    int rc = archive_write_header(a, e);
    archive_entry_free(e);
    if (rc < ARCHIVE_WARN) return error(fmt::format("cannot write entry \"{}\"", m.name));
    if (m.kind == ZipMember::Kind::file && !m.data.empty()) {
      if (archive_write_data(a, m.data.data(), m.data.size()) < 0)
        return error(fmt::format("cannot write entry \"{}\"", m.name));
    }
  }
  if (archive_write_close(a) != ARCHIVE_OK) return error("cannot finish");
  archive_write_free(a);
  return {};
}

}  // namespace

Result<void> write_zip(const std::filesystem::path& path, const std::vector<ZipMember>& members) {
  return write_archive(path, members, true);
}

Result<void> write_tar_gz(const std::filesystem::path& path, const std::vector<ZipMember>& members) {
  return write_archive(path, members, false);
}

}  // namespace strata::wheel
