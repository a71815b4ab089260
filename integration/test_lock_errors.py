"""A malformed lock is refused when it is read — exit 2, "file:line:col", before anything is planned,
fetched or created — by install (with and without --dry-run) and fetch alike: a malformed sha256
(short, long, not hex) in poetry.lock and pylock.toml, and a duplicate [[package]] in poetry.lock.
No network: the locks point at a closed port on 127.0.0.1. Also: an unknown command is a usage
error (exit 2) that suggests the closest real command, and a malformed --index-url is one before any request."""

import json
import pathlib
import subprocess

import pytest

from support import STRATA, strata

PYTHON = "/usr/bin/python3"
WHEEL = "six-1.16.0-py2.py3-none-any.whl"
GOOD = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"
PYPROJECT = ('[tool.poetry]\nname = "demo"\nversion = "0.1.0"\ndescription = ""\nauthors = []\n\n'
             '[tool.poetry.dependencies]\npython = "^3.8"\nsix = "1.16.0"\n')


def poetry_package(sha256, version="1.16.0"):
    return (f'[[package]]\nname = "six"\nversion = "{version}"\ndescription = ""\noptional = false\n'
            f'python-versions = "*"\nfiles = [\n    {{file = "{WHEEL}", hash = "sha256:{sha256}"}},\n]\n\n')


POETRY_META = '[metadata]\nlock-version = "2.0"\npython-versions = "^3.8"\ncontent-hash = "0"\n'


def pylock(sha256):
    return ('lock-version = "1.0"\ncreated-by = "t"\n\n[[packages]]\nname = "six"\nversion = "1.16.0"\n'
            f'wheels = [{{name = "{WHEEL}", url = "http://127.0.0.1:9/{WHEEL}", hashes = {{sha256 = "{sha256}"}}}}]\n')


# name -> (lock file name, text, the message's "line:col: what")
CASES = {
    "poetry short sha256": ("poetry.lock", poetry_package(GOOD[:40]) + POETRY_META,
                            "8:55: malformed sha256 hash"),
    "poetry long sha256": ("poetry.lock", poetry_package(GOOD + "ab") + POETRY_META, "8:55: malformed sha256 hash"),
    "poetry non-hex sha256": ("poetry.lock", poetry_package(GOOD[:-1] + "x") + POETRY_META,
                              "8:55: malformed sha256 hash"),
    "pylock short sha256": ("pylock.toml", pylock(GOOD[:10]), "7:133: malformed sha256 hash"),
    "pylock non-hex sha256": ("pylock.toml", pylock("Z" * 64), "7:133: malformed sha256 hash"),
    "poetry duplicate package": ("poetry.lock", poetry_package(GOOD) + poetry_package(GOOD) + POETRY_META,
                                 "11:1: duplicate [[package]] six 1.16.0 (also at "),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_lock_is_refused_when_read(tmp_path, case):
    name, text, where = CASES[case]
    (tmp_path / name).write_text(text)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    lock = tmp_path / name
    cache = tmp_path / "cache"
    runs = {
        "install --dry-run": ["install", lock, "--env", tmp_path / "env", "--python", PYTHON, "--cache-dir", cache,
                              "--dry-run"],
        "install": ["install", lock, "--env", tmp_path / "env", "--python", PYTHON, "--cache-dir", cache],
        "fetch": ["fetch", lock, "--python", PYTHON, "--cache-dir", cache],
    }
    for what, argv in runs.items():
        r = strata("--json", *argv, check=False)
        assert r.returncode == 2, (what, r.stderr)
        message = json.loads(r.stdout)["error"]["message"]
        assert message.startswith(f"{lock}:{where}"), (what, message)
    assert not (tmp_path / "env").exists()
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


@pytest.mark.parametrize("argv, message", [
    (["plna"], 'unknown command "plna"; did you mean "plan"?'),
    (["instal", "poetry.lock"], 'unknown command "instal"; did you mean "install"?'),
    (["--color", "never", "chek"], 'unknown command "chek"; did you mean "check"?'),
    (["zzzzzz"], 'unknown command "zzzzzz"; run `strata --help` for the commands'),
])
def test_unknown_command_suggests_the_closest(argv, message):
    r = strata("--json", *argv, check=False)
    assert r.returncode == 2, r.stderr
    assert json.loads(r.stdout)["error"]["message"] == message
    assert "did you mean" not in message or "did you mean" in r.stderr


@pytest.mark.parametrize("url", ["htps//pypi.org/simple", "pypi.org/simple", "http://", "http://127.0.0.1:9x/simple"])
def test_malformed_index_url_is_a_usage_error_before_any_request(tmp_path, url):
    lock = tmp_path / "pylock.toml"
    lock.write_text(pylock(GOOD))
    cache = tmp_path / "cache"
    runs = {
        "install": ["install", lock, "--env", tmp_path / "env", "--python", PYTHON, "--cache-dir", cache],
        "fetch": ["fetch", lock, "--python", PYTHON, "--cache-dir", cache],
        "plan": ["plan", lock, "--out", tmp_path / "out", "--python", PYTHON, "--cache-dir", cache],
    }
    for what, argv in runs.items():
        r = subprocess.run([STRATA, *map(str, argv), "--index-url", url], capture_output=True, text=True, timeout=20)
        assert r.returncode == 2, (what, r.returncode, r.stderr)
        assert "--index-url: not an index URL" in r.stderr, (what, r.stderr)
    assert not (tmp_path / "env").exists() and not (tmp_path / "out").exists() and not cache.exists()


def test_offline_with_missing_files_suggests_fetch_and_creates_nothing(tmp_path):
    lock = tmp_path / "pylock.toml"
    lock.write_text(pylock(GOOD))
    r = strata("--json", "install", lock, "--env", tmp_path / "env", "--python", PYTHON, "--cache-dir",
               tmp_path / "cache", "--offline", check=False)
    assert r.returncode == 1, r.stderr
    message = json.loads(r.stdout)["error"]["message"]
    assert message.startswith("offline: 1 file is not in the cache"), message
    assert "run `strata fetch` with the same lock and cache, without --offline" in message
    assert not (tmp_path / "env").exists()
