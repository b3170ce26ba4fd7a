"""Appending many new rows of one model at once: COPY on PostgreSQL, bulk_create elsewhere.

Django 5.2's bulk_create on PostgreSQL sends each column as an array literal that psycopg escapes value by value in
Python; COPY streams the rows in PostgreSQL's text format through psycopg's C dumpers instead, several times faster
for the hundreds of rows a revaluation chunk writes. Values are prepared as bulk_create prepares them: `pre_save`
for the auto_now fields, `get_db_prep_save` for the fields whose stored form differs from the Python value (JSON);
plain values (text, numbers, Decimals, dates, times, UUIDs, keys) go as they are to psycopg, whose dumpers write them
exactly as an INSERT would. tests/rwa_service/db/test_rows.py reads both back and compares them.
"""

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models
from psycopg.types.json import Jsonb


class JsonText(str):
    """A JSON field's value given as its JSON text already (values_append copies it in as it is)."""


def json_text(text: str | None) -> JsonText | None:
    """`text` (valid JSON, e.g. canonical JSON that was hashed) marked for values_append; None stays None (NULL)."""
    return None if text is None else JsonText(text)


def rows_append(*, model: type[models.Model], objects: Sequence[models.Model], batch_size: int = 1000) -> None:
    """Inserts `objects` (new instances whose primary key is already set) in the current transaction."""
    if not objects:
        return
    if any(obj.pk is None for obj in objects):
        raise ValueError(f"rows_append needs {model.__name__} instances whose primary key is set.")
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=batch_size)
        return
    fields = list(model._meta.concrete_fields)
    prepare = [_preparer(field) for field in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    started = time.monotonic()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for obj in objects:
            copy.write_row([prep(obj) for prep in prepare])
    _log(statement=statement, rows=len(objects), started=started)
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias


def values_append(*, model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Inserts `rows`, each the values of `fields` (attribute names: `asset_id`, not `asset`) in that order, with no
    model instance on PostgreSQL: for the thousands of rows a revaluation writes, building instances only to read
    their fields back costs more than the COPY. Every field without a database default must be given; values are
    the Python values an instance would hold (JSON fields: the object, not its text, or a JsonText holding the
    text). Elsewhere: bulk_create."""
    if not rows:
        return
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    unknown = [name for name in fields if name not in by_attname]
    if unknown:
        raise ValueError(f"{model.__name__} has no column for {unknown}.")
    json_at = [i for i, name in enumerate(fields) if isinstance(by_attname[name], models.JSONField)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(fields, _parsed(row, json_at), strict=True))) for row in rows])
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(by_attname[name].column) for name in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    started = time.monotonic()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            if json_at:
                row = list(row)
                for i in json_at:
                    if row[i] is not None and not isinstance(row[i], JsonText):  # the text goes in as it is
                        row[i] = Jsonb(row[i])
            copy.write_row(row)
    _log(statement=statement, rows=len(rows), started=started)


def _parsed(row: Sequence[Any], json_at: list[int]) -> Sequence[Any]:
    """The row with each JsonText turned back into its value (a model instance holds the value, not its text)."""
    if not any(isinstance(row[i], JsonText) for i in json_at):
        return row
    return [json.loads(value) if isinstance(value, JsonText) else value for value in row]


def _log(*, statement: str, rows: int, started: float) -> None:
    if connection.queries_logged:  # COPY bypasses Django's cursor wrapper: log it like any statement
        elapsed = f"{time.monotonic() - started:.3f}"
        connection.queries_log.append({"sql": f"{statement} -- {rows} rows", "time": elapsed})


_PLAIN = (models.CharField, models.TextField, models.IntegerField, models.DecimalField, models.DateField,
          models.UUIDField, models.BooleanField, models.ForeignKey)  # fmt: skip


def _preparer(field: models.Field) -> Callable[[models.Model], Any]:
    """How one field's value of an instance is handed to COPY."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.pre_save(obj, True)
    if isinstance(field, _PLAIN) and not isinstance(field, models.JSONField):
        attname = field.attname
        return lambda obj: getattr(obj, attname)
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)
