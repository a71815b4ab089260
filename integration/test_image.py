"""A real image build: `buildah bud` of dockerfiles/app.Dockerfile with the bundled example
(examples/webapp) as context, strata from a strata image holding only /strata (the release binary
of this source, scripts/release.sh: images.strata_tree), and the wheels from a pypiserver on
127.0.0.1 reached through `--network host`.

The Python base is Debian 12 made without a registry and cached as an OCI archive (integration/images.py
says how). Every buildah call uses a private storage root under the test's temporary directory,
removed at the end, so runs never share or collide on images, layers or cache mounts.

Runs as root only (buildah's chroot isolation and overlay storage need it; CI runs as root).
"""

import hashlib
import json
import pathlib
import shutil
import subprocess

import pytest

from images import (BASE_IMAGE, ROOT_ONLY, SOURCE, STRATA_IMAGE, base_archive, buildah,  # noqa: F401
                    buildah_steps, strata_tree)
from support import Servers, download_wheels, planned, serve_wheels

EXAMPLE = SOURCE / "examples" / "webapp"
DOCKERFILE = SOURCE / "dockerfiles" / "app.Dockerfile"
PYTHON = "/usr/bin/python3"
APP_IMAGE = "localhost/strata-test-app:latest"

pytestmark = ROOT_ONLY


@pytest.fixture(scope="module")
def images(buildah, tmp_path_factory):
    """The Python base (from the cached archive) and the strata image: only /strata."""
    buildah.load_base(base_archive(tmp_path_factory))
    tree = strata_tree(tmp_path_factory)
    buildah.import_tree(tree, STRATA_IMAGE)
    return {"strata": tree / "strata"}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    return planned(EXAMPLE, PYTHON, tmp_path_factory.mktemp("plan"))


@pytest.fixture(scope="module")
def lock_names(plan):
    return sorted(f"{d['name']}=={d['version']}" for d in plan)


@pytest.fixture(scope="module")
def wheel_dir(plan):
    """The example's wheels for Debian 12's Python 3.11 (the same cache as test_install.py)."""
    return download_wheels("install-example-v1", [plan], PYTHON)


@pytest.fixture(scope="module")
def index(wheel_dir, tmp_path_factory):
    servers = Servers()
    log = tmp_path_factory.mktemp("pypi") / "access.log"
    url = serve_wheels(servers, wheel_dir, log)
    yield {"url": url, "port": int(url.split(":")[2].split("/")[0]), "log": log}
    servers.stop()


def requests(index):
    """The request lines pypiserver has logged so far."""
    log = index["log"]
    text = log.read_text() if log.exists() else ""
    return [line.split('"')[1] for line in text.splitlines() if '"GET ' in line]


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """A copy of examples/webapp as the build context, so a test can edit app.py."""
    d = tmp_path_factory.mktemp("context") / "webapp"
    shutil.copytree(EXAMPLE, d)
    return d


def bud(buildah, context, index_url, tag=APP_IMAGE):
    return buildah.build(context, DOCKERFILE, tag, {"STRATA_IMAGE": STRATA_IMAGE, "PYTHON_BASE": BASE_IMAGE,
                                                    "STRATA_INDEX_URL": index_url})


steps = buildah_steps


def install_step(log):
    [step] = [s for s in steps(log) if s["instruction"].startswith("RUN ") and "strata install" in s["instruction"]]
    return step


@pytest.fixture(scope="module")
def first_build(buildah, images, index, context):
    before = len(requests(index))
    build = bud(buildah, context, index["url"])
    build["requests"] = requests(index)[before:]
    return build


def run_in(buildah, image, *argv, volumes=()):
    c = buildah.out("from", "-q", image)
    try:
        opts = [x for v in volumes for x in ("-v", v)]
        return buildah("run", "--isolation", "chroot", *opts, c, "--", *argv)
    finally:
        buildah("rm", c)


def test_image_installs_the_lock_with_strata_and_runs_the_app(buildah, images, first_build, lock_names):
    assert not install_step(first_build["log"])["cached"]
    # Every wheel came from the loopback index (not from PyPI, not from a cache).
    downloads = [r for r in first_build["requests"] if r.startswith("GET /packages/")]
    assert len(downloads) == len(lock_names) == 12, first_build["requests"]

    config = json.loads(buildah.out("inspect", "--type", "image", APP_IMAGE))["OCIv1"]["config"]
    assert config["Cmd"] == ["python", "/app/app.py"]
    app = run_in(buildah, APP_IMAGE, *config["Cmd"])
    assert "hello, strata" in app.stdout
    assert "httpx 0.28.1, click 8.1.8, rich 15.0.0: ok" in app.stdout

    # What strata recorded in the image's environment: exactly the lock, owned by it.
    listing = json.loads(run_in(buildah, APP_IMAGE, "strata", "--json", "list", "--env", "/opt/venv").stdout)
    dists = listing["distributions"]
    assert sorted(f"{d['normalized_name']}=={d['version']}" for d in dists) == lock_names
    assert {d["owner"] for d in dists} == {"strata-example-webapp"}
    assert {d["installer"] for d in dists} == {"strata"}

    # strata is the one-line COPY of the strata image's /strata; the wheel cache was a mount of the
    # RUN step and is not part of the image.
    copied = run_in(buildah, APP_IMAGE, "sha256sum", "/usr/local/bin/strata").stdout.split()[0]
    assert copied == hashlib.sha256(images["strata"].read_bytes()).hexdigest()
    leftovers = run_in(buildah, APP_IMAGE, "sh", "-c", "find /root/.cache/strata -mindepth 1 | head -3")
    assert leftovers.stdout == ""


def test_rebuild_without_change_is_served_from_the_layer_cache(buildah, index, context, first_build):
    before = len(requests(index))
    again = bud(buildah, context, index["url"])
    assert install_step(again["log"])["cached"], again["log"]
    assert all(s["cached"] for s in steps(again["log"]) if not s["instruction"].startswith("FROM ")), again["log"]
    assert again["id"] == first_build["id"]
    assert requests(index)[before:] == []


def test_editing_the_app_keeps_the_install_layer(buildah, index, context, first_build):
    before = len(requests(index))
    app = context / "app.py"
    app.write_text(app.read_text().replace('default="strata"', 'default="edited"'))
    build = bud(buildah, context, index["url"], tag="localhost/strata-test-app:edited")
    assert install_step(build["log"])["cached"], build["log"]
    copy_app = [s for s in steps(build["log"]) if s["instruction"].startswith("COPY app.py")]
    assert [s["cached"] for s in copy_app] == [False]
    assert build["id"] != first_build["id"]
    assert requests(index)[before:] == []
    assert "hello, edited" in run_in(buildah, "localhost/strata-test-app:edited", "python", "/app/app.py").stdout


def test_rerun_install_step_takes_every_wheel_from_the_cache_mount(buildah, images, index, context, lock_names):
    # Another spelling of the same index changes a build argument, so the install step runs again
    # (in a fresh layer, from the lock layer); the wheels must come from the cache mount.
    before = len(requests(index))
    build = bud(buildah, context, f"http://localhost:{index['port']}/simple/", tag="localhost/strata-test-app:again")
    assert not install_step(build["log"])["cached"], build["log"]
    assert requests(index)[before:] == []
    listing = json.loads(run_in(buildah, "localhost/strata-test-app:again", "strata", "--json", "list",
                                "--env", "/opt/venv").stdout)
    assert sorted(f"{d['normalized_name']}=={d['version']}" for d in listing["distributions"]) == lock_names
    app = run_in(buildah, "localhost/strata-test-app:again", "/opt/venv/bin/python", "/app/app.py")
    assert ": ok" in app.stdout


def test_the_strata_image_holds_only_the_static_binary_and_it_runs_there(buildah, images):
    c = buildah.out("from", "-q", STRATA_IMAGE)
    try:
        root = pathlib.Path(buildah.out("mount", c))
        assert sorted(p.name for p in root.iterdir()) == ["strata"]
        buildah("umount", c)
        version = buildah("run", "--isolation", "chroot", c, "--", "/strata", "--version")
        assert version.stdout == subprocess.run([images["strata"], "--version"], capture_output=True, text=True).stdout
        # Past start-up into real work: it looks for an interpreter, and there is none.
        no_python = buildah("run", "--isolation", "chroot", c, "--", "/strata", "venv", "/v", check=False)
        assert no_python.returncode == 2
        assert "interpreter not found" in no_python.stderr
    finally:
        buildah("rm", c)
