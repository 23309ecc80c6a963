/*
 * lead_policy.h — what automation writes into a lead, written once for the
 * lead trigger (lead_trigger.c), rescore (rescore.c), simulate (simulate.c)
 * and the history trigger (history.c): which stages it keeps, and a score as
 * the score column stores it.
 */
#ifndef LEADQUAL_LEAD_POLICY_H
#define LEADQUAL_LEAD_POLICY_H

#include "postgres.h"

/*
 * Does a lead keep its stage when automation re-decides it (an UPDATE whose
 * SET list does not name the stage column, a rescore)?  A stage a person
 * locked, and sql, won and lost, are kept; no stage (-1: NULL) never is.
 * Any other lead gets the stage scoring_classify gives it.
 */
extern bool lead_stage_kept(int stage, bool locked);

/* A score as a score column of base type `type` (float8, float4, numeric) holds it. */
extern Datum lead_score_datum(double score, Oid type);

/* The float8 of a score column's value of base type `type`. */
extern double lead_score_float8(Datum d, Oid type);

/* A score rounded as the score column stores it (what a rescore compares). */
extern double lead_stored_score(double score, Oid type);

#endif
