#pragma once
// Shared by the differential checkers: loading the case files the differential.generate fixture
// writes, and collecting mismatches against packaging's answers.

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace strata::testing {

/// Loads $STRATA_DIFF_CASES/<name>; a missing file is a failure, not a skip.
inline std::optional<nlohmann::json> load_cases(const std::string& name) {
  const char* dir = std::getenv("STRATA_DIFF_CASES");
  if (dir == nullptr) {
    ADD_FAILURE() << "STRATA_DIFF_CASES is not set (run through ctest, after differential.generate)";
    return std::nullopt;
  }
  std::string path = std::string(dir) + "/" + name;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "missing case file " << path << " (the differential.generate fixture writes it)";
    return std::nullopt;
  }
  return nlohmann::json::parse(in);
}

/// Collects mismatches and prints the first few.
class Mismatches {
 public:
  explicit Mismatches(std::string what) : what_(std::move(what)) {}
  void add(const std::string& message) {
    if (count_ < 25) first_ << "  " << message << "\n";
    ++count_;
  }
  void check(std::size_t cases) const {
    EXPECT_EQ(count_, 0u) << count_ << " of " << cases << " " << what_ << " differ from packaging; first:\n"
                          << first_.str();
  }

 private:
  std::string what_;
  std::ostringstream first_;
  std::size_t count_ = 0;
};

}  // namespace strata::testing
