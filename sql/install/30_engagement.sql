
-- Events and engagement: the engagement aggregate and its state type (src/engagement.c).

CREATE TYPE leadqual.engagement_state;

CREATE FUNCTION leadqual.engagement_state_in(cstring) RETURNS leadqual.engagement_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.engagement_state_out(leadqual.engagement_state) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.engagement_state_recv(internal) RETURNS leadqual.engagement_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.engagement_state_send(leadqual.engagement_state) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- PLAIN storage: a state is never compressed or given a short header, so the
-- aggregate can update its doubles in place.
CREATE TYPE leadqual.engagement_state (
    INPUT = leadqual.engagement_state_in,
    OUTPUT = leadqual.engagement_state_out,
    RECEIVE = leadqual.engagement_state_recv,
    SEND = leadqual.engagement_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE leadqual.engagement_state IS
    'partial state of leadqual.engagement: model, as_of, rules fingerprint, decayed points per event type';

-- Transition functions read leadqual.event_rules (STABLE) and are not strict: the
-- first row allocates the state, NULL events are skipped.
CREATE FUNCTION leadqual.engagement_transfn(leadqual.engagement_state, text, timestamptz, text)
    RETURNS leadqual.engagement_state
    AS 'MODULE_PATHNAME', 'engagement_transfn' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION leadqual.engagement_transfn(leadqual.engagement_state, text, timestamptz, text, timestamptz)
    RETURNS leadqual.engagement_state
    AS 'MODULE_PATHNAME', 'engagement_transfn' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION leadqual.engagement_combine(leadqual.engagement_state, leadqual.engagement_state)
    RETURNS leadqual.engagement_state
    AS 'MODULE_PATHNAME', 'engagement_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.engagement_final(leadqual.engagement_state) RETURNS float8
    AS 'MODULE_PATHNAME', 'engagement_final' LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE leadqual.engagement(event_type text, occurred_at timestamptz, model text) (
    SFUNC = leadqual.engagement_transfn,
    STYPE = leadqual.engagement_state,
    FINALFUNC = leadqual.engagement_final,
    COMBINEFUNC = leadqual.engagement_combine,
    PARALLEL = SAFE
);
CREATE AGGREGATE leadqual.engagement(event_type text, occurred_at timestamptz, model text,
                                     as_of timestamptz) (
    SFUNC = leadqual.engagement_transfn,
    STYPE = leadqual.engagement_state,
    FINALFUNC = leadqual.engagement_final,
    COMBINEFUNC = leadqual.engagement_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE leadqual.engagement(text, timestamptz, text) IS
    'engagement points of a group of events at now(): decayed per event type, capped, summed';
COMMENT ON AGGREGATE leadqual.engagement(text, timestamptz, text, timestamptz) IS
    'engagement points of a group of events at as_of: decayed per event type, capped, summed';

-- Validation of leadqual.event_rules rows, with messages that name the rule. The
-- CHECK constraints and the foreign key stay as a backstop.
CREATE FUNCTION leadqual.event_rules_validate() RETURNS trigger
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
    IF NEW.max_points IS NOT NULL THEN
        IF NOT (NEW.max_points OPERATOR(pg_catalog.>) '-Infinity' AND NEW.max_points OPERATOR(pg_catalog.<) 'Infinity') THEN
            RAISE EXCEPTION '%: max_points must be a finite number, not %', rule, NEW.max_points
                USING ERRCODE = 'invalid_parameter_value',
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

CREATE TRIGGER event_rules_validate
    BEFORE INSERT OR UPDATE ON leadqual.event_rules
    FOR EACH ROW EXECUTE FUNCTION leadqual.event_rules_validate();
