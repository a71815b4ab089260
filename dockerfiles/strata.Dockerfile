# syntax=docker/dockerfile:1
# Builds strata from this repository and leaves only its relocatable tree (scripts/bundle.sh):
# /bin/strata and /lib/strata/*.so, needing nothing from the image that uses it but glibc 2.36 or
# newer. Build context: the repository root, e.g.
#   docker build -f dockerfiles/strata.Dockerfile -t strata .
# then in another Dockerfile: COPY --from=strata / /usr/local/   (or mount it for one RUN step).

# Debian 12: its glibc is the oldest the tree runs on; its packages are the ones scripts/setup.sh uses.
ARG DEBIAN_BASE=debian:bookworm

FROM ${DEBIAN_BASE} AS build
# The build subset of scripts/setup.sh's packages, and patchelf for scripts/bundle.sh.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libarchive-dev \
      libcurl4-openssl-dev libssl-dev nlohmann-json3-dev patchelf \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY src/ src/
COPY scripts/bundle.sh scripts/
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRATA_BUILD_TESTS=OFF \
 && cmake --build build \
 && scripts/bundle.sh build/strata /out \
 && /out/bin/strata --version

FROM scratch
COPY --from=build /out/ /
