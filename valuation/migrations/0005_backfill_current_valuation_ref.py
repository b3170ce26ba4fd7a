"""Fills the assets' `current_valuation_ref` from their approved valuations (the column is new)."""

from django.db import migrations


def backfill(apps, schema_editor):
    Asset = apps.get_model("assets", "Asset")
    Valuation = apps.get_model("valuation", "Valuation")
    for asset_id, valuation_id in Valuation.objects.filter(status="approved").values_list("asset_id", "id"):
        Asset.objects.filter(pk=asset_id).update(current_valuation_ref=valuation_id)


class Migration(migrations.Migration):
    dependencies = [
        ("valuation", "0004_valuation_figures_immutable"),
        ("assets", "0003_asset_current_valuation_ref"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
