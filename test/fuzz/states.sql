-- fuzz/states.sql: the two aggregate state types from outside.  Valid states come from
-- real aggregates; their text and binary forms are mutated and read back; states are
-- combined by hand, mismatched ones included; forged INITCONDs; every leadqual function
-- is called with NULL arguments.  Refusals need a proper SQLSTATE; what is accepted
-- must behave (round trips, counts, combine = aggregate over the union).
\set ON_ERROR_STOP 1
SET client_min_messages = error;

INSERT INTO leadqual.models (model, lead_table) VALUES ('fz2', 'fz_leads');
INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life) VALUES
    ('fz', 'demo', 15, NULL, NULL), ('fz', 'open', 1, 3, '7 days'), ('fz', 'unsub', -10, -15, NULL),
    ('fz', 'ü"quote', 2.5, 10, '1 hour'), ('fz2', 'demo', 7, 20, '1 year');

CREATE AGGREGATE fz_eng_state(text, timestamptz, text, timestamptz) (
    SFUNC = leadqual.engagement_transfn, STYPE = leadqual.engagement_state);
CREATE AGGREGATE fz_q_state(float8, boolean) (
    SFUNC = leadqual.quality_trans, STYPE = leadqual.quality_state);
CREATE AGGREGATE fz_q_state(float8, boolean, integer) (
    SFUNC = leadqual.quality_trans, STYPE = leadqual.quality_state);

-- events and scores of 12 groups
CREATE TABLE fz_events (grp integer, event_type text, occurred_at timestamptz);
CREATE TABLE fz_scores (grp integer, score float8, converted boolean);
DO $$
BEGIN
    FOR i IN 1..600 LOOP
        INSERT INTO fz_events VALUES (1 + fz_rand(12),
            fz_pick(ARRAY['demo', 'open', 'open', 'unsub', 'ü"quote', 'unknown', 'DEMO', NULL]),
            CASE WHEN fz_rand(20) = 0 THEN NULL
                 ELSE timestamptz '2026-06-01 00:00:00+00' - (fz_rand(400 * 24 * 60) - 2 * 24 * 60) * interval '1 minute' END);
        INSERT INTO fz_scores VALUES (1 + fz_rand(12),
            CASE fz_rand(6)
                WHEN 0 THEN fz_pick('{NaN,Infinity,-Infinity,-0,0,5e-324,-5e-324,1e308,-1e308,0.1}')::float8
                WHEN 1 THEN random() * 1e6 - 5e5
                WHEN 2 THEN NULL
                ELSE fz_rand(101) END,
            CASE fz_rand(9) WHEN 0 THEN NULL ELSE fz_rand(3) = 0 END);
    END LOOP;
END $$;

-- real states: per group, model / as_of (engagement) and bins (quality)
CREATE TABLE fz_eng_valid (id serial PRIMARY KEY, grps integer[], model text, as_of timestamptz,
                           s leadqual.engagement_state);
INSERT INTO fz_eng_valid (grps, model, as_of, s)
SELECT ARRAY[grp], m, a, fz_eng_state(event_type, occurred_at, m, a)
  FROM fz_events, unnest('{fz,fz2}'::text[]) m,
       unnest('{2026-06-01 00:00:00+00,2026-06-01 00:00:00.5+00}'::timestamptz[]) a
 GROUP BY grp, m, a ORDER BY grp, m, a;
CREATE TABLE fz_q_valid (id serial PRIMARY KEY, grps integer[], bins integer, s leadqual.quality_state);
INSERT INTO fz_q_valid (grps, bins, s)
SELECT ARRAY[grp], 0, fz_q_state(score, converted) FROM fz_scores GROUP BY grp ORDER BY grp;
INSERT INTO fz_q_valid (grps, bins, s)
SELECT ARRAY[grp], b, fz_q_state(score, converted, b)
  FROM fz_scores, unnest('{2,3,8,1000}'::integer[]) b
 GROUP BY grp, b ORDER BY grp, b;

-- accepted mutated states (for the combine cases)
CREATE TABLE fz_eng_seen (id serial PRIMARY KEY, s leadqual.engagement_state);
CREATE TABLE fz_q_seen (id serial PRIMARY KEY, s leadqual.quality_state);
CREATE TABLE fz_eng_in (s leadqual.engagement_state);
CREATE TABLE fz_q_in (s leadqual.quality_state);

-- Runs a statement; an error must have a proper SQLSTATE. Returns true if it succeeded.
CREATE FUNCTION fz_try(kind text, case_no integer, stmt text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    state text;
    msg text;
BEGIN
    EXECUTE stmt;
    INSERT INTO fz_outcome VALUES (kind, case_no, true, NULL, NULL);
    RETURN true;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    PERFORM fz_refused(kind, case_no, state, msg, stmt);
    RETURN false;
END $$;

-- Replaces the n-th number in s by an extreme one.
CREATE FUNCTION fz_mutate_number(s text) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT regexp_replace(s, '-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?',
        fz_pick('{9223372036854775807,9223372036854775808,-9223372036854775808,-1,0,2147483647,2147483648,'
                '-2147483649,1e309,NaN,-0,Infinity,-Infinity,1e-400,1000001,1100,1101,-1101,00000000,ffffffff,'
                '123456789,99999,5e-324,1e308,0.5,1.000000000000001}'),
        1, 1 + fz_rand(12))
$$;

-- Byte-level edits of a binary form.
CREATE FUNCTION fz_mutate_bytes(b bytea) RETURNS bytea LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    p integer;
    extremes bytea[] := ARRAY['\x7fffffff', '\x80000000', '\xffffffff', '\x00000000', '\x00000001',
                              '\x7ff8000000000000', '\xfff0000000000000', '\x8000000000000000',
                              '\x00', '\x02', '\xff']::bytea[];
BEGIN
    FOR i IN 1..1 + fz_rand(3) LOOP
        p := fz_rand(length(b) + 1);
        CASE fz_rand(7)
            WHEN 0 THEN IF length(b) > 0 THEN b := set_byte(b, least(p, length(b) - 1), fz_rand(256)); END IF;
            WHEN 1 THEN b := overlay(b PLACING fz_pick(extremes::text[])::bytea FROM p + 1
                                     FOR least(4, length(b) - p));
            WHEN 2 THEN b := substr(b, 1, p);
            WHEN 3 THEN b := b || decode(repeat(lpad(to_hex(fz_rand(256)), 2, '0'), 1 + fz_rand(30)), 'hex');
            WHEN 4 THEN b := overlay(b PLACING decode(lpad(to_hex(fz_rand(256)), 2, '0'), 'hex') FROM p + 1 FOR 0);
            WHEN 5 THEN b := overlay(b PLACING substr(b, p + 1, 24) || substr(b, p + 1, 24) FROM p + 1 FOR 24);
            ELSE b := overlay(b PLACING '' FROM p + 1 FOR 1 + fz_rand(8));
        END CASE;
    END LOOP;
    RETURN b;
END $$;

-- What every accepted state must do: round trip through text and binary, finish, combine.
CREATE FUNCTION fz_check_state(kind text, case_no integer, typ text, s text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    again text;
    file text := current_setting('data_directory') || '/fz_state_' || pg_backend_pid() || '.bin';
    state text;
    msg text;
BEGIN
    BEGIN
        EXECUTE format('SELECT $1::leadqual.%s::text', typ) INTO again USING s;
        IF again IS DISTINCT FROM s THEN
            INSERT INTO fz_failure VALUES (kind, case_no, format('text round trip: %L reads back as %L', s, again));
        END IF;
        EXECUTE format('COPY (SELECT %L::leadqual.%s) TO %L (FORMAT binary)', s, typ, file);
        EXECUTE format('CREATE TEMP TABLE fz_rt (s leadqual.%s) ON COMMIT DROP', typ);
        EXECUTE format('COPY fz_rt FROM %L (FORMAT binary)', file);
        SELECT fz_rt.s::text INTO again FROM fz_rt;
        DROP TABLE fz_rt;
        IF again IS DISTINCT FROM s THEN
            INSERT INTO fz_failure VALUES (kind, case_no, format('binary round trip: %L reads back as %L', s, again));
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fz_failure VALUES (kind, case_no, format('accepted %L, but a round trip fails: %s %s', s, state, msg));
    END;
    IF typ = 'quality_state' THEN
        PERFORM fz_try(kind || ' final', case_no, format('SELECT (leadqual.quality_final(%L)).*', s));
        -- combining a state with itself doubles every count
        BEGIN
            EXECUTE format('SELECT (leadqual.quality_final(leadqual.quality_combine(%L, %L))).leads
                                 = 2 * (leadqual.quality_final(%L)).leads', s, s, s) INTO again;
            IF again <> 'true' THEN
                INSERT INTO fz_failure VALUES (kind, case_no, format('combine(s, s) of %L does not double its leads', s));
            END IF;
            INSERT INTO fz_outcome VALUES (kind || ' combine', case_no, true, NULL, NULL);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            PERFORM fz_refused(kind || ' combine', case_no, state, msg, s);
        END;
    ELSE
        PERFORM fz_try(kind || ' final', case_no, format('SELECT leadqual.engagement_final(%L)', s));
        PERFORM fz_try(kind || ' combine', case_no,
                       format('SELECT leadqual.engagement_combine(%L, %L)::text', s, s));
    END IF;
END $$;

-- Text input: a real state's text, mutated (or random), read as the type.
CREATE FUNCTION fz_text_case(typ text, case_no integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    base text;
    t text;
    kind text := typ || ' text';
BEGIN
    IF typ = 'quality_state' THEN
        SELECT s::text INTO base FROM fz_q_valid ORDER BY id OFFSET fz_rand((SELECT count(*)::integer FROM fz_q_valid)) LIMIT 1;
    ELSE
        SELECT s::text INTO base FROM fz_eng_valid ORDER BY id OFFSET fz_rand((SELECT count(*)::integer FROM fz_eng_valid)) LIMIT 1;
    END IF;
    CASE fz_rand(10)
        WHEN 0 THEN t := fz_random_string(40);
        WHEN 1 THEN t := fz_hostile();
        WHEN 2, 3, 4 THEN t := fz_mutate_number(base);
        WHEN 5 THEN t := fz_mutate_number(fz_mutate(base));
        ELSE t := fz_mutate(base);
    END CASE;
    IF fz_try(kind, case_no, format('SELECT %L::leadqual.%s', t, typ)) THEN
        EXECUTE format('SELECT %L::leadqual.%s::text', t, typ) INTO t;
        PERFORM fz_check_state(kind, case_no, typ, t);
        EXECUTE format('INSERT INTO %I (s) VALUES (%L)', CASE typ WHEN 'quality_state' THEN 'fz_q_seen' ELSE 'fz_eng_seen' END, t);
    END IF;
END $$;

-- Binary input: a real state's send() bytes, mutated, read by COPY BINARY (the type's receive).
CREATE FUNCTION fz_binary_case(typ text, case_no integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b bytea;
    t text;
    kind text := typ || ' binary';
    tab text := CASE typ WHEN 'quality_state' THEN 'fz_q_in' ELSE 'fz_eng_in' END;
    file text := current_setting('data_directory') || '/fz_state_' || pg_backend_pid() || '.bin';
BEGIN
    IF typ = 'quality_state' THEN
        SELECT leadqual.quality_state_send(s) INTO b FROM fz_q_valid
         ORDER BY id OFFSET fz_rand((SELECT count(*)::integer FROM fz_q_valid)) LIMIT 1;
    ELSE
        SELECT leadqual.engagement_state_send(s) INTO b FROM fz_eng_valid
         ORDER BY id OFFSET fz_rand((SELECT count(*)::integer FROM fz_eng_valid)) LIMIT 1;
    END IF;
    b := CASE WHEN fz_rand(15) = 0 THEN decode(repeat(lpad(to_hex(fz_rand(256)), 2, '0'), fz_rand(40)), 'hex')
              ELSE fz_mutate_bytes(b) END;
    EXECUTE format('TRUNCATE %I', tab);
    EXECUTE format('COPY (SELECT %L::bytea) TO %L (FORMAT binary)', b, file);
    IF fz_try(kind, case_no, format('COPY %I FROM %L (FORMAT binary)', tab, file)) THEN
        EXECUTE format('SELECT s::text FROM %I', tab) INTO t;
        PERFORM fz_check_state(kind, case_no, typ, t);
        EXECUTE format('INSERT INTO %I (s) VALUES (%L)', CASE typ WHEN 'quality_state' THEN 'fz_q_seen' ELSE 'fz_eng_seen' END, t);
    END IF;
END $$;

-- Combining by hand: real states of one kind must combine like the aggregate over the
-- union of their rows; mismatched ones must be refused; any state pair must not break.
CREATE FUNCTION fz_combine_case(case_no integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    a record;
    b record;
    got text;
    want text;
    x text;
    y text;
    ok boolean;
    g double precision;
    w double precision;
BEGIN
    CASE fz_rand(4)
    WHEN 0 THEN  -- quality: two real states
        SELECT * INTO a FROM fz_q_valid ORDER BY id OFFSET fz_rand((SELECT count(*)::integer FROM fz_q_valid)) LIMIT 1;
        SELECT * INTO b FROM fz_q_valid ORDER BY id OFFSET fz_rand((SELECT count(*)::integer FROM fz_q_valid)) LIMIT 1;
        ok := fz_try('quality combine', case_no, format('SELECT leadqual.quality_combine(%L, %L)', a.s, b.s));
        IF a.bins <> b.bins THEN
            IF ok THEN
                INSERT INTO fz_failure VALUES ('quality combine', case_no,
                    format('states with %s and %s bins were combined', a.bins, b.bins));
            END IF;
        ELSIF NOT ok THEN
            INSERT INTO fz_failure VALUES ('quality combine', case_no, format('real states %s and %s do not combine', a.id, b.id));
        ELSE
            got := leadqual.quality_combine(a.s, b.s)::text;
            -- the union of the rows, each row counted once per state it is in
            IF a.bins = 0 THEN
                SELECT fz_q_state(score, converted)::text INTO want
                  FROM (SELECT * FROM fz_scores WHERE grp = ANY (a.grps)
                        UNION ALL SELECT * FROM fz_scores WHERE grp = ANY (b.grps)) u;
            ELSE
                SELECT fz_q_state(score, converted, a.bins)::text INTO want
                  FROM (SELECT * FROM fz_scores WHERE grp = ANY (a.grps)
                        UNION ALL SELECT * FROM fz_scores WHERE grp = ANY (b.grps)) u;
            END IF;
            IF got IS DISTINCT FROM want THEN
                INSERT INTO fz_failure VALUES ('quality combine', case_no,
                    format('combine of groups %s and %s (bins %s) gives %s, the aggregate over their rows %s',
                           a.grps, b.grps, a.bins, left(got, 300), left(want, 300)));
            END IF;
        END IF;
    WHEN 1 THEN  -- engagement: two real states
        SELECT * INTO a FROM fz_eng_valid ORDER BY id OFFSET fz_rand((SELECT count(*)::integer FROM fz_eng_valid)) LIMIT 1;
        SELECT * INTO b FROM fz_eng_valid ORDER BY id OFFSET fz_rand((SELECT count(*)::integer FROM fz_eng_valid)) LIMIT 1;
        ok := fz_try('engagement combine', case_no, format('SELECT leadqual.engagement_combine(%L, %L)', a.s, b.s));
        IF a.model <> b.model OR a.as_of <> b.as_of THEN
            IF ok THEN
                INSERT INTO fz_failure VALUES ('engagement combine', case_no,
                    format('states of %s/%s and %s/%s were combined', a.model, a.as_of, b.model, b.as_of));
            END IF;
        ELSIF NOT ok THEN
            INSERT INTO fz_failure VALUES ('engagement combine', case_no, format('real states %s and %s do not combine', a.id, b.id));
        ELSE
            g := leadqual.engagement_final(leadqual.engagement_combine(a.s, b.s));
            SELECT leadqual.engagement(event_type, occurred_at, a.model, a.as_of) INTO w
              FROM (SELECT * FROM fz_events WHERE grp = ANY (a.grps)
                    UNION ALL SELECT * FROM fz_events WHERE grp = ANY (b.grps)) u;
            IF abs(g - w) > 1e-9 * (1 + abs(w)) THEN
                INSERT INTO fz_failure VALUES ('engagement combine', case_no,
                    format('combine of groups %s and %s gives %s, the aggregate over their events %s', a.grps, b.grps, g, w));
            END IF;
        END IF;
    ELSE  -- anything seen so far, NULLs included, in either order
        IF fz_rand(2) = 0 THEN
            SELECT s::text INTO x FROM (SELECT s FROM fz_q_valid UNION ALL SELECT s FROM fz_q_seen) v
             ORDER BY s::text OFFSET fz_rand((SELECT count(*)::integer FROM fz_q_valid) + (SELECT count(*)::integer FROM fz_q_seen)) LIMIT 1;
            SELECT s::text INTO y FROM (SELECT s FROM fz_q_valid UNION ALL SELECT s FROM fz_q_seen) v
             ORDER BY s::text OFFSET fz_rand((SELECT count(*)::integer FROM fz_q_valid) + (SELECT count(*)::integer FROM fz_q_seen)) LIMIT 1;
            IF fz_rand(6) = 0 THEN x := NULL; END IF;
            IF fz_rand(6) = 0 THEN y := NULL; END IF;
            PERFORM fz_try('quality combine any', case_no,
                format('SELECT (leadqual.quality_final(leadqual.quality_combine(%L::leadqual.quality_state, %L::leadqual.quality_state))).*', x, y));
            -- the transition function by hand, on a state from outside
            PERFORM fz_try('quality trans', case_no,
                format('SELECT leadqual.quality_trans(%L::leadqual.quality_state, %L::float8, %L::boolean, %L::integer)::text', x,
                       fz_pick('{0,1,-0,NaN,Infinity,-Infinity,1e308,5e-324,NULL}'), fz_pick('{true,false,NULL}'),
                       fz_pick('{2,3,8,1000,0,1,-1,1000001,NULL}')));
            PERFORM fz_try('quality trans', case_no,
                format('SELECT leadqual.quality_trans(%L::leadqual.quality_state, %L::float8, %L::boolean)::text', x,
                       fz_pick('{0,1,-0,NaN,Infinity,-Infinity,1e308,5e-324,NULL}'), fz_pick('{true,false,NULL}')));
        ELSE
            SELECT s::text INTO x FROM (SELECT s FROM fz_eng_valid UNION ALL SELECT s FROM fz_eng_seen) v
             ORDER BY s::text OFFSET fz_rand((SELECT count(*)::integer FROM fz_eng_valid) + (SELECT count(*)::integer FROM fz_eng_seen)) LIMIT 1;
            SELECT s::text INTO y FROM (SELECT s FROM fz_eng_valid UNION ALL SELECT s FROM fz_eng_seen) v
             ORDER BY s::text OFFSET fz_rand((SELECT count(*)::integer FROM fz_eng_valid) + (SELECT count(*)::integer FROM fz_eng_seen)) LIMIT 1;
            PERFORM fz_try('engagement combine any', case_no,
                format('SELECT leadqual.engagement_final(leadqual.engagement_combine(%L, %L))', x, y));
            -- outside an aggregate the transition function refuses to run
            PERFORM fz_try('engagement trans', case_no,
                format('SELECT leadqual.engagement_transfn(%L, %L, %L, %L)', x, fz_pick('{demo,open,NULL}'),
                       fz_pick('{2026-01-01,infinity,NULL}'), fz_pick('{fz,fz2,nope,NULL}')));
        END IF;
    END CASE;
END $$;

-- A forged INITCOND: an aggregate that starts from a state made from text.
CREATE FUNCTION fz_initcond_case(case_no integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    base text;
    t text;
    n bigint;
    init_leads bigint;
    rows_leads bigint;
BEGIN
    IF fz_rand(2) = 0 THEN
        SELECT s::text INTO base FROM fz_eng_valid ORDER BY id OFFSET fz_rand((SELECT count(*)::integer FROM fz_eng_valid)) LIMIT 1;
        t := CASE WHEN fz_rand(3) = 0 THEN base ELSE fz_mutate_number(base) END;
        IF fz_try('engagement initcond', case_no, format(
                'CREATE AGGREGATE fz_forged(text, timestamptz, text, timestamptz) (SFUNC = leadqual.engagement_transfn,
                 STYPE = leadqual.engagement_state, FINALFUNC = leadqual.engagement_final, INITCOND = %L)', t)) THEN
            PERFORM fz_try('engagement initcond run', case_no,
                format('SELECT fz_forged(event_type, occurred_at, %L, %L) FROM fz_events GROUP BY grp',
                       fz_pick('{fz,fz2}'), fz_pick('{2026-06-01 00:00:00+00,2026-06-01 00:00:00.5+00}')));
            DROP AGGREGATE fz_forged(text, timestamptz, text, timestamptz);
        END IF;
    ELSE
        SELECT s::text INTO base FROM fz_q_valid ORDER BY id OFFSET fz_rand((SELECT count(*)::integer FROM fz_q_valid)) LIMIT 1;
        t := CASE WHEN fz_rand(3) = 0 THEN base ELSE fz_mutate_number(base) END;
        IF fz_try('quality initcond', case_no, format(
                'CREATE AGGREGATE fz_forged(float8, boolean) (SFUNC = leadqual.quality_trans,
                 STYPE = leadqual.quality_state, FINALFUNC = leadqual.quality_final, INITCOND = %L)', t)) THEN
            IF fz_try('quality initcond run', case_no, 'SELECT (fz_forged(score, converted)).* FROM fz_scores') THEN
                -- the state from outside counts as rows already seen
                SELECT (fz_forged(score, converted)).leads INTO n FROM fz_scores;
                SELECT (leadqual.quality_final(t::leadqual.quality_state)).leads INTO init_leads;
                SELECT count(*) INTO rows_leads FROM fz_scores WHERE score IS NOT NULL AND converted IS NOT NULL;
                IF n <> init_leads + rows_leads THEN
                    INSERT INTO fz_failure VALUES ('quality initcond', case_no,
                        format('INITCOND %L with %s leads plus %s rows gives %s leads', t, init_leads, rows_leads, n));
                END IF;
            END IF;
            DROP AGGREGATE fz_forged(float8, boolean);
        END IF;
    END IF;
END $$;

-- Every leadqual function with NULL arguments (all of them, then one at a time beside
-- plausible values); whatever it does is undone.
CREATE FUNCTION fz_null_calls() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    f record;
    args text[];
    call text;
    state text;
    msg text;
    n integer := 0;
    sample jsonb := jsonb_build_object(
        'record', '(SELECT l FROM fz_leads l WHERE id = 2)', 'text', '''fz''', 'double precision', '1',
        'boolean', 'true', 'integer', '2', 'bigint', '1', 'regclass', '''fz_leads''::regclass',
        'name', '''i4''::name', 'timestamp with time zone', '''2026-06-01''::timestamptz',
        'regtype', '''float8''::regtype', 'cstring', '''x''::cstring',
        'leadqual.engagement_state', '(SELECT s FROM fz_eng_valid ORDER BY id LIMIT 1)',
        'leadqual.quality_state', '(SELECT s FROM fz_q_valid ORDER BY id LIMIT 1)');
BEGIN
    FOR f IN
        SELECT p.oid, p.proname, p.prokind, p.pronargs,
               ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t) AS types
          FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace
         WHERE s.nspname = 'leadqual' AND p.prokind IN ('f', 'p')
           AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
           AND NOT 'internal'::regtype = ANY (p.proargtypes)
         ORDER BY p.proname, p.oid
    LOOP
        FOR k IN 0..f.pronargs LOOP  -- 0: every argument NULL; k: only argument k NULL
            args := ARRAY(SELECT CASE WHEN k = 0 OR k = i THEN format('NULL::%s', f.types[i])
                                      ELSE coalesce(sample ->> f.types[i], format('NULL::%s', f.types[i])) END
                            FROM generate_subscripts(f.types, 1) i ORDER BY i);
            call := format('%s leadqual.%I(%s)', CASE f.prokind WHEN 'p' THEN 'CALL' ELSE 'SELECT' END,
                           f.proname, array_to_string(args, ', '));
            n := n + 1;
            BEGIN
                EXECUTE call;
                RAISE EXCEPTION USING ERRCODE = 'FZ001';  -- undo what it did
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                IF state = 'FZ001' THEN
                    INSERT INTO fz_outcome VALUES ('null argument call', n, true, NULL, NULL);
                ELSE
                    PERFORM fz_refused('null argument call', n, state, msg, call);
                END IF;
            END;
        END LOOP;
    END LOOP;
END $$;

CREATE FUNCTION fz_run_states(first integer, last integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN first..last LOOP
        CASE i % 8
            WHEN 0 THEN PERFORM fz_text_case('quality_state', i);
            WHEN 1 THEN PERFORM fz_text_case('engagement_state', i);
            WHEN 2 THEN PERFORM fz_binary_case('quality_state', i);
            WHEN 3 THEN PERFORM fz_binary_case('engagement_state', i);
            WHEN 4, 5 THEN PERFORM fz_combine_case(i);
            WHEN 6 THEN PERFORM fz_text_case(fz_pick('{quality_state,engagement_state}'), i);
            ELSE IF i % 32 = 7 THEN PERFORM fz_initcond_case(i); ELSE PERFORM fz_combine_case(i); END IF;
        END CASE;
    END LOOP;
    RETURN format('state cases %s..%s: %s failures so far', first, last, (SELECT count(*) FROM fz_failure));
END $$;
