-- test/bench/events.sql — cost of the events trigger (leadqual.attach_events) on a bulk load.
--   psql -v n=1000000 -f test/bench/events.sql     (run.sh passes -v n=SIZE)
-- COPY of n events (8 types, for n/10 leads, 10 each, scattered over the file as in an
-- append-only event log) from a server-side file into
--   - an events table without triggers (the floor),
--   - an identical events table with leadqual.attach_events, whose lead table is attached
--     too (leadqual.attach), as in production: each lead's engagement is recomputed and
--     written, and the lead trigger re-scores and re-stages it (history, NOTIFY),
--   - the same with a lead table that is not attached (engagement only), which splits
--     the cost between the engagement write and the re-scoring.
-- Both events tables have an index on lead_id, as a production one would (the trigger's
-- recomputation looks a lead's events up by it). Each COPY starts from empty events tables
-- and freshly inserted leads (engagement 0); the contenders alternate, each counts its best
-- of `runs` (default 3). Times are clock_timestamp() differences in PL/pgSQL around the COPY
-- and its COMMIT. Checked in the same transaction as each COPY (so now(), the aggregate's
-- as_of, is the trigger's): every lead's engagement equals leadqual.engagement over its
-- events, its score leadqual.score and its stage leadqual.classify.
-- Event times are the last 180 days before today's midnight: the engagement decays from
-- now(), so a fixed date would make it vanish as the calendar moves on.
-- Works in the schema leadqual_bench_events and drops it at the end; the lead rules are
-- the 20 of model 'bench' (rules.sql), copied to a model of its own.
\ir preamble.psql

\ir need_bench.psql

-- a rerun: attachments and models first (the DDL guard protects tables rules use)
DELETE FROM leadqual.stage_history WHERE lead_table::oid IN
    (SELECT c.oid FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = 'leadqual_bench_events');
DELETE FROM leadqual.event_attachments WHERE model IN ('bench_ev_a', 'bench_ev_u');
DELETE FROM leadqual.attachments WHERE model IN ('bench_ev_a', 'bench_ev_u');
DELETE FROM leadqual.models WHERE model IN ('bench_ev_a', 'bench_ev_u');
DROP SCHEMA IF EXISTS leadqual_bench_events CASCADE;
CREATE SCHEMA leadqual_bench_events;
SET search_path = leadqual_bench_events, pg_catalog;

-- lead_rows.psql uses generate.sql's public.bench_u and public.bench_company

CREATE TABLE src_leads (
    id bigint PRIMARY KEY, email text, company text, job_title text, industry text,
    employees int, annual_revenue numeric(14,2), country text, source text,
    budget_confirmed boolean, authority_confirmed boolean, need_confirmed boolean,
    timeline_confirmed boolean, timeline_days int, created_at timestamptz, converted boolean
);
-- autovacuum off: it must not run during one contender's measurement and not the other's
CREATE TABLE leads_a (LIKE src_leads INCLUDING ALL, score float8, stage leadqual.stage,
                      stage_locked boolean NOT NULL DEFAULT false,
                      engagement float8 NOT NULL DEFAULT 0)
    WITH (autovacuum_enabled = false);
CREATE TABLE leads_u (LIKE leads_a INCLUDING ALL) WITH (autovacuum_enabled = false);
CREATE TABLE events_plain (lead_id bigint NOT NULL, event_type text NOT NULL,
                           occurred_at timestamptz NOT NULL)
    WITH (autovacuum_enabled = false);
CREATE INDEX ON events_plain (lead_id);
CREATE TABLE events_a (LIKE events_plain INCLUDING ALL) WITH (autovacuum_enabled = false);
CREATE TABLE events_u (LIKE events_plain INCLUDING ALL) WITH (autovacuum_enabled = false);

SELECT (:n + 9) / 10 AS leads \gset
\set lead_rows_table src_leads
\set lead_rows_lo 1
SELECT :leads::bigint AS lead_rows_hi \gset
\ir lead_rows.psql
VACUUM (FREEZE, ANALYZE) src_leads;

-- Models: a: the bench rules plus engagement (mql ≥ 35, disqualified under 5 fit points);
-- u: engagement only. Event rules as in engagement.sql.
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, engagement_column,
                             half_life, description)
VALUES ('bench_ev_a', 'leadqual_bench_events.leads_a', 35, 5, 'engagement', '30 days', 'benchmark: events, attached leads'),
       ('bench_ev_u', 'leadqual_bench_events.leads_u', 35, 5, 'engagement', '30 days', 'benchmark: events, engagement only');
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout, enabled)
SELECT 'bench_ev_a', r.name, r.category, r.attribute, r.op, r.value, r.points, r.knockout, r.enabled
FROM leadqual.rules r WHERE r.model = 'bench' ORDER BY r.rule_id;
INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life)
SELECT m.model, e.* FROM (VALUES ('bench_ev_a'), ('bench_ev_u')) AS m(model),
(VALUES ('page_view',     1::float8, 10::float8, interval '7 days'),
        ('pricing_visit', 5,   20, NULL),
        ('email_open',    1,    5, '14 days'),
        ('email_click',   3,   15, NULL),
        ('webinar',      10, NULL, '60 days'),
        ('demo_request', 30, NULL, NULL),
        ('form_submit',   8,   24, NULL),
        ('unsubscribe', -20,  -40, NULL)) AS e(event_type, points, max_points, half_life);
SELECT leadqual.attach('leadqual_bench_events.leads_a', 'bench_ev_a'),
       leadqual.attach_events('leadqual_bench_events.events_a', 'lead_id', 'bench_ev_a'),
       leadqual.attach_events('leadqual_bench_events.events_u', 'lead_id', 'bench_ev_u') \gset

-- The events, written once to a server-side file (named after the cluster and the
-- backend, so parallel runs on one machine do not meet). Event i belongs to lead
-- ((i · 2654435761) mod n) / 10 + 1: a permutation, so every lead has 10 events, spread
-- over the whole file. Types are weighted (page views most, one demo request in 16).
SELECT format('/tmp/leadqual_bench_events_%s_%s.tsv',
              (pg_control_system()).system_identifier, pg_backend_pid()) AS events_file \gset
COPY (
    SELECT ((i * 2654435761) % :n) / 10 + 1,
           (ARRAY['page_view', 'page_view', 'page_view', 'page_view', 'page_view', 'page_view',
                  'email_open', 'email_open', 'email_open', 'email_click', 'email_click',
                  'pricing_visit', 'form_submit', 'webinar', 'demo_request', 'unsubscribe'])[1 + (public.bench_u(i, 21) * 16)::int % 16],
           date_trunc('day', now()) - public.bench_u(i, 22) * interval '180 days'
    FROM generate_series(0::bigint, :n - 1) AS i
) TO :'events_file';

CREATE TABLE results (what text, run int, ms float8, restaged bigint);

-- One COPY into one contender, from a fresh start; the check runs inside the COPY's
-- transaction but outside its time.
CREATE PROCEDURE run_copies(runs int, file text, n bigint) LANGUAGE plpgsql AS $f$
DECLARE
    contenders text[] := ARRAY['plain', 'attached', 'events_only'];
    c text;
    ev text;
    ld text;
    model text;
    t0 timestamptz;
    t1 timestamptz;
    t2 timestamptz;
    bad text;
    restaged bigint;
BEGIN
    FOR i IN 1..runs LOOP
        FOR k IN 0..2 LOOP
            c := contenders[1 + (i - 1 + k) % 3];
            ev := CASE c WHEN 'plain' THEN 'events_plain' WHEN 'attached' THEN 'events_a' ELSE 'events_u' END;
            ld := CASE c WHEN 'attached' THEN 'leads_a' WHEN 'events_only' THEN 'leads_u' END;
            model := CASE c WHEN 'attached' THEN 'bench_ev_a' WHEN 'events_only' THEN 'bench_ev_u' END;
            EXECUTE format('TRUNCATE leadqual_bench_events.%I', ev);
            IF ld IS NOT NULL THEN
                EXECUTE format('TRUNCATE leadqual_bench_events.%I', ld);
                EXECUTE format('INSERT INTO leadqual_bench_events.%I SELECT * FROM leadqual_bench_events.src_leads', ld);
            END IF;
            COMMIT;
            DELETE FROM leadqual.stage_history WHERE lead_table = 'leadqual_bench_events.leads_a'::regclass;
            COMMIT;

            t0 := clock_timestamp();
            EXECUTE format('COPY leadqual_bench_events.%I FROM %L', ev, file);
            t1 := clock_timestamp();

            IF ld IS NOT NULL THEN
                -- every lead's engagement is the aggregate over its events (as of now(),
                -- the trigger's), its score and stage what leadqual computes for the row
                EXECUTE format($q$
                    SELECT string_agg(format('id %%s: engagement %%s, expected %%s; score %%s, expected %%s; stage %%s, expected %%s',
                                             l.id, l.engagement, x.e, l.score, s.score, l.stage, s.stage), '; ')
                    FROM leadqual_bench_events.%1$I l
                    LEFT JOIN (SELECT lead_id, leadqual.engagement(event_type, occurred_at, %2$L) AS e
                                 FROM leadqual_bench_events.%3$I GROUP BY lead_id) x ON x.lead_id = l.id
                    CROSS JOIN LATERAL (SELECT CASE WHEN %4$L THEN leadqual.score(l, %2$L) END AS score,
                                               CASE WHEN %4$L THEN leadqual.classify(l, %2$L) END AS stage) s
                    WHERE abs(l.engagement - coalesce(x.e, 0)) > 1e-9 * (1 + abs(l.engagement))
                       OR l.score IS DISTINCT FROM s.score OR l.stage IS DISTINCT FROM s.stage$q$,
                    ld, model, ev, c = 'attached')
                INTO bad;
                IF bad IS NOT NULL THEN
                    RAISE EXCEPTION 'events bench (%): leads disagree with their events', c
                        USING DETAIL = left(bad, 2000);
                END IF;
                EXECUTE format('SELECT count(*) FROM leadqual_bench_events.%I WHERE engagement = 0', ld) INTO restaged;
                IF restaged <> 0 THEN
                    RAISE EXCEPTION 'events bench (%): % leads got no engagement', c, restaged;
                END IF;
            END IF;
            EXECUTE format('SELECT count(*) FROM leadqual_bench_events.%I', ev) INTO restaged;
            IF restaged <> n THEN
                RAISE EXCEPTION 'events bench (%): % events loaded, not %', c, restaged, n;
            END IF;
            -- leads whose stage the engagement changed (history rows of this COPY)
            SELECT count(*) INTO restaged FROM leadqual.stage_history
             WHERE lead_table = 'leadqual_bench_events.leads_a'::regclass AND c = 'attached';

            t2 := clock_timestamp();
            COMMIT;
            INSERT INTO leadqual_bench_events.results
            VALUES (c, i, 1000 * extract(epoch FROM (t1 - t0) + (clock_timestamp() - t2)), restaged);
            COMMIT;
        END LOOP;
    END LOOP;
END
$f$;

CALL run_copies(:runs, :'events_file', :n);

-- (the file is the server's: it removes it too)
\set rm_events 'rm -f ' :events_file
COPY (SELECT WHERE false) TO PROGRAM :'rm_events';

\echo
\echo '== leadqual events benchmark:' :n 'events for' :leads 'leads, best of' :runs 'alternating runs, serial, JIT off'
\echo 'ratio: this time / the COPY without trigger. met: aim, target or MISSED.'
CREATE TEMP TABLE report AS
WITH best AS (
    SELECT what, min(ms) AS ms, max(restaged) AS restaged FROM results GROUP BY what
), line (ord, what, label, target, aim) AS (VALUES
    (1, 'plain', format('COPY %s events, no trigger', :n), NULL::float8, NULL::float8),
    (2, 'attached', format('COPY %s events, attach_events + attached lead table', :n), 3, 2),
    (3, 'events_only', format('COPY %s events, attach_events, lead table not attached', :n), NULL, NULL)
)
SELECT l.ord, l.label AS what, round(b.ms::numeric, 1) AS ms,
       CASE WHEN l.ord > 1 THEN round((b.ms / p.ms)::numeric, 2) END AS ratio,
       coalesce('≤ ' || l.target || '×', CASE WHEN l.ord > 1 THEN 'reported' END) AS target,
       '≤ ' || l.aim || '×' AS aim,
       CASE WHEN l.target IS NULL THEN NULL WHEN b.ms / p.ms <= l.aim THEN 'aim'
            WHEN b.ms / p.ms <= l.target THEN 'target' ELSE 'MISSED' END AS met
FROM line l JOIN best b USING (what) JOIN best p ON p.what = 'plain';
SELECT what, ms, ratio, target, aim, met FROM report ORDER BY ord;
SELECT :leads AS "leads re-scored per COPY", max(restaged) AS "of them re-staged (history rows)"
FROM results WHERE what = 'attached';
\echo 'checks passed: after every COPY with the trigger, each lead''s engagement equals'
\echo 'leadqual.engagement over its events, its score leadqual.score, its stage leadqual.classify.'

-- clean up: history, attachments and models first (the DDL guard protects tables rules use)
RESET search_path;
DELETE FROM leadqual.stage_history WHERE lead_table = 'leadqual_bench_events.leads_a'::regclass;
SELECT leadqual.detach_events('leadqual_bench_events.events_a'),
       leadqual.detach_events('leadqual_bench_events.events_u'),
       leadqual.detach('leadqual_bench_events.leads_a') \gset
DELETE FROM leadqual.models WHERE model IN ('bench_ev_a', 'bench_ev_u');
DROP SCHEMA leadqual_bench_events CASCADE;
