-- calibrate: per-rule hits, conversion, lift and suggested points from one scan
SET extra_float_digits = 0;

-- the error a statement raises: its SQLSTATE and message, or 'ok'
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- random leads whose outcome depends on some attributes, with NULL outcomes mixed in
SELECT setseed(0.31);
CREATE TABLE cal_leads (
    id        int PRIMARY KEY,
    industry  text,
    employees int,
    job_title text,
    email     text,
    region    text,
    converted boolean,
    stage_txt text
);
INSERT INTO cal_leads
SELECT g, ind, emp, title, email, region,
       CASE WHEN random() < 0.05 THEN NULL
            ELSE random() < 0.04 + CASE ind WHEN 'manufacturing' THEN 0.25 WHEN 'logistics' THEN 0.15 ELSE 0 END
                              + CASE WHEN emp BETWEEN 50 AND 5000 THEN 0.1 ELSE 0 END
                              + CASE WHEN title ILIKE '%head%' THEN 0.2 ELSE 0 END
                              - CASE WHEN email LIKE '%@gmail.%' THEN 0.03 ELSE 0 END END,
       CASE WHEN g % 2 = 0 THEN 'won' END
  FROM (SELECT g,
               (ARRAY['manufacturing', 'logistics', 'retail', 'education', NULL])[1 + floor(random() * 5)::int] AS ind,
               floor(random() * 8000)::int AS emp,
               (ARRAY['Head of IT', 'Manager', 'Intern', 'Developer', NULL])[1 + floor(random() * 5)::int] AS title,
               CASE WHEN random() < 0.3 THEN 'x' || g || '@gmail.com' ELSE 'x' || g || '@corp.example' END AS email,
               (ARRAY['north', 'south'])[1 + (g % 2)] AS region
          FROM generate_series(1, 4000) g) x;

-- points deliberately off: retail gets a lot, manufacturing little
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('cal', 'cal_leads', 10);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('cal', 'manufacturing', 'industry', 'eq', 'manufacturing', 2),
 ('cal', 'logistics', 'industry', 'eq', 'logistics', 5),
 ('cal', 'retail', 'industry', 'eq', 'retail', 12),
 ('cal', 'size band', 'employees', 'between', '{50,5000}', 4),
 ('cal', 'head', 'job_title', 'ilike', '%head%', 3),
 ('cal', 'free mail', 'email', 'regex', '@gmail\.', -4),
 ('cal', 'never', 'industry', 'eq', 'space travel', 7);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, enabled) VALUES
 ('cal', 'disabled', 'industry', 'is_null', NULL, 9, false);

-- the same predicates in plain SQL
CREATE VIEW cal_hits AS
SELECT l.id, l.region, l.converted, r.name,
       CASE r.name
           WHEN 'manufacturing' THEN l.industry = 'manufacturing'
           WHEN 'logistics' THEN l.industry = 'logistics'
           WHEN 'retail' THEN l.industry = 'retail'
           WHEN 'size band' THEN l.employees BETWEEN 50 AND 5000
           WHEN 'head' THEN l.job_title ILIKE '%head%'
           WHEN 'free mail' THEN l.email ~ '@gmail\.'
           WHEN 'never' THEN l.industry = 'space travel'
       END IS TRUE AS hit
  FROM cal_leads l
 CROSS JOIN leadqual.rules r
 WHERE r.model = 'cal' AND r.enabled AND l.converted IS NOT NULL;
CREATE VIEW cal_plain AS
SELECT name, count(*) FILTER (WHERE hit) AS hits,
       count(*) FILTER (WHERE hit)::float8 / count(*) AS hit_rate,
       (count(*) FILTER (WHERE hit AND converted))::float8 / nullif(count(*) FILTER (WHERE hit), 0) AS conv_hit,
       (count(*) FILTER (WHERE NOT hit AND converted))::float8 / nullif(count(*) FILTER (WHERE NOT hit), 0) AS conv_miss,
       count(*) FILTER (WHERE hit AND converted) AS ch,
       count(*) FILTER (WHERE hit AND NOT converted) AS lh,
       count(*) FILTER (WHERE NOT hit AND converted) AS cm,
       count(*) FILTER (WHERE NOT hit AND NOT converted) AS lm
  FROM cal_hits GROUP BY name;

CREATE TEMP TABLE cal_out AS SELECT * FROM leadqual.calibrate('cal');

-- one row per enabled rule, in rule_id order; the counts agree with plain SQL
SELECT c.name, c.points, c.hits, c.hits = p.hits AS hits_ok,
       abs(c.hit_rate - p.hit_rate) < 1e-12 AS hit_rate_ok,
       c.conversion_if_hit IS NOT DISTINCT FROM p.conv_hit
         OR abs(c.conversion_if_hit - p.conv_hit) < 1e-12 AS conv_hit_ok,
       abs(c.conversion_if_missed - p.conv_miss) < 1e-12 AS conv_miss_ok,
       c.lift IS NOT DISTINCT FROM p.conv_hit / o.rate
         OR abs(c.lift - p.conv_hit / o.rate) < 1e-12 AS lift_ok
  FROM cal_out c
  JOIN cal_plain p USING (name)
 CROSS JOIN (SELECT avg(converted::int)::float8 AS rate FROM cal_leads WHERE converted IS NOT NULL) o
 ORDER BY c.rule_id;
SELECT count(*) AS rows, (SELECT count(*) FROM leadqual.rules WHERE model = 'cal' AND enabled) AS enabled_rules
  FROM cal_out;

-- the rule that never fires: no hits, conversion and lift unknown, a weight from smoothing
SELECT hits, hit_rate, conversion_if_hit, lift, conversion_if_missed IS NOT NULL AS missed_known,
       suggested_points IS NOT NULL AND suggested_points <> 'NaN' AS suggested_known
  FROM cal_out WHERE name = 'never';

-- alpha and the AUCs are the same on every row; alpha on the grid; the AUC does not drop
SELECT count(DISTINCT (alpha, auc_current, auc_suggested)) AS distinct_summaries,
       min(alpha) >= 0 AND max(alpha) <= 1 AS alpha_in_range,
       bool_and(abs(alpha * 20 - round(alpha * 20)) < 1e-9) AS alpha_on_grid,
       bool_and(auc_suggested >= auc_current) AS auc_not_lower,
       bool_and(auc_suggested > auc_current) AS auc_improved
  FROM cal_out;

-- auc_current is score_quality of today's scores (no knockouts, no engagement column)
SELECT (SELECT DISTINCT auc_current FROM cal_out)
       = (leadqual.score_quality(leadqual.score(l, 'cal'), l.converted)).auc AS auc_current_ok
  FROM cal_leads l;

-- the suggestion follows the formula: w = smoothed log-odds scaled to the points' size
WITH w AS (
    SELECT name, ln(((ch + 0.5) / (lh + 0.5)) / ((cm + 0.5) / (lm + 0.5))) AS w FROM cal_plain
), s AS (
    SELECT sum(abs(c.points)) / sum(abs(w.w)) AS scale FROM cal_out c JOIN w USING (name)
)
SELECT bool_and(abs(c.suggested_points - (c.points + c.alpha * (s.scale * w.w - c.points))) < 1e-9)
       AS formula_ok
  FROM cal_out c JOIN w USING (name) CROSS JOIN s;

-- applying the suggested points gives auc_suggested
BEGIN;
UPDATE leadqual.rules r SET points = c.suggested_points
  FROM cal_out c WHERE r.rule_id = c.rule_id;
SELECT abs((leadqual.score_quality(leadqual.score(l, 'cal'), l.converted)).auc
           - (SELECT DISTINCT auc_suggested FROM cal_out)) < 1e-12 AS applied_auc_ok
  FROM cal_leads l;
ROLLBACK;

-- random data: the AUC never drops, whatever the points
SELECT setseed(0.77);
CREATE TABLE cal_rand (id int, a int, b int, c int, d int, converted boolean);
CREATE FUNCTION pg_temp.cal_rand_trial() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    ok boolean;
BEGIN
    TRUNCATE cal_rand;
    INSERT INTO cal_rand
    SELECT g, floor(random() * 3), floor(random() * 3), floor(random() * 3), floor(random() * 3),
           random() < 0.3 FROM generate_series(1, 300) g;
    UPDATE leadqual.rules SET points = round((random() * 20 - 10)::numeric, 1)
     WHERE model = 'cal_rand';
    SELECT bool_and(auc_suggested >= auc_current) AND count(*) = 6 INTO ok
      FROM leadqual.calibrate('cal_rand');
    RETURN ok;
END $$;
INSERT INTO leadqual.models (model, lead_table) VALUES ('cal_rand', 'cal_rand');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES
 ('cal_rand', 'a0', 'a', 'eq', '0'), ('cal_rand', 'a1', 'a', 'eq', '1'),
 ('cal_rand', 'b0', 'b', 'eq', '0'), ('cal_rand', 'c2', 'c', 'eq', '2'),
 ('cal_rand', 'd1', 'd', 'le', '1'), ('cal_rand', 'ab', 'a', 'gt', '1');
SELECT count(*) FILTER (WHERE pg_temp.cal_rand_trial()) AS trials_not_lower
  FROM generate_series(1, 25);

-- knockouts: knocked-out leads rank below every other lead
INSERT INTO leadqual.models (model, lead_table) VALUES ('cal_ko', 'cal_leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout) VALUES
 ('cal_ko', 'manufacturing', 'industry', 'eq', 'manufacturing', 2, false),
 ('cal_ko', 'head', 'job_title', 'ilike', '%head%', 3, false),
 ('cal_ko', 'intern', 'job_title', 'eq', 'Intern', 5, true);
SELECT (SELECT DISTINCT auc_current FROM leadqual.calibrate('cal_ko'))
       = (leadqual.score_quality(CASE WHEN leadqual.classify(l, 'cal_ko') = 'disqualified'
                                      THEN '-Infinity' ELSE leadqual.score(l, 'cal_ko') END,
                                 l.converted)).auc AS knockout_auc_ok,
       (SELECT suggested_points FROM leadqual.calibrate('cal_ko') WHERE name = 'intern') = 5
         AS knockout_points_kept
  FROM cal_leads l;

-- a model without rules, or with every rule disabled: no rows
INSERT INTO leadqual.models (model, lead_table) VALUES ('cal_empty', 'cal_leads');
SELECT count(*) AS rows FROM leadqual.calibrate('cal_empty');
-- a table without leads of known outcome: counts zero, AUC unknown
CREATE TABLE cal_none (id int, x int, converted boolean);
INSERT INTO cal_none VALUES (1, 1, NULL);
INSERT INTO leadqual.models (model, lead_table) VALUES ('cal_none', 'cal_none');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('cal_none', 'x', 'x', 'eq', '1', 1);
SELECT name, hits, hit_rate, conversion_if_hit, conversion_if_missed, lift, suggested_points,
       alpha, auc_current, auc_suggested
  FROM leadqual.calibrate('cal_none');

-- bad arguments
SELECT pg_temp.error_of($$SELECT * FROM leadqual.calibrate('no such model')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.calibrate('cal', 'outcome')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.calibrate('cal', 'industry')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.calibrate('cal', 'xmin')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.calibrate('cal', 'converted; DROP TABLE cal_leads; --')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.calibrate('cal', 'converted" FROM pg_authid --')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.calibrate(NULL)$$);
SELECT count(*) AS still_there FROM cal_leads;

-- an outcome column whose name needs quoting, of a domain over boolean
CREATE DOMAIN cal_outcome AS boolean;
ALTER TABLE cal_leads ADD COLUMN "Won?" cal_outcome;
UPDATE cal_leads SET "Won?" = converted;
SELECT bool_and(a.hits = b.hits AND a.auc_current = b.auc_current) AS quoted_column_ok
  FROM leadqual.calibrate('cal', 'Won?') a JOIN cal_out b USING (rule_id);

-- row-level security: a role that sees the northern leads only gets their counts
CREATE ROLE cal_analyst;
GRANT SELECT ON cal_leads TO cal_analyst;
ALTER TABLE cal_leads ENABLE ROW LEVEL SECURITY;
CREATE POLICY cal_north ON cal_leads FOR SELECT TO cal_analyst USING (region = 'north');
SET ROLE cal_analyst;
CREATE TEMP TABLE cal_rls AS SELECT * FROM leadqual.calibrate('cal');
RESET ROLE;
SELECT c.name, c.hits = p.hits AS hits_ok, c.hits < o.hits AS fewer_than_owner,
       abs(c.conversion_if_missed - p.conv_miss) < 1e-12 AS conv_miss_ok
  FROM cal_rls c
  JOIN (SELECT name, count(*) FILTER (WHERE hit) AS hits,
               (count(*) FILTER (WHERE NOT hit AND converted))::float8
                 / nullif(count(*) FILTER (WHERE NOT hit), 0) AS conv_miss
          FROM cal_hits WHERE region = 'north' GROUP BY name) p USING (name)
  JOIN cal_out o USING (name)
 WHERE c.name <> 'never'
 ORDER BY c.rule_id;
-- without SELECT on the table: the caller's permission error
REVOKE SELECT ON cal_leads FROM cal_analyst;
SET ROLE cal_analyst;
SELECT pg_temp.error_of($$SELECT * FROM leadqual.calibrate('cal')$$);
RESET ROLE;

DROP TABLE cal_rls;
DELETE FROM leadqual.models WHERE model IN ('cal', 'cal_rand', 'cal_ko', 'cal_empty', 'cal_none');
DROP TABLE cal_leads, cal_rand, cal_none CASCADE;
DROP DOMAIN cal_outcome;
DROP ROLE cal_analyst;
