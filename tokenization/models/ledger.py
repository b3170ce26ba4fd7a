"""The double-entry ledger: accounts per token class (one issuance account, one per holding wallet), immutable
entries and their legs in integer base units. Legs of an entry sum to zero; holder balances never go negative."""

from django.db import models

from tokenization.models.amounts import AmountField


class AccountKind(models.TextChoices):
    ISSUANCE = "issuance", "Issuance"  # the counter-account of mint and burn: its balance is -total_supply
    HOLDER = "holder", "Holder"


class Account(models.Model):
    """A balance in one token class: a wallet's holding, or the class's issuance account. `frozen_amount` is the
    part of a holding that compliance has frozen (partial freeze)."""

    token_class = models.ForeignKey("tokenization.TokenClass", on_delete=models.PROTECT, related_name="accounts")
    kind = models.CharField(max_length=10, choices=AccountKind.choices)
    wallet = models.ForeignKey(
        "tokenization.Wallet", on_delete=models.PROTECT, null=True, blank=True, related_name="accounts"
    )
    balance = AmountField(default=0)
    frozen_amount = AmountField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["token_class", "wallet"], condition=models.Q(kind="holder"), name="account_one_per_wallet"
            ),
            models.UniqueConstraint(
                fields=["token_class"], condition=models.Q(kind="issuance"), name="account_one_issuance"
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="holder") & models.Q(wallet__isnull=False) & models.Q(balance__gte=0))
                | (models.Q(kind="issuance") & models.Q(wallet__isnull=True) & models.Q(balance__lte=0)),
                name="account_balance_sign",
            ),
            models.CheckConstraint(
                condition=models.Q(frozen_amount__gte=0)
                & (models.Q(kind="issuance") | models.Q(frozen_amount__lte=models.F("balance"))),
                name="account_frozen_within_balance",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.wallet_id or self.token_class_id}"


class EntryKind(models.TextChoices):
    MINT = "mint", "Mint"
    BURN = "burn", "Burn"
    TRANSFER = "transfer", "Transfer"
    FORCED_TRANSFER = "forced_transfer", "Forced transfer"
    RECOVERY = "recovery", "Recovery"


class LedgerEntry(models.Model):
    """One settled movement. Its id is the ledger sequence; entries and legs are never updated or deleted
    (on PostgreSQL a trigger refuses it)."""

    token_class = models.ForeignKey(
        "tokenization.TokenClass", on_delete=models.PROTECT, related_name="entries", db_index=False
    )  # indexed by ledger_entry_token_idx, which leads with it
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = AmountField()
    from_wallet = models.ForeignKey(
        "tokenization.Wallet", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )  # indexed by ledger_entry_sent_idx, which leads with it
    to_wallet = models.ForeignKey(
        "tokenization.Wallet", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )  # indexed by ledger_entry_received_idx, which leads with it
    actor = models.CharField(max_length=150)
    reason = models.TextField(blank=True, default="")
    settlement_ref = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["token_class", "id"], name="ledger_entry_token_idx"),
            # The lock-up and velocity rules sum an investor's receipts and transfers out over a recent window:
            # each read from one index, in time order, without visiting the legs (PostgreSQL: index-only). Each
            # leads with its wallet, so it also serves the wallet's foreign key.
            models.Index(
                fields=["to_wallet", "token_class", "created_at"], include=["amount"], name="ledger_entry_received_idx"
            ),
            models.Index(
                fields=["from_wallet", "token_class", "created_at"],
                include=["amount", "kind"],
                name="ledger_entry_sent_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_entry_amount_positive"),
            models.CheckConstraint(condition=models.Q(kind__in=EntryKind.values), name="ledger_entry_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.amount}"


class LedgerLeg(models.Model):
    """One side of an entry: a signed change to one account. The legs of an entry sum to zero."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="legs")
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="legs", db_index=False
    )  # indexed by ledger_leg_account_idx, which leads with it
    amount = models.DecimalField(max_digits=78, decimal_places=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "entry"], name="ledger_leg_account_idx")]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_leg_nonzero")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+}"
