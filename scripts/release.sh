#!/usr/bin/env bash
# Builds the release binary: OUT/strata, one fully static executable for linux x86_64 (or, with
# --arch aarch64, cross-compiled for linux aarch64) that runs on any Linux of that architecture
# (glibc of any version, musl, or no libc at all: FROM scratch).
#
#   scripts/release.sh [--arch x86_64|aarch64] OUT
#
# aarch64: Debian's cross toolchain (g++-aarch64-linux-gnu) with the arm64 static libraries of the
# same Debian packages (dpkg --add-architecture arm64; libssl-dev:arm64 and the others: scripts/
# setup.sh installs them with STRATA_SETUP_AARCH64=1), curl, libarchive and libfmt cross-built from
# the same source packages; the binary is checked by running it under qemu-aarch64-static.
#
# How: everything is linked with -static against glibc's, libstdc++'s and Debian's static
# libraries (libssl.a, libcrypto.a, libz.a, libdeflate.a, libbz2.a, liblzma.a, libnghttp2.a, libcares.a).
# libfmt (Debian ships it shared only) and libcurl and libarchive are built here from Debian's
# source packages (`apt-get source`; the deb-src
# lines come from scripts/setup.sh) with only what strata uses, because Debian's libcurl.a needs
# libraries Debian ships no static archive of (GSSAPI, LDAP, RTMP, libpsl, libssh2) and its
# libarchive.a pulls in libxml2, ICU, nettle and libacl:
#   libcurl:    HTTP and HTTPS (OpenSSL, HTTP/2 by nghttp2, gzip by zlib), names resolved by c-ares
#               (glibc's getaddrinfo in a static binary would need the build machine's NSS modules
#               at run time), no compiled-in CA bundle path (strata looks for the image's own:
#               fetch::system_ca_file, or STRATA_CA_FILE / SSL_CERT_FILE).
#   libarchive: zip, tar and pax with gzip, bzip2 and xz; no XML, ICU, iconv, ACL, xattr, crypto.
# They are built once into ~/.cache/strata-release/deps-<key> (the key covers curl's and
# libarchive's Debian source versions, this script's configure lines, the compiler and the
# architecture; libfmt's
# stamp names its version), so later runs only build strata itself, in build-release/ of the
# checkout: incrementally, with the normal build's compile lines and ccache's base_dir set to the
# checkout, so that a source a normal build (or another clone) compiled before is served by
# ccache. One run at a time per cache and per checkout (flock).
#
# Environment: STRATA_RELEASE_CACHE (default ~/.cache/strata-release), STRATA_RELEASE_JOBS
# (default 2), STRATA_COMMIT (what `strata --version` names when the source has no .git).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

arch=x86_64
if [ "${1:-}" = --arch ]; then
  arch=${2:-}
  shift 2 || true
fi
[ $# = 1 ] && { [ "$arch" = x86_64 ] || [ "$arch" = aarch64 ]; } ||
  { echo "usage: scripts/release.sh [--arch x86_64|aarch64] OUT" >&2; exit 2; }
out=$1
# OUT is a directory (made when missing); only OUT/strata in it is written (replaced by a rename).
if [ -e "$out" ] && [ ! -d "$out" ] || [ -d "$out/strata" ]; then
  echo "release.sh: $out must be a directory and $out/strata a file (or missing); not writing there" >&2
  exit 2
fi
[ "$(uname -m)" = x86_64 ] || { echo "release.sh: builds on x86_64 only (this is $(uname -m))" >&2; exit 2; }
# The compilers and what configure and CMake are told of the target.
cc=gcc cxx=g++ ar=ar strip=strip host=() cmake_cross=() run=()
if [ "$arch" = aarch64 ]; then
  triple=aarch64-linux-gnu
  cc=$triple-gcc cxx=$triple-g++ ar=$triple-ar strip=$triple-strip host=(--host=$triple) run=(qemu-aarch64-static)
  for tool in "$cxx" qemu-aarch64-static; do
    command -v "$tool" >/dev/null || { echo "release.sh: $tool is missing (STRATA_SETUP_AARCH64=1 scripts/setup.sh)" >&2; exit 2; }
  done
  for lib in ssl crypto z deflate zstd bz2 lzma nghttp2 cares; do
    [ -f "/usr/lib/$triple/lib$lib.a" ] ||
      { echo "release.sh: /usr/lib/$triple/lib$lib.a is missing (STRATA_SETUP_AARCH64=1 scripts/setup.sh)" >&2; exit 2; }
  done
  # The header-only packages' CMake files are the host's (the same headers); the libraries are the
  # cross linker's, found in /usr/lib/aarch64-linux-gnu by name.
  cmake_cross=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 -DCMAKE_C_COMPILER="$cc"
    -DCMAKE_CXX_COMPILER="$cxx" -Dfmt_DIR=/usr/lib/x86_64-linux-gnu/cmake/fmt
    -Dspdlog_DIR=/usr/lib/x86_64-linux-gnu/cmake/spdlog)
fi
cache=${STRATA_RELEASE_CACHE:-$HOME/.cache/strata-release}
jobs=${STRATA_RELEASE_JOBS:-2}
mkdir -p "$cache/src" "$out"
started=$SECONDS
exec 8>"$cache/.lock"
flock 8

cflags="-Os -ffunction-sections -fdata-sections"
curl_configure=(
  --disable-shared --enable-static --disable-dependency-tracking
  --with-openssl --with-nghttp2 --with-zlib --enable-ares
  --without-ca-bundle --without-ca-path --without-ca-fallback
  --without-libpsl --without-libidn2 --without-brotli --without-zstd --without-librtmp
  --without-libssh2 --without-libssh --without-wolfssh --without-gssapi --without-libgsasl
  --without-hyper --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3
  --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp
  --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt
  --disable-ftp --disable-file --disable-manual --disable-ntlm --disable-ntlm-wb
  --disable-websockets
  --disable-alt-svc --disable-hsts --disable-cookies --disable-doh --disable-mime
  --disable-unix-sockets
)
archive_configure=(
  --disable-shared --enable-static --disable-dependency-tracking
  --disable-bsdtar --disable-bsdcat --disable-bsdcpio --disable-acl --disable-xattr
  --with-zlib --with-bz2lib --with-lzma
  --without-xml2 --without-expat --without-openssl --without-nettle --without-mbedtls
  --without-lz4 --without-zstd --without-lzo2 --without-libb2 --without-cng --without-iconv
)

# Downloads (once) and prints the newest .dsc of a Debian source package.
fetch_source() {
  (cd "$cache/src" && apt-get source --download-only -qq "$1" >/dev/null 2>&1) || {
    echo "release.sh: apt-get source $1 failed (scripts/setup.sh adds the deb-src lines)" >&2
    exit 1
  }
  ls "$cache/src/$1"_*.dsc | sort -V | tail -1
}
curl_dsc=$(fetch_source curl)
archive_dsc=$(fetch_source libarchive)
fmt_dsc=$(fetch_source fmtlib)
# (x86_64's key is the one of the builds before --arch existed: their caches stay good.)
arch_key=()
[ "$arch" = x86_64 ] || arch_key=("$arch")
key=$(printf '%s\n' "$(basename "$curl_dsc")" "$(basename "$archive_dsc")" "$cflags" \
  "${curl_configure[*]}" "${archive_configure[*]}" "$("$cc" -dumpfullversion)" "${arch_key[@]}" |
  sha256sum | cut -c1-16)
prefix=$cache/deps-$key
# The cross build's libcurl headers are those built here (Debian's libcurl4-openssl-dev puts them in
# /usr/include/x86_64-linux-gnu, which the cross compiler does not read): the same source version.
[ "$arch" = x86_64 ] || cmake_cross+=(-DCMAKE_CXX_FLAGS="-isystem $prefix/include")

# Unpacks a .dsc (Debian's patches applied), runs PREPARE (a command line, e.g. autoreconf as
# Debian's own build does when its patches touch configure.ac), configure with the arguments after
# MAKE, and MAKE (a command line) installing into $prefix.
build_dep() {
  local name=$1 dsc=$2 prepare=$3 targets=$4
  shift 4
  [ -f "$prefix/.built-$name" ] && return
  echo "release.sh: building $name from $(basename "$dsc")"
  local work=$cache/work/$name
  rm -rf "$cache/work"
  mkdir -p "$cache/work"
  dpkg-source --no-check -x "$dsc" "$work" >/dev/null
  (cd "$work" && eval "$prepare" >"$work.log" 2>&1 && CC="$cc" AR="$ar" CFLAGS="$cflags" \
    PKG_CONFIG_PATH="$prefix/lib/pkgconfig" ./configure -q --prefix="$prefix" "${host[@]}" "$@" >>"$work.log" 2>&1 \
    && eval "$targets" >>"$work.log" 2>&1) || {
    echo "release.sh: building $name failed; the log: $work.log" >&2
    tail -20 "$work.log" >&2
    exit 1
  }
  rm -rf "$cache/work"
  touch "$prefix/.built-$name"
}
mkdir -p "$prefix"
# curl: the library, its headers and libcurl.pc, not the curl tool.
build_dep curl "$curl_dsc" true 'make -C lib -j"$jobs" && make -C lib install && make -C include install && make install-pkgconfigDATA' \
  "${curl_configure[@]}"
# libarchive: Debian's iconv-pkgconfig.patch changes configure.ac.
build_dep libarchive "$archive_dsc" 'autoreconf -fi' 'make -j"$jobs" && make install' "${archive_configure[@]}"
# libfmt: its two sources, compiled as Debian's CMake build does (strata's code uses the headers of
# Debian's libfmt-dev, the same source version).
fmt_stamp=$prefix/.built-$(basename "$fmt_dsc" .dsc)
if [ ! -f "$fmt_stamp" ]; then
  echo "release.sh: building libfmt from $(basename "$fmt_dsc")"
  rm -rf "$cache/work" && mkdir -p "$cache/work" "$prefix/lib"
  dpkg-source --no-check -x "$fmt_dsc" "$cache/work/fmt" >/dev/null
  for f in format os; do
    "$cxx" -std=c++17 -O2 -ffunction-sections -fdata-sections -DFMT_SHARED -DFMT_LIB_EXPORT \
      -I"$cache/work/fmt/include" -c "$cache/work/fmt/src/$f.cc" -o "$cache/work/$f.o"
  done
  rm -f "$prefix/lib/libfmt.a"
  "$ar" rcs "$prefix/lib/libfmt.a" "$cache/work/format.o" "$cache/work/os.o"
  rm -rf "$cache/work"
  touch "$fmt_stamp"
fi
deps_done=$SECONDS

# strata itself, compiled exactly as the normal build (RelWithDebInfo, warnings as errors) so that
# ccache serves every object a normal build of the same source made; linked -static with unused
# sections dropped and no symbols or debug information written (-s: the link is faster too).
# No tests.
build=$root/build-release
[ "$arch" = x86_64 ] || build=$root/build-release-$arch
mkdir -p "$build"
exec 9>"$build/.lock"
flock 9
export CCACHE_BASEDIR=$root
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_WERROR=ON -DSTRATA_BUILD_TESTS=OFF \
  -DSTRATA_STATIC=ON -DSTRATA_STATIC_PREFIX="$prefix" -DSTRATA_COMMIT="${STRATA_COMMIT:-}" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,--gc-sections -s" "${cmake_cross[@]}" >/dev/null
cmake --build "$build" --target strata -j"$jobs" 2>&1 | grep -v "^\[" >&2 || true
[ -x "$build/strata" ] || { echo "release.sh: the build failed" >&2; exit 1; }
"$strip" --strip-all -o "$out/strata.tmp" "$build/strata"
mv "$out/strata.tmp" "$out/strata"

# It must be static: no interpreter, no needed libraries.
if readelf -l "$out/strata" | grep -q INTERP || readelf -d "$out/strata" | grep -q NEEDED; then
  echo "release.sh: $out/strata is not static" >&2
  readelf -d "$out/strata" >&2
  exit 1
fi
"${run[@]}" "$out/strata" --version >/dev/null
echo "release: $out/strata ($(stat -c %s "$out/strata") bytes, $(du -h "$out/strata" | cut -f1)); dependencies $((deps_done - started)) s, strata $((SECONDS - deps_done)) s"
file "$out/strata"
ldd "$out/strata" 2>&1 || true
