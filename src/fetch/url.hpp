#pragma once
// URL helpers for index access: splitting, credential stripping and redaction, RFC 3986
// reference resolution. Pure functions over strings.

#include <optional>
#include <string>
#include <string_view>

namespace strata::fetch {

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

/// The URL with any userinfo replaced by "***" — the only form of a URL that may appear in
/// output, logs and errors.
std::string redact_url(std::string_view url);
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
/// The PEP 503 project page URL: the index URL with one trailing "/", the normalized name, "/".
std::string project_page_url(std::string_view index_url, std::string_view normalized_name);
/// Decodes %XX escapes; malformed escapes are kept as written.
std::string percent_decode(std::string_view s);

}  // namespace strata::fetch
