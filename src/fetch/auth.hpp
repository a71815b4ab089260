#pragma once
// Credentials for package indexes: URL userinfo, STRATA_/POETRY_HTTP_BASIC_<SOURCE>_* variables
// (and their *_FILE variants, how Docker build secrets arrive), and netrc. Secrets are only ever
// handed to the transport; everything printable says where credentials came from, never what.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace strata::fetch {

/// Looks up an environment variable; nullopt when unset. Injected so tests need no real env.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

/// The process environment (std::getenv).
EnvLookup process_env();

/// HTTP basic credentials and a printable description of where they came from.
struct Credentials {
  std::string username;
  std::string password;
  std::string origin;  ///< e.g. "STRATA_HTTP_BASIC_PRIVATE_USERNAME/_PASSWORD", never the secret
};

/// The <SOURCE> part of the variable names, as Poetry forms it: upper-cased, every character
/// that is not an ASCII letter or digit replaced by "_".
std::string source_env_key(std::string_view source_name);

/// One entry from a netrc file that matched a host.
struct NetrcEntry {
  std::string login;
  std::string password;
};

/// Finds the entry for `hostname` in netrc text (a "machine" entry, else "default").
std::optional<NetrcEntry> parse_netrc(std::string_view text, std::string_view hostname);

/// Resolves credentials for indexes and files, caching each answer.
class CredentialResolver {
 public:
  explicit CredentialResolver(EnvLookup env) : env_(std::move(env)) {}

  /// Credentials for a named source whose index is `index_url`: the URL's userinfo, then
  /// STRATA_HTTP_BASIC_<SOURCE>_USERNAME/_PASSWORD (or *_FILE), then POETRY_HTTP_BASIC_…, then
  /// netrc for the index host. nullopt when none; an error when a *_FILE cannot be read.
  Result<std::optional<Credentials>> for_source(std::string_view source_name, std::string_view index_url);

  /// Credentials for a URL that is not an index page (a file): its own userinfo, else the
  /// source's credentials when the URL is on the index's server, else netrc for its host.
  Result<std::optional<Credentials>> for_file(std::string_view url, std::string_view source_name,
                                              std::string_view index_url);

  /// What would supply credentials for a source, for 401/403 errors: the variable names, the
  /// netrc file and the URL form. Holds no secret.
  std::string hint(std::string_view source_name, std::string_view index_url) const;

 private:
  Result<std::optional<Credentials>> from_variables(std::string_view prefix, std::string_view source_name);
  Result<std::optional<std::string>> variable_or_file(const std::string& name);
  Result<std::optional<Credentials>> from_netrc(std::string_view url);
  std::string netrc_path() const;

  EnvLookup env_;
};

}  // namespace strata::fetch
