"""`index`: the asset's last approved appraisal moved by a price index from the appraisal's date to `as_of`.

value = appraisal value × index(as_of) / index(appraisal date), each level the latest observation on or before its
date. The currency is the appraisal's.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import F, QuerySet

from rwa_service.db.lookups import AnyOf
from rwa_service.db.uuid_text import UuidText
from rwa_service.exceptions import ValidationFailed
from valuation.errors import ValuationError
from valuation.methods.base import AssetLike, Computed, PriceSource, ValuationMethod
from valuation.methods.common import ARITHMETIC, money, require_kind, series_of
from valuation.methods.inputs import series_code_input
from valuation.methods.registry import register
from valuation.models import SeriesKind, Valuation, ValuationStatus

PRIOR_APPRAISALS = "prior_appraisals"


def _appraisals_until(as_of: date) -> QuerySet[Valuation]:
    """Approved (current or since superseded) appraisals dated on or before `as_of`, latest first."""
    return Valuation.objects.filter(
        method="appraisal", status__in=[ValuationStatus.APPROVED, ValuationStatus.SUPERSEDED], as_of__lte=as_of
    ).order_by("-as_of", "-approved_at", "-created_at")


class PriorAppraisal(NamedTuple):
    """What the index method reads of an appraisal (prefetched for a chunk without model instances)."""

    pk: Any
    as_of: date
    value: Decimal
    currency: str


def last_appraisal(*, asset: AssetLike, as_of: date) -> Valuation | PriorAppraisal | None:
    """The asset's latest approved appraisal dated on or before `as_of`: from the list a revaluation chunk
    prefetched (IndexMethod.prefetch, made with this `as_of`) when there is one, else one query."""
    prefetched = getattr(asset, PRIOR_APPRAISALS, None)
    if prefetched is not None:
        return next((appraisal for appraisal in prefetched if appraisal.as_of <= as_of), None)
    return _appraisals_until(as_of).filter(asset_id=asset.pk).first()


@register
class IndexMethod(ValuationMethod):
    code = "index"
    label = "Last appraisal moved by a price index"
    manual = False

    def validate(self, inputs: dict[str, Any], *, asset: AssetLike) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        series = series_code_input(inputs, "series", errors)
        if errors:
            raise ValidationFailed("The index method's inputs are invalid.", errors=errors)
        return {"series": series}

    def prefetch(self, *, assets: Sequence[AssetLike], as_of: date) -> None:
        found: dict[str, list[PriorAppraisal]] = {str(asset.pk): [] for asset in assets}
        wanted = _appraisals_until(as_of).filter(AnyOf(F("asset_id"), list(found)))
        keys = {"key": UuidText("pk"), "asset_key": UuidText("asset_id")}  # as text: no UUID built for each
        for pk, asset_id, day, value, currency in wanted.annotate(**keys).values_list(
            "key", "asset_key", "as_of", "value", "currency"
        ):
            found[asset_id].append(PriorAppraisal(pk, day, value, currency))
        for asset in assets:
            setattr(asset, PRIOR_APPRAISALS, found[str(asset.pk)])

    def compute(self, *, asset: AssetLike, as_of: date, inputs: dict[str, Any], prices: PriceSource) -> Computed:
        code = inputs["series"]
        appraisal = last_appraisal(asset=asset, as_of=as_of)
        if appraisal is None:
            raise ValuationError(
                f"The asset has no approved appraisal dated on or before {as_of} for the index to move.",
                code="no_appraisal",
            )
        require_kind(series_of(prices, code), SeriesKind.INDEX)
        base_date, base_level = prices.observation(code=code, on_or_before=appraisal.as_of)
        level_date, level = prices.observation(code=code, on_or_before=as_of)
        if base_level <= 0 or level <= 0:
            zero_date = base_date if base_level <= 0 else level_date
            raise ValuationError(
                f"Index {code!r} is {min(base_level, level)} on {zero_date}: an index level must be above zero.",
                code="index_not_positive",
            )
        value = ARITHMETIC.divide(ARITHMETIC.multiply(appraisal.value, level), base_level)
        return Computed(
            value=money(value),
            currency=appraisal.currency,
            inputs={
                "series": code,
                "appraisal_id": str(appraisal.pk),
                "appraisal_as_of": appraisal.as_of.isoformat(),
                "appraisal_value": str(appraisal.value),
                "appraisal_currency": appraisal.currency,
                "base_index_date": base_date.isoformat(),
                "base_index_level": str(Decimal(base_level)),
                "index_date": level_date.isoformat(),
                "index_level": str(Decimal(level)),
            },
        )
