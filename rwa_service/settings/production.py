"""Production: secrets and hosts must come from the environment; the service refuses to start without them."""

import base64
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
DEMO_ALLOWED = False


def _required(name: str) -> str:
    value = env(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production settings.")
    return value


SECRET_KEY = _required("SECRET_KEY")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure-"):
    raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 50 characters.")
ALLOWED_HOSTS = [host.strip() for host in _required("ALLOWED_HOSTS").split(",") if host.strip()]
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name at least one host for production settings.")
PII_ENCRYPTION_KEYS = [key for key in _required("PII_ENCRYPTION_KEYS").split(",") if key.strip()]
# Audit checkpoints (audit/checkpoints.py): the signer holds AUDIT_SIGNING_KEY (private), verifiers need only
# AUDIT_VERIFY_KEYS (public); every process needs one of them and the shared AUDIT_CHECKPOINT_DIR.
AUDIT_KEY_FROM_SECRET = False
AUDIT_CHECKPOINT_DIR = Path(_required("AUDIT_CHECKPOINT_DIR"))


def _key_bytes(name: str, value: str) -> None:
    try:
        if len(base64.b64decode(value, validate=True)) != 32:
            raise ValueError
    except ValueError:
        raise ImproperlyConfigured(f"{name} must hold base64 Ed25519 keys of 32 bytes.") from None


if AUDIT_SIGNING_KEY:
    _key_bytes("AUDIT_SIGNING_KEY", AUDIT_SIGNING_KEY)
for _public in AUDIT_VERIFY_KEYS:
    _key_bytes("AUDIT_VERIFY_KEYS", _public)
if not AUDIT_SIGNING_KEY and not AUDIT_VERIFY_KEYS:
    raise ImproperlyConfigured(
        "AUDIT_SIGNING_KEY (where audit checkpoints are signed) or AUDIT_VERIFY_KEYS (elsewhere) must be set."
    )
# The embedded defaults (SQLite, the filesystem broker) are for one machine; production runs several web processes
# and workers over PostgreSQL and a real broker, so it refuses to start without them.
_required("DATABASE_URL")
if DATABASES["default"]["ENGINE"] != "rwa_service.db.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://…) for production settings.")
CELERY_BROKER_URL = _required("CELERY_BROKER_URL")
if not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
    raise ImproperlyConfigured("CELERY_BROKER_URL must be a Redis (redis://) or RabbitMQ (amqp://) URL for production.")
SIMPLE_JWT["SIGNING_KEY"] = env("JWT_SIGNING_KEY", default=SECRET_KEY)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = env.list(
    "API_RENDERERS",
    default=["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
)

# Rate limits must be shared by every web process: production does not silence django-ratelimit's cache checks,
# so it refuses to run on the process-local cache (set REDIS_URL).
SILENCED_SYSTEM_CHECKS = []
