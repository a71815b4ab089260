"""Writes differential test cases with the pinned `packaging` library's answers.

Usage: generate.py OUTDIR. Every gen_*.py module beside this file has a function
`generate(outdir: pathlib.Path, rng: random.Random) -> None` that writes its own JSON file(s) into
OUTDIR. The seed is fixed, so the cases are the same on every run.
"""

import importlib.util
import pathlib
import random
import sys


def main() -> int:
    outdir = pathlib.Path(sys.argv[1])
    outdir.mkdir(parents=True, exist_ok=True)
    here = pathlib.Path(__file__).parent
    modules = sorted(here.glob("gen_*.py"))
    if not modules:
        print("no gen_*.py modules", file=sys.stderr)
        return 1
    for path in modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.generate(outdir, random.Random(20261124))
        print(f"{path.stem}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
