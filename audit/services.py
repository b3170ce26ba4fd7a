"""Audit writes. `audit_event_record` is called by every service inside its own transaction."""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import DateTimeField, Func
from django.utils import timezone

from audit.canonical import GENESIS_HASH, event_hash, to_json_value
from audit.models import AuditChainHead, AuditEvent
from rwa_service.db.rows import rows_append
from rwa_service.middleware import current_request_id


@dataclass(frozen=True)
class Actor:
    """Who caused a change: a user, or `system:<task>` for scheduled and background work."""

    name: str
    user_id: int | None = None

    @classmethod
    def of(cls, user: Any) -> "Actor":
        return cls(name=user.get_username(), user_id=user.pk)

    @classmethod
    def system(cls, task: str) -> "Actor":
        return cls(name=f"system:{task}")


@dataclass(frozen=True)
class EventDraft:
    """One event to append with audit_events_record: what changed, and its state before and after."""

    action: str
    object_type: str
    object_id: object
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str = ""


def audit_event_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str = "",
    request_id: str | None = None,
) -> AuditEvent:
    """Appends one event to the chain. Must run inside the caller's transaction, so the change and its event
    commit or roll back together; the chain head is locked until that transaction ends."""
    draft = EventDraft(action=action, object_type=object_type, object_id=object_id, before=before, after=after,
                       reason=reason)  # fmt: skip
    (event,) = audit_events_record(actor=actor, events=[draft], request_id=request_id)
    return event


def audit_events_record(
    *, actor: Actor, events: Sequence[EventDraft], request_id: str | None = None, batch_size: int = 1000
) -> list[AuditEvent]:
    """Appends several events, one per change, in order, under one hold of the chain head: the same events, seqs
    and hashes as as many audit_event_record calls, in a few statements (a revaluation chunk records hundreds of
    valuations at once). Same rule: inside the transaction of the changes it records."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_events_record must run inside the transaction of the change it records.")
    if not events:
        return []
    request_id = request_id if request_id is not None else current_request_id()
    with transaction.atomic(savepoint=False):  # inside the caller's transaction: a failure here rolls it all back
        head = _locked_head()
        if head is None:  # an empty database: create the head once, then lock it like every writer does
            AuditChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
            head = _locked_head()
        clock = _Clock(head.moment)
        written, seq, prev_hash = [], head.seq, head.hash
        for draft in events:
            seq += 1
            event = AuditEvent(
                seq=seq,
                occurred_at=clock.now(),
                actor=actor.name,
                actor_user_id=actor.user_id,
                action=draft.action,
                object_type=draft.object_type,
                object_id=str(draft.object_id),
                before=to_json_value(draft.before),
                after=to_json_value(draft.after),
                reason=draft.reason or "",
                request_id=request_id,
                prev_hash=prev_hash,
            )
            event.hash = prev_hash = event_hash(prev_hash=prev_hash, fields=event.hashed_fields(), normalised=True)
            written.append(event)
        if len(written) == 1:
            written[0].save(force_insert=True)
        else:
            rows_append(model=AuditEvent, objects=written, batch_size=batch_size)
        head.seq, head.hash = seq, prev_hash
        head.save(update_fields=["seq", "hash", "updated_at"])
    return written


def _locked_head() -> AuditChainHead | None:
    """The chain head, locked, with the moment it was locked: the database's clock on PostgreSQL (the one
    `audit_event_append` stamps with, so every writer's events take their times from one clock in seq order),
    this process's clock elsewhere."""
    heads = AuditChainHead.objects.select_for_update(no_key=True).filter(pk=1)
    if connection.vendor == "postgresql":
        return heads.annotate(moment=Func(function="clock_timestamp", output_field=DateTimeField())).first()
    head = heads.first()
    if head is not None:
        head.moment = timezone.now()
    return head


class _Clock:
    """Times for the events of one append: the head's moment, moved on by this process's monotonic clock."""

    def __init__(self, start: datetime) -> None:
        self.start, self.started = start, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.started)
