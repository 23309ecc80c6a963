#!/usr/bin/env bash
# dump_restore: pg_dump of a database with models and rules, restored into a new database,
# gives the same rules and the same scores; shipped frameworks are not duplicated.
# Needs PGHOST/PGPORT/PGUSER and the private PostgreSQL bin dir first on PATH (test/run).
set -euo pipefail
src=lq_dump_src_$$
dst=lq_dump_dst_$$
tmp=$(mktemp -d)
cleanup() { dropdb --if-exists "$src" 2>/dev/null; dropdb --if-exists "$dst" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
createdb "$src"
createdb "$dst"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" <<'SQL'
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
SQL
}
report "$src" UTC > "$tmp/src.out"
report "$dst" America/Los_Angeles > "$tmp/dst.out"
if ! diff -u "$tmp/src.out" "$tmp/dst.out"; then
	echo "dump_restore: the restored database differs"
	exit 1
fi
builtin=$(psql -X -At -d "$dst" -c "SELECT count(*) FROM leadqual.frameworks WHERE builtin")
criteria=$(psql -X -At -d "$dst" -c "SELECT count(*) FROM leadqual.criteria WHERE builtin")
nonzero=$(grep -c '^score|[0-9]*|[1-9]' "$tmp/dst.out" || true)
echo "rules: $(grep -c '^rule|' "$tmp/dst.out"), scored leads: $(grep -c '^score|' "$tmp/dst.out"), non-zero scores: $nonzero, builtin frameworks: $builtin, builtin criteria: $criteria"
[ "$builtin" = 2 ] && [ "$criteria" = 10 ] || { echo "builtin rows duplicated or missing"; exit 1; }
[ "$nonzero" -gt 100 ] || { echo "too few non-zero scores: the comparison proves little"; exit 1; }
echo "dump_restore: same rules and scores after restore"
