"""Reading a method's inputs: numbers as Decimals, dates, with every bad field named."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry


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


def positive_decimal_input(inputs: dict[str, Any], name: str, errors: dict) -> Decimal | None:
    """A Decimal strictly greater than zero; records an error under `name` otherwise."""
    value = decimal_input(inputs, name, errors)
    if value is not None and value <= 0:
        errors[name] = ["Must be greater than 0."]
        return None
    return value


def date_input(inputs: dict[str, Any], name: str, errors: dict) -> date | None:
    """A date from an ISO `YYYY-MM-DD` string (or a date); records an error under `name` otherwise."""
    raw = inputs.get(name)
    if raw is None or raw == "":
        errors[name] = ["This field is required."]
        return None
    return parse_date(raw, name, errors)


def parse_date(raw: Any, name: str, errors: dict) -> date | None:
    """`raw` as a date (an ISO `YYYY-MM-DD` string or a date); records an error under `name` otherwise."""
    if isinstance(raw, datetime):
        errors[name] = ["A date (YYYY-MM-DD) is required, not a date and time."]
        return None
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str) and len(raw) == 10:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    errors[name] = ["A date (YYYY-MM-DD) is required."]
    return None


def currency_input(inputs: dict[str, Any], name: str, errors: dict, *, default: str) -> str | None:
    """An ISO 4217 currency code (upper-cased), `default` when the field is absent."""
    raw = inputs.get(name)
    if raw is None or raw == "":
        return default
    code = str(raw).upper() if isinstance(raw, str) else ""
    if len(code) != 3 or not code.isalpha() or pycountry.currencies.get(alpha_3=code) is None:
        errors[name] = ["A three-letter ISO 4217 currency code is required."]
        return None
    return code


def series_code_input(inputs: dict[str, Any], name: str, errors: dict) -> str | None:
    """The code of a price series (a non-empty string of at most 40 characters)."""
    raw = inputs.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        errors[name] = ["This field is required."]
        return None
    if not isinstance(raw, str) or len(raw.strip()) > 40:
        errors[name] = ["The code of a price series is required (at most 40 characters)."]
        return None
    return raw.strip()
