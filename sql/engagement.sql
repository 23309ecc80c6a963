-- engagement: the decayed, capped engagement aggregate, its state type, and the
-- validation of leadqual.event_rules
CREATE TABLE eng_leads (id int PRIMARY KEY, engagement float8);
INSERT INTO leadqual.models (model, lead_table, engagement_column, half_life)
VALUES ('eng', 'eng_leads', 'engagement', '10 days'),
       ('eng_nodecay', 'eng_leads', 'engagement', NULL),
       ('eng_norules', 'eng_leads', 'engagement', '1 day');
INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life) VALUES
    ('eng', 'visit', 5, 20, NULL),          -- model half-life (10 days), capped at +20
    ('eng', 'demo', 30, NULL, '1 day'),     -- own half-life, no cap
    ('eng', 'unsub', -10, -15, NULL),       -- negative points, capped at -15
    ('eng', 'webinar', 8, NULL, '1 mon'),   -- a month counts 30 days
    ('eng_nodecay', 'visit', 5, NULL, NULL),
    ('eng_nodecay', 'demo', 30, NULL, '2 days');

-- Runs a statement and returns its SQLSTATE and message (or 'ok').
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- An event exactly one half-life old is worth half its points.
SELECT abs(leadqual.engagement(t, at, 'eng', '2026-01-11') - 2.5) < 1e-9 AS visit_half,
       abs(leadqual.engagement(t, at, 'eng', '2026-01-02') - 5 * 0.5 ^ 0.1) < 1e-9 AS visit_tenth
FROM (VALUES ('visit', '2026-01-01'::timestamptz)) v(t, at);
SELECT abs(leadqual.engagement(t, at, 'eng', '2026-01-03') - 7.5) < 1e-9 AS demo_two_halvings,
       abs(leadqual.engagement(t, at, 'eng', '2026-01-01 12:00') - 30 * sqrt(0.5)) < 1e-9 AS demo_half_day
FROM (VALUES ('demo', '2026-01-01'::timestamptz)) v(t, at);
SELECT abs(leadqual.engagement('webinar', '2026-01-01', 'eng', '2026-01-31') - 4) < 1e-9 AS webinar_month;
-- An event at as_of is worth its full points; one after as_of nothing.
SELECT leadqual.engagement(t, at, 'eng', '2026-01-01') AS at_as_of
FROM (VALUES ('visit', '2026-01-01'::timestamptz), ('visit', '2026-01-01 00:00:00.000001'),
             ('demo', '2027-01-01')) v(t, at);
-- Unknown types, NULL types and NULL times add nothing.
SELECT leadqual.engagement(t, at, 'eng', '2026-01-01') AS known_only
FROM (VALUES ('visit', '2026-01-01'::timestamptz), ('nope', '2026-01-01'), ('Visit', '2026-01-01'),
             (NULL, '2026-01-01'), ('visit', NULL)) v(t, at);
SELECT leadqual.engagement(t, at, 'eng', '2026-01-01') AS nothing_known
FROM (VALUES ('nope', '2026-01-01'::timestamptz), (NULL, NULL)) v(t, at);
SELECT leadqual.engagement(t, at, 'eng_norules', '2026-01-01') AS model_without_rules
FROM (VALUES ('visit', '2026-01-01'::timestamptz)) v(t, at);
-- No input rows: NULL, as for sum().
SELECT leadqual.engagement(t, at, 'eng', '2026-01-01') AS no_rows
FROM (VALUES ('visit', '2026-01-01'::timestamptz)) v(t, at) WHERE false;

-- Caps: ten fresh visits are 50 points, capped at 20; three unsubscribes are -30,
-- capped at -15; the caps bound each type, not the total.
SELECT leadqual.engagement('visit', '2026-01-01', 'eng', '2026-01-01') AS visits_capped
FROM generate_series(1, 10);
SELECT leadqual.engagement('unsub', '2026-01-01', 'eng', '2026-01-01') AS unsubs_capped
FROM generate_series(1, 3);
SELECT leadqual.engagement(t, '2026-01-01', 'eng', '2026-01-01') AS mixed
FROM (VALUES ('visit'), ('visit'), ('visit'), ('visit'), ('visit'), ('unsub'), ('unsub'),
             ('demo'), ('demo')) v(t);
-- Caps apply to decayed totals: five visits one half-life old are 12.5 (under the cap).
SELECT abs(leadqual.engagement('visit', '2026-01-01', 'eng', '2026-01-11') - 12.5) < 1e-9 AS decayed_under_cap
FROM generate_series(1, 5);
-- A single unsubscribe stays at -10 (the negative cap only bounds from below).
SELECT leadqual.engagement('unsub', '2026-01-01', 'eng', '2026-01-01') AS one_unsub;

-- No half-life anywhere: no decay; a type's own half-life still decays it.
SELECT leadqual.engagement('visit', '2000-01-01', 'eng_nodecay', '2026-01-01') AS visit_no_decay;
SELECT abs(leadqual.engagement('demo', '2025-12-30', 'eng_nodecay', '2026-01-01') - 15) < 1e-9 AS demo_own_half_life;
-- Events at -infinity decay to nothing, or count fully without decay.
SELECT leadqual.engagement('visit', '-infinity', 'eng', '2026-01-01') AS minus_infinity_decayed,
       leadqual.engagement('visit', '-infinity', 'eng_nodecay', '2026-01-01') AS minus_infinity_kept;

-- The 3-argument form uses now(), the transaction's timestamp.
BEGIN;
SELECT leadqual.engagement(t, at, 'eng') = leadqual.engagement(t, at, 'eng', now()) AS now_default
FROM (VALUES ('visit', now() - interval '3 days'), ('demo', now() - interval '5 hours'),
             ('webinar', now() + interval '1 day')) v(t, at);
COMMIT;

-- Groups: each group has its own model and as_of.
SELECT g, leadqual.engagement('visit', '2026-01-01', m, a) AS e
FROM (VALUES (1, 'eng', '2026-01-11'::timestamptz), (2, 'eng_nodecay', '2026-01-11'),
             (3, 'eng', '2026-01-21')) v(g, m, a)
GROUP BY g ORDER BY g;

-- As a window function: a running total, each row decayed to the same as_of.
SELECT at, leadqual.engagement(t, at, 'eng', '2026-01-11') OVER (ORDER BY at) AS running
FROM (VALUES ('visit', '2026-01-01'::timestamptz), ('visit', '2026-01-11'), ('nope', '2026-01-12'))
     v(t, at)
ORDER BY at;

-- Errors.
SELECT pg_temp.err($$SELECT leadqual.engagement('visit', '2026-01-01', 'no_such_model', '2026-01-01')$$);
SELECT pg_temp.err($$SELECT leadqual.engagement(NULL, NULL, 'no_such_model', '2026-01-01')$$);
SELECT pg_temp.err($$SELECT leadqual.engagement('visit', '2026-01-01', m, '2026-01-01')
                     FROM (VALUES ('eng'), ('eng_nodecay')) v(m)$$);
SELECT pg_temp.err($$SELECT leadqual.engagement('visit', '2026-01-01', 'eng', a)
                     FROM (VALUES ('2026-01-01'::timestamptz), ('2026-01-02')) v(a)$$);
SELECT pg_temp.err($$SELECT leadqual.engagement('visit', '2026-01-01', NULL, '2026-01-01')$$);
SELECT pg_temp.err($$SELECT leadqual.engagement('visit', '2026-01-01', 'eng', NULL)$$);
SELECT pg_temp.err($$SELECT leadqual.engagement('visit', '2026-01-01', 'eng', 'infinity')$$);
SELECT pg_temp.err($$SELECT leadqual.engagement_transfn(NULL, 'visit', '2026-01-01', 'eng')$$);

-- The state type: text round trip, readable fields, malformed input.
CREATE AGGREGATE pg_temp.engagement_partial(text, timestamptz, text, timestamptz) (
    SFUNC = leadqual.engagement_transfn, STYPE = leadqual.engagement_state);
CREATE TABLE eng_states AS
SELECT pg_temp.engagement_partial(t, at, 'eng', '2026-01-11 10:00:00.25+01') AS s
FROM (VALUES ('visit', '2026-01-01'::timestamptz), ('demo', '2026-01-10'), ('unsub', '2026-01-02'),
             ('visit', '2026-01-05')) v(t, at);
SELECT s::text ~ '^v1:model="eng";as_of=2026-01-11 09:00:00\.25\+00;rules=[0-9a-f]{8};sums=\{[^,]+,[^,]+,[^,]+,0\}$' AS readable,
       s::text::leadqual.engagement_state::text = s::text AS text_round_trip,
       leadqual.engagement_final(s::text::leadqual.engagement_state) = leadqual.engagement_final(s) AS final_after_round_trip
FROM eng_states;
-- the final function of a state equals the aggregate
SELECT abs(leadqual.engagement_final(s) - (
        SELECT leadqual.engagement(t, at, 'eng', '2026-01-11 10:00:00.25+01')
        FROM (VALUES ('visit', '2026-01-01'::timestamptz), ('demo', '2026-01-10'),
                     ('unsub', '2026-01-02'), ('visit', '2026-01-05')) v(t, at))) < 1e-12 AS final_matches
FROM eng_states;
-- a sum round-trips exactly, whatever extra_float_digits says
SET extra_float_digits = 0;
SELECT 'v1:model="a""b";as_of=2026-01-01 00:00:00+00;rules=0000abcd;sums={0.1,-0,1e+300,5e-324}'::leadqual.engagement_state;
RESET extra_float_digits;
SELECT 'v1:model="x";as_of=-0044-03-15 12:00:00.000001+00;rules=00000000;sums={}'::leadqual.engagement_state;
SELECT pg_temp.err($$SELECT 'v2:model="x";as_of=2026-01-01 00:00:00+00;rules=00000000;sums={1}'::leadqual.engagement_state$$);
SELECT pg_temp.err($$SELECT 'model="x";as_of=2026-01-01 00:00:00+00;rules=00000000;sums={1}'::leadqual.engagement_state$$);
SELECT pg_temp.err($$SELECT 'v1:model="x;as_of=2026-01-01 00:00:00+00;rules=00000000;sums={1}'::leadqual.engagement_state$$);
SELECT pg_temp.err($$SELECT 'v1:model="";as_of=2026-01-01 00:00:00+00;rules=00000000;sums={1}'::leadqual.engagement_state$$);
SELECT pg_temp.err($$SELECT 'v1:model="x";as_of=2026-02-30 00:00:00+00;rules=00000000;sums={1}'::leadqual.engagement_state$$);
SELECT pg_temp.err($$SELECT 'v1:model="x";as_of=2026-01-01 00:00:00+01;rules=00000000;sums={1}'::leadqual.engagement_state$$);
SELECT pg_temp.err($$SELECT 'v1:model="x";as_of=2026-01-01 00:00:00+00;rules=xyz;sums={1}'::leadqual.engagement_state$$);
SELECT pg_temp.err($$SELECT 'v1:model="x";as_of=2026-01-01 00:00:00+00;rules=00000000;sums={1,}'::leadqual.engagement_state$$);
SELECT pg_temp.err($$SELECT 'v1:model="x";as_of=2026-01-01 00:00:00+00;rules=00000000;sums={1,x}'::leadqual.engagement_state$$);
SELECT pg_temp.err($$SELECT 'v1:model="x";as_of=2026-01-01 00:00:00+00;rules=00000000;sums={1} '::leadqual.engagement_state$$);

-- Binary round trip (send/recv) through COPY BINARY.
SELECT '/tmp/leadqual_engagement_' || pg_backend_pid() || '.bin' AS binfile \gset
COPY eng_states TO :'binfile' (FORMAT binary);
CREATE TABLE eng_states_back (s leadqual.engagement_state);
COPY eng_states_back FROM :'binfile' (FORMAT binary);
SELECT b.s::text = a.s::text AS binary_round_trip FROM eng_states a, eng_states_back b;
SELECT 'rm -f ' || :'binfile' AS rmcmd \gset
COPY (SELECT 1 WHERE false) TO PROGRAM :'rmcmd';

-- Combining: same model, as_of and rules add up; anything else is an error.
SELECT abs(leadqual.engagement_final(leadqual.engagement_combine(s, s))
           - 2 * leadqual.engagement_final(s)) < 1e-9 AS combine_doubles_uncapped
FROM eng_states;
SELECT leadqual.engagement_combine(s, s)::text <> s::text AS combine_leaves_input,
       s::text = (SELECT s::text FROM eng_states_back) AS input_unchanged
FROM eng_states;
SELECT pg_temp.err(format($$SELECT leadqual.engagement_combine(%L, %L)$$,
                          s, replace(s::text, '09:00:00.25', '09:00:00.5'))) AS different_as_of
FROM eng_states;
SELECT pg_temp.err(format($$SELECT leadqual.engagement_combine(%L, %L)$$,
                          s, replace(s::text, 'model="eng"', 'model="eng2"'))) AS different_model
FROM eng_states;
SELECT pg_temp.err(format($$SELECT leadqual.engagement_combine(%L, %L)$$,
                          s, regexp_replace(s::text, 'rules=[0-9a-f]+', 'rules=00000000'))) AS different_rules
FROM eng_states;
-- finishing a state after its rules changed is refused (rolled back)
BEGIN;
UPDATE leadqual.event_rules SET points = 6 WHERE model = 'eng' AND event_type = 'visit';
SELECT pg_temp.err(format($$SELECT leadqual.engagement_final(%L)$$, s)) AS stale_rules FROM eng_states;
ROLLBACK;
SELECT pg_temp.err($$SELECT leadqual.engagement_final('v1:model="gone";as_of=2026-01-01 00:00:00+00;rules=00000000;sums={}')$$) AS unknown_model;

-- Validation of leadqual.event_rules.
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('nope', 'visit', 5)$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', '', 5)$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', '  ', 5)$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'x', 'NaN')$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'x', 'Infinity')$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'x', 5, '-Infinity')$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'x', 5, 'NaN')$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'x', 5, 0)$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'x', 0, 10)$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'x', 5, -10)$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'x', -5, 10)$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'x', 5, NULL, '0 days')$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'x', 5, NULL, '-1 year 361 days')$$);
SELECT pg_temp.err($$UPDATE leadqual.event_rules SET max_points = -1 WHERE model = 'eng' AND event_type = 'visit'$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'ok', 0)$$);
SELECT pg_temp.err($$INSERT INTO leadqual.event_rules VALUES ('eng', 'ok2', -3, -9, '36 hours')$$);
DELETE FROM leadqual.event_rules WHERE model = 'eng' AND event_type IN ('ok', 'ok2');

-- Random data: the aggregate equals a plain-SQL formulation (two-level GROUP BY).
INSERT INTO leadqual.models (model, lead_table, engagement_column, half_life)
VALUES ('eng_rand', 'eng_leads', 'engagement', '14 days');
INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life)
SELECT 'eng_rand', 'type' || i,
       CASE WHEN i % 4 = 3 THEN -(i + 1) ELSE i + 1 END,
       CASE WHEN i % 2 = 0 THEN 3 * (CASE WHEN i % 4 = 3 THEN -(i + 1) ELSE i + 1 END)
            WHEN i % 4 = 3 THEN -2 * (i + 1) END,
       CASE WHEN i % 3 = 0 THEN make_interval(days => i + 1) END
FROM generate_series(0, 7) i;
SELECT setseed(0.42);
CREATE TABLE eng_events AS
SELECT (random() * 5000)::int AS lead_id,
       CASE WHEN random() < 0.01 THEN NULL ELSE 'type' || (random() * 8.5)::int END AS event_type,
       CASE WHEN random() < 0.01 THEN NULL
            ELSE '2026-01-01'::timestamptz - random() * interval '90 days' + interval '1 day' END AS occurred_at
FROM generate_series(1, 200000);
ANALYZE eng_events;
CREATE TABLE eng_serial AS
SELECT lead_id, leadqual.engagement(event_type, occurred_at, 'eng_rand', '2026-01-01') AS e
FROM eng_events GROUP BY lead_id;
CREATE TABLE eng_plain AS
SELECT lead_id, sum(CASE WHEN cap IS NULL THEN s WHEN cap > 0 THEN least(s, cap)
                         ELSE greatest(s, cap) END) AS e
FROM (SELECT ev.lead_id, r.event_type, min(r.max_points) AS cap,
             sum(r.points * CASE WHEN r.hl IS NULL THEN 1 ELSE
                 power(0.5, extract(epoch FROM '2026-01-01'::timestamptz - ev.occurred_at)::float8 / r.hl) END) AS s
      FROM eng_events ev
      JOIN (SELECT er.event_type, er.points, er.max_points,
                   date_part('epoch', coalesce(er.half_life, m.half_life)) AS hl
            FROM leadqual.event_rules er JOIN leadqual.models m USING (model)
            WHERE model = 'eng_rand') r USING (event_type)
      WHERE ev.occurred_at <= '2026-01-01'
      GROUP BY 1, 2) per_type
GROUP BY 1;
SELECT count(*) > 4000 AS many_leads,
       bool_and(abs(s.e - coalesce(p.e, 0)) < 1e-9) AS matches_plain_sql,
       count(*) FILTER (WHERE s.e > 0) > 0 AND count(*) FILTER (WHERE s.e < 0) > 0 AS both_signs
FROM eng_serial s LEFT JOIN eng_plain p USING (lead_id);
CREATE TABLE eng_serial_total AS
SELECT leadqual.engagement(event_type, occurred_at, 'eng_rand', '2026-01-01') AS e FROM eng_events;

-- The same under a forced parallel plan: partial states combined by the leader.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT leadqual.engagement(event_type, occurred_at, 'eng_rand', '2026-01-01') FROM eng_events;
SELECT abs(leadqual.engagement(event_type, occurred_at, 'eng_rand', '2026-01-01')
           - (SELECT e FROM eng_serial_total)) < 1e-9 AS parallel_total_matches
FROM eng_events;
CREATE TEMP TABLE eng_plan (line text);
DO $$
DECLARE l text;
BEGIN
    FOR l IN EXPLAIN (COSTS OFF)
        SELECT lead_id, leadqual.engagement(event_type, occurred_at, 'eng_rand', '2026-01-01')
        FROM eng_events GROUP BY lead_id
    LOOP
        INSERT INTO eng_plan VALUES (l);
    END LOOP;
END $$;
SELECT bool_or(line ~ 'Partial (Hash|Group)?Aggregate') AS grouped_partial,
       bool_or(line ~ 'Gather') AS gathered
FROM eng_plan;
CREATE TABLE eng_parallel AS
SELECT lead_id, leadqual.engagement(event_type, occurred_at, 'eng_rand', '2026-01-01') AS e
FROM eng_events GROUP BY lead_id;
SELECT count(*) = (SELECT count(*) FROM eng_serial) AS same_groups,
       bool_and(abs(s.e - p.e) < 1e-9) AS parallel_matches_serial
FROM eng_serial s JOIN eng_parallel p USING (lead_id);
-- the 3-argument form is parallel safe too (workers share the transaction timestamp)
EXPLAIN (COSTS OFF)
SELECT leadqual.engagement(event_type, occurred_at, 'eng_rand') FROM eng_events;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

DROP TABLE eng_events, eng_serial, eng_serial_total, eng_plain, eng_parallel, eng_states, eng_states_back;
DELETE FROM leadqual.models WHERE model LIKE 'eng%';
DROP TABLE eng_leads;
