-- hostile: quotes, semicolons, backslashes and very long names are data or errors, never code
SET client_min_messages = warning;
CREATE OR REPLACE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE TABLE victim (x integer);
INSERT INTO victim VALUES (1);
CREATE TABLE "h_leads; DROP TABLE victim; --" (
    id integer PRIMARY KEY,
    "a""b; DROP TABLE victim; --" text,
    "Mixed Case" integer,
    "e'); DROP TABLE victim; --" double precision,
    plain text
);
INSERT INTO "h_leads; DROP TABLE victim; --" VALUES
    (1, 'x''; DROP TABLE victim; --', 7, 2.5, 'back\slash'),
    (2, 'harmless', 8, NULL, 'O''Brien');

-- a hostile model name, lead table name, attribute and engagement column
INSERT INTO leadqual.models (model, lead_table, engagement_column) VALUES
    ('m''; DROP TABLE victim; --', '"h_leads; DROP TABLE victim; --"', 'e''); DROP TABLE victim; --');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
    ('m''; DROP TABLE victim; --', 'r"; DROP TABLE victim; --', 'a"b; DROP TABLE victim; --', 'eq',
     'x''; DROP TABLE victim; --', 10),
    ('m''; DROP TABLE victim; --', 'mixed', 'Mixed Case', 'in', '{7,"8"}', 1),
    ('m''; DROP TABLE victim; --', 'backslash', 'plain', 'like', 'back\\slash', 100),
    ('m''; DROP TABLE victim; --', 'quote', 'plain', 'regex', '^O''B', 1000),
    ('m''; DROP TABLE victim; --', 'list', 'plain', 'in', '{"O''Brien","a\\b","; DROP TABLE victim; --"}', 10000);
SELECT name, attribute, value FROM leadqual.rules WHERE model = 'm''; DROP TABLE victim; --' ORDER BY rule_id;
SELECT id, leadqual.score(l, 'm''; DROP TABLE victim; --') AS score
  FROM "h_leads; DROP TABLE victim; --" l ORDER BY id;
SELECT id, e.name FROM "h_leads; DROP TABLE victim; --" l,
       leadqual.explain(l, 'm''; DROP TABLE victim; --') e ORDER BY id, e.rule_id NULLS LAST;

-- errors, never executed
SELECT label, try(stmt) AS result FROM (VALUES
    (1, 'unknown hostile model', $$SELECT leadqual.score(l, '''; DROP TABLE victim; --') FROM "h_leads; DROP TABLE victim; --" l$$),
    (2, 'unknown hostile attribute', $$INSERT INTO leadqual.rules (model, name, attribute, op, value)
        VALUES ('m''; DROP TABLE victim; --', 'x', '"; DROP TABLE victim; --', 'eq', '1')$$),
    (3, 'hostile value for an integer', $$INSERT INTO leadqual.rules (model, name, attribute, op, value)
        VALUES ('m''; DROP TABLE victim; --', 'y', 'Mixed Case', 'eq', '1; DROP TABLE victim')$$),
    (4, 'hostile operator', $$INSERT INTO leadqual.rules (model, name, attribute, op, value)
        VALUES ('m''; DROP TABLE victim; --', 'z', 'plain', 'eq; DROP TABLE victim', '1')$$),
    (5, 'hostile engagement column', $$INSERT INTO leadqual.models (model, lead_table, engagement_column)
        VALUES ('m2', 'victim', 'x; DROP TABLE victim')$$),
    (6, 'hostile lead table', $$INSERT INTO leadqual.models (model, lead_table)
        VALUES ('m3', 'victim; DROP TABLE victim')$$),
    (7, 'hostile framework', $$SELECT leadqual.qualify(l, 'm''; DROP TABLE victim; --', '''); DROP TABLE victim; --')
        FROM "h_leads; DROP TABLE victim; --" l$$)
) AS t(n, label, stmt) ORDER BY n;

-- very long names (1000 characters)
INSERT INTO leadqual.models (model, lead_table) VALUES (repeat('m', 1000), '"h_leads; DROP TABLE victim; --"');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
    VALUES (repeat('m', 1000), repeat('r', 1000), 'plain', 'in', '{' || repeat('v', 1000) || ',harmless}', 1);
SELECT left(try(format($$INSERT INTO leadqual.rules (model, name, attribute, op, value)
                    VALUES (%L, 'long attribute', %L, 'eq', 'x')$$, repeat('m', 1000), repeat('a', 1000))), 30);
SELECT length(model), length(name), length(value) FROM leadqual.rules WHERE model = repeat('m', 1000);
SELECT id, leadqual.score(l, repeat('m', 1000)) FROM "h_leads; DROP TABLE victim; --" l ORDER BY id;
SELECT left(try(format('SELECT leadqual.score(l, %L) FROM "h_leads; DROP TABLE victim; --" l', repeat('z', 1000))), 40);

-- the guard's message quotes names too
SELECT try('ALTER TABLE "h_leads; DROP TABLE victim; --" DROP COLUMN "a""b; DROP TABLE victim; --"');

-- the victim survived everything
SELECT x AS victim_still_there FROM victim;
DELETE FROM leadqual.models WHERE model IN ('m''; DROP TABLE victim; --', repeat('m', 1000));
