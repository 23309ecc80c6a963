
-- ---------------------------------------------------------------------------------------
-- calibrate: per enabled rule, hits and conversion, lift, and suggested points that rank
-- the model's leads at least as well as today's (AUC on the same rows). One scan of the
-- lead table as the caller (SECURITY INVOKER: row-level security applies).
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION leadqual.calibrate(model text, outcome_column name DEFAULT 'converted')
RETURNS TABLE (
    rule_id              bigint,
    name                 text,
    points               float8,
    hits                 bigint,
    hit_rate             float8,
    conversion_if_hit    float8,
    conversion_if_missed float8,
    lift                 float8,
    suggested_points     float8,
    alpha                float8,
    auc_current          float8,
    auc_suggested        float8
)
AS 'MODULE_PATHNAME', 'leadqual_calibrate'
LANGUAGE C STABLE SECURITY INVOKER ROWS 20;
