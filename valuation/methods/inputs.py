"""Reading a method's inputs: numbers as Decimals, dates, with every bad field named."""

from decimal import Decimal, InvalidOperation
from typing import Any


def decimal_input(inputs: dict[str, Any], name: str, errors: dict, *, minimum: Decimal | None = None) -> Decimal | None:
    """A Decimal from a number or a string of one; records an error under `name` otherwise (floats are refused
    as strings of digits are: money is never a float)."""
    raw = inputs.get(name)
    if raw is None or raw == "":
        errors[name] = ["This field is required."]
        return None
    if isinstance(raw, bool) or isinstance(raw, float):
        errors[name] = ["Give the number as a string or an integer (no binary floats for money)."]
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        errors[name] = ["A number is required."]
        return None
    if not value.is_finite():
        errors[name] = ["A finite number is required."]
        return None
    if minimum is not None and value < minimum:
        errors[name] = [f"Must be at least {minimum}."]
        return None
    return value
