
-- Lifecycle: triggers that keep score and stage current, stage history, rescoring.

-- Which tables are attached, and how (user data: dumped).
CREATE TABLE leadqual.attachments (
    lead_table    regclass PRIMARY KEY,
    model         text NOT NULL REFERENCES leadqual.models ON UPDATE CASCADE,
    score_column  name NOT NULL,
    stage_column  name NOT NULL,
    locked_column name NOT NULL,
    key_column    name NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('leadqual.attachments', '');
GRANT SELECT ON leadqual.attachments TO PUBLIC;

CREATE FUNCTION leadqual.lead_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'leadqual_lead_trigger' LANGUAGE C;
CREATE FUNCTION leadqual.history_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'leadqual_history_trigger' LANGUAGE C;

-- Deleting a model that a table is attached to is refused with a clear message.
CREATE FUNCTION leadqual.protect_attached_model() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE t text;
BEGIN
    SELECT string_agg(a.lead_table::text, ', ') INTO t
      FROM leadqual.attachments a WHERE a.model = OLD.model;
    IF t IS NOT NULL THEN
        RAISE EXCEPTION 'model "%" is attached to %', OLD.model, t
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Run leadqual.detach on those tables first.';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER protect_attached_model BEFORE DELETE ON leadqual.models
    FOR EACH ROW EXECUTE FUNCTION leadqual.protect_attached_model();

-- The single-column primary key that stage history and events identify a lead by (or NULL).
CREATE FUNCTION leadqual.primary_key_column(rel regclass) RETURNS name
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.attname
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE i.indrelid = rel AND i.indisprimary AND i.indnkeyatts = 1
$$;

CREATE FUNCTION leadqual.attach(lead_table regclass, model text DEFAULT 'default',
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
    EXECUTE format('CREATE TRIGGER leadqual_score BEFORE INSERT OR UPDATE ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION leadqual.lead_trigger(%L, %L, %L, %L, %L)',
                   lead_table, model, score_column, stage_column, locked_column, key_col);
    EXECUTE format('CREATE TRIGGER leadqual_history_insert AFTER INSERT ON %s '
                   'REFERENCING NEW TABLE AS leadqual_new FOR EACH STATEMENT '
                   'EXECUTE FUNCTION leadqual.history_trigger(%L, %L, %L, %L, %L)',
                   lead_table, model, score_column, stage_column, locked_column, key_col);
    EXECUTE format('CREATE TRIGGER leadqual_history_update AFTER UPDATE ON %s '
                   'REFERENCING OLD TABLE AS leadqual_old NEW TABLE AS leadqual_new FOR EACH STATEMENT '
                   'EXECUTE FUNCTION leadqual.history_trigger(%L, %L, %L, %L, %L)',
                   lead_table, model, score_column, stage_column, locked_column, key_col);
END $$;

CREATE FUNCTION leadqual.detach(lead_table regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF lead_table IS NULL THEN
        RAISE EXCEPTION 'leadqual.detach: lead_table must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM leadqual.attachments a WHERE a.lead_table = detach.lead_table;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not attached', lead_table USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('DROP TRIGGER IF EXISTS leadqual_score ON %s', lead_table);
    EXECUTE format('DROP TRIGGER IF EXISTS leadqual_history_insert ON %s', lead_table);
    EXECUTE format('DROP TRIGGER IF EXISTS leadqual_history_update ON %s', lead_table);
END $$;

-- GDPR: erase a lead's history.
CREATE FUNCTION leadqual.forget(lead_table regclass, lead_id text)
RETURNS bigint LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    WITH d AS (DELETE FROM leadqual.stage_history h
                WHERE h.lead_table = forget.lead_table AND h.lead_id = forget.lead_id RETURNING 1)
    SELECT count(*) FROM d
$$;

-- score_type: the score column's type; a real or numeric column holds the score rounded
CREATE FUNCTION leadqual.rescore_needed(lead record, model text, score float8, stage text,
                                        locked boolean, score_type regtype)
    RETURNS boolean AS 'MODULE_PATHNAME', 'leadqual_rescore_needed'
    LANGUAGE C STABLE PARALLEL SAFE;

-- Commits per batch, so it cannot carry SET search_path: it qualifies every name instead.
CREATE PROCEDURE leadqual.rescore(lead_table regclass, batch_size int DEFAULT 10000)
    AS 'MODULE_PATHNAME', 'leadqual_rescore' LANGUAGE C;
