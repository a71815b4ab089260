#!/usr/bin/env bash
# Installs everything strata's build, unit tests and integration tests need on Debian 12.
# Idempotent: when every package is present it changes nothing (and runs no apt-get update).
#   scripts/setup.sh            the build, the tests and their tools (.testenv)
#   scripts/setup.sh --release  only what scripts/release.sh needs (dockerfiles/strata.Dockerfile)
# STRATA_SETUP_AARCH64=1 adds what `scripts/release.sh --arch aarch64` needs (opt-in: its cold
# cross build of strata takes long): Debian's cross toolchain, qemu-user-static to run the result,
# and the arm64 static libraries (dpkg --add-architecture arm64).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
  "") ;;
  --release) mode=release ;;
  *) echo "usage: scripts/setup.sh [--release]" >&2; exit 2 ;;
esac

# What scripts/release.sh builds the static binary with.
release_packages=(
  build-essential cmake ninja-build pkg-config
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libssl-dev
  libdeflate-dev zlib1g-dev  # wheels' deflate members: whole entries (libdeflate), entries too big to hold (zlib)
  libzstd-dev  # strata image: layer compression (gzip, --compression zstd)
  # the headers release.sh compiles with: Debian's, of the very versions it builds the static
  # libraries from (CMakeLists.txt, STRATA_STATIC)
  libarchive-dev libcurl4-openssl-dev
  # Debian's static c-ares and nghttp2 for the static libcurl it builds from source (dpkg-dev:
  # dpkg-source; autoreconf as Debian's build runs it), libarchive's compressors
  libc-ares-dev libnghttp2-dev libbz2-dev liblzma-dev dpkg-dev autoconf automake libtool
)

packages=(
  "${release_packages[@]}"
  git libgtest-dev libgmock-dev
  clang-format clang-tidy ccache time
  python3 python3-venv python3-pip python3-dev openssl  # python3-dev: Python.h for C-extension builds
  python3-six  # a Debian python3-* package in /usr/lib/python3/dist-packages (egg-info, no RECORD): integration/test_bases.py
  buildah debootstrap  # the image build tests; debootstrap also makes integration/test_release.py's bases
  # the real Docker engine (dockerd 20.10 with BuildKit) and skopeo to load the test's OCI base
  # archive into it: integration/images.py, the layered build tests
  docker.io skopeo
  # a real OCI registry (distribution 2.8) and htpasswd -B for its auth: integration/test_registry.py
  docker-registry apache2-utils
  umoci  # integration/test_oci_image.py: unpacks the written image, checking every DiffID
)

sudo_cmd=()
[ "$(id -u)" = 0 ] || sudo_cmd=(sudo)

# scripts/release.sh builds libcurl and libarchive from Debian's source packages (apt-get source):
# the deb-src twins of the deb lines, when there are none yet.
need_update=0
if ! grep -qsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
  /etc/apt/sources.list.d/*.sources; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/strata-deb-src.sources >/dev/null
  else
    sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list |
      "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/strata-deb-src.list >/dev/null
  fi
  need_update=1
fi

[ "$mode" = release ] && packages=("${release_packages[@]}")
if [ "${STRATA_SETUP_AARCH64:-}" = 1 ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    "${sudo_cmd[@]}" dpkg --add-architecture arm64
    need_update=1
  fi
  packages+=(g++-aarch64-linux-gnu qemu-user-static)
  for p in libssl-dev zlib1g-dev libdeflate-dev libzstd-dev libbz2-dev liblzma-dev libnghttp2-dev libc-ares-dev; do
    packages+=("$p:arm64")
  done
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})) || ((need_update)); then
  "${sudo_cmd[@]}" apt-get update -qq
fi
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python tools the tests compare against (pinned), in a venv of their own.
[ "$mode" = release ] || scripts/setup-testenv.sh
