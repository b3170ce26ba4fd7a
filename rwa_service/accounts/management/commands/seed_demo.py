"""`manage.py seed_demo`: the demo users and assets of SPEC §7, once. Password from DEMO_PASSWORD or generated."""

import os

from django.core.management.base import BaseCommand, CommandError

from rwa_service.demo import demo_seed
from rwa_service.exceptions import DomainError


class Command(BaseCommand):
    help = "Seed the demo users and assets once (refused under production settings)."

    def handle(self, *args, **options):
        try:
            result = demo_seed(password=os.environ.get("DEMO_PASSWORD") or None)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        if not result.seeded:
            self.stdout.write("Demo data already present; nothing seeded.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data seeded: users demo-admin, demo-operator, demo-compliance, "
                "demo-valuer, demo-auditor, demo-investor."
            )
        )
        if result.generated:
            self.stdout.write(self.style.WARNING(f"Generated demo password (shown once): {result.password}"))
        else:
            self.stdout.write("Demo password: the value of DEMO_PASSWORD.")
