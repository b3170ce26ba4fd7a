"""The hourly signed checkpoint of the audit chain (audit.tasks.sign_audit_checkpoint), created in
django-celery-beat's tables so that operators edit its schedule in the admin (Periodic tasks → "audit checkpoint")."""

from django.db import migrations

NAME = "audit checkpoint"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="5", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.create(name=NAME, task="audit.tasks.sign_audit_checkpoint", crontab=crontab, enabled=True)


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_audit_events_immutable"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
