-- ruleset: a model's rules as a value (leadqual.ruleset): text, jsonb and binary round
-- trips, hostile documents, scoring with a value equal to scoring by model name over every
-- operator test, errors at first use, privileges, the engagement aggregate with a value
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' (' || nullif(detail, '') || ')', '');
END $$;

CREATE TABLE rs_leads (id int PRIMARY KEY, industry text, employees int, country text,
                       title text, budget_confirmed boolean, engagement float8);
INSERT INTO rs_leads
SELECT g, (ARRAY['software', 'retail', 'banking'])[1 + g % 3], g * 10 % 5000,
       (ARRAY['DE', 'US', 'FR'])[1 + g % 3], (ARRAY['CTO', 'Head of Engineering', 'intern'])[1 + g % 5 % 3],
       g % 2 = 0, g % 7
FROM generate_series(1, 300) g;
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, framework,
                             engagement_column, half_life)
VALUES ('rs', 'rs_leads', 20, 0, 'bant', 'engagement', '10 days');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout, category) VALUES
    ('rs', 'software', 'industry', 'eq', 'software', 10, false, 'fit'),
    ('rs', 'big', 'employees', 'ge', '1000', 5, false, 'fit'),
    ('rs', 'eu', 'country', 'in', '{DE,FR}', 3, false, 'fit'),
    ('rs', 'leader', 'title', 'regex', '^(CTO|Head)', 8, false, 'intent'),
    ('rs', 'intern', 'title', 'eq', 'intern', -50, true, 'fit'),
    ('rs', 'say "hi"\', 'title', 'ilike', '%engineer%', 0.1, false, 'intent');
INSERT INTO leadqual.criterion_checks VALUES
    ('rs', 'bant', 'budget', 'budget_confirmed', 'eq', 'true'),
    ('rs', 'bant', 'authority', 'title', 'in', '{CTO}'),
    ('rs', 'bant', 'need', 'industry', 'eq', 'software'),
    ('rs', 'bant', 'timeline', 'employees', 'ge', '0');
INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life) VALUES
    ('rs', 'visit', 5, 20, NULL), ('rs', 'demo', 30, NULL, '1 day 12:00:00'),
    ('rs', 'unsub', -10, -15, '1 mon');

-- 1. the text form: the document, canonical (the hash is computed, the order fixed); rule
-- ids (and so the hash) depend on the tests before this one
CREATE FUNCTION pg_temp.masked(t text) RETURNS text LANGUAGE sql AS
$$ SELECT regexp_replace(regexp_replace(t, '"rule_id": \d+', '"rule_id": N', 'g'), '[0-9a-f]{64}', '<hash>', 'g') $$;
SELECT pg_temp.masked(leadqual.ruleset('rs'::text)::text);
SELECT leadqual.ruleset(model => 'rs') OPERATOR(leadqual.=) leadqual.ruleset('rs'::text) AS named_call;
-- a bare literal is a rule set literal (a cast), not a model name: the hint says so
SELECT pg_temp.err($$SELECT leadqual.ruleset('rs')$$);
-- text, jsonb and json round trips give the same value
SELECT leadqual.ruleset('rs'::text)::text::leadqual.ruleset OPERATOR(leadqual.=) leadqual.ruleset('rs'::text) AS text_round_trip,
       leadqual.ruleset('rs'::text)::jsonb::leadqual.ruleset::text = leadqual.ruleset('rs'::text)::text AS jsonb_round_trip,
       leadqual.ruleset('rs'::text)::json::leadqual.ruleset::text = leadqual.ruleset('rs'::text)::text AS json_round_trip,
       length(leadqual.ruleset('rs'::text)::jsonb->>'hash') AS hash_digits;
-- the hash covers the content: a changed point changes it, the same content keeps it
CREATE TEMP TABLE rs_before AS SELECT leadqual.ruleset('rs'::text) AS v;
UPDATE leadqual.rules SET points = 11 WHERE model = 'rs' AND name = 'software';
SELECT v OPERATOR(leadqual.=) leadqual.ruleset('rs'::text) AS same_after_change FROM rs_before;
UPDATE leadqual.rules SET points = 10 WHERE model = 'rs' AND name = 'software';
SELECT v OPERATOR(leadqual.=) leadqual.ruleset('rs'::text) AS same_after_change_back,
       v OPERATOR(leadqual.<>) leadqual.ruleset('rs'::text) AS differs FROM rs_before;
-- a disabled rule is not part of the value
UPDATE leadqual.rules SET enabled = false WHERE model = 'rs' AND name = 'eu';
SELECT jsonb_array_length(leadqual.ruleset('rs'::text)::jsonb->'rules') AS enabled_rules;
UPDATE leadqual.rules SET enabled = true WHERE model = 'rs' AND name = 'eu';

-- 2. binary: COPY ... (FORMAT binary) to a file and back is exact
CREATE TEMP TABLE rs_values (v leadqual.ruleset);
INSERT INTO rs_values SELECT leadqual.ruleset(m) FROM unnest(ARRAY['rs'::text]) m;
SELECT '/tmp/leadqual_ruleset_' || pg_backend_pid() || '.bin' AS binfile \gset
COPY rs_values TO :'binfile' (FORMAT binary);
CREATE TEMP TABLE rs_values_back (v leadqual.ruleset);
COPY rs_values_back FROM :'binfile' (FORMAT binary);
SELECT b.v::text = a.v::text AS binary_round_trip, leadqual.ruleset_send(b.v) = leadqual.ruleset_send(a.v) AS same_bytes
  FROM rs_values a, rs_values_back b;
-- receive checks what it reads: a wrong format byte, a hash that does not match
COPY (SELECT '\x02'::bytea) TO :'binfile' (FORMAT binary);
SELECT pg_temp.err(format('COPY rs_values_back FROM %L (FORMAT binary)', :'binfile'));
COPY (SELECT overlay(leadqual.ruleset_send(v) PLACING '\x00'::bytea FROM 2) FROM rs_values) TO :'binfile' (FORMAT binary);
SELECT pg_temp.err(format('COPY rs_values_back FROM %L (FORMAT binary)', :'binfile'));
SELECT 'rm -f ' || :'binfile' AS rmcmd \gset
COPY (SELECT 1 WHERE false) TO PROGRAM :'rmcmd';

-- 3. edited as jsonb and cast back: the hash must go (it is computed), or match
CREATE TEMP TABLE rs_doc AS SELECT leadqual.ruleset('rs'::text)::jsonb AS d;
SELECT pg_temp.masked(pg_temp.err($$SELECT jsonb_set(d, '{mql_threshold}', '5')::leadqual.ruleset FROM rs_doc$$));
SELECT (jsonb_set(d, '{mql_threshold}', '5') - 'hash')::leadqual.ruleset::jsonb->'mql_threshold' AS edited,
       (jsonb_set(d, '{mql_threshold}', '5') - 'hash')::leadqual.ruleset OPERATOR(leadqual.<>) d::leadqual.ruleset AS new_hash,
       (d - 'hash')::leadqual.ruleset OPERATOR(leadqual.=) d::leadqual.ruleset AS same_without_hash
  FROM rs_doc;
-- an edited value scores with its edit: 'big' worth 100 instead of 5
SELECT round(sum(leadqual.score(l, 'rs'))::numeric, 6) AS by_name,
       round(sum(leadqual.score(l, (SELECT (jsonb_set(d, '{rules,1,points}', '100') - 'hash')::leadqual.ruleset FROM rs_doc)))::numeric, 6) AS edited,
       round((sum(leadqual.score(l, 'rs')) + 95 * count(*) FILTER (WHERE l.employees >= 1000))::numeric, 6) AS expected
  FROM rs_leads l;

-- 4. hostile documents, each with its SQLSTATE
SELECT n, pg_temp.err(format('SELECT %L::leadqual.ruleset', doc)) AS result FROM (VALUES
    (1, 'not json'),
    (2, '{"format": 1'),
    (3, '[1, 2]'),
    (4, '{}'),
    (5, '{"format": 2, "model": "x"}'),
    (6, '{"format": "1"}'),
    (7, '{"format": 1, "format": 1}'),
    (8, '{"format": 1, "model": "x", "mql_threshold": 1, "fit_threshold": null, "framework": null, "engagement_column": null, "half_life": null, "rules": [], "frameworks": [], "event_rules": [], "extra": 1}'),
    (9, '{"format": 1, "hash": "00", "model": "x", "mql_threshold": 1, "fit_threshold": null, "framework": null, "engagement_column": null, "half_life": null, "rules": [], "frameworks": [], "event_rules": []}'),
    (10, '{"format": 1, "model": 7, "mql_threshold": 1, "fit_threshold": null, "framework": null, "engagement_column": null, "half_life": null, "rules": [], "frameworks": [], "event_rules": []}'),
    (11, '{"format": 1, "model": "x", "mql_threshold": "NaN", "fit_threshold": null, "framework": null, "engagement_column": null, "half_life": null, "rules": [], "frameworks": [], "event_rules": []}'),
    (12, '{"format": 1, "model": "x", "mql_threshold": 1e309, "fit_threshold": null, "framework": null, "engagement_column": null, "half_life": null, "rules": [], "frameworks": [], "event_rules": []}'),
    (13, '{"format": 1, "model": "x", "mql_threshold": 1, "fit_threshold": null, "framework": null, "engagement_column": null, "half_life": "-1 day", "rules": [], "frameworks": [], "event_rules": []}'),
    (14, '{"format": 1, "model": "x", "mql_threshold": 1, "fit_threshold": null, "framework": null, "engagement_column": null, "half_life": "soon", "rules": [], "frameworks": [], "event_rules": []}'),
    (15, '{"format": 1, "model": "x", "mql_threshold": 1, "fit_threshold": null, "framework": null, "engagement_column": null, "half_life": null, "rules": {}, "frameworks": [], "event_rules": []}')
) AS t(n, doc) ORDER BY n;
-- rules: a base document, one rule changed at a time
CREATE TEMP TABLE rs_base AS SELECT
    '{"format": 1, "model": "h", "mql_threshold": 1, "fit_threshold": null, "framework": null, "engagement_column": null, "half_life": null, "frameworks": [], "event_rules": []}'::jsonb AS d,
    '{"rule_id": 1, "name": "r", "category": "fit", "attribute": "title", "op": "eq", "value": "x", "points": 1, "knockout": false}'::jsonb AS r;
SELECT n, what, pg_temp.err(format('SELECT %L::leadqual.ruleset', jsonb_set(d, '{rules}', jsonb_build_array(rule)))) AS result
  FROM rs_base, LATERAL (VALUES
    (1, 'valid', r),
    (2, 'unknown op', r || '{"op": "sounds_like"}'),
    (3, 'missing key', r - 'points'),
    (4, 'points as string', r || '{"points": "10"}'),
    (5, 'huge points', r || '{"points": 1e7}'),
    (6, 'points beyond float8', r || '{"points": 1e309}'),
    (7, 'bad regex', r || '{"op": "regex", "value": "(unclosed"}'),
    (8, 'back-reference', r || '{"op": "regex", "value": "(a)\\1"}'),
    (9, 'like ending in escape', r || '{"op": "like", "value": "abc\\"}'),
    (10, 'in without a value', r || '{"op": "in", "value": null}'),
    (11, 'in not an array', r || '{"op": "in", "value": "a,b"}'),
    (12, 'in with NULL', r || '{"op": "in", "value": "{a,NULL}"}'),
    (13, 'in empty', r || '{"op": "in", "value": "{}"}'),
    (14, 'between one value', r || '{"op": "between", "value": "{1}"}'),
    (15, 'is_null with a value', r || '{"op": "is_null", "value": "x"}'),
    (16, 'unknown category', r || '{"category": "vibes"}'),
    (17, 'fractional rule_id', r || '{"rule_id": 1.5}'),
    (18, 'knockout as number', r || '{"knockout": 1}'),
    (19, 'rule not an object', '"rule"'::jsonb),
    (20, 'nested deeply', (repeat('[', 1000) || repeat(']', 1000))::jsonb)
  ) AS v(n, what, rule) ORDER BY n;
SELECT pg_temp.err(format('SELECT %L::leadqual.ruleset', jsonb_set(d, '{rules}', jsonb_build_array(r, r)))) AS duplicate_rule_id,
       pg_temp.err(format('SELECT %L::leadqual.ruleset', jsonb_set(d, '{rules}', jsonb_build_array(r || '{"rule_id": 2}', r)))) AS descending_rule_id
  FROM rs_base;
-- event rules and frameworks
SELECT n, pg_temp.err(format('SELECT %L::leadqual.ruleset', jsonb_set(jsonb_set(d, '{rules}', '[]'), '{event_rules}', ev))) AS result
  FROM rs_base, LATERAL (VALUES
    (1, '[{"event_type": "a", "points": 5, "max_points": 20, "half_life": "2 days"}]'::jsonb),
    (2, '[{"event_type": "a", "points": 5, "max_points": -20, "half_life": null}]'),
    (3, '[{"event_type": "a", "points": 5, "max_points": 0, "half_life": null}]'),
    (4, '[{"event_type": "a", "points": 5, "max_points": null, "half_life": "0 s"}]'),
    (5, '[{"event_type": "", "points": 5, "max_points": null, "half_life": null}]'),
    (6, '[{"event_type": "b", "points": 1, "max_points": null, "half_life": null}, {"event_type": "a", "points": 1, "max_points": null, "half_life": null}]'),
    (7, '[{"event_type": "a", "points": 2e6, "max_points": null, "half_life": null}]')
  ) AS v(n, ev) ORDER BY n;
SELECT pg_temp.err(format('SELECT %L::leadqual.ruleset', jsonb_set(jsonb_set(d, '{rules}', '[]'), '{frameworks}',
           '[{"framework": "bant", "criteria": [{"criterion": "budget", "attribute": "b", "op": "regex", "value": "["}]}]'))) AS bad_check,
       pg_temp.err(format('SELECT %L::leadqual.ruleset', jsonb_set(jsonb_set(d, '{rules}', '[]'), '{frameworks}',
           '[{"framework": "bant", "criteria": [{"criterion": "budget", "attribute": null, "op": "eq", "value": null}]}]'))) AS op_without_attribute
  FROM rs_base;
-- duplicate keys inside a rule (jsonb would keep the last silently)
SELECT pg_temp.err(format('SELECT %L::leadqual.ruleset',
           replace(jsonb_set(d, '{rules}', jsonb_build_array(r))::text, '"points": 1', '"points": 1, "points": 2'))) AS duplicate_key
  FROM rs_base;
-- a key too long for the message is cut at a character's end (a multibyte character is
-- never split, so the error itself stays valid text)
CREATE FUNCTION pg_temp.long_key_detail() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    PERFORM ('{"a' || repeat('é', 500) || '": 1}')::leadqual.ruleset;
    RETURN 'accepted';
EXCEPTION WHEN invalid_text_representation THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN format('%s bytes, ends in %s', octet_length(detail), right(detail, 3));
END $$;
SELECT pg_temp.long_key_detail();
-- a half-life beyond 100,000 years is 100,000 years (nothing decays measurably either
-- way), in the document and from the tables alike: it always prints as an interval
SELECT v::jsonb->>'half_life' AS half_life, v::text::leadqual.ruleset OPERATOR(leadqual.=) v AS round_trip
  FROM (SELECT jsonb_set(jsonb_set(d, '{rules}', '[]'), '{half_life}', '"300000 years"')::text::leadqual.ruleset AS v
          FROM rs_base) s;
UPDATE leadqual.models SET half_life = '300000 years' WHERE model = 'rs';
SELECT leadqual.ruleset('rs'::text)::jsonb->>'half_life' AS model_half_life;
UPDATE leadqual.models SET half_life = '10 days' WHERE model = 'rs';
-- a huge document: 10,000 rules read, score and round-trip
CREATE TEMP TABLE rs_huge AS
SELECT (jsonb_set(d, '{rules}', (SELECT jsonb_agg(r || jsonb_build_object('rule_id', g, 'name', 'r' || g,
                                                    'value', 'v' || g, 'points', g % 7) ORDER BY g)
                                   FROM generate_series(1, 10000) g)))::leadqual.ruleset AS v
  FROM rs_base;
CREATE TABLE rs_title (title text);
INSERT INTO rs_title VALUES ('v77'), ('v8'), ('nothing');
SELECT jsonb_array_length(v::jsonb->'rules') AS rules, v::text::leadqual.ruleset OPERATOR(leadqual.=) v AS round_trip
  FROM rs_huge;
SELECT t.title, leadqual.score(t, v) AS score, (SELECT count(*) FROM leadqual.explain(t, v)) AS matched
  FROM rs_title t, rs_huge ORDER BY t.title COLLATE "C";

-- 5. scoring with a value = scoring by model name, over the operators test's data: one
-- model with every case, and one model per case (sql/operators.sql left both tables)
INSERT INTO leadqual.models (model, lead_table) VALUES ('ops', 'op_leads');
INSERT INTO leadqual.rules (model, name, attribute, op, value, points)
SELECT 'ops', id::text, attr, op, value, (id % 11) - 5 FROM op_cases ORDER BY id;
INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold)
SELECT 'case ' || id, 'op_leads', 1, 0 FROM op_cases;
INSERT INTO leadqual.rules (model, name, attribute, op, value, points, knockout)
SELECT 'case ' || id, 'r', attr, op, value, 1, id % 5 = 0 FROM op_cases;
SELECT count(*) AS leads,
       count(*) FILTER (WHERE leadqual.score(l, 'ops') IS DISTINCT FROM leadqual.score(l, r.rs)) AS score_differs,
       count(*) FILTER (WHERE leadqual.classify(l, 'ops') IS DISTINCT FROM leadqual.classify(l, r.rs)) AS classify_differs,
       count(DISTINCT leadqual.score(l, r.rs)) > 5 AS scores_vary
  FROM op_leads l, (SELECT leadqual.ruleset('ops'::text) AS rs) r;
SELECT count(*) AS explain_rows_differ FROM (
    (SELECT l.id, e.* FROM op_leads l, leadqual.explain(l, 'ops') e
     EXCEPT ALL
     SELECT l.id, e.* FROM op_leads l, (SELECT leadqual.ruleset('ops'::text) AS rs) r, leadqual.explain(l, r.rs) e)
    UNION ALL
    (SELECT l.id, e.* FROM op_leads l, (SELECT leadqual.ruleset('ops'::text) AS rs) r, leadqual.explain(l, r.rs) e
     EXCEPT ALL
     SELECT l.id, e.* FROM op_leads l, leadqual.explain(l, 'ops') e)) x;
-- per case: score, classify (knockouts included), and every operator is covered; each
-- case's value a literal in its own statement (1,000 of the leads)
CREATE TEMP TABLE rs_case_results (id int, op text, score_differs bigint, classify_differs bigint, matches bigint);
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT id, op FROM op_cases ORDER BY id LOOP
        EXECUTE format($q$
            INSERT INTO rs_case_results
            SELECT %s, %L,
                   count(*) FILTER (WHERE leadqual.score(l, %L) IS DISTINCT FROM leadqual.score(l, %L::leadqual.ruleset)),
                   count(*) FILTER (WHERE leadqual.classify(l, %L) IS DISTINCT FROM leadqual.classify(l, %L::leadqual.ruleset)),
                   count(*) FILTER (WHERE leadqual.score(l, %L::leadqual.ruleset) = 1)
              FROM op_leads l WHERE l.id <= 1000$q$,
            c.id, c.op, 'case ' || c.id, leadqual.ruleset('case ' || c.id), 'case ' || c.id,
            leadqual.ruleset('case ' || c.id), leadqual.ruleset('case ' || c.id));
    END LOOP;
END $$;
SELECT op, count(*) AS cases, sum(score_differs) AS score_differs, sum(classify_differs) AS classify_differs,
       sum(matches) > 0 AS some_match
  FROM rs_case_results GROUP BY op ORDER BY op COLLATE "C";
DELETE FROM leadqual.models WHERE model LIKE 'case %' OR model = 'ops';

-- qualify and explain with a value, against the model name
SELECT count(*) FILTER (WHERE leadqual.qualify(l, 'rs') IS DISTINCT FROM leadqual.qualify(l, r.rs)) AS qualify_differs,
       count(*) FILTER (WHERE leadqual.qualify(l, 'rs', 'meddic') IS DISTINCT FROM leadqual.qualify(l, r.rs, 'meddic')) AS meddic_differs,
       count(*) FILTER (WHERE (leadqual.qualify(l, r.rs)).qualified) > 0 AS some_qualified,
       count(*) FILTER (WHERE leadqual.classify(l, 'rs') IS DISTINCT FROM leadqual.classify(l, r.rs)) AS classify_differs,
       count(DISTINCT leadqual.classify(l, r.rs)) AS stages
  FROM rs_leads l, (SELECT leadqual.ruleset('rs'::text) AS rs) r;
SELECT e.name, e.category, e.points, e.knockout
  FROM rs_leads l, (SELECT leadqual.ruleset('rs'::text) AS rs) r, leadqual.explain(l, r.rs) e
 WHERE l.id = 10 ORDER BY e.rule_id NULLS LAST;
SELECT pg_temp.err($$SELECT leadqual.qualify(l, r.rs, 'no such') FROM rs_leads l, (SELECT leadqual.ruleset('rs'::text) AS rs) r$$);

-- 6. a row type that lacks a rule's column: an error at first use naming the rule
CREATE TABLE rs_narrow (id int, industry text);
INSERT INTO rs_narrow VALUES (1, 'software');
SELECT pg_temp.err($$SELECT leadqual.score(n, r.rs) FROM rs_narrow n, (SELECT leadqual.ruleset('rs'::text) AS rs) r$$);
DO $$
DECLARE
    ctx text;
BEGIN
    PERFORM leadqual.score(n, r.rs) FROM rs_narrow n, (SELECT leadqual.ruleset('rs'::text) AS rs) r;
EXCEPTION WHEN undefined_column THEN
    GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
    RAISE WARNING 'undefined_column: % (context: %)', SQLERRM, split_part(ctx, E'\n', 1);
END $$;
-- a rule whose value does not parse for the column's type: the input function's error
SELECT pg_temp.err(format($$SELECT leadqual.score(l, %L::leadqual.ruleset) FROM rs_leads l$$,
           jsonb_set(leadqual.ruleset('rs'::text)::jsonb - 'hash', '{rules,1,value}', '"many"')));

-- 7. privileges: ruleset(model) reads the rules as the extension's owner, like score(l, 'm')
CREATE ROLE regress_rs_user;
GRANT SELECT ON rs_leads, rs_before TO regress_rs_user;
REVOKE SELECT ON leadqual.rules, leadqual.models, leadqual.criteria, leadqual.criterion_checks,
                 leadqual.event_rules FROM PUBLIC;
SET ROLE regress_rs_user;
SELECT pg_temp.err('SELECT count(*) FROM leadqual.rules') AS reading_rules;
SELECT leadqual.ruleset('rs'::text) OPERATOR(leadqual.=) v AS same_value FROM rs_before;
SELECT sum(leadqual.score(l, 'rs')) = sum(leadqual.score(l, r.rs)) AS same_scores
  FROM rs_leads l, (SELECT leadqual.ruleset('rs'::text) AS rs) r;
RESET ROLE;
GRANT SELECT ON leadqual.rules, leadqual.models, leadqual.criteria, leadqual.criterion_checks,
                leadqual.event_rules TO PUBLIC;
REVOKE ALL ON rs_leads, rs_before FROM regress_rs_user;
DROP ROLE regress_rs_user;

-- 8. engagement with a value equals engagement by model name, also through partial
-- aggregation (a parallel plan) and a combine by hand; states carry the value's identity
CREATE TABLE rs_events (lead_id int, event_type text, occurred_at timestamptz);
INSERT INTO rs_events
SELECT g % 300, (ARRAY['visit', 'demo', 'unsub', 'other'])[1 + g % 4],
       '2026-01-01'::timestamptz + (g % 97) * interval '7 hours'
  FROM generate_series(1, 20000) g;
ANALYZE rs_events;
SELECT count(*) AS leads,
       count(*) FILTER (WHERE abs(by_name - by_value) > 1e-9) AS differ,
       count(*) FILTER (WHERE by_value <> 0) > 0 AS nonzero
  FROM (SELECT lead_id, leadqual.engagement(event_type, occurred_at, 'rs', '2026-02-01') AS by_name,
               leadqual.engagement(event_type, occurred_at, r.rs, '2026-02-01') AS by_value
          FROM rs_events, (SELECT leadqual.ruleset('rs'::text) AS rs) r GROUP BY lead_id) x;
CREATE TEMP TABLE rs_eng_direct AS
    SELECT leadqual.engagement(event_type, occurred_at, r.rs, '2026-02-01') AS e
      FROM rs_events, (SELECT leadqual.ruleset('rs'::text) AS rs) r;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off; SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT leadqual.engagement(event_type, occurred_at, r.rs, '2026-02-01')
  FROM rs_events, (SELECT leadqual.ruleset('rs'::text) AS rs) r;
SELECT abs(leadqual.engagement(event_type, occurred_at, r.rs, '2026-02-01') - d.e) < 1e-6 AS parallel_equals_serial,
       d.e <> 0 AS nonzero
  FROM rs_events, (SELECT leadqual.ruleset('rs'::text) AS rs) r, rs_eng_direct d GROUP BY d.e;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET parallel_leader_participation; RESET max_parallel_workers_per_gather;
-- partial states by hand (as Citus ships them: text), combined and finished elsewhere
CREATE AGGREGATE rs_partial(text, timestamptz, leadqual.ruleset, timestamptz) (
    SFUNC = leadqual.engagement_transfn, STYPE = leadqual.engagement_state);
CREATE AGGREGATE rs_combine(leadqual.engagement_state) (
    SFUNC = leadqual.engagement_combine, STYPE = leadqual.engagement_state,
    FINALFUNC = leadqual.engagement_rs_final);
CREATE TEMP TABLE rs_states AS
SELECT lead_id % 3 AS part, rs_partial(event_type, occurred_at, r.rs, '2026-02-01')::text AS s
  FROM rs_events, (SELECT leadqual.ruleset('rs'::text) AS rs) r GROUP BY 1;
SELECT left(s, 9) AS starts, s::leadqual.engagement_state::text = s AS text_round_trip
  FROM rs_states ORDER BY part LIMIT 1;
SELECT abs(rs_combine(s::leadqual.engagement_state) - d.e) < 1e-6 AS combined_equals_direct
  FROM rs_states, rs_eng_direct d GROUP BY d.e;
-- a state of another rule set, or of a model name, is refused
INSERT INTO leadqual.models (model, lead_table, engagement_column) VALUES ('rs_other', 'rs_leads', 'engagement');
INSERT INTO leadqual.event_rules (model, event_type, points) VALUES ('rs_other', 'visit', 1);
SELECT pg_temp.masked(pg_temp.err($$SELECT leadqual.engagement_combine(a.s::leadqual.engagement_state, b.s)
                     FROM rs_states a, (SELECT rs_partial('visit', '2026-01-01', leadqual.ruleset('rs_other'::text), '2026-02-01') AS s) b
                    LIMIT 1$$)) AS other_rule_set;
SELECT pg_temp.err($$SELECT leadqual.engagement_combine(a.s::leadqual.engagement_state,
                            (SELECT s FROM rs_states WHERE part = 0)::leadqual.engagement_state)
                     FROM (SELECT rs_partial('visit', '2026-01-01', leadqual.ruleset('rs'::text), '2026-03-01')::text AS s) a$$) AS other_as_of;
SELECT pg_temp.err($$SELECT leadqual.engagement_rs_final('v1:model="rs";as_of=2026-02-01 00:00:00+00;rules=00000000;sums={}')$$) AS model_state_to_value_final,
       pg_temp.err(format('SELECT leadqual.engagement_final(%L)', (SELECT s FROM rs_states WHERE part = 0))) AS value_state_to_model_final,
       pg_temp.err(format('SELECT leadqual.engagement_combine(%L, %L)', (SELECT s FROM rs_states WHERE part = 0),
                          'v1:model="rs";as_of=2026-02-01 00:00:00+00;rules=00000000;sums={}')) AS value_with_model_state;
SELECT pg_temp.err($$SELECT leadqual.engagement(event_type, occurred_at, CASE WHEN lead_id % 2 = 0 THEN leadqual.ruleset('rs'::text) ELSE leadqual.ruleset('rs_other'::text) END, '2026-02-01') FROM rs_events$$) AS mixed_rule_sets;
DELETE FROM leadqual.models WHERE model = 'rs_other';
DROP AGGREGATE rs_partial(text, timestamptz, leadqual.ruleset, timestamptz);
DROP AGGREGATE rs_combine(leadqual.engagement_state);

-- 9. a value keeps scoring after its model is gone: it is all the functions read
CREATE TEMP TABLE rs_kept AS SELECT leadqual.ruleset('rs'::text) AS v;
CREATE TEMP TABLE rs_scores AS SELECT l.id, leadqual.score(l, 'rs') AS s FROM rs_leads l;
DELETE FROM leadqual.models WHERE model = 'rs';
SELECT count(*) FILTER (WHERE leadqual.score(l, k.v) IS DISTINCT FROM s.s) AS differ
  FROM rs_leads l JOIN rs_scores s USING (id), rs_kept k;

-- 10. a constant value narrows the whole-row argument to the columns its rules read (no
-- plan dependency: the value cannot change); a value known only at run time (a
-- sub-select, a joined column) gets every column, so no row is built either; the whole
-- row of a sub-query (no table to take columns of) is left alone
CREATE FUNCTION pg_temp.plan_has(q text, pat text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
        IF strpos(line, pat) > 0 THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;
CREATE TEMP TABLE rs_small AS SELECT ('{"format": 1, "model": "small", "mql_threshold": 10, "fit_threshold": null,
    "framework": null, "engagement_column": null, "half_life": null, "frameworks": [], "event_rules": [],
    "rules": [{"rule_id": 1, "name": "software", "category": "fit", "attribute": "industry", "op": "eq",
               "value": "software", "points": 10, "knockout": false},
              {"rule_id": 2, "name": "big", "category": "fit", "attribute": "employees", "op": "ge",
               "value": "1000", "points": 5, "knockout": false}]}')::leadqual.ruleset AS v;
SELECT format('SELECT sum(leadqual.score(l, %L::leadqual.ruleset)) FROM rs_leads l', v) AS q_literal,
       format('SELECT count(*) FROM rs_leads l WHERE leadqual.classify(l, %L::leadqual.ruleset) = ''nurture''', v) AS q_classify
  FROM rs_small \gset
SELECT pg_temp.plan_has(:'q_literal', 'smallint[], industry, employees)') AS literal_narrowed,
       pg_temp.plan_has(:'q_classify', 'smallint[], industry, employees)') AS classify_narrowed,
       pg_temp.plan_has('SELECT sum(leadqual.score(l, (SELECT v FROM rs_small))) FROM rs_leads l',
                        'smallint[], l.id, l.industry, l.employees, l.country, l.title, l.budget_confirmed, l.engagement)') AS subselect_every_column,
       pg_temp.plan_has('SELECT sum(leadqual.score(l, r.v)) FROM rs_leads l, rs_small r',
                        'smallint[], l.id, l.industry, l.employees, l.country, l.title, l.budget_confirmed, l.engagement)') AS join_every_column,
       pg_temp.plan_has('SELECT sum(leadqual.score(l, r.v)) FROM (SELECT * FROM rs_leads OFFSET 0) l, rs_small r', 'l.*') AS subquery_whole_row;
-- the narrowed calls score as the whole row does (of a sub-query: not narrowed)
SELECT format('SELECT (%s) = (SELECT sum(leadqual.score(l, (SELECT v FROM rs_small))) FROM (SELECT * FROM rs_leads OFFSET 0) l) AS narrowed_score_same, '
              '(%s) = (SELECT count(*) FROM (SELECT * FROM rs_leads OFFSET 0) l WHERE leadqual.classify(l, (SELECT v FROM rs_small)) = ''nurture'') AS narrowed_classify_same, '
              '(SELECT sum(leadqual.score(l, (SELECT v FROM rs_small))) FROM rs_leads l) = '
              '(SELECT sum(leadqual.score(l, (SELECT v FROM rs_small))) FROM (SELECT * FROM rs_leads OFFSET 0) l) AS every_column_score_same, '
              '(SELECT array_agg(e ORDER BY l.id, e.rule_id) FROM rs_leads l, rs_small r, leadqual.explain(l, r.v) e) = '
              '(SELECT array_agg(e ORDER BY l.id, e.rule_id) FROM (SELECT * FROM rs_leads OFFSET 0) l, rs_small r, leadqual.explain(l, r.v) e) AS every_column_explain_same',
              :'q_literal', :'q_classify') \gexec
-- a constant value naming a column the row lacks is left alone, and fails when called
SELECT pg_temp.err(format('SELECT leadqual.score(n, %L::leadqual.ruleset) FROM rs_narrow n', v)) FROM rs_small;

-- 11. values read from a table, stored compressed in line or out of line (TOAST): three
-- different ones alternating row by row and one repeated (a remembered datum's raw bytes
-- stand for its hash), each scored as its plain in-memory copy is
CREATE TABLE rs_stored (k int, how text, v leadqual.ruleset);
ALTER TABLE rs_stored ALTER COLUMN v SET STORAGE EXTERNAL;
CREATE TABLE rs_stored_c (k int, how text, v leadqual.ruleset);	-- default: compressed in line
CREATE FUNCTION pg_temp.big_value(k int, nrules int) RETURNS leadqual.ruleset LANGUAGE sql AS $$
SELECT jsonb_build_object('format', 1, 'model', 'big' || k, 'mql_threshold', 10 + k, 'fit_threshold', null,
    'framework', null, 'engagement_column', null, 'half_life', null, 'frameworks', '[]'::jsonb,
    'event_rules', '[]'::jsonb,
    'rules', (SELECT jsonb_agg(jsonb_build_object('rule_id', i, 'name', 'r' || i, 'category', 'fit',
                  'attribute', 'employees', 'op', 'ge', 'value', (i * 97 % 5000)::text,
                  'points', k + i % 3, 'knockout', false) ORDER BY i)
                FROM generate_series(1, nrules) i))::text::leadqual.ruleset
$$;
INSERT INTO rs_stored SELECT k, 'out of line', pg_temp.big_value(k, 40) FROM generate_series(1, 3) k;
INSERT INTO rs_stored_c SELECT k, 'compressed', pg_temp.big_value(k, 40) FROM generate_series(1, 3) k;
-- what each table holds is what the test is about
SELECT (SELECT count(*) FROM rs_stored_c WHERE pg_column_compression(v) IS NOT NULL) AS compressed,
       (SELECT count(*) FROM rs_stored WHERE pg_column_compression(v) IS NULL) AS uncompressed;
SELECT reltoastrelid::regclass AS rs_toast FROM pg_class WHERE oid = 'rs_stored'::regclass \gset
SELECT count(DISTINCT chunk_id) AS values_out_of_line FROM :rs_toast;
SELECT s.how, count(*) AS scored,
       count(*) FILTER (WHERE leadqual.score(l, s.v) IS DISTINCT FROM leadqual.score(l, s.v::text::leadqual.ruleset)) AS differ,
       count(DISTINCT leadqual.score(l, s.v)) > 3 AS distinct_scores
  FROM rs_leads l JOIN (SELECT * FROM rs_stored UNION ALL SELECT * FROM rs_stored_c) s ON s.k = 1 + l.id % 3
 GROUP BY s.how ORDER BY s.how;
-- one stored value repeated (an InitPlan's parameter), then another in the same statement
SELECT (SELECT sum(leadqual.score(l, (SELECT v FROM rs_stored WHERE k = 2))) FROM rs_leads l)
     = (SELECT sum(leadqual.score(l, (SELECT v FROM rs_stored WHERE k = 2)::text::leadqual.ruleset)) FROM rs_leads l) AS repeated_same,
       (SELECT sum(leadqual.score(l, (SELECT v FROM rs_stored_c WHERE k = 3))) FROM rs_leads l)
     = (SELECT sum(leadqual.score(l, (SELECT v FROM rs_stored_c WHERE k = 3)::text::leadqual.ruleset)) FROM rs_leads l) AS other_same,
       (SELECT sum(leadqual.score(l, (SELECT v FROM rs_stored WHERE k = 2))) FROM rs_leads l)
     <> (SELECT sum(leadqual.score(l, (SELECT v FROM rs_stored_c WHERE k = 3))) FROM rs_leads l) AS values_differ;
DROP TABLE rs_stored, rs_stored_c;
