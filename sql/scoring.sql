-- scoring: score, explain, classify over tables, views and ROW(...)
CREATE TYPE lead_size AS ENUM ('small', 'medium', 'large');
CREATE TABLE leads (
    id          bigint PRIMARY KEY,
    email       text,
    job_title   varchar(80),
    industry    text,
    employees   integer,
    revenue     numeric(14,2),
    score_bonus double precision,
    country     text,
    budget      boolean,
    created     date,
    seen_at     timestamptz,
    big_id      bigint,
    size        lead_size
);
INSERT INTO leads VALUES
 (1, 'anna@acme.example', 'Head of Engineering', 'manufacturing', 250, 12000000.50, 1.5, 'DE', true, '2026-03-01', '2026-03-01 10:00+00', 10, 'large'),
 (2, 'bob@gmail.com', 'Working Student', 'software', 12, 500000, NULL, 'US', false, '2025-12-24', '2025-12-24 08:00+00', 20, 'small'),
 (3, 'carl@logi.example', 'CTO', 'logistics', 5000, NULL, 0, 'AT', NULL, NULL, NULL, NULL, NULL),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold)
VALUES ('default', 'leads', 15, 0);
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout) VALUES
 ('default', 'head of', 'fit', 'job_title', 'ilike', '%head of%', 10, false),
 ('default', 'cto', 'fit', 'job_title', 'regex', '^(CTO|CEO)$', 10, false),
 ('default', 'target industry', 'fit', 'industry', 'in', '{manufacturing,logistics}', 8, false),
 ('default', 'size band', 'fit', 'employees', 'between', '{50,5000}', 6, false),
 ('default', 'outside delivery area', 'fit', 'country', 'not_in', '{DE,AT,CH}', -5, false),
 ('default', 'free mail', 'fit', 'email', 'iregex', '@(gmail|yahoo)\.', -4, false),
 ('default', 'student', 'fit', 'job_title', 'ilike', '%student%', 0, true),
 ('default', 'budget', 'intent', 'budget', 'eq', 'true', 5, false),
 ('default', 'no email', 'fit', 'email', 'is_null', NULL, -1, false),
 ('default', 'rich', 'fit', 'revenue', 'ge', '1000000', 3, false),
 ('default', 'recent', 'intent', 'created', 'gt', '2026-01-01', 2, false),
 ('default', 'seen', 'intent', 'seen_at', 'lt', '2026-01-01 00:00:00+00', 1, false),
 ('default', 'bonus', 'intent', 'score_bonus', 'gt', '1', 1, false),
 ('default', 'big id', 'intent', 'big_id', 'ne', '10', 1, false),
 ('default', 'large', 'fit', 'size', 'ge', 'medium', 2, false);

SELECT id, leadqual.score(l) AS score, leadqual.classify(l) AS stage FROM leads l ORDER BY id;
SELECT l.id, e.* FROM leads l, leadqual.explain(l) e ORDER BY l.id, e.rule_id;

-- NULL attributes match only is_null (not ne, not not_in)
SELECT l.id, count(e.*) FILTER (WHERE e.name IN ('outside delivery area', 'big id')) AS ne_or_not_in_hits
  FROM leads l LEFT JOIN LATERAL leadqual.explain(l) e ON true
 WHERE l.id IN (3, 4) GROUP BY l.id ORDER BY l.id;

-- STRICT: NULL row or NULL model gives NULL; an unknown model is an error
SELECT leadqual.score(NULL::leads) IS NULL AS null_row,
       leadqual.score(l, NULL) IS NULL AS null_model,
       leadqual.classify(NULL::leads) IS NULL AS classify_null,
       (SELECT count(*) FROM leadqual.explain(NULL::leads)) AS explain_rows
  FROM leads l WHERE id = 1;
\set VERBOSITY default
SELECT leadqual.score(l, 'no such model') FROM leads l;
\set VERBOSITY terse

-- rows from a view whose types differ, a sub-select alias, ROW(...)::leads
CREATE VIEW leads_v AS
    SELECT id, email::varchar(100) AS email, job_title::text AS job_title, industry,
           employees::bigint AS employees, revenue::float8 AS revenue, score_bonus, country,
           budget, created, seen_at, big_id, size
      FROM leads;
SELECT l.id, leadqual.score(l) AS from_table, leadqual.score(v) AS from_view,
       leadqual.score(s) AS from_subselect,
       leadqual.score(ROW(l.id, l.email, l.job_title, l.industry, l.employees, l.revenue,
                          l.score_bonus, l.country, l.budget, l.created, l.seen_at, l.big_id,
                          l.size)::leads) AS from_row
  FROM leads l
  JOIN leads_v v USING (id)
  JOIN (SELECT id, job_title, industry, employees, country, email, budget, revenue, created,
               seen_at, score_bonus, big_id, size FROM leads) s USING (id)
 ORDER BY l.id;
-- a bare ROW(...) has columns f1, f2 ... and names nothing
SELECT leadqual.score(ROW(1, 'x@y.z', 'CTO'));
-- a sub-select that lacks a column the rules name
SELECT leadqual.score(s) FROM (SELECT id, job_title FROM leads) s;

-- disabled rules are ignored
UPDATE leadqual.rules SET enabled = false WHERE name IN ('head of', 'budget');
SELECT id, leadqual.score(l) AS score FROM leads l ORDER BY id;
UPDATE leadqual.rules SET enabled = true WHERE name IN ('head of', 'budget');

-- an empty rule set: score 0, classified by the thresholds
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold) VALUES
    ('empty', 'leads', 0, NULL), ('empty high', 'leads', 1, NULL), ('empty fit', 'leads', -10, 1);
SELECT m.model, leadqual.score(l, m.model) AS score, leadqual.classify(l, m.model) AS stage,
       (SELECT count(*) FROM leadqual.explain(l, m.model)) AS explained
  FROM leads l, (VALUES ('empty'), ('empty high'), ('empty fit')) m(model)
 WHERE l.id = 1 ORDER BY m.model COLLATE "C";

-- 1,000 rules give the same score as the equivalent SQL
CREATE TABLE many_leads AS
    SELECT g AS id, (g * 7919) % 1000 AS n, md5(g::text) AS h FROM generate_series(1, 2000) g;
INSERT INTO leadqual.models (model, lead_table) VALUES ('many', 'many_leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
SELECT 'many', 'r' || k,
       CASE k % 4 WHEN 3 THEN 'h' ELSE 'n' END,
       (ARRAY['eq', 'lt', 'in', 'like'])[k % 4 + 1],
       CASE k % 4 WHEN 0 THEN (k % 1000)::text WHEN 1 THEN (k % 1000)::text
                  WHEN 2 THEN format('{%s,%s,%s}', k % 1000, (k * 3) % 1000, (k * 7) % 1000)
                  ELSE substr(md5(k::text), 1, 1) || '%' END,
       (k % 13) - 6
  FROM generate_series(1, 1000) k;
SELECT count(*) AS rules FROM leadqual.rules WHERE model = 'many';
SELECT count(*) FILTER (WHERE leadqual.score(m, 'many') <> x.sql) AS mismatches,
       count(*) FILTER (WHERE x.sql <> 0) AS nonzero_scores,
       sum(leadqual.score(m, 'many')) = sum(x.sql) AS sums_equal
  FROM many_leads m,
  LATERAL (SELECT coalesce(sum(r.points), 0) AS sql FROM leadqual.rules r
            WHERE r.model = 'many' AND CASE r.op
                WHEN 'eq' THEN m.n = r.value::int
                WHEN 'lt' THEN m.n < r.value::int
                WHEN 'in' THEN m.n = ANY (r.value::int[])
                WHEN 'like' THEN m.h LIKE r.value END) x;
DELETE FROM leadqual.models WHERE model IN ('empty', 'empty high', 'empty fit', 'many');
