"""Locks bench/workloads/*/pyproject.toml with Poetry 2.5.1 (run by hand when a workload changes).

Uses the same pinned Poetry and PyPI shim as tests/fixtures/locks/regenerate.py (see that
directory's README): `python3 bench/make_workloads.py [web sci boto]`.
"""

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "fixtures" / "locks"))
import regenerate  # noqa: E402


def main() -> None:
    names = sys.argv[1:] or sorted(p.name for p in (HERE / "workloads").iterdir() if p.is_dir())
    regenerate.install_tools(["poetry2"])
    for name in names:
        project = HERE / "workloads" / name
        with tempfile.TemporaryDirectory() as work:
            regenerate.log(f"locking {name}")
            regenerate.poetry("poetry2", ["lock"], cwd=project, workdir=Path(work))


if __name__ == "__main__":
    main()
