"""Audit reads: an object's history and a streaming verification of the chain."""

from dataclasses import dataclass

from django.db.models import QuerySet

from audit.canonical import GENESIS_HASH, event_hash
from audit.models import AuditEvent


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
    """Recomputes every hash in one streaming pass and names the first event whose link or hash is wrong."""
    prev_hash, expected_seq, length = GENESIS_HASH, 1, 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        recomputed = event_hash(prev_hash=prev_hash, fields=event.hashed_fields())
        if event.seq != expected_seq or event.prev_hash != prev_hash or event.hash != recomputed:
            return ChainVerification(valid=False, length=length, head_hash=prev_hash, first_bad_seq=expected_seq)
        prev_hash, expected_seq, length = event.hash, expected_seq + 1, length + 1
    return ChainVerification(valid=True, length=length, head_hash=prev_hash, first_bad_seq=None)
