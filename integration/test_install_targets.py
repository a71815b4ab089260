"""`strata install` target environments other than `--env`:

- `--python PATH` alone: that interpreter's own environment (a throwaway venv's python, and a
  copy of a whole pyenv CPython install standing in for a `python:` base image's interpreter);
- `--prefix DIR --python PATH`: the scheme re-rooted under DIR, compared with
  `pip install --no-deps --prefix DIR` of the same files (tests/fixtures/locks/wide-poetry2:
  purelib, platlib, scripts, headers and data files all land somewhere);
- `strata venv DIR --python PATH` then `install --env DIR` for pyenv's CPython 3.9 and 3.13.

Wheels come from PyPI once (cached) and are served by a pypiserver on 127.0.0.1.
"""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tomllib

import pytest

from support import Servers, download_wheels, launcher_names, pip_env, planned, relative_files, serve_wheels, strata, venv_python

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
EXAMPLE = SOURCE / "examples" / "webapp"
WIDE = SOURCE / "tests" / "fixtures" / "locks" / "wide-poetry2"
PYTHON = "/usr/bin/python3"
PYENV = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv")) / "versions"


def pyenv_python(minor):
    found = sorted(PYENV.glob(f"3.{minor}.*/bin/python3.{minor}"))
    if not found:
        pytest.skip(f"no pyenv CPython 3.{minor}")
    return found[-1]


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory):
    """Every wheel the example (for 3.11, 3.9 and 3.13) and the wide lock (3.11) need. The 3.9 and
    3.13 plans' wheels are all pure, which pip for 3.11 downloads as well."""
    scratch = tmp_path_factory.mktemp("plan")
    plans = [planned(lock, python, scratch) for lock, python in
             [(EXAMPLE, PYTHON), (EXAMPLE, pyenv_python(9)), (EXAMPLE, pyenv_python(13)), (WIDE, PYTHON)]]
    return download_wheels("install-targets-v1", plans, PYTHON)


@pytest.fixture(scope="module")
def index(wheel_dir):
    servers = Servers()
    yield serve_wheels(servers, wheel_dir)
    servers.stop()


def install(lock, index, cache, *target):
    report = json.loads(strata("--json", "install", lock, *target, "--index-url", index, "--cache-dir", cache).stdout)
    assert report["ok"] is True
    return report


def run_app(python, **env):
    proc = subprocess.run([python, EXAMPLE / "app.py", "--name", "ci"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env}, cwd="/")
    assert proc.returncode == 0, proc.stderr
    assert ": ok" in proc.stdout


@pytest.mark.parametrize("kind", ["venv", "copied-pyenv"])
def test_python_alone_installs_into_that_interpreters_environment(tmp_path, index, kind):
    if kind == "venv":
        root = tmp_path / "venv"
        subprocess.run([PYTHON, "-m", "venv", "--without-pip", root], check=True)
        python, site = root / "bin" / "python", root / "lib" / "python3.11" / "site-packages"
    else:  # a whole CPython install, as in a `python:` image: its own lib/python3.9/site-packages
        original = pyenv_python(9)
        root = tmp_path / "python"
        stdlib = original.parents[1] / "lib" / "python3.9"

        def skip(directory, names):  # the stdlib's own tests and the static library: half the size
            return [n for n in names if pathlib.Path(directory) == stdlib and (n == "test" or n.startswith("config-"))]

        shutil.copytree(original.parents[1], root, symlinks=True, ignore=skip)
        python, site = root / "bin" / original.name, root / "lib" / "python3.9" / "site-packages"
        untouched = sorted(p.name for p in (original.parents[1] / "lib/python3.9/site-packages").iterdir())
    before = {p.name for p in site.iterdir()}
    report = install(EXAMPLE, index, tmp_path / "cache", "--python", python)
    assert report["target"]["python"] == str(python)
    assert pathlib.Path(report["target"]["purelib"]) == site
    names = {r["name"] for r in report["results"]}
    assert {"httpx", "click", "rich"} <= names
    assert {r["action"] for r in report["results"]} == {"install"}
    added = {p.name for p in site.iterdir()} - before
    assert {"httpx", "click", "rich", "httpx-0.28.1.dist-info"} <= added
    # Console scripts in that interpreter's scripts dir, pointing at it.
    launcher = (root / "bin" / "httpx").read_text()
    assert launcher.startswith(f"#!{python}\n"), launcher[:100]
    run_app(python)
    help_text = subprocess.run([root / "bin" / "pygmentize", "-V"], capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0 and "Pygments" in help_text.stdout, help_text.stderr
    listing = json.loads(strata("--json", "list", "--python", python).stdout)
    owners = {d["normalized_name"]: d["owner"] for d in listing["distributions"]}
    assert owners["httpx"] == report["owner"] == "strata-example-webapp"
    again = install(EXAMPLE, index, tmp_path / "cache", "--python", python)
    assert again["results"] == [] and again["plan"]["counts"]["keep"] == len(report["results"])
    if kind == "copied-pyenv":
        assert sorted(p.name for p in (original.parents[1] / "lib/python3.9/site-packages").iterdir()) == untouched


def test_prefix_is_the_scheme_re_rooted_like_pip_prefix(tmp_path, index):
    venv = tmp_path / "venv"  # "the interpreter": a throwaway venv's python, nothing installed
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    venv_before = sorted(str(p) for p in venv.rglob("*"))
    ours, theirs = tmp_path / "strata-prefix", tmp_path / "pip-prefix"
    report = install(WIDE, index, tmp_path / "cache", "--prefix", ours, "--python", python)
    assert len(report["results"]) >= 30

    lock = tomllib.loads((WIDE / "poetry.lock").read_text())
    chosen = {(r["name"], r["version"]) for r in report["results"]}
    lines = [f"{p['name']}=={p['version']} " + " ".join(f"--hash={f['hash']}" for f in p["files"])
             for p in lock["package"]
             if (p["name"].lower().replace("_", "-").replace(".", "-"), p["version"]) in chosen]
    assert len(lines) == len(chosen)
    (tmp_path / "requirements.txt").write_text("\n".join(lines) + "\n")
    subprocess.run([venv_python(), "-m", "pip", "--python", python, "install", "-q", "--disable-pip-version-check",
                    "--no-deps", "--require-hashes", "--no-compile", "--index-url", index, "--prefix", theirs,
                    "-r", tmp_path / "requirements.txt"], check=True, timeout=600, env=pip_env())

    a, b = relative_files(ours), relative_files(theirs)
    a = {k: v for k, v in a.items() if not k.startswith(".strata/")}
    assert len(b) > 3000
    assert sorted(set(a) - set(b)) == []
    assert sorted(set(b) - set(a)) == []
    scripts = {k for k in b if k.startswith("bin/")}
    assert {"bin/jsondiff", "bin/pygmentize", "bin/numpy-config"} <= scripts
    assert any(k.startswith("include/") for k in b) and any(k.startswith("share/jupyter/") for k in b)
    # Same bytes, but for installer metadata and launchers (strata's and pip's differ by design).
    volatile = ("/INSTALLER", "/RECORD", "/REQUESTED")
    launchers = {f"bin/{n}" for n in launcher_names(theirs / "lib/python3.11/site-packages")}
    assert "bin/pygmentize" in launchers and "bin/jsondiff" not in launchers
    differing = sorted(k for k in a if a[k] != b[k] and not k.endswith(volatile) and k not in launchers)
    assert differing == []
    # strata compiled what it wrote, under the prefix.
    assert list(ours.glob("lib/python3.11/site-packages/six*")) and \
        (ours / "lib/python3.11/site-packages/__pycache__/six.cpython-311.pyc").is_file()
    assert sorted(str(p) for p in venv.rglob("*")) == venv_before  # the interpreter's env is untouched

    site = ours / "lib" / "python3.11" / "site-packages"
    env = {"PYTHONPATH": str(site)}
    code = "import numpy, yaml, greenlet, jsonpatch, zmq, requests; print(numpy.__file__)"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **env}, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(site))
    for argv, expect in [(["pyflakes", "--version"], "3.2.0"), (["numpy-config", "--version"], "2.1.3"),
                         (["jsondiff", "--help"], "usage: jsondiff")]:
        proc = subprocess.run([ours / "bin" / argv[0], *argv[1:]], capture_output=True, text=True, timeout=120,
                              env={**os.environ, **env}, cwd="/")
        assert proc.returncode == 0, (argv, proc.stderr)
        assert expect in proc.stdout, argv


@pytest.mark.parametrize("minor", [9, 13])
def test_strata_venv_then_install_for_other_pythons(tmp_path, index, minor):
    base = pyenv_python(minor)
    env = tmp_path / "env"
    strata("venv", env, "--python", base)
    report = install(EXAMPLE, index, tmp_path / "cache", "--env", env)
    assert report["target"]["version"].startswith(f"3.{minor}.")
    names = {r["name"] for r in report["results"]}
    assert {"httpx", "click", "rich"} <= names
    # The lock's markers, evaluated for this interpreter: exceptiongroup only below 3.11.
    assert ("exceptiongroup" in names) == (minor < 11)
    site = env / "lib" / f"python3.{minor}" / "site-packages"
    assert (site / "httpx" / "__pycache__" / f"__init__.cpython-3{minor}.pyc").is_file()
    run_app(env / "bin" / "python")
    out = subprocess.run([env / "bin" / "python", "-c", "import sys, httpx; print(sys.prefix, httpx.__file__)"],
                         capture_output=True, text=True, check=True, timeout=60, cwd="/").stdout.split()
    assert out[0] == str(env) and out[1].startswith(str(site))


# A hand-written PEP 751 lock of two pure wheels that Debian's python3 does not have installed; the
# URLs are never fetched (--find-links and --offline serve the same files by hash).
SMALL_PYLOCK = """\
lock-version = "1.0"
created-by = "strata integration test"
requires-python = ">=3.8"
{packages}"""
SMALL_PACKAGE = """
[[packages]]
name = "{name}"
version = "{version}"
wheels = [{{ name = "{wheel}", url = "https://files.pythonhosted.org/packages/never/fetched/{wheel}", hashes = {{ sha256 = "{sha256}" }} }}]
"""


def small_lock(tmp_path, wheel_dir, wheels):
    packages = ""
    for name, version, wheel in wheels:
        sha256 = hashlib.sha256((wheel_dir / wheel).read_bytes()).hexdigest()
        packages += SMALL_PACKAGE.format(name=name, version=version, wheel=wheel, sha256=sha256)
    d = tmp_path / "lock"
    d.mkdir()
    (d / "pylock.toml").write_text(SMALL_PYLOCK.format(packages=packages))
    return d


def test_prefix_with_debians_python_uses_its_scheme_like_pip(tmp_path, wheel_dir):
    """Debian's python3 (not a venv) re-roots its own scheme: pip --prefix puts files under
    DIR/local/lib/python3.11/dist-packages and DIR/local/bin there; strata must agree."""
    if not os.access(PYTHON, os.X_OK):
        pytest.skip("no /usr/bin/python3")
    wheels = [("mdurl", "0.1.2", "mdurl-0.1.2-py3-none-any.whl"),
              ("markdown-it-py", "3.0.0", "markdown_it_py-3.0.0-py3-none-any.whl")]
    lock = small_lock(tmp_path, wheel_dir, wheels)
    ours, theirs = tmp_path / "strata-prefix", tmp_path / "pip-prefix"
    report = json.loads(strata("--json", "install", lock, "--prefix", ours, "--python", PYTHON, "--find-links",
                               wheel_dir, "--offline", "--cache-dir", tmp_path / "cache").stdout)
    assert sorted(r["name"] for r in report["results"]) == ["markdown-it-py", "mdurl"]
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--root-user-action=ignore",
                    "--no-deps", "--no-compile", "--no-index", "--find-links", wheel_dir, "--prefix", theirs,
                    "mdurl==0.1.2", "markdown-it-py==3.0.0"], check=True, timeout=300, env=pip_env())
    a = {k for k in relative_files(ours) if not k.startswith(".strata/")}
    b = set(relative_files(theirs))
    assert any(k.startswith(("bin/markdown-it", "local/bin/markdown-it")) for k in b)
    assert sorted(a ^ b) == []
    site = next(p.parent for p in theirs.rglob("mdurl-0.1.2.dist-info")).relative_to(theirs)
    proc = subprocess.run([next(ours.rglob("bin/markdown-it")), "--help"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ours / site)}, cwd="/")
    assert proc.returncode == 0 and "markdown-it" in proc.stdout, proc.stderr


def test_no_wheel_for_a_new_environment_creates_nothing(tmp_path, wheel_dir):
    lock = small_lock(tmp_path, wheel_dir, [("mdurl", "0.1.2", "mdurl-0.1.2-py3-none-any.whl")])
    text = (lock / "pylock.toml").read_text() + SMALL_PACKAGE.format(
        name="pywin32", version="306", wheel="pywin32-306-cp311-cp311-win_amd64.whl", sha256="0" * 64)
    (lock / "pylock.toml").write_text(text)
    for target in (["--env", tmp_path / "new-env"], ["--prefix", tmp_path / "new-prefix"]):
        proc = strata("--json", "install", lock, *target, "--python", PYTHON, "--find-links", wheel_dir,
                      "--offline", "--cache-dir", tmp_path / "cache", check=False)
        assert proc.returncode == 3, proc.stderr
        assert "pywin32 306: no wheel in the lock matches" in proc.stderr
        assert json.loads(proc.stdout)["ok"] is False
        assert not target[1].exists(), sorted(str(p) for p in target[1].rglob("*"))


def test_conflict_for_a_new_prefix_creates_nothing(tmp_path, wheel_dir, index):
    venv = tmp_path / "venv"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", venv], check=True)
    subprocess.run([venv_python(), "-m", "pip", "--python", venv / "bin" / "python", "install", "-q",
                    "--disable-pip-version-check", "--no-deps", "--no-index", "--find-links", wheel_dir,
                    "click==8.1.7"], check=True, timeout=300, env=pip_env())
    prefix = tmp_path / "prefix"
    proc = strata("--json", "install", EXAMPLE, "--prefix", prefix, "--python", venv / "bin" / "python",
                  "--index-url", index, "--cache-dir", tmp_path / "cache", check=False)
    assert proc.returncode == 3, proc.stderr
    conflicts = [d["name"] for d in json.loads(proc.stdout)["plan"]["decisions"] if d["action"] == "conflict"]
    assert conflicts == ["click"]
    assert not prefix.exists(), sorted(str(p) for p in prefix.rglob("*"))
