#!/usr/bin/env bash
# Smoke test of `make run` on the embedded default (SQLite, local cache, filesystem Celery broker).
#
#   bash .ci/smoke_make_run.sh STATE_DIR RUN_LABEL EXPECT
#
#   STATE_DIR  holds db.sqlite3, broker/, media/, the logs and what one run leaves for the next (the asset id).
#   RUN_LABEL  names this run's log: STATE_DIR/make-run-RUN_LABEL.log
#   EXPECT     "fresh": the seed step must seed; "present": it must report "Demo data already present; nothing seeded."
#
# Env: DEMO_PASSWORD (required; the same for every run on one STATE_DIR), SMOKE_PORT (default 8765, or a free port),
#      SMOKE_START_TIMEOUT (default 180 s), SMOKE_STOP_TIMEOUT (default 30 s).
#
# `make run` starts in its own session (setsid). honcho starts gunicorn, the Celery worker and beat each in a session
# of their own, so the run is tracked as the set of sessions of make and of every process under it; after SIGTERM to
# make, no process of any of those sessions may remain, and nothing may listen on the port.
set -euo pipefail

STATE_DIR=${1:?state dir}
RUN_LABEL=${2:?run label}
EXPECT=${3:?fresh or present}
: "${DEMO_PASSWORD:?DEMO_PASSWORD must be set}"
START_TIMEOUT=${SMOKE_START_TIMEOUT:-180}
STOP_TIMEOUT=${SMOKE_STOP_TIMEOUT:-30}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
mkdir -p "$STATE_DIR"
STATE_DIR=$(cd "$STATE_DIR" && pwd)
LOG=$STATE_DIR/make-run-$RUN_LABEL.log
BODY=$STATE_DIR/body-$RUN_LABEL.json
PY=python3

say() { printf '[smoke %s] %s\n' "$RUN_LABEL" "$*"; }

port_in_use() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

PORT=${SMOKE_PORT:-8765}
if port_in_use "$PORT"; then
    PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    say "port ${SMOKE_PORT:-8765} is taken; using free port $PORT"
fi
BASE=http://127.0.0.1:$PORT

MAKE_PID=""
SESSIONS=""

# Process ids (not zombies) of every process under $1, recursively.
descendants() {
    ps -eo pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END {
            found[root] = 1; changed = 1
            while (changed) { changed = 0; for (p in parent) if (!(p in found) && (parent[p] in found)) { found[p] = 1; changed = 1 } }
            for (p in found) if (p != root) print p
        }'
}

# Add the sessions of make and of everything under it to SESSIONS.
track_sessions() {
    local pid sid
    [[ -n $MAKE_PID ]] || return 0
    for pid in "$MAKE_PID" $(descendants "$MAKE_PID"); do
        sid=$(ps -o sid= -p "$pid" 2>/dev/null | tr -d ' ') || continue
        [[ -n $sid && $sid != 0 ]] || continue
        case " $SESSIONS " in *" $sid "*) ;; *) SESSIONS="$SESSIONS $sid" ;; esac
    done
}

# Live (not zombie) processes in the tracked sessions, as "pid sid stat command" lines.
leftovers() {
    [[ -n ${SESSIONS// /} ]] || return 0
    ps -eo pid=,sid=,stat=,args= | awk -v sessions="$SESSIONS" '
        BEGIN { n = split(sessions, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
        ($2 in want) && $3 !~ /^Z/ { print }'
}

kill_leftovers() {
    local pid
    track_sessions
    for pid in $(leftovers | awk '{print $1}'); do
        kill -KILL "$pid" 2>/dev/null || true
    done
}

fail() {
    say "FAIL: $*"
    if [[ -f $LOG ]]; then
        say "last 80 lines of $LOG:"
        tail -n 80 "$LOG" | sed 's/^/    | /'
    fi
    if [[ -n $MAKE_PID ]]; then
        kill -TERM "$MAKE_PID" 2>/dev/null || true
        sleep 3
        kill_leftovers
        wait "$MAKE_PID" 2>/dev/null || true
        MAKE_PID=""
    fi
    exit 1
}

on_exit() {
    local rc=$?
    if [[ -n $MAKE_PID ]]; then
        kill -TERM "$MAKE_PID" 2>/dev/null || true
        sleep 2
        kill_leftovers
    fi
    exit "$rc"
}
trap on_exit EXIT
trap 'fail "interrupted"' INT TERM

# request METHOD PATH [JSON] -> STATUS (body in $BODY)
TOKEN=""
request() {
    local method=$1 path=$2 data=${3-} args
    args=(-sS -o "$BODY" -w '%{http_code}' -X "$method" --max-time 20 -H 'Accept: application/json')
    [[ -n $TOKEN ]] && args+=(-H "Authorization: Bearer $TOKEN")
    [[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data "$data")
    curl "${args[@]}" "$BASE$path" 2>/dev/null || true
}
json_field() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$BODY" "$1" 2>/dev/null; }
body_excerpt() { head -c 600 "$BODY" 2>/dev/null; echo; }

# --- start --------------------------------------------------------------------------------------------------------
: >"$LOG"
say "starting make run on port $PORT (SQLITE_PATH=$STATE_DIR/db.sqlite3), log $LOG"
# The embedded default: none of the variables that move the service to PostgreSQL, Redis or a broker server.
env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL -u DJANGO_SETTINGS_MODULE -u SECRET_KEY -u ALLOWED_HOSTS \
    -u STATIC_ROOT -u PYTEST_ARGS -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    PORT="$PORT" DEMO_PASSWORD="$DEMO_PASSWORD" PYTHONUNBUFFERED=1 \
    SQLITE_PATH="$STATE_DIR/db.sqlite3" CELERY_BROKER_DIR="$STATE_DIR/broker" MEDIA_ROOT="$STATE_DIR/media" \
    setsid make run >>"$LOG" 2>&1 </dev/null &
MAKE_PID=$!
# In a non-interactive shell the background job is not a group leader, so setsid needs no fork: $! is make itself.
sleep 0.5
MAKE_SID=$(ps -o sid= -p "$MAKE_PID" | tr -d ' ' || true)
[[ $MAKE_SID == "$MAKE_PID" ]] || fail "make (pid $MAKE_PID) is not the leader of its own session (sid '$MAKE_SID')"
SESSIONS=" $MAKE_SID"

started=$SECONDS
until curl -sf --max-time 5 -o /dev/null "$BASE/healthz"; do
    kill -0 "$MAKE_PID" 2>/dev/null && [[ $(ps -o stat= -p "$MAKE_PID") != Z* ]] || fail "make run exited before /healthz answered"
    ((SECONDS - started < START_TIMEOUT)) || fail "/healthz did not answer within ${START_TIMEOUT}s"
    sleep 1
done
say "/healthz answered after $((SECONDS - started))s"

# --- the seed step of this run ------------------------------------------------------------------------------------
case $EXPECT in
fresh)
    grep -q 'Demo data seeded' "$LOG" || fail "the seed step of a fresh database did not seed"
    ! grep -q 'Demo data already present' "$LOG" || fail "the seed step of a fresh database found data already present"
    ;;
present)
    grep -q 'Demo data already present; nothing seeded.' "$LOG" || fail "the seed step did not report 'Demo data already present; nothing seeded.'"
    ! grep -q 'Demo data seeded' "$LOG" || fail "the seed step seeded a second time"
    ;;
*) fail "EXPECT must be fresh or present, not '$EXPECT'" ;;
esac
say "seed step: $(grep -E 'Demo data (seeded|already present)' "$LOG" | head -n 1)"

# --- API ----------------------------------------------------------------------------------------------------------
status=$(request GET /readyz)
[[ $status == 200 ]] || fail "GET /readyz -> $status: $(body_excerpt)"
say "GET /readyz -> 200"

login=$("$PY" -c 'import json, os; print(json.dumps({"username": "demo-operator", "password": os.environ["DEMO_PASSWORD"]}))')
status=$(request POST /api/v1/auth/token/ "$login")
[[ $status == 200 ]] || fail "POST /api/v1/auth/token/ -> $status: $(body_excerpt)"
TOKEN=$(json_field access) || fail "the token response has no 'access': $(body_excerpt)"
[[ -n $TOKEN ]] || fail "empty access token"
say "POST /api/v1/auth/token/ -> 200 (access token)"

if [[ -s $STATE_DIR/asset-id ]]; then
    previous=$(cat "$STATE_DIR/asset-id")
    status=$(request GET "/api/v1/assets/$previous/")
    [[ $status == 200 ]] || fail "GET /api/v1/assets/$previous/ (made by the previous run) -> $status: $(body_excerpt)"
    say "GET /api/v1/assets/$previous/ (made by the previous run) -> 200"
fi

asset='{"name":"CI smoke","asset_type":"real_estate","jurisdiction":"GB","currency":"GBP","metadata":{"address":"1 Smoke Lane","property_type":"commercial","area_sqm":100}}'
status=$(request POST /api/v1/assets/ "$asset")
[[ $status == 201 ]] || fail "POST /api/v1/assets/ -> $status: $(body_excerpt)"
asset_id=$(json_field id) || fail "the created asset has no 'id': $(body_excerpt)"
[[ -n $asset_id ]] || fail "empty asset id"
say "POST /api/v1/assets/ -> 201 (id $asset_id)"

status=$(request GET "/api/v1/assets/$asset_id/")
[[ $status == 200 ]] || fail "GET /api/v1/assets/$asset_id/ -> $status: $(body_excerpt)"
name=$(json_field name) || fail "the asset read back has no 'name': $(body_excerpt)"
[[ $name == "CI smoke" ]] || fail "the asset read back is named '$name', not 'CI smoke'"
say "GET /api/v1/assets/$asset_id/ -> 200 (name 'CI smoke')"
printf '%s\n' "$asset_id" >"$STATE_DIR/asset-id"

# --- stop ---------------------------------------------------------------------------------------------------------
track_sessions
say "processes before stop (sessions:$SESSIONS):"
leftovers | sed 's/^/    /'
say "SIGTERM to make (pid $MAKE_PID)"
kill -TERM "$MAKE_PID"
stopping=$SECONDS
while :; do
    remaining=$(leftovers)
    [[ -z $remaining ]] && ! port_in_use "$PORT" && break
    if ((SECONDS - stopping >= STOP_TIMEOUT)); then
        say "still alive ${STOP_TIMEOUT}s after SIGTERM:"
        printf '%s\n' "$remaining" | sed 's/^/    /'
        ss -Hltnp "sport = :$PORT" | sed 's/^/    listening: /' || true
        fail "processes of make run outlived SIGTERM by ${STOP_TIMEOUT}s (killed now)"
    fi
    sleep 0.5
done
make_rc=0
wait "$MAKE_PID" || make_rc=$?
MAKE_PID=""
say "everything stopped $((SECONDS - stopping))s after SIGTERM (make exit status $make_rc); port $PORT is free"
say "PASS"
