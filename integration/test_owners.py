"""Ownership with the real binary: the owner is the project (not the lock's path), one state file
per owner under <env>/.strata/owners/, an older strata's ledger.json migrated on read, packages a
lock dropped removed, and `install --layer` of layer manifests. Real PyPI wheels (downloaded once
by pip, pinned by sha256 below), referenced by path from hand-written pylock.toml files and
manifests; a real venv of Debian's python3."""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from support import WHEEL_CACHE, pip_env, relative_files, strata

PYTHON = "/usr/bin/python3"
WHEELS = {
    ("six", "1.16.0"): ("six-1.16.0-py2.py3-none-any.whl",
                        "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"),
    ("six", "1.17.0"): ("six-1.17.0-py2.py3-none-any.whl",
                        "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"),
    ("idna", "3.7"): ("idna-3.7-py3-none-any.whl",
                      "82fee1fc78add43492d3a1898bfa6d8a904cc97d8427f683ed8e798d07761aa0"),
    ("idna", "3.10"): ("idna-3.10-py3-none-any.whl",
                       "946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3"),
    ("pydantic", "2.9.2"): ("pydantic-2.9.2-py3-none-any.whl",
                            "f048cec7b26778210e28a0459867920654d48e5e62db0958433636cde4254f12"),
    ("pydantic-core", "2.23.4"): ("pydantic_core-2.23.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                                  "216f9b2d7713eb98cb83c80b9c794de1f6b7e3145eef40400c62e86cee5f4e1e"),
    ("pydantic-core", "2.27.2"): ("pydantic_core-2.27.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                                  "1c1fd185014191700554795c99b347d64f2bb637966c4cfc16998a0ca700d048"),
    ("typing-extensions", "4.12.2"): ("typing_extensions-4.12.2-py3-none-any.whl",
                                      "04e5ca0351e0f3f85c6853954072df659d0d13fac324d0072316b67d7794700d"),
    ("annotated-types", "0.7.0"): ("annotated_types-0.7.0-py3-none-any.whl",
                                   "1f02e8b43a8fbbc3f3e0d4f0f4bfc8131bcb4eebe8849b8e5c773f3a1c582a53"),
}
PLATFORM = [("pydantic", "2.9.2"), ("pydantic-core", "2.23.4"), ("typing-extensions", "4.12.2"),
            ("annotated-types", "0.7.0")]


@pytest.fixture(scope="module")
def wheel_dir():
    d = WHEEL_CACHE / "owners-v1"
    d.mkdir(parents=True, exist_ok=True)
    for (name, version), (filename, sha) in WHEELS.items():
        if not (d / filename).is_file():  # one pip call per wheel: several versions of a project
            subprocess.run([PYTHON, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                            "--only-binary=:all:", "-d", str(d), f"{name}=={version}"], check=True, timeout=600,
                           env=pip_env())
        assert hashlib.sha256((d / filename).read_bytes()).hexdigest() == sha, filename
    return d


def entries(wheel_dir, packages):
    return [(name, version, wheel_dir / WHEELS[(name, version)][0], WHEELS[(name, version)][1])
            for name, version in packages]


def write_project(directory, wheel_dir, packages, name=None):
    """A pylock.toml of `packages` in `directory`, and a pyproject.toml naming project `name`."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines = ['lock-version = "1.0"', 'created-by = "strata-test-owners"', ""]
    for pkg, version, path, sha in entries(wheel_dir, packages):
        lines += ["[[packages]]", f'name = "{pkg}"', f'version = "{version}"',
                  f'wheels = [{{name = "{path.name}", path = "{path}", hashes = {{sha256 = "{sha}"}}}}]', ""]
    (directory / "pylock.toml").write_text("\n".join(lines))
    pyproject = directory / "pyproject.toml"
    if name:
        pyproject.write_text(f'[project]\nname = "{name}"\nversion = "1.0"\n')
    elif pyproject.exists():
        pyproject.unlink()
    return directory / "pylock.toml"


def write_manifest(path, layer, wheel_dir, packages, sha_override=None, project=None):
    lines = ["manifest-version = 1", *([f'project = "{project}"'] if project else []), f'layer = "{layer}"', ""]
    for pkg, version, wheel, sha in entries(wheel_dir, packages):
        lines += ["[[packages]]", f'name = "{pkg}"', f'version = "{version}"', "",
                  "[[packages.artifacts]]", f'name = "{wheel.name}"', f'path = "{wheel}"',
                  f'hashes = {{ sha256 = "{(sha_override or {}).get(pkg, sha)}" }}', ""]
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(path).write_text("\n".join(lines))
    return path


def install(lock, env, *extra, check=True):
    proc = strata("--json", "install", *([lock] if lock else []), "--env", env, "--python", PYTHON,
                  "--cache-dir", pathlib.Path(env).parent / "cache", *extra, check=check)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip() else None)


def listed(env):
    doc = json.loads(strata("--json", "list", "--env", env).stdout)
    return {d["normalized_name"]: (d["version"], d["owner"]) for d in doc["distributions"]}, doc


def decision(report, name):
    return next(d for d in report["plan"]["decisions"] if d["name"] == name)


def snapshot(env):
    """Every path under env -> (kind, sha256 or target, inode, mtime_ns)."""
    out = {}
    for p in sorted(pathlib.Path(env).rglob("*")):
        st = p.lstat()
        rel = str(p.relative_to(env))
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p), st.st_ino, st.st_mtime_ns)
        elif p.is_dir():
            out[rel] = ("dir",)
        else:
            out[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest(), st.st_ino, st.st_mtime_ns)
    return out


def test_the_same_project_at_a_bumped_lock_replaces_its_own_packages(tmp_path, wheel_dir):
    env, app = tmp_path / "env", tmp_path / "app"
    _, first = install(write_project(app, wheel_dir, [("six", "1.16.0")], "Platform"), env)
    assert first["owner"] == "platform"
    _, bumped = install(write_project(app, wheel_dir, [("six", "1.17.0")], "Platform"), env)
    assert [(r["name"], r["action"], r["version"]) for r in bumped["results"]] == [("six", "replace", "1.17.0")]
    assert listed(env)[0]["six"] == ("1.17.0", "platform")
    assert (env / ".strata" / "owners" / "platform.json").is_file()


def test_another_project_at_the_same_path_is_a_conflict_that_names_what_would_break(tmp_path, wheel_dir):
    # The defect: a platform's lock and then a model's lock, both copied to the same /app path.
    env, app = tmp_path / "env", tmp_path / "app"
    install(write_project(app, wheel_dir, PLATFORM, "platform"), env)
    before = snapshot(env)
    model = write_project(app, wheel_dir, [("pydantic-core", "2.27.2"), ("typing-extensions", "4.12.2")], "model")
    proc, report = install(model, env, check=False)
    assert proc.returncode == 3, proc.stderr
    core = decision(report, "pydantic-core")
    assert (core["action"], core["installed_owner"]) == ("conflict", "platform")
    assert [(b["name"], b["version"], b["requirement"]) for b in core["breaks"]] == [
        ("pydantic", "2.9.2", "pydantic-core==2.23.4")]
    assert decision(report, "typing-extensions")["action"] == "keep"
    assert any("owned by platform" in p and "replacing it would break pydantic 2.9.2" in p for p in report["problems"])
    assert snapshot(env) == before
    run = subprocess.run([env / "bin" / "python", "-c", "import pydantic; print(pydantic.VERSION)"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "2.9.2", run.stderr


def test_a_pylock_without_a_project_is_owned_by_its_directory_and_owner_overrides(tmp_path, wheel_dir):
    env = tmp_path / "env"
    _, first = install(write_project(tmp_path / "svc_one", wheel_dir, [("six", "1.16.0")]), env)
    assert first["owner"] == "svc-one"
    other = write_project(tmp_path / "other", wheel_dir, [("six", "1.17.0")])
    proc, report = install(other, env, check=False)
    assert proc.returncode == 3, proc.stderr
    assert decision(report, "six")["installed_owner"] == "svc-one"
    _, forced = install(other, env, "--owner", "SVC_one")
    assert forced["owner"] == "svc-one"
    assert [(r["name"], r["action"]) for r in forced["results"]] == [("six", "replace")]
    bad = strata("install", other, "--env", env, "--owner", "../x", check=False)
    assert bad.returncode == 2 and '--owner "../x"' in bad.stderr, bad.stderr


def test_a_ledger_json_of_an_older_strata_keeps_working(tmp_path, wheel_dir):
    env, app = tmp_path / "env", tmp_path / "app"
    lock = write_project(app, wheel_dir, [("six", "1.16.0"), ("idna", "3.7")], "platform")
    install(lock, env)
    # Rewrite the state as strata wrote it before: one ledger.json, owners by lock path; idna
    # belongs to a lock elsewhere.
    owners = env / ".strata" / "owners"
    dists = json.loads((owners / "platform.json").read_text())["distributions"]
    for name, entry in dists.items():
        entry["owner"] = f"lock:{lock.resolve()}" if name == "six" else "lock:/elsewhere/poetry.lock"
    shutil.rmtree(owners)
    (env / ".strata" / "ledger.json").write_text(json.dumps({"format": 1, "distributions": dists}))
    assert listed(env)[0]["idna"] == ("3.7", "lock:/elsewhere/poetry.lock")

    _, again = install(lock, env)
    assert again["results"] == [] and again["plan"]["counts"]["keep"] == 2
    assert not (env / ".strata" / "ledger.json").exists()
    assert sorted(p.name for p in owners.iterdir()) == ["lock%3A%2Felsewhere%2Fpoetry%2Elock.json", "platform.json"]
    owned, doc = listed(env)
    assert owned["six"] == ("1.16.0", "platform")
    assert owned["idna"] == ("3.7", "lock:/elsewhere/poetry.lock")
    assert len(doc["state_files"]) == 2
    # The migrated packages are the project's own: a bump replaces them; the other lock's conflict.
    _, bumped = install(write_project(app, wheel_dir, [("six", "1.17.0"), ("idna", "3.7")], "platform"), env)
    assert [(r["name"], r["action"]) for r in bumped["results"]] == [("six", "replace")]
    proc, _ = install(write_project(app, wheel_dir, [("six", "1.17.0"), ("idna", "3.10")], "platform"), env,
                      check=False)
    assert proc.returncode == 3, proc.stderr


def test_packages_the_lock_dropped_are_removed_unless_keep_removed(tmp_path, wheel_dir):
    env, app = tmp_path / "env", tmp_path / "app"
    subprocess.run([PYTHON, "-m", "venv", env], check=True, timeout=300)  # with pip, for an unmanaged package
    install(write_project(tmp_path / "other", wheel_dir, [("annotated-types", "0.7.0")], "other"), env)
    install(write_project(app, wheel_dir, [("six", "1.16.0"), ("idna", "3.7")], "app"), env)
    subprocess.run([env / "bin" / "python", "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    "--disable-pip-version-check", wheel_dir / WHEELS[("typing-extensions", "4.12.2")][0]],
                   check=True, timeout=300)
    site = next(env.glob("lib/python3*/site-packages"))
    smaller = write_project(app, wheel_dir, [("six", "1.16.0")], "app")

    _, kept = install(smaller, env, "--keep-removed")
    assert kept["plan"]["removed"] == [{"name": "idna", "version": "3.7", "action": "keep",
                                        "reason": "no longer in the lock"}]
    assert kept["results"] == [] and (site / "idna").is_dir()

    _, dry = install(smaller, env, "--dry-run")
    assert [r["action"] for r in dry["plan"]["removed"]] == ["remove"] and (site / "idna").is_dir()

    _, removed = install(smaller, env)
    assert [(r["name"], r["action"]) for r in removed["results"]] == [("idna", "remove")]
    assert removed["summary"].startswith("Removed 1 package no longer locked (")
    assert not (site / "idna").exists() and not list(site.glob("idna-*.dist-info"))
    owned = listed(env)[0]
    assert "idna" not in owned
    assert owned["six"] == ("1.16.0", "app")
    assert owned["annotated-types"] == ("0.7.0", "other")  # another owner's: never removed
    assert owned["typing-extensions"][1] == "unmanaged"  # unmanaged: never removed
    _, again = install(smaller, env)
    assert again["results"] == [] and again["summary"].startswith("Nothing to do: 1 package already installed")


def test_a_second_owner_changes_no_file_the_first_wrote(tmp_path, wheel_dir):
    env = tmp_path / "env"
    install(write_project(tmp_path / "a", wheel_dir, [("six", "1.16.0")], "a"), env)
    first = snapshot(env)
    strata_entries = sorted(k for k in first if k.startswith(".strata"))
    assert strata_entries == [".strata", ".strata/owners", ".strata/owners/a.json"]
    install(write_project(tmp_path / "b", wheel_dir, [("idna", "3.7")], "b"), env)
    second = snapshot(env)
    changed = [k for k, v in first.items() if v[0] != "dir" and second.get(k) != v]
    assert changed == []
    added = sorted(set(second) - set(first))
    assert [k for k in added if k.startswith(".strata")] == [".strata/owners/b.json"]
    site = next(p for p in first if p.endswith("site-packages"))
    assert all(k.startswith(f"{site}/idna") or k == ".strata/owners/b.json" for k in added), added


def test_layers_install_their_own_packages_then_the_project_install_has_nothing_to_do(tmp_path, wheel_dir):
    env, plan = tmp_path / "env", tmp_path / "plan"
    base = write_manifest(plan / "00-base.toml", "base", wheel_dir, [("six", "1.16.0"), ("typing-extensions", "4.12.2")])
    web = write_manifest(plan / "01-web.toml", "web", wheel_dir, [("idna", "3.7")])
    _, report = install(None, env, "--layer", base)
    assert report["owner"] == "layer:base" and report["format"] == "manifest"
    before_web = snapshot(env)
    _, report = install(None, env, "--layer", web)
    assert [r["name"] for r in report["results"]] == ["idna"]
    owned = listed(env)[0]
    assert owned["six"] == ("1.16.0", "layer:base") and owned["idna"] == ("3.7", "layer:web")

    # The layers add up to the project's lock: its install keeps every package, writes nothing.
    project = write_project(tmp_path / "app", wheel_dir,
                            [("six", "1.16.0"), ("typing-extensions", "4.12.2"), ("idna", "3.7")], "webapp")
    state = snapshot(env)
    _, final = install(project, env)
    assert final["results"] == [] and final["plan"]["counts"] == {"install": 0, "keep": 3, "replace": 0,
                                                                  "conflict": 0}
    assert final["summary"].startswith("Nothing to do: 3 packages already installed")
    assert snapshot(env) == state
    assert sorted(p.name for p in (env / ".strata" / "owners").iterdir()) == ["layer%3Abase.json",
                                                                            "layer%3Aweb.json"]

    # The web layer's files are the same bytes without the base layer below it.
    alone = tmp_path / "alone" / "env"
    install(None, alone, "--layer", web)
    web_files = {k for k in set(snapshot(env)) - set(before_web) if snapshot(env)[k][0] == "file"}
    assert web_files, "the web layer added no files"
    ours, theirs = relative_files(env), relative_files(alone)
    assert {k: ours[k] for k in web_files if k in ours} == {k: theirs[k] for k in web_files if k in ours}

    # A later manifest of the same layer replaces its own package; another layer's is a conflict.
    _, bumped = install(None, env, "--layer", write_manifest(plan / "01-web.toml", "web", wheel_dir, [("idna", "3.10")]))
    assert [(r["name"], r["action"]) for r in bumped["results"]] == [("idna", "replace")]
    foreign = write_manifest(tmp_path / "other-plan" / "03-other.toml", "other", wheel_dir, [("six", "1.17.0")])
    proc, report = install(None, env, "--layer", foreign, check=False)
    assert proc.returncode == 3, proc.stderr
    assert decision(report, "six")["installed_owner"] == "layer:base"


def test_a_same_named_layer_of_another_project_is_a_conflict_its_own_project_replaces(tmp_path, wheel_dir):
    env = tmp_path / "env"
    shop = write_manifest(tmp_path / "shop" / "01-web.toml", "web", wheel_dir, [("idna", "3.7")], project="shop")
    _, report = install(None, env, "--layer", shop)
    assert report["owner"] == "layer:shop/web" and report["format"] == "manifest"
    before = snapshot(env)
    # Another project's plan has a layer of the same name: not the same owner, so no replacement.
    billing = write_manifest(tmp_path / "billing" / "01-web.toml", "web", wheel_dir, [("idna", "3.10")],
                             project="billing")
    proc, report = install(None, env, "--layer", billing, check=False)
    assert proc.returncode == 3, proc.stderr
    assert report["owner"] == "layer:billing/web"
    assert (decision(report, "idna")["action"], decision(report, "idna")["installed_owner"]) == ("conflict",
                                                                                                 "layer:shop/web")
    assert "idna" in proc.stderr and "layer:shop/web" in proc.stderr, proc.stderr
    assert snapshot(env) == before
    # The same project's later manifest of that layer replaces its own package.
    bumped = write_manifest(tmp_path / "shop" / "01-web.toml", "web", wheel_dir, [("idna", "3.10")], project="shop")
    _, report = install(None, env, "--layer", bumped)
    assert [(r["name"], r["action"]) for r in report["results"]] == [("idna", "replace")]
    assert listed(env)[0]["idna"] == ("3.10", "layer:shop/web")


def test_bad_layer_input_is_refused_and_changes_nothing(tmp_path, wheel_dir):
    env, plan = tmp_path / "env", tmp_path / "plan"
    install(None, env, "--layer", write_manifest(plan / "00-base.toml", "base", wheel_dir, [("six", "1.16.0")]))
    before = snapshot(env)
    edited = write_manifest(plan / "00-base.toml", "base", wheel_dir, [("six", "1.17.0")],
                            sha_override={"six": WHEELS[("six", "1.16.0")][1]})
    proc, _ = install(None, env, "--layer", edited, check=False)
    assert proc.returncode == 1 and "six-1.17.0-py2.py3-none-any.whl" in proc.stderr, proc.stderr
    assert snapshot(env) == before
    lock = write_project(tmp_path / "app", wheel_dir, [("six", "1.16.0")], "app")
    for args in (["--layer", lock], [lock, "--layer", edited], ["--layer", edited, "--owner", "x"]):
        proc = strata("install", *args, "--env", env, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
    assert snapshot(env) == before


# ---- the no-op stamp (plan/stamp.hpp) ----------------------------------------------------------

def without_run_fields(report):
    return {k: v for k, v in report.items() if k not in ("summary", "timings", "stamp")}


def test_an_unchanged_lock_on_an_unchanged_env_is_answered_from_the_stamp(tmp_path, wheel_dir):
    env, app = tmp_path / "env", tmp_path / "app"
    lock = write_project(app, wheel_dir, [("six", "1.16.0"), ("idna", "3.7")], "app")
    _, first = install(lock, env)
    assert first["stamp"]["answered"] is False and first["stamp"]["written"] is True
    stamp = pathlib.Path(first["stamp"]["path"])
    assert stamp.is_file() and stamp.parent == tmp_path / "cache" / "stamps"  # never inside the env
    assert not (env / ".strata" / "stamps").exists()
    stamp.unlink()  # the full path's no-op, to compare with
    _, full = install(lock, env)
    assert full["stamp"] == {"answered": False, "written": True, "path": str(stamp)} and full["results"] == []
    proc, stamped = install(lock, env, "-v")
    assert stamped["stamp"]["answered"] is True and stamped["results"] == []
    assert "answered from the stamp" in proc.stderr
    assert without_run_fields(stamped) == without_run_fields(full)
    assert stamped["summary"].startswith("Nothing to do: 2 packages already installed")
    # The same lock copied anew (another inode and ctime, the same bytes) still matches.
    copy = lock.with_suffix(".new")
    copy.write_bytes(lock.read_bytes())
    copy.replace(lock)
    assert install(lock, env)[1]["stamp"]["answered"] is True
    # Other flags are another stamp: the full path, which writes its own.
    _, other = install(lock, env, "--no-compile")
    assert other["stamp"]["answered"] is False and other["stamp"]["path"] != str(stamp)


def test_every_change_to_the_env_or_the_lock_falls_back_to_the_full_path(tmp_path, wheel_dir):
    env, app = tmp_path / "env", tmp_path / "app"
    subprocess.run([PYTHON, "-m", "venv", env], check=True, timeout=300)  # with pip
    lock = write_project(app, wheel_dir, [("six", "1.16.0"), ("idna", "3.7")], "app")
    install(lock, env)
    assert install(lock, env)[1]["stamp"]["answered"] is True
    site = next(env.glob("lib/python3*/site-packages"))

    def again():
        _, report = install(lock, env)
        assert report["stamp"]["answered"] is False, "the stamp hid a change"
        assert install(lock, env)[1]["stamp"]["answered"] is True  # the full path stamped it anew
        return report

    # pip removes a locked package: the full path installs it again.
    subprocess.run([env / "bin" / "python", "-m", "pip", "uninstall", "-q", "-y", "six"], check=True, timeout=300)
    assert [(r["name"], r["action"]) for r in again()["results"]] == [("six", "install")]
    # pip adds an unmanaged package: kept beside the lock's.
    subprocess.run([env / "bin" / "python", "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    "--disable-pip-version-check", wheel_dir / WHEELS[("typing-extensions", "4.12.2")][0]],
                   check=True, timeout=300)
    assert again()["results"] == []
    # A file removed from a dist-info directory.
    (next(site.glob("idna-3.7.dist-info")) / "WHEEL").unlink()
    assert again()["results"] == []
    # METADATA rewritten in place, same size: what is installed is now 3.8 as far as any reader can tell.
    metadata = next(site.glob("idna-3.7.dist-info")) / "METADATA"
    with open(metadata, "r+b") as f:
        text = f.read()
        f.seek(0)
        f.write(text.replace(b"\nVersion: 3.7\n", b"\nVersion: 3.8\n", 1))
    _, report = install(lock, env, check=False)
    assert report["stamp"]["answered"] is False
    assert [(d["name"], d.get("installed_version")) for d in report["plan"]["decisions"] if d["name"] == "idna"] \
        == [("idna", "3.8")]
    metadata.write_bytes(text)
    install(lock, env)
    # Another owner's install into the same environment.
    install(write_project(tmp_path / "other", wheel_dir, [("annotated-types", "0.7.0")], "other"), env)
    assert again()["results"] == []
    # Another owner's ledger only (its file rewritten, nothing else).
    ledger = env / ".strata" / "owners" / "other.json"
    ledger.write_text(ledger.read_text())
    assert again()["results"] == []
    # A new lock: the full path replaces what changed.
    lock = write_project(app, wheel_dir, [("six", "1.17.0"), ("idna", "3.7")], "app")
    assert [(r["name"], r["action"]) for r in again()["results"]] == [("six", "replace")]
    # The pyproject beside it (the owner's name) changed.
    (app / "pyproject.toml").write_text('[project]\nname = "renamed"\nversion = "1.0"\n')
    _, renamed = install(lock, env, check=False)
    assert renamed["stamp"]["answered"] is False and renamed["owner"] == "renamed"
