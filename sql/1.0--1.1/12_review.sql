
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

-- ---------------------------------------------------------------------------------------
-- funnel matched a lead to its history by the key cast to text, while the history trigger
-- records the key's output text: for keys whose cast differs (inet's text cast adds the
-- netmask, boolean's spells true, char(n)'s drops the padding, a type with a cast of its
-- owner's) no lead matched its history, and the key type owner's cast ran as whoever
-- called funnel.  The key is now written by its output function, as the history has it.
-- The rest is as in 1.0.
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION leadqual.funnel(lead_table regclass, segment_column name DEFAULT NULL)
RETURNS TABLE (
    segment                text,
    leads                  bigint,
    reached_mql            bigint,
    reached_sql            bigint,
    won                    bigint,
    lost                   bigint,
    disqualified           bigint,
    mql_rate               float8,
    mql_to_sql_rate        float8,
    sql_to_won_rate        float8,
    median_days_to_mql     float8,
    median_days_mql_to_sql float8
)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $funnel$
DECLARE
    pk_column name;
    seg_expr  text;
    seg_group text;
BEGIN
    IF lead_table IS NULL THEN
        RAISE EXCEPTION 'lead_table must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;

    -- a clear error rather than one that quotes the whole query
    IF NOT pg_catalog.has_table_privilege('leadqual.stage_history', 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table leadqual.stage_history'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'The stage history is read as the calling role; its owner can GRANT SELECT ON leadqual.stage_history TO the analysts'' role.';
    END IF;

    -- stage_history.lead_id is the key's output text (format's %s below, never a cast)
    pk_column := leadqual.primary_key_column(lead_table);
    IF pk_column IS NULL THEN
        RAISE EXCEPTION 'relation % has no single-column primary key', lead_table
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Give the table a single-column primary key: stage_history identifies leads by its value.';
    END IF;

    IF segment_column IS NULL THEN
        seg_expr := 'NULL::text';
        seg_group := '';
    ELSE
        PERFORM FROM pg_catalog.pg_attribute a
         WHERE a.attrelid OPERATOR(pg_catalog.=) lead_table
           AND a.attname OPERATOR(pg_catalog.=) segment_column
           AND a.attnum OPERATOR(pg_catalog.>) 0
           AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', segment_column, lead_table
                USING ERRCODE = 'undefined_column';
        END IF;
        seg_expr := pg_catalog.format('(l.%I)::text', segment_column);
        seg_group := pg_catalog.format('GROUP BY l.%I ORDER BY l.%I NULLS LAST',
                                       segment_column, segment_column);
    END IF;

    -- One pass over the table's history: per lead its first row, first time at mql or
    -- beyond (sql, won), first time at sql or beyond (won), and its latest stage.
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH h AS (
            SELECT sh.lead_id,
                   pg_catalog.min(sh.changed_at) AS first_at,
                   pg_catalog.min(sh.changed_at) FILTER (WHERE sh.new_stage
                       OPERATOR(pg_catalog.=) ANY ('{mql,sql,won}'::leadqual.stage[])) AS mql_at,
                   pg_catalog.min(sh.changed_at) FILTER (WHERE sh.new_stage
                       OPERATOR(pg_catalog.=) ANY ('{sql,won}'::leadqual.stage[])) AS sql_at,
                   (pg_catalog.array_agg(sh.new_stage
                       ORDER BY sh.changed_at DESC, sh.id DESC))[1] AS current_stage
              FROM leadqual.stage_history sh
             WHERE sh.lead_table OPERATOR(pg_catalog.=) $1
             GROUP BY sh.lead_id
        ), f AS (
            SELECT %s AS segment,
                   pg_catalog.count(*) AS leads,
                   pg_catalog.count(h.mql_at) AS reached_mql,
                   pg_catalog.count(h.sql_at) AS reached_sql,
                   pg_catalog.count(*) FILTER (WHERE h.current_stage
                       OPERATOR(pg_catalog.=) 'won'::leadqual.stage) AS won,
                   pg_catalog.count(*) FILTER (WHERE h.current_stage
                       OPERATOR(pg_catalog.=) 'lost'::leadqual.stage) AS lost,
                   pg_catalog.count(*) FILTER (WHERE h.current_stage
                       OPERATOR(pg_catalog.=) 'disqualified'::leadqual.stage) AS disqualified,
                   pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY
                       (pg_catalog.date_part('epoch', h.mql_at)
                        OPERATOR(pg_catalog.-) pg_catalog.date_part('epoch', h.first_at))
                       OPERATOR(pg_catalog./) 86400) AS median_days_to_mql,
                   pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY
                       (pg_catalog.date_part('epoch', h.sql_at)
                        OPERATOR(pg_catalog.-) pg_catalog.date_part('epoch', h.mql_at))
                       OPERATOR(pg_catalog./) 86400) AS median_days_mql_to_sql
              FROM %s l
              LEFT JOIN h ON h.lead_id OPERATOR(pg_catalog.=) pg_catalog.format('%%s', l.%I)
             %s
        )
        SELECT f.segment, f.leads, f.reached_mql, f.reached_sql, f.won, f.lost, f.disqualified,
               f.reached_mql::float8 OPERATOR(pg_catalog./) NULLIF(f.leads, 0),
               f.reached_sql::float8 OPERATOR(pg_catalog./) NULLIF(f.reached_mql, 0),
               f.won::float8 OPERATOR(pg_catalog./) NULLIF(f.reached_sql, 0),
               f.median_days_to_mql, f.median_days_mql_to_sql
          FROM f
    $q$, seg_expr, lead_table, pk_column, seg_group)
    USING lead_table;
END
$funnel$;


-- ---------------------------------------------------------------------------------------
-- Delegated attaching (README: grant INSERT, DELETE on the attachment tables and EXECUTE
-- on the trigger functions) let the delegate write any row: re-point an attached table of
-- another owner at other columns (the lead trigger then overwrote them, as whoever wrote
-- the leads) or delete its row (every lead insert into it then failed).  A row of
-- leadqual.attachments or leadqual.event_attachments may now be written only by a role
-- with the privileges of its table's owner, as CREATE and DROP TRIGGER need (superusers,
-- and the foreign keys' cascades from leadqual.models, run as the extension's owner, pass).
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION leadqual.attachment_owner_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rels oid[] := '{}';
    rel oid;
    owner oid;
BEGIN
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'attachments' THEN
        IF TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN rels := rels || OLD.lead_table::oid; END IF;
        IF TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN rels := rels || NEW.lead_table::oid; END IF;
    ELSE
        IF TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN rels := rels || OLD.events_table::oid; END IF;
        IF TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN rels := rels || NEW.events_table::oid; END IF;
    END IF;
    FOREACH rel IN ARRAY rels LOOP
        SELECT c.relowner INTO owner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) rel;
        -- a table dropped since: nobody's to protect
        IF FOUND AND NOT pg_catalog.pg_has_role(owner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of table % to change its leadqual attachment', rel::pg_catalog.regclass
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Attaching and detaching a table is for its owner, as creating and dropping its triggers is.';
        END IF;
    END LOOP;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
REVOKE EXECUTE ON FUNCTION leadqual.attachment_owner_check() FROM PUBLIC;
CREATE TRIGGER attachment_owner_check BEFORE INSERT OR UPDATE OR DELETE ON leadqual.attachments
    FOR EACH ROW EXECUTE FUNCTION leadqual.attachment_owner_check();
CREATE TRIGGER attachment_owner_check BEFORE INSERT OR UPDATE OR DELETE ON leadqual.event_attachments
    FOR EACH ROW EXECUTE FUNCTION leadqual.attachment_owner_check();
