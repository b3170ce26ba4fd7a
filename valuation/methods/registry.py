"""The valuation methods on offer, by code. A new method is one class and one `@register`."""

from rwa_service.exceptions import ValidationFailed
from valuation.methods.base import ValuationMethod

_METHODS: dict[str, ValuationMethod] = {}


def register(cls: type[ValuationMethod]) -> type[ValuationMethod]:
    """Class decorator: offers the method under its `code`."""
    if not cls.code or cls.code in _METHODS:
        raise ValueError(f"Valuation method code {cls.code!r} is empty or already registered.")
    _METHODS[cls.code] = cls()
    return cls


def method_for(code: str) -> ValuationMethod:
    """The registered method with this code; a 400 naming the field otherwise."""
    try:
        return _METHODS[code]
    except KeyError:
        raise ValidationFailed(
            f"Unknown valuation method {code!r}.",
            errors={"method": [f"One of: {', '.join(sorted(_METHODS))}."]},
        ) from None


def method_codes() -> list[str]:
    return sorted(_METHODS)
