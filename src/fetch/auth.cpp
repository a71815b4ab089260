#include "fetch/auth.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "fetch/url.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::fetch {
namespace {

std::vector<std::string_view> netrc_tokens(std::string_view text) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && util::is_space(text[i])) ++i;
    if (i >= text.size()) break;
    if (text[i] == '#') {  // comment to end of line
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size() && !util::is_space(text[i])) ++i;
    std::string_view token = text.substr(start, i - start);
    if (token == "macdef") {  // a macro body runs to the next empty line
      auto end = text.find("\n\n", i);
      i = end == std::string_view::npos ? text.size() : end + 2;
      continue;
    }
    tokens.push_back(token);
  }
  return tokens;
}

std::string strip_one_newline(std::string s) {
  if (s.ends_with("\r\n"))
    s.resize(s.size() - 2);
  else if (s.ends_with('\n'))
    s.pop_back();
  return s;
}

}  // namespace

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string source_env_key(std::string_view source_name) {
  std::string key;
  key.reserve(source_name.size());
  for (char c : source_name) {
    if (c >= 'a' && c <= 'z')
      key += static_cast<char>(c - 'a' + 'A');
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      key += c;
    else
      key += '_';
  }
  return key;
}

std::optional<NetrcEntry> parse_netrc(std::string_view text, std::string_view hostname) {
  auto tokens = netrc_tokens(text);
  std::optional<NetrcEntry> fallback;
  for (std::size_t i = 0; i < tokens.size();) {
    bool is_machine = tokens[i] == "machine";
    bool is_default = tokens[i] == "default";
    if (!is_machine && !is_default) {
      ++i;
      continue;
    }
    bool matches = is_default;
    if (is_machine) {
      if (i + 1 >= tokens.size()) break;
      matches = util::iequals(tokens[i + 1], hostname);
      i += 2;
    } else {
      i += 1;
    }
    NetrcEntry entry;
    while (i < tokens.size() && tokens[i] != "machine" && tokens[i] != "default") {
      if (i + 1 < tokens.size() &&
          (tokens[i] == "login" || tokens[i] == "password" || tokens[i] == "account")) {
        if (tokens[i] == "login") entry.login = std::string(tokens[i + 1]);
        if (tokens[i] == "password") entry.password = std::string(tokens[i + 1]);
        i += 2;
      } else {
        ++i;
      }
    }
    if (matches && is_machine) return entry;
    if (matches && is_default && !fallback) fallback = entry;
  }
  return fallback;
}

Result<std::optional<std::string>> CredentialResolver::variable_or_file(const std::string& name) {
  if (auto value = env_(name); value && !value->empty()) return value;
  auto file_var = name + "_FILE";
  auto file = env_(file_var);
  if (!file || file->empty()) return std::optional<std::string>{};
  auto content = util::read_file(*file);
  if (!content) {
    return fail(ErrorKind::runtime, fmt::format("{} names {}, which cannot be read: {}", file_var, *file,
                                                content.error().message));
  }
  return std::optional<std::string>(strip_one_newline(std::move(*content)));
}

Result<std::optional<Credentials>> CredentialResolver::from_variables(std::string_view prefix,
                                                                      std::string_view source_name) {
  std::string base = fmt::format("{}_HTTP_BASIC_{}", prefix, source_env_key(source_name));
  auto user = variable_or_file(base + "_USERNAME");
  if (!user) return std::unexpected(user.error());
  auto pass = variable_or_file(base + "_PASSWORD");
  if (!pass) return std::unexpected(pass.error());
  if (!*user && !*pass) return std::optional<Credentials>{};
  Credentials c;
  c.username = user->value_or("");
  c.password = pass->value_or("");
  c.origin = fmt::format("{}_USERNAME/_PASSWORD", base);
  return std::optional<Credentials>(std::move(c));
}

std::string CredentialResolver::netrc_path() const {
  if (auto netrc = env_("NETRC"); netrc && !netrc->empty()) return *netrc;
  if (auto home = env_("HOME"); home && !home->empty()) return *home + "/.netrc";
  return {};
}

Result<std::optional<Credentials>> CredentialResolver::from_netrc(std::string_view url) {
  std::string path = netrc_path();
  if (path.empty()) return std::optional<Credentials>{};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::optional<Credentials>{};
  auto text = util::read_file(path);
  if (!text) return std::unexpected(text.error());
  auto entry = parse_netrc(*text, url_hostname(url));
  if (!entry) return std::optional<Credentials>{};
  return std::optional<Credentials>(
      Credentials{entry->login, entry->password, fmt::format("netrc ({})", path)});
}

Result<std::optional<Credentials>> CredentialResolver::for_source(std::string_view source_name,
                                                                  std::string_view index_url) {
  if (auto info = url_userinfo(index_url))
    return std::optional<Credentials>(
        Credentials{info->username, info->password, "the index URL's userinfo"});
  if (!source_name.empty()) {
    for (std::string_view prefix : {"STRATA", "POETRY"}) {
      auto found = from_variables(prefix, source_name);
      if (!found || *found) return found;
    }
  }
  return from_netrc(index_url);
}

Result<std::optional<Credentials>> CredentialResolver::for_file(std::string_view url,
                                                                std::string_view source_name,
                                                                std::string_view index_url) {
  if (auto info = url_userinfo(url))
    return std::optional<Credentials>(Credentials{info->username, info->password, "the file URL's userinfo"});
  if (!index_url.empty() && url_origin(url) == url_origin(index_url))
    return for_source(source_name, index_url);
  return from_netrc(url);
}

std::string CredentialResolver::hint(std::string_view source_name, std::string_view index_url) const {
  std::string netrc = netrc_path();
  if (netrc.empty()) netrc = "~/.netrc";
  std::string host = url_hostname(index_url);
  if (source_name.empty()) {
    return fmt::format(
        "credentials for {} can come from the URL (https://USER:PASSWORD@…) or a \"machine {}\" "
        "entry in {} (or the file NETRC names)",
        redact_url(index_url), host, netrc);
  }
  std::string key = source_env_key(source_name);
  return fmt::format(
      "credentials for source \"{}\" can come from STRATA_HTTP_BASIC_{}_USERNAME and "
      "STRATA_HTTP_BASIC_{}_PASSWORD (or POETRY_HTTP_BASIC_{}_USERNAME/_PASSWORD, or the same names "
      "with _FILE naming a file that holds the value), from the URL (https://USER:PASSWORD@…), or from "
      "a \"machine {}\" entry in {} (or the file NETRC names)",
      source_name, key, key, key, host, netrc);
}

}  // namespace strata::fetch
