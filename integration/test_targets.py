"""`strata install` into the targets other than `--env NEW`:

- `--python PATH` alone: that interpreter's own environment (throwaway venvs of Debian's CPython
  3.11 and of pyenv's 3.13, never a system or pyenv site-packages);
- `--prefix DIR --python PATH`: the interpreter's scheme re-rooted under DIR, compared with
  `pip install --no-deps --prefix DIR` of the same files (the 44-package pip-lock
  tests/fixtures/locks/wide-pylock, served by a pypiserver on 127.0.0.1), then used through
  PYTHONPATH;
- `strata venv DIR --python PATH` then `install --env DIR` for pyenv's CPython 3.9 and 3.13;
- `--prefix DIR` with a pyenv CPython 3.13 venv's python, against pip --prefix;
- a `--system-site-packages` venv: the base's distributions are seen, never modified.

The small lock is a PEP 751 pylock.toml written here for six pure wheels that support 3.9 to 3.13
(a `.data/scripts` one and a console-script one among them), downloaded from PyPI once and given
to strata with --find-links --offline.
"""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tomllib

import pytest

from support import (WHEEL_CACHE, Servers, download_wheels, launcher_names, pip_env, planned, relative_files,
                     serve_wheels, strata, venv_python)

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
WIDE = SOURCE / "tests" / "fixtures" / "locks" / "wide-pylock"
PYTHON = "/usr/bin/python3"
PYENV = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv")) / "versions"
SMALL = [("six", "1.17.0", "six-1.17.0-py2.py3-none-any.whl"), ("idna", "3.10", "idna-3.10-py3-none-any.whl"),
         ("click", "8.1.8", "click-8.1.8-py3-none-any.whl"), ("attrs", "25.3.0", "attrs-25.3.0-py3-none-any.whl"),
         ("jsonpointer", "3.0.0", "jsonpointer-3.0.0-py2.py3-none-any.whl"),
         ("tqdm", "4.67.1", "tqdm-4.67.1-py3-none-any.whl")]
SIX_OLD = ("six", "1.16.0", "six-1.16.0-py2.py3-none-any.whl")
SMALL_IMPORTS = "import six, idna, click, attr, attrs, jsonpointer, tqdm"
PYC_VOLATILE = ("/INSTALLER", "/RECORD", "/REQUESTED")


def pyenv_python(minor):
    found = sorted(PYENV.glob(f"3.{minor}.*/bin/python3.{minor}"))
    if not found:
        pytest.skip(f"no pyenv CPython 3.{minor}")
    return found[-1]


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
        sha256 = hashlib.sha256((wheels / wheel).read_bytes()).hexdigest()
        text += (f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\n'
                 f'wheels = [{{ name = "{wheel}", url = "https://files.pythonhosted.org/never/fetched/{wheel}", '
                 f'hashes = {{ sha256 = "{sha256}" }} }}]\n')
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def small_lock(small_wheels, tmp_path_factory):
    return write_lock(tmp_path_factory.mktemp("small") / "pylock.toml", small_wheels, SMALL)


def install_small(lock, wheels, cache, *target):
    report = json.loads(strata("--json", "install", lock, *target, "--find-links", wheels, "--offline",
                               "--cache-dir", cache).stdout)
    assert report["ok"] is True
    return report


def run(argv, **env):
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, cwd="/",
                          env={**os.environ, **env})
    assert proc.returncode == 0, (argv, proc.stderr)
    return proc.stdout


def listing(dirs):
    return {str(d): sorted(p.name for p in d.iterdir()) for d in dirs if d.is_dir()}


@pytest.mark.parametrize("base", ["debian-3.11", "pyenv-3.13"])
def test_python_alone_installs_into_that_interpreters_own_environment(tmp_path, small_lock, small_wheels, base):
    interpreter = PYTHON if base == "debian-3.11" else pyenv_python(13)
    minor = base[-2:]
    venv = tmp_path / "venv"
    subprocess.run([interpreter, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = venv / "lib" / f"python3.{minor}" / "site-packages"
    # The base interpreter's own site-packages must not be touched.
    base_prefix = pathlib.Path(run([python, "-c", "import sys; print(sys.base_prefix)"]).strip())
    base_dirs = [base_prefix / "lib" / f"python3.{minor}" / "site-packages", pathlib.Path("/usr/lib/python3/dist-packages"),
                 pathlib.Path("/usr/local/lib/python3.11/dist-packages")]
    base_before = listing(base_dirs)

    report = install_small(small_lock, small_wheels, tmp_path / "cache", "--python", python)
    assert report["target"]["python"] == str(python)
    assert pathlib.Path(report["target"]["purelib"]) == site
    assert sorted(r["name"] for r in report["results"]) == sorted(n for n, _, _ in SMALL)
    assert (site / "six.py").is_file() and (site / f"__pycache__/six.cpython-3{minor}.pyc").is_file()
    assert (venv / "bin" / "tqdm").read_text().startswith(f"#!{python}\n")
    assert (venv / "bin" / "jsonpointer").read_text().startswith(f"#!{python}\n")  # a .data script
    assert "ok" in run([python, "-c", f"{SMALL_IMPORTS}; print('ok')"])
    assert run([venv / "bin" / "tqdm", "--version"]).strip() == "4.67.1"
    assert run([venv / "bin" / "jsonpointer", "--help"]).startswith("usage: jsonpointer")
    owners = {d["normalized_name"]: d["owner"] for d in
              json.loads(strata("--json", "list", "--python", python).stdout)["distributions"]}
    assert owners["six"] == report["owner"] == small_lock.parent.name.replace("_", "-")  # the lock's directory
    assert listing(base_dirs) == base_before

    again = install_small(small_lock, small_wheels, tmp_path / "cache", "--python", python)
    assert again["results"] == [] and {d["action"] for d in again["plan"]["decisions"]} == {"keep"}


@pytest.fixture(scope="module")
def wide_wheels(tmp_path_factory):
    plan = planned(WIDE, PYTHON, tmp_path_factory.mktemp("plan"))
    return download_wheels("wide-v1", [plan], PYTHON)


def test_prefix_is_the_scheme_re_rooted_like_pip_prefix(tmp_path, wide_wheels):
    venv = tmp_path / "venv"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    venv_before = relative_files(venv)
    ours, theirs = tmp_path / "strata-prefix", tmp_path / "pip-prefix"
    servers = Servers()
    try:
        index = serve_wheels(servers, wide_wheels)
        report = json.loads(strata("--json", "install", WIDE, "--prefix", ours, "--python", python, "--index-url",
                                   index, "--cache-dir", tmp_path / "cache").stdout)
    finally:
        servers.stop()
    assert report["ok"] is True and len(report["results"]) >= 30

    lock = tomllib.loads((WIDE / "pylock.toml").read_text())
    chosen = {(r["name"], r["version"]): r["wheel"] for r in report["results"]}
    lines = [f"{p['name']}=={p['version']} --hash=sha256:{w['hashes']['sha256']}"
             for p in lock["packages"] for w in p["wheels"] if chosen.get((p["name"], p["version"])) == w["name"]]
    assert len(lines) == len(chosen)
    (tmp_path / "req.txt").write_text("\n".join(lines) + "\n")
    subprocess.run([venv_python(), "-m", "pip", "--python", python, "install", "-q", "--disable-pip-version-check",
                    "--no-deps", "--require-hashes", "--no-compile", "--no-index", "--find-links", wide_wheels,
                    "--prefix", theirs, "-r", tmp_path / "req.txt"], check=True, timeout=600, env=pip_env())

    a = {k: v for k, v in relative_files(ours).items() if not k.startswith(".strata/")}
    b = relative_files(theirs)
    assert len(b) > 1500
    # Same relative layout: purelib, platlib and scripts all under DIR like pip's.
    assert sorted(set(a) ^ set(b)) == []
    assert {k.split("/")[0] for k in b} == {"bin", "lib"}
    site = pathlib.Path("lib/python3.11/site-packages")
    launchers = {f"bin/{n}" for n in launcher_names(theirs / site)}
    assert {"bin/black", "bin/flake8", "bin/numpy-config"} <= launchers
    assert {"bin/jsondiff", "bin/jsonpatch", "bin/jsonpointer"} <= set(b) - launchers
    # Same bytes but for installer metadata and launchers; .data scripts' #! are the same.
    differing = sorted(k for k in a if a[k] != b[k] and not k.endswith(PYC_VOLATILE) and k not in launchers)
    assert differing == []
    assert (ours / "bin" / "jsondiff").read_text().startswith(f"#!{python}\n")
    assert (ours / site / "numpy" / "__pycache__" / "__init__.cpython-311.pyc").is_file()
    assert relative_files(venv) == venv_before  # the interpreter's own environment is untouched

    env = {"PYTHONPATH": str(ours / site)}
    out = run([python, "-c", "import numpy, black, zope.interface, jaraco.text, yaml, rpds; print(numpy.__file__)"],
              **env)
    assert out.strip().startswith(str(ours / site))
    assert "26.10.1" in run([ours / "bin" / "black", "--version"], **env)
    assert "7.5.0" in run([ours / "bin" / "flake8", "--version"], **env)
    assert run([ours / "bin" / "jsondiff", "--help"], **env).startswith("usage: jsondiff")


@pytest.mark.parametrize("minor", [9, 13])
def test_strata_venv_then_install_for_another_python(tmp_path, small_lock, small_wheels, minor):
    base = pyenv_python(minor)
    env = tmp_path / "env"
    strata("venv", env, "--python", base)
    report = install_small(small_lock, small_wheels, tmp_path / "cache", "--env", env)
    assert report["target"]["version"].startswith(f"3.{minor}.")
    assert sorted(r["name"] for r in report["results"]) == sorted(n for n, _, _ in SMALL)
    site = env / "lib" / f"python3.{minor}" / "site-packages"
    assert (site / "click" / "__pycache__" / f"__init__.cpython-3{minor}.pyc").is_file()
    out = run([env / "bin" / "python", "-c", f"{SMALL_IMPORTS}, sys; print(sys.version_info[:2], sys.prefix, "
                                             "click.__file__)"]).split()
    assert out[:2] == ["(3,", f"{minor})"]
    assert out[2] == str(env) and out[3].startswith(str(site))
    assert run([env / "bin" / "tqdm", "--version"]).strip() == "4.67.1"
    assert run([env / "bin" / "jsonpointer", "--help"]).startswith("usage: jsonpointer")
    assert (env / "bin" / "jsonpointer").read_text().startswith(f"#!{env}/bin/python")


def test_system_site_packages_venv_sees_the_base_and_never_modifies_it(tmp_path, small_wheels):
    """A venv made with --system-site-packages from a copied pyenv CPython 3.9 whose own
    site-packages has six 1.16.0 and idna 3.10 (pip-installed): both are visible, so idna 3.10 is
    kept and six 1.17.0 is a conflict; with --allow-replace six 1.17.0 goes into the venv and
    shadows the base's, whose files stay as they were."""
    original = pyenv_python(9).parents[1]
    base = tmp_path / "base"
    stdlib = original / "lib" / "python3.9"
    shutil.copytree(original, base, symlinks=True,
                    ignore=lambda d, names: [n for n in names if pathlib.Path(d) == stdlib and
                                             (n == "test" or n.startswith("config-"))])
    base_python = base / "bin" / "python3.9"
    subprocess.run([base_python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--root-user-action=ignore",
                    "--no-deps", "--no-index", "--find-links", small_wheels, "six==1.16.0", "idna==3.10"],
                   check=True, timeout=300, env=pip_env())
    base_site = base / "lib" / "python3.9" / "site-packages"
    base_before = relative_files(base_site)
    venv = tmp_path / "venv"
    subprocess.run([base_python, "-m", "venv", "--without-pip", "--system-site-packages", venv], check=True)
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


def test_prefix_for_a_pyenv_313_venv_is_like_pip_prefix(tmp_path, small_lock, small_wheels):
    venv = tmp_path / "venv"
    subprocess.run([pyenv_python(13), "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    ours, theirs = tmp_path / "strata-prefix", tmp_path / "pip-prefix"
    install_small(small_lock, small_wheels, tmp_path / "cache", "--prefix", ours, "--python", python)
    subprocess.run([venv_python(), "-m", "pip", "--python", python, "install", "-q", "--disable-pip-version-check",
                    "--no-deps", "--no-compile", "--no-index", "--find-links", small_wheels, "--prefix", theirs,
                    *[f"{n}=={v}" for n, v, _ in SMALL]], check=True, timeout=300, env=pip_env())
    a = {k: v for k, v in relative_files(ours).items() if not k.startswith(".strata/")}
    b = relative_files(theirs)
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
