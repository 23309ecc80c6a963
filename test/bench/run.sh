#!/usr/bin/env bash
# test/bench/run.sh — the scoring benchmark (a tool: it prints figures, it asserts only
# that every way of scoring gives the same totals).
#
#   bash test/run bench                     full size, on a throwaway cluster
#   BENCH_SIZE=smoke bash test/run bench    20,000 leads, well under a minute
#
# Expects a server in PGHOST/PGPORT/PGUSER with leadqual installed (test/run provides
# one). BENCH_SIZE=smoke|full or a number of leads; BENCH_REPS (default 3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
db=${BENCH_DB:-leadqual_bench}

case "${BENCH_SIZE:-full}" in
smoke) n=20000 ;;
full) n=1000000 ;;
*[!0-9]* | '') echo "run.sh: BENCH_SIZE must be smoke, full or a number" >&2; exit 2 ;;
*) n=$BENCH_SIZE ;;
esac
reps=${BENCH_REPS:-3}
# a slow alternative (jsonb, 1000-rule CASE) taking longer than this runs once
once_ms=${BENCH_ONCE_MS:-10000}

psql_() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
log() { printf '== %s\n' "$*" >&2; }

start=$(date +%s)
dropdb --if-exists "$db" 2>/dev/null || dropdb --if-exists "$db"
createdb "$db"
psql_ -c 'CREATE EXTENSION leadqual'

log "generating $n leads"
psql_ -v n="$n" -f "$here/generate.sql"
log "rules, alternatives"
psql_ -f "$here/rules.sql"
psql_ -f "$here/alternatives.sql"
log "measuring"
psql_ -v n="$n" -v reps="$reps" -v once_ms="$once_ms" -f "$here/measure.sql"

# Other parts of the benchmark (engagement.sql, analytics.sql …) are psql scripts that
# take -v n=SIZE and run in the same database, after the scoring part (traffic.sql is
# traffic.sh's, below).
for f in "$here"/*.sql; do
	case "$(basename "$f")" in
	generate.sql | rules.sql | alternatives.sql | measure.sql | traffic.sql) continue ;;
	esac
	log "$(basename "$f")"
	psql_ -v n="$n" -f "$f"
done

# Everyday traffic (pgbench, attached vs detached): its own database. In smoke size a
# short run that only shows the mix works; TRAFFIC_* settings override (traffic.sh).
log "traffic.sh"
if [ "$n" -lt 100000 ]; then
	TRAFFIC_LEADS=${TRAFFIC_LEADS:-5000} TRAFFIC_CLIENTS=${TRAFFIC_CLIENTS:-2} \
		TRAFFIC_SECONDS=${TRAFFIC_SECONDS:-2} TRAFFIC_ROUNDS=${TRAFFIC_ROUNDS:-1} bash "$here/traffic.sh"
else
	bash "$here/traffic.sh"
fi

log "done in $(($(date +%s) - start)) s"
[ -n "${BENCH_KEEP:-}" ] || dropdb "$db"
