"""Audit reads: an object's history and a streaming verification of the chain."""

from dataclasses import dataclass

from django.db.models import Max, QuerySet

from audit.canonical import GENESIS_HASH, event_hash
from audit.models import AuditChainHead, AuditEvent


def audit_events_for_object(*, object_type: str, object_id: object) -> QuerySet[AuditEvent]:
    """Every event recorded against one object, oldest first."""
    return AuditEvent.objects.filter(object_type=object_type, object_id=str(object_id)).order_by("seq")


@dataclass(frozen=True)
class ChainVerification:
    valid: bool
    length: int
    head_hash: str
    first_bad_seq: int | None


def audit_chain_verify(*, chunk_size: int = 2000) -> ChainVerification:
    """Recomputes every hash in one streaming pass and names the first event whose link or hash is wrong.

    The chain must also end exactly where `AuditChainHead` says (same `seq`, same hash), so a cut tail is caught and
    reported at the first missing event. Writers append an event and move the head in one transaction, so reading
    the head first and checking only events up to it is safe while others keep appending; an event beyond the head
    that no writer put there (the head never caught up with it) is reported too.
    """
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", "hash").first() or (0, GENESIS_HASH)
    head_seq, head_hash = head
    prev_hash = before_last = GENESIS_HASH
    expected_seq, length = 1, 0
    for event in AuditEvent.objects.filter(seq__lte=head_seq).order_by("seq").iterator(chunk_size=chunk_size):
        recomputed = event_hash(prev_hash=prev_hash, fields=event.hashed_fields())
        if event.seq != expected_seq or event.prev_hash != prev_hash or event.hash != recomputed:
            return ChainVerification(valid=False, length=length, head_hash=prev_hash, first_bad_seq=expected_seq)
        before_last = prev_hash
        prev_hash, expected_seq, length = event.hash, expected_seq + 1, length + 1
    if length < head_seq:  # the tail was cut: the first missing event is the bad one
        return ChainVerification(valid=False, length=length, head_hash=prev_hash, first_bad_seq=length + 1)
    if head_seq and prev_hash != head_hash:  # the newest event is not the one the head recorded
        return ChainVerification(valid=False, length=length - 1, head_hash=before_last, first_bad_seq=length)
    # Read the newest event before re-reading the head: a writer's event never outruns its head, a stray one does.
    newest = AuditEvent.objects.aggregate(newest=Max("seq"))["newest"] or 0
    if newest > (AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0):
        return ChainVerification(valid=False, length=length, head_hash=prev_hash, first_bad_seq=head_seq + 1)
    return ChainVerification(valid=True, length=length, head_hash=prev_hash, first_bad_seq=None)
