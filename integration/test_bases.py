"""Bases as they really are, each against a real interpreter: Debian's /usr/bin/python3 with
python3-six in /usr/lib/python3/dist-packages (legacy egg-info, no RECORD) — seen, kept when the
lock agrees, shadowed and never written with --allow-replace from a --system-site-packages venv;
a local-version build in the base (a stand-in torch 2.5.1+cu124 wheel made here, installed by pip)
kept for the lock's public 2.5.1, --exact to require the locked build; egg-info directories and
files, .egg-link development installs, PEP 660 editables, .pth directories, names with dots and
underscores and two copies of one distribution, each compared with what importlib.metadata reads."""

import base64
import hashlib
import json
import os
import pathlib
import re
import subprocess
import zipfile

import pytest

from support import pip_env, strata
from test_owners import wheel_dir, WHEELS  # noqa: F401  (real six wheels from PyPI, pinned)

PYTHON = "/usr/bin/python3"
DIST_PACKAGES = pathlib.Path("/usr/lib/python3/dist-packages")
SIX_EGG_INFO = DIST_PACKAGES / "six-1.16.0.egg-info"

# importlib.metadata's view: the first distribution of each normalized name on sys.path.
METADATA_VIEW = r"""
import importlib.metadata as m, json, re, sys
seen = {}
for d in m.distributions():
    name = re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower()
    seen.setdefault(name, [d.version, str(d._path)])
print(json.dumps(seen))
"""


def importlib_view(python, cwd):
    out = subprocess.run([python, "-c", METADATA_VIEW], capture_output=True, text=True, check=True, timeout=60,
                         cwd=cwd)
    return json.loads(out.stdout)


def strata_view(tmp_path, *target):
    env = dict(os.environ, STRATA_CACHE_DIR=str(tmp_path / "cache"))
    doc = json.loads(strata("--json", "list", *target, env=env).stdout)
    return {d["normalized_name"]: [d["version"], d["path"]] for d in doc["distributions"]}


def make_wheel(out, name, version, requires=()):
    """A stand-in wheel: one module whose __version__ is `version`, METADATA, WHEEL and RECORD."""
    stem = re.sub(r"[-_.]+", "_", name)
    dist_info = f"{stem}-{version}.dist-info"
    files = {f"{stem.lower()}/__init__.py": f"__version__ = {version!r}\n",
             f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                      + "".join(f"Requires-Dist: {r}\n" for r in requires),
             f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: strata-test\nRoot-Is-Purelib: true\n"
                                   "Tag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{dist_info}/RECORD"] = "\n".join(record + [f"{dist_info}/RECORD,,"]) + "\n"
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return wheel


def write_lock(directory, project, packages):
    """A pylock.toml of (name, version, wheel path, [(dependency, version)]) and a pyproject.toml
    naming `project`."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines = ['lock-version = "1.0"', 'created-by = "strata-test-bases"', ""]
    for name, version, wheel, deps in packages:
        sha = hashlib.sha256(pathlib.Path(wheel).read_bytes()).hexdigest()
        lines += ["[[packages]]", f'name = "{name}"', f'version = "{version}"']
        if deps:
            lines.append("dependencies = [" + ", ".join(f'{{name = "{d}", version = "{v}"}}' for d, v in deps) + "]")
        lines += [f'wheels = [{{name = "{pathlib.Path(wheel).name}", path = "{wheel}", hashes = {{sha256 = "{sha}"}}}}]',
                  ""]
    (directory / "pylock.toml").write_text("\n".join(lines))
    (directory / "pyproject.toml").write_text(f'[project]\nname = "{project}"\nversion = "1.0"\n')
    return directory / "pylock.toml"


def run_json(*args, expect=0):
    proc = strata("--json", *args, check=False)
    assert proc.returncode == expect, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def decisions(doc):
    return {d["name"]: d for d in doc["plan"]["decisions"]}


def tree_state(path):
    """Every entry under `path` (or the file itself) -> (size, mtime_ns, sha256 of files)."""
    path = pathlib.Path(path)
    entries = [path] + (sorted(path.rglob("*")) if path.is_dir() else [])
    return {str(p): (p.lstat().st_size, p.lstat().st_mtime_ns,
                     hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "") for p in entries}


debian_six = pytest.mark.skipif(not SIX_EGG_INFO.is_dir(), reason="needs Debian's python3-six (scripts/setup.sh)")


@debian_six
def test_the_system_interpreter_is_read_as_importlib_metadata_reads_it(tmp_path):
    # /usr/local/lib/python3.X/dist-packages, then /usr/lib/python3/dist-packages (egg-info
    # directories and files, dist-info without RECORD, a name shipped as both).
    ours = strata_view(tmp_path, "--python", PYTHON)
    theirs = importlib_view(PYTHON, tmp_path)
    assert ours["six"] == ["1.16.0", str(SIX_EGG_INFO)]
    def dist_packages(view):
        return {k: v for k, v in view.items() if "/dist-packages/" in v[1]}
    assert dist_packages(ours) == dist_packages(theirs) and dist_packages(ours)


@debian_six
def test_debian_packages_are_kept_and_never_written(tmp_path, wheel_dir):
    six16, six17 = (wheel_dir / WHEELS[("six", v)][0] for v in ("1.16.0", "1.17.0"))
    agrees = write_lock(tmp_path / "app", "app", [("six", "1.16.0", six16, [])])
    before = tree_state(SIX_EGG_INFO) | tree_state(DIST_PACKAGES / "six.py")
    cache = tmp_path / "cache"

    # The system interpreter as its own target: seen and kept, nothing to write.
    doc, _ = run_json("check", agrees, "--python", PYTHON, "--cache-dir", cache)
    six = decisions(doc)["six"]
    assert (six["action"], six["installed_path"], six["installed_owner"]) == ("keep", str(SIX_EGG_INFO), "unmanaged")

    # A venv with --system-site-packages over it: kept where it agrees...
    venv = tmp_path / "venv"
    subprocess.run([PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", venv], check=True, timeout=120)
    doc, _ = run_json("install", agrees, "--env", venv, "--cache-dir", cache)
    assert decisions(doc)["six"]["action"] == "keep" and decisions(doc)["six"]["in_base"] is True
    assert doc["summary"].startswith("Nothing to do: 1 package already installed")

    # ...a conflict where it does not, every word of it naming the base...
    bumped = write_lock(tmp_path / "app", "app", [("six", "1.17.0", six17, [])])
    doc, _ = run_json("install", bumped, "--env", venv, "--cache-dir", cache, expect=3)
    assert decisions(doc)["six"]["action"] == "conflict"
    assert f"in {DIST_PACKAGES}, outside the target's library directories" in doc["problems"][0]
    assert "--allow-replace to shadow it" in doc["problems"][0]

    # ...and shadowed, never modified, with --allow-replace.
    doc, _ = run_json("install", bumped, "--env", venv, "--cache-dir", cache, "--allow-replace")
    assert [(r["name"], r["action"]) for r in doc["results"]] == [("six", "replace")]
    assert doc["summary"].startswith("Installed 1 package (1 replaced")
    run = subprocess.run([venv / "bin/python", "-c", "import six; print(six.__version__, six.__file__)"],
                         capture_output=True, text=True, check=True, timeout=60)
    version, where = run.stdout.split()
    assert version == "1.17.0" and where.startswith(str(venv)), run.stdout
    assert tree_state(SIX_EGG_INFO) | tree_state(DIST_PACKAGES / "six.py") == before
    listed = json.loads(strata("--json", "list", "--env", venv, env=dict(os.environ, STRATA_CACHE_DIR=str(cache))).stdout)
    assert [d["path"] for d in listed["shadowed"] if d["normalized_name"] == "six"] == [str(SIX_EGG_INFO)]


def test_a_local_build_in_the_base_is_kept_and_exact_requires_the_locked_build(tmp_path):
    wheels = tmp_path / "wheels"
    cuda = make_wheel(wheels / "cuda", "torch", "2.5.1+cu124")
    public = make_wheel(wheels, "torch", "2.5.1")
    vision = make_wheel(wheels, "torchvision", "0.20.1", requires=["torch==2.5.1"])
    base = tmp_path / "base"  # as in NVIDIA's images: torch installed by pip, unmanaged
    subprocess.run([PYTHON, "-m", "venv", base], check=True, timeout=300)
    subprocess.run([base / "bin/python", "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    "--disable-pip-version-check", cuda], check=True, timeout=300, env=pip_env())
    lock = write_lock(tmp_path / "model", "model", [("torch", "2.5.1", public, []),
                                                     ("torchvision", "0.20.1", vision, [("torch", "2.5.1")])])
    cache = tmp_path / "cache"

    doc, _ = run_json("check", lock, "--env", base, "--cache-dir", cache)
    torch = decisions(doc)["torch"]
    assert (torch["action"], torch["local_build"], torch["installed_version"]) == ("keep", True, "2.5.1+cu124")
    assert "installed 2.5.1+cu124 satisfies the lock's 2.5.1" in torch["reason"]
    assert "1 kept (1 local build)" in doc["summary"]

    doc, _ = run_json("check", lock, "--env", base, "--cache-dir", cache, "--exact", expect=3)
    assert decisions(doc)["torch"]["action"] == "conflict" and "local_build" not in decisions(doc)["torch"]
    doc, _ = run_json("install", lock, "--env", base, "--cache-dir", cache, "--exact", expect=3)
    assert len(doc["problems"]) == 1 and doc["problems"][0].startswith("torch 2.5.1: 2.5.1+cu124 is installed")

    doc, stderr = run_json("install", lock, "--env", base, "--cache-dir", cache)
    assert doc["summary"].startswith("Installed 1 package (1 kept (1 local build)")
    assert "torch: installed 2.5.1+cu124 satisfies the lock's 2.5.1" in stderr
    assert [(r["name"], r["action"]) for r in doc["results"]] == [("torchvision", "install")]
    # The kept build satisfies its locked dependents, as pip sees it, and is the one imported.
    subprocess.run([base / "bin/python", "-m", "pip", "check", "--disable-pip-version-check"], check=True,
                   timeout=120, env=pip_env())
    run = subprocess.run([base / "bin/python", "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True, check=True, timeout=60)
    assert run.stdout.strip() == "2.5.1+cu124"


def write_dist(site, directory, name, version, metadata="METADATA", as_file=False):
    path = pathlib.Path(site) / directory
    text = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if as_file:
        path.write_text(text)
    else:
        path.mkdir(parents=True)
        (path / metadata).write_text(text)
    return path


def test_legacy_editable_and_pth_layouts_are_read_as_python_reads_them(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    write_dist(site, "Foo_Bar-1.0.dist-info", "Foo_Bar", "1.0")              # underscores
    write_dist(site, "zope.interface-5.4.0.dist-info", "zope.interface", "5.4.0")  # dots
    write_dist(site, "legacy-2.0.egg-info", "legacy", "2.0", metadata="PKG-INFO")  # egg-info directory
    write_dist(site, "single-3.0.egg-info", "single", "3.0", as_file=True)      # egg-info file
    # A PEP 660 editable: its dist-info here, its code where a .pth points.
    editable_src = tmp_path / "editable-src"
    (editable_src / "editable_pkg").mkdir(parents=True)
    editable = write_dist(site, "editable_pkg-0.1.dist-info", "editable-pkg", "0.1")
    (editable / "direct_url.json").write_text(json.dumps({"url": editable_src.as_uri(), "dir_info": {"editable": True}}))
    (site / "__editable__.editable_pkg-0.1.pth").write_text(f"{editable_src}\n")
    # A setuptools develop install: .egg-link, and the project directory in easy-install.pth.
    develop = tmp_path / "develop-src"
    write_dist(develop, "devpkg.egg-info", "devpkg", "0.5", metadata="PKG-INFO")
    (site / "devpkg.egg-link").write_text(f"{develop}\n.")
    (site / "easy-install.pth").write_text(f"import sys; sys.__plen = len(sys.path)\n{develop}\n# a comment\n")
    # A .pth directory with a second copy of one distribution: the site dir's copy comes first.
    extra = tmp_path / "extra"
    write_dist(site, "dup-1.0.dist-info", "dup", "1.0")
    write_dist(extra, "dup-2.0.dist-info", "dup", "2.0")
    write_dist(extra, "only_extra-1.0.dist-info", "only-extra", "1.0")
    (site / "zz-extra.pth").write_text("../../../../extra\n/nonexistent/dir\n")

    ours = strata_view(tmp_path, "--env", venv)
    theirs = importlib_view(venv / "bin/python", tmp_path)
    assert ours == theirs
    assert ours["devpkg"][0] == "0.5" and ours["only-extra"][0] == "1.0" and ours["dup"] == ["1.0", str(site / "dup-1.0.dist-info")]
    assert {"foo-bar", "zope-interface", "legacy", "single", "editable-pkg"} <= set(ours)

    # The overlay sees them too: a lock that agrees keeps every one.
    wheels = tmp_path / "wheels"
    lock = write_lock(tmp_path / "app", "app", [(n, v, make_wheel(wheels, n, v), []) for n, v in
                                                [("devpkg", "0.5"), ("only-extra", "1.0"), ("dup", "1.0"),
                                                 ("zope.interface", "5.4.0"), ("Foo_Bar", "1.0")]])
    doc, _ = run_json("check", lock, "--env", venv, "--cache-dir", tmp_path / "cache")
    assert {name: d["action"] for name, d in decisions(doc).items()} == {
        "devpkg": "keep", "only-extra": "keep", "dup": "keep", "zope-interface": "keep", "foo-bar": "keep"}
