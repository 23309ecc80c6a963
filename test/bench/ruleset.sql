-- test/bench/ruleset.sql — rule sets as values (issue 10), as ratios measured in one run:
--   1. score(l, rules) against score(l, model) over the benchmark table (target <= 1.05x),
--      the value given as a sub-select in FROM, a scalar sub-select, a literal and a
--      scalar sub-select reading it from a table (stored compressed or out of line);
--   2. engagement with a value through a partial-aggregation plan (a parallel aggregate
--      with one worker doing all partial work; partial states combined by hand, as Citus
--      does) against the plain aggregate (target <= 1.2x); the model-name aggregate too;
--   3. score_quality the same way, and built-in aggregates (sum over the scored leads,
--      count(*) over the events) through the same plans: what a partial plan and the
--      by-hand split cost by themselves here (starting a worker, Gather, finalize; a
--      second grouping level);
--   The partial plan is forced (planned for 2 workers, max_parallel_workers = 1, leader
--   not participating: one worker does all partial aggregation, the leader combines and
--   finalizes) and checked to be one; the plain aggregate runs without workers.  With one
--   worker and the leader out, the planner costs a partial plan no cheaper than the
--   serial one, so without the 2-planned/1-launched trick it plans the serial aggregate
--   and the "parallel" row would measure the plain aggregate twice.
--   Besides wall time, each row shows the backend's own CPU time (/proc/self/schedstat,
--   Linux; NULL elsewhere; it advances by scheduler ticks, so only queries of many ms
--   mean something): on a shared machine the steadier figure for the rows that run in
--   one process (every row but the parallel plans, whose work is in the worker).
--   4. parse + compile of a 1,000-rule value (target <= 5 ms): distinct values, so every
--      one misses the cache.
-- Usage (after generate.sql and rules.sql): psql -v n=1000000 -f test/bench/ruleset.sql
-- Runs alternate between the two sides of a ratio (best of BENCH_REPS-like :reps), so a
-- change in machine load hits both.
\ir preamble.psql
\if :{?reps}
\else
\set reps 5
\endif
SET work_mem = '256MB';

DROP SCHEMA IF EXISTS leadqual_bench_ruleset CASCADE;
CREATE SCHEMA leadqual_bench_ruleset;
SET search_path = leadqual_bench_ruleset, pg_catalog;

-- this backend's CPU time in ns (NULL where /proc/self/schedstat is not there)
CREATE FUNCTION cpu_ns() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$;

-- best time (wall and this backend's CPU) of each query over reps rounds, the queries
-- alternating within a round; the results of all queries must agree (to 1e-9 relative)
CREATE FUNCTION race(labels text[], queries text[], reps int,
                     OUT label text, OUT ms float8, OUT cpu_ms float8, OUT agree boolean)
RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
    best float8[] := array_fill('Infinity'::float8, ARRAY[array_length(queries, 1)]);
    bestc float8[] := array_fill('Infinity'::float8, ARRAY[array_length(queries, 1)]);
    res float8[] := array_fill(NULL::float8, ARRAY[array_length(queries, 1)]);
    t0 timestamptz;
    c0 bigint;
    r float8;
BEGIN
    FOR i IN 1 .. array_length(queries, 1) LOOP
        EXECUTE queries[i] INTO r;          -- warm-up (and compile)
    END LOOP;
    FOR k IN 1 .. reps LOOP
        FOR i IN 1 .. array_length(queries, 1) LOOP
            t0 := clock_timestamp();
            c0 := cpu_ns();
            EXECUTE queries[i] INTO r;
            bestc[i] := least(bestc[i], (cpu_ns() - c0) / 1e6);
            best[i] := least(best[i], 1000 * extract(epoch FROM clock_timestamp() - t0)::float8);
            res[i] := r;
        END LOOP;
    END LOOP;
    FOR i IN 1 .. array_length(queries, 1) LOOP
        label := labels[i];
        ms := round(best[i]::numeric, 1);
        -- a parallel plan's work is in its worker: the leader's CPU says nothing
        cpu_ms := CASE WHEN bestc[i] < 'Infinity' AND label NOT LIKE '%parallel plan%'
                       THEN round(bestc[i]::numeric, 1) END;
        agree := abs(res[i] - res[1]) <= 1e-9 * greatest(abs(res[1]), 1);
        RETURN NEXT;
    END LOOP;
END $$;

CREATE TABLE results (part text, label text, ms float8, cpu_ms float8, agree boolean);

-- 1. scoring --------------------------------------------------------------------------
SELECT format('SELECT sum(leadqual.score(l, %L::leadqual.ruleset)) FROM public.bench_leads l',
              leadqual.ruleset('bench'::text)) AS q_literal \gset
-- the values stored in a table (compressed in line with 20 rules, out of line with 1,000)
CREATE TABLE stored AS
SELECT m AS model, leadqual.ruleset(m) AS v FROM unnest(ARRAY['bench', 'bench1000']) m;
INSERT INTO results
SELECT 'score (20 rules)', r.* FROM race(
    ARRAY['score(l, model)', 'score(l, rules) FROM (SELECT ruleset(m)) r',
          'score(l, (SELECT ruleset(m)))', 'score(l, literal value)', 'score(l, (SELECT v FROM table))'],
    ARRAY[$$SELECT sum(leadqual.score(l, 'bench')) FROM public.bench_leads l$$,
          $$SELECT sum(leadqual.score(l, r.rs)) FROM public.bench_leads l, (SELECT leadqual.ruleset('bench'::text) AS rs) r$$,
          $$SELECT sum(leadqual.score(l, (SELECT leadqual.ruleset('bench'::text)))) FROM public.bench_leads l$$,
          :'q_literal',
          $$SELECT sum(leadqual.score(l, (SELECT v FROM leadqual_bench_ruleset.stored WHERE model = 'bench'))) FROM public.bench_leads l$$],
    :reps) r;
INSERT INTO results
SELECT 'score (1,000 rules)', r.* FROM race(
    ARRAY['score(l, model)', 'score(l, rules) FROM (SELECT ruleset(m)) r', 'score(l, (SELECT ruleset(m)))',
          'score(l, (SELECT v FROM table))'],
    ARRAY[$$SELECT sum(leadqual.score(l, 'bench1000')) FROM public.bench_leads l$$,
          $$SELECT sum(leadqual.score(l, r.rs)) FROM public.bench_leads l, (SELECT leadqual.ruleset('bench1000'::text) AS rs) r$$,
          $$SELECT sum(leadqual.score(l, (SELECT leadqual.ruleset('bench1000'::text)))) FROM public.bench_leads l$$,
          $$SELECT sum(leadqual.score(l, (SELECT v FROM leadqual_bench_ruleset.stored WHERE model = 'bench1000'))) FROM public.bench_leads l$$],
    greatest(:reps / 2, 1)) r;

-- 2. engagement -----------------------------------------------------------------------
DELETE FROM leadqual.models WHERE model = 'bench_rs_engagement';
CREATE TABLE leads (id int PRIMARY KEY, engagement float8);
INSERT INTO leadqual.models (model, lead_table, engagement_column, half_life)
VALUES ('bench_rs_engagement', 'leadqual_bench_ruleset.leads', 'engagement', '30 days');
INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life) VALUES
    ('bench_rs_engagement', 'page_view', 1, 10, '7 days'),
    ('bench_rs_engagement', 'pricing_visit', 5, 20, NULL),
    ('bench_rs_engagement', 'email_open', 1, 5, '14 days'),
    ('bench_rs_engagement', 'email_click', 3, 15, NULL),
    ('bench_rs_engagement', 'webinar', 10, NULL, '60 days'),
    ('bench_rs_engagement', 'demo_request', 30, NULL, NULL),
    ('bench_rs_engagement', 'form_submit', 8, 24, NULL),
    ('bench_rs_engagement', 'unsubscribe', -20, -40, NULL);
-- 4 events per lead, grouped by a non-distribution key (the case that needs partial
-- aggregation on Citus): 16 segments
CREATE TABLE events AS
SELECT (i / 4)::int AS lead_id, (i % 16)::int AS segment,
       (ARRAY['page_view', 'pricing_visit', 'email_open', 'email_click', 'webinar',
              'demo_request', 'form_submit', 'unsubscribe'])[1 + (i * 7 + i / 3) % 8] AS event_type,
       '2026-06-01'::timestamptz - ((i * 2654435761) % 181) * interval '1 day' AS occurred_at
FROM generate_series(0::bigint, 4 * :n - 1) i;
VACUUM ANALYZE events;
-- the partial plan by hand: states per (segment, part), then combined per segment
CREATE AGGREGATE partial_engagement(text, timestamptz, leadqual.ruleset, timestamptz) (
    SFUNC = leadqual.engagement_transfn, STYPE = leadqual.engagement_state);
CREATE AGGREGATE combine_engagement(leadqual.engagement_state) (
    SFUNC = leadqual.engagement_combine, STYPE = leadqual.engagement_state,
    FINALFUNC = leadqual.engagement_rs_final);
CREATE TABLE rs AS SELECT leadqual.ruleset('bench_rs_engagement'::text) AS v;

CREATE TABLE partial_checked (q text);
-- one worker does every partial aggregate, the leader only combines and finalizes:
-- per-worker cost.  Planned for 2 workers (else the planner keeps the serial plan, see
-- above), 1 launched; the function's SET clauses end with the call.
CREATE FUNCTION parallel_one(q text) RETURNS float8 LANGUAGE plpgsql
    SET max_parallel_workers_per_gather = 2 SET max_parallel_workers = 1
    SET parallel_leader_participation = off SET parallel_setup_cost = 0
    SET parallel_tuple_cost = 0 SET min_parallel_table_scan_size = 0 AS $$
DECLARE
    r float8;
    plan text;
BEGIN
    -- (the first call of each query: that its plan is a partial aggregation under a
    -- Gather, else the comparison would be void)
    IF NOT EXISTS (SELECT FROM leadqual_bench_ruleset.partial_checked c WHERE c.q = parallel_one.q) THEN
        EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO plan;
        IF plan NOT LIKE '%"Partial Mode": "Partial"%' OR plan NOT LIKE '%"Node Type": "Gather%' THEN
            RAISE EXCEPTION 'not a partial-aggregation plan: %', q;
        END IF;
        INSERT INTO leadqual_bench_ruleset.partial_checked VALUES (q);
    END IF;
    EXECUTE q INTO r;
    RETURN r;
END $$;

INSERT INTO results
SELECT 'engagement, 16 segments', r.* FROM race(
    ARRAY['engagement(t, at, rules, as_of)', 'through a parallel plan (1 worker)',
          'partial states combined by hand (4 parts)', 'states as text in between',
          'engagement(t, at, model, as_of)', 'model name, parallel plan (1 worker)'],
    ARRAY[$$SELECT sum(e) FROM (SELECT segment, leadqual.engagement(event_type, occurred_at, (SELECT v FROM leadqual_bench_ruleset.rs), '2026-06-01') AS e
              FROM leadqual_bench_ruleset.events GROUP BY segment) s$$,
          $$SELECT leadqual_bench_ruleset.parallel_one($q$SELECT sum(e) FROM (SELECT segment, leadqual.engagement(event_type, occurred_at, (SELECT v FROM leadqual_bench_ruleset.rs), '2026-06-01') AS e
              FROM leadqual_bench_ruleset.events GROUP BY segment) s$q$)$$,
          $$SELECT sum(e) FROM (SELECT segment, leadqual_bench_ruleset.combine_engagement(st) AS e FROM
              (SELECT segment, lead_id % 4, leadqual_bench_ruleset.partial_engagement(event_type, occurred_at, (SELECT v FROM leadqual_bench_ruleset.rs), '2026-06-01') AS st
                 FROM leadqual_bench_ruleset.events GROUP BY 1, 2) p GROUP BY segment) s$$,
          $$SELECT sum(e) FROM (SELECT segment, leadqual_bench_ruleset.combine_engagement(st::text::leadqual.engagement_state) AS e FROM
              (SELECT segment, lead_id % 4, leadqual_bench_ruleset.partial_engagement(event_type, occurred_at, (SELECT v FROM leadqual_bench_ruleset.rs), '2026-06-01') AS st
                 FROM leadqual_bench_ruleset.events GROUP BY 1, 2) p GROUP BY segment) s$$,
          $$SELECT sum(e) FROM (SELECT segment, leadqual.engagement(event_type, occurred_at, 'bench_rs_engagement', '2026-06-01') AS e
              FROM leadqual_bench_ruleset.events GROUP BY segment) s$$,
          $$SELECT leadqual_bench_ruleset.parallel_one($q$SELECT sum(e) FROM (SELECT segment, leadqual.engagement(event_type, occurred_at, 'bench_rs_engagement', '2026-06-01') AS e
              FROM leadqual_bench_ruleset.events GROUP BY segment) s$q$)$$],
    :reps) r;

-- 3. score_quality --------------------------------------------------------------------
CREATE TABLE scored AS
SELECT l.id, l.id % 16 AS segment, leadqual.score(l, 'bench') AS score, l.converted
  FROM public.bench_leads l;
VACUUM ANALYZE scored;
CREATE AGGREGATE partial_quality(float8, boolean) (
    SFUNC = leadqual.quality_trans, STYPE = leadqual.quality_state);
CREATE AGGREGATE combine_quality(leadqual.quality_state) (
    SFUNC = leadqual.quality_combine, STYPE = leadqual.quality_state,
    FINALFUNC = leadqual.quality_final);
INSERT INTO results
SELECT 'score_quality, 16 segments', r.* FROM race(
    ARRAY['score_quality(score, converted)', 'through a parallel plan (1 worker)',
          'partial states combined by hand (4 parts)'],
    ARRAY[$$SELECT sum((q).auc) FROM (SELECT segment, leadqual.score_quality(score, converted) AS q
              FROM leadqual_bench_ruleset.scored GROUP BY segment) s$$,
          $$SELECT leadqual_bench_ruleset.parallel_one($q$SELECT sum((q).auc) FROM (SELECT segment, leadqual.score_quality(score, converted) AS q
              FROM leadqual_bench_ruleset.scored GROUP BY segment) s$q$)$$,
          $$SELECT sum((q).auc) FROM (SELECT segment, leadqual_bench_ruleset.combine_quality(st) AS q FROM
              (SELECT segment, id % 4, leadqual_bench_ruleset.partial_quality(score, converted) AS st
                 FROM leadqual_bench_ruleset.scored GROUP BY 1, 2) p GROUP BY segment) s$$],
    :reps) r;
-- the same two plans with a built-in aggregate: what the partial plan costs by itself
INSERT INTO results
SELECT 'reference: sum(score), 16 segments', r.* FROM race(
    ARRAY['sum(score) (built-in)', 'through a parallel plan (1 worker)',
          'partial states combined by hand (4 parts)'],
    ARRAY[$$SELECT sum(q) FROM (SELECT segment, sum(score) AS q
              FROM leadqual_bench_ruleset.scored GROUP BY segment) s$$,
          $$SELECT leadqual_bench_ruleset.parallel_one($q$SELECT sum(q) FROM (SELECT segment, sum(score) AS q
              FROM leadqual_bench_ruleset.scored GROUP BY segment) s$q$)$$,
          $$SELECT sum(q) FROM (SELECT segment, sum(st) AS q FROM
              (SELECT segment, id % 4, sum(score) AS st
                 FROM leadqual_bench_ruleset.scored GROUP BY 1, 2) p GROUP BY segment) s$$],
    :reps) r;
-- and over the events, for the engagement part
INSERT INTO results
SELECT 'reference: count(*), events, 16 segments', r.* FROM race(
    ARRAY['count(*) (built-in)', 'through a parallel plan (1 worker)',
          'partial states combined by hand (4 parts)'],
    ARRAY[$$SELECT sum(q) FROM (SELECT segment, count(*) AS q
              FROM leadqual_bench_ruleset.events GROUP BY segment) s$$,
          $$SELECT leadqual_bench_ruleset.parallel_one($q$SELECT sum(q) FROM (SELECT segment, count(*) AS q
              FROM leadqual_bench_ruleset.events GROUP BY segment) s$q$)$$,
          $$SELECT sum(q) FROM (SELECT segment, sum(st) AS q FROM
              (SELECT segment, lead_id % 4, count(*) AS st
                 FROM leadqual_bench_ruleset.events GROUP BY 1, 2) p GROUP BY segment) s$$],
    :reps) r;

-- 4. parse + compile of a 1,000-rule value --------------------------------------------
-- 60 distinct values (mql_threshold 1..60), 20 per round, each read from text and
-- compiled for the lead row type by its first score: every one is a cache miss; jsonb's
-- own input of the same documents for comparison
CREATE TABLE docs AS
SELECT i, (jsonb_set(leadqual.ruleset('bench1000'::text)::jsonb, '{mql_threshold}', to_jsonb(i)) - 'hash')::text AS doc
  FROM generate_series(1, 60) i;
CREATE TABLE one_lead AS SELECT * FROM public.bench_leads ORDER BY id LIMIT 1;
CREATE FUNCTION parse_compile(what text, OUT ms_per_value float8, OUT bytes int) LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    best float8 := 'Infinity';
    d record;
    v leadqual.ruleset;
    s float8;
BEGIN
    FOR round IN 1 .. 3 LOOP
        t0 := clock_timestamp();
        FOR d IN SELECT doc FROM leadqual_bench_ruleset.docs
                  WHERE i > (round - 1) * 20 AND i <= round * 20 ORDER BY i LOOP
            IF what = 'jsonb input (for comparison)' THEN
                PERFORM d.doc::jsonb;
                CONTINUE;
            END IF;
            v := d.doc::leadqual.ruleset;
            IF what = 'parse + compile' THEN
                SELECT leadqual.score(l, v) INTO s FROM leadqual_bench_ruleset.one_lead l;
            END IF;
        END LOOP;
        best := least(best, 1000 * extract(epoch FROM clock_timestamp() - t0)::float8 / 20);
    END LOOP;
    ms_per_value := round(best::numeric, 2);
    bytes := (SELECT length(doc) FROM leadqual_bench_ruleset.docs LIMIT 1);
END $$;

\echo == rule sets as values: ratios against the first row of each part
SELECT part, label, ms,
       round((ms / nullif(first_value(ms) OVER (PARTITION BY part ORDER BY ord), 0))::numeric, 2) AS ratio,
       cpu_ms, round((cpu_ms / nullif(first_value(cpu_ms) OVER (PARTITION BY part ORDER BY ord), 0))::numeric, 2) AS cpu_ratio,
       agree
  FROM (SELECT *, row_number() OVER () AS ord FROM results) r ORDER BY ord;
\echo == parse + compile of a 1,000-rule value (distinct values: every one a cache miss)
SELECT 'jsonb input (for comparison)' AS step, * FROM parse_compile('jsonb input (for comparison)')
UNION ALL SELECT 'parse', * FROM parse_compile('parse')
UNION ALL SELECT 'parse + compile', * FROM parse_compile('parse + compile');

RESET search_path;
DELETE FROM leadqual.models WHERE model = 'bench_rs_engagement';
DROP SCHEMA leadqual_bench_ruleset CASCADE;
