"""Cold fetch of ~40 real wheels from a loopback pypiserver: `strata fetch` against
`pip download --no-deps` of the same files from the same server, in the same run.

Usage: .testenv/bin/python bench/fetch_vs_pip.py STRATA_BIN [ROUNDS]
Wheels come from the integration tests' stable cache (STRATA_TEST_WHEELS, default
~/.cache/strata-test-wheels/fetch-v1; run integration/test_fetch.py once to fill it)."""

import hashlib
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

strata = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
wheel_dir = pathlib.Path(os.environ.get("STRATA_TEST_WHEELS",
                                        pathlib.Path.home() / ".cache" / "strata-test-wheels" / "fetch-v1"))
wheels = sorted(wheel_dir.glob("*.whl"))
python = sys.executable

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen(["timeout", "900", python, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port),
                           "-a", ".", "-P", ".", str(wheel_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    index = f"http://127.0.0.1:{port}/simple/"
    work = pathlib.Path(tempfile.mkdtemp(prefix="strata-bench-"))
    lines = ['lock-version = "1.0"', 'created-by = "bench"', ""]
    reqs = []
    total = 0
    for w in wheels:
        name, version = w.name.split("-")[:2]
        data = w.read_bytes()
        total += len(data)
        lines += ["[[packages]]", f'name = "{name}"', f'version = "{version}"', 'index = "https://pypi.org/simple"',
                  f'wheels = [{{name = "{w.name}", url = "https://files.pythonhosted.org/packages/00/00/{w.name}", '
                  f'size = {len(data)}, hashes = {{sha256 = "{hashlib.sha256(data).hexdigest()}"}}}}]', ""]
        reqs.append(f"{name}=={version}")
    (work / "pylock.toml").write_text("\n".join(lines))
    (work / "requirements.txt").write_text("\n".join(reqs) + "\n")

    def timed(argv):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    strata_times, strata4_times, pip_times = [], [], []
    for i in range(rounds):
        cache = work / f"cache-{i}"
        strata_times.append(timed([strata, "fetch", str(work / "pylock.toml"), "--python", "/usr/bin/python3",
                                   "--cache-dir", str(cache), "--index-url", index]))
        shutil.rmtree(cache)
        # pypiserver's default wsgiref server is single-threaded with a listen backlog of 5: more
        # parallel connects than that get their SYN dropped and retried by the kernel after 1s.
        strata4_times.append(timed([strata, "fetch", str(work / "pylock.toml"), "--python", "/usr/bin/python3",
                                    "--cache-dir", str(cache), "--index-url", index, "--jobs", "4"]))
        dest = work / f"pip-{i}"
        pip_times.append(timed([python, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-cache-dir",
                                "--no-deps", "--only-binary=:all:", "--index-url", index, "-d", str(dest),
                                "-r", str(work / "requirements.txt")]))
        got = len(list(dest.glob("*.whl")))
        assert got == len(wheels), f"pip downloaded {got} of {len(wheels)}"
        shutil.rmtree(cache)
        shutil.rmtree(dest)
    print(f"{len(wheels)} wheels, {total / 2**20:.1f} MiB, loopback pypiserver, cold, {rounds} rounds")
    print(f"strata fetch:             median {statistics.median(strata_times):.2f}s  all {['%.2f' % t for t in strata_times]}")
    print(f"strata fetch --jobs 4:    median {statistics.median(strata4_times):.2f}s  all {['%.2f' % t for t in strata4_times]}")
    print(f"pip download --no-deps:   median {statistics.median(pip_times):.2f}s  all {['%.2f' % t for t in pip_times]}")
    shutil.rmtree(work)
finally:
    server.terminate()
    server.wait(timeout=10)
