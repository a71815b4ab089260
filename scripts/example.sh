#!/usr/bin/env bash
# The README's main-job command: set up, build, and run strata on the bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/strata debug --python python3
