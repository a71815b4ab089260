# Builds the release binary (scripts/release.sh) and leaves only it: an image holding /strata, one
# static executable that runs on any x86-64 Linux (glibc of any version, musl, or nothing at all).
# Build context: the repository root, e.g.
#   docker build -f dockerfiles/strata.Dockerfile -t strata --build-arg STRATA_COMMIT=$(git describe --always --dirty) .
# then in another Dockerfile:
#   COPY --from=strata /strata /usr/local/bin/strata

# Any Debian 12 image: scripts/release.sh builds with Debian 12's toolchain and source packages.
ARG DEBIAN_BASE=debian:bookworm

FROM ${DEBIAN_BASE} AS build
# What release.sh builds with (scripts/setup.sh's release list, and the deb-src lines it needs:
# libcurl and libarchive are built from Debian's source packages).
COPY scripts/setup.sh /tmp/setup.sh
RUN /tmp/setup.sh --release
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
