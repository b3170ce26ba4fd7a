"""Audit writes. `audit_event_record` is called by every service inside its own transaction."""

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import DateTimeField, Func
from django.utils import timezone

from audit.canonical import (
    GENESIS_HASH,
    CanonicalJson,
    EncodedEvent,
    EventTemplate,
    event_hash,
    format_time,
    pieces_hash,
    to_json_value,
)
from audit.models import AuditChainHead, AuditEvent, hashed_fields_of
from rwa_service.db.rows import json_text, rows_append, values_append
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
    """One event to append with audit_events_record: what changed, and its state before and after (each a dict, or
    its canonical JSON as an audit.canonical.CanonicalJson)."""

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
    and hashes as as many audit_event_record calls, in a few statements. Same rule: inside the transaction of the
    changes it records. Returns the events written (audit_events_append writes the same without instances)."""
    written = []
    with _chain_head(events) as head:
        if head is None:
            return written
        for row in _chained_rows(actor=actor, events=events, request_id=request_id, head=head):
            written.append(AuditEvent(**dict(zip(_COLUMNS, row, strict=True))))
        if len(written) == 1:
            written[0].save(force_insert=True)
        else:
            rows_append(model=AuditEvent, objects=written, batch_size=batch_size)
    return written


@dataclass(frozen=True)
class EncodedBatch:
    """Events encoded for audit_batch_append (audit_events_encode): nothing is written or locked yet."""

    actor: Actor
    request_id: str
    drafts: Sequence[EventDraft]
    encoded: list[EncodedEvent]


def audit_events_encode(*, actor: Actor, events: Sequence[EventDraft], request_id: str | None = None) -> EncodedBatch:
    """Each event's JSON, encoded once for its hash and its row (canonical.encoded_event), before anything is
    locked: a writer may take its own locks between this and audit_batch_append."""
    request_id = request_id if request_id is not None else current_request_id()
    templates: dict[tuple[str, str, str], EventTemplate] = {}  # one per kind of event: most batches hold one kind
    encoded = []
    for draft in events:
        kind = (draft.action, draft.object_type, draft.reason)
        template = templates.get(kind)
        if template is None:
            template = templates[kind] = EventTemplate(
                actor=actor.name, actor_user_id=actor.user_id, action=draft.action, object_type=draft.object_type,
                reason=draft.reason, request_id=request_id,
            )  # fmt: skip
        encoded.append(template.encoded(object_id=draft.object_id, before=draft.before, after=draft.after))
    return EncodedBatch(actor=actor, request_id=request_id, drafts=events, encoded=encoded)


def audit_events_append(*, actor: Actor, events: Sequence[EventDraft], request_id: str | None = None) -> int:
    """audit_events_record for many events at once, without a model instance per event: same rows, seqs and hashes
    (a revaluation chunk records hundreds of valuations). Returns how many. audit_events_encode, then
    audit_batch_append."""
    return audit_batch_append(batch=audit_events_encode(actor=actor, events=events, request_id=request_id))


def audit_batch_append(*, batch: EncodedBatch) -> int:
    """Appends encoded events: holding the chain head, each one only takes its seq, time and hash, then they are
    copied in. On PostgreSQL the transaction's deferred checks (the foreign keys of the rows it wrote: a revaluation
    chunk's thousands) run before the head is locked rather than at COMMIT, while every other writer waits for the
    head; the default (deferred) is restored after the append."""
    actor, request_id, events, encoded = batch.actor, batch.request_id, batch.drafts, batch.encoded
    with _chain_head(events, checks_first=True) as head:
        if head is None:
            return 0
        clock, seq, prev_hash, rows = _Clock(head.moment), head.seq, head.hash, []
        for draft, event in zip(events, encoded, strict=True):
            seq += 1
            moment = clock.stamp()  # hashed, and stored from the same text (UTC, to the microsecond)
            digest = pieces_hash(prev_hash=prev_hash, head=event.head, tail=event.tail, moment=moment, seq=seq)
            rows.append((seq, moment, actor.name, actor.user_id, draft.action, draft.object_type, event.object_id,
                         json_text(event.before), json_text(event.after), event.reason, request_id, prev_hash,
                         digest))  # fmt: skip
            prev_hash = digest
        head.seq, head.hash = seq, prev_hash
        values_append(model=AuditEvent, fields=_COLUMNS, rows=rows)
    if connection.vendor == "postgresql":  # every deferrable constraint is initially deferred (tested)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return len(rows)


_COLUMNS = ("seq", "occurred_at", "actor", "actor_user_id", "action", "object_type", "object_id", "before", "after",
            "reason", "request_id", "prev_hash", "hash")  # fmt: skip


@contextmanager
def _chain_head(events: Sequence[EventDraft], *, checks_first: bool = False) -> Iterator[AuditChainHead | None]:
    """The chain head, locked for the caller's transaction (None: no events, nothing locked); on leaving, it is
    saved naming the last event chained. `checks_first`: on PostgreSQL the transaction's deferred checks run before
    the head is locked (SET CONSTRAINTS ALL IMMEDIATE; the caller sets them deferred again after the append)."""
    if not connection.in_atomic_block:
        raise RuntimeError("Audit events must be recorded inside the transaction of the change they record.")
    if events and checks_first and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with transaction.atomic(savepoint=False):  # inside the caller's transaction: a failure here rolls it all back
        head = _locked_head() if events else None
        if events and head is None:  # an empty database: create the head once, then lock it like every writer does
            AuditChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
            head = _locked_head()
        yield head
        if events:
            head.save(update_fields=["seq", "hash", "updated_at"])


def _chained_rows(
    *, actor: Actor, events: Sequence[EventDraft], request_id: str | None, head: AuditChainHead
) -> Iterator[tuple[Any, ...]]:
    """Each event's row (the values of _COLUMNS), its seq and hash following the head's; moves the head along."""
    request_id = request_id if request_id is not None else current_request_id()
    clock, seq, prev_hash = _Clock(head.moment), head.seq, head.hash
    for draft in events:
        seq += 1
        values = {"seq": seq, "occurred_at": clock.now(), "actor": actor.name, "actor_user_id": actor.user_id,
                  "action": draft.action, "object_type": draft.object_type, "object_id": str(draft.object_id),
                  "before": _state_value(draft.before), "after": _state_value(draft.after),
                  "reason": draft.reason or "", "request_id": request_id}  # fmt: skip
        digest = event_hash(prev_hash=prev_hash, fields=hashed_fields_of(**values), normalised=True)
        yield (*values.values(), prev_hash, digest)
        prev_hash = head.hash = digest
        head.seq = seq


def _state_value(state: Any) -> Any:
    """A draft's state as JSON values, normalised (given as canonical text: parsed back)."""
    return json.loads(state) if isinstance(state, CanonicalJson) else to_json_value(state)


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
        # as format_time reads it: an aware moment as it is, a naive one as local time
        self._epoch_us, self._second, self._prefix = (start.astimezone(UTC) - _EPOCH) // _MICROSECOND, None, ""

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.started)

    def stamp(self) -> str:
        """format_time of this clock's time now, from integer microseconds since the epoch: the second's text is
        formatted once a second, not once an event (strftime cost more than hashing the event)."""
        second, micro = divmod(self._epoch_us + round((time.monotonic() - self.started) * 1e6), 1_000_000)
        if second != self._second:  # format_time ends with the 6 digits of the microseconds and "Z"
            self._second, self._prefix = second, format_time(_EPOCH + timedelta(seconds=second))[:-7]
        return f"{self._prefix}{micro:06d}Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
