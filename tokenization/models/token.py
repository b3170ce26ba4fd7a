"""Token classes of an asset and their transfer rules."""

import uuid

from django.conf import settings
from django.db import models

from tokenization.models.amounts import AmountField


class TokenStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    FAILED = "failed", "Failed"
    RETIRED = "retired", "Retired"


class TokenClass(models.Model):
    """A class of tokens over one asset (e.g. senior and junior). `total_supply` is kept equal to what the ledger
    holds: it changes only with mint and burn, under the class's row lock."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    asset = models.ForeignKey("assets.Asset", on_delete=models.PROTECT, related_name="token_classes")
    symbol = models.CharField(max_length=12, unique=True)
    name = models.CharField(max_length=200)
    decimals = models.PositiveSmallIntegerField(default=0)
    max_supply = AmountField(null=True, blank=True)
    total_supply = AmountField(default=0)
    status = models.CharField(max_length=10, choices=TokenStatus.choices, default=TokenStatus.PENDING)
    chain = models.CharField(max_length=40, default="ledger")
    contract_address = models.CharField(max_length=42, blank=True, default="")
    status_reason = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(decimals__lte=18), name="token_decimals_max_18"),
            models.CheckConstraint(condition=models.Q(total_supply__gte=0), name="token_supply_nonneg"),
            models.CheckConstraint(
                condition=models.Q(max_supply__isnull=True) | models.Q(total_supply__lte=models.F("max_supply")),
                name="token_supply_within_cap",
            ),
            models.CheckConstraint(condition=models.Q(status__in=TokenStatus.values), name="token_status_valid"),
        ]

    def __str__(self) -> str:
        return self.symbol


class TransferRules(models.Model):
    """The transfer rules of one token class, all keyed by investor (SPEC §4). Empty/null means "no limit"."""

    token_class = models.OneToOneField(TokenClass, on_delete=models.CASCADE, related_name="rules", primary_key=True)
    require_kyc = models.BooleanField(default=True)
    min_accreditation = models.CharField(max_length=20, default="none")
    allowed_countries = models.JSONField(default=list, blank=True, help_text="ISO alpha-2; empty: any country.")
    blocked_countries = models.JSONField(default=list, blank=True)
    max_holders = models.PositiveIntegerField(null=True, blank=True)
    max_balance_amount = AmountField(null=True, blank=True)
    max_balance_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    lockup_until = models.DateTimeField(null=True, blank=True)
    lockup_days = models.PositiveIntegerField(null=True, blank=True)
    velocity_limit = AmountField(null=True, blank=True)
    velocity_window_hours = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["token_class"]
        verbose_name_plural = "transfer rules"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_balance_percent__isnull=True)
                | (models.Q(max_balance_percent__gt=0) & models.Q(max_balance_percent__lte=100)),
                name="rules_percent_range",
            ),
            models.CheckConstraint(
                condition=models.Q(velocity_limit__isnull=True) | models.Q(velocity_window_hours__gte=1),
                name="rules_velocity_has_window",
            ),
        ]

    def __str__(self) -> str:
        return f"rules of {self.token_class_id}"
