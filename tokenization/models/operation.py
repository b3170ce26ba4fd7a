"""Operations: long work (tokenize, asynchronous settlement) tracked as a row a worker picks up by id."""

import uuid

from django.conf import settings
from django.db import models


class OperationKind(models.TextChoices):
    TOKENIZE = "tokenize", "Tokenize"


class OperationStatus(models.TextChoices):
    INITIALIZED = "initialized", "Initialized"
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Operation(models.Model):
    """A unit of background work with its inputs, attempts, last error and result. Workers re-fetch it by id and
    finish it at most once; a sweeper re-queues any left waiting, so none is forgotten after a crash."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=OperationKind.choices)
    status = models.CharField(max_length=12, choices=OperationStatus.choices, default=OperationStatus.INITIALIZED)
    inputs = models.JSONField(default=dict)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["status", "updated_at"], name="operation_status_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=OperationStatus.values), name="operation_status_ok"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"
