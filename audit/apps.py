"""Audit: the append-only, hash-chained event store written in the same transaction as every change."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
