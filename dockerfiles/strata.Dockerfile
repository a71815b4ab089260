# Builds the release binary (scripts/release.sh) and leaves only it: an image holding /strata, one
# static executable that runs on any x86-64 Linux (glibc of any version, musl, or nothing at all).
# Build context: the repository root, e.g.
#   docker build -f dockerfiles/strata.Dockerfile -t strata --build-arg STRATA_COMMIT=$(git describe --always --dirty) .
# then in another Dockerfile:
#   COPY --from=strata /strata /usr/local/bin/strata

# Any Debian 12 image: scripts/release.sh builds with Debian 12's toolchain and source packages.
ARG DEBIAN_BASE=debian:bookworm

FROM ${DEBIAN_BASE} AS build
# The build subset of scripts/setup.sh's packages, and its deb-src lines (release.sh builds
# libcurl and libarchive from Debian's source packages).
RUN if [ -f /etc/apt/sources.list.d/debian.sources ]; then \
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >/etc/apt/sources.list.d/deb-src.sources; \
    else \
      sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list >/etc/apt/sources.list.d/deb-src.list; \
    fi \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config dpkg-dev autoconf automake libtool \
      libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev \
      libssl-dev zlib1g-dev libbz2-dev liblzma-dev libc-ares-dev libnghttp2-dev libdeflate-dev
WORKDIR /src
COPY CMakeLists.txt ./
COPY src/ src/
COPY layers/ layers/
COPY scripts/release.sh scripts/
# The context has no .git: the commit `strata --version` names comes from here.
ARG STRATA_COMMIT=
RUN STRATA_COMMIT=${STRATA_COMMIT} scripts/release.sh /out && /out/strata --version

FROM scratch
COPY --from=build /out/strata /strata
