"""`strata image --push` and registry bases (issue 14) against a real registry: Debian's
docker-registry on 127.0.0.1 with TLS from a test CA and htpasswd auth (integration/registries.py,
one per module), its access log counting requests.

A hashed requirements.txt of attrs, iniconfig and six (wheels pinned by hash, from PyPI once,
cached under ~/.cache/strata-test-wheels/oci-image-v1, given with --find-links --offline) goes on
support.tiny_base (only the files a target is read from) and is pushed through `strata image`
itself: the first push uploads every blob and the manifest last; a re-push sends only HEADs; a
second "runner" with an empty cache uploads nothing; six 1.16.0 -> 1.17.0 uploads exactly six's
layer, the config and the manifest; skopeo inspects and copies what was pushed. A registry base:
the cached Debian 12 python3 archive (images.py) copied into the registry by skopeo, pulled by
`strata image --base REGISTRY/REPO:TAG`, its layers mounted into the pushed repository; a base blob
whose bytes the registry serves wrong is refused and nothing is pushed. An image index of an amd64
and an arm64 tiny base: `--platform linux/arm64` picks the arm64 image, and the target computed
from it (env::describe_interpreter) takes MarkupSafe's aarch64 wheel, the default the x86_64 one.
Credentials are checked absent from every output.
"""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tarfile

import pytest

from images import ROOT_ONLY, base_archive
from registries import (NEEDS_REGISTRY, PASSWORD, USER, assert_no_secret, basic_registry, pki,  # noqa: F401
                        skopeo, skopeo_auth, uploads)
from support import SUMMARY, image_lock_dir, image_requirements, image_wheel_dir, pinned_wheel_dir, tiny_base

pytestmark = NEEDS_REGISTRY

lock_dir = image_lock_dir


@pytest.fixture(scope="module")
def wheels():
    return image_wheel_dir()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tiny_base(tmp_path_factory.mktemp("tiny") / "base")


@pytest.fixture(scope="module")
def ctx(tmp_path_factory, basic_registry, pki, wheels):
    """What every run shares: the registry, a HOME without credentials, the test CA, a CI secret
    file (USER:PASSWORD)."""
    root = tmp_path_factory.mktemp("push")
    (root / "home").mkdir()
    creds = root / "secret"
    creds.write_text(f"{USER}:{PASSWORD}\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(root / "home"), "STRATA_CA_FILE": str(pki / "ca.pem")}
    return {"reg": basic_registry, "env": env, "creds": creds, "wheels": wheels, "pki": pki}


def image(ctx, lock, base_ref, *extra, check=True, cwd=None):
    argv = [os.environ["STRATA_BIN"], "--json", "image", str(lock), "--base", base_ref, "--find-links",
            str(ctx["wheels"]), "--offline", "--creds-file", str(ctx["creds"]), *map(str, extra)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=ctx["env"], cwd=cwd)
    assert_no_secret(proc.stdout, proc.stderr)
    if check:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)
    return proc


def actions(report):
    return [layer["action"] for layer in report["layers"]]


@pytest.fixture(scope="module")
def first(ctx, base, tmp_path_factory):
    """The first push of six 1.16.0's image to team/app:v1, also written with --out."""
    root = tmp_path_factory.mktemp("first")
    reg = ctx["reg"]
    reg.mark()
    report = image(ctx, lock_dir(root, "1.16.0"), f"oci:{base}", "--push", f"{reg.host}/team/app:v1", "--out",
                   f"oci:{root / 'out'}:app", "--plan", root / "plan", "--cache-dir", root / "cache")
    return {"root": root, "report": report, "requests": reg.requests()}


def test_push_uploads_every_blob_then_the_manifest(first):
    report, requests = first["report"], first["requests"]
    push = report["push"]
    assert actions(report) == ["uploaded"] * len(report["layers"])
    assert [layer["kind"] for layer in report["layers"]][:2] == ["base", "venv"]
    assert push["config"]["action"] == "uploaded" and push["manifest"]["action"] == "uploaded"
    assert push["uploaded"] == len(report["layers"]) + 1 and push["skipped"] == push["mounted"] == 0
    assert push["bytes_uploaded"] == sum(layer["size"] for layer in report["layers"]) + report["config"]["size"]
    for layer in report["layers"]:
        assert layer["diff_id"].startswith("sha256:") and layer["bytes_uploaded"] == layer["size"]
    puts = [r for r in requests if r.startswith("PUT ")]
    assert len(puts) == len(report["layers"]) + 2
    assert requests[-1] == "PUT /v2/team/app/manifests/v1" and puts.count(requests[-1]) == 1  # the manifest last
    # --out and --push in one run: the pushed manifest is the one written.
    index = json.loads((first["root"] / "out" / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [report["manifest"]["digest"]]
    assert push["manifest"]["digest"] == report["manifest"]["digest"]


def test_repush_unchanged_sends_only_heads(ctx, first, base):
    root, reg = first["root"], ctx["reg"]
    reg.mark()
    # `--plan plan`: the option's value, a directory relative to the working directory.
    again = image(ctx, lock_dir(root, "1.16.0"), f"oci:{base}", "--push", f"{reg.host}/team/app:v1", "--plan",
                  "plan", "--cache-dir", root / "cache", cwd=root)
    requests = reg.requests()
    assert uploads(requests) == [], requests
    assert sum(r.startswith("HEAD ") for r in requests) == len(again["layers"]) + 2  # blobs, config, the tag
    assert actions(again) == ["skipped"] * len(again["layers"])
    assert again["push"]["manifest"]["action"] == "skipped" and again["push"]["bytes_uploaded"] == 0
    assert again["out"] is None
    # --push alone gives the manifest --out wrote for the same inputs.
    assert again["manifest"]["digest"] == first["report"]["manifest"]["digest"]


def test_a_second_runner_with_an_empty_cache_uploads_nothing(ctx, first, base, tmp_path):
    reg = ctx["reg"]
    reg.mark()
    lock = lock_dir(tmp_path, "1.16.0")  # given as a bare file name, from its directory
    other = image(ctx, lock.name, f"oci:{base}", "--push", f"{reg.host}/team/app:v1", "--cache-dir",
                  tmp_path / "cache", cwd=lock.parent)
    assert uploads(reg.requests()) == []
    assert other["manifest"]["digest"] == first["report"]["manifest"]["digest"]
    assert other["push"]["bytes_uploaded"] == 0


def test_bumping_one_package_uploads_its_layer_the_config_and_the_manifest(ctx, first, base, tmp_path):
    root, reg = first["root"], ctx["reg"]
    shutil.copytree(root / "plan", tmp_path / "plan")  # sticky layers, as the next CI run would keep them
    reg.mark()
    bumped = image(ctx, lock_dir(root, "1.17.0"), f"oci:{base}", "--push", f"{reg.host}/team/app:v2", "--plan",
                   tmp_path / "plan", "--cache-dir", root / "cache")
    requests = reg.requests()
    changed = [layer for layer in bumped["layers"] if layer["action"] == "uploaded"]
    assert len(changed) == 1 and "six" in changed[0]["packages"], bumped["layers"]
    assert [layer["action"] for layer in bumped["layers"] if layer is not changed[0]] == \
        ["skipped"] * (len(bumped["layers"]) - 1)
    before = {layer["diff_id"] for layer in first["report"]["layers"]}
    assert [layer["diff_id"] not in before for layer in bumped["layers"]] == \
        [layer is changed[0] for layer in bumped["layers"]]
    assert bumped["push"]["config"]["action"] == "uploaded" and bumped["push"]["manifest"]["action"] == "uploaded"
    puts = sorted(r.split("?")[0].rsplit("/", 1)[0] for r in requests if r.startswith("PUT "))
    assert puts == ["PUT /v2/team/app/blobs/uploads"] * 2 + ["PUT /v2/team/app/manifests"]
    assert sum(f"digest={changed[0]['digest']}".replace(":", "%3A") in r or f"digest={changed[0]['digest']}" in r
               for r in requests) == 1
    assert requests[-1] == "PUT /v2/team/app/manifests/v2"
    SUMMARY.append(f"image push: first {first['report']['push']['bytes_uploaded']} bytes in "
                   f"{len(first['requests'])} requests; bump six: {bumped['push']['bytes_uploaded']} bytes "
                   f"(layer {changed[0]['size']} + config {bumped['config']['size']}) in {len(requests)} requests")


def test_skopeo_inspects_and_copies_what_was_pushed(ctx, first, tmp_path):
    reg, pki, report = ctx["reg"], ctx["pki"], first["report"]
    ref = f"{reg.host}/team/app:v1"
    inspected = json.loads(skopeo("inspect", *skopeo_auth(pki), f"docker://{ref}"))
    assert inspected["Digest"] == report["manifest"]["digest"]
    assert inspected["Layers"] == [layer["digest"] for layer in report["layers"]]
    assert "VIRTUAL_ENV=/opt/venv" in inspected["Env"]
    skopeo("copy", "--src-creds", f"{USER}:{PASSWORD}", "--src-cert-dir", pki / "certs.d", f"docker://{ref}",
           f"oci:{tmp_path / 'copied'}:v1")
    copied = json.loads((tmp_path / "copied" / "index.json").read_text())
    assert copied["manifests"][0]["digest"] == report["manifest"]["digest"]


def test_a_base_of_a_python_this_machine_lacks_gets_an_image_without_bytecode(ctx, tmp_path):
    # No host Python 3.14 (PATH, /usr/local/bin, /usr/bin, pyenv): the target is computed from the
    # base alone, and the image is written without pycs, saying why.
    base = tiny_base(tmp_path / "base", python="3.14")
    lock = tmp_path / "app" / "requirements.txt"
    lock.parent.mkdir()
    lock.write_text(image_requirements("1.16.0"))
    report = image(ctx, lock, f"oci:{base}", "--out", f"oci:{tmp_path / 'out'}", "--cache-dir", tmp_path / "cache")
    assert report["target"]["version"] == "3.14.2" and report["target"]["platform"] == "manylinux_2_36_x86_64"
    assert report["bytecode"]["compiled"] is False and "no Python 3.14 on this machine" in report["bytecode"]["reason"]
    site = "opt/venv/lib/python3.14/site-packages/"
    names = [n for layer in report["layers"] if layer["kind"] == "packages"
             for n in layer_names(tmp_path / "out", layer["digest"])]
    assert site + "six.py" in names and not [n for n in names if n.endswith(".pyc")], names


def test_push_needs_a_tag_reference_and_says_so(ctx, base, tmp_path):
    proc = image(ctx, lock_dir(tmp_path, "1.16.0"), f"oci:{base}", "--push", "not a reference", "--cache-dir",
                 tmp_path / "cache", check=False)
    assert proc.returncode == 2 and "--push not a reference" in proc.stderr


# ---- registry bases --------------------------------------------------------------------------------

def registry_storage_blob(reg, digest):
    """The file docker-registry's filesystem driver keeps a blob's bytes in."""
    hexdigest = digest.split(":")[1]
    return reg.log_path.parent / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256" / hexdigest[:2] / \
        hexdigest / "data"


def copy_to_registry(ctx, source, ref, *extra):
    skopeo("copy", "-q", *extra, "--dest-creds", f"{USER}:{PASSWORD}", "--dest-cert-dir", ctx["pki"] / "certs.d",
           source, f"docker://{ref}")
    return json.loads(skopeo("inspect", "--raw", *skopeo_auth(ctx["pki"]), f"docker://{ref}"))


@ROOT_ONLY
def test_a_registry_base_is_pulled_verified_and_its_layers_mounted(ctx, tmp_path, tmp_path_factory):
    reg = ctx["reg"]
    base_ref = f"{reg.host}/library/python:bookworm"
    copy_to_registry(ctx, f"oci-archive:{base_archive(tmp_path_factory)}", base_ref)
    base_digest = json.loads(skopeo("inspect", *skopeo_auth(ctx["pki"]), f"docker://{base_ref}"))["Digest"]
    lock = lock_dir(tmp_path, "1.16.0")
    reg.mark()
    report = image(ctx, lock, base_ref, "--push", f"{reg.host}/team/sci:v1", "--cache-dir", tmp_path / "cache")
    requests = reg.requests()
    assert report["base"]["manifest"] == base_digest
    assert report["target"]["version"] == "3.11.2" and report["target"]["glibc"] == "2.36"
    base_layers = [layer for layer in report["layers"] if layer["kind"] == "base"]
    assert base_layers and all(layer["action"] == "mounted" for layer in base_layers), base_layers
    assert {layer["mounted_from"] for layer in base_layers} == {f"{reg.host}/library/python"}
    for layer in base_layers:
        assert f"GET /v2/library/python/blobs/{layer['digest']}" in requests  # pulled once, verified
        assert not any(layer["digest"] in r for r in requests if r.startswith("PUT "))
    assert requests[-1] == "PUT /v2/team/sci/manifests/v1"
    # By digest, the base's blobs already in the cache: not downloaded again, nothing uploaded.
    again = image(ctx, lock, f"{reg.host}/library/python@{base_digest}", "--push", f"{reg.host}/team/sci:v1",
                  "--cache-dir", tmp_path / "cache")
    requests = reg.requests()
    assert again["manifest"]["digest"] == report["manifest"]["digest"]
    assert uploads([r for r in requests if "/blobs/sha256:" not in r and "/manifests/" not in r]) == []
    assert not any(r.startswith("GET /v2/library/python/blobs/") for r in requests), requests
    assert not any(r.startswith(("PUT ", "POST ", "PATCH ")) for r in requests)
    SUMMARY.append(f"image push onto a registry base: {len(base_layers)} base layers mounted, "
                   f"{report['push']['bytes_uploaded']} bytes uploaded")


def test_a_base_blob_the_registry_serves_wrong_is_refused_and_nothing_is_pushed(ctx, tmp_path):
    reg = ctx["reg"]
    # A layer no other image of the registry shares: its stored bytes are altered below.
    base = tiny_base(tmp_path / "base", note="corrupted in the registry")
    manifest = copy_to_registry(ctx, f"oci:{base}", f"{reg.host}/corrupt/base:1")
    layer = manifest["layers"][0]["digest"]
    stored = registry_storage_blob(reg, layer)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    stored.write_bytes(bytes(data))
    reg.mark()
    proc = image(ctx, lock_dir(tmp_path, "1.16.0"), f"{reg.host}/corrupt/base:1", "--push",
                 f"{reg.host}/team/bad:1", "--cache-dir", tmp_path / "cache", check=False)
    assert proc.returncode == 1, proc.stderr
    assert f"blob {layer}" in proc.stderr and "nothing of it was kept" in proc.stderr
    assert not any("/v2/team/bad/" in r for r in reg.requests())


# ---- platforms ----------------------------------------------------------------------------------

MARKUPSAFE = {
    "aarch64": ("MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
                "6ec585f69cec0aa07d945b20805be741395e28ac1627333b1c5b0105962ffced"),
    "x86_64": ("MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
               "b91c037585eba9095565a3556f611e3cbfaa42ca1e865f7b8015fe5c7336d5a5"),
}


def index_layout(layout, bases):
    """One OCI layout whose tag "multi" names an image index of the given {arch: tiny base layout}."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    entries = []
    for arch, source in bases.items():
        for blob in (source / "blobs" / "sha256").iterdir():
            shutil.copy(blob, blobs / blob.name)
        desc = json.loads((source / "index.json").read_text())["manifests"][0]
        desc.pop("annotations", None)
        entries.append({**desc, "platform": {"os": "linux", "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries}).encode()
    digest = hashlib.sha256(index).hexdigest()
    (blobs / digest).write_bytes(index)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": f"sha256:{digest}", "size": len(index),
         "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}))
    return {e["platform"]["architecture"]: e["digest"] for e in entries}


def layer_names(layout, digest):
    with tarfile.open(layout / "blobs" / "sha256" / digest.split(":")[1]) as t:
        return t.getnames()


def test_platform_picks_the_image_of_an_index_and_its_wheel_tags(ctx, tmp_path):
    reg = ctx["reg"]
    wheels = {}
    for arch, (name, sha) in MARKUPSAFE.items():
        pinned_wheel_dir("image-push-v1", {name: sha}, pip_args=(
            "--platform", f"manylinux2014_{arch}", "--python-version", "3.11", "--implementation", "cp",
            "--abi", "cp311"))
        wheels[name] = sha
    wheel_dir = pinned_wheel_dir("image-push-v1", wheels)
    lock = tmp_path / "app" / "requirements.txt"
    lock.parent.mkdir()
    lock.write_text("markupsafe==2.1.5 \\\n" + " \\\n".join(f"    --hash=sha256:{sha}" for _, sha in
                                                              MARKUPSAFE.values()) + "\n")
    digests = index_layout(tmp_path / "multi", {"amd64": tiny_base(tmp_path / "amd64", "amd64"),
                                                "arm64": tiny_base(tmp_path / "arm64", "arm64")})
    copy_to_registry(ctx, f"oci:{tmp_path / 'multi'}:multi", f"{reg.host}/multi/base:1", "--all")
    for platform, arch, machine in (("linux/arm64", "arm64", "aarch64"), (None, "amd64", "x86_64")):
        out = tmp_path / f"out-{arch}"
        report = image(ctx, lock, f"{reg.host}/multi/base:1", *(["--platform", platform] if platform else []),
                       "--push", f"{reg.host}/team/app-{arch}:1", "--out", f"oci:{out}", "--find-links", wheel_dir,
                       "--cache-dir", tmp_path / "cache")
        assert report["base"]["manifest"] == digests[arch]
        assert report["target"]["platform"] == f"manylinux_2_36_{machine}"
        layer = next(layer for layer in report["layers"] if "markupsafe" in layer.get("packages", []))
        names = layer_names(out, layer["digest"])
        assert f"opt/venv/lib/python3.11/site-packages/markupsafe/_speedups.cpython-311-{machine}-linux-gnu.so" \
            in names, names
        config = json.loads(skopeo("inspect", "--config", *skopeo_auth(ctx["pki"]),
                                   f"docker://{reg.host}/team/app-{arch}:1"))
        assert config["architecture"] == arch
