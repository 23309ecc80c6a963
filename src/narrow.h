/*
 * narrow.h — passing a scoring function only the columns its rules read.
 *
 * The planner support function (narrow.c) rewrites leadqual.score(w, 'm'),
 * where w is a whole row of a table, into leadqual.score_narrowed(ROW(only the
 * read columns, NULL elsewhere)::w, 'm', w.tableoid, w.ctid).  The row keeps
 * its type, so the compiled model is the same.  At run time the call checks
 * that the rule set its statement sees reads nothing the plan left out; if it
 * does (a rule change committed after planning, before the plan noticed), it
 * reads the whole row back by (tableoid, ctid), so the score is always right.
 */
#ifndef LEADQUAL_NARROW_H
#define LEADQUAL_NARROW_H

#include "postgres.h"
#include "access/htup.h"
#include "fmgr.h"
#include "nodes/bitmapset.h"

#include "ruleset.h"

/* What one call site knows about itself, set up once. */
typedef struct NarrowedCall
{
	bool		narrowed;		/* called as a *_narrowed function */
	bool		trusted;		/* made by the support function, not typed by a user */
	Bitmapset  *passed;			/* attnums the plan passes */
	bool		refetch;		/* the current rule set reads more than that */
	Oid			map_relid;		/* relation the attribute map below is for */
	Oid			map_typid;
	int			map_natts;
	AttrNumber *map;			/* row type attnum - 1 -> the relation's attnum */
} NarrowedCall;

/* Sets nc up for a call site; base_nargs is the unnarrowed function's arity. */
extern void narrow_init_call(FunctionCallInfo fcinfo, int base_nargs, NarrowedCall *nc);

/* After a (new) rule set lookup: does this call site have to read rows back? */
extern void narrow_check(NarrowedCall *nc, CompiledModel *cm);

/* The tuple to evaluate: row itself, or the whole row read back. */
extern void narrow_row(FunctionCallInfo fcinfo, NarrowedCall *nc, HeapTupleHeader row,
					   HeapTuple tuple);

#endif
