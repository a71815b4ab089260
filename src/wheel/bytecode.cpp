#include "wheel/bytecode.hpp"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "util/process.hpp"

namespace strata::wheel {
namespace {

// Runs in the target interpreter (3.6+). Reads NUL-separated (source, installed path) pairs on
// stdin; compiles each source into __pycache__ beside it under the name the installed path gets;
// prints NUL-separated (written pyc, installed pyc) pairs for the files that compiled. Stops when
// orphaned, so a killed strata leaves no compiler writing behind it.
constexpr const char* kCompileScript = R"PY(
import importlib.util, os, py_compile, sys, warnings
warnings.filterwarnings("ignore")
data = sys.stdin.buffer.read().split(b"\0")
kwargs = {}
if hasattr(py_compile, "PycInvalidationMode"):
    kwargs["invalidation_mode"] = py_compile.PycInvalidationMode.UNCHECKED_HASH
out = []
parent = os.getppid()
try:  # die with strata (PR_SET_PDEATHSIG, SIGKILL), so a killed install leaves no writer behind
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)
except Exception:
    pass
if os.getppid() != parent:
    sys.exit(1)
for i in range(0, len(data) - 1, 2):
    if os.getppid() != parent:
        sys.exit(1)  # strata was killed: stop writing into its staging directory
    source = os.fsdecode(data[i])
    installed = os.fsdecode(data[i + 1])
    installed_pyc = importlib.util.cache_from_source(installed)
    written = os.path.join(os.path.dirname(source), "__pycache__", os.path.basename(installed_pyc))
    try:
        py_compile.compile(source, cfile=written, dfile=installed, doraise=True, optimize=0, **kwargs)
    except Exception as e:
        sys.stderr.write("%s: %s\n" % (installed, e))
        continue
    out.append(os.fsencode(written))
    out.append(os.fsencode(installed_pyc))
sys.stdout.buffer.write(b"".join(x + b"\0" for x in out))
)PY";

struct Batch {
  std::string input;
  Result<util::ProcessOutput> output = util::ProcessOutput{};
};

}  // namespace

Result<std::vector<CompiledFile>> compile_bytecode(const std::filesystem::path& python,
                                                   const std::vector<CompileJob>& jobs, unsigned workers) {
  std::vector<CompiledFile> compiled;
  if (jobs.empty()) return compiled;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  // Each process costs an interpreter start-up; do not split tiny lists.
  constexpr std::size_t kMinPerProcess = 32;
  std::size_t processes = std::min<std::size_t>(workers, (jobs.size() + kMinPerProcess - 1) / kMinPerProcess);
  processes = std::max<std::size_t>(1, processes);
  std::vector<Batch> batches(processes);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    auto& input = batches[i % processes].input;
    input += jobs[i].source.native();
    input += '\0';
    input += jobs[i].installed_as.native();
    input += '\0';
  }
  std::vector<std::string> argv = {python.string(), "-I", "-B", "-c", kCompileScript};
  {
    std::vector<std::jthread> threads;
    for (auto& batch : batches)
      threads.emplace_back([&batch, &argv] { batch.output = util::run_process(argv, batch.input); });
  }
  for (auto& batch : batches) {
    if (!batch.output) return std::unexpected(batch.output.error());
    if (batch.output->exit_code != 0)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: bytecode compilation failed (exit {}): {}", python.string(),
                              batch.output->exit_code, batch.output->err));
    const std::string& out = batch.output->out;
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t nul = out.find('\0'); nul != std::string::npos; nul = out.find('\0', start)) {
      parts.push_back(out.substr(start, nul - start));
      start = nul + 1;
    }
    if (start != out.size() || parts.size() % 2 != 0)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: unexpected output from the bytecode compiler", python.string()));
    for (std::size_t i = 0; i < parts.size(); i += 2) compiled.push_back({parts[i], parts[i + 1]});
  }
  return compiled;
}

}  // namespace strata::wheel
