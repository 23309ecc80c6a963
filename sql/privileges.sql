-- privileges: owners write the configuration, PUBLIC reads it and scores
SET client_min_messages = warning;
CREATE OR REPLACE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE ROLE regress_lq_user;
CREATE SCHEMA regress_lq AUTHORIZATION regress_lq_user;
SET ROLE regress_lq_user;
CREATE TABLE regress_lq.leads (id integer PRIMARY KEY, title text, employees integer);
INSERT INTO regress_lq.leads VALUES (1, 'CTO', 300), (2, 'intern', 3), (3, NULL, NULL);
RESET ROLE;
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('priv', 'regress_lq.leads', 10);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
    ('priv', 'cto', 'title', 'regex', '^C', 10),
    ('priv', 'size', 'employees', 'between', '{50,5000}', 5);

SET ROLE regress_lq_user;
-- writing the configuration needs grants
SELECT label, try(stmt) AS result FROM (VALUES
    (1, 'insert rule', $$INSERT INTO leadqual.rules (model, name, attribute, op, value) VALUES ('priv', 'x', 'title', 'eq', 'x')$$),
    (2, 'update rule', $$UPDATE leadqual.rules SET points = 100 WHERE model = 'priv'$$),
    (3, 'delete rule', $$DELETE FROM leadqual.rules WHERE model = 'priv'$$),
    (4, 'truncate rules', $$TRUNCATE leadqual.rules$$),
    (5, 'insert model', $$INSERT INTO leadqual.models (model, lead_table) VALUES ('mine', 'regress_lq.leads')$$),
    (6, 'update model', $$UPDATE leadqual.models SET mql_threshold = 0$$),
    (7, 'insert event rule', $$INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('priv', 'x', 1)$$),
    (8, 'insert criterion check', $$INSERT INTO leadqual.criterion_checks VALUES ('priv', 'bant', 'need', 'title', 'eq', 'x')$$),
    (9, 'bump the generation', $$UPDATE leadqual.config_generation SET generation = 0$$),
    (10, 'read stage history', $$SELECT count(*) FROM leadqual.stage_history$$),
    (11, 'read rules', $$SELECT count(*) FROM leadqual.rules$$),
    (12, 'read rule_problems', $$SELECT count(*) FROM leadqual.rule_problems$$)
) AS t(n, label, stmt) ORDER BY n;
-- PUBLIC scores its own table
SELECT id, leadqual.score(l, 'priv') AS score, leadqual.classify(l, 'priv') AS stage
  FROM regress_lq.leads l ORDER BY id;
RESET ROLE;
SELECT count(*) AS rules_unchanged FROM leadqual.rules WHERE model = 'priv' AND points IN (10, 5);

-- the extension reads the rules whatever the caller may read
REVOKE SELECT ON leadqual.rules, leadqual.models, leadqual.criteria, leadqual.criterion_checks FROM PUBLIC;
SET ROLE regress_lq_user;
SELECT try('SELECT count(*) FROM leadqual.rules') AS reading_rules;
SELECT id, leadqual.score(l, 'priv') AS score, e.name
  FROM regress_lq.leads l LEFT JOIN LATERAL leadqual.explain(l, 'priv') e ON true
 ORDER BY id, e.rule_id;
SELECT (leadqual.qualify(l, 'priv', 'bant')).missing FROM regress_lq.leads l WHERE id = 1;
RESET ROLE;
-- a rule change is seen by the unprivileged session too
UPDATE leadqual.rules SET points = 20 WHERE model = 'priv' AND name = 'cto';
SET ROLE regress_lq_user;
SELECT id, leadqual.score(l, 'priv') AS score FROM regress_lq.leads l ORDER BY id;
RESET ROLE;
GRANT SELECT ON leadqual.rules, leadqual.models, leadqual.criteria, leadqual.criterion_checks TO PUBLIC;

-- a writer granted INSERT can add rules (validation and the generation bump need nothing more)
GRANT INSERT, UPDATE ON leadqual.rules TO regress_lq_user;
SET ROLE regress_lq_user;
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES ('priv', 'intern', 'title', 'eq', 'intern', -3);
SELECT id, leadqual.score(l, 'priv') AS score FROM regress_lq.leads l ORDER BY id;
RESET ROLE;
REVOKE INSERT, UPDATE ON leadqual.rules FROM regress_lq_user;

-- EXECUTE governs who may score
REVOKE EXECUTE ON FUNCTION leadqual.score(record, text) FROM PUBLIC;
SET ROLE regress_lq_user;
SELECT try($$SELECT leadqual.score(l, 'priv') FROM regress_lq.leads l$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION leadqual.score(record, text) TO PUBLIC;

DELETE FROM leadqual.models WHERE model = 'priv';
DROP SCHEMA regress_lq CASCADE;
DROP ROLE regress_lq_user;
