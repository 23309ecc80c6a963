/*
 * history_write.h — writing stage_history rows (history.c's statement
 * triggers; history_write.c's direct bulk insert).
 */
#ifndef LEADQUAL_HISTORY_WRITE_H
#define LEADQUAL_HISTORY_WRITE_H

#include "postgres.h"

/* One stage change, already reduced to plain values. */
typedef struct Change
{
	char	   *lead_id;		/* the key's output text */
	int			old_stage;		/* -1: NULL */
	int			new_stage;
	bool		score_null;
	double		score;
	bool		manual;
	int64		pos;			/* order in the statement */
} Change;

/*
 * Inserts n rows into leadqual.stage_history as the current user (the
 * caller has become the owner), in order, the way COPY does: heap
 * multi-inserts through a bulk-insert buffer, each row's index entries, its
 * column defaults, NOT NULL and CHECK constraints.  Returns false, having
 * written nothing, when the table is not one this path can write exactly as
 * an INSERT would (it has triggers, row security, generated columns, columns
 * of other types ...): the caller then uses an INSERT.  version > 0 goes into
 * stage_history.version (when the table has it) of the rows not set by hand.
 */
extern bool history_write_direct(Oid lead_table, const char *model, const char *actor,
								 int32 version, const Change *c, int n);

/* leadqual.history_write: 'direct' (the default) or 'insert' (for measuring them). */
extern int	history_write_method;

#define HISTORY_WRITE_DIRECT 0
#define HISTORY_WRITE_INSERT 1

#endif
