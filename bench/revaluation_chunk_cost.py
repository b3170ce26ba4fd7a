"""Where a revaluation chunk's time goes, per asset: Python CPU of the worker and CPU of its PostgreSQL backend.

Run against a database the revaluation benchmark left behind (`BENCH_KEEP_DB=1 BENCH_ASSETS=20000 bash
bench/revaluation_bench.sh`), with the same environment (production settings, DATABASE_URL of that database):

    python bench/revaluation_chunk_cost.py --days-ago 7 --chunk 500

It makes a run dated `--days-ago` days back over the first 8 chunks' worth of assets, values one chunk to warm up,
then seven through the service (`revaluation_chunk_process`) in this process, and prints the averages.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rwa_service.settings.production")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from valuation.models import RevaluationChunk, RevaluationRun, RunStatus, ValuationPolicy  # noqa: E402
from valuation.services.runs import revaluation_chunk_process  # noqa: E402


def backend_cpu_seconds() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    fields = Path(f"/proc/{pid}/stat").read_text().split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days-ago", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=500)
    args = parser.parse_args()
    size, as_of = args.chunk, timezone.localdate() - timedelta(days=args.days_ago)
    policies = ValuationPolicy.objects.order_by("asset_id").values_list("asset_id", flat=True)
    ids = [str(pk) for pk in policies[: size * 8]]
    run = RevaluationRun.objects.create(
        as_of=as_of, filters={}, status=RunStatus.RUNNING, started_by="bench", total=len(ids)
    )
    chunks = [
        RevaluationChunk.objects.create(run=run, number=n, asset_ids=ids[n * size : (n + 1) * size]) for n in range(8)
    ]
    revaluation_chunk_process(chunk_id=chunks[0].pk)  # warm-up: imports, caches, connection
    pg_before, wall, cpu = backend_cpu_seconds(), time.perf_counter(), time.process_time()
    for chunk in chunks[1:]:
        revaluation_chunk_process(chunk_id=chunk.pk)
    wall, cpu, pg = time.perf_counter() - wall, time.process_time() - cpu, backend_cpu_seconds() - pg_before
    valued = sum(len(chunk.asset_ids) for chunk in chunks[1:])
    print(
        f"{valued} assets in chunks of {size}: per asset {wall / valued * 1e6:.0f} µs wall, "
        f"{cpu / valued * 1e6:.0f} µs Python CPU, {pg / valued * 1e6:.0f} µs PostgreSQL CPU"
    )


if __name__ == "__main__":
    main()
