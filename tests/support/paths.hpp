#pragma once
// Where the unit tests' fixture files are in this checkout. Only support/paths.cpp is compiled
// with the absolute paths, so every other test source compiles the same in any checkout (and
// ccache serves it from another one).

#include <filesystem>

namespace strata::testing {

std::filesystem::path fixtures_dir();           // tests/fixtures
std::filesystem::path fuzz_corpus_dir();        // fuzz/corpus: lock files
std::filesystem::path wheel_fuzz_corpus_dir();  // fuzz/wheel-corpus: wheels

}  // namespace strata::testing
