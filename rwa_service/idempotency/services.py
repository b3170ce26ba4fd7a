"""Running a request at most once per (user, Idempotency-Key).

The key row is inserted in the transaction that makes the effect. A concurrent duplicate waits on the unique index
until the first commits, then replays its answer; if the first rolls back, the duplicate runs. Domain errors are
stored as answers too (the refused transaction is rolled back whole, then the refusal is stored under the key in a
transaction of its own), so a replay of a refused request is refused the same way.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from rwa_service.exceptions import DomainError, Unprocessable, ValidationFailed
from rwa_service.idempotency.models import IdempotencyKey
from rwa_service.transactions import atomic_whole

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class KeyClaim:
    """A key row for the service to insert as its first statement (AnswerSlot.claim): its columns."""

    user_id: int
    key: str
    method: str
    path: str
    request_hash: str
    expires_at: datetime


class KeyTaken(Exception):
    """The service's first statement found the key claimed already: the request is a replay."""


@dataclass
class AnswerSlot:
    """Lets a service that writes in a few database calls claim the request's key in its first call and store the
    request's answer with its effect in its last (two statements, two round trips fewer). With `service_claims`,
    `idempotent_call` offers the `claim` instead of inserting the key row itself; the service inserts it (KeyTaken
    when it exists) and records `key_id`. Either way a service holding `key_id` may ask `prepare` for the answer its
    result gets and store it with its effect; otherwise `idempotent_call` stores it."""

    render: Callable[[Any], tuple[int, Any]]
    service_claims: bool = False
    claim: KeyClaim | None = None
    key_id: int | None = None
    stored: tuple[int, str] | None = None

    def offer(self, claim: KeyClaim | None) -> None:
        self.claim, self.key_id, self.stored = claim, None, None

    def prepare(self, result: Any) -> tuple[int, str] | None:
        """(status, JSON text) of the answer for `result`, for the service to store with key `key_id`; None
        when the service holds no key row."""
        if self.key_id is None:
            return None
        status, body = self.render(result)
        self.stored = (status, json.dumps(body, cls=DjangoJSONEncoder))
        return self.stored

    def answer(self, result: Any) -> tuple[int, Any]:
        """The answer for `result`: the one the service stored, or a fresh rendering."""
        return (self.stored[0], json.loads(self.stored[1])) if self.stored else self.render(result)


def _fingerprint(*, method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(row: IdempotencyKey, request_hash: str) -> tuple[int, Any, bool]:
    if row.request_hash != request_hash:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request; use a new key.", code="idempotency_key_reused"
        )
    return row.response_status, json.loads(row.response_body), True


def _claim(
    *, user: AbstractBaseUser, key: str, method: str, path: str, request_hash: str, now: Any
) -> IdempotencyKey | None:
    """Inserts the key row unless (user, key) exists: one `INSERT … ON CONFLICT DO NOTHING RETURNING`, no savepoint.
    A concurrent insert of the same key makes this wait until that transaction ends; if it committed, nothing is
    inserted (None), if it rolled back, this one is."""
    row = IdempotencyKey(
        user=user,
        key=key,
        method=method,
        path=path[:500],
        request_hash=request_hash,
        response_body="",
        expires_at=now + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
        created_at=now,
        updated_at=now,
    )
    meta, quote = IdempotencyKey._meta, connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote('user_id')}, {quote('key')}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        inserted = cursor.fetchone()
    if inserted is None:
        return None
    row.pk = inserted[0]
    row._state.adding = False
    return row


def idempotent_call(
    *,
    user: AbstractBaseUser,
    key: str | None,
    method: str,
    path: str,
    body: Any,
    run: Callable[[], tuple[int, Any]],
    on_error: Callable[[DomainError], tuple[int, Any]],
    slot: AnswerSlot | None = None,
) -> tuple[int, Any, bool]:
    """Runs `run` once for this user and key and returns (status, body, replayed). `run` returns the answer
    to store; `on_error` turns a domain error raised by `run` into the answer to store. With a `slot`, the service
    inside `run` may store the answer itself (AnswerSlot)."""
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
    claim = dict(user=user, key=key, method=method, path=path, request_hash=request_hash)
    if slot is None or not slot.service_claims:
        return _run_claimed(claim=claim, run=run, on_error=on_error, slot=slot)
    expires_at = timezone.now() + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    slot.offer(KeyClaim(user_id=user.pk, key=key, method=method, path=path[:500], request_hash=request_hash,
                        expires_at=expires_at))  # fmt: skip
    refusal: DomainError | None = None
    try:
        # The transaction (a savepoint only inside a caller's transaction); inside it, no savepoint of our own: a
        # refusal or a taken key rolls it back whole, key row included.
        with transaction.atomic(), atomic_whole():
            status, answer = run()
            if slot.key_id is None:
                raise RuntimeError("The service was offered the Idempotency-Key to claim and did not claim it.")
            if slot.stored is not None:  # stored with the effect, in this transaction
                return slot.stored[0], json.loads(slot.stored[1]), False
            return _store(slot.key_id, status, answer)
    except KeyTaken:  # a replay (or an expired key): everything was rolled back; the usual way from here
        return _run_claimed(claim=claim, run=run, on_error=on_error, slot=slot)
    except DomainError as exc:
        refusal = exc
    slot.offer(None)
    return _store_refusal(claim=claim, refusal=refusal, on_error=on_error)


def _run_claimed(
    *,
    claim: dict,
    run: Callable[[], tuple[int, Any]],
    on_error: Callable[[DomainError], tuple[int, Any]],
    slot: AnswerSlot | None,
) -> tuple[int, Any, bool]:
    """Claims the key (or replays its answer), then runs the effect in the same transaction."""
    refusal: DomainError | None = None
    with transaction.atomic():
        row, replay = _claim_or_replay(**claim)
        if replay is not None:
            return replay
        if slot is not None:  # claimed here: the service may still store its answer with its effect
            slot.offer(None)
            slot.key_id = row.pk
        try:
            with atomic_whole():  # no savepoint: a refusal rolls this transaction back whole, key row included
                status, answer = run()
        except DomainError as exc:
            refusal = exc
        else:
            if slot is not None and slot.stored is not None:
                return slot.stored[0], json.loads(slot.stored[1]), False
            return _store(row.pk, status, answer)
    if slot is not None:
        slot.offer(None)
    return _store_refusal(claim=claim, refusal=refusal, on_error=on_error)


def _store_refusal(
    *, claim: dict, refusal: DomainError, on_error: Callable[[DomainError], tuple[int, Any]]
) -> tuple[int, Any, bool]:
    """Refused: nothing of the effect remains. The refusal is the key's answer, stored in a transaction of its own
    (a savepoint inside a caller's transaction); a duplicate that claimed the key meanwhile ran the request itself,
    and its answer is the one to give."""
    status, answer = on_error(refusal)
    with transaction.atomic():
        row, replay = _claim_or_replay(**claim)
        if replay is not None:
            return replay
        return _store(row.pk, status, answer)


def _claim_or_replay(
    *, user: AbstractBaseUser, key: str, method: str, path: str, request_hash: str
) -> tuple[IdempotencyKey | None, tuple[int, Any, bool] | None]:
    """Claims the key, or answers as its first request was answered: (row, None) or (None, replay)."""
    now = timezone.now()
    row = _claim(user=user, key=key, method=method, path=path, request_hash=request_hash, now=now)
    if row is None:  # the key is taken: a committed first request (a concurrent one was waited for)
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is not None and existing.expires_at > now:
            return None, _replay(existing, request_hash)
        if existing is not None:  # expired: the key may be used afresh
            existing.delete()
        row = _claim(user=user, key=key, method=method, path=path, request_hash=request_hash, now=now)
        if row is None:  # someone else took the freed key first: answer as they were answered
            return None, _replay(IdempotencyKey.objects.get(user=user, key=key), request_hash)
    return row, None


def _store(key_id: int, status: int, answer: Any) -> tuple[int, Any, bool]:
    body = json.dumps(answer, cls=DjangoJSONEncoder)
    IdempotencyKey.objects.filter(pk=key_id).update(response_status=status, response_body=body,
                                                    updated_at=timezone.now())  # fmt: skip
    return status, json.loads(body), False


def idempotency_keys_purge() -> int:
    """Deletes expired keys; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
