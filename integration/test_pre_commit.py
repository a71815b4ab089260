"""The strata-check hook of .pre-commit-hooks.yaml, run by the real pre-commit (pinned in
scripts/test-requirements.txt) in temporary git repositories: a fresh lock passes, a stale one
refuses the commit, caret constraints fail with --strict, and a conflicting --base fails naming
the conflict. The hook repository is a git repository holding this checkout's hooks file."""

import os
import pathlib
import shutil
import subprocess

import pytest

SOURCE = pathlib.Path(os.environ.get("STRATA_SOURCE_DIR", pathlib.Path(__file__).resolve().parent.parent))
STRATA = pathlib.Path(os.environ.get("STRATA_BIN", str(SOURCE / "build/strata"))).resolve()
TESTENV = pathlib.Path(os.environ.get("STRATA_TESTENV", SOURCE / ".testenv"))
PRE_COMMIT = TESTENV / "bin" / "pre-commit"
LOCKS = SOURCE / "tests/fixtures/locks"
PYTHON = pathlib.Path.home() / ".pyenv/versions/3.11.7/bin/python3.11"

pytestmark = [
    pytest.mark.skipif(not PYTHON.exists(), reason="needs pyenv's CPython 3.11.7"),
    # An older shared .testenv may lack it; CI's is made from scripts/test-requirements.txt.
    pytest.mark.skipif(not PRE_COMMIT.exists() and not os.environ.get("CI"),
                       reason="the test env has no pre-commit: re-run scripts/setup-testenv.sh"),
]


def environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(PATH=f"{STRATA.parent}{os.pathsep}{env['PATH']}", PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
               HOME=str(tmp_path / "home"), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid", GIT_CONFIG_NOSYSTEM="1")
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


def git(cwd, env, *args):
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()


def hook_repo(tmp_path, env):
    repo = tmp_path / "hooks"
    repo.mkdir()
    shutil.copy(SOURCE / ".pre-commit-hooks.yaml", repo)
    git(repo, env, "init", "-q")
    git(repo, env, "add", ".")
    git(repo, env, "commit", "-q", "-m", "hooks")
    return repo, git(repo, env, "rev-parse", "HEAD")


def project(tmp_path, env, fixture, args, extra_files=()):
    hooks, rev = hook_repo(tmp_path, env)
    repo = tmp_path / "project"
    shutil.copytree(LOCKS / fixture, repo)
    for name in extra_files:
        shutil.copytree(LOCKS / name, repo / name)
    quoted = ", ".join(f'"{a}"' for a in args)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: strata-check\n        args: [{quoted}]\n")
    git(repo, env, "init", "-q")
    git(repo, env, "add", ".")
    return repo


def run_hooks(repo, env):
    return subprocess.run([PRE_COMMIT, "run", "--all-files"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_fresh_lock_passes_and_a_stale_one_refuses_the_commit(tmp_path):
    env = environment(tmp_path)
    repo = project(tmp_path, env, "tooling-poetry2", ["--python", PYTHON, "--cache-dir", tmp_path / "cache"])
    run = run_hooks(repo, env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "strata check" in run.stdout and "Passed" in run.stdout

    subprocess.run([PRE_COMMIT, "install"], cwd=repo, env=env, check=True, capture_output=True, timeout=120)
    with open(repo / "pyproject.toml", "a") as f:
        f.write('\n[tool.poetry.group.stale.dependencies]\nsix = ">=1.16"\n')
    git(repo, env, "add", "pyproject.toml")
    commit = subprocess.run(["git", "commit", "-q", "-m", "stale"], cwd=repo, env=env, capture_output=True,
                            text=True, timeout=300)
    assert commit.returncode != 0
    assert "the lock is stale" in commit.stdout + commit.stderr
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, env=env, capture_output=True).returncode != 0


def test_caret_constraints_fail_with_strict(tmp_path):
    env = environment(tmp_path)
    repo = project(tmp_path, env, "platform-poetry2", ["--python", PYTHON, "--cache-dir", tmp_path / "cache"])
    run = run_hooks(repo, env)
    assert run.returncode == 0, run.stdout + run.stderr  # warnings only
    (repo / ".pre-commit-config.yaml").write_text(
        (repo / ".pre-commit-config.yaml").read_text().replace('"--python"', '"--strict", "--python"'))
    text = (repo / "pyproject.toml").read_text()
    assert "^" in text or "~" in text, "the fixture is meant to hold a caret or tilde constraint"
    run = run_hooks(repo, env)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "write \">=" in run.stdout and "Check failed" in run.stdout


def test_a_conflicting_base_fails_naming_the_conflict(tmp_path):
    env = environment(tmp_path)
    base = "tooling-conflict-poetry2"
    repo = project(tmp_path, env, "tooling-poetry2",
                   ["--base", f"{base}/poetry.lock", "--python", PYTHON, "--cache-dir", tmp_path / "cache"],
                   extra_files=[base])
    run = run_hooks(repo, env)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "packaging 26.3: 24.1 is installed" in run.stdout and f"{base}/poetry.lock" in run.stdout
