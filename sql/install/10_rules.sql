
-- Rule engine: validation of config rows, cache invalidation, the DDL guard and the
-- scoring functions.

CREATE TYPE leadqual.qualification AS (
    framework text,
    met       int,
    total     int,
    qualified boolean,
    missing   text[]
);

-- Validation when rows are written (rule validation in SPEC.md).
CREATE FUNCTION leadqual.validate_rule() RETURNS trigger
    AS 'MODULE_PATHNAME', 'leadqual_validate_rule' LANGUAGE C;
CREATE FUNCTION leadqual.validate_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'leadqual_validate_check' LANGUAGE C;
CREATE FUNCTION leadqual.validate_model() RETURNS trigger
    AS 'MODULE_PATHNAME', 'leadqual_validate_model' LANGUAGE C;

CREATE TRIGGER validate_rule BEFORE INSERT OR UPDATE ON leadqual.rules
    FOR EACH ROW EXECUTE FUNCTION leadqual.validate_rule();
CREATE TRIGGER validate_check BEFORE INSERT OR UPDATE ON leadqual.criterion_checks
    FOR EACH ROW EXECUTE FUNCTION leadqual.validate_check();
CREATE TRIGGER validate_model BEFORE INSERT OR UPDATE ON leadqual.models
    FOR EACH ROW EXECUTE FUNCTION leadqual.validate_model();

-- A new lead table or engagement column re-validates what depends on the model:
-- rewriting the rows runs their validation trigger.
CREATE FUNCTION leadqual.revalidate_model() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.lead_table IS DISTINCT FROM OLD.lead_table
       OR NEW.engagement_column IS DISTINCT FROM OLD.engagement_column THEN
        UPDATE leadqual.rules SET value = value WHERE model = NEW.model AND enabled;
        UPDATE leadqual.criterion_checks SET value = value WHERE model = NEW.model;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER revalidate_model AFTER UPDATE ON leadqual.models
    FOR EACH ROW EXECUTE FUNCTION leadqual.revalidate_model();

-- Shipped frameworks and criteria are read-only (they come back with CREATE EXTENSION).
CREATE FUNCTION leadqual.protect_builtin() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (TG_OP IN ('UPDATE', 'DELETE') AND OLD.builtin)
       OR (TG_OP IN ('INSERT', 'UPDATE') AND NEW.builtin) THEN
        RAISE EXCEPTION 'the shipped % rows are read-only', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Add your own framework or criterion instead (builtin = false).';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER protect_builtin BEFORE INSERT OR UPDATE OR DELETE ON leadqual.frameworks
    FOR EACH ROW EXECUTE FUNCTION leadqual.protect_builtin();
CREATE TRIGGER protect_builtin BEFORE INSERT OR UPDATE OR DELETE ON leadqual.criteria
    FOR EACH ROW EXECUTE FUNCTION leadqual.protect_builtin();

-- Every change to the configuration bumps the rule-set generation.
CREATE FUNCTION leadqual.config_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'leadqual_config_changed' LANGUAGE C;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['models', 'rules', 'frameworks', 'criteria',
                             'criterion_checks', 'event_rules'] LOOP
        EXECUTE format('CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
                        ON leadqual.%I FOR EACH STATEMENT EXECUTE FUNCTION leadqual.config_changed()', t);
        -- logical replication applies rows in the replica role: fire there too
        EXECUTE format('ALTER TABLE leadqual.%I ENABLE ALWAYS TRIGGER config_changed', t);
    END LOOP;
END $$;

-- What cannot be evaluated now (enabled rules and checks, models' engagement columns).
CREATE FUNCTION leadqual.check_predicate(model text, label text, attribute text, op text, value text)
    RETURNS text AS 'MODULE_PATHNAME', 'leadqual_check_predicate' LANGUAGE C STABLE;

CREATE FUNCTION leadqual.find_rule_problems(models text[] DEFAULT NULL)
RETURNS TABLE (model text, kind text, rule_id bigint, name text, attribute text,
               problem text, sqlstate text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT x.model, x.rule_id, x.name, x.attribute, x.op, x.value
               FROM leadqual.rules x
              WHERE x.enabled AND (models IS NULL OR x.model = ANY (models))
              ORDER BY x.model, x.rule_id LOOP
        BEGIN
            PERFORM leadqual.check_predicate(r.model, format('rule %I of model %I', r.name, r.model),
                                             r.attribute, r.op, r.value);
        EXCEPTION WHEN OTHERS THEN
            model := r.model; kind := 'rule'; rule_id := r.rule_id; name := r.name;
            attribute := r.attribute; problem := SQLERRM;
            find_rule_problems.sqlstate := SQLSTATE;  -- the OUT column, not the handler's constant
            RETURN NEXT;
        END;
    END LOOP;
    FOR r IN SELECT x.model, x.framework, x.criterion, x.attribute, x.op, x.value
               FROM leadqual.criterion_checks x
              WHERE models IS NULL OR x.model = ANY (models) ORDER BY 1, 2, 3 LOOP
        BEGIN
            PERFORM leadqual.check_predicate(r.model, format('criterion check %s.%s', r.framework, r.criterion),
                                             r.attribute, r.op, r.value);
        EXCEPTION WHEN OTHERS THEN
            model := r.model; kind := 'criterion check'; rule_id := NULL;
            name := r.framework || '.' || r.criterion;
            attribute := r.attribute; problem := SQLERRM;
            find_rule_problems.sqlstate := SQLSTATE;  -- the OUT column, not the handler's constant
            RETURN NEXT;
        END;
    END LOOP;
    FOR r IN SELECT m.model, m.lead_table::oid AS relid, m.engagement_column
               FROM leadqual.models m
              WHERE models IS NULL OR m.model = ANY (models) ORDER BY 1 LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = r.relid) THEN
            model := r.model; kind := 'model'; rule_id := NULL; name := r.model;
            attribute := NULL; problem := 'lead table does not exist'; sqlstate := '42P01';
            RETURN NEXT;
        ELSIF r.engagement_column IS NOT NULL AND NOT EXISTS (
                SELECT FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = r.relid AND a.attname = r.engagement_column
                   AND NOT a.attisdropped) THEN
            model := r.model; kind := 'model'; rule_id := NULL; name := r.model;
            attribute := r.engagement_column; problem := 'engagement column does not exist';
            sqlstate := '42703';
            RETURN NEXT;
        END IF;
    END LOOP;
END $$;

CREATE VIEW leadqual.rule_problems AS SELECT * FROM leadqual.find_rule_problems(NULL);
GRANT SELECT ON leadqual.rule_problems TO PUBLIC;

CREATE FUNCTION leadqual.ddl_guard_enabled() RETURNS boolean
    AS 'MODULE_PATHNAME', 'leadqual_ddl_guard_enabled' LANGUAGE C STABLE PARALLEL SAFE;

-- The DDL guard: DDL that would break an enabled rule is refused, naming the rules.
CREATE FUNCTION leadqual.ddl_guard() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    broken text;
    affected text[];
BEGIN
    -- the extension itself is being dropped
    IF to_regclass('leadqual.rules') IS NULL OR to_regprocedure('leadqual.find_rule_problems(text[])') IS NULL
       OR to_regprocedure('leadqual.ddl_guard_enabled()') IS NULL THEN
        RETURN;
    END IF;
    IF NOT leadqual.ddl_guard_enabled() THEN
        RETURN;
    END IF;
    -- only the models this command touches: a rule broken earlier (guard off) must not
    -- block unrelated DDL.  A type or domain change may reach any lead table.
    IF tg_event = 'sql_drop' THEN
        SELECT array_agg(DISTINCT m.model) INTO affected
          FROM leadqual.models m JOIN pg_event_trigger_dropped_objects() d
            ON d.classid = 'pg_class'::regclass AND d.objid = m.lead_table::oid;
    ELSE
        SELECT array_agg(DISTINCT m.model) INTO affected
          FROM leadqual.models m JOIN pg_event_trigger_ddl_commands() c
            ON (c.classid = 'pg_class'::regclass AND c.objid = m.lead_table::oid)
            OR c.classid = 'pg_type'::regclass;
    END IF;
    IF affected IS NULL THEN
        RETURN;
    END IF;
    SELECT string_agg(CASE p.kind WHEN 'model' THEN format('model "%s" (%s)', p.model, p.problem)
                      ELSE format('%s "%s" of model "%s" (%s)', p.kind, p.name, p.model, p.problem) END,
                      '; ')
      INTO broken FROM leadqual.find_rule_problems(affected) p;
    IF broken IS NOT NULL THEN
        RAISE EXCEPTION 'leadqual: % would break scoring: %', tg_tag, broken
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Change or disable those rules first (UPDATE leadqual.rules SET enabled = false ...), or SET leadqual.ddl_guard = off as a superuser for a deliberate migration.';
    END IF;
END $$;

CREATE EVENT TRIGGER leadqual_ddl_guard ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'ALTER VIEW', 'ALTER TYPE', 'ALTER DOMAIN',
                 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE',
                 'CREATE VIEW')
    EXECUTE FUNCTION leadqual.ddl_guard();
CREATE EVENT TRIGGER leadqual_drop_guard ON sql_drop
    EXECUTE FUNCTION leadqual.ddl_guard();

-- Scoring (STABLE, PARALLEL SAFE; the rules are read by the extension itself).
CREATE FUNCTION leadqual.score(lead record, model text DEFAULT 'default')
    RETURNS float8 AS 'MODULE_PATHNAME', 'leadqual_score'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION leadqual.explain(lead record, model text DEFAULT 'default')
    RETURNS TABLE (rule_id bigint, name text, category text, points float8, knockout boolean)
    AS 'MODULE_PATHNAME', 'leadqual_explain'
    LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 5;

CREATE FUNCTION leadqual.classify(lead record, model text DEFAULT 'default')
    RETURNS leadqual.stage AS 'MODULE_PATHNAME', 'leadqual_classify'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION leadqual.qualify(lead record, model text DEFAULT 'default', framework text DEFAULT NULL)
    RETURNS leadqual.qualification AS 'MODULE_PATHNAME', 'leadqual_qualify'
    LANGUAGE C STABLE PARALLEL SAFE;
