#include "wheel/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <utility>

#include <fmt/format.h>

#include "util/strings.hpp"

namespace strata::wheel {

namespace {

// ---- the wheel reader: a zip's central directory over mmap, deflate by libdeflate ----------------

constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                        kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
/// Deflate members up to this size inflate in one call into a buffer the reader keeps (libdeflate
/// needs the whole output); larger ones stream through zlib in kChunk pieces, so a reader never
/// holds more than this (plus one chunk) of inflated bytes.
constexpr std::uint64_t kWholeEntryCap = 16ULL << 20;
constexpr std::size_t kChunk = 1 << 20;

std::uint16_t u16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint32_t u32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
std::uint64_t u64(const unsigned char* p) { return u32(p) | static_cast<std::uint64_t>(u32(p + 4)) << 32; }

/// One central directory record, with the sizes and offset zip64 may have moved to its extra field.
struct ZipRecord {
  std::string name;
  std::uint16_t made_by = 0, flags = 0, method = 0, dos_time = 0, dos_date = 0;
  std::uint32_t crc = 0, external = 0;
  std::uint64_t compressed = 0, size = 0, local_offset = 0;
  std::int64_t mtime = 0;
};

std::int64_t dos_mtime(std::uint16_t date, std::uint16_t time) {
  if (date == 0) return 0;
  struct tm t {};
  t.tm_year = ((date >> 9) & 0x7f) + 80;
  t.tm_mon = ((date >> 5) & 0xf) - 1;
  t.tm_mday = date & 0x1f;
  t.tm_hour = (time >> 11) & 0x1f;
  t.tm_min = (time >> 5) & 0x3f;
  t.tm_sec = (time & 0x1f) * 2;
  t.tm_isdst = -1;
  return static_cast<std::int64_t>(::mktime(&t));
}

}  // namespace

/// Anonymous memory for inflated bytes, grown on demand and unmapped with the reader: its pages
/// go back to the system at once (a large malloc'd block may stay in an arena, resident).
class OutBuffer {
 public:
  OutBuffer() = default;
  OutBuffer(const OutBuffer&) = delete;
  OutBuffer& operator=(const OutBuffer&) = delete;
  ~OutBuffer() { reset(); }
  /// At least `size` bytes (contents not kept), or nullptr when memory cannot be had.
  char* reserve(std::uint64_t size) {
    size = std::max<std::uint64_t>(size, 1);
    if (size <= capacity_) return data_;
    reset();
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    data_ = static_cast<char*>(p);
    capacity_ = size;
    return data_;
  }

 private:
  void reset() {
    if (data_ != nullptr) ::munmap(data_, capacity_);
    data_ = nullptr;
    capacity_ = 0;
  }
  char* data_ = nullptr;
  std::uint64_t capacity_ = 0;
};

/// A wheel mapped into memory and its central directory, read once at open.
struct ZipFile {
  int fd = -1;
  const unsigned char* base = nullptr;
  std::uint64_t size = 0;
  std::vector<ZipRecord> records;
  std::size_t next = 0;
  const ZipRecord* current = nullptr;
  libdeflate_decompressor* inflater = nullptr;
  OutBuffer out;  ///< inflated bytes of one entry, at most kWholeEntryCap
  ~ZipFile() {
    if (inflater != nullptr) libdeflate_free_decompressor(inflater);
    if (base != nullptr) ::munmap(const_cast<unsigned char*>(base), size);
    if (fd >= 0) ::close(fd);
  }
  /// Lets the kernel drop the mapped pages of [from, to) from this process (its resident size).
  void release(std::uint64_t from, std::uint64_t to) const {
    const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    from = (from + page - 1) / page * page;
    to = std::min(to, size) / page * page;
    if (to > from) ::madvise(const_cast<unsigned char*>(base) + from, to - from, MADV_DONTNEED);
  }
  /// Reads the central directory; the error says what is wrong with it.
  std::optional<std::string> parse();
};

std::optional<std::string> ZipFile::parse() {
  if (size < 22) return "too short for a zip archive";
  // The end of central directory record: within the last 64 KiB + 22 bytes (its comment).
  std::uint64_t end = size;
  const std::uint64_t lowest = size > 22 + 0xffff ? size - 22 - 0xffff : 0;
  for (std::uint64_t i = size - 22 + 1; i-- > lowest;) {
    if (u32(base + i) == kEndSig && i + 22 + u16(base + i + 20) <= size) {
      end = i;
      break;
    }
  }
  if (end == size) return "no end of central directory record";
  const unsigned char* e = base + end;
  std::uint64_t count = u16(e + 10), cd_size = u32(e + 12), cd_offset = u32(e + 16);
  if (u16(e + 4) != 0 || u16(e + 6) != 0 || u16(e + 8) != count) return "a multi-disk archive";
  if (count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    if (end < 20 || u32(e - 20) != kZip64LocatorSig) return "zip64 sizes without a zip64 locator";
    const std::uint64_t at = u64(e - 20 + 8);
    if (at > end - 20 || end - 20 - at < 56 || u32(base + at) != kZip64EndSig)
      return "a bad zip64 end of central directory record";
    count = u64(base + at + 32);
    cd_size = u64(base + at + 40);
    cd_offset = u64(base + at + 48);
  }
  if (cd_offset > end || cd_size > end - cd_offset) return "the central directory lies outside the archive";
  if (count > cd_size / 46) return "more entries declared than the central directory holds";
  records.reserve(static_cast<std::size_t>(count));
  std::uint64_t at = cd_offset;
  const std::uint64_t cd_end = cd_offset + cd_size;
  for (std::uint64_t n = 0; n < count; ++n) {
    if (cd_end - at < 46 || u32(base + at) != kCentralSig) return "a corrupt central directory";
    const unsigned char* c = base + at;
    const std::uint64_t name_len = u16(c + 28), extra_len = u16(c + 30), comment_len = u16(c + 32);
    if (cd_end - at - 46 < name_len + extra_len + comment_len) return "a corrupt central directory";
    ZipRecord r;
    r.made_by = u16(c + 4);
    r.flags = u16(c + 8);
    r.method = u16(c + 10);
    r.dos_time = u16(c + 12);
    r.dos_date = u16(c + 14);
    r.crc = u32(c + 16);
    r.compressed = u32(c + 20);
    r.size = u32(c + 24);
    r.external = u32(c + 38);
    r.local_offset = u32(c + 42);
    r.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
    // Extra fields: zip64 sizes (0x0001, only the fields set to all ones, in this order) and the
    // extended timestamp (0x5455) for the modification time.
    const unsigned char* x = c + 46 + name_len;
    const unsigned char* x_end = x + extra_len;
    while (x_end - x >= 4) {
      const std::uint16_t id = u16(x), len = u16(x + 2);
      const unsigned char* d = x + 4;
      if (x_end - d < len) break;
      const unsigned char* d_end = d + len;
      if (id == 0x0001) {
        for (std::uint64_t* field : {&r.size, &r.compressed, &r.local_offset}) {
          if (*field != 0xffffffff) continue;
          if (d_end - d < 8) return fmt::format("entry \"{}\": a truncated zip64 extra field", r.name);
          *field = u64(d);
          d += 8;
        }
      } else if (id == 0x5455 && len >= 5 && (d[0] & 1) != 0) {
        r.mtime = static_cast<std::int32_t>(u32(d + 1));
      }
      x = d_end;
    }
    if (r.mtime == 0) r.mtime = dos_mtime(r.dos_date, r.dos_time);
    records.push_back(std::move(r));
    at += 46 + name_len + extra_len + comment_len;
  }
  return std::nullopt;
}

struct ArchiveReader::State {
  archive* a = nullptr;          ///< source archives (libarchive)
  std::unique_ptr<ZipFile> zip;  ///< wheels
  bool skip_dot = false;         ///< tar's "./" entry of the archive's root
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

namespace {

/// The bound on the archive's inflated total: max_total_size, lowered by max_ratio.
std::uint64_t total_bound_for(const ArchiveLimits& limits, std::optional<std::uint64_t> file_size) {
  std::uint64_t bound = limits.max_total_size;
  if (limits.max_ratio != 0 && file_size && *file_size <= bound / limits.max_ratio)
    bound = std::min(bound, std::max(limits.ratio_floor, *file_size * limits.max_ratio));
  return bound;
}

constexpr std::string_view kNotAZip = "cannot open as a zip archive (truncated, or no central directory)";

/// Maps a wheel and reads its central directory. Returns nullptr (and no error) when an entry uses
/// a compression method other than stored or deflate: libarchive reads those.
Result<std::unique_ptr<ZipFile>> open_zip(const std::filesystem::path& wheel) {
  auto zip = std::make_unique<ZipFile>();
  zip->fd = ::open(wheel.c_str(), O_RDONLY | O_CLOEXEC);
  if (zip->fd < 0)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot open: {}", wheel.string(), std::strerror(errno)));
  struct stat st {};
  if (::fstat(zip->fd, &st) != 0 || !S_ISREG(st.st_mode))
    return fail(ErrorKind::runtime, fmt::format("{}: {}: not a regular file", wheel.string(), kNotAZip));
  zip->size = static_cast<std::uint64_t>(st.st_size);
  if (zip->size < 22)
    return fail(ErrorKind::runtime,
                fmt::format("{}: {}: too short for a zip archive", wheel.string(), kNotAZip));
  void* map = ::mmap(nullptr, zip->size, PROT_READ, MAP_PRIVATE, zip->fd, 0);
  if (map == MAP_FAILED)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot map: {}", wheel.string(), std::strerror(errno)));
  zip->base = static_cast<const unsigned char*>(map);
  if (auto why = zip->parse())
    return fail(ErrorKind::runtime, fmt::format("{}: {}: {}", wheel.string(), kNotAZip, *why));
  for (const auto& r : zip->records)
    if (r.method != 0 && r.method != 8) return std::unique_ptr<ZipFile>();
  zip->inflater = libdeflate_alloc_decompressor();
  if (zip->inflater == nullptr)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot allocate a decompressor", wheel.string()));
  return zip;
}

}  // namespace

Result<ArchiveReader> ArchiveReader::open(const std::filesystem::path& wheel, const ArchiveLimits& limits,
                                          ArchiveFormat format) {
  auto state = std::make_unique<State>();
  if (format == ArchiveFormat::zip) {
    auto zip = open_zip(wheel);
    if (!zip) return std::unexpected(zip.error());
    if (*zip) {
      const std::uint64_t size = (*zip)->size;
      state->zip = std::move(*zip);
      return ArchiveReader(std::move(state), wheel, limits, total_bound_for(limits, size));
    }
  }
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
                            format == ArchiveFormat::zip
                                ? kNotAZip.substr(std::string_view("cannot open as a ").size())
                                : "tar or zip archive",
                            archive_error_string(state->a)));
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(wheel, ec);
  return ArchiveReader(std::move(state), wheel, limits,
                       total_bound_for(limits, ec ? std::nullopt : std::optional(file_size)));
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

namespace {

/// What one entry's header says, before the checks every format shares.
struct RawEntry {
  std::string name;
  enum class Type { file, directory, symlink, hardlink, other } type = Type::file;
  unsigned perm = 0;
  std::int64_t mtime = 0;
  std::optional<std::int64_t> size;
};

RawEntry raw_entry(const ZipRecord& r) {
  RawEntry raw{r.name, RawEntry::Type::file, 0644, r.mtime, static_cast<std::int64_t>(r.size)};
  if ((r.made_by >> 8) == 3) {  // made on Unix: st_mode in the high half of the external attributes
    const unsigned mode = r.external >> 16;
    raw.perm = mode & 07777;
    switch (mode & S_IFMT) {
      case 0:
      case S_IFREG:
        break;
      case S_IFDIR:
        raw.type = RawEntry::Type::directory;
        break;
      case S_IFLNK:
        raw.type = RawEntry::Type::symlink;
        break;
      default:
        raw.type = RawEntry::Type::other;
    }
  } else if ((r.external & 0x10) != 0) {  // the MS-DOS directory attribute
    raw.type = RawEntry::Type::directory;
    raw.perm = 0755;
  }
  return raw;
}

RawEntry raw_entry(archive_entry* entry) {
  const char* raw_name = archive_entry_pathname(entry);
  RawEntry raw{raw_name != nullptr ? raw_name : "", RawEntry::Type::file, 0, 0, std::nullopt};
  auto type = archive_entry_filetype(entry);
  if (archive_entry_hardlink(entry) != nullptr)
    raw.type = RawEntry::Type::hardlink;
  else if (type == AE_IFLNK)
    raw.type = RawEntry::Type::symlink;
  else if (type == AE_IFDIR)
    raw.type = RawEntry::Type::directory;
  else if (type != AE_IFREG && type != 0)
    raw.type = RawEntry::Type::other;
  raw.perm = archive_entry_perm(entry);
  if (archive_entry_mtime_is_set(entry) != 0) raw.mtime = archive_entry_mtime(entry);
  if (archive_entry_size_is_set(entry) != 0) raw.size = archive_entry_size(entry);
  return raw;
}

}  // namespace

Result<std::optional<ArchiveEntry>> ArchiveReader::next() {
  RawEntry header;
  if (state_->zip) {
    ZipFile& zip = *state_->zip;
    if (zip.next == zip.records.size()) return std::optional<ArchiveEntry>{};
    zip.current = &zip.records[zip.next++];
    header = raw_entry(*zip.current);
  } else {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(state_->a, &entry);
    if (rc == ARCHIVE_EOF) return std::optional<ArchiveEntry>{};
    if (rc < ARCHIVE_WARN)
      return fail(ErrorKind::runtime, fmt::format("{}: corrupt archive after entry \"{}\": {}", name(),
                                                  current_, archive_error_string(state_->a)));
    header = raw_entry(entry);
    if (state_->skip_dot && (header.name == "." || header.name == "./") &&
        header.type == RawEntry::Type::directory)
      return next();
  }
  const std::string& raw = header.name;
  current_ = raw;
  auto refuse = [&](std::string_view why) {
    return fail(ErrorKind::runtime, fmt::format("{}: refusing entry \"{}\": {}", name(), raw, why));
  };
  if (++count_ > limits_.max_entries)
    return refuse(fmt::format("more than {} entries in the archive", limits_.max_entries));
  ArchiveEntry out;
  if (auto why = check_member_path(raw, out.path)) return refuse(*why);
  if (header.type == RawEntry::Type::hardlink) return refuse("hard link entries are not allowed");
  if (header.type == RawEntry::Type::symlink) return refuse("symbolic link entries are not allowed");
  if (header.type == RawEntry::Type::directory) {
    out.directory = true;
  } else if (header.type == RawEntry::Type::other) {
    return refuse("only regular files and directories are allowed (device, fifo or socket entry)");
  }
  if (!out.directory && raw.back() == '/') out.directory = true;
  out.executable = (header.perm & 0111) != 0;
  out.mtime = header.mtime;
  declared_size_.reset();
  if (!out.directory && header.size) {
    auto declared = *header.size;
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

namespace {

/// The bounds one entry's inflated bytes are held to, over the reader's counters.
struct Meter {
  std::string_view wheel, entry;
  const std::optional<std::uint64_t>& declared;
  std::uint64_t max_entry_size;
  std::uint64_t& total;
  std::uint64_t total_bound;
  std::function<std::string()> total_bound_reason;
  std::uint64_t entry_total = 0;

  /// Counts `size` more bytes; checked before they reach the sink, so at most one block is
  /// inflated beyond a bound.
  Result<void> account(std::size_t size) {
    entry_total += size;
    total += size;
    if (declared && entry_total > *declared) return beyond_declared();
    if (entry_total > max_entry_size)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: refusing entry \"{}\": it expands beyond the per-entry limit of {} bytes",
                              wheel, entry, max_entry_size));
    if (total > total_bound)
      return fail(ErrorKind::runtime, fmt::format("{}: refusing entry \"{}\": the archive expands beyond {}",
                                                  wheel, entry, total_bound_reason()));
    return {};
  }
  Result<void> beyond_declared() const {
    return fail(ErrorKind::runtime,
                fmt::format("{}: refusing entry \"{}\": it inflates beyond its declared size of {} bytes",
                            wheel, entry, *declared));
  }
  /// Refuses an entry that inflated to fewer bytes than it declares.
  Result<void> complete() const {
    if (declared && entry_total != *declared)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: refusing entry \"{}\": it inflates to {} bytes, not its declared {}",
                              wheel, entry, entry_total, *declared));
    return {};
  }
};

Result<void> read_zip(ZipFile& zip, Meter& meter, const std::function<Result<void>(std::string_view)>& sink);

}  // namespace

Result<void> ArchiveReader::read(const std::function<Result<void>(std::string_view)>& sink) {
  const std::string wheel = name();
  Meter meter{wheel, current_, declared_size_, limits_.max_entry_size, total_, total_bound_, [this] {
                return total_bound_reason();
              }};
  if (state_->zip) return read_zip(*state_->zip, meter, sink);
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
    if (offset < 0 || static_cast<std::uint64_t>(offset) != meter.entry_total)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: refusing entry \"{}\": non-contiguous data", name(), current_));
    if (auto ok = meter.account(size); !ok) return ok;
    if (size > 0) {
      auto ok = sink(std::string_view(static_cast<const char*>(buf), size));
      if (!ok) return ok;
    }
  }
  return meter.complete();
}

namespace {

Result<void> read_zip(ZipFile& zip, Meter& meter, const std::function<Result<void>(std::string_view)>& sink) {
  if (zip.current == nullptr || !meter.declared) return {};  // a directory: no data
  const ZipRecord& r = *zip.current;
  auto corrupt = [&](std::string_view why) {
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot read entry \"{}\": {}", meter.wheel, meter.entry, why));
  };
  if ((r.flags & 1) != 0) return corrupt("encrypted entries are not supported");
  // The local header: its signature and name, then the data, which must lie inside the archive.
  const std::uint64_t at = r.local_offset;
  if (at > zip.size || zip.size - at < 30 || u32(zip.base + at) != kLocalSig)
    return corrupt("no local file header at its offset");
  const std::uint64_t name_len = u16(zip.base + at + 26), extra_len = u16(zip.base + at + 28);
  const std::uint64_t data = at + 30 + name_len + extra_len;
  if (data > zip.size || zip.size - data < r.compressed)
    return corrupt("its data lies beyond the archive's end");
  if (std::string_view(reinterpret_cast<const char*>(zip.base + at + 30), name_len) != r.name)
    return corrupt("its local header names another file");
  const auto* in = zip.base + data;
  struct Release {
    const ZipFile& zip;
    std::uint64_t from, to;
    ~Release() { zip.release(from, to); }
  } release{zip, data, data + r.compressed};

  std::uint32_t crc = 0;
  auto deliver = [&](const char* bytes, std::size_t n) -> Result<void> {
    if (auto ok = meter.account(n); !ok) return ok;
    crc = libdeflate_crc32(crc, bytes, n);
    if (n == 0) return {};
    return sink(std::string_view(bytes, n));
  };
  auto crc_differs = [&](std::uint32_t got) {
    return corrupt(fmt::format("CRC-32 {:08x}, not the {:08x} it declares", got, r.crc));
  };

  if (r.method == 0) {  // stored: handed out from the mapping as it is
    for (std::uint64_t done = 0; done < r.compressed;) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, r.compressed - done));
      if (auto ok = deliver(reinterpret_cast<const char*>(in + done), n); !ok) return ok;
      done += n;
    }
  } else if (r.size <= kWholeEntryCap) {
    // Inflated whole into the reader's buffer: a member that would outgrow its declared size stops
    // at the buffer's end, and none of its bytes reach the sink; nor do those of a short or
    // corrupt one.
    char* out = zip.out.reserve(r.size);
    if (out == nullptr) return corrupt(fmt::format("cannot allocate {} bytes to inflate it", r.size));
    std::size_t produced = 0;
    const auto rc = libdeflate_deflate_decompress_ex(zip.inflater, in, r.compressed, out,
                                                     static_cast<std::size_t>(r.size), nullptr, &produced);
    if (rc == LIBDEFLATE_INSUFFICIENT_SPACE) return meter.beyond_declared();
    if (rc != LIBDEFLATE_SUCCESS) return corrupt("invalid deflate data");
    if (auto ok = meter.account(produced); !ok) return ok;
    if (auto ok = meter.complete(); !ok) return ok;
    if (auto got = libdeflate_crc32(0, out, produced); got != r.crc) return crc_differs(got);
    if (produced == 0) return {};
    return sink(std::string_view(out, produced));
  } else {
    // Too large to hold: zlib streams it in chunks, each checked against the bounds before the sink.
    z_stream z{};
    if (inflateInit2(&z, -15) != Z_OK) return corrupt("cannot start inflating");
    struct End {
      z_stream& z;
      ~End() { inflateEnd(&z); }
    } end{z};
    char* out = zip.out.reserve(kChunk);
    if (out == nullptr) return corrupt("cannot allocate a buffer to inflate it");
    std::uint64_t fed = 0, released = data;
    while (true) {
      if (z.avail_in == 0 && fed < r.compressed) {
        const auto n = std::min<std::uint64_t>(r.compressed - fed, 1ULL << 30);
        z.next_in = const_cast<unsigned char*>(in + fed);
        z.avail_in = static_cast<uInt>(n);
        fed += n;
      }
      z.next_out = reinterpret_cast<unsigned char*>(out);
      z.avail_out = static_cast<uInt>(kChunk);
      const int rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && z.avail_in == 0 && fed < r.compressed))
        return corrupt(rc == Z_BUF_ERROR ? "truncated deflate data" : "invalid deflate data");
      if (auto ok = deliver(out, kChunk - z.avail_out); !ok) return ok;
      // Input already inflated no longer counts toward this process's resident size.
      const std::uint64_t consumed = data + fed - z.avail_in;
      if (consumed - released >= (8ULL << 20)) {
        zip.release(released, consumed);
        released = consumed;
      }
      if (rc == Z_STREAM_END) break;
    }
  }
  if (auto ok = meter.complete(); !ok) return ok;
  if (crc != r.crc) return crc_differs(crc);
  return {};
}

}  // namespace

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
