"""Uploaded documents' `uri` becomes their API download path (it was the storage URL, which nothing serves)."""

from django.db import migrations


def forward(apps, schema_editor):
    Document = apps.get_model("assets", "Document")
    for document in Document.objects.exclude(file="").only("id", "asset_id").iterator():
        Document.objects.filter(pk=document.pk).update(
            uri=f"/api/v1/assets/{document.asset_id}/documents/{document.pk}/download/"
        )


class Migration(migrations.Migration):
    dependencies = [("assets", "0001_initial")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
