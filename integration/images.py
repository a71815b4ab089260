"""Container engines and images for the integration tests that build real images: buildah and the
real Docker engine (Debian's docker.io), each with private state under a test's temporary directory.

API (import what a module needs; the pytest fixtures are module-scoped):

- `BASE_IMAGE`, `STRATA_IMAGE`: the references the base and strata images get in every engine.
- `base_archive(tmp_path_factory)`: the Debian 12 python3 base as an OCI archive, cached in
  ~/.cache/strata-test-images/python-bookworm-v1.oci.tar (STRATA_TEST_IMAGES moves the directory;
  delete the file to make it again, bump BASE_VERSION when the recipe changes). Made once without a
  registry: `debootstrap --variant=minbase --include=python3,python3-venv bookworm` (from the Debian
  mirror, about a minute and a half), imported with `buildah from scratch` / `copy` / `commit`.
- `strata_tree(tmp_path_factory)`: what the strata image holds, a directory with only `strata`: the
  release binary of this source (scripts/release.sh, cached by source hash: integration/release.py).
- `Buildah(top)`: buildah with `--root`/`--runroot` and TMPDIR (its RUN cache mounts) under `top`;
  `b(*args)` runs it (AssertionError with the output on failure unless check=False), `b.out(...)`
  its stripped stdout, `b.load_base(archive)`, `b.import_tree(dir, ref)` (an image holding `dir`
  at its root), `b.remove_everything()`. Fixture `buildah`.
- Both engines: `e.name`, `e.build(context, dockerfile, tag, build_args, check=True)` -> {"log",
  "steps", "id", "returncode", "seconds"} (buildah `bud --layers`, docker BuildKit
  `--progress=plain`; both with host network, so RUN steps reach loopback servers),
  `e.run(image, *argv, volumes=(), check=True)` (no network for docker), `e.tree(image, path)` ->
  tar_tree of that directory. Fixtures `strata_image_tree` (strata_tree once per module), `docker_engine` /
  `buildah_engine` (the module's engine with the base and the strata image loaded) and `engine`
  (parametrized over both).
- `Dockerd(top)`: a dockerd of its own (`--data-root`, `--exec-root`, socket and pidfile under
  `top`, `--iptables=false --bridge=none`, overlay2 unless STRATA_TEST_DOCKER_STORAGE says
  otherwise); `start()` waits for the API with a deadline, `stop()` sends SIGTERM to its PID, then
  SIGKILL after a bound, and removes `top`. `d(*args)` runs /usr/bin/docker against it
  (DOCKER_HOST, DOCKER_BUILDKIT=1, a private DOCKER_CONFIG), `d.out(...)`, `d.load_archive(archive,
  ref)` (skopeo to a docker-archive, then `docker load`), `d.load_base(archive)`,
  `d.import_tree(dir, ref)`. Fixture `dockerd` (started, the base not loaded).
- `engine_dir(tmp_path_factory, name)`: where the fixtures put an engine's storage (a tmpfs when
  there is room: see its docstring; STRATA_TEST_ENGINE_TMP=disk for the test's temporary directory).
- `buildah_steps(log)` / `docker_steps(log)`: each build step's instruction and whether the engine
  served it from its layer cache (buildah `bud --layers`: "--> Using cache"; BuildKit
  `--progress=plain`: "#N CACHED").

Building images needs root (buildah's chroot isolation, overlay storage, dockerd): modules use
`pytestmark = ROOT_ONLY`. CI runs as root.
"""

import hashlib
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time

import pytest

from release import require_release_binary

STRATA = os.environ["STRATA_BIN"]
SOURCE = pathlib.Path(os.environ["STRATA_SOURCE_DIR"])
BASE_VERSION = "python-bookworm-v1"
BASE_IMAGE = "localhost/strata-test-python:bookworm"
STRATA_IMAGE = "localhost/strata-test:latest"
DOCKER = "/usr/bin/docker"  # Debian's docker.io client (not a docker in /usr/local/bin)
DOCKERD = "/usr/sbin/dockerd"

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="image builds need root")


def unmount_below(root):
    """Lazily unmounts every mount below `root` (deepest first): never delete through a mount."""
    root = str(root)
    mounts = [line.split()[1] for line in pathlib.Path("/proc/self/mounts").read_text().splitlines()]
    for m in sorted((m for m in mounts if m == root or m.startswith(root + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", m], check=False)


def remove_tree(root):
    """Removes `root` after unmounting what is mounted below it; `rm -rf --one-file-system`
    (bounded), which is several times faster than shutil.rmtree on an engine's many small files
    and never crosses into a mount that is still there."""
    unmount_below(root)
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False, timeout=600)


SHM = pathlib.Path("/dev/shm")
SHM_PREFIX = "strata-engine-"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def engine_dir(tmp_path_factory, name):
    """Where an engine keeps its storage. This machine's disk is slow at creating and deleting
    many small files (ext4 with discard: about 3 ms a file), and an engine's storage is tens of
    thousands of them, so it goes to a tmpfs (/dev/shm) when that has room and memory is plentiful
    (STRATA_TEST_ENGINE_TMP=disk keeps it under the test's temporary directory; =DIR puts it there).
    Directories there name the creating PID; those of dead processes (a killed run) are removed
    first, so a crash does not keep memory."""
    choice = os.environ.get("STRATA_TEST_ENGINE_TMP", "auto")
    if choice == "disk":
        return tmp_path_factory.mktemp(name)
    if choice != "auto":
        return pathlib.Path(tempfile.mkdtemp(prefix=f"{SHM_PREFIX}{os.getpid()}-{name}-", dir=choice))
    try:
        fs = os.statvfs(SHM)
        meminfo = dict(line.split(":", 1) for line in pathlib.Path("/proc/meminfo").read_text().splitlines())
        available = int(meminfo["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return tmp_path_factory.mktemp(name)
    if fs.f_bavail * fs.f_frsize < 8 << 30 or available < 8 << 30:
        return tmp_path_factory.mktemp(name)
    for old in SHM.glob(f"{SHM_PREFIX}*"):
        try:
            pid = int(old.name[len(SHM_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if not _pid_alive(pid):
            remove_tree(old)
    return pathlib.Path(tempfile.mkdtemp(prefix=f"{SHM_PREFIX}{os.getpid()}-{name}-", dir=SHM))


class Buildah:
    """buildah with a private storage root; TMPDIR there too, since buildah keeps RUN cache mounts
    under $TMPDIR/buildah-cache."""

    def __init__(self, top):
        self.top = pathlib.Path(top)
        self.env = {**os.environ, "TMPDIR": str(self.top / "tmp")}
        (self.top / "tmp").mkdir(parents=True)

    def argv(self, *args):
        return ["buildah", "--root", str(self.top / "root"), "--runroot", str(self.top / "runroot"),
                *map(str, args)]

    def __call__(self, *args, check=True, timeout=600, **kwargs):
        proc = subprocess.run(self.argv(*args), capture_output=True, text=True, env=self.env, timeout=timeout,
                              **kwargs)
        if check and proc.returncode != 0:
            raise AssertionError(f"buildah {args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def out(self, *args, **kwargs):
        return self(*args, **kwargs).stdout.strip()

    name = "buildah"

    def build(self, context, dockerfile, tag, build_args=(), check=True):
        """`bud --layers` (chroot isolation, host network): the log (the steps' output is all on
        stdout, before buildah's stderr), its steps (FROM left out), the image id ("" when the
        build failed: with check=False), the exit status and the wall time."""
        args = [x for kv in dict(build_args).items() for x in ("--build-arg", "=".join(kv))]
        start = time.monotonic()
        proc = self("bud", "--isolation", "chroot", "--layers", "--network", "host", *args, "-f", dockerfile, "-t", tag,
                    context, check=check)
        log = proc.stdout + proc.stderr
        return {"log": log, "steps": [s for s in buildah_steps(log) if not s["instruction"].startswith("FROM ")],
                "seconds": time.monotonic() - start, "returncode": proc.returncode,
                "id": self.out("images", "-q", "--no-trunc", tag) if proc.returncode == 0 else ""}

    def run(self, image, *argv, volumes=(), check=True):
        """`argv` in a container of `image`; `volumes` are `-v` values (HOST:PATH[:ro])."""
        c = self.out("from", "-q", image)
        try:
            return self("run", "--isolation", "chroot", *[x for v in volumes for x in ("-v", v)], c, "--", *argv,
                        check=check)
        finally:
            self("rm", c)

    def tree(self, image, path):
        """tar_tree of `path` (absolute) in `image`."""
        c = self.out("from", "-q", image)
        try:
            parent, leaf = path.rsplit("/", 1)
            proc = subprocess.Popen(self.argv("run", "--isolation", "chroot", c, "--", "tar", "-C", parent or "/", "-cf",
                                              "-", leaf), stdout=subprocess.PIPE, env=self.env)
            tree = tar_tree(proc.stdout)
            assert proc.wait(timeout=120) == 0
            return tree
        finally:
            self("rm", c)

    def load_base(self, archive):
        self("pull", "-q", f"oci-archive:{archive}")
        assert self.out("images", "-q", BASE_IMAGE)

    def import_tree(self, tree, ref):
        c = self.out("from", "scratch")
        self("copy", c, f"{tree}/", "/")
        self("commit", "-q", "--rm", c, ref)

    def remove_everything(self):
        """Containers first (they may hold mounts), then the storage as files: no `rmi`, which
        takes longer than deleting the whole root."""
        self("rm", "-a", check=False)
        remove_tree(self.top)


@pytest.fixture(scope="module")
def buildah(tmp_path_factory):
    b = Buildah(engine_dir(tmp_path_factory, "buildah"))
    yield b
    b.remove_everything()


def make_base_archive(archive, scratch):
    """debootstrap a minimal Debian 12 with python3, commit it as an image, save it as an OCI archive."""
    rootfs = scratch / "rootfs"
    subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv", "bookworm", str(rootfs),
                    "http://deb.debian.org/debian"], check=True, capture_output=True, timeout=900)
    for d in ("var/cache/apt", "var/lib/apt/lists"):
        for p in (rootfs / d).iterdir():
            if p.is_file():
                p.unlink()
    b = Buildah(scratch / "buildah")
    try:
        c = b.out("from", "scratch")
        b("copy", c, f"{rootfs}/", "/")
        b("config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "--cmd", "/usr/bin/python3", c)
        b("commit", "-q", c, BASE_IMAGE)
        partial = archive.with_suffix(f".{os.getpid()}.partial")
        b("push", "-q", BASE_IMAGE, f"oci-archive:{partial}:{BASE_IMAGE}")
        os.replace(partial, archive)
    finally:
        b.remove_everything()
        shutil.rmtree(rootfs, ignore_errors=True)


def image_cache():
    d = pathlib.Path(os.environ.get("STRATA_TEST_IMAGES", pathlib.Path.home() / ".cache" / "strata-test-images"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def base_archive(tmp_path_factory):
    """The cached OCI archive of the Python base, made first when it is missing."""
    archive = image_cache() / f"{BASE_VERSION}.oci.tar"
    if not archive.exists():
        make_base_archive(archive, tmp_path_factory.mktemp("debootstrap"))
    return archive


def strata_tree(tmp_path_factory):
    """What the strata image holds (dockerfiles/strata.Dockerfile): a directory with only `strata`,
    the release binary of this source (integration/release.py; a skip, or under CI a failure, when
    it cannot be built here)."""
    tree = tmp_path_factory.mktemp("strata-image")
    shutil.copy2(require_release_binary(), tree / "strata")
    return tree


class Dockerd:
    """The real Docker engine with state of its own: data root, exec root (with the containerd it
    starts), socket and pidfile under `top`. Stopped by its PID."""

    START_TIMEOUT = 60
    STOP_TIMEOUT = 30

    def __init__(self, top):
        self.top = pathlib.Path(top)
        self.top.mkdir(parents=True, exist_ok=True)
        # A unix socket path must stay under 108 bytes: containerd's sockets live in the exec
        # root, so that one goes to a short directory of its own when `top` is deep.
        if len(str(self.top)) > 60:
            self.run_dir = pathlib.Path(tempfile.mkdtemp(prefix="strata-dockerd-"))
        else:
            self.run_dir = self.top / "run"
            self.run_dir.mkdir()
        self.data_root = self.top / "data"
        self.exec_root = self.run_dir / "exec"
        self.socket = self.run_dir / "docker.sock"
        self.pidfile = self.run_dir / "docker.pid"
        self.log = self.top / "dockerd.log"
        self.proc = None
        (self.top / "config").mkdir(exist_ok=True)
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}", "DOCKER_BUILDKIT": "1",
                    "DOCKER_CONFIG": str(self.top / "config")}

    def start(self):
        storage = os.environ.get("STRATA_TEST_DOCKER_STORAGE", "overlay2")
        argv = [DOCKERD, "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
                "--host", f"unix://{self.socket}", "--pidfile", str(self.pidfile), "--iptables=false",
                "--bridge=none", "--storage-driver", storage]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.socket.exists():
                probe = subprocess.run([DOCKER, "version", "--format", "{{.Server.Version}}"], capture_output=True,
                                       text=True, env=self.env, timeout=10)
                if probe.returncode == 0:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"dockerd did not answer on {self.socket} within {self.START_TIMEOUT} s")

    def log_tail(self, lines=30):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def _containerd_pid(self):
        f = self.exec_root / "containerd" / "containerd.pid"
        try:
            return int(f.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        """SIGTERM to dockerd (it stops its containerd), SIGKILL after STOP_TIMEOUT; then the
        containerd it started, by its pidfile, if it outlived dockerd; then everything under top."""
        containerd = self._containerd_pid()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if containerd is not None:
            try:
                os.kill(containerd, 0)
                cmdline = pathlib.Path(f"/proc/{containerd}/cmdline").read_bytes()
                if str(self.exec_root).encode() in cmdline:
                    os.kill(containerd, signal.SIGKILL)
            except (ProcessLookupError, FileNotFoundError):
                pass
        for d in (self.top, self.run_dir):
            remove_tree(d)

    def __call__(self, *args, check=True, timeout=600, **kwargs):
        proc = subprocess.run([DOCKER, *map(str, args)], capture_output=True, text=True, env=self.env,
                              timeout=timeout, **kwargs)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def out(self, *args, **kwargs):
        return self(*args, **kwargs).stdout.strip()

    name = "docker"

    def build(self, context, dockerfile, tag, build_args=(), check=True):
        """`docker build` with BuildKit (`--progress=plain`, host network): the log, its steps (as
        docker_steps), the image id ("" when the build failed: with check=False), the exit status
        and the wall time."""
        args = [x for kv in dict(build_args).items() for x in ("--build-arg", "=".join(kv))]
        start = time.monotonic()
        logs, steps = [], None
        # Docker 20.10's BuildKit (0.8) sometimes fails a build under load with "failed to compute
        # cache key: flightcontrol: exceeded retry timeout" (moby/buildkit#1822), an engine race
        # unrelated to the Dockerfile: such a build is run again, at most twice. A step counts as
        # run (not cached) when it ran in any attempt, so a retry never hides a re-run step.
        for _ in range(3):
            proc = self("build", "--network", "host", "--progress=plain", *args, "-f", dockerfile, "-t", tag,
                        context, check=False)
            log = proc.stdout + proc.stderr
            logs.append(log)
            attempt = docker_steps(log)
            if steps is not None and len(attempt) == len(steps):
                for s, a in zip(steps, attempt):
                    s["cached"] = s["cached"] and a["cached"]
            else:
                steps = attempt
            if proc.returncode == 0 or "flightcontrol: exceeded retry timeout" not in log:
                break
        if check and proc.returncode != 0:
            raise AssertionError(f"docker build {tag} exited {proc.returncode}\n" + "\n".join(logs))
        return {"log": "\n".join(logs), "steps": steps, "seconds": time.monotonic() - start,
                "returncode": proc.returncode, "attempts": len(logs),
                "id": self.out("images", "-q", "--no-trunc", tag) if proc.returncode == 0 else ""}

    def run(self, image, *argv, volumes=(), check=True):
        """`argv` in a container of `image`, without network; `volumes` are `-v` values."""
        return self("run", "--rm", "--network", "none", *[x for v in volumes for x in ("-v", v)], image, *argv,
                    check=check)

    def tree(self, image, path):
        """tar_tree of `path` in `image` (`docker cp` from a created container)."""
        cid = self.out("create", image)
        try:
            proc = subprocess.Popen([DOCKER, "cp", f"{cid}:{path}", "-"], stdout=subprocess.PIPE, env=self.env)
            tree = tar_tree(proc.stdout)
            assert proc.wait(timeout=120) == 0
            return tree
        finally:
            self("rm", cid)

    def load_archive(self, archive, ref):
        """An OCI archive into this engine under `ref` (docker 20.10 loads only docker archives)."""
        tar = self.top / "load.tar"
        subprocess.run(["skopeo", "copy", "-q", f"oci-archive:{archive}", f"docker-archive:{tar}:{ref}"], check=True,
                       capture_output=True, timeout=300)
        try:
            self("load", "-q", "-i", tar)
        finally:
            tar.unlink()
        assert self.out("images", "-q", ref)

    def load_base(self, archive):
        self.load_archive(archive, BASE_IMAGE)

    def import_tree(self, tree, ref):
        """An image holding `tree` at its root (a single layer, as buildah's import_tree)."""
        tar = subprocess.Popen(["tar", "-C", str(tree), "--numeric-owner", "-cf", "-", "."], stdout=subprocess.PIPE)
        try:
            proc = subprocess.run([DOCKER, "import", "-", ref], stdin=tar.stdout, capture_output=True, text=True,
                                  env=self.env, timeout=120)
        finally:
            tar.stdout.close()
            tar.wait(timeout=60)
        assert proc.returncode == 0 and tar.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory):
    d = Dockerd(engine_dir(tmp_path_factory, "dockerd"))
    d.start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def strata_image_tree(tmp_path_factory):
    """strata_tree, once per module."""
    return strata_tree(tmp_path_factory)


@pytest.fixture(scope="module")
def docker_engine(dockerd, strata_image_tree, tmp_path_factory):
    """The module's dockerd with the base and the strata image (/strata) loaded."""
    dockerd.load_base(base_archive(tmp_path_factory))
    dockerd.import_tree(strata_image_tree, STRATA_IMAGE)
    return dockerd


@pytest.fixture(scope="module")
def buildah_engine(buildah, strata_image_tree, tmp_path_factory):
    """The module's buildah with the base and the strata image (/strata) loaded."""
    buildah.load_base(base_archive(tmp_path_factory))
    buildah.import_tree(strata_image_tree, STRATA_IMAGE)
    return buildah


@pytest.fixture(scope="module", params=["docker", "buildah"])
def engine(request):
    """Each engine in turn (a module's tests run for docker, then for buildah)."""
    return request.getfixturevalue(f"{request.param}_engine")


def tar_tree(stream):
    """path below the archive's top directory -> (kind, mode, sha256 of the bytes or the link
    target) of every member of a tar stream."""
    out = {}
    with tarfile.open(fileobj=stream, mode="r|") as t:
        for m in t:
            name = m.name.split("/", 1)[1] if "/" in m.name else ""
            if m.isfile():
                value = hashlib.sha256(t.extractfile(m).read()).hexdigest()
            else:
                value = m.linkname
            kind = "file" if m.isfile() else "dir" if m.isdir() else "link"
            out[name] = (kind, m.mode & 0o7777, value)  # docker cp's modes carry the file type bits
    return out


BUILDAH_STEP = re.compile(r"^(?:\[\d+/\d+\] )?STEP \d+/\d+: (.*)$")


def buildah_steps(log):
    """Each `buildah bud` step's instruction and whether it came from the layer cache (a
    multi-stage build prefixes "STEP n/m:" with "[stage/stages]")."""
    out, current = [], None
    for line in log.splitlines():
        m = BUILDAH_STEP.match(line)
        if m:
            current = {"instruction": m.group(1), "cached": False}
            out.append(current)
        elif line.startswith("--> Using cache") and current is not None:
            current["cached"] = True
    return out


STEP_LINE = re.compile(r"^#(\d+) \[(?:([^\]]*) )?(\d+)/(\d+)\] (.*)$")


def docker_steps(log):
    """Each BuildKit step (`--progress=plain`) of the Dockerfile: instruction, stage and whether
    BuildKit printed CACHED for it, in Dockerfile order (BuildKit announces cached steps out of
    order; stages in the order they first appear). Context and metadata loading steps (without
    "[stage n/m]") are left out."""
    by_vertex, stages = {}, []
    for line in log.splitlines():
        m = STEP_LINE.match(line)
        if m and m.group(1) not in by_vertex:
            stage = m.group(2) or ""
            if stage not in stages:
                stages.append(stage)
            by_vertex[m.group(1)] = {"instruction": m.group(5), "stage": stage, "index": int(m.group(3)),
                                     "cached": False}
        else:
            cached = re.match(r"^#(\d+) CACHED$", line)
            if cached and cached.group(1) in by_vertex:
                by_vertex[cached.group(1)]["cached"] = True
    return sorted(by_vertex.values(), key=lambda s: (stages.index(s["stage"]), s["index"]))
