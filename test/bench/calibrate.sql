-- test/bench/calibrate.sql — what leadqual.calibrate costs next to scoring the same leads,
-- and whether its suggestion keeps its promise (the AUC does not drop).
--
--   psql -X -d DB -v n=1000000 -f test/bench/calibrate.sql     (n defaults to 1000000)
--
-- Needs the leadqual extension in DB and a role that may write leadqual's config tables
-- (the extension's owner). Builds n leads and a 20-rule model like a classic one in
-- schema leadqual_bench_calibrate, and drops both again. Each query runs twice; the best
-- time counts. Parallel query is off so that both sides of the ratio use one core.
\ir preamble.psql

DELETE FROM leadqual.models WHERE model = 'bench_calibrate';
DROP SCHEMA IF EXISTS leadqual_bench_calibrate CASCADE;
CREATE SCHEMA leadqual_bench_calibrate;
SET search_path = leadqual_bench_calibrate, pg_catalog;

-- timings: public.bench_ms (generate.sql)

\echo == data: :n leads, 20 rules
SELECT setseed(0.5);
CREATE TABLE leads (
    id             bigint PRIMARY KEY,
    company        text,
    email          text,
    job_title      text,
    industry       text,
    country        text,
    employees      integer,
    annual_revenue numeric,
    source         text,
    budget_confirmed    boolean,
    authority_confirmed boolean,
    need_confirmed      boolean,
    timeline_days  integer,
    converted      boolean
);
INSERT INTO leads
SELECT g, 'Company ' || (g % 50000),
       'c' || g || (ARRAY['@gmail.com', '@corp.example', '@firm.example', '@web.de'])[1 + floor(random() * 4)::int],
       (ARRAY['CEO', 'Head of Operations', 'IT Manager', 'Working Student', 'Engineer',
              'Director Logistics', 'Buyer', 'Founder', 'Sales Manager', NULL])[1 + floor(random() * 10)::int],
       (ARRAY['manufacturing', 'logistics', 'automotive', 'energy', 'chemicals', 'retail',
              'public sector', 'education', 'software', NULL])[1 + floor(random() * 10)::int],
       (ARRAY['DE', 'AT', 'CH', 'NL', 'FR', 'US', 'GB', 'PL'])[1 + floor(random() * 8)::int],
       floor(exp(random() * 10))::int,
       round((exp(random() * 18))::numeric, 0),
       (ARRAY['fair', 'web', 'referral', 'cold'])[1 + floor(random() * 4)::int],
       random() < 0.3, random() < 0.25, random() < 0.35,
       CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 365)::int END,
       NULL
  FROM generate_series(1, :n) g;
-- the outcome depends on some attributes (and not in the proportions the points say)
UPDATE leads SET converted = CASE WHEN random() < 0.1 THEN NULL ELSE random() <
       0.02 + CASE WHEN industry IN ('manufacturing', 'automotive') THEN 0.12 ELSE 0 END
            + CASE WHEN need_confirmed THEN 0.15 ELSE 0 END
            + CASE WHEN budget_confirmed THEN 0.03 ELSE 0 END
            + CASE WHEN job_title ~* 'head|director|ceo|founder' THEN 0.08 ELSE 0 END
            + CASE WHEN timeline_days <= 90 THEN 0.1 ELSE 0 END
            - CASE WHEN email ~ '@(gmail|web)\.' THEN 0.015 ELSE 0 END END;
VACUUM ANALYZE leads;

INSERT INTO leadqual.models (model, lead_table, mql_threshold)
VALUES ('bench_calibrate', 'leadqual_bench_calibrate.leads', 25);
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout) VALUES
 ('bench_calibrate', 'C-level or founder', 'fit', 'job_title', 'iregex', '\m(ceo|cto|founder|chief)\M', 10, false),
 ('bench_calibrate', 'Head or director', 'fit', 'job_title', 'iregex', '\m(head|director|vp)\M', 10, false),
 ('bench_calibrate', 'Manager', 'fit', 'job_title', 'ilike', '%manager%', 4, false),
 ('bench_calibrate', 'Student', 'fit', 'job_title', 'iregex', '\m(student|intern)\M', 0, true),
 ('bench_calibrate', 'Target industry', 'fit', 'industry', 'in', '{manufacturing,logistics,automotive}', 8, false),
 ('bench_calibrate', 'Adjacent industry', 'fit', 'industry', 'in', '{energy,chemicals}', 3, false),
 ('bench_calibrate', 'Public buyer', 'fit', 'industry', 'in', '{"public sector",education}', -3, false),
 ('bench_calibrate', 'Software', 'fit', 'industry', 'eq', 'software', 2, false),
 ('bench_calibrate', '50-5000 employees', 'fit', 'employees', 'between', '{50,5000}', 4, false),
 ('bench_calibrate', 'Over 5000 employees', 'fit', 'employees', 'gt', '5000', 2, false),
 ('bench_calibrate', 'Revenue >= 10M', 'fit', 'annual_revenue', 'ge', '10000000', 2, false),
 ('bench_calibrate', 'Outside delivery area', 'fit', 'country', 'not_in', '{DE,AT,CH,NL,BE,FR,DK}', -5, false),
 ('bench_calibrate', 'Free-mail address', 'fit', 'email', 'regex', '@(gmail|yahoo|hotmail|gmx|web|outlook)\.', -4, false),
 ('bench_calibrate', 'Competitor', 'fit', 'company', 'in', '{"Company 7","Company 13"}', 0, true),
 ('bench_calibrate', 'Referral', 'intent', 'source', 'eq', 'referral', 6, false),
 ('bench_calibrate', 'Cold outreach', 'intent', 'source', 'eq', 'cold', -2, false),
 ('bench_calibrate', 'Need confirmed', 'intent', 'need_confirmed', 'eq', 'true', 7, false),
 ('bench_calibrate', 'Budget confirmed', 'intent', 'budget_confirmed', 'eq', 'true', 5, false),
 ('bench_calibrate', 'Authority confirmed', 'intent', 'authority_confirmed', 'eq', 'true', 3, false),
 ('bench_calibrate', 'Buying within 90 days', 'intent', 'timeline_days', 'le', '90', 5, false);

\echo == time: calibrate vs scoring every lead once
SELECT :n AS leads,
       round(c::numeric, 0) AS calibrate_ms,
       round(s::numeric, 0) AS sum_score_ms,
       round((c / s)::numeric, 2) AS ratio
  FROM (SELECT public.bench_ms($$SELECT count(*) FROM leadqual.calibrate('bench_calibrate')$$, 2) AS c,
               public.bench_ms($$SELECT sum(leadqual.score(l, 'bench_calibrate')) FROM leads l$$, 2) AS s) t;

\echo == the calibration
CREATE TABLE cal AS SELECT * FROM leadqual.calibrate('bench_calibrate');
SELECT name, points, hits, round(hit_rate::numeric, 3) AS hit_rate,
       round(conversion_if_hit::numeric, 3) AS conv_hit,
       round(conversion_if_missed::numeric, 3) AS conv_missed,
       round(lift::numeric, 2) AS lift, round(suggested_points::numeric, 1) AS suggested
  FROM cal ORDER BY rule_id;

-- the AUC of the stored model's ranking, as calibrate ranks (knocked-out leads last)
CREATE FUNCTION model_auc() RETURNS float8 LANGUAGE sql AS $$
    SELECT (leadqual.score_quality(CASE WHEN EXISTS (SELECT FROM leadqual.explain(l, 'bench_calibrate') e
                                                     WHERE e.knockout)
                                        THEN '-Infinity' ELSE leadqual.score(l, 'bench_calibrate') END,
                                   l.converted)).auc
      FROM leadqual_bench_calibrate.leads l
$$;

\echo == applying the suggested points does not lower the AUC on these leads
BEGIN;
CREATE TEMP TABLE before AS SELECT model_auc() AS auc;
UPDATE leadqual.rules r SET points = c.suggested_points FROM cal c WHERE r.rule_id = c.rule_id;
SELECT (SELECT DISTINCT alpha FROM cal) AS alpha,
       round((SELECT DISTINCT auc_current FROM cal)::numeric, 6) AS auc_current,
       round((SELECT DISTINCT auc_suggested FROM cal)::numeric, 6) AS auc_suggested,
       round(b.auc::numeric, 6) AS auc_before_applying,
       round(model_auc()::numeric, 6) AS auc_after_applying,
       model_auc() >= b.auc AS not_lower
  FROM before b;
ROLLBACK;

RESET search_path;
DELETE FROM leadqual.models WHERE model = 'bench_calibrate';
DROP SCHEMA leadqual_bench_calibrate CASCADE;
