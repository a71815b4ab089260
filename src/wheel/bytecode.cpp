#include "wheel/bytecode.hpp"

#include <algorithm>
#include <optional>
#include <thread>

#include <fmt/format.h>

namespace strata::wheel {
namespace {

// Runs in the target interpreter (3.6+) as a long-lived worker. Reads batches of NUL-terminated
// (source, installed path) pairs from stdin, each batch ended by an empty field; compiles each
// source into __pycache__ beside it under the name the installed path gets; answers with one
// (written pyc, installed pyc) pair per job, both empty for a file that did not compile. Exits at
// end of input, and when orphaned, so a killed strata leaves no compiler writing behind it.
constexpr const char* kCompileScript = R"PY(
import importlib.util, os, py_compile, sys, warnings
warnings.filterwarnings("ignore")
kwargs = {}
if hasattr(py_compile, "PycInvalidationMode"):
    kwargs["invalidation_mode"] = py_compile.PycInvalidationMode.UNCHECKED_HASH
parent = os.getppid()
try:  # die with strata (PR_SET_PDEATHSIG, SIGKILL)
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)
except Exception:
    pass
if os.getppid() != parent:
    sys.exit(1)
buf = bytearray()
pos = 0
def field():
    global buf, pos
    while True:
        i = buf.find(b"\0", pos)
        if i >= 0:
            f = bytes(buf[pos:i])
            pos = i + 1
            return f
        del buf[:pos]
        pos = 0
        chunk = os.read(0, 1 << 16)
        if not chunk:
            return None
        buf += chunk
out = sys.stdout.buffer
while True:
    jobs = []
    while True:
        source = field()
        if source is None:
            sys.exit(0)
        if not source:
            break
        installed = field()
        if installed is None:
            sys.exit(0)
        jobs.append((os.fsdecode(source), os.fsdecode(installed)))
    reply = []
    for source, installed in jobs:
        if os.getppid() != parent:
            sys.exit(1)  # strata was killed: stop writing into its staging directory
        installed_pyc = importlib.util.cache_from_source(installed)
        written = os.path.join(os.path.dirname(source), "__pycache__", os.path.basename(installed_pyc))
        try:
            py_compile.compile(source, cfile=written, dfile=installed, doraise=True, optimize=0, **kwargs)
        except Exception:
            reply.append(b"\0\0")
            continue
        reply.append(os.fsencode(written) + b"\0" + os.fsencode(installed_pyc) + b"\0")
    out.write(b"".join(reply))
    out.flush()
)PY";

// A worker's start-up costs an interpreter; do not split lists smaller than this.
constexpr std::size_t kMinPerWorker = 64;

}  // namespace

Result<std::unique_ptr<Compiler>> Compiler::start(const std::filesystem::path& python, unsigned workers) {
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  std::unique_ptr<Compiler> compiler(new Compiler(python));
  const std::vector<std::string> argv = {python.string(), "-I", "-B", "-c", kCompileScript};
  for (unsigned i = 0; i < workers; ++i) {
    auto child = util::Child::spawn(argv);
    if (!child) return std::unexpected(child.error());
    compiler->idle_.push_back(std::move(*child));
  }
  compiler->workers_ = workers;
  return compiler;
}

Result<std::vector<CompiledFile>> Compiler::compile_on_one(const CompileJob* jobs, std::size_t count) {
  std::optional<util::Child> worker;
  {
    std::unique_lock lock(mutex_);
    idle_changed_.wait(lock, [&] { return !idle_.empty(); });
    worker.emplace(std::move(idle_.back()));
    idle_.pop_back();
  }
  std::string input;
  for (std::size_t i = 0; i < count; ++i) {
    input += jobs[i].source.native();
    input += '\0';
    input += jobs[i].installed_as.native();
    input += '\0';
  }
  input += '\0';
  std::vector<CompiledFile> compiled;
  auto sent = worker->write(input);
  auto fields =
      sent ? worker->read_fields(2 * count) : Result<std::vector<std::string>>(std::unexpected(sent.error()));
  if (fields) {
    for (std::size_t i = 0; i < fields->size(); i += 2)
      if (!(*fields)[i].empty()) compiled.push_back({(*fields)[i], (*fields)[i + 1]});
  }
  {
    // A dead worker is not returned to the pool; waiters then fail on the next one, not hang.
    std::lock_guard lock(mutex_);
    if (fields)
      idle_.push_back(std::move(*worker));
    else
      --workers_;
  }
  idle_changed_.notify_one();
  if (!fields)
    return fail(ErrorKind::runtime,
                fmt::format("{}: bytecode compilation failed: {}", python_.string(), fields.error().message));
  return compiled;
}

Result<std::vector<CompiledFile>> Compiler::compile(const std::vector<CompileJob>& jobs) {
  std::size_t parts = 1;
  {
    std::lock_guard lock(mutex_);
    if (workers_ == 0)
      return fail(ErrorKind::runtime, fmt::format("{}: no bytecode compiler is running", python_.string()));
    parts = std::clamp<std::size_t>(std::min(idle_.size(), jobs.size() / kMinPerWorker), 1, workers_);
  }
  if (parts == 1) return compile_on_one(jobs.data(), jobs.size());
  std::vector<Result<std::vector<CompiledFile>>> results(parts);
  {
    std::vector<std::jthread> threads;
    const std::size_t per = (jobs.size() + parts - 1) / parts;
    for (std::size_t p = 0; p < parts; ++p) {
      std::size_t begin = p * per, end = std::min(jobs.size(), begin + per);
      threads.emplace_back([this, &jobs, &results, p, begin, end] {
        results[p] = compile_on_one(jobs.data() + begin, end - begin);
      });
    }
  }
  std::vector<CompiledFile> compiled;
  for (auto& r : results) {
    if (!r) return std::unexpected(r.error());
    compiled.insert(compiled.end(), r->begin(), r->end());
  }
  return compiled;
}

Result<std::vector<CompiledFile>> compile_bytecode(const std::filesystem::path& python,
                                                   const std::vector<CompileJob>& jobs, unsigned workers) {
  if (jobs.empty()) return std::vector<CompiledFile>{};
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  auto needed = static_cast<unsigned>((jobs.size() + kMinPerWorker - 1) / kMinPerWorker);
  auto compiler = Compiler::start(python, std::min(workers, std::max(1u, needed)));
  if (!compiler) return std::unexpected(compiler.error());
  return (*compiler)->compile(jobs);
}

}  // namespace strata::wheel
