"""Valuation's Celery tasks: at-least-once delivery (acks_late, bounded retries of transient errors only), the
default queue, chunks published only when the run's transaction commits, and beat's entries."""

import time
import uuid
from unittest import mock

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from audit.models import AuditChainHead
from audit.selectors import audit_chain_verify
from rwa_service.celery import app as celery_app
from rwa_service.exceptions import DomainError
from tests.tokenization.test_tasks import (
    WAIT_BUDGET_SECONDS,
    WORKER_STALE_SECONDS,
    _psycopg_params,
    _publishing_to,
    _terminate_worker_backends,
    _wait_for,
    _Worker,
    _worker_backends,
    _worker_broker_url,
    _WorkerKilled,
)
from valuation.models import RevaluationChunk, RevaluationRun, RunStatus, Valuation, ValuationPolicy
from valuation.services import revaluation_run_start
from valuation.services.runs import revaluation_runs_resume
from valuation.tasks import resume_revaluation_runs, revalue_chunk, revalue_nightly


def test_revalue_chunk_is_declared_for_at_least_once_delivery_with_bounded_transient_retries():
    assert revalue_chunk.acks_late is True and revalue_chunk.reject_on_worker_lost is True
    assert isinstance(revalue_chunk.max_retries, int) and 0 < revalue_chunk.max_retries <= 10
    retried = tuple(revalue_chunk.autoretry_for)
    assert OperationalError in retried
    for permanent in (DomainError, ValueError, IntegrityError, DatabaseError, Exception):
        assert not issubclass(permanent, retried), permanent


def test_every_valuation_task_goes_to_the_default_queue_and_is_acknowledged_late():
    names = {name for name in celery_app.tasks if name.startswith("valuation.tasks.")}
    assert {revalue_chunk.name, revalue_nightly.name, resume_revaluation_runs.name} <= names
    for name in names:
        assert celery_app.amqp.router.route({}, name)["queue"].name == "default", name
        assert celery_app.tasks[name].acks_late is True, name
    assert settings.CELERY_BEAT_SCHEDULE["resume-revaluation-runs"]["task"] == resume_revaluation_runs.name


def test_a_transient_error_is_retried_up_to_the_bound_then_fails():
    with mock.patch("valuation.tasks.revaluation_chunk_process", side_effect=OperationalError("gone")) as run:
        result = revalue_chunk.apply(args=[1])
    assert run.call_count == revalue_chunk.max_retries + 1 and result.failed()


@pytest.mark.django_db
def test_an_unknown_chunk_is_a_no_op():
    assert revalue_chunk.apply(args=[10**9]).result is None


@pytest.mark.django_db
def test_a_runs_chunks_are_published_only_when_its_transaction_commits(
    users, make_asset, django_capture_on_commit_callbacks
):
    asset = make_asset("approved")
    ValuationPolicy.objects.create(
        asset=asset,
        method="depreciation",
        inputs={"cost": "10", "salvage_value": "0", "in_service": "2020-01-01", "useful_life_years": "5"},
    )
    with mock.patch("valuation.tasks.revalue_chunk.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            run = revaluation_run_start(actor=users["valuer"], as_of=timezone.localdate())
        assert delay.call_count == 0 and len(callbacks) == 1  # nothing published before the commit
        callbacks[0]()
    assert delay.call_count == run.chunks.count() == 1


@pytest.mark.django_db
def test_the_nightly_task_starts_a_run_for_today_as_the_system():
    run = RevaluationRun.objects.get(pk=revalue_nightly.apply().result)
    assert run.as_of == timezone.localdate() and run.started_by == "system:nightly_revaluation"
    assert run.status == RunStatus.SUCCEEDED and run.total == 0  # no policies: nothing to do
    assert uuid.UUID(str(run.pk))


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_is_killed_midway_completes_after_a_restart_valuing_each_asset_once(
    users, make_asset, settings, tmp_path
):
    """PostgreSQL (CI): a real `celery worker` takes the run's one chunk, writes its valuations and blocks on the
    audit chain head (held FOR UPDATE from another connection) before their events; the worker's whole process group
    is SIGKILLed, so nothing of the chunk commits; a fresh worker runs the beat sweeper (`resume_revaluation_runs`,
    published as beat does), which queues the orphaned chunk again; the run ends with every asset valued exactly
    once. SQLite (the default `make test`): the same scenario in-process (see tests/valuation/test_runs.py)."""
    settings.REVALUATION_CHUNK_SIZE = 3
    inputs = {"cost": "900", "salvage_value": "0", "in_service": "2020-01-01", "useful_life_years": "9"}
    assets = [make_asset("approved", name=f"Crane {i}") for i in range(3)]
    for asset in assets:
        ValuationPolicy.objects.create(asset=asset, method="depreciation", inputs=inputs)
    if connection.vendor == "postgresql":
        run = _kill_a_real_worker_mid_run_then_restart(users, assets, tmp_path)
    else:
        run = _die_mid_run_in_process_then_resume(users, settings)
    run.refresh_from_db()
    assert (run.status, run.done, run.failed) == (RunStatus.SUCCEEDED, 3, 0)
    for asset in assets:
        assert Valuation.objects.filter(asset=asset, as_of=run.as_of, run__isnull=False).count() == 1
    assert audit_chain_verify().valid


def _worker_waits_on_the_chain_head() -> bool:
    """The worker's statement waiting on a lock is the chain head's: the chunk's valuations are written by then."""
    return _worker_backends(waiting_on_lock=True, query_naming=AuditChainHead._meta.db_table) == 1


def _die_mid_run_in_process_then_resume(users, settings) -> RevaluationRun:
    from valuation.services import bulk as bulk_services

    def dies_before_the_events(**kwargs):
        raise _WorkerKilled

    with mock.patch.object(bulk_services, "audit_batch_append", dies_before_the_events):
        with pytest.raises(_WorkerKilled), transaction.atomic():
            run = revaluation_run_start(actor=users["valuer"], as_of=timezone.localdate())
    assert not Valuation.objects.filter(run=run).exists()
    settings.REVALUATION_CHUNK_STALE_SECONDS = 0
    assert revaluation_runs_resume() == 1  # the beat sweeper: the orphaned chunk runs again (eagerly)
    assert revaluation_runs_resume() == 0  # and nothing is left open
    return run


def _kill_a_real_worker_mid_run_then_restart(users, assets, tmp_path) -> RevaluationRun:
    broker_url = _worker_broker_url()
    broker = redis.Redis.from_url(broker_url)
    broker.flushdb()
    workers, lock = [], None
    deadline = time.monotonic() + WAIT_BUDGET_SECONDS
    try:
        with _publishing_to(broker_url):
            with transaction.atomic():
                run = revaluation_run_start(actor=users["valuer"], as_of=timezone.localdate())
                assert broker.llen("default") == 0  # nothing published before the commit
            assert broker.llen("default") == 1  # the one chunk, once committed
            chunk = RevaluationChunk.objects.get(run=run)
            lock = psycopg.connect(**_psycopg_params(), application_name="rwa-test-lock")
            lock.execute(f"SELECT id FROM {AuditChainHead._meta.db_table} WHERE id = 1 FOR UPDATE")

            first = _Worker(tmp_path / "worker-1.log")
            workers.append(first)
            _wait_for(
                _worker_waits_on_the_chain_head,
                deadline=deadline,
                what="the first worker to write the chunk's valuations and block on the audit chain head",
                workers=workers,
            )
            first.kill()
            lock.rollback()
            lock.close()
            _wait_for(lambda: _worker_backends() == 0, deadline=deadline, what="the dead worker's backend to end")
            assert not Valuation.objects.filter(run=run).exists()
            assert not RevaluationChunk.objects.get(pk=chunk.pk).finished

            second = _Worker(tmp_path / "worker-2.log")
            workers.append(second)
            time.sleep(WORKER_STALE_SECONDS + 0.5)  # the chunk is now older than the worker's stale age
            sweep = resume_revaluation_runs.delay()  # what beat publishes
            _wait_for(
                lambda: RevaluationRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED,
                deadline=deadline,
                what="the restarted worker to finish the run",
                workers=workers,
            )
            assert second.result(sweep.id) == "1"
            again = revalue_chunk.delay(chunk.pk)  # a duplicate delivery changes nothing
            _wait_for(lambda: second.result(again.id), deadline=deadline, what="the duplicate", workers=workers)
            assert "Traceback" not in second.output(), second.output()
        return run
    finally:
        for worker in workers:
            worker.kill()
        if lock is not None and not lock.closed:
            lock.rollback()
            lock.close()
        _terminate_worker_backends()
        broker.flushdb()
        broker.close()
