-- simulate: what promote + rescore would do, exactly, on 3,000 leads with locked, won,
-- lost, sql and stale leads among them; simulate_summary; promote and rollback (one
-- version each); row-level security and privileges
SET client_min_messages = warning;
CREATE TABLE sx_leads (
    id           int PRIMARY KEY,
    title        text,
    industry     text,
    employees    int,
    country      text,
    budget_ok    boolean NOT NULL DEFAULT false,
    authority_ok boolean NOT NULL DEFAULT false,
    engagement   float8 NOT NULL DEFAULT 0,
    score        real,               -- stores the score rounded: simulate must too
    stage        leadqual.stage,
    stage_locked boolean NOT NULL DEFAULT false
);
CREATE TABLE sx_events (id bigserial PRIMARY KEY, lead_id int NOT NULL REFERENCES sx_leads,
                        event_type text NOT NULL, occurred_at timestamptz NOT NULL);
-- no decay (half_life NULL): a rescore a moment later computes the same engagement
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, framework,
                             engagement_column, half_life)
VALUES ('sx', 'sx_leads', 25, 0, 'bant', 'engagement', NULL);
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout) VALUES
 ('sx', 'head of', 'fit', 'title', 'ilike', '%head of%', 10.1, false),
 ('sx', 'chief', 'fit', 'title', 'ilike', '%chief%', 12.3, false),
 ('sx', 'target industry', 'fit', 'industry', 'in', '{manufacturing,logistics}', 8.7, false),
 ('sx', 'public buyer', 'fit', 'industry', 'in', '{"public sector",education}', -1.1, false),
 ('sx', 'size', 'fit', 'employees', 'between', '{50,5000}', 4.2, false),
 ('sx', 'outside', 'fit', 'country', 'not_in', '{DE,AT,CH,NL}', -6.6, false),
 ('sx', 'intern', 'fit', 'title', 'iregex', '\m(intern|student)\M', 0, true),
 ('sx', 'budget', 'intent', 'budget_ok', 'eq', 'true', 5.05, false);
INSERT INTO leadqual.criterion_checks VALUES
 ('sx', 'bant', 'budget', 'budget_ok', 'eq', 'true'),
 ('sx', 'bant', 'authority', 'authority_ok', 'eq', 'true'),
 ('sx', 'bant', 'need', 'industry', 'not_null', NULL),
 ('sx', 'bant', 'timeline', 'employees', 'gt', '0');
INSERT INTO leadqual.event_rules (model, event_type, points, max_points) VALUES
 ('sx', 'webinar', 3.3, 9.9), ('sx', 'demo', 7.7, NULL), ('sx', 'unsubscribe', -4.4, NULL);
SELECT leadqual.attach('sx_leads', 'sx');
SELECT leadqual.attach_events('sx_events', 'lead_id', 'sx');
SET leadqual.actor = 'import';
INSERT INTO sx_leads (id, title, industry, employees, country, budget_ok, authority_ok)
SELECT g,
       (ARRAY['Head of IT', 'Chief Buyer', 'Engineer', 'intern', 'Head of Ops', 'Clerk', NULL])[1 + (g * 7) % 7],
       (ARRAY['manufacturing', 'logistics', 'retail', 'public sector', 'education', 'software', NULL])[1 + (g * 11) % 7],
       (g * 37) % 7000,
       (ARRAY['DE', 'AT', 'US', 'NL', 'FR', NULL])[1 + (g * 13) % 6],
       g % 3 = 0, g % 4 = 0
  FROM generate_series(1, 3000) g;
INSERT INTO sx_events (lead_id, event_type, occurred_at)
SELECT 1 + (g * 17) % 3000, (ARRAY['webinar', 'demo', 'unsubscribe', 'newsletter'])[1 + g % 4],
       TIMESTAMPTZ '2026-01-01' + g * INTERVAL '1 hour'
  FROM generate_series(1, 4000) g;
-- people decide: won, lost, a locked nurture and a locked mql
SET leadqual.actor = 'sales';
UPDATE sx_leads SET stage = 'won' WHERE id % 50 = 1;
UPDATE sx_leads SET stage = 'lost' WHERE id % 50 = 2;
UPDATE sx_leads SET stage = 'nurture' WHERE id % 50 = 3;
UPDATE sx_leads SET stage = 'mql' WHERE id % 50 = 4;
RESET leadqual.actor;
-- a rule change nobody has rescored yet: stored scores are stale, which a rescore fixes too
UPDATE leadqual.rules SET points = 4.5 WHERE model = 'sx' AND name = 'size';
SELECT stage, stage_locked, count(*) FROM sx_leads GROUP BY 1, 2 ORDER BY 1, 2;

-- the candidate: a draft copy, edited with plain SQL
SELECT leadqual.copy_model('sx', 'sx_draft');
SELECT (SELECT count(*) FROM leadqual.rules WHERE model = 'sx_draft') AS rules,
       (SELECT count(*) FROM leadqual.criterion_checks WHERE model = 'sx_draft') AS checks,
       (SELECT count(*) FROM leadqual.event_rules WHERE model = 'sx_draft') AS event_rules,
       (SELECT count(*) FROM leadqual.attachments WHERE model = 'sx_draft') AS attachments,
       (SELECT (mql_threshold, fit_threshold, framework, engagement_column, half_life)::text
          FROM leadqual.models WHERE model = 'sx_draft') AS settings;
-- the same rule set as the live model: the content, without the model's name, the hash
-- (which covers the name) and the rules' ids
CREATE FUNCTION pg_temp.content(r leadqual.ruleset) RETURNS jsonb LANGUAGE sql AS $$
    SELECT (r::jsonb - 'model' - 'hash')
           || jsonb_build_object('rules', (SELECT coalesce(jsonb_agg(x - 'rule_id' ORDER BY n), '[]')
                                             FROM jsonb_array_elements(r::jsonb->'rules') WITH ORDINALITY t(x, n)))
$$;
SELECT pg_temp.content(leadqual.ruleset('sx_draft'::text)) = pg_temp.content(leadqual.ruleset('sx'::text))
       AS draft_is_a_copy;
BEGIN;
UPDATE leadqual.rules SET points = 14.9 WHERE model = 'sx_draft' AND name = 'target industry';
UPDATE leadqual.rules SET points = -9.3 WHERE model = 'sx_draft' AND name = 'public buyer';
INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout)
VALUES ('sx_draft', 'tiny', 'fit', 'employees', 'lt', '20', 0, true),
       ('sx_draft', 'authority', 'intent', 'authority_ok', 'eq', 'true', 2.2, false);
DELETE FROM leadqual.rules WHERE model = 'sx_draft' AND name = 'chief';
UPDATE leadqual.models SET mql_threshold = 24 WHERE model = 'sx_draft';
UPDATE leadqual.event_rules SET points = 5.5 WHERE model = 'sx_draft' AND event_type = 'webinar';
COMMIT;

-- the simulation, kept for the comparison
CREATE TEMP TABLE sim AS SELECT * FROM leadqual.simulate('sx_leads', leadqual.ruleset('sx_draft'::text));
CREATE TEMP TABLE before AS SELECT id, score, stage, stage_locked, engagement FROM sx_leads;
SELECT count(*) AS leads_listed,
       count(*) FILTER (WHERE old_stage IS DISTINCT FROM new_stage) AS stage_moves,
       count(*) FILTER (WHERE locked) AS locked_listed,
       count(*) FILTER (WHERE locked AND old_stage IS DISTINCT FROM new_stage) AS locked_moved,
       count(*) FILTER (WHERE old_stage IN ('won', 'lost')) AS won_or_lost_listed,
       count(*) FILTER (WHERE old_stage = 'sql') AS sql_listed,
       count(*) FILTER (WHERE new_stage = 'disqualified' AND 'tiny' = ANY (gained)) AS knocked_out_by_tiny
  FROM sim;
-- the summary is the simulation's moves
CREATE TEMP TABLE moves AS
SELECT old_stage, new_stage, count(*) AS leads FROM sim
 WHERE old_stage IS DISTINCT FROM new_stage GROUP BY 1, 2;
SELECT (SELECT count(*) FROM (SELECT * FROM leadqual.simulate_summary('sx_leads', leadqual.ruleset('sx_draft'::text))
                              EXCEPT SELECT * FROM moves) x)
     + (SELECT count(*) FROM (SELECT * FROM moves
                              EXCEPT SELECT * FROM leadqual.simulate_summary('sx_leads', leadqual.ruleset('sx_draft'::text))) y)
       AS summary_mismatches,
       (SELECT count(*) FROM moves) > 3 AS several_moves;
SELECT * FROM leadqual.simulate_summary('sx_leads', leadqual.ruleset('sx_draft'::text));
-- gained and lost are the rules matched under one rule set and not the other (explain)
SELECT count(*) AS gained_lost_mismatches
  FROM sim s JOIN sx_leads l ON l.id::text = s.lead_id
 WHERE s.gained IS DISTINCT FROM ARRAY(
           SELECT e.name FROM leadqual.explain(l, leadqual.ruleset('sx_draft'::text)) e WHERE e.rule_id IS NOT NULL
           EXCEPT SELECT e.name FROM leadqual.explain(l, 'sx') e ORDER BY 1)
    OR s.lost IS DISTINCT FROM ARRAY(
           SELECT e.name FROM leadqual.explain(l, 'sx') e WHERE e.rule_id IS NOT NULL
           EXCEPT SELECT e.name FROM leadqual.explain(l, leadqual.ruleset('sx_draft'::text)) e ORDER BY 1);
SELECT lead_id, old_stage, new_stage, old_score, new_score, gained, lost, locked
  FROM sim ORDER BY lead_id::int LIMIT 8;
-- it wrote nothing
SELECT count(*) AS rows_changed_by_simulate
  FROM sx_leads l JOIN before b USING (id)
 WHERE (l.score, l.stage, l.stage_locked, l.engagement) IS DISTINCT FROM (b.score, b.stage, b.stage_locked, b.engagement);

-- promote: one transaction, one new version, the candidate left in place; then rescore
SELECT max(version) AS live_version FROM leadqual.ruleset_versions WHERE model = 'sx' \gset
SET client_min_messages = notice;
SELECT leadqual.promote('sx_draft', 'sx');
SET client_min_messages = warning;
SELECT max(version) - :live_version AS new_versions,
       (SELECT count(*) FROM leadqual.rules WHERE model = 'sx_draft') AS draft_rules_left
  FROM leadqual.ruleset_versions WHERE model = 'sx';
SELECT pg_temp.content(leadqual.ruleset('sx_draft'::text)) = pg_temp.content(leadqual.ruleset('sx'::text))
       AS live_is_the_candidate;
-- promote alone rescored nothing
SELECT count(*) AS rows_changed_by_promote
  FROM sx_leads l JOIN before b USING (id)
 WHERE (l.score, l.stage, l.stage_locked) IS DISTINCT FROM (b.score, b.stage, b.stage_locked);
CALL leadqual.rescore('sx_leads', 700);

-- exactly what the simulation said: the leads it listed have its new score and stage, the
-- others are as they were (scores compared as stored, exactly)
SELECT count(*) AS leads,
       count(*) FILTER (WHERE s.lead_id IS NOT NULL) AS listed,
       count(*) FILTER (WHERE s.lead_id IS NOT NULL
                          AND (l.score::float8, l.stage) IS DISTINCT FROM (s.new_score, s.new_stage)) AS listed_wrong,
       count(*) FILTER (WHERE s.lead_id IS NULL
                          AND (l.score, l.stage) IS DISTINCT FROM (b.score, b.stage)) AS unlisted_changed,
       count(*) FILTER (WHERE s.lead_id IS NOT NULL
                          AND (b.score::float8, b.stage) IS DISTINCT FROM (s.old_score, s.old_stage)) AS old_wrong,
       count(*) FILTER (WHERE s.locked AND l.stage IS DISTINCT FROM b.stage) AS locked_moved
  FROM sx_leads l JOIN before b USING (id) LEFT JOIN sim s ON s.lead_id = l.id::text;
-- the history of the moves names the promoted version
SELECT count(*) AS moves_recorded, count(DISTINCT version) AS versions, min(version) - :live_version AS version_after
  FROM leadqual.stage_history
 WHERE lead_table = 'sx_leads'::regclass AND id > (SELECT max(id) FROM leadqual.stage_history h
                                                   WHERE h.lead_table = 'sx_leads'::regclass AND h.changed_by = 'sales');
-- after the rescore, simulating the live model finds nothing to do
SELECT count(*) AS nothing_left FROM leadqual.simulate('sx_leads', leadqual.ruleset('sx'::text));

-- rollback: the version before the promotion, promoted (one more version); the live model
-- scores as that version did, and the simulation of it is what a rescore will undo
SELECT leadqual.rollback('sx', :live_version);
SELECT max(version) - :live_version AS versions_since FROM leadqual.ruleset_versions WHERE model = 'sx';
SELECT pg_temp.content(leadqual.ruleset('sx'::text)) = pg_temp.content(leadqual.ruleset('sx', :live_version))
       AS live_is_the_old_version;
SELECT count(*) AS scores_unlike_the_old_version
  FROM sx_leads l WHERE leadqual.score(l, 'sx') <> leadqual.score(l, leadqual.ruleset('sx', :live_version));
SELECT count(*) > 0 AS rollback_moves_leads FROM leadqual.simulate('sx_leads', leadqual.ruleset('sx'::text));
-- a value works as a candidate too: promote(ruleset, model)
BEGIN;
SELECT leadqual.promote(leadqual.ruleset('sx_draft'::text), 'sx');
SELECT pg_temp.content(leadqual.ruleset('sx_draft'::text)) = pg_temp.content(leadqual.ruleset('sx'::text))
       AS value_promoted;
ROLLBACK;

-- errors
\set VERBOSITY default
SELECT * FROM leadqual.simulate('before', leadqual.ruleset('sx'::text));
SELECT leadqual.promote('sx', 'sx');
SELECT leadqual.promote('no such draft', 'sx');
SELECT leadqual.copy_model('sx', 'sx_draft');
SELECT leadqual.rollback('sx', 1000);
\set VERBOSITY terse

-- row-level security: the caller's policies apply; reading the lead table is all it takes
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE ROLE regress_sx_reader;
GRANT SELECT ON sx_leads, sx_events TO regress_sx_reader;
ALTER TABLE sx_leads ENABLE ROW LEVEL SECURITY;
CREATE POLICY even ON sx_leads FOR SELECT TO regress_sx_reader USING (id % 2 = 0);
SET ROLE regress_sx_reader;
SELECT count(*) AS listed, count(*) FILTER (WHERE lead_id::int % 2 = 1) AS odd_listed
  FROM leadqual.simulate('sx_leads', 'sx') \gset reader_
SELECT sum(leads) > 0 AS summary_works FROM leadqual.simulate_summary('sx_leads', 'sx');
RESET ROLE;
SELECT :reader_listed > 0 AND :reader_odd_listed = 0 AS reader_sees_its_rows,
       :reader_listed = count(*) FILTER (WHERE lead_id::int % 2 = 0) AS reader_sees_all_of_them,
       count(*) FILTER (WHERE lead_id::int % 2 = 1) > 0 AS owner_sees_odd_rows
  FROM leadqual.simulate('sx_leads', 'sx');
SET ROLE regress_sx_reader;
-- promoting, rolling back and copying are the owner's
SELECT label, pg_temp.try(stmt) FROM (VALUES
    (1, 'promote', $$SELECT leadqual.promote('sx_draft', 'sx')$$),
    (2, 'promote a value', $$SELECT leadqual.promote(leadqual.ruleset('sx_draft'::text), 'sx')$$),
    (3, 'rollback', $$SELECT leadqual.rollback('sx', 1)$$),
    (4, 'copy_model', $$SELECT leadqual.copy_model('sx', 'mine')$$),
    (5, 'promote_notice', $$SELECT leadqual.promote_notice('sx', leadqual.ruleset('sx'::text))$$)
) t(n, label, stmt) ORDER BY n;
RESET ROLE;
-- no SELECT on the table: no simulation
CREATE ROLE regress_sx_nobody;
SET ROLE regress_sx_nobody;
SELECT pg_temp.try($$SELECT count(*) FROM leadqual.simulate('sx_leads', leadqual.ruleset('sx'::text))$$) AS no_grant;
RESET ROLE;
-- a role granted EXECUTE and the config tables' privileges may promote
GRANT EXECUTE ON FUNCTION leadqual.promote(text, text) TO regress_sx_reader;
GRANT INSERT, UPDATE, DELETE ON leadqual.models, leadqual.rules, leadqual.criterion_checks,
    leadqual.event_rules TO regress_sx_reader;
GRANT USAGE ON SEQUENCE leadqual.rules_rule_id_seq TO regress_sx_reader;
SET ROLE regress_sx_reader;
SELECT pg_temp.try($$SELECT leadqual.promote('sx_draft', 'sx')$$) AS granted_promote;
SELECT created_by FROM leadqual.ruleset_versions WHERE model = 'sx' ORDER BY version DESC LIMIT 1;
-- a config writer who does not own the table gets no count computed as its owner (the
-- candidate is any value: the count would disclose rows past its privileges and RLS)
SET client_min_messages = notice;
SELECT leadqual.promote_notice('sx', leadqual.ruleset('sx_draft'::text));
SET client_min_messages = warning;
RESET ROLE;
-- promote's NOTICE simulates each table as its owner: the table owner's code (here a
-- row-level security policy's function) runs as the table owner, not as whoever promotes
CREATE TABLE sx_ran (who text);
GRANT INSERT ON sx_ran TO PUBLIC;
CREATE FUNCTION sx_note() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sx_ran VALUES (current_user);
    RETURN true;
END $$;
CREATE ROLE regress_sx_owner;
ALTER TABLE sx_leads OWNER TO regress_sx_owner;
ALTER TABLE sx_events OWNER TO regress_sx_owner;
ALTER TABLE sx_leads FORCE ROW LEVEL SECURITY;
CREATE POLICY note ON sx_leads FOR SELECT TO regress_sx_owner USING (sx_note());
GRANT EXECUTE ON FUNCTION sx_note() TO regress_sx_owner;
BEGIN;
SET client_min_messages = notice;
SELECT leadqual.promote('sx_draft', 'sx');
SET client_min_messages = warning;
SELECT who, count(*) > 0 AS ran FROM sx_ran GROUP BY who ORDER BY who;
ROLLBACK;
ALTER TABLE sx_leads OWNER TO CURRENT_USER;
ALTER TABLE sx_events OWNER TO CURRENT_USER;
DROP POLICY note ON sx_leads;
DROP POLICY even ON sx_leads;
ALTER TABLE sx_leads DISABLE ROW LEVEL SECURITY;

-- clean up
SELECT leadqual.detach_events('sx_events');
SELECT leadqual.detach('sx_leads');
DELETE FROM leadqual.stage_history WHERE lead_table = 'sx_leads'::regclass;
DELETE FROM leadqual.models WHERE model IN ('sx', 'sx_draft');
DELETE FROM leadqual.ruleset_versions WHERE model IN ('sx', 'sx_draft');
DROP TABLE sx_events, sx_leads, sx_ran;
DROP FUNCTION sx_note();
REVOKE ALL ON leadqual.models, leadqual.rules, leadqual.criterion_checks, leadqual.event_rules
    FROM regress_sx_reader;
REVOKE ALL ON SEQUENCE leadqual.rules_rule_id_seq FROM regress_sx_reader;
REVOKE ALL ON FUNCTION leadqual.promote(text, text) FROM regress_sx_reader;
DROP ROLE regress_sx_reader, regress_sx_nobody, regress_sx_owner;

-- simulate does what promote + rescore do: with the candidate's engagement column (rescore
-- recomputes engagement into the column promote gives the model), and skipping a rule the
-- table cannot evaluate as the live model does (an enum label renamed since)
CREATE TABLE se_leads (id int PRIMARY KEY, title text, engagement float8 NOT NULL DEFAULT 0,
                       eng2 float8 NOT NULL DEFAULT 0, score float8, stage leadqual.stage,
                       stage_locked boolean NOT NULL DEFAULT false);
CREATE TABLE se_events (id bigserial PRIMARY KEY, lead_id int NOT NULL, event_type text NOT NULL,
                        occurred_at timestamptz NOT NULL);
INSERT INTO leadqual.models (model, lead_table, mql_threshold, engagement_column, half_life)
VALUES ('se', 'se_leads', 10, 'engagement', NULL);
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES ('se', 'ceo', 'title', 'eq', 'CEO', 5);
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('se', 'demo', 6);
SELECT leadqual.attach('se_leads', 'se'), leadqual.attach_events('se_events', 'lead_id', 'se');
INSERT INTO se_leads (id, title) SELECT g, 'CEO' FROM generate_series(1, 5) g;
INSERT INTO se_events (lead_id, event_type, occurred_at) VALUES (1, 'demo', now()), (2, 'demo', now());
SELECT leadqual.copy_model('se', 'se_d');
UPDATE leadqual.models SET engagement_column = 'eng2' WHERE model = 'se_d';
-- (a) the candidate keeps engagement in eng2: rescore writes it there (6 points), stages stay
CREATE TEMP TABLE se_before AS SELECT id, score, stage FROM se_leads;
CREATE TEMP TABLE se_sim AS SELECT * FROM leadqual.simulate('se_leads', 'se_d');
CREATE TEMP VIEW se_check AS
SELECT (SELECT count(*) FROM se_sim) AS simulated,
       (SELECT count(*) FROM se_leads l JOIN se_before b USING (id)
         WHERE l.score IS DISTINCT FROM b.score OR l.stage IS DISTINCT FROM b.stage) AS changed,
       (SELECT count(*) FROM se_sim s JOIN se_leads l ON l.id::text = s.lead_id
         WHERE l.score IS DISTINCT FROM s.new_score OR l.stage IS DISTINCT FROM s.new_stage) AS wrong;
SELECT leadqual.promote('se_d', 'se');
CALL leadqual.rescore('se_leads');
SELECT * FROM se_check;
-- (b) a rule the table's enum no longer has a label for: skipped, by both
CREATE TYPE se_tier AS ENUM ('gold', 'silver');
ALTER TABLE se_leads ADD COLUMN tier se_tier;
UPDATE se_leads SET tier = 'gold' WHERE id <= 3;
INSERT INTO leadqual.rules (model, name, attribute, op, value, points) VALUES ('se', 'gold', 'tier', 'eq', 'gold', 15);
SET leadqual.ddl_guard = off;
ALTER TYPE se_tier RENAME VALUE 'gold' TO 'platinum';
RESET leadqual.ddl_guard;
UPDATE leadqual.rules SET points = 12 WHERE model = 'se' AND name = 'ceo';
TRUNCATE se_before, se_sim;
INSERT INTO se_before SELECT id, score, stage FROM se_leads;
INSERT INTO se_sim SELECT * FROM leadqual.simulate('se_leads', leadqual.ruleset('se'::text));
CALL leadqual.rescore('se_leads');
SELECT * FROM se_check;
RESET client_min_messages;
SELECT leadqual.detach_events('se_events'), leadqual.detach('se_leads');
DELETE FROM leadqual.stage_history WHERE model = 'se';
DELETE FROM leadqual.models WHERE model IN ('se', 'se_d');
DROP TABLE se_events, se_leads, se_before, se_sim CASCADE;
DROP TYPE se_tier;
