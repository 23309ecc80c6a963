-- test/bench/analytics.sql — what leadqual's analytics cost next to plain SQL.
--
--   psql -X -d DB -v n=1000000 -f test/bench/analytics.sql     (n defaults to 1000000)
--
-- Needs the leadqual extension in DB and a role that may write leadqual.stage_history (the
-- extension's owner). Builds its data in schema leadqual_bench_analytics and drops it again,
-- with the history rows it wrote. Each query runs 3 times; the best time counts. Parallel
-- query is off so that both sides of a ratio use one core.
\ir preamble.psql

-- a previous run that failed half-way leaves its schema and history behind
DO $$
BEGIN
    IF pg_catalog.to_regclass('leadqual_bench_analytics.leads') IS NOT NULL THEN
        DELETE FROM leadqual.stage_history
         WHERE lead_table = 'leadqual_bench_analytics.leads'::regclass;
    END IF;
END $$;
DROP SCHEMA IF EXISTS leadqual_bench_analytics CASCADE;
CREATE SCHEMA leadqual_bench_analytics;
SET search_path = leadqual_bench_analytics, pg_catalog;

-- timings: public.bench_ms (generate.sql)

CREATE TABLE results (measure text, leadqual_ms float8, plain_ms float8);

\echo == data: :n scored leads
SELECT setseed(0.25);
-- typical lead scores (integers 0..100) and continuous ones (all distinct: the worst case)
CREATE TABLE scored AS
SELECT g AS id, s AS score, s + random() * 1e-3 AS fine_score,
       random() < 0.05 + s / 150 AS converted
  FROM (SELECT g, floor(random() * 101)::float8 AS s FROM generate_series(1, :n) g) x;
VACUUM ANALYZE scored;

INSERT INTO results
SELECT 'score_quality(score, converted), 101 distinct scores',
       public.bench_ms('SELECT leadqual.score_quality(score, converted) FROM scored'),
       public.bench_ms('SELECT avg(converted::int) FROM scored');
INSERT INTO results
SELECT 'score_quality(score, converted), all scores distinct',
       public.bench_ms('SELECT leadqual.score_quality(fine_score, converted) FROM scored'),
       public.bench_ms('SELECT avg(converted::int) FROM scored');
INSERT INTO results
SELECT 'score_quality(score, converted, 1000), all distinct',
       public.bench_ms('SELECT leadqual.score_quality(fine_score, converted, 1000) FROM scored'),
       public.bench_ms('SELECT avg(converted::int) FROM scored');

\echo == data: :n leads, 3 history rows each
CREATE TABLE leads (id bigint PRIMARY KEY, industry text);
INSERT INTO leads
SELECT g, (ARRAY['saas', 'retail', 'finance', 'health', 'edu', 'gov', 'media', 'energy',
                 'logistics', NULL])[1 + (g % 10)]
  FROM generate_series(1, :n) g;
INSERT INTO leadqual.stage_history (lead_table, lead_id, old_stage, new_stage, changed_at)
SELECT 'leadqual_bench_analytics.leads'::regclass, x.g::text, s.old_stage, s.new_stage, s.at
  FROM (SELECT g, random() AS r,
               '2025-01-01'::timestamptz + random() * interval '300 days' AS t0
          FROM generate_series(1, :n) g) x,
       LATERAL (VALUES
           (NULL, 'nurture'::leadqual.stage, x.t0),
           ('nurture', CASE WHEN x.r < 0.5 THEN 'mql' WHEN x.r < 0.7 THEN 'disqualified'
                            ELSE 'nurture' END::leadqual.stage,
            x.t0 + x.r * interval '20 days'),
           (CASE WHEN x.r < 0.5 THEN 'mql' WHEN x.r < 0.7 THEN 'disqualified'
                 ELSE 'nurture' END::leadqual.stage,
            CASE WHEN x.r < 0.1 THEN 'won' WHEN x.r < 0.2 THEN 'sql' WHEN x.r < 0.3 THEN 'lost'
                 WHEN x.r < 0.5 THEN 'nurture' ELSE 'mql' END::leadqual.stage,
            x.t0 + x.r * interval '45 days')) s(old_stage, new_stage, at);
VACUUM ANALYZE leads;
ANALYZE leadqual.stage_history;

-- what funnel does, written out by hand for this table
CREATE VIEW plain_funnel AS
WITH firsts AS (
    SELECT lead_id, min(changed_at) AS first_at,
           min(changed_at) FILTER (WHERE new_stage IN ('mql', 'sql', 'won')) AS mql_at,
           min(changed_at) FILTER (WHERE new_stage IN ('sql', 'won')) AS sql_at
      FROM leadqual.stage_history
     WHERE lead_table = 'leadqual_bench_analytics.leads'::regclass
     GROUP BY lead_id
), cur AS (
    SELECT DISTINCT ON (lead_id) lead_id, new_stage
      FROM leadqual.stage_history
     WHERE lead_table = 'leadqual_bench_analytics.leads'::regclass
     ORDER BY lead_id, changed_at DESC, id DESC
)
SELECT l.industry AS segment, count(*) AS leads, count(f.mql_at) AS reached_mql,
       count(f.sql_at) AS reached_sql,
       count(*) FILTER (WHERE c.new_stage = 'won') AS won,
       count(*) FILTER (WHERE c.new_stage = 'lost') AS lost,
       count(*) FILTER (WHERE c.new_stage = 'disqualified') AS disqualified,
       count(f.mql_at)::float8 / nullif(count(*), 0) AS mql_rate,
       count(f.sql_at)::float8 / nullif(count(f.mql_at), 0) AS mql_to_sql_rate,
       (count(*) FILTER (WHERE c.new_stage = 'won'))::float8 / nullif(count(f.sql_at), 0)
           AS sql_to_won_rate,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.mql_at - f.first_at) / 86400)
           AS median_days_to_mql,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.sql_at - f.mql_at) / 86400)
           AS median_days_mql_to_sql
  FROM leads l
  LEFT JOIN firsts f ON f.lead_id = l.id::text
  LEFT JOIN cur c ON c.lead_id = l.id::text
 GROUP BY l.industry;

-- the two agree before they are timed
SELECT count(*) = 0 AS funnel_matches_plain_sql FROM (
    (SELECT segment, leads, reached_mql, reached_sql, won, lost, disqualified
       FROM leadqual.funnel('leadqual_bench_analytics.leads', 'industry')
     EXCEPT
     SELECT segment, leads, reached_mql, reached_sql, won, lost, disqualified FROM plain_funnel)
    UNION ALL
    (SELECT segment, leads, reached_mql, reached_sql, won, lost, disqualified FROM plain_funnel
     EXCEPT
     SELECT segment, leads, reached_mql, reached_sql, won, lost, disqualified
       FROM leadqual.funnel('leadqual_bench_analytics.leads', 'industry'))) d;

INSERT INTO results
SELECT 'funnel by industry',
       public.bench_ms($$SELECT * FROM leadqual.funnel('leadqual_bench_analytics.leads', 'industry')$$),
       public.bench_ms('SELECT * FROM plain_funnel');

\echo == results (n = :n; ratio = leadqual / plain SQL)
SELECT measure, round(leadqual_ms::numeric, 1) AS leadqual_ms, round(plain_ms::numeric, 1) AS plain_ms,
       round((leadqual_ms / plain_ms)::numeric, 2) AS ratio
  FROM results;

DELETE FROM leadqual.stage_history WHERE lead_table = 'leadqual_bench_analytics.leads'::regclass;
DROP SCHEMA leadqual_bench_analytics CASCADE;
