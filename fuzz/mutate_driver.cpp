// A small mutation driver for LLVMFuzzerTestOneInput when libFuzzer is not usable (g++ builds,
// or clang 14 with libstdc++ 12, which cannot compile <variant>/<expected> in C++23 mode).
// Usage: lock_fuzz_driver CORPUS_DIR SECONDS [SEED]. Mutates corpus files (byte flips, inserts
// of TOML tokens, deletions, splices) and runs each input; a crash shows up through the
// sanitizers. Every 10000 runs it prints the count.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR SECONDS [SEED]\n", argv[0]);
    return 2;
  }
  std::vector<std::string> corpus;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    corpus.push_back(ss.str());
  }
  if (corpus.empty()) return 2;
  std::mt19937_64 rng(argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1);
  static const char* tokens[] = {
      "[[package]]\n",
      "[[packages]]\n",
      "[metadata]\n",
      "\"",
      "=",
      "[",
      "]",
      "{",
      "}",
      ",",
      "\n",
      "lock-version = \"2.1\"\n",
      "markers = ",
      "groups = [\"main\"]\n",
      "extra == \"x\"",
      "python_version < \"3\"",
      "^1.2",
      "~1",
      "||",
      ".*",
      "version = ",
      "optional = true\n",
      "files = [{file = \"a-1-py3-none-any.whl\", hash = "
      "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"}]",
      "[package.dependencies]\n",
      "[package.extras]\n",
      "wheels = [",
      "hashes = {}",
      "size = -1",
      "name = \"a\"\n",
      "\\u0000",
      "1e400",
      "[dependency-groups]\n",
      "{include-group = \"a\"}",
      "[tool.poetry.group.a.dependencies]\n"};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[2]));
  std::uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string input = corpus[rng() % corpus.size()];
    int mutations = 1 + static_cast<int>(rng() % 8);
    for (int m = 0; m < mutations; ++m) {
      std::size_t pos = input.empty() ? 0 : rng() % (input.size() + 1);
      switch (rng() % 5) {
        case 0:
          if (!input.empty() && pos < input.size()) input[pos] = static_cast<char>(rng() % 256);
          break;
        case 1:
          input.insert(pos, tokens[rng() % (sizeof tokens / sizeof *tokens)]);
          break;
        case 2:
          input.erase(pos, std::min<std::size_t>(rng() % 64, input.size() - pos));
          break;
        case 3: {
          const std::string& other = corpus[rng() % corpus.size()];
          std::size_t from = other.empty() ? 0 : rng() % other.size();
          input.insert(pos, other.substr(from, rng() % 256));
          break;
        }
        default:
          input = input.substr(0, pos);
          break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    if (++runs % 20000 == 0) std::fprintf(stderr, "runs: %llu\n", static_cast<unsigned long long>(runs));
  }
  std::fprintf(stderr, "done: %llu runs\n", static_cast<unsigned long long>(runs));
  return 0;
}
