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


def to_json_value(value: Any) -> Any:
    """Turns Decimals, UUIDs, dates and the like into plain JSON values, normalised for hashing."""
    return _normalise(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


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
