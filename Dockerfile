# syntax=docker/dockerfile:1
# RWA Asset Service: one image for the API (gunicorn), the Celery worker, beat and one-off management commands.
#
#   docker build -t rwa-asset-service .
#
# Production settings refuse to start without SECRET_KEY (random, >= 50 characters), ALLOWED_HOSTS,
# PII_ENCRYPTION_KEYS (Fernet keys), AUDIT_SIGNING_KEY (Ed25519, base64 of 32 bytes), a PostgreSQL DATABASE_URL,
# REDIS_URL (shared cache) and a redis:// or amqp:// CELERY_BROKER_URL; MEDIA_ROOT must be a durable volume shared by
# the web containers (uploaded documents) and AUDIT_CHECKPOINT_DIR one outside the database host (signed checkpoints):
#
#   docker run --rm --env-file prod.env rwa-asset-service python manage.py migrate --noinput    # before each release
#   docker run -d -p 8000:8000 --env-file prod.env rwa-asset-service                            # API + admin (default CMD)
#   docker run -d --env-file prod.env rwa-asset-service \
#       celery -A rwa_service worker --loglevel=INFO --concurrency=2 --queues=default --without-gossip --without-mingle
#   docker run -d --env-file prod.env rwa-asset-service celery -A rwa_service beat --loglevel=INFO  # exactly one
#   docker run --rm -it --env-file prod.env rwa-asset-service python manage.py bootstrap_roles
#
# Behind a TLS-terminating proxy set FORWARDED_ALLOW_IPS to the proxy's address (gunicorn trusts only 127.0.0.1 by
# default); SECURE_SSL_REDIRECT defaults to on and /healthz, /readyz and /metrics are exempt from it.
# The tuning knobs of deploy/gunicorn.conf.py (WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_TIMEOUT, ...) apply.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: the virtualenv with the pinned runtime requirements ------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# Every compiled dependency (psycopg-binary, which bundles libpq; PyYAML; rpds-py) ships manylinux wheels, so no
# compiler or -dev packages are needed; the pure-Python ones without a wheel build from source with pip alone.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
    && find /opt/venv -type d -name __pycache__ -prune -exec rm -rf {} +

# ---- runtime -----------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="RWA Asset Service" \
      org.opencontainers.image.description="System of record for real-world assets and their tokens."

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=rwa_service.settings.production \
    GUNICORN_BIND=0.0.0.0:8000 \
    PORT=8000 \
    STATIC_ROOT=/app/staticfiles

# A fixed, unprivileged uid/gid so volumes and Kubernetes securityContext can name them.
RUN groupadd --system --gid 10001 rwa \
    && useradd --system --uid 10001 --gid rwa --home-dir /app --no-create-home --shell /usr/sbin/nologin rwa

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root (read-only for the service); only var/ (SQLite, broker folders, media when no
# DATABASE_URL / CELERY_BROKER_URL / MEDIA_ROOT says otherwise) is writable by the service user.
COPY . /app

# collectstatic at build time: whitenoise serves the hashed, compressed files from STATIC_ROOT. The local settings
# import without production secrets and share STORAGES and STATIC_ROOT with production.
RUN DJANGO_SETTINGS_MODULE=rwa_service.settings.local SQLITE_PATH=/tmp/build.sqlite3 CELERY_BROKER_DIR=/tmp/broker \
        python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build.sqlite3* /tmp/broker \
    && python -m compileall -q /app \
    && mkdir -p /app/var/media /app/var/broker \
    && chown -R rwa:rwa /app/var

USER 10001:10001

EXPOSE 8000

# No curl in the slim image: urllib. The Host header is the first ALLOWED_HOSTS entry so that Django's host check
# passes whatever the deployment allows; /healthz touches no dependency (use /readyz for readiness probes).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; host = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); host = 'localhost' if host in ('', '*') else host; port = os.environ.get('GUNICORN_BIND', '0.0.0.0:8000').rsplit(':', 1)[-1]; res = r.urlopen(r.Request(f'http://127.0.0.1:{port}/healthz', headers={'Host': host, 'X-Forwarded-Proto': 'https'}), timeout=4); raise SystemExit(0 if res.status == 200 else 1)"]

# gunicorn as PID 1 handles SIGTERM itself (graceful stop within GUNICORN_GRACEFUL_TIMEOUT); so do celery worker/beat.
CMD ["gunicorn", "rwa_service.wsgi:application", "--config", "deploy/gunicorn.conf.py"]
