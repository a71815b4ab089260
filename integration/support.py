"""Helpers shared by the integration tests: the test environment's Python, free loopback ports,
servers stopped by PID, and pypiserver command lines."""

import gzip
import hashlib
import io
import json
import os
import pathlib
import socket
import subprocess
import sys
import tarfile
import time

# Servers die by themselves after this many seconds even if a test run is killed.
SERVER_LIFETIME = "600"

# Figures a test module reports (e.g. "hostile wheels refused N/N"): conftest.py prints them in
# pytest's terminal summary.
SUMMARY = []


def venv_python():
    env = os.environ.get("STRATA_TESTENV")
    return str(pathlib.Path(env) / "bin" / "python") if env else sys.executable


PYENV = pathlib.Path.home() / ".pyenv" / "versions"

# packaging.markers.default_environment(), computed by the target interpreter itself.
_ENVIRONMENT = r"""
import json, os, platform, sys
iv = sys.implementation.version
version = "{0.major}.{0.minor}.{0.micro}".format(iv)
if iv.releaselevel != "final":
    version += iv.releaselevel[0] + str(iv.serial)
print(json.dumps({
    "implementation_name": sys.implementation.name, "implementation_version": version,
    "os_name": os.name, "platform_machine": platform.machine(), "platform_release": platform.release(),
    "platform_system": platform.system(), "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]), "sys_platform": sys.platform}))
"""

_environments = {}


def pyenv_python(version):
    """pyenv's interpreter of that full version (it may be missing: check .exists())."""
    return PYENV / version / "bin" / "python3"


def marker_environment(version):
    """The marker environment of pyenv's interpreter `version`, computed by it, cached per run."""
    import json
    if version not in _environments:
        out = subprocess.run([str(pyenv_python(version)), "-c", _ENVIRONMENT], capture_output=True, text=True,
                             check=True, timeout=60).stdout
        _environments[version] = json.loads(out)
    return _environments[version]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


class Servers:
    """Starts servers and stops each by its PID at teardown."""

    def __init__(self):
        self.procs = []

    def start(self, argv, port, cwd=None):
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        wait_for_port(port, proc)
        return f"http://127.0.0.1:{port}"

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def pypiserver_argv(port, root, auth=None):
    argv = ["timeout", SERVER_LIFETIME, venv_python(), "-m", "pypiserver", "run", "-i", "127.0.0.1",
            "-p", str(port)]
    if auth:
        argv += ["-P", str(auth), "-a", "download,list,update"]
    else:
        argv += ["-P", ".", "-a", "."]
    return argv + [str(root)]




# ---- strata and PyPI wheels, for the install tests --------------------------------------------

STRATA = os.environ.get("STRATA_BIN", "strata")
WHEEL_CACHE = pathlib.Path(os.environ.get("STRATA_TEST_WHEELS", pathlib.Path.home() / ".cache" / "strata-test-wheels"))


def strata(*args, check=True, **kwargs):
    """Runs the strata under test; with check, a nonzero exit fails the test with its stderr."""
    proc = subprocess.run([STRATA, *map(str, args)], capture_output=True, text=True, timeout=600, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"strata {args} exited {proc.returncode}\n{proc.stderr}")
    return proc


SIX = "six-1.16.0-py2.py3-none-any.whl"
SIX_SHA256 = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"


def six_wheel_dir(python="/usr/bin/python3"):
    """A directory holding only six 1.16.0's wheel (from PyPI by pip once, pinned by hash)."""
    import hashlib
    d = WHEEL_CACHE / "six-v1"
    d.mkdir(parents=True, exist_ok=True)
    if not (d / SIX).is_file():
        subprocess.run([python, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--only-binary=:all:", "-d", str(d), "six==1.16.0"], check=True, timeout=600, env=pip_env())
    assert hashlib.sha256((d / SIX).read_bytes()).hexdigest() == SIX_SHA256
    return d


def record_hash(data):
    """A RECORD file's hash field for `data` (bytes)."""
    import base64
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(path, name, files, version="1.0"):
    """A pure-Python py3-none-any wheel at `path`: `files` (archive path -> bytes or str), then
    METADATA, WHEEL and the RECORD of them all."""
    import zipfile
    info = f"{name}-{version}.dist-info"
    files = {p: d.encode() if isinstance(d, str) else d for p, d in files.items()}
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = "".join(f"{p},{record_hash(d)},{len(d)}\n" for p, d in files.items()) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for p, d in files.items():
            z.writestr(p, d)
        z.writestr(f"{info}/RECORD", record)
    return path


def pip_env():
    """The environment for pip: only the files and indexes a test names (this machine sets
    PIP_FIND_LINKS)."""
    env = dict(os.environ)
    env.pop("PIP_FIND_LINKS", None)
    env.pop("PIP_NO_INDEX", None)
    return env


def planned(lock, python, scratch):
    """strata's plan for installing `lock` into a new environment of `python` (a dry run)."""
    import json
    report = json.loads(strata("--json", "install", lock, "--env", pathlib.Path(scratch) / "not-created",
                               "--python", python, "--dry-run", "--cache-dir", pathlib.Path(scratch) / "cache").stdout)
    return report["plan"]["decisions"]


def download_wheels(name, plans, python="/usr/bin/python3"):
    """The wheels the plans chose, downloaded from PyPI by pip once into WHEEL_CACHE/name (one pip
    call per plan: plans may pin other versions of a project); each must be the very file the plan
    names, with the lock's sha256."""
    import hashlib
    d = WHEEL_CACHE / name
    d.mkdir(parents=True, exist_ok=True)
    for plan in plans:
        missing = [f"{x['name']}=={x['version']}" for x in plan if not (d / x["wheel"]).is_file()]
        if missing:
            subprocess.run([python, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                            "--only-binary=:all:", "-d", str(d)] + missing, check=True, timeout=600, env=pip_env())
        for x in plan:
            assert hashlib.sha256((d / x["wheel"]).read_bytes()).hexdigest() == x["sha256"], x["wheel"]
    return d


def pinned_wheel_dir(name, wheels, pip_args=()):
    """WHEEL_CACHE/name holding `wheels` ({file name: sha256}), downloaded from PyPI by pip once
    (with `pip_args` such as --platform), each checked against its pin."""
    import hashlib
    d = WHEEL_CACHE / name
    d.mkdir(parents=True, exist_ok=True)
    missing = [f for f in wheels if not (d / f).is_file()]
    if missing:
        pins = [f.split("-")[0] + "==" + f.split("-")[1] for f in missing]
        subprocess.run([venv_python(), "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--only-binary=:all:", *pip_args, "-d", str(d), *pins], check=True, timeout=600, env=pip_env())
    for file, sha in wheels.items():
        assert hashlib.sha256((d / file).read_bytes()).hexdigest() == sha, file
    return d


# attrs, six and iniconfig: what the loopback-index lock tests lock and install (conftest's
# loopback_index serves them).
LOOPBACK_WHEELS = {
    "attrs-24.2.0-py3-none-any.whl": "81921eb96de3191c8258c199618104dd27ac608d9366f5e35d011eae1867ede2",
    "six-1.16.0-py2.py3-none-any.whl": "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254",
    "iniconfig-2.0.0-py3-none-any.whl": "b6a85871a79d2e3b22d2d1b94ac2824226a63c6b741c88f7ae975f18b6778374",
}


# attrs, iniconfig and six (1.16.0, bumped to 1.17.0): the locks strata image's tests write.
IMAGE_WHEELS = dict(LOOPBACK_WHEELS)
IMAGE_WHEELS["six-1.17.0-py2.py3-none-any.whl"] = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"


def image_requirements(six):
    """A pip-compile style hashed requirements.txt of attrs, iniconfig and six `six`."""
    pins = {"attrs": "24.2.0", "iniconfig": "2.0.0", "six": six}
    lines = ["# pip-compile --generate-hashes"]
    for name, version in pins.items():
        wheel = next(f for f in IMAGE_WHEELS if f.startswith(f"{name}-{version}-"))
        lines += [f"{name}=={version} \\", f"    --hash=sha256:{IMAGE_WHEELS[wheel]}"]
    return "\n".join(lines) + "\n"


def image_lock_dir(root, six):
    """ROOT/six-SIX/app/requirements.txt: the same project's lock (its owner is the directory's
    name, "app") before and after the bump."""
    d = pathlib.Path(root) / f"six-{six}" / "app"
    d.mkdir(parents=True, exist_ok=True)
    (d / "requirements.txt").write_text(image_requirements(six))
    return d / "requirements.txt"


def image_wheel_dir():
    """IMAGE_WHEELS from PyPI once (cached, pinned)."""
    pinned_wheel_dir("oci-image-v1", LOOPBACK_WHEELS)  # one pip call per version of six
    return pinned_wheel_dir("oci-image-v1", IMAGE_WHEELS)


def assert_loopback_install(report, venv):
    """`report` (strata install --json) installed exactly LOOPBACK_WHEELS into `venv`, as strata, and
    they import."""
    installed = sorted((d["name"], d["version"]) for d in report["plan"]["decisions"])
    assert installed == [("attrs", "24.2.0"), ("iniconfig", "2.0.0"), ("six", "1.16.0")]
    site = next((pathlib.Path(venv) / "lib").glob("python3.*/site-packages"))
    for dist in ("attrs-24.2.0", "six-1.16.0", "iniconfig-2.0.0"):
        assert (site / f"{dist}.dist-info" / "RECORD").is_file(), dist
        assert (site / f"{dist}.dist-info" / "INSTALLER").read_text().strip() == "strata"
    assert not list(site.glob("loopapp*")), "the project itself is not installed"
    run = subprocess.run([str(pathlib.Path(venv) / "bin" / "python"), "-c",
                          "import attrs, six, iniconfig; print(attrs.__version__)"],
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "24.2.0", run.stderr


def serve_wheels(servers, wheel_dir, log=None):
    """A pypiserver on loopback for `wheel_dir` (its requests logged to `log` when given); returns
    its simple-index URL."""
    port = free_port()
    argv = pypiserver_argv(port, wheel_dir)
    if log:
        argv[argv.index("run") + 1:argv.index("run") + 1] = ["--log-file", str(log), "-v"]
    return servers.start(argv, port) + "/simple/"


def launcher_names(site_packages):
    """The console and gui entry-point names of every distribution in `site_packages`."""
    import configparser
    names = set()
    for ep in pathlib.Path(site_packages).glob("*.dist-info/entry_points.txt"):
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str
        parser.read(ep)
        for section in ("console_scripts", "gui_scripts"):
            if parser.has_section(section):
                names.update(parser.options(section))
    return names


def relative_files(root):
    """Relative path -> sha256 of the bytes with root's own path replaced, for every file but pycs."""
    import hashlib
    root = pathlib.Path(root)
    out = {}
    for p in root.rglob("*"):
        if p.is_dir() or "__pycache__" in p.parts:
            continue
        out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes().replace(str(root).encode(), b"<root>")).hexdigest()
    return out


# ---- source trees for the build tests ----------------------------------------------------------

FLIT_BUILD_SYSTEM = '[build-system]\nrequires = ["flit_core>=3.9,<4"]\nbuild-backend = "flit_core.buildapi"\n'


def source_project(root, name, version="1.0", build_system=FLIT_BUILD_SYSTEM, extra=""):
    """A minimal PEP 621 project `name` in `root` (created) whose package sets VALUE = "name version"."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        build_system + f'[project]\nname = "{name}"\nversion = "{version}"\ndescription = "d"\n{extra}')
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(f'VALUE = "{name} {version}"\n')
    return root


def tiny_base(directory, arch="amd64", tag=None, note="", python="3.11"):
    """An OCI layout of one layer holding only what `strata image` reads a target from (a CPython
    `python` (3.11.2) interpreter file, glibc 2.36's libc.so.6, sysconfigdata) for linux/`arch`
    (amd64 or arm64), made once per directory; `tag` names it in index.json; a `note`
    (etc/tiny-base) makes its layer a blob of its own."""
    layout = pathlib.Path(directory)
    if (layout / "index.json").exists():
        return layout
    (layout / "blobs" / "sha256").mkdir(parents=True)

    def blob(data, media_type):
        digest = hashlib.sha256(data).hexdigest()
        (layout / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}
    raw = io.BytesIO()
    multiarch = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[arch]
    nodot = python.replace(".", "")
    sysconfig = (f"{{'SOABI': 'cpython-{nodot}-{multiarch}', 'EXT_SUFFIX': '.cpython-{nodot}-{multiarch}.so', "
                 f"'MULTIARCH': '{multiarch}'}}").encode()
    with tarfile.open(fileobj=raw, mode="w") as t:
        for name, data in ((f"usr/bin/python{python}", f"\x00{python}.2\x00".encode()),
                           (f"usr/lib/{multiarch}/libc.so.6", b"stable release version 2.36."),
                           (f"usr/lib/python{python}/_sysconfigdata__{multiarch}.py", sysconfig),
                           *([("etc/tiny-base", note.encode())] if note else [])):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            t.addfile(info, io.BytesIO(data))
    tar = raw.getvalue()
    layer = blob(gzip.compress(tar, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
    config = blob(json.dumps({"architecture": arch, "os": "linux", "config": {}, "rootfs": {
        "type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(tar).hexdigest()}"]}}).encode(),
        "application/vnd.oci.image.config.v1+json")
    manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "config": config, "layers": [layer]}).encode(),
                    "application/vnd.oci.image.manifest.v1+json")
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    if tag:
        manifest["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest]}))
    return layout
