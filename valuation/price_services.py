"""Price series writes: create a series, add dated observations. Each runs in one transaction with its one audit
event, as a valuer (or as the system, for imports).

Observations are append-only: a date a series already has is refused as a whole call (409 `observation_exists`,
naming the dates), never overwritten; a call whose rows are malformed is refused (400) with the errors per row,
keyed `"<index>.<field>"` (e.g. `"2.value"`). Either way nothing of the call is stored.
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date

from audit.services import Actor, audit_event_record
from rwa_service.accounts.roles import Role, user_has_role
from rwa_service.exceptions import Conflict, NotFound, PermissionRefused, ValidationFailed
from valuation.models import PriceObservation, PriceSeries, SeriesKind

MAX_OBSERVATIONS_PER_CALL = 1000
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,39}$")
SERIES_FIELDS = ("code", "name", "kind", "unit", "currency", "base_currency")
# PriceObservation.value: NUMERIC(28, 10)
_VALUE_MAX_DIGITS, _VALUE_PLACES = 28, 10


def _acting(actor: AbstractBaseUser | Actor) -> Actor:
    """The audit actor; a user must hold the valuer role (admin may), the system may always."""
    if isinstance(actor, Actor):
        return actor
    if not user_has_role(actor, Role.VALUER):
        raise PermissionRefused("This action needs the valuer role.")
    return Actor.of(actor)


def _currency(value: Any) -> str:
    return str(value or "").strip().upper()


def price_series_values_errors(*, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cleaned series values and the errors per field (empty when valid). Shared by the service and the admin's
    form, so both refuse the same things."""
    errors: dict[str, list[str]] = {}
    cleaned = {
        "code": str(values.get("code") or "").strip().upper(),
        "name": str(values.get("name") or "").strip(),
        "kind": str(values.get("kind") or "").strip().lower(),
        "unit": str(values.get("unit") or "").strip(),
        "currency": _currency(values.get("currency")),
        "base_currency": _currency(values.get("base_currency")),
    }
    if not CODE_PATTERN.match(cleaned["code"]):
        errors["code"] = ["1 to 40 characters: letters, digits, '-' or '_' (e.g. XAU-USD)."]
    if cleaned["kind"] not in SeriesKind.values:
        errors["kind"] = [f"One of: {', '.join(SeriesKind.values)}."]
    if len(cleaned["name"]) > 200:
        errors["name"] = ["At most 200 characters."]
    if len(cleaned["unit"]) > 40:
        errors["unit"] = ["At most 40 characters."]
    for field in ("currency", "base_currency"):
        if cleaned[field] and not (len(cleaned[field]) == 3 and cleaned[field].isalpha()):
            errors[field] = ["A three-letter currency code (ISO 4217)."]
    if cleaned["kind"] in (SeriesKind.PRICE, SeriesKind.FX) and not cleaned["currency"]:
        errors.setdefault("currency", []).append(f"A {cleaned['kind']} series needs a currency.")
    if cleaned["kind"] == SeriesKind.FX:
        if not cleaned["base_currency"]:
            errors.setdefault("base_currency", []).append("An FX series needs a base currency.")
        elif cleaned["base_currency"] == cleaned["currency"]:
            errors.setdefault("base_currency", []).append("The base currency differs from the quote currency.")
    return cleaned, errors


def _series_snapshot(series: PriceSeries) -> dict[str, Any]:
    return {field: getattr(series, field) for field in SERIES_FIELDS}


@transaction.atomic
def price_series_create(*, actor: AbstractBaseUser | Actor, **values: Any) -> PriceSeries:
    """Creates a series: `code`, `kind` (index, price, fx), optional `name`, `unit`, `currency` (required by price
    and fx) and `base_currency` (fx: units of `currency` per one `base_currency`). A code in use is 409."""
    who = _acting(actor)
    cleaned, errors = price_series_values_errors(values=values)
    if errors:
        raise ValidationFailed("The price series is invalid.", errors=errors)
    if PriceSeries.objects.filter(code=cleaned["code"]).exists():
        raise Conflict(f"A price series {cleaned['code']!r} already exists.", code="series_exists")
    try:
        with transaction.atomic():
            series = PriceSeries.objects.create(**cleaned)
    except IntegrityError as exc:  # created concurrently
        raise Conflict(f"A price series {cleaned['code']!r} already exists.", code="series_exists") from exc
    audit_event_record(
        actor=who,
        action="price_series.created",
        object_type="price_series",
        object_id=series.code,
        before=None,
        after=_series_snapshot(series),
    )
    return series


def _parse_day(day: Any) -> tuple[date | None, list[str] | None]:
    if isinstance(day, date):
        parsed = day
    elif isinstance(day, str) and day.strip():
        try:
            parsed = parse_date(day.strip())
        except ValueError:  # well-formed but impossible, e.g. 2026-02-30
            parsed = None
        if parsed is None:
            return None, ["A date as YYYY-MM-DD is required."]
    else:
        return None, ["This field is required."]
    if parsed > timezone.localdate():
        return None, ["An observation cannot be dated in the future."]
    return parsed, None


def _parse_value(value: Any) -> tuple[Decimal | None, list[str] | None]:
    if value is None or value == "":
        return None, ["This field is required."]
    if isinstance(value, bool | float):
        return None, ["Give the value as a string of a decimal (no binary floats)."]
    try:
        parsed = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        return None, ["A decimal number is required."]
    if not parsed.is_finite() or parsed <= 0:
        return None, ["A positive number is required."]
    exponent = parsed.as_tuple().exponent
    if exponent < -_VALUE_PLACES and parsed != parsed.quantize(Decimal(1).scaleb(-_VALUE_PLACES)):
        return None, [f"At most {_VALUE_PLACES} decimal places."]
    if parsed.adjusted() >= _VALUE_MAX_DIGITS - _VALUE_PLACES:
        return None, [f"At most {_VALUE_MAX_DIGITS - _VALUE_PLACES} digits before the decimal point."]
    return parsed, None


def parse_observation(raw: Any) -> tuple[date | None, Decimal | None, dict[str, list[str]]]:
    """`{date, value}` → (date, value, errors per field). The date is ISO 8601 (YYYY-MM-DD), not in the future; the
    value a positive decimal given as a string or an integer (binary floats are refused, as for money), with at most
    10 decimal places."""
    if not isinstance(raw, dict):
        return None, None, {"non_field_errors": ["An object {date, value} is required."]}
    day, day_errors = _parse_day(raw.get("date"))
    value, value_errors = _parse_value(raw.get("value"))
    errors = {field: messages for field, messages in (("date", day_errors), ("value", value_errors)) if messages}
    return day, value, errors


def _observations_snapshot(series: PriceSeries, rows: list[tuple[date, Decimal]]) -> dict[str, Any]:
    return {
        "series": series.code,
        "count": len(rows),
        "observations": [[day.isoformat(), str(value)] for day, value in rows],
    }


@transaction.atomic
def price_observations_add(
    *, actor: AbstractBaseUser | Actor, series_code: str, observations: list[dict[str, Any]]
) -> list[PriceObservation]:
    """Adds dated values to a series in one bulk insert, all or nothing, with one audit event. Malformed rows are
    400 (errors keyed `"<index>.<field>"`); dates the series already has (or given twice) are 409
    `observation_exists` with `duplicates` (their indexes, dates, and the stored value where there is one)."""
    who = _acting(actor)
    series = PriceSeries.objects.select_for_update(no_key=True).filter(code=str(series_code or "")).first()
    if series is None:
        raise NotFound(f"No price series {series_code!r}.")
    if not isinstance(observations, list) or not observations:
        raise ValidationFailed("At least one observation is required.", errors={"observations": ["Empty."]})
    if len(observations) > MAX_OBSERVATIONS_PER_CALL:
        raise ValidationFailed(
            f"At most {MAX_OBSERVATIONS_PER_CALL} observations per call.",
            errors={"observations": [f"At most {MAX_OBSERVATIONS_PER_CALL}."]},
        )
    rows: list[tuple[date, Decimal]] = []
    errors: dict[str, list[str]] = {}
    for index, raw in enumerate(observations):
        day, value, row_errors = parse_observation(raw)
        for field, messages in row_errors.items():
            errors[f"{index}.{field}"] = messages
        rows.append((day, value))
    if errors:
        raise ValidationFailed("Some observations are invalid.", errors=errors)
    seen: dict[date, int] = {}
    duplicates: list[dict[str, Any]] = []
    for index, (day, _) in enumerate(rows):
        if day in seen:
            duplicates.append({"index": index, "date": day.isoformat(), "reason": "given twice in this call"})
        seen[day] = index
    stored = dict(PriceObservation.objects.filter(series=series, date__in=list(seen)).values_list("date", "value"))
    duplicates += [
        {
            "index": index,
            "date": day.isoformat(),
            "reason": "the series already has this date",
            "stored_value": str(stored[day]),
        }
        for index, (day, _) in enumerate(rows)
        if day in stored
    ]
    if duplicates:
        duplicates.sort(key=lambda row: row["index"])
        raise Conflict(
            f"Series {series.code} already has an observation on {duplicates[0]['date']} "
            f"({len(duplicates)} duplicate date(s)); observations are never overwritten.",
            code="observation_exists",
            extra={"duplicates": duplicates},
        )
    created = PriceObservation.objects.bulk_create(
        [PriceObservation(series=series, date=day, value=value) for day, value in rows], batch_size=500
    )
    audit_event_record(
        actor=who,
        action="price_observations.added",
        object_type="price_series",
        object_id=series.code,
        before=None,
        after=_observations_snapshot(series, rows),
    )
    return created
