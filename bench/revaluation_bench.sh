#!/usr/bin/env bash
# Revaluation benchmark (issue #4), in one run on this machine:
#   1. a fresh PostgreSQL database, migrated; BENCH_ASSETS assets (bench/seed.py), each with an approved appraisal on
#      BASE_DATE and an `index` valuation policy on the series HPI-BENCH (bench/revaluation_seed.py, set-based SQL);
#   2. the physical limit: the same revaluation as ONE set-based SQL statement (bench/revaluation_sql.py: supersede
#      every appraisal, insert its index-moved value), timed and rolled back;
#   3. the service: 2 Celery worker processes (production settings, Redis broker) and `manage.py revalue --as-of`
#      (a run in chunks through the services: one transaction and one audit event per valuation), timed from start
#      to the run's end, worker RSS sampled every 0.5 s;
#   4. checks: every asset valued exactly once for the date, run succeeded, audit chain valid; a summary on stdout.
# Usage: bash bench/revaluation_bench.sh     Knobs: BENCH_ASSETS=1000000 BENCH_DB=rwa_bench_reval
#   BENCH_PG=postgres://postgres@127.0.0.1:5432 BENCH_BROKER_URL=redis://127.0.0.1:6379/9 BENCH_WORKERS=2
#   REVALUATION_CHUNK_SIZE (unset: the service's default) BENCH_KEEP_DB=1
# Exit status: 0 targets met (run ≥ 25 % of the SQL statement's speed, worker RSS ≤ 200 MB), 1 failure, 2 missed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
N_ASSETS="${BENCH_ASSETS:-1000000}"
DB_NAME="${BENCH_DB:-rwa_bench_reval}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
WORKERS="${BENCH_WORKERS:-2}"
BASE_DATE="$(date -u -d '60 days ago' +%F)"
AS_OF="$(date -u -d '1 day ago' +%F)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$ROOT/bench/results/revaluation-$STAMP"
mkdir -p "$OUT"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { echo "revaluation_bench: $*" >&2; exit 1; }

# shellcheck source=bench/production_env.sh
source "$ROOT/bench/production_env.sh"
bench_production_env "$PG/$DB_NAME" "rwa-bench-reval-$STAMP" redis://127.0.0.1:6379/7 redis://127.0.0.1:6379/9
[[ -z "${REVALUATION_CHUNK_SIZE:-}" ]] || export REVALUATION_CHUNK_SIZE

PIDS=()
cleanup() {
  local status=$?
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  [[ "${BENCH_KEEP_DB:-0}" == 1 ]] || dropdb --if-exists --force --maintenance-db="$PG/postgres" "$DB_NAME" 2>/dev/null
  exit "$status"
}
trap cleanup EXIT

log "fresh database $DB_NAME, $N_ASSETS assets"
dropdb --if-exists --force --maintenance-db="$PG/postgres" "$DB_NAME" 2>/dev/null
createdb --maintenance-db="$PG/postgres" "$DB_NAME"
"$PY" manage.py migrate --noinput >"$OUT/migrate.log" 2>&1 || die "migrate failed"
"$PY" bench/seed.py --assets "$N_ASSETS" --username bench-valuer --password "bench-$STAMP" \
  --ids-file "$OUT/ids.txt" >"$OUT/seed.log" 2>&1 || { tail "$OUT/seed.log" >&2; die "seeding assets failed"; }
"$PY" bench/revaluation_seed.py --base-date "$BASE_DATE" --as-of "$AS_OF" >>"$OUT/seed.log" 2>&1 ||
  { tail "$OUT/seed.log" >&2; die "seeding valuations failed"; }
tail -1 "$OUT/seed.log" >&2
psql -q -d "$DATABASE_URL" -c "VACUUM ANALYZE" >/dev/null
redis-cli -u "$CELERY_BROKER_URL" FLUSHDB >/dev/null 2>&1 || true

log "the set-based SQL statement"
read -r SQL_SECONDS SQL_ROWS < <("$PY" bench/revaluation_sql.py --as-of "$AS_OF")
[[ -n "${SQL_ROWS:-}" && "$SQL_ROWS" -gt 0 ]] || die "the SQL statement revalued nothing"
log "SQL: $SQL_ROWS rows in $SQL_SECONDS s"

log "starting $WORKERS Celery workers"
for i in $(seq "$WORKERS"); do
  setsid "$ROOT/.venv/bin/celery" -A rwa_service worker --pool=solo -Q default -n "bench-reval-$i@%h" \
    --without-gossip --without-mingle --without-heartbeat --loglevel=WARNING >"$OUT/worker-$i.log" 2>&1 &
  PIDS+=("$!")
done
sleep 3
( while :; do
    for pid in "${PIDS[@]}"; do awk -v p="$pid" '/^VmRSS:/ {print p, $2}' "/proc/$pid/status" 2>/dev/null; done
    sleep 0.5
  done ) >"$OUT/rss.txt" &
SAMPLER=$!

log "manage.py revalue --as-of $AS_OF (followed until it ends)"
START=$(date +%s.%N)
"$PY" manage.py revalue --as-of "$AS_OF" --poll 0.5 >"$OUT/revalue.log" 2>"$OUT/revalue.progress" || true
END=$(date +%s.%N)
kill "$SAMPLER" 2>/dev/null || true
RUN_SECONDS=$(awk -v a="$START" -v b="$END" 'BEGIN {printf "%.3f", b - a}')
tail -2 "$OUT/revalue.log" >&2

"$PY" - "$AS_OF" "$N_ASSETS" "$SQL_SECONDS" "$RUN_SECONDS" "$OUT" <<'PYEOF'
import os, sys
from pathlib import Path
sys.path.insert(0, os.getcwd())
import django
django.setup()
from audit.selectors import audit_chain_verify
from valuation.models import RevaluationRun, Valuation
from django.db.models import Count
as_of, n, sql_s, run_s, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5])
run = RevaluationRun.objects.order_by("-created_at").first()
twice = Valuation.objects.filter(as_of=as_of, run__isnull=False).values("asset").annotate(n=Count("id")).filter(n__gt=1).count()
valued = Valuation.objects.filter(as_of=as_of, run=run).count()
rss = [int(line.split()[1]) for line in (out / "rss.txt").read_text().splitlines() if line.strip()]
peak_mb = max(rss) * 1024 / 1e6 if rss else 0.0
ratio = sql_s / run_s if run_s else 0.0
chain = audit_chain_verify().valid
ok = run.status == "succeeded" and valued == run.total and twice == 0 and chain
print(f"| assets | SQL statement | run ({os.environ.get('BENCH_WORKERS', '2')} workers) | run / SQL speed | worker RSS max | run status |")
print("|---:|---:|---:|---:|---:|---|")
m = run.total  # the run's assets: those with a policy that are not retired (the SQL statement revalues the same)
print(f"| {n:,} ({m:,} revalued) | {sql_s:.2f} s ({m / sql_s:,.0f}/s) | {run_s:.1f} s ({m / run_s:,.0f}/s) | {100 * ratio:.2f} % | {peak_mb:.1f} MB | {run.status}, {run.done} done, {run.failed} failed |")
print(f"checks: every asset of the run valued once={valued == m and twice == 0}, audit chain valid={chain}")
sys.exit(1 if not ok else (0 if ratio >= 0.25 and peak_mb <= 200 else 2))
PYEOF
