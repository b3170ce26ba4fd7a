"""Tokenization API shapes. Amounts are integers in base units, returned as strings of digits."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tokenization.models import (
    Accreditation,
    EntryKind,
    Investor,
    InvestorType,
    KycStatus,
    LedgerEntry,
    Operation,
    TokenClass,
    TransferRules,
    Wallet,
)
from tokenization.selectors import can_read_pii


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]+$"}]})
class AmountInput(serializers.Field):
    """An integer or a string of digits; the services check it is a positive whole number."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            raise serializers.ValidationError("A positive integer (or a string of digits) is required.")
        return data

    def to_representation(self, value):
        return str(value)


def _digits(value) -> str | None:
    return None if value is None else str(int(value))


class TokenClassSerializer(serializers.ModelSerializer):
    max_supply = serializers.SerializerMethodField()
    total_supply = serializers.SerializerMethodField()

    class Meta:
        model = TokenClass
        fields = ["id", "asset", "symbol", "name", "decimals", "max_supply", "total_supply", "status", "chain",
                  "contract_address", "status_reason", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields

    def get_max_supply(self, token: TokenClass) -> str | None:
        return _digits(token.max_supply)

    def get_total_supply(self, token: TokenClass) -> str:
        return _digits(token.total_supply)


class RulesSerializer(serializers.ModelSerializer):
    max_balance_amount = AmountInput(required=False, allow_null=True)
    velocity_limit = AmountInput(required=False, allow_null=True)
    min_accreditation = serializers.ChoiceField(choices=Accreditation.choices, required=False)
    allowed_countries = serializers.ListField(child=serializers.CharField(max_length=2), required=False)
    blocked_countries = serializers.ListField(child=serializers.CharField(max_length=2), required=False)

    class Meta:
        model = TransferRules
        fields = ["require_kyc", "min_accreditation", "allowed_countries", "blocked_countries", "max_holders",
                  "max_balance_amount", "max_balance_percent", "lockup_until", "lockup_days", "velocity_limit",
                  "velocity_window_hours"]  # fmt: skip

    def to_representation(self, rules):
        data = super().to_representation(rules)
        for field in ("max_balance_amount", "velocity_limit"):
            data[field] = _digits(getattr(rules, field))
        return data


class TokenizeSerializer(serializers.Serializer):
    symbol = serializers.CharField(max_length=12)
    name = serializers.CharField(max_length=200)
    decimals = serializers.IntegerField(min_value=0, max_value=18, default=0)
    max_supply = AmountInput(required=False, allow_null=True, default=None)
    rules = RulesSerializer(required=False, default=dict)


class TransferSerializer(serializers.Serializer):
    from_wallet = serializers.CharField(max_length=64, help_text="Wallet id or address.")
    to_wallet = serializers.CharField(max_length=64, help_text="Wallet id or address.")
    amount = AmountInput(help_text="Base units: an integer or a string of digits.")


class MintSerializer(serializers.Serializer):
    to_wallet = serializers.CharField(max_length=64)
    amount = AmountInput()
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class BurnSerializer(serializers.Serializer):
    from_wallet = serializers.CharField(max_length=64)
    amount = AmountInput()
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ForceTransferSerializer(TransferSerializer):
    reason = serializers.CharField(max_length=2000)


class RuleVerdictSerializer(serializers.Serializer):
    rule = serializers.CharField()
    passed = serializers.BooleanField()
    detail = serializers.CharField()
    allowed_amount = serializers.CharField(required=False)


class DecisionSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    status_code = serializers.CharField(help_text="0x51 allowed; see the code table in docs/COMPLIANCE.md.")
    app_code = serializers.CharField(allow_blank=True)
    rules = RuleVerdictSerializer(many=True)


class LedgerEntrySerializer(serializers.Serializer):
    """A ledger entry as the API answers it. Declared field by field (not a ModelSerializer, which introspects the
    model for every instance): it answers every transfer."""

    seq = serializers.IntegerField(source="pk", read_only=True)
    token = serializers.UUIDField(source="token_class_id", read_only=True)
    kind = serializers.ChoiceField(choices=EntryKind.choices, read_only=True)
    amount = serializers.SerializerMethodField()
    from_wallet = serializers.CharField(source="from_wallet.address", allow_null=True, read_only=True, default=None)
    to_wallet = serializers.CharField(source="to_wallet.address", allow_null=True, read_only=True, default=None)
    status = serializers.SerializerMethodField()
    actor = serializers.CharField(read_only=True)
    reason = serializers.CharField(read_only=True)
    settlement_ref = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_amount(self, entry: LedgerEntry) -> str:
        return _digits(entry.amount)

    def get_status(self, entry: LedgerEntry) -> str:
        return "settled"


class HolderSerializer(serializers.Serializer):
    wallet = serializers.CharField()
    wallet_id = serializers.UUIDField()
    investor = serializers.UUIDField()
    balance = serializers.CharField()
    frozen_amount = serializers.CharField(allow_null=True)


class CapTableSerializer(serializers.Serializer):
    token = serializers.UUIDField()
    as_of = serializers.CharField(allow_null=True)
    total_supply = serializers.CharField()
    holders = HolderSerializer(many=True)


PII_FIELDS = ("legal_name", "email", "tax_id")


class InvestorSerializer(serializers.ModelSerializer):
    """PII (`legal_name`, `email`, `tax_id`) is shown to compliance and to the investor; others see null."""

    class Meta:
        model = Investor
        fields = ["id", "type", "legal_name", "email", "tax_id", "country", "kyc_status", "kyc_expires_at",
                  "accreditation", "user", "erased_at", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, investor: Investor) -> dict:
        data = super().to_representation(investor)
        request = self.context.get("request")
        if request is None or not can_read_pii(user=request.user, investor=investor):
            for field in PII_FIELDS:
                data[field] = None
        return data


class InvestorWriteSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=InvestorType.choices)
    legal_name = serializers.CharField(max_length=300)
    email = serializers.EmailField(required=False, allow_blank=True)
    tax_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    country = serializers.CharField(min_length=2, max_length=2)
    kyc_status = serializers.ChoiceField(choices=KycStatus.choices, required=False)
    kyc_expires_at = serializers.DateTimeField(required=False, allow_null=True)
    accreditation = serializers.ChoiceField(choices=Accreditation.choices, required=False)
    user = serializers.IntegerField(required=False, allow_null=True, help_text="Id of a user with the investor role.")

    def validate(self, attrs: dict) -> dict:
        unknown = sorted(set(self.initial_data) - set(self.fields)) if hasattr(self.initial_data, "keys") else []
        if unknown:
            raise serializers.ValidationError({field: ["This field cannot be set."] for field in unknown})
        return attrs


class WalletSerializer(serializers.ModelSerializer):
    recovered_to = serializers.CharField(source="recovered_to.address", allow_null=True, read_only=True, default=None)

    class Meta:
        model = Wallet
        fields = ["id", "investor", "address", "status", "frozen", "recovered_to", "created_at", "updated_at"]
        read_only_fields = fields


class WalletCreateSerializer(serializers.Serializer):
    address = serializers.CharField(max_length=42, help_text="0x + 40 hex digits, lower case or EIP-55.")


class FreezeSerializer(serializers.Serializer):
    token = serializers.UUIDField(required=False, allow_null=True, help_text="With `amount`: a partial freeze.")
    amount = AmountInput(required=False, allow_null=True)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("token")) != (attrs.get("amount") is not None):
            raise serializers.ValidationError({"amount": ["A partial freeze needs both `token` and `amount`."]})
        return attrs


class RecoverWalletSerializer(serializers.Serializer):
    lost_wallet = serializers.CharField(max_length=64, help_text="Id or address of the lost wallet.")
    new_address = serializers.CharField(max_length=42)
    reason = serializers.CharField(max_length=2000)


class OperationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Operation
        fields = ["id", "kind", "status", "inputs", "attempts", "error", "result", "created_at", "updated_at"]
        read_only_fields = fields
