"""rows_append and values_append: COPY on PostgreSQL (bulk_create elsewhere) stores exactly what bulk_create
stores, awkward text included; rows_append refuses rows without a primary key, values_append names unknown fields."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rwa_service.db.ids import uuid7
from rwa_service.db.rows import json_text, rows_append, values_append
from valuation.models import RevaluationFailure, RevaluationRun, Valuation, ValuationStatus

AWKWARD = "tab\there, new\nline, back\\slash, \"quotes\", 'single', NULL, \\N, émoji ✓, comma,"


MOMENT = timezone.now()


def _valuations(asset, tag: str) -> list[Valuation]:
    return [
        Valuation(
            asset=asset,
            method="index",
            value=Decimal("1234567.891234") * n,
            currency="GBP",
            as_of=timezone.localdate() - timedelta(days=n),
            inputs={"note": AWKWARD, "n": n, "nested": {"list": [1, 2.5, None, True], "tag": tag}},
            status=ValuationStatus.SUPERSEDED,
            recorded_by_name=AWKWARD,
            approved_at=MOMENT,
            status_reason=AWKWARD if n == 2 else "",
        )
        for n in (1, 2, 3)
    ]


FIELDS = [
    "method",
    "value",
    "currency",
    "as_of",
    "inputs",
    "status",
    "recorded_by_name",
    "approved_at",
    "status_reason",
]


@pytest.mark.django_db
def test_appended_rows_read_back_equal_to_rows_bulk_created(make_asset):
    asset = make_asset("approved")
    copied, created = _valuations(asset, "same"), _valuations(asset, "same")
    rows_append(model=Valuation, objects=copied)
    Valuation.objects.bulk_create(created)
    for mine, theirs in zip(copied, created, strict=True):
        a, b = Valuation.objects.get(pk=mine.pk), Valuation.objects.get(pk=theirs.pk)
        assert [getattr(a, name) for name in FIELDS] == [getattr(b, name) for name in FIELDS]
        assert a.status == "superseded" and a.inputs["note"] == AWKWARD and a.created_at and a.updated_at
        assert mine._state.adding is False


@pytest.mark.django_db
def test_appending_is_one_logged_statement(make_asset, settings):
    asset = make_asset("approved")
    with CaptureQueriesContext(connection) as queries:
        rows_append(model=Valuation, objects=_valuations(asset, "logged"))
    assert len(queries) == 1 and Valuation.objects.filter(inputs__nested__tag="logged").count() == 3


@pytest.mark.django_db
def test_rows_without_a_primary_key_are_refused_and_nothing_is_written(make_asset):
    asset = make_asset("approved")
    run = RevaluationRun.objects.create(as_of=timezone.localdate(), filters={}, started_by="t")
    with pytest.raises(ValueError, match="primary key"):
        rows_append(model=RevaluationFailure, objects=[RevaluationFailure(run=run, asset=asset, reason="r")])
    assert not RevaluationFailure.objects.exists()
    rows_append(model=Valuation, objects=[])  # nothing to do


def _as_values(valuations: list[Valuation]) -> tuple[list[str], list[tuple]]:
    fields = ["id", "asset_id", *FIELDS, "created_at", "updated_at"]
    return fields, [tuple(getattr(v, name) for name in fields[:-2]) + (MOMENT, MOMENT) for v in valuations]


@pytest.mark.django_db
def test_values_appended_read_back_equal_to_rows_bulk_created(make_asset):
    asset = make_asset("approved")
    given, created = _valuations(asset, "values"), _valuations(asset, "values")
    for valuation in given:
        valuation.pk = uuid7()
    fields, rows = _as_values(given)
    with CaptureQueriesContext(connection) as queries:
        values_append(model=Valuation, fields=fields, rows=rows)
    assert len(queries) == 1
    Valuation.objects.bulk_create(created)
    for mine, theirs in zip(given, created, strict=True):
        a, b = Valuation.objects.get(pk=mine.pk), Valuation.objects.get(pk=theirs.pk)
        assert [getattr(a, name) for name in FIELDS] == [getattr(b, name) for name in FIELDS]
        assert a.inputs["note"] == AWKWARD and a.asset_id == asset.pk


@pytest.mark.django_db
def test_values_for_a_field_the_model_lacks_are_refused_and_nothing_is_written(make_asset):
    asset = make_asset("approved")
    fields, rows = _as_values(_valuations(asset, "unknown"))
    with pytest.raises(ValueError, match="no column"):  # on every database, before anything is sent
        values_append(model=Valuation, fields=[*fields[:-1], "colour"], rows=rows)
    assert not Valuation.objects.filter(inputs__nested__tag="unknown").exists()
    values_append(model=Valuation, fields=fields, rows=[])  # nothing to do


@pytest.mark.django_db
def test_a_json_field_given_as_its_text_is_stored_as_the_value_the_text_holds(make_asset):
    asset = make_asset("approved")
    given = _valuations(asset, "as text")
    for valuation in given:
        valuation.pk = uuid7()
    fields, rows = _as_values(given)
    at = fields.index("inputs")
    texts = [json.dumps(row[at], sort_keys=True, separators=(",", ":"), ensure_ascii=False) for row in rows]
    rows = [(*row[:at], json_text(text), *row[at + 1 :]) for row, text in zip(rows, texts, strict=True)]
    values_append(model=Valuation, fields=fields, rows=rows)
    for valuation in given:
        stored = Valuation.objects.get(pk=valuation.pk).inputs
        assert stored == valuation.inputs and stored["note"] == AWKWARD and stored["nested"]["list"][1] == 2.5
    assert json_text(None) is None
