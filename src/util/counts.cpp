#include "util/counts.hpp"

#include <iterator>

#include <fmt/format.h>

namespace strata::util {

std::string thousands(unsigned long long n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string counted(unsigned long long n, std::string_view noun) {
  std::string out = thousands(n);
  out += ' ';
  out += noun;
  if (n != 1) out += 's';
  return out;
}

std::string human_size(unsigned long long bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

}  // namespace strata::util
