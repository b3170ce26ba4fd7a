"""Back to the row trigger of audit 0008/0009 for the link check (PostgreSQL), replacing 0011's statement trigger.

Measured on the revaluation benchmark at 100,000 assets, alternating in one session: 10.1 s and 10.1 s with the row
trigger, 11.8 s and 11.1 s with the statement trigger (its transition table holds a copy of every new event, and the
one query over it cost more than the per-row probes it replaced). Same guarantee either way: no event is stored that
does not link to its predecessor."""

import importlib

from django.db import migrations

_LINK = importlib.import_module("audit.migrations.0008_events_link_to_their_predecessor")
_PER_STATEMENT = importlib.import_module("audit.migrations.0011_event_links_checked_per_statement")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_PER_STATEMENT.PG_REVERSE, params=None)
        schema_editor.execute(_LINK.PG_FORWARD, params=None)
        schema_editor.execute("ALTER FUNCTION audit_event_links() SET enable_seqscan = off", params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_LINK.PG_REVERSE, params=None)
        schema_editor.execute(_PER_STATEMENT.PG_FORWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0011_event_links_checked_per_statement")]
    operations = [migrations.RunPython(forward, reverse)]
