"""`manage.py import_prices`: good rows are kept, bad rows are reported by line with their reason, the exit status
says whether any failed, and a re-run after an interruption is clean."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from tests.valuation.conftest import TODAY
from valuation.models import PriceObservation, PriceSeries

D1, D2, D3 = (str(TODAY - timedelta(days=n)) for n in (3, 2, 1))


def _write(tmp_path, text: str):
    path = tmp_path / "prices.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _run(path: str, *args: str) -> tuple[str, str, CommandError | None]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_prices", path, *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def _stored(code: str) -> list[tuple[str, Decimal]]:
    rows = PriceObservation.objects.filter(series__code=code).order_by("date").values_list("date", "value")
    return [(str(day), value) for day, value in rows]


def test_a_clean_file_is_imported_in_batches_as_the_system(tmp_path, make_series):
    make_series("XAU-USD")
    make_series("HPI-GB-LDN", kind="index")
    path = _write(tmp_path, f"series,date,value\nXAU-USD,{D1},2300.5\nxau-usd,{D2},2310\nHPI-GB-LDN,{D3},101.25\n")

    out, err, failed = _run(path, "--batch-size", "1")

    assert failed is None, err
    assert "3 row(s): 3 added, 0 already stored, 0 failed." in out
    assert "100%" in err and "3/3 rows" in err
    assert _stored("XAU-USD") == [(D1, Decimal("2300.5")), (D2, Decimal("2310"))]
    assert _stored("HPI-GB-LDN") == [(D3, Decimal("101.25"))]
    events = AuditEvent.objects.filter(action="price_observations.added")
    assert events.count() == 3  # one per batch
    assert set(events.values_list("actor", flat=True)) == {"system:import_prices"}


def test_bad_rows_are_reported_by_line_and_the_good_ones_kept(tmp_path, make_series):
    make_series("XAU-USD", observations={D1: "2300"})
    lines = [
        "series,date,value",
        f"XAU-USD,{D2},2310.75",  # 2: good
        "XAU-USD,2026-13-01,2311",  # 3: bad date
        f"XAU-USD,{D3},abc",  # 4: bad value
        f"NOPE,{D2},1",  # 5: unknown series
        f"XAU-USD,{D1},2399",  # 6: stored with another value
        f"XAU-USD,{D2},2310.75",  # 7: given twice in the file
        f",{D2},1",  # 8: no series
        f"XAU-USD,{D3},-1",  # 9: not positive
        f"XAU-USD,{D3},2320",  # 10: good
    ]
    errors_csv = tmp_path / "errors.csv"

    out, err, failed = _run(_write(tmp_path, "\n".join(lines) + "\n"), "--errors", str(errors_csv))

    assert failed is not None and failed.returncode == 1
    assert "9 row(s): 2 added, 0 already stored, 7 failed." in str(failed)
    report = {int(line.split(":")[0].split()[1]): line for line in err.splitlines() if line.startswith("line ")}
    assert sorted(report) == [3, 4, 5, 6, 7, 8, 9]
    assert "date:" in report[3] and "value:" in report[4] and "unknown series NOPE" in report[5]
    assert "another value (2300.0000000000)" in report[6] and "given twice" in report[7]
    assert "series: This field is required." in report[8] and "positive" in report[9]
    assert _stored("XAU-USD") == [(D1, Decimal("2300")), (D2, Decimal("2310.75")), (D3, Decimal("2320"))]
    assert errors_csv.read_text().splitlines()[0] == "line,series,reason"
    assert len(errors_csv.read_text().splitlines()) == 8


def test_a_rerun_after_an_interruption_is_clean(tmp_path, make_series):
    make_series("XAU-USD")
    path = _write(tmp_path, f"series,date,value\nXAU-USD,{D1},2300.5\nXAU-USD,{D2},2310\n")
    _run(path)

    out, _, failed = _run(path)

    assert failed is None
    assert "2 row(s): 0 added, 2 already stored, 0 failed." in out
    assert PriceObservation.objects.count() == 2


def test_missing_series_are_created_on_request(tmp_path, db):
    path = _write(tmp_path, f"series,date,value\nEUR-USD,{D1},1.0825\nGBP-USD,{D1},1.2710\n")

    _, err, failed = _run(path, "--create-missing", "--kind", "fx")

    assert failed is None, err
    eur = PriceSeries.objects.get(code="EUR-USD")
    assert (eur.kind, eur.currency, eur.base_currency) == ("fx", "USD", "EUR")
    assert _stored("GBP-USD") == [(D1, Decimal("1.2710"))]
    assert AuditEvent.objects.filter(action="price_series.created", actor="system:import_prices").count() == 2


def test_a_file_without_the_header_or_missing_is_refused(tmp_path, db):
    with pytest.raises(CommandError, match="header series,date,value"):
        call_command("import_prices", _write(tmp_path, "code,day,price\nX,2026-01-01,1\n"))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_prices", str(tmp_path / "absent.csv"))
    with pytest.raises(CommandError, match="needs --kind"):
        call_command("import_prices", _write(tmp_path, "series,date,value\n"), "--create-missing")
