#include "oci/registry_auth.hpp"

#include <cstdlib>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::oci {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> default_auth_files(const fetch::EnvLookup& env) {
  std::vector<fs::path> files;
  if (auto v = env("REGISTRY_AUTH_FILE"); v && !v->empty()) {
    files.emplace_back(*v);
  } else if (auto run = env("XDG_RUNTIME_DIR"); run && !run->empty()) {
    files.push_back(fs::path(*run) / "containers" / "auth.json");
  }
  if (auto dc = env("DOCKER_CONFIG"); dc && !dc->empty())
    files.push_back(fs::path(*dc) / "config.json");
  else if (auto home = env("HOME"); home && !home->empty())
    files.push_back(fs::path(*home) / ".docker" / "config.json");
  return files;
}

// The keys an auth file may use for this registry, most specific first.
std::vector<std::string> auth_keys(std::string_view registry, std::string_view repository) {
  std::vector<std::string> keys;
  std::string repo(repository);
  while (!repo.empty()) {
    keys.push_back(fmt::format("{}/{}", registry, repo));
    auto slash = repo.rfind('/');
    repo = slash == std::string::npos ? std::string() : repo.substr(0, slash);
  }
  std::vector<std::string> hosts{std::string(registry)};
  if (registry == "registry-1.docker.io") hosts = {"docker.io", "index.docker.io", "registry-1.docker.io"};
  for (const auto& host : hosts) {
    keys.push_back(host);
    keys.push_back("https://" + host);
    keys.push_back("http://" + host);
    keys.push_back("https://" + host + "/v1/");
    keys.push_back("https://" + host + "/v2/");
  }
  return keys;
}

// Credentials from one auth file's JSON; nullopt when it has none for the registry.
Result<std::optional<RegistryCredentials>> from_auth_json(const nlohmann::json& doc,
                                                          const std::string& origin,
                                                          std::string_view registry,
                                                          std::string_view repository) {
  auto keys = auth_keys(registry, repository);
  const nlohmann::json* auths = doc.contains("auths") && doc["auths"].is_object() ? &doc["auths"] : nullptr;
  if (auths) {
    for (const auto& key : keys) {
      auto it = auths->find(key);
      if (it == auths->end() || !it->is_object()) continue;
      const auto& entry = *it;
      RegistryCredentials c;
      c.origin = fmt::format("{} (auths \"{}\")", origin, key);
      if (entry.contains("auth") && entry["auth"].is_string() && !entry["auth"].get<std::string>().empty()) {
        auto decoded = base64_decode(entry["auth"].get<std::string>());
        auto colon = decoded ? decoded->find(':') : std::string::npos;
        if (colon == std::string::npos)
          return fail(ErrorKind::usage,
                      fmt::format("{}: the \"auth\" value is not base64 of \"user:password\"", c.origin));
        c.username = decoded->substr(0, colon);
        c.password = decoded->substr(colon + 1);
        return c;
      }
      if (entry.contains("username") && entry["username"].is_string() && entry.contains("password") &&
          entry["password"].is_string()) {
        c.username = entry["username"].get<std::string>();
        c.password = entry["password"].get<std::string>();
        return c;
      }
      if (entry.contains("identitytoken"))
        return fail(
            ErrorKind::usage,
            fmt::format("{}: an \"identitytoken\" (OAuth refresh token) is not supported; give a username "
                        "and password or token in \"auth\"",
                        c.origin));
    }
  }
  if (doc.contains("credHelpers") && doc["credHelpers"].is_object())
    for (const auto& key : keys)
      if (auto it = doc["credHelpers"].find(key); it != doc["credHelpers"].end())
        return fail(
            ErrorKind::usage,
            fmt::format("{}: credHelpers names docker-credential-{} for {}; credential helpers are not "
                        "supported: put the credentials in \"auths\" or pass --creds-file FILE",
                        origin, it->is_string() ? it->get<std::string>() : "?", key));
  if (doc.contains("credsStore") && doc["credsStore"].is_string() && auths)
    for (const auto& key : keys)
      if (auths->contains(key))
        return fail(
            ErrorKind::usage,
            fmt::format("{}: the credentials for {} are in the credential store docker-credential-{} "
                        "(credsStore), which is not supported: put them in \"auths\" or pass --creds-file "
                        "FILE",
                        origin, key, doc["credsStore"].get<std::string>()));
  return std::optional<RegistryCredentials>{};
}

Result<std::optional<RegistryCredentials>> from_file(const fs::path& path, const std::string& origin,
                                                     std::string_view registry, std::string_view repository,
                                                     bool plain_allowed) {
  auto text = util::read_file(path);
  if (!text) return std::unexpected(text.error());
  std::string_view body = util::trim(*text);
  if (plain_allowed && !body.starts_with("{")) {
    if (body.find('\n') != std::string_view::npos || body.find(':') == std::string_view::npos)
      return fail(ErrorKind::usage,
                  fmt::format("{}: expected a Docker/containers auth file ({{\"auths\": …}}) or one line "
                              "\"user:password\"",
                              origin));
    auto colon = body.find(':');
    return RegistryCredentials{std::string(body.substr(0, colon)), std::string(body.substr(colon + 1)),
                               origin};
  }
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(ErrorKind::usage,
                fmt::format("{}: not a JSON object (a Docker config.json or containers auth.json)", origin));
  return from_auth_json(doc, origin, registry, repository);
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  std::size_t pads = 0;
  for (char c : text) {
    if (util::is_space(c)) continue;
    if (c == '=') {
      ++pads;
      continue;
    }
    if (pads) return std::nullopt;
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (pads > 2) return std::nullopt;
  return out;
}

Result<std::optional<RegistryCredentials>> find_registry_credentials(
    std::string_view registry, std::string_view repository, const std::optional<fs::path>& creds_file,
    const fetch::EnvLookup& env) {
  if (creds_file) {
    std::string origin = fmt::format("--creds-file {}", creds_file->string());
    auto found = from_file(*creds_file, origin, registry, repository, true);
    if (!found) return found;
    if (!*found)
      return fail(ErrorKind::usage, fmt::format("{}: no \"auths\" entry for {}", origin, registry));
    return found;
  }
  for (const auto& path : default_auth_files(env)) {
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    auto found = from_file(path, path.string(), registry, repository, false);
    if (!found || *found) return found;
  }
  return std::optional<RegistryCredentials>{};
}

std::string credential_sources_hint(const fetch::EnvLookup& env) {
  std::vector<std::string> names{"--creds-file FILE"};
  for (const auto& path : default_auth_files(env)) names.push_back(path.string());
  return util::join(names, ", ");
}

std::optional<Challenge> parse_challenge(std::string_view header) {
  std::string_view s = util::trim(header);
  auto space = s.find(' ');
  Challenge c;
  c.scheme = util::to_lower(s.substr(0, space));
  if (c.scheme.empty()) return std::nullopt;
  if (space == std::string_view::npos) return c;
  s = s.substr(space + 1);
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || util::is_space(s[i]))) ++i;
    auto eq = s.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string name = util::to_lower(util::trim(s.substr(i, eq - i)));
    i = eq + 1;
    while (i < s.size() && util::is_space(s[i])) ++i;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i++]);
      }
      ++i;
    } else {
      while (i < s.size() && s[i] != ',') value.push_back(s[i++]);
      value = std::string(util::trim(value));
    }
    c.params[name] = value;
  }
  return c;
}

}  // namespace strata::oci
