/*
 * pin.c — the pinned search_path of SQL run from C (pin.h).
 */
#include "postgres.h"

#include "utils/guc.h"

#include "pin.h"

int
pin_search_path(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

void
pin_pop(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
}
