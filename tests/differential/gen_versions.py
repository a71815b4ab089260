"""Differential cases for PEP 440 versions and specifiers, answered by the pinned `packaging`.

Writes two files into OUTDIR:
- pep440_versions.json: version strings (valid and invalid) with packaging's normalized form
  and properties, and ordered pairs of valid versions with their comparison result;
- pep440_specifiers.json: specifier strings and sets (valid and invalid) with their str(), and
  (set, set prereleases flag, version, contains prereleases argument) cases with
  SpecifierSet.contains / Specifier.contains answers.

strata keeps version numbers in 64 bits and rejects larger ones on purpose, where packaging
(Python ints) accepts them; such strings are left out here and covered by unit tests.
"""

from __future__ import annotations

import json
import pathlib
import random
import re

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

U64_MAX = 2**64 - 1

SEPARATORS = ["", "", "", ".", "-", "_"]
PRE_SPELLINGS = ["a", "alpha", "b", "beta", "c", "rc", "pre", "preview", "A", "Alpha", "RC", "Pre", "BETA", "C"]
POST_SPELLINGS = ["post", "rev", "r", "POST", "Rev", "R"]
DEV_SPELLINGS = ["dev", "DEV", "Dev"]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2003", "\u3000", "\u2028"]
JUNK = ["*", "!", "+", "..", "--", "__", "x", "é", "١", "\u00b2", "ſ", "K", "/", ";", "=", " ", "#", "~"]

EDGE_VERSIONS = [
    "1.0.post1.dev2+local.7", "1.0-1", "v1.0", "V1.0", "1!2.0", "1.0a", "1.0.RC1", "1.0+ubuntu-1",
    "1.0", "1.0.0", "1", "0", "0.0", "00", "01.002", "1.0a1", "1.0alpha1", "1.0-alpha-1", "1.0_a_1",
    "1.0.a.1", "1.0b", "1.0beta2", "1.0c1", "1.0pre1", "1.0preview1", "1.0rc", "1.0-rc-1", "1.0-1-1",
    "1.0.post", "1.0post", "1.0-post", "1.0-post-1", "1.0rev", "1.0r", "1.0.r1", "1.0_post_1",
    "1.0.dev", "1.0dev", "1.0-dev", "1.0_dev_1", "1.0.dev0", "1.0a1.dev1", "1.0a1.post1.dev1",
    "1.0.post1.dev1", "1.0+abc", "1.0+ABC", "1.0+abc.1", "1.0+1.abc", "1.0+01", "1.0+a-b_c.d",
    "1.0+", "1.0+a..b", "1.0+a.", "1.0+.a", "1.0+_a", "1.0++a", "1.0+a+b", "1.0+é", "1..0", ".1",
    "1.", "", " ", "v", "vv1.0", "1.0v", "1!", "!1", "1!!1", "1!2!3", "a1.0", "1.0.*", "1.*",
    "1.0 a1", "1.0a1 ", " 1.0a1", "\t1.0\n", "\u30001.0\u3000", "1.0\xa0", "1.0a-", "1.0a.",
    "1.0.post.", "1.0-", "1.0_", "1.0.", "1.0.dev.", "1.0a1-1", "1.0a1_1", "1.0a1.1", "1.0-a1",
    "1.0prev1", "1.0alph", "1.0bet", "1.0posts", "1.0devs", "1.0.devpost", "1.0.post1a1",
    "1.0.dev1a1", "1.0.dev1.post1", "1.0-+local", "1.0+local-", "1.0-1.dev1", "1.0-1+l",
    "0.0.dev0", "0.dev0", "0a0", "0.post0", "0+0", "18446744073709551615", "1.18446744073709551615",
    "18446744073709551615!1", "1.0a18446744073709551615", "18446744073709551616", "1.0+18446744073709551616",
    "2.0.0.0.0.0.0.0.0.1", "1.0.0.0", "1.0RC1.POST2.DEV3+ABC.Def", "1.0.0a", "1.0.0-a", "1\u0661", "\u0661.0",
    "1.0+ubuntu1", "1.0+ubuntu-1.2", "1.0+1", "1.0+1a", "1.0+a1", "1.0+0", "1.0+00.01",
]

EDGE_SPECIFIERS = [
    "~=2.2.0", "~=2.2", "~=2", "~=1.0.dev1", "~=1.0a1", "~=1.0.post1", "~=1.0+local", "~=1.0.*",
    "==1.*", "==1.0.*", "==1.0a1.*", "!=1.*", "!=1.0.*", "==v1.*", "==1!1.*", "== 1.*", "==1. *",
    "==1.0+local", "!=1.0+local", "==1.0+", ">1.7", ">1.7.post2", "<1.7", "<=1.7", ">=1.7",
    ">1.0.dev1", ">1.0a1", "<1.0a1", "<1.0.dev0", "<0", "<0.dev0", "<0.0.dev0", "<0a0", ">=1.0.*",
    "<1.0+local", ">1.0+local", "===foo", "===1.0", "===", "=== 1.0 ", "===1.0;", "===a)b",
    "===1.0 1.0", "====1", "==", "=1.0", "1.0", ">=", "<>1.0", ">==1.0", "==1.0;", " >= 1.0 ",
    ">=\u30001.0", "==1.0.0", "==1.0", "!=1.0", "!=1.0.0", "<=1.0a1", ">=1.0.post1", "==1.0.dev1",
    "~=1.4.5a4", "~=1.4.5.post1", "~=2!1.0", "==2!1.*", ">2!1.0", ">v1.0", "<V1.0", "==1.0RC1",
]


def u64_safe(text: str) -> bool:
    """False if any ASCII digit run in text is a number above 64 bits."""
    return all(int(run) <= U64_MAX for run in re.findall(r"[0-9]+", text))


def number(rng: random.Random, big: bool = True) -> str:
    roll = rng.random()
    if roll < 0.45:
        n = rng.randint(0, 3)
    elif roll < 0.75:
        n = rng.randint(0, 20)
    elif roll < 0.92 or not big:
        n = rng.randint(0, 10**4)
    else:
        n = rng.choice([U64_MAX, U64_MAX - 1, 2**63, 2**32, 10**18, rng.randint(0, U64_MAX)])
    text = str(n)
    if rng.random() < 0.08:
        text = "0" * rng.randint(1, 3) + text
    return text


def release(rng: random.Random, big: bool = True, min_len: int = 1) -> str:
    n = rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 5])
    n = max(n, min_len)
    parts = [number(rng, big) for _ in range(n)]
    if rng.random() < 0.2:
        parts += ["0"] * rng.randint(1, 3)
    return ".".join(parts)


def suffixes(rng: random.Random, big: bool = True, allow_local: bool = True) -> str:
    out = ""
    if rng.random() < 0.35:
        out += rng.choice(SEPARATORS) + rng.choice(PRE_SPELLINGS)
        if rng.random() < 0.8:
            out += rng.choice(SEPARATORS) + number(rng, big)
    if rng.random() < 0.3:
        if rng.random() < 0.25:
            out += "-" + number(rng, big)
        else:
            out += rng.choice(SEPARATORS) + rng.choice(POST_SPELLINGS)
            if rng.random() < 0.8:
                out += rng.choice(SEPARATORS) + number(rng, big)
    if rng.random() < 0.3:
        out += rng.choice(SEPARATORS) + rng.choice(DEV_SPELLINGS)
        if rng.random() < 0.8:
            out += rng.choice(SEPARATORS) + number(rng, big)
    if allow_local and rng.random() < 0.2:
        out += "+" + local(rng)
    return out


def local(rng: random.Random) -> str:
    segs = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        if kind < 0.4:
            segs.append(number(rng, False))
        else:
            alphabet = "abcxyzABCubuntu0123456789"
            segs.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))))
    out = segs[0]
    for seg in segs[1:]:
        out += rng.choice([".", "-", "_"]) + seg
    return out


def valid_spelling(rng: random.Random, big: bool = True) -> str:
    text = ""
    if rng.random() < 0.08:
        text += rng.choice(["v", "V"])
    if rng.random() < 0.12:
        text += number(rng, big) + "!"
    text += release(rng, big) + suffixes(rng, big)
    if rng.random() < 0.08:
        text = rng.choice(SPACES) + text
    if rng.random() < 0.08:
        text += rng.choice(SPACES)
    return text


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 2)):
        op = rng.random()
        pos = rng.randint(0, len(chars))
        if op < 0.5:
            chars[pos:pos] = list(rng.choice(JUNK + SEPARATORS[3:] + ["a", "dev", "post", "1"]))
        elif op < 0.8 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif chars:
            i = min(pos, len(chars) - 1)
            chars[i] = rng.choice(JUNK + [".", "-", "_", "+"])
    return "".join(chars)


def family(rng: random.Random, base: str) -> str:
    """A version close to base (same release, or a neighbour) so comparisons are interesting."""
    epoch, _, out = base.rpartition("!")
    roll = rng.random()
    if roll < 0.2:
        out += ".0" * rng.randint(1, 2)
    elif roll < 0.3:
        parts = out.split(".")
        parts[-1] = str(int(parts[-1]) + rng.choice([-1, 1]) if parts[-1] != "0" else 1)
        out = ".".join(parts)
    if rng.random() < 0.12:
        out = rng.choice(["1!", "0!"]) + out
    elif epoch:
        out = epoch + "!" + out
    return out + suffixes(rng, False)


def version_record(text: str) -> dict | None:
    if not u64_safe(text):
        return None
    record: dict = {"text": text}
    try:
        v = Version(text)
    except InvalidVersion:
        record["valid"] = False
        return record
    record.update(
        valid=True,
        str=str(v),
        public=v.public,
        base_version=v.base_version,
        local=v.local or "",
        epoch=v.epoch,
        release=list(v.release),
        is_prerelease=v.is_prerelease,
        is_postrelease=v.is_postrelease,
        is_devrelease=v.is_devrelease,
    )
    return record


def generate_versions(rng: random.Random) -> dict:
    texts: list[str] = list(EDGE_VERSIONS)
    bases = ["1", "1.0", "1.0.0", "0", "0.0", "2", "1.1", "1.2.3", "10", "2.0"]
    for _ in range(1500):
        texts.append(valid_spelling(rng))
    for _ in range(1200):
        texts.append(family(rng, rng.choice(bases)))
    for _ in range(900):
        texts.append(mutate(rng, valid_spelling(rng)))
    records = []
    seen = set()
    for text in texts:
        if text in seen:
            continue
        seen.add(text)
        record = version_record(text)
        if record is not None:
            records.append(record)

    valid = [i for i, r in enumerate(records) if r["valid"]]
    # Group by base release so that many pairs share a release and differ in the suffixes.
    by_base: dict[str, list[int]] = {}
    for i in valid:
        by_base.setdefault(Version(records[i]["text"]).base_version, []).append(i)
    groups = [g for g in by_base.values() if len(g) > 1]
    pairs = []
    for k in range(12000):
        if k % 2 == 0 and groups:
            group = rng.choice(groups)
            a, b = rng.choice(group), rng.choice(group)
        else:
            a, b = rng.choice(valid), rng.choice(valid)
        va, vb = Version(records[a]["text"]), Version(records[b]["text"])
        pairs.append({"a": a, "b": b, "cmp": (va > vb) - (va < vb)})
    return {"versions": records, "pairs": pairs}


OPERATORS = ["==", "!=", "<=", ">=", "<", ">", "~=", "===", "==", ">=", "<", ">"]


def spec_version(rng: random.Random, op: str) -> str:
    base = rng.choice(["1", "1.0", "1.0.0", "0", "2", "1.1", "1.2.3", "2.0", "1!1.0", "0.9"])
    if op in ("==", "!=") and rng.random() < 0.3:
        return base + ".*"
    if op == "~=" and "." not in base and rng.random() < 0.8:
        base += ".0"
    text = base + suffixes(rng, False, allow_local=op in ("==", "!=", "==="))
    if rng.random() < 0.05:
        text = "v" + text
    return text


def one_specifier(rng: random.Random) -> str:
    op = rng.choice(OPERATORS)
    if op == "===":
        if rng.random() < 0.5:
            version = rng.choice(
                ["foo", "Foo-Bar", "1.0", "1.0.0", "1.0A1", "1.0a1", "v1.0", "1.0+LOCAL", "1!1.0", "CAFÉ", "café",
                 "ΑΒΓ-1", "Привет", "x y", "a(b", "ß"]
            )
        else:
            version = spec_version(rng, op)
    else:
        version = spec_version(rng, op)
    spacing = rng.choice(["", "", "", " ", "  "])
    text = op + spacing + version
    if rng.random() < 0.1:
        text = mutate(rng, text)
    return text


def structured_set(rng: random.Random) -> str:
    """Clauses around one release, so that sets are often satisfiable and their ranges meet."""
    base = rng.choice(["1", "1.0", "1.0.0", "1.2", "1.2.3", "2.0", "0", "0.0", "1!1.0"])
    clauses = []
    for _ in range(rng.choice([1, 2, 2, 3, 3, 4])):
        op = rng.choice(["==", "!=", "<=", ">=", "<", ">", "~=", "==*", "!=*", "==", "!=", "<", ">"])
        version = family(rng, base) if rng.random() < 0.8 else base
        if op.endswith("*"):
            op = op[:2]
            version = ".".join(base.split(".")[: rng.randint(1, len(base.split(".")))]) + ".*"
        elif op == "~=" and "." not in version.split("+")[0]:
            version = base + ".0"
        if op not in ("==", "!="):
            version = version.split("+")[0]
        clauses.append(op + version)
    if rng.random() < 0.1:
        clauses.append("===" + rng.choice([family(rng, base), base, "foo"]))
    rng.shuffle(clauses)
    return ",".join(clauses)


def candidate_versions(rng: random.Random, spec_text: str) -> list[str]:
    """Versions near the ones a set mentions, plus a few unrelated or invalid strings."""
    mentioned = re.findall(r"v?[0-9]+(?:![0-9]+)?(?:\.[0-9]+)*", spec_text) or ["1.0"]
    out = []
    if str(U64_MAX) in spec_text:
        big = str(U64_MAX)
        out += [big, big + ".5", big + ".0a1", "1." + big, "1." + big + ".7", "1." + big + "+l", "2.0", "2.dev0",
                "1.0.dev" + big, "1.0a1", "1.0.post" + big, "1.0.post" + big + "+l", "1.0", "1!0"]
    for _ in range(5):
        base = rng.choice(mentioned).lstrip("v")
        if "!" in base and rng.random() < 0.5:
            base = base.split("!", 1)[1]
        out.append(family(rng, base))
    out.append(valid_spelling(rng, big=False))
    if rng.random() < 0.3:
        out.append(
            rng.choice(
                ["foo", "Foo-Bar", "FOO", "1.0", "1.0A1", " 1.0", "1.0+LOCAL", "not a version", "café", "CAFÉ",
                 "αβγ-1", "ПРИВЕТ", "ß", "SS"]
            )
        )
    return out


GRID_SPEC_VERSIONS = [
    "1.7", "1.7.0", "1.7.post2", "1.7rc1", "1.7.dev1", "1.7a1.post1", "1.7a1.dev2", "1.7.post2.dev1",
    "1.7+local", "1.7.post1+l.2", "0", "0.dev0", "1!1.7",
]
GRID_VERSIONS = [
    "0", "0.dev0", "0a1", "1.6", "1.6.99", "1.7.dev0", "1.7.dev1", "1.7.dev2", "1.7a1.dev1", "1.7a1",
    "1.7a1.post1", "1.7a1.post1.dev1", "1.7a2.dev0", "1.7a2", "1.7rc1", "1.7rc1+l", "1.7", "1.7.0",
    "1.7+local", "1.7+l.2", "1.7.0+l", "1.7.post0.dev0", "1.7.post1", "1.7.post1+l.2", "1.7.post2.dev1",
    "1.7.post2", "1.7.post2+l", "1.7.post3", "1.7.0.post3", "1.7.0.1", "1.7.1.dev0", "1.7.1", "1.8.dev0",
    "1.8a1", "1.8", "2.0", "1!1.7", "1!0", "1.7.dev1+l",
]


def grid_specs() -> list[str]:
    """Every operator against versions at the edges of a family (pre, post, dev, local)."""
    out = []
    for version in GRID_SPEC_VERSIONS:
        for op in ["==", "!=", "<=", ">=", "<", ">", "~="]:
            if "+" in version and op not in ("==", "!="):
                continue
            if op == "~=" and len(Version(version).release) < 2:
                continue
            out.append(op + version)
        out.append("===" + version)
    for prefix in ["1", "1.7", "1.7.0", "1!1", "0"]:
        out += ["==" + prefix + ".*", "!=" + prefix + ".*"]
    return out


def flag(value: bool | None) -> str:
    return {None: "none", True: "true", False: "false"}[value]


def generate_specifiers(rng: random.Random) -> dict:
    single = list(EDGE_SPECIFIERS)
    for _ in range(700):
        single.append(one_specifier(rng))
    specifier_records = []
    for text in dict.fromkeys(single):
        if not u64_safe(text):
            continue
        try:
            spec = Specifier(text)
            specifier_records.append(
                {"text": text, "valid": True, "str": str(spec), "prereleases": bool(spec.prereleases)}
            )
        except InvalidSpecifier:
            specifier_records.append({"text": text, "valid": False})

    set_texts = ["", " ", ",", ">=1.0,", ">=1.0,,<2", "==1.0,==1.0.0", "==1.0.0,==1.0", "==v1.0,==1.0"]
    # Numbers at the 64-bit limit, where packaging's arithmetic (next prefix, next dev) goes past it.
    set_texts += [
        "~=18446744073709551615.0", "~=1.18446744073709551615", "==18446744073709551615.*",
        "==1.18446744073709551615.*", "!=1.18446744073709551615.*", ">1.0.dev18446744073709551615",
        ">1.0.post18446744073709551615", "~=1.18446744073709551615.0", ">=1.0,~=1.18446744073709551615",
    ]
    for _ in range(1500):
        clauses = [one_specifier(rng) for _ in range(rng.choice([1, 1, 2, 2, 2, 3, 3, 4]))]
        joiner = rng.choice([",", ", ", " ,", ","])
        set_texts.append(joiner.join(clauses))
    for _ in range(2500):
        set_texts.append(structured_set(rng))
    set_records = []
    contains = []
    single_contains = []
    for text in dict.fromkeys(set_texts):
        if not u64_safe(text):
            continue
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            set_records.append({"text": text, "valid": False})
            continue
        except Exception:  # packaging bugs on odd input (not our contract): leave out
            continue
        set_records.append({"text": text, "valid": True, "str": str(SpecifierSet(text))})
        for version_text in candidate_versions(rng, text):
            if not u64_safe(version_text):
                continue
            set_pre = rng.choice([None, None, True, False])
            pre = rng.choice([None, None, True, False])
            try:
                parsed = Version(version_text)
            except InvalidVersion:
                parsed = None
            as_version = parsed is not None and rng.random() < 0.5
            item = parsed if as_version else version_text
            try:
                result = SpecifierSet(text, prereleases=set_pre).contains(item, prereleases=pre)
            except Exception:
                continue
            contains.append(
                {
                    "set": text,
                    "set_prereleases": flag(set_pre),
                    "version": version_text,
                    "as_version": as_version,
                    "prereleases": flag(pre),
                    "result": result,
                    "set_prereleases_property": flag(SpecifierSet(text, prereleases=set_pre).prereleases),
                }
            )
        # Single-clause Specifier.contains for the first clause of the set.
        specs = list(SpecifierSet(text))
        if specs:
            spec_text = str(specs[0])
            for version_text in candidate_versions(rng, spec_text)[:3]:
                if not u64_safe(version_text):
                    continue
                pre = rng.choice([None, True, False])
                try:
                    parsed = Version(version_text)
                except InvalidVersion:
                    parsed = None
                as_version = parsed is not None and rng.random() < 0.5
                item = parsed if as_version else version_text
                try:
                    result = Specifier(spec_text).contains(item, prereleases=pre)
                except Exception:
                    continue
                single_contains.append(
                    {
                        "spec": spec_text,
                        "version": version_text,
                        "as_version": as_version,
                        "prereleases": flag(pre),
                        "result": result,
                    }
                )
    # The grid: each edge clause alone and sampled pairs of them, against every edge version.
    grid = grid_specs()
    grid_sets = list(grid) + [",".join(rng.sample(grid, 2)) for _ in range(250)]
    for text in grid_sets:
        set_records.append({"text": text, "valid": True, "str": str(SpecifierSet(text))})
        for version_text in GRID_VERSIONS:
            pre = rng.choice([None, None, True, False])
            set_pre = rng.choice([None, None, True, False])
            as_version = rng.random() < 0.5
            item = Version(version_text) if as_version else version_text
            contains.append(
                {
                    "set": text,
                    "set_prereleases": flag(set_pre),
                    "version": version_text,
                    "as_version": as_version,
                    "prereleases": flag(pre),
                    "result": SpecifierSet(text, prereleases=set_pre).contains(item, prereleases=pre),
                    "set_prereleases_property": flag(SpecifierSet(text, prereleases=set_pre).prereleases),
                }
            )
            if "," not in text:
                single_contains.append(
                    {
                        "spec": text,
                        "version": version_text,
                        "as_version": as_version,
                        "prereleases": flag(pre),
                        "result": Specifier(text).contains(item, prereleases=pre),
                    }
                )
    return {
        "specifiers": specifier_records,
        "sets": set_records,
        "contains": contains,
        "specifier_contains": single_contains,
    }


def generate(outdir: pathlib.Path, rng: random.Random) -> None:
    versions = generate_versions(rng)
    (outdir / "pep440_versions.json").write_text(json.dumps(versions, indent=0))
    specifiers = generate_specifiers(rng)
    (outdir / "pep440_specifiers.json").write_text(json.dumps(specifiers, indent=0))
    print(
        f"pep440: {len(versions['versions'])} versions "
        f"({sum(r['valid'] for r in versions['versions'])} valid), {len(versions['pairs'])} pairs, "
        f"{len(specifiers['specifiers'])} specifiers, {len(specifiers['sets'])} sets, "
        f"{len(specifiers['contains'])} set contains, {len(specifiers['specifier_contains'])} specifier contains"
    )
