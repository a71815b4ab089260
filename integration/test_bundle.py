"""scripts/bundle.sh OUT replaces OUT only when it is missing, empty or a previous bundle (the
marker lib/strata/.strata-bundle): any other directory, or a file, is refused with exit 2 and left
as it was."""

import os
import pathlib
import subprocess

import pytest

from support import STRATA

SOURCE = pathlib.Path(os.environ.get("STRATA_SOURCE_DIR", pathlib.Path(__file__).resolve().parent.parent))
BUNDLE = SOURCE / "scripts" / "bundle.sh"


def bundle(out):
    return subprocess.run([BUNDLE, STRATA, out], capture_output=True, text=True, timeout=300)


def tree(root):
    return sorted(str(p.relative_to(root)) for p in pathlib.Path(root).rglob("*"))


def test_missing_empty_and_previous_bundles_are_replaced(tmp_path):
    out = tmp_path / "bundle"
    first = bundle(out)
    assert first.returncode == 0, first.stderr
    assert (out / "bin" / "strata").is_file() and (out / "lib" / "strata" / ".strata-bundle").is_file()
    (out / "lib" / "strata" / "stale.so.1").write_text("from an older bundle")
    again = bundle(out)
    assert again.returncode == 0, again.stderr
    assert not (out / "lib" / "strata" / "stale.so.1").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert bundle(empty).returncode == 0
    assert (empty / "bin" / "strata").is_file()


@pytest.mark.parametrize("kind", ["project", "home-like", "file", "link"])
def test_anything_else_is_refused_and_kept(tmp_path, kind):
    out = tmp_path / "out"
    if kind == "project":
        (out / "src").mkdir(parents=True)
        (out / "src" / "main.cpp").write_text("int main() {}\n")
    elif kind == "home-like":
        (out / "lib" / "strata").mkdir(parents=True)  # the layout alone is not the marker
        (out / "notes.txt").write_text("mine")
    elif kind == "file":
        out.write_text("not a directory")
    else:
        (tmp_path / "target").mkdir()
        (tmp_path / "target" / "keep").write_text("kept")
        out.symlink_to(tmp_path / "target")
    before = tree(tmp_path)
    r = bundle(out)
    assert r.returncode == 2, r.stderr
    assert str(out) in r.stderr and "not replacing it" in r.stderr
    assert tree(tmp_path) == before
