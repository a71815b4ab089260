#pragma once
// Bytecode compilation with the target interpreter (py_compile, unchecked-hash pycs).

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "util/error.hpp"
#include "util/process.hpp"

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

/// A pool of interpreter processes that compile bytecode for a whole install: started once, so
/// wheels do not each pay for interpreter start-up, and shared by the threads installing them.
class Compiler {
 public:
  /// Starts `workers` processes of `python` (0: the number of cores). Start-up runs in the
  /// background; the first compile() waits for it.
  static Result<std::unique_ptr<Compiler>> start(const std::filesystem::path& python, unsigned workers);

  /// Compiles `jobs` (optimization level 0, PycInvalidationMode.UNCHECKED_HASH where the
  /// interpreter has it, i.e. 3.7+); a large list is spread over the idle workers. A file that
  /// does not compile is skipped, as pip does; the call fails only when a worker dies or answers
  /// nonsense. Safe to call from several threads.
  Result<std::vector<CompiledFile>> compile(const std::vector<CompileJob>& jobs);

  const std::filesystem::path& python() const { return python_; }

 private:
  explicit Compiler(std::filesystem::path python) : python_(std::move(python)) {}
  Result<std::vector<CompiledFile>> compile_on_one(const CompileJob* jobs, std::size_t count);

  std::filesystem::path python_;
  std::mutex mutex_;
  std::condition_variable idle_changed_;
  std::vector<util::Child> idle_;
  std::size_t workers_ = 0;
};

/// Compiles `jobs` with `python` (optimization level 0, PycInvalidationMode.UNCHECKED_HASH where
/// the interpreter has it, i.e. 3.7+), split over up to `workers` interpreter processes (0: the
/// number of cores). A file that does not compile is skipped, as pip does; the call fails only
/// when the interpreter cannot be run or answers nonsense.
Result<std::vector<CompiledFile>> compile_bytecode(const std::filesystem::path& python,
                                                   const std::vector<CompileJob>& jobs, unsigned workers);

}  // namespace strata::wheel
