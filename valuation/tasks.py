"""Celery tasks of valuation. Each takes ids, re-fetches, calls one service and is safe to run twice; the queue is
declared in CELERY_TASK_ROUTES."""

from typing import Any

from celery import shared_task
from django.db import OperationalError, transaction
from django.utils import timezone

from audit.services import Actor
from valuation.selectors import revaluation_chunk_ids
from valuation.services.runs import revaluation_chunk_process, revaluation_run_start, revaluation_runs_resume

_TRANSIENT = (OperationalError, ConnectionError, TimeoutError)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=_TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=6,
)
def revalue_chunk(chunk_id: int) -> int | None:
    """Values one chunk of a run (skipping what is already valued)."""
    chunk = revaluation_chunk_process(chunk_id=chunk_id)
    return chunk.done if chunk else None


def enqueue_chunks(*, run_id: Any) -> None:
    """Queues every chunk of the run once the current transaction commits (never for a rolled-back run)."""

    def publish() -> None:
        for chunk_id in revaluation_chunk_ids(run_id=run_id):
            revalue_chunk.delay(chunk_id)

    transaction.on_commit(publish)


@shared_task(acks_late=True)
def revalue_nightly() -> str:
    """Beat (django-celery-beat, editable in the admin): revalue every asset with a policy as of today."""
    run = revaluation_run_start(actor=Actor.system("nightly_revaluation"), as_of=timezone.localdate())
    return str(run.pk)


@shared_task(acks_late=True)
def resume_revaluation_runs() -> int:
    """Beat: re-queue chunks of open runs left untouched (lost message, dead worker)."""
    return revaluation_runs_resume()
