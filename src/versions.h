/*
 * versions.h — rule set versions (leadqual.ruleset_versions), see versions.c.
 */
#ifndef LEADQUAL_VERSIONS_H
#define LEADQUAL_VERSIONS_H

#include "postgres.h"

/*
 * The version of model that decides a stage change now (0: none, or not
 * known before this transaction commits).  Call inside an SPI connection,
 * as the extension's owner.
 */
extern int32 versions_deciding(const char *model);

/* Whether the installed SQL has versions (1.1): stage_history.version exists. */
extern bool versions_installed(void);

#endif
