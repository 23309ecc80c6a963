
-- ---------------------------------------------------------------------------------------
-- Attachments looked up at fire time (issue 9).  1.0's triggers carried the model, the
-- columns and, for events, OIDs as arguments: a restore (new OIDs) or a model rename made
-- them fail, and a trigger function trusted whatever arguments a table's owner wired it
-- with.  In 1.1 the triggers have no arguments; they read leadqual.attachments and
-- leadqual.event_attachments by the firing table, and refuse a table that attach or
-- attach_events did not set up.
-- ---------------------------------------------------------------------------------------

-- Attachments are configuration the triggers read through the rule cache: a change bumps
-- the rule-set generation like any rule change.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['attachments', 'event_attachments'] LOOP
        EXECUTE format('CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
                        ON leadqual.%I FOR EACH STATEMENT EXECUTE FUNCTION leadqual.config_changed()', t);
        EXECUTE format('ALTER TABLE leadqual.%I ENABLE ALWAYS TRIGGER config_changed', t);
    END LOOP;
END $$;

-- Who may attach: attach runs as the caller, who writes leadqual.attachments (the
-- extension owner's; by default only the owner and superusers may) and creates the
-- triggers (so needs to own the table, and EXECUTE on the trigger functions, which PUBLIC
-- no longer has).  Delegate by granting INSERT, DELETE ON leadqual.attachments and EXECUTE
-- ON FUNCTION leadqual.lead_trigger(), leadqual.history_trigger() to a role.
CREATE OR REPLACE FUNCTION leadqual.attach(lead_table regclass, model text DEFAULT 'default',
                                score_column name DEFAULT 'score',
                                stage_column name DEFAULT 'stage',
                                locked_column name DEFAULT 'stage_locked')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m_table regclass;
    key_col name;
    col record;
BEGIN
    IF lead_table IS NULL OR model IS NULL OR score_column IS NULL OR stage_column IS NULL
       OR locked_column IS NULL THEN
        RAISE EXCEPTION 'leadqual.attach: arguments must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT has_table_privilege('leadqual.attachments', 'INSERT')
       OR NOT has_function_privilege('leadqual.lead_trigger()', 'EXECUTE')
       OR NOT has_function_privilege('leadqual.history_trigger()', 'EXECUTE') THEN
        RAISE EXCEPTION 'permission denied to attach %', lead_table
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Attaching is for the extension''s owner, or a role granted INSERT, DELETE ON leadqual.attachments and EXECUTE ON FUNCTION leadqual.lead_trigger(), leadqual.history_trigger().';
    END IF;
    SELECT m.lead_table INTO m_table FROM leadqual.models m WHERE m.model = attach.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model USING ERRCODE = 'undefined_object',
            HINT = 'Models are rows of leadqual.models.';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = lead_table) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', lead_table USING ERRCODE = 'wrong_object_type';
    END IF;
    IF m_table <> lead_table THEN
        RAISE EXCEPTION 'model "%" scores %, not %', model, m_table, lead_table
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Attach the model''s own lead_table, or create a model for this table.';
    END IF;
    IF EXISTS (SELECT FROM leadqual.attachments a WHERE a.lead_table = attach.lead_table) THEN
        RAISE EXCEPTION '% is already attached', lead_table USING ERRCODE = 'duplicate_object',
            HINT = 'Run leadqual.detach first to attach it differently.';
    END IF;
    key_col := leadqual.primary_key_column(lead_table);
    IF key_col IS NULL THEN
        RAISE EXCEPTION 'table % has no single-column primary key', lead_table
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'Stage history identifies a lead by its primary key: add one (e.g. id bigint PRIMARY KEY).';
    END IF;
    IF score_column = stage_column OR score_column = locked_column OR stage_column = locked_column THEN
        RAISE EXCEPTION 'score, stage and locked columns must be three different columns'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod) AS typ INTO col
      FROM pg_attribute a WHERE a.attrelid = lead_table AND a.attname = score_column
       AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % has no score column "%"', lead_table, score_column
            USING ERRCODE = 'undefined_column',
                  HINT = format('ALTER TABLE %s ADD COLUMN %I double precision;', lead_table, score_column);
    ELSIF col.typ NOT IN ('double precision', 'real', 'numeric') THEN
        RAISE EXCEPTION 'score column "%" of % has type %, which cannot hold a score', score_column, lead_table, col.typ
            USING ERRCODE = 'datatype_mismatch', HINT = 'Use double precision.';
    END IF;

    SELECT a.atttypid, a.atthasdef, pg_catalog.format_type(a.atttypid, a.atttypmod) AS typ INTO col
      FROM pg_attribute a WHERE a.attrelid = lead_table AND a.attname = stage_column
       AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % has no stage column "%"', lead_table, stage_column
            USING ERRCODE = 'undefined_column',
                  HINT = format('ALTER TABLE %s ADD COLUMN %I leadqual.stage;', lead_table, stage_column);
    ELSIF col.atttypid <> 'leadqual.stage'::regtype AND col.typ NOT IN ('text', 'character varying') THEN
        RAISE EXCEPTION 'stage column "%" of % has type %, which cannot hold a stage', stage_column, lead_table, col.typ
            USING ERRCODE = 'datatype_mismatch', HINT = 'Use leadqual.stage (or text).';
    ELSIF col.atthasdef THEN
        RAISE EXCEPTION 'stage column "%" of % has a default', stage_column, lead_table
            USING ERRCODE = 'invalid_table_definition',
                  DETAIL = 'A stage supplied on INSERT is a person''s decision; a default would look like one.',
                  HINT = format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT;', lead_table, stage_column);
    END IF;

    SELECT a.atttypid INTO col
      FROM pg_attribute a WHERE a.attrelid = lead_table AND a.attname = locked_column
       AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND OR col.atttypid <> 'boolean'::regtype THEN
        RAISE EXCEPTION 'table % has no boolean column "%"', lead_table, locked_column
            USING ERRCODE = CASE WHEN FOUND THEN 'datatype_mismatch' ELSE 'undefined_column' END,
                  HINT = format('ALTER TABLE %s ADD COLUMN %I boolean NOT NULL DEFAULT false;', lead_table, locked_column);
    END IF;

    INSERT INTO leadqual.attachments VALUES (lead_table, model, score_column, stage_column, locked_column, key_col);
    -- no arguments: the triggers read this row at fire time
    EXECUTE format('CREATE TRIGGER leadqual_score BEFORE INSERT OR UPDATE ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION leadqual.lead_trigger()', lead_table);
    EXECUTE format('CREATE TRIGGER leadqual_history_insert AFTER INSERT ON %s '
                   'REFERENCING NEW TABLE AS leadqual_new FOR EACH STATEMENT '
                   'EXECUTE FUNCTION leadqual.history_trigger()', lead_table);
    EXECUTE format('CREATE TRIGGER leadqual_history_update AFTER UPDATE ON %s '
                   'REFERENCING OLD TABLE AS leadqual_old NEW TABLE AS leadqual_new FOR EACH STATEMENT '
                   'EXECUTE FUNCTION leadqual.history_trigger()', lead_table);
END $$;

-- The events trigger: its attachment (model, lead table, key, engagement column, the
-- events table's columns) read by the firing table at fire time.  Runs as the user
-- writing the events, like the UPDATE of the lead table it makes.
CREATE OR REPLACE FUNCTION leadqual.events_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a record;
BEGIN
    SELECT e.model, m.lead_table, leadqual.primary_key_column(m.lead_table) AS lead_key,
           m.engagement_column, e.lead_column, e.type_column, e.time_column
      INTO a
      FROM leadqual.event_attachments e
      JOIN leadqual.models m ON m.model OPERATOR(pg_catalog.=) e.model
     WHERE e.events_table::oid OPERATOR(pg_catalog.=) TG_RELID;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not attached to a leadqual model as an events table', TG_RELID::regclass
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'leadqual.events_trigger() runs only on tables that leadqual.attach_events set up (leadqual.event_attachments).',
                  HINT = 'Drop this trigger; to take engagement from the table, run leadqual.attach_events on it.';
    END IF;
    IF a.engagement_column IS NULL OR a.lead_key IS NULL THEN
        -- the model no longer keeps engagement, or its table lost its key: nothing to write
        RETURN NULL;
    END IF;
    -- Lock the leads first, in key order (no deadlock between two event loads; NO KEY
    -- UPDATE does not conflict with the KEY SHARE an events foreign key takes), then
    -- compute in a new statement: its snapshot sees every event committed by a
    -- session that held a lock before us, so concurrent inserts lose nothing.
    EXECUTE format('SELECT 1 FROM %s l WHERE l.%I IN (SELECT e.%I FROM leadqual_events e) '
                   'ORDER BY l.%I FOR NO KEY UPDATE OF l',
                   a.lead_table, a.lead_key, a.lead_column, a.lead_key);
    EXECUTE format('UPDATE %1$s l SET %2$I = x.engagement '
                   'FROM (SELECT k.id, coalesce(leadqual.engagement(ev.%4$I, ev.%5$I, $1), 0) AS engagement '
                   '        FROM (SELECT DISTINCT e.%3$I AS id FROM leadqual_events e) k '
                   '        LEFT JOIN %6$s ev ON ev.%3$I = k.id '
                   '       GROUP BY k.id) x '
                   'WHERE l.%7$I = x.id AND l.%2$I IS DISTINCT FROM x.engagement',
                   a.lead_table, a.engagement_column, a.lead_column, a.type_column, a.time_column,
                   TG_RELID::regclass, a.lead_key)
    USING a.model;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION leadqual.attach_events(events_table regclass, lead_column name,
                                       model text DEFAULT 'default',
                                       type_column name DEFAULT 'event_type',
                                       time_column name DEFAULT 'occurred_at')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
    lead_key name;
    typ text;
BEGIN
    IF events_table IS NULL OR lead_column IS NULL OR model IS NULL OR type_column IS NULL
       OR time_column IS NULL THEN
        RAISE EXCEPTION 'leadqual.attach_events: arguments must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT has_table_privilege('leadqual.event_attachments', 'INSERT')
       OR NOT has_function_privilege('leadqual.events_trigger()', 'EXECUTE') THEN
        RAISE EXCEPTION 'permission denied to attach events table %', events_table
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Attaching is for the extension''s owner, or a role granted INSERT, DELETE ON leadqual.event_attachments and EXECUTE ON FUNCTION leadqual.events_trigger().';
    END IF;
    SELECT x.lead_table, x.engagement_column INTO m FROM leadqual.models x WHERE x.model = attach_events.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model USING ERRCODE = 'undefined_object';
    END IF;
    IF m.engagement_column IS NULL THEN
        RAISE EXCEPTION 'model "%" has no engagement_column', model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('ALTER TABLE %s ADD COLUMN engagement double precision NOT NULL DEFAULT 0; '
                                'UPDATE leadqual.models SET engagement_column = ''engagement'' WHERE model = %L;',
                                m.lead_table, model);
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = events_table) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', events_table USING ERRCODE = 'wrong_object_type';
    END IF;
    IF EXISTS (SELECT FROM leadqual.event_attachments a WHERE a.events_table = attach_events.events_table) THEN
        RAISE EXCEPTION '% is already attached', events_table USING ERRCODE = 'duplicate_object',
            HINT = 'Run leadqual.detach_events first.';
    END IF;
    IF EXISTS (SELECT FROM leadqual.event_attachments a WHERE a.model = attach_events.model) THEN
        RAISE EXCEPTION 'model "%" already takes its engagement from %', model,
            (SELECT a.events_table FROM leadqual.event_attachments a WHERE a.model = attach_events.model)
            USING ERRCODE = 'duplicate_object',
                  HINT = 'A model has one events table: load all event kinds into it.';
    END IF;
    lead_key := leadqual.primary_key_column(m.lead_table);
    IF lead_key IS NULL THEN
        RAISE EXCEPTION 'lead table % has no single-column primary key', m.lead_table
            USING ERRCODE = 'invalid_table_definition';
    END IF;

    SELECT pg_catalog.format_type(a.atttypid, NULL) INTO typ FROM pg_attribute a
     WHERE a.attrelid = events_table AND a.attname = lead_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF typ IS NULL THEN
        RAISE EXCEPTION 'events table % has no column "%"', events_table, lead_column
            USING ERRCODE = 'undefined_column';
    ELSIF typ <> (SELECT pg_catalog.format_type(a.atttypid, NULL) FROM pg_attribute a
                   WHERE a.attrelid = m.lead_table AND a.attname = lead_key) THEN
        RAISE EXCEPTION 'column "%" of % has type %, but the key "%" of % does not', lead_column, events_table, typ, lead_key, m.lead_table
            USING ERRCODE = 'datatype_mismatch', HINT = 'Give the events'' lead column the type of the lead table''s primary key.';
    ELSIF (SELECT t.typarray FROM pg_attribute a JOIN pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
            WHERE a.attrelid = events_table AND a.attname = lead_column) OPERATOR(pg_catalog.=) 0 THEN
        -- the trigger passes a statement's keys to its queries as an array of them
        RAISE EXCEPTION 'column "%" of % has type %, which has no array type', lead_column, events_table, typ
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Key the leads by a scalar column (an array or other type without an array type cannot be).';
    END IF;
    SELECT pg_catalog.format_type(a.atttypid, NULL) INTO typ FROM pg_attribute a
     WHERE a.attrelid = events_table AND a.attname = type_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF typ IS NULL OR typ NOT IN ('text', 'character varying') THEN
        RAISE EXCEPTION 'events table % has no text column "%"', events_table, type_column
            USING ERRCODE = CASE WHEN typ IS NULL THEN 'undefined_column' ELSE 'datatype_mismatch' END;
    END IF;
    SELECT pg_catalog.format_type(a.atttypid, NULL) INTO typ FROM pg_attribute a
     WHERE a.attrelid = events_table AND a.attname = time_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF typ IS NULL OR typ <> 'timestamp with time zone' THEN
        RAISE EXCEPTION 'events table % has no timestamptz column "%"', events_table, time_column
            USING ERRCODE = CASE WHEN typ IS NULL THEN 'undefined_column' ELSE 'datatype_mismatch' END;
    END IF;

    INSERT INTO leadqual.event_attachments VALUES (events_table, model, lead_column, type_column, time_column);
    -- no arguments: the trigger reads this row at fire time
    EXECUTE format('CREATE TRIGGER leadqual_events_insert AFTER INSERT ON %s '
                   'REFERENCING NEW TABLE AS leadqual_events FOR EACH STATEMENT '
                   'EXECUTE FUNCTION leadqual.events_trigger()', events_table);
    EXECUTE format('CREATE TRIGGER leadqual_events_delete AFTER DELETE ON %s '
                   'REFERENCING OLD TABLE AS leadqual_events FOR EACH STATEMENT '
                   'EXECUTE FUNCTION leadqual.events_trigger()', events_table);
    EXECUTE format('CREATE TRIGGER leadqual_events_update AFTER UPDATE ON %s '
                   'REFERENCING OLD TABLE AS leadqual_events_old NEW TABLE AS leadqual_events '
                   'FOR EACH STATEMENT EXECUTE FUNCTION leadqual.events_trigger()', events_table);
END $$;

CREATE OR REPLACE FUNCTION leadqual.detach_events(events_table regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF events_table IS NULL THEN
        RAISE EXCEPTION 'leadqual.detach_events: events_table must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM leadqual.event_attachments a WHERE a.events_table = detach_events.events_table;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not attached', events_table USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('DROP TRIGGER IF EXISTS leadqual_events_insert ON %s', events_table);
    EXECUTE format('DROP TRIGGER IF EXISTS leadqual_events_delete ON %s', events_table);
    EXECUTE format('DROP TRIGGER IF EXISTS leadqual_events_update ON %s', events_table);
END $$;

-- Upgrade: the triggers 1.0's attach and attach_events made (with arguments) are made
-- again the 1.1 way, each one that exists, keeping whether it was enabled.  On a fresh
-- install the attachment tables are empty and this does nothing.
DO $$
DECLARE
    a record;
    t record;
    make text;
BEGIN
    FOR a IN SELECT x.lead_table AS rel, 'lead' AS kind FROM leadqual.attachments x
             UNION ALL
             SELECT x.events_table, 'events' FROM leadqual.event_attachments x LOOP
        FOR t IN SELECT tg.tgname, tg.tgenabled FROM pg_catalog.pg_trigger tg
                  WHERE tg.tgrelid OPERATOR(pg_catalog.=) a.rel AND tg.tgparentid OPERATOR(pg_catalog.=) 0
                    AND tg.tgname OPERATOR(pg_catalog.=) ANY (CASE a.kind
                        WHEN 'lead' THEN '{leadqual_score,leadqual_history_insert,leadqual_history_update}'::name[]
                        ELSE '{leadqual_events_insert,leadqual_events_delete}'::name[] END)
                  ORDER BY tg.tgname LOOP
            make := CASE t.tgname
                WHEN 'leadqual_score' THEN 'BEFORE INSERT OR UPDATE ON %s FOR EACH ROW '
                                           'EXECUTE FUNCTION leadqual.lead_trigger()'
                WHEN 'leadqual_history_insert' THEN 'AFTER INSERT ON %s '
                                           'REFERENCING NEW TABLE AS leadqual_new FOR EACH STATEMENT '
                                           'EXECUTE FUNCTION leadqual.history_trigger()'
                WHEN 'leadqual_history_update' THEN 'AFTER UPDATE ON %s '
                                           'REFERENCING OLD TABLE AS leadqual_old NEW TABLE AS leadqual_new FOR EACH STATEMENT '
                                           'EXECUTE FUNCTION leadqual.history_trigger()'
                WHEN 'leadqual_events_insert' THEN 'AFTER INSERT ON %s '
                                           'REFERENCING NEW TABLE AS leadqual_events FOR EACH STATEMENT '
                                           'EXECUTE FUNCTION leadqual.events_trigger()'
                ELSE 'AFTER DELETE ON %s '
                     'REFERENCING OLD TABLE AS leadqual_events FOR EACH STATEMENT '
                     'EXECUTE FUNCTION leadqual.events_trigger()' END;
            EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, a.rel);
            EXECUTE format('CREATE TRIGGER %I ' || make, t.tgname, a.rel);
            IF t.tgenabled OPERATOR(pg_catalog.<>) 'O' THEN
                EXECUTE format('ALTER TABLE %s %s TRIGGER %I', a.rel,
                               CASE t.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA'
                                                ELSE 'ENABLE ALWAYS' END, t.tgname);
            END IF;
        END LOOP;
    END LOOP;
    -- 1.1 follows UPDATEs of events too: the trigger 1.0's attach_events did not make,
    -- enabled as the table's insert trigger is
    FOR a IN SELECT x.events_table AS rel,
                    (SELECT tg.tgenabled FROM pg_catalog.pg_trigger tg
                      WHERE tg.tgrelid OPERATOR(pg_catalog.=) x.events_table
                        AND tg.tgname OPERATOR(pg_catalog.=) 'leadqual_events_insert') AS enabled
               FROM leadqual.event_attachments x
              WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_trigger tg
                                 WHERE tg.tgrelid OPERATOR(pg_catalog.=) x.events_table
                                   AND tg.tgname OPERATOR(pg_catalog.=) 'leadqual_events_update') LOOP
        EXECUTE format('CREATE TRIGGER leadqual_events_update AFTER UPDATE ON %s '
                       'REFERENCING OLD TABLE AS leadqual_events_old NEW TABLE AS leadqual_events '
                       'FOR EACH STATEMENT EXECUTE FUNCTION leadqual.events_trigger()', a.rel);
        IF a.enabled IS NOT NULL AND a.enabled OPERATOR(pg_catalog.<>) 'O' THEN
            EXECUTE format('ALTER TABLE %s %s TRIGGER leadqual_events_update', a.rel,
                           CASE a.enabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA'
                                          ELSE 'ENABLE ALWAYS' END);
        END IF;
    END LOOP;
END $$;
