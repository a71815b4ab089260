"""The cache is checked before every use: a cached wheel is hashed again, an unpacked tree is
sealed (sizes, mtimes, read-only modes), and a wheel refused after unpacking leaves no tree. Small
wheels built here (stored, so that a one-byte change keeps the size) are served from loopback."""

import base64
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

from support import SERVER_LIFETIME, Servers, free_port, strata

PYTHON = "/usr/bin/python3"


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(path, value, extra_record=""):
    """demo 1.0 with demo/__init__.py saying VALUE = <value>; stored entries, fixed dates."""
    files = {
        "demo/__init__.py": f"VALUE = {value!r}\n".encode(),
        "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        "demo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},{record_hash(data)},{len(data)}\n" for name, data in files.items())
    record += "demo-1.0.dist-info/RECORD,,\n" + extra_record
    files["demo-1.0.dist-info/RECORD"] = record.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    servers = Servers()
    port = free_port()
    url = servers.start(["timeout", SERVER_LIFETIME, sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                         str(port), "--directory", str(root)], port)
    yield root, url
    servers.stop()


def lock_for(tmp_path, served, wheel):
    root, url = served
    data = wheel.read_bytes()
    (root / wheel.name).write_bytes(data)
    lock = tmp_path / "pylock.toml"
    lock.write_text(
        'lock-version = "1.0"\ncreated-by = "strata-tests"\n\n[[packages]]\nname = "demo"\nversion = "1.0"\n'
        f'wheels = [{{name = "{wheel.name}", url = "{url}/{wheel.name}", size = {len(data)}, '
        f'hashes = {{sha256 = "{hashlib.sha256(data).hexdigest()}"}}}}]\n')
    return lock, hashlib.sha256(data).hexdigest()


def install(lock, env, cache, *extra, check=True):
    return strata("--json", "install", lock, "--env", env, "--python", PYTHON, "--cache-dir", cache,
                  "--no-compile", *extra, check=check)


def installed_value(env):
    site = next(pathlib.Path(env).glob("lib/python3*/site-packages"))
    return (site / "demo" / "__init__.py").read_text()


def test_a_different_wheel_of_the_same_size_in_the_cache_never_reaches_an_environment(tmp_path, served):
    (tmp_path / "w").mkdir()
    good = build_wheel(tmp_path / "w" / "demo-1.0-py3-none-any.whl", "good")
    evil = build_wheel(tmp_path / "evil-demo.whl", "evil")
    assert evil.stat().st_size == good.stat().st_size and evil.read_bytes() != good.read_bytes()
    lock, sha = lock_for(tmp_path, served, good)
    cache = tmp_path / "cache"
    install(lock, tmp_path / "env1", cache)
    entry = cache / "artifacts" / "sha256" / sha[:2] / sha / good.name
    assert entry.is_file()
    entry.write_bytes(evil.read_bytes())
    for unpacked in (cache / "unpacked").iterdir():  # only the wheel itself is planted
        subprocess.run(["rm", "-rf", str(unpacked)], check=True)

    r = install(lock, tmp_path / "env2", cache)
    assert installed_value(tmp_path / "env2") == "VALUE = 'good'\n"
    assert json.loads(r.stdout)["ok"] is True
    assert hashlib.sha256(entry.read_bytes()).hexdigest() == sha  # discarded and fetched again

    # Offline, the corrupt entry is not used either: the install fails and creates nothing usable.
    entry.write_bytes(evil.read_bytes())
    subprocess.run(["rm", "-rf", str(cache / "unpacked")], check=True)
    r = install(lock, tmp_path / "env3", cache, "--offline", check=False)
    assert r.returncode == 1, r.stderr
    assert good.name in json.loads(r.stdout)["error"]["message"]
    assert not entry.exists()


def edit_in_place(path, text):
    os.chmod(path, 0o644)
    with open(path, "r+") as f:
        f.write(text)
    os.chmod(path, 0o444)


@pytest.mark.parametrize("link_mode", ["copy", "hardlink"])
def test_an_edited_file_in_the_unpacked_tree_never_reaches_a_new_environment(tmp_path, served, link_mode):
    (tmp_path / "w").mkdir()
    good = build_wheel(tmp_path / "w" / "demo-1.0-py3-none-any.whl", "good")
    lock, sha = lock_for(tmp_path, served, good)
    cache = tmp_path / "cache"
    install(lock, tmp_path / "env1", cache, "--link-mode", link_mode)
    tree_file = cache / "unpacked" / sha / "tree" / "demo" / "__init__.py"
    assert tree_file.read_text() == "VALUE = 'good'\n"
    edit_in_place(tree_file, "VALUE = 'evil'\n")  # same size, mode restored

    install(lock, tmp_path / "env2", cache, "--link-mode", link_mode)
    assert installed_value(tmp_path / "env2") == "VALUE = 'good'\n"
    assert tree_file.read_text() == "VALUE = 'good'\n"  # unpacked again from the verified wheel

    # An edit made in an environment: with hardlink it is the cache's inode (what the README says);
    # either way it does not reach the next environment.
    site = next((tmp_path / "env2").glob("lib/python3*/site-packages"))
    edit_in_place(site / "demo" / "__init__.py", "VALUE = 'edit'\n")
    assert tree_file.read_text() == ("VALUE = 'edit'\n" if link_mode == "hardlink" else "VALUE = 'good'\n")
    install(lock, tmp_path / "env3", cache, "--link-mode", link_mode)
    assert installed_value(tmp_path / "env3") == "VALUE = 'good'\n"


def test_a_wheel_refused_after_unpacking_leaves_no_tree_in_the_cache(tmp_path, served):
    (tmp_path / "w").mkdir()
    bad = build_wheel(tmp_path / "w" / "demo-1.0-py3-none-any.whl", "bad",
                      extra_record=f"demo/absent.py,{record_hash(b'x')},1\n")
    lock, sha = lock_for(tmp_path, served, bad)
    cache = tmp_path / "cache"
    r = install(lock, tmp_path / "env", cache, check=False)
    assert r.returncode == 1, r.stderr
    message = json.loads(r.stdout)["error"]["message"]
    assert "demo/absent.py" in message and "not a file in the wheel" in message
    unpacked = cache / "unpacked"
    assert not unpacked.exists() or list(unpacked.iterdir()) == []
