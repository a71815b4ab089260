"""Unmanaged tooling survives `strata install` of a pip-lock pylock.toml.

pip installs poetry with every version pinned by tests/fixtures/locks/poetry-tools/constraints.txt
(from local wheels: downloaded from PyPI once into WHEEL_CACHE/poetry-tools-v1). strata then
installs poetry-tools/pylock.toml (`pip lock` with the same constraints): requests, certifi, idna,
urllib3, charset-normalizer, packaging, msgpack, tomlkit, more-itertools, jaraco.classes and
backports.tarfile (dotted .dist-info names) at poetry's own versions, plus attrs and
six which poetry does not have, from a pypiserver on 127.0.0.1. The shared ones are kept, the new
ones installed, not one of poetry's files changes, poetry runs and `strata list` shows it
unmanaged. poetry-tools/conflict/pylock.toml pins tomlkit 0.13.2 (poetry has 0.15.2): a conflict,
exit 3, and the environment is unchanged byte for byte.
"""

import hashlib
import json
import os
import pathlib
import subprocess

import pytest

from support import WHEEL_CACHE, Servers, download_wheels, pip_env, planned, serve_wheels, strata, venv_python

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
FIXTURE = SOURCE / "tests" / "fixtures" / "locks" / "poetry-tools"
CONSTRAINTS = FIXTURE / "constraints.txt"
LOCK = FIXTURE / "pylock.toml"
CONFLICT_LOCK = FIXTURE / "conflict" / "pylock.toml"
PYTHON = "/usr/bin/python3"
SITE = "lib/python3.11/site-packages/"
SHARED = {"requests", "certifi", "idna", "urllib3", "charset-normalizer", "packaging", "msgpack", "tomlkit",
          "jaraco-classes", "backports-tarfile", "more-itertools"}  # pip wrote jaraco.classes-3.4.0.dist-info
NEW = {"attrs", "six"}


def pins():
    lines = [line.split("==") for line in CONSTRAINTS.read_text().splitlines() if line and not line.startswith("#")]
    return {name.lower().replace("_", "-").replace(".", "-"): version for name, version in lines}


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory):
    """poetry's pinned tree and both locks' wheels, from PyPI once."""
    scratch = tmp_path_factory.mktemp("plan")
    plans = [planned(LOCK, PYTHON, scratch), planned(CONFLICT_LOCK, PYTHON, scratch)]
    d = download_wheels("poetry-tools-v1", plans, PYTHON)
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


@pytest.fixture
def poetry_env(tmp_path, wheel_dir):
    """A venv where pip (not strata) installed poetry and exactly the pinned dependencies."""
    env = tmp_path / "env"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", env], check=True)
    subprocess.run([venv_python(), "-m", "pip", "--python", env / "bin" / "python", "install", "-q",
                    "--disable-pip-version-check", "--no-index", "--find-links", wheel_dir, "-c", CONSTRAINTS,
                    "poetry"], check=True, timeout=600, env=pip_env())
    return env


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


def test_shared_dependencies_kept_new_ones_installed_poetry_untouched(tmp_path, poetry_env, index):
    env = poetry_env
    expected_poetry = f"Poetry (version {pins()['poetry']})"
    assert poetry_version(env) == expected_poetry
    before = tree(env)
    dists = installed(env)
    assert {n: dists[n]["version"] for n in SHARED} == {n: pins()[n] for n in SHARED}
    assert not NEW & set(dists)

    report = json.loads(strata("--json", "install", LOCK, "--env", env, "--index-url", index,
                               "--cache-dir", tmp_path / "cache").stdout)
    assert report["ok"] is True
    decisions = {d["name"]: (d["action"], d["version"]) for d in report["plan"]["decisions"]}
    assert decisions == {**{n: ("keep", pins()[n]) for n in SHARED}, "attrs": ("install", "25.3.0"),
                         "six": ("install", "1.17.0")}
    assert sorted(r["name"] for r in report["results"]) == sorted(NEW)

    after = tree(env)
    assert sorted(p for p in before if after.get(p) != before[p]) == []  # nothing modified or removed
    added = sorted(set(after) - set(before))
    stray = [p for p in added if not p.startswith((".strata/", SITE + "attr", SITE + "six", SITE + "__pycache__/six."))]
    assert stray == []
    assert SITE + "six.py" in added and SITE + "attrs/__init__.py" in added
    assert SITE + "attrs-25.3.0.dist-info/RECORD" in added

    assert poetry_version(env) == expected_poetry
    check = subprocess.run([venv_python(), "-m", "pip", "--python", env / "bin" / "python", "check"],
                           capture_output=True, text=True, timeout=120, env=pip_env())
    assert check.returncode == 0, check.stdout + check.stderr

    dists = installed(env)
    assert (dists["poetry"]["owner"], dists["poetry"]["installer"]) == ("unmanaged", "pip")
    for name in SHARED | {"poetry-core", "cleo"}:
        assert dists[name]["owner"] == "unmanaged", name
    owner = "poetry-tools"  # a pylock without a project: its directory's name
    for name in NEW:
        assert (dists[name]["owner"], dists[name]["installer"]) == (owner, "strata"), name

    # Once more: nothing to do, nothing touched.
    again = json.loads(strata("--json", "install", LOCK, "--env", env, "--index-url", index,
                              "--cache-dir", tmp_path / "cache").stdout)
    assert again["results"] == []
    assert {d["action"] for d in again["plan"]["decisions"]} == {"keep"}
    assert tree(env) == after


def test_another_version_of_a_poetry_dependency_is_a_conflict_and_changes_nothing(tmp_path, poetry_env, index):
    env = poetry_env
    before = tree(env)
    proc = strata("--json", "install", CONFLICT_LOCK, "--env", env, "--index-url", index,
                  "--cache-dir", tmp_path / "cache", check=False)
    assert proc.returncode == 3, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is False
    conflicts = [d for d in report["plan"]["decisions"] if d["action"] == "conflict"]
    assert [(d["name"], d["version"], d["installed_version"], d["installed_owner"]) for d in conflicts] == \
        [("tomlkit", "0.13.2", pins()["tomlkit"], "unmanaged")]
    assert "tomlkit" in proc.stderr and pins()["tomlkit"] in proc.stderr
    assert report.get("results", []) == []
    assert tree(env) == before  # byte for byte: no new package, no ledger
    assert not list((tmp_path / "cache").rglob("*.whl"))  # reported before any download
    assert poetry_version(env) == f"Poetry (version {pins()['poetry']})"
