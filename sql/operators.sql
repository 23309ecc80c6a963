-- operators: every operator on every kind of column, with the column's collation, against SQL
SET client_min_messages = warning;
CREATE OR REPLACE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE TYPE op_size AS ENUM ('tiny', 'small', 'medium', 'large', 'huge');
CREATE DOMAIN op_pct AS integer CHECK (VALUE BETWEEN 0 AND 100);
CREATE DOMAIN op_label AS varchar(30);
CREATE COLLATION op_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

CREATE TABLE op_leads (
    id   integer PRIMARY KEY,
    t    text,                       -- database default collation
    tc   text COLLATE "C",
    td   text COLLATE "de-x-icu",
    tu   text COLLATE "und-x-icu",
    tn   text COLLATE op_ci,         -- nondeterministic: comparisons only
    vc   varchar(20),
    ch   char(8),
    lbl  op_label,
    i    integer,
    b    bigint,
    n    numeric(12,3),
    f    double precision,
    r    real,
    d    date,
    ts   timestamptz,
    lt   timestamp,
    bo   boolean,
    e    op_size,
    dm   op_pct
);

-- ~5000 random rows with NULLs, drawn from small pools so that eq and in hit
SELECT setseed(0.42);
CREATE TEMP TABLE pools AS SELECT
    ARRAY['apple', 'Apple', 'APPLE', 'banana', 'b', 'B', 'Zebra', 'zebra', 'äpfel', 'Äpfel',
          'Größe', 'GRÖSSE', 'größe', 'ÉCOLE', 'école', 'İstanbul', 'istanbul', 'ISTANBUL',
          'Head of Engineering', 'head of sales', 'CTO', 'cto', 'a_b', 'a%b', 'x\y', '',
          ' padded ', 'ß', 'SS', 'ss', 'Ω', 'ω', '日本', 'Ärger', 'Aerger', 'résumé', 'RESUME']
        AS words,
    ARRAY[-5, 0, 1, 2, 3, 42, 49, 50, 51, 100, 999, 4999, 5000, 5001, 2147483647, -2147483648]
        AS ints,
    ARRAY[-1099511627776, 0, 1, 42, 1099511627776, 4611686018427387904, 9223372036854775807]::bigint[]
        AS bigs,
    ARRAY['1.005', '1.01', '1.010', '-0.5', '0', '2', '3.000', 'NaN', '999999999.999']::numeric[]
        AS nums,
    ARRAY['NaN', 'Infinity', '-Infinity', '0', '-0', '1.5', '0.1', '1', '2', '1e300', '-1e-300']::float8[]
        AS floats,
    ARRAY['NaN', 'Infinity', '-Infinity', '0', '-0', '1.5', '0.1', '1', '2', '1e30']::real[]
        AS reals,
    ARRAY['2025-12-31', '2026-01-01', '2026-02-28', '2026-06-01', 'infinity', '-infinity',
          '1999-01-01', '2026-01-02']::date[]
        AS dates,
    ARRAY['2026-01-01 00:00:00+00', '2025-12-31 23:59:59.999999+00', '2026-05-31 22:00:00+00',
          '2026-06-01 00:00:00+00', '2026-06-01 00:00:00+02', 'infinity', '2000-02-29 12:00:00+00']::timestamptz[]
        AS stamps;

INSERT INTO op_leads
SELECT g,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.words[1 + floor(random() * array_length(p.words, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.words[1 + floor(random() * array_length(p.words, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.words[1 + floor(random() * array_length(p.words, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.words[1 + floor(random() * array_length(p.words, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.words[1 + floor(random() * array_length(p.words, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE left(p.words[1 + floor(random() * array_length(p.words, 1))::int], 20) END,
       CASE WHEN random() < 0.1 THEN NULL ELSE left(p.words[1 + floor(random() * array_length(p.words, 1))::int], 8) END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.words[1 + floor(random() * array_length(p.words, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL WHEN random() < 0.5 THEN p.ints[1 + floor(random() * array_length(p.ints, 1))::int]
            ELSE floor(random() * 6000)::int - 500 END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.bigs[1 + floor(random() * array_length(p.bigs, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.nums[1 + floor(random() * array_length(p.nums, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.floats[1 + floor(random() * array_length(p.floats, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.reals[1 + floor(random() * array_length(p.reals, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.dates[1 + floor(random() * array_length(p.dates, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE p.stamps[1 + floor(random() * array_length(p.stamps, 1))::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE (p.stamps[1 + floor(random() * array_length(p.stamps, 1))::int] AT TIME ZONE 'UTC') END,
       CASE WHEN random() < 0.1 THEN NULL ELSE random() < 0.5 END,
       CASE WHEN random() < 0.1 THEN NULL ELSE (enum_range(NULL::op_size))[1 + floor(random() * 5)::int] END,
       CASE WHEN random() < 0.1 THEN NULL ELSE floor(random() * 101)::int END
FROM generate_series(1, 5000) g, pools p
WHERE g > 0;    -- (a filter makes random() run per row)
SELECT count(*) AS leads, count(t) AS with_t, count(i) AS with_i, count(DISTINCT t) AS distinct_t
  FROM op_leads;

-- the cases: (column, op, value)
CREATE TABLE op_cases (id serial PRIMARY KEY, attr text, op text, value text);
INSERT INTO op_cases (attr, op, value)
SELECT c.attr, v.op, v.value
FROM unnest(ARRAY['t', 'tc', 'td', 'tu', 'vc', 'lbl']) AS c(attr),
     (VALUES ('eq', 'apple'), ('eq', 'Größe'), ('eq', ''), ('ne', 'apple'),
             ('lt', 'b'), ('le', 'B'), ('gt', 'Zebra'), ('ge', 'äpfel'), ('lt', 'Ärger'),
             ('between', '{A,b}'), ('between', '{apple,zebra}'),
             ('in', '{apple,Zebra,ÉCOLE,İstanbul,cto}'), ('in', '{ß,SS}'),
             ('not_in', '{apple,APPLE,Apple,banana}'), ('not_in', '{b}'),
             ('like', 'a%'), ('like', '%e'), ('like', '_pple'), ('like', 'a\_b'), ('like', 'a\%b'),
             ('like', '%ö%'), ('like', 'x\\y'), ('like', ''), ('like', '%'), ('like', '%ß%'),
             ('ilike', '%größe%'), ('ilike', 'école'), ('ilike', '%istanbul%'), ('ilike', 'İSTANBUL'),
             ('ilike', 'apple'), ('ilike', '%SS%'), ('ilike', 'ß'), ('ilike', '%Ä%'), ('ilike', 'Ω'),
             ('ilike', 'head of%'), ('ilike', 'RÉSUMÉ'),
             ('regex', '^a'), ('regex', 'e$'), ('regex', '^(CTO|cto)$'), ('regex', '[[:upper:]]'),
             ('regex', '\mhead\M'), ('regex', 'ö'), ('regex', '^.{5}$'), ('regex', '[a-z]'),
             ('iregex', '^apple$'), ('iregex', 'größe'), ('iregex', 'école'), ('iregex', 'istanbul'),
             ('iregex', '^ß$'), ('iregex', 'ω'), ('iregex', '[[:lower:]]'),
             ('is_null', NULL), ('not_null', NULL)) AS v(op, value);
-- the nondeterministic column: comparisons only (hashed in, not_in included)
INSERT INTO op_cases (attr, op, value) VALUES
    ('tn', 'eq', 'apple'), ('tn', 'eq', 'ISTANBUL'), ('tn', 'ne', 'größe'), ('tn', 'lt', 'b'),
    ('tn', 'ge', 'Zebra'), ('tn', 'between', '{A,b}'), ('tn', 'in', '{apple,zebra,größe,école}'),
    ('tn', 'not_in', '{apple,banana,cto,ß}'), ('tn', 'is_null', NULL), ('tn', 'not_null', NULL),
    ('ch', 'eq', 'CTO'), ('ch', 'eq', 'CTO     '), ('ch', 'lt', 'b'), ('ch', 'in', '{CTO,apple,b,B}'),
    ('ch', 'not_in', '{cto}'), ('ch', 'like', 'CTO%'), ('ch', 'like', 'CTO'), ('ch', 'ilike', 'cto%'),
    ('ch', 'regex', 'O $'), ('ch', 'iregex', '^c'),
    ('i', 'eq', '42'), ('i', 'eq', '0'), ('i', 'eq', '-5'), ('i', 'ne', '42'), ('i', 'lt', '100'),
    ('i', 'le', '50'), ('i', 'gt', '4999'), ('i', 'ge', '5000'), ('i', 'between', '{50,5000}'),
    ('i', 'between', '{7,7}'), ('i', 'in', '{1,2,3,42,100}'), ('i', 'in', '{2147483647,-2147483648}'),
    ('i', 'not_in', '{1,2,3,4,5}'), ('i', 'not_in', '{42}'), ('i', 'is_null', NULL), ('i', 'not_null', NULL),
    ('b', 'eq', '1099511627776'), ('b', 'lt', '0'), ('b', 'gt', '4611686018427387903'),
    ('b', 'between', '{-1099511627776,42}'), ('b', 'in', '{0,1,42,9223372036854775807}'),
    ('b', 'not_in', '{0,1,42,-1099511627776}'), ('b', 'ne', '0'),
    ('n', 'eq', '1.01'), ('n', 'eq', '1.005'), ('n', 'eq', 'NaN'), ('n', 'gt', '1.005'), ('n', 'lt', '0'),
    ('n', 'between', '{0,2.0}'), ('n', 'in', '{1.010,2,3,NaN}'), ('n', 'not_in', '{1.01,2.00,3,-0.5}'),
    ('n', 'ge', 'NaN'), ('n', 'ne', '3'),
    ('f', 'eq', '0'), ('f', 'eq', '-0'), ('f', 'eq', 'NaN'), ('f', 'gt', '1'), ('f', 'lt', 'NaN'),
    ('f', 'ge', 'Infinity'), ('f', 'le', '-Infinity'), ('f', 'between', '{0,1.5}'),
    ('f', 'in', '{NaN,0,1.5,Infinity}'), ('f', 'not_in', '{NaN,-0,1,2}'), ('f', 'ne', '0.1'),
    ('f', 'in', '{0.1,1e300}'),
    ('r', 'eq', '0.1'), ('r', 'gt', '1'), ('r', 'in', '{0.1,1.5,NaN,-0}'), ('r', 'lt', '1e30'),
    ('d', 'eq', '2026-01-01'), ('d', 'lt', '2026-01-01'), ('d', 'ge', '2026-06-01'),
    ('d', 'between', '{2026-01-01,2026-06-01}'), ('d', 'in', '{2026-01-01,2026-01-02,2026-02-28,infinity}'),
    ('d', 'not_in', '{2026-01-01,2026-01-02,2026-02-28,-infinity}'), ('d', 'gt', 'infinity'),
    ('d', 'eq', '-infinity'), ('d', 'ne', '2025-12-31'),
    ('ts', 'eq', '2026-06-01 02:00:00+02'), ('ts', 'lt', '2026-01-01'), ('ts', 'gt', '2026-05-31 22:00:00+00'),
    ('ts', 'between', '{2025-12-31,2026-06-01}'),
    ('ts', 'in', '{2026-01-01 00:00:00+00,2026-05-31 22:00:00+00,infinity,2000-02-29 13:00:00+01}'),
    ('ts', 'not_in', '{2026-01-01 00:00:00+00,2026-05-31 22:00:00+00,infinity,2000-02-29 13:00:00+01}'),
    ('ts', 'le', '2025-12-31 23:59:59.999999+00'),
    ('lt', 'eq', '2026-01-01 00:00:00'), ('lt', 'lt', '2026-01-01'), ('lt', 'between', '{2000-01-01,2026-06-01}'),
    ('lt', 'in', '{2026-01-01,2026-05-31 22:00,2026-06-01,infinity}'),
    ('bo', 'eq', 'true'), ('bo', 'eq', 'f'), ('bo', 'ne', 'yes'), ('bo', 'lt', 'true'), ('bo', 'ge', 'false'),
    ('bo', 'in', '{t,f,t,f}'), ('bo', 'not_in', '{false}'), ('bo', 'between', '{false,true}'),
    ('bo', 'is_null', NULL),
    ('e', 'eq', 'medium'), ('e', 'lt', 'medium'), ('e', 'ge', 'large'), ('e', 'between', '{small,large}'),
    ('e', 'in', '{tiny,small,large,huge}'), ('e', 'not_in', '{tiny,small,large,huge}'), ('e', 'ne', 'huge'),
    ('dm', 'eq', '50'), ('dm', 'lt', '10'), ('dm', 'between', '{25,75}'), ('dm', 'in', '{0,1,2,100}'),
    ('dm', 'not_in', '{0,1,2,100}'), ('dm', 'ge', '100');

-- one model with every case (most columns then go through the hash path, mixed with
-- one-by-one predicates), and one model per case (mostly one-by-one)
INSERT INTO leadqual.models (model, lead_table) VALUES ('ops', 'op_leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
SELECT 'ops', id::text, attr, op, value, (id % 11) - 5 FROM op_cases ORDER BY id;
INSERT INTO leadqual.models (model, lead_table) SELECT 'case ' || id, 'op_leads' FROM op_cases;
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
SELECT 'case ' || id, 'r', attr, op, value, 1 FROM op_cases;
SELECT count(*) AS cases FROM op_cases;

-- the same predicate as an SQL expression, on the stored (canonical) value
CREATE FUNCTION op_sql(attr text, op text, value text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    typ text;
    x text := 'l.' || quote_ident(attr);
BEGIN
    -- the type without typmod, as rules read values (char is bpchar, not char(1))
    SELECT CASE WHEN a.atttypid = 'bpchar'::regtype THEN 'bpchar' ELSE format_type(a.atttypid, NULL) END
      INTO typ FROM pg_attribute a
     WHERE a.attrelid = 'op_leads'::regclass AND a.attname = attr;
    RETURN CASE op
        WHEN 'eq' THEN format('%s = %L::%s', x, value, typ)
        WHEN 'ne' THEN format('%s <> %L::%s', x, value, typ)
        WHEN 'lt' THEN format('%s < %L::%s', x, value, typ)
        WHEN 'le' THEN format('%s <= %L::%s', x, value, typ)
        WHEN 'gt' THEN format('%s > %L::%s', x, value, typ)
        WHEN 'ge' THEN format('%s >= %L::%s', x, value, typ)
        WHEN 'between' THEN format('%s BETWEEN (%L::%s[])[1] AND (%L::%s[])[2]', x, value, typ, value, typ)
        WHEN 'in' THEN format('%s = ANY (%L::%s[])', x, value, typ)
        WHEN 'not_in' THEN format('NOT (%s = ANY (%L::%s[]))', x, value, typ)
        WHEN 'like' THEN format('%s LIKE %L', x, value)
        WHEN 'ilike' THEN format('%s ILIKE %L', x, value)
        WHEN 'regex' THEN format('%s ~ %L', x, value)
        WHEN 'iregex' THEN format('%s ~* %L', x, value)
        WHEN 'is_null' THEN format('%s IS NULL', x)
        WHEN 'not_null' THEN format('%s IS NOT NULL', x)
    END;
END $$;

CREATE TEMP TABLE hits AS
    SELECT l.id, e.name::int AS case_id FROM op_leads l, leadqual.explain(l, 'ops') e;
CREATE INDEX ON hits (case_id, id);
ANALYZE hits;

CREATE TEMP TABLE op_results (case_id int, sql_hits bigint, all_mismatch bigint, one_mismatch bigint);
DO $$
DECLARE
    c record;
    expr text;
    res op_results;
BEGIN
    FOR c IN SELECT * FROM op_cases ORDER BY id LOOP
        SELECT op_sql(c.attr, r.op, r.value) INTO expr
          FROM leadqual.rules r WHERE r.model = 'ops' AND r.name = c.id::text;
        EXECUTE format($q$
            SELECT %s,
                   count(*) FILTER (WHERE coalesce(%s, false)),
                   count(*) FILTER (WHERE EXISTS (SELECT FROM hits h WHERE h.case_id = %s AND h.id = l.id)
                                          IS DISTINCT FROM coalesce(%s, false)),
                   count(*) FILTER (WHERE (leadqual.score(l, %L) = 1) IS DISTINCT FROM coalesce(%s, false))
              FROM op_leads l$q$, c.id, expr, c.id, expr, 'case ' || c.id, expr)
          INTO res;
        INSERT INTO op_results VALUES (res.*);
    END LOOP;
END $$;

-- mismatching rows per operator (all must be 0)
SELECT c.op, count(*) AS cases, sum(r.all_mismatch) AS mismatches_all_rules,
       sum(r.one_mismatch) AS mismatches_one_rule
  FROM op_cases c JOIN op_results r ON r.case_id = c.id
 GROUP BY c.op ORDER BY c.op COLLATE "C";
-- mismatching rows per column
SELECT c.attr, count(*) AS cases, sum(r.all_mismatch + r.one_mismatch) AS mismatches
  FROM op_cases c JOIN op_results r ON r.case_id = c.id
 GROUP BY c.attr ORDER BY c.attr COLLATE "C";
-- the cases that fail, if any
SELECT c.*, r.sql_hits, r.all_mismatch, r.one_mismatch
  FROM op_cases c JOIN op_results r ON r.case_id = c.id
 WHERE r.all_mismatch + r.one_mismatch > 0 ORDER BY c.id;
-- the test is not trivial: most cases match some rows but not all of them
SELECT count(*) FILTER (WHERE sql_hits > 0 AND sql_hits < 5000) AS discriminating_cases,
       count(*) FILTER (WHERE sql_hits = 0) AS never_matching
  FROM op_results;

-- the total score equals the sum of the SQL expressions' points
DO $$
DECLARE
    expr text;
    n bigint;
BEGIN
    SELECT string_agg(format('CASE WHEN coalesce(%s, false) THEN %s ELSE 0 END',
                             op_sql(c.attr, r.op, r.value), r.points), ' + ' ORDER BY r.rule_id)
      INTO expr
      FROM op_cases c JOIN leadqual.rules r ON r.model = 'ops' AND r.name = c.id::text;
    EXECUTE format('SELECT count(*) FROM op_leads l WHERE leadqual.score(l, %L) <> (%s)', 'ops', expr)
      INTO n;
    RAISE WARNING 'rows whose score differs from SQL: %', n;
END $$;

-- collations, explicitly: the same rule under "C" and an ICU collation
CREATE TABLE op_coll (id int, c text COLLATE "C", icu text COLLATE "de-x-icu");
INSERT INTO op_coll VALUES (1, 'apple', 'apple'), (2, 'Zebra', 'Zebra'), (3, 'Äpfel', 'Äpfel'),
                           (4, 'banana', 'banana'), (5, 'B', 'B');
INSERT INTO leadqual.models (model, lead_table) VALUES ('coll', 'op_coll');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
    ('coll', 'C lt b', 'c', 'lt', 'b', 1),
    ('coll', 'icu lt b', 'icu', 'lt', 'b', 1),
    ('coll', 'C gt Z', 'c', 'gt', 'Z', 1),
    ('coll', 'icu gt Z', 'icu', 'gt', 'Z', 1);
SELECT o.id, o.c, string_agg(e.name, ', ' ORDER BY e.rule_id) AS matched,
       o.c < 'b' AS c_lt_b, o.icu < 'b' AS icu_lt_b, o.c > 'Z' AS c_gt_z, o.icu > 'Z' AS icu_gt_z
  FROM op_coll o LEFT JOIN LATERAL leadqual.explain(o, 'coll') e ON true
 GROUP BY o.id, o.c, o.icu ORDER BY o.id;
-- between needs its values ordered under the column's collation
SELECT try($$INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('coll', 'x', 'c', 'between', '{a,B}')$$) AS c_a_b,
       try($$INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('coll', 'y', 'icu', 'between', '{a,B}')$$) AS icu_a_b;

-- a nondeterministic collation is refused for pattern operators
SELECT op, try(format($$INSERT INTO leadqual.rules (model, name, attribute, op, value)
                        VALUES ('ops', 'nd %s', 'tn', %L, 'a%%')$$, op, op)) AS result
  FROM unnest(ARRAY['like', 'ilike', 'regex', 'iregex']) AS op ORDER BY op COLLATE "C";

-- ilike on non-ASCII data, explicitly
CREATE TABLE op_words (w text);
INSERT INTO op_words VALUES ('Größe'), ('GRÖSSE'), ('größe'), ('ÉCOLE'), ('école'), ('Ecole'),
                            ('İstanbul'), ('istanbul'), ('ISTANBUL'), ('ß'), ('ẞ');
INSERT INTO leadqual.models (model, lead_table) VALUES ('words', 'op_words');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
    ('words', 'größe', 'w', 'ilike', 'größe', 1),
    ('words', 'école', 'w', 'ilike', 'école', 2),
    ('words', 'istanbul', 'w', 'ilike', 'istanbul', 4),
    ('words', 'ß', 'w', 'ilike', '%ß%', 8);
SELECT w, leadqual.score(o, 'words') AS engine,
       (w ILIKE 'größe')::int + 2 * (w ILIKE 'école')::int + 4 * (w ILIKE 'istanbul')::int
       + 8 * (w ILIKE '%ß%')::int AS sql
  FROM op_words o ORDER BY w COLLATE "C";

DELETE FROM leadqual.models WHERE model LIKE 'case %' OR model IN ('ops', 'coll', 'words');
