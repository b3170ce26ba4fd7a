"""AnyOf: the same rows as `__in`, for keys given as UUIDs or strings, through a foreign key or a primary key, with an
empty list matching nothing; on PostgreSQL one array parameter instead of one per key."""

import uuid

import pytest
from django.db import DataError, connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from assets.models import Asset
from rwa_service.db.lookups import AnyOf, array_param
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


def test_keys_needing_no_quotes_go_as_one_array_literal_anything_else_as_a_list():
    first, second = uuid.UUID(int=1), "00000000-0000-0000-0000-0000000000ff"
    assert array_param([first, second], "uuid") == "{00000000-0000-0000-0000-000000000001," + second + "}"
    assert array_param([], "uuid") == "{}" and array_param([3, -4], "bigint") == "{3,-4}"
    # a key that would add or hide an element (a comma, a brace, a quote) goes as a list, quoted key by key
    assert array_param([second, "a,b"], "uuid") == [second, "a,b"]
    assert array_param(["1}", "2"], "integer") == ["1}", "2"]
    assert array_param(["x", "y"], "varchar(20)") == ["x", "y"]
    assert array_param([""], "uuid") == [""] and array_param(["", "1"], "bigint") == ["", "1"]  # refused, not dropped


@pytest.mark.django_db
def test_a_key_that_is_no_uuid_is_refused_by_the_database_not_read_as_two(make_asset):
    asset = make_asset("approved")
    if connection.vendor != "postgresql":
        pytest.skip("the array parameter is PostgreSQL's")
    with pytest.raises(DataError):
        list(Asset.objects.filter(AnyOf(F("pk"), [f"{asset.pk},{asset.pk}"])))
