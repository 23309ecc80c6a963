
-- ---------------------------------------------------------------------------------------
-- Rule sets as values (issue 10).  leadqual.ruleset holds everything a model scores with
-- (thresholds, rules, framework checks, event rules and half-lives) as a canonical JSON
-- document with a format version and a SHA-256 content hash (src/ruleset_io.c).  The
-- functions that take one are IMMUTABLE: a value scores the same on every node and in
-- every snapshot, so it can be computed once (on a Citus coordinator, a postgres_fdw front
-- node) and shipped.  The model-name functions are the same code: ruleset(model) and the
-- same compiled rules.
-- ---------------------------------------------------------------------------------------
CREATE TYPE leadqual.ruleset;

CREATE FUNCTION leadqual.ruleset_in(cstring) RETURNS leadqual.ruleset
    AS 'MODULE_PATHNAME', 'leadqual_ruleset_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.ruleset_out(leadqual.ruleset) RETURNS cstring
    AS 'MODULE_PATHNAME', 'leadqual_ruleset_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.ruleset_recv(internal) RETURNS leadqual.ruleset
    AS 'MODULE_PATHNAME', 'leadqual_ruleset_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.ruleset_send(leadqual.ruleset) RETURNS bytea
    AS 'MODULE_PATHNAME', 'leadqual_ruleset_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE leadqual.ruleset (
    INPUT = leadqual.ruleset_in,
    OUTPUT = leadqual.ruleset_out,
    RECEIVE = leadqual.ruleset_recv,
    SEND = leadqual.ruleset_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = extended
);
COMMENT ON TYPE leadqual.ruleset IS
    'a scoring model as a value: thresholds, rules, framework checks, event rules; JSON text form with a content hash';

-- casts: jsonb and json by their text forms (text and varchar are I/O casts already)
CREATE CAST (leadqual.ruleset AS jsonb) WITH INOUT;
CREATE CAST (jsonb AS leadqual.ruleset) WITH INOUT;
CREATE CAST (leadqual.ruleset AS json) WITH INOUT;
CREATE CAST (json AS leadqual.ruleset) WITH INOUT;

-- equality is equality of content (the hash)
CREATE FUNCTION leadqual.ruleset_eq(leadqual.ruleset, leadqual.ruleset) RETURNS boolean
    AS 'MODULE_PATHNAME', 'leadqual_ruleset_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION leadqual.ruleset_ne(leadqual.ruleset, leadqual.ruleset) RETURNS boolean
    AS 'MODULE_PATHNAME', 'leadqual_ruleset_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR leadqual.= (
    LEFTARG = leadqual.ruleset, RIGHTARG = leadqual.ruleset,
    FUNCTION = leadqual.ruleset_eq,
    COMMUTATOR = OPERATOR(leadqual.=), NEGATOR = OPERATOR(leadqual.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR leadqual.<> (
    LEFTARG = leadqual.ruleset, RIGHTARG = leadqual.ruleset,
    FUNCTION = leadqual.ruleset_ne,
    COMMUTATOR = OPERATOR(leadqual.<>), NEGATOR = OPERATOR(leadqual.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);

-- the model as the current snapshot sees it, read as the extension's owner like the
-- model-name functions (who may read it is governed by EXECUTE)
CREATE FUNCTION leadqual.ruleset(model text) RETURNS leadqual.ruleset
    AS 'MODULE_PATHNAME', 'leadqual_ruleset_of_model' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- scoring with a value: IMMUTABLE (the value is all they read)
CREATE FUNCTION leadqual.score(lead record, rules leadqual.ruleset)
    RETURNS float8 AS 'MODULE_PATHNAME', 'leadqual_score'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT leadqual.narrow_support;

CREATE FUNCTION leadqual.explain(lead record, rules leadqual.ruleset)
    RETURNS TABLE (rule_id bigint, name text, category text, points float8, knockout boolean)
    AS 'MODULE_PATHNAME', 'leadqual_explain'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 5 SUPPORT leadqual.narrow_support;

CREATE FUNCTION leadqual.classify(lead record, rules leadqual.ruleset)
    RETURNS leadqual.stage AS 'MODULE_PATHNAME', 'leadqual_classify'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT leadqual.narrow_support;

CREATE FUNCTION leadqual.qualify(lead record, rules leadqual.ruleset, framework text)
    RETURNS leadqual.qualification AS 'MODULE_PATHNAME', 'leadqual_qualify'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT leadqual.narrow_support;

CREATE FUNCTION leadqual.qualify(lead record, rules leadqual.ruleset)
    RETURNS leadqual.qualification AS 'MODULE_PATHNAME', 'leadqual_qualify'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT leadqual.narrow_support;

-- what the planner rewrites them into over a whole table row (30_wide_rows.sql); the
-- ctid is NULL: a value cannot change, so no row is ever read back
CREATE FUNCTION leadqual.score_narrowed(lead record, rules leadqual.ruleset, lead_tableoid oid,
                                        lead_ctid tid, attnums int2[], VARIADIC columns "any")
    RETURNS float8 AS 'MODULE_PATHNAME', 'leadqual_score_narrowed'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION leadqual.explain_narrowed(lead record, rules leadqual.ruleset, lead_tableoid oid,
                                          lead_ctid tid, attnums int2[], VARIADIC columns "any")
    RETURNS TABLE (rule_id bigint, name text, category text, points float8, knockout boolean)
    AS 'MODULE_PATHNAME', 'leadqual_explain_narrowed'
    LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 5;

CREATE FUNCTION leadqual.classify_narrowed(lead record, rules leadqual.ruleset, lead_tableoid oid,
                                           lead_ctid tid, attnums int2[], VARIADIC columns "any")
    RETURNS leadqual.stage AS 'MODULE_PATHNAME', 'leadqual_classify_narrowed'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- framework NULL: the value's own (what qualify(lead, rules) is rewritten with)
CREATE FUNCTION leadqual.qualify_narrowed(lead record, rules leadqual.ruleset, framework text,
                                          lead_tableoid oid, lead_ctid tid,
                                          attnums int2[], VARIADIC columns "any")
    RETURNS leadqual.qualification AS 'MODULE_PATHNAME', 'leadqual_qualify_narrowed'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- engagement with a value: its state (version 2 of leadqual.engagement_state) carries the
-- rule set's hash and each event type's cap, so it is combined and finished anywhere
CREATE FUNCTION leadqual.engagement_transfn(leadqual.engagement_state, text, timestamptz,
                                            leadqual.ruleset, timestamptz)
    RETURNS leadqual.engagement_state
    AS 'MODULE_PATHNAME', 'engagement_rs_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION leadqual.engagement_rs_final(leadqual.engagement_state) RETURNS float8
    AS 'MODULE_PATHNAME', 'engagement_rs_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE leadqual.engagement(event_type text, occurred_at timestamptz,
                                     rules leadqual.ruleset, as_of timestamptz) (
    SFUNC = leadqual.engagement_transfn,
    STYPE = leadqual.engagement_state,
    FINALFUNC = leadqual.engagement_rs_final,
    COMBINEFUNC = leadqual.engagement_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE leadqual.engagement(text, timestamptz, leadqual.ruleset, timestamptz) IS
    'engagement points of a group of events at as_of under a rule set value: decayed per event type, capped, summed';
