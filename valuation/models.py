"""Valuation records, price series and their observations."""

import uuid

from django.conf import settings
from django.db import models

from rwa_service.db.ids import uuid7


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

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # The foreign keys carry no index of their own: the asset's is the prefix of valuation_asset_asof_idx; the user
    # columns, NULL on automatic valuations, are indexed where set only (a revaluation writes two rows per asset and
    # pays for every index entry of both); the run's valuations are found by asset and date through
    # valuation_one_automatic_per_day. No index on the run alone: a partial one (run set) looked empty to the planner
    # until the next ANALYZE and was chosen for every "valued by a run" count of a running revaluation, each a scan
    # of the whole run so far (363 ms a chunk at 600,000 assets). Runs are not deleted in practice; refusing to
    # delete one with valuations (PROTECT) reads the table.
    asset = models.ForeignKey("assets.Asset", on_delete=models.PROTECT, related_name="valuations", db_index=False)
    method = models.CharField(max_length=20)
    value = models.DecimalField(max_digits=28, decimal_places=6)
    currency = models.CharField(max_length=3)
    as_of = models.DateField()
    inputs = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ValuationStatus.choices, default=ValuationStatus.DRAFT)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    recorded_by_name = models.CharField(max_length=150, help_text="The user, or system:<task> for automatic ones.")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True, default="")
    run = models.ForeignKey(
        "valuation.RevaluationRun",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="valuations",
        db_index=False,
    )
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
            models.UniqueConstraint(  # a run, re-run or retried, never values an asset twice for one date
                fields=["asset", "as_of"], condition=models.Q(run__isnull=False), name="valuation_one_automatic_per_day"
            ),
        ]
        indexes = [
            models.Index(fields=["asset", "-as_of"], name="valuation_asset_asof_idx"),
            models.Index(
                fields=["recorded_by"], condition=models.Q(recorded_by__isnull=False), name="valuation_recorded_by_idx"
            ),
            models.Index(
                fields=["approved_by"], condition=models.Q(approved_by__isnull=False), name="valuation_approved_by_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.as_of} {self.method}: {self.value} {self.currency} ({self.status})"


class ValuationPolicy(models.Model):
    """How an asset is revalued automatically: its method and that method's inputs (validated by the method)."""

    asset = models.OneToOneField(
        "assets.Asset", on_delete=models.CASCADE, primary_key=True, related_name="valuation_policy"
    )
    method = models.CharField(max_length=20)
    inputs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset"]
        verbose_name_plural = "valuation policies"

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.method}"


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class RevaluationRun(models.Model):
    """A revaluation of a chosen set of assets (those with a valuation policy, filtered by type, jurisdiction or
    currency) as of a date, worked through in chunks by Celery workers. `total`, `done` and `failed` are kept from
    the chunks' own counts, so a chunk run twice (a redelivered task) never counts twice."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    as_of = models.DateField()
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    started_by = models.CharField(max_length=150)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=RunStatus.values), name="run_status_valid"),
            models.CheckConstraint(condition=models.Q(done__lte=models.F("total")), name="run_done_within_total"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} as of {self.as_of} ({self.status})"


class RevaluationChunk(models.Model):
    """A slice of a run's assets: what one task values. Its counts are recomputed whenever it (re)runs."""

    run = models.ForeignKey(RevaluationRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    asset_ids = models.JSONField()
    finished = models.BooleanField(default=False)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="chunk_number_unique_per_run")]

    def __str__(self) -> str:
        return f"{self.run_id} #{self.number}"


class RevaluationFailure(models.Model):
    """An asset a run could not value, and why (a missing FX rate, no observation, an open circuit breaker…)."""

    run = models.ForeignKey(RevaluationRun, on_delete=models.CASCADE, related_name="failures")
    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "asset"]
        constraints = [models.UniqueConstraint(fields=["run", "asset"], name="failure_one_per_asset_per_run")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.asset_id}: {self.reason[:60]}"
