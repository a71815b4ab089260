# A model image on top of a platform image (dockerfiles/platform.Dockerfile): the model project's
# lock installed by strata into the platform's /opt/venv. strata decides every package before
# downloading anything: the platform's packages at the locked version are kept (not downloaded),
# another version is a conflict (the build fails with exit 3, every conflict listed, each naming
# the platform's project and what replacing it would break), the model's own are installed.
# Build context: the model project's directory (pyproject.toml, poetry.lock), e.g.
#   docker build -f dockerfiles/model.Dockerfile --build-arg PLATFORM_IMAGE=my-platform:1.0 model/
# Check the same thing without building: strata check model/ --base platform/ --python python3.11
# See dockerfiles/README.md ("A model on a platform image").

ARG STRATA_IMAGE=strata
# The platform image to build on.
ARG PLATFORM_IMAGE=platform

FROM ${STRATA_IMAGE} AS strata

FROM ${PLATFORM_IMAGE}
WORKDIR /app
# The same path as the platform's lock: the owner is the project, not the path.
COPY pyproject.toml poetry.lock ./
ARG STRATA_INDEX_URL=https://pypi.org/simple/
# More `strata install` flags: --allow-replace replaces the platform's conflicting packages (and
# says what that breaks), --json.
ARG STRATA_INSTALL_ARGS=
# 2>&1: one stream, so that the build log has strata's lines in the order it wrote them (BuildKit
# reads a step's stdout and stderr separately and interleaves them wherever a read ended).
RUN --mount=type=bind,from=strata,source=/,target=/opt/strata \
    --mount=type=cache,target=/root/.cache/strata \
    /opt/strata/strata install /app --env /opt/venv --cache-dir /root/.cache/strata $STRATA_INSTALL_ARGS 2>&1
