#pragma once
// URL helpers for index access. The URL functions themselves live in util/url.hpp (lock/ and
// plan/ redact with the same one function); fetch code names them from here.

#include <string>
#include <string_view>

#include "util/url.hpp"

namespace strata::fetch {

using util::percent_decode;
using util::redact_url;
using util::resolve_url;
using util::strip_userinfo;
using util::url_fragment;
using util::url_hostname;
using util::url_origin;
using util::url_userinfo;
using util::UrlParts;
using util::UserInfo;

/// The PEP 503 project page URL: the index URL with one trailing "/", the normalized name, "/".
std::string project_page_url(std::string_view index_url, std::string_view normalized_name);

}  // namespace strata::fetch
