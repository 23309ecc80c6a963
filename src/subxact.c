/*
 * subxact.c — one place for the subtransaction dance that PL/pgSQL's
 * EXCEPTION blocks do: begin, run, release or roll back, restore context and
 * resource owner.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "subxact.h"

/*
 * Errors that say nothing about the step: a cancel or statement_timeout
 * (57014), an administrator's shutdown (the rest of class 57), resources
 * running out (class 53: out of memory, disk full, too many connections) and
 * system errors (class 58: I/O).  The caller must never mistake them for "this
 * rule cannot be compiled".
 */
static bool
MustPropagate(int sqlerrcode)
{
	int			category = ERRCODE_TO_CATEGORY(sqlerrcode);

	return category == ERRCODE_OPERATOR_INTERVENTION ||
		category == ERRCODE_INSUFFICIENT_RESOURCES ||
		category == ERRCODE_SYSTEM_ERROR;
}

ErrorData *
subxact_run(void (*step) (void *arg), void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		step(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	if (edata != NULL && MustPropagate(edata->sqlerrcode))
		ReThrowError(edata);
	return edata;
}
