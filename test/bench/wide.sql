-- test/bench/wide.sql — scoring whole rows of a wide lead table (issue 13, part 1).
--
--   psql -X -d DB -v n=1000000 -f test/bench/wide.sql   (uses min(n, 100000) leads)
--
-- A copy of bench_leads with a ~4 kB notes column and 40 more columns, scored with the
-- 20 rules of model 'bench' (copied as model 'bench_wide'): sum(leadqual.score(w)) over
-- the table, against the same over a view of only the columns the rules read. "whole row"
-- is the call the planner support function cannot rewrite (the model comes from a
-- sub-select), i.e. what every whole-row call cost before the rewrite. Best of 3, one
-- core (parallel query off), JIT off; all ratios from this run.
\ir preamble.psql

DELETE FROM leadqual.models WHERE model = 'bench_wide';
DROP SCHEMA IF EXISTS leadqual_bench_wide CASCADE;
CREATE SCHEMA leadqual_bench_wide;
SET search_path = leadqual_bench_wide, pg_catalog;

SELECT least(:n, 100000) AS wide_n \gset
\echo == data: :wide_n wide leads (notes ~4 kB, 60 columns)
-- column order as a CRM grows it: notes and extra columns between the rule columns
CREATE TABLE leads AS
SELECT l.id,
       (SELECT string_agg(md5((l.id * 1000 + k)::text), ' ') FROM generate_series(1, 120) k) AS notes,
       'x' || l.id AS x01, l.id + 1 AS x02, 'x' || l.id AS x03, l.id + 3 AS x04, 'x' || l.id AS x05,
       l.id + 5 AS x06, 'x' || l.id AS x07, l.id + 7 AS x08, 'x' || l.id AS x09, l.id + 9 AS x10,
       l.email, l.company, l.job_title, l.industry, l.employees, l.annual_revenue,
       'x' || l.id AS x11, l.id + 11 AS x12, 'x' || l.id AS x13, l.id + 13 AS x14, 'x' || l.id AS x15,
       l.country, l.source, l.budget_confirmed, l.authority_confirmed, l.need_confirmed,
       l.timeline_confirmed, l.timeline_days, l.created_at, l.converted,
       'x' || l.id AS x16, l.id + 16 AS x17, 'x' || l.id AS x18, l.id + 18 AS x19, 'x' || l.id AS x20,
       'x' || l.id AS x21, l.id + 21 AS x22, 'x' || l.id AS x23, l.id + 23 AS x24, 'x' || l.id AS x25,
       l.id + 25 AS x26, 'x' || l.id AS x27, l.id + 27 AS x28, 'x' || l.id AS x29, l.id + 29 AS x30,
       'x' || l.id AS x31, l.id + 31 AS x32, 'x' || l.id AS x33, l.id + 33 AS x34, 'x' || l.id AS x35,
       l.id + 35 AS x36, 'x' || l.id AS x37, l.id + 37 AS x38, 'x' || l.id AS x39, l.id + 39 AS x40
FROM public.bench_leads l WHERE l.id <= :wide_n;
ALTER TABLE leads ADD PRIMARY KEY (id);
VACUUM (FREEZE, ANALYZE) leads;
SELECT count(*) AS columns,
       (SELECT round(avg(pg_column_size(notes))) FROM leads) AS notes_bytes_stored,
       pg_size_pretty(pg_relation_size((SELECT reltoastrelid FROM pg_class
                                         WHERE oid = 'leads'::regclass))) AS toast_size
FROM pg_attribute WHERE attrelid = 'leads'::regclass AND attnum > 0;

INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, description)
SELECT 'bench_wide', 'leadqual_bench_wide.leads', mql_threshold, fit_threshold, 'benchmark: wide rows'
FROM leadqual.models WHERE model = 'bench';
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout)
SELECT 'bench_wide', name, category, attribute, op, value, points, knockout
FROM leadqual.rules WHERE model = 'bench' ORDER BY rule_id;

-- the narrow view a user had to write before: the columns the rules read
SELECT 'CREATE VIEW narrow AS SELECT ' || string_agg(DISTINCT quote_ident(attribute), ', ')
       || ' FROM leads' AS ddl
FROM leadqual.rules WHERE model = 'bench_wide' \gset
:ddl;

CREATE TABLE results (what text, ms float8);
SELECT sum(leadqual.score(w, 'bench_wide')) AS narrowed,
       sum(leadqual.score(w, (SELECT 'bench_wide'))) AS whole_row,
       (SELECT sum(leadqual.score(v, 'bench_wide')) FROM narrow v) AS view
FROM leads w;
-- five rounds, each contender once per round in rotating order (load from elsewhere on
-- the machine falls on all alike); each counts its best time
DO $$
DECLARE
    q text[] := ARRAY[
        $q$SELECT sum(leadqual.score(w, 'bench_wide')) FROM leadqual_bench_wide.leads w$q$,
        $q$SELECT sum(leadqual.score(w, (SELECT 'bench_wide'))) FROM leadqual_bench_wide.leads w$q$,
        $q$SELECT sum(leadqual.score(v, 'bench_wide')) FROM leadqual_bench_wide.narrow v$q$];
    what text[] := ARRAY['table, rewritten call', 'table, whole row (as before)', 'narrow view'];
    j int;
BEGIN
    FOR r IN 1..5 LOOP
        FOR k IN 0..2 LOOP
            j := 1 + (r + k) % 3;
            INSERT INTO leadqual_bench_wide.results VALUES (what[j], public.bench_ms(q[j], 1));
        END LOOP;
    END LOOP;
END $$;
CREATE TEMP TABLE best AS SELECT what, min(ms) AS ms FROM results GROUP BY what;

\echo == wide rows (n = :wide_n; ratio: time over the narrow view time; target for the rewritten call 1.1 or less)
SELECT what, round(ms::numeric, 1) AS ms,
       round((ms / (SELECT ms FROM best WHERE what = 'narrow view'))::numeric, 2) AS "× narrow view"
FROM best ORDER BY ms DESC;

DELETE FROM leadqual.models WHERE model = 'bench_wide';
RESET search_path;
DROP SCHEMA leadqual_bench_wide CASCADE;
