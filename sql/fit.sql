-- fit: points learned by an L2-regularised logistic regression over the rules;
-- candidate_rules: rules proposed from the data; choose_threshold: the MQL threshold for
-- a capacity or a capture target
SET extra_float_digits = 0;

CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- a uniform number in [0, 1) from (g, stream): deterministic on every server version
CREATE FUNCTION pg_temp.u(g bigint, stream bigint) RETURNS float8 LANGUAGE sql IMMUTABLE AS
$$ SELECT (hashint8extended(g, stream) & 9007199254740991)::float8 / 9007199254740992 $$;

-- ---------------------------------------------------------------------------------------
-- 1. A small exact case against a reference Newton/IRLS written in PL/pgSQL.
-- Two rules, four hit patterns with known counts, a knockout and NULL outcomes on top.
-- ---------------------------------------------------------------------------------------
CREATE TABLE fit_small (id int PRIMARY KEY, x1 boolean, x2 boolean, ko boolean,
                        converted boolean);
INSERT INTO fit_small
SELECT row_number() OVER (), p.x1, p.x2, false, c.conv
  FROM (VALUES (false, false, 3, 20), (true, false, 6, 10),
               (false, true, 4, 9), (true, true, 12, 5)) p(x1, x2, pos, neg),
       LATERAL (SELECT true AS conv FROM generate_series(1, p.pos)
                UNION ALL SELECT false FROM generate_series(1, p.neg)) c;
-- knocked-out leads (left out of the fit) and leads of unknown outcome (ignored, counted)
INSERT INTO fit_small SELECT 1000 + g, true, true, true, g % 2 = 0 FROM generate_series(1, 7) g;
INSERT INTO fit_small SELECT 2000 + g, true, false, false, NULL FROM generate_series(1, 3) g;
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('fs', 'fit_small', 6);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout) VALUES
 ('fs', 'x1', 'x1', 'eq', 'true', 5, false),
 ('fs', 'ko', 'ko', 'eq', 'true', 0, true),
 ('fs', 'x2', 'x2', 'eq', 'true', 3, false);

-- Newton's method on the four patterns, written out: beta = (b0, b1, b2), the intercept
-- not penalised; returns beta and the standard errors sqrt(diag(H^-1)).
CREATE FUNCTION pg_temp.reference_irls(l2 float8, OUT b float8[], OUT se float8[])
LANGUAGE plpgsql AS $$
DECLARE
    g float8[]; h float8[]; inv float8[]; det float8; x float8[]; eta float8; mu float8;
    p record;
BEGIN
    b := ARRAY[ln(25.0 / 44.0), 0, 0];
    FOR it IN 1..60 LOOP
        g := ARRAY[0, -l2 * b[2], -l2 * b[3]];
        h := ARRAY[[0, 0, 0], [0, l2, 0], [0, 0, l2]];
        FOR p IN SELECT x1::int AS x1, x2::int AS x2, count(*) FILTER (WHERE converted) AS pos,
                        count(*) FILTER (WHERE NOT converted) AS neg
                   FROM fit_small WHERE NOT ko AND converted IS NOT NULL GROUP BY 1, 2 LOOP
            x := ARRAY[1, p.x1, p.x2];
            eta := b[1] + b[2] * x[2] + b[3] * x[3];
            mu := 1 / (1 + exp(-eta));
            FOR i IN 1..3 LOOP
                g[i] := g[i] + x[i] * (p.pos - (p.pos + p.neg) * mu);
                FOR j IN 1..3 LOOP
                    h[i][j] := h[i][j] + x[i] * x[j] * (p.pos + p.neg) * mu * (1 - mu);
                END LOOP;
            END LOOP;
        END LOOP;
        -- the inverse of the symmetric 3x3 Hessian by cofactors
        det := h[1][1] * (h[2][2] * h[3][3] - h[2][3] * h[3][2])
             - h[1][2] * (h[2][1] * h[3][3] - h[2][3] * h[3][1])
             + h[1][3] * (h[2][1] * h[3][2] - h[2][2] * h[3][1]);
        inv := ARRAY[[h[2][2] * h[3][3] - h[2][3] * h[3][2], h[1][3] * h[3][2] - h[1][2] * h[3][3], h[1][2] * h[2][3] - h[1][3] * h[2][2]],
                     [h[2][3] * h[3][1] - h[2][1] * h[3][3], h[1][1] * h[3][3] - h[1][3] * h[3][1], h[1][3] * h[2][1] - h[1][1] * h[2][3]],
                     [h[2][1] * h[3][2] - h[2][2] * h[3][1], h[1][2] * h[3][1] - h[1][1] * h[3][2], h[1][1] * h[2][2] - h[1][2] * h[2][1]]];
        FOR i IN 1..3 LOOP
            b[i] := b[i] + (inv[i][1] * g[1] + inv[i][2] * g[2] + inv[i][3] * g[3]) / det;
        END LOOP;
    END LOOP;
    se := ARRAY[sqrt(inv[1][1] / det), sqrt(inv[2][2] / det), sqrt(inv[3][3] / det)];
END $$;

-- the fit agrees with the reference to 1e-6, with and without regularisation
SELECT l2, f.name, f.knockout, f.points,
       abs(f.coefficient - r.b[CASE f.name WHEN 'x1' THEN 2 ELSE 3 END]) < 1e-6 AS coefficient_ok,
       abs(f.std_error - r.se[CASE f.name WHEN 'x1' THEN 2 ELSE 3 END]) < 1e-6 AS std_error_ok,
       abs(f.intercept - r.b[1]) < 1e-6 AS intercept_ok,
       f.train_leads, f.holdout_leads, f.iterations < 20 AS converged
  FROM (VALUES (1.0::float8), (0.0), (5.0)) v(l2),
       LATERAL pg_temp.reference_irls(v.l2) r,
       LATERAL leadqual.fit('fs', holdout => 0, l2 => v.l2) f
 WHERE NOT f.knockout
 ORDER BY l2, f.rule_id;
-- the knockout keeps its points and gets no coefficient
SELECT name, knockout, points, coefficient, std_error, suggested_points
  FROM leadqual.fit('fs', holdout => 0) WHERE knockout;
-- suggested points: the coefficients scaled to the size of today's points (sum |points|
-- kept), rounded to one decimal
SELECT bool_and(suggested_points = round((scale * coefficient)::numeric, 1)::float8) AS rounded,
       abs(sum(abs(scale * coefficient)) - 8) < 1e-9 AS scale_keeps_total
  FROM leadqual.fit('fs', holdout => 0) WHERE NOT knockout;
-- with holdout => 0, today's AUC is calibrate's (knocked-out leads ranked last), and the
-- fitted AUC is what the draft model's scores give on the same leads
SELECT DISTINCT f.auc_train_current = c.auc_current AS auc_current_is_calibrates,
       f.auc_holdout_current IS NULL AND f.auc_holdout_fitted IS NULL AS no_holdout
  FROM leadqual.fit('fs', holdout => 0) f, leadqual.calibrate('fs') c;

-- ---------------------------------------------------------------------------------------
-- 2. into_model: a draft copy with the fitted points and threshold
-- ---------------------------------------------------------------------------------------
SELECT count(*) FROM leadqual.fit('fs', into_model => 'fs_draft', holdout => 0);
SELECT m.model, m.lead_table, m.mql_threshold = f.suggested_mql_threshold AS threshold_fitted,
       m.description
  FROM leadqual.models m,
       (SELECT DISTINCT suggested_mql_threshold FROM leadqual.fit('fs', holdout => 0)) f
 WHERE m.model = 'fs_draft';
SELECT d.name, d.knockout, d.points = f.suggested_points AS fitted_points, d.enabled
  FROM leadqual.rules d
  JOIN leadqual.fit('fs', holdout => 0) f ON f.name = d.name
 WHERE d.model = 'fs_draft' ORDER BY d.rule_id;
SELECT DISTINCT abs(f.auc_train_fitted -
           (SELECT (leadqual.score_quality(CASE WHEN l.ko THEN '-Infinity'
                                               ELSE leadqual.score(l, 'fs_draft') END,
                                          l.converted)).auc FROM fit_small l)) < 1e-12 AS draft_auc_ok
  FROM leadqual.fit('fs', holdout => 0) f;
-- create or replace: a second fit replaces the draft's rules (no duplicates)
UPDATE leadqual.rules SET points = 1 WHERE model = 'fs' AND name = 'x2';
SELECT count(*) FROM leadqual.fit('fs', into_model => 'fs_draft', holdout => 0);
SELECT count(*) AS draft_rules FROM leadqual.rules WHERE model = 'fs_draft';
-- into_model may not be the model itself, nor a model attached to a table (55000)
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', into_model => 'fs')$$);
CREATE TABLE fit_attached (id int PRIMARY KEY, x1 boolean, score float8, stage leadqual.stage,
                           stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table) VALUES ('fs_live', 'fit_attached');
SELECT leadqual.attach('fit_attached', 'fs_live');
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', into_model => 'fs_live')$$);
SELECT leadqual.detach('fit_attached');

-- the translated threshold lets through as nearly as possible as many leads as before:
-- no score level of the draft comes closer to today's count of MQLs (fs, and gt below)
CREATE FUNCTION pg_temp.threshold_check(model text, draft text, tbl regclass)
RETURNS TABLE (old_mqls bigint, new_mqls bigint, closest boolean) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        WITH s AS (
            SELECT leadqual.score(l, %L) AS old_score, leadqual.score(l, %L) AS new_score
              FROM %s l WHERE l.converted IS NOT NULL AND leadqual.classify(l, %L) <> 'disqualified'
        ), m AS (
            SELECT (SELECT mql_threshold FROM leadqual.models WHERE model = %L) AS old_t,
                   (SELECT mql_threshold FROM leadqual.models WHERE model = %L) AS new_t
        ), c AS (
            SELECT count(*) FILTER (WHERE s.old_score >= m.old_t) AS old_n,
                   count(*) FILTER (WHERE s.new_score >= m.new_t) AS new_n FROM s, m
        ), lv AS (
            SELECT s.new_score, sum(count(*)) OVER (ORDER BY s.new_score DESC) AS above
              FROM s GROUP BY s.new_score
        )
        -- the candidates: each level, and above the top (no lead)
        SELECT c.old_n, c.new_n,
               abs(c.new_n - c.old_n) <= least(c.old_n, (SELECT min(abs(lv.above - c.old_n)) FROM lv))
          FROM c
    $q$, model, draft, tbl, model, model, draft);
END $$;
SELECT * FROM pg_temp.threshold_check('fs', 'fs_draft', 'fit_small');

-- ---------------------------------------------------------------------------------------
-- 3. Errors
-- ---------------------------------------------------------------------------------------
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('nope')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', 'no_such_column')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', 'id')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', holdout => 1)$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', holdout => -0.1)$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', l2 => -1)$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', l2 => 'NaN')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', NULL)$$);
-- a constant outcome, and too few leads of a class
ALTER TABLE fit_small ADD COLUMN always boolean, ADD COLUMN rare boolean;
UPDATE fit_small SET always = true, rare = id <= 9;
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', 'always')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', 'rare', holdout => 0)$$);
-- without regularisation a rule matching no lead has no best coefficient
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('fs', 'never', 'x1', 'is_null', NULL, 1);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fs', holdout => 0, l2 => 0)$$);
SELECT name, coefficient, round(suggested_points::numeric, 1) AS suggested
  FROM leadqual.fit('fs', holdout => 0) WHERE name = 'never';
DELETE FROM leadqual.rules WHERE model = 'fs' AND name = 'never';

-- ---------------------------------------------------------------------------------------
-- 4. Perfect separation: a rule every converted lead matches and no other lead does.
-- The likelihood alone would push its coefficient to infinity; L2 keeps it finite.
-- ---------------------------------------------------------------------------------------
CREATE TABLE fit_sep (id int PRIMARY KEY, x boolean, y boolean, converted boolean);
INSERT INTO fit_sep SELECT g, g % 4 = 0, g % 3 = 0, g % 4 = 0 FROM generate_series(1, 200) g;
INSERT INTO leadqual.models (model, lead_table) VALUES ('sep', 'fit_sep');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('sep', 'x', 'x', 'eq', 'true', 10), ('sep', 'y', 'y', 'eq', 'true', 10);
SELECT l2, name, coefficient > 2 AS large, coefficient < 50 AS finite, std_error < 100 AS se_finite,
       auc_train_fitted
  FROM (VALUES (1.0::float8), (0.1)) v(l2), LATERAL leadqual.fit('sep', holdout => 0, l2 => v.l2)
 WHERE name = 'x' ORDER BY l2 DESC;
-- without the penalty the coefficient would be infinite: refused
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('sep', holdout => 0, l2 => 0)$$);
-- a stronger penalty, a smaller coefficient
SELECT (SELECT coefficient FROM leadqual.fit('sep', holdout => 0, l2 => 10) WHERE name = 'x')
     < (SELECT coefficient FROM leadqual.fit('sep', holdout => 0, l2 => 1) WHERE name = 'x') AS shrinks;

-- ---------------------------------------------------------------------------------------
-- 5. The quality bar on generated data with a known logistic model: 20,000 leads to fit
-- on, 20,000 more of the same kind to judge on.  Rules overlap (b and c come with a), so
-- per-rule log-odds (calibrate) misjudge them; the fit recovers the true coefficients.
-- ---------------------------------------------------------------------------------------
CREATE TABLE gt_leads (id bigint PRIMARY KEY, a boolean, b boolean, c boolean, d boolean,
                       e boolean, f boolean, ko boolean, converted boolean);
CREATE TABLE gt_truth (name text PRIMARY KEY, beta float8);
INSERT INTO gt_truth VALUES ('(intercept)', -2.0), ('a', 1.0), ('b', 0.6), ('c', -0.8),
                            ('d', 0.0), ('e', 1.5), ('f', -0.4);
INSERT INTO gt_leads
SELECT g, a, b, c, d, e, f, ko,
       pg_temp.u(g, 9) < 1 / (1 + exp(-(-2.0 + 1.0 * a::int + 0.6 * b::int - 0.8 * c::int
                                         + 0.0 * d::int + 1.5 * e::int - 0.4 * f::int)))
  FROM (SELECT g, a,
               pg_temp.u(g, 2) < CASE WHEN a THEN 0.7 ELSE 0.2 END AS b,
               pg_temp.u(g, 3) < CASE WHEN a THEN 0.6 ELSE 0.3 END AS c,
               pg_temp.u(g, 4) < 0.5 AS d,
               pg_temp.u(g, 5) < 0.15 AS e,
               pg_temp.u(g, 6) < 0.4 AS f,
               pg_temp.u(g, 7) < 0.03 AS ko
          FROM (SELECT g, pg_temp.u(g, 1) < 0.4 AS a FROM generate_series(1, 40000) g) x) y;
-- leads 20,001-40,000 are the test set: another table of the same row type
CREATE TABLE gt_test (LIKE gt_leads);
WITH moved AS (DELETE FROM gt_leads WHERE id > 20000 RETURNING *)
INSERT INTO gt_test SELECT * FROM moved;
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('gt', 'gt_leads', 20);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout)
SELECT 'gt', n, n, 'eq', 'true', 10, false FROM unnest('{a,b,c,d,e,f}'::text[]) n;
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout)
VALUES ('gt', 'ko', 'ko', 'eq', 'true', 0, true);

CREATE TABLE gt_fit AS SELECT * FROM leadqual.fit('gt', into_model => 'gt_fitted');
-- every true coefficient lies within 3 standard errors of the fitted one
SELECT f.name, abs(f.coefficient - t.beta) < 3 * f.std_error AS within_3_se,
       f.std_error < 0.1 AS precise
  FROM gt_fit f JOIN gt_truth t USING (name) ORDER BY f.rule_id;
SELECT DISTINCT abs(intercept + 2.0) < 0.2 AS intercept_ok, train_leads + holdout_leads AS leads,
       abs(holdout_leads::float8 / (train_leads + holdout_leads) - 0.3) < 0.02 AS split_30_percent,
       auc_holdout_fitted > auc_holdout_current AS holdout_better
  FROM gt_fit;
SELECT * FROM pg_temp.threshold_check('gt', 'gt_fitted', 'gt_leads');
-- with every point 0 (rules fresh from candidate_rules) the old threshold says nothing:
-- the MQLs become the leads at least as likely to convert as the average training lead
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('gt_zero', 'gt_leads', 20);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout)
SELECT 'gt_zero', name, attribute, op, value, 0, knockout FROM leadqual.rules
 WHERE model = 'gt' ORDER BY rule_id;
SELECT DISTINCT scale, suggested_mql_threshold <> mql_threshold AS threshold_moved
  FROM leadqual.fit('gt_zero', into_model => 'gt_zero_fitted');
SELECT count(*) FILTER (WHERE mql) > 0 AND count(*) FILTER (WHERE NOT mql) > 0 AS both_sides,
       avg(converted::int) FILTER (WHERE mql) > avg(converted::int) AS mqls_convert_better,
       bool_and(NOT mql OR p >= 0.999 * (SELECT avg(converted::int) FROM gt_leads WHERE NOT ko))
           AS every_mql_at_least_average,
       bool_and(mql OR p < (SELECT avg(converted::int) FROM gt_leads WHERE NOT ko)) AS no_mql_missed
  FROM (SELECT l.converted,
               leadqual.score(l, 'gt_zero_fitted') >= m.mql_threshold AS mql,
               1 / (1 + exp(-(f.intercept + leadqual.score(l, 'gt_zero_fitted') / f.scale))) AS p
          FROM gt_leads l, leadqual.models m,
               (SELECT DISTINCT intercept, scale FROM leadqual.fit('gt_zero', holdout => 0.3)) f
         WHERE m.model = 'gt_zero_fitted' AND NOT l.ko) x;
-- the split is the same every time (a hash of the key), and so is the fit
SELECT count(*) AS same_rows
  FROM gt_fit f JOIN leadqual.fit('gt') g USING (rule_id)
 WHERE f.coefficient IS NOT DISTINCT FROM g.coefficient AND f.std_error IS NOT DISTINCT FROM g.std_error
   AND f.auc_holdout_fitted = g.auc_holdout_fitted AND f.train_leads = g.train_leads;

-- a view has no primary key: the split hashes the whole row's text instead
CREATE VIEW gt_view AS SELECT * FROM gt_leads;
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('gt_view', 'gt_view', 20);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout)
SELECT 'gt_view', name, attribute, op, value, points, knockout FROM leadqual.rules
 WHERE model = 'gt' ORDER BY rule_id;
SELECT DISTINCT v.train_leads + v.holdout_leads = g.train_leads + g.holdout_leads AS same_leads,
       v.train_leads <> g.train_leads AS another_split,
       abs(v.holdout_leads::float8 / (v.train_leads + v.holdout_leads) - 0.3) < 0.02 AS split_30_percent
  FROM leadqual.fit('gt_view') v, gt_fit g;
DELETE FROM leadqual.models WHERE model = 'gt_view';
DROP VIEW gt_view;

-- calibrate's suggestion as a model of its own, to judge both on the test set
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('gt_cal', 'gt_leads', 20);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout)
SELECT 'gt_cal', r.name, r.attribute, r.op, r.value, c.suggested_points, r.knockout
  FROM leadqual.rules r JOIN leadqual.calibrate('gt') c USING (rule_id)
 WHERE r.model = 'gt' ORDER BY r.rule_id;
CREATE FUNCTION pg_temp.test_auc(model text) RETURNS float8 LANGUAGE sql AS $$
    SELECT (leadqual.score_quality(CASE WHEN t.ko THEN '-Infinity' ELSE leadqual.score(t, model) END,
                                   t.converted)).auc FROM gt_test t
$$;
-- the raw coefficients as scores (no rounding), through explain
CREATE FUNCTION pg_temp.test_auc_coefficients() RETURNS float8 LANGUAGE sql AS $$
    SELECT (leadqual.score_quality(CASE WHEN t.ko THEN '-Infinity'
                                        ELSE (SELECT coalesce(sum(f.coefficient), 0)
                                                FROM leadqual.explain(t, 'gt') e
                                                JOIN gt_fit f USING (rule_id)) END,
                                   t.converted)).auc FROM gt_test t
$$;
SELECT pg_temp.test_auc('gt_fitted') >= pg_temp.test_auc('gt_cal') AS fit_not_below_calibrate,
       pg_temp.test_auc('gt_fitted') > pg_temp.test_auc('gt') AS fit_above_today,
       abs(pg_temp.test_auc('gt_fitted') - pg_temp.test_auc_coefficients()) < 0.001
           AS rounding_costs_nothing;

-- ---------------------------------------------------------------------------------------
-- 6. candidate_rules: rules from the data, every one valid
-- ---------------------------------------------------------------------------------------
CREATE TYPE fit_tier AS ENUM ('gold', 'silver', 'bronze');
CREATE TABLE fit_cand (id int PRIMARY KEY, industry text, tier fit_tier, newsletter boolean,
                       employees int, revenue numeric, signed_up date, seen timestamptz,
                       "odd "" name" text, extra jsonb);
INSERT INTO fit_cand
SELECT g, (ARRAY['manufacturing', 'retail', 'logistics', NULL, 'space'])[1 + g % 5 + (g % 97 = 0)::int * 0],
       (ARRAY['gold', 'silver', 'bronze'])[1 + g % 3]::fit_tier,
       CASE WHEN g % 7 = 0 THEN NULL ELSE g % 2 = 0 END,
       (g * 37) % 1000, CASE WHEN g % 10 = 0 THEN NULL ELSE round((g % 50) * 1.25, 2) END,
       date '2026-01-01' + g % 120, timestamptz '2026-03-01 12:00:00+00' + g * interval '1 hour',
       CASE WHEN g % 4 = 0 THEN 'it''s "quoted", {x}' ELSE 'plain' END, '{}'
  FROM generate_series(1, 500) g;
UPDATE fit_cand SET industry = 'rare' WHERE id IN (1, 2, 3);
UPDATE fit_cand SET employees = 5 WHERE id <= 250;    -- a heavy tie: quantiles merge
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'America/New_York';
SELECT * FROM leadqual.candidate_rules('fit_cand',
    '{industry,tier,newsletter,employees,revenue,signed_up,seen,"odd \" name",extra}', 30);
-- deterministic, and every rule passes validation
SELECT (SELECT array_agg(c) FROM leadqual.candidate_rules('fit_cand',
            '{industry,tier,newsletter,employees,revenue,signed_up,seen,"odd \" name"}', 30) c)
     = (SELECT array_agg(c) FROM leadqual.candidate_rules('fit_cand',
            '{industry,tier,newsletter,employees,revenue,signed_up,seen,"odd \" name"}', 30) c) AS deterministic;
INSERT INTO leadqual.models (model, lead_table) VALUES ('cand', 'fit_cand');
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points)
SELECT 'cand', c.* FROM leadqual.candidate_rules('fit_cand',
    '{industry,tier,newsletter,employees,revenue,signed_up,seen,"odd \" name"}', 30) c;
RESET DateStyle;
RESET TimeZone;
-- each band rule matches the leads its band holds, and bands do not overlap
SELECT r.attribute, count(DISTINCT e.rule_id) AS rules, count(*) AS hits,
       count(DISTINCT l.id) AS leads
  FROM fit_cand l, leadqual.explain(l, 'cand') e JOIN leadqual.rules r USING (rule_id)
 WHERE r.op IN ('between', 'eq') AND r.attribute IN ('employees', 'revenue', 'signed_up', 'seen')
 GROUP BY r.attribute ORDER BY r.attribute COLLATE "C";
SELECT pg_temp.error_of($$SELECT * FROM leadqual.candidate_rules('fit_cand', '{nope}')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.candidate_rules('fit_cand', '{industry}', 0)$$);
-- a hostile column name is quoted, never executed
DELETE FROM leadqual.rules WHERE model = 'cand' AND attribute = 'odd " name';
ALTER TABLE fit_cand RENAME COLUMN "odd "" name" TO "x); DROP TABLE fit_cand; --";
SELECT count(*) FROM leadqual.candidate_rules('fit_cand', ARRAY['x); DROP TABLE fit_cand; --']::name[], 30);
SELECT count(*) > 0 AS still_there FROM fit_cand;

-- ---------------------------------------------------------------------------------------
-- 7. choose_threshold on a hand-made case: 12 leads, scores 30 .. 0, a knockout at the top
-- ---------------------------------------------------------------------------------------
CREATE TABLE ct (id int PRIMARY KEY, pts float8, ko boolean, converted boolean);
INSERT INTO ct VALUES
 (1, 30, true, true),      -- knocked out: never an MQL, its conversion is lost
 (2, 25, false, true), (3, 25, false, false),
 (4, 20, false, true), (5, 15, false, NULL), (6, 15, false, false),
 (7, 10, false, true), (8, 10, false, false), (9, 10, false, true),
 (10, 5, false, false), (11, 0, false, true), (12, 0, false, false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('ct', 'ct', 15);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout) VALUES
 ('ct', 'ko', 'ko', 'eq', 'true', 0, true),
 ('ct', 'p5', 'pts', 'ge', '5', 5, false), ('ct', 'p10', 'pts', 'ge', '10', 5, false),
 ('ct', 'p15', 'pts', 'ge', '15', 5, false), ('ct', 'p20', 'pts', 'ge', '20', 5, false),
 ('ct', 'p25', 'pts', 'ge', '25', 5, false);
-- capacity: the lowest threshold whose MQLs fit (ties at 10 take three places)
SELECT c.capacity, t.*
  FROM (VALUES (1::bigint), (2), (3), (5), (7), (8), (11), (100)) c(capacity),
       LATERAL leadqual.choose_threshold('ct', capacity => c.capacity) t
 ORDER BY c.capacity;
SELECT * FROM leadqual.choose_threshold('ct', capacity => 0);
-- min_capture: the highest threshold still catching that share of the 6 conversions
SELECT c.min_capture, t.*
  FROM (VALUES (0.1::float8), (0.5), (0.6), (5.0 / 6), (1.0)) c(min_capture),
       LATERAL leadqual.choose_threshold('ct', min_capture => c.min_capture) t
 ORDER BY c.min_capture;
SELECT pg_temp.error_of($$SELECT * FROM leadqual.choose_threshold('ct')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.choose_threshold('ct', capacity => 3, min_capture => 0.5)$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.choose_threshold('ct', min_capture => 0)$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.choose_threshold('ct', capacity => -1)$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.choose_threshold('ct', 'pts', capacity => 3)$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.choose_threshold('ct', 'nope', capacity => 3)$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.choose_threshold('nope', capacity => 3)$$);

-- ---------------------------------------------------------------------------------------
-- 8. Privileges: the lead table is read as the caller
-- ---------------------------------------------------------------------------------------
CREATE ROLE regress_fit_analyst;
SET ROLE regress_fit_analyst;
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('gt')$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.choose_threshold('ct', capacity => 3)$$);
SELECT pg_temp.error_of($$SELECT * FROM leadqual.candidate_rules('fit_cand', '{industry}')$$);
RESET ROLE;
GRANT SELECT ON gt_leads, ct TO regress_fit_analyst;
-- row-level security: the analyst sees the leads of one half only
ALTER TABLE gt_leads ENABLE ROW LEVEL SECURITY;
CREATE POLICY fit_half ON gt_leads FOR SELECT TO regress_fit_analyst USING (id % 2 = 0);
ALTER TABLE ct ENABLE ROW LEVEL SECURITY;
CREATE POLICY ct_top ON ct FOR SELECT TO regress_fit_analyst USING (pts >= 10);
SET ROLE regress_fit_analyst;
SELECT DISTINCT train_leads + holdout_leads AS visible_leads FROM leadqual.fit('gt');
SELECT * FROM leadqual.choose_threshold('ct', capacity => 100);
-- writing a draft needs write access to leadqual's tables: the analyst has none
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('gt', into_model => 'gt_analyst')$$);
RESET ROLE;
SELECT (SELECT count(*) FROM gt_leads WHERE NOT ko AND id % 2 = 0) AS expected_visible;
DROP POLICY fit_half ON gt_leads;
DROP POLICY ct_top ON ct;
REVOKE ALL ON gt_leads, ct FROM regress_fit_analyst;
DROP ROLE regress_fit_analyst;

-- A lead table with a column named l: every function that reads its rows scores the whole
-- row (a bare l in their queries was that column: calibrate and fit crashed the server,
-- choose_threshold, simulate and rescore failed)
CREATE TABLE fit_l (id int PRIMARY KEY, l int, x boolean, converted boolean, score float8,
                    stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('fit_l', 'fit_l', 5);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('fit_l', 'x', 'x', 'eq', 'true', 5);
INSERT INTO fit_l (id, l, x, converted)
SELECT g, g, g % 3 = 0, (g % 5 = 0) <> (g % 7 = 0) FROM generate_series(1, 200) g;
SELECT name, hits FROM leadqual.calibrate('fit_l');
SELECT name, train_leads FROM leadqual.fit('fit_l', holdout => 0);
SELECT threshold, leads FROM leadqual.choose_threshold('fit_l', capacity => 100);
SELECT leadqual.attach('fit_l', 'fit_l');
SELECT count(*) AS moves FROM leadqual.simulate('fit_l', leadqual.ruleset('fit_l'::text));
CALL leadqual.rescore('fit_l');
SELECT leadqual.detach('fit_l');
DELETE FROM leadqual.stage_history WHERE model = 'fit_l';
-- the holdout split is the same whatever the session's TimeZone and DateStyle (a
-- timestamptz key's text moves with them)
CREATE TABLE fit_tz (id timestamptz PRIMARY KEY, a boolean, b boolean, converted boolean);
INSERT INTO fit_tz SELECT '2024-01-01'::timestamptz + g * interval '1 hour', hashint4(g) % 2 = 0,
       hashint4(g + 7) % 3 = 0, hashint4(g + 1) % 3 = 0 FROM generate_series(1, 400) g;
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('fit_tz', 'fit_tz', 5);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('fit_tz', 'a', 'a', 'eq', 'true', 5), ('fit_tz', 'b', 'b', 'eq', 'true', 3);
CREATE TEMP TABLE fit_tz_runs (setting text, train bigint, holdout bigint);
SET TimeZone = 'UTC';
INSERT INTO fit_tz_runs SELECT DISTINCT 'UTC', train_leads, holdout_leads FROM leadqual.fit('fit_tz');
SET TimeZone = 'America/New_York';
INSERT INTO fit_tz_runs SELECT DISTINCT 'New York', train_leads, holdout_leads FROM leadqual.fit('fit_tz');
SET DateStyle = 'SQL, DMY';
INSERT INTO fit_tz_runs SELECT DISTINCT 'SQL, DMY', train_leads, holdout_leads FROM leadqual.fit('fit_tz');
RESET TimeZone;
RESET DateStyle;
SELECT count(DISTINCT (train, holdout)) AS splits, count(*) AS runs, max(train + holdout) AS leads
  FROM fit_tz_runs;
-- a model that takes events is live too: fit does not overwrite it
CREATE TABLE fit_events (lead_id int, event_type text, occurred_at timestamptz);
ALTER TABLE fit_l ADD COLUMN engagement float8 NOT NULL DEFAULT 0;
UPDATE leadqual.models SET engagement_column = 'engagement' WHERE model = 'fit_l';
SELECT leadqual.attach_events('fit_events', 'lead_id', 'fit_l');
SELECT pg_temp.error_of($$SELECT * FROM leadqual.fit('fit_tz', into_model => 'fit_l')$$);
SELECT leadqual.detach_events('fit_events');
DELETE FROM leadqual.models WHERE model IN ('fit_l', 'fit_tz');
DROP TABLE fit_l, fit_tz, fit_events;

DELETE FROM leadqual.models WHERE model IN ('fs', 'fs_draft', 'fs_live', 'sep', 'gt', 'gt_fitted',
                                            'gt_zero', 'gt_zero_fitted',
                                            'gt_cal', 'cand', 'ct');
DROP TABLE fit_small, fit_attached, fit_sep, gt_leads, gt_test, gt_truth, gt_fit, fit_cand, ct;
DROP TYPE fit_tier;
