# An application image whose Python packages strata installs from the app's poetry.lock.
# Build context: the application directory (pyproject.toml, poetry.lock, app.py), e.g.
#   docker build -f dockerfiles/app.Dockerfile examples/webapp
# See dockerfiles/README.md for the build arguments.

# The strata image from dockerfiles/strata.Dockerfile: /strata, one static executable.
ARG STRATA_IMAGE=strata
# Any image with python3 (strata itself needs nothing from it: glibc or musl, any version).
ARG PYTHON_BASE=python:3.11-slim-bookworm

FROM ${STRATA_IMAGE} AS strata

FROM ${PYTHON_BASE}
COPY --from=strata /strata /usr/local/bin/strata
WORKDIR /app
# The lock first, the source later: editing app.py leaves the install layer cached.
COPY pyproject.toml poetry.lock ./
# The index to install from (PyPI unless given); strata reads STRATA_INDEX_URL.
ARG STRATA_INDEX_URL=https://pypi.org/simple/
# Downloaded wheels stay in the build cache mount across builds; the environment gets copies of
# them (--link-mode auto falls back to copying when the cache is on another file system, as a
# mount is).
RUN --mount=type=cache,target=/root/.cache/strata \
    strata install /app --env /opt/venv --cache-dir /root/.cache/strata
COPY app.py ./
ENV PATH=/opt/venv/bin:$PATH
CMD ["python", "/app/app.py"]
