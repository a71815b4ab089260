"""Unmanaged tooling survives `strata install`: pip installs poetry 2.5.1 (every dependency pinned)
into a venv; strata then installs a lock (tests/fixtures/locks/tooling-poetry2) that shares seven
of poetry's dependencies at the same versions and adds six and click. The shared ones are kept,
the new ones installed, not one of poetry's files changes, poetry still runs, and `strata list`
shows poetry unmanaged. A second lock (tooling-conflict-poetry2) pins packaging 24.1 instead of
poetry's 26.3: a conflict, exit 3, environment unchanged. Wheels come from PyPI once (cached) and
are served by a pypiserver on 127.0.0.1."""

import hashlib
import json
import os
import pathlib
import subprocess

import pytest

from support import WHEEL_CACHE, Servers, pip_env, serve_wheels, strata, venv_python

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
LOCKS = SOURCE / "tests" / "fixtures" / "locks"
LOCK = LOCKS / "tooling-poetry2"
CONFLICT_LOCK = LOCKS / "tooling-conflict-poetry2"
PYTHON = "/usr/bin/python3"

# poetry 2.5.1 and its whole dependency tree on CPython 3.11 (as `pip freeze` showed it), so pip's
# install is the same every run.
POETRY_PINS = """
anyio==4.16.0 backports.tarfile==1.2.0 backports.zstd==1.8.0 build==1.6.1 CacheControl==0.14.4
certifi==2026.10.19.post1 cffi==2.1.1 charset-normalizer==3.5.2 cleo==2.1.0 crashtest==0.4.1
cryptography==50.0.2 distlib==0.4.4 dulwich==1.2.21 fastjsonschema==2.22.3 filelock==4.2.12
findpython==0.8.0 h11==0.16.0 httpcore2==2.16.2 httpx2==2.16.2 idna==3.20 importlib_metadata==10.2.0
installer==1.1.0 jaraco.classes==3.4.0 jaraco.context==6.1.2 jaraco.functools==4.6.0 jeepney==0.9.0
keyring==25.7.0 lazy-importer==0.1.0 more-itertools==11.2.1 msgpack==1.2.4 packaging==26.3
pbs-installer==2026.10.25 pkginfo==1.13.3 platformdirs==4.14.8 poetry==2.5.1 poetry-core==2.5.0
pycparser==3.12 pyproject_hooks==1.3.3 python-discovery==1.9.6 RapidFuzz==3.14.6 requests==2.34.2
requests-toolbelt==1.0.0 SecretStorage==3.5.0 shellingham==1.5.4 tomlkit==0.15.2
trove-classifiers==2026.9.21.13 truststore==0.10.5 typing_extensions==4.16.0 urllib3==2.8.0
virtualenv==21.15.11 zipp==4.1.2
""".split()
SHARED = {"certifi", "charset-normalizer", "idna", "packaging", "platformdirs", "requests", "urllib3"}
NEW = {"six", "click"}


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory):
    """poetry's pinned tree plus the locks' other wheels, downloaded from PyPI once."""
    d = WHEEL_CACHE / "poetry-tooling-v1"
    d.mkdir(parents=True, exist_ok=True)
    stamp = d / ".complete"
    if not stamp.exists():
        constraints = tmp_path_factory.mktemp("pins") / "constraints.txt"
        constraints.write_text("\n".join(POETRY_PINS) + "\n")
        download = [PYTHON, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--only-binary=:all:",
                    "-d", str(d)]
        subprocess.run(download + ["-c", str(constraints), "poetry==2.5.1", "six==1.16.0", "click==8.1.7"],
                       check=True, timeout=600, env=pip_env())
        subprocess.run(download + ["--no-deps", "packaging==24.1"], check=True, timeout=600, env=pip_env())
        stamp.write_text("")
    return d


@pytest.fixture(scope="module")
def index(wheel_dir):
    servers = Servers()
    yield serve_wheels(servers, wheel_dir)
    servers.stop()


@pytest.fixture
def poetry_env(tmp_path, wheel_dir):
    """A venv where pip (not strata) installed poetry and its pinned dependencies."""
    env = tmp_path / "env"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", env], check=True)
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(POETRY_PINS) + "\n")
    subprocess.run([venv_python(), "-m", "pip", "--python", env / "bin" / "python", "install", "-q",
                    "--disable-pip-version-check", "--no-index", "--find-links", wheel_dir, "-c", constraints,
                    "poetry==2.5.1"], check=True, timeout=600, env=pip_env())
    return env


def tree(env):
    """Every file and symlink of the environment but strata's state, with its content hash."""
    out = {}
    for p in sorted(pathlib.Path(env).rglob("*")):
        rel = p.relative_to(env)
        if rel.parts[0] == ".strata" or (p.is_dir() and not p.is_symlink()):
            continue
        out[str(rel)] = os.readlink(p) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def poetry_version(env):
    proc = subprocess.run([env / "bin" / "poetry", "--version", "--no-ansi"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "POETRY_CONFIG_DIR": str(env.parent / "poetry-config")})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def listing(env):
    doc = json.loads(strata("--json", "list", "--env", env).stdout)
    return {d["normalized_name"]: d for d in doc["distributions"]}


def test_shared_deps_kept_new_ones_installed_poetry_untouched(tmp_path, poetry_env, index):
    env = poetry_env
    assert poetry_version(env) == "Poetry (version 2.5.1)"
    before = tree(env)
    report = json.loads(strata("--json", "install", LOCK, "--env", env, "--python", PYTHON, "--index-url", index,
                               "--cache-dir", tmp_path / "cache").stdout)
    assert report["ok"] is True
    actions = {d["name"]: d["action"] for d in report["plan"]["decisions"]}
    assert actions == {**{n: "keep" for n in SHARED}, **{n: "install" for n in NEW}}
    assert {r["name"]: r["action"] for r in report["results"]} == {n: "install" for n in NEW}

    after = tree(env)
    changed = sorted(p for p in before if after.get(p) != before[p])
    assert changed == []  # nothing pip installed was modified or removed
    added = sorted(set(after) - set(before))
    site = "lib/python3.11/site-packages/"
    assert {p[len(site):].split("/")[0] for p in added if p.startswith(site)} >= \
        {"six.py", "six-1.16.0.dist-info", "click", "click-8.1.7.dist-info"}
    # Only the new packages' files (and their pycs) appeared.
    stray = [p for p in added if not p.startswith(site) or not p[len(site):].startswith(
        ("six", "click", "__pycache__/six."))]
    assert stray == []

    assert poetry_version(env) == "Poetry (version 2.5.1)"
    dists = listing(env)
    owner = "tooling-app"  # the project of LOCK's pyproject.toml
    assert dists["poetry"]["owner"] == "unmanaged"
    assert dists["poetry"]["installer"] == "pip"
    for name in SHARED | {"poetry-core", "cleo", "dulwich"}:
        assert dists[name]["owner"] == "unmanaged", name  # kept, never claimed
    for name in NEW:
        assert dists[name]["owner"] == owner, name
        assert dists[name]["installer"] == "strata"

    again = json.loads(strata("--json", "install", LOCK, "--env", env, "--python", PYTHON, "--index-url", index,
                              "--cache-dir", tmp_path / "cache").stdout)
    assert again["results"] == []
    assert tree(env) == after


def test_lock_with_another_version_of_a_poetry_dependency_is_a_conflict(tmp_path, poetry_env, index):
    env = poetry_env
    before = tree(env)
    proc = strata("--json", "install", CONFLICT_LOCK, "--env", env, "--python", PYTHON, "--index-url", index,
                  "--cache-dir", tmp_path / "cache", check=False)
    assert proc.returncode == 3, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is False
    conflicts = [d for d in report["plan"]["decisions"] if d["action"] == "conflict"]
    assert [(d["name"], d["version"]) for d in conflicts] == [("packaging", "24.1")]
    assert (conflicts[0]["installed_version"], conflicts[0]["installed_owner"], conflicts[0]["installer"]) == \
        ("26.3", "unmanaged", "pip")
    assert "packaging" in proc.stderr and "26.3" in proc.stderr
    assert tree(env) == before
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.whl"))
    assert poetry_version(env) == "Poetry (version 2.5.1)"


def dependents_broken_by(env, name, version):
    """(name, version, requirement) of every installed distribution whose Requires-Dist on NAME
    excludes VERSION, by the packaging library (as pip check would see it)."""
    from email.parser import HeaderParser

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    broken = []
    for metadata in (env / "lib/python3.11/site-packages").glob("*.dist-info/METADATA"):
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


def test_allow_replace_reports_that_replacing_packaging_breaks_poetry(tmp_path, poetry_env, index):
    env = poetry_env
    before = tree(env)
    proc = strata("--json", "install", CONFLICT_LOCK, "--env", env, "--python", PYTHON, "--index-url", index,
                  "--cache-dir", tmp_path / "cache", "--allow-replace", "--dry-run")
    report = json.loads(proc.stdout)
    decision = next(d for d in report["plan"]["decisions"] if d["name"] == "packaging")
    assert (decision["action"], decision["version"], decision["installed_version"]) == ("replace", "24.1", "26.3")
    expected = dependents_broken_by(env, "packaging", "24.1")
    assert ("poetry", "2.5.1", "packaging (>=24.2)") in expected
    assert sorted((b["name"], b["version"], b["requirement"]) for b in decision["breaks"]) == expected
    assert "poetry" in proc.stderr
    assert tree(env) == before  # a dry run
