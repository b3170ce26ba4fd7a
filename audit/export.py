"""The audit trail as JSON lines or CSV, streamed: one event at a time from a server-side cursor, never the whole
trail in memory. Every hashed field is exported (`occurred_at` in the hashed form), so a reader can recompute each
`hash` from `prev_hash` and the other fields (audit.canonical.event_hash) without access to the database."""

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime

import orjson

from audit.canonical import format_time
from audit.selectors import audit_event_list

FORMATS = ("jsonl", "csv")
COLUMNS = [
    "seq", "occurred_at", "actor", "actor_user_id", "action", "object_type", "object_id", "before", "after",
    "reason", "request_id", "prev_hash", "hash",
]  # fmt: skip


def _records(*, since: datetime | None, until: datetime | None, chunk_size: int) -> Iterator[dict]:
    rows = audit_event_list(since=since, until=until).values_list(*COLUMNS)
    for row in rows.iterator(chunk_size=chunk_size):
        record = dict(zip(COLUMNS, row, strict=True))
        record["occurred_at"] = format_time(record["occurred_at"])
        yield record


def audit_export_lines(
    *, fmt: str, since: datetime | None = None, until: datetime | None = None, chunk_size: int = 2000
) -> Iterator[str]:
    """The export, line by line (CSV starts with its header). `since` is inclusive, `until` exclusive."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    records = _records(since=since, until=until, chunk_size=chunk_size)
    if fmt == "jsonl":
        for record in records:
            yield _json_line(record)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for record in records:
        buffer.seek(0)
        buffer.truncate()
        for name in ("before", "after"):
            record[name] = "" if record[name] is None else json.dumps(record[name], ensure_ascii=False)
        writer.writerow([record[name] for name in COLUMNS])
        yield buffer.getvalue()


def _json_line(record: dict) -> str:
    """One JSON line: orjson (compact, UTF-8, like json.dumps with ensure_ascii=False), or the standard module for
    what orjson does not write (integers beyond 64 bits). Either parses back to the same values."""
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
