
-- The events trigger: an events insert or delete recomputes the engagement of each
-- affected lead once per statement and writes it to the model's engagement column,
-- so the lead trigger re-scores and re-stages the lead in the same transaction.

CREATE TABLE leadqual.event_attachments (
    events_table      regclass PRIMARY KEY,
    model             text NOT NULL REFERENCES leadqual.models ON UPDATE CASCADE,
    lead_column       name NOT NULL,
    type_column       name NOT NULL,
    time_column       name NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('leadqual.event_attachments', '');
GRANT SELECT ON leadqual.event_attachments TO PUBLIC;

-- Recomputes the engagement of the leads named by the statement's transition table.
-- Arguments: model, lead table, its key column, engagement column, events table,
-- lead column, type column, time column.
CREATE FUNCTION leadqual.events_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    model       text := TG_ARGV[0];
    lead_table  regclass := TG_ARGV[1]::oid::regclass;
    lead_key    name := TG_ARGV[2];
    eng_column  name := TG_ARGV[3];
    lead_column name := TG_ARGV[5];
    type_column name := TG_ARGV[6];
    time_column name := TG_ARGV[7];
BEGIN
    -- Lock the leads first, in key order (no deadlock between two event loads; NO KEY
    -- UPDATE does not conflict with the KEY SHARE an events foreign key takes), then
    -- compute in a new statement: its snapshot sees every event committed by a
    -- session that held a lock before us, so concurrent inserts lose nothing.
    EXECUTE format('SELECT 1 FROM %s l WHERE l.%I IN (SELECT e.%I FROM leadqual_events e) '
                   'ORDER BY l.%I FOR NO KEY UPDATE OF l',
                   lead_table, lead_key, lead_column, lead_key);
    EXECUTE format('UPDATE %1$s l SET %2$I = x.engagement '
                   'FROM (SELECT k.id, coalesce(leadqual.engagement(ev.%4$I, ev.%5$I, $1), 0) AS engagement '
                   '        FROM (SELECT DISTINCT e.%3$I AS id FROM leadqual_events e) k '
                   '        LEFT JOIN %6$s ev ON ev.%3$I = k.id '
                   '       GROUP BY k.id) x '
                   'WHERE l.%7$I = x.id AND l.%2$I IS DISTINCT FROM x.engagement',
                   lead_table, eng_column, lead_column, type_column, time_column,
                   TG_RELID::regclass, lead_key)
    USING model;
    RETURN NULL;
END $$;

CREATE FUNCTION leadqual.attach_events(events_table regclass, lead_column name,
                                       model text DEFAULT 'default',
                                       type_column name DEFAULT 'event_type',
                                       time_column name DEFAULT 'occurred_at')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
    lead_key name;
    typ text;
    args text;
BEGIN
    IF events_table IS NULL OR lead_column IS NULL OR model IS NULL OR type_column IS NULL
       OR time_column IS NULL THEN
        RAISE EXCEPTION 'leadqual.attach_events: arguments must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
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
    args := format('%L, %L, %L, %L, %L, %L, %L, %L', model, m.lead_table::oid, lead_key,
                   m.engagement_column, events_table::oid, lead_column, type_column, time_column);
    EXECUTE format('CREATE TRIGGER leadqual_events_insert AFTER INSERT ON %s '
                   'REFERENCING NEW TABLE AS leadqual_events FOR EACH STATEMENT '
                   'EXECUTE FUNCTION leadqual.events_trigger(%s)', events_table, args);
    EXECUTE format('CREATE TRIGGER leadqual_events_delete AFTER DELETE ON %s '
                   'REFERENCING OLD TABLE AS leadqual_events FOR EACH STATEMENT '
                   'EXECUTE FUNCTION leadqual.events_trigger(%s)', events_table, args);
END $$;

CREATE FUNCTION leadqual.detach_events(events_table regclass)
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
END $$;
