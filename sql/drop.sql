-- drop: DROP EXTENSION works with models and rules in place, and it installs again
-- (in a database of its own: the earlier tests' lead tables use leadqual.stage)
SET client_min_messages = warning;
\set regress_db :DBNAME
CREATE DATABASE leadqual_drop_test;
\c leadqual_drop_test
SET client_min_messages = warning;
CREATE EXTENSION leadqual;
CREATE TABLE leads (id int PRIMARY KEY, title text);
INSERT INTO leadqual.models (model, lead_table) VALUES ('default', 'leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
VALUES ('default', 'head', 'title', 'ilike', 'head%', 10);
INSERT INTO leads (id, title) VALUES (1, 'Head of IT');
SELECT leadqual.score(l) FROM leads l;
SELECT count(*) > 0 AS has_models FROM leadqual.models;
DROP EXTENSION leadqual;
-- nothing of it is left (the schema named in the control file is not a member: it stays, empty)
SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'leadqual')
     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'leadqual')
     + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'leadqual')
       AS objects_left;
SELECT count(*) AS event_triggers FROM pg_event_trigger WHERE evtname LIKE 'leadqual%';
-- ordinary DDL works afterwards, on former lead tables too
CREATE TABLE after_drop (x integer);
DROP TABLE after_drop;
DROP TABLE leads CASCADE;
DROP SCHEMA leadqual;
-- and it installs again
CREATE EXTENSION leadqual;
SELECT count(*) AS builtin_criteria FROM leadqual.criteria WHERE builtin;
SELECT count(*) AS models FROM leadqual.models;
DROP EXTENSION leadqual;
\c :regress_db
DROP DATABASE leadqual_drop_test;
