"""Asset API shapes. Serializers validate the request's form; services own every rule and every write."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assets.asset_types import AssetType
from assets.models import Asset, Document, DocumentKind
from valuation.selectors import valuation_current


@extend_schema_field(OpenApiTypes.STR)
class UsernameField(serializers.Field):
    """The username behind a user foreign key: from the selector's `<name>_name` annotation when present (no join),
    else from the related user."""

    def __init__(self, relation: str, **kwargs: object) -> None:
        self.relation = relation
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, asset: Asset) -> str | None:
        annotated = f"{self.relation}_name"
        if annotated in asset.__dict__:
            return asset.__dict__[annotated]
        user = getattr(asset, self.relation)
        return user.username if user is not None else None


class CurrentValuationSerializer(serializers.Serializer):
    """The current valuation as an asset shows it."""

    id = serializers.UUIDField(read_only=True)
    method = serializers.CharField(read_only=True)
    value = serializers.DecimalField(max_digits=28, decimal_places=6, read_only=True, coerce_to_string=True)
    currency = serializers.CharField(read_only=True)
    as_of = serializers.DateField(read_only=True)


class AssetSerializer(serializers.ModelSerializer):
    """The asset as integrators read it. `status`, `reference`, `created_by` and `version` are server-owned."""

    created_by = UsernameField("created_by")
    submitted_by = UsernameField("submitted_by", allow_null=True)
    reviewed_by = UsernameField("reviewed_by", allow_null=True)
    current_valuation = serializers.SerializerMethodField()

    class Meta:
        model = Asset
        fields = [
            "id",
            "reference",
            "name",
            "asset_type",
            "status",
            "jurisdiction",
            "currency",
            "description",
            "metadata",
            "issuer_name",
            "status_reason",
            "created_by",
            "submitted_by",
            "submitted_at",
            "reviewed_by",
            "reviewed_at",
            "created_at",
            "updated_at",
            "version",
            "current_valuation",
        ]
        read_only_fields = fields

    @extend_schema_field(CurrentValuationSerializer(allow_null=True))
    def get_current_valuation(self, asset: Asset) -> dict | None:
        """The asset's current (latest approved) valuation, or null: from the selector's prefetch when present."""
        if "current_valuations" in asset.__dict__:
            current = asset.__dict__["current_valuations"][0] if asset.__dict__["current_valuations"] else None
        else:
            current = valuation_current(asset_id=asset.pk)
        return CurrentValuationSerializer(current).data if current is not None else None


class AssetWriteSerializer(serializers.Serializer):
    """Fields a client may set on create (all) or on a draft's PATCH (any). Unknown fields are refused."""

    name = serializers.CharField(max_length=200)
    asset_type = serializers.ChoiceField(choices=AssetType.choices)
    jurisdiction = serializers.CharField(min_length=2, max_length=2)
    currency = serializers.CharField(min_length=3, max_length=3)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    metadata = serializers.JSONField(required=False, default=dict)
    issuer_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def validate(self, attrs: dict) -> dict:
        unknown = sorted(set(self.initial_data) - set(self.fields)) if hasattr(self.initial_data, "keys") else []
        if unknown:
            raise serializers.ValidationError({field: ["This field cannot be set."] for field in unknown})
        return attrs


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class DocumentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "name",
            "kind",
            "uri",
            "sha256",
            "size",
            "content_type",
            "uploaded_by",
            "created_at",
            "updated_at",
            "removed_at",
            "removal_reason",
        ]
        read_only_fields = fields


class DocumentCreateSerializer(serializers.Serializer):
    """Multipart `file` upload, or a JSON reference `{name, kind, uri, sha256}`."""

    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    file = serializers.FileField(required=False, max_length=300, use_url=False)
    uri = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    sha256 = serializers.RegexField(r"^(?:[0-9a-fA-F]{64})?$", required=False, allow_blank=True, default="")


class AssetTypeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=AssetType.choices)
    label = serializers.CharField()
    metadata_schema = serializers.JSONField()


class AssetStateAsOfSerializer(serializers.Serializer):
    """`assets/{id}/history/?as_of=`: the asset rebuilt from its audit events as of a seq or a time."""

    as_of_seq = serializers.IntegerField(allow_null=True)
    as_of_time = serializers.DateTimeField(allow_null=True)
    state = serializers.JSONField(allow_null=True, help_text="the asset's fields, version and documents then")
