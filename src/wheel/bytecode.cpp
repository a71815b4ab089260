#include "wheel/bytecode.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "util/interrupt.hpp"

namespace strata::wheel {
namespace {

// Runs in the target interpreter (3.6+) as a long-lived worker. First says what it is (cache tag,
// magic number, sys.version, whether pycs are hash-based), then reads batches of NUL-terminated
// (source, dfile, cfile) triples from stdin, each batch ended by an empty field, and answers each
// job with "1" (written) or "0" (did not compile). Exits at end of input, and when orphaned, so a
// killed strata leaves no compiler writing behind it.
//
// A pyc must not depend on what the worker compiled or imported before (which files went to which
// worker, in which order), nor on the worker's hash seed. marshal writes what the interpreter's
// state says about an object, so the script fixes that state:
// - The one-character latin-1 strings are singletons: whether a constant such as "{" or "\xdf"
//   is written as interned depends on whether anything interned that singleton before (a file
//   with the identifier \xdf, sharp s). The worker interns all 256 first, as CPython 3.13 does
//   at start-up.
// - Before 3.11, marshal flags an interned string for back-references only when something else
//   holds it, i.e. depending on the modules loaded so far (a coding cookie loads a codec). While
//   a code object is dumped the worker holds its interned strings, so every one is flagged, as
//   3.11's marshal does for all interned strings (CPython gh-78214).
// - Before 3.11, frozenset constants are written in set order, which follows the hash seed:
//   strata starts the workers with PYTHONHASHSEED=0 (and without -I, which would ignore it).
// - No site (-S): .pth files of the environment being installed into do not run in the worker.
constexpr const char* kCompileScript = R"PY(
import sys
sys.path[:] = [p for p in sys.path if p]  # -c put the working directory first
for i in range(256):
    sys.intern(chr(i))
import importlib.util, marshal, os, py_compile, warnings
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
def pinned(code):
    return None
if sys.version_info < (3, 11):
    interned = frozenset(b"ZAt")  # TYPE_SHORT_ASCII_INTERNED, TYPE_ASCII_INTERNED, TYPE_INTERNED
    code_type = type(pinned.__code__)
    def pin_const(c, out):
        t = type(c)
        if t is str:
            if marshal.dumps(c)[0] & 0x7f in interned:
                out.append(c)
        elif t is tuple or t is frozenset:
            for x in c:
                pin_const(x, out)
        elif t is code_type:
            pin_code(c, out)
    def pin_code(code, out):
        out.extend(code.co_names)  # names are always interned
        out.extend(code.co_varnames)
        out.extend(code.co_freevars)
        out.extend(code.co_cellvars)
        pin_const(code.co_name, out)
        for c in code.co_consts:
            pin_const(c, out)
    def pinned(code):
        out = []
        pin_code(code, out)
        return out
made = set()
def compile_lean(source, dfile, cfile):
    with open(source, "rb") as f:
        data = f.read()
    code = compile(data, dfile, "exec", dont_inherit=True, optimize=0)
    pins = pinned(code)
    pyc = code_to_hash_pyc(code, source_hash(data), False)
    del pins
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

// Files per batch: small enough that the workers share a large wheel, large enough that the
// round trip to a worker is noise.
constexpr std::size_t kBatch = 24;

struct Compiler::Request {
  std::vector<bool> written;
  std::size_t pending = 0;
  std::optional<std::string> error;
};

Result<std::unique_ptr<Compiler>> Compiler::start(const std::filesystem::path& python, unsigned workers) {
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  std::unique_ptr<Compiler> compiler(new Compiler(python));
  // Not -I (isolated), which ignores PYTHONHASHSEED: the same isolation by hand, no PYTHON*
  // variable but the seed, no user or site directories.
  const std::vector<std::string> argv = {python.string(), "-S", "-s", "-B", "-c", kCompileScript};
  std::vector<std::string> env;
  for (auto& e : util::current_environment())
    if (!e.starts_with("PYTHON")) env.push_back(std::move(e));
  env.push_back("PYTHONHASHSEED=0");
  std::vector<util::Child> children;
  for (unsigned i = 0; i < workers; ++i) {
    // Spawned from the calling thread: the workers' parent-death signal follows its lifetime.
    auto child = util::Child::spawn(argv, env);
    if (!child) return std::unexpected(child.error());
    children.push_back(std::move(*child));
  }
  compiler->alive_ = workers;
  for (auto& child : children)
    compiler->drivers_.emplace_back(
        [c = compiler.get(), ch = std::move(child)]() mutable { c->drive(std::move(ch)); });
  return compiler;
}

Compiler::~Compiler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  drivers_.clear();  // joins; each driver's worker exits at the end of its input
}

// One worker's loop: say hello, then take batches until stopped. A worker that fails takes no
// more work; when the last one fails, everything queued fails with it.
void Compiler::drive(util::Child child) {
  auto stop = [&](std::string why) {
    std::lock_guard lock(mutex_);
    failure_ = std::move(why);
    if (--alive_ == 0) {
      for (auto& batch : queue_) {
        batch.request->error = failure_;
        --batch.request->pending;
      }
      queue_.clear();
    }
    done_.notify_all();
  };
  auto hello = child.read_fields(4);
  if (!hello) return stop(hello.error().message);
  {
    std::lock_guard lock(mutex_);
    if (!identity_) {
      const auto& f = *hello;
      identity_ = BytecodeIdentity{f[0], fmt::format("{}-{}-{:016x}", f[0], f[1], fnv1a(f[2])), f[3] == "1"};
    }
  }
  done_.notify_all();
  while (true) {
    Batch batch{};
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      batch = queue_.front();
      queue_.pop_front();
      // Ctrl-C: the queued batches fail at once instead of compiling (the workers stay usable).
      if (util::interrupted()) {
        batch.request->error = util::interrupt_message();
        --batch.request->pending;
        done_.notify_all();
        continue;
      }
    }
    std::string input;
    for (std::size_t i = 0; i < batch.count; ++i) {
      input += batch.jobs[i].source.native();
      input += '\0';
      input += batch.jobs[i].dfile;
      input += '\0';
      input += batch.jobs[i].cfile.native();
      input += '\0';
    }
    input += '\0';
    auto sent = child.write(input);
    auto fields = sent ? child.read_fields(batch.count)
                       : Result<std::vector<std::string>>(std::unexpected(sent.error()));
    if (!fields) {
      {
        std::lock_guard lock(mutex_);
        batch.request->error = fields.error().message;
        --batch.request->pending;
      }
      return stop(fields.error().message);
    }
    if (progress_) progress_(0, batch.count);
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < batch.count; ++i)
        batch.request->written[batch.offset + i] = (*fields)[i] == "1";
      --batch.request->pending;
    }
    done_.notify_all();
  }
}

Result<BytecodeIdentity> Compiler::identity() {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return identity_ || alive_ == 0; });
  if (!identity_)
    return fail(ErrorKind::runtime,
                fmt::format("{}: the bytecode compiler did not start: {}", python_.string(), failure_));
  if (identity_->cache_tag.empty())
    return fail(ErrorKind::runtime,
                fmt::format("{}: the interpreter has no bytecode cache tag", python_.string()));
  return *identity_;
}

Result<std::vector<bool>> Compiler::compile(const std::vector<CompileJob>& jobs) {
  Request request;
  request.written.assign(jobs.size(), false);
  if (progress_ && !jobs.empty()) progress_(jobs.size(), 0);
  {
    std::unique_lock lock(mutex_);
    if (alive_ == 0)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: bytecode compilation failed: {}", python_.string(), failure_));
    for (std::size_t begin = 0; begin < jobs.size(); begin += kBatch) {
      queue_.push_back({jobs.data() + begin, std::min(kBatch, jobs.size() - begin), begin, &request});
      ++request.pending;
    }
    work_.notify_all();
    done_.wait(lock, [&] { return request.pending == 0; });
  }
  if (request.error)
    return fail(ErrorKind::runtime,
                fmt::format("{}: bytecode compilation failed: {}", python_.string(), *request.error));
  return std::move(request.written);
}

}  // namespace strata::wheel
