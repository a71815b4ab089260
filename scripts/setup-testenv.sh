#!/usr/bin/env bash
# Creates .testenv (a venv with the pinned test tools from PyPI). Re-runs only when
# scripts/test-requirements.txt changes.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.testenv
stamp="$venv/.requirements.sha256"
want=$(sha256sum scripts/test-requirements.txt | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r scripts/test-requirements.txt
echo "$want" >"$stamp"
