#!/usr/bin/env bash
# The README's main-job command: set up, build, install the bundled example lock into a fresh
# environment, and run the example app from it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
env_dir=${1:-build/example-env}
rm -rf "$env_dir"
build/strata install examples/webapp --env "$env_dir"
"$env_dir/bin/python" examples/webapp/app.py --name strata
