"""A model on a platform image, built for real (issue 12) with both engines of
integration/images.py: the real Docker engine (a private dockerd, BuildKit) and buildah
(`bud --layers`).

Stage 1, dockerfiles/platform.Dockerfile `FROM` the Debian 12 python3 base, installs lock P
(tests/fixtures/locks/overlay-platform-poetry2, project ml-platform: fastapi, pydantic, httpx; 13
packages on Linux) into /opt/venv. Stage 2, dockerfiles/model.Dockerfile `FROM` that image, copies
lock M (overlay-model-poetry2, project sentiment-model: huggingface-hub, requests, pyyaml …; 15
packages, 6 of them the platform's at the same versions) to the same /app/poetry.lock and installs
it. From the loopback index's access log: stage 2 asks for none of the six shared projects (no
project page, no file) and downloads the nine others; in the image `pip check` is clean and both
locks' packages import, each owned by its project. The conflicting model (overlay-model-conflict-
poetry2: typing-extensions 4.7.1, the platform's fastapi requires >=4.8.0, and certifi 2024.8.30)
fails stage 2 with exit 3 listing both conflicts, and the index saw no request at all; with
--allow-replace it builds, the report names fastapi as what the replacement breaks, and pip check
in that image says the same. `strata check M --base P` on the host (no image, no environment)
gives the same keep / install / conflict sets, breaks and problems as the real stage-2 installs,
and `strata check --env /opt/venv` inside the platform image too.

The stage-2 reports are strata's `--json` documents (STRATA_INSTALL_ARGS=--json), read from the
engines' build output. One pypiserver (with an access log) and one strata image tree (the release
binary: images.strata_tree) per module; each engine loads the base and the strata image once.
"""

import json
import re
import shutil
import time

import pytest

from images import (BASE_IMAGE, ROOT_ONLY, SOURCE, STRATA_IMAGE, buildah, buildah_engine,  # noqa: F401
                    strata_image_tree,
                    docker_engine, dockerd, engine)
from support import SUMMARY, Servers, download_wheels, planned, serve_wheels, strata

PYTHON = "/usr/bin/python3"  # Debian 12's CPython 3.11, as in the base image
LOCKS = SOURCE / "tests" / "fixtures" / "locks"
PLATFORM, MODEL, CONFLICT = (LOCKS / n for n in ("overlay-platform-poetry2", "overlay-model-poetry2",
                                                 "overlay-model-conflict-poetry2"))
PLATFORM_DOCKERFILE = SOURCE / "dockerfiles" / "platform.Dockerfile"
MODEL_DOCKERFILE = SOURCE / "dockerfiles" / "model.Dockerfile"
PLATFORM_IMAGE = "localhost/strata-test-platform:1"
SHARED = {"annotated-types", "certifi", "idna", "pydantic", "pydantic-core", "typing-extensions"}
CONFLICTING = {"certifi", "typing-extensions"}
PIP_CHECK = ('set -- /usr/share/python-wheels/pip-*.whl && /opt/venv/bin/python "$1/pip" check'
             " --disable-pip-version-check")  # pip is not in the environment: Debian's wheel runs from its zip
IMPORTS = ("import fastapi, httpx, huggingface_hub, pydantic, requests, tqdm, yaml; "
           "print(fastapi.__version__, pydantic.VERSION, huggingface_hub.__version__)")

pytestmark = ROOT_ONLY


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("plans")
    return {lock.name: planned(lock, PYTHON, scratch / lock.name) for lock in (PLATFORM, MODEL, CONFLICT)}


@pytest.fixture(scope="module")
def index(plans, tmp_path_factory):
    """One pypiserver on 127.0.0.1 for the three locks' wheels (from PyPI by pip once, pinned by
    the locks' sha256), its requests logged."""
    wheel_dir = download_wheels("overlay-v1", list(plans.values()), PYTHON)
    servers = Servers()
    log = tmp_path_factory.mktemp("pypi") / "access.log"
    url = serve_wheels(servers, wheel_dir, log)
    yield {"url": url, "log": log}
    servers.stop()


def requests(index):
    """The request paths pypiserver has logged so far."""
    time.sleep(0.3)  # the server writes its log line after answering
    text = index["log"].read_text() if index["log"].exists() else ""
    return [line.split('"')[1].split()[1] for line in text.splitlines() if '"GET ' in line]


def projects_asked(paths):
    """Normalized project names whose page or file the requests name."""
    out = set()
    for p in paths:
        if p.startswith("/simple/"):
            out.add(p.split("/")[2])
        elif p.startswith("/packages/"):
            out.add(re.sub(r"[-_.]+", "-", p.split("/")[2].split("-")[0]).lower())
    return out


def files(paths):
    return sorted(p.split("/")[2] for p in paths if p.startswith("/packages/"))


def wheels(plan):
    return sorted(d["wheel"] for d in plan)


def report_in(log):
    """strata's --json document in a build's output: the install step's lines (BuildKit prefixes
    each with "#N 1.234 "; a line a read ended in the middle of goes on without a prefix), from
    its first "{" line to the "}" that closes it (the Dockerfiles send strata's stderr to stdout,
    so the document is not interleaved with other lines)."""
    step = re.search(r"^#(\d+) \[[^\]]*\] RUN .*strata install", log, re.M)
    if step:
        prefix = re.compile(rf"^#{step.group(1)} \d+\.\d+ ")
        lines = [prefix.sub("", line) for line in log.splitlines() if prefix.match(line)]
    else:
        lines = log.splitlines()
    start = lines.index("{")
    return json.loads("\n".join(lines[start:lines.index("}", start) + 1]))


def context(lock, tmp_path_factory):
    d = tmp_path_factory.mktemp(lock.name)
    for f in ("pyproject.toml", "poetry.lock"):
        shutil.copyfile(lock / f, d / f)
    return d


class Builds:
    """The stage builds of one engine, each with the index requests it caused."""

    def __init__(self, engine, index, tmp_path_factory):
        self.engine, self.index, self.factory = engine, index, tmp_path_factory
        self.args = {"STRATA_IMAGE": STRATA_IMAGE, "STRATA_INDEX_URL": index["url"], "STRATA_INSTALL_ARGS": "--json"}

    def run(self, dockerfile, lock, tag, args, check=True):
        before = len(requests(self.index))
        build = self.engine.build(context(lock, self.factory), dockerfile, tag, {**self.args, **args}, check=check)
        return {**build, "requests": requests(self.index)[before:]}

    def model(self, lock, tag, args=None, check=True):
        return self.run(MODEL_DOCKERFILE, lock, tag, {"PLATFORM_IMAGE": PLATFORM_IMAGE, **(args or {})}, check=check)


@pytest.fixture(scope="module")
def builds(engine, index, tmp_path_factory):
    """Stage 1, then stage 2 with the compatible model, the conflicting one, and the conflicting
    one with --allow-replace."""
    b = Builds(engine, index, tmp_path_factory)
    out = {"platform": b.run(PLATFORM_DOCKERFILE, PLATFORM, PLATFORM_IMAGE, {"PYTHON_BASE": BASE_IMAGE})}
    out["model"] = b.model(MODEL, "localhost/strata-test-model:1")
    out["conflict"] = b.model(CONFLICT, "localhost/strata-test-model:conflict", check=False)
    out["replace"] = b.model(CONFLICT, "localhost/strata-test-model:replaced",
                             {"STRATA_INSTALL_ARGS": "--json --allow-replace"})
    SUMMARY.append(f"overlay image ({engine.name}): " + ", ".join(
        f"{stage} {b['seconds']:.1f} s ({len(b['requests'])} index requests)" for stage, b in out.items()))
    return out


def actions(report):
    return {d["name"]: d["action"] for d in report["plan"]["decisions"]}


def breaks(report):
    return {d["name"]: sorted((b["name"], b["version"], b["requirement"]) for b in d.get("breaks", []))
            for d in report["plan"]["decisions"] if d.get("breaks")}


def test_the_model_stage_keeps_the_platforms_versions_without_asking_the_index(engine, builds, plans,
                                                                               strata_image_tree):
    platform = builds["platform"]
    assert files(platform["requests"]) == wheels(plans[PLATFORM.name])
    model = builds["model"]
    report = report_in(model["log"])
    assert report["owner"] == "sentiment-model"
    assert {n for n, a in actions(report).items() if a == "keep"} == SHARED
    assert {n for n, a in actions(report).items() if a == "install"} == {d["name"] for d in plans[MODEL.name]} - SHARED
    assert {d["installed_owner"] for d in report["plan"]["decisions"] if d["action"] == "keep"} == {"ml-platform"}
    # Nothing of the shared six was asked for (no project page, no file); the nine others were downloaded.
    assert projects_asked(model["requests"]) & SHARED == set(), model["requests"]
    assert files(model["requests"]) == sorted(d["wheel"] for d in plans[MODEL.name] if d["name"] not in SHARED)

    image = "localhost/strata-test-model:1"
    check = engine.run(image, "sh", "-c", PIP_CHECK, check=False)
    assert check.returncode == 0 and "No broken requirements found." in check.stdout, check.stdout + check.stderr
    imports = engine.run(image, "/opt/venv/bin/python", "-c", IMPORTS, check=False)
    assert imports.stdout.split() == ["0.115.6", "2.9.2", "0.26.5"], imports.stderr
    listing = engine.run(image, "/opt/strata/strata", "--json", "list", "--env", "/opt/venv",
                         volumes=[f"{strata_image_tree}:/opt/strata:ro"])
    owners = {d["normalized_name"]: d["owner"] for d in json.loads(listing.stdout)["distributions"]}
    platform_names = {d["name"] for d in plans[PLATFORM.name]}
    assert owners == {**{n: "sentiment-model" for n in actions(report)}, **{n: "ml-platform" for n in platform_names}}


def test_a_conflicting_model_fails_before_any_download_listing_every_conflict(builds):
    conflict = builds["conflict"]
    assert conflict["returncode"] != 0
    # The RUN step's exit status, as each engine reports it.
    assert re.search(r"exit (status|code):? 3\b", conflict["log"]), conflict["log"][-2000:]
    report = report_in(conflict["log"])
    assert {n for n, a in actions(report).items() if a == "conflict"} == CONFLICTING
    assert len(report["problems"]) == 2
    assert all("owned by ml-platform" in p for p in report["problems"])
    assert breaks(report) == {"typing-extensions": [("fastapi", "0.115.6", "typing-extensions>=4.8.0")]}
    assert "replacing it would break fastapi 0.115.6 (requires typing-extensions>=4.8.0)" in " ".join(report["problems"])
    # Decided before any download: the index saw no request at all, not even a project page.
    assert conflict["requests"] == []


def test_allow_replace_builds_and_names_what_the_replacement_breaks(engine, builds):
    replace = builds["replace"]
    report = report_in(replace["log"])
    replaced = {d["name"]: d for d in report["plan"]["decisions"] if d["action"] == "replace"}
    assert set(replaced) == CONFLICTING and all(d["forced"] for d in replaced.values())
    assert breaks(report) == {"typing-extensions": [("fastapi", "0.115.6", "typing-extensions>=4.8.0")]}
    # Only the two replacements were downloaded (the model's own wheels are in the cache mount).
    assert files(replace["requests"]) == ["certifi-2024.8.30-py3-none-any.whl", "typing_extensions-4.7.1-py3-none-any.whl"]
    assert projects_asked(replace["requests"]) == CONFLICTING
    # What the report said breaks is what pip finds broken.
    check = engine.run("localhost/strata-test-model:replaced", "sh", "-c", PIP_CHECK, check=False)
    assert check.returncode != 0
    assert check.stdout.strip() == "fastapi 0.115.6 has requirement typing-extensions>=4.8.0, but you have " \
                                   "typing-extensions 4.7.1.", check.stdout


def check_base(model, tmp_path):
    proc = strata("--json", "check", model, "--base", PLATFORM, "--python", PYTHON, "--cache-dir", tmp_path / "cache",
                  check=False)
    assert proc.returncode in (0, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def same_answer(checked, installed):
    assert actions(checked) == actions(installed)
    assert breaks(checked) == breaks(installed)
    assert {d["name"]: d.get("installed_owner") for d in checked["plan"]["decisions"]} == \
        {d["name"]: d.get("installed_owner") for d in installed["plan"]["decisions"]}


def test_check_with_the_platform_lock_as_base_answers_as_the_real_stage_2(engine, builds, strata_image_tree, tmp_path):
    rc, doc = check_base(MODEL, tmp_path)
    assert rc == 0 and doc["problems"] == []
    same_answer(doc, report_in(builds["model"]["log"]))

    rc, doc = check_base(CONFLICT, tmp_path)
    installed = report_in(builds["conflict"]["log"])
    assert rc == 3
    same_answer(doc, installed)
    base = f" (in base {PLATFORM / 'poetry.lock'})"
    assert doc["problems"] == [p + base for p in installed["problems"]]

    # And in the platform image, against the environment itself.
    for lock, want in ((MODEL, builds["model"]), (CONFLICT, builds["conflict"])):
        proc = engine.run(PLATFORM_IMAGE, "/opt/strata/strata", "--json", "check", "/model", "--env", "/opt/venv",
                          volumes=[f"{strata_image_tree}:/opt/strata:ro", f"{lock}:/model:ro"], check=False)
        assert proc.returncode == (3 if lock == CONFLICT else 0), proc.stderr
        in_image = json.loads(proc.stdout)
        same_answer(in_image, report_in(want["log"]))
        assert in_image["problems"] == report_in(want["log"]).get("problems", [])
