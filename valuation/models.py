"""Valuation records, price series and their observations."""

import uuid

from django.conf import settings
from django.db import models


class SeriesKind(models.TextChoices):
    INDEX = "index", "Index"
    PRICE = "price", "Price"
    FX = "fx", "FX rate"


class PriceSeries(models.Model):
    """A dated series of values: a price index (`HPI-GB-LDN`), a price (`XAU-USD`, per `unit`) or an FX rate
    (`EUR-USD`: units of `currency` per one unit of `base_currency`)."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=8, choices=SeriesKind.choices)
    unit = models.CharField(max_length=40, blank=True, default="")
    currency = models.CharField(max_length=3, blank=True, default="")
    base_currency = models.CharField(max_length=3, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "price series"
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=SeriesKind.values), name="series_kind_valid"),
            models.CheckConstraint(
                condition=~models.Q(kind=SeriesKind.FX) | (~models.Q(currency="") & ~models.Q(base_currency="")),
                name="series_fx_names_both_currencies",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=SeriesKind.PRICE) | ~models.Q(currency=""), name="series_price_has_currency"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class PriceObservation(models.Model):
    """One dated value of a series; at most one per series and date."""

    series = models.ForeignKey(PriceSeries, on_delete=models.PROTECT, related_name="observations")
    date = models.DateField()
    value = models.DecimalField(max_digits=28, decimal_places=10)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["series", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["series", "date"], name="observation_one_per_date"),
            models.CheckConstraint(condition=models.Q(value__gt=0), name="observation_value_positive"),
        ]
        indexes = [models.Index(fields=["series", "-date"], name="observation_series_date_idx")]

    def __str__(self) -> str:
        return f"{self.series_id} {self.date}: {self.value}"


class ValuationStatus(models.TextChoices):
    DRAFT = "draft", "Draft (awaiting approval)"
    APPROVED = "approved", "Approved (current)"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded"


class Valuation(models.Model):
    """One valuation of an asset, append-only: its figures never change; only its status moves (draft → approved
    or rejected; approved → superseded). An asset's current valuation is its one approved valuation (a partial
    unique index keeps it to one, and finds it without reading history)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    asset = models.ForeignKey("assets.Asset", on_delete=models.PROTECT, related_name="valuations")
    method = models.CharField(max_length=20)
    value = models.DecimalField(max_digits=28, decimal_places=6)
    currency = models.CharField(max_length=3)
    as_of = models.DateField()
    inputs = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ValuationStatus.choices, default=ValuationStatus.DRAFT)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by_name = models.CharField(max_length=150, help_text="The user, or system:<task> for automatic ones.")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-as_of", "-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ValuationStatus.values), name="valuation_status_valid"
            ),
            models.UniqueConstraint(
                fields=["asset"], condition=models.Q(status="approved"), name="valuation_one_current_per_asset"
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["approved", "superseded"]) | models.Q(approved_at__isnull=False),
                name="valuation_approved_has_time",
            ),
        ]
        indexes = [models.Index(fields=["asset", "-as_of"], name="valuation_asset_asof_idx")]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.as_of} {self.method}: {self.value} {self.currency} ({self.status})"
