"""Differential cases for targets without an interpreter (env/target_spec.hpp), answered by the
pinned `packaging` for an interpreter of that version, implementation and platform.

Writes OUTDIR/targets.json: {"cases": [...], "host": {...}}. Each case has the flags strata gets
("python_version", "platform", "implementation", "abi") and packaging's answer:
- "tags": the ordered wheel tags, cpython_tags(version, abis, platforms) (PyPy:
  generic_tags("ppXY", ["pypyXY_pp73"], platforms)) then compatible_tags(version, interpreter,
  platforms) — what sys_tags() yields on such an interpreter. The platforms are packaging's own
  platform_tags() for that machine: _manylinux.platform_tags / _musllinux.platform_tags with the C
  library's version patched in (and the ELF checks for armhf / i686 answered yes, as that
  interpreter's executable would), mac_platforms(version, arch) for macOS.
- "markers": the PEP 508 environment, from the same facts default_environment() reads
  (platform_release and platform_version are kernel facts a target cannot know: "").
"host" is the real testenv interpreter: its version, its platform as a manylinux tag (from the
running glibc), packaging's sys_tags() and default_environment(): strata's description of that
same interpreter must give the same tags and the same markers (but the kernel's two).
"""

from __future__ import annotations

import json
import pathlib
import platform
import random
import sys
from contextlib import contextmanager

from packaging import _manylinux, _musllinux, tags
from packaging.markers import default_environment

VERSIONS = ["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.12.4", "3.13.0rc1", "3.7.17"]
PYPY_VERSIONS = ["3.8", "3.9", "3.10", "3.11"]

# platform text → (system, arch, glibc, musl, macOS version)
PLATFORMS = {
    "manylinux_2_17_x86_64": ("Linux", "x86_64", (2, 17), None, None),
    "manylinux_2_28_x86_64": ("Linux", "x86_64", (2, 28), None, None),
    "manylinux_2_28_aarch64": ("Linux", "aarch64", (2, 28), None, None),
    "manylinux_2_39_aarch64": ("Linux", "aarch64", (2, 39), None, None),
    "manylinux_2_17_aarch64": ("Linux", "aarch64", (2, 17), None, None),
    "manylinux_2_31_armv7l": ("Linux", "armv7l", (2, 31), None, None),
    "manylinux_2_28_i686": ("Linux", "i686", (2, 28), None, None),
    "manylinux_2_34_ppc64le": ("Linux", "ppc64le", (2, 34), None, None),
    "manylinux_2_28_s390x": ("Linux", "s390x", (2, 28), None, None),
    "manylinux_2_39_riscv64": ("Linux", "riscv64", (2, 39), None, None),
    "manylinux_3_2_x86_64": ("Linux", "x86_64", (3, 2), None, None),
    "manylinux2014_x86_64": ("Linux", "x86_64", (2, 17), None, None),
    "manylinux2014_aarch64": ("Linux", "aarch64", (2, 17), None, None),
    "manylinux2010_x86_64": ("Linux", "x86_64", (2, 12), None, None),
    "manylinux1_x86_64": ("Linux", "x86_64", (2, 5), None, None),
    "musllinux_1_2_x86_64": ("Linux", "x86_64", None, (1, 2), None),
    "musllinux_1_1_aarch64": ("Linux", "aarch64", None, (1, 1), None),
    "musllinux_1_2_aarch64": ("Linux", "aarch64", None, (1, 2), None),
    "linux_x86_64": ("Linux", "x86_64", None, None, None),
    "linux_aarch64": ("Linux", "aarch64", None, None, None),
    # Aliases: OCI platforms and uv's --python-platform names mean glibc 2.28 (musl 1.2).
    "linux/amd64": ("Linux", "x86_64", (2, 28), None, None),
    "linux/arm64": ("Linux", "aarch64", (2, 28), None, None),
    "linux/arm64/v8": ("Linux", "aarch64", (2, 28), None, None),
    "linux/arm/v7": ("Linux", "armv7l", (2, 28), None, None),
    "linux/386": ("Linux", "i686", (2, 28), None, None),
    "linux/ppc64le": ("Linux", "ppc64le", (2, 28), None, None),
    "x86_64-unknown-linux-gnu": ("Linux", "x86_64", (2, 28), None, None),
    "aarch64-unknown-linux-musl": ("Linux", "aarch64", None, (1, 2), None),
    "aarch64-manylinux_2_31": ("Linux", "aarch64", (2, 31), None, None),
    "macosx_14_0_arm64": ("Darwin", "arm64", None, None, (14, 0)),
    "macosx_11_0_x86_64": ("Darwin", "x86_64", None, None, (11, 0)),
    "macosx_10_9_x86_64": ("Darwin", "x86_64", None, None, (10, 9)),
}


@contextmanager
def patched(module, **values):
    saved = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


def linux_platforms(arch, glibc, musl):
    out = [f"linux_{arch}"]
    with patched(_manylinux, _get_glibc_version=lambda: glibc or (-1, -1),
                 _is_linux_armhf=lambda executable: True, _is_linux_i686=lambda executable: True):
        out += list(_manylinux.platform_tags([arch]))
    with patched(_musllinux,
                 _get_musl_version=lambda executable: _musllinux._MuslVersion(*musl) if musl else None):
        out += list(_musllinux.platform_tags([arch]))
    return out


def split_version(text):
    parts = text.split(".")
    major, minor = int(parts[0]), int(parts[1])
    micro = parts[2] if len(parts) > 2 else "0"
    return major, minor, f"{major}.{minor}.{micro}"


def expected_tags(version, implementation, abi, system, arch, glibc, musl, mac):
    major, minor, _ = split_version(version)
    py = (major, minor)
    if system == "Darwin":
        platforms = list(tags.mac_platforms(mac, arch))
    else:
        platforms = linux_platforms(arch, glibc, musl)
    if implementation == "pp":
        out = list(tags.generic_tags(f"pp{major}{minor}", [f"pypy{major}{minor}_pp73"], platforms))
        out += list(tags.compatible_tags(py, "pp3", platforms))
    else:
        default_abi = f"cp{major}{minor}" + ("m" if py < (3, 8) else "")
        abis = [abi or default_abi]
        if abi.endswith("d") and py >= (3, 8):
            abis.append(abi[:-1])  # a debug build loads normal extension modules too
        out = list(tags.cpython_tags(py, abis, platforms))
        out += list(tags.compatible_tags(py, f"cp{major}{minor}", platforms))
    return [str(t) for t in out]


def expected_markers(version, implementation, system, arch):
    major, minor, full = split_version(version)
    pypy = implementation == "pp"
    return {
        "implementation_name": "pypy" if pypy else "cpython",
        "implementation_version": "" if pypy else full,
        "os_name": "posix",
        "platform_machine": arch,
        "platform_release": "",
        "platform_system": system,
        "platform_version": "",
        "python_full_version": full,
        "platform_python_implementation": "PyPy" if pypy else "CPython",
        "python_version": f"{major}.{minor}",
        "sys_platform": "darwin" if system == "Darwin" else "linux",
    }


def host_case():
    glibc = _manylinux._get_glibc_version()
    machine = platform.machine()
    return {
        "python_version": platform.python_version(),
        "platform": f"manylinux_{glibc[0]}_{glibc[1]}_{machine}",
        "implementation": "cp",
        "abi": "",
        "tags": [str(t) for t in tags.sys_tags()],
        "markers": default_environment(),
    }


def generate(outdir: pathlib.Path, rng: random.Random) -> None:
    del rng  # every combination, no sampling
    cases = []
    for text, (system, arch, glibc, musl, mac) in PLATFORMS.items():
        runs = [(v, "cp", "") for v in VERSIONS]
        runs += [("3.13", "cp", "cp313t"), ("3.12", "cp", "cp312d")]
        if system == "Linux":
            runs += [(v, "pp", "") for v in PYPY_VERSIONS]
        for version, implementation, abi in runs:
            cases.append({
                "python_version": version,
                "platform": text,
                "implementation": implementation,
                "abi": abi,
                "tags": expected_tags(version, implementation, abi, system, arch, glibc, musl, mac),
                "markers": expected_markers(version, implementation, system, arch),
            })
    host = host_case() if sys.platform == "linux" and _manylinux._get_glibc_version() != (-1, -1) else None
    (outdir / "targets.json").write_text(json.dumps({"cases": cases, "host": host}))
