# An application's own Dockerfile for a layered build: `strata plan --dockerfile` inserts one
# COPY + RUN step per layer manifest after the WORKDIR, then the whole lock as the check that the
# layers add up to it. This file itself installs no packages. Build context: the application
# directory (pyproject.toml, poetry.lock, app.py and the plan's directory), e.g. from the
# repository root:
#   strata plan examples/webapp --out examples/webapp/layers --context examples/webapp \
#     --python python3.11 --strata-image strata --dockerfile dockerfiles/layered.Dockerfile
#   docker build -f examples/webapp/layers/Dockerfile -t strata-example-layered examples/webapp
# No `# syntax=` line: the built-in frontend (Docker 20.10+ with BuildKit, buildah) has
# RUN --mount, and the build needs no registry for a frontend image. See dockerfiles/README.md.

# Any image with python3 (strata itself needs nothing from it: glibc or musl, any version).
ARG PYTHON_BASE=python:3.11-slim-bookworm

FROM ${PYTHON_BASE}
# The index to install from (PyPI unless given); strata reads STRATA_INDEX_URL. Changing it
# re-runs every layer step.
ARG STRATA_INDEX_URL=https://pypi.org/simple/
WORKDIR /app
COPY app.py ./
ENV PATH=/opt/venv/bin:$PATH
CMD ["python", "/app/app.py"]
