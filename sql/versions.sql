-- versions: one version per committing transaction that changes what a model scores with;
-- ruleset(model, version); stage_history.version; privileges and what runs as the owner
SET client_min_messages = warning;
CREATE TABLE vx_leads (
    id           bigint PRIMARY KEY,
    title        text,
    industry     text,
    employees    int,
    budget_ok    boolean NOT NULL DEFAULT false,
    engagement   float8 NOT NULL DEFAULT 0,
    score        float8,
    stage        leadqual.stage,
    stage_locked boolean NOT NULL DEFAULT false
);
-- what the versions of a model hold, in a form that can be compared: version, who, and
-- per version the thresholds and the rules' names and points
CREATE FUNCTION vx_versions(m text) RETURNS TABLE (version int, created_by text, summary text)
LANGUAGE sql AS $$
    SELECT v.version, v.created_by,
           (SELECT string_agg(format('%s=%s', e.name, e.points), ', ' ORDER BY e.rule_id)
              FROM (SELECT (r->>'rule_id')::bigint AS rule_id, r->>'name' AS name, (r->>'points')::float8 AS points
                      FROM jsonb_array_elements(v.rules::text::jsonb->'rules') r) e)
      FROM leadqual.ruleset_versions v WHERE v.model = m ORDER BY v.version
$$;

-- a model and its rules in one transaction: one version
BEGIN;
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, framework)
VALUES ('vx', 'vx_leads', 20, 0, 'bant');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout) VALUES
 ('vx', 'head', 'title', 'ilike', 'head of%', 15, false),
 ('vx', 'industry', 'industry', 'in', '{manufacturing,logistics}', 10, false),
 ('vx', 'intern', 'title', 'iregex', 'intern|student', 0, true);
INSERT INTO leadqual.criterion_checks VALUES ('vx', 'bant', 'budget', 'budget_ok', 'eq', 'true');
-- not yet: it is made when the transaction commits
SELECT count(*) AS versions_before_commit FROM leadqual.ruleset_versions WHERE model = 'vx';
COMMIT;
SELECT * FROM vx_versions('vx');
-- the version is the model's rule set as it was committed
SELECT v.rules::text = leadqual.ruleset('vx'::text)::text AS version_is_the_model
  FROM leadqual.ruleset_versions v WHERE v.model = 'vx' AND v.version = 1;

-- several statements, one version; a rolled-back savepoint leaves nothing of its own
BEGIN;
UPDATE leadqual.rules SET points = 20 WHERE model = 'vx' AND name = 'head';
UPDATE leadqual.models SET mql_threshold = 25 WHERE model = 'vx';
SAVEPOINT s;
UPDATE leadqual.rules SET points = 99 WHERE model = 'vx' AND name = 'industry';
ROLLBACK TO SAVEPOINT s;
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('vx', 'webinar', 5);
COMMIT;
SELECT * FROM vx_versions('vx');
SELECT v.version, (v.rules::text::jsonb->>'mql_threshold') AS mql_threshold
  FROM leadqual.ruleset_versions v WHERE v.model = 'vx' ORDER BY v.version;

-- a rolled-back transaction: no version
BEGIN;
UPDATE leadqual.rules SET points = 1 WHERE model = 'vx';
ROLLBACK;
-- a transaction whose only change is a savepoint rolled back: none either
BEGIN;
SAVEPOINT s;
DELETE FROM leadqual.rules WHERE model = 'vx';
ROLLBACK TO SAVEPOINT s;
COMMIT;
-- unchanged content: none (rewriting the rows as they are, or changing and changing back)
UPDATE leadqual.rules SET points = points WHERE model = 'vx';
BEGIN;
UPDATE leadqual.rules SET points = 3 WHERE model = 'vx' AND name = 'head';
UPDATE leadqual.rules SET points = 20 WHERE model = 'vx' AND name = 'head';
COMMIT;
-- a description is not what the model scores with
UPDATE leadqual.models SET description = 'crm leads' WHERE model = 'vx';
SELECT max(version) AS still_two FROM leadqual.ruleset_versions WHERE model = 'vx';

-- SET CONSTRAINTS ... IMMEDIATE fires the trigger early; a later change of the same
-- transaction rewrites that version: still one version per transaction
BEGIN;
UPDATE leadqual.rules SET points = 12 WHERE model = 'vx' AND name = 'industry';
SET CONSTRAINTS ALL IMMEDIATE;
SELECT max(version) AS early_version FROM leadqual.ruleset_versions WHERE model = 'vx';
SET CONSTRAINTS ALL DEFERRED;
UPDATE leadqual.rules SET points = 13 WHERE model = 'vx' AND name = 'industry';
COMMIT;
SELECT * FROM vx_versions('vx');
-- and changed back after the early version: that version goes again
BEGIN;
UPDATE leadqual.rules SET points = 14 WHERE model = 'vx' AND name = 'industry';
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
UPDATE leadqual.rules SET points = 13 WHERE model = 'vx' AND name = 'industry';
COMMIT;
SELECT max(version) AS still_three FROM leadqual.ruleset_versions WHERE model = 'vx';

-- a checklist is part of what the model scores with: a new criterion of its framework
-- versions it (and every model whose rule set it changes)
INSERT INTO leadqual.frameworks (framework, description) VALUES ('vx_fw', 'test checklist');
INSERT INTO leadqual.criteria (framework, criterion) VALUES ('vx_fw', 'money');
UPDATE leadqual.models SET framework = 'vx_fw' WHERE model = 'vx';
SELECT max(version) AS after_framework FROM leadqual.ruleset_versions WHERE model = 'vx';
INSERT INTO leadqual.criteria (framework, criterion) VALUES ('vx_fw', 'champion');
SELECT max(version) AS after_criterion FROM leadqual.ruleset_versions WHERE model = 'vx';
UPDATE leadqual.models SET framework = 'bant' WHERE model = 'vx';

-- TRUNCATE (the owner's) versions at once, and the rest of the transaction joins it
BEGIN;
TRUNCATE leadqual.event_rules;
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('vx', 'demo', 7);
COMMIT;
SELECT v.version, v.rules::text::jsonb->'event_rules' AS event_rules
  FROM leadqual.ruleset_versions v
 WHERE v.model = 'vx' AND v.version = (SELECT max(version) FROM leadqual.ruleset_versions WHERE model = 'vx');

-- who: leadqual.actor when set, else the user
SET leadqual.actor = 'marketing: ana';
UPDATE leadqual.rules SET points = 16 WHERE model = 'vx' AND name = 'head';
RESET leadqual.actor;
SELECT created_by FROM leadqual.ruleset_versions WHERE model = 'vx' ORDER BY version DESC LIMIT 1;

-- a past version: ruleset(model, version), and scoring as it did
CREATE TEMP TABLE vx_sample AS
SELECT * FROM (VALUES (1, 'Head of IT', 'manufacturing'), (2, 'Head of Sales', 'retail'),
                      (3, 'Intern', 'logistics'), (4, 'Clerk', 'logistics')) v(id, title, industry);
SELECT s.id, leadqual.score(ROW(s.id, s.title, s.industry, 100, false, 0, NULL, NULL, false)::vx_leads,
                            leadqual.ruleset('vx', 1)) AS as_of_v1,
       leadqual.score(ROW(s.id, s.title, s.industry, 100, false, 0, NULL, NULL, false)::vx_leads,
                      leadqual.ruleset('vx', 2)) AS as_of_v2,
       leadqual.score(ROW(s.id, s.title, s.industry, 100, false, 0, NULL, NULL, false)::vx_leads, 'vx') AS today
  FROM vx_sample s ORDER BY s.id;
\set VERBOSITY default
SELECT leadqual.ruleset('vx', 99);
SELECT leadqual.ruleset('no such model', 1);
\set VERBOSITY terse
SELECT leadqual.ruleset(NULL, 1) IS NULL AS null_model, leadqual.ruleset('vx', NULL) IS NULL AS null_version;

-- stage_history.version: the version that decided each change; NULL for a person's
SELECT leadqual.attach('vx_leads', 'vx');
SELECT max(version) AS current_version FROM leadqual.ruleset_versions WHERE model = 'vx' \gset
INSERT INTO vx_leads (id, title, industry, employees) VALUES
 (1, 'Head of IT', 'manufacturing', 200), (2, 'Engineer', 'retail', 50), (3, 'Intern', 'logistics', 9);
UPDATE vx_leads SET stage = 'won' WHERE id = 2;
SELECT lead_id, old_stage, new_stage, manual, version = :current_version AS current_version, version
  FROM leadqual.stage_history WHERE lead_table = 'vx_leads'::regclass ORDER BY id;
-- a rule change and a lead in the same transaction: its version is made at commit, so
-- the change records NULL (not yet known); the next statement after commit records it
BEGIN;
UPDATE leadqual.rules SET points = 30 WHERE model = 'vx' AND name = 'industry';
INSERT INTO vx_leads (id, title, industry, employees) VALUES (4, 'Buyer', 'logistics', 10);
COMMIT;
INSERT INTO vx_leads (id, title, industry, employees) VALUES (5, 'Buyer', 'manufacturing', 10);
-- another model's change does not blur this one's
BEGIN;
INSERT INTO leadqual.models (model, lead_table) VALUES ('vx_other', 'vx_leads');
INSERT INTO vx_leads (id, title, industry, employees) VALUES (6, 'Head of Ops', 'retail', 10);
COMMIT;
SELECT lead_id, new_stage, version - :current_version AS versions_later
  FROM leadqual.stage_history WHERE lead_table = 'vx_leads'::regclass AND lead_id IN ('4', '5', '6')
 ORDER BY id;
-- which rules made lead 1 an MQL, as of the version that decided it (README)
SELECT h.lead_id, h.new_stage, h.version, e.name, e.points
  FROM leadqual.stage_history h
  JOIN leadqual.ruleset_versions v ON v.model = h.model AND v.version = h.version
  JOIN vx_leads l ON l.id::text = h.lead_id
 CROSS JOIN LATERAL leadqual.explain(l, v.rules) e
 WHERE h.lead_table = 'vx_leads'::regclass AND h.lead_id = '1' AND h.new_stage = 'mql'
 ORDER BY e.rule_id;

-- a renamed model: its history and versions keep the old name, the new name starts at 1
UPDATE leadqual.models SET model = 'vx_renamed' WHERE model = 'vx_other';
SELECT model, version FROM leadqual.ruleset_versions WHERE model LIKE 'vx_other%' OR model = 'vx_renamed'
 ORDER BY model, version;
-- a deleted model: its versions stay (history refers to them)
DELETE FROM leadqual.models WHERE model = 'vx_renamed';
SELECT count(*) AS versions_of_deleted FROM leadqual.ruleset_versions WHERE model = 'vx_renamed';

-- forget (GDPR) erases a lead's history and nothing of the versions
SELECT count(*) AS versions_before FROM leadqual.ruleset_versions \gset
SELECT leadqual.forget('vx_leads', '1');
SELECT count(*) = :versions_before AS versions_kept FROM leadqual.ruleset_versions;

-- ---------------------------------------------------------------------------------------
-- Privileges: a rule editor's change is versioned (as the owner), and nobody but the owner
-- writes versions; nothing the editor wrote runs as the owner.
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION public.vx_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE ROLE regress_vx_editor;
CREATE SCHEMA vx_ed AUTHORIZATION regress_vx_editor;
GRANT INSERT, UPDATE, DELETE ON leadqual.rules TO regress_vx_editor;
GRANT USAGE ON SEQUENCE leadqual.rules_rule_id_seq TO regress_vx_editor;
-- whoever runs the editor's code, and as whom
CREATE TABLE public.vx_ran (who text, what text);
GRANT INSERT ON public.vx_ran TO PUBLIC;
SET SESSION AUTHORIZATION regress_vx_editor;
-- an operator of the editor's for text, first on its search_path, that notes who ran it
CREATE FUNCTION vx_ed.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.vx_ran VALUES (current_user, 'operator =');
    RETURN a OPERATOR(pg_catalog.=) b;
END $$;
CREATE OPERATOR vx_ed.= (LEFTARG = text, RIGHTARG = text, FUNCTION = vx_ed.text_eq);
CREATE FUNCTION vx_ed.ruleset(m text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.vx_ran VALUES (current_user, 'ruleset()');
    RETURN m;
END $$;
SET search_path = vx_ed, pg_catalog, public;
SET leadqual.actor = '';
-- the editor's operator works (once, by the editor's own hand)
SELECT 'a'::text = 'a'::text AS editor_uses_its_operator;
-- (the editor's own statement names pg_catalog's operator: whatever runs the editor's is leadqual)
UPDATE leadqual.rules SET points = 17 WHERE model OPERATOR(pg_catalog.=) 'vx' AND name OPERATOR(pg_catalog.=) 'head';
SELECT created_by FROM leadqual.ruleset_versions WHERE model OPERATOR(pg_catalog.=) 'vx' ORDER BY version DESC LIMIT 1;
-- the editor cannot write versions, nor hang its own trigger on them
SELECT label, public.vx_try(stmt) FROM (VALUES
    (1, 'insert version', $$INSERT INTO leadqual.ruleset_versions (model, version, rules) SELECT 'vx', 100, rules FROM leadqual.ruleset_versions LIMIT 1$$),
    (2, 'delete versions', $$DELETE FROM leadqual.ruleset_versions$$),
    (3, 'update versions', $$UPDATE leadqual.ruleset_versions SET created_by = 'x'$$),
    (4, 'trigger on versions', $$CREATE TRIGGER x AFTER INSERT ON leadqual.ruleset_versions FOR EACH ROW EXECUTE FUNCTION vx_ed.nothing()$$),
    (5, 'wire the versions trigger', $$CREATE TABLE vx_ed.t (model text); CREATE CONSTRAINT TRIGGER x AFTER INSERT ON vx_ed.t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION leadqual.ruleset_version_trigger()$$),
    (6, 'read versions', $$SELECT count(*) FROM leadqual.ruleset_versions$$)
) t(n, label, stmt) ORDER BY n;
RESET search_path;
RESET SESSION AUTHORIZATION;
-- the editor's operator ran once, by the editor's own hand; never through leadqual: the versions
-- trigger uses pg_catalog's operators and leadqual's own ruleset()
SELECT who, what, count(*) FROM public.vx_ran GROUP BY 1, 2 ORDER BY 1, 2;
-- the owner's wiring on a table that is not leadqual's is refused at fire time
CREATE TABLE vx_fake (model text);
CREATE CONSTRAINT TRIGGER x AFTER INSERT ON vx_fake DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION leadqual.ruleset_version_trigger();
INSERT INTO vx_fake VALUES ('vx');
DROP TABLE vx_fake;

-- a dump's restore (check_function_bodies = off, as pg_dump's scripts set) records nothing:
-- the dump carries the versions
SET check_function_bodies = off;
UPDATE leadqual.rules SET points = 18 WHERE model = 'vx' AND name = 'head';
RESET check_function_bodies;
SELECT (v.rules::text::jsonb->'rules'->0->>'points') AS head_points_of_latest
  FROM leadqual.ruleset_versions v WHERE v.model = 'vx' ORDER BY v.version DESC LIMIT 1;
-- only a restore's (a superuser's, the extension owner's): a rule editor who turns it off
-- still leaves a version of its change
SET SESSION AUTHORIZATION regress_vx_editor;
SET check_function_bodies = off;
UPDATE leadqual.rules SET points = 19 WHERE model OPERATOR(pg_catalog.=) 'vx' AND name OPERATOR(pg_catalog.=) 'head';
RESET check_function_bodies;
RESET SESSION AUTHORIZATION;
SELECT (v.rules::text::jsonb->'rules'->0->>'points') AS head_points_of_latest, v.created_by
  FROM leadqual.ruleset_versions v WHERE v.model = 'vx' ORDER BY v.version DESC LIMIT 1;
-- nor can an editor make the version's write fail and commit the change without it
SET SESSION AUTHORIZATION regress_vx_editor;
BEGIN;
UPDATE leadqual.rules SET points = 20 WHERE model OPERATOR(pg_catalog.=) 'vx' AND name OPERATOR(pg_catalog.=) 'head';
SET TRANSACTION READ ONLY;
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT r.points AS head_points,
       (SELECT v.rules::text::jsonb->'rules'->0->>'points' FROM leadqual.ruleset_versions v
         WHERE v.model = 'vx' ORDER BY v.version DESC LIMIT 1) AS head_points_of_latest
  FROM leadqual.rules r WHERE r.model = 'vx' AND r.name = 'head';

-- clean up
SELECT leadqual.detach('vx_leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'vx_leads'::regclass;
DELETE FROM leadqual.models WHERE model = 'vx';
DELETE FROM leadqual.ruleset_versions WHERE model LIKE 'vx%';
DELETE FROM leadqual.criteria WHERE framework = 'vx_fw';
DELETE FROM leadqual.frameworks WHERE framework = 'vx_fw';
DROP TABLE vx_leads, public.vx_ran;
DROP FUNCTION vx_versions(text), public.vx_try(text);
REVOKE ALL ON leadqual.rules FROM regress_vx_editor;
REVOKE ALL ON SEQUENCE leadqual.rules_rule_id_seq FROM regress_vx_editor;
DROP SCHEMA vx_ed CASCADE;
DROP ROLE regress_vx_editor;

-- The latest version always holds what the model scores with once the transaction commits:
-- a version made inside a savepoint that is rolled back goes with it (and is made again at
-- commit), and one made by SET CONSTRAINTS ... IMMEDIATE is made again for the statements
-- after it (their rows fire the trigger before their statement moves the rule set's
-- generation on: the cache then still held the rules before them)
CREATE TABLE vi_leads (id int PRIMARY KEY, title text);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('vi', 'vi_leads', 5);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES ('vi', 'ceo', 'title', 'eq', 'CEO', 5);
CREATE FUNCTION vi_latest() RETURNS TABLE (versions bigint, points float8, latest_is_live boolean)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM leadqual.ruleset_versions WHERE model = 'vi'),
           (SELECT r.points FROM leadqual.rules r WHERE r.model = 'vi'),
           (SELECT v.rules::text = leadqual.ruleset('vi'::text)::text FROM leadqual.ruleset_versions v
             WHERE v.model = 'vi' ORDER BY v.version DESC LIMIT 1) $$;
SELECT * FROM vi_latest();
BEGIN;
UPDATE leadqual.rules SET points = 7 WHERE model = 'vi';
SAVEPOINT s;
SET CONSTRAINTS ALL IMMEDIATE;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM vi_latest();
SELECT count(*) FROM leadqual.ruleset('vi'::text) r;   -- the cache warm
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE leadqual.rules SET points = 10 WHERE model = 'vi';
COMMIT;
SELECT * FROM vi_latest();
BEGIN;
UPDATE leadqual.rules SET points = 8 WHERE model = 'vi';
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE leadqual.rules SET points = 9 WHERE model = 'vi';
COMMIT;
SELECT * FROM vi_latest();
DELETE FROM leadqual.models WHERE model = 'vi';
DELETE FROM leadqual.ruleset_versions WHERE model = 'vi';
DROP TABLE vi_leads;
DROP FUNCTION vi_latest();
