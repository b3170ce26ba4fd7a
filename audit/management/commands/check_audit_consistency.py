"""`manage.py check_audit_consistency`: rebuild every asset and every cap table from the audit trail and compare
them with the live tables. Exit status 0 when they agree, 1 otherwise (each difference listed)."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from assets.models import Asset
from audit.consistency import audit_consistency_report
from tokenization.models import TokenClass


class Command(BaseCommand):
    help = "Compare the state rebuilt from the audit trail with the live tables (assets, cap tables)."

    def handle(self, *args: Any, **options: Any) -> None:
        total = Asset.objects.count() + TokenClass.objects.count()
        with tqdm(total=total, unit="object", file=sys.stderr, disable=None) as bar:
            report = audit_consistency_report(progress=lambda done: bar.update(done - bar.n))
        for mismatch in report.mismatches[:200]:
            self.stdout.write(f"MISMATCH {mismatch}")
        summary = f"{report.assets} asset(s) and {report.tokens} token class(es) checked"
        if not report.consistent:
            raise CommandError(f"{len(report.mismatches)} mismatch(es); {summary}", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"consistent: {summary}"))
