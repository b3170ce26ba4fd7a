"""Celery tasks of the audit app; the queue is declared in CELERY_TASK_ROUTES."""

from celery import shared_task

from audit.checkpoints import audit_checkpoint_write


@shared_task(acks_late=True)
def sign_audit_checkpoint() -> int:
    """Beat (hourly by default, editable in the admin): sign the chain head and write it out of the database.
    Harmless to run twice: each run writes one more signed file."""
    checkpoint, _ = audit_checkpoint_write()
    return checkpoint.seq
