#pragma once
// URLs: splitting, credentials, RFC 3986 reference resolution, and redaction — the one function
// every URL goes through before it reaches output, a log, an error or a file. Pure functions over
// strings.

#include <optional>
#include <string>
#include <string_view>

namespace strata::util {

/// The parts of an absolute URL "scheme://[userinfo@]authority/path?query#fragment".
struct UrlParts {
  std::string scheme;    ///< lower-cased, e.g. "https"
  std::string userinfo;  ///< raw (still percent-encoded), without the "@"
  bool has_userinfo = false;
  std::string authority;  ///< host[:port] as written, without userinfo
  std::string path;       ///< starts with "/" or is empty
  std::string query;      ///< without the "?"
  bool has_query = false;
  std::string fragment;  ///< without the "#"
  bool has_fragment = false;

  /// Parses an absolute URL with an authority; nullopt when it has none (e.g. "file.whl").
  static std::optional<UrlParts> parse(std::string_view url);
  /// Reassembles the URL; userinfo only when `with_userinfo`.
  std::string str(bool with_userinfo = true, bool with_fragment = true) const;
};

/// Username and password taken from a URL's userinfo, percent-decoded.
struct UserInfo {
  std::string username;
  std::string password;
};

/// The URL without userinfo ("https://user:pw@host/x#f" -> "https://host/x#f"); text that is not an
/// absolute URL unchanged. What a written file may keep of a URL that is fetched later.
std::string without_userinfo(std::string_view url);
/// The URL without userinfo and without fragment: what is handed to the transport.
std::string strip_userinfo(std::string_view url);
/// The URL's userinfo split at the first ":" and percent-decoded, when it has one.
std::optional<UserInfo> url_userinfo(std::string_view url);
/// The URL's fragment (after "#"), empty when none.
std::string url_fragment(std::string_view url);
/// Lower-cased "host:port" of an http(s) URL with the scheme's default port filled in; empty
/// when the URL has no authority. Used to decide which credentials go to which server.
std::string url_origin(std::string_view url);
/// The host name alone (no port, no brackets), lower-cased; empty when none.
std::string url_hostname(std::string_view url);
/// Resolves `reference` against `base` (RFC 3986 section 5.2), as a browser resolves an href.
std::string resolve_url(std::string_view base, std::string_view reference);
/// Decodes %XX escapes; malformed escapes are kept as written.
std::string percent_decode(std::string_view s);

/// The only form of a URL that may appear in output, logs, errors and written files: userinfo
/// (user and password) becomes "***"; so does the value of every query parameter whose name
/// names a credential (see `is_secret_query_name`); a URL whose authority is not host[:port]
/// (a password with an unescaped "/", "?" or "#") loses everything up to its last "@".
/// Text that is not an absolute URL comes back unchanged.
std::string redact_url(std::string_view url);
/// `text` with every "scheme://…" in it passed through redact_url (a URL ends at whitespace, a
/// quote, a backslash, "<", ">" or "`"): for messages and documents that may quote URLs.
std::string redact_urls_in(std::string_view text);
/// Whether a query parameter's value is a credential, by its name (case-insensitive): the name
/// contains "token", "secret", "passw", "credential", "signature", "auth" or "apikey", or one of
/// its words (split at "-", "_", ".") is "sig", "key", "pwd", "pass" or "session". This covers
/// S3/GCS presigned URLs (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token), Azure SAS
/// (sig), GitLab (private_token, job_token) and the usual access_token / api_key.
bool is_secret_query_name(std::string_view name);

}  // namespace strata::util
