"""Builds run while the files download and beside each other, within --build-jobs (issue 10).

Observed through a loopback server (fault_server.py), not through timing: the locked wheel is
held back (/gate/) until a build opens its gate, so the install ends with the gate "opened" only
when that build ran while the download was still waiting; two directory builds each wait at
/meet/ for the other, so they "met" only when they ran at the same time. The build backend is a
small in-tree one (backend-path) that asks the server and writes a wheel."""

import hashlib
import json
import sys
import tarfile
import urllib.request

import pytest

from support import SERVER_LIFETIME, Servers, free_port, strata, write_wheel

PY = "/usr/bin/python3"
HERE = __import__("pathlib").Path(__file__).parent

BACKEND = '''import base64, hashlib, os, urllib.error, urllib.request, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, url = open(os.path.join(HERE, "build.cfg")).read().split()
    try:
        urllib.request.urlopen(url, timeout=120).read()
    except urllib.error.HTTPError:
        pass  # 504: nobody came; the server records it
    filename = f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": f"VALUE = {name!r}\\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    record = "".join(f"{path},{_hash(text)},{len(text)}\\n" for path, text in files.items()) + f"{info}/RECORD,,\\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
        z.writestr(f"{info}/RECORD", record)
    return filename


def _hash(text):
    digest = hashlib.sha256(text.encode()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
'''

PYPROJECT = '''[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
[project]
name = "{name}"
version = "1.0"
'''


def tree(root, name, url):
    """A source tree of `name` whose build requests `url` from the server."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(name=name))
    (root / "backend.py").write_text(BACKEND)
    (root / "build.cfg").write_text(f"{name} 1.0 {url}\n")
    return root


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(gate server, plain server, their files): two ports, so curl does not wait for the gated
    connection before it opens another to the same host (CURLOPT_PIPEWAIT on plain HTTP)."""
    files = tmp_path_factory.mktemp("served")
    servers = Servers()
    bases = []
    for _ in range(2):
        port = free_port()
        bases.append(servers.start(["env", "FAULT_GATE_SECONDS=20", "timeout", SERVER_LIFETIME, sys.executable,
                                    str(HERE / "fault_server.py"), str(port), str(files)], port))
    yield bases[0], bases[1], files
    servers.stop()


def events(base):
    with urllib.request.urlopen(f"{base}/events", timeout=10) as r:
        return json.loads(r.read())


def install(lock, tmp_path, *extra):
    proc = strata("install", lock, "--env", tmp_path / "env", "--python", PY, "--cache-dir", tmp_path / "cache",
                  "--json", *extra)
    return json.loads(proc.stdout)


def test_an_sdist_builds_while_a_wheel_still_downloads(server, tmp_path):
    base, plain, files = server
    wheel = files / "gated-1.0-py3-none-any.whl"
    write_wheel(wheel, "gated", {"gated/__init__.py": ""})
    src = tree(tmp_path / "src" / "opener-1.0", "opener", f"{base}/open/{wheel.name}")
    sdist = files / "opener-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        tar.add(src, arcname="opener-1.0")
    lock = tmp_path / "app"
    lock.mkdir()
    (lock / "pylock.toml").write_text(f'''lock-version = "1.0"
created-by = "test_builds_parallel"
[[packages]]
name = "gated"
version = "1.0"
wheels = [{{ name = "{wheel.name}", url = "{base}/gate/{wheel.name}", hashes = {{ sha256 = "{sha256(wheel)}" }} }}]
[[packages]]
name = "opener"
version = "1.0"
sdist = {{ name = "{sdist.name}", url = "{plain}/ok/{sdist.name}", hashes = {{ sha256 = "{sha256(sdist)}" }} }}
''')
    report = install(lock, tmp_path)
    results = {r["name"]: r for r in report["results"]}
    assert results["opener"]["origin"] == "build" and not results["opener"]["build"]["cached"]
    assert results["gated"]["origin"] == "download"
    # The build opened the gate while the wheel's download waited at it: without the overlap the
    # download times out at the gate first and the build runs after it.
    mine = [e for e in events(base) if wheel.name in e]
    assert mine == [f"opened {wheel.name}", f"gate {wheel.name}: opened"]


def meeting(base, tmp_path, group, seconds, *extra):
    lock = tmp_path / "app"
    lock.mkdir()
    body = 'lock-version = "1.0"\ncreated-by = "test_builds_parallel"\n'
    for name in ("left", "right"):
        tree(tmp_path / name, name, f"{base}/meet/{group}/2/{seconds}")
        body += f'[[packages]]\nname = "{name}"\nversion = "1.0"\ndirectory = {{ path = "../{name}" }}\n'
    (lock / "pylock.toml").write_text(body)
    report = install(lock, tmp_path, *extra)
    assert {r["name"] for r in report["results"] if r["origin"] == "build"} == {"left", "right"}
    return [e for e in events(base) if e.startswith(f"meet {group}:")]


def test_two_builds_run_at_once_within_build_jobs(server, tmp_path):
    assert meeting(server[0], tmp_path, "twojobs", 60, "--build-jobs", "2") == ["meet twojobs: met"] * 2


def test_build_jobs_one_runs_one_build_at_a_time(server, tmp_path):
    assert meeting(server[0], tmp_path, "onejob", 2, "--build-jobs", "1") == ["meet onejob: alone"] * 2
