"""The embedded default: SQLite (WAL), a local cache and a filesystem Celery broker. Used by `make run`."""

from .base import *  # noqa: F403
from .base import STATIC_ROOT, env

DEBUG = env.bool("DEBUG", default=False)
DEMO_ALLOWED = True

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from the finders here; the folder must exist
