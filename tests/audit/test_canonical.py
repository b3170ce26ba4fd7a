"""Canonical JSON: the hash does not depend on key order or on how a database prints integral numbers."""

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder

from audit.canonical import _normalise, event_hash, format_time, to_json_value


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
