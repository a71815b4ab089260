"""What the screen says during `strata install` (issue 15): under a real pseudo-terminal the stages
and their live bars appear and are erased, with stderr a pipe not one control sequence but a line
per stage (and with -v one per package); SIGINT or SIGTERM in the middle stops the install within
seconds, exit 130, "interrupted; nothing was half-installed", and the environment is as it was.

The install is held in the middle by a loopback server (fault_server.py): one locked wheel is served
from /gate/ and waits there until the test opens the gate (or never), so the test acts while a
download is running, not after guessing a time. The other wheels are real ones from PyPI (attrs,
six, iniconfig; pinned)."""

import contextlib
import hashlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from support import (LOOPBACK_WHEELS, SERVER_LIFETIME, STRATA, SUMMARY, Servers, free_port, write_wheel,
                     pinned_wheel_dir, relative_files, strata)

PY = "/usr/bin/python3"
HERE = __import__("pathlib").Path(__file__).parent
DEADLINE = 60  # seconds any one wait of this module may take before the test fails
STOPPED_WITHIN = 10  # seconds from the signal to strata's exit


@contextlib.contextmanager
def strata_process(argv, **popen):
    """strata `argv` started (stdin closed; stdout and stderr text pipes unless `popen` says
    otherwise) and killed if it still runs when the block ends."""
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen}
    proc = subprocess.Popen([STRATA, *map(str, argv)], stdin=subprocess.DEVNULL, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_until(proc, ready, never):
    """Until ready() holds, with strata still running; `never` is the failure message."""
    deadline = time.monotonic() + DEADLINE
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, never
        time.sleep(0.02)


def stop(proc, sig):
    """Sends `sig`; (stdout, stderr, seconds from the signal to the exit)."""
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=DEADLINE)
    return out, err, time.monotonic() - sent


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, served directory): fault_server.py over the pinned real wheels."""
    files = tmp_path_factory.mktemp("served")
    wheels = pinned_wheel_dir("uv-lock-loopback", LOOPBACK_WHEELS)
    for name in LOOPBACK_WHEELS:
        (files / name).symlink_to(wheels / name)
    servers = Servers()
    port = free_port()
    base = servers.start(["env", "FAULT_GATE_SECONDS=120", "timeout", SERVER_LIFETIME, sys.executable,
                          str(HERE / "fault_server.py"), str(port), str(files)], port)
    yield base, files
    servers.stop()


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def write_lock(directory, base, files, names, gated=None):
    """A pylock.toml of the real wheels `names` (from /ok/) and, when given, the small wheel `gated`
    (made here, served from /gate/)."""
    directory.mkdir(parents=True, exist_ok=True)
    body = 'lock-version = "1.0"\ncreated-by = "test_screen"\n'
    entries = []
    for file in LOOPBACK_WHEELS:
        name, version = file.split("-")[:2]
        if name in names:
            entries.append((name, version, f"{base}/ok/{file}", file, LOOPBACK_WHEELS[file]))
    if gated:
        wheel = files / f"{gated}-1.0-py3-none-any.whl"
        write_wheel(wheel, gated, {f"{gated}/__init__.py": "VALUE = 1\n"})
        entries.append((gated, "1.0", f"{base}/gate/{wheel.name}", wheel.name, sha256(wheel)))
    for name, version, url, file, digest in entries:
        body += (f'[[packages]]\nname = "{name}"\nversion = "{version}"\n'
                 f'wheels = [{{ name = "{file}", url = "{url}", hashes = {{ sha256 = "{digest}" }} }}]\n')
    (directory / "pylock.toml").write_text(body)
    return directory


def wait_for_request(base, path):
    """Until the server has received a request for `path` (it is being held at the gate)."""
    deadline = time.monotonic() + DEADLINE
    while get_json(f"{base}/count").get(path, 0) == 0:
        assert time.monotonic() < deadline, f"strata never requested {path}"
        time.sleep(0.05)


def tree(root):
    """Every path under root (directories too), but bytecode caches, with each file's content."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if "__pycache__" not in p.parts}, relative_files(root)


def listed(env, _cache):
    return json.loads(strata("list", "--env", env, "--json").stdout)


def term_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env.update(extra)
    return env


def read_pty(fd, proc, deadline, done, timeout_message):
    """Reads the pty until `done(out)` holds, the process closes the terminal or exits."""
    out = b""
    while not done(out):
        left = deadline - time.monotonic()
        assert left > 0, timeout_message(out)
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out


def read_until(fd, proc, wanted, deadline):
    """Reads the pty until every string of `wanted` has appeared (or the process exits)."""
    return read_pty(fd, proc, deadline, lambda out: all(w in out for w in wanted),
                    lambda out: f"never saw {wanted} in {out[-2000:]!r}")


def drain(fd, proc, deadline):
    """Reads the pty until strata finishes, then waits for it."""
    out = read_pty(fd, proc, deadline, lambda out: False, lambda out: "strata did not finish")
    proc.wait(timeout=max(1, deadline - time.monotonic()))
    return out


def test_a_terminal_shows_the_stages_as_bars_and_erases_them(server, tmp_path):
    base, files = server
    lock = write_lock(tmp_path / "app", base, files, {"attrs", "six", "iniconfig"}, gated="held_pty")
    master, slave = pty.openpty()
    started = time.monotonic()
    proc = subprocess.Popen([STRATA, "install", str(lock), "--env", str(tmp_path / "env"), "--python", PY,
                             "--cache-dir", str(tmp_path / "cache")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                            env=term_env(TERM="xterm"))
    os.close(slave)
    try:
        # While the gated wheel downloads, the other three are unpacked and compiled: every bar of
        # those stages is on the screen at once, redrawn in place (cursor up, erase line).
        seen = read_until(master, proc, [b"Downloading [", b"Unpacking   [", b"Compiling   [", b"3/4 wheels"],
                          time.monotonic() + DEADLINE)
        assert b"\x1b[" in seen and b"F" in seen
        urllib.request.urlopen(f"{base}/open/held_pty-1.0-py3-none-any.whl", timeout=10).read()
        rest = drain(master, proc, time.monotonic() + DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0, (seen + rest).decode(errors="replace")
    screen = (seen + rest).decode()
    for line in ("Installing 4 packages", "Downloaded 4 files", "Unpacked 4 wheels", "Compiled ",
                 "Committed 4 packages", "Installed 4 packages"):
        assert line in screen, screen
    # The colored fill (no NO_COLOR) and the rate.
    assert "\x1b[32m=" in screen and "/s  " in screen
    # Nothing of the bars is left: after the last erase only finished lines follow.
    tail = screen[screen.rindex("\x1b[J") + 3:]
    assert "[" not in tail.replace("\x1b[", "") and tail.rstrip().splitlines()[-1].startswith("Installed 4 packages")
    SUMMARY.append(f"test_screen: a terminal install of 4 packages took {time.monotonic() - started:.1f}s")


def test_no_color_and_a_dumb_terminal(server, tmp_path):
    base, files = server
    lock = write_lock(tmp_path / "app", base, files, {"six"})
    for i, env in enumerate((term_env(TERM="xterm", NO_COLOR="1"), term_env(TERM="dumb"))):
        master, slave = pty.openpty()
        proc = subprocess.Popen([STRATA, "install", str(lock), "--env", str(tmp_path / f"env{i}"), "--python", PY,
                                 "--cache-dir", str(tmp_path / "cache")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        try:
            screen = drain(master, proc, time.monotonic() + DEADLINE).decode()
        finally:
            os.close(master)
        assert proc.returncode == 0 and "Installed 1 package" in screen, screen
        assert "\x1b[32m" not in screen  # NO_COLOR: no color; dumb: neither color nor cursor movement
        if env["TERM"] == "dumb":
            assert "\x1b[" not in screen, screen


def test_a_pipe_gets_lines_and_with_v_one_per_package(server, tmp_path):
    base, files = server
    lock = write_lock(tmp_path / "app", base, files, {"attrs", "six", "iniconfig"})
    cache = tmp_path / "cache"
    first = strata("install", lock, "--env", tmp_path / "env1", "--python", PY, "--cache-dir", cache, "-v",
                   env=term_env(TERM="xterm"))
    assert "\x1b[" not in first.stderr, first.stderr
    lines = first.stderr.splitlines()
    for wanted in ("Installing 3 packages", "Downloaded 3 files", "Unpacked 3 wheels", "Compiled ",
                   "Committed 3 packages", "Installed 3 packages (3 downloaded) in "):
        assert any(line.startswith(wanted) for line in lines), (wanted, first.stderr)
    assert "+ attrs 24.2.0 (downloaded " in first.stderr and "+ six 1.16.0 (downloaded " in first.stderr
    assert any(line.startswith("attrs 24.2.0: downloaded attrs-24.2.0-py3-none-any.whl (") for line in lines)

    second = strata("install", lock, "--env", tmp_path / "env2", "--python", PY, "--cache-dir", cache, "-v",
                    env=term_env(TERM="xterm"))
    assert "+ attrs 24.2.0 (cached)" in second.stderr and "+ iniconfig 2.0.0 (cached)" in second.stderr
    assert "No downloads: 3 files in the cache" in second.stderr and "Installed 3 packages (3 cached) in " in second.stderr

    quiet = strata("install", lock, "--env", tmp_path / "env3", "--python", PY, "--cache-dir", cache,
                   env=term_env(TERM="xterm"))
    assert "+ attrs" not in quiet.stderr  # per-package lines only with -v
    again = strata("install", lock, "--env", tmp_path / "env3", "--python", PY, "--cache-dir", cache, "--json")
    assert json.loads(again.stdout)["summary"].startswith("Nothing to do: 3 packages already installed")


def interrupt_mid_install(server, tmp_path, sig, gated):
    """Starts an install of six, attrs, iniconfig and the gated wheel into tmp_path/env, sends `sig`
    while the gated download is held, and returns (exit code, stderr, JSON document, seconds from the
    signal to the exit)."""
    base, files = server
    env, cache = tmp_path / "env", tmp_path / "cache"
    lock = write_lock(tmp_path / "app", base, files, {"six", "attrs", "iniconfig"}, gated=gated)
    with strata_process(["install", lock, "--env", env, "--python", PY, "--cache-dir", cache, "--owner", "app",
                         "--json"]) as proc:
        wait_for_request(base, f"/gate/{gated}-1.0-py3-none-any.whl")
        out, err, took = stop(proc, sig)
    return proc.returncode, err, json.loads(out), took


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_leaves_the_environment_as_it_was(server, tmp_path, sig):
    base, files = server
    env, cache = tmp_path / "env", tmp_path / "cache"
    strata("install", write_lock(tmp_path / "before", base, files, {"six"}), "--env", env, "--python", PY,
           "--cache-dir", cache, "--owner", "app")
    before_files, before_list = tree(env), listed(env, cache)
    name = f"held_{sig.name.lower()}"
    code, err, doc, took = interrupt_mid_install(server, tmp_path, sig, name)
    assert code == 130, err
    assert "interrupted; nothing was half-installed" in err
    assert doc["ok"] is False and doc["interrupted"] is True and doc["error"]["exit_code"] == 130
    assert took < STOPPED_WITHIN, took
    # Not one file more or less, in the environment or its state directory.
    assert tree(env) == before_files
    assert listed(env, cache) == before_list
    # And the next install of the same lock finishes normally.
    urllib.request.urlopen(f"{base}/open/{name}-1.0-py3-none-any.whl", timeout=10).read()
    after = json.loads(strata("install", tmp_path / "app", "--env", env, "--python", PY, "--cache-dir", cache,
                              "--owner", "app", "--json").stdout)
    assert sorted(r["name"] for r in after["results"]) == ["attrs", "held-" + sig.name.lower(), "iniconfig"]
    SUMMARY.append(f"test_screen: {sig.name} stopped the install in {took:.2f}s")


def test_an_interrupted_new_environment_is_not_left_behind(server, tmp_path):
    code, err, doc, _ = interrupt_mid_install(server, tmp_path, signal.SIGINT, "held_new")
    assert code == 130 and "interrupted; nothing was half-installed" in err
    assert not (tmp_path / "env").exists()
    assert doc["interrupted"] is True


BLOCKING_BACKEND = '''import os, time

PID_FILE = {pid_file!r}  # builds run in a clean environment: the path is written in

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(PID_FILE + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(PID_FILE + ".tmp", PID_FILE)
    time.sleep(600)  # a build that would take ten minutes
'''


def running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_kills_a_running_build(tmp_path):
    src = tmp_path / "slow"
    src.mkdir()
    (src / "pyproject.toml").write_text('[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                                        'backend-path = ["."]\n[project]\nname = "slow"\nversion = "1.0"\n')
    pid_file = tmp_path / "build.pid"
    (src / "backend.py").write_text(BLOCKING_BACKEND.format(pid_file=str(pid_file)))
    lock = tmp_path / "app"
    lock.mkdir()
    (lock / "pylock.toml").write_text('lock-version = "1.0"\ncreated-by = "test_screen"\n[[packages]]\n'
                                      'name = "slow"\nversion = "1.0"\ndirectory = { path = "../slow" }\n')
    with strata_process(["install", lock, "--env", tmp_path / "env", "--python", PY, "--cache-dir",
                         tmp_path / "cache"]) as proc:
        wait_until(proc, pid_file.exists, "the build never started")
        build_pid = int(pid_file.read_text())
        _, err, took = stop(proc, signal.SIGTERM)
    assert proc.returncode == 130 and "interrupted; nothing was half-installed" in err, err
    assert took < STOPPED_WITHIN, took
    # The build's process went with strata (it ran in a group of its own, which SIGTERM to strata
    # does not reach); reaped by init a moment later.
    deadline = time.monotonic() + 5
    while running(build_pid):
        assert time.monotonic() < deadline, "the build is still running"
        time.sleep(0.05)
    assert not (tmp_path / "env").exists()


# ---- an interrupt during the unpacking and during the commit --------------------------------------

def find_links_lock(directory, wheels):
    """A pylock.toml of `wheels` (name -> modules), made into directory/wheels; their locked URLs are a
    closed port, so they are installed with --find-links and --offline."""
    (directory / "wheels").mkdir(parents=True)
    body = 'lock-version = "1.0"\ncreated-by = "test_screen"\n'
    for name, modules in wheels.items():
        wheel = directory / "wheels" / f"{name}-1.0-py3-none-any.whl"
        write_wheel(wheel, name, {f"{name}/m{i}.py": f"VALUE = {i}\n" for i in range(modules)})
        body += (f'[[packages]]\nname = "{name}"\nversion = "1.0"\nwheels = [{{ name = "{wheel.name}", '
                 f'url = "http://127.0.0.1:9/{wheel.name}", hashes = {{ sha256 = "{sha256(wheel)}" }} }}]\n')
    (directory / "pylock.toml").write_text(body)
    return directory / "pylock.toml", directory / "wheels"


def dist_infos(env):
    return sorted(p.name for p in env.glob("lib/python3*/site-packages/*.dist-info"))


def test_an_interrupt_during_the_commit_lets_it_finish(tmp_path):
    """The commit does not stop halfway. strata is held in the middle of it: -v writes a line per
    committed package to stderr, a pipe of one page that the test stops reading at the first of
    them; interrupted there, strata finishes the commit: every package installed, exit 130."""
    import fcntl
    names = [f"held_in_the_commit_{i:03d}" for i in range(300)]  # long names: few lines fill a page
    lock, wheels = find_links_lock(tmp_path / "app", dict.fromkeys(names, 1))
    env = tmp_path / "env"
    strata("venv", env, "--python", PY)
    before = dist_infos(env)
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, 1031, 4096)  # F_SETPIPE_SZ: the smallest pipe, one page
    report = tmp_path / "report.json"
    with open(report, "wb") as stdout, strata_process(
            ["-v", "--json", "install", lock, "--env", env, "--cache-dir", tmp_path / "cache", "--find-links", wheels,
             "--offline", "--no-compile"], stdout=stdout, stderr=write_end, text=False) as proc:
        os.close(write_end)
        deadline = time.monotonic() + DEADLINE
        err = b""
        while b"\n+ " not in err:  # the commit began (only paced by the text; nothing asserted of it)
            assert time.monotonic() < deadline, f"never saw a committed package in {err[-2000:]!r}"
            if not select.select([read_end], [], [], 1.0)[0]:
                continue
            chunk = os.read(read_end, 256)
            assert chunk, f"stderr closed before the commit: {err[-2000:]!r}"
            err += chunk
        # Held: some packages are committed, not all, and that stays so (strata waits on the pipe).
        seen, since = None, time.monotonic()
        while True:
            assert proc.poll() is None, "strata finished without being held in its commit"
            assert time.monotonic() < deadline, f"strata was never held in its commit ({len(seen)})"
            now = dist_infos(env)
            if now != seen:
                seen, since = now, time.monotonic()
            elif time.monotonic() - since > 1:
                break
            time.sleep(0.05)
        held = len(seen) - len(before)
        assert 0 < held < len(names), held
        proc.send_signal(signal.SIGINT)
        while select.select([read_end], [], [], DEADLINE)[0] and (chunk := os.read(read_end, 65536)):
            err += chunk
        proc.wait(timeout=DEADLINE)
    os.close(read_end)
    assert proc.returncode == 130, err.decode()
    assert "interrupted; nothing was half-installed" in err.decode()
    doc = json.loads(report.read_text())
    assert doc["interrupted"] is True
    # Complete: every package, each committed whole, and recorded.
    assert sorted(r["name"] for r in doc["results"]) == [n.replace("_", "-") for n in names]
    assert len(dist_infos(env)) == len(before) + len(names)
    owned = {d["name"] for d in listed(env, None)["distributions"]}
    assert {n.replace("_", "-") for n in names} <= owned, sorted(owned)
    assert not (env / ".strata" / "staging").exists() and not (env / ".strata" / "journal").exists()
    SUMMARY.append(f"test_screen: SIGINT after {held} of {len(names)} commits; the commit finished")


def test_an_interrupt_during_the_unpacking_leaves_the_environment_as_it_was(tmp_path):
    """SIGINT while a wheel of 3,000 modules is unpacked and compiled: exit 130, nothing installed."""
    lock, wheels = find_links_lock(tmp_path / "app", {"big": 3000, "small": 1})
    env, cache = tmp_path / "env", tmp_path / "cache"
    strata("venv", env, "--python", PY)
    before = tree(env)
    with strata_process(["--json", "install", lock, "--env", env, "--cache-dir", cache, "--find-links", wheels,
                         "--offline"]) as proc:
        # The unpacking began: its tree is being written into the cache.
        wait_until(proc, lambda: (cache / "unpacked").is_dir() and any((cache / "unpacked").iterdir()),
                   "the unpacking never began")
        committed = dist_infos(env)
        out, err, took = stop(proc, signal.SIGINT)
    assert not [n for n in committed if n.startswith(("big-", "small-"))], committed  # not yet committing
    assert proc.returncode == 130, err
    assert "interrupted; nothing was half-installed" in err
    assert json.loads(out)["interrupted"] is True
    assert took < STOPPED_WITHIN, took
    assert tree(env) == before
    SUMMARY.append(f"test_screen: SIGINT during the unpacking stopped the install in {took:.2f}s")
