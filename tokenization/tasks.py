"""Celery tasks. Each takes ids, re-fetches, calls one service, and is safe to run twice. Their queue is declared
in CELERY_TASK_ROUTES (settings)."""

from typing import Any

from celery import shared_task
from django.db import OperationalError, transaction

from rwa_service.idempotency.services import idempotency_keys_purge
from tokenization.services.investors import investors_expire_kyc
from tokenization.services.operations import operation_execute, operations_resume


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, ConnectionError, TimeoutError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=6,
)
def run_operation(operation_id: str) -> str | None:
    """Runs one operation to its end (a no-op if it already ended)."""
    operation = operation_execute(operation_id=operation_id)
    return operation.status if operation else None


def enqueue_operation(*, operation_id: Any) -> None:
    """Queues the operation once the current transaction commits (never for a rolled-back one)."""
    transaction.on_commit(lambda: run_operation.delay(str(operation_id)))


@shared_task(acks_late=True)
def resume_operations() -> int:
    """Beat: re-queue operations left open (lost message, dead worker)."""
    return operations_resume()


@shared_task(acks_late=True)
def expire_kyc() -> int:
    """Beat, daily: investors whose KYC has lapsed become `expired`."""
    return investors_expire_kyc()


@shared_task(acks_late=True)
def purge_idempotency_keys() -> int:
    """Beat, hourly: forget idempotency keys past their retention."""
    return idempotency_keys_purge()
