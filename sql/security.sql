-- security: a role's own operators on its search_path never run as the extension owner,
-- forged aggregate states are refused, a broken criterion check never blocks a lead
SET client_min_messages = warning;
CREATE TABLE sec_leads (id varchar(10) PRIMARY KEY, title text, budget boolean,
                        score float8, stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, framework)
VALUES ('sec', 'sec_leads', 10, 'bant');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('sec', 'cto', 'title', 'eq', 'CTO', 20);
INSERT INTO leadqual.criterion_checks VALUES ('sec', 'bant', 'budget', 'budget', 'eq', 'true');
SELECT leadqual.attach('sec_leads', 'sec');
CREATE ROLE regress_mallory;
GRANT INSERT, UPDATE, SELECT ON sec_leads TO regress_mallory;
CREATE SCHEMA mal AUTHORIZATION regress_mallory;
SET ROLE regress_mallory;
CREATE FUNCTION mal.stage_eq(a leadqual.stage, b leadqual.stage) RETURNS boolean
LANGUAGE plpgsql AS $$ BEGIN
    RAISE WARNING 'mallory''s = runs as %', current_user;
    RETURN a::text = b::text;
END $$;
CREATE OPERATOR mal.= (LEFTARG = leadqual.stage, RIGHTARG = leadqual.stage, FUNCTION = mal.stage_eq);
CREATE FUNCTION mal.vc_gt(a varchar, b varchar) RETURNS boolean
LANGUAGE plpgsql AS $$ BEGIN
    RAISE WARNING 'mallory''s > runs as %', current_user;
    RETURN a::text > b::text;
END $$;
CREATE OPERATOR mal.> (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = mal.vc_gt);
SET search_path = mal, public;
-- the history trigger runs as the owner: mallory's = must not be chosen (no WARNING)
INSERT INTO sec_leads (id, title) VALUES ('a', 'dev'), ('b', 'dev'), ('c', 'dev');
UPDATE sec_leads SET title = 'CTO' WHERE id = 'a';
RESET ROLE;
SELECT id, stage FROM sec_leads ORDER BY id;
-- rescore, called by a superuser whose search_path leads to mallory's schema: no WARNING
SET search_path = mal, public;
UPDATE leadqual.rules SET points = 5 WHERE model = 'sec';
CALL leadqual.rescore('sec_leads', 2);
RESET search_path;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_mallory';
-- a forged engagement state (INITCOND with no sums) is refused, not written past its end
INSERT INTO leadqual.event_rules (model, event_type, points)
SELECT 'sec', 't' || g, 1 FROM generate_series(1, 64) g;
CREATE AGGREGATE mal.eng(text, timestamptz, text, timestamptz) (
  SFUNC = leadqual.engagement_transfn, STYPE = leadqual.engagement_state,
  INITCOND = 'v1:model="sec";as_of=2030-01-01 00:00:00+00;rules=00000000;sums={}');
SELECT mal.eng('t64', '2029-01-01 00:00:00+00', 'sec', '2030-01-01 00:00:00+00') FROM generate_series(1, 10);
SELECT 1 AS still_alive;
-- a criterion check broken behind the DDL guard's back leaves the criterion unmet;
-- the lead is still inserted and staged (one WARNING)
SET leadqual.ddl_guard = off;
ALTER TABLE sec_leads DROP COLUMN budget;
RESET leadqual.ddl_guard;
UPDATE leadqual.rules SET points = 20 WHERE model = 'sec';
INSERT INTO sec_leads (id, title) VALUES ('d', 'CTO');
INSERT INTO sec_leads (id, title) VALUES ('e', 'CTO');
SELECT id, score, stage FROM sec_leads WHERE id IN ('d', 'e') ORDER BY id;
SELECT leadqual.detach('sec_leads');
DELETE FROM leadqual.models WHERE model = 'sec';
DROP TABLE sec_leads;
DROP SCHEMA mal CASCADE;
DROP ROLE regress_mallory;
