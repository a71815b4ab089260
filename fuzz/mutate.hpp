#pragma once
// Mutations of corpus inputs for the fuzz entry points where libFuzzer is not usable (g++ builds,
// or clang 14 with libstdc++ 12, which cannot compile <variant>/<expected> in C++23 mode): byte
// flips, inserted tokens of the formats read, deletions, splices of other corpus files, cuts.
// Used by mutate_driver.cpp (time-bounded, under ASan/UBSan) and by the unit tests (a fixed
// number of runs with a fixed seed, in CI).

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace strata::fuzz {

/// Tokens of lock files (TOML) and of a wheel's metadata (RECORD CSV, headers, entry points).
inline const std::vector<std::string>& tokens() {
  static const std::vector<std::string> all = {
      "[[package]]\n", "[[packages]]\n", "[metadata]\n", "\"", "=", "[", "]", "{", "}", ",", "\n",
      "lock-version = \"2.1\"\n", "markers = ", "groups = [\"main\"]\n", "extra == \"x\"",
      "python_version < \"3\"", "^1.2", "~1", "||", ".*", "version = ", "optional = true\n",
      "files = [{file = \"a-1-py3-none-any.whl\", hash = "
      "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"}]",
      "[package.dependencies]\n", "[package.extras]\n", "wheels = [", "hashes = {}", "size = -1",
      "name = \"a\"\n", "\\u0000", "1e400", "[dependency-groups]\n", "{include-group = \"a\"}",
      "[tool.poetry.group.a.dependencies]\n",
      // wheel metadata
      "\"\"", "\r\n", ",sha256=", ",,", ",18446744073709551616", ",-1", "../", "/", "\\", ".dist-info/",
      ".data/scripts/", "Name: ", "Version: ", "Wheel-Version: 1.0\n", "Root-Is-Purelib: true\n", ": ",
      "\n\n", " continued\n", "[console_scripts]\n", "[gui_scripts]\n", " = ", ":", " [extra]", "a.b:c.d",
      "#", ";"};
  return all;
}

/// Every regular file of `dir`, read whole.
inline std::vector<std::string> read_corpus(const std::filesystem::path& dir) {
  std::vector<std::string> corpus;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::sort(corpus.begin(), corpus.end());  // a seed gives the same run whatever the listing order
  return corpus;
}

/// Draws inputs from a (non-empty) corpus, each mutated one to eight times.
class Mutator {
 public:
  Mutator(std::vector<std::string> corpus, std::uint64_t seed) : corpus_(std::move(corpus)), rng_(seed) {}

  std::string next() {
    std::string input = corpus_[rng_() % corpus_.size()];
    int mutations = 1 + static_cast<int>(rng_() % 8);
    for (int m = 0; m < mutations; ++m) {
      std::size_t pos = input.empty() ? 0 : rng_() % (input.size() + 1);
      switch (rng_() % 5) {
        case 0:
          if (!input.empty() && pos < input.size()) input[pos] = static_cast<char>(rng_() % 256);
          break;
        case 1:
          input.insert(pos, tokens()[rng_() % tokens().size()]);
          break;
        case 2:
          input.erase(pos, std::min<std::size_t>(rng_() % 64, input.size() - pos));
          break;
        case 3: {
          const std::string& other = corpus_[rng_() % corpus_.size()];
          std::size_t from = other.empty() ? 0 : rng_() % other.size();
          input.insert(pos, other.substr(from, rng_() % 256));
          break;
        }
        default:
          input = input.substr(0, pos);
          break;
      }
    }
    return input;
  }

 private:
  std::vector<std::string> corpus_;
  std::mt19937_64 rng_;
};

}  // namespace strata::fuzz
