#pragma once
// Bytecode compilation with the target interpreter (py_compile, unchecked-hash pycs), by a pool of
// interpreter processes that lives as long as an install.

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "util/error.hpp"
#include "util/process.hpp"

namespace strata::wheel {

/// One source to compile.
struct CompileJob {
  std::filesystem::path source;  ///< the file to read now
  /// The file name the code records (co_filename). strata passes the path relative to the library
  /// directory, so that a pyc does not depend on where the environment lives (the import system
  /// replaces it with the real path when it loads the pyc).
  std::string dfile;
  std::filesystem::path cfile;  ///< where to write the pyc (parents are created)
};

/// The interpreter the workers run, as it matters for pycs.
struct BytecodeIdentity {
  std::string cache_tag;    ///< sys.implementation.cache_tag, e.g. "cpython-311": pyc names
  std::string key;          ///< cache tag, magic number and a hash of sys.version: safe for cache keys
  bool hash_based = false;  ///< the interpreter writes unchecked-hash pycs (3.7+), not timestamped ones
};

/// A pool of interpreter processes that compile bytecode for a whole install: started once, so
/// wheels do not each pay for interpreter start-up, and shared by the threads installing them.
/// Work is cut into small batches in one queue that every worker takes from, so a large wheel is
/// spread over all workers and none idles while another wheel waits.
class Compiler {
 public:
  /// Starts `workers` processes of `python` (0: the number of cores). Start-up runs in the
  /// background; the first call that needs a worker waits for it.
  static Result<std::unique_ptr<Compiler>> start(const std::filesystem::path& python, unsigned workers);
  ~Compiler();
  Compiler(const Compiler&) = delete;
  Compiler& operator=(const Compiler&) = delete;

  /// What the workers' interpreter is (asked once).
  Result<BytecodeIdentity> identity();

  /// Compiles `jobs` (optimization level 0, PycInvalidationMode.UNCHECKED_HASH where the
  /// interpreter has it). Returns, per job, whether the pyc was written: a file that does not
  /// compile is skipped, as pip does. Fails only when the workers die or answer nonsense. Safe
  /// to call from several threads.
  Result<std::vector<bool>> compile(const std::vector<CompileJob>& jobs);

  /// Called (from the compiling threads, never under the pool's lock) with the number of files
  /// queued by a compile() call and then with each batch's files as it completes: a progress
  /// counter. Set it before the first compile().
  void on_progress(std::function<void(std::size_t queued, std::size_t done)> progress) {
    progress_ = std::move(progress);
  }

 private:
  struct Request;
  struct Batch {
    const CompileJob* jobs;
    std::size_t count;
    std::size_t offset;  ///< into the request's results
    Request* request;
  };
  explicit Compiler(std::filesystem::path python) : python_(std::move(python)) {}
  void drive(util::Child child);

  std::filesystem::path python_;
  std::mutex mutex_;
  std::condition_variable work_, done_;
  std::deque<Batch> queue_;
  std::size_t alive_ = 0;  ///< workers still answering
  bool stopping_ = false;
  std::optional<BytecodeIdentity> identity_;
  std::string failure_;  ///< why the last worker stopped, for messages
  std::function<void(std::size_t, std::size_t)> progress_;
  std::vector<std::jthread> drivers_;  ///< one per worker process; last, joined first
};

/// The pyc path of `py` for `cache_tag`: `<dir>/__pycache__/<stem>.<cache_tag>.pyc`.
std::filesystem::path pyc_path(const std::filesystem::path& py, const std::string& cache_tag);

}  // namespace strata::wheel
