#!/usr/bin/env bash
# test/t/fuzz.sh — deterministic fuzzing of rules and aggregate states (issue 9).
#
# Random and hostile rule rows against a lead table of many column types; mutated text
# and binary forms of leadqual.quality_state and leadqual.engagement_state; hand calls of
# the combine and transition functions; every leadqual function with NULL arguments.
# Fails on any refusal without a proper SQLSTATE (or with XX000), any accepted rule that
# scores unlike its SQL equivalent, a lost connection or a server restart.
# Fixed seed: the same cases on every run (FUZZ_SEED, FUZZ_RULE_CASES, FUZZ_STATE_CASES
# change them; FUZZ_KEEP=1 keeps the database leadqual_fuzz; FUZZ_DEBUG=1 logs every rule
# case in the server log, to find the one behind a crash).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
fz=$here/test/fuzz
db=leadqual_fuzz
seed=${FUZZ_SEED:-0.20261202}
rule_cases=${FUZZ_RULE_CASES:-4000}
state_cases=${FUZZ_STATE_CASES:-3000}
batch=500
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# the postmaster's start time and its checkpointer's pid: a crash restarts the latter
server_id() {
	q -At -d postgres -c "SELECT pg_postmaster_start_time() || ', checkpointer ' ||
		(SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer')"
}
crashes() {	# crashed backends in the server log of test/run's cluster
	local log=${LEADQUAL_TMP:-/nonexistent}/log/server.log
	if [ -r "$log" ]; then grep -cE 'terminated by signal|terminated by exception' "$log"; else echo 0; fi
}
batches() {	# batches <function> <cases>: one statement per batch of cases
	for ((i = 1; i <= $2; i += batch)); do
		echo "SELECT $1($i, $((i + batch - 1 < $2 ? i + batch - 1 : $2)));"
	done
}

start=$(date +%s)
id_before=$(server_id) || { echo "fuzz: cannot connect"; exit 1; }
crashes_before=$(crashes)
q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || exit 1
q -d $db -c 'CREATE EXTENSION leadqual' || exit 1

fail=0
# session 1: everything that draws random numbers, in one backend after setseed
{
	echo "SET statement_timeout = '60s';"	# per batch: a hang fails the test
	echo "SET TimeZone = 'Europe/Berlin'; SET DateStyle = 'ISO, DMY';"
	[ "${FUZZ_DEBUG:-}" = 1 ] && echo "SET fz.debug = on;"
	cat "$fz/setup.sql" "$fz/rules.sql"
	batches fz_run_rules "$rule_cases"
	echo "SELECT fz_attach();"
	echo "CALL leadqual.rescore('fz_att');"
	echo "SELECT fz_attached_compare('after rescore');"
	cat "$fz/states.sql"
	batches fz_run_states "$state_cases"
	echo "SELECT fz_null_calls();"
} | q -At -d $db -v seed="$seed" | grep -v '^$' || { echo "fuzz: the fuzzing session failed (an error above, or the server crashed)"; fail=1; }

# session 2: a fresh backend under other settings reads the stored rules again
if [ $fail = 0 ]; then
	q -At -d $db -f "$fz/recheck.sql" || { echo "fuzz: the re-check session failed"; fail=1; }
fi

for _ in $(seq 30); do	# after a crash the server is in recovery for a moment
	id_after=$(server_id 2>/dev/null) && break
	sleep 1
done
[ -n "${id_after:-}" ] || { echo "fuzz: the server is gone"; exit 1; }
crashes_after=$(crashes)
if [ "$id_before" != "$id_after" ] || [ "$crashes_before" != "$crashes_after" ]; then
	echo "fuzz: the server restarted ($id_before -> $id_after; crashed backends in the log: $crashes_before -> $crashes_after)"
	fail=1
fi

summary=$(q -At -d $db -f "$fz/summary.sql") || { echo "fuzz: no summary"; exit 1; }
echo "$summary"
echo "fuzz: seed $seed, $rule_cases rule and $state_cases state case draws, $(( $(date +%s) - start )) s"
grep -q '^FAILURE' <<<"$summary" && fail=1
[ "${FUZZ_KEEP:-}" = 1 ] || q -d postgres -c "DROP DATABASE $db"
exit $fail
