-- events: attach_events keeps the engagement column current; the lead trigger re-stages
CREATE TABLE ev_leads (
    id           bigint PRIMARY KEY,
    title        text,
    engagement   double precision NOT NULL DEFAULT 0,
    score        double precision,
    stage        leadqual.stage,
    stage_locked boolean NOT NULL DEFAULT false
);
CREATE TABLE ev_events (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL REFERENCES ev_leads,
    event_type  text NOT NULL,
    occurred_at timestamptz NOT NULL
);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, engagement_column, half_life)
VALUES ('ev', 'ev_leads', 20, 'engagement', '30 days');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('ev', 'head', 'title', 'ilike', 'head of%', 10);
INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life) VALUES
 ('ev', 'demo_request', 15, NULL, NULL),
 ('ev', 'pricing_visit', 5, 10, '7 days'),
 ('ev', 'unsubscribe', -20, -20, NULL);
-- refusals
SELECT leadqual.attach_events('ev_events', 'lead_id', 'nope');
CREATE TABLE no_eng (id bigint PRIMARY KEY);
INSERT INTO leadqual.models (model, lead_table) VALUES ('no_eng', 'no_eng');
SELECT leadqual.attach_events('ev_events', 'lead_id', 'no_eng');
SELECT leadqual.attach_events('ev_events', 'missing', 'ev');
SELECT leadqual.attach_events('ev_events', 'lead_id', 'ev', 'event_type', 'id');
SELECT leadqual.attach('ev_leads', 'ev');
SELECT leadqual.attach_events('ev_events', 'lead_id', 'ev');
SELECT leadqual.attach_events('ev_events', 'lead_id', 'ev');
INSERT INTO ev_leads (id, title) VALUES (1, 'Head of IT'), (2, 'Engineer'), (3, 'Buyer');
SELECT id, engagement, score, stage FROM ev_leads ORDER BY id;
-- a demo request today pushes a nurtured lead to MQL in the same transaction
INSERT INTO ev_events (lead_id, event_type, occurred_at) VALUES (1, 'demo_request', now());
SELECT id, round(engagement::numeric, 6) AS engagement, score, stage FROM ev_leads ORDER BY id;
SELECT e.name, round(e.points::numeric, 6) AS points FROM ev_leads l, leadqual.explain(l, 'ev') e
 WHERE l.id = 1 ORDER BY e.name COLLATE "C";
-- engagement from last year has faded; pricing visits are capped at 10
INSERT INTO ev_events (lead_id, event_type, occurred_at) VALUES
 (2, 'demo_request', now() - interval '365 days'),
 (2, 'pricing_visit', now()), (2, 'pricing_visit', now()), (2, 'pricing_visit', now()),
 (3, 'unsubscribe', now() - interval '1 day'), (3, 'unknown_type', now());
SELECT id, round(engagement::numeric, 6) AS engagement, stage FROM ev_leads ORDER BY id;
-- deleting events lowers engagement
DELETE FROM ev_events WHERE lead_id = 2 AND event_type = 'pricing_visit';
SELECT id, round(engagement::numeric, 6) AS engagement, stage FROM ev_leads ORDER BY id;
-- an event for an unknown lead fails as the foreign key says; nothing half-written
INSERT INTO ev_events (lead_id, event_type, occurred_at) VALUES (1, 'demo_request', now()), (99, 'demo_request', now());
SELECT count(*) AS events FROM ev_events;
-- COPY of 10,000 events for 1,000 leads updates each lead exactly once
INSERT INTO ev_leads (id, title) SELECT g, 'Engineer' FROM generate_series(1000, 1999) g;
CREATE TABLE upd_log (id bigint);
CREATE FUNCTION log_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.upd_log VALUES (NEW.id); RETURN NULL; END $$;
CREATE TRIGGER log_upd AFTER UPDATE ON ev_leads FOR EACH ROW EXECUTE FUNCTION log_upd();
COPY ev_events (lead_id, event_type, occurred_at) FROM PROGRAM
  'awk ''BEGIN { split("pricing_visit demo_request webinar", t, " ");
                 for (g = 0; g < 10000; g++)
                     printf "%d\t%s\t2026-01-01 00:00:00+00\n", 1000 + g % 1000, t[g % 3 + 1] }''';
SELECT count(*) AS copied FROM ev_events WHERE lead_id >= 1000;
-- each of the 1,000 leads was updated exactly once
SELECT count(*) AS updates, count(DISTINCT id) AS leads FROM upd_log;
DROP TRIGGER log_upd ON ev_leads;
SELECT count(*) AS history_rows_for_copy FROM leadqual.stage_history
 WHERE lead_table = 'ev_leads'::regclass AND lead_id::bigint >= 1000 AND old_stage IS NOT NULL;
-- the engagement written equals the aggregate over the events (now() moved on a
-- little since they were written: decay of at most a few seconds)
SELECT count(*) AS mismatches FROM ev_leads l
 WHERE abs(l.engagement - coalesce((SELECT leadqual.engagement(e.event_type, e.occurred_at, 'ev')
                                     FROM ev_events e WHERE e.lead_id = l.id), 0)) > 1e-3;
-- rescore brings decay up to date
UPDATE ev_leads SET engagement = 999 WHERE id = 1;
SELECT id, engagement >= 999 AS stale FROM ev_leads WHERE id = 1;
CALL leadqual.rescore('ev_leads', 500);
SELECT id, round(engagement::numeric, 3) AS engagement, stage FROM ev_leads WHERE id < 10 ORDER BY id;
SELECT leadqual.detach_events('ev_events');
SELECT leadqual.detach_events('ev_events');
SELECT leadqual.detach('ev_leads');

-- The C trigger keeps saved plans and the event rules per events table; a change of
-- event_rules, of the attachment, of the model or of the tables is seen by the next
-- statement of the same session (no decay here: every figure is exact).
CREATE TABLE pc_leads (id int PRIMARY KEY, title text, engagement float8 NOT NULL DEFAULT 0,
                       engagement2 float8 NOT NULL DEFAULT 0, score float8, stage leadqual.stage,
                       stage_locked boolean NOT NULL DEFAULT false);
CREATE TABLE pc_events (lead_id int NOT NULL, event_type text, kind text, occurred_at timestamptz NOT NULL);
CREATE INDEX ON pc_events (lead_id);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, engagement_column, half_life)
VALUES ('pc', 'pc_leads', 20, 'engagement', NULL);
INSERT INTO leadqual.event_rules (model, event_type, points, max_points) VALUES
 ('pc', 'visit', 5, 15), ('pc', 'demo', 15, NULL), ('pc', 'call', 1, NULL);
SELECT leadqual.attach('pc_leads', 'pc'), leadqual.attach_events('pc_events', 'lead_id', 'pc');
INSERT INTO pc_leads (id, title) VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO pc_events VALUES (1, 'visit', 'call', now()), (2, 'demo', 'call', now());
SELECT id, engagement, engagement2, score, stage FROM pc_leads ORDER BY id;
-- new points for an event type: the next insert recomputes with them (lead 1: 2 visits)
UPDATE leadqual.event_rules SET points = 7 WHERE model = 'pc' AND event_type = 'visit';
INSERT INTO pc_events VALUES (1, 'visit', 'call', now());
SELECT id, engagement, score, stage FROM pc_leads WHERE id = 1;
-- a change rolled back is never used: lead 1 has 3 visits at 7, capped at 15
BEGIN;
UPDATE leadqual.event_rules SET max_points = NULL WHERE model = 'pc' AND event_type = 'visit';
INSERT INTO pc_events VALUES (1, 'visit', 'call', now());
SELECT id, engagement FROM pc_leads WHERE id = 1;
ROLLBACK;
INSERT INTO pc_events VALUES (1, 'visit', 'call', now());
SELECT id, engagement FROM pc_leads WHERE id = 1;
-- the model's engagement column moves: the next statement writes the new one
UPDATE leadqual.models SET engagement_column = 'engagement2' WHERE model = 'pc';
INSERT INTO pc_events VALUES (2, 'demo', 'call', now());
SELECT id, engagement, engagement2, score FROM pc_leads WHERE id = 2;
-- attached again with another type column: the plans read "kind" now (lead 3: 2 calls)
SELECT leadqual.detach_events('pc_events');
SELECT leadqual.attach_events('pc_events', 'lead_id', 'pc', 'kind');
INSERT INTO pc_events VALUES (3, 'demo', 'call', now()), (3, 'visit', 'call', now());
SELECT id, engagement2, score FROM pc_leads WHERE id = 3;
-- leadqual.events_trigger() wired by hand the wrong way on an attached table is refused
CREATE TRIGGER wrong BEFORE INSERT ON pc_events FOR EACH ROW EXECUTE FUNCTION leadqual.events_trigger();
INSERT INTO pc_events VALUES (3, 'demo', 'call', now());
DROP TRIGGER wrong ON pc_events;
CREATE TRIGGER wrong AFTER INSERT ON pc_events FOR EACH STATEMENT EXECUTE FUNCTION leadqual.events_trigger();
INSERT INTO pc_events VALUES (3, 'demo', 'call', now());
DROP TRIGGER wrong ON pc_events;
-- the lead table loses its key: nothing to write; it gets it back: engagement again
ALTER TABLE pc_leads DROP CONSTRAINT pc_leads_pkey;
INSERT INTO pc_events VALUES (3, 'demo', 'call', now());
SELECT id, engagement2 FROM pc_leads WHERE id = 3;
ALTER TABLE pc_leads ADD PRIMARY KEY (id);
INSERT INTO pc_events VALUES (3, 'demo', 'call', now());
SELECT id, engagement2 FROM pc_leads WHERE id = 3;
-- a partitioned events table: the statement trigger fires on the parent
CREATE TABLE pc_pevents (lead_id int NOT NULL, event_type text, occurred_at timestamptz NOT NULL)
    PARTITION BY RANGE (occurred_at);
CREATE TABLE pc_pevents_old PARTITION OF pc_pevents FOR VALUES FROM (MINVALUE) TO ('2026-01-01');
CREATE TABLE pc_pevents_new PARTITION OF pc_pevents FOR VALUES FROM ('2026-01-01') TO (MAXVALUE);
SELECT leadqual.detach_events('pc_events');
SELECT leadqual.attach_events('pc_pevents', 'lead_id', 'pc');
INSERT INTO pc_pevents VALUES (2, 'demo', '2025-06-01'), (2, 'visit', now());
SELECT id, engagement2 FROM pc_leads WHERE id = 2;
DELETE FROM pc_pevents WHERE event_type = 'demo';
SELECT id, engagement2 FROM pc_leads WHERE id = 2;
-- a statement that touches more leads than one chunk (1,000) of the trigger's writes
INSERT INTO pc_leads (id, title) SELECT g, 'x' FROM generate_series(10, 2509) g;
INSERT INTO pc_pevents SELECT 10 + g % 2500, (ARRAY['visit', 'demo', 'call'])[1 + g % 3], now()
  FROM generate_series(0, 7499) g;
SELECT count(*) AS leads, sum(engagement2) AS total,
       bool_and(engagement2 = (SELECT leadqual.engagement(e.event_type, e.occurred_at, 'pc')
                                 FROM pc_pevents e WHERE e.lead_id = l.id)) AS each_equals_the_aggregate
  FROM pc_leads l WHERE id >= 10;
-- an event stamped after now() but before the trigger computes (as a session that started
-- later and committed first would leave it) counts, in a small statement and in a bulk
-- one; an event in the future does not
INSERT INTO pc_pevents VALUES (10, 'call', clock_timestamp()), (11, 'demo', now() + interval '1 day');
SELECT id, engagement2 FROM pc_leads WHERE id IN (10, 11) ORDER BY id;
INSERT INTO pc_pevents SELECT 12 + g, 'call', CASE WHEN g % 2 = 0 THEN clock_timestamp() ELSE now() END
  FROM generate_series(0, 1499) g;
SELECT engagement2, count(*) FROM pc_leads WHERE id BETWEEN 10 AND 1511 GROUP BY 1 ORDER BY 1;
SELECT leadqual.detach_events('pc_pevents');
SELECT leadqual.detach('pc_leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'pc_leads'::regclass;
DELETE FROM leadqual.models WHERE model = 'pc';
DROP TABLE pc_pevents, pc_events, pc_leads;
-- hostile names reach the trigger's queries quoted, never executed
CREATE SCHEMA "ev s""x";
CREATE TABLE "ev s""x"."lead; table" ("key ""1""" int PRIMARY KEY, "eng)" float8 NOT NULL DEFAULT 0,
    score float8, stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
CREATE TABLE "ev s""x"."ev--t" ("lead'id" int, "type; DROP TABLE x" text, "at" timestamptz);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, engagement_column, half_life)
VALUES ('hx', '"ev s""x"."lead; table"', 20, 'eng)', NULL);
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('hx', 'demo', 15);
SELECT leadqual.attach('"ev s""x"."lead; table"', 'hx'),
       leadqual.attach_events('"ev s""x"."ev--t"', 'lead''id', 'hx', 'type; DROP TABLE x', 'at');
INSERT INTO "ev s""x"."lead; table" ("key ""1""") VALUES (1);
INSERT INTO "ev s""x"."ev--t" VALUES (1, 'demo', now()), (1, 'demo', now());
SELECT "key ""1""", "eng)", score, stage FROM "ev s""x"."lead; table";
SELECT leadqual.detach_events('"ev s""x"."ev--t"'), leadqual.detach('"ev s""x"."lead; table"');
DELETE FROM leadqual.stage_history WHERE model = 'hx';
DELETE FROM leadqual.models WHERE model = 'hx';
DROP SCHEMA "ev s""x" CASCADE;
-- a trigger of the user's on the lead table inserts events into the events table (and
-- makes a table, an invalidation, on the way): the nested events trigger keeps the plans
-- the outer one is executing, and every write is right (each echo raises engagement by 1
-- and so echoes again, seven deep, until it reaches 12; the second visit adds 5)
CREATE TABLE rc_leads (id int PRIMARY KEY, engagement float8 NOT NULL DEFAULT 0,
                       score float8, stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
CREATE TABLE rc_events (lead_id int NOT NULL, event_type text, occurred_at timestamptz NOT NULL);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, engagement_column, half_life)
VALUES ('rc', 'rc_leads', 20, 'engagement', NULL);
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('rc', 'visit', 5), ('rc', 'echo', 1);
SELECT leadqual.attach('rc_leads', 'rc'), leadqual.attach_events('rc_events', 'lead_id', 'rc');
INSERT INTO rc_leads (id) VALUES (1);
CREATE FUNCTION rc_echo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.engagement > OLD.engagement AND NEW.engagement < 12 THEN
        DROP TABLE IF EXISTS rc_tmp;
        CREATE TEMP TABLE rc_tmp (x int);
        INSERT INTO rc_events VALUES (NEW.id, 'echo', now());
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER echo AFTER UPDATE ON rc_leads FOR EACH ROW EXECUTE FUNCTION rc_echo();
SET client_min_messages = warning;
INSERT INTO rc_events VALUES (1, 'visit', now());
INSERT INTO rc_events VALUES (1, 'visit', now());
RESET client_min_messages;
SELECT l.id, l.engagement, l.score, string_agg(e.event_type, ',' ORDER BY e.event_type) AS events
  FROM rc_leads l JOIN rc_events e ON e.lead_id = l.id GROUP BY l.id;
SELECT leadqual.detach_events('rc_events'), leadqual.detach('rc_leads');
DELETE FROM leadqual.stage_history WHERE model = 'rc';
DELETE FROM leadqual.models WHERE model = 'rc';
DROP TABLE rc_events, rc_leads;
DROP FUNCTION rc_echo();

-- The events' time column is read as timestamptz whatever its type became after
-- attach_events (a date here): the trigger's engagement is the aggregate's.
CREATE TABLE tc_leads (id int PRIMARY KEY, engagement float8 NOT NULL DEFAULT 0,
                       score float8, stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
CREATE TABLE tc_events (lead_id int NOT NULL, event_type text, occurred_at timestamptz NOT NULL);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, engagement_column, half_life)
VALUES ('tc', 'tc_leads', 20, 'engagement', '7 days');
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('tc', 'visit', 8);
SELECT leadqual.attach('tc_leads', 'tc'), leadqual.attach_events('tc_events', 'lead_id', 'tc');
INSERT INTO tc_leads (id) VALUES (1);
ALTER TABLE tc_events ALTER COLUMN occurred_at TYPE date;
INSERT INTO tc_events VALUES (1, 'visit', current_date - 3), (1, 'visit', current_date - 10);
SELECT round(l.engagement::numeric, 4) = round(x.e::numeric, 4) AS same_as_aggregate,
       l.engagement BETWEEN 4 AND 14 AS decayed
  FROM tc_leads l, (SELECT leadqual.engagement(event_type, occurred_at, 'tc') AS e FROM tc_events) x;
SELECT leadqual.detach_events('tc_events'), leadqual.detach('tc_leads');
DELETE FROM leadqual.stage_history WHERE model = 'tc';
DELETE FROM leadqual.models WHERE model = 'tc';
DROP TABLE tc_events, tc_leads;

-- Keys compared as the lead table compares them: a citext key with its own equality
-- (not text's, through a cast, which is case-sensitive), a key under a nondeterministic
-- collation with that collation (the events column has the default one; PostgreSQL 18
-- refuses a foreign key between the two, older ones accept it); the engagement is the
-- aggregate's over a join on the key.
CREATE EXTENSION IF NOT EXISTS citext;
CREATE COLLATION ev_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE ck_leads (id citext PRIMARY KEY, engagement float8 NOT NULL DEFAULT 0, score float8,
                       stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
CREATE TABLE ck_events (lead_id citext NOT NULL REFERENCES ck_leads, event_type text,
                        occurred_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE cc_leads (id text COLLATE ev_ci PRIMARY KEY, engagement float8 NOT NULL DEFAULT 0);
CREATE TABLE cc_events (lead_id text NOT NULL, event_type text,
                        occurred_at timestamptz NOT NULL DEFAULT now());
INSERT INTO leadqual.models (model, lead_table, engagement_column)
VALUES ('ck', 'ck_leads', 'engagement'), ('cc', 'cc_leads', 'engagement');
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('ck', 'demo', 10), ('cc', 'demo', 10);
SELECT leadqual.attach('ck_leads', 'ck'), leadqual.attach_events('ck_events', 'lead_id', 'ck'),
       leadqual.attach_events('cc_events', 'lead_id', 'cc');
INSERT INTO ck_leads (id) VALUES ('bob@example.com'), ('eve@example.com');
INSERT INTO cc_leads (id) VALUES ('abc'), ('xyz');
INSERT INTO ck_events (lead_id, event_type) VALUES ('Bob@Example.COM', 'demo');
INSERT INTO ck_events (lead_id, event_type) VALUES ('bob@example.com', 'demo'), ('EVE@example.com', 'demo');
INSERT INTO cc_events (lead_id, event_type) VALUES ('ABC', 'demo');
INSERT INTO cc_events (lead_id, event_type) VALUES ('abc', 'demo'), ('Xyz', 'demo');
SELECT key, id, round(engagement::numeric, 2) AS engagement,
       round(engagement::numeric, 4) = round(aggregate::numeric, 4) AS same_as_aggregate
FROM (SELECT 'citext' AS key, l.id::text, l.engagement,
             (SELECT leadqual.engagement(e.event_type, e.occurred_at, 'ck') FROM ck_events e
               WHERE e.lead_id = l.id) AS aggregate
        FROM ck_leads l
      UNION ALL
      SELECT 'ev_ci', l.id, l.engagement,
             (SELECT leadqual.engagement(e.event_type, e.occurred_at, 'cc') FROM cc_events e
               WHERE e.lead_id = l.id)
        FROM cc_leads l) x
ORDER BY 1, 2;
-- rescore's engagement refresh and simulate match events the same way
UPDATE ck_leads SET engagement = 0;
SELECT lead_id, round(new_score::numeric, 2) AS new_score
  FROM leadqual.simulate('ck_leads', leadqual.ruleset('ck'::text)) ORDER BY 1;
CALL leadqual.rescore('ck_leads');
SELECT id::text, round(engagement::numeric, 2) AS engagement FROM ck_leads ORDER BY 1;
-- the key type's = is named with its schema: a writing role without USAGE on it is told so
-- (42501, with the grant), as for any query using the type's operators
CREATE SCHEMA ev_ext;
ALTER EXTENSION citext SET SCHEMA ev_ext;
CREATE ROLE regress_ev_writer;
GRANT SELECT, INSERT ON ck_events TO regress_ev_writer;
GRANT SELECT, UPDATE ON ck_leads TO regress_ev_writer;
UPDATE leadqual.models SET half_life = half_life WHERE model = 'ck';   -- plans made anew
SET ROLE regress_ev_writer;
INSERT INTO ck_events (lead_id, event_type) VALUES ('bob@example.com', 'demo');
RESET ROLE;
ALTER EXTENSION citext SET SCHEMA public;
DROP SCHEMA ev_ext;
REVOKE ALL ON ck_events, ck_leads FROM regress_ev_writer;
DROP ROLE regress_ev_writer;
-- a key column altered to another type after attach_events: refused (42804), not read as
-- the other type's values (this crashed the server)
ALTER TABLE ck_events DROP CONSTRAINT ck_events_lead_id_fkey;
ALTER TABLE ck_events ALTER COLUMN lead_id TYPE text;
INSERT INTO ck_events (lead_id, event_type) VALUES ('bob@example.com', 'demo');
SELECT leadqual.detach_events('ck_events'), leadqual.detach_events('cc_events'),
       leadqual.detach('ck_leads');
DELETE FROM leadqual.stage_history WHERE model = 'ck';
DELETE FROM leadqual.models WHERE model IN ('ck', 'cc');
DROP TABLE ck_events, ck_leads, cc_events, cc_leads;
DROP COLLATION ev_ci;
-- a key of an array type: refused at attach (a statement's keys travel as an array of them)
CREATE TABLE ak_leads (id int[] PRIMARY KEY, engagement float8 NOT NULL DEFAULT 0);
CREATE TABLE ak_events (lead_id int[], event_type text, occurred_at timestamptz);
INSERT INTO leadqual.models (model, lead_table, engagement_column) VALUES ('ak', 'ak_leads', 'engagement');
SELECT leadqual.attach_events('ak_events', 'lead_id', 'ak');
DELETE FROM leadqual.models WHERE model = 'ak';
DROP TABLE ak_events, ak_leads;
-- UPDATEs of events are followed too: an event moved to another lead, retyped or
-- re-timed leaves each lead's engagement equal to the aggregate over its events
CREATE TABLE up_leads (id int PRIMARY KEY, engagement float8 NOT NULL DEFAULT 0);
CREATE TABLE up_events (id serial, lead_id int, event_type text, occurred_at timestamptz NOT NULL);
INSERT INTO leadqual.models (model, lead_table, engagement_column, half_life)
VALUES ('up', 'up_leads', 'engagement', '30 days');
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('up', 'demo', 10), ('up', 'visit', 1);
SELECT leadqual.attach_events('up_events', 'lead_id', 'up');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'up_events'::regclass ORDER BY 1;
INSERT INTO up_leads (id) SELECT generate_series(1, 3);
INSERT INTO up_events (lead_id, event_type, occurred_at)
VALUES (1, 'demo', now()), (1, 'demo', now()), (2, 'visit', now());
CREATE FUNCTION up_check() RETURNS TABLE (id int, engagement numeric, same_as_aggregate boolean)
LANGUAGE sql AS $$
    SELECT l.id, round(l.engagement::numeric, 2),
           round(l.engagement::numeric, 6) = round(coalesce(
               (SELECT leadqual.engagement(e.event_type, e.occurred_at, 'up') FROM up_events e
                 WHERE e.lead_id = l.id), 0)::numeric, 6)
      FROM up_leads l ORDER BY l.id $$;
UPDATE up_events SET lead_id = 3 WHERE id = 1;                       -- moved: 1 and 3 change
SELECT * FROM up_check();
UPDATE up_events SET event_type = 'demo' WHERE id = 3;               -- retyped
UPDATE up_events SET occurred_at = now() - interval '30 days' WHERE id = 2;  -- half as much
UPDATE up_events SET lead_id = NULL WHERE id = 1;                    -- moved to no lead
SELECT * FROM up_check();
-- an UPDATE that sets none of the lead, type and time columns changes no engagement and
-- recomputes nothing: a role may set another column with no right on the lead table
ALTER TABLE up_events ADD COLUMN processed boolean NOT NULL DEFAULT false;
CREATE ROLE regress_ev_etl;
GRANT SELECT, UPDATE (processed) ON up_events TO regress_ev_etl;
SET ROLE regress_ev_etl;
UPDATE up_events SET processed = true;
RESET ROLE;
SELECT * FROM up_check();
REVOKE ALL ON up_events FROM regress_ev_etl;
DROP ROLE regress_ev_etl;
SELECT leadqual.detach_events('up_events');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'up_events'::regclass;
DELETE FROM leadqual.models WHERE model = 'up';
DROP TABLE up_events, up_leads;
DROP FUNCTION up_check();
