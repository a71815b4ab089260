"""Unmanaged tooling survives `strata install`, from a pylock.toml and from a poetry.lock.

pip installs poetry with every version pinned by tests/fixtures/locks/poetry-tools/constraints.txt
(from local wheels: downloaded from PyPI once into WHEEL_CACHE/poetry-tools-v1, with every wheel
the four locks below choose) into a venv, once per module; each test starts from a byte-for-byte
copy of it (hard links) at the same path. strata then installs, from a pypiserver on 127.0.0.1:
- poetry-tools/pylock.toml (`pip lock` with the same constraints): requests, certifi, idna, urllib3,
  charset-normalizer, packaging, msgpack, tomlkit, more-itertools, jaraco.classes and
  backports.tarfile (dotted .dist-info names) at poetry's own versions, plus attrs and six;
- tooling-poetry2 (a Poetry 2 lock): seven of poetry's dependencies at the same versions, plus
  six and click.
The shared ones are kept, the new ones installed, not one of poetry's files changes, poetry runs,
pip check passes and `strata list` shows poetry unmanaged. poetry-tools/conflict/pylock.toml pins
tomlkit 0.13.2 (poetry has 0.15.2) and tooling-conflict-poetry2 packaging 24.1 (poetry has 26.3):
conflicts, exit 3, the environment unchanged byte for byte; with --allow-replace --dry-run the
packaging replacement reports the dependents it breaks (poetry among them).
"""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from support import Servers, download_wheels, pip_env, planned, serve_wheels, strata, venv_python

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
LOCKS = SOURCE / "tests" / "fixtures" / "locks"
FIXTURE = LOCKS / "poetry-tools"
CONSTRAINTS = FIXTURE / "constraints.txt"
PYLOCK = FIXTURE / "pylock.toml"
PYLOCK_CONFLICT = FIXTURE / "conflict" / "pylock.toml"
POETRY_LOCK = LOCKS / "tooling-poetry2"
POETRY_LOCK_CONFLICT = LOCKS / "tooling-conflict-poetry2"
PYTHON = "/usr/bin/python3"
SITE = "lib/python3.11/site-packages/"


def pins():
    lines = [line.split("==") for line in CONSTRAINTS.read_text().splitlines() if line and not line.startswith("#")]
    return {name.lower().replace("_", "-").replace(".", "-"): version for name, version in lines}


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory):
    """poetry's pinned tree and all four locks' wheels, from PyPI once."""
    scratch = tmp_path_factory.mktemp("plan")
    locks = [PYLOCK, PYLOCK_CONFLICT, POETRY_LOCK, POETRY_LOCK_CONFLICT]
    d = download_wheels("poetry-tools-v1", [planned(lock, PYTHON, scratch) for lock in locks], PYTHON)
    stamp = d / ".poetry-complete"
    if not stamp.exists():
        subprocess.run([PYTHON, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--only-binary=:all:",
                        "-d", d, "-c", CONSTRAINTS, "poetry"], check=True, timeout=600, env=pip_env())
        stamp.write_text("")
    return d


@pytest.fixture(scope="module")
def index(wheel_dir):
    servers = Servers()
    yield serve_wheels(servers, wheel_dir)
    servers.stop()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, wheel_dir):
    """A venv where pip (not strata) installed poetry and exactly the pinned dependencies, and a
    copy of it (its scripts name the venv's path, so tests use it only at that path)."""
    base = tmp_path_factory.mktemp("poetry")
    env = base / "env"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", env], check=True)
    subprocess.run([venv_python(), "-m", "pip", "--python", env / "bin" / "python", "install", "-q",
                    "--disable-pip-version-check", "--no-index", "--find-links", wheel_dir, "-c", CONSTRAINTS,
                    "poetry"], check=True, timeout=600, env=pip_env())
    shutil.copytree(env, base / "pristine", symlinks=True, copy_function=os.link)
    return env


@pytest.fixture
def poetry_env(pristine):
    """The pip-installed poetry venv, as pip left it: hard links to the pristine copy's files
    (strata replaces files by rename, and a test that changed one in place fails on its tree)."""
    shutil.rmtree(pristine)
    shutil.copytree(pristine.parent / "pristine", pristine, symlinks=True, copy_function=os.link)
    return pristine


def tree(env):
    """Every file and symlink under env (strata's ledger included), with its content hash or target."""
    out = {}
    for p in sorted(pathlib.Path(env).rglob("*")):
        if p.is_dir() and not p.is_symlink():
            continue
        out[str(p.relative_to(env))] = os.readlink(p) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def poetry_version(env):
    proc = subprocess.run([env / "bin" / "poetry", "--version", "--no-ansi"], capture_output=True, text=True,
                          timeout=120, cwd=env.parent,
                          env={**os.environ, "POETRY_CONFIG_DIR": str(env.parent / "poetry-config"),
                               "POETRY_CACHE_DIR": str(env.parent / "poetry-cache")})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def installed(env):
    doc = json.loads(strata("--json", "list", "--env", env).stdout)
    return {d["normalized_name"]: d for d in doc["distributions"]}


# lock, extra install arguments, the poetry dependencies it shares, the packages it adds (name:
# version), the owner strata records for them, files the new packages must add (under SITE).
INSTALLS = {
    "pylock": (PYLOCK, [],
               {"requests", "certifi", "idna", "urllib3", "charset-normalizer", "packaging", "msgpack", "tomlkit",
                "jaraco-classes", "backports-tarfile", "more-itertools"},  # pip wrote jaraco.classes-3.4.0.dist-info
               {"attrs": "25.3.0", "six": "1.17.0"},
               "poetry-tools",  # a pylock without a project: its directory's name
               ["six.py", "attrs/__init__.py", "attrs-25.3.0.dist-info/RECORD"]),
    "poetry.lock": (POETRY_LOCK, ["--python", PYTHON],
                    {"certifi", "charset-normalizer", "idna", "packaging", "platformdirs", "requests", "urllib3"},
                    {"six": "1.16.0", "click": "8.1.7"},
                    "tooling-app",  # the project of the lock's pyproject.toml
                    ["six.py", "six-1.16.0.dist-info/RECORD", "click/__init__.py", "click-8.1.7.dist-info/RECORD"]),
}


@pytest.mark.parametrize("case", INSTALLS)
def test_shared_dependencies_kept_new_ones_installed_poetry_untouched(tmp_path, poetry_env, index, case):
    lock, args, shared, new, owner, new_files = INSTALLS[case]
    env = poetry_env
    expected_poetry = f"Poetry (version {pins()['poetry']})"
    assert poetry_version(env) == expected_poetry
    before = tree(env)
    dists = installed(env)
    assert {n: dists[n]["version"] for n in shared} == {n: pins()[n] for n in shared}
    assert not set(new) & set(dists)

    install = ["--json", "install", lock, "--env", env, *args, "--index-url", index, "--cache-dir", tmp_path / "cache"]
    report = json.loads(strata(*install).stdout)
    assert report["ok"] is True
    decisions = {d["name"]: (d["action"], d["version"]) for d in report["plan"]["decisions"]}
    assert decisions == {**{n: ("keep", pins()[n]) for n in shared}, **{n: ("install", v) for n, v in new.items()}}
    assert {r["name"]: r["action"] for r in report["results"]} == {n: "install" for n in new}

    after = tree(env)
    assert sorted(p for p in before if after.get(p) != before[p]) == []  # nothing modified or removed
    added = sorted(set(after) - set(before))
    # Only strata's ledger and the new packages' files (and their pycs) appeared.
    prefixes = (".strata/", SITE + "__pycache__/six.") + tuple(SITE + n[:4] for n in new)
    stray = [p for p in added if not p.startswith(prefixes)]
    assert stray == []
    assert set(SITE + f for f in new_files) <= set(added)

    assert poetry_version(env) == expected_poetry
    check = subprocess.run([venv_python(), "-m", "pip", "--python", env / "bin" / "python", "check"],
                           capture_output=True, text=True, timeout=120, env=pip_env())
    assert check.returncode == 0, check.stdout + check.stderr

    dists = installed(env)
    assert (dists["poetry"]["owner"], dists["poetry"]["installer"]) == ("unmanaged", "pip")
    for name in shared | {"poetry-core", "cleo", "dulwich"}:
        assert dists[name]["owner"] == "unmanaged", name  # kept, never claimed
    for name in new:
        assert (dists[name]["owner"], dists[name]["installer"]) == (owner, "strata"), name

    # Once more: nothing to do, nothing touched.
    again = json.loads(strata(*install).stdout)
    assert again["results"] == []
    assert {d["action"] for d in again["plan"]["decisions"]} == {"keep"}
    assert tree(env) == after


def dependents_broken_by(env, name, version):
    """(name, version, requirement) of every installed distribution whose Requires-Dist on NAME
    excludes VERSION, by the packaging library (as pip check would see it)."""
    from email.parser import HeaderParser

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    broken = []
    for metadata in (env / SITE).glob("*.dist-info/METADATA"):
        headers = HeaderParser().parsestr(metadata.read_text())
        for text in headers.get_all("Requires-Dist") or []:
            req = Requirement(text)
            if canonicalize_name(req.name) != name:
                continue
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            if not req.specifier.contains(version, prereleases=True):
                broken.append((headers["Name"], headers["Version"], text))
    return sorted(broken)


def test_another_version_of_a_poetry_dependency_is_a_conflict_and_changes_nothing(tmp_path, poetry_env, index):
    env = poetry_env
    before = tree(env)
    cache = tmp_path / "cache"
    for lock, args, name, version in [(PYLOCK_CONFLICT, [], "tomlkit", "0.13.2"),
                                      (POETRY_LOCK_CONFLICT, ["--python", PYTHON], "packaging", "24.1")]:
        proc = strata("--json", "install", lock, "--env", env, *args, "--index-url", index, "--cache-dir", cache,
                      check=False)
        assert proc.returncode == 3, proc.stderr
        report = json.loads(proc.stdout)
        assert report["ok"] is False
        conflicts = [d for d in report["plan"]["decisions"] if d["action"] == "conflict"]
        assert [(d["name"], d["version"], d["installed_version"], d["installed_owner"], d["installer"])
                for d in conflicts] == [(name, version, pins()[name], "unmanaged", "pip")]
        assert name in proc.stderr and pins()[name] in proc.stderr
        assert report.get("results", []) == []
        assert tree(env) == before, lock  # byte for byte: no new package, no ledger
        assert not list(cache.rglob("*.whl")), lock  # reported before any download

    # --allow-replace: replacing packaging 26.3 by 24.1 breaks poetry, and the plan says so.
    proc = strata("--json", "install", POETRY_LOCK_CONFLICT, "--env", env, "--python", PYTHON, "--index-url", index,
                  "--cache-dir", cache, "--allow-replace", "--dry-run")
    report = json.loads(proc.stdout)
    decision = next(d for d in report["plan"]["decisions"] if d["name"] == "packaging")
    assert (decision["action"], decision["version"], decision["installed_version"]) == \
        ("replace", "24.1", pins()["packaging"])
    expected = dependents_broken_by(env, "packaging", "24.1")
    assert ("poetry", pins()["poetry"], "packaging (>=24.2)") in expected
    assert sorted((b["name"], b["version"], b["requirement"]) for b in decision["breaks"]) == expected
    assert "poetry" in proc.stderr
    assert tree(env) == before  # a dry run
    assert poetry_version(env) == f"Poetry (version {pins()['poetry']})"
