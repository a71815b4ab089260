#pragma once
// Registry credentials and authentication challenges. Credentials come from a --creds-file,
// REGISTRY_AUTH_FILE or containers' auth.json, and Docker's config.json `auths`; everything
// printable says which file supplied them, never what they are.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "fetch/auth.hpp"
#include "util/error.hpp"

namespace strata::oci {

/// A username and password (or token) for one registry, and the file they came from.
struct RegistryCredentials {
  std::string username;
  std::string password;
  std::string origin;  ///< e.g. "--creds-file /run/secrets/reg", never the secret
};

/// Finds credentials for `registry` ("host[:port]") and `repository`: `creds_file` when given
/// (a Docker/containers auth file, or one line "user:password"; having no entry for the
/// registry is an error), else REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json,
/// else ${DOCKER_CONFIG:-~/.docker}/config.json. In an auth file "registry/repository" keys win
/// over "registry" keys; "auth" (base64 "user:password") or "username"/"password" are read. A
/// credential helper (credHelpers, credsStore) for the registry is an error saying so.
Result<std::optional<RegistryCredentials>> find_registry_credentials(
    std::string_view registry, std::string_view repository,
    const std::optional<std::filesystem::path>& creds_file, const fetch::EnvLookup& env);

/// The auth files consulted without --creds-file, in order, for hints in 401 errors.
std::string credential_sources_hint(const fetch::EnvLookup& env);

/// A parsed WWW-Authenticate challenge: scheme ("bearer", "basic", lower-cased) and parameters.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;  ///< names lower-cased; realm, service, scope
};

/// Parses the first challenge of a WWW-Authenticate value (RFC 7235 auth-params, quoted or
/// token values); nullopt when it has no scheme.
std::optional<Challenge> parse_challenge(std::string_view header);

/// Decodes standard base64 (padding optional, whitespace ignored); nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace strata::oci
