#include "oci/layer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <system_error>

#include <fmt/format.h>

#include "fetch/hash.hpp"
#include "util/fs.hpp"

namespace strata::oci {
namespace fs = std::filesystem;

Result<Compression> parse_compression(std::string_view text) {
  if (text == "gzip") return Compression::gzip;
  if (text == "zstd") return Compression::zstd;
  return fail(ErrorKind::usage, fmt::format("--compression {}: expected gzip or zstd", text));
}

std::string_view to_string(Compression c) { return c == Compression::gzip ? "gzip" : "zstd"; }

Result<std::int64_t> source_date_epoch() {
  const char* value = std::getenv("SOURCE_DATE_EPOCH");
  if (value == nullptr || *value == '\0') return 0;
  std::string_view text = value;
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size() || out < 0)
    return fail(ErrorKind::usage,
                fmt::format("SOURCE_DATE_EPOCH={}: expected a non-negative number of seconds", text));
  return out;
}

namespace {

// Path order with '/' below every other byte: a directory's whole subtree follows it directly.
bool path_less(const std::string& a, const std::string& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto key = [](char c) { return c == '/' ? 0 : static_cast<int>(static_cast<unsigned char>(c)) + 1; };
    return key(x) < key(y);
  });
}

bool bad_path(std::string_view p) {
  if (p.empty() || p.front() == '/' || p.back() == '/') return true;
  std::size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    auto part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return true;
    start = end + 1;
  }
  return false;
}

// Hashes the tar stream (the DiffID), compresses it and writes the compressed bytes to a file,
// hashing them too (the blob digest). Without a file (an empty path) it only hashes the tar.
class Sink {
 public:
  Sink(Compression compression, fs::path out) : compression_(compression), path_(std::move(out)) {}
  ~Sink() {
    if (file_ != nullptr) std::fclose(file_);
    if (compression_ == Compression::gzip && zinit_) deflateEnd(&z_);
    if (zstd_ != nullptr) ZSTD_freeCCtx(zstd_);
  }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  Result<void> open() {
    if (path_.empty()) return {};
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: cannot create: {}", path_.string(), std::strerror(errno)));
    if (compression_ == Compression::gzip) {
      // windowBits 15 + 16: a gzip wrapper with zlib's default header (no name, mtime 0).
      if (deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return fail(ErrorKind::runtime, "zlib: deflateInit2 failed");
      zinit_ = true;
    } else {
      zstd_ = ZSTD_createCCtx();
      if (zstd_ == nullptr) return fail(ErrorKind::runtime, "zstd: cannot create a compression context");
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, 3);
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_checksumFlag, 1);
    }
    return {};
  }

  bool write(const void* data, std::size_t size) {
    tar_sha_.update({static_cast<const char*>(data), size});
    tar_size_ += size;
    return path_.empty() || compress(data, size, false);
  }

  Result<void> finish() {
    if (path_.empty()) return {};
    if (!compress(nullptr, 0, true) || std::fflush(file_) != 0 || std::ferror(file_))
      return fail(ErrorKind::runtime, fmt::format("{}: cannot write the layer: {}", path_.string(),
                                                  error_.empty() ? std::strerror(errno) : error_));
    std::fclose(file_);
    file_ = nullptr;
    return {};
  }

  std::string diff_id() { return "sha256:" + tar_sha_.hex_digest(); }
  std::string digest() { return "sha256:" + blob_sha_.hex_digest(); }
  std::uint64_t size() const { return blob_size_; }
  const std::string& error() const { return error_; }

 private:
  bool emit(const char* data, std::size_t n) {
    if (n == 0) return true;
    blob_sha_.update({data, n});
    blob_size_ += n;
    return std::fwrite(data, 1, n, file_) == n;
  }

  bool compress(const void* data, std::size_t size, bool end) {
    char buffer[1 << 16];
    if (compression_ == Compression::gzip) {
      z_.next_in = static_cast<Bytef*>(const_cast<void*>(data));
      z_.avail_in = static_cast<uInt>(size);
      int rc = Z_OK;
      do {
        z_.next_out = reinterpret_cast<Bytef*>(buffer);
        z_.avail_out = sizeof buffer;
        rc = deflate(&z_, end ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_ERROR) {
          error_ = "zlib: deflate failed";
          return false;
        }
        if (!emit(buffer, sizeof buffer - z_.avail_out)) return false;
      } while (z_.avail_out == 0 || (end && rc != Z_STREAM_END));
      return true;
    }
    ZSTD_inBuffer in{data, size, 0};
    for (;;) {
      ZSTD_outBuffer out{buffer, sizeof buffer, 0};
      std::size_t left = ZSTD_compressStream2(zstd_, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(left)) {
        error_ = fmt::format("zstd: {}", ZSTD_getErrorName(left));
        return false;
      }
      if (!emit(buffer, out.pos)) return false;
      if (end ? left == 0 : in.pos == in.size) return true;
    }
  }

  Compression compression_;
  fs::path path_;
  std::FILE* file_ = nullptr;
  z_stream z_{};
  bool zinit_ = false;
  ZSTD_CCtx* zstd_ = nullptr;
  fetch::Sha256 tar_sha_, blob_sha_;
  std::uint64_t tar_size_ = 0, blob_size_ = 0;
  std::string error_;
};

la_ssize_t write_callback(archive*, void* client, const void* buffer, size_t length) {
  return static_cast<Sink*>(client)->write(buffer, length) ? static_cast<la_ssize_t>(length) : -1;
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

Result<void> write_entries(const std::vector<LayerEntry>& entries, std::int64_t mtime, Sink& sink,
                           std::string_view subject) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  // pax_restricted: plain ustar headers unless a name, link or size does not fit one.
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_per_block(a.get(), 10240);
  archive_write_set_bytes_in_last_block(a.get(), 1);
  auto archive_error = [&](std::string_view what) {
    return fail(ErrorKind::runtime,
                fmt::format("{}: {}: {}", subject, what,
                            sink.error().empty() ? archive_error_string(a.get()) : sink.error()));
  };
  if (archive_write_open2(a.get(), &sink, nullptr, write_callback, nullptr, nullptr) != ARCHIVE_OK)
    return archive_error("cannot start the tar");
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  std::vector<char> buffer(1 << 20);
  for (const auto& entry : entries) {
    archive_entry_clear(e.get());
    archive_entry_set_pathname_utf8(e.get(), entry.path.c_str());
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), static_cast<time_t>(mtime), 0);
    std::ifstream in;
    std::uint64_t size = 0;
    switch (entry.type) {
      case LayerEntry::Type::directory:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        archive_entry_set_perm(e.get(), 0755);
        break;
      case LayerEntry::Type::symlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_perm(e.get(), 0777);
        archive_entry_set_symlink_utf8(e.get(), entry.link.c_str());
        break;
      case LayerEntry::Type::file:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(
            e.get(), static_cast<mode_t>((entry.executable ? 0755 : 0644) & (entry.read_only ? 0555 : 0777)));
        if (entry.source.empty()) {
          size = entry.content.size();
        } else {
          std::error_code ec;
          size = fs::file_size(entry.source, ec);
          if (ec) return fail(ErrorKind::runtime, fmt::format("{}: {}", entry.source.string(), ec.message()));
          in.open(entry.source, std::ios::binary);
          if (!in) return fail(ErrorKind::runtime, fmt::format("{}: cannot open", entry.source.string()));
        }
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
        break;
    }
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) return archive_error(entry.path);
    if (entry.type != LayerEntry::Type::file) continue;
    if (entry.source.empty()) {
      if (size && archive_write_data(a.get(), entry.content.data(), entry.content.size()) < 0)
        return archive_error(entry.path);
      continue;
    }
    std::uint64_t done = 0;
    while (done < size) {
      in.read(buffer.data(),
              static_cast<std::streamsize>(std::min<std::uint64_t>(buffer.size(), size - done)));
      auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0)
        return fail(ErrorKind::runtime, fmt::format("{}: changed while being read", entry.source.string()));
      if (archive_write_data(a.get(), buffer.data(), n) < 0) return archive_error(entry.path);
      done += n;
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return archive_error("cannot finish the tar");
  return {};
}

std::atomic<unsigned> next_temp{0};

struct MapEntry {
  std::string digest;
  std::uint64_t size = 0;
};

fs::path map_file(const fs::path& dir, std::string_view diff_id, Compression c) {
  return dir / fmt::format("{}.{}", diff_id.substr(7), to_string(c));
}

}  // namespace

Result<std::vector<LayerEntry>> normalize_entries(std::vector<LayerEntry> entries) {
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (bad_path(entries[i].path))
      return fail(ErrorKind::runtime,
                  fmt::format("layer entry \"{}\": not a relative path", entries[i].path));
    if (!seen.emplace(entries[i].path, i).second)
      return fail(ErrorKind::runtime, fmt::format("layer entry \"{}\" appears twice", entries[i].path));
  }
  const std::size_t given = entries.size();
  for (std::size_t i = 0; i < given; ++i) {
    std::string p = entries[i].path;
    for (auto slash = p.rfind('/'); slash != std::string::npos; slash = p.rfind('/')) {
      p.resize(slash);
      auto [it, inserted] = seen.emplace(p, entries.size());
      if (!inserted) {
        if (entries[it->second].type != LayerEntry::Type::directory)
          return fail(ErrorKind::runtime,
                      fmt::format("layer entry \"{}\" is below \"{}\", which is not a directory",
                                  entries[i].path, p));
        break;
      }
      LayerEntry dir;
      dir.path = p;
      dir.type = LayerEntry::Type::directory;
      entries.push_back(std::move(dir));
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const LayerEntry& a, const LayerEntry& b) { return path_less(a.path, b.path); });
  return entries;
}

Result<WrittenLayer> write_layer(std::vector<LayerEntry> entries_in, const LayerOptions& options,
                                 Layout& layout) {
  auto entries = normalize_entries(std::move(entries_in));
  if (!entries) return std::unexpected(entries.error());
  const fs::path tmp =
      layout.dir() / "blobs" / "sha256" / fmt::format(".layer-{}-{}", ::getpid(), next_temp++);
  WrittenLayer out;
  out.entries = entries->size();
  out.descriptor.media_type = options.compression == Compression::gzip ? kOciLayerGzip : kOciLayerZstd;
  // A layer made before (its DiffID in the map, its blob still there) is not compressed again:
  // the tar is only hashed first, which costs a fraction of compressing it.
  if (!options.diffid_dir.empty()) {
    Sink hash(options.compression, {});
    if (auto ok = write_entries(*entries, options.mtime, hash, layout.dir().string()); !ok)
      return std::unexpected(ok.error());
    out.diff_id = hash.diff_id();
    const fs::path blobs = options.diffid_dir / "blobs" / "sha256";
    if (auto text = util::read_file(map_file(options.diffid_dir, out.diff_id, options.compression))) {
      auto j = nlohmann::json::parse(*text, nullptr, false);
      std::error_code ec;
      const std::string known = j.is_object() ? j.value("digest", "") : "";
      const std::uint64_t size = j.is_object() ? j.value("size", std::uint64_t{0}) : 0;
      auto hex = digest_hex(known);
      if (hex && fs::file_size(blobs / *hex, ec) == size && !ec) {
        out.descriptor.digest = known;
        out.descriptor.size = size;
        if (auto ok = layout.link_blob(blobs / *hex, out.descriptor.digest); !ok)
          return std::unexpected(ok.error());
        out.reused = true;
        return out;
      }
    }
  }
  {
    Sink sink(options.compression, tmp);
    if (auto ok = sink.open(); !ok) return std::unexpected(ok.error());
    if (auto ok = write_entries(*entries, options.mtime, sink, layout.dir().string()); !ok) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return std::unexpected(ok.error());
    }
    if (auto ok = sink.finish(); !ok) return std::unexpected(ok.error());
    out.diff_id = sink.diff_id();
    out.descriptor.digest = sink.digest();
    out.descriptor.size = sink.size();
  }

  // The DiffID → blob map: a blob made before for this content wins over the one just made.
  if (!options.diffid_dir.empty()) {
    const fs::path blobs = options.diffid_dir / "blobs" / "sha256";
    const fs::path entry = map_file(options.diffid_dir, out.diff_id, options.compression);
    std::error_code ec;
    if (auto text = util::read_file(entry)) {
      auto j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_object() && j.value("digest", "") != out.descriptor.digest) {
        MapEntry known{j.value("digest", ""), j.value("size", std::uint64_t{0})};
        auto hex = digest_hex(known.digest);
        if (hex && fs::file_size(blobs / *hex, ec) == known.size && !ec) {
          fs::remove(tmp, ec);
          if (auto ok = layout.link_blob(blobs / *hex, known.digest); !ok) return std::unexpected(ok.error());
          out.descriptor.digest = known.digest;
          out.descriptor.size = known.size;
          out.reused = true;
          return out;
        }
      }
    }
    // Remember this blob (best effort: the cache is not needed for a correct image).
    fs::create_directories(blobs, ec);
    const fs::path kept = blobs / out.descriptor.digest.substr(7);
    if (!fs::exists(kept, ec)) {
      fs::path part = kept;
      part += fmt::format(".tmp.{}", ::getpid());
      fs::create_hard_link(tmp, part, ec);
      if (ec) fs::copy_file(tmp, part, fs::copy_options::overwrite_existing, ec);
      if (!ec) fs::rename(part, kept, ec);
    }
    if (!ec) {
      nlohmann::json j = {{"digest", out.descriptor.digest}, {"size", out.descriptor.size}};
      (void)util::write_file_atomic(entry, j.dump(), util::Durability::process_crash);
    }
  }
  if (auto ok = layout.adopt_blob(tmp, out.descriptor.digest); !ok) return std::unexpected(ok.error());
  return out;
}

}  // namespace strata::oci
