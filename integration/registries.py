"""A real registry on loopback for the integration tests: Debian's docker-registry (distribution
2.8) on 127.0.0.1 with TLS from a test CA (openssl CLI) and htpasswd auth, its access log counting
requests; the credentials and skopeo's view of them. One registry per module (fixture
`basic_registry`), stopped by PID when the module ends."""

import base64
import json
import os
import re
import shutil
import subprocess
import time
import uuid

import pytest

from support import free_port, wait_for_port

REGISTRY_BIN = shutil.which("docker-registry")
USER = "ci-bot"
PASSWORD = "sEcReT-registry-pw-" + uuid.uuid4().hex[:8]
LIFETIME = "300"  # seconds any server started here may live

NEEDS_REGISTRY = pytest.mark.skipif(REGISTRY_BIN is None, reason="docker-registry not installed (scripts/setup.sh)")


def secret_forms():
    return [PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()]


def assert_no_secret(*texts):
    for text in texts:
        for secret in secret_forms():
            assert secret not in text, "a credential appeared in output"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA and a certificate for 127.0.0.1 signed by it (also the token signing key)."""
    return make_pki(tmp_path_factory.mktemp("pki"))


def make_pki(d):
    """pki's files in the directory `d`."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=strata test CA", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    certs = d / "certs.d"
    certs.mkdir()
    shutil.copy(d / "ca.pem", certs / "ca.crt")  # skopeo's --cert-dir layout
    return d


class Registry:
    """A docker-registry process on 127.0.0.1 with TLS; its access log counts requests."""

    def __init__(self, root, pki, auth_config, lifetime=LIFETIME):
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.log_path = root / "registry.log"
        config = root / "config.yml"
        config.write_text(json.dumps({
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
            "http": {"addr": self.host, "secret": "strata-test",
                     "tls": {"certificate": str(pki / "server.pem"), "key": str(pki / "server.key")}},
            "auth": auth_config}))
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["timeout", str(lifetime), REGISTRY_BIN, "serve", str(config)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc)
        self.mark()

    def mark(self):
        self.offset = self.log_path.stat().st_size

    def requests(self):
        """The "METHOD path" lines logged since the last mark(), then marks again."""
        time.sleep(0.2)  # the access log line follows the response
        with open(self.log_path, "rb") as f:
            f.seek(self.offset)
            text = f.read().decode(errors="replace")
        self.mark()
        return [f"{m} {p}" for m, p in re.findall(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/[\d.]+"', text)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def uploads(requests):
    """Requests other than HEADs and the API ping (GET /v2/)."""
    return [r for r in requests if not r.startswith("HEAD ") and r != "GET /v2/"]


def start_basic_registry(root, pki, lifetime=LIFETIME):
    """A Registry in `root` taking USER/PASSWORD (htpasswd), living at most `lifetime` seconds;
    stop() it."""
    htpasswd = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True,
                              timeout=30).stdout
    (root / "htpasswd").write_text(htpasswd)
    return Registry(root, pki, {"htpasswd": {"realm": "strata-test", "path": str(root / "htpasswd")}}, lifetime)


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory, pki):
    registry = start_basic_registry(tmp_path_factory.mktemp("registry-basic"), pki)
    yield registry
    registry.stop()


@pytest.fixture
def env(tmp_path, pki):
    """The driver's environment: the test CA, a HOME of its own (no machine credentials)."""
    home = tmp_path / "home"
    home.mkdir()
    return {"PATH": os.environ["PATH"], "HOME": str(home), "STRATA_CA_FILE": str(pki / "ca.pem")}


@pytest.fixture
def creds_file(tmp_path, basic_registry):
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"auths": {basic_registry.host: {
        "auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}}))
    return path


def skopeo(*args):
    proc = subprocess.run(["skopeo", *map(str, args)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def skopeo_auth(pki):
    return ["--creds", f"{USER}:{PASSWORD}", "--cert-dir", str(pki / "certs.d")]
