
-- ---------------------------------------------------------------------------------------
-- Rule versions and what-if (issue 11).  Every committing transaction that changes what a
-- model scores with records the model's rule set (leadqual.ruleset) as a new version;
-- stage_history records the version that decided each change; a candidate (a draft model
-- or any rule set value) is simulated on the real leads, promoted in one step, and rolled
-- back to any version.
-- ---------------------------------------------------------------------------------------

-- One row per version of a model (user data: pg_dump keeps it; it holds no lead data, so
-- forget and GDPR erasure do not touch it).  Written only by the owner, through the
-- versions trigger below; PUBLIC reads it like the rules themselves.  No foreign key to
-- leadqual.models: a deleted or renamed model's versions stay, as its history does.
CREATE TABLE leadqual.ruleset_versions (
    model      text NOT NULL,
    version    integer NOT NULL CHECK (version > 0),
    rules      leadqual.ruleset NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    created_by text NOT NULL DEFAULT CURRENT_USER,
    PRIMARY KEY (model, version)
);
SELECT pg_catalog.pg_extension_config_dump('leadqual.ruleset_versions', '');
GRANT SELECT ON leadqual.ruleset_versions TO PUBLIC;

-- The version that decided a stage change (NULL: a person's decision, or no version known
-- when it was written: before 1.1, or rules changed by the same uncommitted transaction).
ALTER TABLE leadqual.stage_history ADD COLUMN version integer;

-- Models that exist when 1.1 arrives get version 1 (a fresh install has none).
INSERT INTO leadqual.ruleset_versions (model, version, rules)
SELECT m.model, 1, leadqual.ruleset(m.model) FROM leadqual.models m;

-- The versions trigger (src/versions.c): deferred to commit, once per model and
-- transaction, as the owner.  On criteria and frameworks it versions every model (a
-- checklist can reach any of them); TRUNCATE versions at once.
CREATE FUNCTION leadqual.ruleset_version_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'leadqual_ruleset_version_trigger' LANGUAGE C;
REVOKE EXECUTE ON FUNCTION leadqual.ruleset_version_trigger() FROM PUBLIC;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['models', 'rules', 'criterion_checks', 'event_rules',
                             'criteria', 'frameworks'] LOOP
        EXECUTE format('CREATE CONSTRAINT TRIGGER ruleset_version AFTER INSERT OR UPDATE OR DELETE
                        ON leadqual.%I DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
                        EXECUTE FUNCTION leadqual.ruleset_version_trigger()', t);
        EXECUTE format('CREATE TRIGGER ruleset_version_truncate AFTER TRUNCATE
                        ON leadqual.%I FOR EACH STATEMENT
                        EXECUTE FUNCTION leadqual.ruleset_version_trigger()', t);
    END LOOP;
END $$;

-- A past version (src/versions.c), read once per call site: in
-- leadqual.score(l, leadqual.ruleset('m', 7)) over a whole table the version is read once.
CREATE FUNCTION leadqual.ruleset(model text, version integer) RETURNS leadqual.ruleset
    AS 'MODULE_PATHNAME', 'leadqual_ruleset_version'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- ---------------------------------------------------------------------------------------
-- Draft models, simulation, promotion
-- ---------------------------------------------------------------------------------------

-- Whether the caller may rewrite a model's definition (promote, rollback, copy_model run
-- as the caller and write the owner's config tables).
CREATE FUNCTION leadqual.require_config_write(what text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (has_table_privilege('leadqual.models', 'INSERT') AND has_table_privilege('leadqual.models', 'UPDATE')
            AND has_table_privilege('leadqual.rules', 'INSERT') AND has_table_privilege('leadqual.rules', 'DELETE')
            AND has_table_privilege('leadqual.criterion_checks', 'INSERT')
            AND has_table_privilege('leadqual.criterion_checks', 'DELETE')
            AND has_table_privilege('leadqual.event_rules', 'INSERT')
            AND has_table_privilege('leadqual.event_rules', 'DELETE')) THEN
        RAISE EXCEPTION 'permission denied to %', what
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Changing models is for the extension''s owner, or a role granted EXECUTE on the function and INSERT, UPDATE, DELETE ON leadqual.models, leadqual.rules, leadqual.criterion_checks, leadqual.event_rules.';
    END IF;
END $$;

-- A draft: the same rules (disabled ones too, in rule_id order), thresholds, framework,
-- criterion checks and event rules as source, attached to nothing.
CREATE FUNCTION leadqual.copy_model(source text, new_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF source IS NULL OR new_name IS NULL THEN
        RAISE EXCEPTION 'leadqual.copy_model: arguments must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM leadqual.require_config_write(format('copy model "%s"', source));
    IF NOT EXISTS (SELECT FROM leadqual.models m WHERE m.model = source) THEN
        RAISE EXCEPTION 'model "%" does not exist', source USING ERRCODE = 'undefined_object',
            HINT = 'Models are rows of leadqual.models.';
    END IF;
    IF EXISTS (SELECT FROM leadqual.models m WHERE m.model = new_name) THEN
        RAISE EXCEPTION 'model "%" already exists', new_name USING ERRCODE = 'duplicate_object';
    END IF;
    INSERT INTO leadqual.models (model, lead_table, mql_threshold, fit_threshold, framework,
                                 engagement_column, half_life, description)
    SELECT new_name, m.lead_table, m.mql_threshold, m.fit_threshold, m.framework,
           m.engagement_column, m.half_life, m.description
      FROM leadqual.models m WHERE m.model = source;
    -- rules keep their order: points are summed in rule_id order
    INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout, enabled)
    SELECT new_name, r.name, r.category, r.attribute, r.op, r.value, r.points, r.knockout, r.enabled
      FROM leadqual.rules r WHERE r.model = source ORDER BY r.rule_id;
    INSERT INTO leadqual.criterion_checks (model, framework, criterion, attribute, op, value)
    SELECT new_name, c.framework, c.criterion, c.attribute, c.op, c.value
      FROM leadqual.criterion_checks c WHERE c.model = source
     ORDER BY c.framework COLLATE "C", c.criterion COLLATE "C";
    INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life)
    SELECT new_name, e.event_type, e.points, e.max_points, e.half_life
      FROM leadqual.event_rules e WHERE e.model = source ORDER BY e.event_type COLLATE "C";
END $$;

-- What a rescore would do to an attached table's leads under a candidate rule set
-- (src/simulate.c): every lead whose stage or score would change, with the rules gained
-- and lost.  SECURITY INVOKER: the caller's row-level security applies; reads the lead
-- table (and an attached events table) once, writes nothing.
CREATE FUNCTION leadqual.simulate(lead_table regclass, candidate leadqual.ruleset)
RETURNS TABLE (lead_id text, old_stage leadqual.stage, new_stage leadqual.stage,
               old_score float8, new_score float8, gained text[], lost text[],
               locked boolean)
AS 'MODULE_PATHNAME', 'leadqual_simulate'
LANGUAGE C STABLE STRICT SECURITY INVOKER ROWS 100;

-- The same for a model's name (leadqual.simulate('leads', 'draft')).
CREATE FUNCTION leadqual.simulate(lead_table regclass, candidate text)
RETURNS TABLE (lead_id text, old_stage leadqual.stage, new_stage leadqual.stage,
               old_score float8, new_score float8, gained text[], lost text[],
               locked boolean)
LANGUAGE sql STABLE STRICT SECURITY INVOKER ROWS 100
BEGIN ATOMIC
    SELECT * FROM leadqual.simulate(simulate.lead_table, leadqual.ruleset(simulate.candidate));
END;

-- The simulation's stage moves, from x to.
CREATE FUNCTION leadqual.simulate_summary(lead_table regclass, candidate leadqual.ruleset)
RETURNS TABLE (from_stage leadqual.stage, to_stage leadqual.stage, leads bigint)
LANGUAGE sql STABLE STRICT SECURITY INVOKER ROWS 10
BEGIN ATOMIC
    SELECT s.old_stage, s.new_stage, pg_catalog.count(*)
      FROM leadqual.simulate(simulate_summary.lead_table, simulate_summary.candidate) s
     WHERE s.old_stage IS DISTINCT FROM s.new_stage
     GROUP BY s.old_stage, s.new_stage
     ORDER BY s.old_stage NULLS FIRST, s.new_stage;
END;

CREATE FUNCTION leadqual.simulate_summary(lead_table regclass, candidate text)
RETURNS TABLE (from_stage leadqual.stage, to_stage leadqual.stage, leads bigint)
LANGUAGE sql STABLE STRICT SECURITY INVOKER ROWS 10
BEGIN ATOMIC
    SELECT * FROM leadqual.simulate_summary(simulate_summary.lead_table,
                                            leadqual.ruleset(simulate_summary.candidate));
END;

-- promote's NOTICE: per table attached to model, how many leads the simulation of
-- candidate expects to change stage.  Each table is simulated as its owner (its row-level
-- security functions, key type and events are the owner's code, and must not run as
-- whoever promotes).  For those who may change models: refuses anybody else.
CREATE FUNCTION leadqual.promote_notice(into_model text, candidate leadqual.ruleset)
RETURNS void
AS 'MODULE_PATHNAME', 'leadqual_promote_notice'
LANGUAGE C STRICT;

-- Writes into_model's definition (thresholds, framework, engagement settings, rules,
-- criterion checks, event rules) from rows: settings' thresholds, framework, engagement
-- column and half-life; the rows of rules, checks and events in their array order (new
-- rule_ids in that order: points are summed in rule_id order).  The one writer of both
-- promote overloads.  Runs as the caller: for those who may change models.
CREATE FUNCTION leadqual.write_definition(into_model text, settings leadqual.models,
                                          rules leadqual.rules[],
                                          checks leadqual.criterion_checks[],
                                          events leadqual.event_rules[])
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM leadqual.require_config_write(format('promote into model "%s"', into_model));
    UPDATE leadqual.models x
       SET mql_threshold = settings.mql_threshold, fit_threshold = settings.fit_threshold,
           framework = settings.framework, engagement_column = settings.engagement_column,
           half_life = settings.half_life
     WHERE x.model = into_model;
    DELETE FROM leadqual.rules r WHERE r.model = into_model;
    DELETE FROM leadqual.criterion_checks c WHERE c.model = into_model;
    DELETE FROM leadqual.event_rules e WHERE e.model = into_model;
    INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points, knockout, enabled)
    SELECT into_model, r.name, r.category, r.attribute, r.op, r.value, r.points, r.knockout, r.enabled
      FROM pg_catalog.unnest(rules) WITH ORDINALITY AS r ORDER BY r.ordinality;
    INSERT INTO leadqual.criterion_checks (model, framework, criterion, attribute, op, value)
    SELECT into_model, c.framework, c.criterion, c.attribute, c.op, c.value
      FROM pg_catalog.unnest(checks) WITH ORDINALITY AS c ORDER BY c.ordinality;
    INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life)
    SELECT into_model, e.event_type, e.points, e.max_points, e.half_life
      FROM pg_catalog.unnest(events) WITH ORDINALITY AS e ORDER BY e.ordinality;
END $$;

-- Replaces into_model's definition (thresholds, framework, engagement settings, rules,
-- criterion checks, event rules) with candidate's, in the caller's transaction: one new
-- version at commit.  Neither rescores: CALL leadqual.rescore afterwards.
CREATE FUNCTION leadqual.promote(candidate leadqual.ruleset, into_model text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb;
    missing text;
BEGIN
    IF candidate IS NULL OR into_model IS NULL THEN
        RAISE EXCEPTION 'leadqual.promote: arguments must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM leadqual.require_config_write(format('promote into model "%s"', into_model));
    PERFORM FROM leadqual.models x WHERE x.model = into_model FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', into_model USING ERRCODE = 'undefined_object',
            HINT = 'Models are rows of leadqual.models.';
    END IF;
    PERFORM leadqual.promote_notice(into_model, candidate);
    -- the value's document (src/ruleset_io.c): thresholds, framework, engagement column and
    -- half-life, its (enabled) rules in order, every framework's criteria with this
    -- model's checks, event rules
    doc := candidate::jsonb;
    SELECT pg_catalog.string_agg(format('%s.%s', f->>'framework', c->>'criterion'), ', ') INTO missing
      FROM jsonb_array_elements(doc->'frameworks') f, jsonb_array_elements(f->'criteria') c
     WHERE c->>'attribute' IS NOT NULL
       AND NOT EXISTS (SELECT FROM leadqual.criteria k
                        WHERE k.framework = f->>'framework' AND k.criterion = c->>'criterion');
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'the rule set checks criteria that no longer exist: %', missing
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Add the criteria to leadqual.criteria again, or promote a rule set without those checks.';
    END IF;
    PERFORM leadqual.write_definition(into_model,
        jsonb_populate_record(NULL::leadqual.models, doc),
        ARRAY(SELECT jsonb_populate_record(NULL::leadqual.rules, (r - 'rule_id') || '{"enabled": true}')
                FROM jsonb_array_elements(doc->'rules') WITH ORDINALITY AS x(r, n) ORDER BY x.n),
        ARRAY(SELECT jsonb_populate_record(NULL::leadqual.criterion_checks,
                                           c || jsonb_build_object('framework', f->'framework'))
                FROM jsonb_array_elements(doc->'frameworks') f, jsonb_array_elements(f->'criteria') c
               WHERE c->>'attribute' IS NOT NULL),
        ARRAY(SELECT jsonb_populate_record(NULL::leadqual.event_rules, e)
                FROM jsonb_array_elements(doc->'event_rules') e));
END $$;

CREATE FUNCTION leadqual.promote(candidate text, into_model text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF candidate IS NULL OR into_model IS NULL THEN
        RAISE EXCEPTION 'leadqual.promote: arguments must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM leadqual.require_config_write(format('promote into model "%s"', into_model));
    IF candidate = into_model THEN
        RAISE EXCEPTION 'model "%" cannot be promoted into itself', candidate
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Promote a draft (leadqual.copy_model), or a past version with leadqual.rollback.';
    END IF;
    IF NOT EXISTS (SELECT FROM leadqual.models x WHERE x.model = candidate) THEN
        RAISE EXCEPTION 'model "%" does not exist', candidate USING ERRCODE = 'undefined_object',
            HINT = 'Models are rows of leadqual.models.';
    END IF;
    PERFORM FROM leadqual.models x WHERE x.model = into_model FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', into_model USING ERRCODE = 'undefined_object',
            HINT = 'Models are rows of leadqual.models.';
    END IF;
    PERFORM leadqual.promote_notice(into_model, leadqual.ruleset(candidate));
    -- the candidate's rows as they are (disabled rules too), in their order
    PERFORM leadqual.write_definition(into_model, m,
        ARRAY(SELECT r FROM leadqual.rules r WHERE r.model = candidate ORDER BY r.rule_id),
        ARRAY(SELECT c FROM leadqual.criterion_checks c WHERE c.model = candidate
               ORDER BY c.framework COLLATE "C", c.criterion COLLATE "C"),
        ARRAY(SELECT e FROM leadqual.event_rules e WHERE e.model = candidate
               ORDER BY e.event_type COLLATE "C"))
      FROM leadqual.models m WHERE m.model = candidate;
END $$;

-- Promotes version of model into model itself.
CREATE FUNCTION leadqual.rollback(model text, version integer)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF model IS NULL OR version IS NULL THEN
        RAISE EXCEPTION 'leadqual.rollback: arguments must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM leadqual.promote(leadqual.ruleset(model, version), model);
END $$;

-- Privileges: promoting, rolling back and copying models write the owner's config
-- tables, as the caller: delegate them by granting EXECUTE on the function (rollback
-- promotes a value: grant promote(leadqual.ruleset, text) with it) and INSERT, UPDATE,
-- DELETE on leadqual.models, rules, criterion_checks, event_rules (and USAGE on the rules'
-- sequence).  simulate, simulate_summary and ruleset(model, version) stay PUBLIC (they
-- read as the caller and change nothing), and so do require_config_write,
-- promote_notice and write_definition, which refuse whoever may not change models.
REVOKE EXECUTE ON FUNCTION
    leadqual.copy_model(text, text),
    leadqual.promote(leadqual.ruleset, text), leadqual.promote(text, text),
    leadqual.rollback(text, integer)
FROM PUBLIC;
