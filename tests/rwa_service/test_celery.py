"""The Celery app keeps a worker's database connection from task to task, under Django's own recycling rule."""

import time
from types import SimpleNamespace

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from rwa_service.celery import _recycle_connections, app

pytestmark = pytest.mark.django_db(transaction=True)


def _worker_task() -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(is_eager=False))


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 1")
        return cursor.fetchone()[0]


def test_celery_fixup_no_longer_closes_connections_around_each_task():
    fixup = DjangoWorkerFixup(app)
    assert fixup.db_reuse_max >= 10**6
    _backend_pid()
    fixup.on_task_prerun(sender=_worker_task())
    fixup.on_task_postrun(sender=_worker_task())
    assert connection.connection is not None


def test_a_worker_task_reuses_a_connection_younger_than_conn_max_age():
    before = _backend_pid()
    connection.close_at = time.monotonic() + 60
    _recycle_connections(task=_worker_task())
    _recycle_connections(task=_worker_task())
    assert connection.connection is not None
    assert _backend_pid() == before


def test_a_worker_task_closes_a_connection_older_than_conn_max_age():
    _backend_pid()
    connection.close_at = time.monotonic() - 1
    _recycle_connections(task=_worker_task())
    assert connection.connection is None


def test_a_worker_task_closes_a_connection_left_out_of_autocommit():
    _backend_pid()
    connection.close_at = time.monotonic() + 60
    connection.set_autocommit(False)  # a task that died mid-transaction
    try:
        _recycle_connections(task=_worker_task())
        assert connection.connection is None
    finally:
        connection.connect()


def test_an_eager_task_leaves_its_callers_connection_alone():
    _backend_pid()
    connection.close_at = time.monotonic() - 1
    _recycle_connections(task=SimpleNamespace(request=SimpleNamespace(is_eager=True)))
    assert connection.connection is not None


def test_the_recycling_runs_on_every_worker_tasks_start_and_end():
    for signal in (signals.task_prerun, signals.task_postrun):
        _backend_pid()
        connection.close_at = time.monotonic() - 1
        signal.send(sender=None, task=_worker_task(), task_id="t", args=(), kwargs={})
        assert connection.connection is None


def test_an_embedded_beat_starts_without_the_workers_connections():
    _backend_pid()
    signals.beat_embedded_init.send(sender=None)
    assert connection.connection is None
