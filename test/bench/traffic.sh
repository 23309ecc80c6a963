#!/usr/bin/env bash
# test/bench/traffic.sh — everyday CRM traffic, attached vs detached (a tool: it prints
# figures; it fails only if a deadlock or another error happens, or if an attached lead
# disagrees with what leadqual computes for it).
#
#   bash test/run exec bash test/bench/traffic.sh          on a throwaway cluster
#   (test/bench/run.sh runs it last, with the same settings)
#
# The mix (pgbench, scripts in test/bench/traffic/, weights 3/3/2/1): a lead arrives; web
# events arrive for three existing leads in one INSERT; a salesperson edits a lead; a
# salesperson sets a stage by hand. Run against traffic_att (lead and events tables
# attached), traffic_det (the same rows, no leadqual triggers) and traffic_lead (only the
# lead table attached), alternating, best tps of TRAFFIC_ROUNDS rounds each; the ratio is
# detached tps / attached tps of this run.
#
# Settings: TRAFFIC_LEADS (100000), TRAFFIC_EVENTS_PER_LEAD (10), TRAFFIC_CLIENTS (8),
# TRAFFIC_SECONDS (20), TRAFFIC_ROUNDS (2). On a small shared machine use fewer clients and
# seconds; the report prints what was used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
db=${BENCH_DB:-leadqual_bench}_traffic
leads=${TRAFFIC_LEADS:-100000}
per_lead=${TRAFFIC_EVENTS_PER_LEAD:-10}
clients=${TRAFFIC_CLIENTS:-8}
seconds=${TRAFFIC_SECONDS:-20}
rounds=${TRAFFIC_ROUNDS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

psql_() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
log() { printf '== %s\n' "$*" >&2; }

dropdb --if-exists "$db"
createdb "$db"
psql_ -c 'CREATE EXTENSION leadqual'
log "traffic: $leads leads, $((leads * per_lead)) events"
t0=$(date +%s)
psql_ -v leads="$leads" -v events_per_lead="$per_lead" -f "$here/traffic.sql"
log "traffic: data in $(($(date +%s) - t0)) s"

# one pgbench run; prints its tps, fails on any failed transaction
run() {	# run <schema> <round>
	local out=$tmp/$1.$2.log
	PGOPTIONS="-c search_path=$1,public" pgbench -n -d "$db" -c "$clients" -j "$clients" -T "$seconds" \
		-D leads="$leads" --failures-detailed \
		-f "$here/traffic/lead.sql@3" -f "$here/traffic/event.sql@3" \
		-f "$here/traffic/edit.sql@2" -f "$here/traffic/stage.sql@1" >"$out" 2>&1 || {
		cat "$out" >&2
		echo "traffic.sh: pgbench failed on $1" >&2
		exit 1
	}
	if grep -qE 'number of failed transactions: [1-9]' "$out"; then
		cat "$out" >&2
		echo "traffic.sh: transactions failed on $1 (deadlocks or serialization failures)" >&2
		exit 1
	fi
	sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out"
}

started=$(psql_ -Atc "SELECT now()")
best_att=0
best_det=0
best_lead=0
max() { awk -v x="$1" -v y="$2" 'BEGIN { print (y > x ? y : x) }'; }
for r in $(seq 1 "$rounds"); do
	psql_ -c 'VACUUM ANALYZE traffic_att.leads, traffic_att.events, traffic_det.leads, traffic_det.events, traffic_lead.leads, traffic_lead.events'
	d=$(run traffic_det "$r")
	a=$(run traffic_att "$r")
	l=$(run traffic_lead "$r")
	log "traffic round $r: detached $d tps, attached $a tps, lead table only $l tps"
	best_det=$(max "$best_det" "$d")
	best_att=$(max "$best_att" "$a")
	best_lead=$(max "$best_lead" "$l")
done

# After the runs: every attached lead's score is what leadqual computes for the row, its
# stage classify's unless a person or automation's keep-rules hold it, and the engagement
# of every lead that got events in the runs is the aggregate over its events as of the
# last of them (the trigger computes as of now(), the time its transaction's events carry).
psql_ -v start="$started" <<'SQL'
\set ON_ERROR_STOP on
SELECT count(*) FILTER (WHERE l.score IS DISTINCT FROM leadqual.score(l, 'traffic')) AS bad_score,
       count(*) FILTER (WHERE NOT l.stage_locked AND l.stage NOT IN ('sql', 'won', 'lost')
                          AND l.stage IS DISTINCT FROM leadqual.classify(l, 'traffic')) AS bad_stage
  FROM traffic_att.leads l \gset
SELECT count(*) FILTER (WHERE abs(l.engagement - c.eng) > 1e-9 * (1 + abs(c.eng))) AS bad_engagement,
       count(*) AS leads_with_new_events
  FROM (SELECT e.lead_id, leadqual.engagement(e.event_type, e.occurred_at, 'traffic', x.last) AS eng
          FROM traffic_att.events e
          JOIN (SELECT lead_id, max(occurred_at) AS last FROM traffic_att.events GROUP BY lead_id
                HAVING max(occurred_at) >= :'start') x USING (lead_id)
         GROUP BY e.lead_id) c
  JOIN traffic_att.leads l ON l.id = c.lead_id \gset
\echo 'checked attached leads:' :bad_score 'wrong scores,' :bad_stage 'wrong stages,' :bad_engagement 'wrong engagements of' :leads_with_new_events 'leads with new events'
SELECT :bad_score + :bad_stage + :bad_engagement = 0 AS ok \gset
\if :ok
\else
SELECT 1/0 AS "attached leads disagree with leadqual";
\endif
SQL

ratio=$(awk -v a="$best_att" -v d="$best_det" 'BEGIN { printf "%.2f", d / a }')
echo
echo "== leadqual traffic benchmark: $leads leads, $per_lead events each, $clients clients, ${seconds} s, best of $rounds alternating rounds"
echo "   mix: insert lead 3, insert events for 3 leads 3, edit lead 2, set stage 1 (pgbench weights)"
printf '%-40s %10s\n' "detached (no leadqual triggers)" "$best_det tps"
printf '%-40s %10s\n' "attached (attach + attach_events)" "$best_att tps"
printf '%-40s %10s   target <= 4x, aim <= 3x\n' "ratio detached / attached" "${ratio}x"
printf '%-40s %10s   (%sx; the rest is the events path)\n' "lead table only attached" "$best_lead tps" \
	"$(awk -v a="$best_lead" -v d="$best_det" 'BEGIN { printf "%.2f", d / a }')"
[ -n "${BENCH_KEEP:-}" ] || dropdb "$db"
