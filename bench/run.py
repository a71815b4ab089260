"""strata against uv, pip and poetry: the same locks, the same interpreter, side by side.

Run through bench/run.sh (it builds strata in Release and makes the peers' venv). By hand:
  python3 bench/run.py --strata build-bench/strata --peers ~/.cache/strata-bench/peers \
      [--workloads web,sci,boto,example] [--scenarios cold,warm,noop] [--compile off,on] \
      [--tools strata,uv,pip,poetry] [--repeat 5] [--out bench/RESULTS.md]

What one measurement is (see bench/README.md for the reasons):
- Every tool installs the packages strata selects from the workload's poetry.lock for the target
  interpreter, with hashes checked: strata and poetry read the lock; uv and pip get a
  requirements file with every file's sha256 (`--require-hashes --no-deps`).
- cold: empty cache, wheels from a pypiserver on 127.0.0.1 (poetry: not measured, see README).
  warm: the tool's cache filled by an untimed run; copy mode where the tool has one.
  noop: the environment already holds the packages (installed by that tool).
- The target is a fresh `python -m venv --without-pip` made outside the timed part. Targets and
  caches live on a tmpfs mounted for the run and unmounted after it (as root), so no run pays for
  the deletions of an earlier one.
- Tools alternate within each repetition; one untimed warm-up per tool and scenario; medians.
- After every run the target's distributions (name, version) must equal strata's selection.
- Peak memory: GNU time's maximum resident set of the tool's process, not of the interpreters it starts.
"""

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKLOADS = {
    "web": HERE / "workloads" / "web",
    "sci": HERE / "workloads" / "sci",
    "boto": HERE / "workloads" / "boto",
    "example": REPO / "examples" / "webapp",
}
CACHE = Path(os.environ.get("STRATA_BENCH_CACHE", Path.home() / ".cache" / "strata-bench"))


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run(argv, **kw):
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, argv))}\n{proc.stdout}\n{proc.stderr}")
    return proc


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "POETRY_", "STRATA_", "VIRTUAL_ENV"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


# ---- filesystem state ------------------------------------------------------------------------

class Scratch:
    """Directories for one run: a fresh tmpfs when root, else a new directory never reused."""

    def __init__(self, base, use_tmpfs):
        self.base, self.use_tmpfs, self.count = Path(base), use_tmpfs, 0

    @contextlib.contextmanager
    def fresh(self, label):
        self.count += 1
        d = self.base / f"{self.count:04d}-{label}"
        d.mkdir(parents=True)
        if self.use_tmpfs:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8g", "tmpfs", str(d)], check=True)
        try:
            yield d
        finally:
            if self.use_tmpfs:
                subprocess.run(["umount", "-l", str(d)], check=False)
                d.rmdir()


# ---- the workload ----------------------------------------------------------------------------

class Workload:
    def __init__(self, name, strata, python):
        self.name, self.dir, self.python = name, WORKLOADS[name], python
        plan = json.loads(run([strata, "--json", "install", self.dir, "--python", python, "--env",
                               CACHE / "no-such-env", "--dry-run", "--cache-dir", CACHE / "plan-cache"]).stdout)
        self.decisions = plan["plan"]["decisions"]
        self.expected = {(normalize(d["name"]), d["version"]) for d in self.decisions}
        self.wheels = CACHE / "wheels" / name
        self.wheels.mkdir(parents=True, exist_ok=True)
        missing = [d for d in self.decisions if not (self.wheels / d["wheel"]).exists()]
        if missing:
            log(f"{name}: downloading {len(missing)} wheels from PyPI")
            run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                 "--disable-pip-version-check", "-d", self.wheels,
                 *[f"{d['name']}=={d['version']}" for d in missing]], env=clean_env())
        for d in self.decisions:
            data = (self.wheels / d["wheel"]).read_bytes()
            if hashlib.sha256(data).hexdigest() != d["sha256"]:
                raise SystemExit(f"{d['wheel']}: not the file the lock pins")
        self.size = sum((self.wheels / d["wheel"]).stat().st_size for d in self.decisions)
        self.requirements = CACHE / "requirements" / f"{name}.txt"
        self.requirements.parent.mkdir(parents=True, exist_ok=True)
        self.requirements.write_text("".join(f"{d['name']}=={d['version']} --hash=sha256:{d['sha256']}\n"
                                             for d in self.decisions))

    def check(self, target, tool):
        got = set()
        for di in target.glob("lib/python3*/site-packages/*.dist-info"):
            meta = (di / "METADATA").read_text(errors="replace")
            name = re.search(r"^Name: (.*)$", meta, re.M).group(1).strip()
            version = re.search(r"^Version: (.*)$", meta, re.M).group(1).strip()
            got.add((normalize(name), version))
        if got != self.expected:
            raise SystemExit(f"{tool} on {self.name}: installed {sorted(got ^ self.expected)} differently")


# ---- the tools -------------------------------------------------------------------------------

class Tools:
    def __init__(self, strata, peers, python, strata_base=None):
        self.strata, self.peers, self.python = Path(strata), Path(peers), python
        self.strata_base = Path(strata_base) if strata_base else None

    def argv(self, tool, workload, target, cache, index, compile_, scenario):
        w = workload
        if tool in ("strata", "strata-base"):  # strata-base: another build, side by side in one run
            a = [self.strata if tool == "strata" else self.strata_base, "install", w.dir, "--env", target, "--cache-dir", cache, "--link-mode", "copy",
                 "--index-url", index, "-q"]
            return a + ([] if compile_ else ["--no-compile"]), clean_env()
        if tool == "uv":
            a = [self.peers / "bin" / "uv", "pip", "install", "-q", "--python", target / "bin" / "python",
                 "--no-deps", "--require-hashes", "-r", w.requirements, "--cache-dir", cache,
                 "--link-mode", "copy", "--index-url", index]
            return a + (["--compile-bytecode"] if compile_ else []), clean_env()
        if tool == "pip":
            a = [self.peers / "bin" / "python", "-m", "pip", "--python", target / "bin" / "python", "install",
                 "-q", "--disable-pip-version-check", "--no-deps", "--require-hashes", "-r", w.requirements,
                 "--cache-dir", cache, "--index-url", index]
            return a + ([] if compile_ else ["--no-compile"]), clean_env()
        if tool == "poetry":
            launcher = ("import sys, poetry_pypi_shim; poetry_pypi_shim.install()\n"
                        "from poetry.console.application import main\n"
                        "sys.argv[0] = 'poetry'; sys.exit(main())")
            a = [self.peers / "bin" / "python", "-c", launcher, "install", "--no-root", "--only", "main",
                 "--no-interaction", "-q", "--directory", w.dir]
            env = clean_env(VIRTUAL_ENV=target, PATH=f"{target / 'bin'}:{os.environ['PATH']}",
                            POETRY_CACHE_DIR=cache, POETRY_CONFIG_DIR=cache / "config",
                            POETRY_VIRTUALENVS_CREATE="false",
                            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
                            PYTHONPATH=REPO / "tests" / "fixtures" / "locks")
            return a + (["--compile"] if compile_ else []), env
        raise ValueError(tool)

    def timed(self, argv, env):
        # Peak RSS from GNU time: ru_maxrss seen by this harness would be floored at the harness's
        # own size (the high-water mark survives fork and exec).
        with tempfile.NamedTemporaryFile() as rss_file:
            start = time.perf_counter()
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *map(str, argv)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"failed: {' '.join(map(str, argv))}\n{proc.stderr.decode(errors='replace')}")
            return elapsed, int(Path(rss_file.name).read_text().split()[-1]) / 1024


def make_venv(python, target):
    run([python, "-m", "venv", "--without-pip", target])


# ---- the index -------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def index_server(peers, wheels):
    port = free_port()
    # "auto": bottle picks waitress (installed with the peers), which answers on several threads.
    proc = subprocess.Popen([Path(peers) / "bin" / "python", "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p",
                             str(port), "--server", "auto", "-a", ".", "-P", ".", "--disable-fallback",
                             str(wheels)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/simple/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---- measuring -------------------------------------------------------------------------------

def measure(tools, workload, tool, scenario, compile_, scratch, index, warm_caches):
    """One timed run; returns (seconds, peak RSS MiB)."""
    with scratch.fresh(f"{workload.name}-{tool}-{scenario}") as root:
        target = root / "env"
        make_venv(workload.python, target)
        # Warm caches are filled once per tool and only read by the runs (on their own tmpfs).
        cache = root / "cache" if scenario == "cold" else warm_caches[tool]
        if scenario == "noop":
            argv, env = tools.argv(tool, workload, target, cache, index, compile_, "warm")
            tools.timed(argv, env)
        argv, env = tools.argv(tool, workload, target, cache, index, compile_, scenario)
        subprocess.run(["sync"], check=True)
        seconds, rss = tools.timed(argv, env)
        workload.check(target, tool)
        return seconds, rss


def fill_warm_cache(tools, workload, tool, compile_, index, base):
    cache = base / f"{workload.name}-{tool}-{'c' if compile_ else 'n'}"
    if cache.exists():
        shutil.rmtree(cache)
    target = base / f"fill-{workload.name}-{tool}"
    if target.exists():
        shutil.rmtree(target)
    make_venv(workload.python, target)
    argv, env = tools.argv(tool, workload, target, cache, index, compile_, "cold")
    tools.timed(argv, env)
    workload.check(target, tool)
    shutil.rmtree(target)
    return cache


def machine_facts(python, tools):
    def out(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout.strip()
        except OSError:
            return "?"
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    mem = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu.group(1) if cpu else "?",
        "cores": os.cpu_count(),
        "memory": f"{int(mem.group(1)) // 1024 // 1024} GiB" if mem else "?",
        "kernel": platform.release(),
        "filesystem": out(["findmnt", "-n", "-o", "FSTYPE", "-T", str(CACHE)]),
        "python": out([python, "-VV"]).replace("\n", " "),
        "strata": out([tools.strata, "--version"]),
        "uv": out([tools.peers / "bin" / "uv", "--version"]),
        "pip": out([tools.peers / "bin" / "python", "-m", "pip", "--version"]).split(" from ")[0],
        "poetry": out([tools.peers / "bin" / "poetry", "--version"]),
        "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strata", default=REPO / "build-bench" / "strata")
    ap.add_argument("--peers", default=CACHE / "peers")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--workloads", default="web,sci,boto,example")
    ap.add_argument("--scenarios", default="cold,warm,noop")
    ap.add_argument("--compile", default="off,on")
    ap.add_argument("--tools", default="strata,uv,pip,poetry")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--strata-base", help="another strata build, measured as the tool strata-base (before/after)")
    ap.add_argument("--out", help="write the markdown report here too")
    args = ap.parse_args()

    tools = Tools(args.strata, args.peers, args.python, args.strata_base)
    if "strata-base" in args.tools.split(",") and not args.strata_base:
        raise SystemExit("--tools strata-base needs --strata-base PATH")
    use_tmpfs = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="strata-bench-", dir=CACHE))
    scratch = Scratch(base / "runs", use_tmpfs)
    warm_base = base / "warm"
    warm_base.mkdir()
    if use_tmpfs:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12g", "tmpfs", str(warm_base)], check=True)
    facts = machine_facts(args.python, tools)
    tool_list = args.tools.split(",")
    sections = []
    for wname in args.workloads.split(","):
        workload = Workload(wname, tools.strata, args.python)
        workload.load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        log(f"{wname}: {len(workload.decisions)} packages, {workload.size / 2**20:.1f} MiB of wheels, "
            f"load {workload.load}")
        rows = []
        with index_server(args.peers, workload.wheels) as index:
            for compile_ in [c == "on" for c in args.compile.split(",")]:
                warm_caches = {}
                for scenario in args.scenarios.split(","):
                    active = [t for t in tool_list if not (t == "poetry" and scenario == "cold")]
                    if scenario != "cold":
                        for tool in active:
                            if tool not in warm_caches:
                                warm_caches[tool] = fill_warm_cache(tools, workload, tool, compile_, index,
                                                                    warm_base)
                    times = {t: [] for t in active}
                    rss = {t: 0.0 for t in active}
                    for tool in active:  # warm-up
                        measure(tools, workload, tool, scenario, compile_, scratch, index, warm_caches)
                    for rep in range(args.repeat):
                        order = active[rep % len(active):] + active[:rep % len(active)]
                        for tool in order:
                            seconds, peak = measure(tools, workload, tool, scenario, compile_, scratch, index,
                                                    warm_caches)
                            times[tool].append(seconds)
                            rss[tool] = max(rss[tool], peak)
                    medians = {t: statistics.median(v) for t, v in times.items()}
                    log(f"{wname} {scenario} compile={'on' if compile_ else 'off'}: " +
                        ", ".join(f"{t} {m:.2f}s" for t, m in medians.items()))
                    spread = {t: (min(v), max(v)) for t, v in times.items()}
                    rows.append((scenario, compile_, medians, rss, spread))
                for cache in warm_caches.values():
                    shutil.rmtree(cache, ignore_errors=True)
        sections.append((workload, rows))
    if use_tmpfs:
        subprocess.run(["umount", "-l", str(warm_base)], check=False)
    shutil.rmtree(base, ignore_errors=True)
    report = render(facts, sections, tool_list, args)
    print(report)
    if args.out:
        Path(args.out).write_text(report)


def render(facts, sections, tool_list, args):
    lines = ["## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in facts.items()]
    lines += ["", f"Medians of {args.repeat} runs after one warm-up (min-max in parentheses); ratio = peer / "
              "strata (above 1: strata is faster); RSS = the tool process's peak, MiB.", ""]
    for workload, rows in sections:
        lines += [f"## {workload.name}: {len(workload.decisions)} packages, "
                  f"{workload.size / 2**20:.1f} MiB of wheels (load average at its start: {workload.load})", ""]
        head = "| scenario | bytecode | " + " | ".join(f"{t} s" for t in tool_list) + " | " + \
            " | ".join(f"{t}/strata" for t in tool_list if t != "strata") + " | " + \
            " | ".join(f"{t} RSS" for t in tool_list) + " |"
        lines += [head, "|" + "---|" * (2 + 2 * len(tool_list) + len(tool_list) - 1)]
        for scenario, compile_, medians, rss, spread in rows:
            s = medians.get("strata")
            cells = [scenario, "on" if compile_ else "off"]
            cells += [f"{medians[t]:.3f} ({spread[t][0]:.2f}-{spread[t][1]:.2f})" if t in medians else "n/a"
                      for t in tool_list]
            cells += [f"{medians[t] / s:.2f}" if t in medians and s else "n/a" for t in tool_list if t != "strata"]
            cells += [f"{rss[t]:.0f}" if t in rss else "n/a" for t in tool_list]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
