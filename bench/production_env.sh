# Sourced by the bench scripts: the service's environment for a benchmark run — production settings on loopback,
# fresh secrets, a benchmark database, Redis for cache and broker, quiet logs.
# Usage: bench_production_env DATABASE_URL CACHE_KEY_PREFIX DEFAULT_REDIS_URL DEFAULT_BROKER_URL
#   (BENCH_REDIS_URL / BENCH_BROKER_URL override the two defaults; $PY is the venv's python; $HOST the bind host)
bench_production_env() {
  export DJANGO_SETTINGS_MODULE=rwa_service.settings.production
  SECRET_KEY="bench-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')"
  PII_ENCRYPTION_KEYS="$("$PY" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
  AUDIT_SIGNING_KEY="$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
  export SECRET_KEY PII_ENCRYPTION_KEYS AUDIT_SIGNING_KEY
  export AUDIT_CHECKPOINT_DIR="${TMPDIR:-/tmp}/rwa-bench-audit-checkpoints"
  export ALLOWED_HOSTS="${HOST:-127.0.0.1},localhost"
  export SECURE_SSL_REDIRECT=false
  export DATABASE_URL="$1"
  export CACHE_KEY_PREFIX="$2"
  export REDIS_URL="${BENCH_REDIS_URL:-$3}"
  # Production settings refuse the filesystem broker: the URL must name a real one even where nothing is enqueued.
  export CELERY_BROKER_URL="${BENCH_BROKER_URL:-$4}"
  export GUNICORN_ACCESS_LOG=""
  export LOG_LEVEL="${LOG_LEVEL:-WARNING}"  # upper case: base.py hands it to dictConfig as is
  export GUNICORN_MAX_REQUESTS=0
  unset DEBUG PORT GUNICORN_BIND || true
}
