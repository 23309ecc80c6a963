#!/usr/bin/env bash
# upgrade_limits: a 1.0 installation holding what 1.1 refuses — points outside
# -1000000 .. 1000000 (rules, event rules, caps) and enabled rules or criterion checks on an
# attached table's score, stage or lock column — cannot be updated: ALTER EXTENSION UPDATE
# fails with an error naming every such row, and leaves 1.0 in place.  Once they are fixed
# it goes through.
# Needs PGHOST/PGPORT/PGUSER and the private PostgreSQL bin dir first on PATH (test/run).
set -euo pipefail
db=lq_upgrade_limits_$$
tmp=$(mktemp -d)
cleanup() { dropdb --if-exists "$db" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
createdb "$db"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

q <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION leadqual VERSION '1.0';
CREATE TABLE leads (id bigint PRIMARY KEY, employees int, budget boolean,
                    score float8, stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table) VALUES ('default', 'leads');
SELECT leadqual.attach('leads');
-- 1.0's library accepted these; this one (shared by both versions) refuses them when
-- written, so they are written past its validation triggers
ALTER TABLE leadqual.rules DISABLE TRIGGER validate_rule;
ALTER TABLE leadqual.criterion_checks DISABLE TRIGGER validate_check;
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('default', 'size', 'employees', 'gt', '50', 4),
 ('default', 'whale', 'employees', 'gt', '5000', 1e300),
 ('default', 'hot', 'score', 'gt', '30', 10);
INSERT INTO leadqual.criteria (framework, criterion) VALUES ('bant', 'again');
INSERT INTO leadqual.criterion_checks VALUES ('default', 'bant', 'again', 'stage', 'eq', 'mql');
ALTER TABLE leadqual.rules ENABLE TRIGGER validate_rule;
ALTER TABLE leadqual.criterion_checks ENABLE TRIGGER validate_check;
INSERT INTO leadqual.event_rules (model, event_type, points, max_points) VALUES
 ('default', 'demo', 15, NULL), ('default', 'webinar', 6, 1e9);
SQL

if q -c "ALTER EXTENSION leadqual UPDATE" > "$tmp/points.out" 2>&1; then
	fail "the update went through with points out of range"
fi
cat "$tmp/points.out"
grep -q 'bounds points to -1000000 .. 1000000' "$tmp/points.out" || fail "no clear message"
grep -q 'rule [0-9]* "whale" of model "default" (points 1e+300)' "$tmp/points.out" || fail "rule not named"
grep -q 'event rule "webinar" of model "default" (points 6, max_points 1000000000)' "$tmp/points.out" ||
	fail "event rule not named"
grep -q 'size\|demo' "$tmp/points.out" && fail "rows within the bound named"
[ "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'leadqual'")" = 1.0 ] || fail "not left at 1.0"

q -c "UPDATE leadqual.rules SET points = 20 WHERE name = 'whale'"
q -c "UPDATE leadqual.event_rules SET max_points = 12 WHERE event_type = 'webinar'"
if q -c "ALTER EXTENSION leadqual UPDATE" > "$tmp/columns.out" 2>&1; then
	fail "the update went through with rules on the score and stage columns"
fi
cat "$tmp/columns.out"
grep -q 'rules read the columns leadqual writes: model "default" on public.leads: criterion check "bant.again" reads the stage column "stage"; rule "hot" reads the score column "score"' \
	"$tmp/columns.out" || fail "rules on the trigger's columns not named"

q -c "UPDATE leadqual.rules SET enabled = false WHERE name = 'hot'"
q -c "DELETE FROM leadqual.criterion_checks WHERE criterion = 'again'"
q -c "ALTER EXTENSION leadqual UPDATE"
[ "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'leadqual'")" != 1.0 ] || fail "not updated"
# and 1.1 refuses them from now on
if q -c "UPDATE leadqual.rules SET enabled = true WHERE name = 'hot'" 2>/dev/null; then
	fail "enabling the rule on the score column went through"
fi
echo "upgrade_limits: ok"
