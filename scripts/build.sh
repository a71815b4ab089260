#!/usr/bin/env bash
# Configures and builds strata and its tests in build/ (warnings are errors).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DSTRATA_WERROR=ON "$@" >/dev/null
cmake --build build
