#include "lock/toml_read.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "pep/name.hpp"
#include "pep/requirement.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::lock::detail {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned>(u));
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string storable_url(std::string_view url) {
  std::string bare = util::without_userinfo(url);
  return util::redact_url(bare) == bare ? bare : std::string();
}

Result<toml::table> parse_toml(std::string_view text, std::string_view source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return fail(ErrorKind::usage, fmt::format("{}:{}:{}: invalid TOML: {}", source_name, begin.line,
                                              begin.column, e.description()));
  }
}

std::string TomlFields::where(const toml::node& node) const {
  const auto& begin = node.source().begin;
  if (begin.line == 0) return source_;
  return fmt::format("{}:{}:{}", source_, begin.line, begin.column);
}

void TomlFields::fail_at(const toml::node& node, std::string_view message) const {
  throw CommandError(ErrorKind::usage, fmt::format("{}: {}", where(node), message));
}

const toml::node* TomlFields::find(const toml::table& table, std::string_view key) const {
  return table.get(key);
}

std::optional<std::string> TomlFields::opt_string(const toml::table& table, std::string_view key) const {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (const auto* s = node->as_string()) return s->get();
  fail_at(*node, fmt::format("expected a string for \"{}\"", key));
}

std::string TomlFields::req_string(const toml::table& table, std::string_view key,
                                   std::string_view what) const {
  if (auto value = opt_string(table, key)) return *value;
  fail_at(table, fmt::format("missing \"{}\" in {}", key, what));
}

std::optional<bool> TomlFields::opt_bool(const toml::table& table, std::string_view key) const {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (const auto* b = node->as_boolean()) return b->get();
  fail_at(*node, fmt::format("expected true or false for \"{}\"", key));
}

std::optional<std::int64_t> TomlFields::opt_int(const toml::table& table, std::string_view key) const {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (const auto* i = node->as_integer()) return i->get();
  fail_at(*node, fmt::format("expected an integer for \"{}\"", key));
}

const toml::table* TomlFields::opt_table(const toml::table& table, std::string_view key) const {
  const toml::node* node = table.get(key);
  if (!node) return nullptr;
  if (const auto* t = node->as_table()) return t;
  fail_at(*node, fmt::format("expected a table for \"{}\"", key));
}

const toml::array* TomlFields::opt_array(const toml::table& table, std::string_view key) const {
  const toml::node* node = table.get(key);
  if (!node) return nullptr;
  if (const auto* a = node->as_array()) return a;
  fail_at(*node, fmt::format("expected an array for \"{}\"", key));
}

std::vector<std::string> TomlFields::string_array(const toml::table& table, std::string_view key) const {
  std::vector<std::string> out;
  const toml::array* array = opt_array(table, key);
  if (!array) return out;
  for (const toml::node& item : *array) {
    const auto* s = item.as_string();
    if (!s) fail_at(item, fmt::format("expected an array of strings for \"{}\"", key));
    out.push_back(s->get());
  }
  return out;
}

const toml::table& TomlFields::as_table(const toml::node& node, std::string_view what) const {
  if (const auto* t = node.as_table()) return *t;
  fail_at(node, fmt::format("expected a table for {}", what));
}

const std::string& TomlFields::as_string(const toml::node& node, std::string_view what) const {
  if (const auto* s = node.as_string()) return s->get();
  fail_at(node, fmt::format("expected a string for {}", what));
}

void TomlFields::check_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                            std::string_view what) const {
  for (const auto& [key, value] : table) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end())
      fail_at(value, fmt::format("unknown key \"{}\" in {}", key.str(), what));
  }
}

void check_hash(const TomlFields& f, const toml::node& node, std::string_view algo, std::string_view hex) {
  static constexpr std::pair<std::string_view, std::size_t> kDigits[] = {
      {"md5", 32}, {"sha1", 40}, {"sha224", 56}, {"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
  if (hex.empty()) f.fail_at(node, fmt::format("empty {} hash", algo));
  auto bad = std::find_if_not(hex.begin(), hex.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
  if (bad != hex.end())
    f.fail_at(node, fmt::format("malformed {} hash \"{}\": \"{}\" is not a hex digit", algo, hex, *bad));
  for (const auto& [name, digits] : kDigits) {
    if (name == algo && hex.size() != digits)
      f.fail_at(node, fmt::format("malformed {} hash \"{}\": {} hex digits, expected {}", algo, hex,
                                  hex.size(), digits));
  }
}

std::map<std::string, std::string> read_hashes(const TomlFields& f, const toml::table& table,
                                               std::string_view what) {
  std::map<std::string, std::string> hashes;
  const toml::table* h = f.opt_table(table, "hashes");
  if (!h) f.fail_at(table, fmt::format("missing \"hashes\" in {}", what));
  for (const auto& [algo, value] : *h) {
    const std::string& hex = f.as_string(value, fmt::format("hash \"{}\"", algo.str()));
    check_hash(f, value, util::to_lower(algo.str()), hex);
    hashes.emplace(util::to_lower(algo.str()), util::to_lower(hex));
  }
  if (hashes.empty()) f.fail_at(*h, fmt::format("\"hashes\" of {} names no hash", what));
  return hashes;
}

Dependency dependency_from_pep508(const TomlFields& f, const toml::node& node) {
  const std::string& text = f.as_string(node, "a PEP 508 requirement");
  auto req = pep::Requirement::parse(text);
  if (!req) f.fail_at(node, fmt::format("invalid requirement \"{}\": {}", text, req.error().message));
  Dependency d;
  d.display_name = req->name;
  d.name = pep::normalize_name(req->name);
  for (const auto& extra : req->extras) d.extras.push_back(pep::normalize_name(extra));
  d.constraint = req->specifier.str();
  d.marker = req->marker;
  d.direct = !req->url.empty();
  return d;
}

void read_name_version(const TomlFields& f, const toml::table& table, Package& p) {
  p.location = f.where(table);
  p.display_name = f.req_string(table, "name", "[[packages]] entry");
  if (!pep::is_valid_name(p.display_name))
    f.fail_at(*table.get("name"), fmt::format("invalid package name \"{}\"", p.display_name));
  p.name = pep::normalize_name(p.display_name);
  if (auto version = f.opt_string(table, "version")) {
    auto parsed = pep::Version::parse(*version);
    if (!parsed) f.fail_at(*table.get("version"), fmt::format("invalid version \"{}\"", *version));
    p.version = std::move(*parsed);
    p.version_text = *version;
  }
}

}  // namespace strata::lock::detail
