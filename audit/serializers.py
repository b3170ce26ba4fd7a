"""Audit event API shape."""

from rest_framework import serializers

from audit.models import AuditEvent, WebhookDelivery, WebhookSubscription


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "occurred_at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "reason",
            "request_id",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields


class ChainVerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    length = serializers.IntegerField()
    head_hash = serializers.CharField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True, help_text="why the first bad event is bad; empty when valid")
    checkpoints = serializers.IntegerField(help_text="signed checkpoints verified against")
    checkpoints_rejected = serializers.IntegerField(help_text="checkpoint files whose signature did not verify")


class EventFeedSerializer(serializers.Serializer):
    events = AuditEventSerializer(many=True)
    next_after_seq = serializers.IntegerField(help_text="pass it back as `after_seq` to continue")
    more = serializers.BooleanField(help_text="true when this page was full: ask again at once")


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "actions", "object_types", "active", "last_enqueued_seq", "created_by",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(help_text="The HMAC-SHA256 signing key: shown once, keep it.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookSubscriptionWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.URLField(max_length=500)
    actions = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)
    object_types = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)
    active = serializers.BooleanField(required=False)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "subscription", "event_seq", "status", "attempts", "next_attempt_at", "last_status_code",
                  "last_error", "delivered_at", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields


class AuditEventPageSerializer(serializers.Serializer):
    """A cursor page of audit events (for the schema of endpoints answering either a page or something else)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AuditEventSerializer(many=True)
