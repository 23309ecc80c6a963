/*
 * citus.h — recognising Citus tables and shards, without linking to Citus.
 */
#ifndef LEADQUAL_CITUS_H
#define LEADQUAL_CITUS_H

#include "postgres.h"

/* Is Citus' metadata in this database (pg_catalog.pg_dist_partition)? */
extern bool citus_present(void);

/*
 * The Citus table relid belongs to (itself, or the distributed table a shard
 * of it belongs to, by this node's metadata); InvalidOid if none or no Citus.
 */
extern Oid	citus_table_of(Oid relid, bool *is_shard);

/*
 * Refuses (0A000) a leadqual trigger or procedure run on a Citus table or
 * shard; the hint shows the distributed UPDATE to use instead (for engagement
 * if events).
 */
extern void citus_refuse_table(Oid relid, const char *what, const char *model, bool events);

/*
 * ereport auxiliary for "model does not exist": on a Citus worker, says why
 * (the configuration tables are local to each node) and what to do instead.
 */
extern int	citus_errdetail_missing_model(const char *model);

#endif
