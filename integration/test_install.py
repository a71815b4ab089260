"""strata install end to end: the bundled example lock (examples/webapp, Poetry 2) installed from a
real pypiserver on 127.0.0.1 serving the real wheels, which test setup downloads from PyPI once."""

import fcntl
import hashlib
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import time

import pytest

from support import STRATA, SUMMARY, Servers, download_wheels, free_port, planned, serve_wheels, strata

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
EXAMPLE = SOURCE / "examples" / "webapp"
PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory):
    """The example's chosen wheels for PYTHON, downloaded from PyPI by pip (cached across runs)."""
    scratch = tmp_path_factory.mktemp("plan")
    plan = planned(EXAMPLE, PYTHON, scratch)
    assert not (scratch / "not-created").exists(), "a dry run created the environment"
    return download_wheels("install-example-v1", [plan], PYTHON)


@pytest.fixture(scope="module")
def index(wheel_dir, tmp_path_factory):
    """pypiserver on loopback; its log shows every request it answered."""
    servers = Servers()
    log = tmp_path_factory.mktemp("pypi") / "access.log"
    yield {"url": serve_wheels(servers, wheel_dir, log), "log": log}
    servers.stop()


def install(env, index, cache, *extra, check=True):
    return strata("--json", "install", EXAMPLE, "--env", env, "--python", PYTHON, "--index-url", index["url"],
                  "--cache-dir", cache, *extra, check=check)


def tree(env):
    """Every file of the environment but strata's own state, with its content hash."""
    out = {}
    for p in sorted(pathlib.Path(env).rglob("*")):
        rel = p.relative_to(env)
        if rel.parts[0] == ".strata" or p.is_dir():
            continue
        out[str(rel)] = os.readlink(p) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_installs_the_example_and_it_runs(tmp_path, index):
    env = tmp_path / "env"
    report = json.loads(install(env, index, tmp_path / "cache").stdout)
    assert report["ok"] is True
    names = {r["name"] for r in report["results"]}
    assert {"httpx", "click", "rich"} <= names
    assert all(r["action"] == "install" for r in report["results"])
    run = subprocess.run([env / "bin" / "python", EXAMPLE / "app.py", "--name", "ci"], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert ": ok" in run.stdout
    listing = json.loads(strata("--json", "list", "--env", env).stdout)
    owners = {d["name"]: d["owner"] for d in listing["distributions"]}
    assert owners["httpx"] == "strata-example-webapp"  # the project in pyproject.toml, not the lock's path


def test_second_run_changes_nothing(tmp_path, index):
    env, cache = tmp_path / "env", tmp_path / "cache"
    install(env, index, cache)
    before = tree(env)
    again = json.loads(install(env, index, cache).stdout)
    assert again["ok"] is True
    assert again["results"] == []
    assert again["plan"]["counts"]["keep"] == len(again["plan"]["decisions"]) > 0
    assert tree(env) == before


def test_conflict_exits_3_before_any_request_and_changes_nothing(tmp_path, index, wheel_dir):
    env = tmp_path / "env"
    subprocess.run([PYTHON, "-m", "venv", env], check=True)
    # pip puts an older click in: unmanaged, another version than the lock's 8.1.8.
    subprocess.run([env / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "click==8.1.7"], check=True, timeout=300)
    before = tree(env)
    log_before = index["log"].read_text() if index["log"].exists() else ""
    proc = install(env, index, tmp_path / "cache", check=False)
    assert proc.returncode == 3, proc.stderr
    report = json.loads(proc.stdout)
    conflicts = [d for d in report["plan"]["decisions"] if d["action"] == "conflict"]
    assert [d["name"] for d in conflicts] == ["click"]
    assert "8.1.7" in proc.stderr
    log_after = index["log"].read_text() if index["log"].exists() else ""
    assert log_after == log_before, "the index was asked for something before the conflict was reported"
    assert tree(env) == before


def test_allow_replace_shadows_what_is_outside_the_target_and_never_touches_it(tmp_path, index):
    # --prefix P --python V/bin/python: V's site-packages is visible (the overlay check reads it)
    # but is not the target. V's unmanaged click 8.1.7 conflicts with the lock's 8.1.8; with
    # --allow-replace the new click goes under P and V stays exactly as it was.
    venv, prefix = tmp_path / "venv", tmp_path / "prefix"
    subprocess.run([PYTHON, "-m", "venv", venv], check=True)
    subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "click==8.1.7"], check=True, timeout=300)
    before = tree(venv)
    args = ["--json", "install", EXAMPLE, "--prefix", prefix, "--python", venv / "bin" / "python",
            "--index-url", index["url"], "--cache-dir", tmp_path / "cache"]
    refused = strata(*args, check=False)
    assert refused.returncode == 3, refused.stderr
    report = json.loads(strata(*args, "--allow-replace").stdout)
    click = next(r for r in report["results"] if r["name"] == "click")
    assert (click["action"], click["version"]) == ("replace", "8.1.8")
    assert tree(venv) == before
    shadowing = list(prefix.glob("lib/python3*/site-packages/click-8.1.8.dist-info"))
    assert len(shadowing) == 1, list(prefix.rglob("*.dist-info"))


def test_two_installs_into_one_new_environment_at_once(tmp_path, index):
    cache = tmp_path / "cache"
    install(tmp_path / "warm", index, cache)  # both racers then run from the cache, at full speed
    expected = tree(tmp_path / "warm")
    for attempt in range(3):
        env = tmp_path / f"env{attempt}"
        argv = [STRATA, "--json", "install", EXAMPLE, "--env", env, "--python", PYTHON, "--index-url",
                index["url"], "--cache-dir", cache]
        racers = [subprocess.Popen(list(map(str, argv)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for _ in range(2)]
        outs = [r.communicate(timeout=300) for r in racers]
        assert [r.returncode for r in racers] == [0, 0], [err for _, err in outs]
        reports = [json.loads(out) for out, _ in outs]
        # One installed everything; the other waited for the lock and then found it all in place.
        assert sorted(len(r["results"]) for r in reports) == [0, len(reports[0]["plan"]["decisions"])]
        got = {k.replace(f"env{attempt}", "warm"): v for k, v in tree(env).items()}
        assert got.keys() == expected.keys()


def test_a_failed_install_keeps_an_environment_another_install_made_while_it_waited(tmp_path, index):
    # The test holds the environment's lock (an flock on its directory) while strata, planning a
    # new environment there, waits; meanwhile "another install" makes the environment. strata's
    # own install then fails (its wheel's server is down): what it found on taking the lock stays.
    env, cache = tmp_path / "env", tmp_path / "cache"
    install(tmp_path / "made", index, cache)
    lock = tmp_path / "other" / "pylock.toml"
    lock.parent.mkdir()
    digest = "0" * 64
    lock.write_text('lock-version = "1.0"\ncreated-by = "test"\n[[packages]]\nname = "gone"\nversion = "1.0"\n'
                    f'wheels = [{{ name = "gone-1.0-py3-none-any.whl", url = "http://127.0.0.1:{free_port()}/'
                    f'gone-1.0-py3-none-any.whl", hashes = {{ sha256 = "{digest}" }} }}]\n')
    env.mkdir()
    fd = os.open(env, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        waiter = subprocess.Popen([STRATA, "--json", "install", str(lock), "--env", str(env), "--python", PYTHON,
                                   "--cache-dir", str(tmp_path / "cache-other")],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                f"/proc/{waiter.pid}/fd/{n}" for n in os.listdir(f"/proc/{waiter.pid}/fd")
                if os.path.realpath(f"/proc/{waiter.pid}/fd/{n}") == str(env)):
            time.sleep(0.05)
        time.sleep(0.5)  # it has the directory open: it is waiting for the flock
        shutil.copytree(tmp_path / "made", env, symlinks=True, dirs_exist_ok=True)
        made = tree(env)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    _, err = waiter.communicate(timeout=300)
    assert waiter.returncode != 0, err
    assert "gone" in err
    assert tree(env) == made


def leftovers(root):
    """What interrupted runs leave in a cache or an environment: temporary trees and files."""
    return sorted(str(p.relative_to(root)) for p in pathlib.Path(root).rglob("*")
                  if p.name.startswith((".tmp-", ".broken-")) or p.name.endswith(".part"))


def make_writable_and_remove(path):
    for p in [path, *path.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    shutil.rmtree(path)


def test_kill_9_at_random_points_then_rerun_matches_an_uninterrupted_install(tmp_path, index):
    # Same environment path every time, so launchers, pycs and RECORD must match byte for byte.
    env, cache = tmp_path / "env", tmp_path / "cache"
    install(env, index, cache)
    expected = tree(env)
    rng = random.Random(20261124)
    # Bounded: 6 kills spread from venv creation to the last commit; every other one with the
    # unpacked trees (and their pycs) gone, so that the kill lands in unpacking or compiling.
    delays = [0.02, 0.08, 0.2, 0.4, 0.7, 1.1]
    recovered = 0
    for attempt, delay in enumerate(delays):
        shutil.rmtree(env)
        if attempt % 2 and (cache / "unpacked").exists():
            make_writable_and_remove(cache / "unpacked")
        argv = [STRATA, "install", EXAMPLE, "--env", env, "--python", PYTHON, "--index-url", index["url"],
                "--cache-dir", cache]
        proc = subprocess.Popen(list(map(str, argv)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay * rng.uniform(0.8, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        rerun = install(env, index, cache, check=False)
        assert rerun.returncode == 0, f"attempt {attempt} (kill after ~{delay}s): {rerun.stderr}"
        assert json.loads(rerun.stdout)["ok"] is True, attempt
        assert tree(env) == expected, f"attempt {attempt}: differs from the uninterrupted install"
        assert leftovers(env) == [], f"attempt {attempt}"
        recovered += 1
    # What the kills left in the cache is too young for the next run to take (another process may
    # be filling it); `strata cache clean` takes it at once, the next run once it is a minute old.
    left = leftovers(cache)
    copy = tmp_path / "cache-copy"
    shutil.copytree(cache, copy, symlinks=True)
    strata("--json", "cache", "clean", "--cache-dir", copy)
    assert leftovers(copy) == []
    old = time.time() - 120
    for rel in left:
        os.utime(cache / rel, (old, old), follow_symlinks=False)
    install(env, index, cache)
    assert leftovers(cache) == []
    SUMMARY.append(f"kill -9 recovered {recovered}/{len(delays)} (the rerun's environment equal to an "
                   f"uninterrupted install's); leftovers in the cache: {len(left)}, removed by cache clean and by the next run")


@pytest.fixture
def small_fs(tmp_path):
    """A 3 MiB tmpfs (root only), unmounted at teardown: too small for the example, and another
    file system than the cache's."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", mnt], check=False)


def error_of(proc):
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)["error"]["message"]


def test_a_full_disk_reports_no_space_with_the_path_not_a_generic_error(tmp_path, index, small_fs):
    message = error_of(install(small_fs / "env", index, tmp_path / "cache", check=False))
    assert "No space left on device" in message and str(small_fs) in message, message
    assert "never prepared" not in message and "internal error" not in message, message


def test_links_across_file_systems_name_the_mode_that_works(tmp_path, index, small_fs):
    cache = tmp_path / "cache"  # on another file system than small_fs
    message = error_of(install(small_fs / "hard", index, cache, "--link-mode", "hardlink", check=False))
    assert "cannot hard-link across file systems: use --link-mode copy" in message, message
    message = error_of(install(small_fs / "ref", index, cache, "--link-mode", "reflink", check=False))
    assert "cannot reflink" in message and "use --link-mode copy" in message, message
    assert "never prepared" not in message, message
