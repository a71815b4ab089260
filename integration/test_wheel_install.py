"""Installing real wheels from PyPI with strata's wheel installer, compared with pip.

`strata install` is wired by other work; until then this drives wheel::install_wheel through the
test-only `strata_install_wheels` driver built beside the strata binary (tests/tools/). The venv
it installs into is created natively by env::create_venv; `strata venv` is checked on its own.
"""

import csv
import hashlib
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import launcher_names as support_launcher_names

STRATA_BIN = Path(os.environ["STRATA_BIN"])
DRIVER = STRATA_BIN.parent / "strata_install_wheels"
TESTENV = Path(os.environ["STRATA_TESTENV"])
BASE_PYTHON = "/usr/bin/python3"  # Debian 12: 3.11, like the .testenv that downloads the wheels

# Pinned wheels covering: a big binary wheel (numpy), .data/scripts with #!python (jsonpatch,
# jsonpointer), .data/headers (greenlet), .data/data (ipykernel), console scripts (pyflakes,
# pygments, numpy), a pkg_resources-style namespace with an -nspkg.pth (zope.interface), a PEP 420
# namespace (jaraco.functools), plain pure wheels (six, click, more-itertools).
REQUIREMENTS = [
    "numpy==2.1.3",
    "six==1.16.0",
    "click==8.1.7",
    "zope.interface==7.1.1",
    "jaraco.functools==4.1.0",
    "more-itertools==10.5.0",
    "jsonpointer==3.0.0",
    "jsonpatch==1.33",
    "greenlet==3.1.1",
    "pygments==2.18.0",
    "pyflakes==3.2.0",
    "ipykernel==6.29.5",
]

VOLATILE_DIST_INFO = {"INSTALLER", "RECORD", "REQUESTED", "direct_url.json"}


@pytest.fixture(scope="module")
def wheels():
    cache = STRATA_BIN.parent / "test-wheels" / "wheel-install"
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob("*.whl"))
    if len(found) < len(REQUIREMENTS):
        subprocess.run(
            [str(TESTENV / "bin/python"), "-m", "pip", "download", "-q", "--no-deps",
             "--only-binary=:all:", "-d", str(cache), *REQUIREMENTS],
            check=True)
        found = sorted(cache.glob("*.whl"))
    assert len(found) == len(REQUIREMENTS), found
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheels):
    root = tmp_path_factory.mktemp("envs")
    strata_env = root / "strata env"  # a space: launchers need the /bin/sh trampoline
    pip_env = root / "pip env"
    out = subprocess.run([str(DRIVER), "--env", str(strata_env), "--python", BASE_PYTHON,
                          *map(str, wheels)], check=True, capture_output=True, text=True)
    report = json.loads(out.stdout)
    subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", str(pip_env)], check=True)
    subprocess.run([str(TESTENV / "bin/python"), "-m", "pip", "--python", str(pip_env / "bin/python"),
                    "install", "-q", "--no-deps", "--disable-pip-version-check", *map(str, wheels)],
                   check=True)
    return strata_env, pip_env, report


def site_packages(env):
    return env / "lib/python3.11/site-packages"


def launcher_names(env):
    return support_launcher_names(site_packages(env))


def strip_shebang(data):
    """Scripts compare without their interpreter line(s): for a path with spaces pip writes a
    plain `#!<path with space>` that the kernel cannot run, strata the /bin/sh trampoline."""
    if data.startswith(b"#!/bin/sh\n'" + b"''exec' "):
        return data.split(b"\n", 3)[3]
    if data.startswith(b"#!"):
        return data.split(b"\n", 1)[1]
    return data


def snapshot(env):
    """Every installed file (not pycs, installer metadata, launchers or venv plumbing) with its
    bytes (the environment's path replaced by <env>) and whether it is executable."""
    launchers = launcher_names(env)
    files = {}
    for path in env.rglob("*"):
        if path.is_dir() or path.is_symlink():
            continue
        rel = path.relative_to(env)
        parts = rel.parts
        if "__pycache__" in parts or parts[0] in (".strata",) or rel.name == "pyvenv.cfg":
            continue
        if parts[0] == "bin" and (rel.name in launchers or rel.name.startswith(("python", "activate", "Activate"))):
            continue
        if parts[-2].endswith(".dist-info") and rel.name in VOLATILE_DIST_INFO:
            continue
        data = path.read_bytes().replace(str(env).encode(), b"<env>")
        if parts[0] == "bin":
            data = strip_shebang(data)
        files[str(rel)] = (hashlib.sha256(data).hexdigest(), os.access(path, os.X_OK))
    return files


def test_same_files_and_bytes_as_pip(installed):
    strata_env, pip_env, _ = installed
    ours, theirs = snapshot(strata_env), snapshot(pip_env)
    assert len(theirs) > 1500  # numpy alone has ~1000 files: the comparison is not vacuous
    assert sorted(set(ours) - set(theirs)) == []
    assert sorted(set(theirs) - set(ours)) == []
    differing = sorted(p for p in ours if ours[p][0] != theirs[p][0])
    assert differing == []
    # pip only sets x bits from the archive; strata also makes .data scripts executable.
    mode_diffs = sorted(p for p in ours if ours[p][1] != theirs[p][1] and not p.startswith("bin/"))
    assert mode_diffs == []


def test_scheme_paths_and_script_rewriting(installed):
    strata_env, _, _ = installed
    assert (strata_env / "include/site/python3.11/greenlet/greenlet.h").is_file()
    assert (strata_env / "share/jupyter/kernels/python3/kernel.json").is_file()
    script = (strata_env / "bin/jsonpatch").read_bytes()
    # The path has a space, so the #!python line becomes the /bin/sh trampoline.
    assert script.startswith(b"#!/bin/sh\n'''exec' \"" + str(strata_env / "bin/python").encode() + b"\" \"$0\" \"$@\"\n' '''\n")
    assert os.access(strata_env / "bin/jsonpatch", os.X_OK)
    assert (site_packages(strata_env) / "zope.interface-7.1.1-py3.11-nspkg.pth").is_file()


def test_record_lists_every_file_with_its_hash(installed):
    strata_env, _, report = installed
    site = site_packages(strata_env)
    for dist in report["installed"]:
        dist_info = Path(dist["dist_info"])
        assert (dist_info / "INSTALLER").read_text() == "strata\n"
        assert (dist_info / "REQUESTED").exists()
        assert not (dist_info / "direct_url.json").exists()
        with open(dist_info / "RECORD", newline="") as f:
            rows = list(csv.reader(f))
        paths = [r[0] for r in rows]
        assert paths == sorted(paths)
        assert len(rows) == len(dist["files"])
        for path, digest, size in rows:
            target = (site / path).resolve() if not path.startswith("..") else Path(os.path.normpath(site / path))
            assert target.is_file(), path
            if path == f"{dist_info.name}/RECORD":
                assert (digest, size) == ("", "")
                continue
            data = target.read_bytes()
            expected = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (expected, len(data)), path


def test_bytecode_is_unchecked_hash_and_recorded(installed):
    strata_env, _, report = installed
    site = site_packages(strata_env)
    six = next(d for d in report["installed"] if d["name"] == "six")
    assert six["compiled"] == 1
    pyc = site / "__pycache__/six.cpython-311.pyc"
    assert str(pyc) in six["files"]
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, check_source off: unchecked-hash
    numpy = next(d for d in report["installed"] if d["name"] == "numpy")
    numpy_sources = [f for f in numpy["files"] if f.endswith(".py")]
    numpy_pycs = [f for f in numpy["files"] if f.endswith(".pyc")]
    assert len(numpy_pycs) == numpy["compiled"]
    assert numpy["compiled"] >= 0.9 * len(numpy_sources) > 400
    # Files that do not compile are skipped, not fatal (numpy ships none; the count is what compiled).
    out = subprocess.run([str(strata_env / "bin/python"), "-c",
                          "import six, importlib.util; print(six.__cached__)"], check=True,
                         capture_output=True, text=True)
    assert out.stdout.strip() == str(pyc)


def test_imports_and_console_scripts_work(installed):
    strata_env, _, _ = installed
    python = str(strata_env / "bin/python")
    code = ("import numpy, six, click, zope.interface, jaraco.functools, more_itertools, greenlet, "
            "pygments, pyflakes, jsonpatch, jsonpointer; print(numpy.arange(4).sum())")
    out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "6"
    assert "3.2.0" in subprocess.run([str(strata_env / "bin/pyflakes"), "--version"], check=True,
                                     capture_output=True, text=True).stdout
    assert "2.18.0" in subprocess.run([str(strata_env / "bin/pygmentize"), "-V"], check=True,
                                      capture_output=True, text=True).stdout
    assert "2.1.3" in subprocess.run([str(strata_env / "bin/numpy-config"), "--version"], check=True,
                                     capture_output=True, text=True).stdout
    usage = subprocess.run([str(strata_env / "bin/jsonpointer"), "--help"], check=True,
                           capture_output=True, text=True).stdout
    assert usage.startswith("usage: jsonpointer")
    # A .data script whose #!python line was rewritten (to the trampoline: the path has a space).
    diff = subprocess.run([str(strata_env / "bin/jsondiff"), "--help"], check=True, capture_output=True,
                          text=True).stdout
    assert diff.startswith("usage: jsondiff")


def test_reinstalling_an_installed_version_is_refused_without_replacement(installed, wheels):
    strata_env, _, _ = installed
    six = next(w for w in wheels if w.name.startswith("six-"))
    out = subprocess.run([str(DRIVER), "--env", str(strata_env), "--python", BASE_PYTHON, str(six)],
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert "six is already installed" in out.stderr


def test_strata_venv_matches_python_m_venv(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    subprocess.run([str(STRATA_BIN), "venv", str(ours), "--python", BASE_PYTHON], check=True)
    subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", str(theirs)], check=True)

    def layout(env):
        return sorted(str(p.relative_to(env)) for p in env.rglob("*")
                      if not p.name.lower().startswith("activate"))

    assert layout(ours) == layout(theirs)
    cfg_ours = (ours / "pyvenv.cfg").read_text().replace(str(ours), "<env>")
    cfg_theirs = (theirs / "pyvenv.cfg").read_text().replace(str(theirs), "<env>")
    cfg_theirs = cfg_theirs.replace("-m venv --without-pip", "-m venv")
    assert cfg_ours == cfg_theirs
    out = subprocess.run([str(ours / "bin/python"), "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
                         check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "True"
    # Idempotent on an existing venv; refuses a non-empty directory that is not one.
    again = subprocess.run([str(STRATA_BIN), "--json", "venv", str(ours), "--python", BASE_PYTHON],
                           check=True, capture_output=True, text=True)
    assert json.loads(again.stdout)["created"] is False
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "file").write_text("x")
    refused = subprocess.run([str(STRATA_BIN), "venv", str(junk), "--python", BASE_PYTHON],
                             capture_output=True, text=True)
    assert refused.returncode == 2
    assert "neither a virtual environment nor an empty directory" in refused.stderr


@pytest.mark.parametrize("mode", ["hardlink", "auto", "copy"])
def test_install_from_unpack_cache_matches_archive_install(installed, wheels, tmp_path, mode):
    strata_env, _, _ = installed
    cache = tmp_path / "unpacked"
    envs = [tmp_path / "first env", tmp_path / "second env"]
    for env in envs:
        out = subprocess.run([str(DRIVER), "--env", str(env), "--python", BASE_PYTHON, "--unpack-cache",
                              str(cache), "--link-mode", mode, *map(str, wheels)],
                             check=True, capture_output=True, text=True)
        modes = {d["link_mode"] for d in json.loads(out.stdout)["installed"]}
        expected = {"hardlink": {"hardlink"}, "copy": {"copy"}}.get(mode)
        assert modes == expected if expected else modes <= {"reflink", "hardlink", "copy"}
        assert snapshot(env) == snapshot(strata_env)
    assert len(list(cache.iterdir())) == len(wheels)  # unpacked once, reused by the second env
    init = Path("lib/python3.11/site-packages/numpy/__init__.py")
    links = os.stat(envs[1] / init).st_nlink
    if mode == "hardlink":
        assert links == 3  # the cache and both environments share the file
    if mode == "copy":
        assert links == 1
    python = str(envs[1] / "bin/python")
    out = subprocess.run([python, "-c", "import numpy, zope.interface; print(numpy.arange(3).sum())"],
                         check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "3"


def normalized(name):
    import re
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_projects(env):
    return {normalized(p.name.split("-")[0]) for p in site_packages(env).glob("*.dist-info")}


def assert_every_claimed_file_exists(env):
    site = site_packages(env)
    for dist_info in site.glob("*.dist-info"):
        with open(dist_info / "RECORD", newline="") as f:
            for row in csv.reader(f):
                assert os.path.exists(os.path.normpath(site / row[0])), (dist_info.name, row[0])


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6, 0.9, 1.2])
def test_kill_at_any_point_then_rerun_gives_the_uninterrupted_result(installed, wheels, tmp_path, delay):
    import signal
    import time
    strata_env, _, _ = installed
    env = tmp_path / "killed env"
    subprocess.run([str(STRATA_BIN), "venv", str(env), "--python", BASE_PYTHON], check=True,
                   capture_output=True)
    proc = subprocess.Popen([str(DRIVER), "--env", str(env), "--python", BASE_PYTHON, *map(str, wheels)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Whatever was interrupted, nothing claims to be installed without all of its files.
    assert_every_claimed_file_exists(env)
    # The next run recovers first (finishing a journaled install, or rolling it back), then
    # installs what is missing.
    subprocess.run([str(DRIVER), "--env", str(env), "--python", BASE_PYTHON], check=True, capture_output=True)
    assert_every_claimed_file_exists(env)
    done = installed_projects(env)
    missing = [w for w in wheels if normalized(w.name.split("-")[0]) not in done]
    subprocess.run([str(DRIVER), "--env", str(env), "--python", BASE_PYTHON, *map(str, missing)],
                   check=True, capture_output=True)
    assert_every_claimed_file_exists(env)
    assert snapshot(env) == snapshot(strata_env)
    assert not list((env / ".strata/journal").glob("*.json"))
    assert not list((env / ".strata/staging").iterdir())
