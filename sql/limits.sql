-- limits: what a hostile or careless rule can no longer do, and errors that scoring must
-- not swallow (cancel, timeouts, resources); rescore leaves the caller's settings alone
SET leadqual.actor = 'limits';

-- 1. A cancel, a statement_timeout or running out of memory while rules are compiled
-- propagates; only an error in the rule itself makes scoring skip it.  A domain's CHECK
-- runs a function when a rule's value is read, so it stands in for each kind of failure
-- (only for the rule's value 'gold': the leads are 'silver').
CREATE FUNCTION lim_check(v text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    fail text := CASE WHEN v = 'gold' THEN current_setting('lim.fail', true) END;
BEGIN
    CASE fail
        WHEN 'cancel' THEN RAISE EXCEPTION 'cancel while compiling' USING ERRCODE = 'query_canceled';
        WHEN 'oom' THEN RAISE EXCEPTION 'no memory while compiling' USING ERRCODE = 'out_of_memory';
        WHEN 'shutdown' THEN RAISE EXCEPTION 'shutdown while compiling' USING ERRCODE = 'admin_shutdown';
        WHEN 'sleep' THEN PERFORM pg_sleep(60);
        WHEN 'broken' THEN RAISE EXCEPTION 'the rule itself is broken' USING ERRCODE = 'invalid_parameter_value';
        ELSE NULL;
    END CASE;
    RETURN true;
END $$;
CREATE DOMAIN lim_tier AS text CHECK (lim_check(VALUE));
CREATE TABLE lim_leads (
    id int PRIMARY KEY, tier lim_tier, title text, employees int,
    score float8, stage leadqual.stage, stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table, mql_threshold) VALUES ('lim', 'lim_leads', 10);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'gold', 'tier', 'ne', 'gold', 10),
 ('lim', 'size', 'employees', 'gt', '50', 5);
SELECT leadqual.attach('lim_leads', 'lim');
INSERT INTO lim_leads (id, tier, employees) VALUES (1, 'silver', 100);
-- a new rule generation: the next statement compiles the rules again
CREATE FUNCTION lim_bump() RETURNS void LANGUAGE sql AS
$$ UPDATE leadqual.models SET mql_threshold = mql_threshold WHERE model = 'lim' $$;
SET lim.fail = 'cancel';
SELECT lim_bump();
SELECT leadqual.score(l, 'lim') FROM lim_leads l;
INSERT INTO lim_leads (id, tier, employees) VALUES (2, 'silver', 100);
SET lim.fail = 'oom';
INSERT INTO lim_leads (id, tier, employees) VALUES (2, 'silver', 100);
SET lim.fail = 'shutdown';
SELECT leadqual.score(l, 'lim') FROM lim_leads l;
SET lim.fail = 'sleep';
SET statement_timeout = '100ms';
INSERT INTO lim_leads (id, tier, employees) VALUES (2, 'silver', 100);
RESET statement_timeout;
-- nothing was skipped so far: the rules score as before
RESET lim.fail;
SELECT id, leadqual.score(l, 'lim') FROM lim_leads l ORDER BY id;
-- an error in the rule itself: skipped with one WARNING, and the lead insert succeeds
SET lim.fail = 'broken';
SELECT lim_bump();
INSERT INTO lim_leads (id, tier, employees) VALUES (2, 'silver', 100);
RESET lim.fail;
SELECT lim_bump();
SELECT id, score, stage FROM lim_leads ORDER BY id;

-- 2. rescore leaves the caller's search_path and lock_timeout as they were, also when the
-- procedure goes on in the transaction of rescore's last batch
CREATE SCHEMA lim_path;
SET search_path = lim_path, public;
SET lock_timeout = '7s';
DO $$
BEGIN
    CALL leadqual.rescore('public.lim_leads', 1);
    RAISE NOTICE 'after rescore: search_path %, lock_timeout %',
        current_setting('search_path'), current_setting('lock_timeout');
END $$;
-- an empty table: rescore commits nothing
CREATE TABLE public.lim_empty (id int PRIMARY KEY, score float8, stage leadqual.stage,
                               stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table) VALUES ('lim_empty', 'public.lim_empty');
SELECT leadqual.attach('public.lim_empty', 'lim_empty');
DO $$
BEGIN
    CALL leadqual.rescore('public.lim_empty');
    RAISE NOTICE 'after rescore: search_path %, lock_timeout %',
        current_setting('search_path'), current_setting('lock_timeout');
END $$;
SELECT current_setting('search_path') AS search_path, current_setting('lock_timeout') AS lock_timeout;
RESET search_path;
RESET lock_timeout;

-- 3. No rule or criterion check on a column the trigger writes: it would read the previous
-- result, and every write could flip the stage again
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'hot', 'score', 'gt', '10', 5);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'staged', 'stage', 'eq', 'mql', 5);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'locked', 'stage_locked', 'eq', 'true', 5);
-- a draft may name it; enabling it is refused
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, enabled) VALUES
 ('lim', 'hot draft', 'score', 'gt', '10', 5, false);
UPDATE leadqual.rules SET enabled = true WHERE model = 'lim' AND name = 'hot draft';
UPDATE leadqual.rules SET attribute = 'stage_locked', value = 'false' WHERE model = 'lim' AND name = 'size';
INSERT INTO leadqual.frameworks (framework) VALUES ('lim_fw');
INSERT INTO leadqual.criteria (framework, criterion) VALUES ('lim_fw', 'ready');
INSERT INTO leadqual.criterion_checks VALUES ('lim', 'lim_fw', 'ready', 'stage', 'eq', 'sql');
-- attaching: a model whose enabled rule reads the column that would hold the score
CREATE TABLE lim_other (id int PRIMARY KEY, rating float8, score float8, stage leadqual.stage,
                        stage_locked boolean NOT NULL DEFAULT false);
INSERT INTO leadqual.models (model, lead_table) VALUES ('lim_other', 'lim_other');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim_other', 'rated', 'rating', 'ge', '3', 5);
INSERT INTO leadqual.criterion_checks VALUES ('lim_other', 'lim_fw', 'ready', 'score', 'gt', '1');
SELECT leadqual.attach('lim_other', 'lim_other', score_column => 'rating');
SELECT count(*) AS attached FROM leadqual.attachments WHERE model = 'lim_other';
-- with its own score column it attaches; moving the score onto the rule's column is refused
DELETE FROM leadqual.criterion_checks WHERE model = 'lim_other';
SELECT leadqual.attach('lim_other', 'lim_other');
UPDATE leadqual.attachments SET score_column = 'rating' WHERE model = 'lim_other';
-- a model rename cascades through the attachment (and its trigger) and the rules
UPDATE leadqual.models SET model = 'lim_renamed' WHERE model = 'lim_other';
SELECT lead_table, model, score_column FROM leadqual.attachments WHERE lead_table = 'lim_other'::regclass;

-- 4. Patterns whose matching time grows faster than the value are refused (2201B), in
-- regex and iregex alike: back-references and lookahead/lookbehind constraints
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'backref', 'title', 'regex', '(a*)b\1c', 1);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'backref i', 'title', 'iregex', '(head) of \1', 1);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'lookahead', 'title', 'regex', '^(?!.*test)', 1);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'lookbehind', 'title', 'iregex', '(?<=head )of', 1);
-- a criterion check too
INSERT INTO leadqual.criterion_checks VALUES ('lim', 'lim_fw', 'ready', 'title', 'regex', '(x)\1');
-- what stays allowed: alternatives, classes, quantifiers, bounds, word boundaries
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'linear', 'title', 'iregex', '^(head|vp|chief)\s+of\s+[a-z]{2,20}\M', 1);
-- a back-reference stored while validation was off (as 1.0 allowed): scoring skips it with a
-- WARNING, a lead insert still succeeds, and rule_problems names it
ALTER TABLE leadqual.rules DISABLE TRIGGER validate_rule;
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'old backref', 'title', 'regex', '(a*)b\1c', 1);
ALTER TABLE leadqual.rules ENABLE TRIGGER validate_rule;
INSERT INTO lim_leads (id, title, employees) VALUES (3, 'head of it', 100);
SELECT id, score, stage FROM lim_leads WHERE id = 3;
SELECT kind, name, problem, sqlstate FROM leadqual.rule_problems WHERE model = 'lim';
DELETE FROM leadqual.rules WHERE model = 'lim' AND name = 'old backref';
-- a cancel during matching surfaces as a cancel (57014), not as an invalid pattern: a
-- pattern whose DFA misses its state cache on every character (the regex library checks for
-- a cancel there) over a 6,400,000-character value takes far longer than the timeout
CREATE TABLE lim_big (id int PRIMARY KEY, title text);
INSERT INTO lim_big SELECT 1, string_agg(md5(g::text), '') FROM generate_series(1, 200000) g;
INSERT INTO leadqual.models (model, lead_table) VALUES ('lim_big', 'lim_big');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim_big', 'thrash', 'title', 'regex', '(0|1|2|3|4|5|6|7|8|9|a|b|c|d|e|f)*a(0|1|2|3|4|5|6|7|8|9|a|b|c|d|e|f){14}$', 1);
SELECT leadqual.score(l, 'lim_big') IS NOT NULL AS scored FROM lim_big l;
SET statement_timeout = '20ms';
SELECT leadqual.score(l, 'lim_big') FROM lim_big l;
RESET statement_timeout;

-- 5. Points are bounded, |points| <= 1,000,000, so that no score can overflow
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'max', 'employees', 'gt', '0', 1000000),
 ('lim', 'min', 'employees', 'lt', '0', -1000000);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'huge', 'employees', 'gt', '0', 1e308);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'just over', 'employees', 'gt', '0', 1000000.5);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'tiny', 'employees', 'gt', '0', -1e308);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'nan', 'employees', 'gt', '0', 'NaN');
UPDATE leadqual.rules SET points = points * 10 WHERE model = 'lim' AND name = 'max';
-- drafts too: a draft is enabled without being written again
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, enabled) VALUES
 ('lim', 'huge draft', 'employees', 'gt', '0', 1e9, false);
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('lim', 'big', 1e7);
INSERT INTO leadqual.event_rules (model, event_type, points, max_points) VALUES ('lim', 'capped', 5, 1e300);
INSERT INTO leadqual.event_rules (model, event_type, points, max_points) VALUES ('lim', 'ok', 1000000, 1000000);
-- the CHECK constraints hold the bound even where the validation triggers do not fire
ALTER TABLE leadqual.rules DISABLE TRIGGER validate_rule;
ALTER TABLE leadqual.event_rules DISABLE TRIGGER event_rules_validate;
\set VERBOSITY terse
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES
 ('lim', 'unchecked', 'employees', 'gt', '0', 1e7);
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('lim', 'unchecked', -1e7);
INSERT INTO leadqual.event_rules (model, event_type, points, max_points) VALUES ('lim', 'unchecked', -5, -1e7);
\set VERBOSITY default
ALTER TABLE leadqual.rules ENABLE TRIGGER validate_rule;
ALTER TABLE leadqual.event_rules ENABLE TRIGGER event_rules_validate;
-- a thousand rules at the bound sum to a finite score
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
SELECT 'lim', 'bound ' || g, 'employees', 'gt', '0', 1000000 FROM generate_series(1, 1000) g;
SELECT leadqual.score(l, 'lim') AS score, leadqual.score(l, 'lim') < 'Infinity' AS finite
  FROM lim_leads l WHERE id = 1;
