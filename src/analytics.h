/*
 * analytics.h — what the analytics that scan a model's lead table (calibrate, fit)
 * share.
 */
#ifndef LEADQUAL_ANALYTICS_H
#define LEADQUAL_ANALYTICS_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"

#include "ruleset.h"

/*
 * Checks the outcome column of a lead table: it must be a user column of type boolean
 * (or a domain over it); errors 42703 or 42804 name the model in the hint.
 */
extern void analytics_check_outcome_column(Oid relid, const char *column, const char *model);

/*
 * What analytics_scan_leads calls per lead whose outcome is not NULL: its result
 * under cm (cm->matched holds the rule results) and its row of the scan's query
 * (for further columns).  It runs in a context reset after every batch of rows.
 */
typedef void (*LeadVisitor) (void *arg, bool converted, const LeadResult *res,
							 HeapTuple row, TupleDesc desc);

/*
 * Runs sql, "SELECT l, l.outcome [, ...] FROM table l", through a cursor (SPI
 * connected; as the caller, so row-level security applies), scoring each lead
 * with cm; returns how many leads had a NULL outcome (they are not visited).
 */
/* "l.*::<its type>": the whole row of the lead table aliased l, in a query's SELECT list */
extern char *analytics_whole_row(Oid relid);
extern int64 analytics_scan_leads(CompiledModel *cm, const char *sql, LeadVisitor visit,
								  void *arg);

#endif
