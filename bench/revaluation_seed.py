"""Seeds the revaluation benchmark (issue #4) on top of bench/seed.py's assets: an index series `HPI-BENCH` with
levels on two dates, one approved appraisal per asset on the first date, and a valuation policy per asset asking
for the `index` method on that series — all written with set-based SQL (a benchmark seed, not a service path).

    python bench/revaluation_seed.py --base-date 2026-10-01 --as-of 2026-11-27
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rwa_service.settings.production")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

SERIES = "HPI-BENCH"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-date", required=True)
    parser.add_argument("--as-of", required=True)
    args = parser.parse_args()
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO valuation_priceseries (code, name, kind, unit, currency, base_currency, created_at,"
            " updated_at) VALUES (%s, 'Bench index', 'index', '', '', '', now(), now()) RETURNING id",
            [SERIES],
        )
        (series_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO valuation_priceobservation (series_id, date, value, created_at, updated_at)"
            " VALUES (%s, %s, 100, now(), now()), (%s, %s, 103.7, now(), now())",
            [series_id, args.base_date, series_id, args.as_of],
        )
        cursor.execute(
            """
            INSERT INTO valuation_valuation (id, asset_id, method, value, currency, as_of, inputs, status,
                recorded_by_name, approved_at, status_reason, created_at, updated_at)
            SELECT gen_random_uuid(), a.id, 'appraisal', 1000000 + (row_number() OVER (ORDER BY a.id) %% 1000) * 1000,
                a.currency, %s, '{}'::jsonb, 'approved', 'bench-seed', now(), '', now(), now()
            FROM assets_asset a
            """,
            [args.base_date],
        )
        cursor.execute(
            "UPDATE assets_asset a SET current_valuation_ref = v.id FROM valuation_valuation v"
            " WHERE v.asset_id = a.id AND v.status = 'approved'"
        )
        cursor.execute(
            "INSERT INTO valuation_valuationpolicy (asset_id, method, inputs, created_at, updated_at)"
            " SELECT id, 'index', %s::jsonb, now(), now() FROM assets_asset",
            [f'{{"series": "{SERIES}"}}'],
        )
        cursor.execute("SELECT count(*) FROM valuation_valuationpolicy")
        (policies,) = cursor.fetchone()
    print(f"seeded {policies} appraisals and index policies on {SERIES} in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
