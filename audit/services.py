"""Audit writes. `audit_event_record` is called by every service inside its own transaction."""

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.canonical import GENESIS_HASH, event_hash, to_json_value
from audit.models import AuditChainHead, AuditEvent
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
    if not connection.in_atomic_block:
        raise RuntimeError("audit_event_record must run inside the transaction of the change it records.")
    with transaction.atomic(savepoint=False):  # inside the caller's transaction: a failure here rolls it all back
        head = AuditChainHead.objects.select_for_update(no_key=True).filter(pk=1).first()
        if head is None:  # an empty database: create the head once, then lock it like every writer does
            AuditChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
            head = AuditChainHead.objects.select_for_update(no_key=True).get(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
            occurred_at=timezone.now(),
            actor=actor.name,
            actor_user_id=actor.user_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=to_json_value(before),
            after=to_json_value(after),
            reason=reason or "",
            request_id=request_id if request_id is not None else current_request_id(),
            prev_hash=head.hash,
        )
        event.hash = event_hash(prev_hash=event.prev_hash, fields=event.hashed_fields())
        event.save(force_insert=True)
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash", "updated_at"])
    return event
