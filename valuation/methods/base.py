"""The interface every valuation method implements, and what it may read.

A method is one class: a `code`, whether it is `manual` (a person's figure, which a second valuer must approve), a
`validate(inputs)` that returns the cleaned inputs or raises ValidationFailed naming each bad field, and a
`compute(...)` that returns the value, and optionally `prefetch` (what compute reads per asset, loaded for a
whole revaluation chunk at once). Methods read an asset's `pk`, `asset_type`, `currency` and `metadata`: they are
given an Asset, or in a revaluation chunk an AssetFacts holding just those. Registering it
(valuation.methods.registry.register) is all it takes to offer it through the services, the API, the admin and
revaluation runs.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any, ClassVar, Protocol

from assets.models import Asset


class PriceSource(Protocol):
    """Where methods read series (indices, prices, FX rates); valuation.prices.StoredPrices is the default."""

    def observation(self, *, code: str, on_or_before: date) -> tuple[date, Decimal]:
        """The latest observation of series `code` dated on or before the day; ValuationError if there is none."""

    def convert(self, *, amount: Decimal, from_currency: str, to_currency: str, as_of: date) -> Decimal:
        """`amount` in another currency through the FX series; ValuationError if no rate is known."""


@dataclass(eq=False)
class AssetFacts:
    """What the methods read of an asset, without a model instance (a revaluation chunk loads thousands); a
    method's `prefetch` may attach more to it, as it would to an Asset. The metadata arrives as its JSON text and is
    parsed when a method first reads it (most methods never do)."""

    pk: Any
    asset_type: str
    currency: str
    metadata_json: str

    @cached_property
    def metadata(self) -> Any:
        return json.loads(self.metadata_json)


AssetLike = Asset | AssetFacts


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

    def validate(self, inputs: dict[str, Any], *, asset: AssetLike) -> dict[str, Any]:
        """The cleaned inputs (JSON-ready); ValidationFailed with `errors` per field otherwise."""
        raise NotImplementedError

    def compute(self, *, asset: AssetLike, as_of: date, inputs: dict[str, Any], prices: PriceSource) -> Computed:
        """The value as of `as_of`; ValuationError (a clear reason) when it cannot be computed."""
        raise NotImplementedError

    def prefetch(self, *, assets: Sequence[AssetLike], as_of: date) -> None:
        """Optional: load what `compute` reads about these assets from the database in a query or two and attach it
        to them, so a revaluation chunk makes no query per asset. Nothing by default."""
