"""Audit events keep the same lookups with three indexes fewer to maintain on every append: `actor` and `action` get
plain indexes and `hash` a unique constraint, in place of field options that on PostgreSQL also built a
varchar_pattern_ops twin of each (for LIKE, which no query uses; the one on `hash` was a third random-order index)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0006_event_append_function"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(max_length=100),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="actor",
            field=models.CharField(help_text="Username, or system:<task>.", max_length=150),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(max_length=64),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor"], name="audit_actor_idx"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["action"], name="audit_action_idx"),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("hash",), name="audit_hash_unique"),
        ),
    ]
