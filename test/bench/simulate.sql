-- test/bench/simulate.sql — what leadqual.simulate costs next to scoring the table under
-- both rule sets.
--   psql -v n=1000000 -f test/bench/simulate.sql     (run.sh passes -v n=SIZE)
-- An attached copy of the n benchmark leads (model 'bench', rules.sql), scored and staged;
-- a candidate that changes 'weak industry' (-5 -> -12: ~10 % of the leads change score,
-- some of them stage) and raises the MQL threshold by 1.
--   a. SELECT count(*) FROM leadqual.simulate(leads, candidate)
--   b. SELECT sum(leadqual.score(l, current)), sum(leadqual.score(l, candidate)) FROM leads l
--      (both rule sets computed once, in a CTE): the target is a <= 1.3 x b
--   c. SELECT sum(leadqual.score(l, current)) FROM leads l: scoring under one rule set
-- Best of `runs` (default 3), alternating; serial (no parallel workers), JIT off.  The
-- simulation's count is checked against the same decision written in SQL.  Works in the
-- schema leadqual_bench_simulate and drops it at the end.
\ir preamble.psql

-- a rerun: models first (the DDL guard refuses to drop a table rules still use)
DELETE FROM leadqual.attachments WHERE model = 'bench_sim';
DELETE FROM leadqual.models WHERE model IN ('bench_sim', 'bench_sim_candidate');
DELETE FROM leadqual.ruleset_versions WHERE model IN ('bench_sim', 'bench_sim_candidate');
DROP SCHEMA IF EXISTS leadqual_bench_simulate CASCADE;
CREATE SCHEMA leadqual_bench_simulate;
SET search_path = leadqual_bench_simulate, public, pg_catalog;

\echo == simulate: :n leads
CREATE TABLE leads AS
SELECT b.*, NULL::float8 AS score, NULL::leadqual.stage AS stage, false AS stage_locked
  FROM public.bench_leads b WHERE b.id <= :n;
ALTER TABLE leads ADD PRIMARY KEY (id), ALTER COLUMN stage_locked SET NOT NULL,
    ALTER COLUMN stage_locked SET DEFAULT false;
SELECT leadqual.copy_model('bench', 'bench_sim');
UPDATE leadqual.models SET lead_table = 'leadqual_bench_simulate.leads' WHERE model = 'bench_sim';
-- scored and staged as the trigger would (before attaching: one UPDATE, no trigger)
UPDATE leads l SET score = leadqual.score(l, 'bench_sim'), stage = leadqual.classify(l, 'bench_sim');
-- people decided some: 1 % won, 1 % locked in nurture
UPDATE leads SET stage = 'won', stage_locked = true WHERE id % 100 = 7;
UPDATE leads SET stage = 'nurture', stage_locked = true WHERE id % 100 = 8;
SELECT leadqual.attach('leadqual_bench_simulate.leads', 'bench_sim');
VACUUM (FREEZE, ANALYZE) leads;

SELECT leadqual.copy_model('bench_sim', 'bench_sim_candidate');
UPDATE leadqual.rules SET points = -12 WHERE model = 'bench_sim_candidate' AND name = 'weak industry';
UPDATE leadqual.models SET mql_threshold = mql_threshold + 1 WHERE model = 'bench_sim_candidate';

CREATE TABLE rules AS
SELECT leadqual.ruleset('bench_sim'::text) AS current, leadqual.ruleset('bench_sim_candidate'::text) AS candidate;

-- the simulation's answer, checked against the rescore decision in SQL
SELECT count(*) AS simulated,
       count(*) FILTER (WHERE old_stage IS DISTINCT FROM new_stage) AS stage_moves
  FROM leadqual.simulate('leads', (SELECT candidate FROM rules)) \gset
SELECT count(*) AS expected
  FROM leads l, rules r
 WHERE l.score IS DISTINCT FROM leadqual.score(l, r.candidate)
    OR (NOT l.stage_locked AND l.stage NOT IN ('sql', 'won', 'lost')
        AND l.stage IS DISTINCT FROM leadqual.classify(l, r.candidate)) \gset
\echo == simulate lists :simulated leads (:stage_moves stage moves); the same decision in SQL: :expected
SELECT (:simulated = :expected AND :simulated > 0) AS simulate_ok \gset
\if :simulate_ok
\else
SELECT 1/0 AS "simulate disagrees with the decision in SQL";
\endif

CREATE TEMP TABLE timings (contender text, ms float8);
SELECT set_config('leadqual_bench.runs', :'runs', false) \gset
DO $$
DECLARE
    t0 timestamptz;
    q text;
BEGIN
    FOR i IN 1 .. current_setting('leadqual_bench.runs')::int LOOP
        FOREACH q IN ARRAY ARRAY[
            'SELECT count(*) FROM leadqual.simulate(''leads'', (SELECT candidate FROM rules))',
            'WITH r AS MATERIALIZED (SELECT current, candidate FROM rules) '
            'SELECT sum(leadqual.score(l, r.current)), sum(leadqual.score(l, r.candidate)) FROM leads l, r',
            'WITH r AS MATERIALIZED (SELECT current FROM rules) '
            'SELECT sum(leadqual.score(l, r.current)) FROM leads l, r'] LOOP
            t0 := clock_timestamp();
            EXECUTE q;
            INSERT INTO timings VALUES (q, extract(epoch FROM clock_timestamp() - t0) * 1000);
        END LOOP;
    END LOOP;
END $$;

SELECT min(ms) FILTER (WHERE contender LIKE '%simulate%') AS sim_ms,
       min(ms) FILTER (WHERE contender LIKE '%r.candidate)) FROM%') AS both_ms,
       min(ms) FILTER (WHERE contender NOT LIKE '%simulate%' AND contender NOT LIKE '%candidate)) FROM%') AS one_ms
  FROM timings \gset
\echo == simulate over :n leads: :sim_ms ms; sum(score) under both rule sets: :both_ms ms; under one: :one_ms ms
SELECT round((:sim_ms / :both_ms)::numeric, 2) AS "simulate / sum(score) under both (target <= 1.3)",
       round((:sim_ms / :one_ms)::numeric, 2) AS "simulate / sum(score) under one";

-- clean up
SELECT leadqual.detach('leadqual_bench_simulate.leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'leadqual_bench_simulate.leads'::regclass;
DELETE FROM leadqual.models WHERE model IN ('bench_sim', 'bench_sim_candidate');
DELETE FROM leadqual.ruleset_versions WHERE model IN ('bench_sim', 'bench_sim_candidate');
RESET search_path;
DROP SCHEMA leadqual_bench_simulate CASCADE;
