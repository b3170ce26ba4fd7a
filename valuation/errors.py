"""Valuation's domain error: a value that cannot be computed, with the reason (missing rate, no observation…)."""

from rwa_service.exceptions import Unprocessable


class ValuationError(Unprocessable):
    """422: the method cannot value this asset as of this date, and says why."""

    code = "valuation_failed"
    title = "Valuation cannot be computed"
