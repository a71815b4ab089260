"""Helpers shared by the integration tests: the test environment's Python, free loopback ports,
servers stopped by PID, and pypiserver command lines."""

import os
import pathlib
import socket
import subprocess
import sys
import time

# Servers die by themselves after this many seconds even if a test run is killed.
SERVER_LIFETIME = "600"


def venv_python():
    env = os.environ.get("STRATA_TESTENV")
    return str(pathlib.Path(env) / "bin" / "python") if env else sys.executable


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


