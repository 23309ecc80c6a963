#!/usr/bin/env bash
# upgrade: a 1.0 installation with real data (models, rules, criterion checks, event rules,
# an attached lead table with stage history, an attached events table) is updated with
# ALTER EXTENSION leadqual UPDATE.  Then: every member of the extension is defined exactly
# as in a fresh install of the default version (definition, volatility, parallel safety,
# grants: test/sql/extension_objects.sql); the triggers on user tables are those the new
# version's attach creates; every rule, score, stage and history row survived; and the
# upgraded triggers work: a new lead and a new event are scored, staged and recorded.
# Needs PGHOST/PGPORT/PGUSER and the private PostgreSQL bin dir first on PATH (test/run).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
old=lq_upgrade_old_$$
new=lq_upgrade_new_$$
tmp=$(mktemp -d)
cleanup() { dropdb --if-exists "$old" 2>/dev/null; dropdb --if-exists "$new" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
createdb "$old"
createdb "$new"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }

# the same user objects and data in both databases; only the extension's version differs
setup() {
	q "$1" <<'SQL'
SET client_min_messages = warning;
CREATE TABLE leads (
    id bigint PRIMARY KEY, title text, industry text, employees int, country text,
    budget boolean NOT NULL DEFAULT false, engagement float8 NOT NULL DEFAULT 0,
    score float8, stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
CREATE TABLE events (id bigserial PRIMARY KEY, lead_id bigint REFERENCES leads,
                     event_type text, occurred_at timestamptz);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, framework, engagement_column)
VALUES ('default', 'leads', 20, 0, 'bant', 'engagement');
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout) VALUES
 ('default', 'head of', 'fit', 'title', 'ilike', '%head of%', 10, false),
 ('default', 'industry', 'fit', 'industry', 'in', '{manufacturing,logistics}', 8, false),
 ('default', 'size', 'fit', 'employees', 'between', '{50,5000}', 4, false),
 ('default', 'outside', 'fit', 'country', 'not_in', '{DE,AT,CH}', -5, false),
 ('default', 'student', 'fit', 'title', 'iregex', '\m(student|intern)\M', 0, true),
 ('default', 'budget', 'intent', 'budget', 'eq', 'true', 5, false);
INSERT INTO leadqual.criterion_checks VALUES ('default', 'bant', 'budget', 'budget', 'eq', 'true');
INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life)
VALUES ('default', 'webinar', 6, 12, NULL), ('default', 'demo', 15, NULL, NULL);
SELECT leadqual.attach('leads');
SELECT leadqual.attach_events('events', 'lead_id');
SET leadqual.actor = 'import';
INSERT INTO leads (id, title, industry, employees, country, budget)
SELECT g, (ARRAY['Head of IT', 'intern', 'Buyer', 'Head of Sales'])[1 + g % 4],
       (ARRAY['manufacturing', 'software', 'logistics'])[1 + g % 3], g * 13 % 6000,
       (ARRAY['DE', 'US', 'AT'])[1 + g % 3], g % 5 = 0
  FROM generate_series(1, 300) g;
INSERT INTO events (lead_id, event_type, occurred_at)
SELECT 1 + g % 300, (ARRAY['webinar', 'demo', 'newsletter'])[1 + g % 3],
       TIMESTAMPTZ '2026-01-01' + g * INTERVAL '1 hour'
  FROM generate_series(1, 600) g;
SET leadqual.actor = 'sales: maria';
UPDATE leads SET stage = 'won' WHERE id IN (4, 8);
UPDATE leads SET stage = 'sql' WHERE id = 12;
UPDATE leads SET stage = NULL WHERE id = 12;
-- a trigger the user disabled stays disabled when the upgrade makes it again
ALTER TABLE events DISABLE TRIGGER leadqual_events_delete;
SQL
}
# what must survive an upgrade (history without its generated timestamps' precision issues:
# they are stored values, so they are compared exactly)
report() {
	q "$1" <<'SQL'
SELECT 'model', m.* FROM leadqual.models m ORDER BY model;
SELECT 'rule', r.* FROM leadqual.rules r ORDER BY rule_id;
SELECT 'check', c.* FROM leadqual.criterion_checks c ORDER BY 2, 3, 4;
SELECT 'event rule', e.* FROM leadqual.event_rules e ORDER BY 2, 3;
SELECT 'attachment', a.* FROM leadqual.attachments a ORDER BY 2;
SELECT 'event attachment', a.* FROM leadqual.event_attachments a ORDER BY 2;
SELECT 'lead', l.* FROM leads l ORDER BY id;
SELECT 'history', h.id, h.lead_table, h.lead_id, h.model, h.old_stage, h.new_stage, h.score, h.manual,
       h.changed_at, h.changed_by
  FROM leadqual.stage_history h ORDER BY id;
SELECT 'events', count(*) FROM events;
SQL
}
# triggers on user tables, as pg_dump would write them
user_triggers() {
	q "$1" -c "SELECT t.tgrelid::regclass, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid)
	             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	            WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
	            ORDER BY 1::text, 2"
}

q "$old" -c "CREATE EXTENSION leadqual VERSION '1.0'"
setup "$old"
report "$old" > "$tmp/before.out"
[ "$(grep -c '^history' "$tmp/before.out")" -gt 300 ] || { echo "setup made too little history"; exit 1; }

q "$old" -c "ALTER EXTENSION leadqual UPDATE"
q "$new" -c "CREATE EXTENSION leadqual"
v_old=$(q "$old" -c "SELECT extversion FROM pg_extension WHERE extname = 'leadqual'")
v_new=$(q "$new" -c "SELECT extversion FROM pg_extension WHERE extname = 'leadqual'")
[ "$v_old" = "$v_new" ] || { echo "upgraded to $v_old, fresh install is $v_new"; exit 1; }
echo "1.0 updated to $v_old"

# 1. the extension's objects: the same in both
q "$old" -f "$here/test/sql/extension_objects.sql" > "$tmp/objects_upgraded.out"
q "$new" -f "$here/test/sql/extension_objects.sql" > "$tmp/objects_fresh.out"
if ! diff -u "$tmp/objects_fresh.out" "$tmp/objects_upgraded.out"; then
	echo "FAIL: an upgraded 1.0 differs from a fresh $v_new (- fresh, + upgraded)"; exit 1
fi
echo "objects: $(wc -l < "$tmp/objects_fresh.out") lines, identical"

# 2. the data survived
report "$old" > "$tmp/after.out"
if ! diff -u "$tmp/before.out" "$tmp/after.out"; then
	echo "FAIL: data changed by the upgrade"; exit 1
fi
echo "data: $(wc -l < "$tmp/after.out") rows, unchanged"

# 3. the triggers 1.0's attach made are now the new version's
setup "$new"
user_triggers "$old" > "$tmp/triggers_upgraded.out"
user_triggers "$new" > "$tmp/triggers_fresh.out"
if ! diff -u "$tmp/triggers_fresh.out" "$tmp/triggers_upgraded.out"; then
	echo "FAIL: triggers on attached tables differ from a fresh attach"; exit 1
fi
echo "triggers: $(wc -l < "$tmp/triggers_fresh.out"), as a fresh attach makes them"

# 4. and they work: a new lead is scored and staged, an event re-stages it, both recorded
for db in "$old" "$new"; do
	q "$db" <<'SQL' > "$tmp/work_$db.out"
INSERT INTO leads (id, title, industry, employees, country) VALUES (1000, 'Head of IT', 'logistics', 10, 'DE');
SELECT 'new lead', score, stage FROM leads WHERE id = 1000;
INSERT INTO events (lead_id, event_type, occurred_at) VALUES (1000, 'demo', now());
SELECT 'after demo', score, stage, engagement > 0 FROM leads WHERE id = 1000;
SELECT 'history', old_stage, new_stage FROM leadqual.stage_history WHERE lead_id = '1000' ORDER BY id;
SQL
done
# 5. rule versions: the upgrade gave every model version 1, its rule set as it was; the
# history written before has no version, the history written since names version 1
q "$old" -c "SELECT 'version', v.model, v.version, v.rules::text = leadqual.ruleset(v.model)::text
               FROM leadqual.ruleset_versions v ORDER BY 2, 3" > "$tmp/versions.out"
cat "$tmp/versions.out"
[ "$(cat "$tmp/versions.out")" = "version|default|1|t" ] || { echo "FAIL: the upgrade did not make version 1 of each model"; exit 1; }
q "$old" -c "SELECT 'history versions', count(*) FILTER (WHERE version IS NULL AND lead_id <> '1000'),
                    count(*) FILTER (WHERE version = 1 AND lead_id = '1000'), count(*) FILTER (WHERE lead_id = '1000')
               FROM leadqual.stage_history" > "$tmp/hv.out"
cat "$tmp/hv.out"
grep -qE '^history versions\|[1-9][0-9]*\|([1-9])\|\1$' "$tmp/hv.out" || { echo "FAIL: history versions after the upgrade"; exit 1; }
cat "$tmp/work_$old.out"
diff -u "$tmp/work_$new.out" "$tmp/work_$old.out"
grep -q '^new lead|18|nurture$' "$tmp/work_$old.out"
grep -q '^after demo|.*|mql|t$' "$tmp/work_$old.out"
grep -q '^history|nurture|mql$' "$tmp/work_$old.out"
echo "upgrade: ok"
