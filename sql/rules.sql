-- rules: validation when rules and models are written, canonical storage of values
SET client_min_messages = warning;

-- try(sql): runs a statement, returns 'ok' or SQLSTATE: message
CREATE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE TYPE rv_tier AS ENUM ('bronze', 'silver', 'gold');
CREATE DOMAIN rv_percent AS integer CHECK (VALUE BETWEEN 0 AND 100);
CREATE TABLE rv_leads (
    id        integer PRIMARY KEY,
    title     text,
    code      varchar(50),
    employees integer,
    big       bigint,
    revenue   numeric(10,2),
    ratio     double precision,
    created   date,
    seen_at   timestamptz,
    local_at  timestamp,
    flag      boolean,
    tier      rv_tier,
    pct       rv_percent,
    blob      bytea,
    pt        point,
    doc       json
);
INSERT INTO leadqual.models (model, lead_table) VALUES ('rv', 'rv_leads');

-- a valid rule per type goes in
SELECT try($$INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
    ('rv', 'ok text', 'title', 'eq', 'CTO', 1),
    ('rv', 'ok int', 'employees', 'between', '{50,5000}', 1),
    ('rv', 'ok enum', 'tier', 'ge', 'silver', 1),
    ('rv', 'ok domain', 'pct', 'in', '{10,20}', 1),
    ('rv', 'ok bytea', 'blob', 'eq', '\x00ff', 1)$$);

SELECT count(*) AS rules_before FROM leadqual.rules WHERE model = 'rv' \gset

-- each error, with its SQLSTATE
SELECT label, try(format($$INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
                            VALUES (%L, %L, %L, %L, %L, %s)$$, m, label, a, o, v, p)) AS result
FROM (VALUES
    (1, 'rv_nope', 'unknown model', 'title', 'eq', 'x', '1'),
    (2, 'rv', 'unknown column', 'no_such_column', 'eq', 'x', '1'),
    (3, 'rv', 'column names are case-sensitive', 'Title', 'eq', 'x', '1'),
    (4, 'rv', 'not an integer', 'employees', 'eq', 'many', '1'),
    (5, 'rv', 'integer out of range', 'employees', 'gt', '99999999999', '1'),
    (6, 'rv', 'not a bigint in list', 'big', 'in', '{1,two}', '1'),
    (7, 'rv', 'not a numeric', 'revenue', 'ge', '1,5', '1'),
    (8, 'rv', 'not a date', 'created', 'gt', '2026-13-45', '1'),
    (9, 'rv', 'date out of range', 'created', 'gt', '2026-02-30', '1'),
    (10, 'rv', 'not a timestamptz', 'seen_at', 'lt', 'soon', '1'),
    (11, 'rv', 'not a boolean', 'flag', 'eq', 'maybe', '1'),
    (12, 'rv', 'not an enum label', 'tier', 'eq', 'platinum', '1'),
    (13, 'rv', 'domain check fails', 'pct', 'gt', '150', '1'),
    (14, 'rv', 'like on integer', 'employees', 'like', '5%', '1'),
    (15, 'rv', 'ilike on date', 'created', 'ilike', '2026%', '1'),
    (16, 'rv', 'regex on boolean', 'flag', 'regex', 't', '1'),
    (17, 'rv', 'iregex on enum', 'tier', 'iregex', 'g', '1'),
    (18, 'rv', 'lt on point (no btree)', 'pt', 'lt', '(1,2)', '1'),
    (19, 'rv', 'eq on json (no btree)', 'doc', 'eq', '{}', '1'),
    (20, 'rv', 'invalid regex', 'title', 'regex', '(unclosed', '1'),
    (21, 'rv', 'invalid iregex', 'title', 'iregex', '[z-a]', '1'),
    (22, 'rv', 'like ends in escape', 'title', 'like', 'abc\', '1'),
    (23, 'rv', 'ilike ends in escape', 'title', 'ilike', '%\\\', '1'),
    (24, 'rv', 'between one value', 'employees', 'between', '{50}', '1'),
    (25, 'rv', 'between three values', 'employees', 'between', '{1,2,3}', '1'),
    (26, 'rv', 'between reversed', 'employees', 'between', '{5000,50}', '1'),
    (27, 'rv', 'between reversed dates', 'created', 'between', '{2026-12-31,2026-01-01}', '1'),
    (28, 'rv', 'between not an array', 'employees', 'between', '50-5000', '1'),
    (29, 'rv', 'in not an array', 'employees', 'in', '5', '1'),
    (30, 'rv', 'in empty', 'employees', 'in', '{}', '1'),
    (31, 'rv', 'in with NULL', 'title', 'in', '{a,NULL}', '1'),
    (32, 'rv', 'in two-dimensional', 'employees', 'in', '{{1,2},{3,4}}', '1'),
    (33, 'rv', 'NaN points', 'title', 'eq', 'x', '''NaN'''),
    (34, 'rv', 'Infinity points', 'title', 'eq', 'x', '''Infinity'''),
    (35, 'rv', 'minus Infinity points', 'title', 'eq', 'x', '''-Infinity'''),
    (36, 'rv', 'NULL value for eq', 'title', 'eq', NULL, '1'),
    (37, 'rv', 'NULL value for between', 'employees', 'between', NULL, '1'),
    (38, 'rv', 'NULL value for like', 'title', 'like', NULL, '1'),
    (39, 'rv', 'value for is_null', 'title', 'is_null', 'x', '1'),
    (40, 'rv', 'value for not_null', 'title', 'not_null', '', '1'),
    (41, 'rv', 'now for timestamptz', 'seen_at', 'lt', 'now', '1'),
    (42, 'rv', 'today for date', 'created', 'ge', 'today', '1'),
    (43, 'rv', 'Tomorrow for timestamp', 'local_at', 'lt', 'Tomorrow', '1'),
    (44, 'rv', 'yesterday in a between', 'created', 'between', '{yesterday,2030-01-01}', '1'),
    (45, 'rv', 'unknown operator', 'title', 'contains', 'x', '1'),
    (46, 'rv', 'date syntax', 'created', 'eq', 'garbage', '1'),
    (47, 'rv', 'timestamptz syntax', 'seen_at', 'eq', '2026-01-01 25:99', '1'),
    (48, 'rv', 'timestamptz in list syntax', 'seen_at', 'in', '{2026-01-01,garbage}', '1')
) AS t(n, m, label, a, o, v, p)
ORDER BY n;

-- the category CHECK and a duplicate name
SELECT try($$INSERT INTO leadqual.rules (model, name, category, attribute, op, value)
             VALUES ('rv', 'bad category', 'vibes', 'title', 'eq', 'x')$$);
SELECT try($$INSERT INTO leadqual.rules (model, name, attribute, op, value)
             VALUES ('rv', 'ok text', 'title', 'eq', 'x')$$);

-- a multi-row statement with one bad row writes nothing
SELECT try($$INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES
    ('rv', 'fine 1', 'title', 'eq', 'a'),
    ('rv', 'fine 2', 'title', 'eq', 'b'),
    ('rv', 'broken', 'employees', 'eq', 'b')$$);
SELECT count(*) = :rules_before AS nothing_written FROM leadqual.rules WHERE model = 'rv';

-- an UPDATE is validated too, and writes nothing when it fails
SELECT try($$UPDATE leadqual.rules SET value = 'lots' WHERE model = 'rv' AND name = 'ok int'$$);
SELECT try($$UPDATE leadqual.rules SET op = 'regex', value = 'x' WHERE model = 'rv' AND name = 'ok int'$$);
SELECT try($$UPDATE leadqual.rules SET attribute = 'gone' WHERE model = 'rv'$$);
SELECT name, attribute, op, value FROM leadqual.rules WHERE model = 'rv' ORDER BY rule_id;

-- a few errors raw, so that hint and context are visible
\set VERBOSITY default
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('rv', 'raw int', 'employees', 'eq', 'many');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('rv', 'raw col', 'no_such_column', 'eq', 'x');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('rv', 'raw like', 'employees', 'like', '5%');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('rv', 'raw between', 'employees', 'between', '{9,1}');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('rv', 'raw now', 'seen_at', 'gt', 'now');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('rv', 'raw regex', 'title', 'regex', '(a');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('rv_nope', 'raw model', 'title', 'eq', 'a');
\set VERBOSITY terse

-- canonical storage
SET TimeZone = 'Europe/Berlin';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
INSERT INTO leadqual.rules (name, model, attribute, op, value) VALUES
    ('c tstz', 'rv', 'seen_at', 'ge', '2026-06-01'),
    ('c tstz list', 'rv', 'seen_at', 'in', '{2026-06-01 12:00, "2026-01-01 00:00:00+05"}'),
    ('c date dmy', 'rv', 'created', 'eq', '01/02/2026'),
    ('c timestamp', 'rv', 'local_at', 'lt', '2026-06-01 8:30'),
    ('c numeric', 'rv', 'revenue', 'eq', '1.005'),
    ('c numeric list', 'rv', 'revenue', 'in', '{ 1.005 , 2.50,3 }'),
    ('c float', 'rv', 'ratio', 'gt', '0.1'),
    ('c float exp', 'rv', 'ratio', 'lt', '1e3'),
    ('c bool', 'rv', 'flag', 'eq', 'yes'),
    ('c int', 'rv', 'employees', 'eq', ' +042 '),
    ('c text list', 'rv', 'title', 'in', '{ "CTO" , "Head of \"X\"", plain}'),
    ('c text spaces', 'rv', 'title', 'eq', '  padded  '),
    ('c domain', 'rv', 'pct', 'between', '{ 05 ,50}'),
    ('c enum', 'rv', 'tier', 'not_in', '{gold}'),
    ('c is_null', 'rv', 'title', 'is_null', NULL),
    ('c like', 'rv', 'title', 'like', '%Head%');
SELECT name, value FROM leadqual.rules WHERE model = 'rv' AND name LIKE 'c %' ORDER BY rule_id;
-- the canonical value reads alike in another session setting and still matches
SET TimeZone = 'America/New_York';
SET DateStyle = 'Postgres, MDY';
INSERT INTO rv_leads (id, seen_at, created, revenue, local_at) VALUES
    (1, '2026-05-31 22:00:00+00', '2026-02-01', 1.005, '2026-06-01 08:29'),
    (2, '2026-05-31 21:59:59+00', '2026-01-02', 1.01, '2026-06-01 08:30');
SELECT id, e.name FROM rv_leads l, leadqual.explain(l, 'rv') e
 WHERE e.name IN ('c tstz', 'c date dmy', 'c numeric', 'c numeric list', 'c timestamp')
 ORDER BY id, e.rule_id;
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;

-- disabled rules are drafts: not validated until enabled (finite points are still checked)
SELECT count(*) AS rules_before FROM leadqual.rules WHERE model = 'rv' \gset
INSERT INTO leadqual.rules (model, name, attribute, op, value, enabled) VALUES
    ('rv', 'draft', 'employees', 'between', '{5000,50}', false),
    ('rv', 'draft col', 'nope', 'eq', 'x', false);
SELECT name, value, enabled FROM leadqual.rules WHERE model = 'rv' AND name LIKE 'draft%' ORDER BY name COLLATE "C";
SELECT try($$INSERT INTO leadqual.rules (model, name, attribute, op, value, points, enabled)
             VALUES ('rv', 'draft nan', 'title', 'eq', 'x', 'NaN', false)$$);
SELECT try($$UPDATE leadqual.rules SET enabled = true WHERE model = 'rv' AND name = 'draft'$$);
SELECT try($$UPDATE leadqual.rules SET enabled = true WHERE model = 'rv' AND name = 'draft col'$$);
SELECT name, enabled FROM leadqual.rules WHERE model = 'rv' AND name LIKE 'draft%' ORDER BY name COLLATE "C";
SELECT try($$UPDATE leadqual.rules SET enabled = true, value = '{50,5000}' WHERE model = 'rv' AND name = 'draft'$$);
SELECT name, value, enabled FROM leadqual.rules WHERE model = 'rv' AND name = 'draft';
-- scoring ignores the remaining disabled draft (its column does not even exist)
SELECT leadqual.score(l, 'rv') IS NOT NULL AS scores FROM rv_leads l WHERE id = 1;

-- changing a model's lead_table re-validates its rules
CREATE TABLE rv_leads2 (id integer, title text, employees integer);
CREATE TABLE rv_leads3 AS SELECT * FROM rv_leads;
INSERT INTO leadqual.models (model, lead_table) VALUES ('rv2', 'rv_leads3');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES
    ('rv2', 'uses tier', 'tier', 'eq', 'gold'),
    ('rv2', 'uses title', 'title', 'ilike', '%cto%');
INSERT INTO leadqual.rules (model, name, attribute, op, value, enabled) VALUES
    ('rv2', 'disabled uses seen', 'seen_at', 'gt', '2026-01-01', false);
\set VERBOSITY default
UPDATE leadqual.models SET lead_table = 'rv_leads2' WHERE model = 'rv2';
\set VERBOSITY terse
SELECT lead_table FROM leadqual.models WHERE model = 'rv2';
-- once the rule is disabled the change goes through (the disabled rule is not checked)
UPDATE leadqual.rules SET enabled = false WHERE model = 'rv2' AND name = 'uses tier';
UPDATE leadqual.models SET lead_table = 'rv_leads2' WHERE model = 'rv2';
SELECT lead_table FROM leadqual.models WHERE model = 'rv2';
SELECT try($$UPDATE leadqual.rules SET enabled = true WHERE model = 'rv2' AND name = 'uses tier'$$);

-- models: unknown lead table, engagement column checks
SELECT try($$INSERT INTO leadqual.models (model, lead_table) VALUES ('m1', 'no_such_table')$$);
SELECT try($$INSERT INTO leadqual.models (model, lead_table) VALUES ('m2', 'rv_leads_pkey')$$);
SELECT try($$INSERT INTO leadqual.models (model, lead_table, engagement_column) VALUES ('m3', 'rv_leads', 'nope')$$);
SELECT try($$INSERT INTO leadqual.models (model, lead_table, engagement_column) VALUES ('m4', 'rv_leads', 'title')$$);
SELECT try($$INSERT INTO leadqual.models (model, lead_table, engagement_column) VALUES ('m5', 'rv_leads', 'ratio')$$);
SELECT try($$INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('m6', 'rv_leads', 'Infinity')$$);
SELECT try($$INSERT INTO leadqual.models (model, lead_table, fit_threshold) VALUES ('m7', 'rv_leads', 'NaN')$$);
SELECT try($$UPDATE leadqual.models SET engagement_column = 'title' WHERE model = 'm5'$$);
SELECT model, engagement_column FROM leadqual.models WHERE model LIKE 'm_' ORDER BY model COLLATE "C";

-- criterion checks are validated like rules
SELECT try($$INSERT INTO leadqual.criterion_checks VALUES ('rv', 'bant', 'budget', 'flag', 'eq', 'perhaps')$$);
SELECT try($$INSERT INTO leadqual.criterion_checks VALUES ('rv', 'bant', 'budget', 'nope', 'eq', 'true')$$);
SELECT try($$INSERT INTO leadqual.criterion_checks VALUES ('rv', 'bant', 'budget', 'flag', 'eq', 'on')$$);
SELECT model, criterion, value FROM leadqual.criterion_checks WHERE model = 'rv';

-- clean up this file's models
DELETE FROM leadqual.models WHERE model IN ('rv', 'rv2', 'm5');
