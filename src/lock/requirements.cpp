#include "lock/requirements.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "pep/name.hpp"
#include "pep/requirement.hpp"
#include "util/strings.hpp"

namespace strata::lock {
namespace fs = std::filesystem;
namespace {

/// One logical line: continuations joined, comments removed, with its first physical line number.
struct Line {
  std::string text;
  std::size_t number = 0;
};

/// pip's comment rule: `#` at the start or after whitespace starts a comment.
std::string strip_comment(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i)
    if (line[i] == '#' && (i == 0 || util::is_space(line[i - 1]))) return std::string(line.substr(0, i));
  return std::string(line);
}

std::vector<Line> logical_lines(std::string_view text) {
  std::vector<Line> out;
  std::optional<Line> open;
  std::size_t number = 0;
  for (std::string_view raw : util::split(text, '\n')) {
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string line = strip_comment(raw);
    const bool comment_only = util::trim(line).empty() && !util::trim(raw).empty();
    // A comment inside a continuation ends the logical line (pip's join_lines).
    if (open && comment_only) {
      out.push_back(std::move(*open));
      open.reset();
      continue;
    }
    std::string_view body = line;
    while (!body.empty() && util::is_space(body.back())) body.remove_suffix(1);
    bool continues = !body.empty() && body.back() == '\\';
    if (continues) body.remove_suffix(1);
    if (!open) open = Line{std::string(), number};
    open->text += std::string(body);
    if (continues) {
      open->text += ' ';
      continue;
    }
    out.push_back(std::move(*open));
    open.reset();
  }
  if (open) out.push_back(std::move(*open));
  return out;
}

/// Splits at whitespace, honouring single and double quotes (as shlex does for pip's options).
std::vector<std::string> tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  bool in_token = false;
  char quote = 0;
  for (char c : text) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        current += c;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      in_token = true;
    } else if (util::is_space(c)) {
      if (in_token) out.push_back(std::move(current));
      current.clear();
      in_token = false;
    } else {
      current += c;
      in_token = true;
    }
  }
  if (in_token) out.push_back(std::move(current));
  return out;
}

/// Options strata reads, and the ones it accepts and ignores (they change nothing for a locked
/// install); with whether they take a value.
struct OptionSpec {
  std::string_view long_name;
  std::string_view short_name;
  bool value = true;
};

constexpr OptionSpec kFileOptions[] = {
    {"--requirement", "-r"},         {"--constraint", "-c"}, {"--index-url", "-i"},
    {"--extra-index-url", ""},       {"--find-links", "-f"}, {"--no-index", "", false},
    {"--trusted-host", ""},          {"--pre", "", false},   {"--prefer-binary", "", false},
    {"--require-hashes", "", false}, {"--only-binary", ""},  {"--no-binary", ""},
    {"--use-feature", ""},           {"--editable", "-e"},
};

struct Constraint {
  std::string name;
  pep::SpecifierSet specifier;
  bool has_marker = false;
  std::string location;
  std::string text;
};

class Reader {
 public:
  explicit Reader(const FileReader& read) : read_(read) {}

  Result<Lock> run(const fs::path& path) {
    lock_.format = Format::requirements;
    lock_.source_name = path.string();
    if (auto ok = read_file(path, false); !ok) return std::unexpected(ok.error());
    for (auto& package : lock_.packages)
      if (package.source.kind == SourceKind::index) package.source.url = index_url_;
    lock_.extra_index_urls = extra_index_urls_;
    for (const auto& c : constraints_) {
      if (c.has_marker || c.specifier.empty()) continue;
      for (const auto& package : lock_.packages)
        if (package.name == c.name && !c.specifier.contains(package.version, true))
          return fail(ErrorKind::usage,
                      fmt::format("{}: {}=={} does not satisfy the constraint \"{}\" at {}", package.location,
                                  package.display_name, package.version_text, c.text, c.location));
    }
    return std::move(lock_);
  }

 private:
  Result<void> read_file(const fs::path& path, bool constraints) {
    std::error_code ec;
    fs::path key = fs::weakly_canonical(path, ec);
    if (ec) key = path;
    const std::string done_key = key.string() + (constraints ? "\n-c" : "");
    if (done_.contains(done_key)) return {};  // included twice (not a cycle): read once
    if (!open_.insert(key.string()).second)
      return fail(ErrorKind::usage,
                  fmt::format("{}: included again by itself (a -r/-c cycle)", path.string()));
    auto text = read_(path);
    if (!text) return std::unexpected(text.error());
    if (lock_.created_by.empty()) {
      if (text->find("autogenerated by pip-compile") != std::string::npos)
        lock_.created_by = "pip-compile";
      else if (text->find("uv pip compile") != std::string::npos)
        lock_.created_by = "uv";
    }
    for (const auto& line : logical_lines(*text)) {
      std::string_view body = util::trim(line.text);
      if (body.empty()) continue;
      const std::string where = fmt::format("{}:{}", path.string(), line.number);
      auto ok = body.front() == '-' ? option_line(path, where, body, constraints)
                                    : requirement_line(where, body, constraints);
      if (!ok) return ok;
    }
    open_.erase(key.string());
    done_.insert(done_key);
    return {};
  }

  Result<void> option_line(const fs::path& path, const std::string& where, std::string_view body,
                           bool constraints) {
    std::vector<std::string> words = tokens(body);
    for (std::size_t i = 0; i < words.size(); ++i) {
      const std::string& word = words[i];
      const OptionSpec* spec = nullptr;
      std::optional<std::string> value;
      for (const auto& candidate : kFileOptions) {
        if (word == candidate.long_name || (!candidate.short_name.empty() && word == candidate.short_name)) {
          spec = &candidate;
        } else if (candidate.value && word.starts_with(std::string(candidate.long_name) + "=")) {
          spec = &candidate;
          value = word.substr(candidate.long_name.size() + 1);
        } else if (candidate.value && !candidate.short_name.empty() &&
                   word.starts_with(candidate.short_name) && word.size() > 2 && word[1] != '-') {
          spec = &candidate;
          value = word.substr(2);
        }
        if (spec) break;
      }
      if (!spec)
        return fail(ErrorKind::usage,
                    fmt::format("{}: unknown option \"{}\" (strata reads the options pip-compile and uv pip "
                                "compile write: -r, -c, --index-url, --extra-index-url, --find-links)",
                                where, word));
      if (spec->value && !value) {
        if (i + 1 >= words.size())
          return fail(ErrorKind::usage, fmt::format("{}: {} needs a value", where, word));
        value = words[++i];
      }
      const std::string_view name = spec->long_name;
      if (name == "--editable")
        return fail(ErrorKind::usage,
                    fmt::format("{}: an editable requirement ({}) is not a locked file; strata installs "
                                "pinned, hashed requirements only",
                                where, value.value_or("")));
      if (name == "--requirement" || name == "--constraint") {
        if (value->find("://") != std::string::npos)
          return fail(ErrorKind::usage,
                      fmt::format("{}: {} {}: only local files can be included", where, name, *value));
        fs::path included = fs::path(*value).is_absolute() ? fs::path(*value) : path.parent_path() / *value;
        if (auto ok = read_file(included, constraints || name == "--constraint"); !ok)
          return ok.error().message.starts_with(included.string())
                     ? ok
                     : fail(ok.error().kind, fmt::format("{}: {}", where, ok.error().message));
      } else if (name == "--no-index") {
        lock_.no_index = true;
      } else if (name == "--index-url") {
        index_url_ = *value;
      } else if (name == "--extra-index-url") {
        if (std::find(extra_index_urls_.begin(), extra_index_urls_.end(), *value) == extra_index_urls_.end())
          extra_index_urls_.push_back(*value);
      } else if (name == "--find-links") {
        std::string link = *value;
        if (link.find("://") == std::string::npos && !fs::path(link).is_absolute()) {
          std::error_code ec;
          fs::path relative = path.parent_path() / link;
          if (fs::exists(relative, ec)) link = relative.string();
        }
        if (std::find(lock_.find_links.begin(), lock_.find_links.end(), link) == lock_.find_links.end())
          lock_.find_links.push_back(std::move(link));
      }
    }
    return {};
  }

  Result<void> requirement_line(const std::string& where, std::string_view body, bool constraints) {
    // pip's break_args_options: the requirement is every word before the first option.
    std::vector<std::string> words = tokens(body);
    std::size_t first_option = 0;
    std::string_view rest = body;
    {
      // The requirement text as written (markers keep their quotes): cut at the first " -" word.
      std::size_t pos = 0;
      while (pos < body.size()) {
        std::size_t dash = body.find(" -", pos);
        if (dash == std::string_view::npos) break;
        std::size_t start = dash + 1;
        while (start < body.size() && body[start] == ' ') ++start;
        if (start < body.size() && body[start] == '-') {
          rest = body.substr(0, dash);
          break;
        }
        pos = dash + 1;
      }
    }
    std::string requirement_text(util::trim(rest));
    while (first_option < words.size() && !words[first_option].starts_with("-")) ++first_option;
    std::vector<std::string> hashes;
    for (std::size_t i = first_option; i < words.size(); ++i) {
      std::string value;
      if (words[i] == "--hash") {
        if (i + 1 >= words.size())
          return fail(ErrorKind::usage, fmt::format("{}: --hash needs a value", where));
        value = words[++i];
      } else if (words[i].starts_with("--hash=")) {
        value = words[i].substr(7);
      } else {
        return fail(ErrorKind::usage,
                    fmt::format("{}: the option \"{}\" on a requirement is not supported (only --hash)",
                                where, words[i]));
      }
      auto colon = value.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == value.size())
        return fail(ErrorKind::usage, fmt::format("{}: --hash={}: expected ALGORITHM:HEX", where, value));
      hashes.push_back(value);
    }
    auto parsed = pep::Requirement::parse(requirement_text);
    if (!parsed) return fail(ErrorKind::usage, fmt::format("{}: {}", where, parsed.error().message));
    if (constraints) {
      if (parsed->marker && !parsed->specifier.empty())
        lock_.marked_constraints.push_back({pep::normalize_name(parsed->name), parsed->specifier.str(),
                                            *parsed->marker, requirement_text, where});
      constraints_.push_back({pep::normalize_name(parsed->name), parsed->specifier,
                              parsed->marker.has_value(), where, requirement_text});
      return {};
    }
    Package package;
    package.name = pep::normalize_name(parsed->name);
    package.display_name = parsed->name;
    package.marker = parsed->marker;
    package.location = where;
    if (!parsed->url.empty()) {
      if (parsed->url.find("+") < parsed->url.find("://") || parsed->url.find("://") == std::string::npos)
        return fail(ErrorKind::usage,
                    fmt::format("{}: {}: only archive URLs with --hash can be installed as locked, not {}",
                                where, parsed->name, parsed->url));
      if (hashes.empty())
        return fail(ErrorKind::usage, fmt::format("{}: {} @ {} has no --hash; strata installs only verified "
                                                  "files (pip-compile --generate-hashes writes them)",
                                                  where, parsed->name, parsed->url));
      Artifact artifact;
      std::string_view url = parsed->url;
      url = url.substr(0, url.find_first_of("?#"));
      artifact.filename = std::string(url.substr(url.rfind('/') + 1));
      artifact.kind = artifact.filename.ends_with(".whl") ? Artifact::Kind::wheel : Artifact::Kind::sdist;
      artifact.url = parsed->url.substr(0, parsed->url.find('#'));
      for (const auto& h : hashes) {
        auto colon = h.find(':');
        artifact.hashes[util::to_lower(h.substr(0, colon))] = util::to_lower(h.substr(colon + 1));
      }
      if (auto wheel = pep::WheelFilename::parse(artifact.filename)) {
        package.version = wheel->version;
      } else if (auto sdist = pep::SdistFilename::parse(artifact.filename)) {
        package.version = sdist->version;
      }
      package.version_text = package.version.str();
      package.source.kind = SourceKind::url;
      package.source.url = artifact.url;
      package.artifacts.push_back(std::move(artifact));
      lock_.packages.push_back(std::move(package));
      return {};
    }
    const auto& specs = parsed->specifier.specifiers();
    if (specs.size() != 1 || (specs[0].op() != "==" && specs[0].op() != "===") ||
        specs[0].version_text().find('*') != std::string::npos)
      return fail(ErrorKind::usage,
                  fmt::format("{}: {} is not pinned with == (\"{}\"); strata installs locked versions and "
                              "does not resolve (pip-compile --generate-hashes pins every line)",
                              where, parsed->name, requirement_text));
    auto version = pep::Version::parse(specs[0].version_text());
    if (!version)
      return fail(ErrorKind::usage, fmt::format("{}: {}: invalid version \"{}\"", where, parsed->name,
                                                specs[0].version_text()));
    if (hashes.empty())
      return fail(ErrorKind::usage,
                  fmt::format("{}: {}=={} has no --hash; strata installs only verified files "
                              "(pip-compile --generate-hashes / uv pip compile --generate-hashes write them)",
                              where, parsed->name, specs[0].version_text()));
    package.version = *version;
    package.version_text = specs[0].version_text();
    for (const auto& h : hashes) {
      auto colon = h.find(':');
      package.artifacts.push_back(hash_only_artifact(h.substr(0, colon), h.substr(colon + 1)));
    }
    lock_.packages.push_back(std::move(package));
    return {};
  }

  const FileReader& read_;
  Lock lock_;
  std::set<std::string> open_;  // files being read (a cycle when one comes again)
  std::set<std::string> done_;  // files read already
  std::string index_url_;
  std::vector<std::string> extra_index_urls_;
  std::vector<Constraint> constraints_;
};

}  // namespace

bool is_requirements_name(std::string_view filename) {
  return filename.starts_with("requirements") && filename.ends_with(".txt");
}

bool looks_like_requirements(std::string_view text) {
  for (std::string_view line : util::split(text, '\n')) {
    line = util::trim(line);
    if (line.starts_with("#")) continue;
    if (line.find("--hash=") != std::string_view::npos || line.find("--hash ") != std::string_view::npos)
      return true;
  }
  return false;
}

Result<Lock> read_requirements(const fs::path& path, const FileReader& read) {
  return Reader(read).run(path);
}

}  // namespace strata::lock
