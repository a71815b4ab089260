"""Editable path dependencies (pylock `editable = true`, Poetry `develop = true`) installed editable
with PEP 660 `build_editable`, by a flit-core and a setuptools project: edits to the source show
without a reinstall, a second install changes nothing, pip sees them as editable (direct_url.json);
`--no-editable` builds ordinary wheels instead."""

import json
import pathlib
import subprocess

import pytest

from support import FLIT_BUILD_SYSTEM, pip_env, source_project, strata

PY = "/usr/bin/python3"
FLIT = FLIT_BUILD_SYSTEM
SETUPTOOLS = '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'


def project(root, name, backend):
    source_project(root, name, build_system=backend)
    (root / name / "__init__.py").write_text(f'VALUE = "{name} one"\n')


@pytest.fixture()
def lock(tmp_path):
    project(tmp_path / "flitedit", "flitedit", FLIT)
    project(tmp_path / "setedit", "setedit", SETUPTOOLS)
    app = tmp_path / "app"
    app.mkdir()
    (app / "pylock.toml").write_text('''lock-version = "1.0"
created-by = "test_builds_editable"
[[packages]]
name = "flitedit"
version = "1.0"
directory = { path = "../flitedit", editable = true }
[[packages]]
name = "setedit"
version = "1.0"
directory = { path = "../setedit", editable = true }
''')
    return app


def install(lock, env, cache, *extra):
    proc = strata("install", lock, "--env", env, "--python", PY, "--cache-dir", cache, "--json", *extra)
    return json.loads(proc.stdout)


def values(env):
    out = subprocess.run([pathlib.Path(env) / "bin" / "python", "-c",
                          "import flitedit, setedit; print(flitedit.VALUE); print(setedit.VALUE)"],
                         check=True, capture_output=True, text=True)
    return out.stdout.split("\n")[:2]


def edit(tmp_path, word):
    for name in ("flitedit", "setedit"):
        (tmp_path / name / name / "__init__.py").write_text(f'VALUE = "{name} {word}"\n')


def test_editable_path_dependencies_show_edits_without_reinstall(lock, tmp_path):
    env, cache = tmp_path / "env", tmp_path / "cache"
    report = install(lock, env, cache)
    results = {r["name"]: r for r in report["results"]}
    assert set(results) == {"flitedit", "setedit"}
    for name, r in results.items():
        assert r["origin"] == "build" and r["build"]["from"] == "directory", r
        assert r["build"]["editable"] and r["build"]["editable_requested"], r
        assert r["build"]["source"].startswith("editable:")
    assert results["setedit"]["build"]["backend"] == "setuptools.build_meta"
    assert values(env) == ["flitedit one", "setedit one"]
    site = next(env.glob("lib/python3*/site-packages"))
    for name in ("flitedit", "setedit"):
        direct = json.loads((site / f"{name}-1.0.dist-info" / "direct_url.json").read_text())
        assert direct == {"url": (tmp_path / name).as_uri(), "dir_info": {"editable": True}}
        assert not (site / name).exists()  # the package stays in the source tree
    listed = subprocess.run([PY, "-m", "pip", "--python", env / "bin" / "python", "list", "--editable",
                             "--format", "json"], check=True, capture_output=True, text=True, env=pip_env())
    assert {p["name"] for p in json.loads(listed.stdout)} == {"flitedit", "setedit"}

    # Edit the sources: the environment shows it at once; strata has nothing to do.
    edit(tmp_path, "two")
    assert values(env) == ["flitedit two", "setedit two"]
    again = install(lock, env, cache)
    assert {d["action"] for d in again["plan"]["decisions"]} == {"keep"}
    assert again["results"] == []

    # --no-editable: ordinary wheels, a copy of the sources as they are now.
    env2 = tmp_path / "env2"
    copied = {r["name"]: r for r in install(lock, env2, cache, "--no-editable")["results"]}
    for r in copied.values():
        assert not r["build"]["editable"] and r["build"]["editable_requested"], r
        assert r["build"]["source"].startswith("dir:")
    edit(tmp_path, "three")
    assert values(env2) == ["flitedit two", "setedit two"]
    assert values(env) == ["flitedit three", "setedit three"]
