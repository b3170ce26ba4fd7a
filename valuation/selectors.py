"""Valuation reads, scoped like the assets they value."""

from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from assets.selectors import asset_scope
from rwa_service.accounts.roles import STAFF_READERS, user_has_role
from rwa_service.exceptions import Conflict
from tokenization.models import TokenClass
from valuation.models import (
    PriceObservation,
    PriceSeries,
    RevaluationChunk,
    RevaluationFailure,
    RevaluationRun,
    Valuation,
    ValuationStatus,
)
from valuation.staleness import is_stale, stale_after_days


def valuation_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Valuation]:
    """The valuations of the assets `user` may see, newest first."""
    return Valuation.objects.filter(asset__in=asset_scope(user=user)).select_related("approved_by")


def price_series_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[PriceSeries]:
    """The price series `user` may read: staff roles read them all; investors and others none."""
    return PriceSeries.objects.all() if user_has_role(user, *STAFF_READERS) else PriceSeries.objects.none()


def price_observations(*, series: PriceSeries) -> QuerySet[PriceObservation]:
    """A series' observations, newest date first."""
    return PriceObservation.objects.filter(series=series).order_by("-date")


def revaluation_run_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[RevaluationRun]:
    """Revaluation runs, newest first: staff roles read them all."""
    return RevaluationRun.objects.all() if user_has_role(user, *STAFF_READERS) else RevaluationRun.objects.none()


def revaluation_failures(*, run: RevaluationRun) -> QuerySet[RevaluationFailure]:
    """The assets a run could not value, with the reasons."""
    return run.failures.select_related("asset")


def revaluation_chunk_ids(*, run_id: object) -> Iterator[int]:
    """The ids of a run's chunks, streamed."""
    return RevaluationChunk.objects.filter(run_id=run_id).order_by("number").values_list("pk", flat=True).iterator()


def valuation_current(*, asset_id: object) -> Valuation | None:
    """The asset's current valuation (its one approved valuation), by index, without reading history."""
    return Valuation.objects.filter(asset_id=asset_id, status=ValuationStatus.APPROVED).first()


NAV_PLACES = Decimal("1E-10")


def _whole(amount: Decimal) -> str:
    return format(amount, "f")


def token_nav(*, token: TokenClass) -> dict[str, Any]:
    """NAV per token of a class: its asset's current value ÷ the circulating supply in whole tokens, with the
    valuation's currency and date and whether it is stale by the asset type's policy. 409 without a current
    valuation or without supply."""
    current = valuation_current(asset_id=token.asset_id)
    if current is None:
        raise Conflict(
            f"The asset of {token.symbol} has no current (approved) valuation; no NAV can be given.",
            code="no_current_valuation",
        )
    if not token.total_supply:
        raise Conflict(f"{token.symbol} has no supply in circulation; no NAV per token.", code="no_supply")
    with localcontext() as context:
        context.prec = 80  # exact for any NUMERIC(78, 0) supply and NUMERIC(28, 6) value before rounding
        supply = Decimal(token.total_supply).scaleb(-token.decimals)
        nav = (current.value / supply).quantize(NAV_PLACES, rounding=ROUND_HALF_EVEN)
    asset_type = token.asset.asset_type
    return {
        "token": token.pk,
        "symbol": token.symbol,
        "asset": token.asset_id,
        "valuation": current.pk,
        "method": current.method,
        "currency": current.currency,
        "as_of": current.as_of,
        "value": _whole(current.value),
        "total_supply": _whole(Decimal(token.total_supply)),
        "decimals": token.decimals,
        "supply": _whole(supply),
        "nav_per_token": _whole(nav),
        "stale": is_stale(asset_type=asset_type, as_of=current.as_of),
        "stale_after_days": stale_after_days(asset_type),
    }
