"""The Celery application. Workers and beat read their configuration from Django settings (`CELERY_*`)."""

import os

from celery import Celery, signals
from django.db import close_old_connections, connections

from rwa_service.startup_objects import startup_objects_freeze

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rwa_service.settings.local")

app = Celery("rwa_service")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fix-up closes every database connection before and after each task unless told to reuse them: a
# new PostgreSQL backend per task (connect, authenticate, cold catalog caches). Workers keep their connections as
# web processes do instead: Django's own rule, around every task, closes one that is broken, older than
# CONN_MAX_AGE or left in a failed state (see _recycle_connections).
app.conf.update(CELERY_DB_REUSE_MAX=2**31)
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _recycle_connections(task: object = None, **kwargs: object) -> None:
    """What Django does at the start and end of a request, done at the start and end of a task run by a worker (an
    eager task runs inside its caller's transaction: its connection is the caller's)."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    close_old_connections()


@signals.worker_process_init.connect  # a prefork child, the application loaded
@signals.worker_ready.connect  # the worker itself (the solo and thread pools run tasks there)
def _freeze_startup_objects(**kwargs: object) -> None:
    startup_objects_freeze()


@signals.beat_embedded_init.connect
def _close_connections_for_embedded_beat(**kwargs: object) -> None:
    """`worker -B`: the embedded beat process starts without the worker's connections, as Celery's fix-up does when
    it is not told to reuse them."""
    connections.close_all()


def ensure_filesystem_broker_dirs() -> None:
    """kombu's filesystem transport does not create its folders; the embedded default needs them."""
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)


@app.on_after_configure.connect
def _prepare_broker(sender: Celery, **kwargs: object) -> None:
    ensure_filesystem_broker_dirs()
