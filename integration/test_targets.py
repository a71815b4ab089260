"""`strata install` into the targets other than `--env NEW`:

- `--python PATH` alone: that interpreter's own environment (throwaway venvs of Debian's CPython
  3.11 and of pyenv's 3.13, and a copy of a whole pyenv CPython 3.9 install standing in for a
  `python:` base image's interpreter; never a system or pyenv site-packages);
- `--prefix DIR --python PATH`: the interpreter's scheme re-rooted under DIR, compared with
  `pip install --no-deps --prefix DIR` of the same files, then used through PYTHONPATH: the wide
  locks tests/fixtures/locks/wide-poetry2 (purelib, platlib, scripts, headers and data files) and
  wide-pylock (.data scripts, console scripts); the small lock with a pyenv CPython 3.13 venv's
  python; Debian's python3 itself (its `local/` scheme);
- `strata venv DIR --python PATH` then `install --env DIR` for pyenv's CPython 3.9 and 3.13;
- a `--system-site-packages` venv: the base's distributions are seen, never modified;
- a new `--env`/`--prefix` is not created when the plan fails (no wheel, a conflict).

The small lock is a PEP 751 pylock.toml written here for six pure wheels that support 3.9 to 3.13
(a `.data/scripts` one and a console-script one among them), downloaded from PyPI once and given
to strata with --find-links --offline. The example's and the wide locks' wheels come from PyPI once
(cached) and are served by a pypiserver on 127.0.0.1.
"""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tomllib

import pytest

from support import (WHEEL_CACHE, download_wheels, launcher_names, pip_env, planned, relative_files,
                     serve_wheels, strata, venv_python)

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
EXAMPLE = SOURCE / "examples" / "webapp"
WIDE_POETRY = SOURCE / "tests" / "fixtures" / "locks" / "wide-poetry2"
WIDE_PYLOCK = SOURCE / "tests" / "fixtures" / "locks" / "wide-pylock"
PYTHON = "/usr/bin/python3"
PYENV = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv")) / "versions"
SMALL = [("six", "1.17.0", "six-1.17.0-py2.py3-none-any.whl"), ("idna", "3.10", "idna-3.10-py3-none-any.whl"),
         ("click", "8.1.8", "click-8.1.8-py3-none-any.whl"), ("attrs", "25.3.0", "attrs-25.3.0-py3-none-any.whl"),
         ("jsonpointer", "3.0.0", "jsonpointer-3.0.0-py2.py3-none-any.whl"),
         ("tqdm", "4.67.1", "tqdm-4.67.1-py3-none-any.whl")]
SIX_OLD = ("six", "1.16.0", "six-1.16.0-py2.py3-none-any.whl")
MDURL = ("mdurl", "0.1.2", "mdurl-0.1.2-py3-none-any.whl")
MARKDOWN_IT = ("markdown-it-py", "3.0.0", "markdown_it_py-3.0.0-py3-none-any.whl")
SMALL_IMPORTS = "import six, idna, click, attr, attrs, jsonpointer, tqdm"
PYC_VOLATILE = ("/INSTALLER", "/RECORD", "/REQUESTED")


def pyenv_python(minor):
    found = sorted(PYENV.glob(f"3.{minor}.*/bin/python3.{minor}"))
    if not found:
        pytest.skip(f"no pyenv CPython 3.{minor}")
    return found[-1]


def copy_cpython(original, dest):
    """A copy of the whole CPython install of `original` (as in a `python:` image: its own
    lib/python3.X/site-packages) without the stdlib's tests and static library (half the size);
    returns the copy's interpreter."""
    prefix = original.parents[1]
    stdlib = prefix / "lib" / original.name.removeprefix("python")
    shutil.copytree(prefix, dest, symlinks=True,
                    ignore=lambda d, names: [n for n in names if pathlib.Path(d) == stdlib and
                                             (n == "test" or n.startswith("config-"))])
    return dest / "bin" / original.name


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory):
    """Every wheel the example (for 3.11, 3.9 and 3.13) and the wide poetry lock (3.11) need. The
    3.9 and 3.13 plans' wheels are all pure, which pip for 3.11 downloads as well."""
    scratch = tmp_path_factory.mktemp("plan")
    plans = [planned(lock, python, scratch) for lock, python in
             [(EXAMPLE, PYTHON), (EXAMPLE, pyenv_python(9)), (EXAMPLE, pyenv_python(13)), (WIDE_POETRY, PYTHON)]]
    return download_wheels("install-targets-v1", plans, PYTHON)


@pytest.fixture(scope="module")
def wide_wheels(tmp_path_factory):
    plan = planned(WIDE_PYLOCK, PYTHON, tmp_path_factory.mktemp("plan"))
    return download_wheels("wide-v1", [plan], PYTHON)


@pytest.fixture(scope="module")
def index(servers, wheel_dir):
    return serve_wheels(servers, wheel_dir)


@pytest.fixture(scope="module")
def small_wheels():
    d = WHEEL_CACHE / "targets-small-v1"
    d.mkdir(parents=True, exist_ok=True)
    for entries in (SMALL, [SIX_OLD]):  # one pip call cannot take two versions of six
        missing = [f"{name}=={version}" for name, version, wheel in entries if not (d / wheel).is_file()]
        if missing:
            subprocess.run([PYTHON, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                            "--only-binary=:all:", "-d", d, *missing], check=True, timeout=600, env=pip_env())
    return d


def write_lock(path, wheels, entries):
    """A pylock.toml for (name, version, wheel) entries; its URLs are never fetched (--find-links
    --offline)."""
    text = 'lock-version = "1.0"\ncreated-by = "strata integration test"\nrequires-python = ">=3.9"\n'
    for name, version, wheel in entries:
        sha256 = hashlib.sha256((wheels / wheel).read_bytes()).hexdigest() if (wheels / wheel).is_file() else "0" * 64
        text += (f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\n'
                 f'wheels = [{{ name = "{wheel}", url = "https://files.pythonhosted.org/never/fetched/{wheel}", '
                 f'hashes = {{ sha256 = "{sha256}" }} }}]\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def small_lock(small_wheels, tmp_path_factory):
    return write_lock(tmp_path_factory.mktemp("small") / "pylock.toml", small_wheels, SMALL)


def install(lock, cache, *target):
    report = json.loads(strata("--json", "install", lock, *target, "--cache-dir", cache).stdout)
    assert report["ok"] is True
    return report


def install_small(lock, wheels, cache, *target):
    return install(lock, cache, *target, "--find-links", wheels, "--offline")


def run(argv, **env):
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, cwd="/",
                          env={**os.environ, **env})
    assert proc.returncode == 0, (argv, proc.stderr)
    return proc.stdout


def listing(dirs):
    return {str(d): sorted(p.name for p in d.iterdir()) for d in dirs if d.is_dir()}


def owners(python_or_env):
    return {d["normalized_name"]: d["owner"] for d in
            json.loads(strata("--json", "list", *python_or_env).stdout)["distributions"]}


def new_venv(interpreter, venv, *flags):
    subprocess.run([interpreter, "-m", "venv", "--without-pip", *flags, venv], check=True)
    return venv / "bin" / "python"


def prefix_files(prefix):
    """relative_files of a prefix strata wrote, without its own .strata/ state."""
    return {k: v for k, v in relative_files(prefix).items() if not k.startswith(".strata/")}


@pytest.mark.parametrize("base", ["debian-3.11-venv", "pyenv-3.13-venv", "copied-pyenv-3.9"])
def test_python_alone_installs_into_that_interpreters_own_environment(tmp_path, small_lock, small_wheels, base):
    debian_dirs = [pathlib.Path("/usr/lib/python3/dist-packages"), pathlib.Path("/usr/local/lib/python3.11/dist-packages")]
    if base == "copied-pyenv-3.9":
        original = pyenv_python(9)
        root = tmp_path / "python"
        python, minor = copy_cpython(original, root), "9"
        base_dirs = [original.parents[1] / "lib" / "python3.9" / "site-packages", *debian_dirs]
    else:
        minor = base.split("-")[1].split(".")[1]
        root = tmp_path / "venv"
        python = new_venv(PYTHON if base.startswith("debian") else pyenv_python(int(minor)), root)
        # The base interpreter's own site-packages must not be touched.
        base_prefix = pathlib.Path(run([python, "-c", "import sys; print(sys.base_prefix)"]).strip())
        base_dirs = [base_prefix / "lib" / f"python3.{minor}" / "site-packages", *debian_dirs]
    site = root / "lib" / f"python3.{minor}" / "site-packages"
    base_before = listing(base_dirs)
    site_before = {p.name for p in site.iterdir()}

    report = install_small(small_lock, small_wheels, tmp_path / "cache", "--python", python)
    assert report["target"]["python"] == str(python)
    assert pathlib.Path(report["target"]["purelib"]) == site
    assert sorted(r["name"] for r in report["results"]) == sorted(n for n, _, _ in SMALL)
    assert {r["action"] for r in report["results"]} == {"install"}
    added = {p.name for p in site.iterdir()} - site_before
    assert {"six.py", "click", "tqdm", "six-1.17.0.dist-info"} <= added
    assert (site / "six.py").is_file() and (site / f"__pycache__/six.cpython-3{minor}.pyc").is_file()
    # Console scripts in that interpreter's scripts dir, pointing at it.
    assert (root / "bin" / "tqdm").read_text().startswith(f"#!{python}\n")
    assert (root / "bin" / "jsonpointer").read_text().startswith(f"#!{python}\n")  # a .data script
    assert "ok" in run([python, "-c", f"{SMALL_IMPORTS}; print('ok')"])
    assert run([root / "bin" / "tqdm", "--version"]).strip() == "4.67.1"
    assert run([root / "bin" / "jsonpointer", "--help"]).startswith("usage: jsonpointer")
    assert owners(["--python", python])["six"] == report["owner"] == small_lock.parent.name.replace("_", "-")
    assert listing(base_dirs) == base_before

    again = install_small(small_lock, small_wheels, tmp_path / "cache", "--python", python)
    assert again["results"] == [] and {d["action"] for d in again["plan"]["decisions"]} == {"keep"}
    assert again["plan"]["counts"]["keep"] == len(report["results"])


# Per wide lock: how pip gets its files' hashes, and what the prefix must hold.
WIDE = {
    "wide-poetry2": dict(lock=WIDE_POETRY, wheels="wheel_dir", min_files=3000,
                         top={"bin", "lib", "include", "share"}, launchers={"bin/pygmentize", "bin/numpy-config"},
                         scripts={"bin/jsondiff"}, pyc="__pycache__/six.cpython-311.pyc",
                         imports="numpy, yaml, greenlet, jsonpatch, zmq, requests",
                         commands=[(["pyflakes", "--version"], "3.2.0"), (["numpy-config", "--version"], "2.1.3")]),
    "wide-pylock": dict(lock=WIDE_PYLOCK, wheels="wide_wheels", min_files=1500, top={"bin", "lib"},
                        launchers={"bin/black", "bin/flake8", "bin/numpy-config"},
                        scripts={"bin/jsondiff", "bin/jsonpatch", "bin/jsonpointer"},
                        pyc="numpy/__pycache__/__init__.cpython-311.pyc",
                        imports="numpy, black, zope.interface, jaraco.text, yaml, rpds",
                        commands=[(["black", "--version"], "26.10.1"), (["flake8", "--version"], "7.5.0")]),
}


def hashed_requirements(lock_dir, chosen):
    """`name==version --hash=...` lines for the (name, version) -> wheel strata chose, from the lock."""
    if (lock_dir / "poetry.lock").is_file():
        lock = tomllib.loads((lock_dir / "poetry.lock").read_text())
        return [f"{p['name']}=={p['version']} " + " ".join(f"--hash={f['hash']}" for f in p["files"])
                for p in lock["package"]
                if (p["name"].lower().replace("_", "-").replace(".", "-"), p["version"]) in chosen]
    lock = tomllib.loads((lock_dir / "pylock.toml").read_text())
    return [f"{p['name']}=={p['version']} --hash=sha256:{w['hashes']['sha256']}"
            for p in lock["packages"] for w in p["wheels"] if chosen.get((p["name"], p["version"])) == w["name"]]


@pytest.mark.parametrize("name", WIDE)
def test_prefix_is_the_scheme_re_rooted_like_pip_prefix(tmp_path, request, servers, name):
    case = WIDE[name]
    wheels = request.getfixturevalue(case["wheels"])
    python = new_venv(PYTHON, tmp_path / "venv")  # "the interpreter": a throwaway venv, nothing installed
    venv_before = relative_files(tmp_path / "venv")
    ours, theirs = tmp_path / "strata-prefix", tmp_path / "pip-prefix"
    report = install(case["lock"], tmp_path / "cache", "--prefix", ours, "--python", python,
                     "--index-url", serve_wheels(servers, wheels))
    assert len(report["results"]) >= 30

    chosen = {(r["name"], r["version"]): r["wheel"] for r in report["results"]}
    lines = hashed_requirements(case["lock"], chosen)
    assert len(lines) == len(chosen)
    (tmp_path / "req.txt").write_text("\n".join(lines) + "\n")
    subprocess.run([venv_python(), "-m", "pip", "--python", python, "install", "-q", "--disable-pip-version-check",
                    "--no-deps", "--require-hashes", "--no-compile", "--no-index", "--find-links", wheels,
                    "--prefix", theirs, "-r", tmp_path / "req.txt"], check=True, timeout=600, env=pip_env())

    a, b = prefix_files(ours), relative_files(theirs)
    assert len(b) > case["min_files"]
    # Same relative layout: purelib, platlib, scripts (and headers, data) all under DIR like pip's.
    assert sorted(set(a) ^ set(b)) == []
    assert {k.split("/")[0] for k in b} == case["top"]
    if "share" in case["top"]:
        assert any(k.startswith("include/") for k in b) and any(k.startswith("share/jupyter/") for k in b)
    site = pathlib.Path("lib/python3.11/site-packages")
    launchers = {f"bin/{n}" for n in launcher_names(theirs / site)}
    assert case["launchers"] <= launchers and case["launchers"] | case["scripts"] <= set(b)
    assert case["scripts"] <= set(b) - launchers
    # Same bytes but for installer metadata and launchers (strata's and pip's differ by design);
    # .data scripts' #! are the same.
    differing = sorted(k for k in a if a[k] != b[k] and not k.endswith(PYC_VOLATILE) and k not in launchers)
    assert differing == []
    assert (ours / "bin" / "jsondiff").read_text().startswith(f"#!{python}\n")
    # strata compiled what it wrote, under the prefix.
    assert (ours / site / case["pyc"]).is_file()
    assert relative_files(tmp_path / "venv") == venv_before  # the interpreter's own environment is untouched

    env = {"PYTHONPATH": str(ours / site)}
    out = run([python, "-c", f"import {case['imports']}; print(numpy.__file__)"], **env)
    assert out.strip().startswith(str(ours / site))
    for argv, expect in [*case["commands"], (["jsondiff", "--help"], "usage: jsondiff")]:
        assert expect in run([ours / "bin" / argv[0], *argv[1:]], **env), argv


def test_prefix_for_a_pyenv_313_venv_is_like_pip_prefix(tmp_path, small_lock, small_wheels):
    python = new_venv(pyenv_python(13), tmp_path / "venv")
    ours, theirs = tmp_path / "strata-prefix", tmp_path / "pip-prefix"
    install_small(small_lock, small_wheels, tmp_path / "cache", "--prefix", ours, "--python", python)
    subprocess.run([venv_python(), "-m", "pip", "--python", python, "install", "-q", "--disable-pip-version-check",
                    "--no-deps", "--no-compile", "--no-index", "--find-links", small_wheels, "--prefix", theirs,
                    *[f"{n}=={v}" for n, v, _ in SMALL]], check=True, timeout=300, env=pip_env())
    a, b = prefix_files(ours), relative_files(theirs)
    assert sorted(set(a) ^ set(b)) == []
    site = pathlib.Path("lib/python3.13/site-packages")
    assert (theirs / site / "six.py").is_file() and {"bin/tqdm", "bin/jsonpointer"} <= set(b)
    differing = sorted(k for k in a if a[k] != b[k] and not k.endswith(PYC_VOLATILE) and k != "bin/tqdm")
    assert differing == []
    assert (ours / site / "__pycache__" / "six.cpython-313.pyc").is_file()
    env = {"PYTHONPATH": str(ours / site)}
    assert "ok" in run([python, "-c", f"{SMALL_IMPORTS}; print('ok')"], **env)
    assert run([ours / "bin" / "tqdm", "--version"], **env).strip() == "4.67.1"
    assert run([ours / "bin" / "jsonpointer", "--help"], **env).startswith("usage: jsonpointer")


def test_prefix_with_debians_python_uses_its_scheme_like_pip(tmp_path, wheel_dir):
    """Debian's python3 (not a venv) re-roots its own scheme: pip --prefix puts files under
    DIR/local/lib/python3.11/dist-packages and DIR/local/bin there; strata must agree. mdurl and
    markdown-it-py: Debian's python3 does not have them installed."""
    if not os.access(PYTHON, os.X_OK):
        pytest.skip("no /usr/bin/python3")
    lock = write_lock(tmp_path / "lock" / "pylock.toml", wheel_dir, [MDURL, MARKDOWN_IT])
    ours, theirs = tmp_path / "strata-prefix", tmp_path / "pip-prefix"
    report = install_small(lock, wheel_dir, tmp_path / "cache", "--prefix", ours, "--python", PYTHON)
    assert sorted(r["name"] for r in report["results"]) == ["markdown-it-py", "mdurl"]
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--root-user-action=ignore",
                    "--no-deps", "--no-compile", "--no-index", "--find-links", wheel_dir, "--prefix", theirs,
                    "mdurl==0.1.2", "markdown-it-py==3.0.0"], check=True, timeout=300, env=pip_env())
    a, b = set(prefix_files(ours)), set(relative_files(theirs))
    assert any(k.startswith(("bin/markdown-it", "local/bin/markdown-it")) for k in b)
    assert sorted(a ^ b) == []
    site = next(p.parent for p in theirs.rglob("mdurl-0.1.2.dist-info")).relative_to(theirs)
    assert "markdown-it" in run([next(ours.rglob("bin/markdown-it")), "--help"], PYTHONPATH=str(ours / site))


@pytest.mark.parametrize("minor", [9, 13])
def test_strata_venv_then_install_for_another_python(tmp_path, index, minor):
    env = tmp_path / "env"
    strata("venv", env, "--python", pyenv_python(minor))
    report = install(EXAMPLE, tmp_path / "cache", "--env", env, "--index-url", index)
    assert report["target"]["version"].startswith(f"3.{minor}.")
    names = {r["name"] for r in report["results"]}
    assert {"httpx", "click", "rich"} <= names
    # The lock's markers, evaluated for this interpreter: exceptiongroup only below 3.11.
    assert ("exceptiongroup" in names) == (minor < 11)
    site = env / "lib" / f"python3.{minor}" / "site-packages"
    assert (site / "httpx" / "__pycache__" / f"__init__.cpython-3{minor}.pyc").is_file()
    out = run([env / "bin" / "python", "-c", "import sys, httpx; print(sys.version_info[:2], sys.prefix, "
                                             "httpx.__file__)"]).split()
    assert out[:2] == ["(3,", f"{minor})"]
    assert out[2] == str(env) and out[3].startswith(str(site))
    app = run([env / "bin" / "python", EXAMPLE / "app.py", "--name", "ci"])
    assert ": ok" in app
    assert "Pygments" in run([env / "bin" / "pygmentize", "-V"])
    assert (env / "bin" / "httpx").read_text().startswith(f"#!{env}/bin/python")
    # The owner is the project of the lock's directory (its pyproject.toml's name).
    assert owners(["--env", env])["httpx"] == report["owner"] == "strata-example-webapp"


def test_system_site_packages_venv_sees_the_base_and_never_modifies_it(tmp_path, small_wheels):
    """A venv made with --system-site-packages from a copied pyenv CPython 3.9 whose own
    site-packages has six 1.16.0 and idna 3.10 (pip-installed): both are visible, so idna 3.10 is
    kept and six 1.17.0 is a conflict; with --allow-replace six 1.17.0 goes into the venv and
    shadows the base's, whose files stay as they were."""
    base = tmp_path / "base"
    base_python = copy_cpython(pyenv_python(9), base)
    subprocess.run([base_python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--root-user-action=ignore",
                    "--no-deps", "--no-index", "--find-links", small_wheels, "six==1.16.0", "idna==3.10"],
                   check=True, timeout=300, env=pip_env())
    base_site = base / "lib" / "python3.9" / "site-packages"
    base_before = relative_files(base_site)
    venv = tmp_path / "venv"
    new_venv(base_python, venv, "--system-site-packages")
    lock = write_lock(tmp_path / "pylock.toml", small_wheels, [SMALL[0], SMALL[1]])  # six 1.17.0, idna 3.10

    proc = strata("--json", "install", lock, "--env", venv, "--find-links", small_wheels, "--offline",
                  "--cache-dir", tmp_path / "cache", check=False)
    assert proc.returncode == 3, proc.stderr
    decisions = {d["name"]: d for d in json.loads(proc.stdout)["plan"]["decisions"]}
    assert (decisions["idna"]["action"], decisions["six"]["action"]) == ("keep", "conflict")
    assert decisions["six"]["installed_path"] == str(base_site / "six-1.16.0.dist-info")
    assert not (venv / "lib/python3.9/site-packages/six.py").exists()

    report = install_small(lock, small_wheels, tmp_path / "cache", "--env", venv, "--allow-replace")
    assert [(r["name"], r["action"]) for r in report["results"]] == [("six", "replace")]
    assert relative_files(base_site) == base_before  # the base's six 1.16.0 is shadowed, not removed
    out = run([venv / "bin" / "python", "-c", "import six, idna; print(six.__version__, six.__file__, idna.__file__)"])
    assert out.split() == ["1.17.0", str(venv / "lib/python3.9/site-packages/six.py"), str(base_site / "idna/__init__.py")]
    assert run([base_python, "-c", "import six; print(six.__version__)"]).strip() == "1.16.0"


def test_no_wheel_for_a_new_environment_creates_nothing(tmp_path, wheel_dir):
    lock = write_lock(tmp_path / "lock" / "pylock.toml", wheel_dir,
                      [MDURL, ("pywin32", "306", "pywin32-306-cp311-cp311-win_amd64.whl")])
    for target in (["--env", tmp_path / "new-env"], ["--prefix", tmp_path / "new-prefix"]):
        proc = strata("--json", "install", lock, *target, "--python", PYTHON, "--find-links", wheel_dir,
                      "--offline", "--cache-dir", tmp_path / "cache", check=False)
        assert proc.returncode == 3, proc.stderr
        assert "pywin32 306: no wheel in the lock matches" in proc.stderr
        assert json.loads(proc.stdout)["ok"] is False
        assert not target[1].exists(), sorted(str(p) for p in target[1].rglob("*"))


def test_conflict_for_a_new_prefix_creates_nothing(tmp_path, wheel_dir, index):
    python = new_venv(PYTHON, tmp_path / "venv")
    subprocess.run([venv_python(), "-m", "pip", "--python", python, "install", "-q", "--disable-pip-version-check",
                    "--no-deps", "--no-index", "--find-links", wheel_dir, "click==8.1.7"], check=True, timeout=300,
                   env=pip_env())
    prefix = tmp_path / "prefix"
    proc = strata("--json", "install", EXAMPLE, "--prefix", prefix, "--python", python, "--index-url", index,
                  "--cache-dir", tmp_path / "cache", check=False)
    assert proc.returncode == 3, proc.stderr
    conflicts = [d["name"] for d in json.loads(proc.stdout)["plan"]["decisions"] if d["action"] == "conflict"]
    assert conflicts == ["click"]
    assert not prefix.exists(), sorted(str(p) for p in prefix.rglob("*"))
