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

-- ---------------------------------------------------------------------------------------
-- Trigger functions run only where leadqual set them up, and nothing of a user's runs as
-- the extension owner (issue 9, part 1).
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION public.sec_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE ROLE regress_eve;
CREATE SCHEMA eve AUTHORIZATION regress_eve;
-- the issue's reproduction, as a plain role with CREATE on a schema
SET SESSION AUTHORIZATION regress_eve;
SET search_path = eve;
CREATE TYPE k AS ENUM ('a','b');
CREATE FUNCTION k_to_text(k) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE 'ALTER ROLE ' || session_user || ' SUPERUSER';   -- runs as the owner
      RETURN array_to_string(ARRAY[$1], ''); END $$;
CREATE CAST (k AS text) WITH FUNCTION k_to_text(k);
CREATE TABLE t (id k PRIMARY KEY, score float8, stage text, stage_locked boolean);
CREATE TRIGGER h AFTER INSERT ON t REFERENCING NEW TABLE AS leadqual_new FOR EACH STATEMENT
  EXECUTE FUNCTION leadqual.history_trigger('x', 'score', 'stage', 'stage_locked', 'id');
INSERT INTO t VALUES ('a', 1, 'mql', false);
RESET SESSION AUTHORIZATION;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_eve';
-- none of leadqual's trigger functions can be wired by a role of its own
SET SESSION AUTHORIZATION regress_eve;
SET search_path = eve;
SELECT f, public.sec_try(format('CREATE TRIGGER x AFTER INSERT ON t FOR EACH STATEMENT EXECUTE FUNCTION %s', f))
  FROM unnest(ARRAY['leadqual.lead_trigger()', 'leadqual.history_trigger()', 'leadqual.events_trigger()',
                    'leadqual.config_changed()', 'leadqual.validate_rule()']) f;
RESET SESSION AUTHORIZATION;
-- what PUBLIC may not execute
SELECT p.oid::regprocedure AS not_for_public
  FROM pg_proc p
 WHERE p.pronamespace = 'leadqual'::regnamespace
   AND NOT has_function_privilege('regress_eve', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text COLLATE "C";

-- Triggers made while 1.0 let PUBLIC execute these functions survive an upgrade: at fire
-- time each one checks the attachment catalog and refuses a table leadqual did not set up.
GRANT EXECUTE ON FUNCTION leadqual.history_trigger(), leadqual.lead_trigger(),
    leadqual.events_trigger(), leadqual.config_changed() TO regress_eve;
SET SESSION AUTHORIZATION regress_eve;
SET search_path = eve;
CREATE TRIGGER h AFTER INSERT ON t REFERENCING NEW TABLE AS leadqual_new FOR EACH STATEMENT
  EXECUTE FUNCTION leadqual.history_trigger('x', 'score', 'stage', 'stage_locked', 'id');
-- forging stage_history: a table shaped like a lead table, a history trigger naming a model
CREATE TABLE forge (id int PRIMARY KEY, score float8, stage leadqual.stage, stage_locked boolean);
CREATE TRIGGER h AFTER INSERT ON forge REFERENCING NEW TABLE AS leadqual_new FOR EACH STATEMENT
  EXECUTE FUNCTION leadqual.history_trigger('sec', 'score', 'stage', 'stage_locked', 'id');
CREATE TABLE scored (id int PRIMARY KEY, title text, score float8, stage leadqual.stage, stage_locked boolean);
CREATE TRIGGER s BEFORE INSERT ON scored FOR EACH ROW
  EXECUTE FUNCTION leadqual.lead_trigger('sec', 'score', 'stage', 'stage_locked', 'id');
CREATE TABLE ev (id int, lead_id varchar(10), event_type text, occurred_at timestamptz);
CREATE TRIGGER e AFTER INSERT ON ev REFERENCING NEW TABLE AS leadqual_events FOR EACH STATEMENT
  EXECUTE FUNCTION leadqual.events_trigger();
-- the generation row: wired to its own table, config_changed would take its lock at will
CREATE TABLE gen (x int);
CREATE TRIGGER g AFTER INSERT ON gen FOR EACH STATEMENT EXECUTE FUNCTION leadqual.config_changed();
RESET SESSION AUTHORIZATION;
REVOKE EXECUTE ON FUNCTION leadqual.history_trigger(), leadqual.lead_trigger(),
    leadqual.events_trigger(), leadqual.config_changed() FROM regress_eve;
CREATE TEMP TABLE sec_before AS
SELECT (SELECT generation FROM leadqual.config_generation) AS generation,
       (SELECT count(*) FROM leadqual.stage_history) AS history;
GRANT SELECT ON sec_before TO regress_eve;
SET SESSION AUTHORIZATION regress_eve;
SET search_path = eve;
-- the reproduction's INSERT, with its whole message; then each door
INSERT INTO t VALUES ('b', 1, 'mql', false);
SELECT label, public.sec_try(stmt) FROM (VALUES
    (2, 'history, forged rows', $$INSERT INTO eve.forge VALUES (1, 99, 'won', true)$$),
    (3, 'lead trigger', $$INSERT INTO eve.scored (id, title) VALUES (1, 'CTO')$$),
    (4, 'events trigger', $$INSERT INTO eve.ev VALUES (1, 'a', 't1', now())$$),
    (5, 'config_changed', $$INSERT INTO eve.gen VALUES (1)$$)
) AS x(n, label, stmt) ORDER BY n;
RESET SESSION AUTHORIZATION;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_eve';
SELECT (SELECT generation FROM leadqual.config_generation) = b.generation AS generation_unchanged,
       (SELECT count(*) FROM leadqual.stage_history) = b.history AS history_unchanged
  FROM sec_before b;
-- validation triggers serve leadqual's tables only
CREATE TABLE sec_fake_rules (LIKE leadqual.rules);
CREATE TRIGGER v BEFORE INSERT ON sec_fake_rules FOR EACH ROW EXECUTE FUNCTION leadqual.validate_rule();
SELECT public.sec_try($$INSERT INTO sec_fake_rules (rule_id, model, name, category, attribute, op, points, knockout, enabled)
                        VALUES (1, 'sec', 'x', 'fit', 'title', 'is_null', 0, false, true)$$);
DROP TABLE sec_fake_rules;

-- An attached table whose key type has a cast of its owner's: the history trigger reads
-- the key with the type's output function as the user, so the cast never runs, and only
-- plain values reach the owner's INSERT.
SET SESSION AUTHORIZATION regress_eve;
SET search_path = eve;
CREATE OR REPLACE FUNCTION k_to_text(k) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RAISE WARNING 'eve''s cast runs as %', current_user;
    BEGIN
        EXECUTE 'ALTER ROLE regress_eve SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
    RETURN array_to_string(ARRAY[$1], '');
END $$;
CREATE TABLE leads (id k PRIMARY KEY, title text, score float8, stage text,
                    stage_locked boolean NOT NULL DEFAULT false);
RESET SESSION AUTHORIZATION;
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('eve', 'eve.leads', 10);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('eve', 'cto', 'title', 'eq', 'CTO', 20);
SELECT leadqual.attach('eve.leads', 'eve');
SET SESSION AUTHORIZATION regress_eve;
INSERT INTO eve.leads (id, title) VALUES ('a', 'CTO'), ('b', 'dev');
UPDATE eve.leads SET title = 'CTO' WHERE id = 'b';
UPDATE eve.leads SET stage = 'won' WHERE id = 'a';
RESET SESSION AUTHORIZATION;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_eve';
SELECT lead_id, model, old_stage, new_stage, score, manual, changed_by
  FROM leadqual.stage_history WHERE lead_table = 'eve.leads'::regclass ORDER BY id;
-- attaching is the owner's: a plain role is refused before anything is written
SET SESSION AUTHORIZATION regress_eve;
SELECT public.sec_try($$SELECT leadqual.attach('eve.forge', 'eve')$$);
SELECT public.sec_try($$SELECT leadqual.detach('eve.leads')$$);
SELECT public.sec_try($$SELECT leadqual.forget('eve.leads', 'a')$$);
RESET SESSION AUTHORIZATION;
-- ... and a role granted EXECUTE on attach alone is told what else it needs
GRANT EXECUTE ON FUNCTION leadqual.attach(regclass, text, name, name, name) TO regress_eve;
SET SESSION AUTHORIZATION regress_eve;
SELECT leadqual.attach('eve.forge', 'eve');
RESET SESSION AUTHORIZATION;
REVOKE EXECUTE ON FUNCTION leadqual.attach(regclass, text, name, name, name) FROM regress_eve;

SELECT leadqual.detach('eve.leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'eve.leads'::regclass;
DELETE FROM leadqual.models WHERE model = 'eve';
DROP TABLE sec_before;
DROP SCHEMA eve CASCADE;
DROP ROLE regress_eve;

-- ---------------------------------------------------------------------------------------
-- Review (12_review): what a plain role that owns an attached lead table, or may only
-- call leadqual's functions, can still try.
-- ---------------------------------------------------------------------------------------
CREATE ROLE regress_dora;
CREATE SCHEMA dora AUTHORIZATION regress_dora;
SET SESSION AUTHORIZATION regress_dora;
-- a domain whose CHECK tries to make its owner superuser, and says when it runs as
-- someone else
CREATE FUNCTION dora.title_ok(text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> 'regress_dora' THEN
        RAISE WARNING 'dora''s domain check runs as another role';
    END IF;
    BEGIN
        EXECUTE 'ALTER ROLE regress_dora SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
    RETURN true;
END $$;
CREATE DOMAIN dora.title AS text CHECK (dora.title_ok(VALUE));
CREATE DOMAIN dora.tag AS text;
CREATE TABLE dora.leads (id text PRIMARY KEY, title dora.title, engagement numeric, tags dora.tag[],
                         score float8, stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
RESET SESSION AUTHORIZATION;
INSERT INTO leadqual.models (model, lead_table, mql_threshold, engagement_column)
VALUES ('dora', 'dora.leads', 10, 'engagement');
-- compiling a rule reads its value with the column's type: the domain's CHECK runs as the
-- table's owner, not as whoever writes the rule, reads rule_problems or changes a type
-- the table is built on (the DDL guard checks the model then)
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('dora', 'cto', 'title', 'eq', 'CTO', 20);
SELECT count(*) AS problems FROM leadqual.rule_problems WHERE model = 'dora';
ALTER DOMAIN dora.tag SET DEFAULT 'new';
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_dora';
SELECT leadqual.attach('dora.leads', 'dora');
SET SESSION AUTHORIZATION regress_dora;
-- check_predicate is PUBLIC and not STRICT (the value may be NULL): NULLs are refused
SELECT leadqual.check_predicate(NULL, NULL, NULL, NULL, NULL);
SELECT leadqual.check_predicate('dora', 'x', 'title', 'is_null', NULL) IS NULL AS value_may_be_null;
-- rescore_needed called by hand with rows of two types: each row is scored as its own type
CREATE TYPE dora.a AS (title text, engagement float8);
CREATE TYPE dora.b AS (engagement float8, title text);
CREATE FUNCTION dora.pick(i int) RETURNS record LANGUAGE plpgsql AS $$
BEGIN
    IF i = 1 THEN
        RETURN ROW('CTO', 0)::dora.a;
    END IF;
    RETURN ROW(0, 'CTO')::dora.b;
END $$;
SELECT i, leadqual.rescore_needed(dora.pick(i), 'dora', 20, 'mql', false, 'float8')
  FROM generate_series(1, 2) i;
-- a key too long for NOTIFY's payload: the lead is stored, notified with a null lead_id
INSERT INTO dora.leads (id, title) VALUES (repeat('k', 9000), 'CTO');
-- an engagement beyond float8's range scores as Infinity; the lead is stored
INSERT INTO dora.leads (id, title, engagement) VALUES ('big', 'dev', 1e400);
-- the engagement column's type changed (the DDL guard checks only that it exists):
-- engagement is skipped with a WARNING, the lead is stored and scored
ALTER TABLE dora.leads ALTER COLUMN engagement TYPE text;
INSERT INTO dora.leads (id, title, engagement) VALUES ('txt', 'CTO', '5');
SELECT length(id) AS id_length, score, stage FROM dora.leads ORDER BY id;
-- dora's domain now refuses the rule's value (CREATE FUNCTION is no DDL the guard sees) ...
CREATE OR REPLACE FUNCTION dora.title_ok(text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RETURN $1 <> 'CTO';
END $$;
RESET SESSION AUTHORIZATION;
-- ... which no longer refuses every role's ALTER TYPE: a type change checks the models
-- whose lead table is built on the type
CREATE TYPE public.sec_unrelated AS ENUM ('a');
ALTER TYPE public.sec_unrelated ADD VALUE 'b';
DROP TYPE public.sec_unrelated;
-- a type the lead table is built on (an array of it here) is still checked
ALTER DOMAIN dora.tag DROP DEFAULT;
SELECT length(lead_id) AS id_length, new_stage FROM leadqual.stage_history
 WHERE lead_table = 'dora.leads'::regclass ORDER BY id;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_dora';
-- what PUBLIC may execute: scoring, the aggregates and their states' functions, analytics,
-- rescore, and what those call as the caller (README, Operations)
SELECT p.oid::regprocedure AS for_public
  FROM pg_proc p
 WHERE p.pronamespace = 'leadqual'::regnamespace
   AND has_function_privilege('regress_dora', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text COLLATE "C";
SELECT leadqual.detach('dora.leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'dora.leads'::regclass;
DELETE FROM leadqual.models WHERE model = 'dora';
DROP SCHEMA dora CASCADE;
DROP ROLE regress_dora;

-- funnel matches a lead to its history by the key's output text, as the history trigger
-- records it, not by a cast (inet's text cast adds the netmask: no lead matched, and a key
-- type's own cast would run as whoever calls funnel)
CREATE TABLE public.sec_ip (id inet PRIMARY KEY, score float8, stage leadqual.stage,
                            stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('sec_ip', 'public.sec_ip', 10);
SELECT leadqual.attach('public.sec_ip', 'sec_ip');
INSERT INTO public.sec_ip (id) VALUES ('10.0.0.1'), ('10.0.0.2');
UPDATE public.sec_ip SET stage = 'won' WHERE id = '10.0.0.1';
SELECT leads, won FROM leadqual.funnel('public.sec_ip');
SELECT leadqual.detach('public.sec_ip');
DELETE FROM leadqual.stage_history WHERE lead_table = 'public.sec_ip'::regclass;
DELETE FROM leadqual.models WHERE model = 'sec_ip';
DROP TABLE public.sec_ip;

-- a role delegated to attach (README: INSERT, UPDATE, DELETE on the attachment tables,
-- EXECUTE on attach and the trigger functions) changes only its own tables' attachments:
-- re-pointing another owner's table at other columns, or deleting its row (its lead
-- inserts would then fail), is refused
CREATE ROLE regress_del;
CREATE SCHEMA del AUTHORIZATION regress_del;
GRANT INSERT, UPDATE, DELETE ON leadqual.attachments, leadqual.event_attachments TO regress_del;
GRANT EXECUTE ON FUNCTION leadqual.attach(regclass, text, name, name, name), leadqual.detach(regclass),
    leadqual.lead_trigger(), leadqual.history_trigger() TO regress_del;
CREATE TABLE public.sec_other (id int PRIMARY KEY, score float8, stage leadqual.stage,
                               stage_locked boolean NOT NULL DEFAULT false,
                               is_admin boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold)
VALUES ('sec_other', 'public.sec_other', 10), ('del', 'public.sec_other', 10);
SELECT leadqual.attach('public.sec_other', 'sec_other');
SET SESSION AUTHORIZATION regress_del;
UPDATE leadqual.attachments SET locked_column = 'is_admin' WHERE lead_table = 'public.sec_other'::regclass;
DELETE FROM leadqual.attachments WHERE lead_table = 'public.sec_other'::regclass;
-- its own table: attached, scored and detached as before
CREATE TABLE del.leads (id int PRIMARY KEY, score float8, stage leadqual.stage,
                        stage_locked boolean NOT NULL DEFAULT false);
RESET SESSION AUTHORIZATION;
UPDATE leadqual.models SET lead_table = 'del.leads' WHERE model = 'del';
SET SESSION AUTHORIZATION regress_del;
SELECT leadqual.attach('del.leads', 'del');
INSERT INTO del.leads (id) VALUES (1);
SELECT leadqual.detach('del.leads');
RESET SESSION AUTHORIZATION;
SELECT lead_table, model, locked_column FROM leadqual.attachments
 WHERE lead_table IN ('public.sec_other'::regclass, 'del.leads'::regclass);
-- the model's rename still cascades into its attachment (as the extension's owner)
UPDATE leadqual.models SET model = 'sec_other2' WHERE model = 'sec_other';
SELECT model FROM leadqual.attachments WHERE lead_table = 'public.sec_other'::regclass;
SELECT leadqual.detach('public.sec_other');
DELETE FROM leadqual.stage_history WHERE lead_table IN ('public.sec_other'::regclass, 'del.leads'::regclass);
DELETE FROM leadqual.models WHERE model IN ('sec_other2', 'del');
DROP TABLE public.sec_other;
REVOKE ALL ON leadqual.attachments, leadqual.event_attachments FROM regress_del;
REVOKE ALL ON FUNCTION leadqual.attach(regclass, text, name, name, name), leadqual.detach(regclass),
    leadqual.lead_trigger(), leadqual.history_trigger() FROM regress_del;
DROP SCHEMA del CASCADE;
DROP ROLE regress_del;

-- secreview (the parts the first review left): three doors closed
-- 1. refuse_citus_attach reads its table's columns by position (a regclass, a text): wired
-- to any other table it refuses (it used to read an int as text on a Citus node: a crash)
CREATE TABLE public.sec_cit (a oid, b int);
CREATE TRIGGER sec_cit BEFORE INSERT ON public.sec_cit
    FOR EACH ROW EXECUTE FUNCTION leadqual.refuse_citus_attach();
SELECT public.sec_try($$INSERT INTO public.sec_cit VALUES (1, 12345)$$);
SELECT count(*) AS sec_cit_rows FROM public.sec_cit;
DROP TABLE public.sec_cit;
-- 2. a rule on stage_history (the owner's: DO ALSO) is applied as an INSERT applies it:
-- the direct write falls back to the INSERT instead of skipping the rewriter
CREATE TABLE public.sec_rule_log (lead_id text, new_stage leadqual.stage);
CREATE RULE sec_log AS ON INSERT TO leadqual.stage_history
    DO ALSO INSERT INTO public.sec_rule_log VALUES (NEW.lead_id, NEW.new_stage);
CREATE TABLE public.sec_rl (id int PRIMARY KEY, score float8, stage leadqual.stage,
                            stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('sec_rl', 'public.sec_rl', 10);
SELECT leadqual.attach('public.sec_rl', 'sec_rl');
INSERT INTO public.sec_rl (id) VALUES (1), (2);
UPDATE public.sec_rl SET stage = 'won' WHERE id = 1;
SELECT h.lead_id, h.new_stage, l.lead_id IS NOT NULL AS rule_applied
  FROM leadqual.stage_history h
  LEFT JOIN public.sec_rule_log l ON l.lead_id = h.lead_id AND l.new_stage = h.new_stage
 WHERE h.lead_table = 'public.sec_rl'::regclass ORDER BY h.id;
DROP RULE sec_log ON leadqual.stage_history;
SELECT leadqual.detach('public.sec_rl');
DELETE FROM leadqual.stage_history WHERE lead_table = 'public.sec_rl'::regclass;
DELETE FROM leadqual.models WHERE model = 'sec_rl';
DROP TABLE public.sec_rl, public.sec_rule_log;
-- 3. a rule set literal's error quotes at most 64 bytes, never half a character (the
-- message must stay valid UTF-8 for the client and the log)
SELECT public.sec_try($$SELECT (repeat('a', 63) || 'é…')::leadqual.ruleset$$) AS clipped;
-- 4. fit's holdout reads the lead's key by its type's output function: a cast to text that
-- the key type's owner wrote never runs as whoever fits (here a superuser)
CREATE ROLE regress_fitcast;
CREATE SCHEMA fitcast AUTHORIZATION regress_fitcast;
CREATE TABLE public.sec_cast_ran (who text);
GRANT INSERT ON public.sec_cast_ran TO regress_fitcast;
SET SESSION AUTHORIZATION regress_fitcast;
CREATE TYPE fitcast.k AS ENUM ('a', 'b', 'c', 'd', 'e', 'f');
CREATE FUNCTION fitcast.k_text(fitcast.k) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sec_cast_ran VALUES (current_user);
    RETURN 'x';
END $$;
CREATE CAST (fitcast.k AS text) WITH FUNCTION fitcast.k_text(fitcast.k);
CREATE TABLE fitcast.leads (id fitcast.k PRIMARY KEY, title text, converted boolean);
INSERT INTO fitcast.leads VALUES ('a', 'CTO', true), ('b', 'CTO', false), ('c', 'CTO', true),
    ('d', 'x', false), ('e', 'x', true), ('f', 'x', false);
RESET SESSION AUTHORIZATION;
INSERT INTO leadqual.models (model, lead_table) VALUES ('sec_fit', 'fitcast.leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('sec_fit', 'cto', 'title', 'eq', 'CTO', 1);
SELECT public.sec_try($$SELECT count(*) FROM leadqual.fit('sec_fit', holdout => 0.5)$$) AS fit;
SELECT count(*) AS casts_run_by_fit FROM public.sec_cast_ran;
DELETE FROM leadqual.models WHERE model = 'sec_fit';
DROP SCHEMA fitcast CASCADE;
DROP TABLE public.sec_cast_ran;
DROP ROLE regress_fitcast;
DROP FUNCTION public.sec_try(text);
