"""The link check of audit 0008, once per statement instead of once per event (PostgreSQL).

A row trigger ran a PL/pgSQL function for every event, each call saving and restoring the function's
`enable_seqscan` setting (audit 0009) and probing the predecessor: a revaluation chunk appends a thousand events in
one COPY. The check is now an AFTER INSERT statement trigger over the statement's new events (a transition table):
one query finds the first new event whose prev_hash is not the stored hash of event seq - 1 (the genesis hash for
seq 1), looking predecessors up by primary key (sequential scans stay off for the function, as in 0009), and refuses
the whole statement as an integrity error. The guarantee is the same: no event is stored that does not link to its
predecessor, so the chain cannot fork; the predecessor of a statement's later events is among its own new rows,
visible to the check. SQLite keeps its row trigger."""

from django.db import migrations

PG_FORWARD = r"""
DROP TRIGGER IF EXISTS audit_event_link ON audit_auditevent;
CREATE OR REPLACE FUNCTION audit_events_link() RETURNS trigger AS $$
DECLARE
    v_bad bigint;
BEGIN
    SELECT n.seq INTO v_bad
        FROM audit_new_events n LEFT JOIN audit_auditevent p ON p.seq = n.seq - 1
        WHERE n.prev_hash IS DISTINCT FROM (CASE WHEN n.seq = 1 THEN repeat('0', 64) ELSE p.hash END)
        ORDER BY n.seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'audit event % does not link to event %', v_bad, v_bad - 1
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;
CREATE TRIGGER audit_event_link AFTER INSERT ON audit_auditevent
    REFERENCING NEW TABLE AS audit_new_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_link();
DROP FUNCTION IF EXISTS audit_event_links();
"""

PG_REVERSE = r"""
DROP TRIGGER IF EXISTS audit_event_link ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_events_link();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        import importlib

        link = importlib.import_module("audit.migrations.0008_events_link_to_their_predecessor")
        schema_editor.execute(PG_REVERSE, params=None)
        schema_editor.execute(link.PG_FORWARD, params=None)
        schema_editor.execute("ALTER FUNCTION audit_event_links() SET enable_seqscan = off", params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0010_sqlite_triggers_again")]
    operations = [migrations.RunPython(forward, reverse)]
