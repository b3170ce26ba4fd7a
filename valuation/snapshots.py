"""How a valuation appears in audit events."""

from typing import Any

from valuation.models import Valuation


def valuation_snapshot(valuation: Valuation) -> dict[str, Any]:
    return {
        "id": str(valuation.pk),
        "asset": str(valuation.asset_id),
        "method": valuation.method,
        "value": str(valuation.value),
        "currency": valuation.currency,
        "as_of": valuation.as_of.isoformat(),
        "inputs": valuation.inputs,
        "status": valuation.status,
        "recorded_by": valuation.recorded_by_name,
        "approved_by": valuation.approved_by.get_username() if valuation.approved_by_id else None,
    }
