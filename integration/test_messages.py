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


# ---- subcommand help; an unknown command of `cache` ------------------------------------------

@pytest.mark.parametrize("command", ["install", "list", "fetch", "plan", "check", "export", "venv", "debug",
                                     "cache", "cache dir"])
def test_subcommand_help_shows_global_options_and_an_example(command):
    r = strata(*command.split(), "--help")
    assert "Global options" in r.stdout, r.stdout
    for flag in ("-v,--verbose", "-q,--quiet", "--json", "--color"):
        assert flag in r.stdout, (flag, r.stdout)
    example = r.stdout.split("Example: ", 1)[1].splitlines()[0]
    assert example.startswith(f"strata {command}"), example


def test_unknown_cache_command_suggests_the_closest():
    r = strata("--json", "cache", "dri", check=False)
    assert r.returncode == 2, r.stderr
    assert json.loads(r.stdout)["error"]["message"] == 'unknown command "cache dri"; did you mean "cache dir"?'


def test_list_spells_names_as_install_does(tmp_path):
    from support import pinned_wheel_dir
    wheel = "typing_extensions-4.12.2-py3-none-any.whl"
    sha256 = "04e5ca0351e0f3f85c6853954072df659d0d13fac324d0072316b67d7794700d"
    wheels = pinned_wheel_dir("owners-v1", {wheel: sha256})
    lock = tmp_path / "pylock.toml"
    lock.write_text('lock-version = "1.0"\ncreated-by = "test_messages"\n\n[[packages]]\nname = "typing-extensions"\n'
                    f'version = "4.12.2"\nwheels = [{{name = "{wheel}", url = "http://127.0.0.1:9/{wheel}", '
                    f'hashes = {{sha256 = "{sha256}"}}}}]\n')
    env = tmp_path / "env"
    installed = json.loads(strata("--json", "install", lock, "--env", env, "--python", PYTHON, "--cache-dir",
                                  tmp_path / "cache", "--find-links", wheels, "--offline").stdout)
    assert [r["name"] for r in installed["results"]] == ["typing-extensions"]
    listed = json.loads(strata("--json", "list", "--env", env).stdout)
    row = next(d for d in listed["distributions"] if d["normalized_name"] == "typing-extensions")
    # METADATA says typing_extensions; every name strata prints is the normalized one.
    assert (row["name"], row["display_name"]) == ("typing-extensions", "typing_extensions")
