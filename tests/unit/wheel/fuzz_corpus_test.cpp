// Replays every file of fuzz/wheel-corpus/ (a real wheel's RECORD, METADATA, WHEEL and
// entry_points.txt, and hand-written edge cases) through the wheel fuzzer's entry point, then a
// fixed number of mutations of them (fixed seed): none may crash, hang or break a property.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "support/paths.hpp"

#define STRATA_FUZZ_REPLAY
#include "../../../fuzz/mutate.hpp"
#include "../../../fuzz/wheel_fuzzer.cpp"

namespace {

TEST(WheelFuzzCorpus, EveryCorpusFileAndTwentyThousandMutants) {
  auto corpus = strata::fuzz::read_corpus(strata::testing::wheel_fuzz_corpus_dir());
  ASSERT_GE(corpus.size(), 4u);
  for (const auto& input : corpus)
    EXPECT_EQ(strata::fuzz::wheel_input(reinterpret_cast<const std::uint8_t*>(input.data()), input.size()),
              0);
  strata::fuzz::Mutator mutator(std::move(corpus), 17);
  for (int run = 0; run < 20000; ++run) {
    std::string input = mutator.next();
    ASSERT_EQ(strata::fuzz::wheel_input(reinterpret_cast<const std::uint8_t*>(input.data()), input.size()),
              0);
  }
}

}  // namespace
