"""Asset pages are filled to 80 % on PostgreSQL (`fillfactor`), leaving room on the page for the row's next version.

Assets are updated in place all the time, and most updates change no indexed column (a draft's edit and its
version, each revaluation's current valuation; a lifecycle step changes the indexed status and cannot be): with room
on the page PostgreSQL writes those as heap-only tuples (HOT) and touches none of the table's eleven indexes. On full pages every such update went to
another page and added an entry to every index (measured on the revaluation benchmark: 6,066 of 1,626,500 updates
HOT). New and rewritten pages follow the setting; existing full pages gain room as VACUUM prunes them."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE assets_asset SET (fillfactor = 80)", params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE assets_asset RESET (fillfactor)", params=None)


class Migration(migrations.Migration):
    dependencies = [("assets", "0003_asset_current_valuation_ref")]

    operations = [migrations.RunPython(forward, reverse)]
