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
  const std::vector<std::string> argv = {python.string(), "-I", "-B", "-c", kCompileScript};
  std::vector<util::Child> children;
  for (unsigned i = 0; i < workers; ++i) {
    // Spawned from the calling thread: the workers' parent-death signal follows its lifetime.
    auto child = util::Child::spawn(argv);
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
