"""List filters for token classes."""

import django_filters

from tokenization.models import TokenClass, TokenStatus


class TokenClassFilter(django_filters.FilterSet):
    asset = django_filters.UUIDFilter(field_name="asset_id")
    symbol = django_filters.CharFilter(method="filter_symbol")
    status = django_filters.MultipleChoiceFilter(choices=TokenStatus.choices)

    class Meta:
        model = TokenClass
        fields = ["asset", "symbol", "status"]

    def filter_symbol(self, queryset, name, value):
        return queryset.filter(symbol=value.upper())
