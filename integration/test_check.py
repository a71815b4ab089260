"""`strata check`: the real binary on the fixture locks. Conflicts with a base lock (exit 3, every
problem at once, naming the base), a lock as its own base (ok), a stale lock (warning; error with
--locked), caret/tilde lint (warning; exit 3 with --strict), and that check downloads and writes
nothing."""

import json
import os
import pathlib
import shutil
import subprocess

import pytest

SOURCE = pathlib.Path(os.environ.get("STRATA_SOURCE_DIR", pathlib.Path(__file__).resolve().parent.parent))
STRATA = os.environ.get("STRATA_BIN", str(SOURCE / "build/strata"))
PYTHON = pathlib.Path.home() / ".pyenv/versions/3.11.7/bin/python3.11"
LOCKS = SOURCE / "tests/fixtures/locks"

pytestmark = pytest.mark.skipif(not PYTHON.exists(), reason="needs pyenv's CPython 3.11.7")


def check(*args, env=None):
    proc = subprocess.run([STRATA, "--json", "check", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode in (0, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def tree(path):
    return sorted((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in pathlib.Path(path).rglob("*"))


def test_a_conflicting_base_is_exit_3_naming_the_base(tmp_path):
    rc, doc = check(LOCKS / "tooling-poetry2", "--base", LOCKS / "tooling-conflict-poetry2", "--python", PYTHON,
                    "--cache-dir", tmp_path / "cache")
    assert rc == 3 and doc["ok"] is False
    assert len(doc["problems"]) == 1
    assert doc["problems"][0].startswith("packaging 26.3: 24.1 is installed")
    assert "tooling-conflict-poetry2/poetry.lock" in doc["problems"][0]
    actions = {d["name"]: d["action"] for d in doc["plan"]["decisions"]}
    assert actions["packaging"] == "conflict"
    assert list(actions.values()).count("keep") == len(actions) - 1
    assert doc["bases"][0]["packages"] >= 9


def test_a_lock_is_its_own_base(tmp_path):
    rc, doc = check(LOCKS / "webapp-poetry2", "--base", LOCKS / "webapp-poetry2", "--python", PYTHON,
                    "--cache-dir", tmp_path / "cache")
    assert rc == 0 and doc["ok"] is True and doc["problems"] == []
    assert doc["format"] == "poetry"
    assert {d["action"] for d in doc["plan"]["decisions"]} == {"keep"}


def test_the_report_names_each_lock_format(tmp_path):
    for lock, name in [(LOCKS / "uv-webapp" / "uv.lock", "uv"), (LOCKS / "wide-pylock", "pylock")]:
        _, doc = check(lock, "--empty-env", "--python", PYTHON, "--cache-dir", tmp_path / "cache")
        assert doc["format"] == name, lock


def test_base_and_env_together_is_a_usage_error(tmp_path):
    proc = subprocess.run([STRATA, "check", LOCKS / "tooling-poetry2", "--base", LOCKS / "tooling-poetry2",
                           "--env", tmp_path / "venv"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--base and --env" in proc.stderr


def poetry_project(tmp_path, extra_dependency):
    project = tmp_path / "project"
    shutil.copytree(LOCKS / "tooling-poetry2", project)
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text + extra_dependency)
    return project


def test_a_stale_lock_is_a_warning_and_with_locked_an_error(tmp_path):
    project = poetry_project(tmp_path, "\n[tool.poetry.group.stale.dependencies]\nsix = \">=1.16\"\n")
    rc, doc = check(project, "--base", project, "--python", PYTHON, "--cache-dir", tmp_path / "cache")
    assert rc == 0 and doc["content_hash_fresh"] is False
    assert any("the lock is stale" in w for w in doc["warnings"])
    rc, doc = check(project, "--base", project, "--python", PYTHON, "--cache-dir", tmp_path / "cache", "--locked")
    assert rc == 3 and any("the lock is stale" in p for p in doc["problems"])
    rc, doc = check(project, "--base", project, "--python", PYTHON, "--cache-dir", tmp_path / "cache", "--strict")
    assert rc == 3 and doc["problems"] == []


def test_caret_and_tilde_are_linted_with_position_and_spelling(tmp_path):
    project = poetry_project(tmp_path, "\n[tool.poetry.group.lint.dependencies]\nsix = \"^1.16.0\"\n"
                                       "attrs = { version = \"~23.2\" }\n")
    rc, doc = check(project, "--base", project, "--python", PYTHON, "--cache-dir", tmp_path / "cache")
    assert rc == 0
    lint = {item["dependency"]: item for item in doc["lint"]}
    assert lint["six"]["suggestion"] == ">=1.16.0,<2.0.0"
    assert lint["attrs"]["suggestion"] == ">=23.2,<23.3"
    lines = (project / "pyproject.toml").read_text().splitlines()
    six = lint["six"]
    assert lines[six["line"] - 1][six["column"] - 1:].startswith('"^1.16.0"')
    assert any(w.startswith(f"{project}/pyproject.toml:{six['line']}:{six['column']}: six") for w in doc["warnings"])
    rc, doc = check(project, "--base", project, "--python", PYTHON, "--cache-dir", tmp_path / "cache", "--strict")
    assert rc == 3


def test_check_writes_nothing_and_sends_no_request(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    cache = tmp_path / "cache"
    cache.mkdir()
    env = dict(os.environ, STRATA_INDEX_URL="http://127.0.0.1:9/simple", https_proxy="http://127.0.0.1:9",
               http_proxy="http://127.0.0.1:9")
    # Warm the interpreter probe cache once, then snapshot: a check must not change either tree.
    check(LOCKS / "webapp-poetry2", "--env", venv, "--cache-dir", cache, env=env)
    before = (tree(venv), tree(cache))
    rc, doc = check(LOCKS / "webapp-poetry2", "--env", venv, "--cache-dir", cache, env=env)
    assert rc == 0, doc["problems"]
    assert {d["action"] for d in doc["plan"]["decisions"]} == {"install"}
    assert (tree(venv), tree(cache)) == before
    assert not (venv / ".strata").exists()


# Ownership, as install decides it (plan::decide_overlay is shared): the same project at a bumped
# lock replaces its own packages, another project at the same path conflicts and the conflict names
# what replacing would break. The wheels and projects are test_owners.py's.
from test_owners import PLATFORM, install, wheel_dir, write_project  # noqa: E402,F401


def decisions(doc):
    return {d["name"]: (d["action"], d.get("installed_owner")) for d in doc["plan"]["decisions"]}


def test_check_decides_ownership_as_install_does(tmp_path, wheel_dir):
    env, app = tmp_path / "env", tmp_path / "app"
    install(write_project(app, wheel_dir, PLATFORM, "platform"), env)
    cache = tmp_path / "cache"
    model = write_project(app, wheel_dir, [("pydantic-core", "2.27.2"), ("typing-extensions", "4.12.2")], "model")
    rc, doc = check(model, "--env", env, "--cache-dir", cache)
    assert rc == 3 and doc["owner"] == "model"
    assert decisions(doc)["pydantic-core"] == ("conflict", "platform")
    assert decisions(doc)["typing-extensions"][0] == "keep"
    assert len(doc["problems"]) == 1
    assert "replacing it would break pydantic 2.9.2 (requires pydantic-core==2.23.4)" in doc["problems"][0]
    proc, dry = install(model, env, "--dry-run", check=False)
    assert proc.returncode == 3 and dry["problems"] == doc["problems"]

    bumped = write_project(app, wheel_dir, [("pydantic-core", "2.27.2"), ("typing-extensions", "4.12.2")], "platform")
    rc, doc = check(bumped, "--env", env, "--cache-dir", cache)
    assert rc == 0, doc["problems"]
    assert decisions(doc)["pydantic-core"] == ("replace", "platform")
    _, dry = install(bumped, env, "--dry-run")
    assert {d["name"]: d["action"] for d in dry["plan"]["decisions"]} == {
        name: action for name, (action, _) in decisions(doc).items()}


@pytest.mark.skipif(not pathlib.Path("/usr/lib/python3/dist-packages/six-1.16.0.egg-info").is_dir(),
                    reason="needs Debian's python3-six (scripts/setup.sh)")
def test_empty_env_checks_against_nothing_installed(tmp_path):
    # Debian's python3 holds six 1.16.0: kept as its own environment, installed into an empty one.
    args = [LOCKS / "tooling-poetry2", "--python", "/usr/bin/python3", "--cache-dir", tmp_path / "cache"]
    _, doc = check(*args)
    assert {d["name"]: d["action"] for d in doc["plan"]["decisions"]}["six"] == "keep"
    rc, doc = check(*args, "--empty-env")
    assert rc == 0 and {d["action"] for d in doc["plan"]["decisions"]} == {"install"}
    proc = subprocess.run([STRATA, "check", LOCKS / "tooling-poetry2", "--empty-env", "--env", tmp_path / "v"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--empty-env cannot be used with --env" in proc.stderr


# The platform + model pair of integration/test_overlay_image.py, without an image: check of the
# model's lock with the platform's lock as base decides as install does in a venv holding the
# platform (keep / install / conflict, owners, what a replacement breaks, the same messages).
OVERLAY = [LOCKS / n for n in ("overlay-platform-poetry2", "overlay-model-poetry2", "overlay-model-conflict-poetry2")]


@pytest.fixture(scope="module")
def overlay_wheels(tmp_path_factory):
    from support import download_wheels, planned
    scratch = tmp_path_factory.mktemp("overlay-plans")
    return download_wheels("overlay-v1", [planned(lock, "/usr/bin/python3", scratch / lock.name) for lock in OVERLAY])


def test_check_base_answers_as_install_into_the_platforms_venv(tmp_path, overlay_wheels):
    platform, model, conflicting = OVERLAY
    env, cache = tmp_path / "venv", tmp_path / "cache"
    offline = dict(os.environ, STRATA_INDEX_URL="http://127.0.0.1:9/simple/")
    proc = subprocess.run([STRATA, "--json", "install", platform, "--env", env, "--python", "/usr/bin/python3",
                           "--find-links", overlay_wheels, "--cache-dir", cache], capture_output=True, text=True,
                          timeout=300, env=offline)
    assert proc.returncode == 0, proc.stderr
    for lock, want_rc in ((model, 0), (conflicting, 3)):
        rc, checked = check(lock, "--base", platform, "--python", "/usr/bin/python3", "--cache-dir", cache)
        dry = subprocess.run([STRATA, "--json", "install", lock, "--env", env, "--dry-run", "--cache-dir", cache],
                             capture_output=True, text=True, timeout=120, env=offline)
        assert rc == dry.returncode == want_rc, dry.stderr
        installed = json.loads(dry.stdout)

        def answer(doc):
            return sorted((d["name"], d["action"], d.get("installed_owner"), d.get("in_base"),
                           tuple((b["name"], b["version"], b["requirement"]) for b in d.get("breaks", [])))
                          for d in doc["plan"]["decisions"])
        assert answer(checked) == answer(installed)
        base = f" (in base {platform / 'poetry.lock'})"
        assert checked["problems"] == [p + base for p in installed.get("problems", [])]
    assert [p.split(":")[0] for p in checked["problems"]] == ["certifi 2024.8.30", "typing-extensions 4.7.1"]
    assert checked["problems"][1].endswith(
        "replacing it would break fastapi 0.115.6 (requires typing-extensions>=4.8.0)" + base)
