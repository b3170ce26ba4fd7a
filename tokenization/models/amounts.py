"""Token amounts: integers in base units (10^-decimals of a token), stored exactly as NUMERIC(78, 0)."""

from django.db import models

# 78 digits hold any uint256, the widest amount an EVM token can carry.
AMOUNT_DIGITS = 78


def AmountField(**kwargs: object) -> models.DecimalField:
    """A non-negative integer amount of base units (a Decimal with no fraction)."""
    kwargs.setdefault("max_digits", AMOUNT_DIGITS)
    kwargs.setdefault("decimal_places", 0)
    return models.DecimalField(**kwargs)
