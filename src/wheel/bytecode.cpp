#include "wheel/bytecode.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <thread>

#include <fmt/format.h>

namespace strata::wheel {
namespace {

// Runs in the target interpreter (3.6+) as a long-lived worker. First says what it is (cache tag,
// magic number, sys.version, whether pycs are hash-based), then reads batches of NUL-terminated
// (source, dfile, cfile) triples from stdin, each batch ended by an empty field, and answers each
// job with "1" (written) or "0" (did not compile). Exits at end of input, and when orphaned, so a
// killed strata leaves no compiler writing behind it.
constexpr const char* kCompileScript = R"PY(
import importlib.util, os, py_compile, sys, warnings
warnings.filterwarnings("ignore")
kwargs = {}
hash_based = hasattr(py_compile, "PycInvalidationMode")
if hash_based:
    kwargs["invalidation_mode"] = py_compile.PycInvalidationMode.UNCHECKED_HASH
parent = os.getppid()
try:  # die with strata (PR_SET_PDEATHSIG, SIGKILL)
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)
except Exception:
    pass
if os.getppid() != parent:
    sys.exit(1)
out = sys.stdout.buffer
hello = [sys.implementation.cache_tag or "", importlib.util.MAGIC_NUMBER.hex(), sys.version, "1" if hash_based else "0"]
out.write(b"".join(x.encode("utf-8", "replace") + b"\0" for x in hello))
out.flush()
# What py_compile.compile does for an unchecked-hash pyc, the same bytes, without its per-file
# makedirs and temporary-file rename (every cfile here is a new path): about 14% less time.
try:
    from importlib._bootstrap_external import _code_to_hash_pyc as code_to_hash_pyc
    from importlib.util import source_hash
except ImportError:
    code_to_hash_pyc = None
if not hash_based:
    code_to_hash_pyc = None
made = set()
def compile_lean(source, dfile, cfile):
    with open(source, "rb") as f:
        data = f.read()
    code = compile(data, dfile, "exec", dont_inherit=True, optimize=0)
    pyc = code_to_hash_pyc(code, source_hash(data), False)
    parent = os.path.dirname(cfile)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    try:
        with open(cfile, "wb") as f:
            f.write(pyc)
    except BaseException:
        try:
            os.unlink(cfile)
        except OSError:
            pass
        raise
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
while True:
    jobs = []
    while True:
        source = field()
        if source is None:
            sys.exit(0)
        if not source:
            break
        dfile = field()
        cfile = field()
        if cfile is None:
            sys.exit(0)
        jobs.append((os.fsdecode(source), os.fsdecode(dfile), os.fsdecode(cfile)))
    reply = []
    for source, dfile, cfile in jobs:
        if os.getppid() != parent:
            sys.exit(1)  # strata was killed: stop writing into its staging directory
        try:
            if code_to_hash_pyc:
                compile_lean(source, dfile, cfile)
            else:
                py_compile.compile(source, cfile=cfile, dfile=dfile, doraise=True, optimize=0, **kwargs)
        except Exception:
            reply.append(b"0\0")
            continue
        reply.append(b"1\0")
    out.write(b"".join(reply))
    out.flush()
)PY";

// A worker's start-up costs an interpreter; do not split lists smaller than this.
constexpr std::size_t kMinPerWorker = 64;

// FNV-1a, to shorten sys.version into a cache key.
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::filesystem::path pyc_path(const std::filesystem::path& py, const std::string& cache_tag) {
  return py.parent_path() / "__pycache__" / (py.stem().string() + "." + cache_tag + ".pyc");
}

Result<std::unique_ptr<Compiler>> Compiler::start(const std::filesystem::path& python, unsigned workers) {
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  std::unique_ptr<Compiler> compiler(new Compiler(python));
  const std::vector<std::string> argv = {python.string(), "-I", "-B", "-c", kCompileScript};
  for (unsigned i = 0; i < workers; ++i) {
    auto child = util::Child::spawn(argv);
    if (!child) return std::unexpected(child.error());
    compiler->idle_.push_back({std::move(*child), false});
  }
  compiler->workers_ = workers;
  return compiler;
}

Result<Compiler::Worker> Compiler::acquire() {
  std::unique_lock lock(mutex_);
  idle_changed_.wait(lock, [&] { return !idle_.empty() || workers_ == 0; });
  if (idle_.empty())
    return fail(ErrorKind::runtime, fmt::format("{}: no bytecode compiler is running", python_.string()));
  Worker worker = std::move(idle_.back());
  idle_.pop_back();
  return worker;
}

// A worker that failed is not returned; waiters then fail on the next one instead of hanging.
void Compiler::release(std::optional<Worker> worker) {
  {
    std::lock_guard lock(mutex_);
    if (worker)
      idle_.push_back(std::move(*worker));
    else
      --workers_;
  }
  idle_changed_.notify_all();
}

Result<void> Compiler::greet(Worker& worker) {
  if (worker.greeted) return {};
  auto hello = worker.child.read_fields(4);
  if (!hello) return std::unexpected(hello.error());
  worker.greeted = true;
  std::lock_guard lock(mutex_);
  if (!identity_) {
    const auto& f = *hello;
    identity_ = BytecodeIdentity{f[0], fmt::format("{}-{}-{:016x}", f[0], f[1], fnv1a(f[2])), f[3] == "1"};
  }
  return {};
}

Result<BytecodeIdentity> Compiler::identity() {
  {
    std::lock_guard lock(mutex_);
    if (identity_) return *identity_;
  }
  auto worker = acquire();
  if (!worker) return std::unexpected(worker.error());
  auto ok = greet(*worker);
  if (!ok) {
    release(std::nullopt);
    return fail(ErrorKind::runtime, fmt::format("{}: the bytecode compiler did not start: {}",
                                                python_.string(), ok.error().message));
  }
  release(std::move(*worker));
  std::lock_guard lock(mutex_);
  if (identity_->cache_tag.empty())
    return fail(ErrorKind::runtime,
                fmt::format("{}: the interpreter has no bytecode cache tag", python_.string()));
  return *identity_;
}

Result<std::vector<bool>> Compiler::compile_on_one(const CompileJob* jobs, std::size_t count) {
  auto worker = acquire();
  if (!worker) return std::unexpected(worker.error());
  std::string input;
  for (std::size_t i = 0; i < count; ++i) {
    input += jobs[i].source.native();
    input += '\0';
    input += jobs[i].dfile;
    input += '\0';
    input += jobs[i].cfile.native();
    input += '\0';
  }
  input += '\0';
  Result<std::vector<std::string>> fields = std::vector<std::string>{};
  if (auto hello = greet(*worker); !hello)
    fields = std::unexpected(hello.error());
  else if (auto sent = worker->child.write(input); !sent)
    fields = std::unexpected(sent.error());
  else
    fields = worker->child.read_fields(count);
  if (!fields) {
    release(std::nullopt);
    return fail(ErrorKind::runtime,
                fmt::format("{}: bytecode compilation failed: {}", python_.string(), fields.error().message));
  }
  release(std::move(*worker));
  std::vector<bool> written;
  for (const auto& f : *fields) written.push_back(f == "1");
  return written;
}

Result<std::vector<bool>> Compiler::compile(const std::vector<CompileJob>& jobs) {
  std::size_t parts = 1;
  {
    std::lock_guard lock(mutex_);
    if (workers_ == 0)
      return fail(ErrorKind::runtime, fmt::format("{}: no bytecode compiler is running", python_.string()));
    parts = std::clamp<std::size_t>(std::min(idle_.size(), jobs.size() / kMinPerWorker), 1, workers_);
  }
  if (parts == 1) return compile_on_one(jobs.data(), jobs.size());
  std::vector<Result<std::vector<bool>>> results(parts);
  {
    std::vector<std::jthread> threads;
    const std::size_t per = (jobs.size() + parts - 1) / parts;
    for (std::size_t p = 0; p < parts; ++p) {
      std::size_t begin = std::min(jobs.size(), p * per), end = std::min(jobs.size(), begin + per);
      threads.emplace_back([this, &jobs, &results, p, begin, end] {
        results[p] = compile_on_one(jobs.data() + begin, end - begin);
      });
    }
  }
  std::vector<bool> written;
  for (auto& r : results) {
    if (!r) return std::unexpected(r.error());
    written.insert(written.end(), r->begin(), r->end());
  }
  return written;
}

}  // namespace strata::wheel
