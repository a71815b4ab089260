#!/usr/bin/env python3
"""Rebuild after a one-package lock bump with the real Docker engine (issue 11): the layered
Dockerfile `strata plan --dockerfile` generates against the one-layer Dockerfile (a single
`strata install` RUN, dockerfiles/app.Dockerfile). Run by hand as root, never in CI:

    python3 bench/layer_rebuild.py --strata build/strata [--repeat 3]

Per repetition, on a fresh private dockerd (integration/images.py's Dockerd, its storage where
engine_dir puts it: /dev/shm when there is room, STRATA_TEST_ENGINE_TMP=disk for the disk; the
cached Debian 12 base, strata from scripts/bundle.sh) with a loopback pypiserver serving the locks' wheels:
 1. warm-up: the old and the new lock built one-layer with another spelling of the index URL (a
    build argument, so no layer of it is reused below), which fills the BuildKit cache mount with
    every wheel of both locks: the timed rebuilds download nothing;
 2. for each variant: the old lock built (layer cache filled), then the lock replaced by
    wide-bump-poetry2 (six 1.16.0 -> 1.17.0), re-planned into the same directory (layered) and
    rebuilt: the timed figure. Changed image bytes = the uncompressed size of the new image's
    layers that the old image does not have (`docker save`: what a push uploads and a pull
    downloads, before compression).
Prints one line per variant and repetition and the medians, as a Markdown table.
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--strata", default=str(REPO / "build" / "strata"))
    p.add_argument("--repeat", type=int, default=1)
    return p.parse_args()


ARGS = parse_args()
os.environ["STRATA_BIN"] = str(pathlib.Path(ARGS.strata).resolve())
os.environ["STRATA_SOURCE_DIR"] = str(REPO)
os.environ.setdefault("STRATA_TESTENV", str(REPO / ".testenv"))
sys.path.insert(0, str(REPO / "integration"))

from images import BASE_IMAGE, STRATA_IMAGE, Dockerd, base_archive, engine_dir, strata_bundle  # noqa: E402
from support import SERVER_LIFETIME, Servers, download_wheels, free_port, planned, serve_wheels, strata, \
    venv_python  # noqa: E402

PYTHON = "/usr/bin/python3"
LOCKS = REPO / "tests" / "fixtures" / "locks"
OLD, NEW = LOCKS / "wide-poetry2", LOCKS / "wide-bump-poetry2"
LAYERED = REPO / "dockerfiles" / "layered.Dockerfile"
ONE_LAYER = REPO / "dockerfiles" / "app.Dockerfile"


class Factory:
    """tmp_path_factory's mktemp for the images.py helpers."""

    def __init__(self, root):
        self.root = pathlib.Path(root)

    def mktemp(self, name):
        return pathlib.Path(tempfile.mkdtemp(prefix=name, dir=self.root))


def use_lock(context, lock):
    for f in ("pyproject.toml", "poetry.lock"):
        shutil.copyfile(lock / f, context / f)


def layer_sizes(d, image, scratch):
    """diff-id -> uncompressed layer size of `image` (docker save)."""
    tar = scratch / "save.tar"
    d("save", "-o", tar, image)
    sizes = {}
    with tarfile.open(tar) as t:
        manifest = json.load(t.extractfile("manifest.json"))[0]
        config = json.load(t.extractfile(manifest["Config"]))
        for layer, diff_id in zip(manifest["Layers"], config["rootfs"]["diff_ids"]):
            sizes[diff_id] = t.getmember(layer).size
    tar.unlink()
    return sizes


def variant(d, kind, servers, scratch):
    context = scratch / kind / "app"
    context.mkdir(parents=True)
    (context / "app.py").write_text("import six\nprint(six.__version__)\n")
    args = {"PYTHON_BASE": BASE_IMAGE, "STRATA_IMAGE": STRATA_IMAGE, "STRATA_INDEX_URL": servers["index"]}

    def prepare(lock):
        use_lock(context, lock)
        if kind == "layered":
            strata("plan", context, "--out", context / "layers", "--python", PYTHON, "--context", context,
                   "--dockerfile", LAYERED, "--strata-image", STRATA_IMAGE, "--index-url", servers["sizes"],
                   "--cache-dir", scratch / "plan-cache")
            return context / "layers" / "Dockerfile"
        return ONE_LAYER

    old = d.build(context, prepare(OLD), f"localhost/bench-{kind}:old", args)
    new = d.build(context, prepare(NEW), f"localhost/bench-{kind}:new", args)
    old_layers = layer_sizes(d, f"localhost/bench-{kind}:old", scratch)
    new_layers = layer_sizes(d, f"localhost/bench-{kind}:new", scratch)
    changed = {k: v for k, v in new_layers.items() if k not in old_layers}
    reran = [s for s in new["steps"] if not s["cached"] and not s["instruction"].startswith("FROM ")]
    return {"variant": kind, "first_build_s": old["seconds"], "rebuild_s": new["seconds"],
            "steps": len(new["steps"]), "reran": len(reran), "layers": len(new_layers),
            "image_bytes": sum(new_layers.values()), "changed_bytes": sum(changed.values()),
            "changed_layers": len(changed)}


def one_run(servers, bundle, archive_factory, root):
    d = Dockerd(engine_dir(Factory(root), "dockerd"))
    d.start()
    try:
        d.load_base(base_archive(archive_factory))
        d.import_tree(bundle, STRATA_IMAGE)
        # Warm the cache mount with every wheel of both locks (an unrelated tag, same cache id).
        warm = root / "warm"
        warm.mkdir()
        (warm / "app.py").write_text("")
        args = {"PYTHON_BASE": BASE_IMAGE, "STRATA_IMAGE": STRATA_IMAGE,
                "STRATA_INDEX_URL": servers["index"].replace("127.0.0.1", "localhost")}
        for lock in (OLD, NEW):
            use_lock(warm, lock)
            d.build(warm, ONE_LAYER, "localhost/bench-warm", args)
        return [variant(d, kind, servers, root) for kind in ("layered", "one-layer")]
    finally:
        d.stop()


def main():
    if os.geteuid() != 0:
        raise SystemExit("needs root (dockerd)")
    with tempfile.TemporaryDirectory(prefix="strata-layer-bench-") as tmp:
        root = pathlib.Path(tmp)
        factory = Factory(root)
        plans = [planned(lock, PYTHON, factory.mktemp("plan")) for lock in (OLD, NEW)]
        wheels = download_wheels("layers-v1", plans, PYTHON)
        s = Servers()
        try:
            index = serve_wheels(s, wheels)
            port = free_port()
            sizes = s.start([venv_python(), str(REPO / "integration" / "fault_server.py"), str(port), str(wheels),
                             SERVER_LIFETIME], port)
            servers = {"index": index, "sizes": f"{sizes}/json/simple/"}
            bundle = strata_bundle(factory)
            rows = []
            for i in range(ARGS.repeat):
                run = one_run(servers, bundle, factory, factory.mktemp(f"run{i}-"))
                for r in run:
                    print(json.dumps(r), flush=True)
                rows += run
        finally:
            s.stop()
    print()
    print("| variant | layers | steps re-run | rebuild s (median) | changed image bytes | of image bytes |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind in ("layered", "one-layer"):
        mine = [r for r in rows if r["variant"] == kind]
        med = statistics.median(r["rebuild_s"] for r in mine)
        last = mine[-1]
        print(f"| {kind} | {last['layers']} | {last['reran']}/{last['steps']} | {med:.1f} "
              f"({min(r['rebuild_s'] for r in mine):.1f}-{max(r['rebuild_s'] for r in mine):.1f}) | "
              f"{last['changed_bytes']:,} ({last['changed_layers']} layers) | {last['image_bytes']:,} |")


if __name__ == "__main__":
    main()
