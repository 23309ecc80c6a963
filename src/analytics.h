/*
 * analytics.h — what the analytics that scan a model's lead table (calibrate, fit)
 * share.
 */
#ifndef LEADQUAL_ANALYTICS_H
#define LEADQUAL_ANALYTICS_H

#include "postgres.h"

/*
 * Checks the outcome column of a lead table: it must be a user column of type boolean
 * (or a domain over it); errors 42703 or 42804 name the model in the hint.
 */
extern void analytics_check_outcome_column(Oid relid, const char *column, const char *model);

#endif
