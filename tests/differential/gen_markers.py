"""Differential cases for PEP 508 markers and requirements and for names / distribution file
names, answered by the pinned `packaging`.

Writes into OUTDIR:
- markers.json: {"cases": [...]}, each {"marker", "env", "extra", "extras", "dependency_groups"}
  plus packaging's answer: "parse_error" (str of InvalidMarker) or "str" (None when packaging's
  str() raises) and "result" (bool) or "eval_error" ("UndefinedComparison" /
  "UndefinedEnvironmentName").
- requirements.json: {"cases": [...]}, each {"text"} plus "syntax_error" (str of
  InvalidRequirement from a grammar error), "specifier_error" (True when only the specifier was
  rejected) or the parsed fields "name", "extras", "specifier", "url", "marker", "str".
- names.json: {"names": [...], "wheels": [...], "sdists": [...]} with canonicalize_name,
  validity, and parse_wheel_filename / parse_sdist_filename results or errors.
"""

from __future__ import annotations

import json
import pathlib
import random

from packaging.markers import Marker, InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier
from packaging.utils import (
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

# Variable spellings the grammar accepts (legacy dotted ones included) and their env keys.
VARIABLE_SPELLINGS = {
    "python_version": "python_version",
    "python_full_version": "python_full_version",
    "os_name": "os_name",
    "os.name": "os_name",
    "sys_platform": "sys_platform",
    "sys.platform": "sys_platform",
    "platform_release": "platform_release",
    "platform_system": "platform_system",
    "platform_version": "platform_version",
    "platform.version": "platform_version",
    "platform_machine": "platform_machine",
    "platform.machine": "platform_machine",
    "platform_python_implementation": "platform_python_implementation",
    "platform.python_implementation": "platform_python_implementation",
    "python_implementation": "platform_python_implementation",
    "implementation_name": "implementation_name",
    "implementation_version": "implementation_version",
    "extra": "extra",
}

ENV_VALUES = {
    "python_version": ["2.7", "3.6", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"],
    "python_full_version": ["3.8.5", "3.8.0", "3.9.18", "3.10.13", "3.11.0rc1", "3.11.7", "3.12.1+",
                            "3.13.0a2", "3.13.0"],
    "os_name": ["posix", "nt", "java"],
    "sys_platform": ["linux", "win32", "darwin", "cygwin", "linux2", "freebsd14"],
    "platform_release": ["5.15.0-91-generic", "6.1.0", "22.6.0", "10", "NT", "4.4.0-19041-Microsoft",
                         "6.1.0-rc2", "2.6.32"],
    "platform_system": ["Linux", "Windows", "Darwin", "Java", ""],
    "platform_version": ["#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1", "10.0.19045", "1.0", ""],
    "platform_machine": ["x86_64", "aarch64", "AMD64", "arm64", "i686", "ppc64le", ""],
    "platform_python_implementation": ["CPython", "PyPy", "Jython"],
    "implementation_name": ["cpython", "pypy"],
    "implementation_version": ["3.11.7", "7.3.13", "3.13.0a2", "3.8.5", "3.12.0b1"],
}

EXTRA_VALUES = ["", "", "foo", "Foo_Bar", "foo-bar", "test", "tests.extra", "socks"]
EXTRAS_POOL = ["foo", "Bar", "Foo.Baz", "test", "socks", "doc_s"]
GROUPS_POOL = ["dev", "Docs_Group", "lint", "test"]

# Marker literals per variable: near the environment values so both answers are common, plus
# values packaging cannot read as versions.
MARKER_VALUES = {
    "python_version": ["2.7", "3", "3.6", "3.8", "3.8.5", "3.9", "3.10", "3.11", "3.12", "3.13", "3.*",
                       "3.8.*", "3.10.*", "3.9rc1", "1!3.8", "abc", "", " 3.9", "3.9 ", "3.11.0",
                       "v3.10", "3.10+local"],
    "python_full_version": ["3.8.5", "3.8", "3.9.18", "3.10.13", "3.11", "3.11.0rc1", "3.11.0",
                            "3.12.1", "3.12.1+local", "3.12.*", "3.13.0a1", "3.13.0a2", "3.13",
                            "3.8.*", "xyz", "3.13.0.dev0"],
    "os_name": ["posix", "nt", "java", "pos", "", "POSIX"],
    "sys_platform": ["linux", "win32", "darwin", "cygwin", "lin", "win", "linux2", "Linux"],
    "platform_release": ["5.15.0", "6.1", "6.1.0", "22.6.0", "10", "NT", "5.15.0-91-generic",
                         "4.4.0-19041-Microsoft", "6", "rc", "6.1.0rc2"],
    "platform_system": ["Linux", "Windows", "Darwin", "Java", "linux", "Lin", ""],
    "platform_version": ["#1 SMP", "10.0.19045", "1.0", "Debian", "1"],
    "platform_machine": ["x86_64", "aarch64", "AMD64", "arm64", "i686", "86", "arm", "ppc64le"],
    "platform_python_implementation": ["CPython", "PyPy", "Jython", "cpython", "Py"],
    "implementation_name": ["cpython", "pypy", "CPython", "py"],
    "implementation_version": ["3.11.7", "3.11", "7.3", "7.3.13", "3.13.0a2", "3.13", "3.8.5", "3.12.0b1",
                               "3.12"],
    "extra": ["foo", "Foo_Bar", "foo-bar", "FOO.bar", "test", "Tests_Extra", "tests-extra", "socks", "",
              "SOCKS", "fo"],
}

VERSION_OPS = ["<", "<=", "==", "!=", ">=", ">", "~=", "==="]
STRING_OPS = ["==", "!=", "in", "not in", "==", "!=", "in", "<", ">=", "<=", ">"]
RARE_OPS = ["~=", "==="]
VERSION_KEYS = {"python_version", "python_full_version", "platform_release", "implementation_version"}


def quote_value(rng: random.Random, value: str) -> str:
    if '"' in value and "'" in value:
        raise ValueError("both quotes")
    if '"' in value:
        return f"'{value}'"
    if "'" in value:
        return f'"{value}"'
    return rng.choice(['"{}"', '"{}"', "'{}'"]).format(value)


def escaped_literal(rng: random.Random, value: str) -> str:
    """A Python string literal whose value is `value`, using an escape somewhere."""
    pieces = []
    for ch in value:
        r = rng.random()
        if r < 0.15 and ch.isascii():
            pieces.append("\\x%02x" % ord(ch))
        elif r < 0.2 and ch.isascii():
            pieces.append("\\u%04x" % ord(ch))
        elif r < 0.25 and ch.isascii():
            pieces.append("\\%o" % ord(ch) if ord(ch) >= 0o100 else "\\%03o" % ord(ch))
        else:
            pieces.append(ch)
    body = "".join(pieces)
    return '"' + body + '"'


def ws(rng: random.Random) -> str:
    return rng.choice(["", " ", " ", " ", "  ", "\t", " \t "])


def ws1(rng: random.Random) -> str:
    return rng.choice([" ", " ", "  ", "\t"])


def random_item(rng: random.Random) -> str:
    spelling = rng.choice(list(VARIABLE_SPELLINGS))
    key = VARIABLE_SPELLINGS[spelling]
    r = rng.random()
    if r < 0.07:
        # Set membership (PEP 751 lock-file variables).
        setvar = rng.choice(["extras", "dependency_groups"])
        pool = EXTRAS_POOL if setvar == "extras" else GROUPS_POOL
        value = rng.choice(pool + ["foo_baz", "DEV", "nope", "Doc.S"])
        op = rng.choice(["in", "in", "in", "not in", "not in", "==", "!=", "<", "~="])
        if rng.random() < 0.1:
            return f"{setvar}{ws1(rng)}{op}{ws1(rng)}{quote_value(rng, value)}"
        return f"{quote_value(rng, value)}{ws1(rng)}{op}{ws1(rng)}{setvar}"
    if r < 0.09:
        # Two literals: the right one names the variable, as packaging reads it.
        rhs = rng.choice(["python_version", "os_name", "extra", "sys_platform", "nonexistent", "extras"])
        lhs = rng.choice(MARKER_VALUES.get(rhs, ["x", "3.8", "posix", "linux", "foo"]))
        op = rng.choice(["==", "!=", ">=", "in", "<"])
        return f"{quote_value(rng, lhs)}{ws(rng)}{op}{ws(rng)}{quote_value(rng, rhs)}"
    if r < 0.1:
        other = rng.choice(list(VARIABLE_SPELLINGS))
        op = rng.choice(["==", "!=", "in", "not in"])
        return f"{spelling}{ws1(rng)}{op}{ws1(rng)}{other}"
    if key in VERSION_KEYS:
        op = rng.choice(VERSION_OPS + ["==", ">=", "<", "in", "not in"])
    else:
        op = rng.choice(STRING_OPS + (RARE_OPS if rng.random() < 0.15 else []))
    value = rng.choice(MARKER_VALUES[key])
    if rng.random() < 0.05 and value:
        literal = escaped_literal(rng, value)
    else:
        literal = quote_value(rng, value)
    sep_l = ws1(rng) if op[0].isalpha() else ws(rng)
    sep_r = ws1(rng) if op[-1].isalpha() else ws(rng)
    if rng.random() < 0.25:
        return f"{literal}{sep_l}{op}{sep_r}{spelling}"
    return f"{spelling}{sep_l}{op}{sep_r}{literal}"


def random_marker(rng: random.Random, depth: int = 0) -> str:
    count = rng.choice([1, 1, 2, 2, 3, 4]) if depth < 3 else 1
    parts = []
    for i in range(count):
        if i > 0:
            parts.append(rng.choice(["and", "or", "and", "or", "and"]))
        if depth < 3 and rng.random() < 0.25:
            inner = random_marker(rng, depth + 1)
            parts.append(f"({ws(rng)}{inner}{ws(rng)})")
        else:
            parts.append(random_item(rng))
    text = ""
    for part in parts:
        if part in ("and", "or"):
            text += ws1(rng) + part + ws1(rng)
        else:
            text += part
    if rng.random() < 0.1:
        text = ws(rng) + text + ws(rng)
    return text


MALFORMED = [
    "", " ", "()", "python_version", "python_version ==", "python_version = '3.8'",
    "python_version == 3.8", "python_version == '3.8", "python_version == \"3.8'",
    "(python_version == '3.8'", "python_version == '3.8')", "python_version == '3.8' and",
    "python_version == '3.8' or or os_name == 'nt'", "and python_version == '3.8'",
    "not python_version == '3.8'", "os_name not in", "os_name notin 'posix'", "os_name not  in 'x'",
    "'posix' not\tin os_name", "os_name nor 'x'", "python_versions == '3'", "pythonversion == '3'",
    "platform.release == '6'", "platform.system == 'Linux'", "sys-platform == 'linux'",
    "os_name == 'posix' && sys_platform == 'linux'", "os_name == 'posix' AND sys_platform == 'linux'",
    "extra == foo", "extra == 'a' 'b'", "os_nameé == 'x'", "os_name == 'x'é", "python_version >> '3'",
    "python_version =! '3'", "python_version <> '3'", "'\\x4' == os_name", "'abc\\' == os_name",
"os_name == 'a\nb'", "os_name ==\n'a'", "(os_name == 'a') (os_name == 'b')",
    "os_name == 'a' andos_name == 'b'", "os_name == 'a'and os_name == 'b'", "os_name in'posix'",
    "os_namein 'posix'", "'x' inos_name", "extras", "extras in 'x'", "dependency_groups ~=",
    "os_name == 'a';", "os_name == 'a' # comment", "python_version > '3.8' and (os_name == 'a' or)",
    "((((os_name == 'a')))", "python_version\u00a0== '3.8'", "python_version ===== '3.8'",
    "python_version == ''", "python_version == \"\"", "'' == ''", "os.name == 'posix'",
]


# Valid but tricky: version fallbacks, ===, legacy names, set variables, escapes, Unicode.
TRICKY = [
    'python_version > "3.8"', 'python_version ~= "3.8"', 'python_version ~= "3"', 'python_version === "3.8"',
    'python_full_version === "3.8.5"', 'python_full_version === "3.12.1+local"',
    'python_full_version == "3.12.1+local"', 'python_full_version >= "3.12.1"',
    'platform_release >= "6"', 'platform_release == "5.15.0-91-generic"', 'platform_release < "NT"',
    'platform_release ~= "NT"', 'implementation_version == "3.13.0a2"', 'implementation_version > "3.13.0a1"',
    '"3.8" in python_version', 'python_version in "3.8 3.9"', 'python_version not in "3.8, 3.9"',
    '"foo" in extras', '"Foo.Baz" in extras', '"foo" not in extras', 'extras == "foo"', '"foo" == extras',
    '"foo" ~= extras', 'dependency_groups in "dev"', '"dev" in "dependency_groups"', '"Foo_Bar" == extra',
    'extra == "Foo_Bar"', '"FOO" in extra', 'extra in "foo-bar baz"', 'extra != ""', 'extra == ""',
    'extra == extra', 'python_version == python_version', 'os_name == os_name', '"x" == "y"',
    '"posix" == "os_name"', '"3.8" >= "python_version"', 'os_name === "posix"', 'os_name ~= "posix"',
    'os_name < "posix"', 'os_name <= "posix"', 'os_name >= "posix"', 'os_name > "posix"',
    'os.name == "posix"', 'sys.platform == "linux"', 'platform.machine == "x86_64"',
    'platform.version == "1.0"', 'platform.python_implementation == "CPython"',
    'python_implementation == "CPython"', '"linux" in sys_platform', '"" in sys_platform',
    'os_name == "\\x70osix"', "os_name == '\\160osix'", 'os_name == "\\u0070osix"', 'os_name == "po\\\nsix"',
    'os_name == "\\q"', 'os_name == "é"', 'os_name == "\\u00e9"', "os_name == 'it''s'",
    'os_name == "it\'s"', "os_name == 'say \"hi\"'", 'os_name == "\\t"', 'os_name == "a\tb"',
    '(os_name == "posix")', '((os_name == "posix"))', '(os_name == "posix") and (sys_platform == "linux")',
    '((os_name == "posix" or os_name == "nt")) and sys_platform == "linux"',
    'os_name == "posix" or (sys_platform == "linux" and (python_version >= "3.8" or extra == "x"))',
    'os_name == "nt" and sys_platform == "linux" or python_version >= "3"',
    'os_name=="posix"and sys_platform=="linux"', '"a"=="b"or"c"=="d"', 'python_version>"3"',
    'python_version\t>=\t"3.8"', '  os_name == "posix"  ', 'os_name not\tin "posix"',
    'python_full_version < "3.11.0rc2"', 'python_full_version == "3.11.*"', 'python_full_version != "3.11.*"',
    'python_version == "3.10.*"', 'python_version >= "3.10.*"', 'python_version == "3.10+local"',
    'python_version < "1!3"', 'python_version == " 3.9"', 'python_version == "3.9 "', 'python_version == ""',
    'python_version === ""', 'python_version in ""', 'platform_release == "6.1.0-rc2"',
    'platform_release >= "6.1.0rc2"', 'implementation_version ~= "7.3"', 'implementation_version ~= "3.11.7"',
]


def mutate(rng: random.Random, text: str) -> str:
    if not text:
        return "("
    i = rng.randrange(len(text))
    choice = rng.random()
    if choice < 0.3:
        return text[:i] + text[i + 1:]
    if choice < 0.6:
        return text[:i] + rng.choice(["(", ")", "'", '"', "=", "!", "x", " and", "or ", "\\", ";", "é"]) + text[i:]
    if choice < 0.8:
        j = rng.randrange(len(text))
        return text[:min(i, j)] + text[max(i, j):]
    return text + rng.choice([" and", " or (", ")", " extra", " 'x'", " ==", "  "])


def random_env(rng: random.Random) -> dict:
    env = {key: rng.choice(values) for key, values in ENV_VALUES.items()}
    # Keep python_version consistent with python_full_version most of the time.
    if rng.random() < 0.7:
        env["python_version"] = ".".join(env["python_full_version"].split(".")[:2])
    return env


def marker_case(rng: random.Random, text: str) -> dict:
    env = random_env(rng)
    extra = rng.choice(EXTRA_VALUES)
    extras = sorted(set(rng.sample(EXTRAS_POOL, rng.randrange(0, 4))))
    groups = sorted(set(rng.sample(GROUPS_POOL, rng.randrange(0, 3))))
    case = {"marker": text, "env": env, "extra": extra, "extras": extras, "dependency_groups": groups}
    try:
        marker = Marker(text)
    except InvalidMarker as e:
        case["parse_error"] = str(e)
        return case
    try:
        case["str"] = str(marker)
    except ValueError:
        case["str"] = None
    full = dict(env)
    full["extra"] = extra
    full["extras"] = frozenset(extras)
    full["dependency_groups"] = frozenset(groups)
    try:
        case["result"] = marker.evaluate(full)
    except UndefinedComparison:
        case["eval_error"] = "UndefinedComparison"
    except UndefinedEnvironmentName:
        case["eval_error"] = "UndefinedEnvironmentName"
    return case


def generate_markers(rng: random.Random) -> list:
    texts = list(MALFORMED) + TRICKY
    for text in TRICKY:
        for glue in ["\u00a0", "\u2003", "\n", "\r", "\f", "é", "_", "x", "\u0301"]:
            i = rng.randrange(len(text) + 1)
            texts.append(text[:i] + glue + text[i:])
    for _ in range(3200):
        texts.append(random_marker(rng))
    for _ in range(500):
        texts.append(mutate(rng, random_marker(rng)))
    cases = []
    for text in texts:
        cases.append(marker_case(rng, text))
        # Re-evaluate some markers in a second environment for more True/False mixes.
        if "parse_error" not in cases[-1] and (rng.random() < 0.3 or text in TRICKY):
            cases.append(marker_case(rng, text))
    return cases


NAMES = ["foo", "Foo", "foo-bar", "Foo.Bar_baz-1", "a", "A1", "1foo", "foo1", "foo.bar", "foo..bar",
         "foo__bar", "-foo", "foo-", "foo_", "_foo", "requests", "zope.interface", "ruamel.yaml.clib"]
EXTRA_NAMES = ["socks", "Security", "test_all", "a.b", "x-y", "ALL", "s"]
SPECIFIERS = ["", ">=1.0", "==1.0.*", "!=1.0.*", ">=1.0.*", "~=1.0.*", "==1.0+local", "!=1.0+Local",
              ">=1.0+local", "<2.0+abc", "~=1", "~=1.4.5", "===abc", "=== abc", "== 1.0", ">= 1.0",
              "!=1.0a1.dev0", "==v1.0", ">1.0.post1", "<3.0rc1", "==1!2.0", ">=1.0,<2.0", ">=1.0 , <2.0",
              ">=1.0,", ">=1.0,,<2.0", "==1.0a", "==1.0-1", "==1.0.dev", "=>1.0", ">=", "1.0", "==1.0.*.0",
              ">=1.0.a", "==1.0.post.dev", "<=1.0,>=0.5,!=0.7", "~=2.2.post3", "== 1.0.*", "==1.0.0.0.0",
              "===1.0)", ">=1.0;", "<1.0 ,>=0.1", "==1.0+abc.5", "==1.0+ABC", "~=1.0+abc", ">=1.0rc1.post2.dev3"]
URLS = ["https://example.com/foo-1.0.whl", "file:///tmp/foo.tar.gz", "git+https://g.example/x.git@v1",
        "https://x.example/a;b", "https://x.example/#egg=foo", "http://h:8080/p?q=1"]
MARKERS = ["python_version < '3.10'", "os_name=='posix'", "extra == 'Foo_Bar'", "sys_platform in 'linux'",
           "python_version >= \"3.8\" and (os_name == 'nt' or os_name == 'posix')", "'dev' in dependency_groups",
           "platform.machine == 'x86_64'", "python_implementation == 'CPython'"]


def random_requirement(rng: random.Random) -> str:
    text = ws(rng) + rng.choice(NAMES)
    r = rng.random()
    if r < 0.4:
        extras = rng.sample(EXTRA_NAMES, rng.randrange(0, 4))
        joiner = rng.choice([",", ", ", " , ", ",\t"])
        text += ws(rng) + "[" + ws(rng) + joiner.join(extras) + ws(rng) + "]"
    if rng.random() < 0.2:
        text += ws(rng) + "@" + ws(rng) + rng.choice(URLS)
        if rng.random() < 0.5:
            text += rng.choice([" ", "  ", "\t", ""]) + ";" + ws(rng) + rng.choice(MARKERS)
    else:
        spec = rng.choice(SPECIFIERS)
        if rng.random() < 0.2:
            spec = spec + "," + rng.choice(SPECIFIERS)
        if rng.random() < 0.3:
            text += ws(rng) + "(" + ws(rng) + spec + ws(rng) + ")"
        else:
            text += ws(rng) + spec
        if rng.random() < 0.4:
            text += ws(rng) + ";" + ws(rng) + rng.choice(MARKERS)
    if rng.random() < 0.1:
        text += ws(rng)
    return text


def requirement_case(text: str) -> dict:
    case: dict = {"text": text}
    try:
        req = Requirement(text)
    except InvalidRequirement as e:
        if isinstance(e.__cause__, InvalidSpecifier):
            case["specifier_error"] = True
        else:
            case["syntax_error"] = str(e)
        return case
    case["name"] = req.name
    case["extras"] = sorted(req.extras)
    case["specifier"] = str(req.specifier)
    case["url"] = req.url or ""
    case["marker"] = str(req.marker) if req.marker is not None else None
    case["str"] = str(req)
    return case


def generate_requirements(rng: random.Random) -> list:
    texts = ["foo", "foo ", " foo", "foo[]", "foo[ ]", "foo[bar,]", "foo[bar baz]", "foo[bar", "foo[,bar]",
             "foo @", "foo @ ", "foo @ https://x;python_version>'3'", "foo @ https://x ;python_version>'3'",
             "foo @ https://x\t; python_version>'3'", "foo @ https://x ; ", "foo @ https://x bar",
             "foo>=1.0;", "foo>=1.0 ; ", "foo;os_name=='a'", "foo (>=1.0", "foo >=1.0)", "foo(>=1.0)",
             "foo ( >=1.0 , <2 )", "foo==1.0.*+local", "foo>=1.0.*", "foo==1.0+local.*", "foo>=1+local",
             "foo bar", "foo,bar", "foo==1.0 bar", "foo==1.0 ; os_name=='a' x", "1foo", "foo-",
             "-foo", "foo_", "foo.", "foo==1.0;extra=='Foo_Bar'", "foo[A,a,A]", "foo[b,a]",
             "foo ===1.0 ; os_name == 'x'", "foo===1.0;os_name=='x'", "foo~=1", "foo~=1.0", "foo == 1.0",
             "foo\u00a0==1.0", "foo==\u00a01.0", "foo ==1.0\u00a0", "foo==1.0)", "", " ", "[foo]",
             "foo==1.0, ==2.0", "foo==1.0,", "foo>=1.0,,<2", "foo[bar]@https://x", "fooé", "foo[é]",
             "foo===", "foo=== ;os_name=='a'", "foo (===)", "foo===,>=1", "foo==1.0+", "foo~=1.0+abc"]
    for _ in range(1100):
        texts.append(random_requirement(rng))
    for _ in range(150):
        texts.append(mutate(rng, random_requirement(rng)))
    return [requirement_case(t) for t in dict.fromkeys(texts)]


def random_wheel(rng: random.Random) -> str:
    if rng.random() < 0.5:
        # Mostly valid names, so that parsed fields are compared often, not only errors.
        name = rng.choice(["foo", "Foo_Bar", "foo.bar", "a1", "Zope.Interface", "naïve"])
        version = rng.choice(["1.0", "1.0.0", "2.0rc1", "1!1.0", "1.0.post1", "1.0+local", "1.0_1", "v1.0"])
        build = [rng.choice(["1", "12abc", "0", "007x"])] if rng.random() < 0.3 else []
        interp = rng.choice(["py3", "py2.py3", "cp311", "cp310.cp311", "PY3", "pp310"])
        abi = rng.choice(["none", "abi3", "cp311", "cp311.none", "NONE"])
        plat = rng.choice(["any", "manylinux_2_17_x86_64.manylinux2014_x86_64", "linux_x86_64", "win_amd64",
                           "macosx_11_0_arm64.macosx_10_9_x86_64", "any.any", "Any"])
        return "-".join([name, version, *build, interp, abi, plat]) + ".whl"
    name = rng.choice(["foo", "Foo_Bar", "foo.bar", "foo__bar", "foo-bar", "", "naïve", "a1", "Zope.Interface",
                       "foo bar", "_foo", "foo_"])
    version = rng.choice(["1.0", "1.0.0", "2.0rc1", "1!1.0", "1.0.post1", "1.0+local", "1.0_1", "bad", "1.0-1",
                          "v1.0", ""])
    parts = [name, version]
    if rng.random() < 0.3:
        parts.append(rng.choice(["1", "12abc", "abc", "0", "007x", ""]))
    interp = rng.choice(["py3", "py2.py3", "cp311", "cp310.cp311", "PY3", "3py", "py3.", "pp310", "cp3-11"])
    abi = rng.choice(["none", "abi3", "cp311", "cp311.none", "NONE", ""])
    plat = rng.choice(["any", "manylinux_2_17_x86_64.manylinux2014_x86_64", "linux_x86_64", "win_amd64",
                       "macosx_11_0_arm64.macosx_10_9_x86_64", "any.any", "Any", ".any"])
    parts += [interp, abi, plat]
    text = "-".join(parts)
    ext = rng.choice([".whl", ".whl", ".whl", ".zip", ".WHL"])
    return text + ext


def generate_names(rng: random.Random) -> dict:
    names = NAMES + EXTRA_NAMES + ["Foo--Bar", "foo-_.-bar", "FOO", "x", "", ".", "-", "a-", "Ä", "ÄbC_dé",
                                   "foo bar", "foo\tbar", "Σίσυφος", "ПРИВЕТ"]
    name_cases = []
    for n in names:
        try:
            canonicalize_name(n, validate=True)
            valid = True
        except InvalidName:
            valid = False
        name_cases.append({"name": n, "normalized": canonicalize_name(n), "valid": valid})

    wheel_texts = ["foo-1.0-py3-none-any.whl", "foo-1.0-1-py3-none-any.whl", "foo-1.0-py2.py3-none-any.whl",
                   "numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                   "foo-1.0-py3-none-any", "foo-1.0-none-any.whl", "foo-1.0-1-2-py3-none-any.whl",
                   "foo-1.0-py3-none-any.whl.whl", "foo-1.0-1a-py3-none-any.whl", "foo-1.0-py3..py2-none-any.whl",
                   "foo-1.0-py3-none-.whl", "-1.0-py3-none-any.whl", "Foo.Bar-1.0-py3-none-any.whl",
                   "foo-1.0-py3.py3-none-any.whl", "foo-1.0-123x-py3-none-any.whl"]
    for _ in range(400):
        wheel_texts.append(random_wheel(rng))
    wheels = []
    for text in dict.fromkeys(wheel_texts):
        try:
            name, version, build, tags = parse_wheel_filename(text)
        except InvalidWheelFilename as e:
            wheels.append({"filename": text, "error": str(e)})
            continue
        wheels.append({"filename": text, "name": name, "version": str(version),
                       "build": list(build) if build else None,
                       "tags": sorted(str(t) for t in tags)})

    sdist_texts = ["foo-1.0.tar.gz", "foo-1.0.zip", "foo-bar-1.0.tar.gz", "foo.tar.gz", "-1.0.tar.gz",
                   "foo-1.0.tar.bz2", "Foo_Bar-2.0rc1.zip", "foo-bad.tar.gz", "foo-1.0-1.tar.gz", "foo-.zip"]
    sdists = []
    for text in sdist_texts:
        try:
            name, version = parse_sdist_filename(text)
        except InvalidSdistFilename as e:
            sdists.append({"filename": text, "error": str(e)})
            continue
        sdists.append({"filename": text, "name": name, "version": str(version)})
    return {"names": name_cases, "wheels": wheels, "sdists": sdists}


def generate(outdir: pathlib.Path, rng: random.Random) -> None:
    markers = generate_markers(rng)
    (outdir / "markers.json").write_text(json.dumps({"cases": markers}, ensure_ascii=False, indent=0))
    requirements = generate_requirements(rng)
    (outdir / "requirements.json").write_text(
        json.dumps({"cases": requirements}, ensure_ascii=False, indent=0))
    (outdir / "names.json").write_text(json.dumps(generate_names(rng), ensure_ascii=False, indent=0))


if __name__ == "__main__":
    import sys

    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    generate(out, random.Random(20261124))
    for name in ("markers", "requirements"):
        cases = json.loads((out / f"{name}.json").read_text())["cases"]
        print(name, len(cases))
    data = json.loads((out / "markers.json").read_text())["cases"]
    print("marker parse errors", sum("parse_error" in c for c in data),
          "true", sum(c.get("result") is True for c in data),
          "false", sum(c.get("result") is False for c in data),
          "eval errors", sum("eval_error" in c for c in data),
          "str None", sum(c.get("str", 1) is None for c in data))
    reqs = json.loads((out / "requirements.json").read_text())["cases"]
    print("requirement syntax errors", sum("syntax_error" in c for c in reqs),
          "specifier errors", sum("specifier_error" in c for c in reqs),
          "valid", sum("str" in c for c in reqs))
