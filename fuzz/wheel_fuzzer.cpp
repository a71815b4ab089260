// libFuzzer entry point for the wheel's text parsers: the input is read as RECORD (and what
// parses must survive format_record and parse_record unchanged), as WHEEL/METADATA headers, as
// entry_points.txt (launchers written for what parses), and line by line as archive member names
// (a normalized name must normalize to itself). A broken property aborts, as a crash would.
// Built like lock_fuzzer.cpp; the unit tests include it with STRATA_FUZZ_REPLAY defined and call
// strata::fuzz::wheel_input.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <tuple>

#include "util/strings.hpp"
#include "wheel/archive.hpp"
#include "wheel/metadata.hpp"
#include "wheel/record.hpp"
#include "wheel/scripts.hpp"

namespace strata::fuzz {

inline int wheel_input(const std::uint8_t* data, std::size_t size) {
  using namespace strata::wheel;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto rows = parse_record(text, "RECORD")) {
    auto again = parse_record(format_record(*rows), "RECORD (formatted)");
    auto order = [](const RecordRow& a, const RecordRow& b) {
      return std::tie(a.path, a.hash, a.size) < std::tie(b.path, b.hash, b.size);
    };
    auto expected = *rows;
    std::sort(expected.begin(), expected.end(), order);
    if (!again) std::abort();
    std::sort(again->begin(), again->end(), order);
    if (*again != expected) std::abort();
  }
  auto headers = parse_headers(text);
  (void)headers["wheel-version"];
  if (auto entries = parse_entry_points(text, "entry_points.txt")) {
    for (const auto& entry : *entries) (void)launcher_script(entry, "/opt/venv/bin/python");
  }
  (void)rewrite_python_shebang(text, "/opt/venv/bin/python");
  for (auto line : util::split(text, '\n')) {
    std::string normalized, twice;
    if (!check_member_path(line, normalized) && (check_member_path(normalized, twice) || twice != normalized))
      std::abort();
  }
  return 0;
}

}  // namespace strata::fuzz

#ifndef STRATA_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return strata::fuzz::wheel_input(data, size);
}
#endif
