"""List filters for assets (django-filter), shown in the browsable API and the OpenAPI document."""

import django_filters

from assets.asset_types import AssetType
from assets.models import Asset, AssetStatus


class AssetFilter(django_filters.FilterSet):
    # distinct=False: no join can duplicate rows here, and SELECT DISTINCT would defeat the (type, created_at) index.
    asset_type = django_filters.MultipleChoiceFilter(choices=AssetType.choices, distinct=False)
    status = django_filters.MultipleChoiceFilter(choices=AssetStatus.choices, distinct=False)
    jurisdiction = django_filters.CharFilter(method="filter_upper")
    currency = django_filters.CharFilter(method="filter_upper")

    class Meta:
        model = Asset
        fields = ["asset_type", "status", "jurisdiction", "currency"]

    def filter_upper(self, queryset, name, value):
        return queryset.filter(**{name: value.upper()})
