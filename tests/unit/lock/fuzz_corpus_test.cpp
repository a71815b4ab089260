// Replays every file of fuzz/corpus/ through the fuzzer's entry point (built here with g++), then a
// fixed number of mutations of them (fuzz/mutate.hpp, fixed seed), so CI checks that no corpus
// input, and none of those mutants, crashes or hangs the lock readers.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "support/paths.hpp"

#include "util/fs.hpp"

#include "../../../fuzz/lock_fuzzer.cpp"
#include "../../../fuzz/mutate.hpp"

namespace {

TEST(LockFuzzCorpus, EveryCorpusFileRunsThroughTheReaders) {
  std::filesystem::path dir = strata::testing::fuzz_corpus_dir();
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    auto text = strata::util::read_file(entry.path());
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(text->data()), text->size()), 0)
        << entry.path();
    ++files;
  }
  EXPECT_GT(files, 0);
}

TEST(LockFuzzCorpus, BoundedMutationRun) {
  strata::fuzz::Mutator mutator(strata::fuzz::read_corpus(strata::testing::fuzz_corpus_dir()), 17);
  for (int run = 0; run < 3000; ++run) {
    std::string input = mutator.next();
    ASSERT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size()), 0);
  }
}

}  // namespace
