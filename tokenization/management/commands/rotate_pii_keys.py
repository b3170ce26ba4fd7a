"""`manage.py rotate_pii_keys`: re-encrypt investor PII with the first key of PII_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand

from tokenization.services.investors import investors_rotate_pii


class Command(BaseCommand):
    help = "Re-encrypt every investor's PII under the newest key; afterwards older keys may be removed."

    def handle(self, *args, **options):
        count = investors_rotate_pii()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the PII of {count} investor(s) under the newest key."))
