-- Wide rows (issue 13): a planner support function passes score, classify, explain,
-- qualify and rescore_needed only the columns the model's rules, criterion checks and
-- engagement column read, so that a whole-row argument no longer builds and detoasts
-- every column of a wide lead table. It rewrites leadqual.score(w, 'm') over a table row w into
-- leadqual.score_narrowed(NULL::<w's type>, 'm', w.tableoid, w.ctid, '{attnums}', w.a, w.b):
-- the columns as separate arguments (no row is built), put by the call into a slot of
-- w's row type (the compiled rules apply unchanged), plus where to read the whole row
-- back if a rule change commits after the plan was checked. The plan depends on
-- leadqual.config_generation, so a rule change makes cached plans replan.
CREATE FUNCTION leadqual.narrow_support(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'leadqual_narrow_support' LANGUAGE C STRICT;

-- What the rewrite calls. Called directly they score the columns as given (checked
-- against the row type) and never read a row back.
CREATE FUNCTION leadqual.score_narrowed(lead record, model text, lead_tableoid oid, lead_ctid tid,
                                        attnums int2[], VARIADIC columns "any")
    RETURNS float8 AS 'MODULE_PATHNAME', 'leadqual_score_narrowed'
    LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION leadqual.explain_narrowed(lead record, model text, lead_tableoid oid, lead_ctid tid,
                                          attnums int2[], VARIADIC columns "any")
    RETURNS TABLE (rule_id bigint, name text, category text, points float8, knockout boolean)
    AS 'MODULE_PATHNAME', 'leadqual_explain_narrowed'
    LANGUAGE C STABLE PARALLEL SAFE ROWS 5;

CREATE FUNCTION leadqual.classify_narrowed(lead record, model text, lead_tableoid oid, lead_ctid tid,
                                           attnums int2[], VARIADIC columns "any")
    RETURNS leadqual.stage AS 'MODULE_PATHNAME', 'leadqual_classify_narrowed'
    LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION leadqual.qualify_narrowed(lead record, model text, framework text,
                                          lead_tableoid oid, lead_ctid tid,
                                          attnums int2[], VARIADIC columns "any")
    RETURNS leadqual.qualification AS 'MODULE_PATHNAME', 'leadqual_qualify_narrowed'
    LANGUAGE C STABLE PARALLEL SAFE;

-- rescore's query that finds the rows to write calls rescore_needed(l, ...) on every row
-- of a batch: narrowed the same way, it reads only the rules' columns too.
CREATE FUNCTION leadqual.rescore_needed_narrowed(lead record, model text, score float8, stage text,
                                                 locked boolean, score_type regtype,
                                                 lead_tableoid oid, lead_ctid tid,
                                                 attnums int2[], VARIADIC columns "any")
    RETURNS boolean AS 'MODULE_PATHNAME', 'leadqual_rescore_needed_narrowed'
    LANGUAGE C STABLE PARALLEL SAFE;

ALTER FUNCTION leadqual.score(record, text) SUPPORT leadqual.narrow_support;
ALTER FUNCTION leadqual.explain(record, text) SUPPORT leadqual.narrow_support;
ALTER FUNCTION leadqual.classify(record, text) SUPPORT leadqual.narrow_support;
ALTER FUNCTION leadqual.qualify(record, text, text) SUPPORT leadqual.narrow_support;
ALTER FUNCTION leadqual.rescore_needed(record, text, float8, text, boolean, regtype)
    SUPPORT leadqual.narrow_support;
-- only the planner calls it (without a privilege check)
REVOKE EXECUTE ON FUNCTION leadqual.narrow_support(internal) FROM PUBLIC;
