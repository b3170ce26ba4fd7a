"""Valuation reads, scoped like the assets they value."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from assets.selectors import asset_scope
from valuation.models import Valuation, ValuationStatus


def valuation_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Valuation]:
    """The valuations of the assets `user` may see, newest first."""
    return Valuation.objects.filter(asset__in=asset_scope(user=user)).select_related("approved_by")


def valuation_current(*, asset_id: object) -> Valuation | None:
    """The asset's current valuation (its one approved valuation), by index, without reading history."""
    return Valuation.objects.filter(asset_id=asset_id, status=ValuationStatus.APPROVED).first()
