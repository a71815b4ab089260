"""No credential ever leaves strata (SPEC "Credentials"): secrets planted in every place strata
reads one from — userinfo in a poetry.lock source URL and in pylock wheel and index URLs, a token in
a wheel URL's query string, STRATA_/POETRY_HTTP_BASIC_*_PASSWORD and *_PASSWORD_FILE, a netrc, and
URLs on the command line — while every command runs (the list comes from `strata --help`, so a new
command fails this test until it is covered), with and without --json and -v, and in failing
variants (HTTP 401 from a loopback index, a hash mismatch, an unreachable 127.0.0.1 port, a usage
error). stdout, stderr and every file under the run's directory (environment, cache, HOME) are
scanned for each secret, raw and as the Basic Authorization value.

The wheel is six 1.16.0 from PyPI, downloaded once by pip and pinned by hash; the index is
fault_server.py on 127.0.0.1."""

import base64
import concurrent.futures
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from support import SERVER_LIFETIME, SIX, SIX_SHA256, STRATA, Servers, free_port, six_wheel_dir, tiny_base

HERE = pathlib.Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"
OTHER_SHA256 = hashlib.sha256(b"not six").hexdigest()

USER = "reader"
SECRETS = {
    "poetry source url userinfo": "sEcReT-poetry-userinfo-1f3a",
    "pylock wheel url userinfo": "sEcReT-pylock-wheel-7c2d",
    "pylock index url userinfo": "sEcReT-pylock-index-5e6f",
    "wheel url query token": "sEcReT-query-token-9e8b",
    "STRATA_HTTP_BASIC_*_PASSWORD": "sEcReT-env-password-4a5b",
    "STRATA_HTTP_BASIC_*_PASSWORD_FILE": "sEcReT-file-password-2c3d",
    "POETRY_HTTP_BASIC_*_PASSWORD_FILE": "sEcReT-poetry-file-8d9e",
    "netrc password": "sEcReT-netrc-password-6b7c",
    "command-line url userinfo": "sEcReT-argv-userinfo-0a1b",
}


def needles():
    """Every form a secret could take in output: as written, and as the Basic Authorization value."""
    out = {}
    for what, secret in SECRETS.items():
        out[secret.encode()] = what
        out[base64.b64encode(f"{USER}:{secret}".encode())] = what + " (base64)"
    return out


@pytest.fixture(scope="module")
def wheel_dir():
    return six_wheel_dir(PYTHON)


@pytest.fixture(scope="module")
def server(wheel_dir):
    servers = Servers()
    port = free_port()
    base = servers.start(["timeout", SERVER_LIFETIME, sys.executable, str(HERE / "fault_server.py"), str(port),
                          str(wheel_dir), SERVER_LIFETIME], port)
    yield base.removeprefix("http://")
    servers.stop()


def poetry_project(root, index_url, sha256=SIX_SHA256):
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "demo"\nversion = "0.1.0"\ndescription = ""\nauthors = []\n\n'
        '[tool.poetry.dependencies]\npython = "^3.8"\nsix = {version = "1.16.0", source = "private"}\n\n'
        f'[[tool.poetry.source]]\nname = "private"\nurl = "{index_url}"\npriority = "explicit"\n')
    (root / "poetry.lock").write_text(
        '[[package]]\nname = "six"\nversion = "1.16.0"\ndescription = ""\noptional = false\n'
        f'python-versions = "*"\nfiles = [\n    {{file = "{SIX}", hash = "sha256:{sha256}"}},\n]\n\n'
        f'[package.source]\ntype = "legacy"\nurl = "{index_url}"\nreference = "private"\n\n'
        '[metadata]\nlock-version = "2.0"\npython-versions = "^3.8"\ncontent-hash = "0"\n')
    return root


def pylock_project(root, wheel_url, index_url):
    root.mkdir(parents=True)
    (root / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "strata-tests"\n\n[[packages]]\nname = "six"\nversion = "1.16.0"\n'
        f'index = "{index_url}"\n'
        f'wheels = [{{name = "{SIX}", url = "{wheel_url}", hashes = {{sha256 = "{SIX_SHA256}"}}}}]\n')
    return root


def secret_files(inputs):
    """The files the credential variables and NETRC name (inputs: never scanned)."""
    (inputs / "password").write_text(SECRETS["STRATA_HTTP_BASIC_*_PASSWORD_FILE"] + "\n")
    (inputs / "poetry-password").write_text(SECRETS["POETRY_HTTP_BASIC_*_PASSWORD_FILE"] + "\n")
    (inputs / "netrc").write_text(f"machine 127.0.0.1 login {USER} password {SECRETS['netrc password']}\n")


CREDENTIALS = {
    "none": {},
    "env": {"STRATA_HTTP_BASIC_PRIVATE_USERNAME": USER,
            "STRATA_HTTP_BASIC_PRIVATE_PASSWORD": SECRETS["STRATA_HTTP_BASIC_*_PASSWORD"]},
    "file": {"STRATA_HTTP_BASIC_PRIVATE_USERNAME": USER, "STRATA_HTTP_BASIC_PRIVATE_PASSWORD_FILE": "password"},
    "poetry-file": {"POETRY_HTTP_BASIC_PRIVATE_USERNAME": USER,
                    "POETRY_HTTP_BASIC_PRIVATE_PASSWORD_FILE": "poetry-password"},
    "netrc": {"NETRC": "netrc"},
}


def projects(inputs, host, dead):
    """name -> (project dir, credentials, whether fetching it succeeds)."""
    s = SECRETS
    userinfo = lambda key: f"{USER}:{s[key]}@"  # noqa: E731
    token = f"?token={s['wheel url query token']}"
    wheel = f"http://{userinfo('pylock wheel url userinfo')}"
    index = f"http://{userinfo('pylock index url userinfo')}{host}/json/simple/"
    poetry = f"http://{userinfo('poetry source url userinfo')}"
    out = {
        "poetry userinfo": (poetry_project(inputs / "p1", f"{poetry}{host}/json/simple/"), "none", True),
        "pylock userinfo and token": (pylock_project(inputs / "p2", f"{wheel}{host}/ok/{SIX}{token}", index),
                                      "none", True),
        "pylock netrc": (pylock_project(inputs / "p3", f"http://{host}/ok/{SIX}{token}", index), "netrc", True),
        "poetry 401 userinfo": (poetry_project(inputs / "f1", f"{poetry}{host}/auth/simple/"), "none", False),
        "pylock 401": (pylock_project(inputs / "f2", f"{wheel}{host}/auth/{SIX}{token}", index), "none", False),
        "pylock hash mismatch": (pylock_project(inputs / "f3", f"{wheel}{host}/wrong/{SIX}{token}", index),
                                 "none", False),
        "poetry hash mismatch": (poetry_project(inputs / "f4", f"{poetry}{host}/json/simple/", OTHER_SHA256),
                                 "none", False),
        "pylock unreachable": (pylock_project(inputs / "f5", f"{wheel}127.0.0.1:{dead}/{SIX}{token}", index),
                               "none", False),
        "poetry unreachable": (poetry_project(inputs / "f6", f"{poetry}127.0.0.1:{dead}/simple/"), "none", False),
    }
    plain = poetry_project(inputs / "p4", f"http://{host}/json/simple/")
    denied = poetry_project(inputs / "f7", f"http://{host}/auth/simple/")
    for mode in ("env", "file", "poetry-file", "netrc"):
        out[f"poetry {mode}"] = (plain, mode, True)
        out[f"poetry 401 {mode}"] = (denied, mode, False)
    return out


# Every leaf command of the CLI: how this test runs it in a run directory (`run`: its paths).
# `strata --help` is the list of record; a command missing here fails test_every_command_is_covered.
# URLs on the command line carry a secret too (and get HTTP 401).
def commands(lock, run, ok, host):
    denied = f"http://{USER}:{SECRETS['command-line url userinfo']}@{host}/auth/simple/"
    env_dir, cache = run / "env", run / "cache"
    install = ["install", lock, "--env", env_dir, "--python", PYTHON, "--cache-dir", cache]
    fetch = ["fetch", lock, "--python", PYTHON, "--cache-dir", cache, "--retries", "1"]
    return {
        "install": [install, install + ["--dry-run"], install + ["--offline"], install + ["--index-url", denied],
                    install + ["--source", f"private={denied}"], install + ["--link-mode", denied],
                    ["install", lock, "--target", run / "target", "--python-version", "3.11", "--platform",
                     "manylinux_2_17_x86_64", "--implementation", "cp", "--abi", "cp311", "--cache-dir", cache]],
        "fetch": [fetch, fetch + ["--dest", run / "dest"], fetch + ["--source", f"private={denied}"]],
        "list": [["list", "--env", env_dir, "--cache-dir", cache] if ok
                 else ["list", "--python", PYTHON, "--cache-dir", cache]],
        "debug": [["debug", "--python", PYTHON], ["debug", "--python-version", "3.12", "--platform", "linux/arm64"]],
        "venv": [["venv", run / "venv", "--python", PYTHON]],
        "cache dir": [["cache", "dir", "--cache-dir", cache]],
        "cache clean": [["cache", "clean", "--cache-dir", cache]],
        "plan": [["plan", lock, "--out", run / "plan", "--python", PYTHON, "--cache-dir", cache]],
        "check": [["check", lock, "--env", env_dir, "--cache-dir", cache] if ok
                  else ["check", lock, "--python", PYTHON, "--cache-dir", cache],
                  ["check", lock, "--python-version", "3.11", "--platform", "musllinux_1_2_x86_64", "--cache-dir",
                   cache]],
        "export": [["export", lock, "--format", "requirements", "--python", PYTHON, "--cache-dir", cache],
                   ["export", lock, "--format", "pylock", "--python", PYTHON, "--cache-dir", cache,
                    "-o", run / "pylock.export.toml"]],
        "image": [["image", lock, "--base", f"oci:{tiny_base(run / 'base')}", "--out", f"oci:{run / 'image'}",
                   "--python", PYTHON, "--cache-dir", cache, "--no-compile", "--allow-replace"]],
    }


# Every flag combination for two projects; for the others -v (its stderr holds every line the
# default shows, and more) with and without --json; an unreachable index (7 s of retries for each
# install) only with both.
def flag_sets(project):
    if project in ("poetry userinfo", "pylock userinfo and token"):
        return [[], ["--json"], ["-v"], ["-v", "--json"]]
    return [["-v", "--json"]] if "unreachable" in project else [["-v"], ["-v", "--json"]]


def cli_commands(args=()):
    """The leaf commands `strata [args] --help` lists under "Subcommands:"."""
    text = subprocess.run([STRATA, *args, "--help"], capture_output=True, text=True, check=True).stdout
    if "Subcommands:" not in text:
        return [" ".join(args)]
    names = re.findall(r"^  ([a-z][a-z-]*)\s", text.split("Subcommands:", 1)[1], re.M)
    return [leaf for name in names for leaf in cli_commands((*args, name))]


class Scanner:
    def __init__(self):
        self.needles = needles()
        self.outputs = 0
        self.runs = 0
        self.found = []

    def scan(self, what, data):
        self.outputs += 1
        for needle, secret in self.needles.items():
            if needle in data:
                self.found.append(f"{secret} in {what}")

    def merge(self, other):
        self.outputs += other.outputs
        self.runs += other.runs
        self.found += other.found

    def scan_tree(self, root, what):
        for p in sorted(root.rglob("*")):
            if p.is_file() and not p.is_symlink():
                self.scan(f"{what}: {p.relative_to(root)}", p.read_bytes())


def test_every_command_is_covered(tmp_path):
    covered = set(commands("lock", tmp_path, True, "127.0.0.1:9"))
    assert set(cli_commands()) == covered, "cover the new command in commands() of test_secrets.py"


def test_no_secret_in_any_output(tmp_path, server):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    secret_files(inputs)
    dead = free_port()  # nothing listens there
    every = projects(inputs, server, dead)
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("STRATA_HTTP_BASIC_", "POETRY_HTTP_BASIC_")) and k not in ("NETRC", "STRATA_INDEX_URL")}

    def run_group(number, name, project, mode, ok, flags):
        """One project with one flag set: every command in a run directory of its own, in order
        (they share its environment and cache). Returns {key: CompletedProcess} and the scanner."""
        run = tmp_path / "runs" / str(number)
        (run / "home").mkdir(parents=True)
        env = dict(base_env, HOME=str(run / "home"), STRATA_CACHE_DIR=str(run / "cache"), XDG_CACHE_HOME=str(run / "xdg"))
        env.update({k: str(inputs / v) if k.endswith("_FILE") or k == "NETRC" else v
                    for k, v in CREDENTIALS[mode].items()})
        scanner, results = Scanner(), {}
        for command, argvs in commands(project, run, ok, server).items():
            for i, argv in enumerate(argvs):
                argv = [*flags, *map(str, argv)]
                r = subprocess.run([STRATA, *argv], capture_output=True, env=env, timeout=300)
                results[(name, " ".join(flags), command, i)] = r
                label = f"[{name}] strata {' '.join(argv)}"
                scanner.runs += 1
                scanner.scan(f"{label}: stdout", r.stdout)
                scanner.scan(f"{label}: stderr", r.stderr)
                scanner.scan_tree(run, label)
                if "--json" in flags and r.stdout:
                    json.loads(r.stdout)  # one document, whatever happened
        return results, scanner

    # The groups are independent and mostly wait (on retries, the loopback server, child
    # processes), so they run side by side, the unreachable ones (seconds of retries) first.
    groups = sorted(((name, project, mode, ok, flags) for name, (project, mode, ok) in every.items()
                     for flags in flag_sets(name)), key=lambda g: "unreachable" not in g[0])
    scanner, results = Scanner(), {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        for group_results, group_scanner in pool.map(lambda g: run_group(g[0], *g[1]), enumerate(groups)):
            results.update(group_results)
            scanner.merge(group_scanner)

    print(f"\nsecrets found in {len(scanner.found)} of {scanner.outputs} outputs "
          f"({scanner.runs} runs of strata; their stdout, stderr and every file under the run directory after each)")
    assert scanner.found == [], "\n".join(scanner.found)

    # The runs did what they were meant to: the secrets were in use, the failures failed where
    # meant to, and the URLs were shown, redacted.
    for name, (_, mode, ok) in every.items():
        install, fetch = results[(name, "-v --json", "install", 0)], results[(name, "-v --json", "fetch", 0)]
        assert install.returncode == (0 if ok else 1), (name, install.stderr.decode())
        assert fetch.returncode == (0 if ok else 1), (name, fetch.stderr.decode())
        if mode != "none":
            assert b"using credentials from" in install.stderr, (name, install.stderr.decode())
        if not ok:
            assert b"***@" in install.stderr or b"HTTP 401" in install.stderr, (name, install.stderr.decode())
    dry = json.loads(results[("poetry userinfo", "-v --json", "install", 1)].stdout)
    assert dry["selection"]["packages"][0]["source"]["url"] == f"http://***@{server}/json/simple/"
    dry = json.loads(results[("pylock userinfo and token", "-v --json", "install", 1)].stdout)
    package = dry["selection"]["packages"][0]
    assert package["source"]["url"] == f"http://***@{server}/json/simple/"
    assert package["artifacts"][0]["url"] == f"http://***@{server}/ok/{SIX}?token=***"
    usage = results[("poetry userinfo", "-v", "install", 5)]
    assert usage.returncode == 2 and f"http://***@{server}/auth/simple/".encode() in usage.stderr, usage.stderr.decode()


REGISTRY_SECRETS = {
    "--creds-file user:password": "sEcReT-registry-credsfile-3e4f",
    "--creds-file auths": "sEcReT-registry-credsjson-5a6b",
    "REGISTRY_AUTH_FILE": "sEcReT-registry-authfile-7c8d",
    "~/.docker/config.json auths": "sEcReT-registry-dockercfg-9e0f",
}


def test_registry_credentials_never_in_output(tmp_path):
    """The registry client (tests/tools/registry.cpp's strata_registry push and pull, and `strata
    image --push` and `strata image --base REGISTRY/REPO`) with a secret from every credential
    source, against a loopback registry that refuses them (HTTP 401, Basic) and one that hands out
    a Bearer token realm refusing them: no secret in stdout, stderr or any file under the run
    directory."""
    import http.server
    import threading

    driver = pathlib.Path(STRATA).parent / "strata_registry"

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_any(self):
            self.send_response(401)
            if self.path.startswith("/token"):
                pass
            elif self.server.bearer:
                self.send_header("WWW-Authenticate",
                                 f'Bearer realm="http://127.0.0.1:{self.server.server_port}/token",service="s"')
            else:
                self.send_header("WWW-Authenticate", 'Basic realm="r"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = do_POST = do_PUT = do_any

    scanner = Scanner()
    scanner.needles = {}
    for what, secret in REGISTRY_SECRETS.items():
        scanner.needles[secret.encode()] = what
        scanner.needles[base64.b64encode(f"{USER}:{secret}".encode())] = what + " (base64)"
    layout = tmp_path / "layout"
    (layout / "blobs" / "sha256").mkdir(parents=True)
    config = b"{}"
    config_digest = hashlib.sha256(config).hexdigest()
    (layout / "blobs" / "sha256" / config_digest).write_bytes(config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": f"sha256:{config_digest}", "size": 2}, "layers": []}).encode()
    manifest_digest = hashlib.sha256(manifest).hexdigest()
    (layout / "blobs" / "sha256" / manifest_digest).write_bytes(manifest)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{manifest_digest}",
         "size": len(manifest)}]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    lock = tmp_path / "project" / "requirements.txt"
    lock.parent.mkdir()
    lock.write_text(f"six==1.16.0 \\\n    --hash=sha256:{SIX_SHA256}\n")
    tiny = tiny_base(tmp_path / "tiny")
    wheels = six_wheel_dir(PYTHON)
    for bearer in (False, True):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.bearer = bearer
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host = f"127.0.0.1:{server.server_port}"
        try:
            for i, (what, secret) in enumerate(REGISTRY_SECRETS.items()):
                run = tmp_path / "runs" / f"registry-{int(bearer)}-{i}"
                home = run / "home"
                (home / ".docker").mkdir(parents=True)
                inputs = tmp_path / "inputs" / f"registry-{int(bearer)}-{i}"
                inputs.mkdir(parents=True)
                env = {"PATH": os.environ["PATH"], "HOME": str(home)}
                args = []
                auths = {"auths": {host: {"auth": base64.b64encode(f"{USER}:{secret}".encode()).decode()}}}
                if what == "--creds-file user:password":
                    (inputs / "secret").write_text(f"{USER}:{secret}\n")
                    args = ["--creds-file", inputs / "secret"]
                elif what == "--creds-file auths":
                    (inputs / "secret.json").write_text(json.dumps(auths))
                    args = ["--creds-file", inputs / "secret.json"]
                elif what == "REGISTRY_AUTH_FILE":
                    (inputs / "auth.json").write_text(json.dumps(auths))
                    env["REGISTRY_AUTH_FILE"] = str(inputs / "auth.json")
                else:
                    (home / ".docker" / "config.json").write_text(json.dumps(auths))
                image = [STRATA, "image", lock, "--python", PYTHON, "--no-compile", "--cache-dir", run / "cache",
                         "--find-links", wheels, "--offline"]
                for argv in ([driver, "push", layout, f"{host}/app:1"], [driver, "pull", f"{host}/app:1", run / "pulled"],
                             [*image, "--base", f"oci:{tiny}", "--push", f"{host}/app:1"],
                             [*image, "--base", f"{host}/base:1", "--out", f"oci:{run / 'image'}"]):
                    r = subprocess.run([*map(str, argv), *map(str, args)], capture_output=True, env=env, timeout=60)
                    label = (f"{'strata_registry' if argv[0] == driver else 'strata image'} "
                             f"{argv[1] if argv[0] == driver else argv[-2]} with {what}{' (bearer)' if bearer else ''}")
                    assert r.returncode == 1 and b"HTTP 401" in r.stderr, (label, r.stderr.decode())
                    assert b"were not accepted" in r.stderr, (label, r.stderr.decode())
                    scanner.scan(f"{label}: stdout", r.stdout)
                    scanner.scan(f"{label}: stderr", r.stderr)
                    (home / ".docker" / "config.json").unlink(missing_ok=True)
                    scanner.scan_tree(run, label)
                    if what == "~/.docker/config.json auths":
                        (home / ".docker" / "config.json").write_text(json.dumps(auths))
        finally:
            server.shutdown()
            server.server_close()
    assert scanner.outputs >= 64
    assert scanner.found == [], "\n".join(scanner.found)
