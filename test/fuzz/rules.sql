-- fuzz/rules.sql: random and hostile rule rows, inserted one at a time (and some
-- updated or enabled later).  Every refusal must carry a proper SQLSTATE; every
-- accepted rule must hit exactly the lead rows its SQL equivalent selects.
\set ON_ERROR_STOP 1
SET client_min_messages = error;

-- Values that are wrong, extreme or ambiguous for some type.
CREATE FUNCTION fz_hostile() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT fz_pick(ARRAY['', ' ', 'NaN', '-NaN', 'nan', 'Infinity', '-infinity', 'inf', '+inf',
        '1e400', '-1e400', '1e-400', '0x10', '1_000', '+1', ' 1 ', '1 ', '9223372036854775808',
        '-9223372036854775809', '32768', '-32769', '2147483648', '1.5', '1e308', '-0', '0.000',
        'now', 'today', 'Tomorrow', ' yesterday', 'NOW', 'epoch', 'allballs', 'J2451187',
        '2026-02-30', '0000-01-01', '294277-01-01', '5874898-01-01', '2026-06-01 25:00',
        '2026-06-01T12:00:00Z', '12:00 PST8PDT', 'infinity', '4714-11-23 BC', '2026-06-01 Europe/Berlin',
        '1 day ago', '@ 1 minute', 'P1Y2M3DT4H5M6S', '-178000001 years', '1000000000 days',
        'NULL', 'null', '''', '"', '\', '\\', '{', '}', '{1,2}', '(1,2)', '[1,2)', '(,)', 'empty',
        'true', 'yes', 'on', 'f', 't ', 'TRUE', 'é', U&'\0301', U&'\FEFF', '😀',
        repeat('x', 10000), repeat('9', 1000), '1' || repeat('0', 1000), '1e1000000', '1e-1000000',
        '0.' || repeat('0', 1000) || '1', E'a\tb', E'\n', 'a''b', 'x"y\z',
        '192.168.1.300', '::g', '10.0.0.1/33', 'ffffffff-ffff-ffff-ffff-fffffffffffff',
        '{"a":', '[1,2', '$1.00', '-$5', '1/0', 'FFFFFFFF/FFFFFFFFF', 'G/0', 'CALM', 'calm ', '0', '-1', '1'])
$$;

-- A string from an alphabet of syntax characters, letters and non-ASCII.
CREATE FUNCTION fz_random_string(maxlen integer) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet text[] := ARRAY['a', 'b', 'A', 'B', 'z', 'Z', '0', '1', '9', '-', '+', '.', 'e', 'E', ',',
        '{', '}', '[', ']', '(', ')', '"', '''', '\', '%', '_', '*', '?', '|', '^', '$', ':', ';',
        '=', ' ', E'\t', 'é', 'ß', 'İ', 'ı', U&'\212A', '😀', '列', U&'\0301'];
    s text := '';
BEGIN
    FOR i IN 1..fz_rand(maxlen + 1) LOOP
        s := s || fz_pick(alphabet);
    END LOOP;
    RETURN s;
END $$;

-- A few byte-level edits: delete, insert, replace, duplicate a slice, swap case.
CREATE FUNCTION fz_mutate(s text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    p integer;
    n integer;
BEGIN
    FOR i IN 1..1 + fz_rand(3) LOOP
        p := 1 + fz_rand(length(s) + 1);
        CASE fz_rand(5)
            WHEN 0 THEN s := overlay(s PLACING '' FROM p FOR 1);
            WHEN 1 THEN s := overlay(s PLACING fz_random_string(2) FROM p FOR 0);
            WHEN 2 THEN s := overlay(s PLACING fz_random_string(1) FROM p FOR 1);
            WHEN 3 THEN
                n := fz_rand(5);
                s := overlay(s PLACING substr(s, p, n) || substr(s, p, n) FROM p FOR n);
            ELSE s := CASE WHEN fz_rand(2) = 0 THEN upper(s) ELSE lower(s) END;
        END CASE;
    END LOOP;
    RETURN s;
END $$;

-- A scalar value for column c: from its pool, another column's pool, mutated, hostile, random.
CREATE FUNCTION fz_scalar(c fz_cols) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r integer := fz_rand(100);
BEGIN
    RETURN CASE
        WHEN r < 55 THEN fz_pick(c.pool)
        WHEN r < 65 THEN fz_pick((SELECT pool FROM fz_cols ORDER BY ord OFFSET fz_rand((SELECT count(*)::integer FROM fz_cols)) LIMIT 1))
        WHEN r < 77 THEN fz_mutate(fz_pick(c.pool))
        WHEN r < 90 THEN fz_hostile()
        ELSE fz_random_string(12) END;
END $$;

-- An array element, quoted for array_in.
CREATE FUNCTION fz_quote_elem(s text) RETURNS text LANGUAGE sql IMMUTABLE AS
    $$ SELECT '"' || replace(replace(s, '\', '\\'), '"', '\"') || '"' $$;

-- A list value (in, not_in, between): well-formed mostly, else mutated or malformed.
CREATE FUNCTION fz_list(c fz_cols, op text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
    elems text[] := '{}';
    sorted text[];
    r integer := fz_rand(100);
    s text;
BEGIN
    IF r < 6 THEN
        RETURN fz_pick(ARRAY['{', '}', '{}', '{NULL}', '{1,NULL}', '{{1,2},{3,4}}', '{{}}', '[0:1]={1,2}',
            '[1:1][1:2]={{1,2}}', '[2:3]={a,b}', '{1,2}}', '{"a}', 'abc', '{,}', '{ }', '{1, 2}',
            '{ "x" }', '{"",""}', '{a,b,c}', '{' || repeat('{', 100) || '1' || repeat('}', 101),
            '{' || repeat('1,', 20000) || '1}', '[-2147483648:-2147483647]={1,2}', '{1}x', 'NULL']);
    END IF;
    IF op = 'between' THEN
        n := CASE WHEN fz_rand(10) = 0 THEN fz_pick('{0,1,3}')::integer ELSE 2 END;
    ELSE
        n := CASE fz_rand(10) WHEN 0 THEN 50 + fz_rand(2000) WHEN 1 THEN 4 + fz_rand(8)
                              ELSE 1 + fz_rand(4) END;
    END IF;
    FOR i IN 1..n LOOP
        elems := elems || CASE WHEN n > 20 AND fz_rand(4) > 0 THEN fz_pick(c.pool) || i
                               ELSE fz_scalar(c) END;
    END LOOP;
    -- between: usually put the two values in the column's order (when they parse)
    IF op = 'between' AND n = 2 AND fz_rand(10) < 7 THEN
        BEGIN
            EXECUTE format('SELECT ARRAY(SELECT x::text FROM unnest(%L::%s[]) x ORDER BY x)',
                           '{' || array_to_string(ARRAY(SELECT fz_quote_elem(e) FROM unnest(elems) e), ',') || '}',
                           c.cast_type) INTO sorted;
            elems := sorted;
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END IF;
    s := '{' || array_to_string(ARRAY(SELECT CASE WHEN fz_rand(3) = 0 AND e ~ '^[a-zA-Z0-9.]+$' THEN e
                                                  ELSE fz_quote_elem(e) END
                                        FROM unnest(elems) e), ',') || '}';
    IF r < 16 THEN
        s := fz_mutate(s);
    END IF;
    RETURN s;
END $$;

-- A literal taken from the string pool, for patterns that should hit.
CREATE FUNCTION fz_fragment() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    s text := fz_pick(fz_strings());
    p integer := 1 + fz_rand(greatest(length(s), 1));
    f text := substr(s, p, 1 + fz_rand(5));
BEGIN
    RETURN CASE fz_rand(4) WHEN 0 THEN upper(f) WHEN 1 THEN s ELSE f END;
END $$;

CREATE FUNCTION fz_like() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    pieces text[] := ARRAY['%', '_', '\%', '\_', '\\', '\', '%%', 'ß', 'İ', 'ǅ', 'a', 'A', ' ', '😀'];
    s text := '';
    lit text;
BEGIN
    CASE fz_rand(10)
        WHEN 0, 1, 2, 3 THEN  -- the literal shapes of the fast path
            lit := replace(replace(replace(fz_fragment(), '\', ''), '%', ''), '_', '');
            RETURN fz_pick(ARRAY['%' || lit || '%', lit || '%', '%' || lit, lit, '%%' || lit || '%%']);
        WHEN 4 THEN
            RETURN fz_pick(ARRAY[repeat('%a', 60) || '%b', repeat('_', 300), repeat('%', 1000),
                                 repeat('a%', 100) || 'c', '%' || repeat('_%', 50) || 'x', fz_hostile()]);
        ELSE
            FOR i IN 1..1 + fz_rand(8) LOOP
                s := s || CASE WHEN fz_rand(3) = 0 THEN fz_fragment() ELSE fz_pick(pieces) END;
            END LOOP;
            RETURN s;
    END CASE;
END $$;

-- Escapes a literal for a regex.
CREATE FUNCTION fz_regex_quote(s text) RETURNS text LANGUAGE sql IMMUTABLE AS
    $$ SELECT regexp_replace(s, '([.\[\]()*+?{}^$|\\])', '\\\1', 'g') $$;

CREATE FUNCTION fz_regex() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    pieces text[] := ARRAY['.', '.*', '+', '*', '?', '{2}', '{1,3}', '{0,}', '{1000}', '{,5}', '{256}',
        '(', ')', '(?:', '|', '[a-z]', '[^a]', '[[:alpha:]]', '[[:digit:]]+', '[', ']', '\d', '\w',
        '\s', '\m', '\M', '\y', '\1', '\2', '\.', '\$', '\\', '\', '^', '$', '(?i)', '(?=a)', '(?!b)',
        '(?<=a)', '***=', '***:', '(a*)*', '(a|aa)*c', '(.*){5}', '\u00e9', '\x41', '\Z', '[\d-z]',
        '(?#c)', '{', '}', 'é', '😀', '\e', '\B', '\A', '[[.hyphen.]]', '[[=a=]]', '[z-a]', '(?x) a b'];
    s text := '';
    a text;
    b text;
BEGIN
    CASE fz_rand(12)
        WHEN 0, 1, 2, 3, 4 THEN  -- literal shapes: anchors, alternations, escaped punctuation
            a := fz_regex_quote(fz_fragment());
            b := fz_regex_quote(fz_fragment());
            RETURN fz_pick(ARRAY[a, '^' || a, a || '$', '^' || a || '$', a || '|' || b,
                                 a || '|' || b || '|' || fz_regex_quote(fz_fragment()),
                                 a || '(' || b || '|' || a || ')' || b, '(?:' || a || '|' || b || ')',
                                 '^(' || a || '|' || b || ')$', '@(gmail|yahoo)\.', a || '\.' || b,
                                 a || '\\$', a || '\$', a || '|', '|' || a, '^', '$', '^$', '']);
        WHEN 5 THEN  -- pathological ones
            RETURN fz_pick(ARRAY['((a{1,100}){1,100}){1,100}', '(a*)b\1c', '(\w+)\s\1', '(x+x+)+y',
                                 '^(a+)+$', '(a|a)*b', repeat('(', 300) || 'a' || repeat(')', 300),
                                 repeat('a?', 200) || repeat('a', 200), '(.*)*\1', '[' || repeat('a-', 100) || ']',
                                 repeat('x|', 5000) || 'y', fz_hostile()]);
        ELSE
            FOR i IN 1..1 + fz_rand(8) LOOP
                s := s || CASE WHEN fz_rand(3) = 0 THEN fz_fragment() ELSE fz_pick(pieces) END;
            END LOOP;
            RETURN s;
    END CASE;
END $$;

-- The SQL a person would write for a rule (NULL: not a column of fz_leads).
CREATE FUNCTION fz_sql(attribute text, op text, value text) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    c fz_cols;
    col text;
    arr text;
BEGIN
    SELECT * INTO c FROM fz_cols WHERE fz_cols.col = attribute;
    IF attribute = 'id' THEN
        c.col := 'id';
        c.cast_type := 'int4';
    ELSIF NOT FOUND THEN
        RETURN NULL;
    END IF;
    col := format('l.%I', c.col);
    arr := format('%L::%s[]', value, c.cast_type);
    RETURN CASE op
        WHEN 'eq' THEN format('%s = %L::%s', col, value, c.cast_type)
        WHEN 'ne' THEN format('%s <> %L::%s', col, value, c.cast_type)
        WHEN 'lt' THEN format('%s < %L::%s', col, value, c.cast_type)
        WHEN 'le' THEN format('%s <= %L::%s', col, value, c.cast_type)
        WHEN 'gt' THEN format('%s > %L::%s', col, value, c.cast_type)
        WHEN 'ge' THEN format('%s >= %L::%s', col, value, c.cast_type)
        WHEN 'between' THEN format('%s BETWEEN (%s)[array_lower(%s, 1)] AND (%s)[array_upper(%s, 1)]',
                                   col, arr, arr, arr, arr)
        WHEN 'in' THEN format('%s = ANY (%s)', col, arr)
        WHEN 'not_in' THEN format('%s <> ALL (%s)', col, arr)
        WHEN 'like' THEN format('%s ~~ %L::text', col, value)
        WHEN 'ilike' THEN format('%s ~~* %L::text', col, value)
        WHEN 'regex' THEN format('%s ~ %L::text', col, value)
        WHEN 'iregex' THEN format('%s ~* %L::text', col, value)
        -- the column's value is NULL (for a row type, SQL's IS NULL means "all fields")
        WHEN 'is_null' THEN format('num_nulls(%s) = 1', col)
        WHEN 'not_null' THEN format('num_nonnulls(%s) = 1', col)
    END;
END $$;

-- Which lead rows an expression selects (NULL counts as a miss).
CREATE FUNCTION fz_hits(expr text) RETURNS integer[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    hits integer[];
BEGIN
    EXECUTE format('SELECT coalesce(array_agg(id ORDER BY id), ''{}'') FROM fz_leads l WHERE coalesce((%s), false)', expr)
        INTO hits;
    RETURN hits;
END $$;

-- Accepted rules and what their SQL equivalent selects.
CREATE TABLE fz_rule (
    rule_id   bigint PRIMARY KEY,
    case_no   integer NOT NULL,
    attribute text,
    op        text,
    value     text,          -- as written
    stored    text,          -- as leadqual stored it (canonical)
    enabled   boolean NOT NULL,
    category  text,
    points    float8,
    knockout  boolean,
    expected  integer[]      -- NULL: no SQL equivalent to compare with (a failure already)
);

-- Accepted criterion checks of framework bant (model fz), with their expected hits.
CREATE TABLE fz_crit (
    criterion text PRIMARY KEY,
    case_no   integer NOT NULL,
    expected  integer[]
);

-- Computes the expected hits of an accepted, enabled rule; checks that the stored
-- (canonical) value selects the same rows as the written one.
CREATE FUNCTION fz_expect(r fz_rule) RETURNS integer[] LANGUAGE plpgsql AS $$
DECLARE
    hits integer[];
    canon integer[];
    expr text := fz_sql(r.attribute, r.op, r.value);
    state text;
    msg text;
BEGIN
    IF expr IS NULL THEN
        INSERT INTO fz_failure VALUES ('rule', r.case_no,
            format('accepted a rule on %L, which is no column of fz_leads', r.attribute));
        RETURN NULL;
    END IF;
    BEGIN
        hits := fz_hits(expr);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fz_failure VALUES ('rule', r.case_no,
            format('accepted, but its SQL equivalent fails (%s: %s): %s', state, msg, left(expr, 300)));
        RETURN NULL;
    END;
    IF r.stored IS DISTINCT FROM r.value THEN
        BEGIN
            canon := fz_hits(fz_sql(r.attribute, r.op, r.stored));
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            canon := NULL;
        END;
        IF canon IS DISTINCT FROM hits THEN
            INSERT INTO fz_failure VALUES ('rule', r.case_no,
                format('stored value %L selects %s, the written %L selects %s (%s %s)',
                       left(r.stored, 200), coalesce(canon::text, state || ' ' || msg),
                       left(r.value, 200), hits, r.attribute, r.op));
        END IF;
    END IF;
    RETURN hits;
END $$;

-- One case: insert a random rule (or change an accepted one).
CREATE FUNCTION fz_rule_case(case_no integer) RETURNS void LANGUAGE plpgsql AS $$
<<fc>>
DECLARE
    c fz_cols;
    r fz_rule;
    model text;
    name text;
    category text;
    attribute text;
    op text;
    value text;
    points float8;
    knockout boolean;
    enabled boolean;
    kind text := 'rule insert';
    rid bigint;
    stored text;
    state text;
    msg text;
    -- pattern and list operators have the most corners: they come up more often
    ops text[] := '{eq,ne,lt,le,gt,ge,eq,ne,lt,le,gt,ge,between,in,not_in,between,in,not_in,between,in,not_in,'
                  'like,ilike,regex,iregex,like,ilike,regex,iregex,like,ilike,regex,iregex,like,ilike,regex,iregex,'
                  'is_null,not_null}';
BEGIN
    op := CASE WHEN fz_rand(40) = 0 THEN fz_pick(ARRAY['EQ', 'eq ', '', 'like; select 1', 'regexp', NULL])
               ELSE fz_pick(ops) END;
    IF op IN ('like', 'ilike', 'regex', 'iregex') AND fz_rand(8) > 0 THEN
        SELECT * INTO c FROM fz_cols WHERE cast_type IN ('text', 'varchar', 'bpchar', 'fz_code')
         ORDER BY ord OFFSET fz_rand((SELECT count(*)::integer FROM fz_cols
                                       WHERE cast_type IN ('text', 'varchar', 'bpchar', 'fz_code'))) LIMIT 1;
    ELSE
        SELECT * INTO c FROM fz_cols ORDER BY ord OFFSET fz_rand((SELECT count(*)::integer FROM fz_cols)) LIMIT 1;
    END IF;
    attribute := CASE WHEN fz_rand(12) = 0
        THEN fz_pick(ARRAY['', 'ID', 'id', 'nonexistent', 'T', '"t"', 't ', ' t', 'leadqual.rules',
                           'id; DROP TABLE fz_leads', 'ctid', 'xmin', 'tableoid', '*', 'Weird "col"',
                           'Ünï', 'SELECT', 'camelcase', repeat('t', 100)])
        ELSE c.col END;
    value := CASE
        WHEN op IN ('is_null', 'not_null') THEN CASE WHEN fz_rand(8) = 0 THEN fz_scalar(c) END
        WHEN op IN ('in', 'not_in', 'between') THEN fz_list(c, op)
        WHEN op IN ('like', 'ilike') THEN fz_like()
        WHEN op IN ('regex', 'iregex') THEN fz_regex()
        WHEN fz_rand(30) = 0 THEN NULL
        ELSE fz_scalar(c) END;
    points := CASE WHEN fz_rand(8) = 0
        THEN fz_pick('{NaN,Infinity,-Infinity,1e308,-1e308,1e6,-1e6,1000001,1e-320,-0,1e15,0.1,2.5}')::float8
        ELSE fz_rand(21) - 10 END;
    category := CASE WHEN fz_rand(30) = 0 THEN fz_pick('{FIT,bogus,""}') WHEN fz_rand(2) = 0 THEN 'fit' ELSE 'intent' END;
    knockout := fz_rand(25) = 0;
    enabled := fz_rand(10) > 0;
    model := CASE WHEN fz_rand(40) = 0 THEN fz_pick(ARRAY['nope', 'FZ', NULL, '']) ELSE 'fz' END;
    name := CASE fz_rand(20)
        WHEN 0 THEN fz_pick(ARRAY['', 'r1', 'r2', '"; DROP TABLE fz_leads; --', 'ü' || U&'\0301', repeat('n', 3000), NULL])
        WHEN 1 THEN fz_random_string(20)
        ELSE 'r' || case_no END;

    -- to find the case behind a crash: FUZZ_DEBUG=1 (each case goes to the server log)
    IF current_setting('fz.debug', true) = 'on' THEN
        RAISE WARNING 'case %: model %, name %, category %, attribute %, op %, value %, points %, knockout %, enabled %',
            case_no, model, left(name, 100), category, attribute, op, value, points, knockout, enabled;
    END IF;

    -- one case in twenty writes a criterion check instead (same engine, its own trigger)
    IF fz_rand(20) = 0 THEN
        kind := 'criterion check';
        name := fz_pick('{budget,authority,need,timeline}');
        DELETE FROM leadqual.criterion_checks x WHERE x.model = 'fz' AND x.framework = 'bant' AND x.criterion = name;
        DELETE FROM fz_crit WHERE criterion = name;
        BEGIN
            INSERT INTO leadqual.criterion_checks AS x (model, framework, criterion, attribute, op, value)
                VALUES (model, 'bant', name, attribute, op, value) RETURNING x.value INTO stored;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            PERFORM fz_refused(kind, case_no, state, msg, format('%s %s %s', attribute, op, value));
            RETURN;
        END;
        INSERT INTO fz_outcome VALUES (kind, case_no, true, NULL, NULL);
        r := ROW(0, case_no, attribute, op, value, stored, true, NULL, NULL, NULL, NULL);
        INSERT INTO fz_crit VALUES (name, case_no, fz_expect(r));
        RETURN;
    END IF;

    -- a tenth of the cases change an accepted rule instead
    IF fz_rand(10) = 0 AND EXISTS (SELECT FROM fz_rule) THEN
        kind := 'rule update';
        SELECT * INTO r FROM fz_rule ORDER BY rule_id OFFSET fz_rand((SELECT count(*)::integer FROM fz_rule)) LIMIT 1;
        BEGIN
            UPDATE leadqual.rules x SET attribute = fc.attribute, op = fc.op, value = fc.value, enabled = true
             WHERE x.rule_id = r.rule_id RETURNING x.value INTO stored;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            PERFORM fz_refused(kind, case_no, state, msg, format('%s %s %s', attribute, op, value));
            RETURN;
        END;
        INSERT INTO fz_outcome VALUES (kind, case_no, true, NULL, NULL);
        r.attribute := attribute; r.op := op; r.value := value; r.stored := stored; r.enabled := true;
        r.case_no := case_no;
        r.expected := fz_expect(r);
        UPDATE fz_rule x SET attribute = r.attribute, op = r.op, value = r.value, stored = r.stored,
               enabled = true, case_no = r.case_no, expected = r.expected
         WHERE x.rule_id = r.rule_id;
        RETURN;
    END IF;

    BEGIN
        INSERT INTO leadqual.rules AS x (model, name, category, attribute, op, value, points, knockout, enabled)
            VALUES (model, name, category, attribute, op, value, points, knockout, enabled)
            RETURNING x.rule_id, x.value INTO rid, stored;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        PERFORM fz_refused(kind, case_no, state, msg, format('%s %s %s points %s', attribute, op, value, points));
        RETURN;
    END;
    INSERT INTO fz_outcome VALUES (kind, case_no, true, NULL, NULL);
    -- a draft: validated when it is enabled
    IF NOT enabled AND fz_rand(2) = 0 THEN
        BEGIN
            UPDATE leadqual.rules x SET enabled = true WHERE x.rule_id = rid RETURNING x.value INTO stored;
            enabled := true;
            INSERT INTO fz_outcome VALUES ('enable', case_no, true, NULL, NULL);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            PERFORM fz_refused('enable', case_no, state, msg, format('%s %s %s', attribute, op, value));
        END;
    END IF;
    r := ROW(rid, case_no, attribute, op, value, stored, enabled, category, points, knockout, NULL);
    IF enabled THEN
        r.expected := fz_expect(r);
        -- the canonical value is a fixed point: writing it again changes nothing
        BEGIN
            UPDATE leadqual.rules x SET value = x.value WHERE x.rule_id = rid RETURNING x.value INTO value;
            IF value IS DISTINCT FROM stored THEN
                INSERT INTO fz_failure VALUES ('rule', case_no,
                    format('rewriting stored value %L gives %L', left(stored, 200), left(value, 200)));
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            INSERT INTO fz_failure VALUES ('rule', case_no,
                format('rewriting its own stored value %L is refused: %s %s', left(stored, 200), state, msg));
        END;
    END IF;
    INSERT INTO fz_rule VALUES (r.*);
END $$;

-- Sums points in the order given, as leadqual does; NULL if the sum overflows.
CREATE FUNCTION fz_sum(points float8[]) RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s float8 := 0;
    p float8;
BEGIN
    FOREACH p IN ARRAY points LOOP
        s := s + p;
    END LOOP;
    RETURN s;
EXCEPTION WHEN numeric_value_out_of_range THEN
    RETURN NULL;
END $$;

-- Compares what leadqual scores with what the SQL equivalents say, over every lead row.
CREATE FUNCTION fz_check(label text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m record;
    state text;
    msg text;
    expected_stage leadqual.stage;
BEGIN
    BEGIN
        FOR m IN
            WITH actual AS (
                SELECT e.rule_id, array_agg(l.id ORDER BY l.id) AS hits
                  FROM fz_leads l, leadqual.explain(l, 'fz') e
                 WHERE e.rule_id IS NOT NULL GROUP BY e.rule_id),
            expected AS (SELECT rule_id, expected, case_no FROM fz_rule WHERE enabled AND expected IS NOT NULL)
            SELECT rule_id, coalesce(a.hits, '{}') AS actual, coalesce(x.expected, '{}') AS expected,
                   f.case_no, f.attribute, f.op, f.value
              FROM expected x FULL JOIN actual a USING (rule_id) LEFT JOIN fz_rule f USING (rule_id)
             WHERE coalesce(a.hits, '{}') IS DISTINCT FROM coalesce(x.expected, '{}')
               AND (f.rule_id IS NULL OR f.expected IS NOT NULL)
        LOOP
            INSERT INTO fz_failure VALUES ('mismatch', m.case_no,
                format('%s: rule %s (%s %s %L) hits leads %s, its SQL equivalent %s',
                       label, m.rule_id, m.attribute, m.op, left(m.value, 300), m.actual, m.expected));
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fz_failure VALUES ('mismatch', NULL, format('%s: explain failed: %s %s', label, state, msg));
    END;
    -- qualify: a criterion is met where its check's SQL equivalent holds
    BEGIN
        FOR m IN
            SELECT l.id, (leadqual.qualify(l, 'fz', 'bant')).missing AS missing,
                   ARRAY(SELECT c.criterion FROM leadqual.criteria c
                          WHERE c.framework = 'bant'
                            AND NOT EXISTS (SELECT FROM fz_crit f WHERE f.criterion = c.criterion
                                                                    AND l.id = ANY (f.expected))
                          ORDER BY c.position) AS want
              FROM fz_leads l
             WHERE NOT EXISTS (SELECT FROM fz_crit WHERE expected IS NULL)
        LOOP
            IF m.missing IS DISTINCT FROM m.want THEN
                INSERT INTO fz_failure VALUES ('mismatch', m.id, format('%s: lead %s misses %s of bant, its checks'' SQL equivalents %s',
                                                                     label, m.id, m.missing, m.want));
            END IF;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fz_failure VALUES ('mismatch', NULL, format('%s: qualify failed: %s %s', label, state, msg));
    END;
    -- score and classify of each lead against the sum of its expected rules
    BEGIN
        FOR m IN
            SELECT l.id, leadqual.score(l, 'fz') AS score, leadqual.classify(l, 'fz') AS stage,
                   fz_sum(ARRAY(SELECT points FROM fz_rule r WHERE enabled AND l.id = ANY (expected)
                                 ORDER BY rule_id)) AS expected_score,
                   fz_sum(ARRAY(SELECT points FROM fz_rule r WHERE enabled AND l.id = ANY (expected)
                                   AND category = 'fit' ORDER BY rule_id)) AS fit,
                   EXISTS (SELECT FROM fz_rule r WHERE enabled AND knockout AND l.id = ANY (expected)) AS ko
              FROM fz_leads l ORDER BY l.id
        LOOP
            IF m.expected_score IS NULL THEN
                -- points so large that the sum overflows: leadqual's sum is not finite either
                INSERT INTO fz_outcome VALUES ('score overflow', m.id, true, NULL, NULL);
                IF m.score BETWEEN -1e308 AND 1e308 THEN
                    INSERT INTO fz_failure VALUES ('score', m.id,
                        format('%s: lead %s scores %s, but its rules'' points overflow', label, m.id, m.score));
                END IF;
                CONTINUE;
            END IF;
            expected_stage := CASE WHEN m.ko OR m.fit < 0 THEN 'disqualified'
                                   WHEN m.expected_score >= 10 THEN 'mql' ELSE 'nurture' END;
            IF m.score <> m.expected_score
               OR (m.fit IS NOT NULL AND m.stage IS DISTINCT FROM expected_stage) THEN
                INSERT INTO fz_failure VALUES ('score', m.id,
                    format('%s: lead %s scores %s (%s), expected %s (%s)', label, m.id, m.score, m.stage,
                           m.expected_score, expected_stage));
            END IF;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fz_failure VALUES ('score', NULL, format('%s: score or classify failed: %s %s', label, state, msg));
    END;
END $$;

-- Runs cases first..last (one top-level statement per batch, so statement_timeout
-- bounds a batch), then checks every accepted rule so far.
CREATE FUNCTION fz_run_rules(first integer, last integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN first..last LOOP
        PERFORM fz_rule_case(i);
    END LOOP;
    PERFORM fz_check(format('after case %s', last));
    RETURN format('rule cases %s..%s: %s rules accepted so far, %s failures', first, last,
                  (SELECT count(*) FROM fz_rule), (SELECT count(*) FROM fz_failure));
END $$;

-- The accepted rules on an attached copy of the lead table: no lead insert may fail, and
-- the trigger must store what leadqual.score and classify say.
CREATE FUNCTION fz_attach() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    cols text := (SELECT string_agg(format('%I', col), ', ' ORDER BY ord) FROM fz_cols);
    state text;
    msg text;
BEGIN
    CREATE TABLE fz_att (LIKE fz_leads INCLUDING ALL, score float8, stage leadqual.stage,
                         stage_locked boolean NOT NULL DEFAULT false);
    INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold)
        VALUES ('fz_att', 'fz_att', 10, 0);
    INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout)
        SELECT 'fz_att', name, category, attribute, op, value, points, knockout
          FROM leadqual.rules WHERE model = 'fz' AND enabled ORDER BY rule_id;
    PERFORM leadqual.attach('fz_att', 'fz_att');
    -- one statement, then row by row (a failing row would not hide the others)
    BEGIN
        EXECUTE format('INSERT INTO fz_att (id, %s) SELECT id, %s FROM fz_leads', cols, cols);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fz_failure VALUES ('attached', NULL, format('inserting the leads fails: %s %s', state, msg));
        RETURN 'attached: insert failed';
    END;
    BEGIN
        EXECUTE format('UPDATE fz_att SET %I = %I', 'i4', 'i4');
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fz_failure VALUES ('attached', NULL, format('updating the leads fails: %s %s', state, msg));
    END;
    RETURN fz_attached_compare('after insert and update');
END $$;

CREATE FUNCTION fz_attached_compare(label text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m record;
    n integer := 0;
BEGIN
    FOR m IN SELECT a.id, a.score, a.stage, leadqual.score(l, 'fz') AS want, leadqual.classify(l, 'fz') AS want_stage
               FROM fz_att a JOIN fz_leads l USING (id)
              WHERE a.score IS DISTINCT FROM leadqual.score(l, 'fz')
                 OR a.stage IS DISTINCT FROM leadqual.classify(l, 'fz') LOOP
        INSERT INTO fz_failure VALUES ('attached', m.id, format('%s: lead %s stored %s (%s), scores %s (%s)',
                                       label, m.id, m.score, m.stage, m.want, m.want_stage));
    END LOOP;
    SELECT count(*) INTO n FROM fz_att;
    IF n <> (SELECT count(*) FROM fz_leads) THEN
        INSERT INTO fz_failure VALUES ('attached', NULL, format('%s: %s of the leads arrived', label, n));
    END IF;
    RETURN format('attached copy %s: %s leads, %s rules', label, n,
                  (SELECT count(*) FROM leadqual.rules WHERE model = 'fz_att'));
END $$;
