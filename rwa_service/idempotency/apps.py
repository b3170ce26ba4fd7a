"""Idempotency keys: a POST with the same key replays its first answer (IETF Idempotency-Key draft, Stripe)."""

from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "rwa_service.idempotency"
    label = "idempotency"
    verbose_name = "Idempotency keys"
