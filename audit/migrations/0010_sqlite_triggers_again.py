"""On SQLite the audit trail's triggers are made again: the append-only ones (0002) and the link check (0008).

SQLite cannot alter a column or drop a constraint in place: Django rebuilds the table, and the rebuild drops its
triggers. Migration 0007 (indexes) and 0008 (after creating the link trigger, the unique constraints it replaces)
rebuilt `audit_auditevent`, so a SQLite database migrated through them kept neither guard. PostgreSQL alters in place
and is untouched here."""

import importlib

from django.db import migrations

_IMMUTABLE = importlib.import_module("audit.migrations.0002_audit_events_immutable")
_LINK = importlib.import_module("audit.migrations.0008_events_link_to_their_predecessor")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in [*_IMMUTABLE.SQLITE_REVERSE, *_IMMUTABLE.SQLITE_FORWARD, _LINK.SQLITE_REVERSE, _LINK.SQLITE_FORWARD]:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_event_link_check_by_index")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
