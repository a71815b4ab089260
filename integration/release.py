"""The release binary and Debian root filesystems, for the tests that run strata as a user's image
would: integration/test_release.py.

- `release_binary()`: scripts/release.sh's static strata of this source tree, built once per source
  hash into ~/.cache/strata-release/bin/<hash>/strata (STRATA_RELEASE_CACHE moves the directory; an
  flock serialises modules that ask at once). The hash covers what the build reads: CMakeLists.txt,
  src/, layers/ and scripts/release.sh. `release_unavailable()` says why it cannot be built here
  (not x86_64, no deb-src lines): `require_release_binary()` skips then, except under CI, where
  it fails.
- `debian_rootfs(suite)`: a tarball of `debootstrap --variant=minbase --include=python3,python3-venv
  SUITE` (Debian's archive; a minute or two each, once), cached in
  ~/.cache/strata-test-images/debian-SUITE-python-vN.tar (STRATA_TEST_IMAGES moves it; bump
  ROOTFS_VERSION when the recipe changes).
- `unpack(tarball, dest, members=())`: the tree (or some of its paths), unpacked (as root, device
  nodes and owners kept).
"""

import fcntl
import hashlib
import os
import pathlib
import platform
import shutil
import subprocess

SOURCE = pathlib.Path(os.environ.get("STRATA_SOURCE_DIR", pathlib.Path(__file__).resolve().parent.parent))
ROOTFS_VERSION = "v2"
MIRROR = "http://deb.debian.org/debian"


def release_cache():
    d = pathlib.Path(os.environ.get("STRATA_RELEASE_CACHE", pathlib.Path.home() / ".cache" / "strata-release"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def image_cache():
    d = pathlib.Path(os.environ.get("STRATA_TEST_IMAGES", pathlib.Path.home() / ".cache" / "strata-test-images"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def release_unavailable():
    """Why scripts/release.sh cannot run here, or None."""
    if platform.machine() != "x86_64":
        return f"release builds are for x86_64 (this is {platform.machine()})"
    if not shutil.which("dpkg-source"):
        return "dpkg-source is missing (scripts/setup.sh installs dpkg-dev)"
    showsrc = subprocess.run(["apt-cache", "showsrc", "curl"], capture_output=True, text=True, timeout=60)
    if "Package: curl" not in showsrc.stdout:
        return "apt has no deb-src lines (scripts/setup.sh adds them)"
    return None


def require_release_binary():
    """release_binary(), or a skip (a failure under CI) when it cannot be built here."""
    import pytest
    why = release_unavailable()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the release build must run in CI: {why}")
        pytest.skip(why)
    return release_binary()


def source_hash():
    h = hashlib.sha256()
    files = [SOURCE / "CMakeLists.txt", SOURCE / "scripts" / "release.sh"]
    for top in ("src", "layers"):
        files += sorted(p for p in (SOURCE / top).rglob("*") if p.is_file())
    for f in files:
        h.update(str(f.relative_to(SOURCE)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:20]


def aarch64_unavailable():
    """Why `scripts/release.sh --arch aarch64` cannot run here, or None."""
    why = release_unavailable()
    if why:
        return why
    for tool in ("aarch64-linux-gnu-g++", "qemu-aarch64-static"):
        if not shutil.which(tool):
            return f"{tool} is missing (STRATA_SETUP_AARCH64=1 scripts/setup.sh installs it)"
    if not pathlib.Path("/usr/lib/aarch64-linux-gnu/libssl.a").is_file():
        return "no arm64 static libraries (STRATA_SETUP_AARCH64=1 scripts/setup.sh installs them)"
    return None


def release_binary(arch="x86_64"):
    """The static strata of this source tree for `arch` (built when its hash is new; the old ones
    of that arch are removed)."""
    bins = release_cache() / ("bin" if arch == "x86_64" else f"bin-{arch}")
    bins.mkdir(exist_ok=True)
    key = source_hash()
    binary = bins / key / "strata"
    with open(bins / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.is_file():
            for old in bins.iterdir():
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
            out = bins / f"{key}.partial"
            shutil.rmtree(out, ignore_errors=True)
            proc = subprocess.run([SOURCE / "scripts" / "release.sh", "--arch", arch, out], capture_output=True,
                                  text=True, timeout=3600)
            assert proc.returncode == 0, f"scripts/release.sh failed\n{proc.stdout}\n{proc.stderr[-6000:]}"
            os.replace(out, bins / key)
    return binary


def debian_rootfs(suite):
    """The cached tarball of a minimal Debian SUITE with python3 and python3-venv, made when missing."""
    tarball = image_cache() / f"debian-{suite}-python-{ROOTFS_VERSION}.tar"
    with open(image_cache() / f".{suite}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.is_file():
            return tarball
        work = image_cache() / f"{suite}.{os.getpid()}.rootfs"
        shutil.rmtree(work, ignore_errors=True)
        try:
            proc = subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv", suite,
                                   str(work), MIRROR], capture_output=True, text=True, timeout=1800)
            assert proc.returncode == 0, f"debootstrap {suite} failed\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            # apt's downloads and lists: a third of the tree, and no test needs them.
            for d in ("var/cache/apt", "var/cache/apt/archives", "var/lib/apt/lists"):
                for p in (work / d).iterdir():
                    if p.is_file() and p.name != "lock":
                        p.unlink()
            partial = tarball.with_suffix(f".{os.getpid()}.partial")
            subprocess.run(["tar", "-C", str(work), "--numeric-owner", "-cf", str(partial), "."], check=True,
                           timeout=600)
            os.replace(partial, tarball)
        finally:
            subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False, timeout=600)
    return tarball


def unpack(tarball, dest, members=()):
    """The tree (or only `members`, paths as "./usr/bin/python3.11") unpacked into `dest`."""
    dest = pathlib.Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-C", str(dest), "--numeric-owner", "-xpf", str(tarball), *members], check=True,
                   timeout=600)
    return dest
