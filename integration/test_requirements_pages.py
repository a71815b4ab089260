"""Hashed requirements.txt: what pip decides from the index pages and the file's options, against
the pinned pip (`pip install --dry-run --report`) as the oracle, on one static PEP 503 tree
(http.server on loopback, six 1.16.0's wheel from PyPI once, pinned by hash).

- Requires-Python: a file located by hash whose `data-requires-python` excludes the target is
  refused by both (strata: exit 3 naming the file and the specifier); one that admits it is
  installed by both.
- `--find-links https://…/page.html` in the file (with `--no-index`): the page's links are read,
  matched by hash (a hash fragment) or downloaded and hashed (no fragment); the installed set
  equals pip's; a link whose bytes have another hash is refused by both.
- `-c` constraints with a marker: checked where the marker holds (both refuse), ignored where it
  does not (both install).
"""

import html
import json
import shutil
import subprocess
import sys

import pytest

from support import SERVER_LIFETIME, SIX, SIX_SHA256, free_port, pip_env, pyenv_python, six_wheel_dir, strata, \
    venv_python

PYTHON = pyenv_python("3.11.7")


def pip(*args):
    return subprocess.run([venv_python(), "-m", "pip", "--disable-pip-version-check", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=pip_env())


@pytest.fixture(scope="module")
def tree(servers, tmp_path_factory):
    """simple/ (Requires-Python >=3.7), simple-new/ (>=3.99), links/hashed.html (fragment),
    links/plain.html (no fragment), links/other.html (a link to another file under six's name)."""
    root = tmp_path_factory.mktemp("static")
    (root / "files").mkdir()
    shutil.copy(six_wheel_dir() / SIX, root / "files" / SIX)
    (root / "other").mkdir()
    (root / "other" / SIX).write_bytes(b"not the locked wheel")
    for index, requires in (("simple", "&gt;=3.7"), ("simple-new", "&gt;=3.99")):
        page = root / index / "six"
        page.mkdir(parents=True)
        href = html.escape(f"../../files/{SIX}#sha256={SIX_SHA256}")
        (page / "index.html").write_text(f'<!DOCTYPE html><html><body><a href="{href}" '
                                         f'data-requires-python="{requires}">{SIX}</a></body></html>')
    (root / "links").mkdir()
    (root / "links" / "hashed.html").write_text(f'<a href="../files/{SIX}#sha256={SIX_SHA256}">{SIX}</a>')
    (root / "links" / "plain.html").write_text(f'<html><body><a href="../files/{SIX}">{SIX}</a></body></html>')
    (root / "links" / "other.html").write_text(f'<a href="../other/{SIX}">{SIX}</a>')
    port = free_port()
    return servers.start(["timeout", SERVER_LIFETIME, sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                          str(port), "--directory", str(root)], port)


def write(path, text):
    path.write_text(text)
    return path


def pinned(extra=""):
    return f"{extra}six==1.16.0 \\\n    --hash=sha256:{SIX_SHA256}\n"


def strata_plan(lock, tmp_path, *args):
    return strata("--json", "install", lock, "--env", tmp_path / "not-created", "--python", PYTHON, "--dry-run",
                  "--cache-dir", tmp_path / "cache", *args, check=False)


def pip_plan(lock, tmp_path, *args):
    out = tmp_path / "report.json"
    proc = pip("--python", PYTHON, "install", "-q", "--dry-run", "--ignore-installed", "--require-hashes",
               "--only-binary=:all:", "--report", out, "-r", lock, *args)
    if proc.returncode != 0:
        return proc, None
    return proc, sorted((x["metadata"]["name"].lower(), x["metadata"]["version"])
                        for x in json.loads(out.read_text())["install"])


def planned(proc):
    assert proc.returncode == 0, proc.stderr
    return sorted((d["name"], d["version"]) for d in json.loads(proc.stdout)["plan"]["decisions"])


def test_requires_python_of_a_file_located_by_hash_is_checked_as_pip_does(tree, tmp_path):
    lock = write(tmp_path / "requirements.txt", pinned())
    # Excluded: pip finds no candidate; strata names the file and the specifier (exit 3).
    ours = strata_plan(lock, tmp_path, "--index-url", f"{tree}/simple-new/")
    theirs, _ = pip_plan(lock, tmp_path, "--index-url", f"{tree}/simple-new/")
    assert theirs.returncode != 0 and "require a different python" in theirs.stderr, theirs.stderr
    assert ours.returncode == 3, ours.stderr
    assert f'six 1.16.0: {SIX} requires Python ">=3.99", not Python 3.11.7' in ours.stderr
    # Admitted (a fresh cache: the match cached above keeps its specifier, checked again below).
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    theirs, want = pip_plan(lock, fresh, "--index-url", f"{tree}/simple/")
    assert theirs.returncode == 0, theirs.stderr
    assert planned(strata_plan(lock, fresh, "--index-url", f"{tree}/simple/")) == want == [("six", "1.16.0")]
    # The cache of matches from simple-new/ still refuses it offline.
    again = strata_plan(lock, tmp_path, "--offline")
    assert again.returncode == 3 and 'requires Python ">=3.99"' in again.stderr, again.stderr


@pytest.mark.parametrize("page", ["hashed.html", "plain.html"])
def test_find_links_url_pages_are_read(page, tree, tmp_path):
    lock = write(tmp_path / "requirements.txt", pinned(f"--no-index\n--find-links {tree}/links/{page}\n"))
    theirs, want = pip_plan(lock, tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    assert want == [("six", "1.16.0")]
    env = tmp_path / "env"
    report = strata("--json", "install", lock, "--env", env, "--python", PYTHON, "--cache-dir", tmp_path / "cache")
    assert json.loads(report.stdout)["ok"] is True
    assert sorted(p.name for p in env.glob("lib/python3.11/site-packages/six-*.dist-info")) == ["six-1.16.0.dist-info"]


def test_a_find_links_url_link_with_other_bytes_is_refused(tree, tmp_path):
    lock = write(tmp_path / "requirements.txt", pinned(f"--no-index\n--find-links {tree}/links/other.html\n"))
    theirs, _ = pip_plan(lock, tmp_path)
    assert theirs.returncode != 0 and "DO NOT MATCH THE HASHES" in theirs.stderr, theirs.stderr
    ours = strata_plan(lock, tmp_path)
    assert ours.returncode == 1, ours.stderr
    assert f"{tree}/other/{SIX} (downloaded: sha256:" in ours.stderr
    assert "not one of the lock's hashes" in ours.stderr


@pytest.mark.parametrize("holds", [True, False])
def test_constraints_with_markers_are_checked_where_they_hold(holds, tree, tmp_path):
    marker = 'python_version >= "3"' if holds else 'python_version < "3"'
    write(tmp_path / "constraints.txt", f"six<1.16 ; {marker}\n")
    lock = write(tmp_path / "requirements.txt", pinned("-c constraints.txt\n"))
    ours = strata_plan(lock, tmp_path, "--index-url", f"{tree}/simple/")
    theirs, want = pip_plan(lock, tmp_path, "--index-url", f"{tree}/simple/")
    if holds:
        assert theirs.returncode != 0, theirs.stderr
        assert ours.returncode == 2, ours.stderr
        assert (f'{lock}:2: six==1.16.0 does not satisfy the constraint "six<1.16 ; {marker}" at '
                f'{tmp_path / "constraints.txt"}:1 (its marker holds for this target)') in ours.stderr
    else:
        assert theirs.returncode == 0, theirs.stderr
        assert planned(ours) == want == [("six", "1.16.0")]
