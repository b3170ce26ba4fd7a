"""Asset registry models: assets, their documents and the counters behind human references."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Length

from assets.asset_types import AssetType

models.CharField.register_lookup(Length)


class AssetStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    UNDER_REVIEW = "under_review", "Under review"
    APPROVED = "approved", "Approved"
    TOKENIZED = "tokenized", "Tokenized"
    SUSPENDED = "suspended", "Suspended"
    RETIRED = "retired", "Retired"


class Asset(models.Model):
    """A real-world asset under management. Only drafts are freely editable; every other change is a lifecycle
    transition made by a service. `version` grows with every change and backs the API's ETag."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=20, unique=True, editable=False)
    name = models.CharField(max_length=200)
    asset_type = models.CharField(max_length=20, choices=AssetType.choices)
    status = models.CharField(max_length=20, choices=AssetStatus.choices, default=AssetStatus.DRAFT)
    jurisdiction = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 country code.")
    currency = models.CharField(max_length=3, help_text="ISO 4217 currency code.")
    description = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    issuer_name = models.CharField(max_length=200, blank=True, default="")
    status_reason = models.TextField(blank=True, default="", help_text="Why the last transition happened.")
    suspended_from = models.CharField(max_length=20, choices=AssetStatus.choices, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    current_valuation_ref = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="Id of the current (approved) valuation, kept by the valuation services in their transaction "
        "(the valuations' partial unique index is the record); lets a read name it without a join.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["asset_type", "-created_at"], name="asset_type_created_idx"),
            models.Index(fields=["status", "-created_at"], name="asset_status_created_idx"),
            models.Index(fields=["jurisdiction"], name="asset_jurisdiction_idx"),
            models.Index(fields=["currency"], name="asset_currency_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=AssetStatus.values), name="asset_status_valid"),
            models.CheckConstraint(condition=models.Q(asset_type__in=AssetType.values), name="asset_type_valid"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="asset_version_positive"),
            models.CheckConstraint(condition=models.Q(jurisdiction__length=2), name="asset_jurisdiction_len"),
            models.CheckConstraint(condition=models.Q(currency__length=3), name="asset_currency_len"),
            models.CheckConstraint(
                condition=~models.Q(status=AssetStatus.SUSPENDED) | ~models.Q(suspended_from=""),
                name="asset_suspended_has_origin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.name}"


class AssetReferenceCounter(models.Model):
    """The last number handed out for a reference prefix and year (`RE-2026-000123`); locked while incremented."""

    prefix = models.CharField(max_length=4)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["prefix", "year"]
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="asset_ref_counter_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"


class DocumentKind(models.TextChoices):
    TITLE_DEED = "title_deed", "Title deed"
    APPRAISAL = "appraisal", "Appraisal"
    PROSPECTUS = "prospectus", "Prospectus"
    LEGAL_OPINION = "legal_opinion", "Legal opinion"
    OTHER = "other", "Other"


def _document_path(instance: "Document", filename: str) -> str:
    return f"documents/{instance.asset_id}/{instance.sha256}"


class Document(models.Model):
    """A document attached to an asset (as ERC-1643): uploaded and hashed server-side, or referenced by URI with
    its hash. Removal is recorded (`removed_at`) and audited, never a silent delete."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    uri = models.CharField(max_length=500, blank=True, default="")
    file = models.FileField(upload_to=_document_path, blank=True, max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removal_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(sha256__length=64), name="document_sha256_len"),
            models.CheckConstraint(condition=models.Q(kind__in=DocumentKind.values), name="document_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(size__isnull=True) | models.Q(size__gte=0), name="document_size_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
