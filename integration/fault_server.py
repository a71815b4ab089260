"""A small HTTP server that misbehaves on purpose, for strata's fetch tests.

Usage: fault_server.py PORT WHEEL_DIR [LIFETIME_SECONDS]

Serves the files in WHEEL_DIR under several prefixes, each with its own fault:
  /ok/<file>        the file
  /flaky/<file>     HTTP 503 twice (per file), then the file
  /busy/<file>      HTTP 429 with "Retry-After: 1" once, then the file
  /truncate/<file>  announces the full length, sends half, closes the connection
  /wrong/<file>     the right length of the wrong bytes
  /stall/<file>     announces the full length, sends 10 bytes, then stalls
  /auth/<anything>  HTTP 401 with a Basic challenge (files and project pages)
  /endless/<file>   the file, then zeros without end (no Content-Length; until the client hangs up)
  /drip/<file>      announces the full length, then sends 20 bytes a second
  /slow/<file>      announces the full length, then sends 4 KiB a second
  /json/simple/<project>/  a PEP 691 JSON project page (when the Accept header asks for it,
                    else 406) listing that project's files (with their sizes) with links to
                    /ok/<file>; /json-MODE/simple/<project>/ links to /MODE/<file> instead
  /gate/<file>      the file, once /open/<file> has been requested (at most GATE_SECONDS later:
                    then the file all the same, and /events says the gate timed out)
  /open/<file>      opens that gate; 200 at once
  /meet/<group>/<n>/<s>  answers once n requests for <group> are waiting together, 504 after s
                    seconds alone (/events says "met" or "alone" for each)
  /hold-<P>/simple/<project>/  a PEP 691 JSON page; the page of project <P> waits until a file of
                    another project was served through /release-<P>/<file> (at most GATE_SECONDS;
                    /events says "served <file>" and "page <P>: opened" or "timed out"), the other
                    projects' pages link to /release-<P>/<file>
  /events           JSON: the gates' and meetings' outcomes in order, e.g. ["opened big.whl",
                    "gate big.whl: opened", "meet pair: met"]
  /count            JSON: how many requests each path received
  /sent             JSON: how many body bytes each /endless/ path wrote before the client hung up
GATE_SECONDS is the environment's FAULT_GATE_SECONDS (default 30). A query string is ignored. Binds 127.0.0.1 only and exits by itself after LIFETIME_SECONDS (default 300).
"""

import hashlib
import http.server
import json
import os
import re
import sys
import threading
import time
from collections import Counter

PORT = int(sys.argv[1])
ROOT = sys.argv[2]
LIFETIME = float(sys.argv[3]) if len(sys.argv) > 3 else 300.0
hits = Counter()
sent = Counter()
lock = threading.Lock()
GATE_SECONDS = float(os.environ.get("FAULT_GATE_SECONDS", "30"))
events = []
gates = {}  # file -> threading.Event
meetings = {}  # group -> [arrived count, Condition]


def gate(name):
    with lock:
        return gates.setdefault(name, threading.Event())


def meet(group, n, seconds):
    with lock:
        entry = meetings.setdefault(group, [0, threading.Condition(lock)])
        entry[0] += 1
        entry[1].notify_all()
        met = entry[1].wait_for(lambda: entry[0] >= n, timeout=seconds)
        if not met:
            entry[0] -= 1  # gone: a later request waits alone again
        events.append(f"meet {group}: {'met' if met else 'alone'}")
    return met


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _file(self, name):
        path = os.path.join(ROOT, os.path.basename(name))
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            hits[self.path] += 1
            count = hits[self.path]
        if self.path == "/count":
            self._send(200, json.dumps(hits).encode(), [("Content-Type", "application/json")])
            return
        if self.path == "/events":
            with lock:
                body = json.dumps(events).encode()
            self._send(200, body, [("Content-Type", "application/json")])
            return
        if self.path.startswith("/open/"):
            name = os.path.basename(self.path)
            with lock:
                events.append(f"opened {name}")
            gate(name).set()
            self._send(200, b"open")
            return
        group = re.match(r"^/meet/(\w+)/(\d+)/(\d+)$", self.path)
        if group:
            met = meet(group.group(1), int(group.group(2)), float(group.group(3)))
            self._send(200 if met else 504, b"met" if met else b"alone")
            return
        if self.path == "/sent":
            self._send(200, json.dumps(sent).encode(), [("Content-Type", "application/json")])
            return
        held = re.match(r"^/hold-([\w.-]+)/simple/([^/]+)/?$", self.path)
        if held:
            slow, project = held.group(1), held.group(2)
            if project == slow:
                opened = gate(f"page {slow}").wait(GATE_SECONDS)
                with lock:
                    events.append(f"page {slow}: {'opened' if opened else 'timed out'}")
                self._json_page(project, "ok", prefix="/")
            else:
                self._json_page(project, f"release-{slow}", prefix="/")
            return
        page = re.match(r"^/json(?:-(\w+))?/simple/([^/]+)/?$", self.path)
        if page:
            self._json_page(page.group(2), page.group(1) or "ok")
            return
        parts = self.path.split("?", 1)[0].strip("/").split("/", 1)
        if len(parts) != 2:
            self._send(404)
            return
        mode, name = parts
        if mode == "auth":
            self._send(401, b"no", [("WWW-Authenticate", 'Basic realm="test"')])
            return
        data = self._file(name)
        if data is None:
            self._send(404)
            return
        if mode == "ok":
            self._send(200, data)
        elif mode.startswith("release-"):
            self._send(200, data)
            with lock:
                events.append(f"served {name}")
            gate(f"page {mode[len('release-'):]}").set()
        elif mode == "gate":
            opened = gate(name).wait(GATE_SECONDS)
            with lock:
                events.append(f"gate {name}: {'opened' if opened else 'timed out'}")
            self._send(200, data)
        elif mode == "flaky":
            if count <= 2:
                self._send(503, b"try again")
            else:
                self._send(200, data)
        elif mode == "busy":
            if count <= 1:
                self._send(429, b"slow down", [("Retry-After", "1")])
            else:
                self._send(200, data)
        elif mode == "truncate":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif mode == "wrong":
            self._send(200, bytes((b ^ 0x5A) for b in data))
        elif mode == "stall":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:10])
            self.wfile.flush()
            time.sleep(60)
            self.close_connection = True
        elif mode == "endless":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk, written = bytes(1 << 16), 0
            try:
                self.wfile.write(data)
                written = len(data)
                with lock:
                    sent[self.path] = written
                while True:
                    self.wfile.write(chunk)
                    written += len(chunk)
                    with lock:
                        sent[self.path] = written
            except OSError:
                pass
        elif mode in ("drip", "slow"):
            step, pause = (20, 1.0) if mode == "drip" else (1024, 0.25)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.close_connection = True
            try:
                for i in range(0, len(data), step):
                    self.wfile.write(data[i:i + step])
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:
                pass
        else:
            self._send(404)


def _normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _json_page(self, project, mode, prefix="../../../"):
    if "application/vnd.pypi.simple.v1+json" not in self.headers.get("Accept", ""):
        self._send(406, b"ask for application/vnd.pypi.simple.v1+json")
        return
    files = []
    for name in sorted(os.listdir(ROOT)):
        if name.endswith(".whl") and _normalize(name.split("-")[0]) == project:
            with open(os.path.join(ROOT, name), "rb") as f:
                content = f.read()
            files.append({"filename": name, "url": f"{prefix}{mode}/{name}", "size": len(content),
                          "hashes": {"sha256": hashlib.sha256(content).hexdigest()}})
    doc = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
    self._send(200, json.dumps(doc).encode(), [("Content-Type", "application/vnd.pypi.simple.v1+json")])


Handler._json_page = _json_page


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", PORT), Handler)
threading.Timer(LIFETIME, server.shutdown).start()
server.serve_forever()
