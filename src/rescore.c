/*
 * rescore.c — CALL leadqual.rescore(lead_table, batch_size): re-scores an
 * attached table after its rules changed, in primary-key batches with one
 * commit each, writing only rows whose score or stage changes.
 *
 * The writing is the lead trigger's: rescore issues UPDATE ... SET score =
 * score for the rows that need it, so stages follow exactly the trigger's
 * rules, and the SET list never names the stage column (no manual decisions).
 * A batch locks the rows it will write in key order before writing any (see
 * RunBatch), so it cannot deadlock with the events trigger, which does the same.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "tcop/pquery.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "citus.h"
#include "keys.h"
#include "lead_policy.h"
#include "lead_trigger.h"
#include "rescore.h"
#include "pin.h"
#include "ruleset.h"
#include "scoring.h"
#include "subxact.h"

#define RESCORE_TRIES 5

/* The score column's base type; the usual ones without a catalog lookup per row. */
static Oid
ScoreBaseType(Oid type)
{
	if (type == FLOAT8OID || type == FLOAT4OID || type == NUMERICOID)
		return type;
	return getBaseType(type);
}

/*
 * Does the row need writing: would the trigger change its score or stage?
 * (lead, model, score, stage, locked, score_type), or narrowed (narrow.h):
 * rescore's own query passes only the columns the rules read.  The model is
 * looked up as by score (one compiled model per call site and snapshot), so
 * a hand call may pass rows of several types or models.
 */
static Datum
RescoreNeededCall(FunctionCallInfo fcinfo, bool narrowed)
{
	CompiledModel *cm;
	TupleTableSlot *slot;
	LeadResult	res;
	Stage		automatic;
	int			stage;
	bool		locked;

	if (PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	slot = scoring_call_slot(fcinfo, 6, narrowed, &cm);
	if (slot == NULL)
		PG_RETURN_BOOL(false);
	automatic = scoring_classify_slot(cm, slot, &res);
	ExecClearTuple(slot);
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		PG_GETARG_FLOAT8(2) != lead_stored_score(res.score,
												 PG_ARGISNULL(5) ? FLOAT8OID : ScoreBaseType(PG_GETARG_OID(5))))
		PG_RETURN_BOOL(true);
	stage = stage_from_label(PG_GETARG_TEXT_PP(3));
	locked = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	/* (a label that is no stage: a locked lead is left alone, any other written) */
	if ((stage < 0 && locked) || lead_stage_kept(stage, locked))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(stage != (int) automatic);
}

PG_FUNCTION_INFO_V1(leadqual_rescore_needed);
Datum
leadqual_rescore_needed(PG_FUNCTION_ARGS)
{
	return RescoreNeededCall(fcinfo, false);
}

PG_FUNCTION_INFO_V1(leadqual_rescore_needed_narrowed);
Datum
leadqual_rescore_needed_narrowed(PG_FUNCTION_ARGS)
{
	return RescoreNeededCall(fcinfo, true);
}

/* The statements of one rescore run, built once from the attachment. */
typedef struct RescorePlan
{
	char	   *table;			/* quoted, for messages too */
	char	   *model;
	char	   *first_sql;		/* the upper key of the first batch */
	char	   *bounds_sql;		/* ... of the batch after $1 */
	char	   *lock_sql;		/* locks the batch's rows that will be written */
	char	   *engagement_sql; /* NULL: no events attached */
	char	   *update_sql;
} RescorePlan;

/* What one try of a batch needs and gives. */
typedef struct BatchStep
{
	RescorePlan *plan;
	Datum		bounds[2];		/* lower (exclusive, NULL for the first) and upper key, text */
	uint64		updated;
} BatchStep;

/*
 * Pins the settings rescore's SQL relies on, in a GUC nest level of their own:
 * popped again before each commit and at the end, so the caller's
 * transaction (a procedure that goes on after CALL) keeps its own search_path.
 */
static int
PinSettings(bool lock_timeout)
{
	/* every name rescore writes resolves in pg_catalog, whatever the caller's path */
	int			nestlevel = pin_search_path();

	/* rows a person or another job holds: wait briefly, then try the batch again */
	if (lock_timeout)
		(void) set_config_option("lock_timeout", "2s", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/*
 * One batch: first lock, in key order, every row of the batch that will be
 * written (its engagement or its score or stage would change), then write
 * only those rows.  Every path of leadqual that locks several leads locks
 * them in key order (the events trigger does the same), so none waits for
 * another in a cycle.  Engagement is recomputed after the lock, in a new
 * statement whose snapshot sees every event committed by whoever held a row
 * before: the value computed while locking may be stale.
 */
static void
RunBatch(void *arg)
{
	BatchStep  *step = (BatchStep *) arg;
	RescorePlan *plan = step->plan;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		keys;
	Oid			keyarray;		/* the type array_agg gave the keys */
	bool		isnull;

	if (SPI_execute_with_args(plan->lock_sql, 2, types, step->bounds,
							  step->bounds[0] == (Datum) 0 ? "n " : "  ",
							  false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "rescore could not lock a batch");
	keys = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;					/* nothing to write */
	keyarray = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	keys = datumCopy(keys, false, -1);
	if (plan->engagement_sql != NULL)
	{
		if (SPI_execute_with_args(plan->engagement_sql, 1, &keyarray, &keys, NULL,
								  false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "rescore could not write engagement");
		step->updated += SPI_processed;
	}
	if (SPI_execute_with_args(plan->update_sql, 1, &keyarray, &keys, NULL,
							  false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "rescore batch failed");
	step->updated += SPI_processed;
}

/*
 * Runs one batch in a subtransaction, again after a lock timeout or a
 * deadlock (whoever held the rows has moved on by then); gives up after
 * RESCORE_TRIES.  Returns the rows written.
 */
static uint64
RescoreBatch(RescorePlan *plan, const char *lo, const char *hi)
{
	BatchStep	step;
	ErrorData  *edata;

	for (int tries = 1;; tries++)
	{
		memset(&step, 0, sizeof(step));
		step.plan = plan;
		step.bounds[0] = lo ? CStringGetTextDatum(lo) : (Datum) 0;
		step.bounds[1] = CStringGetTextDatum(hi);
		edata = subxact_run(RunBatch, &step);
		if (edata == NULL)
			return step.updated;
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE &&
			edata->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED)
			ReThrowError(edata);
		if (tries >= RESCORE_TRIES)
			ereport(ERROR,
					(errcode(edata->sqlerrcode),
					 errmsg("rescore of %s gave up on rows up to key %s after %d tries",
							plan->table, hi, tries),
					 errdetail("The last try failed with: %s", edata->message),
					 errhint("Batches before it are committed; CALL leadqual.rescore again later.")));
		ereport(NOTICE,
				(errmsg("rescore %s: rows up to key %s are locked, retrying", plan->table, hi),
				 errdetail("%s", edata->message)));
		FreeErrorData(edata);
	}
}

static char *
SpiGet(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* The batch's keys, ($1, $2], of the table aliased alias. */
static char *
KeyRange(const char *alias, const char *key, const char *keytype)
{
	return psprintf("($1 IS NULL OR %s.%s > $1::%s) AND %s.%s <= $2::%s",
					alias, key, keytype, alias, key, keytype);
}

/* The events rescore recomputes engagement from (rescore.h); simulate reads them here too. */
bool
rescore_events_source(const char *model, Oid lead_table, const LeadColumns *cols,
					  MemoryContext cxt, EventsSource *src)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	MemoryContext old;

	args[0] = CStringGetTextDatum(model);
	if (SPI_execute_with_args(
							  "SELECT a.events_table::pg_catalog.text, pg_catalog.quote_ident(a.lead_column), "
							  "  pg_catalog.quote_ident(a.type_column), pg_catalog.quote_ident(a.time_column), "
							  "  m.engagement_column::pg_catalog.text, a.events_table::pg_catalog.oid, "
							  "  a.lead_column::pg_catalog.text "
							  "FROM leadqual.event_attachments a JOIN leadqual.models m USING (model) "
							  "WHERE a.model OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual.event_attachments");
	if (SPI_processed != 1)
		return false;
	old = MemoryContextSwitchTo(cxt);
	src->events_table = SpiGet(0, 1);
	src->lead_column = SpiGet(0, 2);
	src->type_column = SpiGet(0, 3);
	src->time_column = SpiGet(0, 4);
	src->engagement_column = SpiGet(0, 5);
	src->key_eq = key_equality_sql(cols->key_type, lead_table);
	{
		bool		isnull;
		Oid			events = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
															SPI_tuptable->tupdesc, 6, &isnull));

		src->key_collate = key_collate_sql(lead_table, cols->key_att, events, SpiGet(0, 7));
	}
	MemoryContextSwitchTo(old);
	return true;
}

/* Reads relid's attachment and builds the statements of a run (into cxt). */
static RescorePlan *
PlanRescore(Oid relid, int32 batch_size, MemoryContext cxt)
{
	MemoryContext old;
	AttachmentDef *att = ruleset_find_attachment(relid);
	RescorePlan *plan;
	EventsSource ev;
	char	   *key;
	char	   *keytype;
	char	   *score;
	char	   *needed;
	Relation	rel;
	LeadColumns cols;
	Form_pg_attribute keyatt;

	if (att == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not attached to a leadqual model",
						format_type_be(get_rel_type_id(relid))),
				 errhint("Run leadqual.attach first.")));

	/* att lives in the rule-set cache, which a later batch may rebuild: copied here */
	old = MemoryContextSwitchTo(cxt);
	/* the columns as the triggers resolve and check them */
	rel = table_open(relid, AccessShareLock);
	lead_columns(rel, att, true, &cols);
	keyatt = TupleDescAttr(RelationGetDescr(rel), cols.key_att - 1);
	keytype = format_type_with_typemod(keyatt->atttypid, keyatt->atttypmod);
	table_close(rel, AccessShareLock);
	plan = palloc0(sizeof(RescorePlan));
	plan->table = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											 get_rel_name(relid));
	plan->model = pstrdup(att->model);
	key = pstrdup(quote_identifier(att->key_column));
	score = pstrdup(quote_identifier(att->score_column));
	/* l.*: a bare l would be a column named l */
	needed = psprintf("leadqual.rescore_needed(l.*, %s, l.%s::pg_catalog.float8, "
					  "l.%s::pg_catalog.text, l.%s, %u::pg_catalog.oid)",
					  quote_literal_cstr(plan->model), score,
					  quote_identifier(att->stage_column), quote_identifier(att->locked_column),
					  cols.score_type);
	plan->first_sql = psprintf("WITH b AS (SELECT %s AS k FROM %s ORDER BY 1 LIMIT %d) "
							   "SELECT pg_catalog.max(k)::pg_catalog.text, pg_catalog.count(*) FROM b",
							   key, plan->table, batch_size);
	plan->bounds_sql = psprintf("WITH b AS (SELECT %s AS k FROM %s WHERE %s > $1::%s ORDER BY 1 LIMIT %d) "
								"SELECT pg_catalog.max(k)::pg_catalog.text, pg_catalog.count(*) FROM b",
								key, plan->table, key, keytype, batch_size);
	plan->update_sql = psprintf("UPDATE %s AS l SET %s = l.%s "
								"WHERE l.%s OPERATOR(pg_catalog.=) ANY ($1) AND %s",
								plan->table, score, score, key, needed);
	/* without events; replaced below where events are attached */
	plan->lock_sql = psprintf("SELECT pg_catalog.array_agg(s.k) FROM "
							  "(SELECT l.%s AS k FROM %s AS l WHERE %s AND %s "
							  " ORDER BY l.%s FOR NO KEY UPDATE OF l) s",
							  key, plan->table, KeyRange("l", key, keytype), needed, key);
	MemoryContextSwitchTo(old);

	/* where events are attached, engagement is recomputed too: decay moves on */
	if (rescore_events_source(plan->model, relid, &cols, cxt, &ev) && ev.engagement_column != NULL)
	{
		char	   *events;
		char	   *lead;
		char	   *engagement;
		char	   *eng;

		old = MemoryContextSwitchTo(cxt);
		events = ev.events_table;
		lead = ev.lead_column;
		eng = pstrdup(quote_identifier(ev.engagement_column));
		engagement = psprintf("coalesce(leadqual.engagement(ev.%s, ev.%s, %s), 0)",
							  ev.type_column, ev.time_column, quote_literal_cstr(plan->model));
		plan->lock_sql = psprintf("SELECT pg_catalog.array_agg(s.k) FROM "
								  "(SELECT l.%s AS k FROM %s AS l "
								  "   LEFT JOIN (SELECT k.%s AS id, %s AS engagement "
								  "                FROM %s k LEFT JOIN %s ev ON ev.%s %s k.%s%s "
								  "               WHERE %s GROUP BY k.%s) x "
								  "     ON x.id OPERATOR(pg_catalog.=) l.%s "
								  "  WHERE %s AND (l.%s IS DISTINCT FROM x.engagement OR %s) "
								  "  ORDER BY l.%s FOR NO KEY UPDATE OF l) s",
								  key, plan->table,
								  key, engagement,
								  plan->table, events, lead, ev.key_eq, key, ev.key_collate,
								  KeyRange("k", key, keytype), key,
								  key,
								  KeyRange("l", key, keytype), eng, needed,
								  key);
		plan->engagement_sql = psprintf("UPDATE %s AS l SET %s = x.engagement "
										"FROM (SELECT k.id, %s AS engagement "
										"        FROM pg_catalog.unnest($1) AS k(id) "
										"        LEFT JOIN %s ev ON ev.%s %s k.id%s "
										"       GROUP BY k.id) x "
										"WHERE l.%s OPERATOR(pg_catalog.=) x.id "
										"  AND l.%s IS DISTINCT FROM x.engagement",
										plan->table, eng, engagement, events, lead, ev.key_eq,
										ev.key_collate, key, eng);
		MemoryContextSwitchTo(old);
	}
	return plan;
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
	RescorePlan *plan;
	char	   *lo = NULL;
	int64		done = 0;
	int64		updated_total = 0;
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	int			nestlevel;

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
	citus_refuse_table(relid, "leadqual.rescore", NULL, false);

	/* survives the commits between batches */
	cxt = AllocSetContextCreate(PortalContext, "leadqual rescore", ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	nestlevel = PinSettings(false);
	plan = PlanRescore(relid, batch_size, cxt);
	pin_pop(nestlevel);

	for (;;)
	{
		char	   *hi;
		int64		n;

		/* each batch is a new transaction: pin again, and unpin before it commits */
		nestlevel = PinSettings(true);
		if (lo == NULL)
		{
			if (SPI_execute(plan->first_sql, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "rescore could not read a batch");
		}
		else
		{
			args[0] = CStringGetTextDatum(lo);
			if (SPI_execute_with_args(plan->bounds_sql, 1, types, args, NULL, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "rescore could not read a batch");
		}
		n = DatumGetInt64(DirectFunctionCall1(int8in, CStringGetDatum(SpiGet(0, 2))));
		if (n == 0)
		{
			pin_pop(nestlevel);
			break;
		}
		old = MemoryContextSwitchTo(cxt);
		hi = SpiGet(0, 1);
		MemoryContextSwitchTo(old);

		updated_total += RescoreBatch(plan, lo, hi);
		done += n;
		pin_pop(nestlevel);
		SPI_commit();
		/* (progress by key: a total would cost a scan of the whole table) */
		ereport(NOTICE,
				(errmsg("rescore %s: done up to key %s (" INT64_FORMAT " rows), " INT64_FORMAT " updated",
						plan->table, hi, done, updated_total)));
		lo = hi;
	}
	SPI_finish();
	MemoryContextDelete(cxt);
	PG_RETURN_VOID();
}
