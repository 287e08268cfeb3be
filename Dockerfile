# Impfportal Sachsen – production image (docs/deployment.md).
#
# One image, every role:
#   web (default)  docker run IMAGE                                  -> gunicorn on $PORT (8000)
#   task worker    docker run --no-healthcheck IMAGE python manage.py qcluster
#   migrations     docker run --rm IMAGE python manage.py migrate    (one-off, once per release)
# Configuration comes from the environment only; DATABASE_URL, SECRET_KEY (or SECRET_KEY_FILE)
# and ALLOWED_HOSTS are required at run time.
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The unprivileged user the processes run as. It owns nothing in the image: code, libraries
# and collected static files are root-owned and read-only to the running application.
# A fixed, high UID/GID (no overlap with host users; runAsNonRoot can check it).
RUN groupadd --gid 10001 impfportal \
 && useradd --uid 10001 --gid impfportal --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --no-log-init impfportal

WORKDIR /app

# Dependencies only, from [project].dependencies in pyproject.toml: no `embedded`/`dev` extras
# (no pgserver, no test tools). The project itself is NOT pip-installed: a regular
# `pip install .` would copy the packages into site-packages, and BASE_DIR (the parent of the
# impfportal package) would then point there instead of at /app, where templates/, static/ and
# locale/ live. The code runs from /app instead (WORKDIR, PYTHONPATH below). An editable install
# (`pip install -e .`) would also keep BASE_DIR=/app, but needs the whole source before the
# dependency layer (every code change would reinstall all dependencies) and leaves build
# metadata in /app. Copying pyproject.toml alone keeps this layer cached until the
# dependencies change.
COPY pyproject.toml ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' \
      > /tmp/requirements.txt \
 && /opt/venv/bin/python -m pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . .

# Translations are not compiled here (msgfmt is not in slim images): the .mo files come from
# `make messages` and are committed next to their .po. Without one, the site would silently show
# German to English readers, so a missing .mo stops the build.
RUN missing=$(find . -name '*.po' | while read -r po; do [ -f "${po%.po}.mo" ] || echo "${po%.po}.mo"; done) \
 && if [ -n "$missing" ]; then echo "missing (run make messages, commit the .mo): $missing" >&2; exit 1; fi

# Production settings; gunicorn, qcluster and manage.py all import the code from /app.
ENV DEBUG=false \
    PYTHONPATH=/app \
    PORT=8000

# Static files are collected (hashed names + gzipped copies, whitenoise's
# CompressedManifestStaticFilesStorage) into /app/staticfiles at build time, so containers
# start without writing anything. The settings refuse to load with DEBUG off unless SECRET_KEY,
# ALLOWED_HOSTS and DATABASE_URL are set: the values below are build-only dummies that exist
# in this RUN line only (no database is contacted). Nothing else is compiled here.
RUN SECRET_KEY=build-only-dummy-not-a-secret \
    ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build@build.invalid:5432/build \
    python manage.py collectstatic --noinput

USER impfportal:impfportal
EXPOSE 8000

# /healthz is answered by a middleware ahead of the host check, so 127.0.0.1 works whatever
# ALLOWED_HOSTS says; it answers 503 while PostgreSQL is unreachable (urlopen raises -> exit 1).
# Slim images have no curl, hence python. Not meaningful for qcluster containers: run those with
# --no-healthcheck (compose: `healthcheck: {disable: true}`).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

# gunicorn handles SIGTERM (docker stop) as a graceful shutdown; see gunicorn.conf.py.
CMD ["gunicorn", "--config", "/app/gunicorn.conf.py", "impfportal.wsgi:application"]
