"""A real lock written by Poetry 1.8.5 (tests/fixtures/locks/sdist-poetry18) whose dependencies
include packages PyPI has only as sdists (docopt, pyperclip, sgmllib3k through feedparser, wget as a
.zip) beside ordinary wheels (requests and its dependencies), installed whole by strata from PyPI:
`pip check` clean, every module imports, the built distributions' files equal pip's for the same
sdists (`pip install --no-deps --no-binary :all:`), and a second install into a new environment
builds nothing (every build a built-wheel cache hit). The cold and warm times go to the summary."""

import json
import pathlib
import subprocess
import time

from support import SUMMARY, pip_env, relative_files, strata

PY = "/usr/bin/python3"
LOCK = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "locks" / "sdist-poetry18"
SDIST_ONLY = {"docopt": "0.6.2", "pyperclip": "1.9.0", "sgmllib3k": "1.0.0", "wget": "3.2"}
WHEELS = {"requests", "urllib3", "idna", "certifi", "charset-normalizer", "feedparser"}
IMPORTS = ["docopt", "pyperclip", "sgmllib", "wget", "feedparser", "requests"]


def install(env, cache):
    started = time.monotonic()
    proc = strata("install", LOCK, "--env", env, "--python", PY, "--cache-dir", cache, "--json")
    return json.loads(proc.stdout), time.monotonic() - started


def site(env):
    return next(pathlib.Path(env).glob("lib/python3*/site-packages"))


def built_files(site_dir, names):
    """The files of the named distributions (as their RECORD lists them), hashed, without the
    installer's own files."""
    files = relative_files(site_dir)
    wanted = set()
    for record in site_dir.glob("*.dist-info/RECORD"):
        dist = record.parent.name.removesuffix(".dist-info").rsplit("-", 1)[0].lower().replace("_", "-")
        if dist not in names:
            continue
        for row in record.read_text().splitlines():
            path = row.split(",")[0]
            if path and not path.startswith("..") and "__pycache__" not in path:
                wanted.add(path)
    return {k: v for k, v in files.items() if k in wanted
            and not k.endswith(("/INSTALLER", "/RECORD", "/direct_url.json", "/REQUESTED"))}


def test_real_poetry_lock_with_sdist_only_dependencies(tmp_path):
    cache = tmp_path / "cache"
    env = tmp_path / "env"
    report, cold = install(env, cache)
    results = {r["name"]: r for r in report["results"]}
    assert set(results) == set(SDIST_ONLY) | WHEELS
    for name, version in SDIST_ONLY.items():
        assert results[name]["origin"] == "build", results[name]
        assert results[name]["version"] == version
        assert results[name]["build"]["from"] == "sdist"
        assert results[name]["build"]["source"].startswith("sha256:")
        assert not results[name]["build"]["cached"]
        assert any(r.startswith("setuptools==") for r in results[name]["build"]["build_requirements"])
    for name in WHEELS:
        assert results[name]["origin"] != "build" and results[name]["locked"], results[name]

    python = env / "bin" / "python"
    pip_venv = tmp_path / "pipenv"
    subprocess.run([PY, "-m", "venv", pip_venv], check=True)
    # strata's environment has no pip of its own: pip checks it from outside (--python).
    check = subprocess.run([pip_venv / "bin" / "pip", "--python", python, "check"], capture_output=True,
                           text=True, env=pip_env())
    assert check.returncode == 0 and "No broken requirements" in check.stdout, check.stdout + check.stderr
    subprocess.run([python, "-c", "import " + ", ".join(IMPORTS)], check=True)

    # pip, for the same four sdists (PEP 517, as strata builds them: Debian's pip 23 would run
    # a legacy `setup.py install` for a setup.py-only sdist).
    subprocess.run([pip_venv / "bin" / "pip", "install", "-q", "--no-deps", "--use-pep517", "--no-binary", ":all:",
                    *(f"{n}=={v}" for n, v in SDIST_ONLY.items())],
                   check=True, env=pip_env(), capture_output=True)
    ours = built_files(site(env), set(SDIST_ONLY))
    theirs = built_files(site(pip_venv), set(SDIST_ONLY))
    assert ours and ours == theirs

    # Warm: a new environment from the same cache builds nothing.
    warm_report, warm = install(tmp_path / "env2", cache)
    rebuilt = [r["name"] for r in warm_report["results"] if r["origin"] == "build" and not r["build"]["cached"]]
    assert rebuilt == []
    assert sum(1 for r in warm_report["results"] if r["origin"] == "build") == len(SDIST_ONLY)
    SUMMARY.append(f"sdist-poetry18 ({len(results)} packages, {len(SDIST_ONLY)} built): "
                   f"cold {cold:.1f} s, warm (new env, same cache) {warm:.1f} s, "
                   f"warm build cache hits {len(SDIST_ONLY)}/{len(SDIST_ONLY)}")
