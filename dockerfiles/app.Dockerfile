# An application image whose Python packages strata installs from the app's poetry.lock.
# Build context: the application directory (pyproject.toml, poetry.lock, app.py), e.g.
#   docker build -f dockerfiles/app.Dockerfile examples/webapp
# See dockerfiles/README.md for the build arguments.

# The strata image from dockerfiles/strata.Dockerfile: bin/strata and lib/strata/ at its root.
ARG STRATA_IMAGE=strata
# Any glibc-based image with python3 (glibc 2.36 or newer: Debian 12 and later).
ARG PYTHON_BASE=python:3.11-slim-bookworm

FROM ${STRATA_IMAGE} AS strata

FROM ${PYTHON_BASE}
WORKDIR /app
# The lock first, the source later: editing app.py leaves the install layer cached.
COPY pyproject.toml poetry.lock ./
# The index to install from (PyPI unless given); strata reads STRATA_INDEX_URL.
ARG STRATA_INDEX_URL=https://pypi.org/simple/
# strata is mounted for this step only, so it is not part of the image. Downloaded wheels stay in
# the build cache mount across builds; the environment gets copies of them (--link-mode auto falls
# back to copying when the cache is on another file system, as a mount is).
RUN --mount=type=bind,from=strata,source=/,target=/opt/strata \
    --mount=type=cache,target=/root/.cache/strata \
    /opt/strata/bin/strata install /app --env /opt/venv --cache-dir /root/.cache/strata
COPY app.py ./
ENV PATH=/opt/venv/bin:$PATH
CMD ["python", "/app/app.py"]
