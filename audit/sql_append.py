"""Appending an audit event through the database function `audit_event_append` (PostgreSQL; migration 0006), for
write paths that run as one database call: the caller sends the event's fields and its canonical JSON in two pieces,
and the function locks the chain head, stamps `occurred_at` and `seq`, hashes and inserts. Same events, seqs and
hashes as `audit_event_record`."""

from dataclasses import dataclass
from typing import Any

from django.db import connection

from audit.canonical import encoded_event
from audit.services import Actor
from rwa_service.middleware import current_request_id


@dataclass(frozen=True)
class AppendArgs:
    """The arguments of `audit_event_append`, in its order (`values()`)."""

    actor: str
    actor_user_id: int | None
    action: str
    object_type: str
    object_id: str
    before: str | None  # JSON text, cast to jsonb by the function's signature
    after: str | None
    reason: str
    request_id: str
    canon_head: str
    canon_tail: str

    def values(self) -> list[Any]:
        return [getattr(self, name) for name in self.__dataclass_fields__]


SQL_PLACEHOLDERS = "%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s, %s"


def audit_append_args(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str = "",
) -> AppendArgs:
    """Prepares one event for `audit_event_append` (nothing is written here)."""
    request_id = current_request_id()
    event = encoded_event(
        actor=actor.name, actor_user_id=actor.user_id, action=action, object_type=object_type, object_id=object_id,
        before=before, after=after, reason=reason, request_id=request_id,
    )  # fmt: skip
    return AppendArgs(
        actor=actor.name,
        actor_user_id=actor.user_id,
        action=action,
        object_type=object_type,
        object_id=event.object_id,
        before=event.before,
        after=event.after,
        reason=event.reason,
        request_id=request_id,
        canon_head=event.head,
        canon_tail=event.tail,
    )


def audit_event_append(*, args: AppendArgs) -> int:
    """Appends one prepared event by one call of the database function; returns its seq. Inside the caller's
    transaction, like every audit write."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_event_append must run inside the transaction of the change it records.")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT audit_event_append({SQL_PLACEHOLDERS})", args.values())
        return cursor.fetchone()[0]
