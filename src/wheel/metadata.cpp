#include "wheel/metadata.hpp"

#include "util/strings.hpp"

namespace strata::wheel {

std::map<std::string, std::string> parse_headers(std::string_view content) {
  std::map<std::string, std::string> out;
  for (auto line : util::split(content, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of headers
    if (line.front() == ' ' || line.front() == '\t') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key = util::to_lower(util::trim(line.substr(0, colon)));
    out.emplace(key, std::string(util::trim(line.substr(colon + 1))));
  }
  return out;
}

}  // namespace strata::wheel
