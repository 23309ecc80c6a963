
-- ---------------------------------------------------------------------------------------
-- Analytics: score_quality (conversion rate and exact ROC AUC) and funnel.
-- ---------------------------------------------------------------------------------------

CREATE TYPE leadqual.quality AS (
    leads           bigint,
    conversions     bigint,
    conversion_rate float8,
    auc             float8
);

-- The aggregate's state: (score -> converted, not converted) counts, with text and binary
-- I/O so that partial states can travel (parallel workers, Citus).
CREATE TYPE leadqual.quality_state;

CREATE FUNCTION leadqual.quality_state_in(cstring) RETURNS leadqual.quality_state
    AS 'MODULE_PATHNAME', 'quality_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.quality_state_out(leadqual.quality_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'quality_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.quality_state_recv(internal) RETURNS leadqual.quality_state
    AS 'MODULE_PATHNAME', 'quality_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.quality_state_send(leadqual.quality_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'quality_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE leadqual.quality_state (
    INPUT = leadqual.quality_state_in,
    OUTPUT = leadqual.quality_state_out,
    RECEIVE = leadqual.quality_state_recv,
    SEND = leadqual.quality_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);

-- Transition functions are not strict: NULL rows are skipped inside, and the first row
-- of a group creates the state (whose type differs from the inputs').
CREATE FUNCTION leadqual.quality_trans(leadqual.quality_state, float8, boolean)
    RETURNS leadqual.quality_state
    AS 'MODULE_PATHNAME', 'quality_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION leadqual.quality_trans(leadqual.quality_state, float8, boolean, integer)
    RETURNS leadqual.quality_state
    AS 'MODULE_PATHNAME', 'quality_trans_bins' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION leadqual.quality_combine(leadqual.quality_state, leadqual.quality_state)
    RETURNS leadqual.quality_state
    AS 'MODULE_PATHNAME', 'quality_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION leadqual.quality_final(leadqual.quality_state) RETURNS leadqual.quality
    AS 'MODULE_PATHNAME', 'quality_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE leadqual.score_quality(score float8, converted boolean) (
    SFUNC = leadqual.quality_trans,
    STYPE = leadqual.quality_state,
    FINALFUNC = leadqual.quality_final,
    COMBINEFUNC = leadqual.quality_combine,
    PARALLEL = SAFE
);

CREATE AGGREGATE leadqual.score_quality(score float8, converted boolean, bins integer) (
    SFUNC = leadqual.quality_trans,
    STYPE = leadqual.quality_state,
    FINALFUNC = leadqual.quality_final,
    COMBINEFUNC = leadqual.quality_combine,
    PARALLEL = SAFE
);

-- funnel: stage counts, conversion rates and median days per segment, from stage_history.
-- SECURITY INVOKER: the caller's row-level security on the lead table applies, and the
-- caller needs SELECT on leadqual.stage_history (owner only by default).
CREATE FUNCTION leadqual.funnel(lead_table regclass, segment_column name DEFAULT NULL)
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

    -- stage_history.lead_id is the primary key value as text
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
              LEFT JOIN h ON h.lead_id OPERATOR(pg_catalog.=) (l.%I)::text
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
