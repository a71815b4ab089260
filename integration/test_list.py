"""`strata list`: what a real environment holds and who owns it. A venv made by `python -m venv`
with real packages from PyPI installed by pip; the answers are checked against what
importlib.metadata sees inside the same interpreter."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

STRATA = os.environ["STRATA_BIN"]
TESTENV = Path(os.environ["STRATA_TESTENV"])

SIX = "1.16.0"
PACKAGING = "24.1"
OWNER = "lock:/app/poetry.lock"

# What importlib.metadata sees: every distribution in sys.path order (duplicates included).
IMPORTLIB_SCRIPT = r"""
import json, sys
from importlib import metadata
print(json.dumps([
    {"name": d.metadata["Name"], "version": d.version, "path": str(getattr(d, "_path", ""))}
    for d in metadata.distributions()
]))
"""


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def strata(*args, check=True):
    proc = subprocess.run([STRATA, *args], capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"strata {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def list_json(*args):
    return json.loads(strata("--json", "list", *args).stdout)


def importlib_view(python, cwd):
    """name -> version of the first distribution of each normalized name, as importlib.metadata's
    Distribution.from_name() would answer."""
    out = subprocess.run([str(python), "-c", IMPORTLIB_SCRIPT], capture_output=True, text=True,
                         check=True, cwd=cwd).stdout
    first = {}
    for dist in json.loads(out):
        first.setdefault(normalize(dist["name"]), dist["version"])
    return first


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A venv made by the real `python -m venv`, with six and packaging installed by pip."""
    root = tmp_path_factory.mktemp("list") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    subprocess.run([str(root / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    f"six=={SIX}", f"packaging=={PACKAGING}"], check=True)
    return root


@pytest.fixture
def ledger(venv):
    """Writes <venv>/.strata/ledger.json for one test and removes it afterwards."""
    path = venv / ".strata" / "ledger.json"

    def write(text):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)

    yield write
    shutil.rmtree(venv / ".strata", ignore_errors=True)


def by_name(document):
    return {d["normalized_name"]: d for d in document["distributions"]}


def test_pip_installed_packages_are_unmanaged(venv, tmp_path):
    doc = list_json("--env", str(venv))
    assert doc["ok"] is True
    assert doc["environment"] == str(venv)
    assert doc["owners_dir"] == str(venv / ".strata" / "owners")
    assert doc["owners"] == [] and doc["state_files"] == []
    dists = by_name(doc)
    assert dists["six"]["version"] == SIX
    assert dists["packaging"]["version"] == PACKAGING
    for name in ("six", "packaging", "pip"):
        assert dists[name]["owner"] == "unmanaged"
        assert dists[name]["installer"] == "pip"
        assert dists[name]["format"] == "dist-info"
        assert Path(dists[name]["path"]).name.endswith(".dist-info")
        assert Path(dists[name]["site_dir"]).is_relative_to(venv)
    assert dists["six"]["name"] == "six"
    # Exactly what importlib.metadata sees inside the venv's interpreter, first one of each name.
    assert {n: d["version"] for n, d in dists.items()} == importlib_view(venv / "bin" / "python", tmp_path)
    names = [d["normalized_name"] for d in doc["distributions"]]
    assert names == sorted(names)
    assert doc["shadowed"] == [] and doc["problems"] == []


def test_ledger_claims_what_strata_installed(venv, ledger):
    ledger(json.dumps({
        "format": 1,
        "distributions": {
            "six": {"version": SIX, "owner": OWNER, "wheel": f"six-{SIX}-py2.py3-none-any.whl",
                    "sha256": "0" * 64, "dist_info": f"six-{SIX}.dist-info"},
            # The ledger knows another version: whatever is installed now is not strata's.
            "packaging": {"version": "23.0", "owner": OWNER, "wheel": "packaging-23.0-py3-none-any.whl",
                          "sha256": "1" * 64, "dist_info": "packaging-23.0.dist-info"},
        },
    }))
    doc = list_json("--env", str(venv))
    dists = by_name(doc)
    assert doc["state_files"] == [str(venv / ".strata" / "ledger.json")]  # an older strata's ledger is read
    assert dists["six"]["owner"] == OWNER
    assert dists["packaging"]["owner"] == "unmanaged"
    assert dists["pip"]["owner"] == "unmanaged"

    human = strata("list", "--env", str(venv))
    assert human.stdout == ""  # human text goes to stderr
    six_line = next(line for line in human.stderr.splitlines() if line.startswith("six "))
    assert six_line.split() == ["six", SIX, OWNER, "pip"]


def test_owners_come_from_every_owner_file(venv, ledger):
    owners = venv / ".strata" / "owners"  # the ledger fixture removes .strata/ afterwards
    owners.mkdir(parents=True)
    for owner, name, version in (("layer:base", "six", SIX), ("webapp", "packaging", PACKAGING)):
        file = owners / ("layer%3Abase.json" if owner == "layer:base" else f"{owner}.json")
        file.write_text(json.dumps({"format": 2, "owner": owner, "distributions": {name: {
            "version": version, "wheel": f"{name}-{version}-py3-none-any.whl", "sha256": "0" * 64,
            "dist_info": f"{name}-{version}.dist-info"}}}))
    doc = list_json("--env", str(venv))
    dists = by_name(doc)
    assert (dists["six"]["owner"], dists["packaging"]["owner"], dists["pip"]["owner"]) == (
        "layer:base", "webapp", "unmanaged")
    assert doc["owners"] == ["layer:base", "webapp"]
    assert len(doc["state_files"]) == 2


def test_python_alone_lists_that_interpreters_environment(venv):
    via_env = list_json("--env", str(venv))
    via_python = list_json("--python", str(venv / "bin" / "python"))
    assert via_python["environment"] == str(venv)
    assert via_python["distributions"] == via_env["distributions"]


def test_corrupt_ledger_is_a_clear_error(venv, ledger):
    ledger("{ not json")
    proc = strata("--json", "list", "--env", str(venv), check=False)
    assert proc.returncode == 1
    ledger_file = str(venv / ".strata" / "ledger.json")
    assert f"{ledger_file}: not valid JSON" in proc.stderr
    assert "delete" in proc.stderr
    assert json.loads(proc.stdout)["ok"] is False


def test_missing_environment_is_a_usage_error(tmp_path):
    proc = strata("list", "--env", str(tmp_path / "nope"), check=False)
    assert proc.returncode == 2
    assert str(tmp_path / "nope") in proc.stderr
    # Without --env or --python: VIRTUAL_ENV, ./.venv, python3 on PATH (test_messages).


def test_system_interpreter_matches_importlib(tmp_path):
    """Debian's python3 has egg-info and dist-info side by side in dist-packages."""
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        pytest.skip("no /usr/bin/python3")
    doc = list_json("--python", python)
    ours = {d["normalized_name"]: d["version"] for d in doc["distributions"]}
    assert ours == importlib_view(python, tmp_path)
    for d in doc["distributions"]:
        assert d["format"] == ("egg-info" if d["path"].endswith(".egg-info") else "dist-info")
    for d in doc["shadowed"]:
        assert d["normalized_name"] in ours
