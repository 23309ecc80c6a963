-- fuzz/setup.sql: the lead table of many column types, its value pools and lead rows,
-- and the helpers the rule and state fuzzers share.  Deterministic: every random
-- choice comes from random() after setseed(:seed).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT setseed(:seed);

CREATE TYPE fz_mood AS ENUM ('calm', 'ängstlich', 'O''Brien', ' space', 'UPPER', 'x"y\z');
CREATE DOMAIN fz_posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN fz_code AS varchar(8) CHECK (VALUE ~ '^[A-Z]');
CREATE TYPE fz_pair AS (a integer, b text);
CREATE COLLATION fz_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

-- Strings that probe collations, case folding, escapes and the literal fast paths.
CREATE FUNCTION fz_strings() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['', ' ', 'a', 'A', 'abc', 'ABC', 'Abc', 'b', 'head of sales', 'Head of Engineering',
                 'O''Brien', '"quoted"', 'back\slash', '%', '_', 'a%b', 'a_b', 'Straße', 'STRASSE',
                 'ǅ', 'İstanbul', 'ıi', U&'\212A', 'émoji 😀', '日本語', E'tab\tnew\nline',
                 'x@gmail.com', 'x@yahoo.de', 'trailing  ', repeat('a', 300), repeat('ab', 100) || 'c',
                 'NULL', '{}', '{a,b}', 'zzz', '~', 'aaa', 'ab|cd', '$^', 'intern', 'CTO']
$$;

-- column name -> (type to cast literals to, pool of valid values)
CREATE TABLE fz_cols (
    ord   integer PRIMARY KEY,
    col   name NOT NULL,
    decl  text NOT NULL,      -- as declared in the table
    cast_type text NOT NULL,  -- what a literal is cast to in the SQL equivalent
    pool  text[] NOT NULL
);
INSERT INTO fz_cols (ord, col, decl, cast_type, pool) VALUES
 (1, 'i2', 'int2', 'int2', '{-32768,-1,0,1,2,7,100,32767}'),
 (2, 'i4', 'int4', 'int4', '{-2147483648,-1,0,1,42,50,5000,2147483647}'),
 (3, 'i8', 'int8', 'int8', '{-9223372036854775808,-1,0,1,42,9007199254740993,9223372036854775807}'),
 (4, 'num', 'numeric', 'numeric', '{NaN,Infinity,-Infinity,0,0.0,-0.000001,1.5,1.50,42,1e100,-1e-100,123456789012345678901234567890.123456789}'),
 (5, 'n52', 'numeric(5,2)', 'numeric', '{-999.99,0,1.5,42.42,999.99}'),
 (6, 'f4', 'float4', 'float4', '{NaN,Infinity,-Infinity,-0,0,1.5,0.1,3.4028235e38,1e-45,-1}'),
 (7, 'f8', 'float8', 'float8', '{NaN,Infinity,-Infinity,-0,0,0.1,1.5,1e308,5e-324,-1,42}'),
 (8, 't', 'text', 'text', fz_strings()),
 (9, 'tc', 'text COLLATE "C"', 'text', fz_strings()),
 (10, 'ti', 'text COLLATE "de-x-icu"', 'text', fz_strings()),
 (11, 'tci', 'text COLLATE fz_ci', 'text', fz_strings()),
 (12, 'vc', 'varchar(12)', 'varchar', ARRAY(SELECT s FROM unnest(fz_strings()) s WHERE length(s) <= 12)),
 (13, 'ch', 'char(5)', 'bpchar', ARRAY(SELECT s FROM unnest(fz_strings()) s WHERE length(s) <= 5)),
 (14, 'b', 'boolean', 'boolean', '{true,false}'),
 (15, 'd', 'date', 'date', '{-infinity,infinity,4713-11-24 BC,0001-01-01,1999-12-31,2000-02-29,2026-06-01,5874897-12-31}'),
 (16, 'ts', 'timestamp', 'timestamp', '{-infinity,infinity,"4713-11-24 00:00:00 BC","1970-01-01 00:00:00","2026-06-01 12:34:56.789","294276-12-31 23:59:59.999999"}'),
 (17, 'tz', 'timestamptz', 'timestamptz', '{-infinity,infinity,"1970-01-01 00:00:00+00","2026-03-29 01:30:00+00","2026-06-01 00:00:00+02","2026-10-25 01:30:00+01"}'),
 (18, 'tm', 'time', 'time', '{00:00,12:00,23:59:59.999999,24:00}'),
 (19, 'ttz', 'timetz', 'timetz', '{00:00+00,12:00+02,12:00-02,23:59:59+14}'),
 (20, 'iv', 'interval', 'interval', '{0,"1 day","24 hours","1 mon","30 days","-1 day +02:00:00","178000000 years","-178000000 years","1 mon -30 days"}'),
 (21, 'mood', 'fz_mood', 'fz_mood', '{calm,ängstlich,O''Brien," space",UPPER,"x\"y\\z"}'),
 (22, 'pos', 'fz_posint', 'fz_posint', '{1,2,2147483647}'),
 (23, 'code', 'fz_code', 'fz_code', '{A,ABC,Zz9,"X y"}'),
 (24, 'u', 'uuid', 'uuid', '{00000000-0000-0000-0000-000000000000,ffffffff-ffff-ffff-ffff-ffffffffffff,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'),
 (25, 'ip', 'inet', 'inet', '{0.0.0.0/0,10.0.0.1,10.0.0.1/8,::1,::ffff:1.2.3.4,192.168.0.0/16}'),
 (26, 'ia', 'int[]', 'int[]', '{"{}","{1,2}","{1,NULL}","{{1,2},{3,4}}"}'),
 (27, 'by', 'bytea', 'bytea', '{"\\x","\\x00","\\xdeadbeef"}'),
 (28, 'js', 'json', 'json', '{"{}","[1,2]"}'),
 (29, 'jb', 'jsonb', 'jsonb', '{"{}","{\"a\": 1}","[1, 2]","null","\"x\""}'),
 (30, 'pt', 'point', 'point', '{"(0,0)","(1,2)"}'),
 (31, 'rg', 'int4range', 'int4range', '{empty,"[1,5)","(,)","[3,3]"}'),
 (32, 'pair', 'fz_pair', 'fz_pair', '{"(1,x)","(,)","(2,\"\")"}'),
 (33, 'vb', 'varbit', 'varbit', '{"",0,1,0101,1111}'),
 (34, 'mo', 'money', 'money', '{0,1.50,-42,92233720368547758.07}'),
 (35, 'c1', '"char"', '"char"', '{a,Z,""}'),
 (36, 'nm', 'name', 'name', ARRAY['', 'abc', repeat('x', 63)]),
 (37, 'lsn', 'pg_lsn', 'pg_lsn', '{0/0,16/B374D848,FFFFFFFF/FFFFFFFF}'),
 (38, 'Weird "col" ; --', 'text', 'text', fz_strings()),
 (39, 'Ünï 列', 'int4', 'int4', '{-1,0,1,42}'),
 (40, 'select', 'int8', 'int8', '{0,1,-1}'),
 (41, 'CamelCase', 'text COLLATE "und-x-icu"', 'text', fz_strings()),
 (42, 'ttr', 'text COLLATE "tr-x-icu"', 'text', fz_strings());

DO $$
BEGIN
    EXECUTE 'CREATE TABLE fz_leads (id integer PRIMARY KEY, '
        || (SELECT string_agg(format('%I %s', col, decl), ', ' ORDER BY ord) FROM fz_cols) || ')';
END $$;

CREATE FUNCTION fz_rand(n integer) RETURNS integer LANGUAGE sql VOLATILE AS
    $$ SELECT floor(random() * n)::integer $$;
CREATE FUNCTION fz_pick(a text[]) RETURNS text LANGUAGE sql VOLATILE AS
    $$ SELECT a[array_lower(a, 1) + floor(random() * cardinality(a))::integer] $$;

-- Lead rows: row 1 is all NULL, rows 2..41 walk every pool, the rest are random with NULLs.
DO $$
DECLARE
    c record;
    cols text;
    vals text;
    v text;
BEGIN
    SELECT string_agg(format('%I', col), ', ' ORDER BY ord) INTO cols FROM fz_cols;
    INSERT INTO fz_leads (id) VALUES (1);
    FOR id IN 2..56 LOOP
        vals := '';
        FOR c IN SELECT * FROM fz_cols ORDER BY ord LOOP
            IF id <= 41 THEN
                v := c.pool[1 + (id - 2) % cardinality(c.pool)];
            ELSIF random() < 0.15 THEN
                v := NULL;
            ELSE
                v := fz_pick(c.pool);
            END IF;
            vals := vals || ', ' || CASE WHEN v IS NULL THEN 'NULL' ELSE format('%L::%s', v, c.cast_type) END;
        END LOOP;
        EXECUTE format('INSERT INTO fz_leads (id, %s) VALUES (%s%s)', cols, id, vals);
    END LOOP;
END $$;

INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold)
    VALUES ('fz', 'fz_leads', 10, 0);

-- Outcomes of every case, and the failures (a mismatch, an internal error, a hang).
CREATE TABLE fz_outcome (
    kind    text NOT NULL,    -- rule insert, rule update, enable, quality text, ...
    case_no integer NOT NULL,
    accepted boolean NOT NULL,
    sqlstate text,
    message text
);
CREATE TABLE fz_failure (
    kind    text NOT NULL,
    case_no integer,
    what    text NOT NULL
);

-- Records one refusal; an internal error (XX000) or a missing SQLSTATE is a failure.
CREATE FUNCTION fz_refused(kind text, case_no integer, state text, msg text, input text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fz_outcome VALUES (kind, case_no, false, state, left(msg, 300));
    IF state IS NULL OR state = '' OR state LIKE 'XX%' THEN
        INSERT INTO fz_failure VALUES (kind, case_no,
            format('refused with SQLSTATE %s: %s; input: %s', coalesce(state, '(none)'), msg, left(input, 500)));
    END IF;
END $$;
