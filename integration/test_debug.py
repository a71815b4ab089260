"""`strata debug` against every CPython on the machine, checked against `packaging` run inside
that interpreter: the same supported tags in the same order, the same marker environment."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

STRATA = os.environ["STRATA_BIN"]
TESTENV = Path(os.environ["STRATA_TESTENV"])
BUILD_DIR = Path(STRATA).resolve().parent

CANDIDATES = [f"/root/.pyenv/versions/{v}/bin/python3"
              for v in ("3.7.16", "3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0")]
CANDIDATES.append("/usr/bin/python3")
INTERPRETERS = [p for p in CANDIDATES if os.access(p, os.X_OK)]
# Python 3.6's newest packaging (21.3) predates the cp3X-none-any tag; only markers are compared.
PY36 = "/root/.pyenv/versions/3.6.15/bin/python3"

# packaging 26.3 needs Python >= 3.9; 26.2 is the newest release that supports 3.8 and 24.0 the
# newest for 3.7. The only difference in sys_tags() between those and 26.3 is that 26.3 puts the
# native linux_<arch> platforms before manylinux/musllinux (packaging issue #160);
# `as_26_3_order` applies that move.
PACKAGING_FOR = {(3, 6): "21.3", (3, 7): "24.0", (3, 8): "26.2"}
PACKAGING_DEFAULT = "26.3"

PACKAGING_SCRIPT = r"""
import json, sys, sysconfig
import packaging
from packaging import markers, tags
print(json.dumps({
    "packaging": packaging.__version__,
    "tags": [str(t) for t in tags.sys_tags()],
    "markers": markers.default_environment(),
    "paths": sysconfig.get_paths(),
    "prefix": sys.prefix,
}))
"""


def packaging_copy(version, py):
    """A pure-Python copy of packaging==version (and its dependencies for Python `py`),
    installed once under the build dir."""
    root = BUILD_DIR / "test-cache" / "packaging"
    target = root / f"{version}-py{py[0]}{py[1]}"
    if (target / "packaging" / "tags.py").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{version}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run([str(TESTENV / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", "--target", str(staging),
                    "--python-version", f"{py[0]}.{py[1]}", "--only-binary=:all:",
                    f"packaging=={version}"], check=True)
    try:
        staging.rename(target)
    except OSError:  # another run got there first
        shutil.rmtree(staging, ignore_errors=True)
    assert (target / "packaging" / "tags.py").is_file()
    return target


def python_version(python):
    out = subprocess.run([python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                         check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


def packaging_answers(python, cwd):
    py = python_version(python)
    version = PACKAGING_FOR.get(py, PACKAGING_DEFAULT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(packaging_copy(version, py))
    proc = subprocess.run([python, "-c", PACKAGING_SCRIPT], env=env, cwd=cwd,
                          capture_output=True, text=True, check=True)
    answers = json.loads(proc.stdout)
    assert answers["packaging"] == version
    return answers


def as_26_3_order(tag_strings):
    """Within each run of tags sharing interpreter and ABI, move linux_* platforms first (stable),
    which is how packaging 26.3 changed the order relative to 26.2."""
    out, run = [], []

    def flush():
        out.extend([t for t in run if t.split("-")[2].startswith("linux_")] +
                   [t for t in run if not t.split("-")[2].startswith("linux_")])
        run.clear()

    for tag in tag_strings:
        if run and run[0].split("-")[:2] != tag.split("-")[:2]:
            flush()
        run.append(tag)
    flush()
    return out


def strata_debug(python, cache_dir, *extra, check=True, env_extra=None):
    env = dict(os.environ, STRATA_CACHE_DIR=str(cache_dir))
    env.update(env_extra or {})
    args = [STRATA, "debug", "--json"] + ([] if python is None else ["--python", python]) + list(extra)
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)
    return proc


def test_enough_interpreters():
    assert len(INTERPRETERS) >= 3, f"found only {INTERPRETERS}"


@pytest.mark.parametrize("python", INTERPRETERS)
def test_tags_and_markers_match_packaging(python, tmp_path):
    ours = strata_debug(python, tmp_path / "cache")
    theirs = packaging_answers(python, tmp_path)
    expected_tags = theirs["tags"]
    if theirs["packaging"] != "26.3":
        expected_tags = as_26_3_order(expected_tags)
    assert len(ours["tags"]) == len(expected_tags)
    assert ours["tags"] == expected_tags
    assert ours["markers"] == theirs["markers"]

    interp = ours["interpreter"]
    assert interp["executable"] == python
    assert interp["prefix"] == theirs["prefix"]
    for name, path in theirs["paths"].items():
        assert interp["paths"][name] == path, name
    assert interp["version"] == theirs["markers"]["python_full_version"]
    assert interp["site_dirs"], "no site dirs found"
    assert interp["paths"]["purelib"] in interp["site_dirs"] or not os.path.isdir(interp["paths"]["purelib"])


@pytest.mark.skipif(not os.access(PY36, os.X_OK), reason="no Python 3.6 here")
def test_python36_probe_and_markers(tmp_path):
    ours = strata_debug(PY36, tmp_path / "cache")
    theirs = packaging_answers(PY36, tmp_path)
    assert ours["markers"] == theirs["markers"]
    assert ours["interpreter"]["paths"] == dict(theirs["paths"], headers=theirs["paths"]["include"])
    # 21.3 lacks only cp36-none-any (added in later packaging); everything else in 26.3 order.
    expected = as_26_3_order(theirs["tags"])
    expected.insert(expected.index("py36-none-any"), "cp36-none-any")
    assert ours["tags"] == expected


def test_venv_scheme_site_dirs_and_tags(tmp_path):
    base = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else INTERPRETERS[0]
    venv = tmp_path / "venv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    ours = strata_debug(python, tmp_path / "cache")
    interp = ours["interpreter"]
    major, minor = interp["version_info"][:2]
    assert interp["in_venv"] is True
    assert interp["prefix"] == str(venv)
    site = venv / "lib" / f"python{major}.{minor}" / "site-packages"
    assert interp["paths"]["purelib"] == str(site)
    assert interp["paths"]["scripts"] == str(venv / "bin")
    assert interp["paths"]["headers"] == str(venv / "include" / "site" / f"python{major}.{minor}")
    assert interp["site_dirs"] == [str(site)]
    theirs = packaging_answers(python, tmp_path)
    assert ours["markers"] == theirs["markers"]
    expected = theirs["tags"] if theirs["packaging"] == "26.3" else as_26_3_order(theirs["tags"])
    assert ours["tags"] == expected


def test_default_interpreter_is_first_python3_on_path(tmp_path):
    target = INTERPRETERS[-1]
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(target)
    ours = strata_debug(None, tmp_path / "cache", env_extra={"PATH": f"{bindir}:/usr/bin:/bin"})
    assert ours["interpreter"]["executable"] == str(bindir / "python3")
    assert ours["interpreter"]["real_executable"] == os.path.realpath(target)


def test_missing_interpreter_fails_naming_it(tmp_path):
    missing = str(tmp_path / "no-such-dir" / "python3")
    proc = strata_debug(missing, tmp_path / "cache", check=False)
    assert proc.returncode != 0
    assert missing in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and missing in doc["error"]["message"]

    proc = strata_debug("strata-no-such-python", tmp_path / "cache", check=False)
    assert proc.returncode != 0
    assert "strata-no-such-python" in proc.stderr


def test_second_run_uses_the_cache(tmp_path):
    python = INTERPRETERS[0]
    cache = tmp_path / "cache"
    first = strata_debug(python, cache)
    files = list((cache / "interpreters").iterdir())
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns

    second = strata_debug(python, cache)
    assert second == first
    assert files[0].stat().st_mtime_ns == mtime

    # Prove the answer comes from the file: an edit to the cached probe shows up in the output.
    doc = json.loads(files[0].read_text())
    doc["probe"]["markers"]["platform_release"] = "from-the-cache"
    files[0].write_text(json.dumps(doc))
    third = strata_debug(python, cache)
    assert third["markers"]["platform_release"] == "from-the-cache"

    # A corrupt cache file is ignored and rewritten with a fresh probe.
    files[0].write_text("{not json")
    fourth = strata_debug(python, cache)
    assert fourth == first
    assert json.loads(files[0].read_text())["probe"]["markers"] == first["markers"]


def test_human_output_lists_interpreter_and_tags(tmp_path):
    python = INTERPRETERS[0]
    env = dict(os.environ, STRATA_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([STRATA, "debug", "--python", python], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ours = strata_debug(python, tmp_path / "cache")
    assert python in proc.stderr
    assert ours["tags"][0] in proc.stderr
    assert ours["tags"][-1] not in proc.stderr  # only the first ten without -v
    verbose = subprocess.run([STRATA, "debug", "-v", "--python", python], env=env, capture_output=True, text=True)
    assert verbose.returncode == 0, verbose.stderr
    assert all(tag in verbose.stderr for tag in ours["tags"])
