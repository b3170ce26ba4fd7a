"""Retrying a whole transaction when the database reports a serialization failure or a deadlock."""

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction

from rwa_service.exceptions import Conflict

T = TypeVar("T")
_RETRYABLE_PG_CODES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def _is_retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)
    if code in _RETRYABLE_PG_CODES:
        return True
    return "database is locked" in str(exc)  # SQLite's busy timeout ran out


def run_with_retries(fn: Callable[[], T], *, attempts: int | None = None) -> T:
    """Calls `fn` (which opens its own transaction) again after a retryable failure, with jittered backoff, at
    most `attempts` times; then refuses with 409 instead of surfacing a 500. Inside an outer transaction a retry
    is impossible, so the failure propagates to that transaction's owner."""
    attempts = attempts or settings.TRANSFER_RETRY_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except OperationalError as exc:
            if not _is_retryable(exc) or connection.in_atomic_block:
                raise
            if attempt == attempts:
                raise Conflict("The ledger is busy; retry the request.", code="ledger_busy") from exc
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")


_whole = ContextVar("whole_transaction", default=False)


@contextmanager
def atomic_whole() -> Iterator[None]:
    """A transaction that any failure inside rolls back whole, whose owner then starts afresh (idempotent_call
    does). Services inside it join it without savepoints of their own (`service_atomic`): a savepoint costs two
    round trips and buys nothing when nothing is kept after a failure."""
    token = _whole.set(True)
    try:
        with transaction.atomic(savepoint=False):
            yield
    finally:
        _whole.reset(token)


def service_atomic() -> transaction.Atomic:
    """transaction.atomic for a service: its own transaction, or a savepoint inside a caller's transaction (so a
    refusal leaves the caller's work usable), except inside atomic_whole, where a savepoint is of no use."""
    return transaction.atomic(savepoint=not _whole.get())
