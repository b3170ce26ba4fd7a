"""Appending many new rows of one model at once: COPY on PostgreSQL, bulk_create elsewhere.

Django 5.2's bulk_create on PostgreSQL sends each column as an array literal that psycopg escapes value by value in
Python; COPY streams the rows in PostgreSQL's text format through psycopg's C dumpers instead, several times faster
for the hundreds of rows a revaluation chunk writes. Values go through each field's own `pre_save` and
`get_db_prep_save`, exactly as bulk_create prepares them, so both paths store the same thing.
"""

import time
from collections.abc import Sequence

from django.db import connection, models


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
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    started = time.monotonic()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for obj in objects:
            copy.write_row([field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields])
    if connection.queries_logged:  # COPY bypasses Django's cursor wrapper: log it like any statement
        connection.queries_log.append(
            {"sql": f"{statement} -- {len(objects)} rows", "time": f"{time.monotonic() - started:.3f}"}
        )
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias
