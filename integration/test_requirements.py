"""Hashed requirements.txt (tests/fixtures/locks/requirements-*: pip-compile 7.6.2 and uv 0.13.9
`uv pip compile --universal`) and `strata export`, against the pinned pip.

- Selection: for each fixture and each target interpreter (pyenv CPython 3.10–3.13), strata's
  planned install set (name, version) equals `pip install --dry-run --report` of the same file
  (pip run under that interpreter with `--python`; pip 26.3 runs on 3.10 and later), both against one loopback pypiserver serving
  the fixtures' wheels (downloaded from PyPI by pip once per target, cached, the file's hashes).
- Install: the pip-tools fixture installed by strata (files found on the index by hash) and by
  `pip install --require-hashes` into two venvs: the same files, byte for byte.
- Export round trip: `strata export --format requirements` and `--format pylock` of the uv
  fixture and of a uv.lock; `pip install --require-hashes --no-deps -r` of the export and
  `strata install` of the export give the same installed set as `strata install` of the original.
"""

import hashlib
import json
import os
import pathlib
import subprocess

import pytest

from support import SUMMARY, WHEEL_CACHE, Servers, pip_env, relative_files, serve_wheels, strata, venv_python

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
FIXTURES = SOURCE / "tests" / "fixtures" / "locks"
PYENV = pathlib.Path.home() / ".pyenv" / "versions"
LOCKS = {"pip-tools": FIXTURES / "requirements-pip-tools" / "requirements.txt",
         "uv": FIXTURES / "requirements-uv" / "requirements.txt"}
# The interpreters pip 26.3 runs under (>= 3.10); pip-compile's fixture was compiled on 3.11 and
# pins click 8.5.1 (Requires-Python >= 3.10); uv's is universal from 3.9.
TARGETS = {"uv": ["3.10.13", "3.11.7", "3.12.1", "3.13.0"],
           "pip-tools": ["3.10.13", "3.11.7", "3.12.1", "3.13.0"]}
VOLATILE_DIST_INFO = {"INSTALLER", "RECORD", "REQUESTED", "direct_url.json"}


def python(version):
    return PYENV / version / "bin" / "python"


def pip(*args, check=True):
    return subprocess.run([venv_python(), "-m", "pip", "--disable-pip-version-check", *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=pip_env(), check=check)


@pytest.fixture(scope="module")
def wheels():
    """Every fixture's wheels for every target (pip download under the target, by the file's hashes),
    downloaded once into the wheel cache."""
    d = WHEEL_CACHE / "requirements-v1"
    d.mkdir(parents=True, exist_ok=True)
    for name, lock in LOCKS.items():
        digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
        for version in TARGETS[name]:
            stamp = d / f".done-{name}-{version}-{digest}"
            if stamp.exists():
                continue
            pip("--python", python(version), "download", "-q", "--no-deps", "--only-binary=:all:",
                "--require-hashes", "-r", lock, "-d", d)
            stamp.touch()
    return d


@pytest.fixture(scope="module")
def index(wheels):
    servers = Servers()
    try:
        yield serve_wheels(servers, wheels)
    finally:
        servers.stop()


@pytest.fixture(scope="module")
def locks(index, tmp_path_factory):
    """The fixtures as the tests use them: the uv one's `--index-url https://pypi.org/simple` line
    pointed at the loopback index (so that pip, which obeys the file's line, stays on loopback too;
    strata reads the file's index), the pip-tools one as it is (given --index-url)."""
    root = tmp_path_factory.mktemp("locks")
    uv = root / "uv" / "requirements.txt"
    uv.parent.mkdir()
    text = LOCKS["uv"].read_text()
    assert "--index-url https://pypi.org/simple\n" in text
    uv.write_text(text.replace("--index-url https://pypi.org/simple\n", f"--index-url {index}\n"))
    return {"uv": (uv, []), "pip-tools": (LOCKS["pip-tools"], ["--index-url", index])}


def strata_plan(lock, interpreter, scratch, index_args):
    report = json.loads(strata("--json", "install", lock, "--env", scratch / "not-created", "--python", interpreter,
                               "--dry-run", "--cache-dir", scratch / "cache", *index_args).stdout)
    return sorted((d["name"], d["version"]) for d in report["plan"]["decisions"])


def pip_report(lock, interpreter, scratch, index_args):
    out = scratch / "report.json"
    pip("--python", interpreter, "install", "-q", "--dry-run", "--ignore-installed", "--require-hashes",
        "--only-binary=:all:", "--report", out, "-r", lock, *index_args)
    report = json.loads(out.read_text())
    return sorted((x["metadata"]["name"].lower().replace("_", "-").replace(".", "-"), x["metadata"]["version"])
                  for x in report["install"])


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_selection_equals_pips_install_report(name, locks, tmp_path):
    lock, index_args = locks[name]
    compared = 0
    seen = set()
    for version in TARGETS[name]:
        scratch = tmp_path / version
        scratch.mkdir()
        ours = strata_plan(lock, python(version), scratch, index_args)
        theirs = pip_report(lock, python(version), scratch, index_args)
        assert ours == theirs, version
        assert len(ours) >= 9
        seen.add(tuple(ours))
        compared += 1
    if name == "uv":
        assert len(seen) == 3  # the forks on python_version: 3.10, 3.11, 3.12 and later
    SUMMARY.append(f"requirements.txt ({name}) selection equal to pip --dry-run --report: {compared}/{len(TARGETS[name])} "
                   "interpreters")


def site_files(env, version):
    site = env / "lib" / f"python{version.rsplit('.', 1)[0]}" / "site-packages"
    return {p: h for p, h in relative_files(site).items()
            if not (p.split("/")[0].endswith(".dist-info") and p.split("/")[-1] in VOLATILE_DIST_INFO)}


def installed(env):
    """name -> version of every distribution in a venv's site-packages."""
    out = {}
    for d in env.glob("lib/python*/site-packages/*.dist-info"):
        meta = (d / "METADATA").read_text(errors="replace").splitlines()
        fields = dict(line.split(": ", 1) for line in meta[:10] if ": " in line)
        out[fields["Name"].lower().replace("_", "-").replace(".", "-")] = fields["Version"]
    return out


def pip_install(lock, env, version, *args):
    subprocess.run([python(version), "-m", "venv", "--without-pip", env], check=True)
    pip("--python", env / "bin" / "python", "install", "-q", "--require-hashes", "--no-compile",
        "--only-binary=:all:", "-r", lock, *args)


def test_install_equals_pip_install_file_for_file(locks, tmp_path):
    lock, index_args = locks["pip-tools"]
    version = "3.11.7"
    ours, theirs = tmp_path / "strata-env", tmp_path / "pip-env"
    report = json.loads(strata("--json", "install", lock, "--env", ours, "--python", python(version),
                               "--cache-dir", tmp_path / "cache", *index_args).stdout)
    assert report["ok"] is True
    assert len(report["results"]) == 15
    pip_install(lock, theirs, version, *index_args)
    a, b = site_files(ours, version), site_files(theirs, version)
    assert len(b) > 300
    assert sorted(set(a) ^ set(b)) == []
    assert sorted(p for p in a if a[p] != b[p]) == []
    assert installed(ours) == installed(theirs)


def test_unhashed_line_is_an_error_naming_file_and_line(tmp_path):
    lock = tmp_path / "requirements.txt"
    lock.write_text("six==1.17.0 \\\n    --hash=sha256:" + "a" * 64 + "\n# a comment\nrequests==2.32.3\n")
    proc = strata("install", lock, "--env", tmp_path / "env", "--cache-dir", tmp_path / "cache", "--dry-run",
                  check=False)
    assert proc.returncode == 2
    assert f"{lock}:4: requests==2.32.3 has no --hash" in proc.stderr


@pytest.mark.parametrize("fmt", ["requirements", "pylock"])
def test_export_round_trip(fmt, locks, index, tmp_path):
    lock, index_args = locks["uv"]
    version = "3.12.1"
    name = "requirements.txt" if fmt == "requirements" else "pylock.toml"
    exported = tmp_path / "export" / name
    exported.parent.mkdir()
    export_args = ["export", lock, "--format", fmt, "--python", python(version), "--cache-dir", tmp_path / "cache",
                   *index_args]
    strata(*export_args, "-o", exported)
    # Deterministic: the same bytes again, also on standard output.
    assert strata(*export_args).stdout == exported.read_text()
    original = tmp_path / "original"
    strata("install", lock, "--env", original, "--python", python(version), "--cache-dir", tmp_path / "cache",
           *index_args)
    from_export = tmp_path / "from-export"
    strata("install", exported, "--env", from_export, "--python", python(version), "--cache-dir",
           tmp_path / "cache", "--index-url", index)
    want = installed(original)
    assert len(want) >= 10
    assert installed(from_export) == want
    if fmt == "requirements":
        by_pip = tmp_path / "pip"
        pip_install(exported, by_pip, version, "--no-deps", "--index-url", index)
        assert installed(by_pip) == want
    SUMMARY.append(f"export --format {fmt}: round trip equal ({len(want)} packages)")


def test_export_of_a_uv_lock_installs_the_same_set(index, tmp_path):
    lock = FIXTURES / "uv-forks" / "uv.lock"
    version = "3.12.1"
    exported = tmp_path / "requirements.txt"
    strata("export", lock, "--format", "requirements", "--python", python(version), "--cache-dir",
           tmp_path / "cache", "-o", exported)
    text = exported.read_text()
    plan = json.loads(strata("--json", "install", lock, "--env", tmp_path / "nope", "--python", python(version),
                             "--dry-run", "--cache-dir", tmp_path / "cache").stdout)
    want = sorted(f"{d['name']}=={d['version']}" for d in plan["plan"]["decisions"])
    assert sorted(line for line in text.splitlines() if "==" in line and not line.startswith("#")) == \
        [w + " \\" for w in want]
    assert "--hash=sha256:" in text
