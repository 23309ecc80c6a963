-- test/bench/alternatives.sql — the ways to score without leadqual.score, each with exactly
-- the rules of model 'bench' (rules.sql) and exactly their semantics: a NULL attribute
-- matches only is_null, not_in does not match NULL, ilike is ILIKE, regex is ~, points are
-- summed in rule_id order. measure.sql times them and checks that every total agrees.
--
-- These are benchmark fixtures, not extension code: the functions do not pin search_path
-- (a SET clause makes every call go through fmgr_security_definer and would slow the
-- PL/pgSQL contender down for nothing); every name in them is qualified instead.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- a. The hand-written CASE: what a developer would type instead of the extension.
DROP TABLE IF EXISTS public.bench_queries;
CREATE TABLE public.bench_queries (
    ord      int PRIMARY KEY,
    what     text NOT NULL,
    grp      text NOT NULL,      -- rows of one grp must give the same total
    query    text NOT NULL,
    serial_only boolean NOT NULL DEFAULT false,
    needs_score boolean NOT NULL DEFAULT false,
    slow     boolean NOT NULL DEFAULT false   -- may run once (measure.sql, once_ms)
);

INSERT INTO public.bench_queries (ord, what, grp, query) VALUES (20, 'CASE expression', '20', $q$
SELECT sum(
      (CASE WHEN job_title ILIKE '%head of%' THEN float8 '10' ELSE 0 END)
    + (CASE WHEN job_title ILIKE '%director%' THEN float8 '8' ELSE 0 END)
    + (CASE WHEN job_title ILIKE '%vp%' THEN float8 '8' ELSE 0 END)
    + (CASE WHEN job_title ILIKE '%chief%' THEN float8 '12' ELSE 0 END)
    + (CASE WHEN industry IN ('Software', 'Financial Services', 'Manufacturing', 'Healthcare') THEN float8 '10' ELSE 0 END)
    + (CASE WHEN industry IN ('Education', 'Public Sector') THEN float8 '-5' ELSE 0 END)
    + (CASE WHEN country IN ('DE', 'AT', 'CH') THEN float8 '10' ELSE 0 END)
    + (CASE WHEN country NOT IN ('DE', 'AT', 'CH', 'FR', 'NL', 'BE', 'LU', 'DK', 'SE', 'NO', 'FI',
                                 'GB', 'IE', 'ES', 'IT', 'PL', 'US', 'CA') THEN float8 '-15' ELSE 0 END)
    + (CASE WHEN employees BETWEEN 50 AND 5000 THEN float8 '10' ELSE 0 END)
    + (CASE WHEN annual_revenue BETWEEN 1000000 AND 250000000.50 THEN float8 '7.5' ELSE 0 END)
    + (CASE WHEN email ~ '@(gmail|yahoo|hotmail|gmx|web|outlook)\.' THEN float8 '-10' ELSE 0 END)
    + (CASE WHEN budget_confirmed = true THEN float8 '10' ELSE 0 END)
    + (CASE WHEN authority_confirmed = true THEN float8 '8' ELSE 0 END)
    + (CASE WHEN need_confirmed = true THEN float8 '8' ELSE 0 END)
    + (CASE WHEN timeline_confirmed = true THEN float8 '6' ELSE 0 END)
    + (CASE WHEN timeline_days IS NOT NULL THEN float8 '2.5' ELSE 0 END)
    + (CASE WHEN timeline_days IS NULL THEN float8 '-2' ELSE 0 END)
    + (CASE WHEN timeline_days <= 90 THEN float8 '5' ELSE 0 END)
    + (CASE WHEN created_at >= timestamptz '2026-01-01 00:00:00+00' THEN float8 '5' ELSE 0 END)
    + (CASE WHEN job_title ~* '(intern|student)' THEN float8 '-30' ELSE 0 END))
FROM public.bench_leads
$q$);

-- b. The same IFs in PL/pgSQL.
CREATE OR REPLACE FUNCTION public.bench_plpgsql(l public.bench_leads) RETURNS float8
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE AS $f$
DECLARE
    s float8 := 0;
BEGIN
    IF l.job_title ILIKE '%head of%' THEN s := s + 10; END IF;
    IF l.job_title ILIKE '%director%' THEN s := s + 8; END IF;
    IF l.job_title ILIKE '%vp%' THEN s := s + 8; END IF;
    IF l.job_title ILIKE '%chief%' THEN s := s + 12; END IF;
    IF l.industry IN ('Software', 'Financial Services', 'Manufacturing', 'Healthcare') THEN s := s + 10; END IF;
    IF l.industry IN ('Education', 'Public Sector') THEN s := s - 5; END IF;
    IF l.country IN ('DE', 'AT', 'CH') THEN s := s + 10; END IF;
    IF l.country NOT IN ('DE', 'AT', 'CH', 'FR', 'NL', 'BE', 'LU', 'DK', 'SE', 'NO', 'FI',
                         'GB', 'IE', 'ES', 'IT', 'PL', 'US', 'CA') THEN s := s - 15; END IF;
    IF l.employees BETWEEN 50 AND 5000 THEN s := s + 10; END IF;
    IF l.annual_revenue BETWEEN 1000000 AND 250000000.50 THEN s := s + 7.5; END IF;
    IF l.email ~ '@(gmail|yahoo|hotmail|gmx|web|outlook)\.' THEN s := s - 10; END IF;
    IF l.budget_confirmed THEN s := s + 10; END IF;
    IF l.authority_confirmed THEN s := s + 8; END IF;
    IF l.need_confirmed THEN s := s + 8; END IF;
    IF l.timeline_confirmed THEN s := s + 6; END IF;
    IF l.timeline_days IS NOT NULL THEN s := s + 2.5; END IF;
    IF l.timeline_days IS NULL THEN s := s - 2; END IF;
    IF l.timeline_days <= 90 THEN s := s + 5; END IF;
    IF l.created_at >= timestamptz '2026-01-01 00:00:00+00' THEN s := s + 5; END IF;
    IF l.job_title ~* '(intern|student)' THEN s := s - 30; END IF;
    RETURN s;
END
$f$;

INSERT INTO public.bench_queries (ord, what, grp, query) VALUES (30, 'PL/pgSQL function', '20',
    'SELECT sum(public.bench_plpgsql(l)) FROM public.bench_leads l');

-- c. Rules as data in plain SQL: each lead becomes jsonb and is matched against the rule
-- rows. The rules are given their best chance: their values are parsed once, here, into
-- typed arrays (a plain table, so parallel workers can read it too), and to_jsonb(l) is
-- computed once per lead (OFFSET 0 keeps the planner from copying it into every use).
DROP TABLE IF EXISTS public.bench_rules_typed;
CREATE TABLE public.bench_rules_typed AS
SELECT r.model, r.rule_id, r.attribute, r.op, r.points, t.kind,
       CASE WHEN t.kind = 'text' THEN v.a END AS txt,
       CASE WHEN t.kind = 'num' THEN v.a::numeric[] END AS num,
       CASE WHEN t.kind = 'ts' THEN v.a::timestamptz[] END AS ts,
       CASE WHEN t.kind = 'bool' THEN v.a[1]::boolean END AS bool
FROM leadqual.rules AS r
JOIN pg_catalog.pg_attribute AS a
  ON a.attrelid = 'public.bench_leads'::regclass AND a.attname = r.attribute
CROSS JOIN LATERAL (
    SELECT CASE WHEN a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype,
                                    'numeric'::regtype, 'float8'::regtype) THEN 'num'
                WHEN a.atttypid = 'timestamptz'::regtype THEN 'ts'
                WHEN a.atttypid = 'bool'::regtype THEN 'bool'
                ELSE 'text' END AS kind
) AS t
CROSS JOIN LATERAL (
    SELECT CASE WHEN r.op IN ('in', 'not_in', 'between') THEN r.value::text[]
                ELSE ARRAY[r.value] END AS a
) AS v
WHERE r.model IN ('bench', 'bench1000') AND r.enabled;
CREATE INDEX ON public.bench_rules_typed (model, rule_id);
ANALYZE public.bench_rules_typed;

-- The match of one value (jsonb ->> text) against one typed rule.
INSERT INTO public.bench_queries (ord, what, grp, slow, query) VALUES (40, 'rules as data (jsonb)', '20', true, $q$
SELECT sum(s.p)
FROM public.bench_leads AS l
CROSS JOIN LATERAL (SELECT pg_catalog.to_jsonb(l) AS j OFFSET 0) AS jj
CROSS JOIN LATERAL (
    SELECT sum(r.points) AS p
    FROM public.bench_rules_typed AS r
    CROSS JOIN LATERAL (SELECT jj.j ->> r.attribute AS v) AS x
    WHERE r.model = 'bench'
      AND CASE r.op
          WHEN 'is_null' THEN x.v IS NULL
          WHEN 'not_null' THEN x.v IS NOT NULL
          ELSE CASE r.kind
               WHEN 'num' THEN CASE r.op
                    WHEN 'eq' THEN x.v::numeric = r.num[1]
                    WHEN 'ne' THEN x.v::numeric <> r.num[1]
                    WHEN 'lt' THEN x.v::numeric < r.num[1]
                    WHEN 'le' THEN x.v::numeric <= r.num[1]
                    WHEN 'gt' THEN x.v::numeric > r.num[1]
                    WHEN 'ge' THEN x.v::numeric >= r.num[1]
                    WHEN 'between' THEN x.v::numeric BETWEEN r.num[1] AND r.num[2]
                    WHEN 'in' THEN x.v::numeric = ANY (r.num)
                    WHEN 'not_in' THEN x.v::numeric <> ALL (r.num) END
               WHEN 'ts' THEN CASE r.op
                    WHEN 'eq' THEN x.v::timestamptz = r.ts[1]
                    WHEN 'ne' THEN x.v::timestamptz <> r.ts[1]
                    WHEN 'lt' THEN x.v::timestamptz < r.ts[1]
                    WHEN 'le' THEN x.v::timestamptz <= r.ts[1]
                    WHEN 'gt' THEN x.v::timestamptz > r.ts[1]
                    WHEN 'ge' THEN x.v::timestamptz >= r.ts[1]
                    WHEN 'between' THEN x.v::timestamptz BETWEEN r.ts[1] AND r.ts[2]
                    WHEN 'in' THEN x.v::timestamptz = ANY (r.ts)
                    WHEN 'not_in' THEN x.v::timestamptz <> ALL (r.ts) END
               WHEN 'bool' THEN CASE r.op
                    WHEN 'eq' THEN x.v::boolean = r.bool
                    WHEN 'ne' THEN x.v::boolean <> r.bool END
               ELSE CASE r.op
                    WHEN 'eq' THEN x.v = r.txt[1]
                    WHEN 'ne' THEN x.v <> r.txt[1]
                    WHEN 'lt' THEN x.v < r.txt[1]
                    WHEN 'le' THEN x.v <= r.txt[1]
                    WHEN 'gt' THEN x.v > r.txt[1]
                    WHEN 'ge' THEN x.v >= r.txt[1]
                    WHEN 'between' THEN x.v BETWEEN r.txt[1] AND r.txt[2]
                    WHEN 'in' THEN x.v = ANY (r.txt)
                    WHEN 'not_in' THEN x.v <> ALL (r.txt)
                    WHEN 'like' THEN x.v LIKE r.txt[1]
                    WHEN 'ilike' THEN x.v ILIKE r.txt[1]
                    WHEN 'regex' THEN x.v ~ r.txt[1]
                    WHEN 'iregex' THEN x.v ~* r.txt[1] END
               END
          END
) AS s
$q$);

-- d. The floor: what any function taking the whole row pays before it scores anything.
-- score(l) receives l as a composite datum, which the executor makes per row by deforming
-- the heap tuple and forming a new one (ExecEvalWholeRowVar). sum(pg_column_size(l)) does
-- exactly that and then only reads the datum's length word: one fmgr call on the same
-- datum and an int sum, so (candidate - floor) is the scoring work proper. count(l) would
-- build the row as well but is not a function call; count(*) never builds it (the plain
-- scan, reported below it).
INSERT INTO public.bench_queries (ord, what, grp, query) VALUES
    (50, 'floor: whole row built', 'floor', 'SELECT sum(pg_catalog.pg_column_size(l)) FROM public.bench_leads l'),
    (51, 'scan only: count(*)', 'scan', 'SELECT count(*) FROM public.bench_leads');

-- e. The candidate, and f. the same with 1,000 rules (their CASE is generated below).
INSERT INTO public.bench_queries (ord, what, grp, query, needs_score) VALUES
    (10, 'leadqual.score, 20 rules', '20',
     'SELECT sum(leadqual.score(l, ''bench'')) FROM public.bench_leads l', true),
    (60, 'leadqual.score, 1000 rules', '1000',
     'SELECT sum(leadqual.score(l, ''bench1000'')) FROM public.bench_leads l', true);

-- A model's rules as one CASE sum, generated from leadqual.rules: it checks that the
-- hand-written CASE above says what rules.sql says, and gives the 1,000-rule CASE.
CREATE OR REPLACE FUNCTION public.bench_case_sql(m text) RETURNS text
LANGUAGE sql STABLE AS $f$
SELECT 'SELECT sum(' || string_agg(format('(CASE WHEN %s THEN float8 %L ELSE 0 END)',
    CASE r.op
    WHEN 'eq' THEN format('%I = %L::%s', r.attribute, r.value, t.typ)
    WHEN 'ne' THEN format('%I <> %L::%s', r.attribute, r.value, t.typ)
    WHEN 'lt' THEN format('%I < %L::%s', r.attribute, r.value, t.typ)
    WHEN 'le' THEN format('%I <= %L::%s', r.attribute, r.value, t.typ)
    WHEN 'gt' THEN format('%I > %L::%s', r.attribute, r.value, t.typ)
    WHEN 'ge' THEN format('%I >= %L::%s', r.attribute, r.value, t.typ)
    WHEN 'between' THEN format('%I BETWEEN %L::%s AND %L::%s', r.attribute,
                               (r.value::text[])[1], t.typ, (r.value::text[])[2], t.typ)
    WHEN 'in' THEN format('%I = ANY (%L::%s[])', r.attribute, r.value, t.typ)
    WHEN 'not_in' THEN format('%I <> ALL (%L::%s[])', r.attribute, r.value, t.typ)
    WHEN 'like' THEN format('%I LIKE %L', r.attribute, r.value)
    WHEN 'ilike' THEN format('%I ILIKE %L', r.attribute, r.value)
    WHEN 'regex' THEN format('%I ~ %L', r.attribute, r.value)
    WHEN 'iregex' THEN format('%I ~* %L', r.attribute, r.value)
    WHEN 'is_null' THEN format('%I IS NULL', r.attribute)
    WHEN 'not_null' THEN format('%I IS NOT NULL', r.attribute)
    END, r.points::text), E'\n + ' ORDER BY r.rule_id) || ') FROM public.bench_leads'
FROM leadqual.rules AS r
JOIN pg_catalog.pg_attribute AS a
  ON a.attrelid = 'public.bench_leads'::regclass AND a.attname = r.attribute
CROSS JOIN LATERAL (SELECT pg_catalog.format_type(a.atttypid, NULL) AS typ) AS t
WHERE r.model = m AND r.enabled
$f$;

INSERT INTO public.bench_queries (ord, what, grp, query, serial_only, slow) VALUES
    (21, 'CASE generated from the rules', '20', public.bench_case_sql('bench'), true, false),
    (61, 'CASE generated, 1000 rules', '1000', public.bench_case_sql('bench1000'), true, true);
