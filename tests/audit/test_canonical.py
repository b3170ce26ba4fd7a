"""Canonical JSON: the hash does not depend on key order or on how a database prints integral numbers."""

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from audit.canonical import (
    CanonicalJson,
    EventTemplate,
    _normalise,
    canonical_json,
    canonical_json_of,
    encoded_event,
    event_hash,
    format_time,
    pieces_hash,
    string_map_json,
    to_json_value,
)


def test_key_order_and_integral_floats_do_not_change_the_hash():
    one = event_hash(prev_hash="0" * 64, fields={"a": 1, "b": {"x": 2.0, "y": [1.0, 2.5]}})
    two = event_hash(prev_hash="0" * 64, fields={"b": {"y": [1, 2.5], "x": 2}, "a": 1.0})
    assert one == two


def test_any_change_of_value_or_previous_hash_changes_the_hash():
    base = event_hash(prev_hash="0" * 64, fields={"a": 1})
    assert event_hash(prev_hash="0" * 64, fields={"a": 2}) != base
    assert event_hash(prev_hash="1" * 64, fields={"a": 1}) != base


def test_decimals_uuids_and_times_become_plain_json():
    value = to_json_value(
        {"amount": Decimal("10.50"), "id": UUID(int=1), "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}
    )
    assert value == {"amount": "10.50", "id": "00000000-0000-0000-0000-000000000001", "when": "2026-01-02T03:04:05Z"}


def test_time_is_formatted_in_utc_with_microseconds():
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2026-01-02T03:04:05.000006Z"


def test_json_values_are_normalised_as_the_reference_round_trip_normalises_them():
    awkward = {
        "floats": [1.0, -0.0, 2.5, 1e20, 1.5e-7, 2.0**70, float("inf"), -1e400],
        "ints": [0, -3, 2**70],
        "nested": {"x": (1.0, {"y": [3.0]}), 7: "int key", "when": date(2026, 1, 2)},
        "decimal": Decimal("1E+3"),
        "text": "ünïcode \u2028",
    }
    reference = _normalise(json.loads(json.dumps(awkward, cls=DjangoJSONEncoder)))
    value = to_json_value(awkward)
    assert value == reference
    assert json.dumps(value, sort_keys=True) == json.dumps(reference, sort_keys=True)
    assert [type(item) for item in value["floats"]] == [type(item) for item in reference["floats"]]
    assert value["floats"][:2] == [1, 0] and isinstance(value["floats"][2], float) and math.isinf(value["floats"][6])


AWKWARD = 'tab\there, "quotes", {braces}, back\\slash, \x00 nul, \x01 control, émoji ✓, \u2028, {o} {a}'
EVENT_CASES = [
    {"actor": "system:revaluation", "actor_user_id": None, "action": "valuation.recorded", "object_type": "valuation",
     "object_id": UUID(int=5), "before": None, "after": {"id": "v", "value": "1.50"}, "reason": "", "request_id": ""},
    {"actor": AWKWARD, "actor_user_id": 7, "action": AWKWARD, "object_type": AWKWARD, "object_id": AWKWARD,
     "before": {"n": 1.0, AWKWARD: [AWKWARD, None, 2.5]}, "after": {}, "reason": AWKWARD, "request_id": AWKWARD},
    {"actor": "a", "actor_user_id": 0, "action": "b", "object_type": "c", "object_id": 12, "before": {"x": None},
     "after": CanonicalJson('{"already":"canonical"}'), "reason": None, "request_id": "r"},
]  # fmt: skip


@pytest.mark.parametrize("case", EVENT_CASES)
def test_an_encoded_event_hashes_and_stores_what_event_hash_hashes(case):
    """encoded_event (through its EventTemplate) against the reference: event_hash over the event's fields."""
    encoded = encoded_event(**case)
    moment, seq = "2026-11-29T10:11:12.000013Z", 41
    fields = {name: case[name] for name in ("actor", "actor_user_id", "action", "object_type", "request_id")}
    states = {name: json.loads(case[name]) if isinstance(case[name], CanonicalJson) else case[name]
              for name in ("before", "after")}  # fmt: skip
    fields |= {"object_id": str(case["object_id"]), "reason": case["reason"] or "", "occurred_at": moment, "seq": seq}
    fields |= {name: to_json_value(state) for name, state in states.items()}
    expected = event_hash(prev_hash="f" * 64, fields=fields, normalised=True)
    assert pieces_hash(prev_hash="f" * 64, head=encoded.head, tail=encoded.tail, moment=moment, seq=seq) == expected
    assert (encoded.object_id, encoded.reason) == (str(case["object_id"]), case["reason"] or "")
    for name, text in (("before", encoded.before), ("after", encoded.after)):
        assert (None if text is None else json.loads(text)) == (None if states[name] is None else fields[name])


def test_one_template_encodes_many_events_as_encoded_event_encodes_each():
    case = EVENT_CASES[1]
    names = ("actor", "actor_user_id", "action", "object_type", "reason", "request_id")
    constant = {name: case[name] for name in names}
    template = EventTemplate(**constant)
    for object_id, before, after in [(1, None, None), (AWKWARD, {"k": AWKWARD}, [1.0, 2]), ("{a}", "{b}", "{o}")]:
        one = encoded_event(**constant, object_id=object_id, before=before, after=after)
        assert template.encoded(object_id=object_id, before=before, after=after) == one


def test_a_map_of_strings_is_encoded_as_it_is_and_anything_else_is_left_to_the_round_trip():
    assert string_map_json({"b": "2", "a": AWKWARD}) == canonical_json(to_json_value({"b": "2", "a": AWKWARD}))
    assert isinstance(string_map_json({"a": "1"}), CanonicalJson)
    for other in ({"a": 1}, {"a": 2.0}, {1: "a"}, ["a"], "a", None, {"pair": "\ud83d\ude00"}):
        assert string_map_json(other) is None
    assert canonical_json_of(CanonicalJson('{"a":"1"}')) == '{"a":"1"}'
