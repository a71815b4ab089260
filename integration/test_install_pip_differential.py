"""`strata install` against `pip install --no-deps --require-hashes` of the same files.

The lock is tests/fixtures/locks/wide-poetry2 (Poetry 2.5.1, 46 packages on Linux CPython 3.11):
numpy (binary, console scripts), jsonpatch/jsonpointer (`.data/scripts` with `#!python`),
greenlet (`.data/headers`), ipykernel (`.data/data`), zope.interface (pkg_resources namespace with
an -nspkg.pth), jaraco.functools (PEP 420 namespace), pyzmq (auditwheel `.libs`), console scripts
(pygments, pyflakes, charset-normalizer, ipython, jupyter-core, ...). Its wheels for the test
interpreter are downloaded from PyPI once (cached) and served by a pypiserver on 127.0.0.1;
strata installs the lock from it into one venv, pip installs the very same files by hash from
the same server into another, and the two trees are compared byte for byte.
"""

import base64
import csv
import hashlib
import json
import os
import pathlib
import subprocess
import tomllib

import pytest

from support import launcher_names as support_launcher_names
from support import Servers, download_wheels, pip_env, planned, serve_wheels, strata, venv_python

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
LOCK = SOURCE / "tests" / "fixtures" / "locks" / "wide-poetry2"
PYTHON = "/usr/bin/python3"
SITE = pathlib.Path("lib/python3.11/site-packages")
# Installer metadata that legitimately differs (and direct_url.json, which neither should write).
VOLATILE_DIST_INFO = {"INSTALLER", "RECORD", "REQUESTED", "direct_url.json"}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("plan")
    decisions = planned(LOCK, PYTHON, scratch)
    assert len(decisions) >= 30
    assert {d["action"] for d in decisions} == {"install"}
    return decisions


@pytest.fixture(scope="module")
def wheel_dir(plan):
    return download_wheels("install-wide-v1", [plan], PYTHON)


@pytest.fixture(scope="module")
def index(wheel_dir):
    servers = Servers()
    yield serve_wheels(servers, wheel_dir)
    servers.stop()


@pytest.fixture(scope="module")
def envs(plan, index, tmp_path_factory):
    root = tmp_path_factory.mktemp("envs")
    ours, theirs = root / "strata-env", root / "pip-env"
    report = json.loads(strata("--json", "install", LOCK, "--env", ours, "--python", PYTHON, "--index-url", index,
                               "--cache-dir", root / "cache").stdout)
    # pip: the lock's hashes for exactly the selected versions, from the same server.
    lock = tomllib.loads((LOCK / "poetry.lock").read_text())
    chosen = {(x["name"], x["version"]) for x in plan}
    lines = []
    for pkg in lock["package"]:
        key = (pkg["name"].lower().replace("_", "-").replace(".", "-"), pkg["version"])
        if key in chosen:
            hashes = " ".join(f"--hash={f['hash']}" for f in pkg["files"])
            lines.append(f"{pkg['name']}=={pkg['version']} {hashes}")
    assert len(lines) == len(plan)
    requirements = root / "requirements.txt"
    requirements.write_text("\n".join(lines) + "\n")
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", theirs], check=True)
    subprocess.run([venv_python(), "-m", "pip", "--python", theirs / "bin" / "python", "install", "-q",
                    "--disable-pip-version-check", "--no-deps", "--require-hashes", "--no-compile",
                    "--index-url", index, "-r", requirements], check=True, timeout=600, env=pip_env())
    return ours, theirs, report


def launcher_names(env):
    return support_launcher_names(env / SITE)


def snapshot(env):
    """Every installed file but pycs, installer metadata, launchers and venv plumbing: its bytes
    (with the environment's own path replaced) and whether it is executable."""
    launchers = launcher_names(env)
    assert len(launchers) >= 10
    files = {}
    for path in env.rglob("*"):
        if path.is_dir():
            continue
        rel = path.relative_to(env)
        parts = rel.parts
        if "__pycache__" in parts or parts[0] == ".strata" or rel.name == "pyvenv.cfg" or parts[0] == "lib64":
            continue
        if parts[0] == "bin" and (rel.name in launchers or rel.name.startswith(("python", "activate", "Activate"))):
            continue
        if len(parts) > 1 and parts[-2].endswith(".dist-info") and rel.name in VOLATILE_DIST_INFO:
            continue
        data = path.read_bytes().replace(str(env).encode(), b"<env>")
        files[str(rel)] = (hashlib.sha256(data).hexdigest(), os.access(path, os.X_OK))
    return files


def test_strata_reports_every_locked_package_installed(envs, plan):
    _, _, report = envs
    assert report["ok"] is True
    assert sorted((r["name"], r["version"], r["wheel"]) for r in report["results"]) == \
        sorted((x["name"], x["version"], x["wheel"]) for x in plan)
    assert {r["action"] for r in report["results"]} == {"install"}


def test_same_files_and_bytes_as_pip(envs):
    ours, theirs, _ = envs
    a, b = snapshot(ours), snapshot(theirs)
    assert len(b) > 3000  # numpy, debugpy, setuptools, ipython...: the comparison is not vacuous
    assert sorted(set(a) - set(b)) == []
    assert sorted(set(b) - set(a)) == []
    assert sorted(p for p in a if a[p][0] != b[p][0]) == []
    # pip keeps the archive's x bits; strata also marks .data scripts executable (bin/).
    assert sorted(p for p in a if a[p][1] != b[p][1] and not p.startswith("bin/")) == []
    # The .data scripts (not launchers) are in the comparison, #! line included.
    assert {"bin/jsondiff", "bin/jsonpatch", "bin/jsonpointer"} <= {p for p in a if p.startswith("bin/")}


def test_a_launcher_for_every_entry_point_pip_made_one_for(envs):
    ours, theirs, _ = envs
    names = launcher_names(theirs)
    assert launcher_names(ours) == names
    assert {"numpy-config", "f2py", "pygmentize", "pyflakes", "normalizer", "ipython", "jupyter"} <= names
    assert sorted(n for n in names if not (theirs / "bin" / n).is_file()) == []
    assert sorted(n for n in names if not (ours / "bin" / n).is_file() or not os.access(ours / "bin" / n, os.X_OK)) == []
    for n in names:
        assert (ours / "bin" / n).read_text().startswith(f"#!{ours}/bin/python"), n


def test_data_scripts_are_rewritten_like_pip(envs):
    """bin/ files that are not launchers (.data/scripts) are in the snapshot above; check the
    #! line explicitly, and that both trees have the scheme's include/ and share/ files."""
    ours, theirs, _ = envs
    for env in (ours, theirs):
        script = (env / "bin" / "jsondiff").read_bytes()
        assert script.startswith(f"#!{env}/bin/python".encode()), script[:80]
        assert (env / "include/site/python3.11/greenlet/greenlet.h").is_file()
        assert (env / "share/jupyter/kernels/python3/kernel.json").is_file()
        assert list((env / SITE).glob("zope.interface-*-nspkg.pth"))
    assert os.access(ours / "bin" / "jsondiff", os.X_OK)


# For every .py strata wrote under site-packages: the pyc exists, is unchecked-hash and carries
# the source's hash; a .py without one must be a file this interpreter cannot compile.
PYC_CHECK = r"""
import importlib.util, json, pathlib, sys
site = pathlib.Path(sys.argv[1])
report = {"sources": 0, "compiled": 0, "bad": [], "uncompiled_but_compilable": []}
for py in site.rglob("*.py"):
    report["sources"] += 1
    source = py.read_bytes()
    pyc = pathlib.Path(importlib.util.cache_from_source(str(py)))
    if not pyc.exists():
        try:
            compile(source, str(py), "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        report["uncompiled_but_compilable"].append(str(py.relative_to(site)))
        continue
    data = pyc.read_bytes()
    flags = int.from_bytes(data[4:8], "little")
    if data[:4] != importlib.util.MAGIC_NUMBER or flags != 1 or data[8:16] != importlib.util.source_hash(source):
        report["bad"].append(str(py.relative_to(site)))
    report["compiled"] += 1
print(json.dumps(report))
"""


def test_strata_compiled_every_compilable_source(envs):
    ours, theirs, report = envs
    out = subprocess.run([ours / "bin" / "python", "-c", PYC_CHECK, ours / SITE], check=True, capture_output=True,
                         text=True, timeout=300)
    check = json.loads(out.stdout)
    assert check["sources"] > 2000
    assert check["bad"] == []
    assert check["uncompiled_but_compilable"] == []
    assert check["compiled"] == sum(r["compiled"] for r in report["results"])
    # pip ran with --no-compile: its only pycs are the ones wheels ship (numpy has one); strata
    # has each of them too (recompiled as unchecked-hash, which the check above saw).
    shipped = [p.relative_to(theirs) for p in (theirs / SITE).rglob("*.pyc")]
    assert [p for p in shipped if not (ours / p).is_file()] == []


def test_imports_and_console_scripts_work(envs):
    ours, _, _ = envs
    code = ("import numpy, yaml, requests, zope.interface, jaraco.functools, greenlet, zmq, ipykernel, IPython, "
            "jsonpatch, jsonpointer, pygments, pyflakes, click, six, dateutil, psutil, tornado, debugpy; "
            "print(numpy.arange(5).sum(), yaml.safe_dump({'a': 1}).strip(), zmq.zmq_version_info() > (4,))")
    out = subprocess.run([ours / "bin" / "python", "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=ours)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["10", "a:", "1", "True"]

    def run(*argv):
        proc = subprocess.run([ours / "bin" / argv[0], *argv[1:]], capture_output=True, text=True, timeout=120,
                              cwd=ours)
        assert proc.returncode == 0, (argv, proc.stderr)
        return proc.stdout + proc.stderr

    assert "3.2.0" in run("pyflakes", "--version")
    assert "2.18.0" in run("pygmentize", "-V")
    assert "2.1.3" in run("numpy-config", "--version")
    assert "3.5.2" in run("normalizer", "--version")
    assert "9.18.1" in run("ipython", "--version")
    assert "jupyter_core" in run("jupyter", "--version")
    assert run("jsondiff", "--help").startswith("usage: jsondiff")  # a .data script, #!python rewritten


def test_records_claim_every_file_strata_wrote_with_its_hash(envs):
    ours, _, _ = envs
    site = ours / SITE
    claimed = {}
    for record in site.glob("*.dist-info/RECORD"):
        with open(record, newline="") as f:
            rows = list(csv.reader(f))
        assert [r[0] for r in rows] == sorted(r[0] for r in rows), record
        assert (record.parent / "INSTALLER").read_text() == "strata\n"
        for path, digest, size in rows:
            target = pathlib.Path(os.path.normpath(site / path))
            assert target not in claimed, (path, record.parent.name, claimed.get(target))
            claimed[target] = record.parent.name
            if target == record:
                assert (digest, size) == ("", "")
                continue
            data = target.read_bytes()
            want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (want, len(data)), path
    # Every file strata put in the environment (pycs included) belongs to one distribution.
    venv_plumbing = ("bin/python", "bin/activate", "bin/Activate", "pyvenv.cfg", "lib64", ".strata/")
    unclaimed = sorted(str(p.relative_to(ours)) for p in ours.rglob("*")
                       if not p.is_dir() and p not in claimed and not str(p.relative_to(ours)).startswith(venv_plumbing))
    assert unclaimed == []
    assert len(claimed) > 5000
