#pragma once
// The simple repository API: PEP 691 JSON and PEP 503 HTML project pages, parsed into one model.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::fetch {

/// The Accept header for project pages: JSON preferred, HTML accepted (PEP 691 q-values).
inline constexpr std::string_view kSimpleAccept =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// One file listed on a project page.
struct IndexFile {
  std::string filename;
  std::string url;  ///< absolute (resolved against the page), without the hash fragment
  std::map<std::string, std::string> hashes;  ///< algorithm -> lower-case hex digest
  std::optional<std::string> requires_python;
  bool yanked = false;
  std::optional<std::uint64_t> size;  ///< JSON pages only
  bool has_metadata = false;          ///< PEP 658/714 metadata file advertised
};

/// A parsed project page.
struct ProjectPage {
  std::string url;  ///< the page URL the relative links were resolved against
  std::vector<IndexFile> files;

  /// The file with exactly this name, if listed.
  const IndexFile* find(std::string_view filename) const;
  /// The first file whose `algorithm` hash (lower-case name) is `hex` (any case), if listed.
  const IndexFile* find_hash(std::string_view algorithm, std::string_view hex) const;
};

/// Parses a PEP 691 JSON page; errors name `page_url` (give it redacted).
Result<ProjectPage> parse_json_page(std::string_view body, std::string_view page_url);
/// Parses a PEP 503 HTML page: anchors, hash fragments, data-requires-python (entities
/// decoded), data-yanked, data-dist-info-metadata / data-core-metadata, <base href>.
Result<ProjectPage> parse_html_page(std::string_view body, std::string_view page_url);
/// Picks the parser by Content-Type (JSON for application/vnd.pypi.simple.v1+json or a
/// body that starts with "{", HTML otherwise).
Result<ProjectPage> parse_project_page(std::string_view body, std::string_view content_type,
                                       std::string_view page_url);

/// Decodes HTML character references (&amp; &lt; &gt; &quot; &#39; &#NN; &#xHH;).
std::string html_unescape(std::string_view s);

}  // namespace strata::fetch
