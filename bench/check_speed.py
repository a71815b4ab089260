#!/usr/bin/env python3
"""`strata check` speed: a 300-package lock against a 300-package environment (issue 12: "well
under a second"). Run by hand, never in CI:

    python3 bench/check_speed.py --strata build/strata [--packages 300] [--conflicts 10] [--repeat 7]

It makes, under a temporary directory, a venv of /usr/bin/python3 holding N distributions
(.dist-info with METADATA, RECORD, INSTALLER; each requiring the next, as a real tree does), N small
wheels, and a pylock.toml locking all N (the last --conflicts at another version than installed),
then times `strata check LOCK --env VENV` (warm interpreter cache: one untimed run first) and prints
the median, min and max wall time, with the check's own counts.
"""

import argparse
import base64
import hashlib
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def metadata(name, version, requires):
    return (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            + "".join(f"Requires-Dist: {r}\n" for r in requires))


def make_env(root, n):
    venv = root / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", venv], check=True)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    for i in range(n):
        name, version = f"pkg{i:03d}", "1.0.0"
        requires = [f"pkg{i + 1:03d}>=1.0"] if i + 1 < n else []
        dist = site / f"{name}-{version}.dist-info"
        dist.mkdir()
        (site / name).mkdir()
        files = {f"{name}/__init__.py": b"", f"{dist.name}/METADATA": metadata(name, version, requires).encode(),
                 f"{dist.name}/INSTALLER": b"pip\n"}
        for rel, data in files.items():
            (site / rel).write_bytes(data)
        (dist / "RECORD").write_text("\n".join([record_line(p, d) for p, d in files.items()]
                                               + [f"{dist.name}/RECORD,,"]) + "\n")
    return venv


def make_lock(root, n, conflicts):
    wheels, lines = root / "wheels", ['lock-version = "1.0"', 'created-by = "bench/check_speed.py"', ""]
    wheels.mkdir()
    for i in range(n):
        name = f"pkg{i:03d}"
        version = "1.0.1" if i >= n - conflicts else "1.0.0"
        requires = [f"pkg{i + 1:03d}>=1.0"] if i + 1 < n else []
        wheel = wheels / f"{name}-{version}-py3-none-any.whl"
        dist_info = f"{name}-{version}.dist-info"
        files = {f"{name}/__init__.py": b"", f"{dist_info}/METADATA": metadata(name, version, requires).encode(),
                 f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
        files[f"{dist_info}/RECORD"] = ("\n".join([record_line(p, d) for p, d in files.items()]
                                                  + [f"{dist_info}/RECORD,,"]) + "\n").encode()
        with zipfile.ZipFile(wheel, "w") as z:
            for path, data in files.items():
                z.writestr(path, data)
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines += ["[[packages]]", f'name = "{name}"', f'version = "{version}"']
        if requires:
            lines.append(f'dependencies = [{{name = "pkg{i + 1:03d}"}}]')
        lines += [f'wheels = [{{name = "{wheel.name}", path = "{wheel}", hashes = {{sha256 = "{sha}"}}}}]', ""]
    (root / "app").mkdir()
    (root / "app" / "pyproject.toml").write_text('[project]\nname = "bench-app"\nversion = "1.0"\n')
    lock = root / "app" / "pylock.toml"
    lock.write_text("\n".join(lines))
    return lock


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strata", default="build/strata")
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--conflicts", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="strata-check-bench-") as tmp:
        root = pathlib.Path(tmp)
        venv, lock = make_env(root, args.packages), make_lock(root, args.packages, args.conflicts)
        argv = [args.strata, "--json", "check", str(lock), "--env", str(venv), "--cache-dir", str(root / "cache")]
        first = subprocess.run(argv, capture_output=True, text=True)
        doc = json.loads(first.stdout)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=False)
            times.append(time.perf_counter() - start)
        print(f"strata check: {args.packages}-package lock against a {args.packages}-package environment "
              f"({args.conflicts} conflicting), exit {first.returncode}: {doc['summary']}")
        print(f"wall time over {args.repeat} runs: median {statistics.median(times) * 1000:.1f} ms, "
              f"min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")
        return 0 if first.returncode == (3 if args.conflicts else 0) else 1


if __name__ == "__main__":
    sys.exit(main())
