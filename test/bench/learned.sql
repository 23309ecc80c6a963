-- test/bench/learned.sql — what fit and gains cost next to the scans they replace.
--
--   psql -X -d DB -v n=1000000 -f test/bench/learned.sql
--
-- Runs after generate.sql and rules.sql (run.sh): the n benchmark leads (public.bench_leads)
-- and the 20-rule model "bench" (19 rules fitted, one knockout).  fit is one scan that
-- evaluates every lead's rules, then Newton steps on the rule-hit patterns: it is measured
-- against scoring every lead once, sum(leadqual.score(l)) (target: at most 2x).  gains
-- builds an exact histogram of the scores: it is measured against avg(converted::int) on
-- the same rows (target: at most 2x).  Each query runs 3 times; the best time counts.
-- Parallel query is off so that both sides of a ratio use one core.
\ir preamble.psql

DELETE FROM leadqual.models WHERE model = 'bench_fitted';
DROP TABLE IF EXISTS public.bench_learned_scored;

\echo == fit (19 fitted rules, holdout 0.3) vs scoring every lead once
SELECT :n AS leads,
       round(f::numeric, 0) AS fit_ms,
       round(s::numeric, 0) AS sum_score_ms,
       round((f / s)::numeric, 2) AS ratio,
       f / s <= 2 AS within_target
  FROM (SELECT public.bench_ms($$SELECT count(*) FROM leadqual.fit('bench')$$, 3) AS f,
               public.bench_ms($$SELECT sum(leadqual.score(l, 'bench')) FROM public.bench_leads l$$, 3) AS s) t;

\echo == the fit: coefficients, suggested points, AUC before and after (train / holdout)
SELECT name, points, round(coefficient::numeric, 3) AS coefficient,
       round(std_error::numeric, 3) AS std_error, suggested_points
  FROM leadqual.fit('bench') ORDER BY rule_id;
SELECT DISTINCT train_leads, holdout_leads, iterations,
       round(auc_train_current::numeric, 4) AS auc_train_current,
       round(auc_train_fitted::numeric, 4) AS auc_train_fitted,
       round(auc_holdout_current::numeric, 4) AS auc_holdout_current,
       round(auc_holdout_fitted::numeric, 4) AS auc_holdout_fitted,
       mql_threshold, suggested_mql_threshold
  FROM leadqual.fit('bench');

\echo == gains (10 bands) vs avg(converted::int), on the same scored leads
CREATE TABLE public.bench_learned_scored AS
SELECT leadqual.score(l, 'bench') AS score, l.converted FROM public.bench_leads l;
VACUUM (FREEZE, ANALYZE) public.bench_learned_scored;
SELECT :n AS leads,
       round(g::numeric, 0) AS gains_ms,
       round(a::numeric, 0) AS avg_ms,
       round((g / a)::numeric, 2) AS ratio,
       g / a <= 2 AS within_target
  FROM (SELECT public.bench_ms($$SELECT leadqual.gains(score, converted) FROM public.bench_learned_scored$$, 3) AS g,
               public.bench_ms($$SELECT avg(converted::int) FROM public.bench_learned_scored$$, 3) AS a) t;

DROP TABLE public.bench_learned_scored;
