#include "util/url.hpp"

#include <algorithm>
#include <vector>

#include "util/strings.hpp"

namespace strata::util {
namespace {

// A URI reference split per RFC 3986 appendix B; every component may be absent.
struct Ref {
  std::optional<std::string> scheme;
  std::optional<std::string> authority;  // including userinfo
  std::string path;
  std::optional<std::string> query;
  std::optional<std::string> fragment;
};

bool is_scheme_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  if (first) return false;
  return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

Ref split_ref(std::string_view s) {
  Ref r;
  if (auto hash = s.find('#'); hash != std::string_view::npos) {
    r.fragment = std::string(s.substr(hash + 1));
    s = s.substr(0, hash);
  }
  if (auto q = s.find('?'); q != std::string_view::npos) {
    r.query = std::string(s.substr(q + 1));
    s = s.substr(0, q);
  }
  std::size_t colon = s.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    bool ok = true;
    for (std::size_t i = 0; i < colon; ++i) ok = ok && is_scheme_char(s[i], i == 0);
    if (ok && s.substr(0, colon).find('/') == std::string_view::npos) {
      r.scheme = to_lower(s.substr(0, colon));
      s = s.substr(colon + 1);
    }
  }
  if (s.starts_with("//")) {
    s.remove_prefix(2);
    std::size_t slash = s.find('/');
    r.authority = std::string(s.substr(0, slash));
    s = slash == std::string_view::npos ? std::string_view{} : s.substr(slash);
  }
  r.path = std::string(s);
  return r;
}

std::string remove_dot_segments(std::string_view in) {
  std::vector<std::string> out;
  bool absolute = in.starts_with('/');
  auto segments = split(absolute ? in.substr(1) : in, '/');
  bool trailing_slash = false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    std::string_view seg = segments[i];
    bool last = i + 1 == segments.size();
    if (seg == ".") {
      trailing_slash = last;
      continue;
    }
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing_slash = last;
      continue;
    }
    out.emplace_back(seg);
    trailing_slash = false;
  }
  std::string result = absolute ? "/" : "";
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result += '/';
    result += out[i];
  }
  if (trailing_slash && !result.ends_with('/')) result += '/';
  return result;
}

std::string recompose(const Ref& r) {
  std::string out;
  if (r.scheme) out += *r.scheme + ":";
  if (r.authority) out += "//" + *r.authority;
  out += r.path;
  if (r.query) out += "?" + *r.query;
  if (r.fragment) out += "#" + *r.fragment;
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether an authority (without userinfo) is host[:port]: a port, when present, is digits.
bool authority_is_host_port(std::string_view authority) {
  std::size_t host_end = 0;
  if (authority.starts_with('[')) {
    host_end = authority.find(']');
    if (host_end == std::string_view::npos) return false;
  }
  auto colon = authority.find(':', host_end);
  if (colon == std::string_view::npos) return true;
  auto port = authority.substr(colon + 1);
  return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Where a URL quoted in a message or a JSON document ends.
bool ends_url_in_text(char c) {
  return is_space(c) || c == '"' || c == '\'' || c == '\\' || c == '<' || c == '>' || c == '`' ||
         static_cast<unsigned char>(c) < 0x20;
}

}  // namespace

std::optional<UrlParts> UrlParts::parse(std::string_view url) {
  Ref r = split_ref(url);
  if (!r.scheme || !r.authority) return std::nullopt;
  UrlParts p;
  p.scheme = *r.scheme;
  std::string_view auth = *r.authority;
  if (auto at = auth.rfind('@'); at != std::string_view::npos) {
    p.has_userinfo = true;
    p.userinfo = std::string(auth.substr(0, at));
    auth = auth.substr(at + 1);
  }
  p.authority = std::string(auth);
  p.path = r.path;
  p.has_query = r.query.has_value();
  p.query = r.query.value_or("");
  p.has_fragment = r.fragment.has_value();
  p.fragment = r.fragment.value_or("");
  return p;
}

std::string UrlParts::str(bool with_userinfo, bool with_fragment) const {
  std::string out = scheme + "://";
  if (with_userinfo && has_userinfo) out += userinfo + "@";
  out += authority + path;
  if (has_query) out += "?" + query;
  if (with_fragment && has_fragment) out += "#" + fragment;
  return out;
}

std::string without_userinfo(std::string_view url) {
  auto parts = UrlParts::parse(url);
  return parts ? parts->str(false, true) : std::string(url);
}

std::string strip_userinfo(std::string_view url) {
  auto parts = UrlParts::parse(url);
  if (!parts) {
    auto hash = url.find('#');
    return std::string(url.substr(0, hash));
  }
  return parts->str(false, false);
}

std::optional<UserInfo> url_userinfo(std::string_view url) {
  auto parts = UrlParts::parse(url);
  if (!parts || !parts->has_userinfo) return std::nullopt;
  std::string_view info = parts->userinfo;
  UserInfo out;
  auto colon = info.find(':');
  out.username = percent_decode(info.substr(0, colon));
  if (colon != std::string_view::npos) out.password = percent_decode(info.substr(colon + 1));
  return out;
}

std::string url_fragment(std::string_view url) {
  auto hash = url.find('#');
  return hash == std::string_view::npos ? std::string() : std::string(url.substr(hash + 1));
}

std::string url_hostname(std::string_view url) {
  auto parts = UrlParts::parse(url);
  if (!parts) return {};
  std::string_view auth = parts->authority;
  if (auth.starts_with('[')) {
    auto close = auth.find(']');
    return to_lower(auth.substr(1, close == std::string_view::npos ? auth.size() - 1 : close - 1));
  }
  return to_lower(auth.substr(0, auth.find(':')));
}

std::string url_origin(std::string_view url) {
  auto parts = UrlParts::parse(url);
  if (!parts) return {};
  std::string auth = to_lower(parts->authority);
  std::size_t host_end = auth.starts_with('[') ? auth.find(']') : 0;
  if (host_end == std::string::npos) host_end = 0;
  if (auth.find(':', host_end) == std::string::npos) {
    if (parts->scheme == "https")
      auth += ":443";
    else if (parts->scheme == "http")
      auth += ":80";
  }
  return auth;
}

std::string resolve_url(std::string_view base, std::string_view reference) {
  Ref b = split_ref(base);
  Ref r = split_ref(reference);
  Ref t;
  if (r.scheme) {
    t = r;
    t.path = remove_dot_segments(r.path);
  } else {
    t.scheme = b.scheme;
    if (r.authority) {
      t.authority = r.authority;
      t.path = remove_dot_segments(r.path);
      t.query = r.query;
    } else {
      t.authority = b.authority;
      if (r.path.empty()) {
        t.path = b.path;
        t.query = r.query ? r.query : b.query;
      } else {
        if (r.path.starts_with('/')) {
          t.path = remove_dot_segments(r.path);
        } else {
          std::string merged;
          if (b.authority && b.path.empty()) {
            merged = "/" + r.path;
          } else {
            auto slash = b.path.rfind('/');
            merged = (slash == std::string::npos ? std::string() : b.path.substr(0, slash + 1)) + r.path;
          }
          t.path = remove_dot_segments(merged);
        }
        t.query = r.query;
      }
    }
    t.fragment = r.fragment;
  }
  return recompose(t);
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool is_secret_query_name(std::string_view name) {
  const std::string lower = to_lower(percent_decode(name));
  for (std::string_view part : {"token", "secret", "passw", "credential", "signature", "auth", "apikey"})
    if (lower.find(part) != std::string::npos) return true;
  std::size_t start = 0;
  while (start <= lower.size()) {
    std::size_t end = lower.find_first_of("-_.", start);
    if (end == std::string::npos) end = lower.size();
    std::string_view word = std::string_view(lower).substr(start, end - start);
    for (std::string_view secret : {"sig", "key", "pwd", "pass", "session"})
      if (word == secret) return true;
    start = end + 1;
  }
  return false;
}

std::string redact_url(std::string_view url) {
  auto parts = UrlParts::parse(url);
  if (!parts) return std::string(url);
  if (parts->has_userinfo) {
    parts->userinfo = "***";
  } else if (!authority_is_host_port(parts->authority)) {
    // "https://user:pa/ss@host/": the authority ends at the unescaped "/" and holds no "@", but
    // it is the start of a password. Nothing up to the URL's last "@" is shown.
    std::string_view rest = url.substr(url.find("://") + 3);
    auto at = rest.rfind('@');
    return parts->scheme + "://***" + (at == std::string_view::npos ? "" : std::string(rest.substr(at)));
  }
  if (parts->has_query) {
    std::string query;
    const auto params = split(parts->query, '&');
    for (std::size_t i = 0; i < params.size(); ++i) {
      std::string_view param = params[i];
      if (i > 0) query += '&';
      auto eq = param.find('=');
      if (eq != std::string_view::npos && is_secret_query_name(param.substr(0, eq))) {
        query += param.substr(0, eq + 1);
        query += "***";
      } else {
        query += param;
      }
    }
    parts->query = std::move(query);
  }
  return parts->str();
}

std::string redact_urls_in(std::string_view text) {
  std::string out;
  std::size_t done = 0;  // text[0, done) is in `out`
  for (std::size_t sep = text.find("://"); sep != std::string_view::npos; sep = text.find("://", sep + 3)) {
    if (sep < done) continue;
    std::size_t start = sep;
    while (start > done && is_scheme_char(text[start - 1], false)) --start;
    while (start < sep && !is_scheme_char(text[start], true)) ++start;
    if (start == sep) continue;
    std::size_t end = sep + 3;
    while (end < text.size() && !ends_url_in_text(text[end])) ++end;
    out += text.substr(done, start - done);
    out += redact_url(text.substr(start, end - start));
    done = end;
  }
  out += text.substr(done);
  return out;
}

}  // namespace strata::util
