-- gains: equal-count score bands from the top, ties never split, shares cumulative
SET extra_float_digits = 0;

CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- 3,000 leads in three segments, scores with many ties, NULL scores and NULL outcomes
CREATE TABLE gains_leads (id int PRIMARY KEY, seg text, score float8, converted boolean);
INSERT INTO gains_leads
SELECT g, (ARRAY['fair', 'web', 'referral'])[1 + g % 3],
       CASE WHEN g % 53 = 0 THEN NULL WHEN g % 11 = 0 THEN 40 ELSE (g * 7919 % 23) * 2.5 END,
       CASE WHEN g % 37 = 0 THEN NULL ELSE (g * 104729 % 100) < 10 + (g * 7919 % 23) * 2 END
  FROM generate_series(1, 3000) g;

-- the bands in plain SQL: a lead's band is the one an equal-count split from the top gives
-- the first lead of its tie (rank - 1 leads above it); empty bands are dropped
CREATE FUNCTION pg_temp.sql_gains(buckets int, segment text)
RETURNS leadqual.gains_band[] LANGUAGE sql AS $$
    WITH c AS (
        SELECT score, converted FROM gains_leads
         WHERE score IS NOT NULL AND converted IS NOT NULL
           AND (segment IS NULL OR seg = segment)
    ), r AS (
        SELECT score, converted,
               ((rank() OVER (ORDER BY score DESC) - 1) * buckets) / count(*) OVER () AS raw
          FROM c
    ), b AS (
        SELECT dense_rank() OVER (ORDER BY raw) AS band, min(score) AS min_score,
               count(*) AS leads, count(*) FILTER (WHERE converted) AS conv
          FROM r GROUP BY raw
    ), t AS (SELECT count(*) AS n, count(*) FILTER (WHERE converted) AS conv FROM c
    ), cum AS (
        SELECT b.*, sum(b.leads) OVER (ORDER BY b.band) AS cum_leads,
               sum(b.conv) OVER (ORDER BY b.band) AS cum_conv
          FROM b
    )
    SELECT array_agg(ROW(cum.band::int, cum.min_score, cum.leads,
                         cum.cum_leads::float8 / t.n, cum.conv,
                         cum.cum_conv::float8 / nullif(t.conv, 0),
                         cum.conv::float8 / cum.leads,
                         (cum.conv::float8 / cum.leads) / nullif(t.conv::float8 / t.n, 0)
                        )::leadqual.gains_band ORDER BY cum.band)
      FROM cum, t
$$;

-- the bands for every number of buckets agree with plain SQL (shares to 1e-12)
CREATE FUNCTION pg_temp.same(a leadqual.gains_band[], b leadqual.gains_band[]) RETURNS boolean
LANGUAGE sql AS $$
    SELECT cardinality(a) = cardinality(b) AND bool_and(
               x.band = y.band AND x.min_score = y.min_score AND x.leads = y.leads
               AND x.conversions = y.conversions
               AND abs(x.lead_share - y.lead_share) < 1e-12
               AND abs(x.capture - y.capture) < 1e-12
               AND abs(x.conversion_rate - y.conversion_rate) < 1e-12
               AND abs(x.lift - y.lift) < 1e-12)
      FROM unnest(a) WITH ORDINALITY x(band, min_score, leads, lead_share, conversions, capture, conversion_rate, lift, i)
      JOIN unnest(b) WITH ORDINALITY y(band, min_score, leads, lead_share, conversions, capture, conversion_rate, lift, i)
        USING (i)
$$;
SET max_parallel_workers_per_gather = 0;
SELECT k AS buckets, cardinality(leadqual.gains(score, converted, k)) AS bands,
       pg_temp.same(leadqual.gains(score, converted, k), pg_temp.sql_gains(k, NULL::text)) AS same_as_sql
  FROM gains_leads, (VALUES (1), (3), (4), (10), (25), (1000)) v(k)
 GROUP BY k ORDER BY k;
-- ten bands by default
SELECT pg_temp.same(leadqual.gains(score, converted), pg_temp.sql_gains(10, NULL::text)) AS default_ten
  FROM gains_leads;
-- what the bands look like: ties (273 leads score 40) make bands unequal
SELECT (b).band, (b).min_score, (b).leads, round((b).lead_share::numeric, 4) AS lead_share,
       (b).conversions, round((b).capture::numeric, 4) AS capture,
       round((b).conversion_rate::numeric, 4) AS rate, round((b).lift::numeric, 3) AS lift
  FROM (SELECT unnest(leadqual.gains(score, converted, 5)) AS b FROM gains_leads) x
 ORDER BY (b).band;
-- cumulative shares end at 1
SELECT (g[cardinality(g)]).lead_share = 1 AS all_leads, (g[cardinality(g)]).capture = 1 AS all_conversions
  FROM (SELECT leadqual.gains(score, converted, 7) AS g FROM gains_leads) x;

-- GROUP BY segment
SELECT seg, cardinality(leadqual.gains(score, converted, 4)) AS bands,
       pg_temp.same(leadqual.gains(score, converted, 4), pg_temp.sql_gains(4, seg)) AS same_as_sql
  FROM gains_leads GROUP BY seg ORDER BY seg COLLATE "C";

-- parallel: partial states combined give the serial result
ALTER TABLE gains_leads SET (parallel_workers = 2);
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT leadqual.gains(score, converted, 10) FROM gains_leads;
EXPLAIN (COSTS OFF) SELECT seg, leadqual.gains(score, converted, 4) FROM gains_leads GROUP BY seg;
SELECT pg_temp.same(leadqual.gains(score, converted, 10), pg_temp.sql_gains(10, NULL::text)) AS parallel_same
  FROM gains_leads;
SELECT seg, pg_temp.same(leadqual.gains(score, converted, 4), pg_temp.sql_gains(4, seg)) AS parallel_same
  FROM gains_leads GROUP BY seg ORDER BY seg COLLATE "C";
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- the state: score_quality's histogram with the number of bands; text and binary I/O
CREATE AGGREGATE pg_temp.gains_state_of(float8, boolean, integer) (
    SFUNC = leadqual.gains_trans, STYPE = leadqual.quality_state);
SELECT pg_temp.gains_state_of(s, c, 3)::text
  FROM (VALUES (2::float8, true), (1, false), (2, false), (NULL, true), (5, NULL), ('-0', true)) v(s, c);
SELECT leadqual.gains_final('v1 bins=0 buckets=2 exact 0:1:0 1:0:1 2:1:1');
SELECT pg_temp.error_of($$SELECT 'v1 bins=4 buckets=2 exact'::leadqual.quality_state$$);
SELECT pg_temp.error_of($$SELECT 'v1 bins=0 buckets=0 exact'::leadqual.quality_state$$);
SELECT x::text::leadqual.quality_state::text = x::text AS text_round_trip,
       leadqual.gains_final(x::text::leadqual.quality_state) = leadqual.gains_final(x) AS same_bands
  FROM (SELECT pg_temp.gains_state_of(score, converted, 6) AS x FROM gains_leads) s;
-- binary round trip (COPY BINARY: send and receive); the buckets survive
-- (a file in the data directory: the server writes and removes it)
SELECT current_setting('data_directory') || '/leadqual_gains_' || pg_backend_pid() || '.bin' AS state_file \gset
CREATE TABLE gains_states (s leadqual.quality_state);
COPY (SELECT pg_temp.gains_state_of(score, converted, 6) FROM gains_leads
      UNION ALL SELECT 'v1 bins=0 exact 1:1:0'::leadqual.quality_state)
  TO :'state_file' (FORMAT binary);
COPY gains_states FROM :'state_file' (FORMAT binary);
SELECT bool_or(s::text = (SELECT pg_temp.gains_state_of(score, converted, 6)::text FROM gains_leads))
           AS gains_state_back,
       bool_or(s::text = 'v1 bins=0 exact 1:1:0') AS quality_state_back
  FROM gains_states;
DO $$ BEGIN
    EXECUTE format('COPY (SELECT 1 WHERE false) TO PROGRAM %L',
                   'rm -f ' || current_setting('data_directory') || '/leadqual_gains_' || pg_backend_pid() || '.bin');
END $$;
DROP TABLE gains_states;
-- combining states of different bands is refused
SELECT pg_temp.error_of($$SELECT leadqual.quality_combine('v1 bins=0 buckets=2 exact 1:1:0',
                                                          'v1 bins=0 buckets=3 exact 1:1:0')$$);
SELECT pg_temp.error_of($$SELECT leadqual.quality_combine('v1 bins=0 exact 1:1:0',
                                                          'v1 bins=0 buckets=3 exact 1:1:0')$$);

-- no counted row, no band; bad bucket counts
SELECT leadqual.gains(score, converted, 3) FROM gains_leads WHERE score IS NULL;
SELECT leadqual.gains(score, converted, 3) FROM gains_leads WHERE false;
SELECT pg_temp.error_of($$SELECT leadqual.gains(score, converted, 0) FROM gains_leads$$);
SELECT pg_temp.error_of($$SELECT leadqual.gains(score, converted, NULL) FROM gains_leads$$);
SELECT pg_temp.error_of($$SELECT leadqual.gains(score, converted, 1 + id % 2) FROM gains_leads$$);
-- more bands than leads: one band per distinct score
SELECT cardinality(leadqual.gains(s, c, 100)) AS bands
  FROM (VALUES (1::float8, true), (2, false), (2, true), (3, false)) v(s, c);
-- NaN ranks above every number, as float8 sorts; infinities are scores like any other
SELECT (g[1]).min_score AS top, (g[cardinality(g)]).min_score AS bottom
  FROM (SELECT leadqual.gains(s, c, 4) AS g
          FROM (VALUES ('NaN'::float8, true), ('Infinity', false), (1, true), ('-Infinity', false)) v(s, c)) x;

-- a state is text anyone can write: counts near bigint's limit stay within the bands asked
-- for (the last band took one past them), and a score_quality state is refused (22023)
SELECT cardinality(leadqual.gains_final(
    'v1 bins=0 buckets=2 exact 1:0:1 2:0:4611686018427387902 3:0:4611686018427387904'::leadqual.quality_state))
    AS bands;
SELECT leadqual.gains_final('v1 bins=0 exact 1:1:0'::leadqual.quality_state);

DROP TABLE gains_leads;
