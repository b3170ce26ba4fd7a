"""Valuation's Celery tasks: at-least-once delivery (acks_late, bounded retries of transient errors only), the
default queue, chunks published only when the run's transaction commits, and beat's entries."""

import uuid
from unittest import mock

import pytest
from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError
from django.utils import timezone

from rwa_service.celery import app as celery_app
from rwa_service.exceptions import DomainError
from valuation.models import RevaluationRun, RunStatus, ValuationPolicy
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
            from valuation.services import revaluation_run_start

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
