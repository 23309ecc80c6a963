-- fuzz/recheck.sql: a new backend under other settings compiles the stored (canonical)
-- rule values afresh; they must hit the rows the first session's SQL equivalents chose.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = -15;
SELECT fz_check('a new session under TimeZone Pacific/Chatham, DateStyle SQL/DMY, IntervalStyle sql_standard');

-- the same in parallel workers (they compile the rule set without catching errors)
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT set_config(name, 'on', false) FROM pg_settings
 WHERE name IN ('force_parallel_mode', 'debug_parallel_query') \g /dev/null
CREATE TEMP TABLE fz_plan (line text);
DO $$
DECLARE
    line text;
BEGIN
    FOR line IN EXPLAIN (COSTS OFF) SELECT e.rule_id, l.id FROM fz_leads l, leadqual.explain(l, 'fz') e LOOP
        INSERT INTO fz_plan VALUES (line);
    END LOOP;
END $$;
CREATE TEMP TABLE fz_parallel AS
SELECT e.rule_id, array_agg(l.id ORDER BY l.id) AS hits
  FROM fz_leads l, leadqual.explain(l, 'fz') e WHERE e.rule_id IS NOT NULL GROUP BY e.rule_id;
INSERT INTO fz_failure
SELECT 'mismatch', f.case_no, format('parallel workers: rule %s (%s %s %L) hits leads %s, its SQL equivalent %s',
                                     rule_id, f.attribute, f.op, left(f.value, 300), coalesce(p.hits, '{}'), coalesce(x.expected, '{}'))
  FROM (SELECT rule_id, expected FROM fz_rule WHERE enabled AND expected IS NOT NULL) x
  FULL JOIN fz_parallel p USING (rule_id) LEFT JOIN fz_rule f USING (rule_id)
 WHERE coalesce(p.hits, '{}') IS DISTINCT FROM coalesce(x.expected, '{}')
   AND (f.rule_id IS NULL OR f.expected IS NOT NULL);
INSERT INTO fz_failure SELECT 'parallel', NULL, 'the plan has no Gather: the parallel check checks nothing'
 WHERE NOT EXISTS (SELECT FROM fz_plan WHERE line ~ 'Gather');
SELECT format('parallel check: %s rules through %s', (SELECT count(*) FROM fz_parallel),
              (SELECT string_agg(btrim(line), ' / ') FROM fz_plan WHERE line ~ 'Gather|Parallel'));
