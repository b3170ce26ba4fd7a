"""Audit models: the event log, the head of its hash chain, and webhook subscriptions with their deliveries."""

import uuid
from typing import Any

from django.db import models

from rwa_service.exceptions import Conflict
from tokenization.pii import EncryptedTextField


class AuditEventQuerySet(models.QuerySet):
    """Events are never updated or deleted through the ORM."""

    def update(self, **kwargs: object) -> int:
        raise Conflict("Audit events are append-only.", code="audit_append_only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise Conflict("Audit events are append-only.", code="audit_append_only")


class AuditEvent(models.Model):
    """One recorded change: who did what to which object, the state before and after, chained by hash.

    Rows are append-only: `occurred_at` is their creation time and nothing ever updates them, so the model has no
    `updated_at`. `seq` is gapless because it is taken from the locked chain head in the writing transaction.
    """

    seq = models.BigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=150, help_text="Username, or system:<task>.")
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        # Declared here rather than as db_index/unique on the fields: on PostgreSQL those add a second,
        # varchar_pattern_ops index per field for LIKE, which no query uses and every append would maintain.
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_idx"),
            models.Index(fields=["actor"], name="audit_actor_idx"),
            models.Index(fields=["action"], name="audit_action_idx"),
        ]
        # Each event must link to its predecessor: a database trigger (audit migration 0008) refuses an insert whose
        # prev_hash is not the hash of event seq - 1 (the genesis hash for seq 1). With seq the primary key that
        # also rules out forks, and it reads the predecessor by primary key instead of maintaining two unique
        # indexes of random 64-hex keys.
        constraints = [models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise Conflict("Audit events are append-only.", code="audit_append_only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise Conflict("Audit events are append-only.", code="audit_append_only")

    def hashed_fields(self) -> dict[str, object]:
        """The fields covered by `hash`, in the form they are hashed."""
        return hashed_fields_of(
            seq=self.seq, occurred_at=self.occurred_at, actor=self.actor, actor_user_id=self.actor_user_id,
            action=self.action, object_type=self.object_type, object_id=self.object_id, before=self.before,
            after=self.after, reason=self.reason, request_id=self.request_id,
        )  # fmt: skip


def hashed_fields_of(
    *,
    seq: int,
    occurred_at: Any,
    actor: str,
    actor_user_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    before: Any,
    after: Any,
    reason: str,
    request_id: str,
) -> dict[str, object]:
    """The fields covered by an event's `hash`, in the form they are hashed, from the values themselves."""
    from audit.canonical import format_time

    return {
        "seq": seq,
        "occurred_at": format_time(occurred_at),
        "actor": actor,
        "actor_user_id": actor_user_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
        "reason": reason,
        "request_id": request_id,
    }


class AuditChainHead(models.Model):
    """The single row holding the chain's last `seq` and `hash`. Writers lock it, so appends are serialised and
    the chain can neither fork nor skip a number."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"head #{self.seq}"


class WebhookSubscription(models.Model):
    """An integrator's endpoint that receives audit events as signed HTTP POSTs.

    `url` passed the SSRF check (audit/webhook_urls.py) when saved and is checked again before each delivery. The
    HMAC secret is encrypted at rest. `last_enqueued_seq` is the dispatcher's cursor: events after it have no
    delivery yet; a new subscription starts at the chain head (it receives what happens from then on).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = EncryptedTextField(help_text="HMAC-SHA256 key of the signature header; encrypted at rest.")
    actions = models.JSONField(default=list, blank=True, help_text="Action prefixes to send (empty: every action).")
    object_types = models.JSONField(default=list, blank=True, help_text="Object types to send (empty: all).")
    active = models.BooleanField(default=True)
    last_enqueued_seq = models.BigIntegerField(default=0)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(last_enqueued_seq__gte=0), name="webhook_cursor_ok")]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"

    def wants(self, *, action: str, object_type: str) -> bool:
        """Whether this subscription's filters let an event through."""
        if self.object_types and object_type not in self.object_types:
            return False
        return not self.actions or any(action == prefix or action.startswith(prefix) for prefix in self.actions)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Failed, retrying"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead (gave up; redeliver by hand)"


class WebhookDelivery(models.Model):
    """One event to one subscription: the outbox row a Celery task works until the receiver answers 2xx, or until
    WEBHOOK_MAX_ATTEMPTS failures put it in the dead-letter state."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_seq = models.BigIntegerField(help_text="The audit event's seq (events are never deleted: no key needed).")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event_seq", "subscription_id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_seq"], name="webhook_one_delivery_per_event"),
            models.CheckConstraint(condition=models.Q(status__in=DeliveryStatus.values), name="webhook_status_ok"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx")]

    def __str__(self) -> str:
        return f"#{self.event_seq} → {self.subscription_id} ({self.status})"
