"""build::Builder on real sdists from PyPI (pinned by sha256), through the test-only driver
strata_build_wheel, with build requirements from a loopback index of pinned PyPI wheels: one
sdist per backend (setup.py-only, setuptools pyproject, hatchling, flit-core, poetry-core, a C
extension), compared with pip's install of the same sdist; the built-wheel cache; failures;
build constraints; reproducibility."""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import urllib.request
import zipfile

import pytest

from support import SUMMARY, WHEEL_CACHE, Servers, pip_env, relative_files, serve_wheels

STRATA_BIN = pathlib.Path(os.environ.get("STRATA_BIN", "build/strata")).resolve()
DRIVER = STRATA_BIN.parent / "strata_build_wheel"
PYTHON = "/usr/bin/python3"
SDIST_CACHE = pathlib.Path.home() / ".cache" / "strata-test-sdists"
FILES = "https://files.pythonhosted.org/packages/"

# name -> (version, sdist URL tail, sha256, backend)
SDISTS = {
    "docopt": ("0.6.2", "a2/55/8f8cab2afd404cf578136ef2cc5dfb50baa1761b68c9da1fb1e4eed343c9/docopt-0.6.2.tar.gz",
               "49b3a825280bd66b3aa83585ef59c4a8c82f2c8a522dbe754a8bc8d08c85c491",
               "setuptools.build_meta:__legacy__"),
    "cachetools": ("5.5.0", "c3/38/a0f315319737ecf45b4319a8cd1f3a908e29d9277b46942263292115eee7/cachetools-5.5.0.tar.gz",
                   "2cc24fb4cbe39633fb7badd9db9ca6295d766d9c2995f245725a46715d050f2a", "setuptools.build_meta"),
    "colorama": ("0.4.6", "d8/53/6f443c9a4a8358a93a6792e2acffb9d9d5cb0a5cfd8802644b7b1c9a02e4/colorama-0.4.6.tar.gz",
                 "08695f5cb7ed6e0531a20572697297273c47b8cae5a63ffc6d6ed5c201be6e44", "hatchling.build"),
    "tomli": ("2.0.1", "c0/3f/d7af728f075fb08564c5949a9c95e44352e23dee646869fa104a3b2060a3/tomli-2.0.1.tar.gz",
              "de526c12914f0c550d15924c62d72abc48d6fe7364aa87328337a31007fe8a4f", "flit_core.buildapi"),
    "tomlkit": ("0.13.2", "b1/09/a439bec5888f00a54b8b9f05fa94d7f901d6735ef4e55dcec9bc37b5d8fa/tomlkit-0.13.2.tar.gz",
                "fff5fe59a87295b278abd31bec92c15d9bc4a06885ab12bcea52c71119392e79", "poetry.core.masonry.api"),
    "bitarray": ("2.9.2", "c7/bf/25cf92a83e1fe4948d7935ae3c02f4c9ff9cb9c13e977fba8af11a5f642c/bitarray-2.9.2.tar.gz",
                 "a8f286a51a32323715d77755ed959f94bef13972e9a2fe71b609e40e6d27957e", "setuptools.build_meta:__legacy__"),
}

# The build requirements the loopback index offers (PyPI wheels, pinned).
BUILD_WHEELS = {
    "setuptools-75.8.0-py3-none-any.whl": "e3982f444617239225d675215d51f6ba05f845d4eec313da4418fdbb56fb27e3",
    "wheel-0.45.1-py3-none-any.whl": "708e7481cc80179af0e556bbf0cc00b8444c7321e2700b8d8580231d13017248",
    "hatchling-1.25.0-py3-none-any.whl": "b47948e45d4d973034584dd4cb39c14b6a70227cf287ab7ec0ad7983408a882c",
    "packaging-24.2-py3-none-any.whl": "09abb1bccd265c01f4a3aa3f7a7db064b36514d2cba19a2f694fe6150451a759",
    "pathspec-0.12.1-py3-none-any.whl": "a0d503e138a4c123b27490a4f7beda6a01c6f288df0e4a8b79c7eb0dc7b4cc08",
    "pluggy-1.5.0-py3-none-any.whl": "44e1ad92c8ca002de6377e165f3e0f1be63266ab4d554740532335b9d75ea669",
    "trove_classifiers-2024.10.21.16-py3-none-any.whl":
        "0fb11f1e995a757807a8ef1c03829fbd4998d817319abcef1f33165750f103be",
    "flit_core-3.9.0-py3-none-any.whl": "7aada352fb0c7f5538c4fafeddf314d3a6a92ee8e2b1de70482329e42de70301",
    "poetry_core-1.9.1-py3-none-any.whl": "6f45dd3598e0de8d9b0367360253d4c5d4d0110c8f5c71120a14f0e0f116c1a0",
}

EXPECTED_REQUIREMENTS = {
    "docopt": ["setuptools==75.8.0", "wheel==0.45.1"],
    "cachetools": ["setuptools==75.8.0", "wheel==0.45.1"],
    "colorama": ["hatchling==1.25.0", "packaging==24.2", "pathspec==0.12.1", "pluggy==1.5.0",
                 "trove-classifiers==2024.10.21.16"],
    "tomli": ["flit-core==3.9.0"],
    "tomlkit": ["poetry-core==1.9.1"],
    "bitarray": ["setuptools==75.8.0", "wheel==0.45.1"],
}


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def download(url, target, expected):
    if not target.is_file() or sha256(target) != expected:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        with urllib.request.urlopen(url, timeout=120) as response:
            tmp.write_bytes(response.read())
        assert sha256(tmp) == expected, url
        tmp.replace(target)
    return target


@pytest.fixture(scope="module")
def index():
    wheels = WHEEL_CACHE / "build-core"
    wheels.mkdir(parents=True, exist_ok=True)
    missing = [f for f in BUILD_WHEELS if not (wheels / f).is_file()]
    if missing:
        pins = [f.split("-")[0] + "==" + f.split("-")[1] for f in missing]
        subprocess.run([PYTHON, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(wheels),
                        *pins], check=True, timeout=600, env=pip_env())
    for f, digest in BUILD_WHEELS.items():
        assert sha256(wheels / f) == digest, f
    # Only the pinned files are served (the directory may hold others).
    served = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"strata-build-core-index-{os.getpid()}"
    shutil.rmtree(served, ignore_errors=True)
    served.mkdir()
    for f in BUILD_WHEELS:
        shutil.copy(wheels / f, served / f)
    servers = Servers()
    try:
        yield serve_wheels(servers, served)
    finally:
        servers.stop()
        shutil.rmtree(served, ignore_errors=True)


@pytest.fixture(scope="module")
def sdists():
    out = {}
    for name, (version, tail, digest, _) in SDISTS.items():
        out[name] = download(FILES + tail, SDIST_CACHE / pathlib.Path(tail).name, digest)
    return out


def unpack(sdist, dest):
    """The sdist's single top directory, and its newest member mtime (SOURCE_DATE_EPOCH)."""
    with tarfile.open(sdist) as tar:
        members = tar.getmembers()
        assert all(not m.name.startswith("/") and ".." not in m.name.split("/") for m in members)
        tar.extractall(dest)  # pinned by sha256; no filter= on Python 3.11.2
    top = {m.name.split("/")[0] for m in members}
    assert len(top) == 1
    return dest / top.pop(), max(int(m.mtime) for m in members)


def build(tree, name, version, cache, index_url=None, *extra, epoch=None, key=None, env=None, check=True):
    argv = [str(DRIVER), "--python", PYTHON, "--cache", str(cache), "--tree", str(tree), "--name", name,
            "--source-key", key or f"dir:{tree}"]
    if version:
        argv += ["--version", version]
    if index_url:
        argv += ["--index-url", index_url]
    if epoch is not None:
        argv += ["--epoch", str(epoch)]
    argv += [str(x) for x in extra]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env)
    result = json.loads(proc.stdout)
    if check:
        assert proc.returncode == 0, result.get("error")
    else:
        assert proc.returncode != 0, result
    return result


def pip_installed_files(name, sdist, index_url, target):
    """pip's own install of the sdist (build isolation from the same loopback index; --no-binary
    for the package alone, as :all: would also refuse the build requirements' wheels)."""
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--no-deps", "--no-binary", name, "--no-compile",
                    "--use-pep517", "--index-url", index_url, "--target", str(target), str(sdist)], check=True,
                   timeout=900, env=pip_env())
    return target


def comparable(files):
    """Files a wheel's install and pip's install must agree on: everything but the records of
    the install itself; extension modules by name (their bytes carry the build directory)."""
    skip = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    out = {}
    for rel, digest in files.items():
        parts = pathlib.PurePath(rel).parts
        if parts[0].endswith(".dist-info") and parts[-1] in skip:
            continue
        if parts[0] == "bin":
            continue
        out[rel] = "extension" if rel.endswith(".so") else digest
    return out


@pytest.mark.parametrize("name", list(SDISTS))
def test_builds_each_backend_like_pip_and_caches(name, sdists, index, tmp_path):
    version, _, digest, backend = SDISTS[name]
    tree, epoch = unpack(sdists[name], tmp_path / "src")
    cache = tmp_path / "cache"
    first = build(tree, name, version, cache, index, epoch=epoch, key=f"sha256:{digest}")
    assert first["started"] and not first["cached"]
    assert first["backend"] == backend
    assert first["build_requirements"] == EXPECTED_REQUIREMENTS[name]
    assert first["filename"].startswith(f"{name}-{version}-")
    assert sha256(first["wheel"]) == first["sha256"]
    assert pathlib.Path(first["log"]).is_file()
    if name == "bitarray":
        assert "cp311-cp311-linux_x86_64" in first["filename"]  # built with gcc and Python.h

    second = build(tree, name, version, cache, index, epoch=epoch, key=f"sha256:{digest}")
    assert second["cached"] and not second["started"]
    assert second["sha256"] == first["sha256"] and second["wheel"] == first["wheel"]

    # The built wheel's files equal what pip installs from the same sdist.
    ours = tmp_path / "ours"
    with zipfile.ZipFile(first["wheel"]) as z:
        z.extractall(ours)
    pips = pip_installed_files(name, sdists[name], index, tmp_path / "pip")
    assert comparable(relative_files(ours)) == comparable(relative_files(pips))

    # Reproducible: the same source built from scratch in a cache elsewhere gives the same bytes
    # (SOURCE_DATE_EPOCH, the fixed build directory name, and compiled code naming its sources
    # relative to the cache: -ffile-prefix-map).
    elsewhere = tmp_path / "elsewhere" / "other-cache"
    again = build(tree, name, version, elsewhere, index, epoch=epoch, key=f"sha256:{digest}")
    assert not again["cached"]
    assert again["build_requirements"] == first["build_requirements"]
    SUMMARY.append(f"build {name} ({backend}): byte-identical rebuild in another cache: "
                   f"{'yes' if again['sha256'] == first['sha256'] else 'no'}; "
                   f"cold {first['duration_ms']} ms, again {again['duration_ms']} ms")
    assert again["sha256"] == first["sha256"], f"{name}: the wheel differs when built in another cache"


def write_tree(root, files):
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_failing_build_names_package_backend_and_log(index, tmp_path):
    tree = write_tree(tmp_path / "broken", {
        "setup.py": "import sys\nprint('compiling things')\nsys.exit('boom: deliberately broken')\n"})
    cache = tmp_path / "cache"
    result = build(tree, "broken", "1.0", cache, index, check=False)
    error = result["error"]
    assert "broken 1.0: build failed (backend setuptools.build_meta:__legacy__" in error
    assert "boom: deliberately broken" in error
    log = pathlib.Path(error.rsplit("full log: ", 1)[1].strip())
    assert log.is_file() and "compiling things" in log.read_text()
    assert not any((cache / "builds" / "wheels").rglob("*.whl"))


def test_missing_compiler_says_what_to_install(sdists, index, tmp_path):
    tree, epoch = unpack(sdists["bitarray"], tmp_path / "src")
    env = dict(os.environ, CC="/nonexistent/gcc")
    result = build(tree, "bitarray", "2.9.2", tmp_path / "cache", index, env=env, check=False)
    assert "bitarray 2.9.2 needs a C compiler (gcc) to build: on Debian, apt-get install build-essential" in \
        result["error"]


def test_missing_python_headers_say_what_to_install(sdists, index, tmp_path):
    tree, epoch = unpack(sdists["bitarray"], tmp_path / "src")
    cc = tmp_path / "gcc-without-python-headers"
    # gcc as on a machine without python3-dev: the interpreter's include directory is dropped.
    cc.write_text('#!/bin/sh\nfor a do\n  shift\n  case "$a" in -I*python3*) continue ;; esac\n'
                  '  set -- "$@" "$a"\ndone\nexec gcc "$@"\n')
    cc.chmod(0o755)
    env = dict(os.environ, CC=str(cc))
    result = build(tree, "bitarray", "2.9.2", tmp_path / "cache", index, env=env, check=False)
    assert "bitarray 2.9.2 needs the C headers of Python 3.11.2 (Python.h) to build: on Debian, apt-get install " \
        "build-essential python3-dev" in result["error"]


def test_timeout_stops_the_build(index, tmp_path):
    tree = write_tree(tmp_path / "slow", {"setup.py": "import time\ntime.sleep(120)\n"})
    result = build(tree, "slow", "1.0", tmp_path / "cache", index, "--timeout", "20", check=False)
    assert "timed out after 20 s" in result["error"]


def test_wrong_name_or_version_is_refused(index, tmp_path):
    tree = write_tree(tmp_path / "pkg", {
        "setup.py": "from setuptools import setup\nsetup(name='mypkg', version='1.0', py_modules=['mypkg'])\n",
        "mypkg.py": "X = 1\n"})
    result = build(tree, "mypkg", "2.0", tmp_path / "cache", index, check=False)
    assert "which is not the locked mypkg 2.0" in result["error"]
    ok = build(tree, "mypkg", "1.0.0", tmp_path / "cache", index)  # PEP 440-equal
    assert ok["filename"] == "mypkg-1.0-py3-none-any.whl"


def test_in_tree_backend_with_backend_path_and_no_requirements(tmp_path):
    backend = '''
import base64, hashlib, os, zipfile
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "intree-0.1-py3-none-any.whl"
    files = {"intree.py": b"X = 1\\n",
             "intree-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: intree\\nVersion: 0.1\\n",
             "intree-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    record = ""
    for p, data in files.items():
        h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\\n" % (p, h, len(data))
    record += "intree-0.1.dist-info/RECORD,,\\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for p, data in files.items():
            z.writestr(zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0)), data)
        z.writestr(zipfile.ZipInfo("intree-0.1.dist-info/RECORD", (1980, 1, 1, 0, 0, 0)), record)
    return name
'''
    tree = write_tree(tmp_path / "intree", {
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "mybackend"\nbackend-path = ["_backend"]\n',
        "_backend/mybackend.py": backend})
    result = build(tree, "intree", "0.1", tmp_path / "cache", None, "--offline")
    assert result["filename"] == "intree-0.1-py3-none-any.whl"
    assert result["build_requirements"] == [] and result["backend"] == "mybackend"
    # A second build of the same bytes gives the same wheel: the in-tree backend is reproducible.
    shutil.rmtree(tmp_path / "cache" / "builds" / "wheels")
    assert build(tree, "intree", "0.1", tmp_path / "cache", None, "--offline")["sha256"] == result["sha256"]


def test_unsatisfiable_build_requirements_name_both(index, tmp_path):
    tree = write_tree(tmp_path / "conflict", {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=70", "setuptools<60"]\n'
                          'build-backend = "setuptools.build_meta"\n'})
    error = build(tree, "conflict", "1.0", tmp_path / "cache", index, check=False)["error"]
    # The index has one setuptools (75.8.0), so "<60" alone fits nothing either: the message is
    # the no-wheel one, naming both (the two-sided conflict wording is unit-tested).
    assert 'no wheel of setuptools satisfying "setuptools>=70" (from pyproject.toml [build-system]) and ' \
           '"setuptools<60" (from pyproject.toml [build-system])' in error


def test_build_constraints_pin_and_refuse_unpinned(sdists, index, tmp_path):
    tree, epoch = unpack(sdists["docopt"], tmp_path / "src")
    constraints = tmp_path / "build-constraints.txt"
    constraints.write_text(
        "setuptools==75.8.0 \\\n    --hash=sha256:" + BUILD_WHEELS["setuptools-75.8.0-py3-none-any.whl"] + "\n"
        "wheel==0.45.1 \\\n    --hash=sha256:" + BUILD_WHEELS["wheel-0.45.1-py3-none-any.whl"] + "\n")
    ok = build(tree, "docopt", "0.6.2", tmp_path / "cache", index, "--build-constraints", constraints, epoch=epoch)
    assert ok["build_requirements"] == ["setuptools==75.8.0", "wheel==0.45.1"]
    constraints.write_text("setuptools==75.8.0 --hash=sha256:" + BUILD_WHEELS["setuptools-75.8.0-py3-none-any.whl"]
                           + "\n")
    error = build(tree, "docopt", "0.6.2", tmp_path / "cache2", index, "--build-constraints", constraints,
                  check=False)["error"]
    assert "build requirement wheel" in error and "is not pinned in the build constraints" in error
    constraints.write_text("setuptools==75.8.0 --hash=sha256:" + "0" * 64 + "\nwheel==0.45.1 --hash=sha256:"
                           + BUILD_WHEELS["wheel-0.45.1-py3-none-any.whl"] + "\n")
    error = build(tree, "docopt", "0.6.2", tmp_path / "cache3", index, "--build-constraints", constraints,
                  check=False)["error"]
    assert "build constraints pin setuptools==75.8.0, but the index has no wheel of it" in error


def test_concurrent_builds_of_one_source_share_one_entry(sdists, index, tmp_path):
    tree, epoch = unpack(sdists["tomli"], tmp_path / "src")
    cache = tmp_path / "cache"
    argv = [str(DRIVER), "--python", PYTHON, "--cache", str(cache), "--tree", str(tree), "--name", "tomli",
            "--version", "2.0.1", "--source-key", "sha256:x", "--index-url", index]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    results = [json.loads(p.communicate(timeout=600)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    assert len({r["sha256"] for r in results}) == 1
    assert sum(not r["cached"] for r in results) == 1  # one built, the others waited and found it
    assert len(list((cache / "builds" / "wheels").rglob("*.whl"))) == 1


def test_no_build_isolation_uses_the_target_interpreter(sdists, tmp_path):
    # The target venv has setuptools and wheel installed (from the pinned PyPI wheels).
    venv = tmp_path / "venv"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / "python3.11" / "site-packages"
    for f in ("setuptools-75.8.0-py3-none-any.whl", "wheel-0.45.1-py3-none-any.whl"):
        with zipfile.ZipFile(WHEEL_CACHE / "build-core" / f) as z:
            z.extractall(site)
    tree, epoch = unpack(sdists["docopt"], tmp_path / "src")
    proc = subprocess.run([str(DRIVER), "--python", str(venv / "bin" / "python"), "--cache", str(tmp_path / "cache"),
                           "--tree", str(tree), "--name", "docopt", "--version", "0.6.2", "--no-isolation",
                           "--offline"], capture_output=True, text=True, timeout=600)
    result = json.loads(proc.stdout)
    assert proc.returncode == 0, result
    assert result["build_requirements"] == []
    assert not (tmp_path / "cache" / "builds" / "envs").exists()  # no build environment made


def test_one_builder_builds_several_sources_on_threads(sdists, index, tmp_path):
    trees = {name: unpack(sdists[name], tmp_path / name)[0] for name in ("tomli", "colorama", "docopt")}
    proc = subprocess.run([str(DRIVER), "--python", PYTHON, "--cache", str(tmp_path / "cache"), "--tree",
                           str(trees["tomli"]), "--name", "tomli", "--version", "2.0.1", "--index-url", index,
                           "--also", "colorama", "0.4.6", str(trees["colorama"]),
                           "--also", "docopt", "0.6.2", str(trees["docopt"])],
                          capture_output=True, text=True, timeout=900)
    results = json.loads(proc.stdout)["results"]
    assert proc.returncode == 0, results
    assert [r["filename"].split("-")[0] for r in results] == ["tomli", "colorama", "docopt"]
    assert all(not r["cached"] for r in results)


def test_corrupt_cache_entry_is_discarded_and_rebuilt(sdists, index, tmp_path):
    tree, epoch = unpack(sdists["tomli"], tmp_path / "src")
    cache = tmp_path / "cache"
    first = build(tree, "tomli", "2.0.1", cache, index, epoch=epoch)
    pathlib.Path(first["wheel"]).write_bytes(b"not a wheel")
    again = build(tree, "tomli", "2.0.1", cache, index, epoch=epoch)
    assert not again["cached"] and again["sha256"] == first["sha256"]
    (pathlib.Path(again["wheel"]).parent / "meta.json").write_text("{")
    third = build(tree, "tomli", "2.0.1", cache, index, epoch=epoch)
    assert not third["cached"] and third["sha256"] == first["sha256"]
    assert build(tree, "tomli", "2.0.1", cache, index, epoch=epoch)["cached"]
