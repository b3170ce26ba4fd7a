"""Database guards for the ledger on PostgreSQL: entries and legs are append-only, and the legs of each entry
must sum to zero when the transaction commits (a deferred constraint trigger)."""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION tokenization_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledgerentry_append_only BEFORE UPDATE OR DELETE ON tokenization_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION tokenization_refuse_change();
CREATE TRIGGER ledgerleg_append_only BEFORE UPDATE OR DELETE ON tokenization_ledgerleg
    FOR EACH ROW EXECUTE FUNCTION tokenization_refuse_change();

CREATE OR REPLACE FUNCTION tokenization_legs_balance() RETURNS trigger AS $$
DECLARE total numeric;
BEGIN
    SELECT COALESCE(SUM(amount), 0) INTO total FROM tokenization_ledgerleg WHERE entry_id = NEW.entry_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'legs of ledger entry % sum to %, not zero', NEW.entry_id, total;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledgerleg_sum_zero AFTER INSERT ON tokenization_ledgerleg
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tokenization_legs_balance();
"""

PG_REVERSE = """
DROP TRIGGER IF EXISTS ledgerleg_sum_zero ON tokenization_ledgerleg;
DROP TRIGGER IF EXISTS ledgerleg_append_only ON tokenization_ledgerleg;
DROP TRIGGER IF EXISTS ledgerentry_append_only ON tokenization_ledgerentry;
DROP FUNCTION IF EXISTS tokenization_legs_balance();
DROP FUNCTION IF EXISTS tokenization_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("tokenization", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
