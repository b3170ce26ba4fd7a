"""Celery tasks of the audit app; the queue is declared in CELERY_TASK_ROUTES."""

from celery import shared_task
from django.db import OperationalError

from audit.checkpoints import audit_checkpoint_write
from audit.webhook_services import webhook_deliveries_dispatch, webhook_deliveries_requeue, webhook_delivery_attempt


@shared_task(acks_late=True)
def sign_audit_checkpoint() -> int:
    """Beat (hourly by default, editable in the admin): sign the chain head and write it out of the database.
    Harmless to run twice: each run writes one more signed file."""
    checkpoint, _ = audit_checkpoint_write()
    return checkpoint.seq


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def deliver_webhook(delivery_id: int) -> str | None:
    """One attempt of a webhook delivery; schedules the next one after a failure (the beat sweeper also finds due
    retries, should this message be lost). Safe to run twice: the attempt locks the row and skips what is done."""
    outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome is not None and outcome.retry_in is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=outcome.retry_in)
    return outcome.status if outcome else None


@shared_task(acks_late=True)
def dispatch_webhooks() -> int:
    """Beat (every few seconds, editable in the admin): new events become deliveries; due retries are queued."""
    return len(webhook_deliveries_dispatch()) + len(webhook_deliveries_requeue())
