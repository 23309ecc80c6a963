-- test/bench/measure.sql — times every query of bench_queries (alternatives.sql) in two
-- passes, checks that the totals agree, measures the rule-cache rebuild, prints the table.
--   psql -v reps=3 -v once_ms=10000 -f test/bench/measure.sql
-- Each query runs `reps` times (round robin) and counts its best time; the slow
-- alternatives (jsonb, the 1000-rule CASE) run once when they take more than once_ms.
-- Times are clock_timestamp() differences around EXECUTE in PL/pgSQL: no client, no
-- network and no result transfer in them.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\pset footer off

SELECT pg_catalog.to_regprocedure('leadqual.score(record,text)') IS NOT NULL AS have_score \gset

DROP TABLE IF EXISTS public.bench_results, public.bench_rebuilds;
CREATE TABLE public.bench_results (
    pass text, ord int, run int, ms float8, total float8, workers int
);
CREATE TABLE public.bench_rebuilds (model text, kind text, run int, ms float8);

CREATE OR REPLACE PROCEDURE public.bench_pass(p text, reps int, once_ms float8)
LANGUAGE plpgsql AS $f$
DECLARE
    have_score boolean := pg_catalog.to_regprocedure('leadqual.score(record,text)') IS NOT NULL;
    q record;
    plan json;
    workers int;
    t0 timestamptz;
    ms float8;
    tot float8;
BEGIN
    -- round robin, so that load from elsewhere on the machine falls on every query alike
    FOR i IN 1..reps LOOP
        FOR q IN SELECT * FROM public.bench_queries
                 WHERE (have_score OR NOT needs_score) AND (p = 'serial' OR NOT serial_only)
                 ORDER BY ord
        LOOP
            CONTINUE WHEN q.slow
                AND EXISTS (SELECT FROM public.bench_results AS r
                            WHERE r.pass = p AND r.ord = q.ord AND r.ms > once_ms);
            -- the plan EXECUTE gets (SPI plans SELECTs with parallel query allowed)
            EXECUTE 'EXPLAIN (FORMAT JSON) ' || q.query INTO plan;
            workers := coalesce((pg_catalog.regexp_match(plan::text, '"Workers Planned": (\d+)'))[1]::int, 0);
            t0 := pg_catalog.clock_timestamp();
            EXECUTE q.query INTO tot;
            ms := 1000 * extract(epoch FROM pg_catalog.clock_timestamp() - t0);
            INSERT INTO public.bench_results VALUES (p, q.ord, i, ms, tot, workers);
        END LOOP;
    END LOOP;
END
$f$;

-- g. A rule change makes the next statement rebuild the compiled rules. Measured as a
-- single-row score right after a committed no-op write to leadqual.rules (a statement
-- that touches no row still fires the statement trigger that bumps the generation),
-- minus the same single-row score with the cache warm.
CREATE OR REPLACE PROCEDURE public.bench_rebuild(m text, reps int)
LANGUAGE plpgsql AS $f$
DECLARE
    q text := format('SELECT leadqual.score(l, %L) FROM public.bench_leads l LIMIT 1', m);
    t0 timestamptz;
    x float8;
BEGIN
    EXECUTE q INTO x;
    FOR i IN 1..reps LOOP
        t0 := pg_catalog.clock_timestamp();
        EXECUTE q INTO x;
        INSERT INTO public.bench_rebuilds
        VALUES (m, 'warm', i, 1000 * extract(epoch FROM pg_catalog.clock_timestamp() - t0));
    END LOOP;
    FOR i IN 1..reps LOOP
        UPDATE leadqual.rules SET points = points WHERE false;
        COMMIT;
        t0 := pg_catalog.clock_timestamp();
        EXECUTE q INTO x;
        INSERT INTO public.bench_rebuilds
        VALUES (m, 'cold', i, 1000 * extract(epoch FROM pg_catalog.clock_timestamp() - t0));
        COMMIT;
    END LOOP;
END
$f$;

-- Pass 1: one process, no JIT.
SET jit = off;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS warm_up FROM public.bench_leads \gset
CALL public.bench_pass('serial', :reps, :once_ms);
\if :have_score
CALL public.bench_rebuild('bench', 7);
CALL public.bench_rebuild('bench1000', 7);
\endif

-- Pass 2: two parallel workers, forced even on the smoke table (the plan column shows it).
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
CALL public.bench_pass('parallel', :reps, :once_ms);
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- The table. "× candidate" is this time divided by the candidate's time (the 20-rule
-- candidate; for the 1000-rule CASE the 1000-rule candidate), so "≥ 3×" reads
-- "the candidate is at least three times faster".
-- (temp tables, not views: CREATE VIEW would run the DDL guard's whole rule check)
CREATE TEMP TABLE bench_report AS
WITH best AS (
    SELECT pass, ord, min(ms) AS ms, count(*) AS runs, max(workers) AS workers
    FROM public.bench_results GROUP BY pass, ord
), goal (ord, base, target, aim, lo) AS (VALUES
    (10, NULL::int, NULL::text, NULL::text, NULL::float8),
    (20, 10, '≥ 1.0×', '≥ 2.0×', 1.0),
    (21, 10, NULL, NULL, NULL),
    (30, 10, '≥ 3×', NULL, 3.0),
    (40, 10, '≥ 20×', NULL, 20.0),
    (50, 10, 'reported', NULL, NULL),
    (51, 10, 'reported', NULL, NULL),
    (60, 10, '≤ 3.0×', NULL, NULL),
    (61, 60, 'reported', NULL, NULL)
)
SELECT b.pass, b.ord, q.what, b.ms, b.runs, b.workers, g.target, g.aim,
       b.ms / base.ms AS ratio,
       CASE WHEN base.ms IS NULL OR g.target IS NULL OR g.target = 'reported' THEN NULL
            WHEN b.ord = 60 THEN b.ms / base.ms <= 3.0
            ELSE b.ms / base.ms >= g.lo END AS met
FROM best AS b
JOIN public.bench_queries AS q USING (ord)
LEFT JOIN goal AS g USING (ord)
LEFT JOIN best AS base ON base.pass = b.pass AND base.ord = g.base;

CREATE TEMP TABLE bench_rebuild_ms AS
SELECT model,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE kind = 'cold')
     - percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE kind = 'warm') AS ms,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE kind = 'warm') AS warm_ms
FROM public.bench_rebuilds GROUP BY model;

\echo
\echo '== leadqual scoring benchmark:' :n 'leads, best of' :reps 'runs, JIT off'
\if :have_score
\else
\echo '   leadqual.score(record,text) is not installed: the candidate rows are skipped'
\endif
SELECT pass AS "pass", what AS "what", ms AS "ms", runs AS "runs", workers AS "workers",
       ratio AS "× candidate", target AS "target", aim AS "aim", met AS "met"
FROM (
    SELECT pass, ord, what,
           to_char(ms, 'FM999999990.0') AS ms,
           runs::text AS runs,
           CASE WHEN workers > 0 THEN workers::text ELSE '-' END AS workers,
           CASE WHEN ratio IS NULL OR ord = 10 THEN '' ELSE to_char(ratio, 'FM99990.00') || '×' END AS ratio,
           coalesce(target, '') AS target,
           coalesce(aim, '') AS aim,
           CASE WHEN met THEN 'yes' WHEN NOT met THEN 'NO' ELSE '' END AS met
    FROM bench_report
    UNION ALL
    SELECT 'serial', CASE model WHEN 'bench' THEN 70 ELSE 71 END,
           'rule cache rebuild, ' || CASE model WHEN 'bench' THEN '20' ELSE '1000' END || ' rules',
           to_char(ms, 'FM999999990.000'), '7', '-', '', 'reported', '', ''
    FROM bench_rebuild_ms
) AS t
ORDER BY pass DESC, ord;

\echo '× candidate: this time / the candidate''s (20 rules; the 1000-rule CASE against the'
\echo '1000-rule candidate), so the targets read "the candidate is N times faster". 1000 rules:'
\echo 'its time / the 20-rule candidate''s. Rebuild: median single-row score after a rule change'
\echo 'minus median single-row score with a warm cache. The parallel pass is forced even on'
\echo 'small tables: at smoke size the start-up of the workers dominates it.'
\echo
\if :have_score
SELECT r.pass AS "pass",
       to_char(c.ms / r.ms, 'FM990.00') AS "score / CASE (target ≤ 1.0, aim ≤ 0.5)",
       to_char(c.ms - f.ms, 'FM9999990.0') AS "score − floor, ms",
       to_char((c.ms - f.ms) / nullif(r.ms - f.ms, 0), 'FM990.00') AS "(score − floor) / (CASE − floor)"
FROM bench_report AS r
JOIN bench_report AS c ON c.pass = r.pass AND c.ord = 10
JOIN bench_report AS f ON f.pass = r.pass AND f.ord = 50
WHERE r.ord = 20
ORDER BY 1 DESC;
\endif

-- The checks: every run of every query of a group, in both passes, gives one total.
DO $chk$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT q.grp, string_agg(DISTINCT format('%s (%s): %s', q.what, r.pass, r.total), '; ') AS totals
        FROM public.bench_results AS r JOIN public.bench_queries AS q USING (ord)
        WHERE q.grp IN ('20', '1000')
        GROUP BY q.grp
        HAVING count(DISTINCT round(r.total::numeric, 6)) > 1
    LOOP
        RAISE EXCEPTION 'bench: the totals of the % rule queries differ', g.grp
            USING DETAIL = g.totals;
    END LOOP;
END
$chk$;
\echo 'totals: every query of the 20-rule group and of the 1000-rule group agrees'
SELECT q.grp AS "rules", min(r.total) AS "total", count(DISTINCT r.ord) AS "queries"
FROM public.bench_results AS r JOIN public.bench_queries AS q USING (ord)
WHERE q.grp IN ('20', '1000') GROUP BY q.grp ORDER BY q.grp::int;

\if :have_score
-- Stronger than totals: every lead's score agrees with the PL/pgSQL function.
DO $chk$
DECLARE
    bad text;
BEGIN
    SELECT string_agg(format('id %s: score %s, plpgsql %s', id, s, p), '; ')
    INTO bad
    FROM (SELECT l.id, leadqual.score(l, 'bench') AS s, public.bench_plpgsql(l) AS p
          FROM public.bench_leads AS l) AS x
    WHERE s IS DISTINCT FROM p;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'bench: leadqual.score and bench_plpgsql differ'
            USING DETAIL = left(bad, 2000);
    END IF;
END
$chk$;
\echo 'per lead: leadqual.score equals bench_plpgsql on every lead'
\endif
