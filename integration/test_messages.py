"""Errors that say what to do (issue 15), each from a real run of the command that provokes it:
no lock in a directory, a TLS failure, the environment chosen without a target, subcommand help,
one spelling of names, "no wheel matches" summarised, and --json's plan and warnings."""

import json
import os
import pathlib
import subprocess

import pytest

from support import STRATA, strata

PYTHON = "/usr/bin/python3"


def test_no_lock_in_a_directory_names_its_absolute_path_and_how_to_make_one(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for argv in (["install", "--dry-run", "--env", str(tmp_path / "env"), "--python", PYTHON],
                 ["plan", "--out", str(tmp_path / "out"), "--python", PYTHON],
                 ["fetch", "--python", PYTHON]):
        r = subprocess.run([STRATA, "--json", *argv, "--cache-dir", str(tmp_path / "cache")], cwd=project,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (argv, r.stderr)
        message = json.loads(r.stdout)["error"]["message"]
        assert message.startswith(f"{project}: no lock file here"), message
        for command in ("`poetry lock`", "`uv lock`", "`pdm lock`", "`pip-compile --generate-hashes`",
                        "`pipenv lock`"):
            assert command in message, (command, message)
    assert not (tmp_path / "env").exists() and not (tmp_path / "out").exists()
