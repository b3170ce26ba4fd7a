"""`manage.py revalue [--as-of DATE] [--asset-type T] [--jurisdiction CC] [--currency CUR] [--inline]`.

Starts a revaluation run (the same service as `POST revaluation-runs/` and the nightly beat task) and shows its
progress until it ends. By default Celery workers do the work and this command only follows it (Ctrl-C stops
following; the run goes on). With --inline this process works the chunks itself, one after another: for a machine
without workers. Either way an interrupted run can be continued: chunks skip what is already valued.
"""

import sys
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.services import Actor
from rwa_service.exceptions import DomainError
from valuation.models import RevaluationRun, RunStatus
from valuation.services import revaluation_chunk_process, revaluation_run_start

_ENDED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


def _bar(run: RevaluationRun, width: int = 40) -> str:
    finished = run.done + run.failed
    filled = int(width * finished / run.total) if run.total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{run.total} (done {run.done}, failed {run.failed})"


class Command(BaseCommand):
    help = "Revalue assets that have a valuation policy as of a date, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument("--asset-type")
        parser.add_argument("--jurisdiction")
        parser.add_argument("--currency")
        parser.add_argument("--inline", action="store_true", help="work the chunks in this process")
        parser.add_argument("--poll", type=float, default=1.0, help="seconds between progress reads")

    def handle(self, *args, **options):
        try:
            run = revaluation_run_start(
                actor=Actor.system("revalue_command"),
                as_of=options["as_of"] or timezone.localdate(),
                asset_type=options["asset_type"],
                jurisdiction=options["jurisdiction"],
                currency=options["currency"],
            )
        except DomainError as exc:
            raise CommandError(f"{exc.detail} {exc.errors or ''}".strip()) from exc
        self.stdout.write(f"run {run.pk}: {run.total} asset(s) as of {run.as_of}")
        if options["inline"]:
            for chunk_id in run.chunks.order_by("number").values_list("pk", flat=True):
                revaluation_chunk_process(chunk_id=chunk_id)
                run.refresh_from_db()
                self._progress(run)
        else:
            while True:
                run.refresh_from_db()
                self._progress(run)
                if run.status in _ENDED:
                    break
                time.sleep(options["poll"])
        run.refresh_from_db()
        sys.stderr.write("\n")
        for failure in run.failures.select_related("asset")[:50]:
            self.stdout.write(f"failed: {failure.asset.reference}: {failure.reason}")
        if run.failed > 50:
            self.stdout.write(f"... and {run.failed - 50} more (see the run in the admin or the API)")
        message = f"run {run.pk} {run.status}: {run.done} valued, {run.failed} failed of {run.total}"
        if run.status != RunStatus.SUCCEEDED or run.failed:
            raise CommandError(message)
        self.stdout.write(self.style.SUCCESS(message))

    def _progress(self, run: RevaluationRun) -> None:
        sys.stderr.write(f"\r{_bar(run)} {run.status}")
        sys.stderr.flush()
