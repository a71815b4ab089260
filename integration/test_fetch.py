"""strata fetch against real servers on 127.0.0.1: pypiserver (open and htpasswd-protected), a
static PEP 503 tree served by http.server, and a fault-injecting server (fault_server.py).

The wheels are real ones downloaded from PyPI once by `pip download --no-deps` and kept in a
stable cache directory (STRATA_TEST_WHEELS, default ~/.cache/strata-test-wheels/fetch-v1)."""

import hashlib
import html
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import types
import urllib.request

import pytest

from support import SERVER_LIFETIME, free_port, pypiserver_argv, venv_python, wait_for_port

STRATA = os.environ.get("STRATA_BIN", "strata")
HERE = pathlib.Path(__file__).resolve().parent
TARGET_PYTHON = "/usr/bin/python3"  # Debian's CPython 3.11: the wheels below are for cp311 x86_64

# Real wheels for a cp311 manylinux x86_64 target (pinned so that hashes never move).
WHEELS = """
requests==2.32.3 urllib3==2.2.3 idna==3.10 certifi==2024.8.30 charset-normalizer==3.4.0 six==1.16.0
attrs==24.2.0 click==8.1.7 packaging==24.2 pyparsing==3.2.0 python-dateutil==2.9.0.post0 pytz==2024.2
tzdata==2024.2 jinja2==3.1.4 markupsafe==3.0.2 itsdangerous==2.2.0 werkzeug==3.1.3 flask==3.1.0
blinker==1.9.0 pyyaml==6.0.2 tomli==2.1.0 typing-extensions==4.12.2 pydantic==2.10.1
pydantic-core==2.27.1 annotated-types==0.7.0 anyio==4.6.2.post1 sniffio==1.3.1 h11==0.14.0
httpcore==1.0.7 httpx==0.27.2 pygments==2.18.0 rich==13.9.4 markdown-it-py==3.0.0 mdurl==0.1.2
numpy==2.1.3 sqlalchemy==2.0.36 greenlet==3.1.1 cffi==1.17.1 pycparser==2.22 cryptography==43.0.3
psutil==6.1.0 tqdm==4.67.0
""".split()

SMALL = ["six", "idna", "click", "packaging", "certifi"]


def normalize(name):
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="session")
def wheel_dir():
    d = pathlib.Path(
        os.environ.get("STRATA_TEST_WHEELS", pathlib.Path.home() / ".cache" / "strata-test-wheels" / "fetch-v1")
    )
    d.mkdir(parents=True, exist_ok=True)
    if len(list(d.glob("*.whl"))) < len(WHEELS):
        subprocess.run(
            [venv_python(), "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
             "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64", "-d", str(d)] + WHEELS,
            check=True, timeout=600)
    return d


class Wheel:
    def __init__(self, path):
        self.path = path
        self.filename = path.name
        self.name, self.version = path.name.split("-")[:2]
        self.project = normalize(self.name)
        data = path.read_bytes()
        self.size = len(data)
        self.sha256 = hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def wheels(wheel_dir):
    return {w.project: w for w in (Wheel(p) for p in sorted(wheel_dir.glob("*.whl")))}


@pytest.fixture(scope="module")
def pypi(servers, wheel_dir):
    port = free_port()
    return servers.start(pypiserver_argv(port, wheel_dir), port)


USER, SECRET = "ci-reader", "s3cr3t-Pa55-xyzzy"


@pytest.fixture(scope="module")
def private_pypi(servers, wheel_dir, tmp_path_factory):
    htpasswd = tmp_path_factory.mktemp("auth") / "htpasswd"
    subprocess.run(
        [venv_python(), "-c",
         "import sys; from passlib.apache import HtpasswdFile as H; h = H(sys.argv[1], new=True); "
         "h.set_password(sys.argv[2], sys.argv[3]); h.save()", str(htpasswd), USER, SECRET],
        check=True)
    port = free_port()
    return servers.start(pypiserver_argv(port, wheel_dir, auth=htpasswd), port)


@pytest.fixture(scope="module")
def static_index(servers, wheels, tmp_path_factory):
    """A PEP 503 tree on disk (relative links with hash fragments) served by http.server."""
    root = tmp_path_factory.mktemp("static")
    (root / "files").mkdir()
    for project in SMALL:
        w = wheels[project]
        shutil.copy(w.path, root / "files" / w.filename)
        page = root / "simple" / project
        page.mkdir(parents=True)
        href = html.escape(f"../../files/{w.filename}#sha256={w.sha256}")
        (page / "index.html").write_text(
            f'<!DOCTYPE html><html><body><a href="{href}" data-requires-python="&gt;=3.7">{w.filename}</a>'
            "</body></html>")
    port = free_port()
    return servers.start(["timeout", SERVER_LIFETIME, sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                          str(port), "--directory", str(root)], port)


@pytest.fixture(scope="module")
def faults(servers, wheel_dir):
    port = free_port()
    return servers.start(["timeout", SERVER_LIFETIME, sys.executable, str(HERE / "fault_server.py"), str(port),
                          str(wheel_dir), SERVER_LIFETIME], port)


def write_pylock(path, wheels, url_for, index="https://pypi.org/simple", sizes=True):
    lines = ['lock-version = "1.0"', 'created-by = "strata-tests"', ""]
    for w in wheels:
        size = f"size = {w.size}, " if sizes else ""
        lines += [
            "[[packages]]",
            f'name = "{w.name}"',
            f'version = "{w.version}"',
            f'index = "{index}"',
            f'wheels = [{{name = "{w.filename}", url = "{url_for(w)}", {size}'
            f'hashes = {{sha256 = "{w.sha256}"}}}}]',
            "",
        ]
    path.write_text("\n".join(lines))
    return path


def pypi_url(w):
    # What a lock made against PyPI holds; with --index-url the file is looked up on the mirror.
    return f"https://files.pythonhosted.org/packages/00/00/{w.filename}"


def run_fetch(lock, cache, *extra, env=None, timeout=300):
    argv = [STRATA, "fetch", str(lock), "--python", TARGET_PYTHON, "--cache-dir", str(cache), *extra]
    full_env = dict(os.environ)
    for key in list(full_env):
        if key.startswith(("STRATA_HTTP_BASIC_", "POETRY_HTTP_BASIC_")) or key in ("NETRC", "STRATA_INDEX_URL"):
            del full_env[key]
    full_env["HOME"] = str(pathlib.Path(cache).parent)  # no stray ~/.netrc
    if env:
        full_env.update(env)
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout)


def cache_entries(cache):
    return sorted(p for p in (pathlib.Path(cache) / "artifacts").rglob("*") if p.is_file())


def assert_cached_correctly(cache, wheels):
    entries = cache_entries(cache)
    assert len(entries) == len(wheels)
    for w in wheels:
        entry = pathlib.Path(cache) / "artifacts" / "sha256" / w.sha256[:2] / w.sha256 / w.filename
        assert entry.is_file()
        assert hashlib.sha256(entry.read_bytes()).hexdigest() == w.sha256
    tmp = pathlib.Path(cache) / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())


def test_index_lookup_on_pypiserver_then_cache_then_offline(tmp_path, pypi, wheels):
    chosen = [wheels[p] for p in SMALL]
    lock = write_pylock(tmp_path / "pylock.toml", chosen, pypi_url)
    cache = tmp_path / "cache"
    r = run_fetch(lock, cache, "--index-url", f"{pypi}/simple/", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True
    assert {f["filename"] for f in doc["files"]} == {w.filename for w in chosen}
    assert all(f["origin"] == "download" for f in doc["files"])
    assert_cached_correctly(cache, chosen)

    again = run_fetch(lock, cache, "--index-url", f"{pypi}/simple/", "--json")
    assert again.returncode == 0, again.stderr
    assert all(f["origin"] == "cache" for f in json.loads(again.stdout)["files"])

    offline = run_fetch(lock, cache, "--offline", "--json")
    assert offline.returncode == 0, offline.stderr


def test_offline_names_exactly_the_missing_files(tmp_path, wheels):
    present, missing = wheels["six"], wheels["idna"]
    links = tmp_path / "links"
    links.mkdir()
    shutil.copy(present.path, links / present.filename)
    lock = write_pylock(tmp_path / "pylock.toml", [present, missing], pypi_url)
    r = run_fetch(lock, tmp_path / "cache", "--offline", "--find-links", str(links))
    assert r.returncode == 1
    assert missing.filename in r.stderr
    assert present.filename not in r.stderr
    (tmp_path / "one").mkdir()
    only_present = write_pylock(tmp_path / "one" / "pylock.toml", [present], pypi_url)
    ok = run_fetch(only_present, tmp_path / "cache", "--offline", "--find-links", str(links), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["files"][0]["origin"] == "find-links"


def test_direct_urls_into_dest(tmp_path, pypi, wheels):
    chosen = [wheels[p] for p in SMALL]
    lock = write_pylock(tmp_path / "pylock.toml", chosen, lambda w: f"{pypi}/packages/{w.filename}",
                        index=f"{pypi}/simple/")
    dest = tmp_path / "dest"
    r = run_fetch(lock, tmp_path / "cache", "--dest", str(dest), "--json")
    assert r.returncode == 0, r.stderr
    for w in chosen:
        assert hashlib.sha256((dest / w.filename).read_bytes()).hexdigest() == w.sha256
    assert sorted(p.name for p in dest.iterdir()) == sorted(w.filename for w in chosen)
    assert cache_entries(tmp_path / "cache") == []


def test_static_pep503_tree(tmp_path, static_index, wheels):
    chosen = [wheels[p] for p in SMALL]
    lock = write_pylock(tmp_path / "pylock.toml", chosen, pypi_url)
    cache = tmp_path / "cache"
    r = run_fetch(lock, cache, "--index-url", f"{static_index}/simple/")
    assert r.returncode == 0, r.stderr
    assert_cached_correctly(cache, chosen)


def test_pep691_json_pages_one_request_per_project(tmp_path, faults, wheels):
    chosen = [wheels[p] for p in SMALL]
    lock = write_pylock(tmp_path / "pylock.toml", chosen, pypi_url)
    cache = tmp_path / "cache"
    r = run_fetch(lock, cache, "--index-url", f"{faults}/json/simple/")
    assert r.returncode == 0, r.stderr
    assert_cached_correctly(cache, chosen)
    with urllib.request.urlopen(f"{faults}/count") as response:
        counts = json.load(response)
    for w in chosen:
        assert counts[f"/json/simple/{w.project}/"] == 1
        assert counts[f"/ok/{w.filename}"] >= 1


def test_no_wheel_for_target_is_a_check_error_before_download(tmp_path, wheels):
    w = wheels["six"]
    lock = tmp_path / "pylock.toml"
    lock.write_text(
        'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "six"\nversion = "1.16.0"\n'
        'wheels = [{name = "six-1.16.0-cp27-cp27m-win32.whl", url = "http://127.0.0.1:9/x.whl", '
        f'hashes = {{sha256 = "{w.sha256}"}}}}]\n')
    r = run_fetch(lock, tmp_path / "cache")
    assert r.returncode == 3, r.stderr
    # The locked files summarised by what they are for (issue 15), and the target's first tag.
    assert "six 1.16.0: no wheel in the lock matches the target (cp311" in r.stderr, r.stderr
    assert "the lock has one wheel for cp27 on Windows" in r.stderr, r.stderr


# --- Faults ---------------------------------------------------------------------------------


def fault_lock(tmp_path, faults, mode, w):
    return write_pylock(tmp_path / "pylock.toml", [w], lambda w: f"{faults}/{mode}/{w.filename}",
                        index=f"{faults}/simple/")


def test_fails_twice_then_succeeds(tmp_path, faults, wheels):
    w = wheels["six"]
    cache = tmp_path / "cache"
    r = run_fetch(fault_lock(tmp_path, faults, "flaky", w), cache)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("retrying") == 2
    assert "HTTP 503" in r.stderr
    assert_cached_correctly(cache, [w])


def test_downloads_from_one_plain_http_host_run_side_by_side(tmp_path, faults, wheels):
    """Two files on one http:// host: the first is held at /gate/ until the second, /open/, is
    requested. curl's PIPEWAIT (waiting to multiplex on one connection) queued the second behind
    the first on plain HTTP, where no connection multiplexes: the gate timed out instead."""
    w = wheels["certifi"]
    opener = types.SimpleNamespace(name="opener", version="1.0", filename="opener-1.0-py3-none-any.whl",
                                   size=4, sha256=hashlib.sha256(b"open").hexdigest())
    urls = {w.filename: f"{faults}/gate/{w.filename}", opener.filename: f"{faults}/open/{w.filename}"}
    lock = write_pylock(tmp_path / "pylock.toml", [w, opener], lambda x: urls[x.filename], index=f"{faults}/simple/")
    r = run_fetch(lock, tmp_path / "cache")
    assert r.returncode == 0, r.stderr
    with urllib.request.urlopen(f"{faults}/events") as response:
        events = [e for e in json.load(response) if w.filename in e]
    assert events == [f"opened {w.filename}", f"gate {w.filename}: opened"]


def test_downloads_start_as_their_page_answers_not_after_every_page(tmp_path, faults, wheels):
    """The page of one project is held until a file of another project has been served: a fetch
    that downloads only after every page answered waits out the hold (the page "timed out")."""
    slow, others = wheels["certifi"], [wheels["idna"], wheels["six"]]
    lock = write_pylock(tmp_path / "pylock.toml", [slow, *others], pypi_url)
    cache = tmp_path / "cache"
    r = run_fetch(lock, cache, "--index-url", f"{faults}/hold-{slow.project}/simple/")
    assert r.returncode == 0, r.stderr
    assert_cached_correctly(cache, [slow, *others])
    with urllib.request.urlopen(f"{faults}/events") as response:
        events = [e for e in json.load(response) if e.startswith(("served", f"page {slow.project}:"))]
    page = events.index(f"page {slow.project}: opened")
    assert page > 0 and all(e.startswith("served") for e in events[:page]), events


def test_retry_after_is_honoured(tmp_path, faults, wheels):
    w = wheels["idna"]
    r = run_fetch(fault_lock(tmp_path, faults, "busy", w), tmp_path / "cache")
    assert r.returncode == 0, r.stderr
    assert "retrying" in r.stderr and "in 1.0s" in r.stderr and "HTTP 429" in r.stderr


def test_truncated_body_is_detected(tmp_path, faults, wheels):
    w = wheels["click"]
    cache = tmp_path / "cache"
    r = run_fetch(fault_lock(tmp_path, faults, "truncate", w), cache, "--retries", "1")
    assert r.returncode == 1
    assert f"{faults}/truncate/{w.filename}" in r.stderr
    assert "truncated" in r.stderr and "after 2 attempts" in r.stderr
    assert cache_entries(cache) == []


def test_wrong_bytes_are_a_hash_error_and_never_cached(tmp_path, faults, wheels):
    w = wheels["packaging"]
    cache = tmp_path / "cache"
    r = run_fetch(fault_lock(tmp_path, faults, "wrong", w), cache, "--json")
    assert r.returncode == 1
    message = json.loads(r.stdout)["error"]["message"]
    actual = hashlib.sha256(bytes(b ^ 0x5A for b in w.path.read_bytes())).hexdigest()
    assert w.filename in message and w.sha256 in message and actual in message
    assert cache_entries(cache) == []
    tmp = cache / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())


def test_stalled_transfer_times_out(tmp_path, faults, wheels):
    w = wheels["certifi"]
    r = run_fetch(fault_lock(tmp_path, faults, "stall", w), tmp_path / "cache", "--timeout", "2", "--retries", "0",
                  timeout=60)
    assert r.returncode == 1
    assert "timed out" in r.stderr and f"{faults}/stall/{w.filename}" in r.stderr


def sent_bytes(faults):
    with urllib.request.urlopen(f"{faults}/sent") as response:
        return json.load(response)


def test_endless_body_is_cut_at_the_locked_size(tmp_path, faults, wheels):
    w = wheels["certifi"]
    cache = tmp_path / "cache"
    started = time.monotonic()
    r = run_fetch(fault_lock(tmp_path, faults, "endless", w), cache, "--retries", "0", timeout=60)
    elapsed = time.monotonic() - started
    assert r.returncode == 1, r.stderr
    assert f"more than the expected {w.size} bytes" in r.stderr and f"/endless/{w.filename}" in r.stderr
    assert elapsed < 30
    assert cache_entries(cache) == []
    assert not any((cache / "tmp").iterdir())
    time.sleep(0.5)  # the server notices the hang-up on its next write
    # The server could write only what the socket buffers hold before strata hung up.
    assert sent_bytes(faults)[f"/endless/{w.filename}"] < 32 << 20


def test_endless_body_is_cut_at_the_index_size_when_the_lock_has_none(tmp_path, faults, wheels):
    w = wheels["idna"]
    lock = write_pylock(tmp_path / "pylock.toml", [w], pypi_url, sizes=False)
    r = run_fetch(lock, tmp_path / "cache", "--index-url", f"{faults}/json-endless/simple/", "--retries", "0",
                  timeout=60)
    assert r.returncode == 1, r.stderr
    assert f"more than the expected {w.size} bytes" in r.stderr
    assert cache_entries(tmp_path / "cache") == []


def test_a_drip_is_abandoned_after_STRATA_HTTP_TIMEOUT(tmp_path, faults, wheels):
    w = wheels["certifi"]  # its deadline is 4 s: the 2 s low-speed window ends it first
    started = time.monotonic()
    r = run_fetch(fault_lock(tmp_path, faults, "drip", w), tmp_path / "cache", "--retries", "0",
                  env={"STRATA_HTTP_TIMEOUT": "2"}, timeout=60)
    elapsed = time.monotonic() - started
    assert r.returncode == 1, r.stderr
    assert "timed out" in r.stderr and "1024 bytes/sec" in r.stderr and f"/drip/{w.filename}" in r.stderr
    assert elapsed < 15


def test_every_transfer_has_a_deadline_that_scales_with_its_size(tmp_path, faults, wheels):
    w = wheels["certifi"]  # about 160 KiB: 2 s + 2 s at 64 KiB/s; the server needs 40 s at 4 KiB/s
    assert 2 * 65536 <= w.size < 3 * 65536
    started = time.monotonic()
    r = run_fetch(fault_lock(tmp_path, faults, "slow", w), tmp_path / "cache", "--retries", "0",
                  env={"STRATA_HTTP_TIMEOUT": "2"}, timeout=60)
    elapsed = time.monotonic() - started
    assert r.returncode == 1, r.stderr
    assert "not finished after 4 s" in r.stderr and f"/slow/{w.filename}" in r.stderr
    assert elapsed < 15
    # A small file at the same rate finishes within its deadline (5 s + 0 s; about 3 s needed).
    small = wheels["six"]
    r = run_fetch(fault_lock(tmp_path, faults, "slow", small), tmp_path / "cache2", "--retries", "0",
                  env={"STRATA_HTTP_TIMEOUT": "5"}, timeout=60)
    assert r.returncode == 0, r.stderr


def test_a_full_disk_says_no_space_left_with_the_path(tmp_path, faults, wheels):
    w = wheels["numpy"]  # 16 MB into a 4 MiB file system
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        r = run_fetch(fault_lock(tmp_path, faults, "ok", w), mnt / "cache", "--retries", "0", "--json", timeout=60)
        assert r.returncode == 1, r.stderr
        message = json.loads(r.stdout)["error"]["message"]
        assert "no space left on device" in message and str(mnt / "cache" / "tmp") in message, message
        assert "Failure writing output" not in message
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


# --- Credentials ----------------------------------------------------------------------------


def write_poetry_project(root, w, index_url):
    """A poetry.lock (file names and hashes, no URLs) with one package from source "my-private"."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "demo"\nversion = "0.1.0"\ndescription = ""\nauthors = []\n\n'
        f'[tool.poetry.dependencies]\npython = "^3.8"\n{w.name} = {{version = "{w.version}", source = "my-private"}}\n\n'
        f'[[tool.poetry.source]]\nname = "my-private"\nurl = "{index_url}"\npriority = "explicit"\n')
    (root / "poetry.lock").write_text(
        f'[[package]]\nname = "{w.name}"\nversion = "{w.version}"\ndescription = ""\noptional = false\n'
        f'python-versions = "*"\nfiles = [\n    {{file = "{w.filename}", hash = "sha256:{w.sha256}"}},\n]\n\n'
        f'[package.source]\ntype = "legacy"\nurl = "{index_url}"\nreference = "my-private"\n\n'
        '[metadata]\nlock-version = "2.0"\npython-versions = "^3.8"\ncontent-hash = "0"\n')
    return root


def assert_no_secret(r):
    assert SECRET not in r.stdout
    assert SECRET not in r.stderr


def test_401_names_the_credential_variables(tmp_path, private_pypi, wheels):
    project = write_poetry_project(tmp_path / "p", wheels["six"], f"{private_pypi}/simple/")
    r = run_fetch(project, tmp_path / "cache", "--json")
    assert r.returncode == 1, r.stderr
    message = json.loads(r.stdout)["error"]["message"]
    assert "HTTP 401" in message or "HTTP 403" in message
    assert "STRATA_HTTP_BASIC_MY_PRIVATE_USERNAME" in message
    assert "POETRY_HTTP_BASIC_MY_PRIVATE_USERNAME" in message
    assert ".netrc" in message


def test_env_credentials_work_and_never_show(tmp_path, private_pypi, wheels):
    w = wheels["six"]
    project = write_poetry_project(tmp_path / "p", w, f"{private_pypi}/simple/")
    cache = tmp_path / "cache"
    env = {"STRATA_HTTP_BASIC_MY_PRIVATE_USERNAME": USER, "STRATA_HTTP_BASIC_MY_PRIVATE_PASSWORD": SECRET}
    r = run_fetch(project, cache, "-v", env=env)
    assert r.returncode == 0, r.stderr
    assert "using credentials from STRATA_HTTP_BASIC_MY_PRIVATE_USERNAME/_PASSWORD" in r.stderr
    assert_no_secret(r)
    assert_cached_correctly(cache, [w])
    j = run_fetch(project, tmp_path / "cache2", "-v", "--json", env=env)
    assert j.returncode == 0, j.stderr
    assert_no_secret(j)


def test_poetry_file_variant_and_netrc(tmp_path, private_pypi, wheels):
    project = write_poetry_project(tmp_path / "p", wheels["six"], f"{private_pypi}/simple/")
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    r = run_fetch(project, tmp_path / "c1", "-v", env={"POETRY_HTTP_BASIC_MY_PRIVATE_USERNAME": USER,
                                                       "POETRY_HTTP_BASIC_MY_PRIVATE_PASSWORD_FILE": str(secret_file)})
    assert r.returncode == 0, r.stderr
    assert "POETRY_HTTP_BASIC_MY_PRIVATE_USERNAME/_PASSWORD" in r.stderr
    assert_no_secret(r)

    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {SECRET}\n")
    n = run_fetch(project, tmp_path / "c2", "-v", env={"NETRC": str(netrc)})
    assert n.returncode == 0, n.stderr
    assert f"netrc ({netrc})" in n.stderr
    assert_no_secret(n)


def test_wrong_password_and_userinfo_are_redacted(tmp_path, private_pypi, wheels):
    w = wheels["six"]
    host = private_pypi.removeprefix("http://")
    project = write_poetry_project(tmp_path / "p", w, f"http://{USER}:{SECRET}@{host}/simple/")
    ok = run_fetch(project, tmp_path / "c1", "-v", "--json")
    assert ok.returncode == 0, ok.stderr
    assert "userinfo" in ok.stderr
    assert_no_secret(ok)

    bad = run_fetch(project, tmp_path / "c2", "--json",
                    "--source", f"my-private=http://{USER}:wrong-{SECRET}@{host}/simple/")
    assert bad.returncode == 1
    assert_no_secret(bad)
    assert "***@" in bad.stderr


# --- Concurrency ----------------------------------------------------------------------------


def test_two_processes_share_one_cache(tmp_path, pypi, wheels):
    chosen = list(wheels.values())[:12]
    lock = write_pylock(tmp_path / "pylock.toml", chosen, pypi_url)
    cache = tmp_path / "cache"
    argv = [STRATA, "fetch", str(lock), "--python", TARGET_PYTHON, "--cache-dir", str(cache), "--index-url",
            f"{pypi}/simple/", "--json"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert len(json.loads(out)["files"]) == len(chosen)
    assert_cached_correctly(cache, chosen)


# --- strata cache ---------------------------------------------------------------------------


def test_cache_dir_and_clean(tmp_path, pypi, wheels):
    cache = tmp_path / "cache"
    env = dict(os.environ, STRATA_CACHE_DIR=str(cache))
    r = subprocess.run([STRATA, "cache", "dir"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stdout.strip() == str(cache)
    flag = subprocess.run([STRATA, "--json", "cache", "dir", "--cache-dir", str(tmp_path / "other")],
                          capture_output=True, text=True, env=env)
    assert json.loads(flag.stdout)["cache_dir"] == str(tmp_path / "other")

    chosen = [wheels["six"], wheels["idna"]]
    lock = write_pylock(tmp_path / "pylock.toml", chosen, pypi_url)
    assert run_fetch(lock, cache, "--index-url", f"{pypi}/simple/").returncode == 0
    assert len(cache_entries(cache)) == 2
    clean = subprocess.run([STRATA, "--json", "cache", "clean"], capture_output=True, text=True, env=env)
    assert clean.returncode == 0, clean.stderr
    doc = json.loads(clean.stdout)
    assert doc["removed_bytes"] >= sum(w.size for w in chosen)
    assert cache.is_dir() and cache_entries(cache) == []


@pytest.fixture(scope="module")
def tls_files(servers, wheels, tmp_path_factory):
    """The small wheels served over HTTPS on loopback with a self-signed certificate."""
    root = tmp_path_factory.mktemp("tls")
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    files = root / "files"
    files.mkdir()
    for project in SMALL:
        shutil.copy(wheels[project].path, files / wheels[project].filename)
    serve = ("import http.server, functools, ssl, sys\n"
             "h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])\n"
             "s = http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), h)\n"
             "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[3], sys.argv[4])\n"
             "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
             "s.serve_forever()\n")
    port = free_port()
    url = servers.start(["timeout", SERVER_LIFETIME, sys.executable, "-c", serve, str(port), str(files), str(cert),
                         str(key)], port)
    return {"url": url.replace("http://", "https://"), "cert": cert}


def test_tls_is_verified_and_a_ca_bundle_can_be_named(tmp_path, tls_files, wheels):
    small = [wheels[p] for p in SMALL]
    lock = write_pylock(tmp_path / "pylock.toml", small, lambda w: f"{tls_files['url']}/{w.filename}")
    clear = {"STRATA_CA_FILE": "", "SSL_CERT_FILE": ""}
    refused = run_fetch(lock, tmp_path / "refused", env=clear)
    assert refused.returncode == 1, refused.stderr
    assert "certificate" in refused.stderr.lower(), refused.stderr
    assert not cache_entries(tmp_path / "refused")
    for variable in ("STRATA_CA_FILE", "SSL_CERT_FILE"):
        ok = run_fetch(lock, tmp_path / variable, env={**clear, variable: str(tls_files["cert"])})
        assert ok.returncode == 0, ok.stderr
        assert_cached_correctly(tmp_path / variable, small)
