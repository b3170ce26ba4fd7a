"""Each audit event must link to its predecessor, checked by the database at insert: a trigger refuses an event whose
prev_hash is not the stored hash of event seq - 1 (the genesis hash, 64 zeros, for seq 1), as an integrity error.
This replaces the unique constraints on `hash` and `prev_hash`: with `seq` the primary key, a linked chain cannot
fork, and the check reads the predecessor by primary key, where the two unique indexes of random 64-hex keys cost two
random page writes per event and, on a long trail, outgrow the buffer cache. Triggers of this kind are switched off
only deliberately (ALTER TABLE … DISABLE TRIGGER), like the append-only ones of migration 0002."""

from django.db import migrations

PG_FORWARD = r"""
CREATE OR REPLACE FUNCTION audit_event_links() RETURNS trigger AS $$
DECLARE
    v_prev text;
BEGIN
    IF NEW.seq = 1 THEN
        v_prev := repeat('0', 64);
    ELSE
        SELECT hash INTO v_prev FROM audit_auditevent WHERE seq = NEW.seq - 1;
    END IF;
    IF v_prev IS DISTINCT FROM NEW.prev_hash THEN
        RAISE EXCEPTION 'audit event % does not link to event %', NEW.seq, NEW.seq - 1
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_link BEFORE INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_links();
"""

PG_REVERSE = """
DROP TRIGGER IF EXISTS audit_event_link ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_links();
"""

SQLITE_FORWARD = """
CREATE TRIGGER audit_event_link BEFORE INSERT ON audit_auditevent
WHEN NEW.prev_hash IS NOT (
    CASE WHEN NEW.seq = 1 THEN '0000000000000000000000000000000000000000000000000000000000000000'
         ELSE (SELECT hash FROM audit_auditevent WHERE seq = NEW.seq - 1) END)
BEGIN
    SELECT RAISE(ABORT, 'audit event does not link to its predecessor');
END
"""

SQLITE_REVERSE = "DROP TRIGGER IF EXISTS audit_event_link"


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor in ("postgresql", "sqlite"):
        schema_editor.execute(PG_FORWARD if vendor == "postgresql" else SQLITE_FORWARD, params=None)


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor in ("postgresql", "sqlite"):
        schema_editor.execute(PG_REVERSE if vendor == "postgresql" else SQLITE_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0007_indexes_without_like_twins"),
    ]

    operations = [
        migrations.RunPython(forward, reverse),
        migrations.RemoveConstraint(
            model_name="auditevent",
            name="audit_prev_hash_unique",
        ),
        migrations.RemoveConstraint(
            model_name="auditevent",
            name="audit_hash_unique",
        ),
    ]
