"""Filters of `audit/events/` (django-filter, shown in the browsable API and the OpenAPI document)."""

import django_filters

from audit.models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    actor = django_filters.CharFilter()
    action = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte", label="occurred at or after")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt", label="occurred before")
    after_seq = django_filters.NumberFilter(field_name="seq", lookup_expr="gt", min_value=0)

    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id", "actor", "action", "since", "until", "after_seq"]
