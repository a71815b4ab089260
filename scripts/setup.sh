#!/usr/bin/env bash
# Installs everything strata's build, unit tests and integration tests need on Debian 12.
# Idempotent: when every package is present it changes nothing (and runs no apt-get update).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libarchive-dev
  libdeflate-dev zlib1g-dev  # wheels' deflate members: whole entries (libdeflate), entries too big to hold (zlib)
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  clang-format clang-tidy ccache time
  python3 python3-venv python3-pip python3-dev openssl  # python3-dev: Python.h for C-extension builds
  python3-six  # a Debian python3-* package in /usr/lib/python3/dist-packages (egg-info, no RECORD): integration/test_bases.py
  buildah debootstrap patchelf  # scripts/bundle.sh and the image build test
  # the real Docker engine (dockerd 20.10 with BuildKit) and skopeo to load the test's OCI base
  # archive into it: integration/images.py, the layered build tests
  docker.io skopeo
  # a real OCI registry (distribution 2.8) and htpasswd -B for its auth: integration/test_registry.py
  docker-registry apache2-utils
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python tools the tests compare against (pinned), in a venv of their own.
scripts/setup-testenv.sh
