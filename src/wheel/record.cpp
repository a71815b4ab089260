#include "wheel/record.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "util/strings.hpp"

namespace strata::wheel {

Hasher::Hasher(std::string_view algorithm) : algorithm_(algorithm) {
  const EVP_MD* md = EVP_get_digestbyname(algorithm_.c_str());
  if (md == nullptr) return;
  ctx_ = EVP_MD_CTX_new();
  if (ctx_ != nullptr && EVP_DigestInit_ex(ctx_, md, nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = nullptr;
  }
}

Hasher::~Hasher() {
  if (ctx_ != nullptr) EVP_MD_CTX_free(ctx_);
}

Hasher::Hasher(Hasher&& other) noexcept
    : algorithm_(std::move(other.algorithm_)), ctx_(std::exchange(other.ctx_, nullptr)) {}

Hasher& Hasher::operator=(Hasher&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr) EVP_MD_CTX_free(ctx_);
    algorithm_ = std::move(other.algorithm_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

void Hasher::update(std::string_view data) {
  if (ctx_ != nullptr) EVP_DigestUpdate(ctx_, data.data(), data.size());
}

std::string Hasher::finish() {
  if (ctx_ == nullptr) return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, digest, &len);
  EVP_MD_CTX_free(ctx_);
  ctx_ = nullptr;
  return algorithm_ + "=" + base64url_nopad(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string base64url_nopad(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    unsigned v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

Result<std::vector<RecordRow>> parse_record(std::string_view content, std::string_view source) {
  std::vector<RecordRow> rows;
  std::size_t pos = 0;
  std::size_t line = 1;
  while (pos < content.size()) {
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false;
    std::size_t row_line = line;
    // One CSV record: fields separated by ',', optionally quoted with '"' ("" escapes a quote).
    while (pos < content.size()) {
      char c = content[pos];
      if (quoted) {
        if (c == '"') {
          if (pos + 1 < content.size() && content[pos + 1] == '"') {
            field += '"';
            pos += 2;
            continue;
          }
          quoted = false;
          ++pos;
          continue;
        }
        if (c == '\n') ++line;
        field += c;
        ++pos;
        continue;
      }
      if (c == '"' && field.empty()) {
        quoted = true;
        ++pos;
      } else if (c == ',') {
        fields.push_back(std::move(field));
        field.clear();
        ++pos;
      } else if (c == '\r' || c == '\n') {
        if (c == '\r' && pos + 1 < content.size() && content[pos + 1] == '\n') ++pos;
        ++pos;
        ++line;
        break;
      } else {
        field += c;
        ++pos;
      }
    }
    if (quoted)
      return fail(ErrorKind::runtime, fmt::format("{}:{}: unterminated quoted field", source, row_line));
    fields.push_back(std::move(field));
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (fields.size() != 3)
      return fail(ErrorKind::runtime, fmt::format("{}:{}: expected 3 fields (path,hash,size), found {}",
                                                  source, row_line, fields.size()));
    RecordRow row{fields[0], fields[1], std::nullopt};
    if (row.path.empty()) return fail(ErrorKind::runtime, fmt::format("{}:{}: empty path", source, row_line));
    if (!fields[2].empty()) {
      auto size = util::parse_uint(fields[2]);
      if (!size)
        return fail(ErrorKind::runtime,
                    fmt::format("{}:{}: invalid size \"{}\"", source, row_line, fields[2]));
      row.size = *size;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

// Python's csv.writer with QUOTE_MINIMAL quotes a field holding the delimiter, the quote
// character, or a line break.
std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string format_record(std::vector<RecordRow> rows) {
  std::sort(rows.begin(), rows.end(), [](const RecordRow& a, const RecordRow& b) { return a.path < b.path; });
  std::string out;
  for (const auto& row : rows) {
    out += csv_field(row.path);
    out += ',';
    out += csv_field(row.hash);
    out += ',';
    if (row.size) out += std::to_string(*row.size);
    out += '\n';
  }
  return out;
}

}  // namespace strata::wheel
