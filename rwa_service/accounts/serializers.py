"""Shapes for `auth/me/`."""

from rest_framework import serializers


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField(allow_blank=True)
    roles = serializers.ListField(child=serializers.CharField())
    investor = serializers.UUIDField(allow_null=True, help_text="The investor record linked to this user, if any.")
