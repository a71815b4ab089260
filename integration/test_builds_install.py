"""strata install of packages the lock has only as source: a path dependency, a git dependency
served from a local bare repository (file://), a url archive (a real sdist tarball, file://) and a
failing build, in a hand-written pylock.toml. Installed files against pip's for the same source
(`pip install --no-deps --no-binary :all:`), a second install builds nothing, and every failure
(moved git ref, corrupted archive, failing build) leaves the environment as it was."""

import hashlib
import json
import pathlib
import subprocess
import tarfile

import pytest

from support import FLIT_BUILD_SYSTEM as FLIT
from support import pip_env, relative_files, source_project, strata

PY = "/usr/bin/python3"


def project(root, name, version="1.0", extra=""):
    return source_project(root, name, version, extra=extra)


def git(*args, cwd):
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture()
def sources(tmp_path):
    s = {"root": tmp_path}
    s["path"] = project(tmp_path / "pathdep", "pathdep")
    work = project(tmp_path / "gitwork", "gitdep")
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "one", cwd=work)
    git("clone", "-q", "--bare", str(work), str(tmp_path / "repo.git"), cwd=tmp_path)
    s["git_work"] = work
    s["commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True,
                                 check=True).stdout.strip()
    arch = project(tmp_path / "archdep-src" / "archdep-1.0", "archdep")
    s["archive"] = tmp_path / "archdep-1.0.tar.gz"
    with tarfile.open(s["archive"], "w:gz") as tar:
        tar.add(arch, arcname="archdep-1.0")
    s["archive_sha"] = hashlib.sha256(s["archive"].read_bytes()).hexdigest()
    return s


def write_lock(s, archive_sha=None, extra=""):
    lock = s["root"] / "app"
    lock.mkdir(exist_ok=True)
    (lock / "pylock.toml").write_text(f'''lock-version = "1.0"
created-by = "test_builds_install"
[[packages]]
name = "pathdep"
version = "1.0"
directory = {{ path = "../pathdep" }}
[[packages]]
name = "gitdep"
version = "1.0"
vcs = {{ type = "git", url = "file://{s["root"]}/repo.git", requested-revision = "main", commit-id = "{s["commit"]}" }}
[[packages]]
name = "archdep"
version = "1.0"
archive = {{ url = "file://{s["archive"]}", hashes = {{ sha256 = "{archive_sha or s["archive_sha"]}" }} }}
{extra}''')
    return lock


def install(lock, env, cache, *extra, check=True):
    proc = strata("install", lock, "--env", env, "--cache-dir", cache, "--json", *extra, check=check)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip() else None)


def site(env):
    return next(pathlib.Path(env).glob("lib/python3*/site-packages"))


def env_files(env):
    return {k: v for k, v in relative_files(env).items() if not k.startswith(".strata")}


def comparable(site_dir):
    # INSTALLER names the installer, RECORD lists it and pip's direct_url.json; the rest must match.
    return {k: v for k, v in relative_files(site_dir).items()
            if not k.endswith(("/INSTALLER", "/RECORD", "/direct_url.json"))
            and k.startswith(("pathdep", "gitdep", "archdep"))}


def test_path_git_and_url_archive_match_pip_and_a_second_install_builds_nothing(sources, tmp_path):
    lock = write_lock(sources)
    env, cache = tmp_path / "env", tmp_path / "cache"
    _, report = install(lock, env, cache)
    results = {r["name"]: r for r in report["results"]}
    assert set(results) == {"pathdep", "gitdep", "archdep"}
    assert {r["origin"] for r in results.values()} == {"build"}
    assert results["gitdep"]["build"]["source"] == f"git:{sources['commit']}"
    assert results["gitdep"]["build"]["commit"] == sources["commit"]
    assert results["archdep"]["build"]["source"] == f"sha256:{sources['archive_sha']}"
    assert results["pathdep"]["build"]["source"].startswith("dir:")
    for r in results.values():
        assert any(req.startswith("flit-core==") for req in r["build"]["build_requirements"]), r
    # One state file per owner (<env>/.strata/owners/<owner>.json).
    state = {}
    for owner_file in (env / ".strata" / "owners").glob("*.json"):
        state.update(json.loads(owner_file.read_text())["distributions"])
    assert state["gitdep"]["built_from"] == f"git:{sources['commit']}"
    assert any(req.startswith("flit-core==") for req in state["archdep"]["build_requirements"])

    # pip, for the same three sources.
    pip_venv = tmp_path / "pipenv"
    subprocess.run([PY, "-m", "venv", pip_venv], check=True)
    subprocess.run([pip_venv / "bin" / "pip", "install", "-q", "--no-deps", "--no-binary", ":all:",
                    sources["path"], f"git+file://{sources['root']}/repo.git@{sources['commit']}", sources["archive"]],
                   check=True, env=pip_env(), capture_output=True)
    ours, theirs = comparable(site(env)), comparable(site(pip_venv))
    assert ours == theirs

    # A second install of the same lock builds nothing and changes nothing.
    before = env_files(env)
    _, again = install(lock, env, cache)
    assert {d["action"] for d in again["plan"]["decisions"]} == {"keep"}
    assert env_files(env) == before
    # A new environment from the same cache finds every wheel built.
    _, cached = install(lock, tmp_path / "env2", cache)
    assert all(r["build"]["cached"] for r in cached["results"]), cached["results"]


def test_moved_git_ref_and_corrupted_archive_change_nothing(sources, tmp_path):
    """A moved ref is refused whether the package is to be built, its wheel is cached or it is
    installed already; a wrong archive hash too; neither changes anything."""
    env, cache = tmp_path / "env", tmp_path / "cache"
    install(write_lock(sources), env, cache)
    before = env_files(env)
    # The locked branch moves on: building the git source (a fresh environment) is refused.
    (sources["git_work"] / "README").write_text("moved\n")
    git("add", "-A", cwd=sources["git_work"])
    git("commit", "-qm", "two", cwd=sources["git_work"])
    git("push", "-q", str(sources["root"] / "repo.git"), "main", cwd=sources["git_work"])
    # Its wheel is in the built-wheel cache: a fresh environment is refused all the same, and made not at all.
    proc, _ = install(write_lock(sources), tmp_path / "fresh", cache, check=False)
    assert proc.returncode == 1
    assert "gitdep 1.0" in proc.stderr and "now points at" in proc.stderr
    assert not (tmp_path / "fresh").exists()
    # Installed already (it would be kept): refused too, the environment as it was.
    proc, _ = install(write_lock(sources), env, cache, check=False)
    assert proc.returncode == 1
    assert "gitdep 1.0" in proc.stderr and "now points at" in proc.stderr
    assert env_files(env) == before
    git("push", "-qf", str(sources["root"] / "repo.git"), f"{sources['commit']}:main", cwd=sources["git_work"])
    # A changed path dependency and a wrong archive hash: an error before anything is committed.
    (sources["path"] / "pathdep" / "__init__.py").write_text('VALUE = "changed"\n')
    proc, _ = install(write_lock(sources, archive_sha="0" * 64), env, cache, check=False)
    assert proc.returncode == 1
    assert "archdep-1.0.tar.gz" in proc.stderr
    assert env_files(env) == before


def test_failing_build_leaves_the_environment_as_it_was(sources, tmp_path):
    bad = tmp_path / "baddep"
    bad.mkdir()
    (bad / "setup.py").write_text("raise SystemExit('this build fails on purpose')\n")
    extra = '[[packages]]\nname = "baddep"\nversion = "1.0"\ndirectory = { path = "../baddep" }\n'
    env, cache = tmp_path / "env", tmp_path / "cache"
    install(write_lock(sources), env, cache)
    (sources["path"] / "pathdep" / "__init__.py").write_text('VALUE = "changed"\n')
    before = env_files(env)
    proc, _ = install(write_lock(sources, extra=extra), env, cache, check=False)
    assert proc.returncode == 1
    assert "baddep" in proc.stderr and "this build fails on purpose" in proc.stderr
    assert env_files(env) == before


def test_no_build_lists_what_would_be_built_and_dry_run_changes_nothing(sources, tmp_path):
    lock = write_lock(sources)
    env, cache = tmp_path / "env", tmp_path / "cache"
    proc, report = install(lock, env, cache, "--no-build", check=False)
    assert proc.returncode == 3
    assert {b["name"] for b in report["builds"]} == {"pathdep", "gitdep", "archdep"}
    assert any("--no-build" in p and "gitdep 1.0 (git)" in p for p in report["problems"])
    proc, report = install(lock, env, cache, "--dry-run")
    assert {b["from"] for b in report["builds"]} == {"directory", "git", "archive"}
    assert not env.exists()
    proc, report = install(lock, env, cache, "--only-binary", "gitdep", check=False)
    assert proc.returncode == 3
    assert any("gitdep 1.0: --only-binary" in p for p in report["problems"])


def test_the_project_itself_is_left_out_unless_asked(sources, tmp_path):
    lock = write_lock(sources)
    project(lock / "src-app", "app")  # not used: the project is the lock's directory
    (lock / "pyproject.toml").write_text(FLIT + '[project]\nname = "app"\nversion = "0.1"\ndescription = "d"\n')
    (lock / "app").mkdir()
    (lock / "app" / "__init__.py").write_text("")
    text = (lock / "pylock.toml").read_text()
    (lock / "pylock.toml").write_text(text + '[[packages]]\nname = "app"\ndirectory = { path = ".", editable = true }\n')
    env, cache = tmp_path / "env", tmp_path / "cache"
    proc, report = install(lock, env, cache)
    assert "app: the project itself, not installed; --install-project to build and install it" in proc.stderr
    assert "app" not in {r["name"] for r in report["results"]}
    proc, report = install(lock, env, cache, "--install-project")
    app = next(r for r in report["results"] if r["name"] == "app")
    assert app["version"] == "0.1" and app["build"]["editable_requested"] and app["build"]["editable"]
    assert app["build"]["source"].startswith("editable:")
