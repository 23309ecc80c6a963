-- attachments: the triggers carry no arguments and read their attachment at fire time,
-- so a model rename, an edited attachment and partitions keep working
SET client_min_messages = warning;
CREATE TABLE att_leads (id int PRIMARY KEY, title text, engagement float8 NOT NULL DEFAULT 0,
                        score float8, stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
CREATE TABLE att_events (lead_id int REFERENCES att_leads, event_type text, occurred_at timestamptz);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, engagement_column, half_life)
VALUES ('att', 'att_leads', 10, 'engagement', NULL);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES ('att', 'cto', 'title', 'eq', 'CTO', 10);
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('att', 'demo', 7);
SELECT leadqual.attach('att_leads', 'att');
SELECT leadqual.attach_events('att_events', 'lead_id', 'att');
SELECT tgrelid::regclass, tgname, tgnargs, pg_get_triggerdef(oid) ~ '\(\)$' AS no_arguments
  FROM pg_trigger WHERE tgrelid IN ('att_leads'::regclass, 'att_events'::regclass) AND NOT tgisinternal
 ORDER BY 1::text, 2;
INSERT INTO att_leads (id, title) VALUES (1, 'CTO'), (2, 'dev');

-- the model renamed: the foreign keys cascade into both attachments, and leads and events
-- inserted afterwards (in this session, whose cache knew the old name) are still scored
UPDATE leadqual.models SET model = 'att2' WHERE model = 'att';
SELECT (SELECT model FROM leadqual.attachments WHERE lead_table = 'att_leads'::regclass) AS lead_model,
       (SELECT model FROM leadqual.event_attachments WHERE events_table = 'att_events'::regclass) AS events_model;
INSERT INTO att_leads (id, title) VALUES (3, 'CTO'), (4, 'dev');
INSERT INTO att_events VALUES (2, 'demo', now()), (2, 'demo', now()), (4, 'demo', now());
DELETE FROM att_events WHERE lead_id = 4;
SELECT id, score, stage, engagement FROM att_leads ORDER BY id;
-- and renamed again inside a transaction: that transaction sees its own change at once
BEGIN;
UPDATE leadqual.models SET model = 'att3' WHERE model = 'att2';
INSERT INTO att_leads (id, title) VALUES (5, 'CTO');
ROLLBACK;
INSERT INTO att_leads (id, title) VALUES (5, 'CTO');
SELECT lead_id, model, old_stage, new_stage, score FROM leadqual.stage_history
 WHERE lead_table = 'att_leads'::regclass ORDER BY id;

-- an edited attachment row is seen by the next statement, like a rule change
ALTER TABLE att_leads ADD COLUMN score2 float8;
UPDATE leadqual.attachments SET score_column = 'score2' WHERE lead_table = 'att_leads'::regclass;
INSERT INTO att_leads (id, title) VALUES (6, 'CTO');
SELECT id, score, score2, stage FROM att_leads WHERE id = 6;
-- a column that no longer fits is refused with a hint, not written with the wrong type
ALTER TABLE att_leads ADD COLUMN score3 text;
UPDATE leadqual.attachments SET score_column = 'score3' WHERE lead_table = 'att_leads'::regclass;
INSERT INTO att_leads (id, title) VALUES (7, 'CTO');
UPDATE leadqual.attachments SET score_column = 'score' WHERE lead_table = 'att_leads'::regclass;

SELECT leadqual.detach_events('att_events');
SELECT leadqual.detach('att_leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'att_leads'::regclass;
DELETE FROM leadqual.models WHERE model = 'att2';
DROP TABLE att_events, att_leads;

-- a partitioned lead table: the row trigger fires on the partitions (whose row types
-- differ: another column order), finds the attachment through their parent, and a rule
-- that cannot be compiled is skipped with one WARNING there too: the leads go in
CREATE TABLE att_part (id int PRIMARY KEY, title text, budget boolean, score float8,
                       stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false)
    PARTITION BY RANGE (id);
CREATE TABLE att_part_low PARTITION OF att_part FOR VALUES FROM (0) TO (100);
CREATE TABLE att_part_high (stage_locked boolean NOT NULL DEFAULT false, stage leadqual.stage,
                            score float8, budget boolean, title text, id int NOT NULL);
ALTER TABLE att_part ATTACH PARTITION att_part_high FOR VALUES FROM (100) TO (200);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('attp', 'att_part', 10);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
    ('attp', 'cto', 'title', 'eq', 'CTO', 10),
    ('attp', 'budget', 'budget', 'eq', 'true', 5);
SELECT leadqual.attach('att_part', 'attp');
INSERT INTO att_part (id, title, budget) VALUES (1, 'CTO', true), (101, 'dev', true);
SET leadqual.ddl_guard = off;
ALTER TABLE att_part DROP COLUMN budget;
RESET leadqual.ddl_guard;
SET client_min_messages = notice;
INSERT INTO att_part (id, title) VALUES (2, 'CTO'), (102, 'CTO'), (103, 'dev');
SET client_min_messages = warning;
SELECT tableoid::regclass, id, score, stage FROM att_part ORDER BY id;
SELECT lead_id, old_stage, new_stage, score FROM leadqual.stage_history
 WHERE lead_table = 'att_part'::regclass ORDER BY id;
-- the history trigger runs on the attached table itself, not on a partition
CREATE TRIGGER h AFTER INSERT ON att_part_low REFERENCING NEW TABLE AS leadqual_new
    FOR EACH STATEMENT EXECUTE FUNCTION leadqual.history_trigger();
INSERT INTO att_part_low (id, title) VALUES (3, 'CTO');
DROP TRIGGER h ON att_part_low;
SELECT leadqual.detach('att_part');
DELETE FROM leadqual.stage_history WHERE lead_table = 'att_part'::regclass;
DELETE FROM leadqual.models WHERE model = 'attp';
DROP TABLE att_part;
