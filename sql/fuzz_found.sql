-- fuzz_found: what the fuzz test (test/t/fuzz.sh) found, each kept as a regression test
\set VERBOSITY terse
CREATE TABLE ff_leads (id integer PRIMARY KEY, x integer);
INSERT INTO leadqual.models (model, lead_table) VALUES ('ff', 'ff_leads');

-- NOT NULL is checked after BEFORE triggers: a NULL model, name, attribute or op reached
-- rule validation and crashed the server.  Now the constraint reports it (23502).
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('ff', 'r', 'x', NULL, '1');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('ff', 'r', NULL, 'eq', '1');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES (NULL, 'r', 'x', 'eq', '1');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('ff', NULL, 'x', 'eq', '1');
INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('ff', 'r', 'x', 'eq', '1');
UPDATE leadqual.rules SET op = NULL WHERE model = 'ff';
UPDATE leadqual.rules SET attribute = NULL WHERE model = 'ff';
-- the same for criterion checks and models
INSERT INTO leadqual.criterion_checks (model, framework, criterion, attribute, op, value)
    VALUES ('ff', 'bant', 'budget', 'x', NULL, '1');
INSERT INTO leadqual.criterion_checks (model, framework, criterion, attribute, op, value)
    VALUES ('ff', 'bant', 'budget', NULL, 'eq', '1');
INSERT INTO leadqual.criterion_checks (model, framework, criterion, attribute, op, value)
    VALUES (NULL, 'bant', 'budget', 'x', 'eq', '1');
INSERT INTO leadqual.criterion_checks (model, framework, criterion, attribute, op, value)
    VALUES ('ff', NULL, 'budget', 'x', 'eq', '1');
INSERT INTO leadqual.models (model, lead_table) VALUES (NULL, 'ff_leads');
INSERT INTO leadqual.models (model, lead_table) VALUES ('ff2', NULL);

-- leadqual.check_predicate (not strict: a NULL value is an is_null rule's) crashed on a
-- NULL model, label, attribute or op
SELECT leadqual.check_predicate(NULL, 'l', 'x', 'eq', '1');
SELECT leadqual.check_predicate('ff', NULL, 'x', 'eq', '1');
SELECT leadqual.check_predicate('ff', 'l', NULL, 'eq', '1');
SELECT leadqual.check_predicate('ff', 'l', 'x', NULL, '1');
SELECT leadqual.check_predicate('ff', 'l', 'x', 'is_null', NULL) IS NULL AS is_null_ok;

-- the backend survived all of it
SELECT name, attribute, op, value FROM leadqual.rules WHERE model = 'ff';
DELETE FROM leadqual.models WHERE model = 'ff';
DROP TABLE ff_leads;
