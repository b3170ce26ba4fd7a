"""A valuation's figures never change once recorded, in the database too: a trigger refuses an UPDATE that touches
the asset, method, value, currency, as_of, inputs, recorder or run (only the status and its approval fields move).
PostgreSQL and SQLite alike."""

from django.db import migrations

FIGURES = ["asset_id", "method", "value", "currency", "as_of", "inputs", "recorded_by_id", "recorded_by_name", "run_id"]

PG_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION valuation_refuse_figure_change() RETURNS trigger AS $$
    BEGIN
        IF ROW({}) IS DISTINCT FROM ROW({}) THEN
            RAISE EXCEPTION 'valuations are append-only: their figures cannot be updated';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """.format(", ".join(f"OLD.{c}" for c in FIGURES), ", ".join(f"NEW.{c}" for c in FIGURES)),
    """
    CREATE TRIGGER valuation_figures_immutable BEFORE UPDATE ON valuation_valuation
        FOR EACH ROW EXECUTE FUNCTION valuation_refuse_figure_change()
    """,
]
PG_REVERSE = [
    "DROP TRIGGER IF EXISTS valuation_figures_immutable ON valuation_valuation",
    "DROP FUNCTION IF EXISTS valuation_refuse_figure_change()",
]
SQLITE_FORWARD = [
    """
    CREATE TRIGGER valuation_figures_immutable BEFORE UPDATE OF {} ON valuation_valuation
    WHEN {}
    BEGIN
        SELECT RAISE(ABORT, 'valuations are append-only: their figures cannot be updated');
    END
    """.format(", ".join(FIGURES), " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in FIGURES)),
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS valuation_figures_immutable"]
STATEMENTS = {"postgresql": (PG_FORWARD, PG_REVERSE), "sqlite": (SQLITE_FORWARD, SQLITE_REVERSE)}


def forward(apps, schema_editor):
    for sql in STATEMENTS.get(schema_editor.connection.vendor, ([], []))[0]:
        schema_editor.execute(sql, params=None)


def reverse(apps, schema_editor):
    for sql in STATEMENTS.get(schema_editor.connection.vendor, ([], []))[1]:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("valuation", "0003_nightly_revaluation_schedule")]

    operations = [migrations.RunPython(forward, reverse)]
