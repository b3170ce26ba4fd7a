"""AnyOf: the same rows as `__in`, for keys given as UUIDs or strings, through a foreign key or a primary key, with an
empty list matching nothing; on PostgreSQL one array parameter instead of one per key."""

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from assets.models import Asset
from rwa_service.db.lookups import AnyOf
from valuation.models import ValuationPolicy


@pytest.mark.django_db
def test_any_of_selects_what_in_selects(make_asset):
    assets = [make_asset("approved", name=f"A{i}") for i in range(4)]
    for asset in assets[:3]:
        ValuationPolicy.objects.create(asset=asset, method="appraisal", inputs={})
    wanted = [assets[0].pk, str(assets[2].pk), str(assets[3].pk)]
    assert set(Asset.objects.filter(AnyOf(F("pk"), wanted)).values_list("pk", flat=True)) == {
        assets[0].pk,
        assets[2].pk,
        assets[3].pk,
    }
    by_key = ValuationPolicy.objects.filter(AnyOf(F("asset_id"), wanted)).values_list("asset_id", flat=True)
    assert set(by_key) == set(ValuationPolicy.objects.filter(asset_id__in=wanted).values_list("asset_id", flat=True))
    assert not Asset.objects.filter(AnyOf(F("pk"), [])).exists()
    assert Asset.objects.filter(AnyOf(F("pk"), wanted[:1])).update(name="Renamed") == 1


@pytest.mark.django_db
def test_on_postgresql_the_keys_are_one_array_parameter_elsewhere_an_in_list(make_asset):
    asset = make_asset("approved")
    with CaptureQueriesContext(connection) as queries:
        assert len(Asset.objects.filter(AnyOf(F("pk"), [asset.pk] * 3))) == 1
    sql = queries[0]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and "::uuid[]" in sql
    else:
        assert " IN (" in sql
