"""The interface every valuation method implements, and what it may read.

A method is one class: a `code`, whether it is `manual` (a person's figure, which a second valuer must approve), a
`validate(inputs)` that returns the cleaned inputs or raises ValidationFailed naming each bad field, and a
`compute(...)` that returns the value, and optionally `prefetches` (what compute reads per asset, loaded for a
whole revaluation chunk at once). Registering it (valuation.methods.registry.register) is all it takes to offer it
through the services, the API, the admin and revaluation runs.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from django.db.models import Prefetch

from assets.models import Asset


class PriceSource(Protocol):
    """Where methods read series (indices, prices, FX rates); valuation.prices.StoredPrices is the default."""

    def observation(self, *, code: str, on_or_before: date) -> tuple[date, Decimal]:
        """The latest observation of series `code` dated on or before the day; ValuationError if there is none."""

    def convert(self, *, amount: Decimal, from_currency: str, to_currency: str, as_of: date) -> Decimal:
        """`amount` in another currency through the FX series; ValuationError if no rate is known."""


@dataclass(frozen=True)
class Computed:
    """A method's answer: the value, its currency, and the inputs it used (the resolved ones included, e.g. the
    index levels it read), stored with the valuation so the figure can be re-derived."""

    value: Decimal
    currency: str
    inputs: dict[str, Any] = field(default_factory=dict)


class ValuationMethod:
    """Base class of the valuation methods."""

    code: ClassVar[str] = ""
    label: ClassVar[str] = ""
    manual: ClassVar[bool] = False

    def validate(self, inputs: dict[str, Any], *, asset: Asset) -> dict[str, Any]:
        """The cleaned inputs (JSON-ready); ValidationFailed with `errors` per field otherwise."""
        raise NotImplementedError

    def compute(self, *, asset: Asset, as_of: date, inputs: dict[str, Any], prices: PriceSource) -> Computed:
        """The value as of `as_of`; ValuationError (a clear reason) when it cannot be computed."""
        raise NotImplementedError

    def prefetches(self, *, as_of: date) -> list[Prefetch]:
        """Optional: what `compute` reads about an asset from the database, as prefetch_related look-ups, so a
        revaluation chunk loads it for all its assets in one query instead of one per asset. None by default."""
        return []
