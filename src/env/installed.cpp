#include "env/installed.hpp"

#include <algorithm>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "pep/name.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::env {
namespace fs = std::filesystem;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// RFC 822 field names: printable ASCII except ':' (what email.feedparser's headerRE accepts).
bool is_field_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= '!' && c <= '~' && c != ':'; });
}

std::string_view strip_leading_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

}  // namespace

MetadataHeaders MetadataHeaders::parse(std::string_view text) {
  MetadataHeaders headers;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? text.size() - pos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the blank line that starts the body
    if (line.front() == ' ' || line.front() == '\t') {
      // A continuation line: unfold by dropping the line break and keeping the blanks.
      if (headers.fields_.empty()) break;
      headers.fields_.back().second += line;
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_field_name(line.substr(0, colon))) break;
    headers.fields_.emplace_back(std::string(line.substr(0, colon)),
                                 std::string(strip_leading_blanks(line.substr(colon + 1))));
  }
  for (auto& field : headers.fields_) field.second = std::string(util::trim(field.second));
  return headers;
}

const std::string* MetadataHeaders::get(std::string_view name) const {
  for (const auto& [key, value] : fields_) {
    if (util::iequals(key, name)) return &value;
  }
  return nullptr;
}

std::vector<std::string> MetadataHeaders::get_all(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : fields_) {
    if (util::iequals(key, name)) values.push_back(value);
  }
  return values;
}

Result<std::vector<RecordEntry>> parse_record(std::string_view text, std::string_view source) {
  // Python's csv.reader with the default "excel" dialect, strict=False.
  enum class State { start_field, in_field, in_quoted, quote_in_quoted };
  std::vector<RecordEntry> entries;
  std::vector<std::string> row;
  std::string field;
  State state = State::start_field;
  std::size_t line = 1;
  std::size_t row_line = 1;
  bool row_started = false;

  auto end_row = [&]() -> Result<void> {
    row.push_back(std::move(field));
    field.clear();
    bool blank = row.size() == 1 && row[0].empty() && !row_started;
    if (!blank) {
      if (row.size() > 3)
        return fail(ErrorKind::runtime,
                    fmt::format("{}:{}: expected at most 3 fields (path, hash, size), got {}", source,
                                row_line, row.size()));
      if (row[0].empty()) return fail(ErrorKind::runtime, fmt::format("{}:{}: empty path", source, row_line));
      RecordEntry entry;
      entry.path = std::move(row[0]);
      if (row.size() > 1) entry.hash = std::move(row[1]);
      if (row.size() > 2) entry.size = std::move(row[2]);
      entries.push_back(std::move(entry));
    }
    row.clear();
    row_started = false;
    return {};
  };

  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool newline = c == '\n' || c == '\r';
    if (!row_started && row.empty() && field.empty() && state == State::start_field) row_line = line;
    switch (state) {
      case State::start_field:
      case State::in_field:
        if (c == '"' && state == State::start_field) {
          state = State::in_quoted;
          row_started = true;
        } else if (c == ',') {
          row.push_back(std::move(field));
          field.clear();
          row_started = true;
          state = State::start_field;
        } else if (newline) {
          // A CR LF pair ends the row at CR; the LF then reads as a blank row, skipped as csv does.
          if (auto ended = end_row(); !ended) return std::unexpected(ended.error());
          state = State::start_field;
        } else {
          field += c;
          row_started = true;
          state = State::in_field;
        }
        break;
      case State::in_quoted:
        if (c == '"')
          state = State::quote_in_quoted;
        else
          field += c;
        break;
      case State::quote_in_quoted:
        if (c == '"') {
          field += '"';
          state = State::in_quoted;
        } else if (c == ',') {
          row.push_back(std::move(field));
          field.clear();
          state = State::start_field;
        } else if (newline) {
          if (auto ended = end_row(); !ended) return std::unexpected(ended.error());
          state = State::start_field;
        } else {
          field += c;  // non-strict csv keeps text after a closing quote
          state = State::in_field;
        }
        break;
    }
    if (c == '\n' || (c == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))) ++line;
  }
  if (state == State::in_quoted)
    return fail(ErrorKind::runtime, fmt::format("{}:{}: unterminated quoted field", source, row_line));
  if (row_started || !field.empty() || !row.empty()) {
    if (auto ended = end_row(); !ended) return std::unexpected(ended.error());
  }
  return entries;
}

std::vector<std::string> requires_from_egg_info(std::string_view requires_txt) {
  std::vector<std::string> out;
  std::string section;
  for (std::string_view raw : util::split(requires_txt, '\n')) {
    std::string_view line = util::trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      if (line.back() == ']') section = std::string(util::trim(line.substr(1, line.size() - 2)));
      continue;
    }
    std::string_view extra = section;
    std::string markers;
    if (std::size_t colon = section.find(':'); colon != std::string::npos) {
      extra = std::string_view(section).substr(0, colon);
      markers = section.substr(colon + 1);
    }
    if (!extra.empty() && !markers.empty()) markers = "(" + markers + ")";
    std::vector<std::string> conditions;
    if (!markers.empty()) conditions.push_back(markers);
    if (!extra.empty()) conditions.push_back(fmt::format("extra == \"{}\"", extra));
    std::string requirement(line);
    if (requirement.find('@') != std::string::npos) requirement += ' ';  // a URL needs a space
    if (!conditions.empty()) requirement += "; " + util::join(conditions, " and ");
    out.push_back(std::move(requirement));
  }
  return out;
}

void InstalledSet::add(InstalledDistribution distribution) {
  if (find(distribution.name) != nullptr)
    shadowed.push_back(std::move(distribution));
  else
    distributions.push_back(std::move(distribution));
}

const InstalledDistribution* InstalledSet::find(std::string_view name) const {
  std::string normalized = pep::normalize_name(name);
  for (const auto& distribution : distributions) {
    if (distribution.name == normalized) return &distribution;
  }
  return nullptr;
}

namespace {

std::string first_line(std::string_view text) {
  std::size_t end = text.find('\n');
  return std::string(util::trim(text.substr(0, end)));
}

bool path_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Reads one metadata directory (or egg-info file); a problem message on failure.
Result<InstalledDistribution> read_distribution(const fs::path& path, MetadataFormat format, bool is_file) {
  InstalledDistribution distribution;
  distribution.path = path;
  distribution.format = format;
  fs::path metadata_path =
      is_file ? path : path / (format == MetadataFormat::dist_info ? "METADATA" : "PKG-INFO");
  auto text = util::read_file(metadata_path);
  if (!text) return std::unexpected(text.error());
  MetadataHeaders headers = MetadataHeaders::parse(*text);
  const std::string* name = headers.get("Name");
  const std::string* version = headers.get("Version");
  if (name == nullptr || name->empty())
    return fail(ErrorKind::runtime, fmt::format("{}: no Name header", metadata_path.string()));
  if (version == nullptr || version->empty())
    return fail(ErrorKind::runtime, fmt::format("{}: no Version header", metadata_path.string()));
  distribution.display_name = *name;
  distribution.name = pep::normalize_name(*name);
  distribution.version = *version;
  distribution.requires_dist = headers.get_all("Requires-Dist");
  if (is_file) return distribution;

  if (fs::path installer = path / "INSTALLER"; path_exists(installer)) {
    auto content = util::read_file(installer);
    if (!content) return std::unexpected(content.error());
    distribution.installer = first_line(*content);
  }
  distribution.has_direct_url = path_exists(path / "direct_url.json");
  if (format == MetadataFormat::egg_info && distribution.requires_dist.empty()) {
    if (fs::path requires_txt = path / "requires.txt"; path_exists(requires_txt)) {
      auto content = util::read_file(requires_txt);
      if (!content) return std::unexpected(content.error());
      distribution.requires_dist = requires_from_egg_info(*content);
    }
  }
  return distribution;
}

/// The directories the `.pth` files of `site_dir` add to sys.path, as site.addpackage reads them
/// (sorted by file name; comments, blank lines and `import` lines skipped; relative to the site
/// dir; only existing directories).
std::vector<fs::path> pth_dirs(const fs::path& site_dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(site_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (ends_with(it->path().filename().string(), ".pth") && it->is_regular_file(ec))
      files.push_back(it->path());
  std::sort(files.begin(), files.end());
  std::vector<fs::path> dirs;
  for (const auto& file : files) {
    auto text = util::read_file(file);
    if (!text) continue;  // site.py skips a .pth it cannot read too
    for (std::string_view raw : util::split(*text, '\n')) {
      std::string_view line = raw;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
        line.remove_suffix(1);
      if (line.starts_with('#') || util::trim(line).empty() || line.starts_with("import ") ||
          line.starts_with("import\t"))
        continue;
      fs::path dir = site_dir / fs::path(std::string(line));
      if (fs::is_directory(dir, ec)) dirs.push_back(dir.lexically_normal());
    }
  }
  return dirs;
}

}  // namespace

Result<InstalledSet> scan_installed(const std::vector<fs::path>& given) {
  InstalledSet set;
  std::set<fs::path> seen;
  // Each site dir, then the directories its .pth files add (site.addsitedir's order).
  std::vector<std::pair<fs::path, std::size_t>> site_dirs;
  for (std::size_t index = 0; index < given.size(); ++index) {
    site_dirs.emplace_back(given[index], index);
    for (auto& dir : pth_dirs(given[index])) site_dirs.emplace_back(std::move(dir), index);
  }
  for (const auto& [site_dir, index] : site_dirs) {
    std::error_code ec;
    fs::path canonical = fs::canonical(site_dir, ec);
    if (ec || !fs::is_directory(canonical, ec)) continue;  // sys.path may name missing dirs
    if (!seen.insert(canonical).second) continue;

    struct Candidate {
      std::string file_name;
      fs::path path;
      MetadataFormat format;
      bool is_file;
    };
    std::vector<Candidate> candidates;
    fs::directory_iterator it(site_dir, ec);
    if (ec)
      return fail(ErrorKind::runtime, fmt::format("{}: cannot list: {}", site_dir.string(), ec.message()));
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      std::string file_name = it->path().filename().string();
      bool is_dir = it->is_directory(ec);
      if (ends_with(file_name, ".dist-info") && is_dir) {
        candidates.push_back({file_name, it->path(), MetadataFormat::dist_info, false});
      } else if (ends_with(file_name, ".egg-info")) {
        bool is_file = !is_dir && it->is_regular_file(ec);
        if (is_dir || is_file)
          candidates.push_back({file_name, it->path(), MetadataFormat::egg_info, is_file});
      }
    }
    if (ec)
      return fail(ErrorKind::runtime, fmt::format("{}: cannot list: {}", site_dir.string(), ec.message()));
    // importlib.metadata yields dist-info before egg-info for a name; then directory order,
    // which we make deterministic by sorting on the file name.
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      if (a.format != b.format) return a.format == MetadataFormat::dist_info;
      return a.file_name < b.file_name;
    });
    for (const Candidate& candidate : candidates) {
      auto distribution = read_distribution(candidate.path, candidate.format, candidate.is_file);
      if (!distribution) {
        set.problems.push_back(distribution.error().message);
        continue;
      }
      distribution->site_dir = site_dir;
      distribution->site_index = index;
      set.add(std::move(*distribution));
    }
  }
  return set;
}

Result<InstalledSet> scan_installed(const Interpreter& interpreter) {
  return scan_installed(interpreter.site_dirs);
}

Result<std::vector<RecordEntry>> read_record(const InstalledDistribution& distribution) {
  if (distribution.read_only())
    return fail(ErrorKind::runtime,
                fmt::format("{}: legacy egg-info metadata has no RECORD; strata does not modify it",
                            distribution.path.string()));
  fs::path record = distribution.path / "RECORD";
  auto text = util::read_file(record);
  if (!text) return std::unexpected(text.error());
  return parse_record(*text, record.string());
}

}  // namespace strata::env
