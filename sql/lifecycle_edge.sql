-- lifecycle_edge: a lead is never lost; manual decisions at the edges; history exact;
-- privileges; attach and rescore refusals
SET leadqual.actor = 'edge';
CREATE TABLE odd_leads (
    id           bigint PRIMARY KEY,
    name         text,
    title        varchar(200),
    country      text,
    employees    int,
    big          bigint,
    revenue      float8,
    ratio        real,
    amount       numeric,
    note         text,
    score        double precision,
    stage        leadqual.stage,
    stage_locked boolean                 -- nullable: the trigger always fills it
);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold)
VALUES ('odd', 'odd_leads', 10, 0);
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout) VALUES
 ('odd', 'head', 'fit', 'title', 'ilike', '%head%', 5, false),
 ('odd', 'umlaut', 'fit', 'name', 'regex', 'ö', 2, false),
 ('odd', 'rocket', 'intent', 'name', 'like', '%🚀%', 3, false),
 ('odd', 'dach', 'fit', 'country', 'in', '{DE,AT,CH,""}', 1, false),
 ('odd', 'size', 'fit', 'employees', 'between', '{50,5000}', 4, false),
 ('odd', 'huge id', 'intent', 'big', 'gt', '1000000000000000', 1, false),
 ('odd', 'rich', 'fit', 'revenue', 'ge', '1000000', 3, false),
 ('odd', 'in debt', 'fit', 'revenue', 'lt', '0', -20, false),
 ('odd', 'ratio', 'intent', 'ratio', 'gt', '0.5', 1, false),
 ('odd', 'amount', 'intent', 'amount', 'ge', '100', 1, false),
 ('odd', 'no note', 'intent', 'note', 'is_null', NULL, -1, false),
 ('odd', 'long note', 'intent', 'note', 'regex', 'x{200}', 2, false),
 ('odd', 'empty title', 'fit', 'title', 'eq', '', 0, true);
SELECT leadqual.attach('odd_leads', 'odd');
-- every insert succeeds and every lead gets a score and a stage
INSERT INTO odd_leads (id) VALUES (1);
INSERT INTO odd_leads (id, name, title, country, note) VALUES (2, '', '', '', '');
INSERT INTO odd_leads (id, revenue, ratio, amount) VALUES
 (3, 1e308, 3.4e38, 1e1000),
 (4, -1e308, -3.4e38, -1e1000),
 (5, 'NaN', 'NaN', 'NaN'),
 (6, 'Infinity', 'Infinity', 'Infinity'),
 (7, '-Infinity', '-Infinity', '-Infinity');
INSERT INTO odd_leads (id, employees, big) VALUES
 (8, 2147483647, 9223372036854775807),
 (9, -2147483648, -9223372036854775808);
INSERT INTO odd_leads (id, name, title, country) VALUES
 (10, 'Größe Straße', 'Head of Einkauf', 'AT'),
 (11, 'Rocket 🚀 Ltd 😀', 'HEAD OF 🚀', 'CH'),
 (12, E'tab\there\nnewline', 'head' || chr(160) || 'of', 'DE');
INSERT INTO odd_leads (id, note, title) VALUES (13, repeat('x', 100000), repeat('Head ', 40));
-- a long note that does not compress: stored out of line, read back on UPDATE
INSERT INTO odd_leads (id, note)
SELECT 14, string_agg(md5(i::text), '') || repeat('x', 1000) FROM generate_series(1, 3000) i;
SELECT id, score, stage, stage_locked FROM odd_leads ORDER BY id;
SELECT count(*) AS leads, count(score) AS scored, count(stage) AS staged,
       bool_and(score = leadqual.score(l, 'odd')) AS scores_agree,
       bool_and(stage = leadqual.classify(l, 'odd')) AS stages_agree
  FROM odd_leads l;
SELECT pg_column_size(note) < 100000 AS toasted FROM odd_leads WHERE id = 14;
UPDATE odd_leads SET country = 'DE' WHERE id IN (13, 14);
SELECT id, score, stage FROM odd_leads WHERE id IN (13, 14) ORDER BY id;
SELECT count(*) AS history_rows, count(DISTINCT lead_id) AS leads
  FROM leadqual.stage_history WHERE lead_table = 'odd_leads'::regclass;
-- COPY goes through the trigger and scores every row
COPY odd_leads (id, name, title, country, employees, revenue, note) FROM STDIN WITH (FORMAT csv);
20,Anna Größe,Head of IT,DE,200,2000000,
21,,,,,,
22,"Quote ""🚀""",intern,US,-1,NaN,x
23,Dora,,,,-5,""
\.
SELECT id, score, stage, stage_locked FROM odd_leads WHERE id >= 20 ORDER BY id;
SELECT lead_id, old_stage, new_stage, score, manual, changed_by FROM leadqual.stage_history
 WHERE lead_table = 'odd_leads'::regclass AND lead_id::int >= 20 ORDER BY id;

-- a stage column of type text
CREATE TABLE text_leads (
    id     int PRIMARY KEY,
    title  text,
    score  real,
    stage  text,
    locked boolean NOT NULL DEFAULT false
);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('text', 'text_leads', 5);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('text', 'head', 'title', 'ilike', '%head%', 5),
       ('text', 'tenth', 'title', 'ilike', '%e%', 0.1);  -- a real column rounds 5.1
SELECT leadqual.attach('text_leads', 'text', locked_column => 'locked');
INSERT INTO text_leads (id, title) VALUES (1, 'Head of IT'), (2, 'Clerk');
INSERT INTO text_leads (id, title, stage) VALUES (3, 'Clerk', 'won');
INSERT INTO text_leads (id, title, stage) VALUES (4, 'Clerk', 'hot');
INSERT INTO text_leads (id, title, stage) VALUES (4, 'Clerk', 'MQL');
UPDATE text_leads SET stage = 'hot' WHERE id = 1;
UPDATE text_leads SET title = 'Head of Sales' WHERE id = 2;
SELECT * FROM text_leads ORDER BY id;
SELECT lead_id, old_stage, new_stage, score, manual FROM leadqual.stage_history
 WHERE lead_table = 'text_leads'::regclass ORDER BY id;

-- manual decisions, locks and history, step by step
CREATE TABLE deals (
    id           int PRIMARY KEY,
    title        text,
    budget_ok    boolean NOT NULL DEFAULT false,
    score        float8,
    stage        leadqual.stage,
    stage_locked boolean NOT NULL DEFAULT false
);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, framework)
VALUES ('deals', 'deals', 10, 0, 'bant');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout) VALUES
 ('deals', 'head', 'title', 'ilike', '%head%', 10, false),
 ('deals', 'ceo', 'title', 'eq', 'CEO', 20, false),
 ('deals', 'intern', 'title', 'ilike', '%intern%', 0, true);
INSERT INTO leadqual.criterion_checks (model, framework, criterion, attribute, op, value) VALUES
 ('deals', 'bant', 'budget', 'budget_ok', 'eq', 'true'),
 ('deals', 'bant', 'authority', 'title', 'not_null', NULL),
 ('deals', 'bant', 'need', 'title', 'not_null', NULL),
 ('deals', 'bant', 'timeline', 'title', 'not_null', NULL);
SELECT leadqual.attach('deals', 'deals');
CREATE VIEW deal_history AS
SELECT lead_id, old_stage, new_stage, score, manual, changed_by
  FROM leadqual.stage_history WHERE lead_table = 'deals'::regclass;
CREATE TABLE seen_history (id bigint);
-- the history rows written since the last call
CREATE FUNCTION new_history() RETURNS TABLE (lead_id text, old_stage leadqual.stage,
    new_stage leadqual.stage, score float8, manual boolean, changed_by text)
LANGUAGE sql AS $$
    WITH n AS (SELECT h.* FROM leadqual.stage_history h
                WHERE h.lead_table = 'deals'::regclass
                  AND h.id > (SELECT coalesce(max(s.id), 0) FROM seen_history s)),
         m AS (INSERT INTO seen_history SELECT max(n.id) FROM n WHERE EXISTS (SELECT FROM n))
    SELECT n.lead_id, n.old_stage, n.new_stage, n.score, n.manual, n.changed_by
      FROM n ORDER BY n.id
$$;
INSERT INTO deals (id, title) VALUES (1, 'Head of IT'), (2, 'Clerk'), (3, 'Intern');
SELECT * FROM new_history();
-- upsert: the new row's supplied stage is a person's decision
INSERT INTO deals (id, title, stage) VALUES (2, 'Clerk', 'mql')
    ON CONFLICT (id) DO UPDATE SET stage = excluded.stage;
SELECT * FROM new_history();
-- ... and so is SET stage = excluded.stage when the row supplied none: excluded holds
-- the stage the BEFORE INSERT trigger computed, and the SET list names the column
INSERT INTO deals (id, title) VALUES (1, 'Head of IT')
    ON CONFLICT (id) DO UPDATE SET stage = excluded.stage;
SELECT * FROM new_history();
SELECT id, score, stage, stage_locked FROM deals ORDER BY id;
-- an upsert that does not name the stage leaves automation in charge
SET leadqual.actor = 'crm sync';
INSERT INTO deals (id, title) VALUES (3, 'Head of Interns'), (4, 'CEO')
    ON CONFLICT (id) DO UPDATE SET title = excluded.title;
SELECT * FROM new_history();
-- ON CONFLICT DO NOTHING of an existing lead writes no history
INSERT INTO deals (id, title, stage) VALUES (3, 'CEO', 'won') ON CONFLICT DO NOTHING;
INSERT INTO deals (id, title) VALUES (4, 'Clerk') ON CONFLICT (id) DO NOTHING;
SELECT * FROM new_history();
-- SET stage = stage is a person's decision: the lead is locked, no history (unchanged)
UPDATE deals SET stage = stage WHERE id = 4;
SELECT * FROM new_history();
SELECT id, score, stage, stage_locked FROM deals WHERE id = 4;
-- a locked lead keeps its stage when its data changes; its score is recomputed
UPDATE deals SET title = 'Intern' WHERE id = 4;
UPDATE deals SET title = 'Clerk' WHERE id = 2;
SELECT * FROM new_history();
SELECT id, score, stage, stage_locked FROM deals ORDER BY id;
-- sql, won and lost are never moved by automation, even unlocked
SET leadqual.actor = 'sales: Maria';
UPDATE deals SET stage = NULL WHERE id = 1;          -- releases the upsert's lock
SET leadqual.actor = 'crm sync';
UPDATE deals SET budget_ok = true WHERE id = 1;     -- mql -> sql (automatic)
SELECT id, score, stage, stage_locked FROM deals WHERE id = 1;
SELECT * FROM new_history();
UPDATE deals SET title = 'Intern', budget_ok = false WHERE id = 1;
SET leadqual.actor = 'sales: Maria';
UPDATE deals SET stage = 'lost' WHERE id = 3;
SET leadqual.actor = 'crm sync';
UPDATE deals SET title = 'CEO' WHERE id = 3;
SELECT * FROM new_history();
SELECT id, score, stage, stage_locked FROM deals ORDER BY id;
-- a person releases the lock: automation classifies again
SET leadqual.actor = 'sales: Maria';
UPDATE deals SET stage = NULL WHERE id IN (2, 3, 4);
UPDATE deals SET stage = NULL, stage_locked = true WHERE id = 1;
SELECT * FROM new_history();
SELECT id, score, stage, stage_locked FROM deals ORDER BY id;
-- stage_locked itself is no decision: setting it without a stage changes nothing
UPDATE deals SET stage_locked = true WHERE id = 2;
SELECT id, stage, stage_locked FROM deals WHERE id = 2;
-- a changed key: old and new rows are paired by position, the history follows the key
UPDATE deals SET id = 40, stage = 'won' WHERE id = 4;
SELECT * FROM new_history();
UPDATE deals SET id = 4 WHERE id = 40;
-- a rolled-back insert or update leaves no history
BEGIN;
INSERT INTO deals (id, title) VALUES (5, 'CEO');
UPDATE deals SET stage = 'won' WHERE id = 2;
ROLLBACK;
BEGIN;
INSERT INTO deals (id, title) VALUES (6, 'CEO');
SAVEPOINT s;
UPDATE deals SET stage = 'won' WHERE id = 6;
ROLLBACK TO s;
COMMIT;
SELECT * FROM new_history();
-- deleting a lead keeps its history; forget erases it
DELETE FROM deals WHERE id = 6;
SELECT count(*) FROM deal_history WHERE lead_id = '6';
SELECT leadqual.forget('deals', '6');
SELECT leadqual.forget('deals', '6');
SELECT count(*) FROM deal_history WHERE lead_id = '6';
SELECT count(*) > 0 AS others_kept FROM deal_history;

-- an ordinary role may write leads without any grant on stage_history
RESET leadqual.actor;
CREATE ROLE regress_lq_writer;
GRANT SELECT, INSERT, UPDATE ON deals TO regress_lq_writer;
SET ROLE regress_lq_writer;
INSERT INTO deals (id, title) VALUES (7, 'Head of Ops');
UPDATE deals SET stage = 'won' WHERE id = 7;
SELECT count(*) FROM leadqual.stage_history;
INSERT INTO leadqual.stage_history (lead_table, lead_id) VALUES ('deals', '7');
UPDATE leadqual.stage_history SET new_stage = 'won';
DELETE FROM leadqual.stage_history;
SELECT leadqual.forget('deals', '7');
RESET ROLE;
SELECT * FROM new_history();
REVOKE ALL ON deals FROM regress_lq_writer;
DROP ROLE regress_lq_writer;

-- attach refusals
CREATE TABLE bad (id int PRIMARY KEY, score float8, stage leadqual.stage, stage_locked boolean);
INSERT INTO leadqual.models (model, lead_table) VALUES ('bad', 'bad');
SELECT leadqual.attach('bad', 'bad', stage_column => 'phase');
ALTER TABLE bad ALTER COLUMN stage SET DEFAULT 'nurture';
SELECT leadqual.attach('bad', 'bad');
ALTER TABLE bad ALTER COLUMN stage DROP DEFAULT;
ALTER TABLE bad ADD COLUMN score_txt text;
SELECT leadqual.attach('bad', 'bad', score_column => 'score_txt');
SELECT leadqual.attach('bad', 'bad', locked_column => 'is_locked');
SELECT leadqual.attach('bad', 'bad', locked_column => 'score_txt');
SELECT leadqual.attach('bad', 'bad', score_column => 'score', stage_column => 'score');
CREATE VIEW bad_view AS SELECT * FROM bad;
UPDATE leadqual.models SET lead_table = 'bad_view' WHERE model = 'bad';
SELECT leadqual.attach('bad_view', 'bad');
SELECT leadqual.attach(NULL, 'bad');
SELECT leadqual.attach('bad', NULL);
SELECT leadqual.attach('bad', 'bad', score_column => NULL);
SELECT leadqual.attach('bad', 'nope');
SELECT leadqual.attach('no_such_table', 'bad');
SELECT count(*) FROM leadqual.attachments WHERE lead_table::text LIKE 'bad%';
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'bad'::regclass;
SELECT leadqual.detach(NULL);

-- rescore refusals
CALL leadqual.rescore('bad');
CALL leadqual.rescore('deals', 0);
CALL leadqual.rescore('deals', -1);
CALL leadqual.rescore(NULL);
CALL leadqual.rescore('deals', NULL);

-- rescore writes nothing when nothing changed
CREATE TEMP TABLE before AS SELECT id, xmin::text AS x FROM deals;
SELECT count(*) AS history_before FROM leadqual.stage_history \gset
CALL leadqual.rescore('deals', 2);
SELECT count(*) AS rows_rewritten FROM deals d JOIN before b USING (id) WHERE d.xmin::text <> b.x;
SELECT count(*) - :history_before AS new_history_rows FROM leadqual.stage_history;
-- after a rule change only the rows whose score or stage moves are written
UPDATE leadqual.rules SET points = 5 WHERE model = 'deals' AND name = 'ceo';
CALL leadqual.rescore('deals', 2);
SELECT d.id, d.score, d.stage, d.stage_locked, d.xmin::text <> b.x AS rewritten
  FROM deals d JOIN before b USING (id) ORDER BY id;
SELECT * FROM new_history();
-- an empty table
CREATE TABLE empty_leads (id int PRIMARY KEY, score float8, stage leadqual.stage, stage_locked boolean);
INSERT INTO leadqual.models (model, lead_table) VALUES ('empty', 'empty_leads');
SELECT leadqual.attach('empty_leads', 'empty');
CALL leadqual.rescore('empty_leads');
-- a real score column: rescore compares the score as the column stores it
CALL leadqual.rescore('text_leads');
-- a column the attachment names, renamed since: rescore names it (42703)
ALTER TABLE text_leads RENAME COLUMN score TO score_renamed;
CALL leadqual.rescore('text_leads');
ALTER TABLE text_leads RENAME COLUMN score_renamed TO score;
-- detach leaves the data and the history; later writes are not scored
SELECT leadqual.detach('text_leads');
INSERT INTO text_leads (id, title) VALUES (9, 'Head');
SELECT * FROM text_leads WHERE id = 9;
CALL leadqual.rescore('text_leads');
RESET leadqual.actor;
-- a bulk load whose transition table spills to disk (more rows than work_mem holds, and
-- more than one history chunk of 10,000): every lead gets its history row
CREATE TABLE bulk_leads (id int PRIMARY KEY, title text, score float8, stage leadqual.stage,
                         stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('bulk', 'bulk_leads', 10);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('bulk', 'head', 'title', 'ilike', '%head%', 10);
SELECT leadqual.attach('bulk_leads', 'bulk');
SET work_mem = '64kB';
INSERT INTO bulk_leads (id, title) SELECT g, CASE WHEN g % 2 = 0 THEN 'Head ' ELSE 'Clerk ' END || g
FROM generate_series(1, 25000) g;
RESET work_mem;
SELECT count(*) AS history_rows, count(DISTINCT lead_id) AS leads,
       count(*) FILTER (WHERE new_stage = 'mql') AS mql
FROM leadqual.stage_history WHERE lead_table = 'bulk_leads'::regclass;
-- an UPDATE whose changes are more than one chunk goes through a sort that spills to disk:
-- every change recorded once, in key order (as 1.0's ORDER BY lead_id), manual ones marked
SET work_mem = '64kB';
UPDATE bulk_leads SET title = CASE WHEN id % 2 = 0 THEN 'Clerk ' ELSE 'Head ' END || id,
                      stage = CASE WHEN id % 1000 = 0 THEN 'sql'::leadqual.stage END
 WHERE id % 1000 = 0 OR id <= 24000;
RESET work_mem;
WITH u AS (SELECT h.*, b.score AS lead_score
             FROM leadqual.stage_history h JOIN bulk_leads b ON b.id = h.lead_id::int
            WHERE h.lead_table = 'bulk_leads'::regclass AND h.old_stage IS NOT NULL)
SELECT count(*) AS changes, count(DISTINCT lead_id) AS leads,
       count(*) FILTER (WHERE manual) AS manual,
       count(*) FILTER (WHERE new_stage = 'mql' AND lead_id::int % 2 = 1 AND NOT manual) AS to_mql,
       bool_and(score = lead_score) AS scores_right,
       (SELECT count(*) FROM (SELECT id, row_number() OVER (ORDER BY id) AS by_id,
                                     row_number() OVER (ORDER BY lead_id) AS by_key FROM u) o
         WHERE by_id <> by_key) AS out_of_key_order
FROM u;
SELECT leadqual.detach('bulk_leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'bulk_leads'::regclass;
DELETE FROM leadqual.models WHERE model = 'bulk';
DROP TABLE bulk_leads;
-- The history rows are written directly (bulk, as COPY writes: the default) or by an
-- INSERT (leadqual.history_write = insert): the same rows, in the same order, with the
-- table's defaults and constraints either way
CREATE TABLE hw_leads (id int PRIMARY KEY, title text, score float8, stage leadqual.stage,
                       stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('hw', 'hw_leads', 10);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('hw', 'head', 'title', 'ilike', '%head%', 10);
SELECT leadqual.attach('hw_leads', 'hw');
SET leadqual.actor = 'hw test';
SHOW leadqual.history_write;
INSERT INTO hw_leads (id, title)
SELECT g + 10000, CASE WHEN g % 3 = 0 THEN 'Head' ELSE 'Clerk' END FROM generate_series(1, 2500) g;
UPDATE hw_leads SET title = 'Head' WHERE id < 20000 AND id % 5 = 0;
INSERT INTO hw_leads (id, title, stage) VALUES (15001, 'Clerk', 'sql');
SET leadqual.history_write = insert;
INSERT INTO hw_leads (id, title)
SELECT g + 20000, CASE WHEN g % 3 = 0 THEN 'Head' ELSE 'Clerk' END FROM generate_series(1, 2500) g;
UPDATE hw_leads SET title = 'Head' WHERE id > 20000 AND id % 5 = 0;
INSERT INTO hw_leads (id, title, stage) VALUES (25001, 'Clerk', 'sql');
RESET leadqual.history_write;
WITH h AS (
    SELECT s.*, lead_id::int > 20000 AS by_insert, lead_id::int % 10000 AS k,
           row_number() OVER (PARTITION BY lead_id::int > 20000 ORDER BY id) AS n
    FROM leadqual.stage_history s WHERE lead_table = 'hw_leads'::regclass)
SELECT count(*) FILTER (WHERE NOT by_insert) AS direct_rows,
       count(*) FILTER (WHERE by_insert) AS insert_rows,
       (SELECT count(*) FROM h d JOIN h i ON NOT d.by_insert AND i.by_insert AND d.n = i.n
         WHERE (d.k, d.model, d.old_stage, d.new_stage, d.score, d.manual, d.changed_by)
               IS NOT DISTINCT FROM (i.k, i.model, i.old_stage, i.new_stage, i.score, i.manual,
                                     i.changed_by)) AS same_rows_in_same_order,
       count(*) FILTER (WHERE old_stage = 'nurture' AND new_stage = 'mql') AS updates,
       count(*) FILTER (WHERE manual) AS manual,
       bool_and(changed_at IS NOT NULL AND changed_by = 'hw test') AS defaults_and_actor,
       count(DISTINCT id) = count(*) AS ids_distinct
FROM h;
-- a CHECK constraint of stage_history holds for the direct write too
ALTER TABLE leadqual.stage_history ADD CONSTRAINT hw_check CHECK (lead_id <> '30001');
\set VERBOSITY terse
INSERT INTO hw_leads (id, title) VALUES (30000, 'Clerk'), (30001, 'Clerk');
SET leadqual.history_write = insert;
INSERT INTO hw_leads (id, title) VALUES (30000, 'Clerk'), (30001, 'Clerk');
RESET leadqual.history_write;
\set VERBOSITY default
ALTER TABLE leadqual.stage_history DROP CONSTRAINT hw_check;
-- a stage_history with a trigger (its owner's) is written by the INSERT, which fires it
CREATE TABLE hw_seen (lead_id text);
CREATE FUNCTION hw_seen() RETURNS trigger LANGUAGE plpgsql AS
    'BEGIN INSERT INTO public.hw_seen VALUES (NEW.lead_id); RETURN NEW; END';
CREATE TRIGGER hw_seen AFTER INSERT ON leadqual.stage_history
    FOR EACH ROW EXECUTE FUNCTION hw_seen();
INSERT INTO hw_leads (id, title) VALUES (40001, 'Head'), (40002, 'Clerk');
DROP TRIGGER hw_seen ON leadqual.stage_history;
SELECT array_agg(lead_id ORDER BY lead_id) AS the_trigger_saw FROM hw_seen;
SELECT count(*) AS history_rows FROM leadqual.stage_history
WHERE lead_table = 'hw_leads'::regclass AND lead_id IN ('40001', '40002', '30000', '30001');
RESET leadqual.actor;
SELECT leadqual.detach('hw_leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'hw_leads'::regclass;
DELETE FROM leadqual.models WHERE model = 'hw';
DROP TABLE hw_leads, hw_seen;
DROP FUNCTION hw_seen();

-- A domain's CHECK runs while a model's criterion checks are compiled (the check's value is
-- read with the column's input function), the first time a lead reaches mql in a backend,
-- and may itself insert a lead into the same table: the nested trigger scores with the
-- same compiled model, and the outer lead's row must still be there afterwards.
CREATE FUNCTION nest_check(b boolean) RETURNS boolean LANGUAGE plpgsql STRICT AS $$
BEGIN
    IF current_setting('lq.nest', true) = 'on' AND pg_trigger_depth() = 1 THEN
        INSERT INTO nest_leads (id) VALUES (1001);
    END IF;
    RETURN true;
END $$;
CREATE DOMAIN nest_flag AS boolean CHECK (nest_check(VALUE));
CREATE TABLE nest_leads (id int PRIMARY KEY, budget nest_flag, score float8,
                         stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, framework)
VALUES ('nest', 'nest_leads', 5, 'bant');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('nest', 'any', 'id', 'ge', '0', 10);
INSERT INTO leadqual.criterion_checks (model, framework, criterion, attribute, op, value)
VALUES ('nest', 'bant', 'budget', 'budget', 'eq', 'true');
SELECT leadqual.attach('nest_leads', 'nest');
\c
SET client_min_messages = warning;
SET lq.nest = on;
INSERT INTO nest_leads (id, budget) VALUES (1, true);
RESET lq.nest;
SELECT id, score, stage FROM nest_leads ORDER BY id;
SELECT leadqual.detach('nest_leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'nest_leads'::regclass;
DELETE FROM leadqual.models WHERE model = 'nest';
DROP TABLE nest_leads;
DROP DOMAIN nest_flag;
DROP FUNCTION nest_check(boolean);

-- The trigger forms score, stage and locked itself, past a domain's CHECK or a type
-- modifier: after an ALTER gives one of them such a type (attach refuses them), it
-- refuses too (42804) instead of writing a value that type would not accept.
CREATE TABLE typed_leads (id int PRIMARY KEY, score float8, stage leadqual.stage,
                          stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('typed', 'typed_leads', 5);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('typed', 'any', 'id', 'ge', '0', 12.25);
SELECT leadqual.attach('typed_leads', 'typed');
INSERT INTO typed_leads (id) VALUES (1);
ALTER TABLE typed_leads ALTER COLUMN score TYPE numeric(3, 1);
INSERT INTO typed_leads (id) VALUES (2);
ALTER TABLE typed_leads ALTER COLUMN score TYPE numeric;
ALTER TABLE typed_leads ALTER COLUMN stage TYPE varchar(3);
INSERT INTO typed_leads (id) VALUES (3);
CREATE DOMAIN short_stage AS text CHECK (length(VALUE) <= 3);
ALTER TABLE typed_leads ALTER COLUMN stage TYPE short_stage;
INSERT INTO typed_leads (id) VALUES (4);
ALTER TABLE typed_leads ALTER COLUMN stage TYPE text;
INSERT INTO typed_leads (id) VALUES (5);
SELECT id, score, stage FROM typed_leads ORDER BY id;
SELECT leadqual.detach('typed_leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'typed_leads'::regclass;
DELETE FROM leadqual.models WHERE model = 'typed';
DROP TABLE typed_leads;
DROP DOMAIN short_stage;
