#include "fetch/cache.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <system_error>

#include <fmt/format.h>

#include "util/fs.hpp"

namespace strata::fetch {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCacheTag =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by strata.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n";

std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

// A full disk is named as such (curl would only say "Failure writing output to destination"):
// by errno, or by the file system having no block left when the error is a vaguer one.
std::string write_failure(const fs::path& path, int err) {
  struct statvfs fsinfo {};
  const bool full = err == ENOSPC || err == EDQUOT ||
                    (::statvfs(path.parent_path().c_str(), &fsinfo) == 0 && fsinfo.f_bavail == 0);
  if (full && err != ENOSPC && err != EDQUOT)
    return fmt::format("{}: cannot write: no space left on device ({})", path.string(), std::strerror(err));
  if (full) return fmt::format("{}: cannot write: no space left on device", path.string());
  return fmt::format("{}: cannot write: {}", path.string(), std::strerror(err));
}

Error io_error(const fs::path& path, std::string_view what, int err) {
  return Error{ErrorKind::runtime, fmt::format("{}: {}: {}", path.string(), what, std::strerror(err))};
}

void remove_tree_counting(const fs::path& path, ArtifactCache::CleanStats& stats, std::error_code& ec) {
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      ++stats.files;
      stats.bytes += it->file_size(size_ec);
    }
  }
  ec.clear();
  fs::remove_all(path, ec);
}

// The temporary directories live processes hold in the unpack cache (util::TempDir: a wheel being
// unpacked at unpacked/.tmp-*, its bytecode being compiled at unpacked/<sha>/pyc/.tmp-*).
std::vector<fs::path> live_temp_dirs(const fs::path& unpacked) {
  std::vector<fs::path> out;
  std::error_code ec;
  auto look = [&](const fs::path& dir) {
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().filename().string().starts_with(".tmp-") && util::temp_dir_in_use(entry.path()))
        out.push_back(entry.path());
  };
  look(unpacked);
  for (const auto& entry : fs::directory_iterator(unpacked, ec))
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) look(entry.path() / "pyc");
  return out;
}

// remove_tree_counting, but the directories in `keep` stay (their ancestors are descended into).
void remove_except(const fs::path& path, const std::vector<fs::path>& keep, ArtifactCache::CleanStats& stats,
                   std::error_code& ec) {
  for (const auto& k : keep) {
    if (k == path) return;
    if (auto rel = k.lexically_relative(path); !rel.empty() && *rel.begin() != "..") {
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        remove_except(entry.path(), keep, stats, ec);
        if (ec) return;
      }
      return;
    }
  }
  remove_tree_counting(path, stats, ec);
}

}  // namespace

Result<StagingFile> StagingFile::create(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));
  for (int tries = 0; tries < 8; ++tries) {
    fs::path path = dir / fmt::format(".strata-{}-{}.part", ::getpid(), random_suffix());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return StagingFile(std::move(path), fd);
    if (errno != EEXIST) return std::unexpected(io_error(path, "cannot create", errno));
  }
  return fail(ErrorKind::runtime, fmt::format("{}: cannot create a temporary file", dir.string()));
}

StagingFile::StagingFile(StagingFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(other.fd_),
      size_(other.size_),
      hasher_(std::move(other.hasher_)),
      error_(std::move(other.error_)),
      committed_(other.committed_) {
  other.fd_ = -1;
  other.committed_ = true;
}

StagingFile::~StagingFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !path_.empty()) ::unlink(path_.c_str());
}

bool StagingFile::write(std::string_view data) {
  hasher_.update(data);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t put = ::write(fd_, data.data() + done, data.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) {
      error_ = write_failure(path_, errno);
      return false;
    }
    done += static_cast<std::size_t>(put);
  }
  size_ += data.size();
  return true;
}

Result<void> StagingFile::reset() {
  if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
    return std::unexpected(io_error(path_, "cannot truncate", errno));
  hasher_ = Sha256();
  size_ = 0;
  error_.clear();
  return {};
}

Result<std::string> StagingFile::finish() {
  if (fd_ >= 0) {
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return fail(ErrorKind::runtime, write_failure(path_, errno));
  }
  return hasher_.hex_digest();
}

Result<void> StagingFile::commit(const fs::path& target) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot create directory: {}", target.parent_path().string(), ec.message()));
  if (::rename(path_.c_str(), target.c_str()) != 0)
    return std::unexpected(io_error(target, "cannot rename into place", errno));
  committed_ = true;
  return {};
}

fs::path ArtifactCache::entry_path(std::string_view sha256, std::string_view filename) const {
  std::string hex(sha256);
  for (char& c : hex)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return root_ / "artifacts" / "sha256" / hex.substr(0, 2) / hex / std::string(filename);
}

std::optional<fs::path> ArtifactCache::lookup(std::string_view sha256, std::string_view filename,
                                              std::optional<std::uint64_t> size) const {
  fs::path path = entry_path(sha256, filename);
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::is_regular_file(status)) return std::nullopt;
  if (size) {
    auto actual = fs::file_size(path, ec);
    if (ec || actual != *size) return std::nullopt;
  }
  return path;
}

Result<void> ArtifactCache::discard(std::string_view sha256, std::string_view filename) const {
  fs::path path = entry_path(sha256, filename);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return std::unexpected(io_error(path, "cannot remove a corrupt cache entry", errno));
  return {};
}

Result<fs::path> ArtifactCache::insert(StagingFile& file, std::string_view sha256,
                                       std::string_view filename) const {
  fs::path target = entry_path(sha256, filename);
  // rename() replaces atomically: if another process finished the same entry first, its
  // identical bytes are swapped for ours and readers holding the old file keep reading it.
  if (auto done = file.commit(target); !done) return std::unexpected(done.error());
  return target;
}

void ArtifactCache::sweep_stale_staging() const {
  std::error_code ec;
  auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (const auto& entry : fs::directory_iterator(staging_dir(), ec)) {
    std::error_code entry_ec;
    if (!entry.path().filename().string().starts_with(".strata-")) continue;
    if (entry.last_write_time(entry_ec) < cutoff && !entry_ec) fs::remove(entry.path(), entry_ec);
  }
}

Result<void> ArtifactCache::ensure_root() const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot create the cache directory: {}", root_.string(), ec.message()));
  fs::path tag = root_ / "CACHEDIR.TAG";
  if (fs::exists(tag, ec)) return {};
  return util::write_file_atomic(tag, kCacheTag);
}

Result<ArtifactCache::CleanStats> ArtifactCache::clean() const {
  CleanStats stats;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return stats;
  bool ours = false;
  if (auto tag = util::read_file(root_ / "CACHEDIR.TAG");
      tag && tag->find("created by strata") != std::string::npos)
    ours = true;
  std::vector<fs::path> victims;
  if (ours) {
    for (const auto& entry : fs::directory_iterator(root_, ec))
      if (entry.path().filename() != "CACHEDIR.TAG") victims.push_back(entry.path());
  } else {
    for (const char* name : {"artifacts", "tmp", "interpreters", "unpacked"})
      if (fs::exists(root_ / name, ec)) victims.push_back(root_ / name);
  }
  // Safe beside processes using the cache: what they are writing now stays.
  const std::vector<fs::path> live = live_temp_dirs(root_ / "unpacked");
  for (const auto& victim : victims) {
    remove_except(victim, live, stats, ec);
    if (ec)
      return fail(ErrorKind::runtime, fmt::format("{}: cannot remove: {}", victim.string(), ec.message()));
  }
  return stats;
}

Result<void> link_or_copy(const fs::path& source, const fs::path& target) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot create directory: {}", target.parent_path().string(), ec.message()));
  fs::path staged = target;
  staged += fmt::format(".strata-{}-{}.part", ::getpid(), random_suffix());
  if (::link(source.c_str(), staged.c_str()) != 0) {
    fs::copy_file(source, staged, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      fs::remove(staged, ec);
      return fail(ErrorKind::runtime,
                  fmt::format("{}: cannot copy to {}: {}", source.string(), target.string(), ec.message()));
    }
  }
  if (::rename(staged.c_str(), target.c_str()) != 0) {
    int err = errno;
    ::unlink(staged.c_str());
    return std::unexpected(io_error(target, "cannot rename into place", err));
  }
  ::unlink(staged.c_str());  // rename() leaves both names when they were links to one file
  return {};
}

}  // namespace strata::fetch
