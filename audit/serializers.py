"""Audit event API shape."""

from rest_framework import serializers

from audit.models import AuditEvent


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
