-- lifecycle: attach, stage semantics, history, rescore
CREATE TABLE crm_leads (
    id           bigint PRIMARY KEY,
    title        text,
    industry     text,
    employees    int,
    budget_ok    boolean NOT NULL DEFAULT false,
    authority_ok boolean NOT NULL DEFAULT false,
    score        double precision,
    stage        leadqual.stage,
    stage_locked boolean NOT NULL DEFAULT false
);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, framework)
VALUES ('crm', 'crm_leads', 20, 0, 'bant');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout) VALUES
 ('crm', 'head', 'title', 'ilike', 'head of%', 15, false),
 ('crm', 'industry', 'industry', 'in', '{manufacturing,logistics}', 10, false),
 ('crm', 'tiny', 'employees', 'lt', '10', -10, false),
 ('crm', 'intern', 'title', 'iregex', 'intern|student', 0, true);
INSERT INTO leadqual.criterion_checks VALUES
 ('crm', 'bant', 'budget', 'budget_ok', 'eq', 'true'),
 ('crm', 'bant', 'authority', 'authority_ok', 'eq', 'true'),
 ('crm', 'bant', 'need', 'industry', 'not_null', NULL),
 ('crm', 'bant', 'timeline', 'employees', 'gt', '0');
SELECT leadqual.attach('crm_leads', 'crm');
SET leadqual.actor = 'importer';
INSERT INTO crm_leads (id, title, industry, employees) VALUES
 (1, 'Head of IT', 'manufacturing', 200),
 (2, 'Engineer', 'retail', 50),
 (3, 'Intern', 'manufacturing', 300),
 (4, 'Head of Sales', 'retail', 5);
INSERT INTO crm_leads (id, title, industry, employees, stage) VALUES (5, 'Buyer', 'retail', 100, 'mql');
SELECT id, score, stage, stage_locked FROM crm_leads ORDER BY id;
-- BANT confirmed: the MQL becomes an SQL
SET leadqual.actor = 'sales: maria';
UPDATE crm_leads SET budget_ok = true, authority_ok = true WHERE id = 1;
-- a person marks a lead won; a person releases a lock
UPDATE crm_leads SET stage = 'won' WHERE id = 2;
UPDATE crm_leads SET stage = NULL WHERE id = 5;
-- the intern's data improves: recovers from disqualified
UPDATE crm_leads SET title = 'Head of Engineering' WHERE id = 3;
-- an update that keeps the stage writes no history
UPDATE crm_leads SET employees = employees + 1 WHERE id = 4;
SELECT id, score, stage, stage_locked FROM crm_leads ORDER BY id;
SELECT lead_id, model, old_stage, new_stage, score, manual, changed_by
  FROM leadqual.stage_history WHERE lead_table = 'crm_leads'::regclass ORDER BY id;
SELECT * FROM leadqual.qualify(ROW(1, 'Head of IT', 'manufacturing', 200, true, false, NULL, NULL, false)::crm_leads, 'crm');
-- rescore after a rule change
RESET leadqual.actor;
UPDATE leadqual.rules SET points = CASE name WHEN 'tiny' THEN 0 WHEN 'head' THEN 20 ELSE points END
 WHERE model = 'crm';
CALL leadqual.rescore('crm_leads', 2);
SELECT id, score, stage, stage_locked FROM crm_leads ORDER BY id;
SELECT lead_id, old_stage, new_stage, score, manual FROM leadqual.stage_history
 WHERE lead_table = 'crm_leads'::regclass AND changed_by = current_user ORDER BY id;
BEGIN;
CALL leadqual.rescore('crm_leads');
ROLLBACK;
-- attach errors
SELECT leadqual.attach('crm_leads', 'crm');
DELETE FROM leadqual.models WHERE model = 'crm';
CREATE TABLE nopk (id int, score float8, stage leadqual.stage, stage_locked boolean);
INSERT INTO leadqual.models (model, lead_table) VALUES ('nopk', 'nopk');
SELECT leadqual.attach('nopk', 'nopk');
SELECT leadqual.attach('crm_leads', 'nopk');
SELECT leadqual.detach('crm_leads');
SELECT leadqual.detach('crm_leads');
