// Replays every file of fuzz/corpus/ through the fuzzer's entry point (built here with g++), so CI
// checks that no corpus input crashes or hangs the lock readers.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "util/fs.hpp"

#include "../../../fuzz/lock_fuzzer.cpp"

namespace {

TEST(LockFuzzCorpus, EveryCorpusFileRunsThroughTheReaders) {
  std::filesystem::path dir = STRATA_FUZZ_CORPUS_DIR;
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

}  // namespace
