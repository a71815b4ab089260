"""Targets without an interpreter: `--python-version X.Y --platform TAG` (SPEC "Targets without an
interpreter").

The lock is a PEP 751 pylock.toml written here for numpy 2.2.6 and MarkupSafe 3.0.2 (compiled
wheels, several per package in the lock as on PyPI: cp312 manylinux2014 aarch64 — the real files,
from PyPI once, pinned by hash — beside cp312 x86_64, cp312 musllinux aarch64 and cp311 aarch64
entries whose files are never fetched) and six 1.17.0 (pure). strata gets the files with
--find-links --offline; choosing any wheel but the aarch64 cp312 one would fail.

- `install --target DIR --python-version 3.12 --platform manylinux_2_28_aarch64` on this x86_64
  host equals `pip install --platform manylinux2014_aarch64 --only-binary=:all: --no-deps --target
  DIR2 --python-version 3.12` of the same wheels, file for file;
- bytecode only with a host interpreter of that version (none here by PATH and PYENV_ROOT: skipped
  and said so; with the host's CPython 3.11 for --python-version 3.11: compiled by it);
- `install --prefix`, `check`, `plan`, `fetch`, `export` and `debug` take the flags; flag
  combinations that make no sense are usage errors naming both flags.
"""

import json
import os
import pathlib
import subprocess

import pytest

from support import pip_env, pinned_wheel_dir, relative_files, strata, venv_python

NUMPY = "numpy-2.2.6-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
MARKUPSAFE = "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
SIX = "six-1.17.0-py2.py3-none-any.whl"
WHEELS = {
    NUMPY: "f2618db89be1b4e05f7a1a847a9c1c0abd63e63a1607d892dd54668dd92faf87",
    MARKUPSAFE: "1c99d261bd2d5f6b59325c92c73df481e05e57f19837bdca8413b9eac4bd8028",
    SIX: "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",
}
# Other wheels of the same releases, in the lock only: a wrong choice needs a file that is not there.
OTHERS = {
    "numpy": ["numpy-2.2.6-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
              "numpy-2.2.6-cp312-cp312-musllinux_1_2_aarch64.whl",
              "numpy-2.2.6-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"],
    "markupsafe": ["MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                   "MarkupSafe-3.0.2-cp312-cp312-musllinux_1_2_aarch64.whl"],
}
PACKAGES = [("numpy", "2.2.6", NUMPY), ("markupsafe", "3.0.2", MARKUPSAFE), ("six", "1.17.0", SIX)]
TARGET = ["--python-version", "3.12", "--platform", "manylinux_2_28_aarch64"]
# What pip writes differently by design: its own installer metadata (INSTALLER "pip", REQUESTED),
# RECORD (pip's lists its launchers as ../../bin/… from the temporary home scheme it installs into
# before moving to --target), and the console-script launchers: pip's shebang names the
# interpreter running pip (strata's, the target's /usr/local/bin/python3.12) and pip 26's template
# is shorter than the distlib one strata writes, so only what they run is compared. strata's own
# state is in DIR/.strata/.
VOLATILE = ("/INSTALLER", "/RECORD", "/REQUESTED")


@pytest.fixture(scope="module")
def wheels():
    # pip's --platform/--python-version download: the aarch64 files, whatever this host is.
    return pinned_wheel_dir("described-targets-v1", WHEELS, ["--platform", "manylinux2014_aarch64",
                                                             "--python-version", "3.12", "--implementation", "cp"])


def write_lock(path, packages):
    """A pylock.toml for (name, version, wheel) entries, each with the OTHERS of its name."""
    text = 'lock-version = "1.0"\ncreated-by = "strata integration test"\nrequires-python = ">=3.10"\n'
    for name, version, wheel in packages:
        files = [(wheel, WHEELS[wheel])] + [(other, "0" * 64) for other in OTHERS.get(name, [])]
        entries = ", ".join(f'{{ name = "{f}", url = "https://files.pythonhosted.org/never/fetched/{f}", '
                            f'hashes = {{ sha256 = "{sha}" }} }}' for f, sha in files)
        text += f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\nwheels = [{entries}]\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def lock(wheels, tmp_path_factory):
    return write_lock(tmp_path_factory.mktemp("lock") / "pylock.toml", PACKAGES)


def no_host_python(tmp_path):
    """An environment where strata finds no host python3.12: PATH without pyenv's shims or any
    pythonX.Y, PYENV_ROOT empty."""
    (tmp_path / "empty-pyenv").mkdir(exist_ok=True)
    return {**os.environ, "PATH": "/usr/bin:/bin", "PYENV_ROOT": str(tmp_path / "empty-pyenv")}


def run_json(*args, env=None, check=True):
    proc = strata("--json", *args, check=check, env=env)
    return proc, json.loads(proc.stdout) if proc.stdout.strip() else None


def files_of(root):
    return {k: v for k, v in relative_files(root).items() if not k.startswith(".strata/")}


def entry_point(path):
    """What a console-script launcher runs: its import and its call."""
    return [line for line in path.read_text().splitlines() if line.startswith(("from ", "    sys.exit("))]


def test_target_dir_equals_pip_target_for_aarch64(tmp_path, lock, wheels):
    if os.uname().machine == "aarch64":
        pytest.skip("the point is a foreign platform")
    ours, theirs = tmp_path / "strata-target", tmp_path / "pip-target"
    _, report = run_json("install", lock, "--target", ours, *TARGET, "--find-links", wheels, "--offline",
                         "--cache-dir", tmp_path / "cache", env=no_host_python(tmp_path))
    assert report["ok"] is True
    assert sorted(r["wheel"] for r in report["results"]) == sorted(WHEELS)
    assert report["target"]["described"] is True and report["target"]["root"] == str(ours)
    assert report["bytecode"]["compiled"] is False and "python3.12" in report["bytecode"]["skipped_because"]
    assert "no bytecode" in report["summary"]

    subprocess.run([venv_python(), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                    "--only-binary=:all:", "--platform", "manylinux2014_aarch64", "--python-version", "3.12",
                    "--implementation", "cp", "--no-compile", "--no-index", "--find-links", wheels,
                    "--target", theirs, *[f"{n}=={v}" for n, v, _ in PACKAGES]],
                   check=True, timeout=300, env=pip_env())

    a, b = files_of(ours), relative_files(theirs)
    assert len(b) > 800  # numpy's tree
    assert sorted(set(a) ^ set(b)) == []
    launchers = {"bin/f2py", "bin/numpy-config"}
    assert launchers <= set(b)
    assert {k.split("/")[0] for k in b} == {"bin", "numpy", "numpy.libs", "numpy-2.2.6.dist-info", "markupsafe",
                                            "MarkupSafe-3.0.2.dist-info", "six.py", "six-1.17.0.dist-info"}
    differing = sorted(k for k in a if a[k] != b[k] and not k.endswith(VOLATILE) and k not in launchers)
    assert differing == []
    for launcher in launchers:
        assert entry_point(ours / launcher) == entry_point(theirs / launcher) != [], launcher
        assert (ours / launcher).read_text().startswith("#!/usr/local/bin/python3.12\n")
    assert not list(ours.rglob("*.pyc"))
    # The installed extension modules are aarch64 ones.
    so = next((ours / "markupsafe").glob("_speedups*.so"))
    assert so.name == "_speedups.cpython-312-aarch64-linux-gnu.so"

    # A second run changes nothing and says so.
    _, again = run_json("install", lock, "--target", ours, *TARGET, "--find-links", wheels, "--offline",
                        "--cache-dir", tmp_path / "cache", env=no_host_python(tmp_path))
    assert again["summary"].startswith("Nothing to do")
    assert files_of(ours) == a


def test_bytecode_with_a_host_interpreter_of_that_version(tmp_path, wheels):
    """--python-version 3.11 on this host's platform: Debian's /usr/bin/python3.11 compiles."""
    host = pathlib.Path("/usr/bin/python3.11")
    if not os.access(host, os.X_OK):
        pytest.skip("no /usr/bin/python3.11")
    six_lock = write_lock(tmp_path / "six" / "pylock.toml", [p for p in PACKAGES if p[0] == "six"])
    ours = tmp_path / "t"
    _, report = run_json("install", six_lock, "--target", ours, "--python-version", "3.11", "--platform",
                         "linux/amd64", "--find-links", wheels, "--offline", "--cache-dir", tmp_path / "cache",
                         env=no_host_python(tmp_path))
    assert report["bytecode"] == {"compiled": True, "interpreter": str(host), "skipped_because": ""}
    assert (ours / "__pycache__" / "six.cpython-311.pyc").is_file()
    out = subprocess.run([str(host), "-c", "import six; print(six.__file__)"], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ours)}, timeout=60)
    assert out.stdout.strip() == str(ours / "six.py")


def test_prefix_uses_the_described_scheme(tmp_path, lock, wheels):
    ours = tmp_path / "prefix"
    _, report = run_json("install", lock, "--prefix", ours, *TARGET, "--find-links", wheels, "--offline",
                         "--cache-dir", tmp_path / "cache", env=no_host_python(tmp_path))
    assert report["target"]["purelib"] == str(ours / "lib/python3.12/site-packages")
    site = ours / "lib/python3.12/site-packages"
    assert (site / "numpy" / "__init__.py").is_file() and (site / "six.py").is_file()
    assert (ours / "bin" / "f2py").read_text().startswith("#!/usr/local/bin/python3.12\n")


def test_plan_check_fetch_export_and_debug_take_the_flags(tmp_path, lock, wheels):
    common = ["--cache-dir", tmp_path / "cache"]
    _, check = run_json("check", lock, *TARGET, *common)
    assert check["ok"] is True, check
    _, fetched = run_json("fetch", lock, *TARGET, "--find-links", wheels, "--offline", "--dest", tmp_path / "dest",
                          *common)
    assert sorted(f["filename"] for f in fetched["files"]) == sorted(WHEELS)
    assert fetched["target"]["described"] is True
    # musllinux: the musl wheels, which are not there (offline): the error names one.
    proc, _ = run_json("fetch", lock, "--python-version", "3.12", "--platform", "musllinux_1_2_aarch64",
                       "--find-links", wheels, "--offline", *common, check=False)
    assert proc.returncode != 0 and "numpy-2.2.6-cp312-cp312-musllinux_1_2_aarch64.whl" in proc.stderr
    exported = strata("export", lock, "--format", "requirements", *TARGET, *common).stdout
    assert "numpy==2.2.6" in exported and "on linux aarch64" in exported
    run_json("plan", lock, "--out", tmp_path / "plan", *TARGET, *common, "--offline")
    layers = json.loads((tmp_path / "plan" / "plan.json").read_text())["layers"]
    assert sorted(p["name"] for layer in layers for p in layer["packages"]) == ["markupsafe", "numpy", "six"]
    # A platform with no wheel of numpy is a problem naming it (exit 3).
    proc, result = run_json("check", lock, "--python-version", "3.12", "--platform", "macosx_14_0_arm64", *common,
                            check=False)
    assert proc.returncode == 3 and any("numpy" in p for p in result["problems"])

    _, debug = run_json("debug", *TARGET)
    assert debug["described"] is True
    assert debug["tags"][:3] == ["cp312-cp312-linux_aarch64", "cp312-cp312-manylinux_2_28_aarch64",
                                 "cp312-cp312-manylinux_2_27_aarch64"]
    assert debug["markers"]["platform_machine"] == "aarch64" and debug["markers"]["python_version"] == "3.12"
    assert debug["interpreter"]["paths"]["purelib"] == "/usr/local/lib/python3.12/site-packages"
    human = strata("debug", "--python-version", "3.11", "--platform", "linux/arm64").stderr
    assert "manylinux_2_28_aarch64" in human and "Marker environment" in human


@pytest.mark.parametrize("flags, names", [
    (["--python", "/usr/bin/python3"], ["--python", "--python-version"]),
    (["--env", "VENV", "--python-version", "PY", "--platform", "linux/arm64"], ["--env", "--platform"]),
    (["--env", "VENV", "--platform", "linux/amd64", "--python-version", "3.9"], ["--env", "--python-version"]),
    (["--platform-only"], ["--platform", "--python-version"]),
    ([], ["--prefix", "--target"]),
    (["--target", "T", "--prefix", "P"], ["--target", "--prefix"]),
])
def test_combinations_that_make_no_sense_are_usage_errors(tmp_path, lock, flags, names):
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", venv], check=True)
    host_version = subprocess.run(["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                  capture_output=True, text=True, check=True).stdout.strip()
    argv = [str(venv) if f == "VENV" else str(tmp_path / f) if f in ("T", "P") else host_version if f == "PY" else f
            for f in flags]
    if argv == ["--platform-only"]:
        argv = ["--platform", "linux/arm64", "--target", str(tmp_path / "t")]
    elif "--python-version" not in argv:
        argv += TARGET
    proc = strata("install", lock, *argv, "--cache-dir", tmp_path / "cache", check=False)
    assert proc.returncode == 2, proc.stderr
    for name in names:
        assert name in proc.stderr, (name, proc.stderr)
    assert not (tmp_path / "t").exists() and not (tmp_path / "T").exists()


@pytest.mark.parametrize("platform, version, wanted", [
    ("manylinux_2_28_aarch6", "3.12", "aarch6"),
    ("linux/arm64", "3.1x", "3.1x"),
    ("windows", "3.12", "windows"),
])
def test_bad_values_are_usage_errors_naming_them(tmp_path, lock, platform, version, wanted):
    proc = strata("check", lock, "--python-version", version, "--platform", platform, "--cache-dir",
                  tmp_path / "cache", check=False)
    assert proc.returncode == 2 and wanted in proc.stderr, proc.stderr
