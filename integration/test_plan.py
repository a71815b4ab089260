"""`strata plan`: the real binary on real locks (the wide Poetry 2 fixture and a pylock with
sizes): byte-identical plans whatever the directory, cwd, cache and environment; a one-package
bump re-plans into the same directory changing only that package's manifest; policy errors."""

import hashlib
import json
import os
import pathlib
import urllib.request

import pytest

from support import Servers, free_port, strata, venv_python, SERVER_LIFETIME

SOURCE = pathlib.Path(os.environ.get("STRATA_SOURCE_DIR", pathlib.Path(__file__).resolve().parent.parent))
PYTHON = pathlib.Path.home() / ".pyenv/versions/3.11.7/bin/python3.11"
WIDE = SOURCE / "tests/fixtures/locks/wide-poetry2"

pytestmark = pytest.mark.skipif(not PYTHON.exists(), reason="needs pyenv's CPython 3.11.7")

# (name, version, size): wheels for any Python, so the target does not matter.
PACKAGES = [("bigpkg", "1.0", 30_000_000), ("midpkg", "2.0", 2_000_000), ("numpy", "2.1.0", 16_000_000)] + [
    (f"small{i}", "1.0", 1000 * (i + 1)) for i in range(40)]


def pylock(packages):
    lines = ['lock-version = "1.0"', 'created-by = "test_plan"', ""]
    for name, version, size in packages:
        digest = hashlib.sha256(f"{name}-{version}".encode()).hexdigest()
        wheel = f"{name}-{version}-py3-none-any.whl"
        lines += ["[[packages]]", f'name = "{name}"', f'version = "{version}"',
                  f'wheels = [{{name = "{wheel}", url = "https://files.example/{wheel}", size = {size}, '
                  f'hashes = {{sha256 = "{digest}"}}}}]', ""]
    return "\n".join(lines)


def plan(lock, out, *extra, cwd=None, env=None):
    proc = strata("--json", "plan", lock, "--out", out, "--python", PYTHON, *extra, cwd=cwd, env=env)
    return json.loads(proc.stdout)


def manifests(out):
    return {p.name: p.read_bytes() for p in sorted(pathlib.Path(out).iterdir()) if p.suffix == ".toml"}


def test_the_same_lock_gives_the_same_bytes_anywhere(tmp_path):
    a, b = tmp_path / "a" / "layers", tmp_path / "b" / "deep" / "plan"
    # --offline: sizes only from the lock (a Poetry lock has none) and the cache, never the index.
    plan(WIDE, a, "--cache-dir", tmp_path / "cache1", "--offline")
    env = dict(os.environ, TZ="Asia/Tokyo", STRATA_CACHE_DIR=str(tmp_path / "cache2"), LC_ALL="C")
    other_cwd = tmp_path / "elsewhere"
    other_cwd.mkdir()
    os.umask(0o077)
    try:
        plan(WIDE, b, "--offline", cwd=other_cwd, env=env)
    finally:
        os.umask(0o022)
    assert manifests(a) == manifests(b)
    assert len(manifests(a)) >= 2
    assert (a / "plan.json").read_bytes() == (b / "plan.json").read_bytes()
    for text in list(manifests(a).values()) + [(a / "plan.json").read_bytes()]:
        assert str(tmp_path).encode() not in text
    # Re-planning the unchanged lock into the same directory changes nothing at all.
    before = {p.name: p.read_bytes() for p in a.iterdir()}
    # The same cache: the default one may hold index sizes other runs looked up.
    report = plan(WIDE, a, "--cache-dir", tmp_path / "cache1", "--offline")
    assert report["changed"] == []
    assert {p.name: p.read_bytes() for p in a.iterdir()} == before


def test_a_bump_changes_only_its_own_layer(tmp_path):
    lock_dir, out = tmp_path / "app", tmp_path / "app" / "layers"
    lock_dir.mkdir()
    (lock_dir / "pylock.toml").write_text(pylock(PACKAGES))
    first = plan(lock_dir / "pylock.toml", out)
    layers = first["plan"]["layers"]
    assert len(layers) <= 32
    by_package = {p["name"]: l["file"] for l in layers for p in l["packages"]}
    assert by_package["numpy"].endswith("-numpy.toml")  # the scientific group, each member alone
    assert by_package["bigpkg"].endswith("-bigpkg.toml")
    before = manifests(out)

    bumped = [(n, "1.1" if n == "small7" else v, s) for n, v, s in PACKAGES]
    (lock_dir / "pylock.toml").write_text(pylock(bumped))
    second = plan(lock_dir / "pylock.toml", out)
    after = manifests(out)
    # Only small7's manifest has other bytes. Layers below it keep their files; those above it,
    # rebuilt by Docker anyway, may be reordered by the learned order (new NN prefixes).
    by_layer = lambda files: {name.split("-", 1)[1]: text for name, text in files.items()}  # noqa: E731
    old, new = by_layer(before), by_layer(after)
    small7 = by_package["small7"].split("-", 1)[1]
    assert set(old) == set(new)
    for name in new:
        assert (new[name] == old[name]) == (name != small7), name
    position = int(by_package["small7"].split("-", 1)[0])
    assert {f for f in after if int(f.split("-", 1)[0]) < position} == {
        f for f in before if int(f.split("-", 1)[0]) < position}
    assert set(second["changed"]) == {f for f in after if f not in before or after[f] != before[f]}
    assert all(int(f.split("-", 1)[0]) >= position for f in second["changed"])
    changed = [l for l in second["plan"]["layers"] if l["file"].split("-", 1)[1] == small7]
    assert changed[0]["changes"] == 1 and second["plan"]["generation"] == 1
    small7_entry = [p for p in changed[0]["packages"] if p["name"] == "small7"]
    assert small7_entry[0]["changes"] == 1

    # --fresh plans from scratch: the counts start again.
    fresh = plan(lock_dir / "pylock.toml", out, "--fresh", "--context", lock_dir)
    assert fresh["plan"]["generation"] == 0

    # The Dockerfile fragment: one COPY per manifest, then the whole lock.
    text = (out / "Dockerfile.layers").read_text()
    assert text.count("COPY layers/") == len(after)
    assert "COPY pylock.toml /strata/lock/\n" in text
    assert "strata install /strata/lock/ " in text


def test_policy_errors_name_file_line_and_column(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('policy-version = 1\n[[rule]]\nbuckets = "b"\ncount = 4\nsize = 3\n')
    proc = strata("--json", "plan", WIDE, "--out", tmp_path / "out", "--python", PYTHON, "--policy", policy,
                  check=False)
    assert proc.returncode == 2
    assert f'{policy}:5:8: unknown key "size" in a buckets rule' in json.loads(proc.stdout)["error"]["message"]
    proc = strata("--json", "plan", WIDE, "--out", tmp_path / "out", "--python", PYTHON, "--max-layers", "3",
                  check=False)
    assert proc.returncode == 2
    assert not (tmp_path / "out").exists()


def test_the_layers_add_up_to_the_lock(tmp_path):
    # Every manifest installed in order (read as a lock: `install --layer` is the owners' step),
    # then the whole lock over them: nothing left to install. Wheels come from PyPI (cached).
    out, env = tmp_path / "layers", tmp_path / "venv"
    report = plan(SOURCE / "examples/webapp", out)
    files = [layer["file"] for layer in report["plan"]["layers"]]
    assert len(files) >= 2
    installed = set()
    for name in files:
        result = json.loads(strata("--json", "install", out / name, "--env", env, "--python", PYTHON).stdout)
        # The manifest names its project: the layer's owner is that project's layer.
        layer = name.split("-", 1)[1].removesuffix(".toml")
        assert f'project = "strata-example-webapp"\nlayer = "{layer}"\n' in (out / name).read_text()
        assert (result["format"], result["owner"]) == ("manifest", f"layer:strata-example-webapp/{layer}")
        installed |= {d["name"] for d in result["plan"]["decisions"] if d["action"] == "install"}
    final = json.loads(strata("--json", "install", SOURCE / "examples/webapp", "--env", env).stdout)
    assert {d["action"] for d in final["plan"]["decisions"]} == {"keep"}
    assert {d["name"] for d in final["plan"]["decisions"]} == installed


def poetry_lock(packages):
    lines = ["# strata test_plan: a Poetry lock without sizes", ""]
    for name, version in packages:
        wheel = f"{name}-{version}-py3-none-any.whl"
        digest = hashlib.sha256(wheel.encode()).hexdigest()
        lines += ["[[package]]", f'name = "{name}"', f'version = "{version}"', 'description = ""',
                  "optional = false", 'python-versions = ">=3.8"', 'groups = ["main"]',
                  f'files = [{{file = "{wheel}", hash = "sha256:{digest}"}}]', ""]
    lines += ["[metadata]", 'lock-version = "2.1"', 'python-versions = ">=3.8"', 'content-hash = "0"', ""]
    return "\n".join(lines)


def test_poetry_sizes_come_from_the_index_json_pages_once(tmp_path):
    # A loopback PEP 691 index (fault_server.py's /json/simple/, PEP 700 sizes) listing the locked
    # wheels' names: bigwheel's file is 3 MB (at or above the default policy's 1 MiB alone rule).
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    packages = [("bigwheel", "1.0")] + [(f"tiny{i}", "1.0") for i in range(6)]
    for name, version in packages:
        with open(wheels / f"{name}-{version}-py3-none-any.whl", "wb") as f:
            f.truncate(3_000_000 if name == "bigwheel" else 1000)
    app = tmp_path / "app"
    app.mkdir()
    (app / "poetry.lock").write_text(poetry_lock(packages))
    (app / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0"\n')
    servers = Servers()
    port = free_port()
    try:
        base = servers.start([venv_python(), str(SOURCE / "integration/fault_server.py"), str(port),
                              str(wheels), SERVER_LIFETIME], port)

        def index_requests():
            with urllib.request.urlopen(f"{base}/count", timeout=10) as r:
                hits = json.load(r)
            return sum(n for path, n in hits.items() if path.startswith("/json/simple/"))

        def where(report, name):
            return {p["name"]: (l["file"], p) for l in report["plan"]["layers"] for p in l["packages"]}[name]

        cache = tmp_path / "cache"
        # --offline with an empty cache: no size known, bigwheel lands in a bucket.
        offline = plan(app / "poetry.lock", tmp_path / "offline", "--cache-dir", cache, "--offline", "--fresh",
                       "--index-url", f"{base}/json/simple/")
        layer, entry = where(offline, "bigwheel")
        assert not layer.endswith("-bigwheel.toml") and entry["size"] is None
        assert index_requests() == 0 and offline["sizes"]["index_requests"] == 0

        first = plan(app / "poetry.lock", tmp_path / "online", "--cache-dir", cache,
                     "--index-url", f"{base}/json/simple/")
        layer, entry = where(first, "bigwheel")
        assert layer.endswith("-bigwheel.toml")
        assert (entry["size"], entry["size-source"]) == (3_000_000, "index")
        assert where(first, "tiny0")[1]["size"] == 1000
        assert index_requests() == len(packages) == first["sizes"]["index_requests"]
        # Manifests stay lock-derived: the index's sizes are not written into them.
        manifest = (tmp_path / "online" / layer).read_text()
        assert "bigwheel-1.0-py3-none-any.whl" in manifest and "size" not in manifest

        # A second plan (fresh, so placement is decided again) asks the index nothing: the cache.
        second = plan(app / "poetry.lock", tmp_path / "again", "--cache-dir", cache, "--fresh",
                      "--index-url", f"{base}/json/simple/")
        assert where(second, "bigwheel")[0].endswith("-bigwheel.toml")
        assert second["sizes"] == {"from_cache": len(packages), "index_requests": 0}
        assert index_requests() == len(packages)
        # --offline with the warm cache (kept per index URL) places it the same way, asking nothing.
        warm = plan(app / "poetry.lock", tmp_path / "warm", "--cache-dir", cache, "--offline",
                    "--index-url", f"{base}/json/simple/")
        assert where(warm, "bigwheel")[0].endswith("-bigwheel.toml")
        assert manifests(tmp_path / "warm") == manifests(tmp_path / "again")
        assert index_requests() == len(packages)
    finally:
        servers.stop()
