"""`manage.py audit_checkpoint`: sign the audit chain's head now and write the checkpoint file (beat does it hourly)."""

from typing import Any

from django.core.management.base import BaseCommand

from audit.checkpoints import audit_checkpoint_write, public_key_text, signing_key


class Command(BaseCommand):
    help = "Sign the audit chain head with AUDIT_SIGNING_KEY and write it to AUDIT_CHECKPOINT_DIR."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint, path = audit_checkpoint_write()
        self.stdout.write(self.style.SUCCESS(f"signed seq {checkpoint.seq} ({checkpoint.hash}) -> {path}"))
        self.stdout.write(f"verify with AUDIT_VERIFY_KEYS={public_key_text(signing_key())}")
