#include "fetch/simple_api.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fetch/url.hpp"
#include "util/strings.hpp"

namespace strata::fetch {
namespace {

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x110000) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Splits "sha256=abc" from a URL fragment into the hash map.
void take_hash_fragment(std::string_view fragment, std::map<std::string, std::string>& hashes) {
  auto eq = fragment.find('=');
  if (eq == std::string_view::npos || eq == 0) return;
  hashes[util::to_lower(fragment.substr(0, eq))] = util::to_lower(fragment.substr(eq + 1));
}

std::string last_path_segment(std::string_view url) {
  std::string_view s = url.substr(0, url.find_first_of("?#"));
  auto slash = s.rfind('/');
  return percent_decode(slash == std::string_view::npos ? s : s.substr(slash + 1));
}

struct Tag {
  std::string name;  // lower-cased
  bool closing = false;
  std::map<std::string, std::string> attributes;  // names lower-cased, values unescaped
  std::size_t end = 0;                            // offset just past '>'
};

bool is_name_char(char c) { return !util::is_space(c) && c != '>' && c != '/' && c != '=' && c != '<'; }

// Parses the tag that starts at body[pos] == '<'; nullopt when it is not a tag.
std::optional<Tag> parse_tag(std::string_view body, std::size_t pos) {
  std::size_t i = pos + 1;
  Tag tag;
  if (i < body.size() && body[i] == '/') {
    tag.closing = true;
    ++i;
  }
  std::size_t start = i;
  while (i < body.size() && is_name_char(body[i])) ++i;
  if (i == start) return std::nullopt;
  tag.name = util::to_lower(body.substr(start, i - start));
  while (i < body.size()) {
    while (i < body.size() && (util::is_space(body[i]) || body[i] == '/')) ++i;
    if (i >= body.size()) break;
    if (body[i] == '>') {
      tag.end = i + 1;
      return tag;
    }
    std::size_t name_start = i;
    while (i < body.size() && is_name_char(body[i])) ++i;
    if (i == name_start) {  // stray character
      ++i;
      continue;
    }
    std::string name = util::to_lower(body.substr(name_start, i - name_start));
    while (i < body.size() && util::is_space(body[i])) ++i;
    std::string value;
    if (i < body.size() && body[i] == '=') {
      ++i;
      while (i < body.size() && util::is_space(body[i])) ++i;
      if (i < body.size() && (body[i] == '"' || body[i] == '\'')) {
        char quote = body[i++];
        std::size_t close = body.find(quote, i);
        if (close == std::string_view::npos) return std::nullopt;
        value = html_unescape(body.substr(i, close - i));
        i = close + 1;
      } else {
        std::size_t vstart = i;
        while (i < body.size() && !util::is_space(body[i]) && body[i] != '>') ++i;
        value = html_unescape(body.substr(vstart, i - vstart));
      }
    }
    tag.attributes.emplace(std::move(name), std::move(value));
  }
  return std::nullopt;
}

}  // namespace

const IndexFile* ProjectPage::find(std::string_view filename) const {
  for (const auto& file : files)
    if (file.filename == filename) return &file;
  return nullptr;
}

const IndexFile* ProjectPage::find_hash(std::string_view algorithm, std::string_view hex) const {
  const std::string want = util::to_lower(hex);
  for (const auto& file : files) {
    auto it = file.hashes.find(std::string(algorithm));
    if (it != file.hashes.end() && it->second == want) return &file;
  }
  return nullptr;
}

std::string html_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    auto semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i];
      continue;
    }
    std::string_view entity = s.substr(i + 1, semi - i - 1);
    if (entity == "amp") {
      out += '&';
    } else if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (entity.size() > 1 && entity[0] == '#') {
      bool hex = entity[1] == 'x' || entity[1] == 'X';
      std::string digits(entity.substr(hex ? 2 : 1));
      char* end = nullptr;
      unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || end != digits.c_str() + digits.size()) {
        out += s[i];
        continue;
      }
      append_utf8(out, cp);
    } else {
      out += s[i];
      continue;
    }
    i = semi;
  }
  return out;
}

Result<ProjectPage> parse_json_page(std::string_view body, std::string_view page_url) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(ErrorKind::runtime, fmt::format("{}: the project page is not valid JSON", page_url));
  auto bad = [&](std::string_view what) {
    return fail(ErrorKind::runtime, fmt::format("{}: invalid PEP 691 project page: {}", page_url, what));
  };
  if (auto meta = doc.find("meta"); meta != doc.end() && meta->is_object()) {
    if (auto version = meta->find("api-version"); version != meta->end() && version->is_string()) {
      std::string v = version->get<std::string>();
      if (!v.starts_with("1.") && v != "1") return bad(fmt::format("unsupported api-version {}", v));
    }
  }
  auto files = doc.find("files");
  if (files == doc.end() || !files->is_array()) return bad("no \"files\" list");
  ProjectPage page;
  page.url = std::string(page_url);
  for (const auto& entry : *files) {
    if (!entry.is_object()) return bad("a file entry is not an object");
    auto filename = entry.find("filename");
    auto url = entry.find("url");
    if (filename == entry.end() || !filename->is_string() || url == entry.end() || !url->is_string())
      return bad("a file entry lacks \"filename\" or \"url\"");
    IndexFile file;
    file.filename = filename->get<std::string>();
    std::string absolute = resolve_url(page_url, url->get<std::string>());
    take_hash_fragment(url_fragment(absolute), file.hashes);
    file.url = absolute.substr(0, absolute.find('#'));
    if (auto hashes = entry.find("hashes"); hashes != entry.end() && hashes->is_object()) {
      for (const auto& [algo, digest] : hashes->items())
        if (digest.is_string()) file.hashes[util::to_lower(algo)] = util::to_lower(digest.get<std::string>());
    }
    if (auto rp = entry.find("requires-python"); rp != entry.end() && rp->is_string())
      file.requires_python = rp->get<std::string>();
    if (auto yanked = entry.find("yanked"); yanked != entry.end())
      file.yanked = yanked->is_string() || (yanked->is_boolean() && yanked->get<bool>());
    if (auto size = entry.find("size"); size != entry.end() && size->is_number_unsigned())
      file.size = size->get<std::uint64_t>();
    for (const char* key : {"core-metadata", "dist-info-metadata"}) {
      if (auto m = entry.find(key); m != entry.end())
        file.has_metadata = file.has_metadata || m->is_object() || (m->is_boolean() && m->get<bool>());
    }
    page.files.push_back(std::move(file));
  }
  return page;
}

Result<ProjectPage> parse_html_page(std::string_view body, std::string_view page_url) {
  ProjectPage page;
  page.url = std::string(page_url);
  std::string base(page_url);
  std::size_t pos = 0;
  while ((pos = body.find('<', pos)) != std::string_view::npos) {
    if (body.substr(pos).starts_with("<!--")) {
      auto end = body.find("-->", pos + 4);
      if (end == std::string_view::npos) break;
      pos = end + 3;
      continue;
    }
    auto tag = parse_tag(body, pos);
    if (!tag) {
      ++pos;
      continue;
    }
    pos = tag->end;
    if (tag->closing) continue;
    if (tag->name == "base") {
      if (auto href = tag->attributes.find("href"); href != tag->attributes.end() && !href->second.empty())
        base = resolve_url(page_url, href->second);
      continue;
    }
    if (tag->name != "a") continue;
    auto href = tag->attributes.find("href");
    if (href == tag->attributes.end() || href->second.empty()) continue;
    // The anchor text is the file name (PEP 503); nested markup is not expected.
    std::string text;
    auto close = body.find('<', pos);
    if (close != std::string_view::npos) text = html_unescape(util::trim(body.substr(pos, close - pos)));
    IndexFile file;
    std::string absolute = resolve_url(base, href->second);
    take_hash_fragment(url_fragment(absolute), file.hashes);
    file.url = absolute.substr(0, absolute.find('#'));
    file.filename = text.empty() ? last_path_segment(file.url) : text;
    if (auto rp = tag->attributes.find("data-requires-python"); rp != tag->attributes.end())
      file.requires_python = rp->second;
    file.yanked = tag->attributes.contains("data-yanked");
    file.has_metadata =
        tag->attributes.contains("data-dist-info-metadata") || tag->attributes.contains("data-core-metadata");
    page.files.push_back(std::move(file));
  }
  return page;
}

Result<ProjectPage> parse_project_page(std::string_view body, std::string_view content_type,
                                       std::string_view page_url) {
  std::string type = util::to_lower(util::trim(content_type.substr(0, content_type.find(';'))));
  if (type == "application/vnd.pypi.simple.v1+json" || type == "application/json")
    return parse_json_page(body, page_url);
  if (type.empty() && util::trim(body).starts_with('{')) return parse_json_page(body, page_url);
  return parse_html_page(body, page_url);
}

}  // namespace strata::fetch
