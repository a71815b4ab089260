#!/usr/bin/env python3
"""`strata image --push` against `docker build` + `docker push` (issue 14), by hand as root, never in CI:

    python3 bench/image_push.py --strata build/strata [--workloads sci,web] [--tools strata,docker]

One loopback docker-registry (integration/registries.py: TLS from a test CA, htpasswd auth)
holding the cached Debian 12 python3 base (integration/images.py's archive, copied in by skopeo as
library/python:bookworm), and one loopback pypiserver serving the workloads' wheels
(~/.cache/strata-bench/wheels, as bench/run.py fills it; the bumped package's older wheel is
downloaded from PyPI once). Each workload's lock is the hashed requirements file bench/run.py
writes (~/.cache/strata-bench/requirements/W.txt); the bump replaces one pure-Python package by
its previous release.

- strata: `strata image LOCK --base REG/library/python:bookworm --push REG/bench/W:1 --plan DIR`,
  with an empty cache (cold: the base pulled, every wheel downloaded), then after the bump
  `--push REG/bench/W:2` with the same cache and plan (what a CI runner keeping its cache does).
- docker: a private dockerd with the base and the strata image (the cached release binary)
  loaded, `strata plan --dockerfile dockerfiles/layered.Dockerfile` then `docker build` + `docker
  push REG/bench/W-docker:1` (cold: empty BuildKit cache), then after the bump the re-planned
  Dockerfile built and pushed as :2 (layer cache and cache mount kept).

Bytes uploaded = the blobs the registry's storage gained (what went over the wire; mounts add none).
Prints one JSON line per run and a Markdown table.
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("STRATA_BENCH_CACHE", pathlib.Path.home() / ".cache" / "strata-bench"))
BUMP = {"sci": "threadpoolctl", "web": "idna"}  # pure-Python packages bumped back one release


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--strata", default=str(REPO / "build" / "strata"))
    p.add_argument("--workloads", default="sci,web")
    p.add_argument("--tools", default="strata,docker", help="strata, docker or both")
    return p.parse_args()


ARGS = parse_args()
os.environ["STRATA_BIN"] = str(pathlib.Path(ARGS.strata).resolve())
os.environ["STRATA_SOURCE_DIR"] = str(REPO)
os.environ.setdefault("STRATA_TESTENV", str(REPO / ".testenv"))
sys.path.insert(0, str(REPO / "integration"))

from images import BASE_IMAGE, STRATA_IMAGE, Dockerd, base_archive, engine_dir  # noqa: E402
from registries import PASSWORD, USER, make_pki, start_basic_registry  # noqa: E402
from support import Servers, pip_env, serve_wheels, venv_python  # noqa: E402


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class Factory:
    """tmp_path_factory's mktemp for the images.py helpers."""

    def __init__(self, root):
        self.root = pathlib.Path(root)

    def mktemp(self, name):
        return pathlib.Path(tempfile.mkdtemp(prefix=name, dir=self.root))


def stored_blobs(reg):
    """digest -> size of every blob in the registry's storage."""
    top = reg.log_path.parent / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256"
    return {d.name: (d / "data").stat().st_size for d in top.glob("*/*") if (d / "data").is_file()}


def bumped_lock(workload, wheels, scratch):
    """The workload's requirements with BUMP[workload] at its previous release (its wheel added to
    `wheels`); (old lock, new lock)."""
    old = CACHE / "requirements" / f"{workload}.txt"
    name = BUMP[workload]
    text = old.read_text()
    current = re.search(rf"^{name}==(\S+) ", text, re.M).group(1)
    d = CACHE / "image-bump" / workload
    d.mkdir(parents=True, exist_ok=True)
    if not list(d.glob("*.whl")):
        subprocess.run([venv_python(), "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--only-binary=:all:", "-d", str(d), f"{name}<{current}"], check=True, timeout=600,
                       env=pip_env())
    wheel = next(d.glob("*.whl"))
    version = wheel.name.split("-")[1]
    import hashlib
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    shutil.copy(wheel, wheels / wheel.name)
    new = re.sub(rf"^{name}==\S+ --hash=sha256:\S+$", f"{name}=={version} --hash=sha256:{sha}", text, flags=re.M)
    assert new != text
    for label, content in (("old", text), ("new", new)):
        (scratch / label / "app").mkdir(parents=True, exist_ok=True)
        (scratch / label / "app" / "requirements.txt").write_text(content)
    return scratch / "old" / "app" / "requirements.txt", scratch / "new" / "app" / "requirements.txt", \
        f"{name} {current} -> {version}"


def timed(argv, env=None):
    start = time.monotonic()
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env, timeout=3600)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, argv))}\n{proc.stdout}\n{proc.stderr}")
    return proc, seconds


def strata_runs(workload, locks, reg, index, pki, scratch, creds):
    env = {**os.environ, "STRATA_CA_FILE": str(pki / "ca.pem"), "HOME": str(scratch / "home")}
    (scratch / "home").mkdir(exist_ok=True)
    rows = []
    for tag, lock in (("1", locks[0]), ("2", locks[1])):
        before = stored_blobs(reg)
        proc, seconds = timed([ARGS.strata, "--json", "image", lock, "--base", f"{reg.host}/library/python:bookworm",
                               "--push", f"{reg.host}/bench/{workload}:{tag}", "--plan", scratch / "plan",
                               "--cache-dir", scratch / "cache", "--index-url", index, "--creds-file", creds], env)
        report = json.loads(proc.stdout)
        gained = {k: v for k, v in stored_blobs(reg).items() if k not in before}
        rows.append({"workload": workload, "tool": "strata image --push", "run": "cold" if tag == "1" else "bump",
                     "seconds": round(seconds, 2), "bytes_uploaded": sum(gained.values()),
                     "blobs_uploaded": len(gained), "strata_bytes_uploaded": report["push"]["bytes_uploaded"],
                     "layers": len(report["layers"]),
                     "uploaded_layers": sum(layer["action"] == "uploaded" for layer in report["layers"]),
                     "manifest": report["manifest"]["digest"]})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def docker_runs(workload, locks, reg, index, scratch, release_binary, archive_factory):
    d = Dockerd(engine_dir(Factory(scratch), "dockerd"))
    d.start()
    rows = []
    try:
        d.load_base(base_archive(archive_factory))
        tree = scratch / "strata-tree"
        tree.mkdir()
        shutil.copy(release_binary, tree / "strata")
        d.import_tree(tree, STRATA_IMAGE)
        d("login", "-u", USER, "--password-stdin", reg.host, input=PASSWORD)
        context = scratch / "context"
        context.mkdir()
        (context / "app.py").write_text("print('bench')\n")
        args = {"PYTHON_BASE": BASE_IMAGE, "STRATA_IMAGE": STRATA_IMAGE, "STRATA_INDEX_URL": index}
        for tag, lock in (("1", locks[0]), ("2", locks[1])):
            shutil.copy(lock, context / "requirements.txt")
            timed([ARGS.strata, "plan", context / "requirements.txt", "--out", context / "layers", "--python",
                   "/usr/bin/python3", "--context", context, "--dockerfile", REPO / "dockerfiles" / "layered.Dockerfile",
                   "--strata-image", STRATA_IMAGE, "--index-url", index, "--cache-dir", scratch / "plan-cache"])
            before = stored_blobs(reg)
            ref = f"{reg.host}/bench/{workload}-docker:{tag}"
            build = d.build(context, context / "layers" / "Dockerfile", ref, args)
            start = time.monotonic()
            d("push", ref, timeout=3600)
            push_seconds = time.monotonic() - start
            gained = {k: v for k, v in stored_blobs(reg).items() if k not in before}
            rows.append({"workload": workload, "tool": "docker build + docker push",
                         "run": "cold" if tag == "1" else "bump",
                         "seconds": round(build["seconds"] + push_seconds, 2),
                         "build_seconds": round(build["seconds"], 2), "push_seconds": round(push_seconds, 2),
                         "bytes_uploaded": sum(gained.values()), "blobs_uploaded": len(gained)})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        d.stop()
    return rows


def main():
    if os.geteuid() != 0:
        raise SystemExit("needs root (dockerd)")
    release = sorted((pathlib.Path.home() / ".cache" / "strata-release" / "bin").glob("*/strata"))
    tools = ARGS.tools.split(",")
    if "docker" in tools and not release:
        raise SystemExit("no release binary in ~/.cache/strata-release/bin (run integration/test_release.py once)")
    rows, bumps = [], {}
    with tempfile.TemporaryDirectory(prefix="strata-image-bench-") as tmp:
        root = pathlib.Path(tmp)
        factory = Factory(root)
        if release:  # a copy: another build may replace the cached one meanwhile
            shutil.copy(release[-1], root / "strata-release")
            release = [root / "strata-release"]
        pki = make_pki(factory.mktemp("pki"))
        reg = start_basic_registry(factory.mktemp("registry"), pki, lifetime=7200)
        servers = Servers()
        try:
            creds = root / "creds"
            creds.write_text(f"{USER}:{PASSWORD}\n")
            log("copying the base into the registry")
            subprocess.run(["skopeo", "copy", "-q", "--dest-creds", f"{USER}:{PASSWORD}", "--dest-cert-dir",
                            str(pki / "certs.d"), f"oci-archive:{base_archive(factory)}",
                            f"docker://{reg.host}/library/python:bookworm"], check=True, timeout=600)
            for workload in ARGS.workloads.split(","):
                wheels = factory.mktemp(f"wheels-{workload}")
                for w in (CACHE / "wheels" / workload).glob("*.whl"):
                    os.link(w, wheels / w.name)
                old, new, bumps[workload] = bumped_lock(workload, wheels, factory.mktemp(f"locks-{workload}"))
                index = serve_wheels(servers, wheels)
                if "strata" in tools:
                    log(f"{workload}: strata image --push")
                    rows += strata_runs(workload, (old, new), reg, index, pki, factory.mktemp(f"strata-{workload}"),
                                        creds)
                if "docker" in tools:
                    log(f"{workload}: docker build + docker push")
                    rows += docker_runs(workload, (old, new), reg, index, factory.mktemp(f"docker-{workload}"),
                                        release[-1], factory)
        finally:
            servers.stop()
            reg.stop()
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")
    print("| workload | bump | tool | run | seconds | bytes uploaded (blobs) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['workload']} | {bumps[r['workload']]} | {r['tool']} | {r['run']} | {r['seconds']:.1f} | "
              f"{r['bytes_uploaded']:,} ({r['blobs_uploaded']}) |")


if __name__ == "__main__":
    main()
