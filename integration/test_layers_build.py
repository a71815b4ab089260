"""Layered image builds with the real engines (issue 11): the real Docker engine (a private
dockerd, BuildKit) and buildah (`bud --layers`), both from integration/images.py.

`strata plan --dockerfile dockerfiles/layered.Dockerfile` plans the wide Poetry 2 lock
(tests/fixtures/locks/wide-poetry2, 46 packages on Linux) into DIR inside the build context; the
generated Dockerfile is built; the lock is replaced by wide-bump-poetry2 (the same project
re-locked by the pinned Poetry with six 1.16.0 -> 1.17.0, nothing else moved), re-planned into the
same DIR and rebuilt. From each engine's own build output: the first build runs every step, the
rebuild serves every step below the bumped layer's COPY from the layer cache and runs that COPY
and every step above it again, and downloads only the new six wheel (the others come from the warm
cache mount). Each engine's rebuilt /opt/venv has the same files (paths, kinds, modes) and bytes as
a one-layer build of the new lock (dockerfiles/app.Dockerfile: a single `strata install` RUN, built
once with docker), apart from strata's state (one owner file per layer there, one for the project
here); `pip check` is clean in it and the packages import. Last, the README's layered example (examples/webapp with layered.Dockerfile) is
built as the README says, with docker.

Wheels come from a pypiserver on 127.0.0.1 (reached through `--network host`), the sizes
`strata plan` places packages by from a loopback PEP 691 index (fault_server.py's /json/simple/);
both serve the locks' wheels, pinned by their hashes and cached under ~/.cache/strata-test-wheels.
"""

import json
import shutil

import pytest

from images import (BASE_IMAGE, ROOT_ONLY, SOURCE, STRATA_IMAGE, buildah, buildah_engine,  # noqa: F401
                    strata_image_tree,
                    docker_engine, dockerd, engine)
from support import SERVER_LIFETIME, SUMMARY, Servers, download_wheels, free_port, planned, serve_wheels, strata, \
    venv_python

PYTHON = "/usr/bin/python3"  # Debian 12's CPython 3.11, as in the base image
LOCKS = SOURCE / "tests" / "fixtures" / "locks"
OLD, NEW = LOCKS / "wide-poetry2", LOCKS / "wide-bump-poetry2"
EXAMPLE = SOURCE / "examples" / "webapp"
LAYERED = SOURCE / "dockerfiles" / "layered.Dockerfile"
ONE_LAYER = SOURCE / "dockerfiles" / "app.Dockerfile"
BUMP = ("six", "1.16.0", "1.17.0")

pytestmark = ROOT_ONLY

# The test's application: imports what the lock provides and prints the versions that matter.
APP = """\
from importlib.metadata import version

import click, greenlet, ipykernel, jaraco.functools, jsonpatch, numpy, pyflakes, pygments, requests, six, yaml
import zope.interface

assert numpy.arange(4).sum() == 6
print(f"six {six.__version__}, numpy {numpy.__version__}, requests {requests.__version__}: ok")
"""


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("plans")
    return {lock.name: planned(lock, PYTHON, scratch / lock.name) for lock in (OLD, NEW, EXAMPLE)}


@pytest.fixture(scope="module")
def wheel_dir(plans):
    return download_wheels("layers-v1", list(plans.values()), PYTHON)


@pytest.fixture(scope="module")
def servers(wheel_dir, tmp_path_factory):
    s = Servers()
    log = tmp_path_factory.mktemp("pypi") / "access.log"
    url = serve_wheels(s, wheel_dir, log)
    port = free_port()
    sizes = s.start([venv_python(), str(SOURCE / "integration" / "fault_server.py"), str(port), str(wheel_dir),
                     SERVER_LIFETIME], port)
    yield {"index": url, "log": log, "sizes": f"{sizes}/json/simple/"}
    s.stop()


def downloads(servers):
    """The wheel files pypiserver has served so far."""
    log = servers["log"]
    text = log.read_text() if log.exists() else ""
    return [line.split('"')[1].split()[1].rsplit("/", 1)[-1] for line in text.splitlines()
            if '"GET /packages/' in line]


def build(engine, context, dockerfile, tag, servers):
    return engine.build(context, dockerfile, tag, {"PYTHON_BASE": BASE_IMAGE, "STRATA_IMAGE": STRATA_IMAGE,
                                                   "STRATA_INDEX_URL": servers["index"]})


def plan_into(context, lock, servers, cache):
    """Copies `lock`'s pyproject.toml and poetry.lock into the context and plans them into
    context/layers (kept between plans), with the generated Dockerfile context/layers/Dockerfile."""
    for f in ("pyproject.toml", "poetry.lock"):
        shutil.copyfile(lock / f, context / f)
    proc = strata("--json", "plan", context, "--out", context / "layers", "--python", PYTHON, "--context", context,
                  "--dockerfile", LAYERED, "--strata-image", STRATA_IMAGE, "--index-url", servers["sizes"],
                  "--cache-dir", cache)
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def rebuild(engine, servers, plans, tmp_path_factory):
    """Plan the old lock and build it, bump, re-plan into the same directory, rebuild."""
    top = tmp_path_factory.mktemp(f"layers-{engine.name}")
    context = top / "app"
    context.mkdir()
    (context / "app.py").write_text(APP)
    cache = top / "plan-cache"
    first_plan = plan_into(context, OLD, servers, cache)
    before = len(downloads(servers))
    first = build(engine, context, context / "layers" / "Dockerfile", "localhost/layers:old", servers)
    first["downloads"] = downloads(servers)[before:]
    old_manifests = manifests(context / "layers", first_plan)
    second_plan = plan_into(context, NEW, servers, cache)
    new_manifests = manifests(context / "layers", second_plan)
    before = len(downloads(servers))
    second = build(engine, context, context / "layers" / "Dockerfile", "localhost/layers:new", servers)
    second["downloads"] = downloads(servers)[before:]
    return {"context": context, "first_plan": first_plan, "second_plan": second_plan, "first": first,
            "second": second, "old_manifests": old_manifests, "new_manifests": new_manifests}


def manifests(directory, report):
    """Layer name -> (file, bytes) of a plan's manifests."""
    return {l["name"]: (l["file"], (directory / l["file"]).read_bytes()) for l in report["plan"]["layers"]}


def layer_name(report, package):
    [name] = [l["name"] for l in report["plan"]["layers"] for p in l["packages"] if p["name"] == package]
    return name


def test_first_build_runs_every_step_and_installs_the_whole_lock(engine, rebuild, plans):
    first = rebuild["first"]
    layers = rebuild["first_plan"]["plan"]["layers"]
    assert 3 <= len(layers) <= 32
    installs = [s for s in first["steps"] if "strata install --layer" in s["instruction"]]
    assert len(installs) == len(layers)
    assert not any(s["cached"] for s in first["steps"] if not s["instruction"].startswith("FROM ")), first["log"]
    # Every wheel of the lock, once, from the loopback index.
    assert sorted(first["downloads"]) == sorted(p["wheel"] for p in plans[OLD.name]), first["log"]
    out = engine.run("localhost/layers:old", "python", "/app/app.py").stdout
    assert "six 1.16.0, numpy 2.1.3" in out and out.strip().endswith(": ok")


def test_a_bump_rebuilds_only_its_layer_and_those_above(engine, rebuild):
    name, old, new = BUMP
    layer = layer_name(rebuild["first_plan"], name)
    old_order = [l["name"] for l in rebuild["first_plan"]["plan"]["layers"]]
    new_order = [l["name"] for l in rebuild["second_plan"]["plan"]["layers"]]
    lowest = old_order.index(layer)
    # The re-plan kept every package in its layer and every other manifest's bytes; the layers
    # below the bumped one keep their place and file, those from it up (rebuilt anyway) may be
    # re-sorted by their learned change rates.
    assert layer_name(rebuild["second_plan"], name) == layer
    old_m, new_m = rebuild["old_manifests"], rebuild["new_manifests"]
    assert sorted(new_m) == sorted(old_m)
    assert [n for n in old_m if old_m[n][1] != new_m[n][1]] == [layer]
    assert new_order[:lowest] == old_order[:lowest]
    assert [new_m[n] for n in new_order[:lowest]] == [old_m[n] for n in old_order[:lowest]]
    assert new_m[layer][0] in rebuild["second_plan"]["changed"]
    assert set(rebuild["second_plan"]["changed"]) <= {new_m[n][0] for n in new_order[lowest:]}

    steps = rebuild["second"]["steps"]
    instructions = [s["instruction"] for s in steps]
    assert len(instructions) == len(rebuild["first"]["steps"])
    first_rebuilt = new_m[new_order[lowest]][0]
    [first_changed] = [i for i, s in enumerate(instructions) if s.startswith("COPY ") and first_rebuilt in s]
    below, above = steps[:first_changed], steps[first_changed:]
    below = [s for s in below if not s["instruction"].startswith("FROM ")]
    assert below and all(s["cached"] for s in below), rebuild["second"]["log"]
    assert not any(s["cached"] for s in above), rebuild["second"]["log"]
    reran = [s for s in above if "strata install --layer" in s["instruction"]]
    assert len(reran) == len(new_order) - lowest
    cached_installs = [s for s in below if "strata install --layer" in s["instruction"]]
    assert len(cached_installs) == lowest > 0
    # Only the new wheel was downloaded: the re-run layers found theirs in the cache mount.
    assert rebuild["second"]["downloads"] == [f"{name}-{new}-py2.py3-none-any.whl"], rebuild["second"]["log"]
    SUMMARY.append(f"layers {engine.name}: {len(new_order)} layers, bump of {name} in layer {lowest} ({layer}) "
                   f"re-ran {len(above)}/{len(steps)} steps ({len(reran)} layer installs); build "
                   f"{rebuild['first']['seconds']:.1f} s, rebuild {rebuild['second']['seconds']:.1f} s")


@pytest.fixture(scope="module")
def single_shot(docker_engine, servers, tmp_path_factory):
    """/opt/venv of the new lock installed in one `strata install` RUN step
    (dockerfiles/app.Dockerfile), built once with docker: what both engines' layers must add up to."""
    context = tmp_path_factory.mktemp("one-layer")
    for f in ("pyproject.toml", "poetry.lock"):
        shutil.copyfile(NEW / f, context / f)
    (context / "app.py").write_text(APP)
    result = build(docker_engine, context, ONE_LAYER, "localhost/one-layer:new", servers)
    [install] = [s for s in result["steps"] if "strata install" in s["instruction"]]
    assert not install["cached"]
    return docker_engine.tree("localhost/one-layer:new", "/opt/venv")


def test_the_layered_env_equals_a_single_shot_install(engine, rebuild, single_shot):
    layered = engine.tree("localhost/layers:new", "/opt/venv")
    single = single_shot
    state = [p for p in layered if p.startswith(".strata")]

    def without_state(tree):
        return {p: v for p, v in tree.items() if not p.startswith(".strata")}

    assert without_state(layered) == without_state(single)
    assert any(p.endswith(".dist-info/RECORD") and "six-1.17.0" in p for p in layered)
    assert not any("six-1.16.0" in p for p in layered)
    assert len(without_state(layered)) > 1000
    # strata's state in the image: one owner file per layer, no environment lock or ledger.
    layer_names = [l["name"] for l in rebuild["second_plan"]["plan"]["layers"]]
    assert sorted(p for p in state if layered[p][0] == "file") == sorted(
        f".strata/owners/layer%3Awide-app%2F{name}.json" for name in layer_names)
    assert [p for p in single if p.startswith(".strata") and single[p][0] == "file"] == [
        ".strata/owners/wide-app.json"]

    check = engine.run("localhost/layers:new", "sh", "-c",
                       # pip itself is not in the environment: Debian's pip wheel runs from its zip.
                       'set -- /usr/share/python-wheels/pip-*.whl && /opt/venv/bin/python "$1/pip" check'
                       " --disable-pip-version-check")
    assert "No broken requirements found." in check.stdout
    out = engine.run("localhost/layers:new", "python", "/app/app.py").stdout
    assert "six 1.17.0, numpy 2.1.3" in out and out.strip().endswith(": ok")


def test_the_readme_layered_example_builds_and_runs(docker_engine, servers, tmp_path):
    # dockerfiles/README.md's commands, run from a copy of the repository's example (with the test's
    # interpreter, strata image, size index and package index).
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo / "examples" / "webapp")
    (repo / "dockerfiles").mkdir()
    shutil.copyfile(LAYERED, repo / "dockerfiles" / "layered.Dockerfile")
    report = json.loads(strata("--json", "plan", "examples/webapp", "--out", "examples/webapp/layers", "--context",
                               "examples/webapp", "--python", PYTHON, "--strata-image", STRATA_IMAGE, "--dockerfile",
                               "dockerfiles/layered.Dockerfile", "--index-url", servers["sizes"], "--cache-dir",
                               tmp_path / "cache", cwd=repo).stdout)
    layers = report["plan"]["layers"]
    assert len(layers) >= 2
    result = build(docker_engine, repo / "examples/webapp", repo / "examples/webapp/layers/Dockerfile",
                   "localhost/strata-example-layered", servers)
    installs = [s["instruction"] for s in result["steps"] if "strata install" in s["instruction"]]
    assert len(installs) == len(layers) + 1  # and the whole lock as the check
    out = docker_engine.run("localhost/strata-example-layered").stdout
    assert "httpx 0.28.1, click 8.1.8, rich 15.0.0: ok" in out
