#pragma once
// Bytecode compilation with the target interpreter (py_compile, unchecked-hash pycs).

#include <filesystem>
#include <vector>

#include "util/error.hpp"

namespace strata::wheel {

/// One source to compile: the file to read now, and the path it will have once installed (what
/// the pyc records as co_filename and what names the pyc, as if compiled in place).
struct CompileJob {
  std::filesystem::path source;
  std::filesystem::path installed_as;
};

/// A produced pyc: where it was written (in __pycache__ beside `source`), and its installed path
/// (in __pycache__ beside `installed_as`).
struct CompiledFile {
  std::filesystem::path written;
  std::filesystem::path installed_as;
};

/// Compiles `jobs` with `python` (optimization level 0, PycInvalidationMode.UNCHECKED_HASH where
/// the interpreter has it, i.e. 3.7+), split over up to `workers` interpreter processes (0: the
/// number of cores). A file that does not compile is skipped, as pip does; the call fails only
/// when the interpreter cannot be run or answers nonsense.
Result<std::vector<CompiledFile>> compile_bytecode(const std::filesystem::path& python,
                                                   const std::vector<CompileJob>& jobs, unsigned workers);

}  // namespace strata::wheel
