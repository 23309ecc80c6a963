/*
 * pin.h — the settings SQL run from C relies on, pinned in a GUC nest level
 * of their own: every name it writes resolves in pg_catalog (or pg_temp),
 * whatever the caller's search_path.
 */
#ifndef LEADQUAL_PIN_H
#define LEADQUAL_PIN_H

#include "postgres.h"

/* Pins search_path to "pg_catalog, pg_temp"; returns the nest level for pin_pop. */
extern int	pin_search_path(void);

/* Pops what was pinned at nestlevel (and any setting pinned after it). */
extern void pin_pop(int nestlevel);

#endif
