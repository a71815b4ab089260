"""Pipfile.lock against real pipenv (pinned in scripts/test-requirements.txt).

Differential: for the Pipfile.lock fixture pipenv wrote (tests/fixtures/locks/pipenv-webapp),
strata's selection (`strata install --dry-run --json`, its files found on PyPI by hash) equals
what `pipenv requirements` prints for the same categories, keeping the lines whose markers hold
for the interpreter. The lock's _meta.hash is fresh against its Pipfile (pipenv's hash recomputed).
"""

import json
import os
import pathlib
import shutil
import subprocess

import pytest

from support import SUMMARY, marker_environment, pyenv_python, strata, venv_python

REPO = pathlib.Path(os.environ.get("STRATA_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[1]))
FIXTURES = REPO / "tests" / "fixtures" / "locks"
PIPENV = str(pathlib.Path(venv_python()).parent / "pipenv")
# pipenv locks for the interpreter it runs on (3.11.7 here): on 3.10 tomli would be needed, which it
# wrote unpinned and unhashed (test_a_package_pipenv_did_not_lock_is_refused).
INTERPRETERS = ["3.11.7", "3.12.1", "3.13.0"]
CASES = [
    ("pipenv-webapp", [], []),
    ("pipenv-webapp", ["--dev"], ["--with", "dev"]),
    ("pipenv-webapp", ["--dev-only"], ["--only", "dev"]),
    ("pipenv-webapp", ["--categories", "default,docs"], ["--with", "docs"]),
]


def pipenv_requirements(fixture, flags, tmp_path):
    work = tmp_path / fixture
    if not work.exists():
        shutil.copytree(FIXTURES / fixture, work)
    env = dict(os.environ, PIPENV_VENV_IN_PROJECT="1", PIPENV_CACHE_DIR=str(tmp_path / "pipenv-cache"))
    proc = subprocess.run([PIPENV, "requirements", *flags], cwd=work, capture_output=True, text=True, timeout=120,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    lines = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith("-i") or line.startswith("#"):
            continue
        requirement, _, marker = line.partition(";")
        name, _, version = requirement.strip().partition("==")
        lines.append((name.split("[")[0], version, marker.strip()))
    return lines


_counts = {}


@pytest.mark.parametrize("fixture,pipenv_flags,strata_flags", CASES,
                         ids=[f"{c[0]}:{' '.join(c[1]) or 'default'}" for c in CASES])
def test_selection_equals_pipenv_requirements(fixture, pipenv_flags, strata_flags, tmp_path):
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name
    lines = pipenv_requirements(fixture, pipenv_flags, tmp_path)
    for version in INTERPRETERS:
        if not pyenv_python(version).exists():
            continue
        env = marker_environment(version)
        expected = sorted({(str(canonicalize_name(n)), v) for n, v, m in lines if not m or Marker(m).evaluate(env)})
        report = json.loads(strata("--json", "install", FIXTURES / fixture, "--env", tmp_path / "nc", "--python",
                                   pyenv_python(version), "--dry-run", "--cache-dir", tmp_path / "cache",
                                   *strata_flags).stdout)
        assert report["format"] == "pipfile"
        assert report["content_hash_fresh"] is True
        got = sorted((d["name"], d["version"]) for d in report["plan"]["decisions"])
        assert got == expected, f"{fixture} {pipenv_flags} on Python {version}"
        _counts[fixture] = _counts.get(fixture, 0) + 1


def test_zz_report_case_counts():
    assert _counts, "no differential case ran"
    SUMMARY.append("Pipfile.lock differential cases (fixture x categories x interpreter) equal to pipenv "
                   "requirements: " + ", ".join(f"{k} {v}" for k, v in sorted(_counts.items())))


def test_a_stale_lock_is_reported(tmp_path):
    work = tmp_path / "stale"
    shutil.copytree(FIXTURES / "pipenv-webapp", work)
    (work / "Pipfile").write_text((work / "Pipfile").read_text().replace('pytest = ">=7"', 'pytest = ">=8"'))
    proc = strata("install", work, "--env", tmp_path / "nc", "--python", pyenv_python("3.11.7"), "--dry-run",
                  "--cache-dir", tmp_path / "cache", "--locked", check=False)
    assert proc.returncode == 3, proc.stderr
    assert "the lock is stale: its _meta.hash does not match" in proc.stderr


def test_a_package_pipenv_did_not_lock_is_refused(tmp_path):
    proc = strata("install", FIXTURES / "pipenv-webapp", "--env", tmp_path / "nc", "--python", pyenv_python("3.10.13"),
                  "--dry-run", "--cache-dir", tmp_path / "cache", check=False)
    assert proc.returncode == 3, proc.stderr
    assert "default.tomli: tomli is selected for this target, but the lock pins no version or hash" in proc.stderr
