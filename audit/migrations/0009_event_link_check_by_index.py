"""The link check of audit 0008 reads the predecessor by its primary key whatever the table's statistics say.

The trigger's look-up (`WHERE seq = NEW.seq - 1`) is cached per connection as a generic plan after its first few
runs. Planned while the table was still small (a new database, or statistics from before a large append), that plan
was a sequential scan, kept until the next ANALYZE: every event then read the whole trail (measured on the
revaluation benchmark at 100,000 assets: the audit COPY took one core while the other worker waited for the chain
head, 1,509 valuations/s against 4,789/s at 1,000,000). With sequential scans off for this one function, the plan is
the primary-key probe from the start."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER FUNCTION audit_event_links() SET enable_seqscan = off", params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER FUNCTION audit_event_links() RESET enable_seqscan", params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0008_events_link_to_their_predecessor")]
    operations = [migrations.RunPython(forward, reverse)]
