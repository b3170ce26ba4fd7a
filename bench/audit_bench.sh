#!/usr/bin/env bash
# Audit benchmark (issue #5), in one run on this machine:
#   1. a fresh PostgreSQL database, migrated; BENCH_EVENTS chained audit events written by the service that writes
#      them in production (bench/audit_seed.py: audit_events_record, batches of 5,000);
#   2. the physical limit over the same rows: `psql -c "COPY audit_auditevent TO STDOUT" | sha256sum`;
#   3. `manage.py verify_audit --no-checkpoints --json` (the whole command, Django start-up included) and
#      `manage.py export_audit --format jsonl --output FILE`, each timed with its peak RSS (/usr/bin/time);
#   BENCH_ROUNDS rounds of 2 and 3 (medians reported); the verification must say valid with the full length and the
#   export must hold one line per event.
# Usage: bash bench/audit_bench.sh     Knobs: BENCH_EVENTS=1000000 BENCH_ROUNDS=3 BENCH_DB=rwa_bench_audit
#   BENCH_PG=postgres://postgres@127.0.0.1:5432 BENCH_KEEP_DB=1
# Exit status: 0 targets met (verification ≥ 30 % of the COPY rate, peak RSS ≤ 150 MB), 1 failure, 2 missed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
N_EVENTS="${BENCH_EVENTS:-1000000}"
ROUNDS="${BENCH_ROUNDS:-3}"
DB_NAME="${BENCH_DB:-rwa_bench_audit}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$ROOT/bench/results/audit-$STAMP"
mkdir -p "$OUT"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { echo "audit_bench: $*" >&2; exit 1; }

# shellcheck source=bench/production_env.sh
source "$ROOT/bench/production_env.sh"
bench_production_env "$PG/$DB_NAME" "rwa-bench-audit-$STAMP" redis://127.0.0.1:6379/7 redis://127.0.0.1:6379/9

cleanup() {
  local status=$?
  [[ "${BENCH_KEEP_DB:-0}" == 1 ]] || dropdb --if-exists --force --maintenance-db="$PG/postgres" "$DB_NAME" 2>/dev/null
  rm -f "$OUT/export.jsonl"
  exit "$status"
}
trap cleanup EXIT

log "fresh database $DB_NAME, $N_EVENTS events"
dropdb --if-exists --force --maintenance-db="$PG/postgres" "$DB_NAME" 2>/dev/null
createdb --maintenance-db="$PG/postgres" "$DB_NAME"
"$PY" manage.py migrate --noinput >"$OUT/migrate.log" 2>&1 || die "migrate failed"
"$PY" bench/audit_seed.py --events "$N_EVENTS" >"$OUT/seed.log" 2>&1 || { tail "$OUT/seed.log" >&2; die "seeding failed"; }
tail -1 "$OUT/seed.log" >&2
psql -q -d "$DATABASE_URL" -c "VACUUM ANALYZE audit_auditevent" >/dev/null
SIZE=$(psql -tA -d "$DATABASE_URL" -c "SELECT pg_size_pretty(pg_relation_size('audit_auditevent'))")

seconds() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
for round in $(seq "$ROUNDS"); do
  log "round $round: COPY | sha256sum"
  start=$(date +%s.%N)
  psql -d "$DATABASE_URL" -c "COPY audit_auditevent TO STDOUT" | sha256sum >"$OUT/copy-$round.sha256"
  echo "$(seconds "$start" "$(date +%s.%N)")" >>"$OUT/copy.seconds"

  log "round $round: verify_audit"
  /usr/bin/time -f "%e %M" -o "$OUT/verify-$round.time" \
    "$PY" manage.py verify_audit --no-checkpoints --json >"$OUT/verify-$round.json" 2>"$OUT/verify-$round.err" ||
    { cat "$OUT/verify-$round.json" "$OUT/verify-$round.err" >&2; die "verification failed"; }

  log "round $round: export_audit --format jsonl"
  /usr/bin/time -f "%e %M" -o "$OUT/export-$round.time" \
    "$PY" manage.py export_audit --format jsonl --output "$OUT/export.jsonl" 2>"$OUT/export-$round.err" ||
    { tail "$OUT/export-$round.err" >&2; die "export failed"; }
  lines=$(wc -l <"$OUT/export.jsonl")
  [[ "$lines" == "$N_EVENTS" ]] || die "the export holds $lines lines, not $N_EVENTS"
done

"$PY" - "$OUT" "$N_EVENTS" "$ROUNDS" "$SIZE" <<'PYEOF'
import json, statistics, sys
from pathlib import Path
out, n, rounds, size = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
copy = [float(x) for x in (out / "copy.seconds").read_text().split()]
def timed(kind):
    rows = [(out / f"{kind}-{r}.time").read_text().split() for r in range(1, rounds + 1)]
    return [float(a) for a, _ in rows], [int(b) * 1024 / 1e6 for _, b in rows]
verify_s, verify_mb = timed("verify")
export_s, export_mb = timed("export")
for r in range(1, rounds + 1):
    report = json.loads((out / f"verify-{r}.json").read_text())
    assert report["valid"] and report["length"] == n, report
c, v, e = statistics.median(copy), statistics.median(verify_s), statistics.median(export_s)
ratio = c / v
print(f"| events | table | COPY \\| sha256sum | verify_audit | verify / COPY | verify peak RSS | export_audit (jsonl) | export peak RSS |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {n:,} | {size} | {c:.2f} s ({n / c:,.0f}/s) | {v:.2f} s ({n / v:,.0f}/s) | {100 * ratio:.1f} % | "
      f"{max(verify_mb):.1f} MB | {e:.2f} s ({n / e:,.0f}/s) | {max(export_mb):.1f} MB |")
print(f"rounds: COPY {copy} s, verify {verify_s} s, export {export_s} s; every verification valid with {n:,} events")
sys.exit(0 if ratio >= 0.30 and max(verify_mb) <= 150 else 2)
PYEOF
