/*
 * narrow.h — passing a scoring function only the columns its rules read.
 *
 * The planner support function (narrow.c) rewrites leadqual.score(w, rules),
 * where w is a whole row of a table and rules a constant model name or rule
 * set value (or a rule set value computed at run time: then every column), into
 *     leadqual.score_narrowed(NULL::w, rules, w.tableoid, w.ctid,
 *                             '{attnums}', w.col, w.col, ...)
 * passing the columns the rules read as separate arguments: no row is built
 * and none is taken apart again.  The call puts them in a virtual slot of
 * w's row type (NULL elsewhere), so the compiled model is the same.  A
 * model-name call checks at run time that the rule set its statement sees
 * reads nothing the plan left out; if it does (a rule change committed after
 * planning, before the plan noticed), it reads the whole row back by
 * (tableoid, ctid), so the score is always right.  A NULL tableoid is a NULL
 * row (an outer join).
 */
#ifndef LEADQUAL_NARROW_H
#define LEADQUAL_NARROW_H

#include "postgres.h"
#include "access/htup.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/bitmapset.h"

#include "ruleset.h"

/* What one narrowed call site knows about itself, set up once. */
typedef struct NarrowedCall
{
	bool		narrowed;		/* called as a *_narrowed function */
	bool		trusted;		/* made by the support function, not typed by a user */
	Oid			typid;			/* the row type the columns belong to */
	uint64		tupdesc_id;		/* its typcache tupDesc_identifier when checked */
	int			first_column;	/* argument number of the first column */
	int			ncolumns;
	AttrNumber *attnums;		/* the columns' attnums, in argument order */
	Bitmapset  *passed;			/* the same as a set */
	TupleTableSlot *slot;		/* virtual, of the row type; NULL where not passed */
	bool		refetch;		/* the current rule set reads more than was passed */
	HeapTupleData whole;		/* the row read back, while a slot holds it */
	Oid			map_relid;		/* relation the attribute map below is for */
	int			map_natts;
	AttrNumber *map;			/* row type attnum - 1 -> the relation's attnum */
} NarrowedCall;

/* Sets nc up for a call site; base_nargs is the whole-row function's arity. */
extern void narrow_init_call(FunctionCallInfo fcinfo, int base_nargs, NarrowedCall *nc);

/*
 * Whether the row type changed since nc was set up (ALTER TYPE between two
 * calls of one plpgsql expression): its checks must be made again.
 */
extern bool narrow_stale(NarrowedCall *nc);

/* After a (new) rule set lookup: does this call site have to read rows back? */
extern void narrow_check(NarrowedCall *nc, CompiledModel *cm);

/* The row to evaluate with cm: the passed columns, or the whole row read back. */
extern TupleTableSlot *narrow_slot(FunctionCallInfo fcinfo, NarrowedCall *nc,
								   CompiledModel *cm);

#endif
