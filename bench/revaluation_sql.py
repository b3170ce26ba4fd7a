"""The physical limit for the revaluation benchmark: the same revaluation as ONE set-based statement (supersede the
current appraisal of each non-retired asset and insert its index-moved value), timed, then rolled back so the
measured run starts from the same state. Prints the seconds and the row count."""

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

STATEMENT = """
WITH levels AS (
    SELECT (SELECT value FROM valuation_priceobservation o JOIN valuation_priceseries s ON s.id = o.series_id
            WHERE s.code = 'HPI-BENCH' AND o.date <= %(as_of)s ORDER BY o.date DESC LIMIT 1) AS now_level
), old AS (
    UPDATE valuation_valuation v SET status = 'superseded', updated_at = now()
    FROM assets_asset a
    WHERE v.status = 'approved' AND v.method = 'appraisal' AND a.id = v.asset_id AND a.status <> 'retired'
    RETURNING v.asset_id, v.value, v.currency, v.as_of
)
INSERT INTO valuation_valuation (id, asset_id, method, value, currency, as_of, inputs, status, recorded_by_name,
    approved_at, status_reason, created_at, updated_at)
SELECT gen_random_uuid(), old.asset_id, 'index',
    round(old.value * levels.now_level / (SELECT o.value FROM valuation_priceobservation o
        JOIN valuation_priceseries s ON s.id = o.series_id
        WHERE s.code = 'HPI-BENCH' AND o.date <= old.as_of ORDER BY o.date DESC LIMIT 1), 6),
    old.currency, %(as_of)s, '{}'::jsonb, 'approved', 'bench-sql', now(), '', now(), now()
FROM old, levels
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--as-of", required=True)
    args = parser.parse_args()
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(STATEMENT, {"as_of": args.as_of})
        rows = cursor.rowcount
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    print(f"{elapsed:.3f} {rows}")


if __name__ == "__main__":
    main()
