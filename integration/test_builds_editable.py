"""Editable path dependencies (pylock `editable = true`, Poetry `develop = true`) installed editable
with PEP 660 `build_editable`, by a flit-core and a setuptools project: edits to the source show
without a reinstall, a second install changes nothing, pip sees them as editable (direct_url.json);
`--no-editable` builds ordinary wheels instead. A hatchling project gets what its
get_requires_for_build_editable asks for (`editables`); a backend without build_editable
(setuptools 63) is an error that names --no-editable."""

import json
import pathlib
import subprocess

import pytest

from support import FLIT_BUILD_SYSTEM, pip_env, source_project, strata

PY = "/usr/bin/python3"
FLIT = FLIT_BUILD_SYSTEM
SETUPTOOLS = '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
HATCHLING = '[build-system]\nrequires = ["hatchling==1.25.0"]\nbuild-backend = "hatchling.build"\n'
OLD_SETUPTOOLS = '[build-system]\nrequires = ["setuptools==63.4.3"]\nbuild-backend = "setuptools.build_meta"\n'


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


def test_hatchling_editable_gets_the_requirements_its_hook_asks_for(tmp_path):
    # hatchling's get_requires_for_build_editable adds `editables~=0.3` to [build-system] requires.
    project(tmp_path / "hatchedit", "hatchedit", HATCHLING)
    app = tmp_path / "app"
    app.mkdir()
    (app / "pylock.toml").write_text('lock-version = "1.0"\ncreated-by = "test_builds_editable"\n'
                                     '[[packages]]\nname = "hatchedit"\nversion = "1.0"\n'
                                     'directory = { path = "../hatchedit", editable = true }\n')
    env = tmp_path / "env"
    report = install(app, env, tmp_path / "cache")
    (result,) = report["results"]
    build = result["build"]
    assert build["editable"] and build["backend"] == "hatchling.build", build
    requirements = {r.split("==")[0] for r in build["build_requirements"]}
    assert {"hatchling", "editables"} <= requirements, build["build_requirements"]
    run = [env / "bin" / "python", "-c", "import hatchedit; print(hatchedit.VALUE)"]
    assert subprocess.run(run, check=True, capture_output=True, text=True).stdout.strip() == "hatchedit one"
    (tmp_path / "hatchedit" / "hatchedit" / "__init__.py").write_text('VALUE = "hatchedit two"\n')
    assert subprocess.run(run, check=True, capture_output=True, text=True).stdout.strip() == "hatchedit two"


def test_a_backend_without_build_editable_is_an_error_naming_no_editable(tmp_path):
    # setuptools 63 predates PEP 660 (64.0 added build_editable).
    project(tmp_path / "oldedit", "oldedit", OLD_SETUPTOOLS)
    app = tmp_path / "app"
    app.mkdir()
    (app / "pylock.toml").write_text('lock-version = "1.0"\ncreated-by = "test_builds_editable"\n'
                                     '[[packages]]\nname = "oldedit"\nversion = "1.0"\n'
                                     'directory = { path = "../oldedit", editable = true }\n')
    env, cache = tmp_path / "env", tmp_path / "cache"
    proc = strata("install", app, "--env", env, "--python", PY, "--cache-dir", cache, "--json", check=False)
    assert proc.returncode == 1
    assert "oldedit" in proc.stderr and "no build_editable hook" in proc.stderr, proc.stderr
    assert "--no-editable" in proc.stderr
    assert not env.exists()
    (result,) = install(app, env, cache, "--no-editable")["results"]
    assert not result["build"]["editable"] and result["build"]["editable_requested"]
