/*
 * leadqual.c — module entry: the magic block and _PG_init, which only calls
 * each module's init.
 */
#include "postgres.h"
#include "fmgr.h"
#include "utils/guc.h"

#include "leadqual.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	ruleset_init();
	validate_init();
	history_init();
	MarkGUCPrefixReserved("leadqual");
}
