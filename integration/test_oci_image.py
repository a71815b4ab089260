"""`strata image` (issue 14): the lock's packages as OCI layers over the cached Debian 12 python3
base (images.py's archive, made into an OCI layout with skopeo), without a daemon.

A hashed requirements.txt of attrs, iniconfig and six (wheels pinned by hash, from PyPI once,
cached under ~/.cache/strata-test-wheels/oci-image-v1, given with --find-links --offline) is
written as an image. Checked by independent tools: `umoci unpack` (verifies every blob and DiffID),
`skopeo inspect`, and the real Docker engine (`skopeo copy` to a docker-archive, `docker load`,
`docker run ... python -c "import ..."`). The files under /opt/venv equal those `strata install`
of the same lock writes into /opt/venv of the same base (run in a chroot of the unpacked rootfs):
same paths, kinds, modes and bytes, pycs included, strata's own state (.strata/) aside. Two runs
with different cache directories, TMPDIR, umask and TZ give the same manifest digest; six
1.16.0 -> 1.17.0 with the same --plan DIR changes only six's layer (and config and manifest).
Bad input (an unknown media type, a base blob whose digest does not match, a base without Python)
is a clear error and writes no image.
"""

import gzip
import hashlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile

import pytest

from images import ROOT_ONLY, base_archive, dockerd  # noqa: F401
from release import require_release_binary
from support import SUMMARY, image_lock_dir, image_wheel_dir, strata

pytestmark = ROOT_ONLY

lock_dir = image_lock_dir


@pytest.fixture(scope="module")
def wheels():
    return image_wheel_dir()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The base archive as an OCI layout tagged `base`."""
    archive = base_archive(tmp_path_factory)
    layout = tmp_path_factory.mktemp("base") / "layout"
    subprocess.run(["skopeo", "copy", "-q", f"oci-archive:{archive}", f"oci:{layout}:base"], check=True,
                   capture_output=True, timeout=300)
    return {"archive": archive, "layout": layout}


def image(lock, base_ref, out, cache, wheels, *extra, check=True, env=None, umask=None):
    proc = subprocess.run(
        [os.environ["STRATA_BIN"], "--json", "image", str(lock), "--base", base_ref, "--out", out, "--cache-dir",
         str(cache), "--find-links", str(wheels), "--offline", *map(str, extra)],
        capture_output=True, text=True, timeout=600, env=env, preexec_fn=(lambda: os.umask(umask)) if umask else None)
    if check:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)
    return proc


@pytest.fixture(scope="module")
def first(base, wheels, tmp_path_factory):
    root = tmp_path_factory.mktemp("first")
    out = root / "image"
    report = image(lock_dir(root, "1.16.0"), f"oci:{base['layout']}:base", f"oci:{out}:app", root / "cache", wheels,
                   "--plan", root / "plan")
    return {"root": root, "out": out, "report": report}


def test_the_image_has_the_base_a_venv_and_package_layers(first):
    report = first["report"]
    kinds = [layer["kind"] for layer in report["layers"]]
    assert kinds[0] == "base" and kinds.count("venv") == 1 and kinds.count("packages") >= 2, kinds
    packages = sorted(p for layer in report["layers"] for p in layer.get("packages", []))
    assert packages == ["attrs", "iniconfig", "six"]
    for layer in report["layers"]:
        assert layer["diff_id"].startswith("sha256:") and layer["digest"].startswith("sha256:") and layer["size"] > 0
    assert report["target"]["version"] == "3.11.2" and report["target"]["glibc"] == "2.36"
    assert report["target"]["python"] == "/usr/bin/python3.11"
    assert report["bytecode"]["compiled"] is True


def test_umoci_unpacks_it_and_skopeo_inspects_it(first, tmp_path):
    out, report = first["out"], first["report"]
    # umoci checks every blob's digest and every layer's DiffID against the config while unpacking.
    bundle_dir = tmp_path / "bundle"
    proc = subprocess.run(["umoci", "unpack", "--image", f"{out}:app", str(bundle_dir)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    site = bundle_dir / "rootfs" / "opt" / "venv" / "lib" / "python3.11" / "site-packages"
    assert (site / "six.py").is_file() and (site / "attrs-24.2.0.dist-info" / "RECORD").is_file()
    assert os.readlink(bundle_dir / "rootfs" / "opt" / "venv" / "bin" / "python3.11") == "/usr/bin/python3.11"
    inspect = json.loads(subprocess.run(["skopeo", "inspect", f"oci:{out}:app"], capture_output=True, text=True,
                                        check=True, timeout=120).stdout)
    assert inspect["Layers"] == [layer["digest"] for layer in report["layers"]]
    assert "VIRTUAL_ENV=/opt/venv" in inspect["Env"]
    assert next(e for e in inspect["Env"] if e.startswith("PATH=")).startswith("PATH=/opt/venv/bin:")
    config = json.loads(subprocess.run(["skopeo", "inspect", "--config", f"oci:{out}:app"], capture_output=True,
                                       text=True, check=True, timeout=120).stdout)
    assert config["rootfs"]["diff_ids"] == [layer["diff_id"] for layer in report["layers"]]
    assert config["config"]["Cmd"] == ["/usr/bin/python3"]  # the base's


def tree(root):
    """relative path -> (kind, mode, sha256 or link target) below root, strata's .strata/ aside."""
    root = pathlib.Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if rel == ".strata" or rel.startswith(".strata/"):
            continue
        st = p.lstat()
        if p.is_symlink():
            out[rel] = ("link", 0, os.readlink(p))
        elif p.is_dir():
            out[rel] = ("dir", st.st_mode & 0o7777, "")
        else:
            out[rel] = ("file", st.st_mode & 0o7777, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def test_the_venv_equals_strata_install_of_the_lock(first, wheels, tmp_path):  # noqa: F811
    out = first["out"]
    bundle_dir = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{out}:app", str(bundle_dir)], check=True, capture_output=True,
                   timeout=300)
    rootfs = bundle_dir / "rootfs"
    from_image = tree(rootfs / "opt" / "venv")
    # strata install of the same lock into /opt/venv of the same base: in a chroot of this rootfs
    # with the image's venv removed.
    shutil.rmtree(rootfs / "opt" / "venv")
    (rootfs / "strata").mkdir()
    shutil.copy2(require_release_binary(), rootfs / "strata" / "strata")
    shutil.copytree(wheels, rootfs / "wheels")
    (rootfs / "lock").mkdir()
    shutil.copyfile(first["root"] / "six-1.16.0" / "app" / "requirements.txt", rootfs / "lock" / "requirements.txt")
    proc = subprocess.run(["/usr/sbin/chroot", str(rootfs), "/strata/strata", "--json", "install", "/lock/requirements.txt",
                           "--env", "/opt/venv", "--python", "/usr/bin/python3.11", "--find-links", "/wheels",
                           "--offline", "--cache-dir", "/tmp/strata-cache"],
                          capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": "/root"},
                          preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    installed = tree(rootfs / "opt" / "venv")
    assert sorted(from_image) == sorted(installed)
    differ = {k: (from_image[k], installed[k]) for k in from_image if from_image[k] != installed[k]}
    assert not differ
    assert any(k.endswith(".pyc") for k in from_image)
    SUMMARY.append(f"strata image: /opt/venv equal to strata install ({len(from_image)} paths, pycs included)")


def test_two_runs_anywhere_give_the_same_manifest_digest(first, base, wheels, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), TZ="Asia/Kathmandu")
    (tmp_path / "tmp").mkdir()
    # Another cache, TMPDIR, umask, TZ and --base form (the archive, not the layout).
    again = image(lock_dir(tmp_path, "1.16.0"), f"oci-archive:{base['archive']}", f"oci:{tmp_path / 'image'}:app",
                  tmp_path / "other-cache", wheels, env=env, umask=0o077)
    assert again["manifest"]["digest"] == first["report"]["manifest"]["digest"]
    assert [layer["digest"] for layer in again["layers"]] == [layer["digest"] for layer in first["report"]["layers"]]
    SUMMARY.append(f"strata image: manifest {again['manifest']['digest']} from two runs (other cache, TMPDIR, umask, "
                   "TZ, --base oci-archive: vs oci:)")


def test_a_bump_changes_only_its_layer(first, base, wheels):
    root = first["root"]
    bumped = image(lock_dir(root, "1.17.0"), f"oci:{base['layout']}:base", f"oci:{root / 'bumped'}:app",
                   root / "cache", wheels, "--plan", root / "plan")
    # The same layers (--plan keeps every package in its layer; a re-plan may move the changed
    # layer up, which costs nothing in an image whose layers are independent).
    def by_name(report):
        return {(layer["kind"], layer.get("name", "").split("-", 1)[-1]): layer for layer in report["layers"]}
    before, after = by_name(first["report"]), by_name(bumped)
    assert sorted(before) == sorted(after)
    assert {k: v.get("packages") for k, v in before.items()} == {k: v.get("packages") for k, v in after.items()}
    changed = [key for key in before if before[key]["diff_id"] != after[key]["diff_id"]]
    assert len(changed) == 1 and "six" in after[changed[0]]["packages"], changed
    assert bumped["manifest"]["digest"] != first["report"]["manifest"]["digest"]
    SUMMARY.append(f"strata image: six 1.16.0 -> 1.17.0 changed only {changed[0][1]}: "
                   f"{before[changed[0]]['diff_id']} -> {after[changed[0]]['diff_id']}")


def test_docker_runs_the_image(first, dockerd, tmp_path):  # noqa: F811
    archive = tmp_path / "image.tar"
    subprocess.run(["skopeo", "copy", "-q", f"oci:{first['out']}:app", f"docker-archive:{archive}:localhost/strata-oci:app"],
                   check=True, capture_output=True, timeout=300)
    dockerd("load", "-q", "-i", archive)
    out = dockerd.out("run", "--rm", "--network", "none", "localhost/strata-oci:app", "python", "-c",
                      "import attrs, iniconfig, six, sys; print(sys.prefix, six.__version__, attrs.__version__)")
    assert out == "/opt/venv 1.16.0 24.2.0"


# ---- bad input ----

def copy_layout(src, dst):
    shutil.copytree(src, dst)
    return dst


def rewrite_manifest(layout, change):
    """Applies `change` to the manifest of index.json's only image and points the index at it."""
    index = json.loads((layout / "index.json").read_text())
    entry = index["manifests"][0]
    path = layout / "blobs" / "sha256" / entry["digest"].split(":")[1]
    manifest = json.loads(path.read_text())
    change(manifest)
    data = json.dumps(manifest).encode()
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    entry.update(digest=f"sha256:{digest}", size=len(data))
    (layout / "index.json").write_text(json.dumps(index))


def assert_refused(proc, out, *words):
    assert proc.returncode in (1, 2), proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr
    assert not (out / "index.json").exists()


def test_bad_bases_are_clear_errors(base, wheels, tmp_path):
    lock = lock_dir(tmp_path, "1.16.0")
    unknown = copy_layout(base["layout"], tmp_path / "unknown")

    def unknown_type(m):
        m["layers"][0]["mediaType"] = "application/vnd.example.layer.v9+tar"
    rewrite_manifest(unknown, unknown_type)
    proc = image(lock, f"oci:{unknown}", f"oci:{tmp_path / 'out1'}", tmp_path / "cache", wheels, check=False)
    assert_refused(proc, tmp_path / "out1", "unknown media type", "application/vnd.example.layer.v9+tar")

    corrupt = copy_layout(base["layout"], tmp_path / "corrupt")
    manifest = json.loads((corrupt / "blobs" / "sha256" / json.loads((corrupt / "index.json").read_text())
                           ["manifests"][0]["digest"].split(":")[1]).read_text())
    layer = corrupt / "blobs" / "sha256" / manifest["layers"][0]["digest"].split(":")[1]
    data = bytearray(layer.read_bytes())
    data[len(data) // 2] ^= 0xFF
    layer.write_bytes(bytes(data))
    proc = image(lock, f"oci:{corrupt}", f"oci:{tmp_path / 'out2'}", tmp_path / "cache", wheels, check=False)
    assert_refused(proc, tmp_path / "out2", "does not match its digest", manifest["layers"][0]["digest"])

    # A base of one layer without Python.
    nopy = tmp_path / "nopy"
    (nopy / "blobs" / "sha256").mkdir(parents=True)

    def blob(data):
        digest = hashlib.sha256(data).hexdigest()
        (nopy / "blobs" / "sha256" / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        info = tarfile.TarInfo("etc/hostname")
        info.size = 5
        t.addfile(info, io.BytesIO(b"box\n\n"))
    tar = raw.getvalue()
    layer_d = dict(blob(gzip.compress(tar, mtime=0)), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(tar).hexdigest()}"]}}
    config_d = dict(blob(json.dumps(config).encode()), mediaType="application/vnd.oci.image.config.v1+json")
    manifest_d = dict(blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                       "config": config_d, "layers": [layer_d]}).encode()),
                      mediaType="application/vnd.oci.image.manifest.v1+json")
    (nopy / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (nopy / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest_d]}))
    proc = image(lock, f"oci:{nopy}", f"oci:{tmp_path / 'out3'}", tmp_path / "cache", wheels, check=False)
    assert_refused(proc, tmp_path / "out3", "no Python 3 interpreter", str(nopy))
