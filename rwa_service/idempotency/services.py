"""Running a request at most once per (user, Idempotency-Key).

The key row is inserted in the transaction that makes the effect. A concurrent duplicate waits on the unique index
until the first commits, then replays its answer; if the first rolls back, the duplicate runs. Domain errors are
stored as answers too (the effect itself is rolled back to a savepoint), so a replay of a refused request is
refused the same way.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from rwa_service.exceptions import DomainError, Unprocessable, ValidationFailed
from rwa_service.idempotency.models import IdempotencyKey

MAX_KEY_LENGTH = 255


def _fingerprint(*, method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(row: IdempotencyKey, request_hash: str) -> tuple[int, Any, bool]:
    if row.request_hash != request_hash:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request; use a new key.", code="idempotency_key_reused"
        )
    return row.response_status, json.loads(row.response_body), True


def idempotent_call(
    *,
    user: AbstractBaseUser,
    key: str | None,
    method: str,
    path: str,
    body: Any,
    run: Callable[[], tuple[int, Any]],
    on_error: Callable[[DomainError], tuple[int, Any]],
) -> tuple[int, Any, bool]:
    """Runs `run` once for this user and key and returns (status, body, replayed). `run` returns the answer
    to store; `on_error` turns a domain error raised by `run` into the answer to store."""
    if not key:
        raise ValidationFailed(
            "The Idempotency-Key header is required on this request.",
            code="idempotency_key_missing",
            errors={"Idempotency-Key": ["This header is required."]},
        )
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            f"Idempotency-Key may be at most {MAX_KEY_LENGTH} characters.",
            code="idempotency_key_invalid",
            errors={"Idempotency-Key": [f"At most {MAX_KEY_LENGTH} characters."]},
        )
    request_hash = _fingerprint(method=method, path=path, body=body)
    now = timezone.now()
    with transaction.atomic():
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is not None and existing.expires_at > now:
            return _replay(existing, request_hash)
        if existing is not None:  # expired: the key may be used afresh
            existing.delete()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    method=method,
                    path=path[:500],
                    request_hash=request_hash,
                    expires_at=now + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
                )
        except IntegrityError:  # a concurrent duplicate committed first: answer as it did
            return _replay(IdempotencyKey.objects.get(user=user, key=key), request_hash)
        try:
            with transaction.atomic():
                status, answer = run()
        except DomainError as exc:
            status, answer = on_error(exc)
        row.response_status, row.response_body = status, json.dumps(answer, cls=DjangoJSONEncoder)
        row.save(update_fields=["response_status", "response_body", "updated_at"])
    return status, json.loads(row.response_body), False


def idempotency_keys_purge() -> int:
    """Deletes expired keys; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
