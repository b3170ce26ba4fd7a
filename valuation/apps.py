"""Valuation: valuation history, models, NAV and revaluation runs (built in its own issue)."""

from django.apps import AppConfig


class ValuationConfig(AppConfig):
    name = "valuation"
    verbose_name = "Valuation"
