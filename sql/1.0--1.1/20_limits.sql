
-- ---------------------------------------------------------------------------------------
-- Limits: what a hostile or careless rule can no longer do (issue 9, part 3).
-- ---------------------------------------------------------------------------------------

-- Points are bounded: |points| <= 1,000,000 for rules and event rules, and for an event
-- rule's cap.  Scores are sums of points (and of decayed event points, each at most its
-- rule's points), so no sum of any realistic number of rules and events comes near
-- float8's range: no score is ever Infinity or NaN.  Thresholds are only compared, never
-- summed, so finite ones stay allowed.  CHECK constraints hold the bound whatever writes
-- the row (a replica, pg_restore --disable-triggers); the validation triggers say the same
-- with the rule's name and a hint.  An installation with points outside the bound cannot
-- be updated until they are scaled down: the error names the rows.
DO $$
DECLARE
    bad text;
BEGIN
    SELECT pg_catalog.string_agg(s.what, '; ' ORDER BY s.what) INTO bad FROM (
        SELECT pg_catalog.format('rule %s "%s" of model "%s" (points %s)', r.rule_id, r.name, r.model, r.points) AS what
          FROM leadqual.rules r
         WHERE NOT (r.points >= -1000000 AND r.points <= 1000000)
        UNION ALL
        SELECT pg_catalog.format('event rule "%s" of model "%s" (points %s, max_points %s)',
                                 e.event_type, e.model, e.points, e.max_points)
          FROM leadqual.event_rules e
         WHERE NOT (e.points >= -1000000 AND e.points <= 1000000)
            OR NOT (e.max_points >= -1000000 AND e.max_points <= 1000000)) s;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'leadqual 1.1 bounds points to -1000000 .. 1000000; these rows are outside: %', bad
            USING ERRCODE = 'check_violation',
                  DETAIL = 'Scores are sums of points; the bound keeps every score finite.',
                  HINT = 'Scale those points down (UPDATE leadqual.rules SET points = ... WHERE rule_id = ...), then run ALTER EXTENSION leadqual UPDATE again.';
    END IF;
END $$;

ALTER TABLE leadqual.rules
    DROP CONSTRAINT rules_points_check,
    ADD CONSTRAINT rules_points_check CHECK (points >= '-1000000'::float8 AND points <= '1000000'::float8);
ALTER TABLE leadqual.event_rules
    DROP CONSTRAINT event_rules_points_check,
    ADD CONSTRAINT event_rules_points_check CHECK (points >= '-1000000'::float8 AND points <= '1000000'::float8),
    DROP CONSTRAINT event_rules_max_points_check,
    ADD CONSTRAINT event_rules_max_points_check CHECK (max_points >= '-1000000'::float8 AND max_points <= '1000000'::float8);

-- Event rules: the same bound, with the rule's name (the rest as in 1.0).
CREATE OR REPLACE FUNCTION leadqual.event_rules_validate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rule text := pg_catalog.format('event rule "%s" of model "%s"', NEW.event_type, NEW.model);
BEGIN
    IF NOT EXISTS (SELECT FROM leadqual.models m WHERE m.model OPERATOR(pg_catalog.=) NEW.model) THEN
        RAISE EXCEPTION '%: model "%" does not exist', rule, NEW.model
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Insert the model into leadqual.models first.';
    END IF;
    IF NEW.event_type OPERATOR(pg_catalog.=) '' OR NEW.event_type OPERATOR(pg_catalog.~) '^\s*$' THEN
        RAISE EXCEPTION 'event rule of model "%": event_type must not be empty', NEW.model
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name the event type as the events table spells it.';
    END IF;
    IF NOT (NEW.points OPERATOR(pg_catalog.>) '-Infinity' AND NEW.points OPERATOR(pg_catalog.<) 'Infinity') THEN
        RAISE EXCEPTION '%: points must be a finite number, not %', rule, NEW.points
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT (NEW.points OPERATOR(pg_catalog.>=) -1000000 AND NEW.points OPERATOR(pg_catalog.<=) 1000000) THEN
        RAISE EXCEPTION '%: points % are out of range', rule, NEW.points
            USING ERRCODE = 'numeric_value_out_of_range',
                  DETAIL = 'Points must lie between -1000000 and 1000000, so that no score can overflow.',
                  HINT = 'Scale the model''s points and thresholds down together.';
    END IF;
    IF NEW.max_points IS NOT NULL THEN
        IF NOT (NEW.max_points OPERATOR(pg_catalog.>) '-Infinity' AND NEW.max_points OPERATOR(pg_catalog.<) 'Infinity') THEN
            RAISE EXCEPTION '%: max_points must be a finite number, not %', rule, NEW.max_points
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Use NULL for no cap.';
        END IF;
        IF NOT (NEW.max_points OPERATOR(pg_catalog.>=) -1000000 AND NEW.max_points OPERATOR(pg_catalog.<=) 1000000) THEN
            RAISE EXCEPTION '%: max_points % is out of range', rule, NEW.max_points
                USING ERRCODE = 'numeric_value_out_of_range',
                      DETAIL = 'A cap must lie between -1000000 and 1000000, as points do.',
                      HINT = 'Use NULL for no cap.';
        END IF;
        IF NEW.max_points OPERATOR(pg_catalog.=) 0 THEN
            RAISE EXCEPTION '%: max_points 0 would cancel every event of this type', rule
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Use NULL for no cap; to make the type count nothing, set points to 0 or delete the rule.';
        END IF;
        IF NEW.points OPERATOR(pg_catalog.=) 0 THEN
            RAISE EXCEPTION '%: a cap on an event type worth 0 points means nothing', rule
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Set max_points to NULL.';
        END IF;
        IF pg_catalog.sign(NEW.max_points) OPERATOR(pg_catalog.<>) pg_catalog.sign(NEW.points) THEN
            RAISE EXCEPTION '%: max_points % and points % have different signs', rule,
                    NEW.max_points, NEW.points
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A cap bounds the side its points are on: +5 points capped at 20, -5 points capped at -15.';
        END IF;
    END IF;
    IF NEW.half_life IS NOT NULL
       AND pg_catalog.date_part('epoch', NEW.half_life) OPERATOR(pg_catalog.<=) 0 THEN
        RAISE EXCEPTION '%: half_life must be longer than zero, not %', rule, NEW.half_life
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use NULL to take the model''s half-life; months count 30 days and years 365.25 days.';
    END IF;
    RETURN NEW;
END
$$;

-- No rule or criterion check on a column the lead trigger writes.  The trigger evaluates
-- the rules before it writes score, stage and stage lock, so such a rule reads the previous
-- result and every write can flip it (mql -> nurture -> mql, a history row and a NOTIFY
-- each time).  Rules and checks are refused when written (validate.c); an attachment is
-- refused when created or changed (attach, a model rename cascading into it) while an
-- enabled rule or a check of its model reads one of its columns.
-- The enabled rules and the checks of model that read one of the three columns (or NULL).
CREATE FUNCTION leadqual.own_column_readers(model text, score_column name, stage_column name,
                                            locked_column name)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.string_agg(pg_catalog.format('%s "%s" reads the %s column "%s"',
                                                   x.kind, x.name, w.what, x.attribute),
                                 '; ' ORDER BY x.kind, x.name)
      FROM (SELECT 'rule' AS kind, r.name, r.attribute
              FROM leadqual.rules r
             WHERE r.model OPERATOR(pg_catalog.=) own_column_readers.model AND r.enabled
            UNION ALL
            SELECT 'criterion check', c.framework OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) c.criterion,
                   c.attribute
              FROM leadqual.criterion_checks c
             WHERE c.model OPERATOR(pg_catalog.=) own_column_readers.model) x
     CROSS JOIN LATERAL (SELECT CASE x.attribute::pg_catalog.name
                                WHEN own_column_readers.score_column THEN 'score'
                                WHEN own_column_readers.stage_column THEN 'stage'
                                WHEN own_column_readers.locked_column THEN 'stage lock' END AS what) w
     WHERE w.what IS NOT NULL
$$;

-- Existing installations: rules like that must be fixed before the update.
DO $$
DECLARE
    bad text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('model "%s" on %s: %s', a.model, a.lead_table,
                                 leadqual.own_column_readers(a.model, a.score_column, a.stage_column, a.locked_column)),
                                 '; ' ORDER BY a.model)
      INTO bad
      FROM leadqual.attachments a
     WHERE leadqual.own_column_readers(a.model, a.score_column, a.stage_column, a.locked_column) IS NOT NULL;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'rules read the columns leadqual writes: %', bad
            USING ERRCODE = 'invalid_object_definition',
                  DETAIL = 'The trigger evaluates the rules before it writes the score, stage and stage lock columns, so those rules read the previous result and every write can change it again.',
                  HINT = 'Disable or change those rules (UPDATE leadqual.rules SET enabled = false WHERE ...), then run ALTER EXTENSION leadqual UPDATE again.';
    END IF;
END $$;

CREATE FUNCTION leadqual.attachment_validate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad text := leadqual.own_column_readers(NEW.model, NEW.score_column, NEW.stage_column, NEW.locked_column);
BEGIN
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'model "%" cannot score % with these columns: %', NEW.model, NEW.lead_table, bad
            USING ERRCODE = 'invalid_object_definition',
                  DETAIL = 'The trigger evaluates the rules before it writes the score, stage and stage lock columns, so a rule on them would read the previous result and every write could change it again.',
                  HINT = 'Disable or change those rules (UPDATE leadqual.rules SET enabled = false WHERE ...), or attach other columns.';
    END IF;
    RETURN NEW;
END $$;
REVOKE EXECUTE ON FUNCTION leadqual.attachment_validate() FROM PUBLIC;
CREATE TRIGGER attachment_validate BEFORE INSERT OR UPDATE ON leadqual.attachments
    FOR EACH ROW EXECUTE FUNCTION leadqual.attachment_validate();
