#!/usr/bin/env bash
# Makes a relocatable strata tree that runs on any x86-64/arm64 Linux image with glibc (no other
# library needed): OUT/bin/strata and OUT/lib/strata/<every non-glibc shared library it loads>.
#
#   scripts/bundle.sh [BINARY] [OUT]        (defaults: build/strata, build/bundle)
#
# Why a tree and not a static binary: Debian ships no static libgssapi_krb5 (libcurl's dependency),
# so a fully static strata cannot be linked from Debian packages. Instead the binary and the
# libraries ldd resolves for it are copied; patchelf gives the binary the RUNPATH
# $ORIGIN/../lib/strata and each library the RUNPATH $ORIGIN. (A RUNPATH applies only to the
# direct dependencies of the object that carries it, so the libraries need their own: only a
# post-link tool can set that on Debian's libraries.) glibc itself is not copied: it must match the
# kernel interface and the image's NSS setup, so the image provides it; the newest glibc symbol
# version the tree needs is printed (GLIBC_2.36 for a Debian 12 build).
#
# OUT is replaced only when it is missing, empty, or a previous bundle (it holds the marker
# lib/strata/.strata-bundle that this script writes); anything else is refused with exit 2.
#
# Put it in an image with `COPY --from=<strata image> / /usr/local/` (bin/strata lands on PATH,
# the libraries in /usr/local/lib/strata/, away from the image's own), or mount it for one RUN.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${1:-build/strata}
out=${2:-build/bundle}
[ -x "$binary" ] || { echo "bundle.sh: $binary is not an executable (build it first)" >&2; exit 2; }
command -v patchelf >/dev/null || { echo "bundle.sh: patchelf is missing (scripts/setup.sh installs it)" >&2; exit 2; }

# glibc's own libraries and the loader stay with the image.
is_glibc() {
  case "$1" in
    linux-vdso.so.* | linux-gate.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | libdl.so.* | \
      libpthread.so.* | librt.so.* | libresolv.so.* | libutil.so.* | libanl.so.* | libnsl.so.*) return 0 ;;
  esac
  return 1
}

marker=lib/strata/.strata-bundle
if [ -e "$out" ] || [ -L "$out" ]; then
  [ -d "$out" ] && [ ! -L "$out" ] || { echo "bundle.sh: $out exists and is not a directory; not replacing it" >&2; exit 2; }
  if [ -n "$(ls -A "$out")" ] && [ ! -f "$out/$marker" ]; then
    echo "bundle.sh: $out is not empty and not a previous bundle (no $marker); not replacing it (remove it yourself if it should go)" >&2
    exit 2
  fi
fi
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib/strata"
echo "strata bundle: scripts/bundle.sh may replace this tree" >"$out/$marker"
# Stripped: the build's debug info is most of its size and is no use inside an image.
strip --strip-unneeded -o "$out/bin/strata" "$binary"

while read -r name path; do
  name=${name##*/}
  is_glibc "$name" && continue
  [ -n "$path" ] && [ -f "$path" ] || { echo "bundle.sh: ldd could not resolve $name" >&2; exit 1; }
  cp -L "$path" "$out/lib/strata/$name"
  chmod 0644 "$out/lib/strata/$name"
  patchelf --set-rpath '$ORIGIN' "$out/lib/strata/$name"
done < <(ldd "$binary" | awk '{ print $1, ($2 == "=>" ? $3 : "") }')
patchelf --set-rpath '$ORIGIN/../lib/strata' "$out/bin/strata"

# Check that the tree is closed: every library the loader picks is the bundle's copy or glibc.
outside=$(ldd "$out/bin/strata" | awk '{ print $1, ($2 == "=>" ? $3 : "") }' | while read -r name path; do
  is_glibc "${name##*/}" || [ "$(realpath "$path")" = "$(realpath "$out")/lib/strata/$name" ] || echo "$name=>$path"
done)
[ -z "$outside" ] || { echo "bundle.sh: loaded from outside the bundle: $outside" >&2; exit 1; }
glibc=$(objdump -T "$out/bin/strata" "$out"/lib/strata/*.so* | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
echo "bundle: $out ($(du -sh "$out" | cut -f1), $(ls "$out/lib/strata" | wc -l) libraries; needs $glibc or newer)"
