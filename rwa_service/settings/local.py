"""The embedded default: SQLite (WAL), a local cache and a filesystem Celery broker. Used by `make run`."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=False)
DEMO_ALLOWED = True
