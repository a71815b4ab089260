#include "support/paths.hpp"

namespace strata::testing {

std::filesystem::path fixtures_dir() { return STRATA_FIXTURES_DIR; }
std::filesystem::path fuzz_corpus_dir() { return STRATA_FUZZ_CORPUS_DIR; }
std::filesystem::path wheel_fuzz_corpus_dir() { return STRATA_WHEEL_FUZZ_CORPUS_DIR; }

}  // namespace strata::testing
