"""One hand-written pylock.toml mixing every kind of source strata installs, in one run: a wheel
and an sdist from PyPI (pinned by hash), a git dependency from a local bare repository (file://),
a git dependency served by `git daemon` on 127.0.0.1 (git://), a path dependency and a url archive.
A branch moved on the daemon is an error before anything changes. And `--find-links` wheels for
packages the lock has only as source: taken when name and version match (the wheel's hash
recorded, `locked` false in --json), ignored (the package built) when the version differs."""

import hashlib
import json
import pathlib
import subprocess

import pytest

from support import SERVER_LIFETIME, Servers, free_port, pip_env, source_project, strata

PY = "/usr/bin/python3"
SIX = ("six-1.17.0-py2.py3-none-any.whl",
       "https://files.pythonhosted.org/packages/b7/ce/149a00dd41f10bc29e5921b496af8b574d8413afcd5e30dfa0ed46c2cc5e/"
       "six-1.17.0-py2.py3-none-any.whl", "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274")
DOCOPT = ("docopt-0.6.2.tar.gz",
          "https://files.pythonhosted.org/packages/a2/55/8f8cab2afd404cf578136ef2cc5dfb50baa1761b68c9da1fb1e4eed343c9/"
          "docopt-0.6.2.tar.gz", "49b3a825280bd66b3aa83585ef59c4a8c82f2c8a522dbe754a8bc8d08c85c491")


def project(root, name, version="1.0"):
    return source_project(root, name, version)


def git(*args, cwd):
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd, check=True,
                   capture_output=True)


def repo(tmp_path, name):
    """A one-commit repository of project `name`, cloned bare to <tmp>/repos/<name>.git; returns
    (work tree, commit)."""
    work = project(tmp_path / f"{name}-work", name)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "one", cwd=work)
    (tmp_path / "repos").mkdir(exist_ok=True)
    git("clone", "-q", "--bare", str(work), str(tmp_path / "repos" / f"{name}.git"), cwd=tmp_path)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True,
                            check=True).stdout.strip()
    return work, commit


@pytest.fixture()
def daemon(tmp_path):
    """`git daemon` serving <tmp>/repos on 127.0.0.1, stopped by PID (and by `timeout` at the latest)."""
    servers = Servers()
    port = free_port()
    root = tmp_path / "repos"
    root.mkdir(exist_ok=True)
    servers.start(["timeout", SERVER_LIFETIME, "git", "daemon", "--reuseaddr", "--listen=127.0.0.1",
                   f"--port={port}", f"--base-path={root}", "--export-all", str(root)], port)
    yield f"git://127.0.0.1:{port}"
    servers.stop()


@pytest.fixture()
def sources(tmp_path, daemon):
    s = {"root": tmp_path, "daemon": daemon}
    s["path"] = project(tmp_path / "pathdep", "pathdep")
    s["git_work"], s["git_commit"] = repo(tmp_path, "gitdep")
    s["daemon_work"], s["daemon_commit"] = repo(tmp_path, "daemondep")
    arch = project(tmp_path / "archdep-src" / "archdep-1.0", "archdep")
    s["archive"] = tmp_path / "archdep-1.0.tar.gz"
    subprocess.run(["tar", "-czf", s["archive"], "-C", arch.parent, "archdep-1.0"], check=True)
    s["archive_sha"] = hashlib.sha256(s["archive"].read_bytes()).hexdigest()
    return s


def write_lock(s):
    lock = s["root"] / "app"
    lock.mkdir(exist_ok=True)
    (lock / "pylock.toml").write_text(f'''lock-version = "1.0"
created-by = "test_builds_mixed"
[[packages]]
name = "six"
version = "1.17.0"
wheels = [{{ name = "{SIX[0]}", url = "{SIX[1]}", hashes = {{ sha256 = "{SIX[2]}" }} }}]
[[packages]]
name = "docopt"
version = "0.6.2"
sdist = {{ name = "{DOCOPT[0]}", url = "{DOCOPT[1]}", hashes = {{ sha256 = "{DOCOPT[2]}" }} }}
[[packages]]
name = "pathdep"
version = "1.0"
directory = {{ path = "../pathdep" }}
[[packages]]
name = "gitdep"
version = "1.0"
vcs = {{ type = "git", url = "file://{s["root"]}/repos/gitdep.git", requested-revision = "main", commit-id = "{s["git_commit"]}" }}
[[packages]]
name = "daemondep"
version = "1.0"
vcs = {{ type = "git", url = "{s["daemon"]}/daemondep.git", requested-revision = "main", commit-id = "{s["daemon_commit"]}" }}
[[packages]]
name = "archdep"
version = "1.0"
archive = {{ url = "file://{s["archive"]}", hashes = {{ sha256 = "{s["archive_sha"]}" }} }}
''')
    return lock


def install(lock, env, cache, *extra, check=True):
    proc = strata("install", lock, "--env", env, "--python", PY, "--cache-dir", cache, "--json", *extra,
                  check=check)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip() else None)


def installed(env):
    return sorted(p.name for p in pathlib.Path(env).glob("lib/python3*/site-packages/*.dist-info"))


def direct_url(env, name):
    """The distribution's direct_url.json (PEP 610), None when it has none."""
    found = [p for p in pathlib.Path(env).glob("lib/python3*/site-packages/*.dist-info")
             if p.name.split("-")[0].lower() == name]
    assert len(found) == 1, (name, found)
    file = found[0] / "direct_url.json"
    return json.loads(file.read_text()) if file.exists() else None


def test_wheels_sdist_git_daemon_path_and_archive_in_one_run(sources, tmp_path):
    lock = write_lock(sources)
    env, cache = tmp_path / "env", tmp_path / "cache"
    _, report = install(lock, env, cache)
    results = {r["name"]: r for r in report["results"]}
    assert set(results) == {"six", "docopt", "pathdep", "gitdep", "daemondep", "archdep"}
    assert results["six"]["origin"] == "download" and results["six"]["sha256"] == SIX[2]
    froms = {n: r["build"]["from"] for n, r in results.items() if r["origin"] == "build"}
    assert froms == {"docopt": "sdist", "pathdep": "directory", "gitdep": "git", "daemondep": "git",
                     "archdep": "archive"}
    assert results["daemondep"]["build"]["commit"] == sources["daemon_commit"]
    assert results["docopt"]["build"]["source"] == f"sha256:{DOCOPT[2]}"
    out = subprocess.run([env / "bin" / "python", "-c",
                          "import six, docopt, pathdep, gitdep, daemondep, archdep; print(daemondep.VALUE)"],
                         check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "daemondep 1.0"
    # PEP 610: what came from a direct reference says so, as pip writes it; index packages do not.
    direct = {n: direct_url(env, n) for n in results}
    assert direct["six"] is None and direct["docopt"] is None
    assert direct["pathdep"] == {"url": (tmp_path / "pathdep").as_uri(), "dir_info": {}}
    assert direct["gitdep"] == {"url": f"file://{tmp_path}/repos/gitdep.git",
                                "vcs_info": {"vcs": "git", "commit_id": sources["git_commit"],
                                             "requested_revision": "main"}}
    assert direct["daemondep"]["vcs_info"]["commit_id"] == sources["daemon_commit"]
    assert direct["archdep"] == {"url": sources["archive"].as_uri(),
                                 "archive_info": {"hash": f"sha256={sources['archive_sha']}",
                                                  "hashes": {"sha256": sources["archive_sha"]}}}

    # The branch moves on the daemon's repository: a fresh install is refused before anything is
    # installed, and the first environment is untouched by a re-run that would rebuild nothing.
    (sources["daemon_work"] / "README").write_text("moved\n")
    git("add", "-A", cwd=sources["daemon_work"])
    git("commit", "-qm", "two", cwd=sources["daemon_work"])
    git("push", "-q", str(tmp_path / "repos" / "daemondep.git"), "main", cwd=sources["daemon_work"])
    fresh = tmp_path / "fresh"
    proc, _ = install(lock, fresh, cache, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "daemondep 1.0" in proc.stderr and "now points at" in proc.stderr
    assert installed(fresh) == []


def test_find_links_wheel_for_a_source_only_package(sources, tmp_path):
    lock = write_lock(sources)
    links = tmp_path / "links"
    other = project(tmp_path / "gitdep-2", "gitdep", version="2.0")
    for src in (sources["path"], sources["archive"], other):
        subprocess.run([PY, "-m", "pip", "wheel", "-q", "--no-deps", "-w", links, src], check=True,
                       env=pip_env(), capture_output=True)
    wheels = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in links.iterdir()}
    assert set(wheels) == {"pathdep-1.0-py2.py3-none-any.whl", "archdep-1.0-py2.py3-none-any.whl",
                           "gitdep-2.0-py2.py3-none-any.whl"}
    env, cache = tmp_path / "env", tmp_path / "cache"
    proc, report = install(lock, env, cache, "--find-links", links)
    results = {r["name"]: r for r in report["results"]}
    for name in ("pathdep", "archdep"):
        wheel = f"{name}-1.0-py2.py3-none-any.whl"
        assert results[name]["origin"] == "find-links", results[name]
        assert results[name]["locked"] is False
        assert results[name]["wheel"] == wheel and results[name]["sha256"] == wheels[wheel]
        assert "build" not in results[name]
        assert f"using {wheel} from --find-links (not a locked file: its sha256 {wheels[wheel]} is recorded)" in proc.stderr
    assert {b["name"] for b in report["builds"]} == {"docopt", "gitdep", "daemondep"}
    # The wheel's version differs from the lock's: not taken, the locked source is built.
    assert results["gitdep"]["origin"] == "build" and results["gitdep"]["version"] == "1.0"
    state = {}
    for owner_file in (env / ".strata" / "owners").glob("*.json"):
        state.update(json.loads(owner_file.read_text())["distributions"])
    assert state["archdep"]["sha256"] == wheels["archdep-1.0-py2.py3-none-any.whl"]
    assert "built_from" not in state["archdep"] or not state["archdep"]["built_from"]
