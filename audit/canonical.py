"""Canonical JSON and the chain hash. The same bytes are produced when an event is written and when it is verified,
whichever database stored it (PostgreSQL's jsonb reorders keys and prints integral numbers without a fraction)."""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _float_or_int(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() else number


def to_json_value(value: Any) -> Any:
    """Turns Decimals, UUIDs, dates and the like into plain JSON values, normalised for hashing: what
    `_normalise(json.loads(json.dumps(value)))` gives, with the integral floats turned to int as they are parsed."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder), parse_float=_float_or_int)


def format_time(moment: datetime) -> str:
    """UTC, microsecond precision, fixed width: the form hashed for `occurred_at`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(*, prev_hash: str, fields: dict[str, Any], normalised: bool = False) -> str:
    """SHA-256 over the previous hash and the canonical JSON of the event's fields (`normalised`: the writer's
    fields are to_json_value's output already; what is read back from a database is normalised again)."""
    canonical = json.dumps(
        fields if normalised else _normalise(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the form every hashed value takes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_pieces(fields: dict[str, Any]) -> tuple[str, str]:
    """The canonical JSON of an event's hashed fields, cut around `occurred_at` and `seq`, which only the writer
    holding the chain head knows: head + occurred_at + tail + str(seq) + "}" is exactly the JSON `event_hash`
    hashes. `fields` holds every other hashed field, normalised (to_json_value); keys sort as json.dumps sorts them,
    and `seq` sorts last."""
    names = sorted([*fields, "occurred_at", "seq"])
    if names[-1] != "seq":
        raise ValueError("a hashed field sorts after seq")
    at = names.index("occurred_at")
    before = ",".join(f"{canonical_json(name)}:{canonical_json(fields[name])}" for name in names[:at])
    after = ",".join(f"{canonical_json(name)}:{canonical_json(fields[name])}" for name in names[at + 1 : -1])
    head = "{" + (before + "," if before else "") + '"occurred_at":"'
    tail = '",' + (after + "," if after else "") + '"seq":'
    return head, tail
