#pragma once
// Streaming sha256 (OpenSSL EVP) for verifying artifacts as they arrive.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace strata::fetch {

/// An incremental sha256; feed bytes with update(), read the digest once with hex_digest().
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  /// Lower-case hex digest of everything fed so far; the object is spent afterwards.
  std::string hex_digest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

/// sha256 of a file's content as lower-case hex; the error names the path.
Result<std::string> sha256_file(const std::filesystem::path& path);

/// True when `s` is 64 lower- or upper-case hex digits.
bool is_sha256_hex(std::string_view s);

}  // namespace strata::fetch
