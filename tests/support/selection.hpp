#pragma once
// Lock-reader test helpers: a Linux x86_64 CPython target's selection request and a selection's
// packages as "name==version".

#include <string>
#include <vector>

#include "lock/model.hpp"

namespace strata::testing {

/// A selection request for CPython `full` on `platform` (sys_platform), x86_64, nothing else asked.
inline lock::SelectionRequest target(std::string full = "3.11.7", std::string platform = "linux") {
  lock::SelectionRequest r;
  std::string short_version = full.substr(0, full.rfind('.'));
  r.environment = {{"sys_platform", platform},      {"python_version", short_version},
                   {"python_full_version", full},   {"os_name", "posix"},
                   {"platform_machine", "x86_64"},  {"implementation_name", "cpython"},
                   {"platform_system", "Linux"},    {"platform_python_implementation", "CPython"},
                   {"platform_release", "6.1"},     {"platform_version", "#1"},
                   {"implementation_version", full}};
  r.python_full_version = full;
  return r;
}

/// The selected packages as "name==version", in selection order.
inline std::vector<std::string> selected(const lock::Selection& s) {
  std::vector<std::string> out;
  for (const auto& p : s.packages) out.push_back(p.name + "==" + p.version_text);
  return out;
}

}  // namespace strata::testing
