-- parallel: scoring runs in parallel workers and gives the serial result
SET client_min_messages = warning;
CREATE TABLE par_leads AS
SELECT g AS id,
       (ARRAY['CTO', 'Head of Engineering', 'intern', 'Größe', NULL])[1 + g % 5] AS title,
       (g * 7919) % 10000 AS employees,
       (ARRAY['DE', 'AT', 'CH', 'US', 'FR', NULL])[1 + g % 6] AS country,
       DATE '2026-01-01' + (g % 400) AS created
  FROM generate_series(1, 100000) g;
ANALYZE par_leads;
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('par', 'par_leads', 10);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
    ('par', 'head', 'title', 'ilike', 'head%', 10),
    ('par', 'cto', 'title', 'regex', '^C', 7),
    ('par', 'size', 'employees', 'between', '{50,5000}', 5),
    ('par', 'dach', 'country', 'in', '{DE,AT,CH,LI}', 3),
    ('par', 'far', 'country', 'not_in', '{DE,AT,CH,FR}', -4),
    ('par', 'recent', 'created', 'ge', '2026-06-01', 1.5),
    ('par', 'no title', 'title', 'is_null', NULL, -1);

SET max_parallel_workers_per_gather = 0;
SELECT sum(leadqual.score(l, 'par')) AS serial_sum,
       count(*) FILTER (WHERE leadqual.classify(l, 'par') = 'mql') AS serial_mql
  FROM par_leads l \gset
SELECT :serial_sum AS serial_sum, :serial_mql AS serial_mql;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT sum(leadqual.score(l, 'par')), count(*) FILTER (WHERE leadqual.classify(l, 'par') = 'mql')
  FROM par_leads l;
SELECT sum(leadqual.score(l, 'par')) = :serial_sum AS same_sum,
       count(*) FILTER (WHERE leadqual.classify(l, 'par') = 'mql') = :serial_mql AS same_mql
  FROM par_leads l;
-- explain in workers
SELECT sum(e.points) = :serial_sum AS explain_same_sum
  FROM par_leads l, leadqual.explain(l, 'par') e;

-- a rule change is seen by the workers of the next statement
UPDATE leadqual.rules SET points = 100 WHERE model = 'par' AND name = 'cto';
SELECT sum(leadqual.score(l, 'par')) - :serial_sum AS difference FROM par_leads l;
SELECT 93 * count(*) AS expected_difference FROM par_leads WHERE title ~ '^C';

RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DELETE FROM leadqual.models WHERE model = 'par';
DROP TABLE par_leads;
