/*
 * rescore.c — CALL leadqual.rescore(lead_table, batch_size): re-scores an
 * attached table after its rules changed, in primary-key batches with one
 * commit each, writing only rows whose score or stage changes.
 *
 * The writing is the lead trigger's: rescore issues UPDATE ... SET score =
 * score for the rows that need it, so stages follow exactly the trigger's
 * rules, and the SET list never names the stage column (no manual decisions).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "tcop/pquery.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "ruleset.h"
#include "scoring.h"
#include "subxact.h"

#define RESCORE_TRIES 5

/* What rescore_needed keeps per batch statement. */
typedef struct RescoreState
{
	CompiledModel *cm;
	Oid			score_type;		/* base type of the score column */
} RescoreState;

/*
 * The score as the score column stores it: a real or numeric column rounds,
 * and comparing the unrounded score would rewrite such rows on every rescore.
 */
static double
StoredScore(double score, Oid type)
{
	switch (type)
	{
		case FLOAT4OID:
			return (double) (float4) score;
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													  DirectFunctionCall1(float8_numeric,
																		  Float8GetDatum(score))));
		default:
			return score;
	}
}

/* Does the row need writing: would the trigger change its score or stage? */
PG_FUNCTION_INFO_V1(leadqual_rescore_needed);
Datum
leadqual_rescore_needed(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row;
	HeapTupleData tuple;
	RescoreState *st;
	LeadResult	res;
	Stage		automatic;
	int			stage;
	bool		locked;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	row = PG_GETARG_HEAPTUPLEHEADER(0);
	if (fcinfo->flinfo->fn_extra == NULL)
	{
		char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(1));

		/* rescore runs this once per batch statement: look the model up once */
		st = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(RescoreState));
		st->cm = ruleset_lookup(model, HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
		st->score_type = PG_ARGISNULL(5) ? FLOAT8OID : getBaseType(PG_GETARG_OID(5));
		fcinfo->flinfo->fn_extra = st;
	}
	st = (RescoreState *) fcinfo->flinfo->fn_extra;

	ruleset_row_tuple(row, &tuple);
	automatic = scoring_classify(st->cm, &tuple, &res);
	if (PG_ARGISNULL(2) || PG_GETARG_FLOAT8(2) != StoredScore(res.score, st->score_type) ||
		PG_ARGISNULL(3))
		PG_RETURN_BOOL(true);
	stage = stage_from_label(text_to_cstring(PG_GETARG_TEXT_PP(3)));
	locked = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	if (locked || stage == STAGE_SQL || stage == STAGE_WON || stage == STAGE_LOST)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(stage != (int) automatic);
}

typedef struct BatchStep
{
	const char *sql;
	Oid		   *types;
	Datum	   *args;
	const char *nulls;
	uint64		updated;
} BatchStep;

static void
RunBatch(void *arg)
{
	BatchStep  *step = (BatchStep *) arg;

	if (SPI_execute_with_args(step->sql, 2, step->types, step->args, step->nulls,
							  false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "rescore batch failed");
	step->updated = SPI_processed;
}

/* Runs one batch's UPDATE in a subtransaction; false if it hit a lock timeout. */
static bool
TryBatch(const char *sql, Oid *types, Datum *args, const char *nulls, uint64 *updated)
{
	BatchStep	step = {sql, types, args, nulls, 0};
	ErrorData  *edata = subxact_run(RunBatch, &step);

	if (edata != NULL)
	{
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(edata);
		return false;
	}
	*updated = step.updated;
	return true;
}

static char *
SpiGet(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* Re-scores a whole attached table, committing per batch. */
PG_FUNCTION_INFO_V1(leadqual_rescore);
Datum
leadqual_rescore(PG_FUNCTION_ARGS)
{
	Oid			relid;
	int32		batch_size;
	MemoryContext cxt;
	MemoryContext old;
	char	   *table;
	char	   *model;
	char	   *key;
	char	   *keytype;
	char	   *bounds_sql;
	char	   *first_sql;
	char	   *update_sql;
	char	   *engagement_sql = NULL;
	char	   *lo = NULL;
	int64		total;
	int64		done = 0;
	int64		updated_total = 0;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Oid			argtypes[1] = {OIDOID};
	Datum		args[2];

	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		((CallContext *) fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("leadqual.rescore cannot run inside a transaction block"),
				 errdetail("It commits after every batch."),
				 errhint("CALL it on its own, outside BEGIN ... COMMIT.")));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lead_table and batch_size must not be NULL")));
	relid = PG_GETARG_OID(0);
	batch_size = PG_GETARG_INT32(1);
	if (batch_size < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be at least 1")));

	/* survives the commits between batches */
	cxt = AllocSetContextCreate(PortalContext, "leadqual rescore", ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* every name below resolves in pg_catalog, whatever the caller's search_path */
	SPI_execute("SET LOCAL search_path = pg_catalog, pg_temp", false, 0);

	args[0] = ObjectIdGetDatum(relid);
	if (SPI_execute_with_args(
							  "SELECT a.lead_table::pg_catalog.text, a.model, "
							  "  pg_catalog.quote_ident(a.key_column), "
							  "  pg_catalog.format_type(t.atttypid, t.atttypmod), "
							  "  pg_catalog.quote_ident(a.score_column), "
							  "  pg_catalog.quote_ident(a.stage_column), "
							  "  pg_catalog.quote_ident(a.locked_column), "
							  "  s.atttypid::pg_catalog.text "
							  "FROM leadqual.attachments a JOIN pg_catalog.pg_attribute t "
							  "  ON t.attrelid OPERATOR(pg_catalog.=) a.lead_table "
							  " AND t.attname OPERATOR(pg_catalog.=) a.key_column "
							  "JOIN pg_catalog.pg_attribute s "
							  "  ON s.attrelid OPERATOR(pg_catalog.=) a.lead_table "
							  " AND s.attname OPERATOR(pg_catalog.=) a.score_column "
							  "WHERE a.lead_table OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual.attachments");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not attached to a leadqual model",
						format_type_be(get_rel_type_id(relid))),
				 errhint("Run leadqual.attach first.")));

	old = MemoryContextSwitchTo(cxt);
	table = SpiGet(0, 1);
	model = SpiGet(0, 2);
	key = SpiGet(0, 3);
	keytype = SpiGet(0, 4);
	first_sql = psprintf("WITH b AS (SELECT %s AS k FROM %s ORDER BY 1 LIMIT %d) "
						 "SELECT pg_catalog.max(k)::pg_catalog.text, pg_catalog.count(*) FROM b",
						 key, table, batch_size);
	bounds_sql = psprintf("WITH b AS (SELECT %s AS k FROM %s WHERE %s > $1::%s ORDER BY 1 LIMIT %d) "
						  "SELECT pg_catalog.max(k)::pg_catalog.text, pg_catalog.count(*) FROM b",
						  key, table, key, keytype, batch_size);
	update_sql = psprintf("UPDATE %s AS l SET %s = l.%s "
						  "WHERE ($1 IS NULL OR l.%s > $1::%s) AND l.%s <= $2::%s "
						  "  AND leadqual.rescore_needed(l, %s, l.%s::pg_catalog.float8, "
						  "                              l.%s::pg_catalog.text, l.%s, %s::pg_catalog.oid)",
						  table, SpiGet(0, 5), SpiGet(0, 5), key, keytype, key, keytype,
						  quote_literal_cstr(model), SpiGet(0, 5), SpiGet(0, 6), SpiGet(0, 7),
						  SpiGet(0, 8));
	MemoryContextSwitchTo(old);

	/* where events are attached, engagement is recomputed first: decay moves on */
	args[0] = CStringGetTextDatum(model);
	if (SPI_execute_with_args(
							  "SELECT a.events_table::pg_catalog.text, pg_catalog.quote_ident(a.lead_column), "
							  "  pg_catalog.quote_ident(a.type_column), pg_catalog.quote_ident(a.time_column), "
							  "  pg_catalog.quote_ident(m.engagement_column) "
							  "FROM leadqual.event_attachments a JOIN leadqual.models m USING (model) "
							  "WHERE a.model OPERATOR(pg_catalog.=) $1 AND m.engagement_column IS NOT NULL",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual.event_attachments");
	if (SPI_processed == 1)
	{
		old = MemoryContextSwitchTo(cxt);
		engagement_sql = psprintf("UPDATE %s AS l SET %s = x.engagement "
								  "FROM (SELECT k.%s AS id, coalesce(leadqual.engagement(ev.%s, ev.%s, %s), 0) AS engagement "
								  "        FROM %s k LEFT JOIN %s ev ON ev.%s OPERATOR(pg_catalog.=) k.%s "
								  "       WHERE ($1 IS NULL OR k.%s > $1::%s) AND k.%s <= $2::%s GROUP BY k.%s) x "
								  "WHERE l.%s OPERATOR(pg_catalog.=) x.id AND l.%s IS DISTINCT FROM x.engagement",
								  table, SpiGet(0, 5), key, SpiGet(0, 3), SpiGet(0, 4),
								  quote_literal_cstr(model), table, SpiGet(0, 1), SpiGet(0, 2), key,
								  key, keytype, key, keytype, key, key, SpiGet(0, 5));
		MemoryContextSwitchTo(old);
	}

	if (SPI_execute(psprintf("SELECT pg_catalog.count(*) FROM %s", table), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not count %s", table);
	total = DatumGetInt64(DirectFunctionCall1(int8in, CStringGetDatum(SpiGet(0, 1))));

	for (;;)
	{
		char	   *hi;
		int64		n;
		uint64		updated = 0;
		uint64		eng_updated = 0;
		int			tries = 0;

		/* each batch is a new transaction: pin the path again */
		SPI_execute("SET LOCAL search_path = pg_catalog, pg_temp", false, 0);
		if (lo == NULL)
		{
			if (SPI_execute(first_sql, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "rescore could not read a batch");
		}
		else
		{
			args[0] = CStringGetTextDatum(lo);
			if (SPI_execute_with_args(bounds_sql, 1, types, args, NULL, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "rescore could not read a batch");
		}
		n = DatumGetInt64(DirectFunctionCall1(int8in, CStringGetDatum(SpiGet(0, 2))));
		if (n == 0)
			break;
		old = MemoryContextSwitchTo(cxt);
		hi = SpiGet(0, 1);
		MemoryContextSwitchTo(old);

		/* rows a person or another job holds: wait briefly, then try again */
		SPI_execute("SET LOCAL lock_timeout = '2s'", false, 0);
		args[0] = lo ? CStringGetTextDatum(lo) : (Datum) 0;
		args[1] = CStringGetTextDatum(hi);
		while ((engagement_sql != NULL &&
				!TryBatch(engagement_sql, types, args, lo ? "  " : "n ", &eng_updated)) ||
			   !TryBatch(update_sql, types, args, lo ? "  " : "n ", &updated))
		{
			if (++tries >= RESCORE_TRIES)
				ereport(ERROR,
						(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
						 errmsg("rescore of %s gave up on rows up to key %s after %d lock timeouts",
								table, hi, tries),
						 errhint("Batches before it are committed; CALL leadqual.rescore again later.")));
			ereport(NOTICE,
					(errmsg("rescore %s: rows up to key %s are locked, retrying", table, hi)));
		}
		done += n;
		updated_total += updated + eng_updated;
		SPI_commit();
		ereport(NOTICE,
				(errmsg("rescore %s: " INT64_FORMAT " of " INT64_FORMAT " rows, " INT64_FORMAT " updated",
						table, done, total, updated_total)));
		lo = hi;
	}
	SPI_finish();
	MemoryContextDelete(cxt);
	PG_RETURN_VOID();
}
