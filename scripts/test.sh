#!/usr/bin/env bash
# The README's test command: set up the machine, build, and run every test under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cmake --build build --target format-check
ctest --test-dir build --output-on-failure -j "$(nproc)"
