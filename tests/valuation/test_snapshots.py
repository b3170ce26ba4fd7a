"""valuation_snapshot_json writes exactly the canonical JSON the generic path gives for the same snapshot, on
awkward values; audit events appended with it store and hash what events appended with the snapshot itself do."""

import json
import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from audit.canonical import CanonicalJson, canonical_json, string_map_json, to_json_value
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor, EventDraft, audit_events_append
from valuation.models import ValuationStatus
from valuation.snapshots import valuation_snapshot_json, valuation_snapshot_of

AWKWARD = 'tab\there, new\nline, "quotes", back\\slash, \x01 control, émoji ✓, \u2028 separator'
CASES = [
    {"inputs": {"series": "HPI", "appraisal_value": "1000.50"}, "approved_by": None},
    {"inputs": {"note": AWKWARD, "ratio": 2.5, "whole": 2.0, "n": 3, "nested": {"b": [1, None, True], "a": {}}},
     "approved_by": AWKWARD},
    {"inputs": {}, "approved_by": "checker"},
    {"inputs": {"z": Decimal("1.10"), "a": date(2026, 1, 2), "m": uuid.UUID(int=7)}, "approved_by": None},
    {"inputs": {"pair": "\ud83d\ude00"}, "approved_by": "\ud83d\ude00"},  # a surrogate pair as two code points
]  # fmt: skip


def _snapshot_args(case: dict) -> dict:
    return {"pk": uuid.UUID(int=1), "asset_id": uuid.UUID(int=2), "method": "index", "value": Decimal("-12.345600"),
            "currency": "GBP", "as_of": date(2026, 11, 28), "inputs": case["inputs"],
            "status": ValuationStatus.APPROVED, "recorded_by_name": f"system:{AWKWARD}",
            "approved_by": case["approved_by"]}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_the_written_snapshot_is_the_canonical_json_of_the_snapshot(case):
    written = valuation_snapshot_json(**_snapshot_args(case))
    assert isinstance(written, CanonicalJson)
    assert written == canonical_json(to_json_value(valuation_snapshot_of(**_snapshot_args(case))))
    assert json.loads(written)["inputs"] == to_json_value(case["inputs"])


@pytest.mark.django_db
def test_events_appended_with_the_written_snapshot_equal_events_appended_with_the_snapshot():
    drafts = [
        [EventDraft(action="valuation.recorded", object_type="valuation", object_id=n, before=None, after=snapshot(
            **_snapshot_args(case))) for n, case in enumerate(CASES)]
        for snapshot in (valuation_snapshot_of, valuation_snapshot_json)
    ]  # fmt: skip
    with transaction.atomic():
        for batch in drafts:
            audit_events_append(actor=Actor.system("revaluation"), events=batch, request_id="r")
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.after for e in events[: len(CASES)]] == [e.after for e in events[len(CASES) :]]
    assert audit_chain_verify().valid


def test_a_field_that_is_not_text_is_written_as_the_generic_path_writes_it():
    args = _snapshot_args(CASES[0]) | {"currency": None, "approved_by": 7}
    assert valuation_snapshot_json(**args) == canonical_json(to_json_value(valuation_snapshot_of(**args)))


def test_inputs_given_as_their_canonical_json_write_the_same_snapshot_on_either_path():
    args = _snapshot_args(CASES[0])
    encoded = args | {"inputs": string_map_json(args["inputs"])}
    assert isinstance(encoded["inputs"], CanonicalJson)
    assert valuation_snapshot_json(**encoded) == valuation_snapshot_json(**args)
    generic = {"currency": None, "approved_by": 7}  # a field that is not text: the generic path, given the text
    assert valuation_snapshot_json(**encoded | generic) == valuation_snapshot_json(**args | generic)
    assert json.loads(valuation_snapshot_json(**encoded | generic))["inputs"] == args["inputs"]
