// A time-bounded mutation driver for LLVMFuzzerTestOneInput (see mutate.hpp), linked with one
// entry point: lock_fuzz_driver (lock_fuzzer.cpp) or wheel_fuzz_driver (wheel_fuzzer.cpp).
// Usage: DRIVER CORPUS_DIR SECONDS [SEED]. A crash shows up through the sanitizers; every 20000
// runs it prints the count.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "mutate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR SECONDS [SEED]\n", argv[0]);
    return 2;
  }
  auto corpus = strata::fuzz::read_corpus(argv[1]);
  if (corpus.empty()) return 2;
  strata::fuzz::Mutator mutator(std::move(corpus), argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[2]));
  std::uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string input = mutator.next();
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    if (++runs % 20000 == 0) std::fprintf(stderr, "runs: %llu\n", static_cast<unsigned long long>(runs));
  }
  std::fprintf(stderr, "done: %llu runs\n", static_cast<unsigned long long>(runs));
  return 0;
}
