
-- ---------------------------------------------------------------------------------------
-- Learned points and the capacity question (issue 12): fit, candidate_rules, gains,
-- choose_threshold.  Every function here runs as the caller (SECURITY INVOKER): the lead
-- table is read with the caller's privileges and row-level security, and fit's
-- into_model writes leadqual's config tables with the caller's privileges too, so they
-- stay executable by PUBLIC (nothing here runs with the owner's rights but the rule
-- reader, which runs no user code).
-- ---------------------------------------------------------------------------------------

-- One row of fit's result: per enabled rule; the model-level columns (intercept onwards)
-- are the same on every row.
CREATE TYPE leadqual.fit_result AS (
    rule_id                 bigint,
    name                    text,
    knockout                boolean,
    points                  float8,
    coefficient             float8,
    std_error               float8,
    suggested_points        float8,
    intercept               float8,
    scale                   float8,
    mql_threshold           float8,
    suggested_mql_threshold float8,
    suggested_fit_threshold float8,
    train_leads             bigint,
    holdout_leads           bigint,
    auc_train_current       float8,
    auc_train_fitted        float8,
    auc_holdout_current     float8,
    auc_holdout_fitted      float8,
    iterations              integer
);

-- The fit in C: one scan of the model's lead table, the logistic regression on the rule-hit
-- patterns, one row per enabled rule (knockouts with NULL coefficient, kept as they are).
CREATE FUNCTION leadqual.fit_points(model text, outcome_column name, holdout float8, l2 float8)
RETURNS SETOF leadqual.fit_result
AS 'MODULE_PATHNAME', 'leadqual_fit_points'
LANGUAGE C STABLE SECURITY INVOKER ROWS 20;

-- fit: fit_points, and with into_model a draft copy of the model (same lead table, rules,
-- criterion checks and event rules; the fitted points and thresholds).  The draft must not
-- be attached to a table (it would re-stage real leads) nor be the model itself.
CREATE FUNCTION leadqual.fit(model text, outcome_column name DEFAULT 'converted',
                             into_model text DEFAULT NULL, holdout float8 DEFAULT 0.3,
                             l2 float8 DEFAULT 1.0)
RETURNS SETOF leadqual.fit_result
LANGUAGE plpgsql VOLATILE SECURITY INVOKER ROWS 20
SET search_path = pg_catalog, pg_temp
AS $fit$
DECLARE
    res leadqual.fit_result[];
BEGIN
    IF into_model IS NOT NULL THEN
        IF into_model OPERATOR(pg_catalog.=) model THEN
            RAISE EXCEPTION 'into_model must not be the model being fitted'
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Fit into a draft model, simulate it, then promote it.';
        END IF;
        IF EXISTS (SELECT FROM leadqual.attachments a
                    WHERE a.model OPERATOR(pg_catalog.=) fit.into_model)
           OR EXISTS (SELECT FROM leadqual.event_attachments a
                       WHERE a.model OPERATOR(pg_catalog.=) fit.into_model) THEN
            RAISE EXCEPTION 'model "%" is attached to a table', into_model
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'fit writes its points into a draft model, which no trigger uses (attach or attach_events).',
                      HINT = 'Name a new model, or one that is not attached.';
        END IF;
    END IF;

    SELECT pg_catalog.array_agg(f ORDER BY f.rule_id) INTO res
      FROM leadqual.fit_points(model, outcome_column, holdout, l2) f;

    IF into_model IS NOT NULL THEN
        INSERT INTO leadqual.models AS d (model, lead_table, mql_threshold, fit_threshold,
                                          framework, engagement_column, half_life, description)
        SELECT into_model, m.lead_table,
               COALESCE((SELECT r.suggested_mql_threshold FROM pg_catalog.unnest(res) r LIMIT 1),
                        m.mql_threshold),
               CASE WHEN m.fit_threshold IS NULL THEN NULL
                    ELSE COALESCE((SELECT r.suggested_fit_threshold FROM pg_catalog.unnest(res) r LIMIT 1),
                                  m.fit_threshold) END,
               m.framework, m.engagement_column, m.half_life,
               pg_catalog.format('fitted from model "%s" by leadqual.fit', m.model)
          FROM leadqual.models m WHERE m.model OPERATOR(pg_catalog.=) fit.model
        ON CONFLICT ON CONSTRAINT models_pkey DO UPDATE
           SET lead_table = excluded.lead_table, mql_threshold = excluded.mql_threshold,
               fit_threshold = excluded.fit_threshold, framework = excluded.framework,
               engagement_column = excluded.engagement_column, half_life = excluded.half_life,
               description = excluded.description;
        DELETE FROM leadqual.rules r WHERE r.model OPERATOR(pg_catalog.=) into_model;
        DELETE FROM leadqual.criterion_checks c WHERE c.model OPERATOR(pg_catalog.=) into_model;
        DELETE FROM leadqual.event_rules e WHERE e.model OPERATOR(pg_catalog.=) into_model;
        -- in rule_id order, so the draft adds its points in the same order
        INSERT INTO leadqual.rules (model, name, category, attribute, op, value, points,
                                    knockout, enabled)
        SELECT into_model, r.name, r.category, r.attribute, r.op, r.value,
               COALESCE(f.suggested_points, r.points), r.knockout, r.enabled
          FROM leadqual.rules r
          LEFT JOIN pg_catalog.unnest(res) f ON f.rule_id OPERATOR(pg_catalog.=) r.rule_id
         WHERE r.model OPERATOR(pg_catalog.=) fit.model
         ORDER BY r.rule_id;
        INSERT INTO leadqual.criterion_checks (model, framework, criterion, attribute, op, value)
        SELECT into_model, c.framework, c.criterion, c.attribute, c.op, c.value
          FROM leadqual.criterion_checks c WHERE c.model OPERATOR(pg_catalog.=) fit.model;
        INSERT INTO leadqual.event_rules (model, event_type, points, max_points, half_life)
        SELECT into_model, e.event_type, e.points, e.max_points, e.half_life
          FROM leadqual.event_rules e WHERE e.model OPERATOR(pg_catalog.=) fit.model;
    END IF;

    RETURN QUERY SELECT f.* FROM pg_catalog.unnest(res) f;
END
$fit$;

-- candidate_rules: rules proposed from the data of a lead table, shaped for
-- leadqual.rules, points 0: eq per frequent value (text, enums, booleans), is_null where
-- NULLs are frequent, quantile bands (quintiles, ties kept together) for numbers and
-- dates.  Values are written as leadqual stores them (DateStyle ISO, TimeZone UTC).
CREATE FUNCTION leadqual.candidate_rules(lead_table regclass, columns name[],
                                         min_support integer DEFAULT 30)
RETURNS TABLE (name text, category text, attribute text, op text, value text, points float8)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO, YMD' SET TimeZone = 'UTC' SET IntervalStyle = 'postgres'
SET extra_float_digits = 1
AS $cand$
DECLARE
    col   name;
    typ   record;
    nulls bigint;
    r     record;
BEGIN
    IF lead_table IS NULL OR columns IS NULL OR min_support IS NULL THEN
        RAISE EXCEPTION 'lead_table, columns and min_support must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF min_support < 1 THEN
        RAISE EXCEPTION 'min_support must be at least 1, not %', min_support
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH col IN ARRAY columns LOOP
        SELECT a.attname, bt.typcategory AS cat, bt.oid = 'boolean'::regtype AS is_bool,
               bt.typtype = 'e' AS is_enum INTO typ
          FROM pg_attribute a
          JOIN pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
          JOIN pg_type bt ON bt.oid OPERATOR(pg_catalog.=)
               CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'd' THEN t.typbasetype ELSE t.oid END
         WHERE a.attrelid OPERATOR(pg_catalog.=) lead_table
           AND a.attname OPERATOR(pg_catalog.=) col
           AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', col, lead_table
                USING ERRCODE = 'undefined_column';
        END IF;

        IF typ.is_bool OR typ.is_enum OR typ.cat OPERATOR(pg_catalog.=) 'S' THEN
            -- one eq rule per value seen min_support times, most frequent first
            FOR r IN EXECUTE pg_catalog.format(
                'SELECT (l.%1$I)::text AS v, pg_catalog.count(*) AS n FROM %2$s l
                  WHERE l.%1$I IS NOT NULL GROUP BY l.%1$I
                 HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>=) $1
                  ORDER BY 2 DESC, (l.%1$I)::text COLLATE "C"', col, lead_table) USING min_support
            LOOP
                name := pg_catalog.format('%s = %s', col, r.v);
                category := 'fit'; attribute := col; op := 'eq'; value := r.v; points := 0;
                RETURN NEXT;
            END LOOP;
        ELSIF typ.cat OPERATOR(pg_catalog.=) ANY (ARRAY['N', 'D']::"char"[]) THEN
            -- quintile bands: a value's band is the number of quintiles at or below it
            -- (width_bucket), so equal values share a band; each band is written as
            -- between its smallest and largest value (eq when they are one value)
            FOR r IN EXECUTE pg_catalog.format(
                'WITH q AS (
                     SELECT ARRAY(SELECT DISTINCT b FROM pg_catalog.unnest(
                                pg_catalog.percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]::float8[])
                                WITHIN GROUP (ORDER BY l.%1$I)) b ORDER BY b) AS b
                       FROM %2$s l)
                 SELECT pg_catalog.min(l.%1$I)::text AS lo, pg_catalog.max(l.%1$I)::text AS hi,
                        pg_catalog.min(l.%1$I) OPERATOR(pg_catalog.=) pg_catalog.max(l.%1$I) AS one,
                        pg_catalog.count(*) AS n
                   FROM %2$s l, q
                  WHERE l.%1$I IS NOT NULL
                  GROUP BY pg_catalog.width_bucket(l.%1$I, q.b)
                 HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>=) $1
                  ORDER BY pg_catalog.width_bucket(l.%1$I, q.b)', col, lead_table) USING min_support
            LOOP
                category := 'fit'; attribute := col; points := 0;
                IF r.one THEN
                    name := pg_catalog.format('%s = %s', col, r.lo);
                    op := 'eq'; value := r.lo;
                ELSE
                    name := pg_catalog.format('%s %s..%s', col, r.lo, r.hi);
                    op := 'between';
                    value := (ARRAY[r.lo, r.hi])::text;
                END IF;
                RETURN NEXT;
            END LOOP;
        ELSE
            RAISE NOTICE 'column "%" of type % gets no value rules', col,
                (SELECT pg_catalog.format_type(a.atttypid, NULL) FROM pg_attribute a
                  WHERE a.attrelid OPERATOR(pg_catalog.=) lead_table
                    AND a.attname OPERATOR(pg_catalog.=) col)
                USING HINT = 'Values rules are proposed for text, enum, boolean, numeric and date/time columns.';
        END IF;

        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s l WHERE l.%I IS NULL',
                                  lead_table, col) INTO nulls;
        IF nulls OPERATOR(pg_catalog.>=) min_support THEN
            name := pg_catalog.format('%s is null', col);
            category := 'fit'; attribute := col; op := 'is_null'; value := NULL; points := 0;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$cand$;

-- gains: the state is score_quality's exact quality_state, which keeps the number of
-- bands (buckets) for the final function; combined by quality_combine.
CREATE TYPE leadqual.gains_band AS (
    band            integer,
    min_score       float8,
    leads           bigint,
    lead_share      float8,
    conversions     bigint,
    capture         float8,
    conversion_rate float8,
    lift            float8
);

CREATE FUNCTION leadqual.gains_trans(leadqual.quality_state, float8, boolean, integer)
    RETURNS leadqual.quality_state
    AS 'MODULE_PATHNAME', 'gains_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION leadqual.gains_final(leadqual.quality_state) RETURNS leadqual.gains_band[]
    AS 'MODULE_PATHNAME', 'gains_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE leadqual.gains(score float8, converted boolean, buckets integer) (
    SFUNC = leadqual.gains_trans,
    STYPE = leadqual.quality_state,
    FINALFUNC = leadqual.gains_final,
    COMBINEFUNC = leadqual.quality_combine,
    PARALLEL = SAFE
);
-- an aggregate cannot have defaults: the 10-band form is its own aggregate
CREATE FUNCTION leadqual.gains_trans(leadqual.quality_state, float8, boolean)
    RETURNS leadqual.quality_state
    AS 'MODULE_PATHNAME', 'gains_trans10' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE leadqual.gains(score float8, converted boolean) (
    SFUNC = leadqual.gains_trans,
    STYPE = leadqual.quality_state,
    FINALFUNC = leadqual.gains_final,
    COMBINEFUNC = leadqual.quality_combine,
    PARALLEL = SAFE
);

-- choose_threshold: the MQL threshold for a sales capacity or a share of conversions to
-- catch, on the leads as the model scores them now.  MQLs are the leads scoring at or above
-- the threshold that classify does not disqualify (knockouts, fit gate).
CREATE FUNCTION leadqual.choose_threshold(model text, outcome_column name DEFAULT 'converted',
                                          capacity bigint DEFAULT NULL,
                                          min_capture float8 DEFAULT NULL)
RETURNS TABLE (threshold float8, leads bigint, conversions bigint, capture float8,
               conversion_rate float8)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $choose$
DECLARE
    tbl    regclass;
    ok     boolean;
    found_ boolean := false;
BEGIN
    IF model IS NULL OR outcome_column IS NULL THEN
        RAISE EXCEPTION 'model and outcome_column must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF (capacity IS NULL) OPERATOR(pg_catalog.=) (min_capture IS NULL) THEN
        RAISE EXCEPTION 'give exactly one of capacity and min_capture'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'capacity: how many MQLs sales can work; min_capture: the share of conversions to catch.';
    END IF;
    IF capacity OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION 'capacity must not be negative' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT (min_capture OPERATOR(pg_catalog.>) 0 AND min_capture OPERATOR(pg_catalog.<=) 1) THEN
        RAISE EXCEPTION 'min_capture must be greater than 0 and at most 1, not %', min_capture
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.lead_table INTO tbl FROM leadqual.models m
     WHERE m.model OPERATOR(pg_catalog.=) choose_threshold.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" does not exist', model USING ERRCODE = 'undefined_object',
            HINT = 'Models are rows of leadqual.models.';
    END IF;
    SELECT bt.oid OPERATOR(pg_catalog.=) 'boolean'::regtype INTO ok
      FROM pg_attribute a
      JOIN pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
      JOIN pg_type bt ON bt.oid OPERATOR(pg_catalog.=)
           CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'd' THEN t.typbasetype ELSE t.oid END
     WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) outcome_column
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', outcome_column, tbl
            USING ERRCODE = 'undefined_column',
                  HINT = pg_catalog.format('Name the boolean column of the lead table of model "%s" that records whether a lead converted.', model);
    ELSIF NOT ok THEN
        RAISE EXCEPTION 'outcome column "%" of relation % is not boolean', outcome_column, tbl
            USING ERRCODE = 'datatype_mismatch';
    END IF;

    -- per score level (from the top): MQLs at or above it, their conversions, and how many
    -- of them have a known outcome (the conversion rate's denominator)
    FOR threshold, leads, conversions, capture, conversion_rate IN EXECUTE pg_catalog.format($q$
        WITH s AS (
            SELECT leadqual.score(l.*, $1) AS score,
                   leadqual.classify(l.*, $1) OPERATOR(pg_catalog.=) 'disqualified' AS dq,
                   l.%I AS conv
              FROM %s l
        ), total AS (
            SELECT pg_catalog.count(*) FILTER (WHERE s.conv) AS conv FROM s
        ), lv AS (
            SELECT s.score, pg_catalog.count(*) AS n,
                   pg_catalog.count(*) FILTER (WHERE s.conv) AS c,
                   pg_catalog.count(s.conv) AS known
              FROM s WHERE NOT s.dq AND s.score OPERATOR(pg_catalog.<>) 'NaN'
             GROUP BY s.score
        ), cum AS (
            SELECT lv.score,
                   pg_catalog.sum(lv.n) OVER w AS n,
                   pg_catalog.sum(lv.c) OVER w AS c,
                   pg_catalog.sum(lv.known) OVER w AS known
              FROM lv WINDOW w AS (ORDER BY lv.score DESC)
        )
        SELECT cum.score, cum.n::bigint, cum.c::bigint,
               cum.c::float8 OPERATOR(pg_catalog./) NULLIF(total.conv, 0),
               cum.c::float8 OPERATOR(pg_catalog./) NULLIF(cum.known, 0)
          FROM cum, total
         WHERE CASE WHEN $2 IS NOT NULL THEN cum.n OPERATOR(pg_catalog.<=) $2
                    ELSE cum.c::float8 OPERATOR(pg_catalog./) NULLIF(total.conv, 0)
                         OPERATOR(pg_catalog.>=) $3 END
         ORDER BY CASE WHEN $2 IS NOT NULL THEN cum.score END,
                  CASE WHEN $3 IS NOT NULL THEN cum.score END DESC
         LIMIT 1
    $q$, outcome_column, tbl) USING model, capacity, min_capture
    LOOP
        found_ := true;
        RETURN NEXT;
    END LOOP;
    IF NOT found_ THEN
        RAISE NOTICE 'no threshold of model "%" meets the %', model,
            CASE WHEN capacity IS NOT NULL THEN 'capacity' ELSE 'capture asked for' END
            USING DETAIL = CASE WHEN capacity IS NOT NULL
                                THEN 'The leads tied at the top score already exceed the capacity.'
                                ELSE 'Even every lead the model does not disqualify catches fewer conversions, or none converted.' END;
    END IF;
END
$choose$;
