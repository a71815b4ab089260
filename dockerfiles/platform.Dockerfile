# A platform image: the platform project's lock installed by strata into /opt/venv, for model
# images to build FROM (dockerfiles/model.Dockerfile). The packages belong to the platform's
# project (its pyproject.toml names it), whatever path its lock was copied to.
# Build context: the platform project's directory (pyproject.toml, poetry.lock), e.g.
#   docker build -f dockerfiles/platform.Dockerfile -t my-platform:1.0 platform/
# See dockerfiles/README.md ("A model on a platform image").

# The strata image from dockerfiles/strata.Dockerfile: /strata, one static executable.
ARG STRATA_IMAGE=strata
# Any image with python3 (strata itself needs nothing from it: glibc or musl, any version).
ARG PYTHON_BASE=python:3.11-slim-bookworm

FROM ${STRATA_IMAGE} AS strata

FROM ${PYTHON_BASE}
WORKDIR /app
COPY pyproject.toml poetry.lock ./
# The index to install from (PyPI unless given); strata reads STRATA_INDEX_URL.
ARG STRATA_INDEX_URL=https://pypi.org/simple/
# More `strata install` flags, e.g. --json.
ARG STRATA_INSTALL_ARGS=
# 2>&1: one stream, so that the build log has strata's lines in the order it wrote them (BuildKit
# reads a step's stdout and stderr separately and interleaves them wherever a read ended).
RUN --mount=type=bind,from=strata,source=/,target=/opt/strata \
    --mount=type=cache,target=/root/.cache/strata \
    /opt/strata/strata install /app --env /opt/venv --cache-dir /root/.cache/strata $STRATA_INSTALL_ARGS 2>&1
ENV PATH=/opt/venv/bin:$PATH
