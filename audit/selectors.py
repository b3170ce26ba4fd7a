"""Audit reads: an object's history, filtered event lists and a streaming verification of the chain."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, QuerySet

from audit.canonical import GENESIS_HASH
from audit.chain_rows import chain_rows
from audit.checkpoints import Checkpoint, checkpoints_load
from audit.models import AuditChainHead, AuditEvent
from rwa_service.exceptions import ValidationFailed


def audit_events_for_object(*, object_type: str, object_id: object) -> QuerySet[AuditEvent]:
    """Every event recorded against one object, oldest first."""
    return AuditEvent.objects.filter(object_type=object_type, object_id=str(object_id)).order_by("seq")


def audit_head() -> tuple[int, str]:
    """The chain head's (seq, hash); (0, the genesis hash) before the first event."""
    return AuditChainHead.objects.filter(pk=1).values_list("seq", "hash").first() or (0, GENESIS_HASH)


@dataclass(frozen=True)
class ChainVerification:
    valid: bool
    length: int
    head_hash: str
    first_bad_seq: int | None
    reason: str = ""
    checkpoints: int = 0


def audit_chain_verify(
    *,
    chunk_size: int = 2000,
    checkpoints: Sequence[Checkpoint] = (),
    progress: Callable[[int], None] | None = None,
) -> ChainVerification:
    """Recomputes every hash in one streaming pass (bounded memory) and names the first event whose link or hash is
    wrong. `progress(n)` is told how many events were checked so far, every `chunk_size`.

    The chain must also end exactly where `AuditChainHead` says (same `seq`, same hash), so a cut tail is caught and
    reported at the first missing event. Writers append an event and move the head in one transaction, so reading
    the head first and checking only events up to it is safe while others keep appending; an event beyond the head
    that no writer put there (the head never caught up with it) is reported too. Each signed checkpoint (audit/
    checkpoints.py) must match the event of its `seq`: a rewritten history with recomputed hashes fails at the
    first checkpoint it contradicts, and a tail cut together with the head fails at the first missing event.
    """
    signed = {}
    for checkpoint in checkpoints:
        signed.setdefault(checkpoint.seq, checkpoint.hash)
    head_seq, head_hash = audit_head()
    prev_hash = before_last = GENESIS_HASH
    expected_seq, length = 1, 0

    def broken(seq: int, reason: str, *, at: int | None = None, hash_: str | None = None) -> ChainVerification:
        return ChainVerification(valid=False, length=length if at is None else at, head_hash=hash_ or prev_hash,
                                 first_bad_seq=seq, reason=reason, checkpoints=len(signed))  # fmt: skip

    for event in chain_rows(up_to_seq=head_seq, chunk_size=chunk_size):
        if event.seq != expected_seq:
            return broken(expected_seq, "missing event")
        if event.prev_hash != prev_hash or event.hash != event.recomputed:
            return broken(expected_seq, "hash mismatch")
        if signed.get(event.seq, event.hash) != event.hash:
            return broken(expected_seq, "differs from a signed checkpoint")
        before_last = prev_hash
        prev_hash, expected_seq, length = event.hash, expected_seq + 1, length + 1
        if progress is not None and length % chunk_size == 0:
            progress(length)
    if progress is not None:
        progress(length)
    if length < head_seq:  # the tail was cut: the first missing event is the bad one
        return broken(length + 1, "missing event (tail cut)")
    if head_seq and prev_hash != head_hash:  # the newest event is not the one the head recorded
        return broken(length, "newest event differs from the chain head", at=length - 1, hash_=before_last)
    if signed and max(signed) > length:  # the head was moved back with the tail: a signed checkpoint says more
        return broken(length + 1, "missing event (shorter than a signed checkpoint)")
    # Read the newest event before re-reading the head: a writer's event never outruns its head, a stray one does.
    newest = AuditEvent.objects.aggregate(newest=Max("seq"))["newest"] or 0
    if newest > audit_head()[0]:
        return broken(head_seq + 1, "event beyond the chain head")
    return ChainVerification(valid=True, length=length, head_hash=prev_hash, first_bad_seq=None,
                             checkpoints=len(signed))  # fmt: skip


@dataclass(frozen=True)
class SignedVerification:
    """A verification against every checkpoint file in AUDIT_CHECKPOINT_DIR, and why each rejected file was."""

    result: ChainVerification
    rejected: list[str]


def audit_chain_verify_signed(*, progress: Callable[[int], None] | None = None) -> SignedVerification:
    """audit_chain_verify against the checkpoint files that verify; the others are named, not used (a file that
    fails its signature is itself a finding: the command fails on it, the API reports how many)."""
    checkpoints, rejected = checkpoints_load()
    return SignedVerification(result=audit_chain_verify(checkpoints=checkpoints, progress=progress), rejected=rejected)


@dataclass(frozen=True)
class FeedPage:
    events: list[AuditEvent]
    next_after_seq: int
    more: bool


def audit_feed_page(*, after_seq: int, limit: int) -> FeedPage:
    """The integrators' feed: up to `limit` events after `after_seq`, in seq order, and the cursor to resume from.
    A cursor beyond the newest event is refused (echoing it back would skip every event up to it)."""
    head_seq = audit_head()[0]
    if after_seq > head_seq:
        raise ValidationFailed(f"after_seq {after_seq} is beyond the newest event ({head_seq}).",
                               errors={"after_seq": [f"At most {head_seq}."]})  # fmt: skip
    events = list(audit_event_list(after_seq=after_seq)[:limit])
    return FeedPage(events=events, next_after_seq=events[-1].seq if events else after_seq, more=len(events) == limit)


def audit_event_list(
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int | None = None,
) -> QuerySet[AuditEvent]:
    """Events matching every filter given, oldest first."""
    events = AuditEvent.objects.all()
    exact = {"object_type": object_type, "object_id": object_id, "actor": actor, "action": action}
    events = events.filter(**{name: value for name, value in exact.items() if value})
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    if after_seq is not None:
        events = events.filter(seq__gt=after_seq)
    return events.order_by("seq")
