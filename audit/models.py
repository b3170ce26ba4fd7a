"""Audit models: the event log and the head of its hash chain."""

from django.db import models

from rwa_service.exceptions import Conflict


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
    actor = models.CharField(max_length=150, db_index=True, help_text="Username, or system:<task>.")
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive"),
            models.UniqueConstraint(fields=["prev_hash"], name="audit_prev_hash_unique"),
        ]

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
        from audit.canonical import format_time

        return {
            "seq": self.seq,
            "occurred_at": format_time(self.occurred_at),
            "actor": self.actor,
            "actor_user_id": self.actor_user_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "request_id": self.request_id,
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
