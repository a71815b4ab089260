#include "fetch/url.hpp"

namespace strata::fetch {

std::string project_page_url(std::string_view index_url, std::string_view normalized_name) {
  std::string out(index_url);
  while (out.ends_with('/')) out.pop_back();
  out += '/';
  out += normalized_name;
  out += '/';
  return out;
}

}  // namespace strata::fetch
