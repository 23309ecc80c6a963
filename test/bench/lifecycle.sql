-- test/bench/lifecycle.sql — cost of the lifecycle triggers and of rescore.
--   psql -v n=1000000 -f test/bench/lifecycle.sql     (run.sh passes -v n=SIZE)
-- a. INSERT of n/5 leads into a table with leadqual.attach, against the same INSERT into
--    an identical table without triggers, and against the same rules as PL/pgSQL
--    triggers (a BEFORE row trigger for score and stage, an AFTER row trigger writing a
--    history row per lead and a NOTIFY per lead that arrives in mql or sql, as leadqual does
--    under its default leadqual.notify = handoff); the floor: the same INSERT plus a plain
--    INSERT of the history rows, no trigger; leadqual with notify = all; reported too:
--    leadqual.attach with its history insert trigger dropped (what scoring alone costs),
--    with leadqual.history_write = insert (the history rows by an INSERT statement, the
--    alternative to the direct bulk write), and COPY of the same rows into the attached
--    table against COPY into the plain one plus the INSERT of the history rows;
--    and the PL/pgSQL triggers once more with the history rows and NOTIFYs written by an
--    AFTER statement trigger over the transition table (ins_ps: the bulk form, as leadqual
--    writes them) instead of an INSERT per row;
-- b. CALL leadqual.rescore over n unchanged leads, against SELECT sum(leadqual.score(l));
-- c. rescore after a rule change that moves ~10 % of the leads ('weak industry', which
--    matches Education and Public Sector leads, changes its points), against a plain
--    UPDATE of those rows with the new score and stage computed by a SQL expression.
-- Every contender runs `runs` times (default 3), alternating, and counts its best time;
-- times are clock_timestamp() differences in PL/pgSQL around the statement and its
-- COMMIT (NOTIFY and the commit's work belong to the cost). Correctness is checked in
-- the same run: the trigger table and the alternative must agree lead by lead, rescore
-- must write no row when nothing changed and exactly the changed rows after the rule
-- change. Serial (no parallel workers), JIT off. Works in the schema
-- leadqual_bench_lifecycle and drops it at the end; the rules are the 20 of model
-- 'bench' (rules.sql), copied to models of its own.
\ir preamble.psql

\ir need_bench.psql

-- a rerun: models first (the DDL guard refuses to drop a table rules still use)
DELETE FROM leadqual.stage_history WHERE lead_table::oid IN
    (SELECT c.oid FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = 'leadqual_bench_lifecycle');
DELETE FROM leadqual.attachments WHERE model IN ('bench_lc_insert', 'bench_lc_score', 'bench_lc_rescore');
DELETE FROM leadqual.models WHERE model IN ('bench_lc_insert', 'bench_lc_score', 'bench_lc_rescore');
DROP SCHEMA IF EXISTS leadqual_bench_lifecycle CASCADE;
CREATE SCHEMA leadqual_bench_lifecycle;
SET search_path = leadqual_bench_lifecycle, pg_catalog;

-- lead_rows.psql uses generate.sql's public.bench_u and public.bench_company

-- The rows to insert (a), and four lead tables of one shape. Autovacuum stays off them
-- so that it cannot run during one contender's measurement and not the other's.
CREATE TABLE src (
    id bigint PRIMARY KEY, email text, company text, job_title text, industry text,
    employees int, annual_revenue numeric(14,2), country text, source text,
    budget_confirmed boolean, authority_confirmed boolean, need_confirmed boolean,
    timeline_confirmed boolean, timeline_days int, created_at timestamptz, converted boolean
);
CREATE TABLE ins_plain (LIKE src INCLUDING ALL, score float8, stage leadqual.stage,
                        stage_locked boolean NOT NULL DEFAULT false)
    WITH (autovacuum_enabled = false);
CREATE TABLE ins_lq (LIKE ins_plain INCLUDING ALL) WITH (autovacuum_enabled = false);
CREATE TABLE ins_pl (LIKE ins_plain INCLUDING ALL) WITH (autovacuum_enabled = false);
CREATE TABLE ins_sc (LIKE ins_plain INCLUDING ALL) WITH (autovacuum_enabled = false);
-- the PL/pgSQL contender written as leadqual is: history and NOTIFY by a statement trigger
CREATE TABLE ins_ps (LIKE ins_plain INCLUDING ALL) WITH (autovacuum_enabled = false);
-- the floor of what the spec asks for: the lead and its history row as two plain INSERTs
CREATE TABLE ins_fl (LIKE ins_plain INCLUDING ALL) WITH (autovacuum_enabled = false);
CREATE TABLE rs_lq (LIKE ins_plain INCLUDING ALL) WITH (autovacuum_enabled = false);
CREATE TABLE rs_plain (LIKE ins_plain INCLUDING ALL) WITH (autovacuum_enabled = false);
-- the PL/pgSQL contender's history: leadqual.stage_history's shape, indexes and defaults
CREATE TABLE pl_history (LIKE leadqual.stage_history INCLUDING ALL) WITH (autovacuum_enabled = false);
CREATE TABLE fl_history (LIKE leadqual.stage_history INCLUDING ALL) WITH (autovacuum_enabled = false);
CREATE TABLE ps_history (LIKE leadqual.stage_history INCLUDING ALL) WITH (autovacuum_enabled = false);

\set lead_rows_table src
\set lead_rows_lo 1
SELECT (:n / 5)::bigint AS lead_rows_hi \gset
\ir lead_rows.psql
\set lead_rows_table rs_lq
SELECT :n::bigint AS lead_rows_hi \gset

-- Models of their own, with the 20 bench rules. Thresholds give a mixed stage
-- distribution (printed below): mql at 35 points, disqualified under 5 fit points.
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, description)
VALUES ('bench_lc_insert', 'leadqual_bench_lifecycle.ins_lq', 35, 5, 'benchmark: lifecycle inserts'),
       ('bench_lc_score', 'leadqual_bench_lifecycle.ins_sc', 35, 5, 'benchmark: lifecycle inserts, no history'),
       ('bench_lc_rescore', 'leadqual_bench_lifecycle.rs_lq', 35, 5, 'benchmark: rescore');
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout, enabled)
SELECT m.model, r.name, r.category, r.attribute, r.op, r.value, r.points, r.knockout, r.enabled
FROM leadqual.rules r,
     (VALUES (1, 'bench_lc_insert'), (2, 'bench_lc_score'), (3, 'bench_lc_rescore')) AS m(o, model)
WHERE r.model = 'bench'
ORDER BY m.o, r.rule_id;
SELECT leadqual.attach('leadqual_bench_lifecycle.ins_lq', 'bench_lc_insert'),
       leadqual.attach('leadqual_bench_lifecycle.ins_sc', 'bench_lc_score'),
       leadqual.attach('leadqual_bench_lifecycle.rs_lq', 'bench_lc_rescore') \gset
-- dropped, not disabled: a disabled trigger with a transition table still makes
-- PostgreSQL capture every inserted row
DROP TRIGGER leadqual_history_insert ON ins_sc;

-- The same rules and stages by hand, as PL/pgSQL triggers. Fit rules also count into
-- fit (the fit gate); the knockout disqualifies. A supplied stage is a person's: kept
-- and locked. (No SET search_path: it would put every call through
-- fmgr_security_definer and slow this contender down for nothing.)
CREATE FUNCTION pl_score() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
    s float8 := 0;
    fit float8 := 0;
    ko boolean := false;
BEGIN
    IF NEW.job_title ILIKE '%head of%' THEN s := s + 10; fit := fit + 10; END IF;
    IF NEW.job_title ILIKE '%director%' THEN s := s + 8; fit := fit + 8; END IF;
    IF NEW.job_title ILIKE '%vp%' THEN s := s + 8; fit := fit + 8; END IF;
    IF NEW.job_title ILIKE '%chief%' THEN s := s + 12; fit := fit + 12; END IF;
    IF NEW.industry IN ('Software', 'Financial Services', 'Manufacturing', 'Healthcare') THEN s := s + 10; fit := fit + 10; END IF;
    IF NEW.industry IN ('Education', 'Public Sector') THEN s := s - 5; fit := fit - 5; END IF;
    IF NEW.country IN ('DE', 'AT', 'CH') THEN s := s + 10; fit := fit + 10; END IF;
    IF NEW.country NOT IN ('DE', 'AT', 'CH', 'FR', 'NL', 'BE', 'LU', 'DK', 'SE', 'NO', 'FI',
                           'GB', 'IE', 'ES', 'IT', 'PL', 'US', 'CA') THEN s := s - 15; fit := fit - 15; END IF;
    IF NEW.employees BETWEEN 50 AND 5000 THEN s := s + 10; fit := fit + 10; END IF;
    IF NEW.annual_revenue BETWEEN 1000000 AND 250000000.50 THEN s := s + 7.5; fit := fit + 7.5; END IF;
    IF NEW.email ~ '@(gmail|yahoo|hotmail|gmx|web|outlook)\.' THEN s := s - 10; fit := fit - 10; END IF;
    IF NEW.budget_confirmed THEN s := s + 10; END IF;
    IF NEW.authority_confirmed THEN s := s + 8; END IF;
    IF NEW.need_confirmed THEN s := s + 8; END IF;
    IF NEW.timeline_confirmed THEN s := s + 6; END IF;
    IF NEW.timeline_days IS NOT NULL THEN s := s + 2.5; END IF;
    IF NEW.timeline_days IS NULL THEN s := s - 2; END IF;
    IF NEW.timeline_days <= 90 THEN s := s + 5; END IF;
    IF NEW.created_at >= timestamptz '2026-01-01 00:00:00+00' THEN s := s + 5; END IF;
    IF NEW.job_title ~* '(intern|student)' THEN s := s - 30; fit := fit - 30; ko := true; END IF;
    NEW.score := s;
    IF NEW.stage IS NOT NULL THEN
        NEW.stage_locked := true;
    ELSE
        NEW.stage := CASE WHEN ko OR fit < 5 THEN 'disqualified'
                          WHEN s >= 35 THEN 'mql' ELSE 'nurture' END;
        NEW.stage_locked := false;
    END IF;
    RETURN NEW;
END
$f$;
CREATE FUNCTION pl_history() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO leadqual_bench_lifecycle.pl_history
        (lead_table, lead_id, model, old_stage, new_stage, score, manual, changed_by)
    VALUES (TG_RELID, NEW.id::text, 'bench_lc_insert', NULL, NEW.stage, NEW.score,
            NEW.stage_locked, current_user);
    -- leadqual.notify's default, handoff: a new lead notifies when it arrives in mql or sql
    IF NEW.stage IN ('mql', 'sql') THEN
        PERFORM pg_notify('leadqual_stage', json_build_object('table', TG_RELID::regclass::text,
            'lead_id', NEW.id::text, 'old_stage', NULL, 'new_stage', NEW.stage,
            'score', NEW.score, 'manual', NEW.stage_locked)::text);
    END IF;
    RETURN NULL;
END
$f$;
CREATE TRIGGER pl_score BEFORE INSERT OR UPDATE ON ins_pl FOR EACH ROW EXECUTE FUNCTION pl_score();
CREATE TRIGGER pl_history AFTER INSERT ON ins_pl FOR EACH ROW EXECUTE FUNCTION pl_history();
-- The same history and notifications the way leadqual writes them: one statement trigger
-- over the transition table, one INSERT ... SELECT for all rows (the competent bulk form
-- of pl_history; a row trigger runs an INSERT per lead).
CREATE FUNCTION ps_history() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO leadqual_bench_lifecycle.ps_history
        (lead_table, lead_id, model, old_stage, new_stage, score, manual, changed_by)
    SELECT TG_RELID, n.id::text, 'bench_lc_insert', NULL, n.stage, n.score, n.stage_locked, current_user
    FROM ps_new n WHERE n.stage IS NOT NULL;
    PERFORM pg_notify('leadqual_stage', json_build_object('table', TG_RELID::regclass::text,
                'lead_id', n.id::text, 'old_stage', NULL, 'new_stage', n.stage,
                'score', n.score, 'manual', n.stage_locked)::text)
       FROM ps_new n WHERE n.stage IN ('mql', 'sql');
    RETURN NULL;
END
$f$;
CREATE TRIGGER pl_score BEFORE INSERT OR UPDATE ON ins_ps FOR EACH ROW EXECUTE FUNCTION pl_score();
CREATE TRIGGER ps_history AFTER INSERT ON ins_ps REFERENCING NEW TABLE AS ps_new
    FOR EACH STATEMENT EXECUTE FUNCTION ps_history();

-- (c) the plain UPDATE's score and stage, as SQL over the row's columns, with the
-- 'weak industry' points as a parameter
CREATE FUNCTION fit_sql(weak float8) RETURNS text LANGUAGE sql IMMUTABLE RETURN format($e$
      (CASE WHEN job_title ILIKE '%%head of%%' THEN float8 '10' ELSE 0 END)
    + (CASE WHEN job_title ILIKE '%%director%%' THEN float8 '8' ELSE 0 END)
    + (CASE WHEN job_title ILIKE '%%vp%%' THEN float8 '8' ELSE 0 END)
    + (CASE WHEN job_title ILIKE '%%chief%%' THEN float8 '12' ELSE 0 END)
    + (CASE WHEN industry IN ('Software', 'Financial Services', 'Manufacturing', 'Healthcare') THEN float8 '10' ELSE 0 END)
    + (CASE WHEN industry IN ('Education', 'Public Sector') THEN float8 '%s' ELSE 0 END)
    + (CASE WHEN country IN ('DE', 'AT', 'CH') THEN float8 '10' ELSE 0 END)
    + (CASE WHEN country NOT IN ('DE', 'AT', 'CH', 'FR', 'NL', 'BE', 'LU', 'DK', 'SE', 'NO', 'FI',
                                 'GB', 'IE', 'ES', 'IT', 'PL', 'US', 'CA') THEN float8 '-15' ELSE 0 END)
    + (CASE WHEN employees BETWEEN 50 AND 5000 THEN float8 '10' ELSE 0 END)
    + (CASE WHEN annual_revenue BETWEEN 1000000 AND 250000000.50 THEN float8 '7.5' ELSE 0 END)
    + (CASE WHEN email ~ '@(gmail|yahoo|hotmail|gmx|web|outlook)\.' THEN float8 '-10' ELSE 0 END)$e$, weak);
CREATE FUNCTION intent_sql() RETURNS text LANGUAGE sql IMMUTABLE RETURN $e$
      (CASE WHEN budget_confirmed = true THEN float8 '10' ELSE 0 END)
    + (CASE WHEN authority_confirmed = true THEN float8 '8' ELSE 0 END)
    + (CASE WHEN need_confirmed = true THEN float8 '8' ELSE 0 END)
    + (CASE WHEN timeline_confirmed = true THEN float8 '6' ELSE 0 END)
    + (CASE WHEN timeline_days IS NOT NULL THEN float8 '2.5' ELSE 0 END)
    + (CASE WHEN timeline_days IS NULL THEN float8 '-2' ELSE 0 END)
    + (CASE WHEN timeline_days <= 90 THEN float8 '5' ELSE 0 END)
    + (CASE WHEN created_at >= timestamptz '2026-01-01 00:00:00+00' THEN float8 '5' ELSE 0 END)$e$;
-- (rule order: the 11 fit rules, the 8 intent rules, the knockout: as rule_id sums them)
CREATE FUNCTION update_sql(weak float8) RETURNS text LANGUAGE sql IMMUTABLE RETURN format($e$
UPDATE leadqual_bench_lifecycle.rs_plain
   SET score = %1$s + %2$s + (CASE WHEN job_title ~* '(intern|student)' THEN float8 '-30' ELSE 0 END),
       stage = CASE WHEN job_title ~* '(intern|student)'
                      OR %1$s + (CASE WHEN job_title ~* '(intern|student)' THEN float8 '-30' ELSE 0 END) < 5
                    THEN 'disqualified'::leadqual.stage
                    WHEN %1$s + %2$s + (CASE WHEN job_title ~* '(intern|student)' THEN float8 '-30' ELSE 0 END) >= 35
                    THEN 'mql' ELSE 'nurture' END
 WHERE industry IN ('Education', 'Public Sector')$e$, fit_sql(weak), intent_sql());

CREATE TABLE results (part text, what text, run int, ms float8, CHECK (ms >= 0));

-- the number of rows of rs_lq written since the xid x0 (frozen rows read as xid 2)
CREATE FUNCTION written_since(x0 bigint) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT count(*) FROM leadqual_bench_lifecycle.rs_lq WHERE xmin::text::bigint > x0);

-- The rows of two lead tables that differ in score, stage or lock.
CREATE FUNCTION differ(x regclass, y regclass) RETURNS TABLE (id bigint, a text, b text)
LANGUAGE plpgsql AS $f$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT coalesce(x.id, y.id), format(''%%s %%s %%s'', x.score, x.stage, x.stage_locked), '
        '       format(''%%s %%s %%s'', y.score, y.stage, y.stage_locked) '
        'FROM %s x FULL JOIN %s y ON x.id = y.id '
        'WHERE x.id IS NULL OR y.id IS NULL OR x.score IS DISTINCT FROM y.score '
        '   OR x.stage IS DISTINCT FROM y.stage OR x.stage_locked IS DISTINCT FROM y.stage_locked '
        'ORDER BY 1 LIMIT 5', x, y);
END
$f$;

-- a. INSERT ... SELECT of src into each table, in rotating order. Each run starts from
-- an empty table and an empty history of its own: every history table (stage_history,
-- the PL/pgSQL triggers' and the floor's) is TRUNCATEd, so that no contender inserts
-- into a table and indexes full of dead rows the others do not have (stage_history is
-- DELETEd from instead if it holds rows of tables other than this benchmark's).
-- The COPY contenders load the same rows from a file written once (COPY src TO).
CREATE PROCEDURE run_inserts(runs int) LANGUAGE plpgsql AS $f$
DECLARE
    -- ins_lq_all: ins_lq with leadqual.notify = 'all' (1.0's behaviour);
    -- ins_lq_spi: ins_lq with leadqual.history_write = insert (the history rows as an
    -- INSERT over parameter arrays, as before the direct write);
    -- copy_*: COPY FROM the file instead of INSERT ... SELECT
    contenders text[] := ARRAY['ins_plain', 'ins_lq', 'ins_pl', 'ins_sc', 'ins_floor', 'ins_lq_all',
                               'ins_lq_spi', 'copy_plain', 'copy_lq', 'copy_floor', 'ins_ps'];
    nc int := 11;
    file text := current_setting('data_directory') || '/leadqual_bench_lifecycle_src.copy';
    cols text := (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                  WHERE attrelid = 'leadqual_bench_lifecycle.src'::regclass AND attnum > 0
                    AND NOT attisdropped);
    tab text;
    c text;
    t0 timestamptz;
    ms float8;
    bad text;
BEGIN
    EXECUTE format('COPY leadqual_bench_lifecycle.src TO %L', file);
    FOR i IN 1..runs LOOP
        FOR k IN 0..nc - 1 LOOP
            c := contenders[1 + (i - 1 + k) % nc];
            tab := CASE WHEN c IN ('ins_lq_all', 'ins_lq_spi', 'copy_lq') THEN 'ins_lq'
                        WHEN c IN ('ins_floor', 'copy_floor') THEN 'ins_fl'
                        WHEN c = 'copy_plain' THEN 'ins_plain' ELSE c END;
            EXECUTE format('TRUNCATE leadqual_bench_lifecycle.%I', tab);
            IF tab = 'ins_fl' THEN
                TRUNCATE leadqual_bench_lifecycle.fl_history;
            ELSIF tab = 'ins_pl' THEN
                TRUNCATE leadqual_bench_lifecycle.pl_history;
            ELSIF tab = 'ins_ps' THEN
                TRUNCATE leadqual_bench_lifecycle.ps_history;
            ELSIF tab = 'ins_lq' AND EXISTS (SELECT FROM leadqual.stage_history
                        WHERE lead_table <> 'leadqual_bench_lifecycle.ins_lq'::regclass) THEN
                DELETE FROM leadqual.stage_history
                 WHERE lead_table = 'leadqual_bench_lifecycle.ins_lq'::regclass;
            ELSIF tab = 'ins_lq' THEN
                TRUNCATE leadqual.stage_history;
            END IF;
            COMMIT;
            t0 := clock_timestamp();
            IF c = 'ins_lq_all' THEN
                PERFORM set_config('leadqual.notify', 'all', true);
            ELSIF c = 'ins_lq_spi' THEN
                PERFORM set_config('leadqual.history_write', 'insert', true);
            END IF;
            IF c LIKE 'copy%' THEN
                EXECUTE format('COPY leadqual_bench_lifecycle.%I (%s) FROM %L', tab, cols, file);
            ELSE
                EXECUTE format('INSERT INTO leadqual_bench_lifecycle.%I SELECT * FROM leadqual_bench_lifecycle.src', tab);
            END IF;
            IF tab = 'ins_fl' THEN
                INSERT INTO leadqual_bench_lifecycle.fl_history
                    (lead_table, lead_id, model, old_stage, new_stage, score, manual, changed_by)
                SELECT 'leadqual_bench_lifecycle.ins_fl'::regclass, s.id::text, 'bench_lc_insert', NULL,
                       'nurture', 0, false, current_user
                FROM leadqual_bench_lifecycle.src s;
            END IF;
            COMMIT;
            ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
            INSERT INTO leadqual_bench_lifecycle.results VALUES ('insert', c, i, ms);
            COMMIT;
            IF c IN ('ins_lq_spi', 'copy_lq') THEN
                -- the other contenders' check below reads ins_lq as ins_lq left it
                SELECT string_agg(format('id %s: %s %s, plpgsql %s', d.id, c, d.a, d.b), '; ') INTO bad
                  FROM leadqual_bench_lifecycle.differ('leadqual_bench_lifecycle.ins_lq', 'leadqual_bench_lifecycle.ins_pl') d;
                IF bad IS NOT NULL AND EXISTS (SELECT FROM leadqual_bench_lifecycle.ins_pl) THEN
                    RAISE EXCEPTION 'lifecycle bench: % and the PL/pgSQL triggers disagree', c USING DETAIL = bad;
                END IF;
                IF (SELECT count(*) FROM leadqual.stage_history
                     WHERE lead_table = 'leadqual_bench_lifecycle.ins_lq'::regclass
                       AND NOT manual AND old_stage IS NULL AND new_stage IS NOT NULL)
                   IS DISTINCT FROM (SELECT count(*) FROM leadqual_bench_lifecycle.src) THEN
                    RAISE EXCEPTION 'lifecycle bench: % did not write one history row per lead', c;
                END IF;
            END IF;
        END LOOP;
    END LOOP;
    EXECUTE format('COPY (SELECT) TO %L', file);   -- (an empty file left behind)

    -- leadqual and the PL/pgSQL triggers agree lead by lead, and wrote one history row each
    SELECT string_agg(format('id %s: leadqual %s, plpgsql %s', d.id, d.a, d.b), '; ') INTO bad
      FROM leadqual_bench_lifecycle.differ('leadqual_bench_lifecycle.ins_lq', 'leadqual_bench_lifecycle.ins_pl') d;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'lifecycle bench: leadqual.attach and the PL/pgSQL triggers disagree' USING DETAIL = bad;
    END IF;
    SELECT string_agg(format('id %s: row triggers %s, statement trigger %s', d.id, d.a, d.b), '; ') INTO bad
      FROM leadqual_bench_lifecycle.differ('leadqual_bench_lifecycle.ins_pl', 'leadqual_bench_lifecycle.ins_ps') d;
    IF bad IS NOT NULL OR (SELECT count(*) FROM leadqual_bench_lifecycle.ps_history)
                          IS DISTINCT FROM (SELECT count(*) FROM leadqual_bench_lifecycle.src) THEN
        RAISE EXCEPTION 'lifecycle bench: the two PL/pgSQL contenders disagree' USING DETAIL = coalesce(bad, 'history rows');
    END IF;
    SELECT string_agg(format('id %s: with history %s, without %s', d.id, d.a, d.b), '; ') INTO bad
      FROM leadqual_bench_lifecycle.differ('leadqual_bench_lifecycle.ins_lq', 'leadqual_bench_lifecycle.ins_sc') d;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'lifecycle bench: leadqual.attach with and without history disagree' USING DETAIL = bad;
    END IF;
    IF (SELECT count(*) FROM leadqual.stage_history
         WHERE lead_table = 'leadqual_bench_lifecycle.ins_lq'::regclass
           AND NOT manual AND old_stage IS NULL AND new_stage IS NOT NULL)
       IS DISTINCT FROM (SELECT count(*) FROM leadqual_bench_lifecycle.src)
       OR (SELECT count(*) FROM leadqual_bench_lifecycle.pl_history)
          IS DISTINCT FROM (SELECT count(*) FROM leadqual_bench_lifecycle.src) THEN
        RAISE EXCEPTION 'lifecycle bench: history rows are not one per inserted lead';
    END IF;
    IF (SELECT sum(score) FROM leadqual_bench_lifecycle.ins_lq)
       IS DISTINCT FROM (SELECT sum(leadqual.score(l, 'bench_lc_insert')) FROM leadqual_bench_lifecycle.ins_lq l) THEN
        RAISE EXCEPTION 'lifecycle bench: the trigger''s scores differ from leadqual.score';
    END IF;
END
$f$;

-- b. rescore over unchanged leads against the scoring scan, alternating.
CREATE PROCEDURE run_rescore_unchanged(runs int) LANGUAGE plpgsql AS $f$
DECLARE
    t0 timestamptz;
    ms float8;
    x0 bigint;
    tot float8;
    written bigint;
BEGIN
    FOR i IN 1..runs LOOP
        FOR k IN 0..1 LOOP
            IF (i + k) % 2 = 0 THEN
                x0 := pg_current_xact_id()::text::bigint % 4294967296;
                COMMIT;
                t0 := clock_timestamp();
                CALL leadqual.rescore('leadqual_bench_lifecycle.rs_lq');
                ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
                INSERT INTO leadqual_bench_lifecycle.results VALUES ('unchanged', 'rescore', i, ms);
                written := leadqual_bench_lifecycle.written_since(x0);
                IF written <> 0 THEN
                    RAISE EXCEPTION 'lifecycle bench: rescore of unchanged leads wrote % rows', written;
                END IF;
            ELSE
                t0 := clock_timestamp();
                SELECT sum(leadqual.score(l, 'bench_lc_rescore')) INTO tot FROM leadqual_bench_lifecycle.rs_lq l;
                ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
                INSERT INTO leadqual_bench_lifecycle.results VALUES ('unchanged', 'select', i, ms);
                IF tot IS DISTINCT FROM (SELECT sum(score) FROM leadqual_bench_lifecycle.rs_lq) THEN
                    RAISE EXCEPTION 'lifecycle bench: stored scores (%) differ from leadqual.score (%)',
                        (SELECT sum(score) FROM leadqual_bench_lifecycle.rs_lq), tot;
                END IF;
            END IF;
            COMMIT;
        END LOOP;
    END LOOP;
END
$f$;

-- c. A rule change ('weak industry' -5 → -6, then back, and so on), then rescore of the
-- attached table against the plain UPDATE of its copy, alternating.
CREATE PROCEDURE run_rescore_change(runs int) LANGUAGE plpgsql AS $f$
DECLARE
    t0 timestamptz;
    ms float8;
    x0 bigint;
    weak float8;
    written bigint;
    updated bigint;
    a text;
    b text;
BEGIN
    FOR i IN 1..runs LOOP
        weak := CASE WHEN i % 2 = 1 THEN -6 ELSE -5 END;
        UPDATE leadqual.rules SET points = weak WHERE model = 'bench_lc_rescore' AND name = 'weak industry';
        COMMIT;
        FOR k IN 0..1 LOOP
            IF (i + k) % 2 = 0 THEN
                x0 := pg_current_xact_id()::text::bigint % 4294967296;
                COMMIT;
                t0 := clock_timestamp();
                CALL leadqual.rescore('leadqual_bench_lifecycle.rs_lq');
                ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
                INSERT INTO leadqual_bench_lifecycle.results VALUES ('change', 'rescore', i, ms);
                written := leadqual_bench_lifecycle.written_since(x0);
            ELSE
                t0 := clock_timestamp();
                EXECUTE leadqual_bench_lifecycle.update_sql(weak);
                GET DIAGNOSTICS updated = ROW_COUNT;
                COMMIT;
                ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
                INSERT INTO leadqual_bench_lifecycle.results VALUES ('change', 'update', i, ms);
            END IF;
            COMMIT;
        END LOOP;
        IF written IS DISTINCT FROM updated THEN
            RAISE EXCEPTION 'lifecycle bench: rescore wrote % rows, the plain UPDATE %', written, updated;
        END IF;
        INSERT INTO leadqual_bench_lifecycle.results VALUES ('change', 'rows', i, written);
        SELECT string_agg(format('%s %s', stage, c), ', ' ORDER BY stage) INTO a
          FROM (SELECT stage, count(*) AS c FROM leadqual_bench_lifecycle.rs_lq GROUP BY 1) s;
        SELECT string_agg(format('%s %s', stage, c), ', ' ORDER BY stage) INTO b
          FROM (SELECT stage, count(*) AS c FROM leadqual_bench_lifecycle.rs_plain GROUP BY 1) s;
        IF a IS DISTINCT FROM b
           OR (SELECT sum(score) FROM leadqual_bench_lifecycle.rs_lq)
              IS DISTINCT FROM (SELECT sum(score) FROM leadqual_bench_lifecycle.rs_plain) THEN
            RAISE EXCEPTION 'lifecycle bench: after the rule change rescore and the plain UPDATE disagree'
                USING DETAIL = format('rescore: %s, sum %s; UPDATE: %s, sum %s', a,
                    (SELECT sum(score) FROM leadqual_bench_lifecycle.rs_lq), b,
                    (SELECT sum(score) FROM leadqual_bench_lifecycle.rs_plain));
        END IF;
    END LOOP;
END
$f$;

-- Warm-up: one of each insert (the first statement compiles the rules and PL/pgSQL)
INSERT INTO ins_lq SELECT * FROM src WHERE id <= 100;
INSERT INTO ins_pl SELECT * FROM src WHERE id <= 100;
INSERT INTO ins_ps SELECT * FROM src WHERE id <= 100;
INSERT INTO ins_sc SELECT * FROM src WHERE id <= 100;
CALL run_inserts(:runs);

-- b, c: n leads through the trigger (not timed), a copy without triggers, both frozen
\ir lead_rows.psql
INSERT INTO rs_plain SELECT * FROM rs_lq;
VACUUM (FREEZE, ANALYZE) rs_lq, rs_plain, src;
DELETE FROM leadqual.stage_history WHERE lead_table = 'leadqual_bench_lifecycle.rs_lq'::regclass;

\echo
\echo '== stages of the' :n 'leads (model bench_lc_rescore: mql ≥ 35, disqualified under 5 fit points)'
SELECT stage, count(*) AS leads, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "%"
FROM rs_lq GROUP BY stage ORDER BY stage;

CALL run_rescore_unchanged(:runs);
CALL run_rescore_change(:runs);

\echo
\echo '== leadqual lifecycle benchmark: best of' :runs 'alternating runs, serial, JIT off'
\echo 'ratio: this time / the row it compares with (PL/pgSQL row: its time / leadqual''s,'
\echo 'so "≥ 3×" reads "leadqual is at least three times faster"). met: aim, target or MISSED.'
CREATE TEMP TABLE report AS
WITH best AS (
    SELECT part, what, min(ms) AS ms FROM results WHERE what <> 'rows' GROUP BY 1, 2
), moved AS (
    SELECT max(ms)::bigint AS rows FROM results WHERE part = 'change' AND what = 'rows'
), line (ord, part, what, label, base_part, base_what, lower_is_better, target, aim) AS (VALUES
    (1, 'insert', 'ins_plain', format('INSERT %s leads, no trigger', :n / 5), NULL, NULL, NULL, NULL::float8, NULL::float8),
    (2, 'insert', 'ins_lq', format('INSERT %s leads, leadqual.attach (vs no trigger)', :n / 5), 'insert', 'ins_plain', true, 1.5, 1.15),
    (3, 'insert', 'ins_pl', format('INSERT %s leads, PL/pgSQL triggers, history by a row trigger (vs leadqual)', :n / 5), 'insert', 'ins_lq', false, 3, 5),
    (3.1, 'insert', 'ins_ps', format('INSERT %s leads, PL/pgSQL triggers, history by a statement trigger (vs leadqual)', :n / 5), 'insert', 'ins_lq', false, 3, 5),
    (2.5, 'insert', 'ins_floor', format('INSERT %s leads + INSERT of their history rows, no trigger (floor, vs no trigger)', :n / 5), 'insert', 'ins_plain', NULL, NULL, NULL),
    (2.6, 'insert', 'ins_lq', format('INSERT %s leads, leadqual.attach, notify = handoff (vs floor)', :n / 5), 'insert', 'ins_floor', true, 1.3, NULL),
    (2.7, 'insert', 'ins_lq_all', format('INSERT %s leads, leadqual.attach, notify = all (vs floor)', :n / 5), 'insert', 'ins_floor', NULL, NULL, NULL),
    (2.8, 'insert', 'ins_lq_spi', format('INSERT %s leads, leadqual.attach, history rows by INSERT over arrays (vs floor)', :n / 5), 'insert', 'ins_floor', NULL, NULL, NULL),
    (2.85, 'insert', 'copy_plain', format('COPY %s leads, no trigger', :n / 5), NULL, NULL, NULL, NULL, NULL),
    (2.86, 'insert', 'copy_floor', format('COPY %s leads + INSERT of their history rows, no trigger (floor, vs COPY)', :n / 5), 'insert', 'copy_plain', NULL, NULL, NULL),
    (2.87, 'insert', 'copy_lq', format('COPY %s leads, leadqual.attach, notify = handoff (vs COPY floor)', :n / 5), 'insert', 'copy_floor', true, 1.3, NULL),
    (3.5, 'insert', 'ins_sc', format('INSERT %s leads, leadqual, history trigger dropped (vs no trigger)', :n / 5), 'insert', 'ins_plain', NULL, NULL, NULL),
    (4, 'unchanged', 'select', format('SELECT sum(leadqual.score(l)), %s leads', :n), NULL, NULL, NULL, NULL, NULL),
    (5, 'unchanged', 'rescore', format('CALL leadqual.rescore, %s unchanged leads (vs SELECT)', :n), 'unchanged', 'select', true, 1.5, 1.1),
    (6, 'change', 'update', format('plain UPDATE of the %s moved leads', (SELECT rows FROM moved)), NULL, NULL, NULL, NULL, NULL),
    (7, 'change', 'rescore', format('CALL leadqual.rescore after a rule change moving %s%% (vs UPDATE)',
                                    round(100.0 * (SELECT rows FROM moved) / :n, 1)), 'change', 'update', true, 2, 1.3)
)
SELECT l.ord, l.label AS what, round(b.ms::numeric, 1) AS ms,
       round((b.ms / base.ms)::numeric, 2) AS ratio,
       coalesce(CASE WHEN l.lower_is_better THEN '≤ ' WHEN NOT l.lower_is_better THEN '≥ ' END || l.target || '×',
                CASE WHEN base.ms IS NOT NULL THEN 'reported' END) AS target,
       CASE WHEN l.lower_is_better THEN '≤ ' WHEN NOT l.lower_is_better THEN '≥ ' END || l.aim || '×' AS aim,
       CASE WHEN l.target IS NULL THEN NULL
            WHEN (CASE WHEN l.lower_is_better THEN b.ms / base.ms <= l.aim ELSE b.ms / base.ms >= l.aim END) THEN 'aim'
            WHEN (CASE WHEN l.lower_is_better THEN b.ms / base.ms <= l.target ELSE b.ms / base.ms >= l.target END) THEN 'target'
            ELSE 'MISSED' END AS met
FROM line l
JOIN best b ON b.part = l.part AND b.what = l.what
LEFT JOIN best base ON base.part = l.base_part AND base.what = l.base_what;
SELECT what, ms, ratio, target, aim, met FROM report ORDER BY ord;
\echo 'checks passed: leadqual.attach and the PL/pgSQL triggers agree on every lead and wrote'
\echo 'one history row per lead; rescore of unchanged leads wrote no row; after each rule change'
\echo 'rescore wrote exactly the rows the plain UPDATE wrote, with the same score total and stages.'

-- clean up: models and history first (the DDL guard protects tables rules use)
RESET search_path;
DELETE FROM leadqual.stage_history WHERE lead_table::oid IN
    (SELECT c.oid FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = 'leadqual_bench_lifecycle');
SELECT leadqual.detach('leadqual_bench_lifecycle.ins_lq'), leadqual.detach('leadqual_bench_lifecycle.ins_sc'),
       leadqual.detach('leadqual_bench_lifecycle.rs_lq') \gset
DELETE FROM leadqual.models WHERE model IN ('bench_lc_insert', 'bench_lc_score', 'bench_lc_rescore');
DROP SCHEMA leadqual_bench_lifecycle CASCADE;
