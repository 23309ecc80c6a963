-- citus: leadqual recognises Citus tables and shards by catalog name at run time (no link
-- to Citus).  Citus cannot be installed here, so a stand-in of the two catalogs leadqual
-- reads (pg_dist_partition, pg_dist_shard) plays a Citus node; the real thing was checked
-- by hand on Citus 13.2.2 (README, "Scaling out").
SET client_min_messages = warning;
CREATE TABLE cit_leads (id int PRIMARY KEY, title text, engagement float8 NOT NULL DEFAULT 0,
                        score float8, stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
CREATE TABLE cit_events (lead_id int, event_type text, occurred_at timestamptz);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, engagement_column)
VALUES ('cit', 'cit_leads', 10, 'engagement');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES ('cit', 'cto', 'title', 'eq', 'CTO', 10);
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('cit', 'demo', 7);

-- without Citus: attach works, and the trigger on the attachment tables does nothing
SELECT leadqual.attach('cit_leads', 'cit');
SELECT leadqual.attach_events('cit_events', 'lead_id', 'cit');
INSERT INTO cit_leads (id, title) VALUES (1, 'CTO');
SELECT id, score, stage FROM cit_leads;
SELECT leadqual.detach_events('cit_events');
SELECT leadqual.detach('cit_leads');

-- a stand-in Citus node: cit_leads is distributed, cit_leads_102008 is one of its shards
SET allow_system_table_mods = on;
CREATE TABLE pg_catalog.pg_dist_partition (logicalrelid regclass, partmethod "char");
CREATE TABLE pg_catalog.pg_dist_shard (logicalrelid regclass, shardid bigint);
RESET allow_system_table_mods;
INSERT INTO pg_catalog.pg_dist_partition VALUES ('cit_leads', 'h');
CREATE TABLE cit_leads_102008 (LIKE cit_leads INCLUDING ALL);
CREATE TABLE cit_other_102009 (LIKE cit_leads INCLUDING ALL);   -- a name like a shard's
INSERT INTO pg_catalog.pg_dist_shard VALUES ('cit_leads', 102008), ('cit_leads', 102009);

-- attaching a Citus table is refused, with what to do instead; nothing is left behind
\set VERBOSITY default
SELECT leadqual.attach('cit_leads', 'cit');
SELECT count(*) AS attachments FROM leadqual.attachments WHERE lead_table = 'cit_leads'::regclass;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'cit_leads'::regclass AND NOT tgisinternal;
-- an events table feeding a distributed lead table, too
SELECT leadqual.attach_events('cit_events', 'lead_id', 'cit');
-- a leadqual trigger that fires on a shard (a table attached, then distributed) names
-- the distributed table; one on a table that only looks like a shard keeps the usual error
CREATE TRIGGER leadqual_score BEFORE INSERT OR UPDATE ON cit_leads_102008
    FOR EACH ROW EXECUTE FUNCTION leadqual.lead_trigger();
CREATE TRIGGER leadqual_score BEFORE INSERT OR UPDATE ON cit_other_102009
    FOR EACH ROW EXECUTE FUNCTION leadqual.lead_trigger();
CREATE TRIGGER leadqual_events_insert AFTER INSERT ON cit_leads_102008
    REFERENCING NEW TABLE AS leadqual_events FOR EACH STATEMENT
    EXECUTE FUNCTION leadqual.events_trigger();
INSERT INTO cit_leads_102008 (id, title) VALUES (2, 'CTO');
INSERT INTO cit_other_102009 (id, title) VALUES (2, 'CTO');
ALTER TABLE cit_leads_102008 DISABLE TRIGGER leadqual_score;
INSERT INTO cit_leads_102008 (id, title) VALUES (2, 'CTO');
-- rescore refuses a Citus table
CALL leadqual.rescore('cit_leads');
-- an unknown model on a Citus worker (Citus' own connections carry this application_name)
-- says why; elsewhere the message is the usual one
SELECT leadqual.score(l, 'nosuch') FROM cit_leads l;
SET application_name = 'citus_internal gpid=10000000001';
SELECT leadqual.score(l, 'nosuch') FROM cit_leads l;
INSERT INTO cit_events VALUES (1, 'demo', now());
SELECT leadqual.engagement(event_type, occurred_at, 'nosuch') FROM cit_events;
RESET application_name;
\set VERBOSITY terse

-- Citus gone again: everything as before
DROP TABLE pg_catalog.pg_dist_partition, pg_catalog.pg_dist_shard;
INSERT INTO cit_other_102009 (id, title) VALUES (3, 'CTO');
SELECT leadqual.attach('cit_leads', 'cit');
INSERT INTO cit_leads (id, title) VALUES (2, 'CTO');
SELECT id, score, stage FROM cit_leads ORDER BY id;
SELECT leadqual.detach('cit_leads');
DELETE FROM leadqual.models WHERE model = 'cit';
DROP TABLE cit_leads_102008, cit_other_102009, cit_events, cit_leads;
