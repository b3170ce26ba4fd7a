"""Tokenization: token classes, investors, compliance rules and the ledger (built in its own issue)."""

from django.apps import AppConfig


class TokenizationConfig(AppConfig):
    name = "tokenization"
    verbose_name = "Tokenization"
