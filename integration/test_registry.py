"""The OCI distribution client (src/oci/registry.cpp) against a real registry: Debian's
docker-registry (distribution 2.8) on 127.0.0.1 with TLS from a test CA (openssl CLI), once with
htpasswd auth and once with token auth (a token server in this module issuing RS256 JWTs signed by
a key whose certificate chains to the registry's rootcertbundle). Requests are counted in the
registry's access log. Images are OCI layouts written here (deterministic tar+gzip layers) or
pushed by skopeo; skopeo inspects and copies what strata pushed. Bad answers (401, 403, 500, a
redirect to plain http, a blob whose bytes do not match its digest) come from a small HTTP server
in this module. Driven by the test-only tests/tools/registry.cpp (`strata_registry push|pull`);
`strata image --push` and registry bases through the same client: test_image_push.py. The registry
and its fixtures: registries.py. Credentials are checked absent from every output."""

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import threading
import time
import uuid

import pytest

from registries import (LIFETIME, NEEDS_REGISTRY, PASSWORD, USER, Registry, assert_no_secret,  # noqa: F401
                        basic_registry, creds_file, env, pki, skopeo, skopeo_auth, uploads)
from support import free_port

STRATA_BIN = pathlib.Path(os.environ["STRATA_BIN"])
DRIVER = STRATA_BIN.parent / "strata_registry"
pytestmark = NEEDS_REGISTRY


def run_driver(*args, env, check=True):
    proc = subprocess.run([str(DRIVER), *map(str, args)], capture_output=True, text=True, timeout=120, env=env)
    assert_no_secret(proc.stdout, proc.stderr)
    if check:
        assert proc.returncode == 0, f"strata_registry {args} exited {proc.returncode}\n{proc.stderr}"
        return json.loads(proc.stdout)
    return proc


# ---- images --------------------------------------------------------------------------------------

def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_blob(files):
    """A reproducible tar+gzip layer of {path: bytes}; (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue(), sha256(raw.getvalue())


def put_blob(layout, data):
    digest = sha256(data)
    path = layout / "blobs" / "sha256" / digest[7:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": digest, "size": len(data)}


def image_manifest(layout, layers, arch="amd64"):
    """Writes the layers and a config into `layout`; returns (manifest bytes, descriptor)."""
    blobs = [layer_blob(files) for files in layers]
    config = json.dumps({"architecture": arch, "os": "linux", "config": {"Env": ["PATH=/usr/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": [d for _, d in blobs]}},
                        sort_keys=True).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put_blob(layout, config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **put_blob(layout, b)}
                           for b, _ in blobs]}
    text = json.dumps(manifest, sort_keys=True).encode()
    return text, {"mediaType": manifest["mediaType"], **put_blob(layout, text)}


def write_layout(layout, layers, arch="amd64", tag="latest"):
    """An OCI image layout holding one image; its manifest digest."""
    _, desc = image_manifest(layout, layers, arch)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {**desc, "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
    return desc["digest"]


def write_index_layout(layout, tag="multi"):
    """An OCI layout whose tag names an image index of a linux/amd64 and a linux/arm64 image."""
    entries = []
    for arch in ("amd64", "arm64"):
        _, desc = image_manifest(layout, [{f"etc/{arch}": arch.encode()}], arch)
        variant = {"variant": "v8"} if arch == "arm64" else {}
        entries.append({**desc, "platform": {"os": "linux", "architecture": arch, **variant}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries}).encode()
    desc = {"mediaType": "application/vnd.oci.image.index.v1+json", **put_blob(layout, index)}
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {**desc, "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
    return {e["platform"]["architecture"]: e["digest"] for e in entries}


# ---- the test CA and the registries -------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Issues registry JWTs (RS256, x5c = the signing certificate) to USER/PASSWORD, for every
    scope asked; plain http on loopback."""

    def __init__(self, pki):
        self.pki = pki
        self.issued = []
        self.refused = 0
        cert_der = subprocess.run(["openssl", "x509", "-in", str(pki / "server.pem"), "-outform", "DER"],
                                  capture_output=True, check=True, timeout=30).stdout
        self.x5c = base64.b64encode(cert_der).decode()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    owner.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                from urllib.parse import parse_qs, urlparse
                query = parse_qs(urlparse(self.path).query)
                scopes = query.get("scope", [])
                owner.issued.append(scopes)
                body = json.dumps({"token": owner.token(scopes), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token(self, scopes):
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": "strata-test-issuer", "sub": USER, "aud": "strata-test", "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.pki / "server.key")],
                                   input=signing_input.encode(), capture_output=True, check=True, timeout=30).stdout
        return f"{signing_input}.{b64url(signature)}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory, pki):
    root = tmp_path_factory.mktemp("registry-token")
    tokens = TokenServer(pki)
    registry = Registry(root, pki, {"token": {"realm": f"http://127.0.0.1:{tokens.port}/token",
                                              "service": "strata-test", "issuer": "strata-test-issuer",
                                              "rootcertbundle": str(pki / "ca.pem")}})
    registry.tokens = tokens
    yield registry
    registry.stop()
    tokens.stop()


# ---- push ----------------------------------------------------------------------------------------

def test_push_repush_and_change_one_layer(tmp_path, basic_registry, creds_file, env, pki):
    reg = basic_registry
    ref = f"{reg.host}/team/app:v1"
    layers = [{"usr/lib/base.txt": b"base" * 1000}, {"opt/venv/dep.py": b"print('one')\n"}]
    first_digest = write_layout(tmp_path / "one", layers)
    reg.mark()
    report = run_driver("push", tmp_path / "one", ref, "--creds-file", creds_file, env=env)
    assert report["manifest"]["digest"] == first_digest
    assert [b["action"] for b in report["blobs"]] == ["uploaded"] * 3
    first = reg.requests()
    assert sum(r.startswith("PUT /v2/team/app/blobs/uploads/") for r in first) == 3
    assert [r for r in first if r.startswith("PUT /v2/team/app/manifests/")] == ["PUT /v2/team/app/manifests/v1"]
    assert first.index("PUT /v2/team/app/manifests/v1") == len(first) - 1  # the manifest last

    # Unchanged: HEADs only (three blobs, the manifest), nothing uploaded.
    again = run_driver("push", tmp_path / "one", ref, "--creds-file", creds_file, env=env)
    assert [b["action"] for b in again["blobs"]] == ["skipped"] * 3
    assert again["manifest"]["action"] == "skipped" and again["bytes_uploaded"] == 0
    repush = reg.requests()
    assert uploads(repush) == [] and sum(r.startswith("HEAD ") for r in repush) == 4

    # One layer changed: exactly that blob, the config and the manifest go up.
    layers[1] = {"opt/venv/dep.py": b"print('two')\n"}
    second_digest = write_layout(tmp_path / "two", layers)
    changed = run_driver("push", tmp_path / "two", ref, "--creds-file", creds_file, env=env)
    assert [b["action"] for b in changed["blobs"]] == ["uploaded", "skipped", "uploaded"]
    bump = reg.requests()
    puts = [r.split("?")[0].rsplit("/", 1)[0] for r in bump if r.startswith("PUT ")]
    assert puts == ["PUT /v2/team/app/blobs/uploads"] * 2 + ["PUT /v2/team/app/manifests"]
    assert bump[-1] == "PUT /v2/team/app/manifests/v1"

    # Another runner: a fresh layout directory, no memo of blob sources: nothing uploaded.
    runner = tmp_path / "runner"
    shutil.copytree(tmp_path / "two", runner)
    other = run_driver("push", runner, ref, "--creds-file", creds_file, "--sources", tmp_path / "runner.json", env=env)
    assert other["bytes_uploaded"] == 0 and uploads(reg.requests()) == []

    # Independent tools read what was pushed.
    inspected = json.loads(skopeo("inspect", *skopeo_auth(pki), f"docker://{ref}"))
    assert inspected["Digest"] == second_digest
    assert inspected["Architecture"] == "amd64" and len(inspected["Layers"]) == 2
    skopeo("copy", "--src-creds", f"{USER}:{PASSWORD}", "--src-cert-dir", pki / "certs.d", f"docker://{ref}",
           f"oci:{tmp_path / 'copied'}:v1")
    copied = json.loads((tmp_path / "copied" / "index.json").read_text())
    assert copied["manifests"][0]["digest"] == second_digest
    SUMMARY_LINES.append(f"registry push: first {len(first)} requests, re-push {len(repush)} "
                         f"(uploads {len(uploads(repush))}), one layer changed {len(bump)}")
    assert first_digest != second_digest


def test_large_blob_goes_up_in_chunks(tmp_path, basic_registry, creds_file, env):
    reg = basic_registry
    big = os.urandom(3 * 1024 * 1024 + 17)
    write_layout(tmp_path / "big", [{"data.bin": big}])
    reg.mark()
    report = run_driver("push", tmp_path / "big", f"{reg.host}/big:1", "--creds-file", creds_file,
                        "--monolithic-max", 1 << 20, "--chunk-size", 1 << 20, env=env)
    requests = reg.requests()
    assert sum(r.startswith("PATCH /v2/big/blobs/uploads/") for r in requests) == 4  # 3 MiB + 17 bytes of gzip
    assert report["bytes_uploaded"] > 3 * 1024 * 1024
    pulled = run_driver("pull", f"{reg.host}/big:1", tmp_path / "pulled", "--creds-file", creds_file, env=env)
    assert [b["action"] for b in pulled["blobs"]] == ["downloaded", "downloaded"]


def test_mount_from_the_base_repository(tmp_path, basic_registry, creds_file, env, pki):
    reg = basic_registry
    base_layer = {"usr/lib/python3.11/os.py": b"# base\n" * 500}
    write_layout(tmp_path / "base", [base_layer], tag="3.11")
    skopeo("copy", "--dest-creds", f"{USER}:{PASSWORD}", "--dest-cert-dir", pki / "certs.d",
           f"oci:{tmp_path / 'base'}:3.11", f"docker://{reg.host}/library/python:3.11")
    sources = tmp_path / "cache" / "blob-sources.json"
    pulled = run_driver("pull", f"{reg.host}/library/python:3.11", tmp_path / "cache" / "layout",
                        "--creds-file", creds_file, "--sources", sources, env=env)
    base_layer_digest = pulled["blobs"][1]["digest"]
    write_layout(tmp_path / "app", [base_layer, {"opt/venv/app.py": b"app\n"}])
    reg.mark()
    report = run_driver("push", tmp_path / "app", f"{reg.host}/app:1", "--creds-file", creds_file,
                        "--sources", sources, env=env)
    assert report["blobs"][1]["action"] == "mounted"
    assert report["blobs"][1]["mounted_from"] == f"{reg.host}/library/python"
    requests = reg.requests()
    assert f"POST /v2/app/blobs/uploads/?mount={base_layer_digest}&from=library/python" in requests
    assert not any(base_layer_digest in r for r in requests if r.startswith("PUT "))


def test_token_auth_push_and_pull(tmp_path, token_registry, env):
    reg = token_registry
    creds = tmp_path / "secret"
    creds.write_text(f"{USER}:{PASSWORD}\n")  # a Docker build secret / CI secret file
    digest = write_layout(tmp_path / "img", [{"a": b"a"}, {"b": b"b"}])
    reg.mark()
    report = run_driver("push", tmp_path / "img", f"{reg.host}/tok/app:1", "--creds-file", creds, env=env)
    assert report["manifest"]["digest"] == digest
    assert reg.tokens.issued == [["repository:tok/app:pull,push"]]  # one token for every request
    first = reg.requests()
    again = run_driver("push", tmp_path / "img", f"{reg.host}/tok/app:1", "--creds-file", creds, env=env)
    repush = reg.requests()
    assert again["bytes_uploaded"] == 0 and uploads(repush) == []
    SUMMARY_LINES.append(f"registry token auth: first push {len(first)} requests, re-push {len(repush)} "
                         f"(uploads 0), tokens issued {len(reg.tokens.issued)}")
    pulled = run_driver("pull", f"{reg.host}/tok/app@{digest}", tmp_path / "out", "--creds-file", creds, env=env)
    assert pulled["manifest"]["digest"] == digest

    # Credentials through REGISTRY_AUTH_FILE work the same; wrong ones are refused by name.
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"auths": {reg.host: {"username": USER, "password": PASSWORD}}}))
    run_driver("pull", f"{reg.host}/tok/app:1", tmp_path / "out2", env={**env, "REGISTRY_AUTH_FILE": str(auth_file)})
    wrong = tmp_path / "wrong"
    wrong.write_text(f"{USER}:not-{PASSWORD}")
    proc = run_driver("push", tmp_path / "img", f"{reg.host}/tok/app:2", "--creds-file", wrong, env=env, check=False)
    assert proc.returncode == 1
    assert "token service" in proc.stderr and f"--creds-file {wrong}" in proc.stderr
    assert "were not accepted" in proc.stderr


def test_pull_by_tag_digest_and_platform(tmp_path, basic_registry, creds_file, env, pki):
    reg = basic_registry
    digests = write_index_layout(tmp_path / "multi")
    skopeo("copy", "--all", "--dest-creds", f"{USER}:{PASSWORD}", "--dest-cert-dir", pki / "certs.d",
           f"oci:{tmp_path / 'multi'}:multi", f"docker://{reg.host}/multi:1")
    layout = tmp_path / "layout"
    arm = run_driver("pull", f"{reg.host}/multi:1", layout, "--platform", "linux/arm64", "--creds-file", creds_file,
                     env=env)
    assert arm["manifest"]["digest"] == digests["arm64"]
    amd = run_driver("pull", f"{reg.host}/multi:1", layout, "--platform", "linux/amd64", "--creds-file", creds_file,
                     env=env)
    assert amd["manifest"]["digest"] == digests["amd64"]
    by_digest = run_driver("pull", f"{reg.host}/multi@{digests['arm64']}", layout, "--creds-file", creds_file, env=env)
    assert all(b["action"] == "cached" for b in by_digest["blobs"])
    # umoci and skopeo read the layout strata wrote.
    index = json.loads((layout / "index.json").read_text())
    assert {m["digest"] for m in index["manifests"]} >= {digests["arm64"], digests["amd64"]}
    skopeo("inspect", f"oci:{layout}:{reg.host}/multi:1")
    proc = run_driver("pull", f"{reg.host}/multi:1", tmp_path / "s390x", "--platform", "linux/s390x",
                      "--creds-file", creds_file, env=env, check=False)
    assert proc.returncode == 2 and "no manifest for linux/s390x" in proc.stderr


def test_tls_verified_with_the_configured_ca(tmp_path, basic_registry, creds_file, env):
    write_layout(tmp_path / "img", [{"x": b"x"}])
    no_ca = {k: v for k, v in env.items() if k != "STRATA_CA_FILE"}
    basic_registry.mark()
    proc = run_driver("push", tmp_path / "img", f"{basic_registry.host}/tls:1", "--creds-file", creds_file,
                      env=no_ca, check=False)
    assert proc.returncode == 1 and "certificate" in proc.stderr.lower()
    assert basic_registry.requests() == []  # no request got through; no fallback to http


def test_docker_config_credentials_and_their_absence(tmp_path, basic_registry, env):
    write_layout(tmp_path / "img", [{"x": b"y"}])
    ref = f"{basic_registry.host}/cfg:1"
    proc = run_driver("push", tmp_path / "img", ref, env=env, check=False)
    assert proc.returncode == 1 and "requires credentials" in proc.stderr and "--creds-file" in proc.stderr
    docker = pathlib.Path(env["HOME"]) / ".docker"
    docker.mkdir()
    (docker / "config.json").write_text(json.dumps({"auths": {basic_registry.host: {
        "auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}}))
    run_driver("push", tmp_path / "img", ref, env=env)
    (docker / "config.json").write_text(json.dumps({"credHelpers": {basic_registry.host: "pass"}}))
    proc = run_driver("push", tmp_path / "img", ref, env=env, check=False)
    assert proc.returncode == 2 and "credential helpers are not supported" in proc.stderr


# ---- bad registries ------------------------------------------------------------------------------

class BadRegistry:
    """A plain-http loopback server answering as `mode` says; records "METHOD path" lines."""

    def __init__(self):
        self.mode = "401"
        self.log = []
        self.blobs = {}  # digest -> bytes served for GET
        self.manifest = None  # (media type, bytes)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                owner.log.append(f"{self.command} {self.path}")
                mode = owner.mode
                if mode == "401":
                    return self.reply(401, b"", [("WWW-Authenticate", 'Basic realm="bad"')])
                if self.path == "/v2/":
                    return self.reply(200, b"{}")
                if mode == "500" or (mode == "500-upload" and self.command != "HEAD"):
                    return self.reply(500, b'{"errors":[{"code":"UNKNOWN","message":"storage down"}]}')
                if mode == "500-upload":
                    return self.reply(404)
                if mode == "403":
                    if self.command == "HEAD":
                        return self.reply(404)
                    return self.reply(403, b'{"errors":[{"code":"DENIED","message":"requested access to the '
                                           b'resource is denied"}]}', [("Content-Type", "application/json")])
                if mode == "redirect":
                    return self.reply(307, b"", [("Location", "http://192.0.2.1/elsewhere")])
                if mode == "mismatch":
                    if "/manifests/" in self.path:
                        return self.reply(200, owner.manifest[1], [("Content-Type", owner.manifest[0])])
                    digest = self.path.rsplit("/", 1)[1]
                    if digest in owner.blobs:
                        return self.reply(200, owner.blobs[digest])
                return self.reply(404)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = handle_any

        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def bad():
    server = BadRegistry()
    yield server
    server.stop()


@pytest.fixture
def bad_creds(tmp_path):
    path = tmp_path / "bad-creds"
    path.write_text(f"{USER}:{PASSWORD}")
    return path


def test_registry_401_403_500_and_redirect_are_clear_errors(tmp_path, bad, bad_creds, env):
    write_layout(tmp_path / "img", [{"x": b"z"}])
    ref = f"{bad.host}/app:1"
    fast = ["--creds-file", bad_creds]

    bad.mode, bad.log = "401", []
    proc = run_driver("push", tmp_path / "img", ref, *fast, env=env, check=False)
    assert proc.returncode == 1 and "HTTP 401" in proc.stderr and f"--creds-file {bad_creds}" in proc.stderr
    assert not any(r.startswith("PUT ") for r in bad.log)

    bad.mode, bad.log = "403", []
    proc = run_driver("push", tmp_path / "img", ref, *fast, env=env, check=False)
    assert proc.returncode == 1 and "HTTP 403" in proc.stderr and "DENIED" in proc.stderr
    assert "the manifest was not pushed" in proc.stderr
    assert sum(r.startswith("POST ") for r in bad.log) <= 2  # a 403 is not retried (config, layer)
    assert not any("/manifests/" in r for r in bad.log)

    bad.mode, bad.log = "500", []
    proc = run_driver("push", tmp_path / "img", ref, *fast, "--retry-delay-ms", 10, env=env, check=False)
    assert proc.returncode == 1 and "HTTP 500" in proc.stderr and "after 5 attempts" in proc.stderr
    assert sum(r.startswith("HEAD /v2/app/blobs/") for r in bad.log) == 10  # 5 attempts for each of 2 blobs
    assert not any("/manifests/" in r for r in bad.log)

    bad.mode, bad.log = "500-upload", []
    proc = run_driver("push", tmp_path / "img", ref, *fast, "--retry-delay-ms", 10, env=env, check=False)
    assert proc.returncode == 1 and "HTTP 500" in proc.stderr and "storage down" in proc.stderr
    assert "after 5 attempts" in proc.stderr
    assert not any("/manifests/" in r for r in bad.log)

    bad.mode, bad.log = "redirect", []
    proc = run_driver("push", tmp_path / "img", ref, *fast, env=env, check=False)
    assert proc.returncode == 1 and "redirected to http://192.0.2.1/elsewhere" in proc.stderr
    assert "not https" in proc.stderr
    proc = run_driver("pull", ref, tmp_path / "pulled", *fast, env=env, check=False)
    assert proc.returncode == 1 and "redirected to http://192.0.2.1/elsewhere" in proc.stderr
    assert not (tmp_path / "pulled" / "index.json").exists()


def test_pulled_blob_with_wrong_digest_is_refused_and_not_kept(tmp_path, bad, bad_creds, env):
    layout = tmp_path / "src"
    write_layout(layout, [{"etc/os-release": b"ID=test\n"}])
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"]
    manifest = (layout / "blobs" / "sha256" / manifest_digest[7:]).read_bytes()
    bad.mode = "mismatch"
    bad.manifest = ("application/vnd.oci.image.manifest.v1+json", manifest)
    doc = json.loads(manifest)
    for desc in [doc["config"], *doc["layers"]]:
        bad.blobs[desc["digest"]] = (layout / "blobs" / "sha256" / desc["digest"][7:]).read_bytes()
    layer = doc["layers"][0]["digest"]
    bad.blobs[layer] = b"X" + bad.blobs[layer][1:]  # same size, other bytes
    out = tmp_path / "out"
    proc = run_driver("pull", f"{bad.host}/base:1", out, "--creds-file", bad_creds, env=env, check=False)
    assert proc.returncode == 1
    assert f"blob {layer}" in proc.stderr and "nothing of it was kept" in proc.stderr
    assert not (out / "blobs" / "sha256" / layer[7:]).exists()
    assert not (out / "index.json").exists()
    assert not [p for p in (out / "blobs" / "sha256").iterdir() if p.name.startswith(".tmp")]


SUMMARY_LINES = []


def teardown_module(module):
    from support import SUMMARY
    SUMMARY.extend(SUMMARY_LINES)
