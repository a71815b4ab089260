#pragma once

#include <string>

namespace strata::cli {

/// What `strata --version` prints: "strata VERSION (COMMIT)", COMMIT being `git describe` of the
/// source at configure time; "strata VERSION" alone when the source was not a git checkout.
std::string version_text();

}  // namespace strata::cli
