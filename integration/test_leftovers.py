"""A failed install creates nothing, and what killed runs leave is removed (issue 17 item 15):
`install --env NEW` that fails in fetching (an --offline miss, a locked file that is not there)
leaves no NEW behind, and an existing empty NEW stays empty; `.tmp-*` trees that a kill -9 left in
<cache>/unpacked are removed by the next install and by `strata cache clean`, while one that a
live process holds (flock on the directory, as strata's own TempDir) and a young one stay.
The wheel is six 1.16.0 from PyPI (support.six_wheel_dir), used through --find-links."""

import json
import os
import pathlib
import subprocess
import sys
import time

from support import SIX, SIX_SHA256, six_wheel_dir, strata

PYTHON = "/usr/bin/python3"


def pylock(root, wheel_entry):
    root.mkdir(parents=True, exist_ok=True)
    (root / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "t"\n\n[[packages]]\nname = "six"\nversion = "1.16.0"\n'
        f'wheels = [{{name = "{SIX}", {wheel_entry}, hashes = {{sha256 = "{SIX_SHA256}"}}}}]\n')
    return root / "pylock.toml"


def install(lock, env, cache, *extra):
    return strata("--json", "install", lock, "--env", env, "--python", PYTHON, "--cache-dir", cache, *extra,
                  check=False)


def test_failed_install_creates_no_environment(tmp_path):
    remote = pylock(tmp_path / "remote", f'url = "http://127.0.0.1:9/{SIX}"')
    missing = pylock(tmp_path / "missing", 'path = "wheels/not-there.whl"')
    failures = {
        "offline miss": (remote, ["--offline"]),
        "locked file missing": (missing, []),
    }
    for what, (lock, extra) in failures.items():
        env = tmp_path / f"env-{what.replace(' ', '-')}"
        r = install(lock, env, tmp_path / "cache", *extra)
        assert r.returncode == 1, (what, r.stderr)
        assert json.loads(r.stdout)["ok"] is False
        assert not env.exists(), (what, sorted(str(p) for p in env.rglob("*")))
        # An existing empty directory (a volume, a WORKDIR) stays, and stays empty.
        env.mkdir()
        r = install(lock, env, tmp_path / "cache", *extra)
        assert r.returncode == 1, (what, r.stderr)
        assert env.is_dir() and list(env.iterdir()) == [], (what, sorted(str(p) for p in env.rglob("*")))


def hold(directory):
    """A live process holding `directory` the way strata's TempDir does (flock on the directory)."""
    code = ("import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(directory)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def leftover(unpacked, name, hours):
    d = unpacked / name
    (d / "tree" / "pkg").mkdir(parents=True)
    (d / "tree" / "pkg" / "__init__.py").write_text("")
    old = time.time() - hours * 3600
    os.utime(d, (old, old))
    return d


def test_killed_runs_leftovers_are_swept_by_the_next_run_and_cache_clean(tmp_path):
    links = six_wheel_dir(PYTHON)
    lock = pylock(tmp_path / "p", f'url = "http://127.0.0.1:9/{SIX}"')
    cache = tmp_path / "cache"
    unpacked = cache / "unpacked"
    stale = leftover(unpacked, ".tmp-4242-deadbeef", 2)
    live = leftover(unpacked, ".tmp-4243-cafef00d", 2)
    young = leftover(unpacked, ".tmp-4244-0badf00d", 0)
    holder = hold(live)
    try:
        r = install(lock, tmp_path / "env", cache, "--find-links", links, "--no-compile")
        assert r.returncode == 0, r.stderr
        assert not stale.exists()
        assert live.is_dir() and young.is_dir()

        stale = leftover(unpacked, ".tmp-4245-feedface", 2)
        clean = strata("--json", "cache", "clean", "--cache-dir", cache, check=False)
        assert clean.returncode == 0, clean.stderr
        assert not stale.exists()
        assert live.is_dir() and (live / "tree" / "pkg" / "__init__.py").is_file()
        assert not any(p for p in unpacked.iterdir() if p != live), sorted(unpacked.iterdir())
    finally:
        holder.kill()
        holder.wait()
    again = strata("--json", "cache", "clean", "--cache-dir", cache, check=False)
    assert again.returncode == 0 and not live.exists()
