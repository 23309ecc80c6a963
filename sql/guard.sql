-- guard: DDL that would break an enabled rule is refused; rule_problems; scoring skips broken rules
SET client_min_messages = warning;
CREATE OR REPLACE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE TYPE g_tier AS ENUM ('bronze', 'silver', 'gold');
CREATE DOMAIN g_pct AS integer CHECK (VALUE <= 200);
CREATE TABLE g_leads (
    id        integer PRIMARY KEY,
    employees integer,
    code      varchar(50),
    title     text,
    tier      g_tier,
    pct       g_pct,
    unused    integer,
    draft_col integer
);
INSERT INTO g_leads VALUES (1, 250, 'X1', 'CTO', 'gold', 150, 0, 0),
                           (2, 10, 'Y2', 'intern', 'bronze', 5, 0, 0);
INSERT INTO leadqual.models (model, lead_table) VALUES ('g', 'g_leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
    ('g', 'size band', 'employees', 'between', '{50,5000}', 6),
    ('g', 'code', 'code', 'like', 'X%', 1),
    ('g', 'cto', 'title', 'eq', 'CTO', 10),
    ('g', 'gold', 'tier', 'eq', 'gold', 3),
    ('g', 'high pct', 'pct', 'eq', '150', 2);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, enabled) VALUES
    ('g', 'draft', 'draft_col', 'eq', '1', 1, false);
SELECT id, leadqual.score(l, 'g') FROM g_leads l ORDER BY id;

-- a type change that breaks a rule is refused, naming the rule
\set VERBOSITY default
ALTER TABLE g_leads ALTER COLUMN employees TYPE boolean USING employees > 100;
\set VERBOSITY terse
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'g_leads'::regclass AND attname = 'employees';
-- harmless changes pass: varchar(50) -> text, a bigger integer type, an unused column
ALTER TABLE g_leads ALTER COLUMN code TYPE text;
ALTER TABLE g_leads ALTER COLUMN employees TYPE bigint;
ALTER TABLE g_leads DROP COLUMN unused;
ALTER TABLE g_leads ADD COLUMN added integer;
-- a column used only by a disabled rule may go
ALTER TABLE g_leads DROP COLUMN draft_col;
SELECT id, leadqual.score(l, 'g') FROM g_leads l ORDER BY id;

-- dropping or renaming a used column, dropping the table, the schema: refused
SELECT try('ALTER TABLE g_leads DROP COLUMN title');
SELECT try('ALTER TABLE g_leads DROP COLUMN title CASCADE');
SELECT try('ALTER TABLE g_leads RENAME COLUMN title TO job_title');
SELECT try('ALTER TABLE g_leads ALTER COLUMN title TYPE integer USING length(title)');
SELECT try('DROP TABLE g_leads');
SELECT try('DROP TABLE g_leads CASCADE');
SELECT try('ALTER TYPE g_tier RENAME VALUE ''gold'' TO ''golden''');
SELECT try('ALTER DOMAIN g_pct ADD CONSTRAINT g_pct_100 CHECK (VALUE <= 100) NOT VALID');
SELECT try('DROP TYPE g_tier CASCADE');
CREATE SCHEMA g_schema;
CREATE TABLE g_schema.leads (id integer, title text);
CREATE VIEW g_schema.leads_v AS SELECT id, title FROM g_schema.leads;
INSERT INTO leadqual.models (model, lead_table) VALUES ('gs', 'g_schema.leads_v');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('gs', 'cto', 'title', 'eq', 'CTO');
SELECT try('DROP SCHEMA g_schema CASCADE');
SELECT try('DROP VIEW g_schema.leads_v');
SELECT try('DROP TABLE g_schema.leads CASCADE');
SELECT try('CREATE OR REPLACE VIEW g_schema.leads_v AS SELECT id, title, 1 AS extra FROM g_schema.leads');
SELECT try('ALTER VIEW g_schema.leads_v RENAME COLUMN title TO t');
SELECT count(*) AS still_there FROM pg_class WHERE oid IN ('g_leads'::regclass, 'g_schema.leads_v'::regclass);
SELECT count(*) AS problems FROM leadqual.rule_problems;

-- leadqual.ddl_guard is a superuser setting
CREATE ROLE g_user;
SET ROLE g_user;
SELECT try('SET leadqual.ddl_guard = off');
RESET ROLE;
DROP ROLE g_user;

-- off: the migration goes through, and rule_problems lists what it broke
SET leadqual.ddl_guard = off;
ALTER TABLE g_leads ALTER COLUMN employees TYPE boolean USING employees > 100;
ALTER TYPE g_tier RENAME VALUE 'gold' TO 'golden';
RESET leadqual.ddl_guard;
SELECT model, kind, name, attribute, problem, sqlstate FROM leadqual.rule_problems
 ORDER BY model COLLATE "C", rule_id;

-- scoring skips the broken rules, with one WARNING per rule and backend
SELECT id, leadqual.score(l, 'g') FROM g_leads l ORDER BY id;
SELECT id, leadqual.score(l, 'g') FROM g_leads l ORDER BY id;
SELECT id, e.name FROM g_leads l, leadqual.explain(l, 'g') e ORDER BY id, e.rule_id;
-- a new rule on a good column still works; a new rule cannot use the broken column wrongly
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES ('g', 'pct low', 'pct', 'lt', '10', 1);
SELECT try($$INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('g', 'x', 'employees', 'between', '{1,2}')$$);
SELECT id, leadqual.score(l, 'g') FROM g_leads l ORDER BY id;

-- while a rule is broken, DDL on an unrelated table is not this guard's business
CREATE TABLE g_unrelated (x integer);
CREATE TABLE g_unrelated2 (x integer);
SELECT try('ALTER TABLE g_unrelated ADD COLUMN y integer') AS alter_unrelated;
SELECT try('DROP TABLE g_unrelated2') AS drop_unrelated;

-- fixing the rules clears the problems
UPDATE leadqual.rules SET op = 'eq', value = 'true' WHERE model = 'g' AND name = 'size band';
UPDATE leadqual.rules SET value = 'golden' WHERE model = 'g' AND name = 'gold';
SELECT count(*) AS problems FROM leadqual.rule_problems;
SELECT id, leadqual.score(l, 'g') FROM g_leads l ORDER BY id;

-- dropping a lead table with the guard off leaves a model problem; a row with the
-- columns the rules name can still be scored
SET leadqual.ddl_guard = off;
DROP SCHEMA g_schema CASCADE;
RESET leadqual.ddl_guard;
SELECT model, kind, name, problem, sqlstate FROM leadqual.rule_problems ORDER BY 1, 2, 3;
SELECT id, leadqual.score(l, 'gs') FROM g_leads l ORDER BY id;
DELETE FROM leadqual.models WHERE model = 'gs';
SELECT count(*) AS problems FROM leadqual.rule_problems;
DROP TABLE IF EXISTS g_unrelated, g_unrelated2;
