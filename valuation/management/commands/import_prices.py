"""`manage.py import_prices FILE`: bulk-load price observations from a CSV with the header `series,date,value`.

Rows go in through `price_observations_add` (one transaction and one audit event per batch), as the system actor
`system:import_prices`. Bad rows (a malformed date or value, an unknown series, a date the series already has with
another value, a date given twice) are reported with their line number and reason; the good rows are kept. A row whose
date the series already has *with the same value* counts as unchanged, so an interrupted import can simply be run
again. The exit status is 1 when any row failed.
"""

import csv
import sys
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import Actor
from rwa_service.exceptions import Conflict, NotFound, ValidationFailed
from valuation.models import SeriesKind
from valuation.price_services import (
    MAX_OBSERVATIONS_PER_CALL,
    parse_observation,
    price_observations_add,
    price_series_create,
)

HEADER = ("series", "date", "value")
BAR_WIDTH = 30


@dataclass
class Row:
    line: int
    series: str
    raw: dict[str, Any]
    value: Decimal | None = None


class Command(BaseCommand):
    help = "Import price observations from a CSV (header: series,date,value), in batches, with a per-row report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file with the header series,date,value ('-' reads standard input).")
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="Create series the file names that do not exist yet (needs --kind).",
        )
        parser.add_argument("--kind", choices=SeriesKind.values, help="Kind of the series --create-missing creates.")
        parser.add_argument(
            "--currency",
            default="",
            help="Currency of created price/fx series (default: the code's last part, e.g. XAU-USD → USD).",
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help=f"Rows per transaction (1–{MAX_OBSERVATIONS_PER_CALL})."
        )
        parser.add_argument("--errors", help="Also write the failed rows, with their reason, to this CSV file.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["create_missing"] and not options["kind"]:
            raise CommandError("--create-missing needs --kind (index, price or fx).")
        if not 1 <= options["batch_size"] <= MAX_OBSERVATIONS_PER_CALL:
            raise CommandError(f"--batch-size must be between 1 and {MAX_OBSERVATIONS_PER_CALL}.")
        self.actor = Actor.system("import_prices")
        self.options = options
        self.failures: list[tuple[int, str, str]] = []  # (line, series, reason)
        self.added = self.unchanged = self.done = 0
        self.missing: set[str] = set()

        rows = self._read(options["file"])
        self.total = len(rows) + len(self.failures)
        self.done = len(self.failures)
        by_series: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            by_series[row.series].append(row)
        for code, series_rows in by_series.items():
            for start in range(0, len(series_rows), options["batch_size"]):
                self._import_batch(code, series_rows[start : start + options["batch_size"]])
                self._progress()
        self._report()

    # --- reading ----------------------------------------------------------------------------------------------------

    def _read(self, path: str) -> list[Row]:
        try:
            handle = sys.stdin if path == "-" else open(path, newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        with handle:
            reader = csv.DictReader(handle)
            fields = [name.strip().lower() for name in reader.fieldnames or []]
            if not set(HEADER) <= set(fields):
                raise CommandError(f"The first line must be the header {','.join(HEADER)} (found: {','.join(fields)}).")
            reader.fieldnames = fields
            rows = []
            for record in reader:
                line = reader.line_num
                if not any((value or "").strip() for value in record.values() if isinstance(value, str)):
                    continue  # a blank line
                rows.append(self._parse(line, record))
        return [row for row in rows if row is not None]

    def _parse(self, line: int, record: dict[str, Any]) -> Row | None:
        series = (record.get("series") or "").strip().upper()
        raw = {"date": (record.get("date") or "").strip(), "value": (record.get("value") or "").strip()}
        _, value, errors = parse_observation(raw)
        if not series:
            errors = {"series": ["This field is required."], **errors}
        if errors:
            self._fail(line, series, "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))
            return None
        return Row(line=line, series=series, raw=raw, value=value)

    # --- writing ----------------------------------------------------------------------------------------------------

    def _import_batch(self, code: str, batch: list[Row]) -> None:
        """Adds the batch; rows the service refuses are reported and the rest retried, so good rows are kept."""
        pending = list(batch)
        while pending:
            if code in self.missing:
                self._fail_all(pending, f"unknown series {code}")
                return
            try:
                created = price_observations_add(
                    actor=self.actor, series_code=code, observations=[row.raw for row in pending]
                )
            except NotFound:
                if not self._create_series(code, pending):
                    return
                continue
            except Conflict as exc:
                pending = self._drop_duplicates(pending, exc)
                continue
            except ValidationFailed as exc:  # rows parsed here already: only a rule the parser does not know
                pending = self._drop_invalid(pending, exc)
                continue
            self.added += len(created)
            self.done += len(pending)
            return

    def _create_series(self, code: str, pending: list[Row]) -> bool:
        if not self.options["create_missing"]:
            self.missing.add(code)
            self._fail_all(pending, f"unknown series {code} (use --create-missing --kind ... to create it)")
            return False
        kind = self.options["kind"]
        parts = code.split("-")
        currency = self.options["currency"] or (parts[-1] if len(parts) > 1 and len(parts[-1]) == 3 else "")
        base = parts[0] if kind == SeriesKind.FX and len(parts) == 2 and len(parts[0]) == 3 else ""
        try:
            price_series_create(
                actor=self.actor,
                code=code,
                name=code,
                kind=kind,
                currency=currency if kind != SeriesKind.INDEX or self.options["currency"] else "",
                base_currency=base,
            )
        except (ValidationFailed, Conflict) as exc:
            reasons = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in (exc.errors or {}).items())
            self.missing.add(code)
            self._fail_all(pending, f"cannot create series {code}: {exc.detail} {reasons}".strip())
            return False
        self.stderr.write(f"Created {kind} series {code}.")
        return True

    def _drop_duplicates(self, pending: list[Row], exc: Conflict) -> list[Row]:
        duplicates = {entry["index"]: entry for entry in exc.extra.get("duplicates", [])}
        if not duplicates:
            self._fail_all(pending, exc.detail)
            return []
        for index, entry in duplicates.items():
            row = pending[index]
            stored = entry.get("stored_value")
            if stored is not None and Decimal(stored) == row.value:
                self.unchanged += 1
                self.done += 1
            elif stored is not None:
                self._fail(row.line, row.series, f"{entry['date']} is already stored with another value ({stored})")
            else:
                self._fail(row.line, row.series, f"{entry['date']} is given twice for {row.series} in this file")
        return [row for index, row in enumerate(pending) if index not in duplicates]

    def _drop_invalid(self, pending: list[Row], exc: ValidationFailed) -> list[Row]:
        bad: dict[int, list[str]] = defaultdict(list)
        for key, msgs in (exc.errors or {}).items():
            index, _, field = str(key).partition(".")
            if index.isdigit() and int(index) < len(pending):
                bad[int(index)].append(f"{field}: {' '.join(map(str, msgs))}")
        if not bad:
            self._fail_all(pending, exc.detail)
            return []
        for index, reasons in bad.items():
            self._fail(pending[index].line, pending[index].series, "; ".join(reasons))
        return [row for index, row in enumerate(pending) if index not in bad]

    # --- reporting --------------------------------------------------------------------------------------------------

    def _fail(self, line: int, series: str, reason: str) -> None:
        self.failures.append((line, series, reason))
        self.done += 1

    def _fail_all(self, rows: list[Row], reason: str) -> None:
        for row in rows:
            self._fail(row.line, row.series, reason)

    def _progress(self) -> None:
        share = self.done / self.total if self.total else 1
        filled = int(share * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stderr.write(
            f"[{bar}] {share:4.0%} {self.done}/{self.total} rows "
            f"(added {self.added}, unchanged {self.unchanged}, failed {len(self.failures)})"
        )

    def _report(self) -> None:
        failures = sorted(self.failures)
        for line, _series, reason in failures:
            self.stderr.write(f"line {line}: {reason}")
        if self.options.get("errors") and failures:
            with open(self.options["errors"], "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["line", "series", "reason"])
                writer.writerows(failures)
        summary = f"{self.total} row(s): {self.added} added, {self.unchanged} already stored, {len(failures)} failed."
        if failures:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))
