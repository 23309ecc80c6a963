-- quality: the score_quality aggregate (conversion rate, exact ROC AUC), its state type,
-- parallel aggregation and the bins variant
SET extra_float_digits = 0;

-- the error a statement raises: its SQLSTATE and detail (else message), or 'ok'
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || coalesce(nullif(detail, ''), SQLERRM);
END $$;

-- the state as the aggregate builds it, for round trips and determinism checks
CREATE AGGREGATE pg_temp.quality_state_of(float8, boolean) (
    SFUNC = leadqual.quality_trans, STYPE = leadqual.quality_state,
    COMBINEFUNC = leadqual.quality_combine, PARALLEL = SAFE);
CREATE AGGREGATE pg_temp.quality_state_of(float8, boolean, integer) (
    SFUNC = leadqual.quality_trans, STYPE = leadqual.quality_state,
    COMBINEFUNC = leadqual.quality_combine, PARALLEL = SAFE);

-- a hand-checked case: positives 1, 3; negatives 2, 3 -> pairs 0 + 0 + 1 + 0.5 = 1.5 of 4
SELECT (leadqual.score_quality(s, c)).*
  FROM (VALUES (1::float8, true), (2, false), (3, true), (3, false),
               (NULL, true), (4, NULL), (NULL, NULL)) v(s, c);

-- edge cases: an empty class gives a NULL auc; all-NULL and empty inputs give 0 leads
SELECT (leadqual.score_quality(s, c)).* FROM (VALUES (1::float8, true), (2, true)) v(s, c);
SELECT (leadqual.score_quality(s, c)).* FROM (VALUES (1::float8, false)) v(s, c);
SELECT (leadqual.score_quality(s, c)).* FROM (VALUES (NULL::float8, true), (1, NULL)) v(s, c);
SELECT (leadqual.score_quality(s, c)).* FROM (VALUES (1::float8, true)) v(s, c) WHERE false;
-- perfect and inverted rankings, a single tie
SELECT (leadqual.score_quality(s, c)).auc FROM (VALUES (1::float8, false), (2, true)) v(s, c);
SELECT (leadqual.score_quality(s, c)).auc FROM (VALUES (1::float8, true), (2, false)) v(s, c);
SELECT (leadqual.score_quality(s, c)).auc FROM (VALUES (5::float8, true), (5, false)) v(s, c);
-- NaN sorts above Infinity (as float8 does); -0 and 0 are one score
SELECT (leadqual.score_quality(s, c)).auc
  FROM (VALUES ('NaN'::float8, true), ('Infinity', false), ('-Infinity', false)) v(s, c);
SELECT (leadqual.score_quality(s, c)).auc FROM (VALUES ('-0'::float8, true), (0, false)) v(s, c);

-- random data with many ties, some NULLs and special values, in three segments
SELECT setseed(0.4242);
CREATE TABLE quality_small (id int, seg int, score float8, converted boolean);
INSERT INTO quality_small
SELECT g, g % 3, s, CASE WHEN random() < 0.02 THEN NULL ELSE random() < 0.1 + s / 50 END
  FROM (SELECT g, CASE WHEN random() < 0.03 THEN NULL
                       ELSE floor(random() * 30)::float8 END AS s
          FROM generate_series(1, 3000) g) x;
INSERT INTO quality_small VALUES
    (3001, 0, 'NaN', true), (3002, 0, 'NaN', false), (3003, 1, 'Infinity', true),
    (3004, 1, '-Infinity', true), (3005, 2, '-Infinity', false), (3006, 2, 'Infinity', false);

-- brute force over every (positive, negative) pair, per segment
CREATE VIEW quality_brute AS
SELECT p.seg,
       avg(CASE WHEN p.score > n.score THEN 1.0 WHEN p.score = n.score THEN 0.5 ELSE 0 END) AS auc
  FROM quality_small p JOIN quality_small n ON n.seg = p.seg
 WHERE p.converted AND NOT n.converted AND p.score IS NOT NULL AND n.score IS NOT NULL
 GROUP BY p.seg;

SELECT q.seg,
       (q.r).leads = c.leads AS leads_ok,
       (q.r).conversions = c.conversions AS conversions_ok,
       (q.r).conversion_rate = c.conversions::float8 / c.leads AS rate_ok,
       abs((q.r).auc - b.auc::float8) < 1e-12 AS auc_ok,
       (q.r).auc > 0.6 AS auc_informative
  FROM (SELECT seg, leadqual.score_quality(score, converted) AS r
          FROM quality_small GROUP BY seg) q
  JOIN (SELECT seg, count(*) AS leads, count(*) FILTER (WHERE converted) AS conversions
          FROM quality_small WHERE score IS NOT NULL AND converted IS NOT NULL
         GROUP BY seg) c USING (seg)
  JOIN quality_brute b USING (seg)
 ORDER BY seg;

-- the same by hash aggregation and by sorted groups
SET enable_hashagg = off;
SELECT seg, abs((leadqual.score_quality(score, converted)).auc - b.auc::float8) < 1e-12 AS auc_ok
  FROM quality_small JOIN quality_brute b USING (seg) GROUP BY seg, b.auc ORDER BY seg;
RESET enable_hashagg;

-- as a running window aggregate (the final function runs between transitions)
SELECT w.id, abs((w.r).auc - (SELECT (leadqual.score_quality(score, converted)).auc
                                FROM quality_small s WHERE s.id <= w.id)) < 1e-12 AS auc_ok,
       (w.r).leads = (SELECT count(*) FROM quality_small s
                       WHERE s.id <= w.id AND score IS NOT NULL AND converted IS NOT NULL) AS leads_ok
  FROM (SELECT id, leadqual.score_quality(score, converted) OVER (ORDER BY id) AS r
          FROM quality_small) w
 WHERE w.id IN (10, 500, 1999, 3006)
 ORDER BY w.id;

-- more distinct scores than are searched per row (4096): duplicates collapse in merges
CREATE TEMP TABLE quality_dup AS
SELECT (g % 6000)::float8 / 7 AS s, (g * 31 % 11) < 4 + (g % 6000) / 1500 AS c
  FROM generate_series(1, 30000) g;
WITH c AS (
    SELECT s, count(*) FILTER (WHERE c) AS p, count(*) FILTER (WHERE NOT c) AS n
      FROM quality_dup GROUP BY s
), w AS (
    SELECT p, n, coalesce(sum(n) OVER (ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING
                                                   AND 1 PRECEDING), 0) AS below
      FROM c
)
SELECT abs((SELECT (leadqual.score_quality(s, c)).auc FROM quality_dup)
           - ((sum(p * below) + sum(p * n) / 2.0) / (sum(p) * sum(n)))::float8) < 1e-12 AS auc_ok,
       (SELECT array_length(regexp_split_to_array(pg_temp.quality_state_of(s, c)::text, ' '), 1) - 3
          FROM quality_dup) AS entries
  FROM w;

-- the state: text round trip, canonical (independent of row order and of splitting)
SELECT pg_temp.quality_state_of(s, c)
  FROM (VALUES (3::float8, true), (1, false), ('NaN', true), (1, true), ('-0', false),
               ('-Infinity', false), (2.5, NULL)) v(s, c);
SELECT leadqual.quality_trans(leadqual.quality_trans(NULL, 2, true), 1, false);
SELECT 'v1 bins=0 exact -1.5:1:2 0:0:1 1e+300:3:0 Infinity:1:1 NaN:0:4'::leadqual.quality_state;
SELECT (leadqual.quality_final('v1 bins=0 exact 1:2:3 4.5:0:1')).*;
SELECT (leadqual.quality_final('v1 bins=0 exact')).*;
SELECT a::text = b::text AS row_order_irrelevant,
       leadqual.quality_combine(o, e)::text = a::text AS combine_ok,
       a::text::leadqual.quality_state::text = a::text AS text_round_trip
  FROM (SELECT pg_temp.quality_state_of(score, converted ORDER BY id) AS a,
               pg_temp.quality_state_of(score, converted ORDER BY id DESC) AS b,
               pg_temp.quality_state_of(score, converted) FILTER (WHERE id % 2 = 1) AS o,
               pg_temp.quality_state_of(score, converted) FILTER (WHERE id % 2 = 0) AS e
          FROM quality_small) x;
SELECT leadqual.quality_combine(NULL, 'v1 bins=0 exact 1:1:0')::text,
       leadqual.quality_combine('v1 bins=0 exact 1:1:0', NULL)::text,
       leadqual.quality_combine('v1 bins=0 exact 1:1:0 2:0:1', 'v1 bins=0 exact 0:1:1 2:1:0')::text;
SELECT leadqual.quality_combine('v1 bins=0 exact 1:1:0', 'v1 bins=4 exact 1:1:0');

-- binary round trip: COPY BINARY uses the type's send and receive functions
SELECT '/tmp/leadqual_quality_' || pg_backend_pid() || '.bin' AS state_file \gset
CREATE TABLE quality_states (s leadqual.quality_state);
COPY (SELECT 'v1 bins=0 exact -Infinity:1:2 0.1:0:1 NaN:5:0'::leadqual.quality_state
      UNION ALL SELECT 'v1 bins=8 k=-2 0.25:1:0 1.5:0:3'::leadqual.quality_state)
  TO :'state_file' (FORMAT binary);
COPY quality_states FROM :'state_file' (FORMAT binary);
SELECT s FROM quality_states;
-- receive checks its input: a wrong version, entries out of order
COPY (SELECT '\x02000000000000000000000000'::bytea) TO :'state_file' (FORMAT binary);
COPY quality_states FROM :'state_file' (FORMAT binary);
COPY (SELECT '\x0100000000000000000000000200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001'::bytea)
  TO :'state_file' (FORMAT binary);
COPY quality_states FROM :'state_file' (FORMAT binary);
-- (scores 2 then 1)
COPY (SELECT ('\x0100' || '00000000' || '00000000' || '00000002'
              || '4000000000000000' || '0000000000000001' || '0000000000000000'
              || '3ff0000000000000' || '0000000000000000' || '0000000000000001')::bytea)
  TO :'state_file' (FORMAT binary);
COPY quality_states FROM :'state_file' (FORMAT binary);
SELECT count(*) FROM quality_states;
-- the server wrote the file: the server removes it
DO $$ BEGIN
    EXECUTE format('COPY (SELECT 1 WHERE false) TO PROGRAM %L',
                   'rm -f /tmp/leadqual_quality_' || pg_backend_pid() || '.bin');
END $$;

-- malformed text: each is a clear error with SQLSTATE 22P02
SELECT 'nonsense'::leadqual.quality_state;
SELECT 'v1 bins=0 exact 2:1:0 1:0:1'::leadqual.quality_state;
SELECT t, pg_temp.error_of(format('SELECT %L::leadqual.quality_state', t))
  FROM (VALUES (''), ('v2 bins=0 exact'), ('v1'), ('v1 bins=0'), ('v1 bins=1 exact'),
               ('v1 bins=0 k=3'), ('v1 bins=0 exact 1:1'), ('v1 bins=0 exact 1:-1:2'),
               ('v1 bins=0 exact 1:0:0'), ('v1 bins=0 exact abc:1:0'), ('v1 bins=0 exact 1:1:0,'),
               ('v1 bins=0 exact 1:1:0 1:0:1'), ('v1 bins=0 exact -0:1:0'),
               ('v1 bins=2 exact 1:1:0 2:1:0 3:1:0'), ('v1 bins=4 k=0 1:1:0 1.5:0:1'),
               ('v1 bins=0 exact 1:9223372036854775807:0 2:1:0'),
               ('v1 bins=0 exact 1:99999999999999999999:0')) v(t);

-- the bins variant: exact while distinct finite scores (30 here) <= bins; NaN and the
-- infinities keep bins of their own
SELECT count(DISTINCT score) FILTER (WHERE score > '-Infinity' AND score < 'Infinity') AS distinct_finite,
       (leadqual.score_quality(score, converted, 30)) = (leadqual.score_quality(score, converted))
       AS exact_at_30_bins,
       (leadqual.score_quality(score, converted, 40)) = (leadqual.score_quality(score, converted))
       AS exact_at_40_bins,
       (leadqual.score_quality(score, converted, 29)).auc <> (leadqual.score_quality(score, converted)).auc
       AS approximate_at_29_bins
  FROM quality_small;
-- ... and close to exact on scores with many distinct values; bounded state
CREATE TABLE quality_many AS
SELECT g AS id, s AS score, random() < 0.05 + 0.9 * s AS converted
  FROM (SELECT g, random() AS s FROM generate_series(1, 20000) g) x;
INSERT INTO quality_many VALUES (20001, 'Infinity', false), (20002, 'NaN', true);
SELECT abs((leadqual.score_quality(score, converted, 1000)).auc
           - (leadqual.score_quality(score, converted)).auc) < 0.001 AS close_1000,
       abs((leadqual.score_quality(score, converted, 50)).auc
           - (leadqual.score_quality(score, converted)).auc) < 0.01 AS close_50,
       (leadqual.score_quality(score, converted, 50)).leads
           = (leadqual.score_quality(score, converted)).leads AS leads_same
  FROM quality_many;
SELECT array_length(regexp_split_to_array(pg_temp.quality_state_of(score, converted, 50)::text, ' '), 1) - 3
       AS entries_at_50_bins
  FROM quality_many;
-- bins of width 2^k, the smallest that covers [min, max] in 8 bins: here 2^-2 = 0.25
SELECT pg_temp.quality_state_of(s, s > 0.5, 8)
  FROM (SELECT g / 10.0 AS s FROM generate_series(0, 10) g) x;
SELECT pg_temp.quality_state_of(s, c, 8 ORDER BY o)::text
       = pg_temp.quality_state_of(s, c, 8 ORDER BY -o)::text AS binned_order_irrelevant
  FROM (SELECT g AS o, (g * 7919 % 1000) / 3.0 AS s, g % 3 = 0 AS c
          FROM generate_series(1, 1000) g) x;
-- extreme ranges bin without overflow
SELECT (leadqual.score_quality(s, c, 2)).*, pg_temp.quality_state_of(s, c, 2)
  FROM (VALUES (-1e308::float8, true), (-1e-300, false), (1e-300, true), (1e308, false),
               (5, true)) v(s, c);
SELECT (leadqual.score_quality(s, c, 4)).auc, pg_temp.quality_state_of(s, c, 4)
  FROM (VALUES (1::float8, false), (1 + 2e-16, false), (1 + 4e-16, true), (1 + 7e-16, true),
               (1 + 9e-16, true)) v(s, c);
-- bins must be sane and the same on every row
SELECT leadqual.score_quality(1, true, 1);
SELECT leadqual.score_quality(1, true, NULL);
SELECT leadqual.score_quality(1, true, 2000000);
SELECT leadqual.score_quality(g, true, 2 + g) FROM generate_series(1, 3) g;

-- parallel aggregation, forced
CREATE TABLE quality_big AS
SELECT g AS id, g % 4 AS seg,
       CASE WHEN g % 97 = 0 THEN NULL ELSE floor(random() * 1000) / 10 END AS score,
       random() < 0.3 AS converted
  FROM generate_series(1, 100000) g;
UPDATE quality_big SET converted = random() < score / 100 WHERE id % 5 = 0;
ANALYZE quality_big;
-- exact AUC from counts per distinct score (numeric arithmetic)
-- per segment, and for all rows as segment -1
CREATE VIEW quality_big_expected AS
WITH c AS (
    SELECT seg, score, count(*) FILTER (WHERE converted) AS p, count(*) FILTER (WHERE NOT converted) AS n
      FROM (SELECT seg, score, converted FROM quality_big
            UNION ALL SELECT -1, score, converted FROM quality_big) b
     WHERE score IS NOT NULL AND converted IS NOT NULL GROUP BY seg, score
), w AS (
    SELECT seg, p, n, coalesce(sum(n) OVER (PARTITION BY seg ORDER BY score
                                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS below
      FROM c
)
SELECT seg, sum(p + n) AS leads, (sum(p * below) + sum(p * n) / 2.0) / (sum(p) * sum(n)) AS auc
  FROM w GROUP BY seg;

CREATE TEMP TABLE quality_serial AS
SELECT seg, leadqual.score_quality(score, converted) AS r,
       pg_temp.quality_state_of(score, converted, 64)::text AS binned
  FROM quality_big GROUP BY seg;
CREATE TEMP TABLE quality_serial_all AS
SELECT leadqual.score_quality(score, converted) AS r,
       pg_temp.quality_state_of(score, converted, 64)::text AS binned
  FROM quality_big;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT leadqual.score_quality(score, converted), pg_temp.quality_state_of(score, converted, 64)
  FROM quality_big;
SELECT abs((p.r).auc - e.auc::float8) < 1e-12 AS auc_ok,
       (p.r).leads = e.leads AS leads_ok,
       p.r = s.r AS same_as_serial,
       p.binned = s.binned AS same_binned_state_as_serial
  FROM (SELECT leadqual.score_quality(score, converted) AS r,
               pg_temp.quality_state_of(score, converted, 64)::text AS binned
          FROM quality_big) p,
       quality_big_expected e, quality_serial_all s
 WHERE e.seg = -1;
EXPLAIN (COSTS OFF)
SELECT seg, leadqual.score_quality(score, converted) FROM quality_big GROUP BY seg;
SELECT p.seg, abs((p.r).auc - e.auc::float8) < 1e-12 AS auc_ok, (p.r).leads = e.leads AS leads_ok,
       p.r = s.r AS same_as_serial, p.binned = s.binned AS same_binned_state_as_serial
  FROM (SELECT seg, leadqual.score_quality(score, converted) AS r,
               pg_temp.quality_state_of(score, converted, 64)::text AS binned
          FROM quality_big GROUP BY seg) p
  JOIN quality_big_expected e USING (seg)
  JOIN quality_serial s USING (seg)
 ORDER BY p.seg;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- many small partial states combined into one (Citus' many shards; they are appended and
-- merged in bulk): the same state as one aggregate over all rows, exact scores shared
-- across states, -0, infinities and NaN among them, in either order of combining
CREATE AGGREGATE pg_temp.quality_combined(leadqual.quality_state) (
    SFUNC = leadqual.quality_combine, STYPE = leadqual.quality_state);
CREATE TEMP TABLE quality_parts AS
SELECT g AS id, g % 300 AS part,
       CASE WHEN g % 97 = 0 THEN 'NaN'::float8 WHEN g % 89 = 0 THEN '-Infinity'
            WHEN g % 83 = 0 THEN 'Infinity' WHEN g % 79 = 0 THEN '-0'
            WHEN g % 2 = 0 THEN (g % 1000)::float8 ELSE g / 7.0 END AS score,
       g % 3 = 0 AS converted
  FROM generate_series(1, 30000) g;
SELECT c.fwd::text = a.all_rows::text AS combined_same, c.rev::text = a.all_rows::text AS reversed_same,
       (leadqual.quality_final(c.fwd)).leads AS leads, (leadqual.quality_final(c.fwd)).auc = (leadqual.quality_final(a.all_rows)).auc AS auc_same
  FROM (SELECT pg_temp.quality_combined(st ORDER BY part) AS fwd,
               pg_temp.quality_combined(st ORDER BY part DESC) AS rev
          FROM (SELECT part, pg_temp.quality_state_of(score, converted) AS st
                  FROM quality_parts GROUP BY part) p) c,
       (SELECT pg_temp.quality_state_of(score, converted) AS all_rows FROM quality_parts) a;
DROP TABLE quality_parts;

DROP TABLE quality_small, quality_many, quality_big, quality_states CASCADE;
