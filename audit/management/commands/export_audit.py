"""`manage.py export_audit [--since] [--until] [--format jsonl|csv] [--output FILE]`: the trail, streamed."""

import os
import sys
from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from audit.export import FORMATS, audit_export_lines
from audit.selectors import audit_event_list


def _moment(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None and (day := parse_date(value)) is not None:
        moment = datetime.combine(day, time.min)
    if moment is None:
        raise CommandError(f"--{name}: not a date or an ISO 8601 time: {value!r}", returncode=2)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, timezone.get_current_timezone())


class Command(BaseCommand):
    help = "Export the audit trail as JSON lines or CSV, streaming, with a progress bar on stderr."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", help="from this date or time (inclusive)")
        parser.add_argument("--until", help="up to this date or time (exclusive)")
        parser.add_argument("--format", choices=FORMATS, default="jsonl")
        parser.add_argument("--output", help="a file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        since, until = _moment(options["since"], "since"), _moment(options["until"], "until")
        total = audit_event_list(since=since, until=until).count()
        out = open(options["output"], "w", encoding="utf-8", newline="") if options["output"] else None
        write = out.write if out is not None else lambda line: self.stdout.write(line, ending="")
        try:
            with tqdm(total=total, unit="event", file=sys.stderr, disable=None) as bar:
                for number, line in enumerate(audit_export_lines(fmt=options["format"], since=since, until=until)):
                    write(line)
                    if number % 1000 == 999:
                        bar.update(1000)
                bar.update(total - bar.n)
        except BrokenPipeError:  # the reader stopped early (`| head`): not an error of the export
            sys.stdout = open(os.devnull, "w")
            return
        finally:
            if out is not None:
                out.close()
        self.stderr.write(f"exported {total} event(s)")
