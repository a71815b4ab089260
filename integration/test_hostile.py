"""The hostile wheel corpus (tests/fixtures/hostile, written by make_corpus.py): every case installed
by the real strata into a real venv through a pylock.toml of path wheels. A refused case must exit
with its code and error, write nothing outside the target, leave the environment as it was (file
tree, links and modes) and claim nothing installed; an allowed case must install.

The run ends with the figure "hostile wheels refused N/N" (pytest's terminal summary)."""

import hashlib
import json
import os
import pathlib
import stat
import subprocess

import pytest

from support import SUMMARY, strata, venv_python

SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
CORPUS = SOURCE / "tests" / "fixtures" / "hostile"
MANIFEST = json.loads((CORPUS / "cases.json").read_text())
CASES = {c["name"]: c for c in MANIFEST["cases"]}
PYTHON = "/usr/bin/python3"
RESULTS = {}


def snapshot(root, skip=()):
    """Every path under root (but `skip` subtrees) -> kind, mode and content hash or link target;
    strata's lock file and empty state directories do not count as changes."""
    root = pathlib.Path(root)
    out = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(rel.parts[:len(pathlib.Path(s).parts)] == pathlib.Path(s).parts for s in skip):
            continue
        st = p.lstat()
        if rel.parts[0] == ".strata" and (rel.name == "lock" or stat.S_ISDIR(st.st_mode)):
            continue
        if stat.S_ISLNK(st.st_mode):
            out[str(rel)] = ("link", os.readlink(p))
        elif stat.S_ISDIR(st.st_mode):
            out[str(rel)] = ("dir", stat.S_IMODE(st.st_mode))
        else:
            out[str(rel)] = ("file", stat.S_IMODE(st.st_mode), hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def listed(env):
    report = json.loads(strata("--json", "list", "--env", env).stdout)
    return sorted((d["name"], d["version"], d.get("owner")) for d in report["distributions"])


def write_lock(directory, entries):
    lines = ['lock-version = "1.0"', 'created-by = "strata-hostile-corpus"', ""]
    for e in entries:
        wheel = CORPUS / e["wheel"]
        lines += ["[[packages]]", f'name = "{e["name"]}"', f'version = "{e["version"]}"',
                  f'wheels = [{{name = "{wheel.name}", path = "{wheel}", hashes = {{sha256 = "{e["sha256"]}"}}}}]', ""]
    directory.mkdir(parents=True)
    (directory / "pylock.toml").write_text("\n".join(lines))
    return directory / "pylock.toml"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for every case: the interpreter is probed once; every corpus wheel has its own hash."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    refused = [n for n, r in RESULTS.items() if CASES[n]["expect"]["outcome"] == "refused"]
    held = [n for n in refused if RESULTS[n]]
    allowed = [n for n, r in RESULTS.items() if CASES[n]["expect"]["outcome"] == "installed"]
    SUMMARY.append(f"hostile wheels refused {len(held)}/{len(refused)}; "
                   f"allowed cases installed {sum(RESULTS[n] for n in allowed)}/{len(allowed)}")


def test_corpus_is_what_the_generator_writes():
    subprocess.run([venv_python(), CORPUS / "make_corpus.py", "--check"], check=True, timeout=120)


def run_case(c, tmp_path, cache):
    env = tmp_path / "env"
    strata("venv", env, "--python", PYTHON)
    if c["setup"]:
        subprocess.run([venv_python(), "-m", "pip", "--python", env / "bin" / "python", "install", "-q", "--no-deps",
                        "--disable-pip-version-check", "--no-index", *[CORPUS / w for w in c["setup"]]],
                       check=True, timeout=300)
    for rel, text in c["setup_files"].items():
        (env / rel).parent.mkdir(parents=True, exist_ok=True)
        (env / rel).write_text(text)
    lock = write_lock(tmp_path / "project", c["lock"])
    before_env, before_outside = snapshot(env), snapshot(tmp_path, skip=("env",))
    before_list = listed(env)
    args = ["--json", "install", lock.parent, "--env", env, "--cache-dir", cache, *c["args"]]
    if not c["compile"]:
        args.append("--no-compile")
    proc = strata(*args, check=False)
    return env, proc, before_env, before_outside, before_list


def check_case(c, tmp_path, cache):
    env, proc, before_env, before_outside, before_list = run_case(c, tmp_path, cache)
    expect = c["expect"]
    report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    for target in MANIFEST["absolute_targets"]:
        assert not os.path.lexists(target), f"{c['name']}: wrote {target}"
    assert snapshot(tmp_path, skip=("env",)) == before_outside, f"{c['name']}: wrote outside the target"
    if expect["outcome"] == "installed":
        assert proc.returncode == 0, proc.stderr
        assert {(e["name"], e["version"]) for e in c["lock"]} <= {(n, v) for n, v, _ in listed(env)}
        subprocess.run([env / "bin" / "python", "-c", "import sys"], check=True, timeout=60)
        return True
    message = json.dumps(report.get("error", {}).get("message", "")) + json.dumps(report.get("problems", []))
    assert proc.returncode == expect["exit_code"], f"{c['name']}: exit {proc.returncode}\n{proc.stderr}"
    assert report.get("ok") is False, proc.stdout
    assert expect["error"] in (report.get("error", {}).get("message", "") + "\n".join(report.get("problems", []))), message
    assert snapshot(env) == before_env, f"{c['name']}: the environment changed"
    assert listed(env) == before_list
    subprocess.run([env / "bin" / "python", "-c", "import sys"], check=True, timeout=60)
    return True


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name, tmp_path, cache, request):
    c = CASES[name]
    if c.get("known_defect"):
        request.applymarker(pytest.mark.xfail(reason=f"issue {c['known_defect']}", strict=True))
    RESULTS[name] = False
    RESULTS[name] = check_case(c, tmp_path, cache)
