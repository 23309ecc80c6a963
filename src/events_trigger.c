/*
 * events_trigger.c — the statement triggers leadqual.attach_events installs on
 * an events table: after events are inserted or deleted, each affected lead's
 * engagement is recomputed from all of its events and written to the model's
 * engagement column (the lead trigger then re-scores and re-stages the lead).
 *
 * Per statement, with three saved SPI plans per events table:
 *   lock   SELECT the leads of the transition table's lead keys in key order
 *          FOR NO KEY UPDATE (no deadlock between two event loads; it does not
 *          conflict with the KEY SHARE an events foreign key takes);
 *   read   in a new statement, whose READ COMMITTED snapshot sees every event
 *          committed by a session that held a lock before us, the (type, time)
 *          of every event of the locked leads, looked up by the lead column;
 *   write  one UPDATE of the leads whose engagement changes, from arrays.
 * The engagement itself is computed here with the aggregate's own arithmetic
 * (engagement.h), as of now() like leadqual.engagement.
 *
 * Why not incremental: engagement decays from as_of = now(), which moves with
 * every transaction, per event type with its own half-life, and caps clamp
 * each type's sum, so the stored total cannot be updated from the new events
 * alone; that would need per-lead, per-type sums and their as_of (new state the
 * stored column does not have, and that a user's UPDATE of the column would
 * not keep), and re-decaying a sum still differs from the aggregate in the
 * last bits.  So every event of an affected lead is read again, through an
 * index-friendly plan that is prepared once.
 *
 * The attachment is read at fire time through the rule cache (a table
 * leadqual.attach_events did not set up is refused), and the plans are
 * rebuilt when the rule-set generation (models, event_rules,
 * event_attachments) or any relcache invalidation (DDL on the tables) moves
 * on.  Everything here runs as the user writing the events: nothing switches
 * to the extension owner except the rule cache's own read of the attachment.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "engagement.h"
#include "ruleset.h"

/* leads per read and write statement: bounds the memory of a bulk load */
#define EVENTS_CHUNK 1000

#define TRIGGER_NAME "leadqual.events_trigger()"

/* What the trigger keeps per events table; valid while stamp and inval match. */
typedef struct EventsTable
{
	Oid			relid;
	bool		valid;
	uint64		stamp;			/* ruleset_generation_stamp() when built */
	uint64		inval;			/* ruleset_inval_count() when built */
	bool		inert;			/* no engagement column or no lead key: nothing to do */
	AttrNumber	lead_att;		/* the lead column in the events table */
	Oid			key_type;
	int16		key_len;
	bool		key_byval;
	char		key_align;
	MemoryContext cxt;			/* the rules; reset when rebuilt */
	EngagementRules *rules;
	SPIPlanPtr	lock_plan;
	SPIPlanPtr	read_plan;
	SPIPlanPtr	write_plan;
	struct EventsTable *next;
} EventsTable;

static EventsTable *EventsTables = NULL;

/* The single-column primary key of a table, or InvalidAttrNumber. */
static AttrNumber
PrimaryKeyColumn(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	Oid			pk;
	HeapTuple	tup;
	AttrNumber	att = InvalidAttrNumber;

	if (!RelationIsValid(rel))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("lead table of an events attachment does not exist")));
	pk = RelationGetPrimaryKeyIndex(rel);
	RelationClose(rel);
	if (!OidIsValid(pk))
		return InvalidAttrNumber;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_index index = (Form_pg_index) GETSTRUCT(tup);

		if (index->indnkeyatts == 1)
			att = index->indkey.values[0];
		ReleaseSysCache(tup);
	}
	return att;
}

static char *
QualifiedRelName(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

static SPIPlanPtr
Prepare(const char *sql, int nargs, Oid *argtypes)
{
	/* the same plan fits every statement: never plan per execution */
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	return plan;
}

/* Builds et's plans and rules for att (inside an SPI connection). */
static void
BuildEventsTable(EventsTable *et, const EventAttachmentDef *att, Relation events)
{
	TupleDesc	desc = RelationGetDescr(events);
	AttrNumber	key_att;
	Oid			arraytype;
	Oid			argtypes[2];
	char	   *lead;
	char	   *key;
	char	   *eng;
	SPIPlanPtr	lock_plan;
	SPIPlanPtr	read_plan;
	SPIPlanPtr	write_plan;

	et->lead_att = SPI_fnumber(desc, att->lead_column);
	if (et->lead_att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("lead column \"%s\" of leadqual's events attachment does not exist in table \"%s\"",
						att->lead_column, RelationGetRelationName(events)),
				 errhint("Run leadqual.detach_events and leadqual.attach_events again.")));
	et->key_type = TupleDescAttr(desc, et->lead_att - 1)->atttypid;
	get_typlenbyvalalign(et->key_type, &et->key_len, &et->key_byval, &et->key_align);

	key_att = PrimaryKeyColumn(att->lead_table);
	et->inert = att->engagement_column == NULL || key_att == InvalidAttrNumber;
	if (et->inert)
		return;					/* the model keeps no engagement, or its table lost its key */

	arraytype = get_array_type(et->key_type);
	if (!OidIsValid(arraytype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("lead column \"%s\" of table \"%s\" has type %s, which has no array type",
						att->lead_column, RelationGetRelationName(events),
						format_type_be(et->key_type))));

	lead = QualifiedRelName(att->lead_table);
	key = (char *) quote_identifier(get_attname(att->lead_table, key_att, false));
	eng = (char *) quote_identifier(att->engagement_column);
	argtypes[0] = arraytype;
	argtypes[1] = FLOAT8ARRAYOID;

	lock_plan = Prepare(psprintf("SELECT l.%s FROM %s l WHERE l.%s OPERATOR(pg_catalog.=) ANY ($1) "
								 "ORDER BY l.%s FOR NO KEY UPDATE OF l",
								 key, lead, key, key),
						1, argtypes);
	read_plan = Prepare(psprintf("SELECT k.i, e.%s::pg_catalog.text, e.%s "
								 "FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(id, i) "
								 "JOIN %s e ON e.%s OPERATOR(pg_catalog.=) k.id",
								 quote_identifier(att->type_column),
								 quote_identifier(att->time_column),
								 QualifiedRelName(att->events_table),
								 quote_identifier(att->lead_column)),
						1, argtypes);
	write_plan = Prepare(psprintf("UPDATE %s l SET %s = u.e "
								  "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS u(id, e) "
								  "WHERE l.%s OPERATOR(pg_catalog.=) u.id "
								  "  AND (l.%s IS NULL OR l.%s OPERATOR(pg_catalog.<>) u.e)",
								  lead, eng, key, eng, eng),
						 2, argtypes);
	if (SPI_keepplan(lock_plan) != 0 || SPI_keepplan(read_plan) != 0 ||
		SPI_keepplan(write_plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	et->lock_plan = lock_plan;
	et->read_plan = read_plan;
	et->write_plan = write_plan;

	/* the model's event rules under the same snapshot as the attachment */
	et->rules = engagement_rules_load(att->model, strlen(att->model), et->cxt);
}

/* The events table's plans, built again when the configuration or a table changed. */
static EventsTable *
GetEventsTable(Relation events, const EventAttachmentDef *att)
{
	Oid			relid = RelationGetRelid(events);
	uint64		stamp = ruleset_generation_stamp();
	uint64		inval = ruleset_inval_count();
	EventsTable *et;

	for (et = EventsTables; et != NULL; et = et->next)
		if (et->relid == relid)
			break;
	if (et == NULL)
	{
		et = MemoryContextAllocZero(TopMemoryContext, sizeof(EventsTable));
		et->relid = relid;
		et->cxt = AllocSetContextCreate(TopMemoryContext, "leadqual events table",
										ALLOCSET_SMALL_SIZES);
		et->next = EventsTables;
		EventsTables = et;
	}
	if (et->valid && et->stamp == stamp && et->inval == inval)
		return et;

	/* invalid until rebuilt: an error half way leaves nothing half-built in use */
	et->valid = false;
	if (et->lock_plan)
		SPI_freeplan(et->lock_plan);
	if (et->read_plan)
		SPI_freeplan(et->read_plan);
	if (et->write_plan)
		SPI_freeplan(et->write_plan);
	et->lock_plan = et->read_plan = et->write_plan = NULL;
	et->rules = NULL;
	MemoryContextReset(et->cxt);

	BuildEventsTable(et, att, events);
	et->stamp = stamp;
	et->inval = inval;
	et->valid = true;
	return et;
}

/* The lead keys of the transition table's rows (repeats included), copied into the current context. */
static Datum *
TransitionKeys(EventsTable *et, Relation events, Tuplestorestate *ts, int *nkeys)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(events),
													&TTSOpsMinimalTuple);
	int			ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);
	int			n = 0;
	int			max = 64;
	Datum	   *keys = palloc(max * sizeof(Datum));

	/* a fresh read pointer: other triggers may read the same transition table */
	tuplestore_select_read_pointer(ts, ptr);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, et->lead_att, &isnull);

		if (isnull)
			continue;
		if (n == max)
		{
			max *= 2;
			keys = repalloc_huge(keys, max * sizeof(Datum));
		}
		keys[n++] = datumCopy(d, et->key_byval, et->key_len);
	}
	ExecDropSingleTupleTableSlot(slot);
	*nkeys = n;
	return keys;
}

static Datum
KeyArray(EventsTable *et, Datum *keys, int n)
{
	return PointerGetDatum(construct_array(keys, n, et->key_type, et->key_len,
										   et->key_byval, et->key_align));
}

/*
 * Recomputes and writes the engagement of keys[0..n) (locked leads), as of
 * now() — or, for a lead whose events include one later than now() but not
 * later than clock (the time the locks were held), as of the latest such
 * event.  That event was committed by a session that started after ours and
 * held the lead's lock before us; computed as of our now() it would count
 * nothing (it lies after as_of), and our write, the last, would lose it.
 */
static void
WriteChunk(EventsTable *et, Datum *keys, int n, TimestampTz now, TimestampTz clock)
{
	EngagementRules *rules = et->rules;
	int			ntypes = Max(rules->ntypes, 1);
	double	   *sums = palloc0(sizeof(double) * ntypes * n);
	TimestampTz *as_of = palloc(sizeof(TimestampTz) * n);
	Datum	   *totals = palloc(sizeof(Datum) * n);
	int64	   *lead;
	TimestampTz *times;
	Datum		args[2];
	int			ret;
	uint64		nrows;

	args[0] = KeyArray(et, keys, n);
	/* a new statement: its snapshot sees events committed before we got the locks */
	ret = SPI_execute_plan(et->read_plan, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "leadqual could not read events: %s", SPI_result_code_string(ret));
	nrows = SPI_processed;

	/* which lead, and when (DT_NOBEGIN: no time, or no lead) */
	lead = palloc(sizeof(int64) * Max(nrows, 1));
	times = palloc(sizeof(TimestampTz) * Max(nrows, 1));
	for (int i = 0; i < n; i++)
		as_of[i] = now;
	for (uint64 r = 0; r < nrows; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		bool		isnull;
		bool		tnull;

		lead[r] = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		times[r] = DatumGetTimestampTz(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &tnull));
		if (isnull || tnull || lead[r] < 1 || lead[r] > n)
		{
			times[r] = DT_NOBEGIN;
			continue;
		}
		if (times[r] > as_of[lead[r] - 1] && times[r] <= clock)
			as_of[lead[r] - 1] = times[r];
	}
	for (uint64 r = 0; r < nrows; r++)
	{
		int64		i = lead[r];
		bool		isnull;
		Datum		type;
		text	   *t;
		int			slot;

		/* as the aggregate: no time or later than as_of, no points */
		if (times[r] == DT_NOBEGIN || times[r] > as_of[i - 1])
			continue;
		type = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);
		if (isnull)
			continue;
		t = DatumGetTextPP(type);
		slot = engagement_rules_slot(rules, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		if (slot >= 0)
			engagement_accumulate(rules, sums + (i - 1) * ntypes, slot, as_of[i - 1], times[r]);
	}
	SPI_freetuptable(SPI_tuptable);

	for (int i = 0; i < n; i++)
		totals[i] = Float8GetDatum(engagement_total(rules, sums + i * ntypes));
	args[1] = PointerGetDatum(construct_array(totals, n, FLOAT8OID, sizeof(float8),
											  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	ret = SPI_execute_plan(et->write_plan, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "leadqual could not write engagement: %s", SPI_result_code_string(ret));
}

/* Keeps the engagement of the leads whose events a statement inserted or deleted. */
PG_FUNCTION_INFO_V1(leadqual_events_trigger);
Datum
leadqual_events_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	EventAttachmentDef *att;
	EventsTable *et;
	Tuplestorestate *ts;
	Datum	   *keys;
	Datum	   *locked;
	int			nkeys;
	int			nlocked;
	Datum		args[1];
	int			ret;
	TimestampTz clock;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s can only be called as a trigger", TRIGGER_NAME)));
	/* first of all: is this a table leadqual.attach_events set up? */
	att = ruleset_event_attachment(RelationGetRelid(td->tg_relation), TRIGGER_NAME);
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_DELETE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be an AFTER INSERT or AFTER DELETE statement trigger", TRIGGER_NAME),
				 errhint("Run leadqual.detach_events and leadqual.attach_events to make the triggers again.")));
	ts = TRIGGER_FIRED_BY_INSERT(td->tg_event) ? td->tg_newtable : td->tg_oldtable;
	if (ts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s needs a transition table", TRIGGER_NAME),
				 errhint("Run leadqual.detach_events and leadqual.attach_events to make the triggers again.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	et = GetEventsTable(td->tg_relation, att);
	if (et->inert)
	{
		SPI_finish();
		return PointerGetDatum(NULL);
	}

	keys = TransitionKeys(et, td->tg_relation, ts, &nkeys);
	if (nkeys > 0)
	{
		/* lock the leads in key order (each once, however many events it got) */
		args[0] = KeyArray(et, keys, nkeys);
		ret = SPI_execute_plan(et->lock_plan, args, NULL, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "leadqual could not lock leads: %s", SPI_result_code_string(ret));
		nlocked = SPI_processed;
		locked = palloc(Max(nlocked, 1) * sizeof(Datum));
		for (int i = 0; i < nlocked; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

			locked[i] = datumCopy(d, et->key_byval, et->key_len);
		}
		SPI_freetuptable(SPI_tuptable);
		clock = GetCurrentTimestamp();

		/* then compute and write, a chunk of leads per statement */
		for (int from = 0; from < nlocked; from += EVENTS_CHUNK)
			WriteChunk(et, locked + from, Min(EVENTS_CHUNK, nlocked - from),
					   GetCurrentTransactionStartTimestamp(), clock);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
