"""New valuations get time-ordered ids (rwa_service.db.ids.uuid7). The default is Python's, not the database's, so
this changes the model state only: no table is rebuilt (SQLite would rebuild it and lose the figures trigger of
0004), existing ids stay as they are."""

from django.db import migrations, models

import rwa_service.db.ids


class Migration(migrations.Migration):
    dependencies = [
        ("valuation", "0005_backfill_current_valuation_ref"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="valuation",
                    name="id",
                    field=models.UUIDField(
                        default=rwa_service.db.ids.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
