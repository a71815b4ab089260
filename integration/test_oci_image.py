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
is a clear error and writes nothing to --out.

Over a base whose /opt/venv exists (the base plus one layer made here: a venv with system
site-packages holding six 1.16.0 strata installed for the project app, with an old file and its
pyc, and an unmanaged iniconfig 2.0.0; an unmanaged attrs 22.2.0 in /usr/lib/python3/dist-packages)
the overlay rules of strata install apply: attrs is a conflict without --allow-replace (nothing
written), and with it the image's /opt/venv equals `strata install --allow-replace` of the same
lock into that base's tree (chroot): iniconfig kept, six replaced (its old files hidden by
whiteouts, as umoci applies them), attrs shadowed, docopt (only an sdist, pinned by hash) built by
the host Python 3.11 with setuptools from --find-links.
"""

import base64
import gzip
import hashlib
import io
import json
import os
import pathlib
import shutil
import stat
import subprocess
import tarfile
import zipfile

import pytest

from images import ROOT_ONLY, base_archive, buildah, dockerd  # noqa: F401
from release import require_release_binary
from support import (IMAGE_WHEELS, LOOPBACK_WHEELS, SUMMARY, image_lock_dir, image_requirements, image_wheel_dir,
                     pinned_wheel_dir, strata, tiny_base)
from test_build_core import BUILD_WHEELS, FILES, SDIST_CACHE, SDISTS, download

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
    # SOURCE_DATE_EPOCH unset (mtime 0, not the wall clock); the second run sets it.
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    report = image(lock_dir(root, "1.16.0"), f"oci:{base['layout']}:base", f"oci:{out}:app", root / "cache", wheels,
                   "--plan", root / "plan", env=env)
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


def umoci_unpack(image, bundle_dir):
    # umoci checks every blob's digest and every layer's DiffID against the config while unpacking.
    proc = subprocess.run(["umoci", "unpack", "--image", image, str(bundle_dir)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return bundle_dir / "rootfs"


@pytest.fixture(scope="module")
def first_rootfs(first, tmp_path_factory):
    """The first image unpacked by umoci (once for the module) and its /opt/venv as tree() saw it."""
    rootfs = umoci_unpack(f"{first['out']}:app", tmp_path_factory.mktemp("first-bundle") / "bundle")
    return {"rootfs": rootfs, "venv": tree(rootfs / "opt" / "venv")}


def test_umoci_unpacks_it_and_skopeo_inspects_it(first, first_rootfs):
    out, report = first["out"], first["report"]
    venv = first_rootfs["venv"]
    site = "lib/python3.11/site-packages"
    assert venv[f"{site}/six.py"][0] == "file" and venv[f"{site}/attrs-24.2.0.dist-info/RECORD"][0] == "file"
    assert venv["bin/python3.11"] == ("link", 0, "/usr/bin/python3.11")
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


def chroot_install(rootfs, lock_text, wheels, *extra):
    """`strata install` (the release binary) of `lock_text` into /opt/venv of `rootfs`, in a chroot,
    with `wheels` as /wheels; its --json report."""
    if not (rootfs / "strata" / "strata").exists():
        (rootfs / "strata").mkdir(exist_ok=True)
        shutil.copy2(require_release_binary(), rootfs / "strata" / "strata")
    if not (rootfs / "dev" / "null").exists():  # builds run with stdin from /dev/null
        (rootfs / "dev").mkdir(exist_ok=True)
        os.mknod(rootfs / "dev" / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    shutil.rmtree(rootfs / "wheels", ignore_errors=True)
    shutil.copytree(wheels, rootfs / "wheels")
    (rootfs / "lock").mkdir(exist_ok=True)
    (rootfs / "lock" / "requirements.txt").write_text(lock_text)
    proc = subprocess.run(["/usr/sbin/chroot", str(rootfs), "/strata/strata", "--json", "install", "/lock/requirements.txt",
                           "--env", "/opt/venv", "--python", "/usr/bin/python3.11", "--find-links", "/wheels",
                           "--offline", "--cache-dir", "/tmp/strata-cache", "--owner", "app", *extra],
                          capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": "/root"},
                          preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_venv_equals_strata_install_of_the_lock(first, first_rootfs, wheels):  # noqa: F811
    # strata install of the same lock into /opt/venv of the same base: in a chroot of the unpacked
    # image with the image's venv removed (the last test to use first_rootfs).
    rootfs, from_image = first_rootfs["rootfs"], first_rootfs["venv"]
    shutil.rmtree(rootfs / "opt" / "venv")
    chroot_install(rootfs, (first["root"] / "six-1.16.0" / "app" / "requirements.txt").read_text(), wheels)
    installed = tree(rootfs / "opt" / "venv")
    assert sorted(from_image) == sorted(installed)
    differ = {k: (from_image[k], installed[k]) for k in from_image if from_image[k] != installed[k]}
    assert not differ
    assert any(k.endswith(".pyc") for k in from_image)
    SUMMARY.append(f"strata image: /opt/venv equal to strata install ({len(from_image)} paths, pycs included)")


def test_two_runs_anywhere_give_the_same_manifest_digest(first, base, wheels, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), TZ="Asia/Kathmandu", SOURCE_DATE_EPOCH="0")
    (tmp_path / "tmp").mkdir()
    # Another cache, TMPDIR, umask, TZ, SOURCE_DATE_EPOCH (set, to the default), wall clock (later)
    # and --base form (the archive, not the layout).
    again = image(lock_dir(tmp_path, "1.16.0"), f"oci-archive:{base['archive']}", f"oci:{tmp_path / 'image'}:app",
                  tmp_path / "other-cache", wheels, env=env, umask=0o077)
    assert again["manifest"]["digest"] == first["report"]["manifest"]["digest"]
    assert [layer["digest"] for layer in again["layers"]] == [layer["digest"] for layer in first["report"]["layers"]]
    SUMMARY.append(f"strata image: manifest {again['manifest']['digest']} from two runs (other cache, TMPDIR, umask, "
                   "TZ, SOURCE_DATE_EPOCH unset/0, --base oci-archive: vs oci:)")


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


def test_buildah_runs_the_image(first, buildah):  # noqa: F811
    """A second engine, reading the OCI layout directly (no conversion): buildah pulls it into a
    private storage and runs the venv's python (chroot isolation)."""
    out = buildah.run(f"oci:{first['out']}:app", "/opt/venv/bin/python", "-c",
                      "import attrs, iniconfig, six, sys; print(sys.prefix, six.__version__, attrs.__version__)")
    assert out.stdout.strip() == "/opt/venv 1.16.0 24.2.0", out.stderr


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


def assert_refused(proc, out, *words, code=(1, 2)):
    assert proc.returncode in code, proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr
    assert not out.exists()  # nothing written to --out, not even its directory


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


# ---- over a base that has the environment already ----

SITE = "opt/venv/lib/python3.11/site-packages"
SYSTEM_SITE = "usr/lib/python3/dist-packages"


def record_row(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def overlay_members(wheels):
    """path -> bytes, or ("link", target): the extra layer of the overlay base."""
    m = {"opt/venv/pyvenv.cfg": b"home = /usr/bin\ninclude-system-site-packages = true\nversion = 3.11.2\n"}
    for name in ("python", "python3", "python3.11"):
        m[f"opt/venv/bin/{name}"] = ("link", "/usr/bin/python3.11")
    for wheel, installer in (("six-1.16.0-py2.py3-none-any.whl", b"strata\n"),
                             ("iniconfig-2.0.0-py3-none-any.whl", b"pip\n")):
        with zipfile.ZipFile(wheels / wheel) as z:
            for n in z.namelist():
                m[f"{SITE}/{n}"] = z.read(n)
        dist_info = "-".join(wheel.split("-")[:2]) + ".dist-info"
        m[f"{SITE}/{dist_info}/INSTALLER"] = installer
    # six 1.16.0 as an older release that had one more module, with its pyc (not in RECORD).
    old = b"# only in the old six\n"
    m[f"{SITE}/six_old/__init__.py"] = old
    m[f"{SITE}/six_old/__pycache__/__init__.cpython-311.pyc"] = b"\xa7\r\r\n" + b"\0" * 12
    record = f"{SITE}/six-1.16.0.dist-info/RECORD"
    m[record] = m[record] + record_row("six_old/__init__.py", old).encode()
    m["opt/venv/.strata/owners/app.json"] = json.dumps({
        "format": 2, "owner": "app", "distributions": {"six": {
            "version": "1.16.0", "wheel": "six-1.16.0-py2.py3-none-any.whl",
            "sha256": LOOPBACK_WHEELS["six-1.16.0-py2.py3-none-any.whl"],
            "dist_info": f"/{SITE}/six-1.16.0.dist-info"}}}, indent=2).encode() + b"\n"
    m[f"{SYSTEM_SITE}/attrs-22.2.0.dist-info/METADATA"] = b"Metadata-Version: 2.1\nName: attrs\nVersion: 22.2.0\n"
    m[f"{SYSTEM_SITE}/attrs-22.2.0.dist-info/INSTALLER"] = b"debian\n"
    m[f"{SYSTEM_SITE}/attr/__init__.py"] = b"# the system's attrs 22.2.0\n"
    return m


def layer_tar(members):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as t:
        dirs = sorted({str(pathlib.PurePosixPath(p).parents[i]) for p in members
                       for i in range(len(pathlib.PurePosixPath(p).parents) - 1)})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            t.addfile(info)
        for path in sorted(members):
            value = members[path]
            info = tarfile.TarInfo(path)
            if isinstance(value, tuple):
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, value[1], 0o777
                t.addfile(info)
            else:
                info.size, info.mode = len(value), 0o644
                t.addfile(info, io.BytesIO(value))
    return raw.getvalue()


def add_layer(layout, tar):
    """Appends `tar` (gzipped) as a layer to the image of `layout`'s index.json."""
    blobs = layout / "blobs" / "sha256"

    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}
    index = json.loads((layout / "index.json").read_text())
    entry = index["manifests"][0]
    manifest = json.loads((blobs / entry["digest"].split(":")[1]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    config["rootfs"]["diff_ids"].append(f"sha256:{hashlib.sha256(tar).hexdigest()}")
    config.setdefault("history", []).append({"created_by": "test_oci_image: /opt/venv"})
    manifest["layers"].append(dict(put(gzip.compress(tar, mtime=0)), mediaType=manifest["layers"][0]["mediaType"]))
    manifest["config"].update(put(json.dumps(config).encode()))
    entry.update(put(json.dumps(manifest).encode()))
    (layout / "index.json").write_text(json.dumps(index))


def overlay_requirements(docopt_sha):
    return image_requirements("1.17.0") + f"docopt==0.6.2 \\\n    --hash=sha256:{docopt_sha}\n"


@pytest.fixture(scope="module")
def overlay(base, wheels, tmp_path_factory):
    """The overlay base (a copy of the base layout, blobs hard-linked, plus the extra layer), the
    find-links directory (the lock's wheels, docopt's sdist, setuptools and wheel) and strata
    image's runs over it: without and with --allow-replace."""
    root = tmp_path_factory.mktemp("overlay")
    members = overlay_members(wheels)
    tar = layer_tar(members)
    layout = root / "base"
    shutil.copytree(base["layout"], layout, copy_function=os.link)
    add_layer(layout, tar)
    version, tail, docopt_sha, _ = SDISTS["docopt"]
    links = root / "links"
    links.mkdir()
    sdist = download(FILES + tail, SDIST_CACHE / pathlib.Path(tail).name, docopt_sha)
    build_wheels = {f: BUILD_WHEELS[f] for f in ("setuptools-75.8.0-py3-none-any.whl", "wheel-0.45.1-py3-none-any.whl")}
    for f in [*(wheels / w for w in IMAGE_WHEELS), sdist, *(pinned_wheel_dir("build-core", build_wheels) / w
                                                       for w in build_wheels)]:
        shutil.copy(f, links / pathlib.Path(f).name)
    lock = root / "app" / "requirements.txt"
    lock.parent.mkdir()
    lock.write_text(overlay_requirements(docopt_sha))
    refused = image(lock, f"oci:{layout}:base", f"oci:{root / 'refused'}:app", root / "cache", links, check=False)
    report = image(lock, f"oci:{layout}:base", f"oci:{root / 'image'}:app", root / "cache", links, "--allow-replace")
    return {"root": root, "tar": tar, "links": links, "lock": lock, "refused": refused, "report": report}


def test_a_version_in_the_base_is_a_conflict_without_allow_replace(overlay):
    proc = overlay["refused"]
    assert_refused(proc, overlay["root"] / "refused", "attrs 24.2.0: 22.2.0 is installed in /usr/lib/python3/dist-packages",
                   "--allow-replace", code=(3,))
    assert "six 1.17.0:" not in proc.stderr  # six 1.16.0 is app's own: replaced without the flag


def test_over_the_base_environment_the_venv_equals_strata_install(overlay, tmp_path):
    report = overlay["report"]
    actions = {d["name"]: d["action"] for d in report["decisions"]["decisions"]}
    assert actions == {"attrs": "replace", "iniconfig": "keep", "six": "replace", "docopt": "install"}, actions
    assert [layer["kind"] for layer in report["layers"]].count("venv") == 0  # the base's venv, as it is
    assert report["built"] == 1
    six_layer = next(layer for layer in report["layers"] if "six" in layer.get("packages", []))
    assert six_layer["whiteouts"] >= 3  # six-1.16.0.dist-info, six_old/, app's owner file
    rootfs = umoci_unpack(f"{overlay['root'] / 'image'}:app", tmp_path / "bundle")
    from_image = tree(rootfs / "opt" / "venv")
    site = "lib/python3.11/site-packages"
    assert f"{site}/six-1.17.0.dist-info/RECORD" in from_image and f"{site}/docopt.py" in from_image
    assert not any(k.startswith((f"{site}/six-1.16.0.dist-info", f"{site}/six_old")) for k in from_image)
    assert from_image[f"{site}/iniconfig-2.0.0.dist-info/INSTALLER"] == \
        ("file", 0o644, hashlib.sha256(b"pip\n").hexdigest())  # kept: the base's own files
    assert (rootfs / SYSTEM_SITE / "attrs-22.2.0.dist-info" / "METADATA").is_file()  # shadowed, not modified
    assert not (rootfs / "opt" / "venv" / ".strata" / "owners" / "app.json").exists()
    # strata install of the same lock into the overlay base's tree: the image's /opt/venv replaced
    # by the extra layer's.
    shutil.rmtree(rootfs / "opt" / "venv")
    with tarfile.open(fileobj=io.BytesIO(overlay["tar"])) as t:
        t.extractall(rootfs, members=[m for m in t.getmembers() if m.name.startswith("opt/")])
    installed = chroot_install(rootfs, overlay["lock"].read_text(), overlay["links"], "--allow-replace")
    assert {r["name"]: r["action"] for r in installed["results"]} == \
        {"attrs": "replace", "six": "replace", "docopt": "install"}
    by_install = tree(rootfs / "opt" / "venv")
    assert sorted(from_image) == sorted(by_install)
    assert not {k: (from_image[k], by_install[k]) for k in from_image if from_image[k] != by_install[k]}
    SUMMARY.append(f"strata image over a base's /opt/venv: equal to strata install --allow-replace "
                   f"({len(from_image)} paths; six replaced with {six_layer['whiteouts']} whiteouts, "
                   "iniconfig kept, attrs shadowed, docopt built from its sdist)")


def test_a_source_package_needs_a_host_python_of_the_base_and_its_machine(overlay, tmp_path):
    # No Python 3.14 here (PATH, /usr/local/bin, /usr/bin): nothing can build docopt for that base;
    # an arm64 base cannot get an x86_64 build.
    for python, arch, words in (("3.14", "amd64", ["no Python 3.14 on this machine to build", "docopt 0.6.2"]),
                                ("3.11", "arm64", ["is an aarch64 image and this machine is x86_64", "docopt 0.6.2"])):
        out = tmp_path / f"out-{arch}"
        proc = image(overlay["lock"], f"oci:{tiny_base(tmp_path / arch, arch, python=python)}", f"oci:{out}",
                     tmp_path / "cache", overlay["links"], check=False)
        assert_refused(proc, out, *words, code=(3,))
