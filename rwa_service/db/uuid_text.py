"""`UuidText("column")`: a uuid column read as the text str() gives for its UUID (lower-case, hyphenated), made by
the database, so a query reading thousands of keys to use as text builds no UUID object per key.

PostgreSQL has a uuid type and prints it so; SQLite (the other database this project runs on) holds a UUIDField as
the 32 hex digits Django writes, which are cut into the same groups. Give it a column, not an expression with
parameters (the column's SQL appears once per group).
"""

from django.db.models import Func, TextField


class UuidText(Func):
    """The text of a uuid column, as str(uuid.UUID) writes it."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="(%(expressions)s)::text", **extra_context)

    def as_sql(self, compiler, connection, template=None, **extra_context):
        if template is None:  # 32 hex digits stored: 8-4-4-4-12, lower-case
            template = "LOWER(" + " || '-' || ".join(
                f"SUBSTR(%(expressions)s, {start}, {length})" for start, length in _GROUPS
            ) + ")"  # fmt: skip
        return super().as_sql(compiler, connection, template=template, **extra_context)


_GROUPS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
