#!/usr/bin/env bash
# Benchmarks strata against uv, pip and poetry (bench/README.md). Arguments go to bench/run.py,
# e.g. `bench/run.sh --workloads sci --repeat 3 --out bench/RESULTS.md`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null

# strata in Release, beside the developer build.
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRATA_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench --target strata >/dev/null

# The peers at pinned versions, in a venv of their own (rebuilt when the pins change).
cache="${STRATA_BENCH_CACHE:-$HOME/.cache/strata-bench}"
peers="$cache/peers"
if ! cmp -s bench/requirements.txt "$peers/.requirements" 2>/dev/null; then
  rm -rf "$peers"
  /usr/bin/python3 -m venv "$peers"
  env -u PIP_FIND_LINKS "$peers/bin/python" -m pip install -q --disable-pip-version-check -r bench/requirements.txt
  cp bench/requirements.txt "$peers/.requirements"
fi
exec "$peers/bin/python" bench/run.py --strata build-bench/strata --peers "$peers" "$@"
