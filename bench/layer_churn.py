#!/usr/bin/env python3
"""Layer churn of `strata plan` on real lock histories (issue 11), run by hand.

Replays a lock's history, running `strata plan` once per snapshot into ONE persistent plan
directory, as CI keeping the planned directory would, and measures per transition:

- layers: how many layers the plan has;
- IBR: bytes of the layers whose manifests did not exist in the previous plan / bytes of all
  packages (every peer's one-layer image: 1.0);
- chain: bytes of every layer from the lowest changed position upwards / all (what Docker's layer
  cache and containerd's unpacking redo; a layer counts as changed at a position when the file
  there has another name or other bytes than before);
- oracle: bytes of the changed packages alone / all (one layer per package: the floor).

Totals: IBR and oracle summed over transitions (ratio = IBR / oracle), chain as the mean per
transition. It also re-plans every snapshot a second time into the same directory and checks that
every file stays byte-identical, and that a snapshot whose lock did not change gives the same files.

Sources:
  bench/layer_churn.py --history FILE.json.gz ...     (format: /work/shared/histories/README.md)
  bench/layer_churn.py --shared                       (every history in ../shared/histories)
  bench/layer_churn.py --git REPO --lock PATH         (every commit that changed PATH; poetry.lock
                                                       with its pyproject.toml, or a pylock.toml)
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parent.parent / "shared" / "histories"


def toml_str(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string for these values


def history_snapshots(path):
    """Yields (label, {filename: text}, {name: (version, sha256, size)}) per snapshot."""
    with gzip.open(path, "rt") as f:
        doc = json.load(f)
    artifacts = doc["artifacts"]
    for snap in doc["snapshots"]:
        lines = ['lock-version = "1.0"', 'created-by = "bench/layer_churn.py"', ""]
        packages = {}
        for i in sorted(snap["packages"], key=lambda i: (artifacts[i][0], artifacts[i][1])):
            name, version, filename, url, sha256, size = artifacts[i]
            packages[name] = (version, sha256, size or 0)
            entry = f"{{name = {toml_str(filename)}, url = {toml_str(url)}, size = {size or 0}, hashes = {{sha256 = {toml_str(sha256)}}}}}"
            lines.append("[[packages]]")
            lines.append(f"name = {toml_str(name)}")
            lines.append(f"version = {toml_str(version)}")
            if filename.endswith(".whl"):
                lines.append(f"wheels = [{entry}]")
            else:
                lines.append(f"sdist = {entry}")
            lines.append("")
        yield snap["commit"][:12], {"pylock.toml": "\n".join(lines)}, packages


def git_snapshots(repo, lock_path):
    """Every commit that changed lock_path, oldest first; sizes come from the plan itself."""
    commits = subprocess.run(["git", "-C", repo, "log", "--reverse", "--format=%H", "--", lock_path],
                             check=True, capture_output=True, text=True).stdout.split()
    lock_name = os.path.basename(lock_path)
    for commit in commits:
        files = {}
        files[lock_name] = subprocess.run(["git", "-C", repo, "show", f"{commit}:{lock_path}"], check=True,
                                          capture_output=True, text=True).stdout
        if lock_name == "poetry.lock":
            pyproject = os.path.join(os.path.dirname(lock_path), "pyproject.toml")
            shown = subprocess.run(["git", "-C", repo, "show", f"{commit}:{pyproject}"], capture_output=True,
                                   text=True)
            if shown.returncode != 0:
                continue
            files["pyproject.toml"] = shown.stdout
        yield commit[:12], files, None


def run_plan(args, lock_dir, out_dir):
    cmd = [args.strata, "--json", "plan", str(lock_dir), "--out", str(out_dir), "--python", args.python]
    if args.policy:
        cmd += ["--policy", args.policy]
    for flag in args.plan_arg:
        cmd.append(flag)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"strata plan failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return json.loads(proc.stdout)


def read_dir(out_dir):
    return {p.name: p.read_bytes() for p in sorted(Path(out_dir).iterdir()) if p.is_file()}


def packages_of(plan):
    """{name: (version, size)} from plan.json; sizes as the plan knows them."""
    out = {}
    for layer in plan["layers"]:
        for p in layer["packages"]:
            out[p["name"]] = (p["version"], p["size"] or 0)
    return out


def replay(args, label, snapshots):
    work = Path(tempfile.mkdtemp(prefix="layer-churn-"))
    lock_dir, out_dir = work / "lock", work / "plan"
    lock_dir.mkdir()
    rows, prev, problems = [], None, []
    try:
        for tag, files, _ in snapshots:
            for old in lock_dir.iterdir():
                old.unlink()
            for name, text in files.items():
                (lock_dir / name).write_text(text)
            result = run_plan(args, lock_dir, out_dir)
            plan = result["plan"]
            files_now = read_dir(out_dir)
            again = run_plan(args, lock_dir, out_dir)
            if read_dir(out_dir) != files_now:
                problems.append(f"{tag}: re-planning the same lock changed files")
            lock_key = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
            cur = {"plan": plan, "files": files_now, "lock": lock_key, "packages": packages_of(plan)}
            if prev is not None:
                if prev["lock"] == lock_key and prev["files"] != files_now:
                    problems.append(f"{tag}: the lock did not change but the plan's files did")
                rows.append(transition(tag, prev, cur))
            prev = cur
            del again
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows, problems


def transition(tag, prev, cur):
    layers = cur["plan"]["layers"]
    total = sum(l["bytes"] for l in layers) or 1
    old_shas = {l["manifest-sha256"] for l in prev["plan"]["layers"]}
    ibr = sum(l["bytes"] for l in layers if l["manifest-sha256"] not in old_shas) / total
    old_at = [(l["file"], l["manifest-sha256"]) for l in prev["plan"]["layers"]]
    lowest = len(layers)
    for i, l in enumerate(layers):
        if i >= len(old_at) or old_at[i] != (l["file"], l["manifest-sha256"]):
            lowest = i
            break
    chain = sum(l["bytes"] for l in layers[lowest:]) / total
    before = prev["packages"]
    changed = [n for n, (v, _) in cur["packages"].items() if before.get(n, (None,))[0] != v]
    oracle = sum(cur["packages"][n][1] for n in changed) / total
    return {"tag": tag, "layers": len(layers), "ibr": ibr, "chain": chain, "oracle": oracle,
            "changed_packages": len(changed), "bytes": total}


def report(label, rows, problems, verbose):
    if verbose:
        print(f"\n{label}")
        print(f"{'transition':<14}{'layers':>7}{'pkgs':>6}{'IBR':>8}{'oracle':>8}{'chain':>8}")
        for r in rows:
            print(f"{r['tag']:<14}{r['layers']:>7}{r['changed_packages']:>6}{r['ibr']:>8.3f}{r['oracle']:>8.3f}"
                  f"{r['chain']:>8.3f}")
    n = len(rows) or 1
    ibr = sum(r["ibr"] for r in rows)
    oracle = sum(r["oracle"] for r in rows)
    summary = {"history": label, "transitions": len(rows), "max_layers": max((r["layers"] for r in rows), default=0),
               "ibr": ibr, "oracle": oracle, "ratio": ibr / oracle if oracle else float("nan"),
               "chain": sum(r["chain"] for r in rows) / n, "identical": not problems, "problems": problems}
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--history", action="append", default=[], help="a history .json.gz")
    ap.add_argument("--shared", action="store_true", help=f"every history in {DEFAULT_SHARED}")
    ap.add_argument("--git", help="a git repository whose lock history to replay")
    ap.add_argument("--lock", help="with --git: the lock's path in the repository")
    ap.add_argument("--strata", default=str(HERE.parent / "build" / "strata"))
    ap.add_argument("--python", default=os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3.12"),
                    help="target interpreter (the histories pick CPython 3.12 manylinux x86_64 wheels)")
    ap.add_argument("--policy", help="a layer policy instead of the default")
    ap.add_argument("--plan-arg", action="append", default=[], help="extra argument for strata plan")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every transition")
    ap.add_argument("--json", action="store_true", help="print the summaries as JSON")
    args = ap.parse_args()

    sources = [(Path(h).name.removesuffix(".json.gz"), history_snapshots(h)) for h in args.history]
    if args.shared:
        for h in sorted(DEFAULT_SHARED.glob("*.json.gz")):
            sources.append((h.name.removesuffix(".json.gz"), history_snapshots(h)))
    if args.git:
        if not args.lock:
            ap.error("--git needs --lock PATH")
        sources.append((f"{args.git}:{args.lock}", git_snapshots(args.git, args.lock)))
    if not sources:
        ap.error("name a --history, --shared or --git")

    summaries = []
    for label, snapshots in sources:
        rows, problems = replay(args, label, snapshots)
        summaries.append(report(label, rows, problems, args.verbose))
    if args.json:
        print(json.dumps(summaries, indent=2))
        return
    print(f"\n{'history':<36}{'trans':>6}{'layers':>7}{'IBR':>8}{'oracle':>8}{'IBR/or':>8}{'chain':>8}  same")
    for s in summaries:
        print(f"{s['history']:<36}{s['transitions']:>6}{s['max_layers']:>7}{s['ibr']:>8.3f}{s['oracle']:>8.3f}"
              f"{s['ratio']:>8.2f}{s['chain']:>8.3f}  {'yes' if s['identical'] else 'NO'}")
        for p in s["problems"]:
            print(f"  {p}")
    print("targets (issue 11): layers <= 32, IBR/oracle <= 1.3, chain <= 0.19, same = yes")


if __name__ == "__main__":
    main()
