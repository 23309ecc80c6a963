-- wide_rows: score, classify, explain and qualify over a whole row of a wide table get
-- only the columns the rules, criterion checks and engagement column read (the planner
-- support function's rewrite), with the same results as the whole row.
SET client_min_messages = warning;
CREATE FUNCTION leadqual_plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q;
END $$;

-- 60 columns: the rules read a few; notes is large and stored out of line
DO $$
BEGIN
    EXECUTE 'CREATE TABLE wide (id integer PRIMARY KEY, title text, notes text, country text, '
         || 'employees integer, budget boolean, engagement float8, '
         || (SELECT string_agg(format('c%s text', g), ', ') FROM generate_series(8, 60) g)
         || ')';
END $$;
ALTER TABLE wide ALTER COLUMN notes SET STORAGE EXTERNAL;
INSERT INTO wide (id, title, notes, country, employees, budget, engagement, c8, c59)
SELECT g, CASE g % 4 WHEN 0 THEN 'Head of IT' WHEN 1 THEN 'CTO' WHEN 2 THEN 'intern' END,
       (SELECT string_agg(md5((g * 100 + k)::text), '') FROM generate_series(1, 150) k),
       CASE WHEN g % 3 = 0 THEN 'DE' ELSE 'US' END, g * 10, g % 5 = 0, g % 7, 'x' || g, 'y'
FROM generate_series(1, 200) g;
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'wide'::regclass AND attnum > 0;
SELECT pg_column_size(notes) > 4000 AS notes_is_large,
       pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE oid = 'wide'::regclass)) > 0 AS toasted
FROM wide WHERE id = 1;

INSERT INTO leadqual.models (model, lead_table, mql_threshold, framework, engagement_column)
VALUES ('wide', 'wide', 12, 'bant', 'engagement');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout) VALUES
    ('wide', 'head of', 'title', 'ilike', '%head of%', 10, false),
    ('wide', 'cto', 'title', 'eq', 'CTO', 8, false),
    ('wide', 'intern', 'title', 'eq', 'intern', 0, true),
    ('wide', 'dach', 'country', 'in', '{DE,AT,CH}', 5, false),
    ('wide', 'size', 'employees', 'between', '{50,1500}', 3, false);
INSERT INTO leadqual.criterion_checks (model, framework, criterion, attribute, op, value)
VALUES ('wide', 'bant', 'budget', 'budget', 'eq', 'true');

-- the rewrite: only title, country, employees (rules), budget (check) and engagement
EXPLAIN (VERBOSE, COSTS OFF) SELECT sum(leadqual.score(w, 'wide')) FROM wide w;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT leadqual.classify(w, 'wide'), leadqual.qualify(w, 'wide') FROM wide w WHERE id = 1;
EXPLAIN (VERBOSE, COSTS OFF) SELECT e.* FROM wide w, leadqual.explain(w, 'wide') e;

-- the same results as the call the planner cannot rewrite (the model is not a constant)
SELECT count(*) AS leads,
       count(*) FILTER (WHERE leadqual.score(w, 'wide')
                        IS DISTINCT FROM leadqual.score(w, (SELECT 'wide'))) AS score_differs,
       count(*) FILTER (WHERE leadqual.classify(w, 'wide')
                        IS DISTINCT FROM leadqual.classify(w, (SELECT 'wide'))) AS stage_differs,
       count(*) FILTER (WHERE leadqual.qualify(w, 'wide')
                        IS DISTINCT FROM leadqual.qualify(w, (SELECT 'wide'))) AS qualify_differs,
       count(DISTINCT leadqual.classify(w, 'wide')) AS stages
FROM wide w;
SELECT (SELECT array_agg(ROW(w.id, e.*) ORDER BY w.id, e.rule_id)
          FROM wide w, leadqual.explain(w, 'wide') e)
     = (SELECT array_agg(ROW(w.id, e.*) ORDER BY w.id, e.rule_id)
          FROM wide w, leadqual.explain(w, (SELECT 'wide')) e) AS explain_same;
SELECT id, leadqual.score(w, 'wide'), leadqual.classify(w, 'wide'), leadqual.qualify(w, 'wide')
FROM wide w WHERE id <= 5 ORDER BY id;

-- the rewritten call does not read the out-of-line notes; the whole row does
BEGIN;
SELECT pg_stat_get_xact_blocks_fetched(reltoastrelid) AS before
FROM pg_class WHERE oid = 'wide'::regclass \gset
SELECT sum(leadqual.score(w, 'wide')) FROM wide w;
SELECT pg_stat_get_xact_blocks_fetched(reltoastrelid) = :before AS narrowed_reads_no_toast
FROM pg_class WHERE oid = 'wide'::regclass;
SELECT sum(leadqual.score(w, (SELECT 'wide'))) FROM wide w;
SELECT pg_stat_get_xact_blocks_fetched(reltoastrelid) > :before AS whole_row_reads_toast
FROM pg_class WHERE oid = 'wide'::regclass;
COMMIT;

-- a rule on the large column: it is passed, and scores agree
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('wide', 'notes begin with md5(101)', 'notes', 'like', '38b3eff8%', 0.5);
SELECT position('notes' IN plan) > 0 AS notes_passed
FROM (SELECT string_agg(p, ' ') AS plan FROM leadqual_plan($$SELECT leadqual.score(w, 'wide') FROM wide w$$) p) x;
SELECT count(*) FILTER (WHERE leadqual.score(w, 'wide')
                        IS DISTINCT FROM leadqual.score(w, (SELECT 'wide'))) AS score_differs,
       count(*) FILTER (WHERE leadqual.score(w, 'wide') <> round(leadqual.score(w, 'wide'))) > 0
           AS some_notes_match
FROM wide w;
DELETE FROM leadqual.rules WHERE model = 'wide' AND name = 'notes begin with md5(101)';

-- outer joins: a missing row is NULL, as with the whole row
SELECT x.i, leadqual.score(w, 'wide') AS score, leadqual.classify(w, 'wide') AS stage,
       leadqual.qualify(w, 'wide') AS qualify
FROM generate_series(199, 202) x(i) LEFT JOIN wide w ON w.id = x.i ORDER BY x.i;

-- partitions and inheritance children: the parent's row type, each child's rows
CREATE TABLE wide_p (id integer, title text, notes text, country text) PARTITION BY RANGE (id);
CREATE TABLE wide_p1 PARTITION OF wide_p FOR VALUES FROM (0) TO (100);
CREATE TABLE wide_p2 (notes text, country text, title text, id integer);  -- another column order
ALTER TABLE wide_p ATTACH PARTITION wide_p2 FOR VALUES FROM (100) TO (1000);
INSERT INTO wide_p SELECT id, title, notes, country FROM wide;
INSERT INTO leadqual.models (model, lead_table) VALUES ('wide_p', 'wide_p');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
    ('wide_p', 'cto', 'title', 'eq', 'CTO', 8), ('wide_p', 'de', 'country', 'eq', 'DE', 5);
SELECT position('score_narrowed' IN plan) > 0 AS narrowed
FROM (SELECT string_agg(p, ' ') AS plan FROM leadqual_plan($$SELECT leadqual.score(w, 'wide_p') FROM wide_p w$$) p) x;
SELECT sum(leadqual.score(w, 'wide_p')) AS narrowed, sum(leadqual.score(w, (SELECT 'wide_p'))) AS whole
FROM wide_p w;

-- not rewritten: a row of a view, of a sub-select, of ROW(...); a model that is not a
-- constant; a model that does not exist (the call reports it as before)
CREATE VIEW wide_v AS SELECT id, title, country, employees, budget, engagement, notes FROM wide;
SELECT (SELECT string_agg(p, ' ') FROM leadqual_plan(q) p) LIKE '%narrowed%' AS narrowed, q
FROM (VALUES
    ($$SELECT leadqual.score(v, 'wide') FROM wide_v v$$),
    ($$SELECT leadqual.score(s, 'wide') FROM (SELECT * FROM wide OFFSET 0) s$$),
    ($$SELECT leadqual.score(w, 'wide') FROM wide w$$),
    ($$SELECT leadqual.score(ROW(w.*)::wide, 'wide') FROM wide w$$),
    ($$SELECT leadqual.score(w, (SELECT 'wide')) FROM wide w$$),
    ($$SELECT leadqual.score(w, 'nope') FROM wide w$$)) AS t(q);
SELECT leadqual.score(w, 'nope') FROM wide w;
SELECT sum(leadqual.score(v, 'wide')) = sum(leadqual.score(w, 'wide')) AS view_same
FROM wide_v v JOIN wide w USING (id);

-- EXISTS under OR is planned twice, once with the outer query's range table (PostgreSQL
-- simplifies the hashed variant's WHERE with the outer root): a row of a function
-- returning the table's type at the same position is not taken for the table's row
CREATE FUNCTION wide_rows() RETURNS SETOF wide LANGUAGE plpgsql STABLE AS
    'BEGIN RETURN QUERY SELECT * FROM wide; END';
SELECT count(*), sum(leadqual.score(w, 'wide')) AS narrowed, sum(leadqual.score(w, (SELECT 'wide'))) AS whole
FROM wide w
WHERE w.id > 190 OR EXISTS (SELECT 1 FROM wide_rows() f
                            WHERE leadqual.score(f, 'wide') > 15 AND f.id = w.id);
SELECT count(*) FROM wide w
WHERE w.id > 190 OR EXISTS (SELECT 1 FROM wide_rows() f
                            WHERE leadqual.score(f, 'wide') > 15 AND f.id = w.id);
-- and over the table itself the subquery's call is rewritten
SELECT count(*) FROM generate_series(1, 200) x(i)
WHERE x.i > 190 OR EXISTS (SELECT 1 FROM wide w WHERE leadqual.score(w, 'wide') > 15 AND w.id = x.i);
SELECT position('score_narrowed' IN plan) > 0 AS narrowed
FROM (SELECT string_agg(p, ' ') AS plan FROM leadqual_plan($$SELECT count(*) FROM generate_series(1, 200) x(i)
WHERE x.i > 190 OR EXISTS (SELECT 1 FROM wide w WHERE leadqual.score(w, 'wide') > 15 AND w.id = x.i)$$) p) x;
SELECT count(*) FROM generate_series(1, 200) x(i)
WHERE x.i > 190 OR EXISTS (SELECT 1 FROM wide w WHERE leadqual.score(w, (SELECT 'wide')) > 15 AND w.id = x.i);
-- the same over an inlinable SQL function (its subquery is pulled up): the rewrite made
-- with the outer root used to leave "could not find attribute -6"
CREATE FUNCTION wide_rows_sql() RETURNS SETOF wide LANGUAGE sql STABLE AS 'SELECT * FROM wide';
SELECT count(*), sum(leadqual.score(w, 'wide')) AS narrowed, sum(leadqual.score(w, (SELECT 'wide'))) AS whole
FROM wide w
WHERE w.id > 190 OR EXISTS (SELECT 1 FROM wide_rows_sql() f
                            WHERE leadqual.score(f, 'wide') > 15 AND f.id = w.id);
SELECT count(*) FILTER (WHERE leadqual.classify(w, 'wide') IS DISTINCT FROM leadqual.classify(w, (SELECT 'wide')))
           AS stage_differs,
       count(*) AS leads
FROM wide w
WHERE w.id > 190 OR EXISTS (SELECT 1 FROM wide_rows_sql() f
                            WHERE leadqual.score(f, 'wide') > 15 AND f.id = w.id);
SELECT count(*) FROM wide w
WHERE w.id > 190 OR EXISTS (SELECT 1 FROM wide_rows_sql() f
                            WHERE (leadqual.qualify(f, 'wide')).met > 0 AND f.id = w.id);
-- the outer call is still rewritten
SELECT position('score_narrowed' IN plan) > 0 AS narrowed
FROM (SELECT string_agg(p, ' ') AS plan FROM leadqual_plan($$SELECT sum(leadqual.score(w, 'wide')) FROM wide w
WHERE w.id > 190 OR EXISTS (SELECT 1 FROM wide_rows_sql() f
                            WHERE leadqual.score(f, 'wide') > 15 AND f.id = w.id)$$) p) x;
DROP FUNCTION wide_rows(), wide_rows_sql();

-- a direct call of a _narrowed function scores the columns it is given: it never reads the
-- row at the ctid it names
SELECT leadqual.score_narrowed(NULL::wide, 'wide', 'wide'::regclass, '(0,1)', '{2}', 'CTO'::text) AS direct,
       leadqual.score(jsonb_populate_record(NULL::wide, '{"id": 1, "title": "CTO"}'), 'wide') AS given_row,
       (SELECT leadqual.score(w, 'wide') FROM wide w WHERE ctid = '(0,1)') AS row_at_ctid;
-- and the columns must be what the row type says they are (the rules read them as that)
SELECT leadqual.score_narrowed(NULL::wide, 'wide', 'wide'::regclass, '(0,1)', '{2}', 42);
SELECT leadqual.score_narrowed(NULL::wide, 'wide', 'wide'::regclass, '(0,1)', '{99}', 'CTO'::text);
SELECT leadqual.score_narrowed(NULL::wide, 'wide', 'wide'::regclass, '(0,1)', '{2,2}', 'CTO'::text, 'CEO'::text);
SELECT leadqual.score_narrowed(NULL::wide, 'wide', 'wide'::regclass, '(0,1)', '{2,4}', 'CTO'::text);
SELECT leadqual.score_narrowed(NULL::wide, 'wide', 'wide'::regclass, '(0,1)', a, 'CTO'::text)
  FROM (VALUES ('{2}'::int2[])) v(a);
SELECT leadqual.score_narrowed(NULL::record, 'wide', 'wide'::regclass, '(0,1)', '{2}', 'CTO'::text);
-- a NULL table oid is a NULL row (an outer join's): NULL, as the whole-row call gives
SELECT leadqual.score_narrowed(NULL::wide, 'wide', NULL, NULL, '{2}', 'CTO'::text) IS NULL AS null_row;
SELECT leadqual.ruleset('wide'::text) AS wide_rules \gset
SELECT count(*) AS rows, count(leadqual.score(w, 'wide')) AS scored,
       count(leadqual.classify(w, 'wide')) AS classified,
       count(leadqual.score(w, :'wide_rules'::leadqual.ruleset)) AS value_scored,
       count(leadqual.qualify(w, :'wide_rules'::leadqual.ruleset)) AS value_qualified,
       count(e.points) AS explained
  FROM (VALUES (1), (2)) v(k) LEFT JOIN wide w ON w.id = -v.k
  LEFT JOIN LATERAL leadqual.explain(w, 'wide') e ON true;
SELECT position('score_narrowed' IN p) > 0 AND position('qualify_narrowed' IN p) > 0 AS value_calls_narrowed
  FROM (SELECT string_agg(x, ' ') AS p FROM leadqual_plan(format(
    'SELECT leadqual.score(w, %L::leadqual.ruleset), leadqual.qualify(w, %L::leadqual.ruleset) FROM wide w',
    :'wide_rules', :'wide_rules')) x) q;

-- EXECUTE on score governs the rewritten call and the _narrowed function alike
CREATE ROLE regress_lq_wide;
GRANT SELECT ON wide TO regress_lq_wide;
REVOKE EXECUTE ON FUNCTION leadqual.score(record, text) FROM PUBLIC;
SET ROLE regress_lq_wide;
SELECT sum(leadqual.score(w, 'wide')) FROM wide w;
SELECT leadqual.score_narrowed(NULL::wide, 'wide', w.tableoid, w.ctid, '{2}', w.title) FROM wide w LIMIT 1;
RESET ROLE;
GRANT EXECUTE ON FUNCTION leadqual.score(record, text) TO PUBLIC;
SET ROLE regress_lq_wide;
SELECT sum(leadqual.score(w, 'wide')) > 0 AS may_score FROM wide w;
RESET ROLE;
-- qualify(w, rules) is narrowed with a NULL framework: EXECUTE on that two-argument
-- function governs it (a REVOKE of it was bypassed through the rewrite)
REVOKE EXECUTE ON FUNCTION leadqual.qualify(record, leadqual.ruleset) FROM PUBLIC;
SET ROLE regress_lq_wide;
SELECT leadqual.qualify(w, :'wide_rules'::leadqual.ruleset) FROM wide w WHERE id = 1;
SELECT (leadqual.qualify(w, :'wide_rules'::leadqual.ruleset, 'bant')).met IS NOT NULL AS three_args_allowed
  FROM wide w WHERE id = 1;
RESET ROLE;
GRANT EXECUTE ON FUNCTION leadqual.qualify(record, leadqual.ruleset) TO PUBLIC;
-- only the planner calls the support function
SELECT has_function_privilege('regress_lq_wide', 'leadqual.narrow_support(internal)', 'EXECUTE')
    AS may_call_support;
-- a _narrowed call a user writes is never turned into a whole-row call: through a view
-- that hides a column and exposes tableoid and ctid, it scores only what it passes (the
-- hidden salary stays hidden: 0 for both, not 1 for the one over 100,000)
CREATE TABLE staff (id int, name text, salary int);
INSERT INTO staff VALUES (1, 'a', 50000), (2, 'b', 250000);
CREATE VIEW staff_public AS SELECT id, name, tableoid AS toid, ctid AS tid FROM staff;
GRANT SELECT ON staff_public TO regress_lq_wide;
SELECT '{"format": 1, "model": "x", "mql_threshold": 10, "fit_threshold": null, "framework": null,
  "engagement_column": null, "half_life": null, "frameworks": [], "event_rules": [],
  "rules": [{"rule_id": 1, "name": "rich", "category": "fit", "attribute": "salary", "op": "gt",
             "value": "100000", "points": 1, "knockout": false}]}' AS rich_rules \gset
SET ROLE regress_lq_wide;
SELECT v.id,
       leadqual.score_narrowed(NULL::staff, :'rich_rules'::leadqual.ruleset, v.toid, v.tid, '{2}', v.name) AS plain,
       (SELECT leadqual.score_narrowed(NULL::staff, :'rich_rules'::leadqual.ruleset, v.toid, v.tid,
                                       '{2}', v.name)) AS correlated
  FROM staff_public v ORDER BY v.id;
RESET ROLE;
-- a call site that lives on (a plpgsql expression, one per transaction) across ALTER TYPE
-- of its row type, which any owner of a composite type may do: its columns are checked
-- again (the rules read salary as text after it: the integer passed was a crash)
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('staff_m', 'staff', 1);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout)
VALUES ('staff_m', 'rich', 'salary', 'gt', '100000', 1, false);
CREATE TYPE staff_t AS (id int, name text, salary int);
CREATE FUNCTION staff_t_score(by_value boolean, rules leadqual.ruleset) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r float8;
BEGIN
    FOR i IN 1..2 LOOP
        IF by_value THEN
            r := leadqual.score_narrowed(NULL::staff_t, rules, 'staff'::regclass, '(0,1)', '{3}', 250000);
        ELSE
            r := leadqual.score_narrowed(NULL::staff_t, 'staff_m', 'staff'::regclass, '(0,1)', '{3}', 250000);
        END IF;
        RAISE NOTICE 'call %: %', i, r;
        IF i = 1 THEN
            ALTER TYPE staff_t ALTER ATTRIBUTE salary TYPE text;
        END IF;
    END LOOP;
END $$;
SET client_min_messages = notice;
SELECT staff_t_score(false, NULL);
ALTER TYPE staff_t ALTER ATTRIBUTE salary TYPE int;
SELECT staff_t_score(true, :'rich_rules');
SET client_min_messages = warning;
DROP FUNCTION staff_t_score(boolean, leadqual.ruleset);
DROP TYPE staff_t;
DELETE FROM leadqual.models WHERE model = 'staff_m';
DROP VIEW staff_public;
DROP TABLE staff;

-- rescore finds the rows to write with rescore_needed(l, ...) over each row of a batch:
-- narrowed too, so a rule on a column no rule read before is seen at the next run
CREATE TABLE wide_att (LIKE wide);
ALTER TABLE wide_att ADD PRIMARY KEY (id), ADD COLUMN score float8, ADD COLUMN stage leadqual.stage,
    ADD COLUMN stage_locked boolean NOT NULL DEFAULT false;
INSERT INTO leadqual.models (model, lead_table, mql_threshold)
VALUES ('wide_att', 'wide_att', 12);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout)
SELECT 'wide_att', name, attribute, op, value, points, knockout FROM leadqual.rules WHERE model = 'wide';
SELECT leadqual.attach('wide_att', 'wide_att');
INSERT INTO wide_att SELECT * FROM wide;
SELECT position('rescore_needed_narrowed' IN p) > 0 AS rescore_query_narrowed,
       position('notes' IN p) = 0 AS notes_not_read
  FROM (SELECT string_agg(x, ' ') AS p FROM leadqual_plan(
    'SELECT l.id FROM wide_att l WHERE leadqual.rescore_needed(l, ''wide_att'', l.score, l.stage::text, '
    || 'l.stage_locked, ''float8'') ORDER BY l.id FOR NO KEY UPDATE OF l') x) q;
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('wide_att', 'c8 tagged', 'c8', 'like', 'x1%', 20);
CALL leadqual.rescore('wide_att', 64);
SELECT count(*) AS leads, count(*) FILTER (WHERE c8 LIKE 'x1%') AS tagged,
       count(*) FILTER (WHERE score IS DISTINCT FROM leadqual.score(l, (SELECT 'wide_att'))) AS score_wrong,
       count(*) FILTER (WHERE stage IS DISTINCT FROM leadqual.classify(l, (SELECT 'wide_att'))) AS stage_wrong,
       count(*) FILTER (WHERE leadqual.rescore_needed(l, 'wide_att', l.score, l.stage::text, l.stage_locked, 'float8')) AS still_needed
  FROM wide_att l;
-- called directly it judges the columns it is given, behind EXECUTE on rescore_needed
SELECT leadqual.rescore_needed_narrowed(NULL::wide_att, 'wide_att', 0, 'nurture', false, 'float8',
                                        'wide_att'::regclass, '(0,1)', '{2}', 'CTO'::text) AS cto_needs_writing,
       leadqual.rescore_needed_narrowed(NULL::wide_att, 'wide_att', 8, 'nurture', false, 'float8',
                                        'wide_att'::regclass, '(0,1)', '{2}', 'CTO'::text) AS cto_at_8_does_not;
REVOKE EXECUTE ON FUNCTION leadqual.rescore_needed(record, text, float8, text, boolean, regtype) FROM PUBLIC;
SET ROLE regress_lq_wide;
SELECT leadqual.rescore_needed_narrowed(NULL::wide_att, 'wide_att', 0, 'nurture', false, 'float8',
                                        'wide_att'::regclass, '(0,1)', '{2}', 'CTO'::text);
RESET ROLE;
GRANT EXECUTE ON FUNCTION leadqual.rescore_needed(record, text, float8, text, boolean, regtype) TO PUBLIC;
SELECT leadqual.detach('wide_att');
DELETE FROM leadqual.models WHERE model = 'wide_att';
DROP TABLE wide_att;
REVOKE SELECT ON wide FROM regress_lq_wide;
DROP ROLE regress_lq_wide;

-- A numeric column's value stored out of line reaches the rules as a TOAST pointer (a
-- narrowed call passes the column as stored; an UPDATE's new row keeps the old pointer of
-- a column it does not set): it is detoasted like any other value, not taken for a short
-- numeric (which crashed the server).
CREATE TABLE big_numbers (id int PRIMARY KEY, name text, revenue numeric, score float8,
                          stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
ALTER TABLE big_numbers ALTER COLUMN revenue SET STORAGE EXTERNAL;
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('big_numbers', 'big_numbers', 5);
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points) VALUES
 ('big_numbers', 'rich', 'fit', 'revenue', 'gt', '1000000', 10),
 ('big_numbers', 'exact', 'fit', 'revenue', 'in', '{12,-7}', 1);
SELECT leadqual.attach('big_numbers', 'big_numbers');
INSERT INTO big_numbers (id, name, revenue) VALUES
 (1, 'huge', (repeat('9', 4000) || '.5')::numeric),
 (2, 'huge negative', ('-' || repeat('3', 4000))::numeric),
 (3, 'short', 12), (4, 'none', NULL);
UPDATE big_numbers SET name = name || '!';       -- the trigger sees the stored pointers
SELECT id, pg_column_size(revenue) > 2000 AS out_of_line,
       leadqual.score(b, 'big_numbers') AS score, b.score AS stored, stage,
       CASE WHEN revenue > 1000000 THEN 10 ELSE 0 END + CASE WHEN revenue IN (12, -7) THEN 1 ELSE 0 END AS by_sql
FROM big_numbers b ORDER BY id;
SELECT leadqual.detach('big_numbers');
DELETE FROM leadqual.models WHERE model = 'big_numbers';
DROP TABLE big_numbers;

-- A rule set value that is NULL at run time (an outer join's missing row, a sub-select,
-- a parameter): NULL, as the strict value functions give, not an error
CREATE TABLE wide_sets (k int, rules leadqual.ruleset);
INSERT INTO wide_sets VALUES (1, :'wide_rules');
SELECT w.id, leadqual.score(w, r.rules) AS score, leadqual.classify(w, r.rules) AS stage,
       (SELECT count(*) FROM leadqual.explain(w, r.rules)) AS explained
  FROM wide w LEFT JOIN wide_sets r ON r.k = w.id WHERE w.id <= 2 ORDER BY w.id;
SELECT leadqual.score(w, (SELECT NULL::leadqual.ruleset)) AS score FROM wide w WHERE id = 1;
DROP TABLE wide_sets;
-- grouping sets: the empty group's row is NULL, so is its score (a rewritten call read
-- columns that are not nulled there, and scored 0)
SELECT leadqual.score(w, 'wide') AS score, count(*)
  FROM wide w WHERE id <= 3 GROUP BY GROUPING SETS ((w), ()) ORDER BY 1 NULLS FIRST;
SELECT leadqual.score(w, :'wide_rules'::leadqual.ruleset) AS score, count(*)
  FROM wide w WHERE id <= 3 GROUP BY ROLLUP (w) ORDER BY 1 NULLS FIRST;
-- an inheritance parent with a foreign child: a model-name call is not rewritten (a
-- foreign row has no ctid to read back at), a value call is
CREATE EXTENSION file_fdw;
CREATE SERVER wide_files FOREIGN DATA WRAPPER file_fdw;
CREATE TABLE wide_parent (id int, title text, country text, pad text);
CREATE TABLE wide_parent_local () INHERITS (wide_parent);
DO $$
DECLARE
    f text := current_setting('data_directory') || '/leadqual_wide_child.csv';
BEGIN
    EXECUTE format('COPY (SELECT 100, %L, %L, %L) TO %L (FORMAT csv)', 'CTO', 'DE', 'p', f);
    EXECUTE format('CREATE FOREIGN TABLE wide_parent_files () INHERITS (wide_parent) '
                   'SERVER wide_files OPTIONS (filename %L, format %L)', f, 'csv');
END $$;
INSERT INTO wide_parent_local VALUES (1, 'CTO', 'US', 'p');
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('wide_parent', 'wide_parent', 5);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('wide_parent', 'cto', 'title', 'eq', 'CTO', 8);
SELECT leadqual.ruleset('wide_parent'::text) AS wide_parent_rules \gset
SELECT position('score_narrowed' IN string_agg(x, ' ')) > 0 AS model_call_narrowed
  FROM leadqual_plan('SELECT leadqual.score(p, ''wide_parent'') FROM wide_parent p') x;
SELECT position('score_narrowed' IN string_agg(x, ' ')) > 0 AS value_call_narrowed
  FROM leadqual_plan(format('SELECT leadqual.score(p, %L::leadqual.ruleset) FROM wide_parent p',
                            :'wide_parent_rules')) x;
SELECT id, leadqual.score(p, 'wide_parent') FROM wide_parent p ORDER BY id;
DELETE FROM leadqual.models WHERE model = 'wide_parent';
DROP TABLE wide_parent CASCADE;
DROP SERVER wide_files;
DROP EXTENSION file_fdw;

DELETE FROM leadqual.models WHERE model IN ('wide', 'wide_p');
DROP VIEW wide_v;
DROP TABLE wide, wide_p;
DROP FUNCTION leadqual_plan(text);
