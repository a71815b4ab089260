#include "oci/reference.hpp"

#include <fmt/format.h>

#include "util/strings.hpp"

namespace strata::oci {
namespace {

bool is_repository_component(std::string_view c) {
  if (c.empty()) return false;
  for (char ch : c)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
      return false;
  return c.front() != '.' && c.front() != '_' && c.front() != '-' && c.back() != '.' && c.back() != '_' &&
         c.back() != '-';
}

bool is_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-') return false;
  for (char ch : t)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
          ch == '_' || ch == '-'))
      return false;
  return true;
}

}  // namespace

bool is_sha256_digest(std::string_view digest) {
  if (!digest.starts_with("sha256:") || digest.size() != 7 + 64) return false;
  for (char c : digest.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<Reference> Reference::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorKind::usage, fmt::format("image reference \"{}\": {}", text, why));
  };
  Reference ref;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!is_sha256_digest(ref.digest)) return bad("the digest is not sha256:<64 lower-case hex digits>");
  }
  if (rest.empty()) return bad("no repository");
  auto slash = rest.find('/');
  std::string_view first = rest.substr(0, slash);
  if (slash != std::string_view::npos &&
      (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
       first == "localhost")) {
    ref.registry = std::string(first);
    rest = rest.substr(slash + 1);
  } else {
    ref.registry = "docker.io";
  }
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!is_tag(ref.tag)) return bad("the tag is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  }
  for (auto component : util::split(rest, '/'))
    if (!is_repository_component(component))
      return bad(fmt::format("\"{}\" is not a repository name component (lower-case letters, digits, ._-)",
                             component));
  ref.repository = std::string(rest);
  if (ref.registry == "docker.io" || ref.registry == "index.docker.io") {
    ref.registry = "registry-1.docker.io";
    if (ref.repository.find('/') == std::string::npos) ref.repository = "library/" + ref.repository;
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string Reference::str() const {
  std::string s = registry + "/" + repository;
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

}  // namespace strata::oci
