-- funnel: stage counts, conversion rates and median days per segment from stage_history
SET extra_float_digits = 0;

-- a lead table whose names need quoting
CREATE TABLE "Funnel leads" (id int PRIMARY KEY, industry text, "we""ird seg" int);
INSERT INTO "Funnel leads" VALUES
    (1, 'saas', 1), (2, 'saas', 1), (3, 'saas', 2), (4, 'saas', 2), (10, 'saas', NULL),
    (5, 'retail', 1), (6, 'retail', 1), (7, 'retail', 2),
    (8, NULL, 1), (9, NULL, 2),
    (11, 'edu', 3);

-- history written by hand (the lead triggers would write it); t0 = 2026-01-01
CREATE FUNCTION pg_temp.h(lead text, stage leadqual.stage, days float8,
                          tbl regclass DEFAULT '"Funnel leads"') RETURNS void
LANGUAGE sql AS $$
    INSERT INTO leadqual.stage_history (lead_table, lead_id, new_stage, changed_at)
    VALUES (tbl, lead, stage, '2026-01-01 00:00:00+00'::timestamptz + days * interval '1 day')
$$;
SELECT pg_temp.h('1', 'nurture', 0), pg_temp.h('1', 'mql', 2), pg_temp.h('1', 'sql', 5),
       pg_temp.h('1', 'won', 10),                     -- saas: to mql 2, mql->sql 3, won
       pg_temp.h('2', 'nurture', 1), pg_temp.h('2', 'mql', 5.5),   -- to mql 4.5, now mql
       pg_temp.h('3', 'mql', 0), pg_temp.h('3', 'sql', 1), pg_temp.h('3', 'lost', 3),
       pg_temp.h('4', 'disqualified', 0),
       pg_temp.h('10', 'mql', 7), pg_temp.h('10', 'lost', 7),     -- same instant: id decides
       pg_temp.h('5', 'nurture', 0), pg_temp.h('5', 'sql', 6),    -- retail: sql counts as mql
       pg_temp.h('7', 'nurture', 0), pg_temp.h('7', 'mql', 1), pg_temp.h('7', 'nurture', 2),
       pg_temp.h('7', 'mql', 8),                      -- first mql counts: 1 day
       pg_temp.h('8', 'won', 0),                      -- NULL segment: won at once
       pg_temp.h('9', 'nurture', 0), pg_temp.h('9', 'disqualified', 1),
       pg_temp.h('9', 'nurture', 5),                  -- no longer disqualified
       pg_temp.h('99', 'won', 0),                     -- not in the table: ignored
       pg_temp.h('2', 'won', 3, 'pg_class');          -- another table: ignored

-- by industry (lead 6 and 11 have no history: counted in leads only)
SELECT * FROM leadqual.funnel('"Funnel leads"', 'industry') ORDER BY segment COLLATE "C";
-- hand-computed: saas to mql {2, 4.5, 0, 0} -> 1, mql->sql {3, 1} -> 2; retail to mql
-- {6, 1} -> 3.5, mql->sql {0}; NULL {0}, {0}; edu: no denominators
SELECT count(*) AS mismatches FROM (
    (SELECT * FROM leadqual.funnel('"Funnel leads"', 'industry')
     EXCEPT ALL
     SELECT * FROM (VALUES
        ('saas', 5::bigint, 4::bigint, 2::bigint, 1::bigint, 2::bigint, 1::bigint,
         0.8::float8, 0.5::float8, 0.5::float8, 1::float8, 2::float8),
        ('retail', 3, 2, 1, 0, 0, 0, 2 / 3::float8, 0.5, 0, 3.5, 0),
        (NULL, 2, 1, 1, 1, 0, 0, 0.5, 1, 1, 0, 0),
        ('edu', 1, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL)) e)
    UNION ALL
    (SELECT * FROM (VALUES
        ('saas', 5::bigint, 4::bigint, 2::bigint, 1::bigint, 2::bigint, 1::bigint,
         0.8::float8, 0.5::float8, 0.5::float8, 1::float8, 2::float8),
        ('retail', 3, 2, 1, 0, 0, 0, 2 / 3::float8, 0.5, 0, 3.5, 0),
        (NULL, 2, 1, 1, 1, 0, 0, 0.5, 1, 1, 0, 0),
        ('edu', 1, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL)) e
     EXCEPT ALL
     SELECT * FROM leadqual.funnel('"Funnel leads"', 'industry'))) d;

-- no segment: one row for all leads; to mql {2, 4.5, 0, 0, 6, 1, 0} -> 1,
-- mql->sql {3, 1, 0, 0} -> 0.5
SELECT * FROM leadqual.funnel('"Funnel leads"');
SELECT * FROM leadqual.funnel('"Funnel leads"', NULL);
-- a non-text segment column whose name needs quoting, rendered as text
SELECT segment, leads, reached_mql, reached_sql, won
  FROM leadqual.funnel('"Funnel leads"', 'we"ird seg') ORDER BY segment COLLATE "C";
-- an empty table still gives its row
CREATE TABLE funnel_empty (id bigint PRIMARY KEY, industry text);
SELECT * FROM leadqual.funnel('funnel_empty');
SELECT * FROM leadqual.funnel('funnel_empty', 'industry');

-- errors: hostile or unknown segment names are never executed, tables without a
-- single-column primary key are refused
SELECT * FROM leadqual.funnel('"Funnel leads"', 'x; drop table "Funnel leads"');
SELECT * FROM leadqual.funnel('"Funnel leads"', 'industry) FROM pg_class; --');
SELECT * FROM leadqual.funnel('"Funnel leads"', 'Industry');
SELECT * FROM leadqual.funnel('"Funnel leads"', 'ctid');
SELECT count(*) AS still_there FROM "Funnel leads";
CREATE TABLE funnel_nopk (id int, industry text);
SELECT * FROM leadqual.funnel('funnel_nopk');
CREATE TABLE funnel_twopk (a int, b int, PRIMARY KEY (a, b));
SELECT * FROM leadqual.funnel('funnel_twopk');
CREATE VIEW funnel_view AS SELECT * FROM "Funnel leads";
SELECT * FROM leadqual.funnel('funnel_view');
SELECT * FROM leadqual.funnel(NULL);
SELECT * FROM leadqual.funnel('no_such_table');

-- the SQLSTATEs of those errors
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT q, pg_temp.sqlstate_of(q) FROM (VALUES
    ($$SELECT leadqual.funnel('"Funnel leads"', 'x; drop table "Funnel leads"')$$),
    ($$SELECT leadqual.funnel('funnel_nopk')$$),
    ($$SELECT leadqual.funnel('funnel_twopk', 'a')$$),
    ($$SELECT leadqual.funnel(NULL, 'a')$$)) v(q);

-- SECURITY INVOKER: the caller's row-level security applies
CREATE ROLE regress_funnel_analyst;
GRANT SELECT ON "Funnel leads" TO regress_funnel_analyst;
GRANT SELECT ON leadqual.stage_history TO regress_funnel_analyst;
ALTER TABLE "Funnel leads" ENABLE ROW LEVEL SECURITY;
CREATE POLICY saas_only ON "Funnel leads" TO regress_funnel_analyst
    USING (industry = 'saas');
SET ROLE regress_funnel_analyst;
SELECT segment, leads, reached_mql, won FROM leadqual.funnel('"Funnel leads"');
RESET ROLE;
-- ... and without a grant on stage_history, funnel is refused
REVOKE SELECT ON leadqual.stage_history FROM regress_funnel_analyst;
SET ROLE regress_funnel_analyst;
SELECT segment, leads FROM leadqual.funnel('"Funnel leads"');
RESET ROLE;

DROP FUNCTION pg_temp.h, pg_temp.sqlstate_of;
DROP VIEW funnel_view;
DROP TABLE "Funnel leads", funnel_empty, funnel_nopk, funnel_twopk CASCADE;
DROP ROLE regress_funnel_analyst;
DELETE FROM leadqual.stage_history WHERE lead_table NOT IN (SELECT oid FROM pg_class);
DELETE FROM leadqual.stage_history WHERE lead_table = 'pg_class'::regclass;
SELECT count(*) AS history_left FROM leadqual.stage_history
 WHERE lead_table NOT IN (SELECT oid FROM pg_class);
