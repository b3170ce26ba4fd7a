"""How a valuation appears in audit events."""

import json
from datetime import date
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

from audit.canonical import CanonicalJson, canonical_json, canonical_json_of, to_json_value, utf8_clean
from valuation.models import Valuation


def valuation_snapshot(valuation: Valuation) -> dict[str, Any]:
    return valuation_snapshot_of(
        pk=valuation.pk,
        asset_id=valuation.asset_id,
        method=valuation.method,
        value=valuation.value,
        currency=valuation.currency,
        as_of=valuation.as_of,
        inputs=valuation.inputs,
        status=valuation.status,
        recorded_by_name=valuation.recorded_by_name,
        approved_by=valuation.approved_by.get_username() if valuation.approved_by_id else None,
    )


def valuation_snapshot_of(
    *,
    pk: Any,
    asset_id: Any,
    method: str,
    value: Decimal,
    currency: str,
    as_of: date,
    inputs: Any,
    status: str,
    recorded_by_name: str,
    approved_by: str | None,
) -> dict[str, Any]:
    """The same snapshot from the figures themselves (a revaluation chunk writes its rows without instances)."""
    return {
        "id": str(pk),
        "asset": str(asset_id),
        "method": method,
        "value": str(value),
        "currency": currency,
        "as_of": as_of.isoformat(),
        "inputs": inputs,
        "status": status,
        "recorded_by": recorded_by_name,
        "approved_by": approved_by,
    }


def valuation_snapshot_json(
    *,
    pk: Any,
    asset_id: Any,
    method: str,
    value: Decimal,
    currency: str,
    as_of: date,
    inputs: Any,
    status: str,
    recorded_by_name: str,
    approved_by: str | None,
) -> CanonicalJson:
    """canonical_json(to_json_value(valuation_snapshot_of(...))), written from the snapshot's known shape: its keys
    in sorted order, each string as the canonical encoder writes it (a revaluation chunk audits thousands; the
    generic path encodes, parses and encodes again). `inputs` may be given as their canonical JSON already
    (audit.canonical.CanonicalJson). Tested equal to the generic path on awkward values."""
    args = {
        "pk": pk, "asset_id": asset_id, "method": method, "value": value, "currency": currency, "as_of": as_of,
        "inputs": inputs, "status": status, "recorded_by_name": recorded_by_name, "approved_by": approved_by,
    }  # fmt: skip
    texts = (method, currency, status, recorded_by_name, "" if approved_by is None else approved_by)
    if not all(isinstance(field, str) for field in texts):  # another type: written as the generic path writes it
        return _generic(args)
    text = encode_basestring
    written = CanonicalJson(
        '{"approved_by":' + ("null" if approved_by is None else text(approved_by))
        + ',"as_of":' + text(as_of.isoformat())
        + ',"asset":' + text(str(asset_id))
        + ',"currency":' + text(currency)
        + ',"id":' + text(str(pk))
        + ',"inputs":' + canonical_json_of(inputs)
        + ',"method":' + text(method)
        + ',"recorded_by":' + text(recorded_by_name)
        + ',"status":' + text(status)
        + ',"value":' + text(str(value))
        + "}"
    )  # fmt: skip
    return written if utf8_clean(written) else _generic(args)  # surrogates: the round trip may join a pair


def _generic(args: dict[str, Any]) -> CanonicalJson:
    if isinstance(args["inputs"], CanonicalJson):  # inputs given as their canonical JSON: the value it encodes
        args = {**args, "inputs": json.loads(args["inputs"])}
    return CanonicalJson(canonical_json(to_json_value(valuation_snapshot_of(**args))))
