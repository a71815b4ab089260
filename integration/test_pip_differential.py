"""`strata install` of a real `pip lock` pylock.toml against `pip install --no-deps --require-hashes`
of the very same files.

The lock is tests/fixtures/locks/wide-pylock (pip 26.3 `pip lock`, 44 packages, Linux x86_64
CPython 3.11): numpy (binary, console scripts), jsonpatch/jsonpointer (`.data/scripts` with
`#!python`), zope.interface + zope.event and jaraco.text/functools/context (several distributions
sharing one namespace directory), black (mypyc-compiled), flake8, pygments, rich, typer, docutils,
tqdm (console scripts), pydantic-core and rpds-py (Rust extensions). Its wheels are downloaded from
PyPI once into WHEEL_CACHE/wide-v1 and served by a pypiserver on 127.0.0.1 for strata; pip installs
the same files from that directory by hash into another venv; the trees are compared.
"""

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
LOCK = SOURCE / "tests" / "fixtures" / "locks" / "wide-pylock"
PYTHON = "/usr/bin/python3"
SITE = pathlib.Path("lib/python3.11/site-packages")
VOLATILE_DIST_INFO = {"INSTALLER", "RECORD", "REQUESTED", "direct_url.json"}
DATA_SCRIPTS = {"jsondiff", "jsonpatch", "jsonpointer"}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    decisions = planned(LOCK, PYTHON, tmp_path_factory.mktemp("plan"))
    assert len(decisions) >= 30
    assert {d["action"] for d in decisions} == {"install"}
    return decisions


@pytest.fixture(scope="module")
def wheel_dir(plan):
    return download_wheels("wide-v1", [plan], PYTHON)


@pytest.fixture(scope="module")
def envs(plan, wheel_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("envs")
    ours, theirs = root / "strata-env", root / "pip-env"
    servers = Servers()
    try:
        index = serve_wheels(servers, wheel_dir)
        proc = strata("--json", "install", LOCK, "--env", ours, "--python", PYTHON, "--index-url", index,
                      "--cache-dir", root / "cache")
    finally:
        servers.stop()
    report = json.loads(proc.stdout)
    # pip: the lock's own hashes of the selected wheels (as pip lock wrote them), from the same files.
    lock = tomllib.loads((LOCK / "pylock.toml").read_text())
    chosen = {(x["name"], x["version"]): x["wheel"] for x in plan}
    lines = []
    for pkg in lock["packages"]:
        wheel = chosen.get((pkg["name"], pkg["version"]))
        if wheel:
            (entry,) = [w for w in pkg["wheels"] if w["name"] == wheel]
            lines.append(f"{pkg['name']}=={pkg['version']} --hash=sha256:{entry['hashes']['sha256']}")
    assert len(lines) == len(plan)
    requirements = root / "req.txt"
    requirements.write_text("\n".join(lines) + "\n")
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", theirs], check=True)
    subprocess.run([venv_python(), "-m", "pip", "--python", theirs / "bin" / "python", "install", "-q",
                    "--disable-pip-version-check", "--no-deps", "--require-hashes", "--no-compile", "--no-index",
                    "--find-links", wheel_dir, "-r", requirements], check=True, timeout=600, env=pip_env())
    return ours, theirs, report


def snapshot(env):
    """Every installed file but pycs, installer metadata, launchers and venv plumbing: its bytes
    (the environment's own path replaced) and its x bit."""
    launchers = launcher_names(env / SITE)
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
        if parts[-2].endswith(".dist-info") and rel.name in VOLATILE_DIST_INFO:
            continue
        data = path.read_bytes().replace(str(env).encode(), b"<env>")
        files[str(rel)] = (hashlib.sha256(data).hexdigest(), os.access(path, os.X_OK))
    return files


def test_strata_installed_every_locked_package(envs, plan):
    _, _, report = envs
    assert report["ok"] is True
    assert sorted((r["name"], r["version"], r["wheel"], r["action"]) for r in report["results"]) == \
        sorted((x["name"], x["version"], x["wheel"], "install") for x in plan)


def test_same_files_same_bytes_as_pip(envs):
    ours, theirs, _ = envs
    a, b = snapshot(ours), snapshot(theirs)
    assert len(b) > 1500  # numpy, black, docutils, pygments...: not vacuous
    assert sorted(set(a) - set(b)) == []
    assert sorted(set(b) - set(a)) == []
    assert sorted(p for p in a if a[p][0] != b[p][0]) == []
    assert sorted(p for p in a if a[p][1] != b[p][1] and not p.startswith("bin/")) == []
    # The non-launcher scripts (.data/scripts after #! rewriting) are part of the comparison.
    assert {p for p in a if p.startswith("bin/")} == {f"bin/{n}" for n in DATA_SCRIPTS}
    # Several distributions share the zope/ and jaraco/ namespace directories, none with __init__.py.
    for ns in ("zope", "jaraco"):
        assert not (ours / SITE / ns / "__init__.py").exists()
    assert {p.split("/")[4] for p in a if p.startswith(f"{SITE}/zope/")} >= {"interface", "event"}


def test_non_launcher_scripts_rewritten_and_executable(envs):
    ours, theirs, _ = envs
    for env in (ours, theirs):
        for name in DATA_SCRIPTS:
            head = (env / "bin" / name).read_bytes().split(b"\n", 1)[0]
            assert head == f"#!{env}/bin/python".encode(), (env, name, head)
    assert sorted(n for n in DATA_SCRIPTS if not os.access(ours / "bin" / n, os.X_OK)) == []


def test_same_launchers_as_pip(envs):
    ours, theirs, _ = envs
    names = launcher_names(theirs / SITE)
    assert {"black", "blackd", "flake8", "pygmentize", "numpy-config", "f2py", "tqdm", "typer",
            "docutils", "pyflakes", "pycodestyle", "jsonschema", "markdown-it"} <= names
    assert launcher_names(ours / SITE) == names
    for env in (ours, theirs):
        missing = sorted(n for n in names if not os.access(env / "bin" / n, os.X_OK))
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
    ours, theirs, _ = envs
    a, b = record_paths(ours), record_paths(theirs)
    assert sorted(a) == sorted(b)
    assert sorted(name for name in a if a[name] != b[name]) == []
    installers = {(ours / SITE / d / "INSTALLER").read_text() for d in a}
    assert installers == {"strata\n"}


PYC_CHECK = r"""
import importlib.util, json, pathlib, sys
site = pathlib.Path(sys.argv[1])
missing, sources = [], 0
for py in site.rglob("*.py"):
    sources += 1
    if pathlib.Path(importlib.util.cache_from_source(str(py))).is_file():
        continue
    try:
        compile(py.read_bytes(), str(py), "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        continue
    missing.append(str(py.relative_to(site)))
print(json.dumps({"sources": sources, "missing": missing}))
"""


def test_a_pyc_for_every_py_strata_installed(envs):
    ours, _, _ = envs
    out = subprocess.run([ours / "bin" / "python", "-c", PYC_CHECK, ours / SITE], check=True, capture_output=True,
                         text=True, timeout=300)
    check = json.loads(out.stdout)
    assert check["sources"] > 1000
    assert check["missing"] == []


def test_imports_and_console_scripts_work(envs):
    ours, _, _ = envs
    code = ("import numpy, zope.interface, zope.event, jaraco.text, jaraco.functools, black, flake8, pygments, rich, "
            "jsonschema, yaml, tqdm, docutils, typer, pydantic, rpds, jsonpatch, jinja2, markupsafe; "
            "print(numpy.arange(4).sum(), zope.interface.Interface.__name__, zope.event.notify.__name__, "
            "jsonschema.Draft202012Validator({'type': 'integer'}).is_valid(3))")
    out = subprocess.run([ours / "bin" / "python", "-c", code], capture_output=True, text=True, timeout=120,
                         cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["6", "Interface", "notify", "True"]

    def run(*argv, stdin=None):
        proc = subprocess.run([ours / "bin" / argv[0], *argv[1:]], capture_output=True, text=True, timeout=120,
                              cwd="/", input=stdin)
        assert proc.returncode == 0, (argv, proc.stderr)
        return proc.stdout + proc.stderr

    assert "26.10.1" in run("black", "--version")
    assert run("black", "-q", "-", stdin="x = ( 1, )\n") == "x = (1,)\n"
    assert "7.5.0" in run("flake8", "--version")
    assert "2.21.0" in run("pygmentize", "-V")
    assert "2.1.3" in run("numpy-config", "--version")
    assert "4.70.1" in run("tqdm", "--version")
    assert "0.23" in run("docutils", "--version")
    assert run("jsonpointer", "--help").startswith("usage: jsonpointer")  # .data scripts
    assert run("jsondiff", "--help").startswith("usage: jsondiff")
