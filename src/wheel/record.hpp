#pragma once
// RECORD files ("recording installed projects"): hashing, parsing and writing.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

struct evp_md_ctx_st;

namespace strata::wheel {

/// An incremental hash in RECORD form ("<algorithm>=<urlsafe base64, no padding>").
class Hasher {
 public:
  /// `algorithm` is a hashlib name (sha256, sha384, sha512, ...); an unknown one makes valid() false.
  explicit Hasher(std::string_view algorithm = "sha256");
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  bool valid() const { return ctx_ != nullptr; }
  void update(std::string_view data);
  /// The digest as "<algorithm>=<base64url>"; the hasher cannot be used afterwards.
  std::string finish();

 private:
  std::string algorithm_;
  evp_md_ctx_st* ctx_ = nullptr;
};

/// URL-safe base64 without padding (the RECORD hash encoding).
std::string base64url_nopad(std::string_view bytes);

/// One row of a RECORD file.
struct RecordRow {
  std::string path;
  std::string hash;                   ///< "algo=digest", or empty
  std::optional<std::uint64_t> size;  ///< empty when the column is empty
  friend bool operator==(const RecordRow&, const RecordRow&) = default;
};

/// Parses RECORD content (CSV as Python's csv module writes it); `source` names it in errors.
Result<std::vector<RecordRow>> parse_record(std::string_view content, std::string_view source);

/// Writes rows as CSV, one per line ("\n"), quoting like Python's csv.writer; rows sorted by path.
std::string format_record(std::vector<RecordRow> rows);

}  // namespace strata::wheel
