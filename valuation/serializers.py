"""Valuation API shapes. Money and prices are decimal strings; serializers check the request's form, the services
(valuation.services, valuation.price_services) own every rule and every write."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from valuation.models import PriceObservation, PriceSeries, SeriesKind, Valuation, ValuationStatus


class ValuationSerializer(serializers.ModelSerializer):
    """A valuation as integrators read it; every field is server-owned."""

    asset_reference = serializers.CharField(source="asset.reference", read_only=True)
    value = serializers.DecimalField(max_digits=28, decimal_places=6, read_only=True, coerce_to_string=True)
    status = serializers.ChoiceField(choices=ValuationStatus.choices, read_only=True)
    recorded_by = serializers.CharField(source="recorded_by_name", read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, allow_null=True, default=None)
    run = serializers.UUIDField(
        source="run_id", read_only=True, allow_null=True, help_text="The revaluation run, if any."
    )

    class Meta:
        model = Valuation
        fields = ["id", "asset", "asset_reference", "method", "value", "currency", "as_of", "inputs", "status",
                  "status_reason", "recorded_by", "approved_by", "approved_at", "run", "created_at",
                  "updated_at"]  # fmt: skip
        read_only_fields = fields


class ValuationCreateSerializer(serializers.Serializer):
    method = serializers.CharField(max_length=20, help_text="A registered method code, e.g. `appraisal`.")
    as_of = serializers.DateField(help_text="The date the value holds for; never in the future.")
    inputs = serializers.DictField(
        required=False,
        default=dict,
        help_text='The method\'s inputs; numbers as decimal strings, e.g. appraisal {"value": "1250000.00"}.',
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the draft is rejected (required).")


class PriceSeriesSerializer(serializers.ModelSerializer):
    # A plain string here: the create body's `kind` carries the enum (one component per choice set named `kind`
    # keeps drf-spectacular's enum naming free of collisions with documents' `kind`).
    kind = serializers.CharField(read_only=True, help_text="index, price or fx.")

    class Meta:
        model = PriceSeries
        fields = ["code", "name", "kind", "unit", "currency", "base_currency", "created_at", "updated_at"]
        read_only_fields = fields


class PriceSeriesCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40, help_text="Letters, digits, '-' or '_'; stored upper-case.")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=SeriesKind.choices)
    unit = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, default="", help_text="Required for price and fx series."
    )
    base_currency = serializers.CharField(
        max_length=3,
        required=False,
        allow_blank=True,
        default="",
        help_text="fx only: the rate is units of `currency` per one `base_currency`.",
    )


class PriceObservationSerializer(serializers.ModelSerializer):
    value = serializers.DecimalField(max_digits=28, decimal_places=10, read_only=True, coerce_to_string=True)

    class Meta:
        model = PriceObservation
        fields = ["date", "value", "created_at"]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.STR)
class DecimalStringField(serializers.Field):
    """Documents a decimal given as a string (the service parses it and refuses floats)."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return str(value)


class ObservationInputSerializer(serializers.Serializer):
    """One observation to add (for the schema; the service validates each row and names it by index)."""

    date = serializers.DateField()
    value = DecimalStringField(help_text='A positive decimal as a string, e.g. "2345.6700".')


class NavSerializer(serializers.Serializer):
    """NAV per token: the asset's current value ÷ the circulating supply in whole tokens."""

    token = serializers.UUIDField()
    symbol = serializers.CharField()
    asset = serializers.UUIDField()
    valuation = serializers.UUIDField(help_text="The asset's current valuation.")
    method = serializers.CharField()
    currency = serializers.CharField()
    as_of = serializers.DateField(help_text="The valuation's date.")
    value = serializers.CharField(help_text="The asset's value (decimal string).")
    total_supply = serializers.CharField(help_text="Base units (10^-decimals of a token).")
    decimals = serializers.IntegerField()
    supply = serializers.CharField(help_text="Circulating supply in whole tokens: total_supply / 10^decimals.")
    nav_per_token = serializers.CharField(help_text="value / supply, 10 decimal places (decimal string).")
    stale = serializers.BooleanField(help_text="True when as_of is older than the asset type's policy allows.")
    stale_after_days = serializers.IntegerField()
