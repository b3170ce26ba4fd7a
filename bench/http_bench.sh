#!/usr/bin/env bash
# HTTP benchmark for the asset reads (issue #2), in one run on this machine:
#   1. a fresh PostgreSQL database (dropped and created), migrated, seeded with BENCH_ASSETS assets and an operator;
#   2. the service under gunicorn with production settings (DEBUG off, access log off, Redis cache) and, beside it,
#      bench/bare_wsgi.py under the same gunicorn config file and the same workers/threads;
#   3. wrk (--latency, BENCH_CONNECTIONS connections) with a bearer token against
#        GET /api/v1/assets/{id}/            (random ids out of 1,000 seeded ones)
#        GET /api/v1/assets/?asset_type=…    (real_estate, fixed_income, commodity in turn)
#        the bare app                        (the same requests as the detail run)
#      each after a warm-up, sampling every gunicorn worker's VmRSS while wrk runs, in BENCH_ROUNDS rounds
#      (bare, detail, list, bare, detail, list, ...) so that drift on the machine shows and medians are robust;
#   4. a markdown table on stdout; raw results in bench/results/<UTC time>/ (gitignored).
#
# Usage: bash bench/http_bench.sh        (from anywhere; uses .venv in the repo root)
# Knobs (environment): WEB_CONCURRENCY=2 GUNICORN_THREADS=1 BENCH_CONNECTIONS=16 BENCH_WRK_THREADS=2
#   BENCH_DURATION=15s BENCH_WARMUP=3s BENCH_ROUNDS=3 BENCH_ASSETS=10000 BENCH_DB=rwa_bench BENCH_APP_PORT=18000
#   BENCH_BARE_PORT=18001 BENCH_PG=postgres://postgres@127.0.0.1:5432 BENCH_REDIS_URL=redis://127.0.0.1:6379/5
#   BENCH_BROKER_URL=redis://127.0.0.1:6379/6
#   BENCH_QUIET_WAIT=60 (seconds in all to wait, before runs, for other load on the machine to stop)
#   BENCH_RETRIES=2 (runs during which other processes used > 0.15 cores are measured again, at most this often in all)
#   BENCH_KEEP_DB=1 (keep the database afterwards) BENCH_GUNICORN_CONF=deploy/gunicorn.conf.py
#   BENCH_APP_WSGI=rwa_service.wsgi:application (serve another module, e.g. to try a fix before making it)
# Both servers get `--no-control-socket` (gunicorn 27 otherwise puts both masters' control sockets at the same
# ~/.gunicorn/gunicorn.ctl); it does not change how requests are served.
# Exit status: 0 all targets met; 1 the benchmark itself failed (setup, server, non-2xx answers); 2 it ran but
# missed a target.
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
DURATION="${BENCH_DURATION:-15s}"
WARMUP="${BENCH_WARMUP:-3s}"
ROUNDS="${BENCH_ROUNDS:-3}"
N_ASSETS="${BENCH_ASSETS:-10000}"
DB_NAME="${BENCH_DB:-rwa_bench}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
APP_PORT="${BENCH_APP_PORT:-18000}"
BARE_PORT="${BENCH_BARE_PORT:-18001}"
HOST=127.0.0.1
GUNICORN_CONF="${BENCH_GUNICORN_CONF:-deploy/gunicorn.conf.py}"
APP_WSGI="${BENCH_APP_WSGI:-rwa_service.wsgi:application}"  # another module only to try a change before making it

die() { echo "http_bench: $*" >&2; exit 1; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

[[ -x "$PY" && -x "$GUNICORN" ]] || die "no venv at $VENV (run 'make test' or 'make run' once to create it)"
command -v wrk >/dev/null || die "wrk not found (apt-get install -y wrk)"
for tool in createdb dropdb psql curl; do command -v "$tool" >/dev/null || die "$tool not found"; done

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
# The code measured: HEAD, and whether tracked files other than bench/, docs/ and *.md differ from it at start.
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- . ':!bench' ':!docs' ':!*.md' 2>/dev/null || COMMIT="$COMMIT+uncommitted changes"
OUT="$ROOT/bench/results/$STAMP"
mkdir -p "$OUT"
ln -sfn "$STAMP" "$ROOT/bench/results/latest"

# --- environment for the service: production settings, loopback only (bench/production_env.sh) ----------------
# shellcheck source=bench/production_env.sh
source "$ROOT/bench/production_env.sh"
bench_production_env "$PG/$DB_NAME" "rwa-bench-$STAMP" redis://127.0.0.1:6379/5 redis://127.0.0.1:6379/6

PIDS=()
SAMPLER=""
DB_CREATED=0
cleanup() {
  local status=$?
  set +e
  [[ -n "$SAMPLER" ]] && kill "$SAMPLER" 2>/dev/null
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ "$DB_CREATED" == 1 && "${BENCH_KEEP_DB:-0}" != 1 ]]; then
    dropdb --if-exists --force --maintenance-db="$PG/postgres" "$DB_NAME" 2>/dev/null || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() {  # url, name, pid
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    kill -0 "$3" 2>/dev/null || die "$2 exited during start-up; see $OUT/gunicorn-$2.log"
    sleep 0.2
  done
  die "$2 did not answer at $1 within 20 s"
}

worker_pids() { pgrep -P "$1" || true; }

sample_rss() {  # master pid, output file; runs until killed. Lines: epoch pid rss_kib
  while :; do
    for pid in $(worker_pids "$1"); do
      awk -v pid="$pid" -v t="$(date +%s)" '/^VmRSS:/ {print t, pid, $2}' "/proc/$pid/status" 2>/dev/null || true
    done
    sleep 0.5
  done >>"$2"
}

# --- 1. database ---------------------------------------------------------------------------------------------------
log "fresh database $DB_NAME"
PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists --force --maintenance-db="$PG/postgres" "$DB_NAME"
createdb --maintenance-db="$PG/postgres" "$DB_NAME"
DB_CREATED=1
echo "db=$DB_NAME" >"$OUT/db.env"
"$PY" manage.py migrate --noinput >"$OUT/migrate.log" 2>&1 || { tail -20 "$OUT/migrate.log" >&2; die "migrate failed"; }

USERNAME=bench-operator
PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')"
IDS="$OUT/detail-ids.txt"
log "seeding $N_ASSETS assets"
"$PY" bench/seed.py --assets "$N_ASSETS" --username "$USERNAME" --password "$PASSWORD" --ids-file "$IDS" \
  >"$OUT/seed.log" 2>&1 || { tail -20 "$OUT/seed.log" >&2; die "seeding failed"; }
cat "$OUT/seed.log" >&2
psql -q -d "$DATABASE_URL" -c "VACUUM ANALYZE" >/dev/null

sed 's#^#/api/v1/assets/#; s#$#/#' "$IDS" >"$OUT/paths-detail.txt"
printf '/api/v1/assets/?asset_type=%s\n' real_estate fixed_income commodity >"$OUT/paths-list.txt"

# --- 2. servers: the service and the bare app, same gunicorn config, workers and threads ---------------------------
log "gunicorn: workers=$WEB_CONCURRENCY threads=$GUNICORN_THREADS (app :$APP_PORT, bare :$BARE_PORT)"
GUNICORN_BIND="$HOST:$APP_PORT" "$GUNICORN" "$APP_WSGI" -c "$GUNICORN_CONF" --no-control-socket \
  >"$OUT/gunicorn-app.log" 2>&1 &
APP_PID=$!
PIDS+=("$APP_PID")
GUNICORN_BIND="$HOST:$BARE_PORT" "$GUNICORN" bench.bare_wsgi:application -c "$GUNICORN_CONF" --no-control-socket \
  >"$OUT/gunicorn-bare.log" 2>&1 &
BARE_PID=$!
PIDS+=("$BARE_PID")
wait_http "http://$HOST:$APP_PORT/healthz" app "$APP_PID"
wait_http "http://$HOST:$BARE_PORT/" bare "$BARE_PID"

# --- 3. a token, and one checked request per endpoint ---------------------------------------------------------------
TOKEN="$(curl -sf --max-time 10 -H 'Content-Type: application/json' \
  -d "{\"username\":\"$USERNAME\",\"password\":\"$PASSWORD\"}" "http://$HOST:$APP_PORT/api/v1/auth/token/" |
  "$PY" -c 'import json, sys; print(json.load(sys.stdin)["access"])')" || die "could not obtain a JWT"
export BENCH_TOKEN="$TOKEN"

check() {  # url, python expression over `body` that must hold
  local body
  body="$(curl -sf --max-time 10 -H "Authorization: Bearer $TOKEN" -H 'Accept: application/json' "$1")" ||
    die "GET $1 did not answer 2xx"
  BODY="$body" "$PY" -c "import json, os, sys; body = json.loads(os.environ['BODY']); sys.exit(0 if ($2) else 1)" ||
    die "GET $1 answered an unexpected body: ${body:0:300}"
}
FIRST_ID="$(head -1 "$IDS")"
check "http://$HOST:$APP_PORT/api/v1/assets/$FIRST_ID/" "body['id'] == '$FIRST_ID'"
check "http://$HOST:$APP_PORT/api/v1/assets/?asset_type=real_estate" \
  "len(body['results']) == 25 and all(a['asset_type'] == 'real_estate' for a in body['results'])"

# --- 4. load --------------------------------------------------------------------------------------------------------
cpu_snapshot() { "$PY" bench/cpu_snapshot.py >"$1" || die "cpu snapshot failed"; }

busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

# Other work on the machine skews every number. Before each run wait for it to settle, but for at most
# BENCH_QUIET_WAIT seconds in all, and re-measure a run it disturbed at most BENCH_RETRIES times in all, so that a
# busy machine cannot stretch the benchmark much past its ~3.5 minutes.
QUIET_LEFT=${BENCH_QUIET_WAIT:-60}
RETRIES_LEFT=${BENCH_RETRIES:-2}

wait_quiet() {
  local hz b0 b1 busy
  hz=$(getconf CLK_TCK)
  while :; do
    b0=$(busy_jiffies); sleep 2; b1=$(busy_jiffies)
    busy=$(awk -v d=$((b1 - b0)) -v hz="$hz" 'BEGIN {printf "%.2f", d / hz / 2}')
    if awk -v b="$busy" 'BEGIN {exit !(b < 0.25)}'; then
      log "machine quiet: $busy cores busy before the load"
      return
    fi
    if ((QUIET_LEFT <= 0)); then
      log "machine busy ($busy cores of $(nproc)) and the wait budget is spent; measuring anyway"
      return
    fi
    log "machine busy: $busy cores of $(nproc) in use by other processes; waiting (${QUIET_LEFT}s of waiting left)"
    QUIET_LEFT=$((QUIET_LEFT - 2))
  done
}

measure() {  # name, port, paths file, master pid: one warm-up and one measured wrk run
  local name=$1 port=$2 paths=$3 master=$4
  wait_quiet
  log "$name: warm-up $WARMUP"
  BENCH_PATHS_FILE="$paths" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/wrk_auth.lua \
    "http://$HOST:$port" >"$OUT/wrk-$name-warmup.txt" 2>&1 || die "wrk warm-up for $name failed"
  log "$name: $DURATION at $CONNECTIONS connections"
  : >"$OUT/rss-$name.txt"
  sample_rss "$master" "$OUT/rss-$name.txt" &
  SAMPLER=$!
  cpu_snapshot "$OUT/cpu-$name-start.json"
  local TIMEFORMAT="%3R %3U %3S"
  { time BENCH_PATHS_FILE="$paths" BENCH_JSON="$OUT/wrk-$name.json" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" \
    -d"$DURATION" --latency -s bench/wrk_auth.lua "http://$HOST:$port" >"$OUT/wrk-$name.txt" 2>&1; } \
    2>"$OUT/wrk-$name.time" || die "wrk for $name failed"
  cpu_snapshot "$OUT/cpu-$name-end.json"
  kill "$SAMPLER" 2>/dev/null || true
  wait "$SAMPLER" 2>/dev/null || true
  SAMPLER=""
  [[ -s "$OUT/wrk-$name.json" ]] || die "wrk for $name wrote no summary"
}

run_wrk() {  # name, port, paths file, master pid: measure, and again if other processes were busy meanwhile
  local name=$1 attempt=0 other
  while :; do
    measure "$@"
    other=$("$PY" bench/report.py "$OUT" --other "$name" "$4") || die "could not read the CPU snapshots of $name"
    if awk -v o="$other" 'BEGIN {exit !(o <= 0.15)}' || ((RETRIES_LEFT <= 0)); then
      return
    fi
    attempt=$((attempt + 1))
    RETRIES_LEFT=$((RETRIES_LEFT - 1))
    log "$name: other processes used $other cores during the run; measuring again ($RETRIES_LEFT re-runs left)"
    mkdir -p "$OUT/discarded-$attempt"
    for file in wrk-"$name".{json,txt,time} rss-"$name".txt cpu-"$name"-{start,end}.json; do
      mv "$OUT/$file" "$OUT/discarded-$attempt/"
    done
  done
}

for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round of $ROUNDS"
  run_wrk "bare-r$round" "$BARE_PORT" "$OUT/paths-detail.txt" "$BARE_PID"
  run_wrk "detail-r$round" "$APP_PORT" "$OUT/paths-detail.txt" "$APP_PID"
  run_wrk "list-r$round" "$APP_PORT" "$OUT/paths-list.txt" "$APP_PID"
done

# --- 5. report ------------------------------------------------------------------------------------------------------
cat >"$OUT/run.env" <<EOF
date_utc=$STAMP
commit=$COMMIT
command=bash bench/http_bench.sh
host=$(hostname)
cpus=$(nproc)
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
kernel=$(uname -r)
python=$("$PY" -V 2>&1)
gunicorn=$("$GUNICORN" --version 2>&1 | head -1)
wrk=$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)
postgres=$(psql -tA -d "$DATABASE_URL" -c 'show server_version')
settings=$DJANGO_SETTINGS_MODULE
gunicorn_conf=$GUNICORN_CONF
app_wsgi=$APP_WSGI
access_log_lines=$(cat "$OUT"/gunicorn-{app,bare}.log | { grep -c '"event":"request"' || true; })
workers=$WEB_CONCURRENCY
threads=$GUNICORN_THREADS
wrk_threads=$WRK_THREADS
connections=$CONNECTIONS
duration=$DURATION
warmup=$WARMUP
rounds=$ROUNDS
assets=$N_ASSETS
db=$DB_NAME
app_pid=$APP_PID
bare_pid=$BARE_PID
EOF

set +e
"$PY" bench/report.py "$OUT" | tee "$OUT/summary.md"
status=${PIPESTATUS[0]}
set -e
log "raw results in $OUT"
exit "$status"
