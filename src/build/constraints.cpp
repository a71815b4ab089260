// --build-constraints files: the pinned, hashed requirements files `pip-compile --generate-hashes`
// writes.

#include <fmt/format.h>

#include "build/build.hpp"
#include "fetch/hash.hpp"
#include "pep/name.hpp"
#include "pep/requirement.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::build {
namespace {

// Removes a comment: "#" at the start or after whitespace (pip's rule; "#" inside a URL stays).
std::string_view strip_comment(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || util::is_space(line[i - 1]))) return line.substr(0, i);
  }
  return line;
}

}  // namespace

Result<std::vector<BuildConstraint>> parse_build_constraints(std::string_view text,
                                                             std::string_view source_name) {
  std::vector<BuildConstraint> out;
  auto lines = util::split(text, '\n');
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::size_t first_line = i + 1;
    std::string logical;
    // Joins "\"-continued physical lines into one logical line.
    for (;; ++i) {
      std::string_view piece = lines[i];
      if (piece.ends_with('\r')) piece.remove_suffix(1);
      piece = strip_comment(piece);
      std::string_view trimmed = util::trim(piece);
      if (trimmed.ends_with('\\') && i + 1 < lines.size()) {
        logical += trimmed.substr(0, trimmed.size() - 1);
        logical += ' ';
        continue;
      }
      logical += trimmed;
      break;
    }
    std::string_view line = util::trim(logical);
    if (line.empty()) continue;
    auto where = [&] { return fmt::format("{}:{}", source_name, first_line); };
    if (line.starts_with("-"))
      return fail(ErrorKind::usage,
                  fmt::format("{}: options are not supported in build constraints: {}", where(), line));
    // The requirement is everything before the first " --hash".
    std::vector<std::string> hashes;
    std::size_t options_at = line.find(" --");
    std::string_view requirement_text = util::trim(line.substr(0, options_at));
    std::string_view rest =
        options_at == std::string_view::npos ? std::string_view() : line.substr(options_at);
    for (auto word : util::split(rest, ' ')) {
      word = util::trim(word);
      if (word.empty()) continue;
      if (!word.starts_with("--hash=") && !word.starts_with("--hash:"))
        return fail(ErrorKind::usage, fmt::format("{}: unsupported option {}", where(), word));
      std::string_view hash = word.substr(7);
      if (!hash.starts_with("sha256:")) continue;  // other algorithms: pip accepts any one of them
      std::string hex = util::to_lower(hash.substr(7));
      if (!fetch::is_sha256_hex(hex))
        return fail(ErrorKind::usage, fmt::format("{}: malformed hash {}", where(), word));
      hashes.push_back(std::move(hex));
    }
    auto requirement = pep::Requirement::parse(requirement_text);
    if (!requirement)
      return fail(ErrorKind::usage, fmt::format("{}: {}", where(), requirement.error().message));
    const auto& specs = requirement->specifier.specifiers();
    if (!requirement->url.empty() || specs.size() != 1 || specs.front().op() != "==" ||
        specs.front().version_text().find('*') != std::string::npos)
      return fail(ErrorKind::usage,
                  fmt::format("{}: {} is not pinned (name==version)", where(), requirement_text));
    if (hashes.empty())
      return fail(ErrorKind::usage,
                  fmt::format("{}: {} has no --hash=sha256:...; build constraints must be hashed "
                              "(pip-compile --generate-hashes)",
                              where(), requirement_text));
    out.push_back({pep::normalize_name(requirement->name), specs.front().version_text(), std::move(hashes),
                   requirement->marker ? requirement->marker->str() : std::string()});
  }
  return out;
}

Result<std::vector<BuildConstraint>> load_build_constraints(const std::filesystem::path& file) {
  auto text = util::read_file(file);
  if (!text) return fail(ErrorKind::usage, fmt::format("--build-constraints: {}", text.error().message));
  return parse_build_constraints(*text, file.string());
}

}  // namespace strata::build
