#!/usr/bin/env bash
# dump_restore: pg_dump of a database with models and rules, restored into a new database,
# gives the same rules and the same scores; shipped frameworks are not duplicated.  An
# attached lead table and events table keep working after the restore (their triggers
# carry no OIDs): leads and events inserted afterwards get the same scores, stages,
# engagement and history as in the original database.
# Needs PGHOST/PGPORT/PGUSER and the private PostgreSQL bin dir first on PATH (test/run).
set -euo pipefail
src=lq_dump_src_$$
dst=lq_dump_dst_$$
tmp=$(mktemp -d)
cleanup() { dropdb --if-exists "$src" 2>/dev/null; dropdb --if-exists "$dst" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
createdb "$src"
createdb "$dst"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" > /dev/null <<'SQL'
SET client_min_messages = warning;
SET TimeZone = 'Europe/Berlin';
CREATE EXTENSION leadqual;
CREATE TYPE tier AS ENUM ('bronze', 'silver', 'gold');
CREATE TABLE leads (
    id integer PRIMARY KEY, title varchar(80), industry text, employees integer,
    revenue numeric(12,2), country text COLLATE "C", seen_at timestamptz, created date,
    tier tier, budget boolean, authority boolean, engagement float8 DEFAULT 0);
INSERT INTO leads
SELECT g, (ARRAY['CTO', 'Head of Engineering', 'intern', 'Größe GmbH CEO', NULL])[1 + g % 5],
       (ARRAY['software', 'manufacturing', 'logistics', NULL])[1 + g % 4], (g * 37) % 6000,
       (g * 1.005)::numeric(12,2), (ARRAY['DE', 'AT', 'us', 'CH', NULL])[1 + g % 5],
       TIMESTAMPTZ '2026-05-31 20:00:00+00' + g * INTERVAL '7 minutes', DATE '2026-01-01' + g % 300,
       (ARRAY['bronze', 'silver', 'gold', NULL])[1 + g % 4]::tier, g % 3 = 0, g % 2 = 0, g % 11
  FROM generate_series(1, 1000) g;
CREATE VIEW leads_v AS SELECT id, title::text AS title, employees::bigint AS employees, country FROM leads;
INSERT INTO leadqual.frameworks (framework, description) VALUES ('champ', 'Challenges, Authority, Money, Prioritization');
INSERT INTO leadqual.criteria (framework, criterion) VALUES ('champ', 'money'), ('champ', 'authority');
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, framework, engagement_column)
VALUES ('default', 'leads', 15, 0, 'bant', 'engagement'),
       ('view model', 'leads_v', 5, NULL, 'champ', NULL);
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout, enabled) VALUES
 ('default', 'head of', 'fit', 'title', 'ilike', '%head of%', 10, false, true),
 ('default', 'c-level', 'fit', 'title', 'regex', '^(CTO|CEO)$|CEO$', 10, false, true),
 ('default', 'industry', 'fit', 'industry', 'in', '{manufacturing,logistics}', 8, false, true),
 ('default', 'size', 'fit', 'employees', 'between', '{50,5000}', 6, false, true),
 ('default', 'outside', 'fit', 'country', 'not_in', '{DE,AT,CH}', -5, false, true),
 ('default', 'rich', 'fit', 'revenue', 'ge', '100.5', 3.25, false, true),
 ('default', 'june', 'intent', 'seen_at', 'ge', '2026-06-01', 2, false, true),
 ('default', 'early', 'intent', 'created', 'lt', '2026-03-01', 1, false, true),
 ('default', 'gold', 'fit', 'tier', 'ge', 'silver', 4, false, true),
 ('default', 'intern', 'fit', 'title', 'eq', 'intern', 0, true, true),
 ('default', 'draft', 'fit', 'title', 'eq', 'x', 100, false, false),
 ('view model', 'cto', 'fit', 'title', 'like', 'CTO%', 7, false, true),
 ('view model', 'small', 'fit', 'employees', 'lt', '100', -2, false, true),
 ('view model', 'lower', 'fit', 'country', 'gt', 'Z', 1, false, true);
INSERT INTO leadqual.criterion_checks VALUES
 ('default', 'bant', 'budget', 'budget', 'eq', 'true'),
 ('default', 'bant', 'authority', 'authority', 'eq', 'true'),
 ('default', 'bant', 'need', 'industry', 'not_null', NULL),
 ('default', 'bant', 'timeline', 'created', 'ge', '2026-01-01'),
 ('view model', 'champ', 'money', 'employees', 'ge', '10');
INSERT INTO leadqual.event_rules (model, event_type, points, max_points) VALUES ('default', 'webinar', 5, 20);
-- an attached lead table fed by an attached events table (no decay: results do not move)
CREATE TABLE crm (id integer PRIMARY KEY, title text, industry text,
                  engagement float8 NOT NULL DEFAULT 0, score float8, stage leadqual.stage,
                  stage_locked boolean NOT NULL DEFAULT false);
CREATE TABLE crm_events (id bigserial PRIMARY KEY, lead_id integer REFERENCES crm,
                         event_type text, occurred_at timestamptz);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, engagement_column, half_life)
VALUES ('crm', 'crm', 20, 0, 'engagement', NULL);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout) VALUES
 ('crm', 'cto', 'title', 'eq', 'CTO', 12, false),
 ('crm', 'software', 'industry', 'eq', 'software', 5, false),
 ('crm', 'intern', 'title', 'eq', 'intern', 0, true);
INSERT INTO leadqual.event_rules (model, event_type, points, max_points) VALUES
 ('crm', 'demo', 9, 18), ('crm', 'webinar', 2, NULL);
SELECT leadqual.attach('crm', 'crm');
SELECT leadqual.attach_events('crm_events', 'lead_id', 'crm');
SET leadqual.actor = 'import';
INSERT INTO crm (id, title, industry)
SELECT g, (ARRAY['CTO', 'dev', 'intern', NULL])[1 + g % 4], (ARRAY['software', 'retail'])[1 + g % 2]
  FROM generate_series(1, 40) g;
INSERT INTO crm_events (lead_id, event_type, occurred_at)
SELECT 1 + g % 40, (ARRAY['demo', 'webinar'])[1 + g % 2], TIMESTAMPTZ '2026-01-01' + g * INTERVAL '1 hour'
  FROM generate_series(1, 60) g;
SQL

pg_dump -d "$src" > "$tmp/dump.sql"
# restore in another time zone and date style: canonical values must read alike
PGTZ=Pacific/Auckland PGDATESTYLE='SQL, DMY' psql -X -q -v ON_ERROR_STOP=1 -d "$dst" -f "$tmp/dump.sql" > "$tmp/restore.log" 2>&1 || {
	echo "restore failed:"; cat "$tmp/restore.log"; exit 1; }

report() {
	PGTZ=$2 psql -X -At -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT 'rule', rule_id, model, name, category, attribute, op, value, points, knockout, enabled
  FROM leadqual.rules ORDER BY rule_id;
SELECT 'model', model, lead_table::text, mql_threshold, fit_threshold, framework, engagement_column
  FROM leadqual.models ORDER BY model COLLATE "C";
SELECT 'frameworks', framework, builtin, count(*) OVER () FROM leadqual.frameworks ORDER BY framework COLLATE "C";
SELECT 'criteria', framework, criterion, builtin FROM leadqual.criteria ORDER BY framework COLLATE "C", position;
SELECT 'check', * FROM leadqual.criterion_checks ORDER BY 2, 3, 4;
SELECT 'score', id, leadqual.score(l), leadqual.classify(l), (leadqual.qualify(l)).missing
  FROM leads l ORDER BY id;
SELECT 'view', id, leadqual.score(v, 'view model'), leadqual.classify(v, 'view model')
  FROM leads_v v ORDER BY id;
SELECT 'explain', sum(e.points), count(*) FROM leads l, leadqual.explain(l) e;
SELECT 'version', model, version, extract(epoch FROM created_at), created_by, md5(rules::text)
  FROM leadqual.ruleset_versions ORDER BY model COLLATE "C", version;
SQL
}
report "$src" UTC > "$tmp/src.out"
report "$dst" America/Los_Angeles > "$tmp/dst.out"
if ! diff -u "$tmp/src.out" "$tmp/dst.out"; then
	echo "dump_restore: the restored database differs"
	exit 1
fi
# the attached tables after the restore: new leads, events, a manual decision and a
# deleted event, the same in both databases
for db in "$src" "$dst"; do
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" > "$tmp/after_$db.out" <<'SQL' || { echo "writing attached tables failed in $db"; exit 1; }
SET leadqual.actor = 'after restore';
INSERT INTO crm (id, title, industry) VALUES (100, 'CTO', 'software'), (101, 'dev', 'software'), (102, 'intern', 'software');
INSERT INTO crm_events (lead_id, event_type, occurred_at)
VALUES (101, 'demo', '2026-03-01'), (101, 'demo', '2026-03-02'), (102, 'demo', '2026-03-01'), (2, 'demo', '2026-03-01');
UPDATE crm SET stage = 'won' WHERE id = 4;
DELETE FROM crm_events WHERE lead_id = 2 AND occurred_at = '2026-03-01';
SELECT 'crm', id, title, engagement, score, stage, stage_locked FROM crm ORDER BY id;
SELECT 'history', id, lead_table::text, lead_id, model, old_stage, new_stage, score, manual, changed_by, version
  FROM leadqual.stage_history ORDER BY id;
SELECT 'attachment', lead_table::text, model, key_column FROM leadqual.attachments;
SELECT 'event attachment', events_table::text, model FROM leadqual.event_attachments;
SQL
done
if ! diff -u "$tmp/after_$src.out" "$tmp/after_$dst.out"; then
	echo "dump_restore: the attached tables behave differently after the restore"
	exit 1
fi
grep -q '^crm|100|CTO|0|17|nurture|f$' "$tmp/after_$dst.out" || { echo "new lead not scored after restore"; exit 1; }
grep -q '^crm|101|dev|18|23|mql|f$' "$tmp/after_$dst.out" || { echo "events not counted after restore"; exit 1; }
grep -q '^history|.*|crm|101|crm|nurture|mql|23|f|after restore|[0-9][0-9]*$' "$tmp/after_$dst.out" || { echo "no history after restore"; exit 1; }
grep -q '^history|.*|crm|4|crm|[a-z]*|won|.*|t|after restore|$' "$tmp/after_$dst.out" || { echo "manual decision not recorded after restore"; exit 1; }
echo "attached tables after restore: $(grep -c '^crm|' "$tmp/after_$dst.out") leads, $(grep -c '^history|' "$tmp/after_$dst.out") history rows, identical"

# the versions came with the dump, and the restore made none of its own
versions=$(grep -c '^version|' "$tmp/dst.out" || true)
[ "$versions" -ge 3 ] || { echo "dump_restore: versions missing after the restore ($versions)"; exit 1; }
echo "versions: $versions, identical after the restore"

builtin=$(psql -X -At -d "$dst" -c "SELECT count(*) FROM leadqual.frameworks WHERE builtin")
criteria=$(psql -X -At -d "$dst" -c "SELECT count(*) FROM leadqual.criteria WHERE builtin")
nonzero=$(grep -c '^score|[0-9]*|[1-9]' "$tmp/dst.out" || true)
echo "rules: $(grep -c '^rule|' "$tmp/dst.out"), scored leads: $(grep -c '^score|' "$tmp/dst.out"), non-zero scores: $nonzero, builtin frameworks: $builtin, builtin criteria: $criteria"
[ "$builtin" = 2 ] && [ "$criteria" = 10 ] || { echo "builtin rows duplicated or missing"; exit 1; }
[ "$nonzero" -gt 100 ] || { echo "too few non-zero scores: the comparison proves little"; exit 1; }
echo "dump_restore: same rules and scores after restore"
