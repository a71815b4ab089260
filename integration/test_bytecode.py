"""Bytecode is the same bytes whatever the compile workers did before: cold installs with other
worker counts and batch orders write identical pycs. docutils 0.23's math2html.py is the file an
outside test saw differ (one marshal byte); docutils is also full of frozenset constants, which
Python 3.10 and older wrote in each worker's random hash order. The wheels are pinned by the
sha256 of tests/fixtures/locks/wide-pylock, downloaded from PyPI once (cached)."""

import os
import pathlib
import tomllib

import pytest

from support import download_wheels, planned, strata

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
WIDE = SOURCE / "tests" / "fixtures" / "locks" / "wide-pylock" / "pylock.toml"
PYTHONS = ["/usr/bin/python3", "/root/.pyenv/versions/3.10.13/bin/python3"]


def write_pylock(directory, names):
    """A pylock.toml with the wide lock's entries for `names` (same wheels, same hashes)."""
    packages = {p["name"]: p for p in tomllib.loads(WIDE.read_text())["packages"]}
    lines = ['lock-version = "1.0"', 'created-by = "strata-tests"', ""]
    for name in names:
        pkg = packages[name]
        lines += ["[[packages]]", f'name = "{pkg["name"]}"', f'version = "{pkg["version"]}"', ""]
        for wheel in pkg["wheels"]:
            lines += ["[[packages.wheels]]", f'name = "{wheel["name"]}"', f'url = "{wheel["url"]}"', "",
                      "[packages.wheels.hashes]", f'sha256 = "{wheel["hashes"]["sha256"]}"', ""]
    directory.mkdir(parents=True)
    (directory / "pylock.toml").write_text("\n".join(lines))
    return directory


@pytest.fixture(scope="module")
def locks(tmp_path_factory):
    root = tmp_path_factory.mktemp("locks")
    alone = write_pylock(root / "alone", ["docutils"])
    both = write_pylock(root / "both", ["docutils", "pygments"])
    wheels = download_wheels("bytecode-v1", [planned(both, PYTHONS[0], root / "plan")])
    return alone, both, wheels


def docutils_pycs(env):
    site = next(pathlib.Path(env).glob("lib/python3*/site-packages"))
    return {str(p.relative_to(site)): p.read_bytes() for p in (site / "docutils").rglob("*.pyc")}


@pytest.mark.parametrize("python", PYTHONS)
def test_pycs_do_not_depend_on_what_the_workers_compiled_before(python, locks, tmp_path):
    if not os.access(python, os.X_OK):
        pytest.skip(f"no {python} here")
    alone, both, wheels = locks
    runs = []
    # One wheel: one worker. Two wheels: two workers (on two or more cores), sharing small
    # batches of both wheels in whatever order the files were verified; twice, cold each time.
    for i, lock in enumerate([alone, both, both]):
        env = tmp_path / f"env{i}"
        strata("--json", "install", lock, "--env", env, "--python", python, "--find-links", wheels, "--offline",
               "--cache-dir", tmp_path / f"cache{i}")
        runs.append(docutils_pycs(env))
    first = runs[0]
    assert len(first) > 100
    assert any(name.startswith("docutils/utils/math/__pycache__/math2html.") for name in first)
    for i, other in enumerate(runs[1:], 1):
        assert other.keys() == first.keys()
        differ = sorted(name for name in first if first[name] != other[name])
        assert not differ, f"run {i}: {len(differ)} pycs differ from run 0, e.g. {differ[:3]}"
