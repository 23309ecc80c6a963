#!/usr/bin/env bash
# versions_lock: a commit whose versions trigger cannot get its locks in time (lock_timeout,
# which any role may set) fails; it never goes through without the version of its change.
# Another session holds leadqual.ruleset_versions while a rule change commits under a short
# lock_timeout: afterwards the model's rules and its latest version must agree.
set -euo pipefail
db=lq_vlock_$$
trap 'dropdb --if-exists "$db" 2>/dev/null' EXIT
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION leadqual;
CREATE TABLE vl_leads (id integer PRIMARY KEY, title text);
INSERT INTO leadqual.models (model, lead_table) VALUES ('vl', 'vl_leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES ('vl', 'cto', 'title', 'eq', 'CTO', 1);
SQL
psql -X -q -d "$db" -c "BEGIN; LOCK TABLE leadqual.ruleset_versions IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT;" \
	> /dev/null 2>&1 &
holder=$!
for _ in $(seq 1 100); do
	held=$(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_locks WHERE relation = 'leadqual.ruleset_versions'::regclass AND mode = 'AccessExclusiveLock' AND granted")
	[ "$held" = 1 ] && break
	sleep 0.1
done
[ "$held" = 1 ] || { echo "the lock holder did not start"; exit 1; }
commit_out=$(psql -X -d "$db" 2>&1 <<'SQL' || true
SET lock_timeout = '300ms';
BEGIN;
UPDATE leadqual.rules SET points = 2 WHERE model = 'vl' AND name = 'cto';
COMMIT;
SQL
)
wait "$holder"
echo "$commit_out"
result=$(psql -X -At -d "$db" <<'SQL'
SELECT r.points::text || ' ' || coalesce((SELECT x->>'points' FROM leadqual.ruleset_versions v,
                                         jsonb_array_elements(v.rules::jsonb->'rules') x
                                   WHERE v.model = 'vl' ORDER BY v.version DESC LIMIT 1), 'none')
  FROM leadqual.rules r WHERE r.model = 'vl' AND r.name = 'cto';
SQL
)
echo "rule points, latest version's points: $result"
case "$commit_out" in
*"lock timeout"*) ;;
*) echo "FAIL: the commit did not fail on the lock timeout"; exit 1 ;;
esac
[ "$result" = "1 1" ] || { echo "FAIL: the rules and their latest version differ"; exit 1; }
echo ok
