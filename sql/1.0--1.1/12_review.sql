
-- ---------------------------------------------------------------------------------------
-- Security review.  The DDL guard checked every model on any ALTER TYPE or ALTER DOMAIN
-- ("a type change may reach any lead table"), so one broken rule anywhere (a guard-off
-- migration, or a lead table owner's domain CHECK changed to refuse the rule's value)
-- refused every role's ALTER TYPE and ALTER DOMAIN in the database, and a slow domain
-- CHECK held them.  Now a type change checks the models whose lead table's row type is
-- built on a changed type: a column of that type, or of a domain, array, range,
-- multirange or row type built on it, at any depth.  The rest is as in 1.0.
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION leadqual.ddl_guard() RETURNS event_trigger
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
    -- block unrelated DDL
    IF tg_event = 'sql_drop' THEN
        SELECT array_agg(DISTINCT m.model) INTO affected
          FROM leadqual.models m JOIN pg_event_trigger_dropped_objects() d
            ON d.classid = 'pg_class'::regclass AND d.objid = m.lead_table::oid;
    ELSE
        SELECT array_agg(DISTINCT m.model) INTO affected
          FROM leadqual.models m JOIN pg_event_trigger_ddl_commands() c
            ON c.classid = 'pg_class'::regclass AND c.objid = m.lead_table::oid;
        IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands() c
                    WHERE c.classid = 'pg_type'::regclass
                       OR (c.classid = 'pg_class'::regclass
                           AND (SELECT r.relkind FROM pg_class r WHERE r.oid = c.objid) = 'c')) THEN
            WITH RECURSIVE built_on(base, type) AS (
                -- type is built on base: a domain, an array, the row type of a relation with
                -- such a column, a range, a multirange
                SELECT y.typbasetype, y.oid FROM pg_type y WHERE y.typbasetype <> 0
                UNION ALL
                SELECT y.typelem, y.oid FROM pg_type y WHERE y.typelem <> 0
                UNION ALL
                SELECT a.atttypid, r.reltype
                  FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid
                 WHERE a.attnum > 0 AND NOT a.attisdropped AND r.reltype <> 0
                UNION ALL
                SELECT g.rngsubtype, g.rngtypid FROM pg_range g
                UNION ALL
                SELECT g.rngtypid, g.rngmultitypid FROM pg_range g
            ), changed(type) AS (
                -- the types the command changed (a composite type's row type), and every
                -- type built on them
                SELECT CASE c.classid WHEN 'pg_type'::regclass THEN c.objid
                       ELSE (SELECT r.reltype FROM pg_class r WHERE r.oid = c.objid) END
                  FROM pg_event_trigger_ddl_commands() c
                 WHERE c.classid IN ('pg_type'::regclass, 'pg_class'::regclass)
                UNION
                SELECT b.type FROM changed x JOIN built_on b ON b.base = x.type
            )
            SELECT array_agg(DISTINCT u.model) INTO affected FROM (
                SELECT unnest(affected) AS model
                UNION
                SELECT m.model FROM leadqual.models m JOIN pg_class r ON r.oid = m.lead_table::oid
                 WHERE r.reltype IN (SELECT x.type FROM changed x)) u;
        END IF;
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
