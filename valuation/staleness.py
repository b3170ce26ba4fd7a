"""When a valuation is too old to quote a NAV on without a warning: a policy per asset type.

A valuation dated `as_of` is stale once more than the type's number of days have passed since it (a commodity
valued yesterday is fresh; one valued two days ago is stale). `settings.VALUATION_STALE_AFTER_DAYS`, a dict of asset
type → days (with an optional `"default"`), overrides entries of the policy below.
"""

from datetime import date

from django.conf import settings
from django.utils import timezone

STALE_AFTER_DAYS: dict[str, int] = {
    "real_estate": 365,
    "infrastructure": 365,
    "art": 365,
    "fixed_income": 30,
    "private_credit": 90,
    "equity": 90,
    "commodity": 1,
    "carbon_credit": 30,
}
DEFAULT_STALE_AFTER_DAYS = 180


def stale_after_days(asset_type: str) -> int:
    """The number of days a valuation of this asset type stays fresh."""
    overrides = getattr(settings, "VALUATION_STALE_AFTER_DAYS", None) or {}
    if asset_type in overrides:
        return int(overrides[asset_type])
    if asset_type in STALE_AFTER_DAYS:
        return STALE_AFTER_DAYS[asset_type]
    return int(overrides.get("default", DEFAULT_STALE_AFTER_DAYS))


def is_stale(*, asset_type: str, as_of: date, today: date | None = None) -> bool:
    """True when more than the type's days have passed since `as_of`."""
    today = today or timezone.localdate()
    return (today - as_of).days > stale_after_days(asset_type)
