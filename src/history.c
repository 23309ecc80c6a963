/*
 * history.c — the AFTER INSERT / AFTER UPDATE statement triggers that
 * leadqual.attach installs: one stage_history row per changed stage, and
 * NOTIFY leadqual_stage for each.  Being AFTER, a skipped or rolled-back row
 * leaves no history.
 *
 * stage_history is the extension owner's (lead writers need no grant on it),
 * so the rows are written as the owner.  Nothing of the user's runs then: the
 * transition tables are read here, as the user writing the leads, with the
 * key type's output function and plain C for stage, score and lock; only the
 * already-computed values (text, leadqual.stage, float8, boolean arrays) go
 * into the owner's INSERT.  The attachment (model, columns) is looked up at
 * fire time; a table that leadqual.attach did not set up is refused.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplesort.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"

#include "history_write.h"
#include "leadqual.h"
#include "lead_policy.h"
#include "lead_trigger.h"
#include "versions.h"

/* history rows per INSERT statement: bounds the parameter arrays of a bulk load */
#define HISTORY_CHUNK 10000

static char *Actor = NULL;

/*
 * leadqual.notify: which stage changes send NOTIFY leadqual_stage.  handoff
 * (the default) is what a sales alert acts on: a lead reaching mql or sql, or
 * leaving them (to withdraw an alert); a bulk import's new leads going into
 * nurture or disqualified stay silent.  1.0's boolean values keep working.
 */
typedef enum NotifyPolicy
{
	NOTIFY_OFF, NOTIFY_HANDOFF, NOTIFY_ALL
} NotifyPolicy;

static const struct config_enum_entry notify_options[] = {
	{"all", NOTIFY_ALL, false},
	{"handoff", NOTIFY_HANDOFF, false},
	{"off", NOTIFY_OFF, false},
	{"on", NOTIFY_ALL, true},
	{"true", NOTIFY_ALL, true},
	{"yes", NOTIFY_ALL, true},
	{"1", NOTIFY_ALL, true},
	{"false", NOTIFY_OFF, true},
	{"no", NOTIFY_OFF, true},
	{"0", NOTIFY_OFF, true},
	{NULL, 0, false}
};

static int	Notify = NOTIFY_HANDOFF;

static const struct config_enum_entry history_write_options[] = {
	{"direct", HISTORY_WRITE_DIRECT, false},
	{"insert", HISTORY_WRITE_INSERT, false},
	{NULL, 0, false}
};

void
history_init(void)
{
	DefineCustomStringVariable("leadqual.actor",
							   "Who stage_history records as having changed a stage.",
							   "Applications that connect through a pooled role set it to the person acting.",
							   &Actor, "", PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("leadqual.notify",
							 "Which stage changes send NOTIFY leadqual_stage: all, handoff (into or out of mql and sql) or off.",
							 "on and off, as in 1.0, mean all and off.",
							 &Notify, NOTIFY_HANDOFF, notify_options, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomEnumVariable("leadqual.history_write",
							 "How the history trigger writes stage_history rows: direct (bulk, as COPY) or insert (an INSERT statement).",
							 "Both write the same rows; insert is there to measure one against the other.",
							 &history_write_method, HISTORY_WRITE_DIRECT, history_write_options,
							 PGC_USERSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
}

/* What a statement's history write needs. */
typedef struct History
{
	Relation	rel;
	LeadColumns cols;
	FmgrInfo	key_out;
	const char *model;
	const char *actor;
	Datum		stage_enum[NUM_STAGES];	/* leadqual.stage's values, for the INSERT */
	TupleTableSlot *slot;
	Change	   *changes;
	int			nchanges;
	int			maxchanges;
} History;

/* Reads score of a row as float8 (the score column is float8, float4 or numeric). */
static void
ReadScore(History *h, TupleTableSlot *slot, Change *c)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, h->cols.score_att, &isnull);

	c->score_null = isnull;
	c->score = 0;
	if (isnull)
		return;
	c->score = lead_score_float8(d, h->cols.score_type);
}

static int
ReadStageOf(History *h, TupleTableSlot *slot)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, h->cols.stage_att, &isnull);

	return lead_stage(&h->cols, d, isnull);
}

static bool
ReadLocked(History *h, TupleTableSlot *slot)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, h->cols.locked_att, &isnull);

	return !isnull && DatumGetBool(d);
}

static Change *
AddChange(History *h)
{
	if (h->nchanges == h->maxchanges)
	{
		h->maxchanges = h->maxchanges ? h->maxchanges * 2 : 64;
		h->changes = h->changes ? repalloc_huge(h->changes, h->maxchanges * sizeof(Change)) :
			palloc(h->maxchanges * sizeof(Change));
	}
	return &h->changes[h->nchanges++];
}

/* The key as text: its type's output function, as the user (never a cast). */
static char *
KeyText(History *h, TupleTableSlot *slot)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, h->cols.key_att, &isnull);

	return isnull ? NULL : OutputFunctionCall(&h->key_out, d);
}

/* Appends a JSON string, or null. */
static void
AppendJsonText(StringInfo buf, const char *key, const char *value)
{
	/* plain appends: no format string to interpret per key */
	appendStringInfoString(buf, ", \"");
	appendStringInfoString(buf, key);
	appendStringInfoString(buf, "\" : ");
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

/* Whether leadqual.notify asks for a notification of this change. */
static bool
Notifies(Change *c)
{
	if (Notify == NOTIFY_HANDOFF)
		return c->old_stage == STAGE_MQL || c->old_stage == STAGE_SQL ||
			c->new_stage == STAGE_MQL || c->new_stage == STAGE_SQL;
	return Notify == NOTIFY_ALL;
}

/*
 * NOTIFY refuses a payload of this many bytes or more (async.c's
 * NOTIFY_PAYLOAD_MAX_LENGTH, which it does not export).
 */
#define NOTIFY_PAYLOAD_LIMIT (BLCKSZ - NAMEDATALEN - 128)

/*
 * Builds the payload json_build_object would give, the key left out (null) if
 * !with_key; table_json is the table's name already as a JSON string (the
 * same for every change of a statement).
 */
static void
ChangePayload(StringInfo buf, const char *table_json, Change *c, bool with_key)
{
	resetStringInfo(buf);
	appendStringInfoString(buf, "{\"table\" : ");
	appendStringInfoString(buf, table_json);
	AppendJsonText(buf, "lead_id", with_key ? c->lead_id : NULL);
	AppendJsonText(buf, "old_stage", c->old_stage >= 0 ? stage_labels[c->old_stage] : NULL);
	AppendJsonText(buf, "new_stage", c->new_stage >= 0 ? stage_labels[c->new_stage] : NULL);
	appendStringInfoString(buf, ", \"score\" : ");
	if (c->score_null)
		appendStringInfoString(buf, "null");
	else if (isnan(c->score) || isinf(c->score))
		escape_json(buf, float8out_internal(c->score));
	else
		appendStringInfoString(buf, float8out_internal(c->score));
	appendStringInfoString(buf, c->manual ? ", \"manual\" : true}" : ", \"manual\" : false}");
}

/*
 * Sends NOTIFY leadqual_stage for one change.  A key too long for NOTIFY's
 * payload limit is sent as null (the history row has it): a lead's insert must
 * not fail for its notification.
 */
static void
NotifyChange(StringInfo buf, const char *table_json, Change *c)
{
	ChangePayload(buf, table_json, c, true);
	if (buf->len >= NOTIFY_PAYLOAD_LIMIT)
		ChangePayload(buf, table_json, c, false);
	Async_Notify("leadqual_stage", buf->data);	/* (copies the payload) */
}

static ArrayType *
StageArray(History *h, Change *c, int n, bool old, Oid stagetype)
{
	Datum	   *d = palloc(Max(n, 1) * sizeof(Datum));
	bool	   *nulls = palloc(Max(n, 1) * sizeof(bool));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		int			s = old ? c[i].old_stage : c[i].new_stage;

		nulls[i] = s < 0;
		d[i] = s < 0 ? (Datum) 0 : h->stage_enum[s];
	}
	return construct_md_array(d, nulls, 1, dims, lbs, stagetype, sizeof(Oid), true, TYPALIGN_INT);
}

/*
 * The INSERT alternative of history_write_direct (leadqual.history_write =
 * insert, or a stage_history the direct path cannot write): it reads only its
 * parameters, arrays of built-in types and leadqual.stage.  Runs as the owner.
 */
static void
InsertChanges(History *h, Change *c, int n, int32 version)
{
	static const char *sql =
		"INSERT INTO leadqual.stage_history "
		"  (lead_table, lead_id, model, old_stage, new_stage, score, manual, changed_by, version) "
		"SELECT $1, u.k, $2, u.o, u.n, u.s, u.m, $3, CASE WHEN u.m THEN NULL ELSE $9 END "
		"  FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), "
		"                  pg_catalog.unnest($7), pg_catalog.unnest($8)) AS u(k, o, n, s, m)";
	/* the 1.0 schema (this library installed, ALTER EXTENSION UPDATE not yet run) */
	static const char *sql_1_0 =
		"INSERT INTO leadqual.stage_history "
		"  (lead_table, lead_id, model, old_stage, new_stage, score, manual, changed_by) "
		"SELECT $1, u.k, $2, u.o, u.n, u.s, u.m, $3 "
		"  FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), "
		"                  pg_catalog.unnest($7), pg_catalog.unnest($8)) AS u(k, o, n, s, m)";
	bool		with_version = versions_installed();
	Oid			stagetype = stage_type_oid();
	Oid			argtypes[9] = {REGCLASSOID, TEXTOID, TEXTOID, TEXTARRAYOID,
		get_array_type(stagetype), get_array_type(stagetype), FLOAT8ARRAYOID, BOOLARRAYOID,
	INT4OID};
	Datum		args[9];
	char		nulls[10] = "         ";
	Datum	   *keys = palloc(n * sizeof(Datum));
	Datum	   *scores = palloc(n * sizeof(Datum));
	Datum	   *manual = palloc(n * sizeof(Datum));
	bool	   *keynulls = palloc(n * sizeof(bool));
	bool	   *scorenulls = palloc(n * sizeof(bool));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		keynulls[i] = c[i].lead_id == NULL;
		keys[i] = keynulls[i] ? (Datum) 0 : CStringGetTextDatum(c[i].lead_id);
		scorenulls[i] = c[i].score_null;
		scores[i] = Float8GetDatum(c[i].score);
		manual[i] = BoolGetDatum(c[i].manual);
	}
	args[0] = ObjectIdGetDatum(RelationGetRelid(h->rel));
	args[1] = CStringGetTextDatum(h->model);
	args[2] = CStringGetTextDatum(h->actor);
	args[3] = PointerGetDatum(construct_md_array(keys, keynulls, 1, dims, lbs, TEXTOID,
												 -1, false, TYPALIGN_INT));
	args[4] = PointerGetDatum(StageArray(h, c, n, true, stagetype));
	args[5] = PointerGetDatum(StageArray(h, c, n, false, stagetype));
	args[6] = PointerGetDatum(construct_md_array(scores, scorenulls, 1, dims, lbs, FLOAT8OID,
												 sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[7] = PointerGetDatum(construct_array(manual, n, BOOLOID, sizeof(bool), true, TYPALIGN_CHAR));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[8] = Int32GetDatum(version);
	nulls[8] = version > 0 ? ' ' : 'n';
	if (SPI_execute_with_args(with_version ? sql : sql_1_0, with_version ? 9 : 8,
							  argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write leadqual.stage_history");
	SPI_finish();
}

/* Writes n changes as the owner, in their order, and notifies. */
static void
WriteChanges(History *h, Change *c, int n)
{
	OwnerContext owner;
	const char *table;
	int32		version;

	if (n == 0)
		return;
	ruleset_become_owner(&owner);
	/* the table's name as the pinned search_path shows it: schema-qualified */
	table = Notify != NOTIFY_OFF ?
		DatumGetCString(DirectFunctionCall1(regclassout,
											ObjectIdGetDatum(RelationGetRelid(h->rel)))) : NULL;
	/* the version that decided (stage_history.version; NULL for manual changes) */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	version = versions_installed() ? versions_deciding(h->model) : 0;
	SPI_finish();
	if (!history_write_direct(RelationGetRelid(h->rel), h->model, h->actor, version, c, n))
		InsertChanges(h, c, n, version);
	ruleset_restore_user(&owner);

	if (table != NULL)
	{
		StringInfoData table_json;
		StringInfoData buf;

		initStringInfo(&table_json);
		escape_json(&table_json, table);
		initStringInfo(&buf);
		for (int i = 0; i < n; i++)
			if (Notifies(&c[i]))
				NotifyChange(&buf, table_json.data, &c[i]);
		pfree(buf.data);
		pfree(table_json.data);
	}
}

/* Orders updated rows' changes by key (as ORDER BY lead_id), then statement order. */
static int
CompareChanges(const void *a, const void *b)
{
	const Change *x = (const Change *) a;
	const Change *y = (const Change *) b;
	int			r;

	if (x->lead_id == NULL || y->lead_id == NULL)
		r = (x->lead_id == NULL) - (y->lead_id == NULL);
	else
		r = varstr_cmp(x->lead_id, strlen(x->lead_id), y->lead_id, strlen(y->lead_id),
					   DEFAULT_COLLATION_OID);
	if (r != 0)
		return r;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Positions a fresh read pointer of a transition table at its start. */
static void
StartReading(Tuplestorestate *ts)
{
	int			ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);

	tuplestore_select_read_pointer(ts, ptr);
	tuplestore_rescan(ts);
}

/*
 * Inserted rows: each with a stage is a change from NULL, manual when the row
 * is locked.  Written in insertion order, a chunk at a time.
 */
static void
RecordInserts(History *h, Tuplestorestate *newtable)
{
	MemoryContext chunkcxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual history",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(chunkcxt);
	int64		pos = 0;

	StartReading(newtable);
	while (tuplestore_gettupleslot(newtable, true, false, h->slot))
	{
		int			stage = ReadStageOf(h, h->slot);
		Change	   *c;

		if (stage < 0)
			continue;
		c = AddChange(h);
		c->lead_id = KeyText(h, h->slot);
		c->old_stage = -1;
		c->new_stage = stage;
		ReadScore(h, h->slot, c);
		c->manual = ReadLocked(h, h->slot);
		c->pos = pos++;
		if (h->nchanges == HISTORY_CHUNK)
		{
			WriteChanges(h, h->changes, h->nchanges);
			/*
			 * A transition table that spilled to disk hands out tuples
			 * allocated here, owned by the slot: let go of the current one
			 * before its memory goes.
			 */
			ExecClearTuple(h->slot);
			MemoryContextReset(chunkcxt);
			h->changes = NULL;
			h->nchanges = h->maxchanges = 0;
		}
	}
	WriteChanges(h, h->changes, h->nchanges);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(chunkcxt);
}

/*
 * Updated rows' changes beyond one chunk go through a tuplesort (work_mem,
 * then disk), so an UPDATE of millions of leads does not hold every change
 * in memory to order them.  A change as a row: (lead_id, pos, old_stage,
 * new_stage, score, manual), sorted as CompareChanges orders.
 */
typedef struct SortedChanges
{
	Tuplesortstate *sort;
	TupleTableSlot *slot;
} SortedChanges;

enum
{
	SC_LEAD_ID = 1, SC_POS, SC_OLD_STAGE, SC_NEW_STAGE, SC_SCORE, SC_MANUAL, SC_NATTS = SC_MANUAL
};

static void
StartSorting(SortedChanges *sc)
{
	TupleDesc	desc = CreateTemplateTupleDesc(SC_NATTS);
	AttrNumber	keys[2] = {SC_LEAD_ID, SC_POS};
	Oid			ops[2] = {TextLessOperator, Int8LessOperator};
	Oid			collations[2] = {DEFAULT_COLLATION_OID, InvalidOid};
	bool		nulls_first[2] = {false, false};

	TupleDescInitEntry(desc, SC_LEAD_ID, "lead_id", TEXTOID, -1, 0);
	TupleDescInitEntry(desc, SC_POS, "pos", INT8OID, -1, 0);
	TupleDescInitEntry(desc, SC_OLD_STAGE, "old_stage", INT4OID, -1, 0);
	TupleDescInitEntry(desc, SC_NEW_STAGE, "new_stage", INT4OID, -1, 0);
	TupleDescInitEntry(desc, SC_SCORE, "score", FLOAT8OID, -1, 0);
	TupleDescInitEntry(desc, SC_MANUAL, "manual", BOOLOID, -1, 0);
	sc->slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	sc->sort = tuplesort_begin_heap(desc, 2, keys, ops, collations, nulls_first,
									work_mem, NULL, TUPLESORT_NONE);
}

/* Moves the changes held in memory into the sort. */
static void
SortChanges(SortedChanges *sc, History *h)
{
	TupleTableSlot *slot = sc->slot;

	for (int i = 0; i < h->nchanges; i++)
	{
		Change	   *c = &h->changes[i];

		ExecClearTuple(slot);
		slot->tts_isnull[SC_LEAD_ID - 1] = c->lead_id == NULL;
		slot->tts_values[SC_LEAD_ID - 1] = c->lead_id ? CStringGetTextDatum(c->lead_id) : (Datum) 0;
		slot->tts_isnull[SC_POS - 1] = false;
		slot->tts_values[SC_POS - 1] = Int64GetDatum(c->pos);
		slot->tts_isnull[SC_OLD_STAGE - 1] = false;
		slot->tts_values[SC_OLD_STAGE - 1] = Int32GetDatum(c->old_stage);
		slot->tts_isnull[SC_NEW_STAGE - 1] = false;
		slot->tts_values[SC_NEW_STAGE - 1] = Int32GetDatum(c->new_stage);
		slot->tts_isnull[SC_SCORE - 1] = c->score_null;
		slot->tts_values[SC_SCORE - 1] = Float8GetDatum(c->score);
		slot->tts_isnull[SC_MANUAL - 1] = false;
		slot->tts_values[SC_MANUAL - 1] = BoolGetDatum(c->manual);
		ExecStoreVirtualTuple(slot);
		tuplesort_puttupleslot(sc->sort, slot);
	}
}

/* Lets go of the chunk of changes held in memory (and of what cxt holds). */
static void
ForgetChunk(History *h, MemoryContext cxt)
{
	MemoryContextReset(cxt);
	h->changes = NULL;
	h->nchanges = h->maxchanges = 0;
}

/* Reads the sorted changes back and writes them, a chunk at a time. */
static void
WriteSorted(SortedChanges *sc, History *h, MemoryContext chunkcxt)
{
	TupleTableSlot *slot = sc->slot;
	bool		isnull;

	tuplesort_performsort(sc->sort);
	while (tuplesort_gettupleslot(sc->sort, true, false, slot, NULL))
	{
		Change	   *c = AddChange(h);
		Datum		d = slot_getattr(slot, SC_LEAD_ID, &isnull);

		c->lead_id = isnull ? NULL : TextDatumGetCString(d);
		c->pos = DatumGetInt64(slot_getattr(slot, SC_POS, &isnull));
		c->old_stage = DatumGetInt32(slot_getattr(slot, SC_OLD_STAGE, &isnull));
		c->new_stage = DatumGetInt32(slot_getattr(slot, SC_NEW_STAGE, &isnull));
		d = slot_getattr(slot, SC_SCORE, &c->score_null);
		c->score = c->score_null ? 0 : DatumGetFloat8(d);
		c->manual = DatumGetBool(slot_getattr(slot, SC_MANUAL, &isnull));
		if (h->nchanges == HISTORY_CHUNK)
		{
			WriteChanges(h, h->changes, h->nchanges);
			ForgetChunk(h, chunkcxt);
		}
	}
	WriteChanges(h, h->changes, h->nchanges);
	ExecDropSingleTupleTableSlot(slot);
	tuplesort_end(sc->sort);
}

/*
 * Updated rows: old and new are paired by position, not by key (an UPDATE may
 * change the key; both transition tables are appended to together, one pair
 * per row).  A change of stage (NULL included) is recorded, manual when the
 * SET list named the stage column and the row is locked; ordered by key, as
 * 1.0's ORDER BY lead_id: one chunk by qsort, more through a tuplesort.
 */
static void
RecordUpdates(History *h, Tuplestorestate *oldtable, Tuplestorestate *newtable, bool stage_set)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext chunkcxt = AllocSetContextCreate(outer, "leadqual history",
												   ALLOCSET_DEFAULT_SIZES);
	TupleTableSlot *oldslot = MakeSingleTupleTableSlot(RelationGetDescr(h->rel),
													   &TTSOpsMinimalTuple);
	SortedChanges sc = {0};
	int64		pos = 0;

	MemoryContextSwitchTo(chunkcxt);
	StartReading(oldtable);
	StartReading(newtable);
	for (;;)
	{
		bool		have_old;
		bool		have_new;
		int			old_stage;
		int			new_stage;
		Change	   *c;

		have_old = tuplestore_gettupleslot(oldtable, true, false, oldslot);
		have_new = tuplestore_gettupleslot(newtable, true, false, h->slot);
		if (!have_old || !have_new)
		{
			if (have_old != have_new)
				elog(ERROR, "leadqual history: transition tables of different lengths");
			break;
		}
		old_stage = ReadStageOf(h, oldslot);
		new_stage = ReadStageOf(h, h->slot);
		if (old_stage == new_stage)
			continue;
		c = AddChange(h);
		c->lead_id = KeyText(h, h->slot);
		c->old_stage = old_stage;
		c->new_stage = new_stage;
		ReadScore(h, h->slot, c);
		c->manual = stage_set && ReadLocked(h, h->slot);
		c->pos = pos++;
		if (h->nchanges > HISTORY_CHUNK)	/* (a batch of exactly one chunk stays here) */
		{
			if (sc.sort == NULL)
			{
				MemoryContextSwitchTo(outer);
				StartSorting(&sc);
				MemoryContextSwitchTo(chunkcxt);
			}
			SortChanges(&sc, h);
			/* (a spilled transition table's tuple may live in chunkcxt) */
			ExecClearTuple(oldslot);
			ExecClearTuple(h->slot);
			ForgetChunk(h, chunkcxt);
		}
	}
	ExecDropSingleTupleTableSlot(oldslot);
	if (sc.sort == NULL)
	{
		if (h->nchanges > 1)
			qsort(h->changes, h->nchanges, sizeof(Change), CompareChanges);
		WriteChanges(h, h->changes, h->nchanges);
	}
	else
	{
		SortChanges(&sc, h);
		ExecClearTuple(h->slot);
		ForgetChunk(h, chunkcxt);
		WriteSorted(&sc, h, chunkcxt);
	}
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(chunkcxt);
	h->changes = NULL;
	h->nchanges = h->maxchanges = 0;
}

/* Records stage changes of the statement's rows in stage_history, and notifies. */
PG_FUNCTION_INFO_V1(leadqual_history_trigger);
Datum
leadqual_history_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	AttachmentDef *att;
	History		h;
	Oid			outfunc;
	bool		isvarlena;
	bool		is_update;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		elog(ERROR, "leadqual_history_trigger must be an AFTER INSERT or UPDATE statement trigger");

	/* the attached table itself: statement triggers fire on the table attach named */
	att = ruleset_attachment(RelationGetRelid(td->tg_relation), false,
							 "leadqual.history_trigger()");
	is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
	if (td->tg_newtable == NULL || (is_update && td->tg_oldtable == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("leadqual's history trigger on table \"%s\" has no transition tables",
						RelationGetRelationName(td->tg_relation)),
				 errhint("Run leadqual.detach and leadqual.attach again.")));

	memset(&h, 0, sizeof(h));
	h.rel = td->tg_relation;
	lead_columns(h.rel, att, true, &h.cols);
	getTypeOutputInfo(h.cols.key_type, &outfunc, &isvarlena);
	fmgr_info(outfunc, &h.key_out);
	h.model = att->model;
	for (int i = 0; i < NUM_STAGES; i++)
		h.stage_enum[i] = stage_datum(i);
	/* who: leadqual.actor when an application says so, else the current user */
	h.actor = (Actor && Actor[0]) ? Actor : GetUserNameFromId(GetUserId(), false);
	h.slot = MakeSingleTupleTableSlot(RelationGetDescr(h.rel), &TTSOpsMinimalTuple);

	if (is_update)
		RecordUpdates(&h, td->tg_oldtable, td->tg_newtable,
					  bms_is_member(h.cols.stage_att - FirstLowInvalidHeapAttributeNumber,
									td->tg_updatedcols));
	else
		RecordInserts(&h, td->tg_newtable);
	ExecDropSingleTupleTableSlot(h.slot);
	return PointerGetDatum(NULL);
}
