"""Investors (PII encrypted at rest) and their wallets."""

import uuid

from django.conf import settings
from django.db import models

from tokenization.pii import EncryptedTextField


class InvestorType(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    ENTITY = "entity", "Entity"


class KycStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class Accreditation(models.TextChoices):
    NONE = "none", "None"
    ACCREDITED = "accredited", "Accredited"
    QUALIFIED = "qualified", "Qualified"
    PROFESSIONAL = "professional", "Professional"


ACCREDITATION_RANK = {
    Accreditation.NONE: 0,
    Accreditation.ACCREDITED: 1,
    Accreditation.QUALIFIED: 2,
    Accreditation.PROFESSIONAL: 3,
}


class Investor(models.Model):
    """A holder of tokens. `legal_name`, `email` and `tax_id` are Fernet ciphertext in the database; erasure
    replaces them with a pseudonym and keeps the ledger."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=12, choices=InvestorType.choices)
    legal_name = EncryptedTextField()
    email = EncryptedTextField(blank=True, default="")
    tax_id = EncryptedTextField(blank=True, default="")
    country = models.CharField(max_length=2)
    kyc_status = models.CharField(max_length=10, choices=KycStatus.choices, default=KycStatus.PENDING)
    kyc_expires_at = models.DateTimeField(null=True, blank=True)
    accreditation = models.CharField(max_length=12, choices=Accreditation.choices, default=Accreditation.NONE)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="investor"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kyc_status__in=KycStatus.values), name="investor_kyc_valid"),
            models.CheckConstraint(condition=models.Q(type__in=InvestorType.values), name="investor_type_valid"),
            models.CheckConstraint(
                condition=models.Q(accreditation__in=Accreditation.values), name="investor_accreditation_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"investor {self.pk}"


class WalletStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    LOST = "lost", "Lost"


class Wallet(models.Model):
    """An EVM-style address belonging to one investor. A frozen wallet can neither send nor receive."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    investor = models.ForeignKey(Investor, on_delete=models.PROTECT, related_name="wallets")
    address = models.CharField(max_length=42, unique=True, help_text="EIP-55 checksummed.")
    status = models.CharField(max_length=8, choices=WalletStatus.choices, default=WalletStatus.ACTIVE)
    frozen = models.BooleanField(default=False)
    recovered_to = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=WalletStatus.values), name="wallet_status_valid"),
        ]

    def __str__(self) -> str:
        return self.address
