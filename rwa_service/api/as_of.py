"""The `?as_of=` query parameter: a sequence number (digits) or an ISO 8601 time (UTC when it names no offset)."""

import re
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware, make_aware

from rwa_service.exceptions import ValidationFailed

_SEQ = re.compile(r"[0-9]{1,19}")


def parse_as_of(value: str | None, *, sequence: str = "a sequence") -> tuple[int | None, datetime | None]:
    """(seq, None) or (None, time); (None, None) when empty; a 400 naming `as_of` for anything else. `sequence`
    names, with its article, which sequence a number means in the message ("a ledger sequence", "an audit seq")."""
    if not value:
        return None, None
    invalid = ValidationFailed(
        f"as_of is an ISO 8601 time or {sequence}.", errors={"as_of": [f"An ISO 8601 time or {sequence}."]}
    )
    if _SEQ.fullmatch(value):
        if int(value) > 2**63 - 1:
            raise invalid
        return int(value), None
    try:
        moment = parse_datetime(value)
    except ValueError as exc:  # well-formed but impossible, e.g. 30 February
        raise invalid from exc
    if moment is None:
        raise invalid
    return None, moment if is_aware(moment) else make_aware(moment, UTC)
