#!/usr/bin/env bash
# Transfer benchmark (issue #3): settled transfers per second through the API at 16 connections on PostgreSQL, with
# every transfer rule on and the audit trail written, beside pgbench's built-in TPC-B-like script on the same
# PostgreSQL server in the same run.
#   1. fresh databases: BENCH_DB (dropped, created, migrated, seeded by transfer_seed.py: one token with every rule
#      set, BENCH_INVESTORS verified investors with one wallet each, 10^9 units minted to each, mint entries
#      backdated two days SEED-ONLY so the one-day lock-up rule passes) and BENCH_PGBENCH_DB (pgbench -i -s 10);
#   2. the service under gunicorn with production settings (DEBUG off, access log off, Redis cache), the same
#      config file and worker shape as bench/http_bench.sh (2 sync workers unless WEB_CONCURRENCY/GUNICORN_THREADS);
#   3. checks before measuring: a transfer-check over HTTP allows a sample transfer with every rule configured and
#      passing, one transfer answers 201 and its replay the same body with Idempotent-Replayed;
#   4. the API run: wrk (BENCH_CONNECTIONS connections, BENCH_WRK_THREADS threads, --latency) with wrk_transfer.lua
#      (two different random wallets, 1..10 units, a unique Idempotency-Key per request): warm-up, ANALYZE (the
#      planner's statistics then know recent entries, as autovacuum's would on a live ledger), the measured run with
#      database snapshots around it (transfer_verify.py); the rate is the transfer entries created inside the run's
#      wall-clock window divided by that window;
#   5. the pgbench run right after it (not concurrently): pgbench -c BENCH_CONNECTIONS -j BENCH_WRK_THREADS -T … -P 5
#      over the built-in TPC-B-like script, per-transaction log for its latency percentiles;
#   6. verification (transfer_verify.py check): settled entries == 201s seen (± in-flight at the deadline), one audit
#      event and one stored 201 answer per entry, supply unchanged == holders' balances, ledger balanced, audit chain
#      verifies; the SQL of one transfer (transfer_verify.py queries, rolled back); with py-spy (BENCH_PYSPY), a
#      profile of one worker under the same load after the measured runs;
#   7. transfer_report.py prints a markdown table; raw files in bench/results/transfer-<UTC time>/ (gitignored;
#      bench/results/transfer-latest links to the newest).
# Before each measured run it waits (up to BENCH_QUIET_WAIT s) for other load on the machine to stop, and issues a
# CHECKPOINT so neither run pays for the other's dirty buffers.
#
# Usage: bash bench/transfer_bench.sh        (from anywhere; uses .venv in the repo root)
# Knobs (environment): WEB_CONCURRENCY=2 GUNICORN_THREADS=1 BENCH_CONNECTIONS=16 BENCH_WRK_THREADS=2
#   BENCH_SECONDS=20 BENCH_WARMUP_SECONDS=5 BENCH_INVESTORS=50 BENCH_WALLET_REF=address|id (what requests name)
#   BENCH_DB=rwa_bench_tx BENCH_PGBENCH_DB=rwa_bench_pgbench BENCH_PGBENCH_SCALE=10 BENCH_APP_PORT=18100
#   BENCH_PG=postgres://postgres@127.0.0.1:5432 BENCH_REDIS_URL=redis://127.0.0.1:6379/7
#   BENCH_BROKER_URL=redis://127.0.0.1:6379/8 BENCH_QUIET_WAIT=60 BENCH_KEEP_DB=1 (keep both databases)
#   BENCH_GUNICORN_CONF=deploy/gunicorn.conf.py BENCH_PYSPY=/tmp/venv-prof/bin/py-spy BENCH_PROFILE=0 (skip it)
#   BENCH_MAX_NON201=0.001 (largest share of non-201 answers for a valid run)
# Exit status: 0 all targets met; 1 the benchmark failed (setup, server, verification, too many non-201 answers);
# 2 it ran but missed a target (transfers/s ≥ 15 % of pgbench tps, p99 ≤ 150 ms).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
GUNICORN="$VENV/bin/gunicorn"

export WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
export GUNICORN_THREADS="${GUNICORN_THREADS:-1}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
WRK_THREADS="${BENCH_WRK_THREADS:-2}"
SECONDS_RUN="${BENCH_SECONDS:-20}"
WARMUP_SECONDS="${BENCH_WARMUP_SECONDS:-5}"
N_INVESTORS="${BENCH_INVESTORS:-50}"
WALLET_REF="${BENCH_WALLET_REF:-address}"
DB_NAME="${BENCH_DB:-rwa_bench_tx}"
PGB_DB="${BENCH_PGBENCH_DB:-rwa_bench_pgbench}"
PGB_SCALE="${BENCH_PGBENCH_SCALE:-10}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
APP_PORT="${BENCH_APP_PORT:-18100}"
HOST=127.0.0.1
GUNICORN_CONF="${BENCH_GUNICORN_CONF:-deploy/gunicorn.conf.py}"
PYSPY="${BENCH_PYSPY:-/tmp/venv-prof/bin/py-spy}"

die() { echo "transfer_bench: $*" >&2; exit 1; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

[[ -x "$PY" && -x "$GUNICORN" ]] || die "no venv at $VENV (run 'make test' or 'make run' once to create it)"
command -v wrk >/dev/null || die "wrk not found (apt-get install -y wrk)"
PGBENCH="$(command -v pgbench || true)"
[[ -n "$PGBENCH" ]] || PGBENCH="$(ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1 || true)"
[[ -x "$PGBENCH" ]] || die "pgbench not found (apt-get install -y postgresql-contrib)"
for tool in createdb dropdb psql curl; do command -v "$tool" >/dev/null || die "$tool not found"; done
[[ "$WALLET_REF" == address || "$WALLET_REF" == id ]] || die "BENCH_WALLET_REF is address or id"
[[ "$SECONDS_RUN" =~ ^[0-9]+$ && "$WARMUP_SECONDS" =~ ^[0-9]+$ ]] || die "BENCH_SECONDS/BENCH_WARMUP_SECONDS: whole seconds"

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$ROOT/bench/results/transfer-$STAMP"
mkdir -p "$OUT"
ln -sfn "transfer-$STAMP" "$ROOT/bench/results/transfer-latest"

# --- environment for the service: production settings, loopback only (bench/production_env.sh) ----------------
# shellcheck source=bench/production_env.sh
source "$ROOT/bench/production_env.sh"
# Transfers enqueue nothing, and the seed runs the tokenize operation itself.
bench_production_env "$PG/$DB_NAME" "rwa-bench-tx-$STAMP" redis://127.0.0.1:6379/7 redis://127.0.0.1:6379/8

PIDS=()
DBS_CREATED=()
NAP=""
nap() { sleep "$1" & NAP=$!; wait "$NAP"; NAP=""; }  # a sleep that a signal interrupts at once (trap runs)
cleanup() {
  local status=$?
  set +e
  [[ -n "$NAP" ]] && kill "$NAP" 2>/dev/null
  for pid in "${PIDS[@]}"; do  # the background jobs and what they started (wrk, pgbench under `time`)
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ "${BENCH_KEEP_DB:-0}" != 1 ]]; then
    for db in "${DBS_CREATED[@]}"; do
      dropdb --if-exists --force --maintenance-db="$PG/postgres" "$db" 2>/dev/null || true
    done
  elif ((${#DBS_CREATED[@]})); then
    log "kept databases: ${DBS_CREATED[*]}"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fresh_db() {  # name
  PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists --force --maintenance-db="$PG/postgres" "$1"
  createdb --maintenance-db="$PG/postgres" "$1"
  DBS_CREATED+=("$1")
}

sql() { psql -qtAX -d "$DATABASE_URL" -c "$1"; }

# --- 1. databases ----------------------------------------------------------------------------------------------------
log "fresh database $DB_NAME"
fresh_db "$DB_NAME"
"$PY" manage.py migrate --noinput >"$OUT/migrate.log" 2>&1 || { tail -20 "$OUT/migrate.log" >&2; die "migrate failed"; }

USERNAME=bench-tx-operator
PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')"
log "seeding $N_INVESTORS investors and wallets, one token with every rule on"
"$PY" bench/transfer_seed.py --username "$USERNAME" --password "$PASSWORD" --out-dir "$OUT" \
  --investors "$N_INVESTORS" >"$OUT/seed.log" 2>&1 || { tail -20 "$OUT/seed.log" >&2; die "seeding failed"; }
cat "$OUT/seed.log" >&2
TOKEN_ID="$(tr -d '[:space:]' <"$OUT/token.txt")"
WALLETS="$OUT/wallets-$WALLET_REF.txt"
sql "VACUUM ANALYZE" >/dev/null

log "fresh database $PGB_DB: pgbench -i -s $PGB_SCALE"
fresh_db "$PGB_DB"
"$PGBENCH" -i -s "$PGB_SCALE" -q "$PG/$PGB_DB" >"$OUT/pgbench-init.log" 2>&1 ||
  { tail -20 "$OUT/pgbench-init.log" >&2; die "pgbench -i failed"; }

# --- 2. the server ---------------------------------------------------------------------------------------------------
log "gunicorn: workers=$WEB_CONCURRENCY threads=$GUNICORN_THREADS on :$APP_PORT"
GUNICORN_BIND="$HOST:$APP_PORT" "$GUNICORN" rwa_service.wsgi:application -c "$GUNICORN_CONF" --no-control-socket \
  >"$OUT/gunicorn-app.log" 2>&1 &
APP_PID=$!
PIDS+=("$APP_PID")
for _ in $(seq 100); do
  curl -s -o /dev/null --max-time 1 "http://$HOST:$APP_PORT/healthz" && break
  kill -0 "$APP_PID" 2>/dev/null || die "gunicorn exited during start-up; see $OUT/gunicorn-app.log"
  sleep 0.2
done
curl -s -o /dev/null --max-time 1 "http://$HOST:$APP_PORT/healthz" || die "gunicorn did not answer within 20 s"

BASE="http://$HOST:$APP_PORT/api/v1/tokens/$TOKEN_ID"
jwt() {
  curl -sf --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"username\":\"$USERNAME\",\"password\":\"$PASSWORD\"}" "http://$HOST:$APP_PORT/api/v1/auth/token/" |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["access"])'
}

# --- 3. checks before measuring ---------------------------------------------------------------------------------------
TOKEN="$(jwt)" || die "could not obtain a JWT"
W1="$(sed -n 1p "$WALLETS")"
W2="$(sed -n 2p "$WALLETS")"
BODY="{\"from_wallet\":\"$W1\",\"to_wallet\":\"$W2\",\"amount\":\"7\"}"
curl -sf --max-time 10 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$BODY" \
  "$BASE/transfer-check/" >"$OUT/check-transfer.json" || die "POST transfer-check did not answer 2xx"
"$PY" - "$OUT/check-transfer.json" <<'EOF' || die "transfer-check: the sample transfer is not allowed by every rule"
import json, sys
decision = json.load(open(sys.argv[1]))
rules = {r["rule"]: r for r in decision["rules"]}
wanted = ["token-active", "not-owner", "sender-frozen", "sender-kyc", "balance", "frozen-amount", "lockup", "velocity",
          "receiver-frozen", "receiver-kyc", "country", "accreditation", "max-holders", "max-balance"]
configured = {"sender-kyc": "verified", "receiver-kyc": "verified", "velocity": "Within the volume limit",
              "max-holders": "at most 1000", "max-balance": "Within the limit of"}
ok = decision["allowed"] and all(name in rules and rules[name]["passed"] for name in wanted)
ok = ok and all(text in rules[name]["detail"] for name, text in configured.items())
print(f"transfer-check: allowed={decision['allowed']}, {len(rules)} rules evaluated, all passed={ok}", file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
KEY="bench-check-$STAMP"
post_once() {  # output file for headers+body
  curl -s --max-time 10 -D "$1.headers" -o "$1" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: $KEY" -d "$BODY" "$BASE/transfers/"
}
[[ "$(post_once "$OUT/check-post-1.json")" == 201 ]] || die "a sample transfer did not answer 201: $(head -c 400 "$OUT/check-post-1.json")"
[[ "$(post_once "$OUT/check-post-2.json")" == 201 ]] || die "the replay of the sample transfer did not answer 201"
grep -qi '^idempotent-replayed: true' "$OUT/check-post-2.json.headers" || die "the replay was not marked Idempotent-Replayed"
cmp -s "$OUT/check-post-1.json" "$OUT/check-post-2.json" || die "the replay answered a different body"
log "checks passed: transfer-check allows the sample with every rule on; 201 and an identical replay"

# --- 4. and 5. load --------------------------------------------------------------------------------------------------
cpu_snapshot() { "$PY" bench/cpu_snapshot.py >"$1" || die "cpu snapshot failed"; }

busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

wait_quiet() {  # other work on the machine skews every number: wait up to BENCH_QUIET_WAIT s for it to settle
  local limit=${BENCH_QUIET_WAIT:-60} waited=0 hz b0 b1 busy
  hz=$(getconf CLK_TCK)
  while :; do
    b0=$(busy_jiffies); sleep 2; b1=$(busy_jiffies)
    busy=$(awk -v d=$((b1 - b0)) -v hz="$hz" 'BEGIN {printf "%.2f", d / hz / 2}')
    if awk -v b="$busy" 'BEGIN {exit !(b < 0.25)}'; then
      log "machine quiet: $busy cores busy before the load"
      echo "$busy" >>"$OUT/quiet-cores.txt"
      return
    fi
    if ((waited >= limit)); then
      log "machine still busy ($busy cores of $(nproc)) after ${limit}s; measuring anyway (see 'other' CPU)"
      echo "$busy" >>"$OUT/quiet-cores.txt"
      return
    fi
    log "machine busy: $busy cores of $(nproc) in use by other processes; waiting"
    waited=$((waited + 2))
  done
}

settle() {  # wait until no transfer is being settled (requests wrk left queued at its deadline finish first)
  local last="" now
  for _ in $(seq 40); do
    now="$(sql "SELECT count(*) FROM tokenization_ledgerentry")"
    [[ "$now" == "$last" ]] && return
    last="$now"
    sleep 0.5
  done
  die "transfers kept settling 20 s after wrk stopped"
}

run_wrk() {  # label, seconds, json output ('' for none), text output
  BENCH_TOKEN="$TOKEN" BENCH_TOKEN_ID="$TOKEN_ID" BENCH_WALLETS_FILE="$WALLETS" \
    BENCH_RUN="$1-$STAMP" BENCH_JSON="$3" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$2s" --latency \
    -s bench/wrk_transfer.lua "http://$HOST:$APP_PORT" >"$4" 2>&1
}

measure() {  # name, seconds, command…: runs it under `time` in the background, CPU snapshots inside its steady state
  local name=$1 seconds=$2 pid status=0 TIMEFORMAT="%3R %3U %3S"
  shift 2
  date +%s.%N >"$OUT/$name.window"  # the wall-clock window: started …
  { time "$@"; } 2>"$OUT/$name.time" &
  pid=$!
  PIDS+=("$pid")
  nap 1  # connections open, workers busy: measure from here …
  cpu_snapshot "$OUT/cpu-$name-start.json"
  nap $((seconds > 3 ? seconds - 2 : 1))
  cpu_snapshot "$OUT/cpu-$name-end.json"  # … to about a second before the deadline
  wait "$pid" || status=$?
  date +%s.%N >>"$OUT/$name.window"  # … and ended
  return "$status"
}

VERIFY=("$PY" bench/transfer_verify.py)

wait_quiet
TOKEN="$(jwt)" || die "could not obtain a JWT"  # fresh: access tokens live 15 minutes
sql "CHECKPOINT" >/dev/null
log "API: warm-up ${WARMUP_SECONDS}s"
run_wrk warmup "$WARMUP_SECONDS" "$OUT/wrk-warmup.json" "$OUT/wrk-warmup.txt" || die "wrk warm-up failed"
settle
# Statistics as autovacuum would have them on a live ledger: the seed's 50 mints share one backdated created_at, so
# without this ANALYZE the planner believes no entry is younger than a day and picks a nested loop for the lock-up
# and velocity sums that gets slower with every transfer (until autovacuum happens to analyze mid-run).
sql "ANALYZE" >/dev/null
"${VERIFY[@]}" snapshot --token "$TOKEN_ID" >"$OUT/db-before.json" || die "snapshot before the run failed"
log "API: ${SECONDS_RUN}s at $CONNECTIONS connections, POST /api/v1/tokens/{id}/transfers/"
measure api "$SECONDS_RUN" run_wrk measured "$SECONDS_RUN" "$OUT/wrk-transfer.json" "$OUT/wrk-transfer.txt" ||
  die "wrk failed; see $OUT/wrk-transfer.txt"
[[ -s "$OUT/wrk-transfer.json" ]] || die "wrk wrote no summary"
settle
"${VERIFY[@]}" snapshot --token "$TOKEN_ID" >"$OUT/db-after.json" || die "snapshot after the run failed"

wait_quiet
sql "CHECKPOINT" >/dev/null
log "pgbench: built-in TPC-B-like, -c $CONNECTIONS -j $WRK_THREADS -T $SECONDS_RUN -P 5 on $PGB_DB (scale $PGB_SCALE)"
mkdir -p "$OUT/pgbench-log"
measure pgbench "$SECONDS_RUN" "$PGBENCH" -c "$CONNECTIONS" -j "$WRK_THREADS" -T "$SECONDS_RUN" -P 5 -l \
  --log-prefix="$OUT/pgbench-log/tx" "$PG/$PGB_DB" >"$OUT/pgbench.txt" 2>&1 ||
  { tail -20 "$OUT/pgbench.txt" >&2; die "pgbench failed"; }

# --- 6. verification and diagnostics -------------------------------------------------------------------------------
log "verifying the ledger, the audit chain and the idempotency answers"
"${VERIFY[@]}" check --token "$TOKEN_ID" --before "$OUT/db-before.json" --after "$OUT/db-after.json" \
  --wrk "$OUT/wrk-transfer.json" --window "$OUT/api.window" >"$OUT/verify.json" || { cat "$OUT/verify.json" >&2; die "verification failed"; }
"${VERIFY[@]}" queries --token "$TOKEN_ID" --username "$USERNAME" --password "$PASSWORD" --wallets "$WALLETS" \
  >"$OUT/queries.json" 2>"$OUT/queries.log" || log "queries diagnostic failed (see $OUT/queries.log); going on"

if [[ "${BENCH_PROFILE:-1}" != 0 && -x "$PYSPY" ]]; then
  # Two views of the same load, one per worker (the workers are alike): wall time including waits (--idle: SQL round
  # trips, row-lock waits) on the first, on-CPU time only on the second. --nonblocking: the workers are not paused.
  mapfile -t WORKERS < <(pgrep -P "$APP_PID")
  PROFILE_SECONDS=$((SECONDS_RUN < 10 ? SECONDS_RUN : 10))
  log "profile (not measured): py-spy on workers ${WORKERS[*]} for ${PROFILE_SECONDS}s under the same load"
  run_wrk profile $((PROFILE_SECONDS + 4)) "" "$OUT/wrk-profile.txt" &
  PROFILE_LOAD=$!
  PIDS+=("$PROFILE_LOAD")
  nap 2
  SPY=()
  "$PYSPY" record --pid "${WORKERS[0]}" --duration "$PROFILE_SECONDS" --rate 250 --idle --nonblocking --format raw \
    --output "$OUT/profile-wall.txt" >"$OUT/profile-wall.log" 2>&1 &
  SPY+=($!)
  PIDS+=($!)
  if ((${#WORKERS[@]} > 1)); then
    "$PYSPY" record --pid "${WORKERS[1]}" --duration "$PROFILE_SECONDS" --rate 250 --nonblocking --format raw \
      --output "$OUT/profile-cpu.txt" >"$OUT/profile-cpu.log" 2>&1 &
    SPY+=($!)
    PIDS+=($!)
  fi
  for pid in "${SPY[@]}"; do wait "$pid" || log "py-spy $pid failed (see $OUT/profile-*.log); going on"; done
  wait "$PROFILE_LOAD" 2>/dev/null || true
  echo "rate=250 seconds=$PROFILE_SECONDS" >"$OUT/profile.env"
fi

# --- 7. report -------------------------------------------------------------------------------------------------------
cat >"$OUT/run.env" <<EOF
date_utc=$STAMP
command=bash bench/transfer_bench.sh
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo +changes)
host=$(hostname)
cpus=$(nproc)
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
kernel=$(uname -r)
python=$("$PY" -V 2>&1)
gunicorn=$("$GUNICORN" --version 2>&1 | head -1)
wrk=$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)
pgbench=$("$PGBENCH" --version 2>&1 | head -1)
postgres=$(sql 'show server_version')
pg_settings=$(sql "select string_agg(name || '=' || setting || coalesce(unit, ''), ' ' order by name) from pg_settings where name in ('shared_buffers', 'synchronous_commit', 'fsync', 'wal_level', 'max_connections', 'checkpoint_timeout', 'max_wal_size')")
settings=$DJANGO_SETTINGS_MODULE
gunicorn_conf=$GUNICORN_CONF
workers=$WEB_CONCURRENCY
threads=$GUNICORN_THREADS
wrk_threads=$WRK_THREADS
connections=$CONNECTIONS
seconds=$SECONDS_RUN
warmup_seconds=$WARMUP_SECONDS
investors=$N_INVESTORS
wallet_ref=$WALLET_REF
db=$DB_NAME
pgbench_db=$PGB_DB
pgbench_scale=$PGB_SCALE
app_pid=$APP_PID
max_non201=${BENCH_MAX_NON201:-0.001}
EOF

set +e
"$PY" bench/transfer_report.py "$OUT" | tee "$OUT/summary.md"
status=${PIPESTATUS[0]}
set -e
log "raw results in $OUT"
exit "$status"
