# syntax=docker/dockerfile:1
# Production image: no embedded PostgreSQL (set PACTA_DATABASE_URL), runs as a non-root user.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/pacta
RUN python -m venv /opt/venv
# Exactly the locked files (`make lock`), checked against their hashes: the same image every day.
COPY requirements/main.txt ./requirements/main.txt
RUN /opt/venv/bin/pip install --require-hashes -r requirements/main.txt
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
# Editable install: the migrations folder stays beside the package, where `pacta migrate` finds it.
# No dependencies and no build isolation: everything, the build backend included, came from the lock.
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation -e .

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --home-dir /srv/pacta pacta
WORKDIR /srv/pacta
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=pacta:pacta /srv/pacta /srv/pacta
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status == 200 else 1)"]
CMD ["pacta", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
