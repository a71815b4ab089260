#include "lock/content_hash.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "lock/toml_read.hpp"
#include "pep/version.hpp"

namespace strata::lock {
namespace {

// Python's json.dumps string escaping with ensure_ascii=True.
void dump_string(std::string_view s, std::string& out) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            if (c == 0x7f) {
              out.push_back(static_cast<char>(c));
            } else {
              out += fmt::format("\\u{:04x}", c);
            }
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence (toml++ has validated the document's UTF-8).
    std::size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    std::uint32_t cp = c & (len == 4 ? 0x07u : len == 3 ? 0x0fu : 0x1fu);
    for (std::size_t k = 1; k < len && i + k < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3fu);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += fmt::format("\\u{:04x}\\u{:04x}", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      out += fmt::format("\\u{:04x}", cp);
    }
  }
  out.push_back('"');
}

// Python's float repr as json.dumps writes it.
std::string dump_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  std::string text = fmt::format("{}", d);
  // Python switches to exponent form below 1e-4 and from 1e16; fmt's shortest form agrees on the
  // digits but not always on the notation.
  double magnitude = std::fabs(d);
  if (magnitude != 0 && (magnitude < 1e-4 || magnitude >= 1e16)) {
    text = fmt::format("{:e}", d);
    // Use the shortest digits: reformat from the shortest representation.
    std::string shortest = fmt::format("{}", d);
    if (shortest.find('e') != std::string::npos) text = shortest;
    auto e = text.find('e');
    if (e != std::string::npos && text[e + 2] == '0' && text.size() > e + 3) text.erase(e + 2, 1);
    return text;
  }
  if (text.find('e') != std::string::npos) text = fmt::format("{:f}", d);
  if (text.find('.') == std::string::npos) text += ".0";
  return text;
}

// json.dumps' separators: (", ", ": ") by default, (",", ":") for pipenv's compact dump.
struct Separators {
  std::string_view item = ", ";
  std::string_view key = ": ";
};

void dump(const toml::node& node, std::string& out, const Separators& sep = {}) {
  if (const auto* t = node.as_table()) {
    std::map<std::string_view, const toml::node*> sorted;
    for (const auto& [key, value] : *t) sorted.emplace(key.str(), &value);
    out.push_back('{');
    bool first = true;
    for (const auto& [key, value] : sorted) {
      if (!first) out += sep.item;
      first = false;
      dump_string(key, out);
      out += sep.key;
      dump(*value, out, sep);
    }
    out.push_back('}');
  } else if (const auto* a = node.as_array()) {
    out.push_back('[');
    bool first = true;
    for (const auto& item : *a) {
      if (!first) out += sep.item;
      first = false;
      dump(item, out, sep);
    }
    out.push_back(']');
  } else if (const auto* s = node.as_string()) {
    dump_string(s->get(), out);
  } else if (const auto* i = node.as_integer()) {
    out += std::to_string(i->get());
  } else if (const auto* f = node.as_floating_point()) {
    out += dump_float(f->get());
  } else if (const auto* b = node.as_boolean()) {
    out += b->get() ? "true" : "false";
  } else {
    // Dates and times: Poetry itself cannot hash them (json.dumps raises); keep their TOML text.
    std::ostringstream text;
    if (const auto* d = node.as_date()) text << d->get();
    if (const auto* tm = node.as_time()) text << tm->get();
    if (const auto* dt = node.as_date_time()) text << dt->get();
    dump_string(text.str(), out);
  }
}

// Writes `{"k": v, ...}` for already-sorted entries where a null value is written as null.
std::string dump_entries(const std::map<std::string, std::string>& entries) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : entries) {
    if (!first) out += ", ";
    first = false;
    dump_string(key, out);
    out += ": ";
    out += value;
  }
  out += "}";
  return out;
}

std::string dumped(const toml::node* node) {
  if (!node) return "null";
  std::string out;
  dump(*node, out);
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string hashed_json(const toml::table& doc, ContentHashStyle style) {
  const toml::table* tool = doc.get_as<toml::table>("tool");
  const toml::table* poetry = tool ? tool->get_as<toml::table>("poetry") : nullptr;
  auto poetry_key = [&](std::string_view key) -> const toml::node* {
    return poetry ? poetry->get(key) : nullptr;
  };
  static constexpr std::string_view legacy[] = {"dependencies", "source", "extras", "dev-dependencies"};

  if (style == ContentHashStyle::poetry_1_1 || style == ContentHashStyle::poetry_1_2) {
    std::map<std::string, std::string> entries;
    for (auto key : legacy) entries[std::string(key)] = dumped(poetry_key(key));
    if (style == ContentHashStyle::poetry_1_2 && poetry_key("group"))
      entries["group"] = dumped(poetry_key("group"));
    return dump_entries(entries);
  }
  const toml::table* project = doc.get_as<toml::table>("project");
  std::map<std::string, std::string> project_entries;
  for (std::string_view key : {"requires-python", "dependencies", "optional-dependencies"}) {
    if (const toml::node* value = project ? project->get(key) : nullptr)
      project_entries[std::string(key)] = dumped(value);
  }
  const toml::node* groups = style == ContentHashStyle::poetry_2_3 ? doc.get("dependency-groups") : nullptr;
  // An empty [dependency-groups] is left out, as Poetry does for compatibility.
  if (groups && groups->is_table() && groups->as_table()->empty()) groups = nullptr;
  std::map<std::string, std::string> poetry_entries;
  for (auto key : legacy) {
    const toml::node* value = poetry_key(key);
    if (!value && (!project_entries.empty() || groups)) continue;
    poetry_entries[std::string(key)] = dumped(value);
  }
  if (poetry_key("group")) poetry_entries["group"] = dumped(poetry_key("group"));
  if (project_entries.empty() && !groups) return dump_entries(poetry_entries);
  std::map<std::string, std::string> top;
  if (!project_entries.empty()) top["project"] = dump_entries(project_entries);
  if (groups) top["dependency-groups"] = dumped(groups);
  top["tool"] = dump_entries({{"poetry", dump_entries(poetry_entries)}});
  return dump_entries(top);
}

}  // namespace

std::vector<ContentHashStyle> content_hash_styles(std::string_view poetry_version) {
  auto version = pep::Version::parse(poetry_version);
  if (poetry_version.empty() || !version || version->release().empty()) {
    return {ContentHashStyle::poetry_2_3, ContentHashStyle::poetry_2_0, ContentHashStyle::poetry_1_2,
            ContentHashStyle::poetry_1_1};
  }
  const auto& r = version->release();
  std::uint64_t major = r[0], minor = r.size() > 1 ? r[1] : 0;
  if (major < 1 || (major == 1 && minor < 2)) return {ContentHashStyle::poetry_1_1};
  if (major == 1) return {ContentHashStyle::poetry_1_2};
  if (major == 2 && minor < 3) return {ContentHashStyle::poetry_2_0};
  // Poetry 2.3+ accepts a lock from before 2.3 whose hash left out dependency groups.
  return {ContentHashStyle::poetry_2_3, ContentHashStyle::poetry_2_0};
}

Result<std::string> poetry_hashed_json(std::string_view pyproject_text, std::string_view source_name,
                                       ContentHashStyle style) {
  auto doc = detail::parse_toml(pyproject_text, source_name);
  if (!doc) return std::unexpected(doc.error());
  return hashed_json(*doc, style);
}

Result<std::string> poetry_content_hash(std::string_view pyproject_text, std::string_view source_name,
                                        ContentHashStyle style) {
  auto json = poetry_hashed_json(pyproject_text, source_name, style);
  if (!json) return std::unexpected(json.error());
  return sha256_hex(*json);
}

Result<bool> content_hash_matches(const Lock& lock, std::string_view pyproject_text,
                                  std::string_view source_name) {
  auto doc = detail::parse_toml(pyproject_text, source_name);
  if (!doc) return std::unexpected(doc.error());
  for (auto style : content_hash_styles(lock.created_by)) {
    if (sha256_hex(hashed_json(*doc, style)) == lock.content_hash) return true;
  }
  return false;
}

Result<std::string> pipfile_hash(std::string_view pipfile_text, std::string_view source_name) {
  auto doc = detail::parse_toml(pipfile_text, source_name);
  if (!doc) return std::unexpected(doc.error());
  toml::table meta;
  if (const toml::node* source = doc->get("source")) {
    meta.insert("sources", *source);
  } else {
    // plette's DEFAULT_SOURCE_TOML, prepended when a Pipfile names no source.
    toml::array sources;
    sources.push_back(
        toml::table{{"name", "pypi"}, {"url", "https://pypi.org/simple"}, {"verify_ssl", true}});
    meta.insert("sources", std::move(sources));
  }
  if (const toml::node* requires_ = doc->get("requires"))
    meta.insert("requires", *requires_);
  else
    meta.insert("requires", toml::table{});
  toml::table data;
  data.insert("_meta", std::move(meta));
  for (auto [key, section] : {std::pair{"default", "packages"}, std::pair{"develop", "dev-packages"}}) {
    if (const toml::node* packages = doc->get(section))
      data.insert(key, *packages);
    else
      data.insert(key, toml::table{});
  }
  static constexpr std::string_view kSections[] = {
      "source", "packages", "dev-packages", "requires", "scripts", "pipfile", "pipenv", "default", "develop"};
  for (const auto& [key, value] : *doc) {
    if (std::find(std::begin(kSections), std::end(kSections), key.str()) != std::end(kSections)) continue;
    data.insert(key, value);
  }
  std::string out;
  dump(data, out, Separators{",", ":"});
  return sha256_hex(out);
}

}  // namespace strata::lock
