"""`strata install` of two real wide locks against `pip install --no-deps --require-hashes` of the
very same files, the trees compared byte for byte.

- tests/fixtures/locks/wide-poetry2 (Poetry 2.5.1, 46 packages on Linux CPython 3.11): numpy
  (binary, console scripts), jsonpatch/jsonpointer (`.data/scripts` with `#!python`), greenlet
  (`.data/headers`), ipykernel (`.data/data`), zope.interface (pkg_resources namespace with an
  -nspkg.pth), jaraco.functools (PEP 420 namespace), pyzmq (auditwheel `.libs`), console scripts
  (pygments, pyflakes, charset-normalizer, ipython, jupyter-core, ...).
- tests/fixtures/locks/wide-pylock (pip 26.3 `pip lock`, 44 packages, Linux x86_64 CPython 3.11):
  numpy, jsonpatch/jsonpointer, zope.interface + zope.event and jaraco.text/functools/context
  (several distributions sharing one namespace directory), black (mypyc-compiled), flake8,
  pygments, rich, typer, docutils, tqdm (console scripts), pydantic-core and rpds-py (Rust).

Each lock's wheels for the test interpreter are downloaded from PyPI once (cached) and served by
a pypiserver on 127.0.0.1 for strata; pip installs the same files by the lock's own hashes into
another venv.
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

from support import Servers, download_wheels, launcher_names, pip_env, planned, serve_wheels, strata, venv_python

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
PYTHON = "/usr/bin/python3"
SITE = pathlib.Path("lib/python3.11/site-packages")
# Installer metadata that legitimately differs (and direct_url.json, which neither should write).
VOLATILE_DIST_INFO = {"INSTALLER", "RECORD", "REQUESTED", "direct_url.json"}
DATA_SCRIPTS = {"jsondiff", "jsonpatch", "jsonpointer"}


def poetry_requirements(lock_dir, plan):
    """The lock's hashes (every file of the package) for exactly the selected versions."""
    lock = tomllib.loads((lock_dir / "poetry.lock").read_text())
    chosen = {(x["name"], x["version"]) for x in plan}
    lines = []
    for pkg in lock["package"]:
        if (pkg["name"].lower().replace("_", "-").replace(".", "-"), pkg["version"]) in chosen:
            hashes = " ".join(f"--hash={f['hash']}" for f in pkg["files"])
            lines.append(f"{pkg['name']}=={pkg['version']} {hashes}")
    return lines


def pylock_requirements(lock_dir, plan):
    """The lock's own sha256 of each selected wheel (as pip lock wrote it)."""
    lock = tomllib.loads((lock_dir / "pylock.toml").read_text())
    chosen = {(x["name"], x["version"]): x["wheel"] for x in plan}
    lines = []
    for pkg in lock["packages"]:
        wheel = chosen.get((pkg["name"], pkg["version"]))
        if wheel:
            (entry,) = [w for w in pkg["wheels"] if w["name"] == wheel]
            lines.append(f"{pkg['name']}=={pkg['version']} --hash=sha256:{entry['hashes']['sha256']}")
    return lines


CASES = {
    "wide-poetry2": {
        "wheels": "install-wide-v1",
        "requirements": poetry_requirements,
        "min_files": 3000,  # numpy, debugpy, setuptools, ipython...: the comparison is not vacuous
        "min_sources": 2000,
        "min_claimed": 5000,
        # bin/ files that are not launchers: at least the .data scripts.
        "bin_scripts": lambda found: DATA_SCRIPTS <= found,
        "namespaces": (),
        "scheme_files": ("include/site/python3.11/greenlet/greenlet.h", "share/jupyter/kernels/python3/kernel.json",
                         f"{SITE}/zope.interface-*-nspkg.pth"),
        "launchers": {"numpy-config", "f2py", "pygmentize", "pyflakes", "normalizer", "ipython", "jupyter"},
        "imports": ("import numpy, yaml, requests, zope.interface, jaraco.functools, greenlet, zmq, ipykernel, "
                    "IPython, jsonpatch, jsonpointer, pygments, pyflakes, click, six, dateutil, psutil, tornado, "
                    "debugpy; print(numpy.arange(5).sum(), yaml.safe_dump({'a': 1}).strip(), "
                    "zmq.zmq_version_info() > (4,))"),
        "printed": ["10", "a:", "1", "True"],
        # (argv, stdin, "in" | "startswith" | "==", expected output)
        "commands": [
            (["pyflakes", "--version"], None, "in", "3.2.0"),
            (["pygmentize", "-V"], None, "in", "2.18.0"),
            (["numpy-config", "--version"], None, "in", "2.1.3"),
            (["normalizer", "--version"], None, "in", "3.5.2"),
            (["ipython", "--version"], None, "in", "9.18.1"),
            (["jupyter", "--version"], None, "in", "jupyter_core"),
            (["jsondiff", "--help"], None, "startswith", "usage: jsondiff"),  # a .data script
        ],
    },
    "wide-pylock": {
        "wheels": "wide-v1",
        "requirements": pylock_requirements,
        "min_files": 1500,  # numpy, black, docutils, pygments...: not vacuous
        "min_sources": 1000,
        "min_claimed": 2500,
        # The only non-launcher scripts are the .data scripts.
        "bin_scripts": lambda found: found == DATA_SCRIPTS,
        # Several distributions share these namespace directories, none with __init__.py.
        "namespaces": ("zope", "jaraco"),
        "scheme_files": (),
        "launchers": {"black", "blackd", "flake8", "pygmentize", "numpy-config", "f2py", "tqdm", "typer",
                      "docutils", "pyflakes", "pycodestyle", "jsonschema", "markdown-it"},
        "imports": ("import numpy, zope.interface, zope.event, jaraco.text, jaraco.functools, black, flake8, "
                    "pygments, rich, jsonschema, yaml, tqdm, docutils, typer, pydantic, rpds, jsonpatch, jinja2, "
                    "markupsafe; print(numpy.arange(4).sum(), zope.interface.Interface.__name__, "
                    "zope.event.notify.__name__, jsonschema.Draft202012Validator({'type': 'integer'}).is_valid(3))"),
        "printed": ["6", "Interface", "notify", "True"],
        "commands": [
            (["black", "--version"], None, "in", "26.10.1"),
            (["black", "-q", "-"], "x = ( 1, )\n", "==", "x = (1,)\n"),
            (["flake8", "--version"], None, "in", "7.5.0"),
            (["pygmentize", "-V"], None, "in", "2.21.0"),
            (["numpy-config", "--version"], None, "in", "2.1.3"),
            (["tqdm", "--version"], None, "in", "4.70.1"),
            (["docutils", "--version"], None, "in", "0.23"),
            (["jsonpointer", "--help"], None, "startswith", "usage: jsonpointer"),  # .data scripts
            (["jsondiff", "--help"], None, "startswith", "usage: jsondiff"),
        ],
    },
}


def snapshot(env):
    """Every installed file but pycs, installer metadata, launchers and venv plumbing: its bytes
    (with the environment's own path replaced) and whether it is executable."""
    launchers = launcher_names(env / SITE)
    assert len(launchers) >= 10
    files = {}
    for path in env.rglob("*"):
        if path.is_dir():
            continue
        rel = path.relative_to(env)
        parts = rel.parts
        if "__pycache__" in parts or parts[0] in (".strata", "lib64") or rel.name == "pyvenv.cfg":
            continue
        if parts[0] == "bin" and (rel.name in launchers or rel.name.startswith(("python", "activate", "Activate"))):
            continue
        if len(parts) > 1 and parts[-2].endswith(".dist-info") and rel.name in VOLATILE_DIST_INFO:
            continue
        data = path.read_bytes().replace(str(env).encode(), b"<env>")
        files[str(rel)] = (hashlib.sha256(data).hexdigest(), os.access(path, os.X_OK))
    return files


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    return {"lock": SOURCE / "tests" / "fixtures" / "locks" / request.param, **CASES[request.param]}


@pytest.fixture(scope="module")
def plan(case, tmp_path_factory):
    decisions = planned(case["lock"], PYTHON, tmp_path_factory.mktemp("plan"))
    assert len(decisions) >= 30
    assert {d["action"] for d in decisions} == {"install"}
    return decisions


@pytest.fixture(scope="module")
def envs(case, plan, tmp_path_factory):
    """strata's environment (from the loopback index), pip's (the same files by the lock's hashes),
    strata's --json report and both trees' snapshots."""
    wheel_dir = download_wheels(case["wheels"], [plan], PYTHON)
    root = tmp_path_factory.mktemp("envs")
    ours, theirs = root / "strata-env", root / "pip-env"
    servers = Servers()
    try:
        index = serve_wheels(servers, wheel_dir)
        proc = strata("--json", "install", case["lock"], "--env", ours, "--python", PYTHON, "--index-url", index,
                      "--cache-dir", root / "cache")
    finally:
        servers.stop()
    report = json.loads(proc.stdout)
    lines = case["requirements"](case["lock"], plan)
    assert len(lines) == len(plan)
    requirements = root / "requirements.txt"
    requirements.write_text("\n".join(lines) + "\n")
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", theirs], check=True)
    subprocess.run([venv_python(), "-m", "pip", "--python", theirs / "bin" / "python", "install", "-q",
                    "--disable-pip-version-check", "--no-deps", "--require-hashes", "--no-compile", "--no-index",
                    "--find-links", wheel_dir, "-r", requirements], check=True, timeout=600, env=pip_env())
    return ours, theirs, report, snapshot(ours), snapshot(theirs)


def test_strata_installed_every_locked_package(envs, plan):
    report = envs[2]
    assert report["ok"] is True
    assert sorted((r["name"], r["version"], r["wheel"], r["action"]) for r in report["results"]) == \
        sorted((x["name"], x["version"], x["wheel"], "install") for x in plan)


def test_same_files_same_bytes_as_pip(envs, case):
    ours, _, _, a, b = envs
    assert len(b) > case["min_files"]
    assert sorted(set(a) - set(b)) == []
    assert sorted(set(b) - set(a)) == []
    assert sorted(p for p in a if a[p][0] != b[p][0]) == []
    # pip keeps the archive's x bits; strata also marks .data scripts executable (bin/).
    assert sorted(p for p in a if a[p][1] != b[p][1] and not p.startswith("bin/")) == []
    # The non-launcher scripts (.data/scripts after #! rewriting) are part of the comparison.
    found = {p.removeprefix("bin/") for p in a if p.startswith("bin/")}
    assert case["bin_scripts"](found), sorted(found)
    for ns in case["namespaces"]:
        assert not (ours / SITE / ns / "__init__.py").exists()
    if case["namespaces"]:
        assert {p.split("/")[4] for p in a if p.startswith(f"{SITE}/zope/")} >= {"interface", "event"}


def test_data_scripts_rewritten_and_executable_and_scheme_files_installed(envs, case):
    ours, theirs, _, _, _ = envs
    for env in (ours, theirs):
        for name in DATA_SCRIPTS:
            head = (env / "bin" / name).read_bytes().split(b"\n", 1)[0]
            assert head == f"#!{env}/bin/python".encode(), (env, name, head)
        for pattern in case["scheme_files"]:
            assert [p for p in env.glob(pattern) if p.is_file()], (env, pattern)
    assert sorted(n for n in DATA_SCRIPTS if not os.access(ours / "bin" / n, os.X_OK)) == []


def test_same_launchers_as_pip(envs, case):
    ours, theirs, _, _, _ = envs
    names = launcher_names(theirs / SITE)
    assert case["launchers"] <= names
    assert launcher_names(ours / SITE) == names
    for env in (ours, theirs):
        missing = sorted(n for n in names if not (env / "bin" / n).is_file() or not os.access(env / "bin" / n, os.X_OK))
        assert missing == [], env
    for n in names:
        assert (ours / "bin" / n).read_text().startswith(f"#!{ours}/bin/python\n"), n


def record_paths(env):
    """dist-info name -> the paths its RECORD lists, but pycs and the launchers."""
    launchers = {f"../../../bin/{n}" for n in launcher_names(env / SITE)}
    out = {}
    for record in (env / SITE).glob("*.dist-info/RECORD"):
        with open(record, newline="") as f:
            rows = [r[0] for r in csv.reader(f) if r]
        out[record.parent.name] = sorted(p for p in rows if "__pycache__" not in p and p not in launchers)
    return out


def test_records_list_the_same_files_as_pips(envs):
    ours, theirs, _, _, _ = envs
    a, b = record_paths(ours), record_paths(theirs)
    assert sorted(a) == sorted(b)
    assert sorted(name for name in a if a[name] != b[name]) == []


def test_records_claim_every_file_strata_wrote_with_its_hash(envs, case):
    ours = envs[0]
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
    assert len(claimed) > case["min_claimed"]


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


def test_strata_compiled_every_compilable_source(envs, case):
    ours, theirs, report, _, _ = envs
    out = subprocess.run([ours / "bin" / "python", "-c", PYC_CHECK, ours / SITE], check=True, capture_output=True,
                         text=True, timeout=300)
    check = json.loads(out.stdout)
    assert check["sources"] > case["min_sources"]
    assert check["bad"] == []
    assert check["uncompiled_but_compilable"] == []
    assert check["compiled"] == sum(r["compiled"] for r in report["results"])
    # pip ran with --no-compile: its only pycs are the ones wheels ship (numpy has one); strata
    # has each of them too (recompiled as unchecked-hash, which the check above saw).
    shipped = [p.relative_to(theirs) for p in (theirs / SITE).rglob("*.pyc")]
    assert [p for p in shipped if not (ours / p).is_file()] == []


def test_imports_and_console_scripts_work(envs, case):
    ours = envs[0]
    out = subprocess.run([ours / "bin" / "python", "-c", case["imports"]], capture_output=True, text=True,
                         timeout=120, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == case["printed"]
    for argv, stdin, how, expected in case["commands"]:
        proc = subprocess.run([ours / "bin" / argv[0], *argv[1:]], capture_output=True, text=True, timeout=120,
                              cwd="/", input=stdin)
        assert proc.returncode == 0, (argv, proc.stderr)
        output = proc.stdout + proc.stderr
        ok = {"in": expected in output, "startswith": output.startswith(expected), "==": output == expected}[how]
        assert ok, (argv, how, expected, output[:200])
