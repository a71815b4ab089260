#include "env/probe.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::env {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The probe. It must run on CPython 3.6+ and PyPy 3 (no f-strings' newer forms, no walrus), and
// computes every fact the way packaging 26.3 does in the running interpreter (markers.py's
// default_environment, tags.py, _manylinux.py, _musllinux.py, _elffile.py) and pip does for the
// scheme. It writes one JSON document on stdout and nothing else.
constexpr std::string_view kProbeScript = R"PY(
import json, os, platform, re, struct, sys, sysconfig


def cfg_bool(name):
    value = sysconfig.get_config_var(name)
    return None if value is None else bool(value)


def cfg_int(name):
    value = sysconfig.get_config_var(name)
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def cfg_str(name):
    value = sysconfig.get_config_var(name)
    return value if isinstance(value, str) else None


def full_version(info):
    version = "%s.%s.%s" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


ELF_FORMATS = {
    (1, 1): ("<HHIIIIIHHH", "<IIIIIIII", (0, 1, 4)),
    (1, 2): (">HHIIIIIHHH", ">IIIIIIII", (0, 1, 4)),
    (2, 1): ("<HHIQQQIHHH", "<IIQQQQQQ", (0, 2, 5)),
    (2, 2): (">HHIQQQIHHH", ">IIQQQQQQ", (0, 2, 5)),
}


def read_elf(path):
    try:
        with open(path, "rb") as f:
            ident = f.read(16)
            if len(ident) < 16 or ident[:4] != b"\x7fELF":
                return None
            ei_class, ei_data = ident[4], ident[5]
            if (ei_class, ei_data) not in ELF_FORMATS:
                return None
            e_fmt, p_fmt, p_idx = ELF_FORMATS[(ei_class, ei_data)]
            header = struct.unpack(e_fmt, f.read(struct.calcsize(e_fmt)))
            machine, phoff, flags, phentsize, phnum = header[1], header[4], header[6], header[8], header[9]
            interpreter = None
            for index in range(phnum):
                f.seek(phoff + phentsize * index)
                try:
                    entry = struct.unpack(p_fmt, f.read(struct.calcsize(p_fmt)))
                except struct.error:
                    continue
                if entry[p_idx[0]] != 3:
                    continue
                f.seek(entry[p_idx[1]])
                interpreter = os.fsdecode(f.read(entry[p_idx[2]])).strip("\0")
                break
            return {"class": ei_class, "data": ei_data, "machine": machine, "flags": flags,
                    "interpreter": interpreter}
    except (OSError, TypeError, ValueError, struct.error):
        return None


def musl_version(elf):
    ld = elf["interpreter"] if elf else None
    if not ld or "musl" not in ld:
        return None
    import subprocess
    try:
        proc = subprocess.run([ld], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, universal_newlines=True)
    except OSError:
        return None
    lines = [n for n in (n.strip() for n in proc.stderr.splitlines()) if n]
    if len(lines) < 2 or lines[0][:4] != "musl":
        return None
    m = re.match(r"Version (\d+)\.(\d+)", lines[1])
    return [int(m.group(1)), int(m.group(2))] if m else None


def glibc_version():
    version = None
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")
        assert text is not None
        _, version = text.rsplit()
    except (AssertionError, AttributeError, OSError, ValueError):
        version = None
    if not version:
        try:
            import ctypes
            try:
                namespace = ctypes.CDLL(None)
                function = namespace.gnu_get_libc_version
            except (OSError, AttributeError):
                function = None
            if function is not None:
                function.restype = ctypes.c_char_p
                version = function()
                if isinstance(version, bytes):
                    version = version.decode("ascii")
        except ImportError:
            version = None
    if not version:
        return None
    m = re.match(r"(?P<major>[0-9]+)\.(?P<minor>[0-9]+)", version)
    if not m:
        return None
    return [int(m.group("major")), int(m.group("minor"))]


def normalize(text):
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def linux_archs(is_32bit):
    linux = normalize(sysconfig.get_platform())
    if not linux.startswith("linux_"):
        return []
    if is_32bit:
        if linux == "linux_x86_64":
            linux = "linux_i686"
        elif linux == "linux_aarch64":
            linux = "linux_armv8l"
    arch = linux.split("_", 1)[1]
    return ["armv8l", "armv7l"] if arch == "armv8l" else [arch]


def manylinux_rejected(archs, glibc):
    if glibc is None or not archs:
        return []
    try:
        module = __import__("_manylinux")
    except ImportError:
        return []
    rejected = []
    for arch in archs:
        for major in range(glibc[0], 1, -1):
            top = glibc[1] if major == glibc[0] else 50
            for minor in range(top, -1, -1):
                ok = True
                if hasattr(module, "manylinux_compatible"):
                    result = module.manylinux_compatible(major, minor, arch)
                    if result is not None:
                        ok = bool(result)
                elif (major, minor) == (2, 5) and hasattr(module, "manylinux1_compatible"):
                    ok = bool(module.manylinux1_compatible)
                elif (major, minor) == (2, 12) and hasattr(module, "manylinux2010_compatible"):
                    ok = bool(module.manylinux2010_compatible)
                elif (major, minor) == (2, 17) and hasattr(module, "manylinux2014_compatible"):
                    ok = bool(module.manylinux2014_compatible)
                if not ok:
                    rejected.append("manylinux_%d_%d_%s" % (major, minor, arch))
    return rejected


def mac_facts(is_32bit):
    if platform.system() != "Darwin":
        return None
    try:
        version_str, _, cpu_arch = platform.mac_ver()
        version = tuple(map(int, version_str.split(".")[:2]))
        if version == (10, 16):
            import subprocess
            version_str = subprocess.run(
                [sys.executable, "-sS", "-c", "import platform; print(platform.mac_ver()[0])"],
                check=True, env={"SYSTEM_VERSION_COMPAT": "0"}, stdout=subprocess.PIPE,
                universal_newlines=True).stdout
            version = tuple(map(int, version_str.split(".")[:2]))
        arch = cpu_arch
        if is_32bit:
            arch = "ppc" if cpu_arch.startswith("ppc") else "i386"
        return {"version": list(version[:2]), "arch": arch}
    except Exception:
        return None


def venv_system_site():
    exe_dir = os.path.dirname(os.path.abspath(sys.executable))
    for conf in (os.path.join(exe_dir, "pyvenv.cfg"),
                 os.path.join(os.path.dirname(exe_dir), "pyvenv.cfg")):
        if os.path.isfile(conf):
            value = "true"
            try:
                with open(conf, encoding="utf-8") as f:
                    for line in f:
                        if "=" in line:
                            key, _, val = line.partition("=")
                            if key.strip().lower() == "include-system-site-packages":
                                value = val.strip().lower()
            except (OSError, UnicodeDecodeError):
                pass
            return value == "true"
    return True


def user_site(in_venv):
    # site.py decides this at startup; under -I it always says no, so redo its checks.
    if os.environ.get("PYTHONNOUSERSITE"):
        return None
    if hasattr(os, "getuid") and hasattr(os, "geteuid"):
        if os.geteuid() != os.getuid():
            return None
    if hasattr(os, "getgid") and hasattr(os, "getegid"):
        if os.getegid() != os.getgid():
            return None
    if in_venv and not venv_system_site():
        return None
    try:
        import site
        path = site.getusersitepackages()
    except Exception:
        return None
    return path if path and os.path.isdir(path) else None


def main():
    base_prefix = getattr(sys, "base_prefix", sys.prefix)
    in_venv = sys.prefix != base_prefix or hasattr(sys, "real_prefix")
    paths = dict(sysconfig.get_paths())
    if in_venv:
        paths["headers"] = os.path.join(sys.prefix, "include", "site",
                                        "python%d.%d" % sys.version_info[:2])
    else:
        paths["headers"] = paths.get("include", "")

    site_dirs = []
    for entry in sys.path:
        if not entry:
            continue
        path = os.path.abspath(entry)
        if os.path.basename(path) in ("site-packages", "dist-packages") and \
                os.path.isdir(path) and path not in site_dirs:
            site_dirs.append(path)
    user = user_site(in_venv)
    if user is not None and user not in site_dirs:
        site_dirs.insert(0, user)

    is_32bit = struct.calcsize("P") == 4
    elf = read_elf(sys.executable)
    glibc = glibc_version()
    try:
        from importlib.machinery import EXTENSION_SUFFIXES
    except ImportError:
        EXTENSION_SUFFIXES = []

    markers = {
        "implementation_name": sys.implementation.name,
        "implementation_version": full_version(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }
    tag_facts = {
        "py_version_nodot": cfg_str("py_version_nodot"),
        "soabi": cfg_str("SOABI"),
        "ext_suffix": cfg_str("EXT_SUFFIX"),
        "abiflags": getattr(sys, "abiflags", ""),
        "py_debug": cfg_bool("Py_DEBUG"),
        "has_gettotalrefcount": hasattr(sys, "gettotalrefcount"),
        "has_debug_pyd": "_d.pyd" in EXTENSION_SUFFIXES,
        "with_pymalloc": cfg_bool("WITH_PYMALLOC"),
        "unicode_size": cfg_int("Py_UNICODE_SIZE"),
        "wide_unicode": sys.maxunicode == 0x10FFFF,
        "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "system": platform.system(),
        "platform": sysconfig.get_platform(),
        "is_64bit": not is_32bit,
        "glibc": glibc,
        "musl": musl_version(elf),
        "elf": None if elf is None else {k: elf[k] for k in ("class", "data", "machine", "flags")},
        "manylinux_rejected": manylinux_rejected(linux_archs(is_32bit), glibc),
        "mac": mac_facts(is_32bit),
    }
    info = sys.version_info
    result = {
        "sys_executable": sys.executable,
        "real_executable": os.path.realpath(sys.executable),
        "implementation": sys.implementation.name,
        "version_info": [info.major, info.minor, info.micro, info.releaselevel, info.serial],
        "prefix": sys.prefix,
        "base_prefix": base_prefix,
        "exec_prefix": sys.exec_prefix,
        "base_exec_prefix": getattr(sys, "base_exec_prefix", sys.exec_prefix),
        "in_venv": in_venv,
        "paths": paths,
        "site_dirs": site_dirs,
        "markers": markers,
        "tag_facts": tag_facts,
    }
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()


main()
)PY";

// --- parsing the probe output ---

std::optional<bool> opt_bool(const json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<bool>();
}

std::optional<std::pair<int, int>> opt_version(const json& j) {
  if (j.is_null()) return std::nullopt;
  if (!j.is_array() || j.size() < 2) throw json::type_error::create(302, "expected [major, minor]", &j);
  return std::pair{j.at(0).get<int>(), j.at(1).get<int>()};
}

std::string str_or_empty(const json& j) { return j.is_null() ? std::string() : j.get<std::string>(); }

pep::TagEnvironment parse_tag_facts(const json& facts, const Interpreter& interpreter) {
  pep::TagEnvironment env;
  env.implementation = interpreter.implementation;
  env.major = interpreter.major;
  env.minor = interpreter.minor;
  env.py_version_nodot = str_or_empty(facts.at("py_version_nodot"));
  env.soabi = str_or_empty(facts.at("soabi"));
  if (const auto& ext = facts.at("ext_suffix"); !ext.is_null()) env.ext_suffix = ext.get<std::string>();
  env.abiflags = str_or_empty(facts.at("abiflags"));
  env.py_debug = opt_bool(facts.at("py_debug"));
  env.has_gettotalrefcount = facts.at("has_gettotalrefcount").get<bool>();
  env.has_debug_pyd = facts.at("has_debug_pyd").get<bool>();
  env.with_pymalloc = opt_bool(facts.at("with_pymalloc"));
  if (const auto& size = facts.at("unicode_size"); !size.is_null()) env.unicode_size = size.get<int>();
  env.wide_unicode = facts.at("wide_unicode").get<bool>();
  env.gil_disabled = facts.at("gil_disabled").get<bool>();
  env.system = facts.at("system").get<std::string>();
  env.platform = facts.at("platform").get<std::string>();
  env.is_64bit = facts.at("is_64bit").get<bool>();
  env.glibc = opt_version(facts.at("glibc"));
  env.musl = opt_version(facts.at("musl"));
  if (const auto& elf = facts.at("elf"); !elf.is_null()) {
    env.elf = pep::ElfHeader{elf.at("class").get<int>(), elf.at("data").get<int>(),
                             elf.at("machine").get<int>(), elf.at("flags").get<std::uint32_t>()};
  }
  env.manylinux_rejected = facts.at("manylinux_rejected").get<std::vector<std::string>>();
  if (const auto& mac = facts.at("mac"); !mac.is_null()) {
    env.mac_version = opt_version(mac.at("version"));
    env.mac_arch = mac.at("arch").get<std::string>();
  }
  return env;
}

// --- the cache ---

std::uint64_t fnv1a64(std::string_view data) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::optional<json> stat_json(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  const long long mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return json{{"path", path.string()}, {"mtime_ns", mtime_ns}, {"size", static_cast<long long>(st.st_size)}};
}

bool is_script(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char head[2] = {0, 0};
  in.read(head, 2);
  return in.gcount() == 2 && head[0] == '#' && head[1] == '!';
}

// The cache key of an interpreter, or nullopt when it must not be cached. A venv's python is a
// symlink to the base interpreter, so the key holds the path as given as well as the resolved
// file, and the venv's pyvenv.cfg (which decides its site dirs).
std::optional<json> cache_key(const fs::path& executable) {
  std::error_code ec;
  const fs::path real = fs::canonical(executable, ec);
  if (ec || is_script(real)) return std::nullopt;
  auto real_stat = stat_json(real);
  if (!real_stat) return std::nullopt;
  json key{{"executable", executable.string()},
           {"real", *real_stat},
           {"script", fmt::format("{:016x}", fnv1a64(kProbeScript))}};
  const fs::path dir = executable.parent_path();
  for (const auto& cfg : {dir / "pyvenv.cfg", dir.parent_path() / "pyvenv.cfg"}) {
    if (auto cfg_stat = stat_json(cfg)) {
      key["pyvenv_cfg"] = *cfg_stat;
      break;
    }
  }
  return key;
}

fs::path cache_file(const fs::path& cache_dir, const json& key) {
  return cache_dir / fmt::format("{:016x}.json", fnv1a64(key.dump()));
}

// A cached probe for `key`, or nullopt when absent, stale or unreadable (then it is rewritten).
std::optional<Interpreter> read_cache(const fs::path& file, const json& key) {
  auto text = util::read_file(file);
  if (!text) return std::nullopt;
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("key") || doc["key"] != key ||
      !doc.contains("probe"))
    return std::nullopt;
  auto parsed = detail::parse_probe_output(doc["probe"].dump(), file.string());
  if (!parsed) return std::nullopt;
  return std::move(*parsed);
}

std::string last_lines(std::string_view text, std::size_t count) {
  text = util::trim(text);
  std::size_t pos = text.size();
  for (std::size_t i = 0; i < count && pos != std::string_view::npos && pos > 0; ++i)
    pos = text.rfind('\n', pos - 1);
  if (pos != std::string_view::npos && pos < text.size()) text.remove_prefix(pos + 1);
  return std::string(text);
}

}  // namespace

namespace detail {

std::string_view probe_script() { return kProbeScript; }

Result<Interpreter> parse_probe_output(std::string_view text, std::string_view subject) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(ErrorKind::runtime,
                fmt::format("{}: the interpreter probe did not print a JSON object: {:.200}", subject,
                            util::trim(text)));
  try {
    Interpreter interp;
    interp.sys_executable = doc.at("sys_executable").get<std::string>();
    interp.real_executable = doc.at("real_executable").get<std::string>();
    interp.implementation = doc.at("implementation").get<std::string>();
    const auto& info = doc.at("version_info");
    interp.major = info.at(0).get<int>();
    interp.minor = info.at(1).get<int>();
    interp.micro = info.at(2).get<int>();
    interp.prefix = doc.at("prefix").get<std::string>();
    interp.base_prefix = doc.at("base_prefix").get<std::string>();
    interp.exec_prefix = doc.at("exec_prefix").get<std::string>();
    interp.base_exec_prefix = doc.at("base_exec_prefix").get<std::string>();
    interp.in_venv = doc.at("in_venv").get<bool>();
    for (const auto& [name, value] : doc.at("paths").items())
      interp.paths[name] = value.is_null() ? std::string() : value.get<std::string>();
    for (const auto& dir : doc.at("site_dirs")) interp.site_dirs.emplace_back(dir.get<std::string>());
    for (const auto& [name, value] : doc.at("markers").items())
      interp.markers[name] = value.get<std::string>();
    if (!interp.markers.contains("python_full_version"))
      return fail(ErrorKind::runtime,
                  fmt::format("{}: the interpreter probe gave no python_full_version", subject));
    interp.version = interp.markers.at("python_full_version");
    interp.tag_env = parse_tag_facts(doc.at("tag_facts"), interp);
    return interp;
  } catch (const json::exception& e) {
    return fail(ErrorKind::runtime,
                fmt::format("{}: unexpected interpreter probe output: {}", subject, e.what()));
  }
}

Result<fs::path> resolve_interpreter(const std::string& python) {
  if (python.empty()) return fail(ErrorKind::usage, "empty interpreter name");
  if (python.find('/') == std::string::npos) {
    const char* path_env = std::getenv("PATH");
    const std::string search = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
    for (auto dir : util::split(search, ':')) {
      const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / python;
      std::error_code ec;
      if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
        return fs::absolute(candidate).lexically_normal();
    }
    return fail(ErrorKind::usage, fmt::format("{}: interpreter not found on PATH", python));
  }
  const fs::path path = fs::absolute(python).lexically_normal();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    return fail(ErrorKind::usage, fmt::format("{}: interpreter not found (no such file)", python));
  if (fs::is_directory(status))
    return fail(ErrorKind::usage, fmt::format("{}: is a directory, not an interpreter", python));
  if (::access(path.c_str(), X_OK) != 0)
    return fail(ErrorKind::usage, fmt::format("{}: interpreter is not executable", python));
  return path;
}

}  // namespace detail

Result<Interpreter> probe_interpreter(const std::string& python, const ProbeOptions& options) {
  auto executable = detail::resolve_interpreter(python);
  if (!executable) return std::unexpected(std::move(executable.error()));
  const std::string subject = executable->string();

  std::optional<json> key;
  fs::path file;
  if (!options.cache_dir.empty()) {
    key = cache_key(*executable);
    if (key) {
      file = cache_file(options.cache_dir, *key);
      if (auto cached = read_cache(file, *key)) {
        cached->executable = *executable;
        return std::move(*cached);
      }
    }
  }

  const std::vector<std::string> argv{subject, "-I", "-c", std::string(kProbeScript)};
  auto output = options.run ? options.run(argv, {}) : util::run_process(argv);
  if (!output)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot run the interpreter: {}", subject, output.error().message));
  if (output->exit_code != 0) {
    // Python 2 and 3.3 and older do not know -I.
    if (output->err.find("Unknown option: -I") != std::string::npos)
      return fail(
          ErrorKind::usage,
          fmt::format(
              "{}: not a supported interpreter (it does not know -I); strata needs Python 3.6 or newer",
              subject));
    const std::string err = last_lines(output->err, 5);
    return fail(ErrorKind::runtime, fmt::format("{}: the interpreter probe exited with status {}{}{}",
                                                subject, output->exit_code, err.empty() ? "" : ": ", err));
  }
  auto interp = detail::parse_probe_output(output->out, subject);
  if (!interp) return interp;
  interp->executable = *executable;

  // The cache is an optimisation: failing to write it must not fail the probe.
  if (key) {
    std::error_code ec;
    fs::create_directories(options.cache_dir, ec);
    if (!ec) {
      json doc{{"key", *key}, {"probe", json::parse(output->out)}};
      (void)util::write_file_atomic(file, doc.dump());
    }
  }
  return interp;
}

nlohmann::json to_json(const Interpreter& interpreter) {
  const auto& t = interpreter.tag_env;
  auto opt = [](const auto& value) -> json { return value ? json(*value) : json(nullptr); };
  auto version = [](const std::optional<std::pair<int, int>>& v) -> json {
    return v ? json::array({v->first, v->second}) : json(nullptr);
  };
  json elf = nullptr;
  if (t.elf)
    elf = {{"class", t.elf->ei_class},
           {"data", t.elf->ei_data},
           {"machine", t.elf->machine},
           {"flags", t.elf->flags}};
  json site_dirs = json::array();
  for (const auto& dir : interpreter.site_dirs) site_dirs.push_back(dir.string());
  return {
      {"executable", interpreter.executable.string()},
      {"sys_executable", interpreter.sys_executable.string()},
      {"real_executable", interpreter.real_executable.string()},
      {"implementation", interpreter.implementation},
      {"version", interpreter.version},
      {"version_info", {interpreter.major, interpreter.minor, interpreter.micro}},
      {"prefix", interpreter.prefix.string()},
      {"base_prefix", interpreter.base_prefix.string()},
      {"exec_prefix", interpreter.exec_prefix.string()},
      {"base_exec_prefix", interpreter.base_exec_prefix.string()},
      {"in_venv", interpreter.in_venv},
      {"paths", interpreter.paths},
      {"site_dirs", site_dirs},
      {"markers", interpreter.markers},
      {"tag_environment",
       {{"implementation", t.implementation},
        {"major", t.major},
        {"minor", t.minor},
        {"py_version_nodot", t.py_version_nodot},
        {"soabi", t.soabi},
        {"ext_suffix", opt(t.ext_suffix)},
        {"abiflags", t.abiflags},
        {"py_debug", opt(t.py_debug)},
        {"has_gettotalrefcount", t.has_gettotalrefcount},
        {"with_pymalloc", opt(t.with_pymalloc)},
        {"unicode_size", opt(t.unicode_size)},
        {"gil_disabled", t.gil_disabled},
        {"system", t.system},
        {"platform", t.platform},
        {"is_64bit", t.is_64bit},
        {"glibc", version(t.glibc)},
        {"musl", version(t.musl)},
        {"elf", elf},
        {"manylinux_rejected", t.manylinux_rejected},
        {"mac_version", version(t.mac_version)},
        {"mac_arch", t.mac_arch}}},
  };
}

}  // namespace strata::env
