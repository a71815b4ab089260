"""Errors that say what to do (issue 15), each from a real run of the command that provokes it:
no lock in a directory, a lock strata does not read, a TLS failure, the environment chosen without a target, subcommand help,
one spelling of names, "no wheel matches" summarised, and --json's plan and warnings."""

import json
import os
import pathlib
import subprocess

import pytest

from support import STRATA, strata

PYTHON = "/usr/bin/python3"


def test_no_lock_in_a_directory_names_its_absolute_path_and_how_to_make_one(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for argv in (["install", "--dry-run", "--env", str(tmp_path / "env"), "--python", PYTHON],
                 ["plan", "--out", str(tmp_path / "out"), "--python", PYTHON],
                 ["fetch", "--python", PYTHON]):
        r = subprocess.run([STRATA, "--json", *argv, "--cache-dir", str(tmp_path / "cache")], cwd=project,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (argv, r.stderr)
        message = json.loads(r.stdout)["error"]["message"]
        assert message.startswith(f"{project}: no lock file here"), message
        for command in ("`poetry lock`", "`uv lock`", "`pdm lock`", "`pip-compile --generate-hashes`",
                        "`pipenv lock`"):
            assert command in message, (command, message)
    assert not (tmp_path / "env").exists() and not (tmp_path / "out").exists()


# conda-lock's and pixi's locks: files strata does not read, named and detected by neither name nor content.
FOREIGN_LOCKS = {
    "conda-lock.yml": "version: 1\nmetadata:\n  platforms: [linux-64]\npackage:\n- name: six\n  version: 1.16.0\n",
    "pixi.lock": "version: 5\nenvironments:\n  default:\n    channels:\n    - url: https://conda.anaconda.org/conda-forge/\n",
}


@pytest.mark.parametrize("name", sorted(FOREIGN_LOCKS))
def test_a_lock_strata_does_not_read_names_the_formats_and_the_export_command(tmp_path, name):
    lock = tmp_path / name
    lock.write_text(FOREIGN_LOCKS[name])
    for argv in (["install", lock, "--env", tmp_path / "env", "--python", PYTHON],
                 ["plan", lock, "--out", tmp_path / "out", "--python", PYTHON],
                 ["fetch", lock, "--python", PYTHON]):
        r = strata("--json", *argv, "--cache-dir", tmp_path / "cache", check=False)
        assert r.returncode == 2, (argv, r.stderr)
        message = json.loads(r.stdout)["error"]["message"]
        assert message.startswith(f"{lock}: not a lock strata reads ("), message
        for reads in ("uv.lock (`uv lock`)", "poetry.lock with its pyproject.toml (`poetry lock`)", "pdm.lock",
                      "Pipfile.lock", "hashed requirements*.txt (`pip-compile --generate-hashes`"):
            assert reads in message, (reads, message)
        # The command that converts a lock into one strata reads.
        converts = "pylock.toml / pylock.*.toml (`uv export --format pylock.toml -o pylock.toml`, `pdm export -f pylock`)"
        assert converts in message, message
    assert not any((tmp_path / d).exists() for d in ("env", "out", "cache"))


# ---- TLS: a loopback HTTPS server whose certificate a test CA, made here, signed ---------------

CA_VARIABLES = ("STRATA_CA_FILE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

_HTTPS_SERVER = r"""
import functools, http.server, ssl, sys
port, root, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


def make_ca(directory, name):
    """A CA (name.pem, name.key) made by the openssl CLI."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory / f"{name}.key",
                    "-out", directory / f"{name}.pem", "-days", "2", "-subj", f"/CN={name}"],
                   check=True, capture_output=True, timeout=60)
    return directory / f"{name}.pem"


@pytest.fixture(scope="module")
def https_lock(tmp_path_factory, servers):
    """(pylock.toml naming LOOPBACK_WHEELS on a loopback HTTPS server, the CA that signed its
    certificate, another CA that did not)."""
    from support import LOOPBACK_WHEELS, free_port, pinned_wheel_dir, SERVER_LIFETIME, venv_python
    d = tmp_path_factory.mktemp("tls")
    ca = make_ca(d, "strata-test-ca")
    other = make_ca(d, "strata-other-ca")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d / "server.key", "-out",
                    d / "server.csr", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    (d / "san").write_text("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(["openssl", "x509", "-req", "-in", d / "server.csr", "-CA", ca, "-CAkey", d / "strata-test-ca.key",
                    "-CAcreateserial", "-out", d / "server.pem", "-days", "2", "-extfile", d / "san"],
                   check=True, capture_output=True, timeout=60)
    wheels = pinned_wheel_dir("uv-lock-loopback", LOOPBACK_WHEELS)
    port = free_port()
    url = servers.start(["timeout", SERVER_LIFETIME, venv_python(), "-c", _HTTPS_SERVER, str(port), str(wheels),
                         str(d / "server.pem"), str(d / "server.key")], port).replace("http:", "https:")
    text = 'lock-version = "1.0"\ncreated-by = "test_messages"\n\n'
    for wheel, sha256 in sorted(LOOPBACK_WHEELS.items()):
        name, version = wheel.split("-")[:2]
        text += (f'[[packages]]\nname = "{name}"\nversion = "{version}"\nwheels = [{{name = "{wheel}", '
                 f'url = "{url}/{wheel}", hashes = {{sha256 = "{sha256}"}}}}]\n\n')
    (d / "pylock.toml").write_text(text)
    return d / "pylock.toml", ca, other


def without_ca_variables(**extra):
    env = {k: v for k, v in os.environ.items() if k not in CA_VARIABLES}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def test_an_untrusted_certificate_is_one_line_naming_the_variables(https_lock, tmp_path):
    lock, _, _ = https_lock
    r = strata("--json", "install", lock, "--env", tmp_path / "env", "--python", PYTHON, "--cache-dir",
               tmp_path / "cache", check=False, env=without_ca_variables())
    assert r.returncode == 1, r.stderr
    message = json.loads(r.stdout)["error"]["message"]
    assert "\n" not in message, message
    assert message.startswith("https://127.0.0.1:"), message  # the server, not each file's URL
    assert " (3 files): TLS: " in message, message
    for variable in CA_VARIABLES:
        assert variable in message, (variable, message)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {message}"], r.stderr
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_each_ca_variable_is_honoured(https_lock, tmp_path, variable):
    lock, ca, _ = https_lock
    r = strata("--json", "fetch", lock, "--python", PYTHON, "--cache-dir", tmp_path / "cache", check=False,
               env=without_ca_variables(**{variable: ca}))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ok"] is True


def test_ca_variables_are_read_in_order(https_lock, tmp_path):
    lock, ca, other = https_lock
    # STRATA_CA_FILE comes first: the wrong CA in the others does not matter.
    r = strata("--json", "fetch", lock, "--python", PYTHON, "--cache-dir", tmp_path / "first", check=False,
               env=without_ca_variables(STRATA_CA_FILE=ca, SSL_CERT_FILE=other, CURL_CA_BUNDLE=other))
    assert r.returncode == 0, r.stderr
    # SSL_CERT_FILE before REQUESTS_CA_BUNDLE: its wrong CA is the one used, and the message says so.
    r = strata("--json", "fetch", lock, "--python", PYTHON, "--cache-dir", tmp_path / "second", check=False,
               env=without_ca_variables(SSL_CERT_FILE=other, REQUESTS_CA_BUNDLE=ca))
    assert r.returncode == 1, r.stderr
    message = json.loads(r.stdout)["error"]["message"]
    assert f"{other} from SSL_CERT_FILE is in use" in message, message
    # A variable naming no file is a usage error that names it.
    r = strata("--json", "fetch", lock, "--python", PYTHON, "--cache-dir", tmp_path / "third", check=False,
               env=without_ca_variables(REQUESTS_CA_BUNDLE=tmp_path / "missing.pem"))
    assert r.returncode == 2, r.stderr
    assert json.loads(r.stdout)["error"]["message"].startswith("REQUESTS_CA_BUNDLE: "), r.stdout


# ---- the environment chosen without --env, --python or --prefix -------------------------------

def six_pylock(directory):
    """A pylock.toml of six 1.16.0 whose URL is a closed loopback port: installed from
    --find-links with --offline."""
    from support import SIX, SIX_SHA256
    lock = directory / "pylock.toml"
    lock.write_text('lock-version = "1.0"\ncreated-by = "test_messages"\n\n[[packages]]\nname = "six"\n'
                    f'version = "1.16.0"\nwheels = [{{name = "{SIX}", url = "http://127.0.0.1:9/{SIX}", '
                    f'hashes = {{sha256 = "{SIX_SHA256}"}}}}]\n')
    return lock


def run_in(cwd, *args, env=None):
    base = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    base.update(env or {})
    return subprocess.run([STRATA, *map(str, args)], cwd=cwd, env=base, capture_output=True, text=True, timeout=300)


def test_without_a_target_virtual_env_then_dot_venv_then_python3_on_path(tmp_path):
    from support import six_wheel_dir
    wheels = six_wheel_dir()
    project = tmp_path / "project"
    project.mkdir()
    lock = six_pylock(project)
    active, local = tmp_path / "active", project / ".venv"
    strata("venv", active, "--python", PYTHON)
    strata("venv", local, "--python", PYTHON)
    install = ["--json", "install", lock, "--cache-dir", tmp_path / "cache", "--find-links", wheels, "--offline"]

    # VIRTUAL_ENV first, even with a ./.venv here.
    r = run_in(project, *install, env={"VIRTUAL_ENV": str(active)})
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert (report["target"]["source"], report["target"]["root"]) == ("VIRTUAL_ENV", str(active))
    assert list(active.glob("lib/python3*/site-packages/six.py"))
    assert not list(local.glob("lib/python3*/site-packages/six.py"))
    listed = json.loads(run_in(project, "--json", "list", env={"VIRTUAL_ENV": str(active)}).stdout)
    assert (listed["environment"], listed["environment_source"]) == (str(active), "VIRTUAL_ENV")
    assert "six" in {d["name"] for d in listed["distributions"]}

    # Then ./.venv.
    r = run_in(project, *install)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert (report["target"]["source"], report["target"]["root"]) == ("./.venv", str(local))
    assert list(local.glob("lib/python3*/site-packages/six.py"))
    listed = json.loads(run_in(project, "--json", "list").stdout)
    assert (listed["environment"], listed["environment_source"]) == (str(local), "./.venv")

    # Then python3 on PATH, by its real path (through a pyenv shim, if PATH has one): a dry run.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_in(elsewhere, "--json", "install", lock, "--cache-dir", tmp_path / "cache", "--dry-run")
    assert r.returncode in (0, 3), r.stderr  # 3: that environment may hold another six
    target = json.loads(r.stdout)["target"]
    real = subprocess.run(["python3", "-c", "import os, sys; print(os.path.realpath(sys.executable))"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert (target["source"], target["real_python"]) == ("PATH", real)

    # A VIRTUAL_ENV that is no environment yet is made, as --env makes one.
    fresh = tmp_path / "fresh"
    r = run_in(project, *install, env={"VIRTUAL_ENV": str(fresh)})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["target"]["source"] == "VIRTUAL_ENV"
    assert list(fresh.glob("lib/python3*/site-packages/six.py"))


# ---- subcommand help, names, "no wheel matches", --json ---------------------------------------

@pytest.mark.parametrize("command", ["install", "list", "fetch", "plan", "check", "export", "venv", "debug",
                                     "cache", "cache dir"])
def test_subcommand_help_shows_global_options_and_an_example(command):
    r = strata(*command.split(), "--help")
    assert "Global options" in r.stdout, r.stdout
    for flag in ("-v,--verbose", "-q,--quiet", "--json", "--color"):
        assert flag in r.stdout, (flag, r.stdout)
    example = r.stdout.split("Example: ", 1)[1].splitlines()[0]
    assert example.startswith(f"strata {command}"), example


def test_list_spells_names_as_install_does(tmp_path):
    from support import pinned_wheel_dir
    wheel = "typing_extensions-4.12.2-py3-none-any.whl"
    sha256 = "04e5ca0351e0f3f85c6853954072df659d0d13fac324d0072316b67d7794700d"
    wheels = pinned_wheel_dir("owners-v1", {wheel: sha256})
    lock = tmp_path / "pylock.toml"
    lock.write_text('lock-version = "1.0"\ncreated-by = "test_messages"\n\n[[packages]]\nname = "typing-extensions"\n'
                    f'version = "4.12.2"\nwheels = [{{name = "{wheel}", url = "http://127.0.0.1:9/{wheel}", '
                    f'hashes = {{sha256 = "{sha256}"}}}}]\n')
    env = tmp_path / "env"
    installed = json.loads(strata("--json", "install", lock, "--env", env, "--python", PYTHON, "--cache-dir",
                                  tmp_path / "cache", "--find-links", wheels, "--offline").stdout)
    assert [r["name"] for r in installed["results"]] == ["typing-extensions"]
    listed = json.loads(strata("--json", "list", "--env", env).stdout)
    row = next(d for d in listed["distributions"] if d["normalized_name"] == "typing-extensions")
    # METADATA says typing_extensions; every name strata prints is the normalized one.
    assert (row["name"], row["display_name"]) == ("typing-extensions", "typing_extensions")


# numpy 2.0.2's real files (tests/fixtures/locks/datasci-poetry2/poetry.lock) for other systems
# than this one: macOS and Windows wheels, and its sdist.
NUMPY_OTHER = [f"numpy-2.0.2-{tags}.whl" for tags in (
    [f"cp{v}-cp{v}-{p}" for v in (39, 310, 311, 312)
     for p in ("macosx_10_9_x86_64", "macosx_11_0_arm64", "macosx_14_0_arm64", "macosx_14_0_x86_64", "win32",
               "win_amd64")] + ["pp39-pypy39_pp73-macosx_10_9_x86_64", "pp39-pypy39_pp73-win_amd64"])]


def numpy_pylock(directory, sdist):
    text = ('lock-version = "1.0"\ncreated-by = "test_messages"\n\n'
            '[[packages]]\nname = "six"\nversion = "1.16.0"\n'
            'wheels = [{name = "six-1.16.0-py2.py3-none-any.whl", url = "http://127.0.0.1:9/six.whl", '
            'hashes = {sha256 = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"}}]\n\n'
            '[[packages]]\nname = "numpy"\nversion = "2.0.2"\n')
    if sdist:
        text += ('sdist = {name = "numpy-2.0.2.tar.gz", url = "http://127.0.0.1:9/numpy-2.0.2.tar.gz", '
                 f'hashes = {{sha256 = "{"1" * 64}"}}}}\n')
    text += "wheels = [\n" + "".join(f'  {{name = "{w}", url = "http://127.0.0.1:9/{w}", hashes = {{sha256 = "{"0" * 64}"}}}},\n'
                                     for w in NUMPY_OTHER) + "]\n"
    lock = directory / "pylock.toml"
    lock.write_text(text)
    return lock


@pytest.mark.parametrize("case", ["fetch, an sdist", "install, no sdist"])
def test_no_wheel_matches_is_summarised_with_what_to_do(tmp_path, case):
    sdist = case.endswith("an sdist")
    lock = numpy_pylock(tmp_path, sdist)
    argv = (["--json", "fetch", lock, "--python", PYTHON, "--cache-dir", tmp_path / "cache"] if sdist else
            ["--json", "install", lock, "--env", tmp_path / "env", "--python", PYTHON, "--cache-dir",
             tmp_path / "cache", "--dry-run"])
    r = strata(*argv, check=False)
    assert r.returncode == 3, r.stderr
    report = json.loads(r.stdout)
    [message] = ([p for p in report["problems"] if p.startswith("numpy 2.0.2:")] if "problems" in report
                 else [report["error"]["message"]])
    summary = "the lock has 26 wheels for cp39\u2013cp312, pp39 on macOS, Windows"
    assert "no wheel in the lock matches the target (cp3" in message and summary in message, message
    assert "win_amd64" not in message and len(message) < 400, message
    if sdist:
        assert message.endswith("; an sdist; `strata install` builds it from its sdist (unless --no-build or "
                                "--only-binary), or pick another Python (--python)"), message
    else:
        assert message.endswith("; it has no sdist to build: pick a Python its wheels are for (--python)"), message
    if sdist:
        return
    # --json: what the plan leaves out is not installable.
    installable = {p["name"]: p["installable"] for p in report["selection"]["packages"]}
    assert installable == {"six": True, "numpy": False}


def test_a_stale_lock_is_in_the_json_warnings(tmp_path):
    from support import six_wheel_dir
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "demo"\nversion = "0.1.0"\ndescription = ""\nauthors = []\n\n'
        '[tool.poetry.dependencies]\npython = "^3.8"\nsix = "1.16.0"\n')
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "six"\nversion = "1.16.0"\ndescription = ""\noptional = false\npython-versions = "*"\n'
        'files = [\n    {file = "six-1.16.0-py2.py3-none-any.whl", '
        'hash = "sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"},\n]\n\n'
        '[metadata]\nlock-version = "2.0"\npython-versions = "^3.8"\ncontent-hash = "0"\n')
    r = strata("--json", "install", tmp_path / "poetry.lock", "--env", tmp_path / "env", "--python", PYTHON,
               "--cache-dir", tmp_path / "cache", "--find-links", six_wheel_dir(), "--offline")
    report = json.loads(r.stdout)
    assert report["content_hash_fresh"] is False
    assert [w for w in report["warnings"] if "the lock is stale" in w and "poetry lock" in w], report["warnings"]


# ---- small defects: STRATA_INDEX_URL and --source checked when parsed, `cache dri`, list
# --cache-dir, --offline says nothing of an environment it does not leave ---------------------

def test_install_checks_strata_index_url_and_source_when_parsed(tmp_path):
    lock = six_pylock(tmp_path)
    install = ["install", lock, "--env", tmp_path / "env", "--python", PYTHON, "--cache-dir", tmp_path / "cache"]
    r = strata(*install, check=False, env={**os.environ, "STRATA_INDEX_URL": "htps//pypi.org/simple"})
    assert r.returncode == 2, r.stderr
    assert "--index-url: not an index URL" in r.stderr, r.stderr
    for command in (install, ["fetch", lock, "--python", PYTHON, "--cache-dir", tmp_path / "cache"]):
        for value, what in (("private", "expected NAME=URL"), ("private=pypi.org/simple", "not an index URL")):
            r = strata(*command, "--source", value, check=False)
            assert r.returncode == 2, (command, value, r.stderr)
            assert f"--source: " in r.stderr and what in r.stderr, r.stderr
    assert not (tmp_path / "env").exists() and not (tmp_path / "cache").exists()


def test_unknown_cache_command_suggests_the_closest():
    r = strata("--json", "cache", "dri", check=False)
    assert r.returncode == 2, r.stderr
    assert json.loads(r.stdout)["error"]["message"] == 'unknown command "cache dri"; did you mean "cache dir"?'


def test_list_takes_cache_dir(tmp_path):
    strata("venv", tmp_path / "env", "--python", PYTHON)
    cache = tmp_path / "cache"
    listed = json.loads(strata("--json", "list", "--env", tmp_path / "env", "--cache-dir", cache).stdout)
    assert listed["ok"] is True
    assert any(p.is_file() for p in cache.rglob("*")), "the interpreter probe is cached under --cache-dir"


def test_offline_install_that_fails_says_no_environment_was_created(tmp_path):
    lock = six_pylock(tmp_path)
    r = strata("install", lock, "--env", tmp_path / "env", "--python", PYTHON, "--cache-dir", tmp_path / "cache",
               "--offline", check=False)
    assert r.returncode == 1, r.stderr
    assert not (tmp_path / "env").exists()
    assert not [line for line in r.stderr.splitlines() if line.startswith("Created environment")], r.stderr
