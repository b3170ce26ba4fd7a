"""Settings for the test suite. DATABASE_URL / REDIS_URL, when set, move the suite to PostgreSQL and Redis."""

import os

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, STATIC_ROOT, VAR_DIR, env

DEBUG = False
DEMO_ALLOWED = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_RATE_LIMIT = env("LOGIN_RATE_LIMIT", default="1000/m")
# Test users are made afresh and may reuse ids: a low limit would carry over between tests (its own test lowers it).
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"audit_verify": "10000/min"}
# Tasks run in-process unless a test starts a real worker (those tests switch this off themselves).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not shared-cache memory: concurrency tests need SQLite's real locking (WAL, busy timeout).
    # One file per test process, so parallel runs on one machine do not share (and destroy) each other's database.
    _test_db = str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": env("SQLITE_TEST_PATH", default=_test_db)}
# Parallel test runs on one machine share one Redis: keep their cache keys apart.
CACHES["default"]["KEY_PREFIX"] = f"rwa-test-{os.getpid()}"
MEDIA_ROOT = env.path("MEDIA_ROOT", default="/tmp/rwa-test-media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from the finders here; the folder must exist
