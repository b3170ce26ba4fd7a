"""The stored first answer of each idempotent request."""

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """A client's key for one POST, scoped per user, with the request's fingerprint and the response it got.
    Written in the same transaction as the request's effect, so a key exists exactly when its effect does."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )  # indexed by idempotency_key_per_user, which leads with it
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(
        blank=True, default="", help_text="The first answer's JSON as text, so a replay is byte-for-byte the same."
    )
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
