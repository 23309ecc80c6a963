/*
 * events_trigger.c — the statement triggers leadqual.attach_events installs on
 * an events table: after events are inserted, updated or deleted, each
 * affected lead's engagement is recomputed from all of its events and written
 * to the model's engagement column (the lead trigger then re-scores and
 * re-stages the lead).  An UPDATE affects the leads of its old rows and of its
 * new ones (an event may move to another lead).
 *
 * Per statement, with three saved SPI plans per events table:
 *   lock   SELECT the leads of the transition table's lead keys in key order
 *          FOR NO KEY UPDATE (no deadlock between two event loads; it does not
 *          conflict with the KEY SHARE an events foreign key takes);
 *   read   in a new statement, whose READ COMMITTED snapshot sees every event
 *          committed by a session that held a lock before us, the (type, time)
 *          of every event of the locked leads, looked up by the lead column;
 *   write  one UPDATE of the leads whose engagement changes, from arrays.
 * The events are read through a cursor; a bulk load (more than SMALL_LEADS
 * leads) reads and writes with plans made for its arrays.  The engagement
 * itself is computed here with the aggregate's own arithmetic (engagement.h),
 * as of now() like leadqual.engagement (see Computation for the one exception).
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
#include "access/relation.h"
#include "access/xact.h"
#include "common/hashfn.h"
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
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "engagement.h"
#include "keys.h"
#include "ruleset.h"

/*
 * Up to this many leads a statement takes the saved plans (index lookups of
 * each lead's events); a bulk load of more reads the events through a cursor
 * planned for its size (one scan, a hash join) and writes with one UPDATE.
 */
#define SMALL_LEADS 1000
#define BULK_FETCH 10000

#define TRIGGER_NAME "leadqual.events_trigger()"

/* What the trigger keeps per events table; valid while stamp and inval match. */
typedef struct EventsTable
{
	Oid			relid;
	bool		valid;
	uint64		stamp;			/* ruleset_generation_stamp() when built */
	uint64		inval;			/* ruleset_inval_count() when built */
	bool		inert;			/* no engagement column or no lead key: nothing to do */
	int			busy;			/* calls running (a lead's trigger can insert events) */
	AttrNumber	lead_att;		/* the lead column in the events table */
	Oid			key_type;
	int16		key_len;
	bool		key_byval;
	char		key_align;
	MemoryContext cxt;			/* the rules and queries; reset when rebuilt */
	EngagementRules *rules;
	Oid			argtypes[2];	/* key array, float8 array */
	char	   *read_sql;		/* the read and write queries, for bulk loads */
	char	   *write_sql;
	SPIPlanPtr	lock_plan;
	SPIPlanPtr	read_plan;
	SPIPlanPtr	write_plan;
	struct EventsTable *next;
} EventsTable;

static EventsTable *EventsTables = NULL;

/*
 * The single-column primary key of a table, or InvalidAttrNumber: what
 * leadqual.primary_key_column says, read from the relcache's index list.
 */
static AttrNumber
PrimaryKeyColumn(Oid relid)
{
	Relation	rel = try_relation_open(relid, AccessShareLock);
	List	   *indexes;
	ListCell   *lc;
	AttrNumber	att = InvalidAttrNumber;

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the lead table of an events attachment does not exist"),
				 errhint("Point leadqual.models.lead_table at an existing table, or run leadqual.detach_events.")));
	indexes = RelationGetIndexList(rel);
	relation_close(rel, AccessShareLock);
	foreach(lc, indexes)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		Form_pg_index index;

		if (!HeapTupleIsValid(tup))
			continue;
		index = (Form_pg_index) GETSTRUCT(tup);
		if (index->indisprimary && index->indnkeyatts == 1)
			att = index->indkey.values[0];
		ReleaseSysCache(tup);
	}
	list_free(indexes);
	return att;
}

/* Returns a table's schema-qualified, quoted name for a query. */
static char *
QualifiedRelName(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Prepares a query with a generic plan: the same plan fits every statement, never planned per execution. */
static SPIPlanPtr
Prepare(const char *sql, int nargs, Oid *argtypes)
{
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
	Oid			lead_key_type;
	Oid			arraytype;
	Oid		   *argtypes;
	char	   *lead;
	char	   *key;
	char	   *eng;
	char	   *eq;
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

	/*
	 * The keys go from one table's column to the other's queries as values of
	 * one type: a column altered since attach_events to another type is
	 * refused (its values would be read as the other type's).
	 */
	lead_key_type = get_atttype(att->lead_table, key_att);
	if (lead_key_type != et->key_type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("lead column \"%s\" of table \"%s\" has type %s, but the key \"%s\" of lead table \"%s\" has type %s",
						att->lead_column, RelationGetRelationName(events),
						format_type_be(et->key_type),
						get_attname(att->lead_table, key_att, false), get_rel_name(att->lead_table),
						format_type_be(lead_key_type)),
				 errhint("Give both columns the same type.")));
	arraytype = get_array_type(et->key_type);
	if (!OidIsValid(arraytype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("lead column \"%s\" of table \"%s\" has type %s, which has no array type",
						att->lead_column, RelationGetRelationName(events),
						format_type_be(et->key_type))));
	eq = key_equality_sql(et->key_type, att->lead_table);

	lead = QualifiedRelName(att->lead_table);
	key = (char *) quote_identifier(get_attname(att->lead_table, key_att, false));
	eng = (char *) quote_identifier(att->engagement_column);
	argtypes = et->argtypes;
	argtypes[0] = arraytype;
	argtypes[1] = FLOAT8ARRAYOID;
	et->read_sql = MemoryContextStrdup(et->cxt,
									   psprintf("SELECT k.i, e.%s::pg_catalog.text, e.%s::pg_catalog.timestamptz "
												"FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(id, i) "
												"JOIN %s e ON e.%s %s k.id%s",
												quote_identifier(att->type_column),
												quote_identifier(att->time_column),
												QualifiedRelName(att->events_table),
												quote_identifier(att->lead_column), eq,
												/* as the lock and the write compare: the key's */
												key_collate_sql(att->lead_table, key_att,
																att->events_table,
																att->lead_column)));
	et->write_sql = MemoryContextStrdup(et->cxt,
										psprintf("UPDATE %s l SET %s = u.e "
												 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS u(id, e) "
												 "WHERE l.%s %s u.id "
												 "  AND (l.%s IS NULL OR l.%s OPERATOR(pg_catalog.<>) u.e)",
												 lead, eng, key, eq, eng, eng));

	lock_plan = Prepare(psprintf("SELECT l.%s FROM %s l WHERE l.%s %s ANY ($1) "
								 "ORDER BY l.%s FOR NO KEY UPDATE OF l",
								 key, lead, key, eq, key),
						1, argtypes);
	read_plan = Prepare(et->read_sql, 1, argtypes);
	write_plan = Prepare(et->write_sql, 2, argtypes);
	if (SPI_keepplan(lock_plan) != 0 || SPI_keepplan(read_plan) != 0 ||
		SPI_keepplan(write_plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	et->lock_plan = lock_plan;
	et->read_plan = read_plan;
	et->write_plan = write_plan;
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
	/*
	 * A call nested in one of ours (a trigger on the lead table inserting
	 * events) keeps the plans the outer call is still executing: freeing them
	 * would pull them from under it.  It runs inside the outer statement, with
	 * its configuration.
	 */
	if (et->valid && et->busy > 0)
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
	et->read_sql = et->write_sql = NULL;
	MemoryContextReset(et->cxt);

	BuildEventsTable(et, att, events);
	et->stamp = stamp;
	et->inval = inval;
	et->valid = true;
	return et;
}

/* n elements of size elem, zeroed, past MaxAllocSize if need be (a bulk load). */
static void *
AllocArray(Size elem, Size n)
{
	return MemoryContextAllocExtended(CurrentMemoryContext, mul_size(elem, Max(n, 1)),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/*
 * The lead keys seen in a statement's events, each once by its binary image
 * (equal images are one lead; a lead whose key is stored two ways is merely
 * named twice, and the lock query takes it once), so that a bulk load holds
 * one key per lead, not per event.
 */
typedef struct SeenKey
{
	Datum		key;
	uint32		hash;
	char		status;
} SeenKey;

static inline uint32
KeyImageHash(const EventsTable *et, Datum d)
{
	if (et->key_byval)
		return hash_bytes_uint32((uint32) d ^ (uint32) ((uint64) d >> 32));
	return hash_bytes((const unsigned char *) DatumGetPointer(d),
					  datumGetSize(d, false, et->key_len));
}

#define SH_PREFIX seenkeys
#define SH_ELEMENT_TYPE SeenKey
#define SH_KEY_TYPE Datum
#define SH_KEY key
#define SH_HASH_KEY(tb, k) KeyImageHash((const EventsTable *) (tb)->private_data, k)
#define SH_EQUAL(tb, a, b) datumIsEqual(a, b, ((const EventsTable *) (tb)->private_data)->key_byval, \
										((const EventsTable *) (tb)->private_data)->key_len)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * The distinct lead keys of the transition tables' rows (an UPDATE's old and
 * new rows both: an event may have moved to another lead), copied into the
 * current context.
 */
static Datum *
TransitionKeys(EventsTable *et, Relation events, Tuplestorestate *const *tables, int ntables,
			   int *nkeys)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(events),
													&TTSOpsMinimalTuple);
	seenkeys_hash *seen = seenkeys_create(CurrentMemoryContext, 64, et);
	seenkeys_iterator it;
	SeenKey    *e;
	int			n = 0;
	Datum	   *keys;

	for (int t = 0; t < ntables; t++)
	{
		Tuplestorestate *ts = tables[t];

		/* a fresh read pointer: other triggers may read the same transition table */
		tuplestore_select_read_pointer(ts, tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND));
		tuplestore_rescan(ts);
		while (tuplestore_gettupleslot(ts, true, false, slot))
		{
			bool		isnull;
			bool		found;
			Datum		d = slot_getattr(slot, et->lead_att, &isnull);

			if (isnull)
				continue;
			e = seenkeys_insert(seen, d, &found);
			if (!found)
				e->key = datumCopy(d, et->key_byval, et->key_len);
		}
		ExecClearTuple(slot);
	}
	ExecDropSingleTupleTableSlot(slot);

	keys = AllocArray(sizeof(Datum), seen->members);
	seenkeys_start_iterate(seen, &it);
	while ((e = seenkeys_iterate(seen, &it)) != NULL)
		keys[n++] = e->key;
	seenkeys_destroy(seen);
	*nkeys = n;
	return keys;
}

/* Returns an array of the lead column's type over n keys. */
static Datum
KeyArray(EventsTable *et, Datum *keys, int n)
{
	return PointerGetDatum(construct_array(keys, n, et->key_type, et->key_len,
										   et->key_byval, et->key_align));
}

/*
 * The engagement of n locked leads, computed from their events as of now() —
 * or, for a lead one of whose events is later than now() but not later than
 * clock (when the locks were held), as of the latest such event.  That event
 * was committed by a session that started after ours and held the lead's lock
 * before us; computed as of our now() it would count nothing (it lies after
 * as_of), and our write, the last, would lose it.  So the latest event time
 * in (now, clock] is found per lead first (late[]), then the points summed.
 */
typedef struct Computation
{
	EngagementRules *rules;
	int			n;
	int			ntypes;
	TimestampTz now;
	TimestampTz clock;
	double	   *sums;			/* n x ntypes, decayed to as_of */
	TimestampTz *late;			/* per lead: as_of if later than now, else 0 */
	bool		two_pass;		/* late[] is final: sum as of it */
} Computation;

/* Sets up the sums of n leads, all zero. */
static void
StartComputation(Computation *c, EventsTable *et, int n, TimestampTz now, TimestampTz clock)
{
	c->rules = et->rules;
	c->n = n;
	c->ntypes = Max(et->rules->ntypes, 1);
	c->now = now;
	c->clock = clock;
	c->sums = AllocArray(sizeof(double) * c->ntypes, n);
	c->late = AllocArray(sizeof(TimestampTz), n);
	c->two_pass = false;
}

/* Reads (lead index, type, time) of SPI result row r; false if it counts nothing. */
static inline bool
EventOfRow(Computation *c, uint64 r, int64 *lead, TimestampTz *time)
{
	HeapTuple	tup = SPI_tuptable->vals[r];
	bool		isnull;

	*lead = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || *lead < 1 || *lead > c->n)
		return false;
	*time = DatumGetTimestampTz(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
	return !isnull;
}

/*
 * Adds the points of the rows in SPI_tuptable.  Without two_pass every lead
 * is summed as of now and a late event only noted (the caller recomputes
 * those leads); with it, each lead as of its late[] time when it has one.
 */
static void
SumRows(Computation *c)
{
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		int64		i;
		TimestampTz t;
		TimestampTz as_of;
		bool		isnull;
		Datum		type;
		text	   *tx;
		int			slot;

		if (!EventOfRow(c, r, &i, &t))
			continue;
		as_of = c->late[i - 1] != 0 && c->two_pass ? c->late[i - 1] : c->now;
		if (t > as_of)
		{
			/* as the aggregate: later than as_of counts nothing (but may be late) */
			if (!c->two_pass && t <= c->clock && t > c->late[i - 1])
				c->late[i - 1] = t;
			continue;
		}
		type = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);
		if (isnull)
			continue;
		tx = DatumGetTextPP(type);
		slot = engagement_rules_slot(c->rules, VARDATA_ANY(tx), VARSIZE_ANY_EXHDR(tx));
		if (slot >= 0)
			engagement_accumulate(c->rules, c->sums + (i - 1) * c->ntypes, slot, as_of, t);
		if ((Pointer) tx != DatumGetPointer(type))
			pfree(tx);			/* a compressed type's copy: not one per event kept */
	}
}

typedef enum WhichLeads
{
	ALL_LEADS,
	ON_TIME_LEADS				/* those without a late event */
} WhichLeads;

/* The keys and totals of the leads chosen, as arrays for the write. */
static void
Totals(Computation *c, EventsTable *et, Datum *keys, WhichLeads which, Datum *keyarray,
	   Datum *totalarray, int *count)
{
	Datum	   *k = AllocArray(sizeof(Datum), c->n);
	Datum	   *t = AllocArray(sizeof(Datum), c->n);
	int			m = 0;

	for (int i = 0; i < c->n; i++)
	{
		if (which == ON_TIME_LEADS && c->late[i] != 0)
			continue;
		k[m] = keys[i];
		t[m++] = Float8GetDatum(engagement_total(c->rules, c->sums + i * c->ntypes));
	}
	*keyarray = KeyArray(et, k, m);
	*totalarray = PointerGetDatum(construct_array(t, m, FLOAT8OID, sizeof(float8),
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	*count = m;
}

/* Fails unless the write ran as an UPDATE. */
static void
CheckWrite(int ret)
{
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "leadqual could not write engagement: %s", SPI_result_code_string(ret));
}

/* Up to SMALL_LEADS leads use the saved plans; more, plans made for their arrays. */
static inline bool
SavedPlans(const Computation *c)
{
	return c->n <= SMALL_LEADS;
}

/*
 * Adds the points of every event of the leads in keyarray, read through a
 * cursor (so a lead with millions of events costs one fetch of memory).
 */
static void
ReadEvents(EventsTable *et, Computation *c, Datum keyarray)
{
	/*
	 * The cursor's snapshot is taken now, after the locks: read-write, a new
	 * one under READ COMMITTED.  Under REPEATABLE READ and SERIALIZABLE the
	 * transaction's snapshot would miss events committed since by a session
	 * that held a lead's lock before us (and our write, the last, would lose
	 * them), so the events are read as of the latest snapshot, as PostgreSQL's
	 * own foreign-key checks do; the leads themselves are locked as usual.
	 */
	bool		latest = IsolationUsesXactSnapshot();
	Portal		portal;

	if (latest)
	{
		CommandCounterIncrement();	/* this statement's own events included */
		PushActiveSnapshot(GetLatestSnapshot());
	}
	portal = SavedPlans(c) ?
		SPI_cursor_open(NULL, et->read_plan, &keyarray, NULL, latest) :
		SPI_cursor_open_with_args(NULL, et->read_sql, 1, et->argtypes, &keyarray, NULL,
								  latest, 0);
	if (latest)
		PopActiveSnapshot();

	for (;;)
	{
		SPI_cursor_fetch(portal, true, BULK_FETCH);
		if (SPI_processed == 0)
			break;
		SumRows(c);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
}

/* Writes the engagement of the leads Totals chose. */
static void
WriteTotals(EventsTable *et, Computation *c, Datum *keys, WhichLeads which)
{
	Datum		args[2];
	int			m;

	Totals(c, et, keys, which, &args[0], &args[1], &m);
	if (m == 0)
		return;
	CheckWrite(SavedPlans(c) ? SPI_execute_plan(et->write_plan, args, NULL, false, 0) :
			   SPI_execute_with_args(et->write_sql, 2, et->argtypes, args, NULL, false, 0));
}

/*
 * Recomputes and writes the engagement of n locked leads: all of them as of
 * now, then those with a late event (rare) again, each as of its latest one.
 */
static void
WriteEngagement(EventsTable *et, Datum *keys, int n, TimestampTz now, TimestampTz clock)
{
	Computation c;
	Computation again;
	Datum	   *late;
	int			m = 0;

	StartComputation(&c, et, n, now, clock);
	ReadEvents(et, &c, KeyArray(et, keys, n));
	WriteTotals(et, &c, keys, ON_TIME_LEADS);

	late = AllocArray(sizeof(Datum), n);
	for (int i = 0; i < n; i++)
		if (c.late[i] != 0)
			late[m++] = keys[i];
	if (m == 0)
		return;
	StartComputation(&again, et, m, now, clock);
	for (int i = 0, j = 0; i < n; i++)
		if (c.late[i] != 0)
			again.late[j++] = c.late[i];
	again.two_pass = true;
	ReadEvents(et, &again, KeyArray(et, late, m));
	WriteTotals(et, &again, late, ALL_LEADS);
}

/* Locks the leads of the transition tables' events, then recomputes and writes their engagement. */
static void
KeepEngagement(EventsTable *et, Relation events, Tuplestorestate *const *tables, int ntables)
{
	Datum	   *keys;
	Datum	   *locked;
	int			nkeys;
	int			nlocked;
	Datum		args[1];
	int			ret;
	TimestampTz clock;

	keys = TransitionKeys(et, events, tables, ntables, &nkeys);
	if (nkeys == 0)
		return;

	/* lock the leads in key order (each once, however many events it got) */
	args[0] = KeyArray(et, keys, nkeys);
	ret = SPI_execute_plan(et->lock_plan, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "leadqual could not lock leads: %s", SPI_result_code_string(ret));
	nlocked = SPI_processed;
	locked = AllocArray(sizeof(Datum), nlocked);
	for (int i = 0; i < nlocked; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		locked[i] = datumCopy(d, et->key_byval, et->key_len);
	}
	SPI_freetuptable(SPI_tuptable);
	clock = GetCurrentTimestamp();

	/* then compute and write */
	WriteEngagement(et, locked, nlocked, GetCurrentTransactionStartTimestamp(), clock);
}

/*
 * Whether an UPDATE's SET list names the lead, type or time column (a column
 * missing from the table counts: the trigger then says so).
 */
static bool
SetsEventColumns(TriggerData *td, const EventAttachmentDef *att)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	const char *columns[] = {att->lead_column, att->type_column, att->time_column};

	for (int i = 0; i < lengthof(columns); i++)
	{
		AttrNumber	attnum = SPI_fnumber(desc, columns[i]);

		if (attnum <= 0 ||
			bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, td->tg_updatedcols))
			return true;
	}
	return false;
}

/* Keeps the engagement of the leads whose events a statement inserted, updated or deleted. */
PG_FUNCTION_INFO_V1(leadqual_events_trigger);
Datum
leadqual_events_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	EventAttachmentDef *att;
	EventsTable *volatile et;
	Tuplestorestate *tables[2];
	int			ntables = 0;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s can only be called as a trigger", TRIGGER_NAME)));
	/* first of all: is this a table leadqual.attach_events set up? */
	att = ruleset_event_attachment(RelationGetRelid(td->tg_relation), TRIGGER_NAME);
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be an AFTER INSERT, UPDATE or DELETE statement trigger", TRIGGER_NAME),
				 errhint("Run leadqual.detach_events and leadqual.attach_events to make the triggers again.")));
	/* an UPDATE that sets none of the lead, type and time columns changes no engagement */
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) && !SetsEventColumns(td, att))
		return PointerGetDatum(NULL);
	if (!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		tables[ntables++] = td->tg_oldtable;
	if (!TRIGGER_FIRED_BY_DELETE(td->tg_event))
		tables[ntables++] = td->tg_newtable;
	if (tables[0] == NULL || tables[ntables - 1] == NULL)
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

	/*
	 * The model's event rules from the rule cache, under the same snapshot as
	 * the attachment (valid to the end of the transaction); a nested call
	 * keeps the outer call's.
	 */
	if (et->busy == 0)
		et->rules = ruleset_model_event_rules_len(att->model, strlen(att->model));
	et->busy++;
	PG_TRY();
	{
		KeepEngagement(et, td->tg_relation, tables, ntables);
	}
	PG_FINALLY();
	{
		et->busy--;
	}
	PG_END_TRY();
	SPI_finish();
	return PointerGetDatum(NULL);
}
