-- test/bench/rules.sql — the scoring models of the benchmark.
--   bench      the 20 classic rules (alternatives.sql states the same rules by hand)
--   bench1000  the same 20 plus 980 eq/in rules on company, country, industry, source
-- Values are literals of the column's type, as rule validation demands, written the way
-- the type prints them (array literals quote only what needs quotes).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

DELETE FROM leadqual.models WHERE model IN ('bench', 'bench1000');

INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, description)
VALUES ('bench', 'public.bench_leads', 50, 10, 'benchmark: 20 classic rules'),
       ('bench1000', 'public.bench_leads', 50, 10, 'benchmark: 1,000 rules');

-- Points are multiples of 0.5, so float8 sums are exact in any order.
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout)
SELECT m.model, c.name, c.category, c.attribute, c.op, c.value, c.points, c.knockout
FROM (VALUES (1, 'bench'), (2, 'bench1000')) AS m(o, model),
(VALUES
 ( 1, 'title head of',      'fit',    'job_title',           'ilike',    '%head of%',        10::float8, false),
 ( 2, 'title director',     'fit',    'job_title',           'ilike',    '%director%',        8,   false),
 ( 3, 'title vp',           'fit',    'job_title',           'ilike',    '%vp%',              8,   false),
 ( 4, 'title chief',        'fit',    'job_title',           'ilike',    '%chief%',          12,   false),
 ( 5, 'target industry',    'fit',    'industry',            'in',       '{Software,"Financial Services",Manufacturing,Healthcare}', 10, false),
 ( 6, 'weak industry',      'fit',    'industry',            'in',       '{Education,"Public Sector"}', -5, false),
 ( 7, 'dach',               'fit',    'country',             'in',       '{DE,AT,CH}',       10,   false),
 ( 8, 'outside delivery',   'fit',    'country',             'not_in',   '{DE,AT,CH,FR,NL,BE,LU,DK,SE,NO,FI,GB,IE,ES,IT,PL,US,CA}', -15, false),
 ( 9, 'company size',       'fit',    'employees',           'between',  '{50,5000}',        10,   false),
 (10, 'revenue band',       'fit',    'annual_revenue',      'between',  '{1000000,250000000.50}', 7.5, false),
 (11, 'free mail',          'fit',    'email',               'regex',    '@(gmail|yahoo|hotmail|gmx|web|outlook)\.', -10, false),
 (12, 'budget',             'intent', 'budget_confirmed',    'eq',       'true',             10,   false),
 (13, 'authority',          'intent', 'authority_confirmed', 'eq',       'true',              8,   false),
 (14, 'need',               'intent', 'need_confirmed',      'eq',       'true',              8,   false),
 (15, 'timeline',           'intent', 'timeline_confirmed',  'eq',       'true',              6,   false),
 (16, 'timeline known',     'intent', 'timeline_days',       'not_null', NULL,                2.5, false),
 (17, 'timeline unknown',   'intent', 'timeline_days',       'is_null',  NULL,               -2,   false),
 (18, 'buying soon',        'intent', 'timeline_days',       'le',       '90',                5,   false),
 (19, 'recent lead',        'intent', 'created_at',          'ge',       '2026-01-01 00:00:00+00', 5, false),
 (20, 'no students',        'fit',    'job_title',           'iregex',   '(intern|student)', -30,  true)
) AS c(ord, name, category, attribute, op, value, points, knockout)
ORDER BY m.o, c.ord;

-- 980 more for bench1000, interleaved as a user would add them over time:
-- 600 named accounts (company eq), 180 country eq, 100 industry in, 100 source eq/in.
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points)
SELECT 'bench1000', 'extra ' || k, kind.category, kind.attribute, kind.op, kind.value,
       ((public.bench_u(k, 101) * 40)::int - 15) / 2.0
FROM pg_catalog.generate_series(1, 980) AS k,
LATERAL (
    SELECT CASE WHEN k % 49 < 30 THEN 'company' WHEN k % 49 < 39 THEN 'country'
                WHEN k % 49 < 44 THEN 'industry' ELSE 'source' END AS attribute
) AS a,
LATERAL (
    SELECT CASE WHEN a.attribute = 'source' THEN 'intent' ELSE 'fit' END AS category,
           a.attribute,
           CASE WHEN a.attribute IN ('company', 'country') OR k % 2 = 0 THEN 'eq' ELSE 'in' END AS op,
           CASE a.attribute
           WHEN 'company' THEN public.bench_company((public.bench_u(k, 102) * 20000)::int)
           WHEN 'country' THEN (ARRAY['DE', 'US', 'GB', 'FR', 'NL', 'AT', 'CH', 'SE', 'ES', 'IT', 'PL',
                                      'BE', 'DK', 'NO', 'FI', 'IE', 'CA', 'AU', 'IN', 'BR'])[1 + k % 20]
           WHEN 'industry' THEN CASE WHEN k % 2 = 0
                     THEN (ARRAY['Software', 'Retail', 'Energy', 'Media', 'Logistics'])[1 + k % 5]
                     ELSE ARRAY[(ARRAY['Software', 'Retail', 'Energy', 'Media', 'Logistics'])[1 + k % 5],
                                (ARRAY['Financial Services', 'Public Sector', 'Healthcare',
                                       'Telecommunications'])[1 + k % 4]]::text
                END
           ELSE CASE WHEN k % 2 = 0
                     THEN (ARRAY['webinar', 'referral', 'trade_fair', 'partner', 'organic'])[1 + k % 5]
                     ELSE ARRAY[(ARRAY['paid_search', 'cold_outbound', 'content_download'])[1 + k % 3],
                                (ARRAY['webinar', 'trade_fair'])[1 + k % 2]]::text
                END
           END AS value
) AS kind
ORDER BY k;

SELECT model, count(*) AS rules, count(DISTINCT op) AS ops
FROM leadqual.rules WHERE model IN ('bench', 'bench1000') GROUP BY model ORDER BY model;
