#pragma once
// Typed access to toml++ nodes for the lock readers, layer manifests and the layer policy
// (plan/layers): every wrong type or missing key becomes a usage error with "file:line:col" and
// what was expected.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "lock/model.hpp"
#include "util/error.hpp"

namespace strata::lock::detail {

/// A TOML basic string: quotes, backslashes and control characters escaped (for the writers:
/// layer manifests, `strata export`).
std::string quote(std::string_view s);

/// What a written lock may keep of a URL: no userinfo, and nothing at all when its query carries
/// a credential (a presigned or token URL). Such an artifact is then found through its package's
/// index at install time, by file name and hash.
std::string storable_url(std::string_view url);

/// Parses TOML text; a syntax error becomes "name:line:col: <what toml++ says>".
Result<toml::table> parse_toml(std::string_view text, std::string_view source_name);

/// Reads fields of one parsed document. Methods throw CommandError (usage); the readers catch it
/// once at their boundary and return it as a Result.
class TomlFields {
 public:
  explicit TomlFields(std::string source_name) : source_(std::move(source_name)) {}

  const std::string& source() const { return source_; }
  /// "name:line:col" of a node (just the name when toml++ has no position for it).
  std::string where(const toml::node& node) const;
  /// Throws a usage error located at `node`.
  [[noreturn]] void fail_at(const toml::node& node, std::string_view message) const;

  /// The value at `key`, or nullptr when absent.
  const toml::node* find(const toml::table& table, std::string_view key) const;
  std::optional<std::string> opt_string(const toml::table& table, std::string_view key) const;
  std::string req_string(const toml::table& table, std::string_view key, std::string_view what) const;
  std::optional<bool> opt_bool(const toml::table& table, std::string_view key) const;
  std::optional<std::int64_t> opt_int(const toml::table& table, std::string_view key) const;
  const toml::table* opt_table(const toml::table& table, std::string_view key) const;
  const toml::array* opt_array(const toml::table& table, std::string_view key) const;
  /// An array of strings (absent: empty).
  std::vector<std::string> string_array(const toml::table& table, std::string_view key) const;
  /// The node must be a table (element of an array of tables, for instance).
  const toml::table& as_table(const toml::node& node, std::string_view what) const;
  const std::string& as_string(const toml::node& node, std::string_view what) const;
  /// Fails at the first key of `table` not in `known`: "unknown key "k" in <what>".
  void check_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                  std::string_view what) const;

 private:
  std::string source_;
};

/// Fails at `node` unless `hex` is a digest of algorithm `algo` (lower-case): hex digits only, and
/// as many as the algorithm gives (md5 32, sha1 40, sha224 56, sha256 64, sha384 96, sha512 128).
void check_hash(const TomlFields& f, const toml::node& node, std::string_view algo, std::string_view hex);

/// The table's "hashes" (algorithm -> lower-case hex); missing, empty or malformed values fail.
std::map<std::string, std::string> read_hashes(const TomlFields& f, const toml::table& table,
                                               std::string_view what);

/// A package entry's "name" (required, valid, normalized into `name`) and "version" (optional,
/// PEP 440) into `package`, with its location.
void read_name_version(const TomlFields& f, const toml::table& table, Package& package);

/// A PEP 508 requirement string at `node` as a dependency edge (name and extras normalized,
/// specifier, marker; `direct` for a URL); an invalid one fails at the node.
Dependency dependency_from_pep508(const TomlFields& f, const toml::node& node);

/// Runs `body` and turns a thrown CommandError into a Result.
template <class F>
auto catch_errors(F&& body) -> Result<decltype(body())> {
  try {
    return body();
  } catch (const CommandError& e) {
    return std::unexpected(e.error());
  }
}

}  // namespace strata::lock::detail
