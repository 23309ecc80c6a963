/*
 * ruleset.c — loading models from the config tables and caching them compiled.
 *
 * Consistency: every change to a config table bumps the one-row table
 * leadqual.config_generation (statement trigger, see validate.c).  The first
 * lookup of a statement reads that row under the statement's snapshot; the
 * cache is keyed by (generation, xmin of that row version), so a rolled-back
 * change, whose row version nobody else sees, can never be mistaken for a
 * committed one.  Cached sets of an older generation are retired, not freed,
 * until the end of the transaction: a running query may still hold them.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "port/pg_bswap.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "citus.h"
#include "compat.h"
#include "engagement.h"
#include "leadqual.h"
#include "pin.h"
#include "ruleset.h"
#include "subxact.h"

/* A model name under the current generation: its value (the compiled code is in the value cache). */
typedef struct CachedModel
{
	char	   *model;
	int			model_len;
	Oid			lead_table;
	RulesetData *value;
	struct CachedModel *next;
} CachedModel;

/*
 * An entry of the value cache: one rule set (by content hash), its
 * definition and what was compiled from it, all in cxt.
 */
typedef struct ValueEntry
{
	uint8		hash[RULESET_HASH_LEN];
	MemoryContext cxt;
	ModelDef   *def;
	CompiledModel *compiled;	/* one per (lead table, row type) */
	EngagementRules *events;	/* built on first use */
	uint64		last_used;
	bool		used;			/* handed to a caller, who may hold on to it */
} ValueEntry;

typedef struct ValueSlot
{
	uint8		hash[RULESET_HASH_LEN];	/* hash key */
	ValueEntry *entry;
} ValueSlot;

/* What a trigger reads at fire time: a lead table's or an events table's attachment. */
typedef enum AttachmentKind
{
	ATTACHMENT_LEAD,			/* leadqual.attachments: AttachmentDef */
	ATTACHMENT_EVENTS			/* leadqual.event_attachments: EventAttachmentDef */
} AttachmentKind;

typedef struct CachedAttachment
{
	AttachmentKind kind;
	Oid			relid;			/* the table a trigger fired on */
	bool		ancestors;
	void	   *def;
	struct CachedAttachment *next;
} CachedAttachment;

static MemoryContext GenerationContext = NULL;	/* current generation's cache */
static TransactionId GenerationXmin = InvalidTransactionId;
static int64 Generation = -1;
static uint64 GenerationStamp = 0;	/* a new cache, a new stamp */
static CachedModel *Models = NULL;
static CachedAttachment *Attachments = NULL;
static List *RetiredContexts = NIL;		/* freed at transaction end */
static uint64 InvalCount = 1;
static Oid	GenerationRelid = InvalidOid;
static List *WarnedLabels = NIL;	/* rules and checks already warned about */
static LookupKey LastKey;		/* the snapshot the generation was last read under */
static bool LastKeyValid = false;

static HTAB *Values = NULL;		/* the value cache: hash -> ValueEntry */
static MemoryContext ValuesContext = NULL;
static ValueEntry *LastValue = NULL;	/* the one used last (a per-row memo) */
static uint64 UseClock = 0;
static uint64 ValueEpoch = 1;	/* bumped by eviction, invalidation, transaction end */

/*
 * The last rule set datum given compressed or as a TOAST pointer (a value read
 * from a table): its raw bytes and content hash.  Reading the hash from its
 * header costs a decompression or a TOAST fetch; a repeated datum (an
 * InitPlan's parameter, a join's or a group's same column value) costs a
 * memcmp of its raw form instead: at most RAW_MEMO_MAX bytes (a TOAST pointer
 * is 18).  Equal raw bytes are the same content: the same compressed bytes
 * decompress alike, and a TOAST pointer names a value that is never changed
 * in place (its OID is not given to another value while any snapshot of ours
 * may still see it, and the memo is forgotten at transaction end).
 */
#define RAW_MEMO_MAX 4096
static char *MemoRaw = NULL;	/* RAW_MEMO_MAX bytes in TopMemoryContext */
static Size MemoLen = 0;		/* 0: nothing remembered */
static uint8 MemoHash[RULESET_HASH_LEN];

static Bitmapset *NeededColumns(ModelDef *def, TupleDesc tupdesc, bool *complete);
static void CheckGeneration(void);

static void
RelcacheCallback(Datum arg, Oid relid)
{
	/* no catalog access here: just note that something changed */
	InvalCount++;
	ValueEpoch++;
	LastKeyValid = false;
	if (relid == InvalidOid || relid == GenerationRelid)
		GenerationRelid = InvalidOid;
}

static void
FreeRetiredAtXactEnd(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		ListCell   *lc;

		foreach(lc, RetiredContexts)
			MemoryContextDelete((MemoryContext) lfirst(lc));
		list_free(RetiredContexts);
		RetiredContexts = NIL;
		ValueEpoch++;
		LastKeyValid = false;
		MemoLen = 0;
	}
}

void
ruleset_init(void)
{
	CacheRegisterRelcacheCallback(RelcacheCallback, (Datum) 0);
	RegisterXactCallback(FreeRetiredAtXactEnd, NULL);
}

uint64
ruleset_inval_count(void)
{
	return InvalCount;
}

uint64
ruleset_generation_stamp(void)
{
	return GenerationStamp;
}

void
ruleset_lookup_key(LookupKey *key)
{
	Snapshot	snap = GetActiveSnapshot();

	memset(key, 0, sizeof(*key));
	key->lxid = MyProcLocalTransactionId();
	key->xmin = snap->xmin;
	key->xmax = snap->xmax;
	key->curcid = snap->curcid;
	key->completions = snap->snapXactCompletionCount;
	key->inval = InvalCount;
}

static Oid
ExtensionNamespace(void)
{
	Oid			nsp = get_namespace_oid("leadqual", true);

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension leadqual is not installed in this database"),
				 errhint("Run CREATE EXTENSION leadqual.")));
	return nsp;
}

Oid
ruleset_generation_relid(void)
{
	if (!OidIsValid(GenerationRelid) ||
		!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(GenerationRelid)))
	{
		GenerationRelid = get_relname_relid("config_generation", ExtensionNamespace());
		if (!OidIsValid(GenerationRelid))
			elog(ERROR, "leadqual.config_generation is missing");
	}
	return GenerationRelid;
}

/*
 * Runs the following code as role, in a security-restricted operation, with
 * search_path pinned to pg_catalog: the caller's path must not choose which
 * operator or function role's query runs.  (Parallel mode cannot change
 * settings; the queries run there qualify every name themselves.)
 */
void
ruleset_become_user(Oid role, OwnerContext *oc)
{
	GetUserIdAndSecContext(&oc->userid, &oc->sec);
	SetUserIdAndSecContext(role,
						   oc->sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	oc->nestlevel = -1;
	if (!IsInParallelMode())
		oc->nestlevel = pin_search_path();
}

/* Runs the following SPI as the extension's owner (ruleset_become_user). */
void
ruleset_become_owner(OwnerContext *oc)
{
	ruleset_become_user(ruleset_extension_owner(), oc);
}

void
ruleset_restore_user(OwnerContext *oc)
{
	if (oc->nestlevel >= 0)
		pin_pop(oc->nestlevel);
	SetUserIdAndSecContext(oc->userid, oc->sec);
}

Oid
ruleset_extension_owner(void)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(ruleset_generation_relid()));
	Oid			owner;

	/*
	 * Seen once under the traffic test: the row missed while autovacuum
	 * updated it in place.  Look it up again (by name) before giving up.
	 */
	if (!HeapTupleIsValid(tup))
	{
		GenerationRelid = InvalidOid;
		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(ruleset_generation_relid()));
	}
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for leadqual.config_generation");
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* Reads the generation row as the active snapshot sees it. */
static void
ReadGeneration(int64 *generation, TransactionId *xmin)
{
	Relation	rel = table_open(ruleset_generation_relid(), AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	HeapTuple	tup = heap_getnext(scan, ForwardScanDirection);
	bool		isnull;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "leadqual.config_generation is empty");
	*generation = DatumGetInt64(heap_getattr(tup, 1, RelationGetDescr(rel), &isnull));
	*xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
	table_endscan(scan);
	table_close(rel, AccessShareLock);
}

static char *
SpiText(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Loads one model's definition into the current memory context; NULL if
 * unknown.  With with_rules false only the models row is read (validation
 * needs no more, and runs once per rule).
 */
static ModelDef *
LoadModel(const char *model, bool with_rules)
{
	MemoryContext target = CurrentMemoryContext;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	ModelDef   *def = NULL;
	OwnerContext owner;
	MemoryContext spicxt;

	args[0] = CStringGetTextDatum(model);

	/* the extension reads its rules whatever the current role may read */
	ruleset_become_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spicxt = CurrentMemoryContext;

	if (SPI_execute_with_args(
							  "SELECT lead_table::pg_catalog.oid, mql_threshold, fit_threshold, framework, "
							  "       engagement_column::pg_catalog.text, half_life "
							  "FROM leadqual.models WHERE model OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual.models");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		MemoryContextSwitchTo(target);
		def = palloc0(sizeof(ModelDef));
		def->model = pstrdup(model);
		def->lead_table = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		def->mql_threshold = DatumGetFloat8(SPI_getbinval(tup, desc, 2, &isnull));
		d = SPI_getbinval(tup, desc, 3, &isnull);
		def->has_fit_threshold = !isnull;
		def->fit_threshold = isnull ? 0 : DatumGetFloat8(d);
		def->framework = SpiText(tup, desc, 4);
		def->engagement_column = SpiText(tup, desc, 5);
		d = SPI_getbinval(tup, desc, 6, &isnull);
		def->has_half_life = !isnull;
		def->half_life_us = isnull ? 0 : engagement_half_life_us(DatumGetIntervalP(d));
		MemoryContextSwitchTo(spicxt);
	}
	if (def != NULL && with_rules)
	{
		HeapTuple	tup;
		TupleDesc	desc;
		bool		isnull;

		if (SPI_execute_with_args(
								  "SELECT rule_id, name, category OPERATOR(pg_catalog.=) 'fit', points, knockout, "
								  "       attribute, op, value "
								  "FROM leadqual.rules WHERE model OPERATOR(pg_catalog.=) $1 AND enabled "
								  "ORDER BY rule_id",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read leadqual.rules");
		desc = SPI_tuptable->tupdesc;
		MemoryContextSwitchTo(target);
		def->nrules = SPI_processed;
		def->rules = palloc0(Max(def->nrules, 1) * sizeof(RuleDef));
		for (int i = 0; i < def->nrules; i++)
		{
			RuleDef    *r = &def->rules[i];

			tup = SPI_tuptable->vals[i];
			r->rule_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			r->name = SpiText(tup, desc, 2);
			r->fit = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
			r->points = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
			r->knockout = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
			r->attribute = SpiText(tup, desc, 6);
			r->op = SpiText(tup, desc, 7);
			r->value = SpiText(tup, desc, 8);
		}
		MemoryContextSwitchTo(spicxt);

		if (SPI_execute_with_args(
								  "SELECT c.framework, c.criterion, k.attribute IS NOT NULL, "
								  "       k.attribute, k.op, k.value "
								  "FROM leadqual.criteria c LEFT JOIN leadqual.criterion_checks k "
								  "  ON k.model OPERATOR(pg_catalog.=) $1 "
								  " AND k.framework OPERATOR(pg_catalog.=) c.framework "
								  " AND k.criterion OPERATOR(pg_catalog.=) c.criterion "
								  "ORDER BY c.framework COLLATE pg_catalog.\"C\", c.position, c.criterion COLLATE pg_catalog.\"C\"",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read leadqual.criteria");
		desc = SPI_tuptable->tupdesc;
		MemoryContextSwitchTo(target);
		def->frameworks = palloc0(Max(SPI_processed, 1) * sizeof(FrameworkDef));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			char	   *fw = SpiText(SPI_tuptable->vals[i], desc, 1);
			FrameworkDef *f;
			CriterionDef *c;

			tup = SPI_tuptable->vals[i];
			if (def->nframeworks == 0 ||
				strcmp(def->frameworks[def->nframeworks - 1].framework, fw) != 0)
			{
				f = &def->frameworks[def->nframeworks++];
				f->framework = fw;
				f->criteria = palloc0(SPI_processed * sizeof(CriterionDef));
			}
			f = &def->frameworks[def->nframeworks - 1];
			c = &f->criteria[f->ncriteria++];
			c->criterion = SpiText(tup, desc, 2);
			c->has_check = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
			c->attribute = SpiText(tup, desc, 4);
			c->op = SpiText(tup, desc, 5);
			c->value = SpiText(tup, desc, 6);
		}
		MemoryContextSwitchTo(spicxt);

		if (SPI_execute_with_args(
								  "SELECT event_type, points, max_points, half_life "
								  "FROM leadqual.event_rules WHERE model OPERATOR(pg_catalog.=) $1 "
								  "ORDER BY event_type COLLATE pg_catalog.\"C\"",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read leadqual.event_rules");
		desc = SPI_tuptable->tupdesc;
		MemoryContextSwitchTo(target);
		def->nevents = SPI_processed;
		def->events = palloc0(Max(def->nevents, 1) * sizeof(EventRuleDef));
		for (int i = 0; i < def->nevents; i++)
		{
			EventRuleDef *e = &def->events[i];
			Datum		d;

			tup = SPI_tuptable->vals[i];
			e->event_type = SpiText(tup, desc, 1);
			e->points = DatumGetFloat8(SPI_getbinval(tup, desc, 2, &isnull));
			d = SPI_getbinval(tup, desc, 3, &isnull);
			e->has_cap = !isnull;
			e->max_points = isnull ? 0 : DatumGetFloat8(d);
			d = SPI_getbinval(tup, desc, 4, &isnull);
			e->has_half_life = !isnull;
			e->half_life_us = isnull ? 0 : engagement_half_life_us(DatumGetIntervalP(d));
		}
	}
	MemoryContextSwitchTo(target);
	SPI_finish();
	ruleset_restore_user(&owner);
	return def;
}

/* One attachment row of the SPI result, copied into the current context. */
static void *
AttachmentFromRow(AttachmentKind kind, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;

	if (kind == ATTACHMENT_LEAD)
	{
		AttachmentDef *def = palloc0(sizeof(AttachmentDef));

		def->lead_table = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		def->model = SpiText(tup, desc, 2);
		def->score_column = SpiText(tup, desc, 3);
		def->stage_column = SpiText(tup, desc, 4);
		def->locked_column = SpiText(tup, desc, 5);
		def->key_column = SpiText(tup, desc, 6);
		return def;
	}
	else
	{
		EventAttachmentDef *def = palloc0(sizeof(EventAttachmentDef));

		def->events_table = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		def->model = SpiText(tup, desc, 2);
		def->lead_column = SpiText(tup, desc, 3);
		def->type_column = SpiText(tup, desc, 4);
		def->time_column = SpiText(tup, desc, 5);
		def->lead_table = DatumGetObjectId(SPI_getbinval(tup, desc, 6, &isnull));
		def->engagement_column = SpiText(tup, desc, 7);
		return def;
	}
}

/*
 * Reads the attachment of relid, or of its nearest ancestor in candidates
 * order, from leadqual.attachments (or leadqual.event_attachments with its
 * model's row) as the owner (a plain read of the extension's own tables, with
 * pg_catalog operators only); NULL if none.
 */
static void *
LoadAttachment(AttachmentKind kind, List *candidates)
{
	MemoryContext target = CurrentMemoryContext;
	Oid			argtypes[1] = {OIDARRAYOID};
	Datum		args[1];
	Datum	   *oids = palloc(list_length(candidates) * sizeof(Datum));
	void	   *def = NULL;
	OwnerContext owner;
	MemoryContext spicxt;
	ListCell   *lc;
	int			n = 0;
	int			best = INT_MAX;
	const char *sql;

	foreach(lc, candidates)
		oids[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	args[0] = PointerGetDatum(construct_array(oids, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));

	if (kind == ATTACHMENT_LEAD)
		sql = "SELECT lead_table::pg_catalog.oid, model, score_column::pg_catalog.text, "
			"       stage_column::pg_catalog.text, locked_column::pg_catalog.text, "
			"       key_column::pg_catalog.text "
			"FROM leadqual.attachments "
			"WHERE lead_table::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)";
	else
		sql = "SELECT e.events_table::pg_catalog.oid, e.model, e.lead_column::pg_catalog.text, "
			"       e.type_column::pg_catalog.text, e.time_column::pg_catalog.text, "
			"       m.lead_table::pg_catalog.oid, m.engagement_column::pg_catalog.text "
			"FROM leadqual.event_attachments e "
			"JOIN leadqual.models m ON m.model OPERATOR(pg_catalog.=) e.model "
			"WHERE e.events_table::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)";

	ruleset_become_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spicxt = CurrentMemoryContext;
	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual's attachments");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		int			pos = 0;

		/* the nearest: the table itself, then its parent, ... */
		foreach(lc, candidates)
		{
			if (lfirst_oid(lc) == relid)
				break;
			pos++;
		}
		if (pos >= best)
			continue;
		best = pos;
		MemoryContextSwitchTo(target);
		def = AttachmentFromRow(kind, tup, desc);
		MemoryContextSwitchTo(spicxt);
	}
	MemoryContextSwitchTo(target);
	SPI_finish();
	ruleset_restore_user(&owner);
	return def;
}

/* The cached attachment of a kind, loaded under the current generation; NULL if none. */
static void *
CachedAttachmentOf(AttachmentKind kind, Oid relid, bool ancestors)
{
	CachedAttachment *a;
	List	   *candidates;
	MemoryContext cxt;
	MemoryContext old;
	void	   *def;

	CheckGeneration();
	for (a = Attachments; a != NULL; a = a->next)
		if (a->kind == kind && a->relid == relid && a->ancestors == ancestors)
			return a->def;

	candidates = list_make1_oid(relid);
	if (ancestors && get_rel_relispartition(relid))
		candidates = list_concat(candidates, get_partition_ancestors(relid));

	/* built in a child of the caller's context (freed if this fails), then adopted */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual attachment",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	def = LoadAttachment(kind, candidates);
	MemoryContextSwitchTo(old);
	if (def == NULL)
	{
		MemoryContextDelete(cxt);
		return NULL;
	}
	MemoryContextSetParent(cxt, GenerationContext);
	a = MemoryContextAlloc(cxt, sizeof(CachedAttachment));
	a->kind = kind;
	a->relid = relid;
	a->ancestors = ancestors;
	a->def = def;
	a->next = Attachments;
	Attachments = a;
	return def;
}

/* The table's name, schema-qualified, for messages. */
static char *
QualifiedName(Oid relid)
{
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));
	char	   *rel = get_rel_name(relid);

	return rel ? quote_qualified_identifier(nsp, rel) : "(unknown)";
}

AttachmentDef *
ruleset_attachment(Oid relid, bool ancestors, const char *trigger)
{
	AttachmentDef *def = CachedAttachmentOf(ATTACHMENT_LEAD, relid, ancestors);

	if (def == NULL)			/* on a Citus table or shard: say why */
		citus_refuse_table(relid, trigger, NULL, false);
	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s is not attached to a leadqual model", QualifiedName(relid)),
				 errdetail("%s runs only on tables that leadqual.attach set up (leadqual.attachments).",
						   trigger),
				 errhint("Drop this trigger; to score the table, run leadqual.attach on it.")));
	return def;
}

AttachmentDef *
ruleset_find_attachment(Oid relid)
{
	return CachedAttachmentOf(ATTACHMENT_LEAD, relid, false);
}

EventAttachmentDef *
ruleset_event_attachment(Oid relid, const char *trigger)
{
	EventAttachmentDef *def = CachedAttachmentOf(ATTACHMENT_EVENTS, relid, false);

	if (def == NULL)			/* on a Citus table or shard: say why */
		citus_refuse_table(relid, trigger, NULL, true);
	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s is not attached to a leadqual model as an events table",
						QualifiedName(relid)),
				 errdetail("%s runs only on tables that leadqual.attach_events set up (leadqual.event_attachments).",
						   trigger),
				 errhint("Drop this trigger; to take engagement from the table, run leadqual.attach_events on it.")));
	return def;
}

Oid
ruleset_model_lead_table(const char *model, char **engagement_column)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual model",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ModelDef   *def;
	Oid			result;

	def = LoadModel(model, false);
	MemoryContextSwitchTo(old);
	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", model),
				 errhint("Models are rows of leadqual.models.")));
	result = def->lead_table;
	if (engagement_column)
		*engagement_column = def->engagement_column ? pstrdup(def->engagement_column) : NULL;
	MemoryContextDelete(cxt);
	return result;
}

TupleDesc
ruleset_lead_tupdesc(Oid relid, const char *model)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class cls;
	Oid			rowtype;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("lead table of model \"%s\" does not exist", model),
				 errhint("Point leadqual.models.lead_table at an existing table or view.")));
	cls = (Form_pg_class) GETSTRUCT(tup);
	if (cls->relkind != RELKIND_RELATION && cls->relkind != RELKIND_VIEW &&
		cls->relkind != RELKIND_MATVIEW && cls->relkind != RELKIND_FOREIGN_TABLE &&
		cls->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("lead table \"%s\" of model \"%s\" is not a table or view",
						NameStr(cls->relname), model)));
	rowtype = cls->reltype;
	ReleaseSysCache(tup);
	return lookup_rowtype_tupdesc_copy(rowtype, -1);
}

/* Builds the spec array of def's rules. */
static PredicateSpec *
RuleSpecs(ModelDef *def, int *idx, int n)
{
	PredicateSpec *specs = palloc(Max(n, 1) * sizeof(PredicateSpec));

	for (int i = 0; i < n; i++)
	{
		RuleDef    *r = &def->rules[idx[i]];

		specs[i].label = psprintf("rule \"%s\" of model \"%s\"", r->name, def->model);
		specs[i].attribute = r->attribute;
		specs[i].op = r->op;
		specs[i].value = r->value;
	}
	return specs;
}

typedef struct CompileStep
{
	TupleDesc	tupdesc;
	PredicateSpec *specs;
	int			n;
	PredicateSet *result;
} CompileStep;

static void
RunCompile(void *arg)
{
	CompileStep *step = (CompileStep *) arg;

	step->result = predicate_set_compile(step->tupdesc, step->specs, step->n);
}

/*
 * Runs predicate_set_compile in a subtransaction; false (error swallowed) if it
 * fails.  A cancel, timeout or resource error is not swallowed: subxact_run
 * re-throws it.
 */
static bool
TryCompile(TupleDesc tupdesc, PredicateSpec *specs, int n, PredicateSet **result,
		   char **message)
{
	CompileStep step = {tupdesc, specs, n, NULL};
	ErrorData  *edata = subxact_run(RunCompile, &step);

	if (edata != NULL)
	{
		if (message)
			*message = edata->message;
		return false;
	}
	*result = step.result;
	return true;
}

/* Warns once per backend that a rule or check (by its label) is skipped. */
static void
WarnSkipped(const char *label, const char *why)
{
	ListCell   *lc;
	MemoryContext old;

	foreach(lc, WarnedLabels)
		if (strcmp((char *) lfirst(lc), label) == 0)
			return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	WarnedLabels = lappend(WarnedLabels, pstrdup(label));
	MemoryContextSwitchTo(old);
	ereport(WARNING,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("leadqual skips %s: %s", label, why),
			 errhint("SELECT * FROM leadqual.rule_problems lists rules that cannot be evaluated; fix or disable them.")));
}

/*
 * Compiles specs for cm's row type; keep[] receives the indexes of the specs
 * compiled.  For the lead table's own row type a spec that cannot be
 * evaluated (the DDL guard was switched off, an enum label was renamed …) is
 * skipped with one WARNING per backend: a lead insert must never fail because
 * of scoring.  Parallel workers cannot catch errors, so there only what can be
 * checked without one is filtered.  For any other row type it is an error:
 * the caller passed a row that lacks what the rules need.
 */
static PredicateSet *
CompileUsable(CompiledModel *cm, PredicateSpec *specs, int n, int *keep, int *nkeep)
{
	PredicateSpec *usable = palloc(Max(n, 1) * sizeof(PredicateSpec));
	PredicateSet *set;
	int			m = 0;

	if (cm->is_lead_rowtype && !IsInParallelMode())
	{
		if (TryCompile(cm->tupdesc, specs, n, &set, NULL))
		{
			for (int i = 0; i < n; i++)
				keep[i] = i;
			*nkeep = n;
			return set;
		}
		/* find the ones that fail, one by one */
		for (int i = 0; i < n; i++)
		{
			char	   *message = NULL;

			if (TryCompile(cm->tupdesc, &specs[i], 1, &set, &message))
			{
				keep[m] = i;
				usable[m++] = specs[i];
			}
			else
				WarnSkipped(specs[i].label, message);
		}
		*nkeep = m;
		return predicate_set_compile(cm->tupdesc, usable, m);
	}
	for (int i = 0; i < n; i++)
	{
		char	   *why;

		if (cm->is_lead_rowtype && IsInParallelMode() &&
			!predicate_spec_usable(cm->tupdesc, &specs[i], &why))
		{
			WarnSkipped(specs[i].label, why);
			continue;
		}
		keep[m] = i;
		usable[m++] = specs[i];
	}
	*nkeep = m;
	return predicate_set_compile(cm->tupdesc, usable, m);
}

static void
CompileRules(CompiledModel *cm)
{
	ModelDef   *def = cm->def;
	int		   *idx = palloc(Max(def->nrules, 1) * sizeof(int));

	for (int i = 0; i < def->nrules; i++)
		idx[i] = i;
	cm->active = palloc(Max(def->nrules, 1) * sizeof(int));
	cm->rules = CompileUsable(cm, RuleSpecs(def, idx, def->nrules), def->nrules,
							  cm->active, &cm->nactive);

	/* matched[] is read eight at a time: padded with zeros to a multiple of eight */
	cm->matched = palloc0(TYPEALIGN(8, Max(def->nrules, 1)) * sizeof(bool));
	/* what ruleset_eval_slot adds per matched result, contiguous */
	cm->points = palloc(Max(cm->nactive, 1) * sizeof(double));
	cm->fit_points = palloc(Max(cm->nactive, 1) * sizeof(double));
	cm->knocks = palloc(Max(cm->nactive, 1) * sizeof(bool));
	for (int i = 0; i < cm->nactive; i++)
	{
		const RuleDef *r = &def->rules[cm->active[i]];

		cm->points[i] = r->points;
		cm->fit_points[i] = r->fit ? r->points : 0;
		cm->knocks[i] = r->knockout;
	}
}

/*
 * Is typid the row type of the model's lead table, or of one of its
 * partitions (the lead trigger fires on the partition, with its row type)?
 * Rows of these are leads: a rule that cannot be evaluated for them is
 * skipped, never an error.
 */
static bool
IsLeadRowtype(Oid lead_table, Oid typid)
{
	Oid			relid;

	if (typid == get_rel_type_id(lead_table))
		return true;
	relid = get_typ_typrelid(typid);
	return OidIsValid(relid) && get_rel_relispartition(relid) &&
		list_member_oid(get_partition_ancestors(relid), lead_table);
}

/* Can EngagementValue read a column of this (base) type? */
static bool
IsEngagementType(Oid type)
{
	return type == FLOAT8OID || type == FLOAT4OID || type == INT2OID || type == INT4OID ||
		type == INT8OID || type == NUMERICOID;
}

static CompiledModel *
CompileModel(ModelDef *def, Oid lead_table, Oid typid, int32 typmod, uint64 tupdesc_id)
{
	CompiledModel *cm = palloc0(sizeof(CompiledModel));
	TupleDesc	td = lookup_rowtype_tupdesc(typid, typmod);

	cm->def = def;
	cm->lead_table = lead_table;
	cm->typid = typid;
	cm->typmod = typmod;
	cm->tupdesc_id = tupdesc_id;
	cm->tupdesc = CreateTupleDescCopy(td);
	ReleaseTupleDesc(td);
	cm->slot = MakeSingleTupleTableSlot(cm->tupdesc, &TTSOpsHeapTuple);
	cm->scratch = AllocSetContextCreate(CurrentMemoryContext, "leadqual row",
										ALLOCSET_DEFAULT_SIZES);

	cm->is_lead_rowtype = OidIsValid(lead_table) && IsLeadRowtype(lead_table, typid);
	{
		bool		complete;

		cm->needed = NeededColumns(def, cm->tupdesc, &complete);
	}
	CompileRules(cm);
	cm->frameworks = palloc0(Max(def->nframeworks, 1) * sizeof(CompiledFramework));

	if (def->engagement_column)
	{
		for (int i = 0; i < cm->tupdesc->natts; i++)
		{
			Form_pg_attribute a = TupleDescAttr(cm->tupdesc, i);

			if (!a->attisdropped && strcmp(NameStr(a->attname), def->engagement_column) == 0)
			{
				cm->engagement_attno = a->attnum;
				cm->engagement_type = getBaseType(a->atttypid);
			}
		}
		if (cm->engagement_attno == 0 && !cm->is_lead_rowtype)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("row has no engagement column \"%s\" of model \"%s\"",
							def->engagement_column, def->model)));
		/* a column whose type changed since (the DDL guard checks only that it exists) */
		if (cm->engagement_attno > 0 && !IsEngagementType(cm->engagement_type))
		{
			char	   *why = psprintf("it has type %s, not a number",
									   format_type_be(cm->engagement_type));

			if (!cm->is_lead_rowtype)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("engagement column \"%s\" of model \"%s\" is not numeric",
								def->engagement_column, def->model)));
			WarnSkipped(psprintf("engagement column \"%s\" of model \"%s\"",
								 def->engagement_column, def->model), why);
			cm->engagement_attno = 0;
		}
	}
	return cm;
}

/* Switches to a fresh cache if the snapshot sees another generation. */
static void
CheckGeneration(void)
{
	int64		generation;
	TransactionId xmin;
	LookupKey	key;

	/*
	 * Under the snapshot the generation was last read with, it is the same:
	 * no table read (a transition function called with a fresh fn_extra per
	 * row, as Citus' worker_partial_agg does, stays cheap).
	 */
	ruleset_lookup_key(&key);
	if (GenerationContext != NULL && LastKeyValid && memcmp(&key, &LastKey, sizeof(key)) == 0)
		return;
	ReadGeneration(&generation, &xmin);
	LastKey = key;
	LastKeyValid = true;
	if (GenerationContext != NULL && generation == Generation && xmin == GenerationXmin)
		return;
	if (GenerationContext != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		RetiredContexts = lappend(RetiredContexts, GenerationContext);
		MemoryContextSwitchTo(old);
		MemoryContextSetParent(GenerationContext, TopMemoryContext);
	}
	GenerationContext = AllocSetContextCreate(CacheMemoryContext, "leadqual rule set",
											  ALLOCSET_DEFAULT_SIZES);
	Generation = generation;
	GenerationXmin = xmin;
	GenerationStamp++;
	ValueEpoch++;				/* and what was compiled before is compiled again */
	Models = NULL;
	Attachments = NULL;
}

/* ---------------------------------------------------------------------------
 * The value cache
 */

static ValueEntry *
ValueFind(const uint8 *hash)
{
	ValueSlot  *slot;

	if (LastValue != NULL && memcmp(LastValue->hash, hash, RULESET_HASH_LEN) == 0)
		return LastValue;
	if (Values == NULL)
		return NULL;
	slot = hash_search(Values, hash, HASH_FIND, NULL);
	if (slot == NULL)
		return NULL;
	slot->entry->last_used = ++UseClock;
	LastValue = slot->entry;
	return slot->entry;
}

/*
 * Evicts the least recently used entry: freed at once if no caller ever got
 * it (a value that was only read in, e.g. by COPY of many distinct values),
 * else at transaction end.
 */
static void
ValueEvict(void)
{
	HASH_SEQ_STATUS status;
	ValueSlot  *slot;
	ValueEntry *victim = NULL;
	MemoryContext old;

	hash_seq_init(&status, Values);
	while ((slot = hash_seq_search(&status)) != NULL)
		if (victim == NULL || slot->entry->last_used < victim->last_used)
			victim = slot->entry;
	if (victim == NULL)
		return;
	(void) hash_search(Values, victim->hash, HASH_REMOVE, NULL);
	if (LastValue == victim)
		LastValue = NULL;
	if (!victim->used)
	{
		MemoryContextDelete(victim->cxt);
		return;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	RetiredContexts = lappend(RetiredContexts, victim->cxt);
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(victim->cxt, TopMemoryContext);
	ValueEpoch++;
}

/* Makes def (built in cxt, which the cache takes over) the entry of hash. */
static ValueEntry *
ValueAdopt(const uint8 *hash, ModelDef *def, MemoryContext cxt)
{
	ValueEntry *e;
	ValueSlot  *slot;
	bool		found;

	if (Values == NULL)
	{
		HASHCTL		ctl;

		ValuesContext = AllocSetContextCreate(CacheMemoryContext, "leadqual rule set values",
											  ALLOCSET_DEFAULT_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = RULESET_HASH_LEN;
		ctl.entrysize = sizeof(ValueSlot);
		ctl.hcxt = ValuesContext;
		Values = hash_create("leadqual rule set values", RULESET_CACHE_SIZE * 2, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	if (hash_get_num_entries(Values) >= RULESET_CACHE_SIZE)
		ValueEvict();
	def->lead_table = InvalidOid;	/* a value names no table */
	e = MemoryContextAllocZero(cxt, sizeof(ValueEntry));
	memcpy(e->hash, hash, RULESET_HASH_LEN);
	e->cxt = cxt;
	e->def = def;
	e->last_used = ++UseClock;
	MemoryContextSetParent(cxt, ValuesContext);
	slot = hash_search(Values, hash, HASH_ENTER, &found);
	slot->entry = e;
	LastValue = e;
	return e;
}

void
ruleset_cache_adopt(const uint8 *hash, ModelDef *def, MemoryContext cxt)
{
	if (ValueFind(hash) != NULL)
		MemoryContextDelete(cxt);
	else
		(void) ValueAdopt(hash, def, cxt);
}

/* The entry of a ruleset datum, parsed on a miss. */
static ValueEntry *
ValueOfDatum(Datum value, const uint8 *hash)
{
	ValueEntry *e = ValueFind(hash);
	RulesetData *rs;
	MemoryContext cxt;
	MemoryContext old;
	ModelDef   *def;
	uint8		parsed[RULESET_HASH_LEN];

	if (e == NULL)
	{
		rs = DatumGetRulesetP(value);
		/* built in a child of the caller's context (freed if this fails), then adopted */
		cxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual rule set value",
									ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(cxt);
		/* the type's input and receive functions validated it */
		def = ruleset_parse(rs->doc, VARSIZE(rs) - RULESET_HEADER_SIZE - 1, false, parsed);
		MemoryContextSwitchTo(old);
		e = ValueAdopt(hash, def, cxt);
	}
	e->used = true;
	return e;
}

/* What e compiled for a row type (and lead table: its rows skip unusable rules). */
static CompiledModel *
EntryCompiled(ValueEntry *e, Oid lead_table, Oid typid, int32 typmod)
{
	CompiledModel *cm;
	uint64		tupdesc_id = assign_record_type_identifier(typid, typmod);
	MemoryContext cxt;
	MemoryContext old;
	CompiledModel **prev;

	/*
	 * Compiled code depends on more than the rules (a domain's CHECK, an enum's
	 * labels, a collation): a new rule-set generation compiles again, as 1.0
	 * did.  What an older one compiled is retired (a running query may hold it).
	 */
	for (prev = &e->compiled; (cm = *prev) != NULL;)
	{
		if (cm->stamp != GenerationStamp)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

			*prev = cm->next;
			RetiredContexts = lappend(RetiredContexts, cm->cxt);
			MemoryContextSwitchTo(oldcxt);
			MemoryContextSetParent(cm->cxt, TopMemoryContext);
			continue;
		}
		if (cm->typid == typid && cm->typmod == typmod && cm->tupdesc_id == tupdesc_id &&
			cm->lead_table == lead_table)
			return cm;
		prev = &cm->next;
	}

	cxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual compiled model",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	cm = CompileModel(e->def, lead_table, typid, typmod, tupdesc_id);
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(cxt, e->cxt);
	cm->stamp = GenerationStamp;
	cm->cxt = cxt;
	cm->next = e->compiled;
	e->compiled = cm;
	return cm;
}

/* ruleset_datum_hash, remembering the last compressed or out-of-line datum (MemoRaw) */
static void
DatumHash(Datum value, uint8 *hash)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	Size		len;

	/* a plain datum's header is at hand; an expanded or indirect one has no stable bytes */
	if (!VARATT_IS_EXTENDED(v) || VARATT_IS_EXTERNAL_EXPANDED(v) ||
		VARATT_IS_EXTERNAL_INDIRECT(v))
	{
		ruleset_datum_hash(value, hash);
		return;
	}
	len = VARSIZE_ANY(v);
	if (MemoLen == len && memcmp(MemoRaw, v, len) == 0)
	{
		memcpy(hash, MemoHash, RULESET_HASH_LEN);
		return;
	}
	ruleset_datum_hash(value, hash);
	if (len > RAW_MEMO_MAX)
		return;
	if (MemoRaw == NULL)
		MemoRaw = MemoryContextAlloc(TopMemoryContext, RAW_MEMO_MAX);
	memcpy(MemoRaw, v, len);
	memcpy(MemoHash, hash, RULESET_HASH_LEN);
	MemoLen = len;
}

CompiledModel *
ruleset_compiled_cached(RulesetCallCache *cc, Datum value, Oid typid, int32 typmod)
{
	uint8		hash[RULESET_HASH_LEN];

	DatumHash(value, hash);
	if (cc->cm != NULL && cc->epoch == ValueEpoch && cc->typid == typid &&
		cc->typmod == typmod && memcmp(cc->hash, hash, RULESET_HASH_LEN) == 0)
		return cc->cm;
	cc->cm = NULL;
	cc->cm = EntryCompiled(ValueOfDatum(value, hash), InvalidOid, typid, typmod);
	memcpy(cc->hash, hash, RULESET_HASH_LEN);
	cc->typid = typid;
	cc->typmod = typmod;
	cc->epoch = ValueEpoch;
	return cc->cm;
}

CompiledModel *
ruleset_compiled_for_table(Datum value, Oid lead_table, Oid typid)
{
	uint8		hash[RULESET_HASH_LEN];

	DatumHash(value, hash);
	return EntryCompiled(ValueOfDatum(value, hash), lead_table, typid, -1);
}

Oid
ruleset_type_oid(void)
{
	Oid			nsp = get_namespace_oid("leadqual", true);

	if (!OidIsValid(nsp))
		return InvalidOid;
	return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("ruleset"),
						   ObjectIdGetDatum(nsp));
}

RulesetData *
ruleset_model_value_uncached(const char *model)
{
	ModelDef   *def = LoadModel(model, true);

	return def ? ruleset_serialize(def) : NULL;
}

ModelDef *
ruleset_value_def(Datum value)
{
	uint8		hash[RULESET_HASH_LEN];

	DatumHash(value, hash);
	return ValueOfDatum(value, hash)->def;
}

static EngagementRules *
EntryEventRules(ValueEntry *e)
{
	if (e->events == NULL)
	{
		MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual event rules",
												  ALLOCSET_SMALL_SIZES);

		e->events = engagement_rules_build(e->def, e->hash, cxt);
		MemoryContextSetParent(cxt, e->cxt);
	}
	return e->events;
}

EngagementRules *
ruleset_value_event_rules(Datum value)
{
	uint8		hash[RULESET_HASH_LEN];

	DatumHash(value, hash);
	return EntryEventRules(ValueOfDatum(value, hash));
}

/* ---------------------------------------------------------------------------
 * Model names -> values, per generation
 */

/* The cached value of model under the current generation; NULL if unknown. */
static CachedModel *
FindModelLen(const char *name, int len)
{
	CachedModel *m;
	MemoryContext old;
	MemoryContext cxt;
	ModelDef   *def;
	RulesetData *value;
	char	   *model;

	CheckGeneration();
	for (m = Models; m != NULL; m = m->next)
		if (m->model_len == len && memcmp(m->model, name, len) == 0)
			return m;
	model = pnstrdup(name, len);

	/* built in a child of the caller's context (freed if this fails), then adopted */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual model",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	def = LoadModel(model, true);
	MemoryContextSwitchTo(old);
	if (def == NULL)
	{
		MemoryContextDelete(cxt);
		return NULL;
	}
	value = ruleset_serialize(def);
	m = MemoryContextAlloc(GenerationContext, sizeof(CachedModel));
	m->model = MemoryContextStrdup(GenerationContext, model);
	m->model_len = len;
	m->lead_table = def->lead_table;
	m->value = MemoryContextAlloc(GenerationContext, VARSIZE(value));
	memcpy(m->value, value, VARSIZE(value));
	m->next = Models;
	Models = m;
	/* the same content as a value already cached (a rolled-back change, another model) */
	if (ValueFind(m->value->hash) != NULL)
		MemoryContextDelete(cxt);
	else
		(void) ValueAdopt(m->value->hash, def, cxt);
	return m;
}

static CachedModel *
FindModel(const char *model)
{
	return FindModelLen(model, strlen(model));
}

/* The value cache's entry of a model (re-read from its value if it was evicted). */
static ValueEntry *
ModelEntry(CachedModel *m)
{
	return ValueOfDatum(PointerGetDatum(m->value), m->value->hash);
}

static CachedModel *
FindModelOrError(const char *model, int len)
{
	CachedModel *m = FindModelLen(model, len);

	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%.*s\" does not exist", len, model),
				 errhint("Models are rows of leadqual.models."),
				 citus_errdetail_missing_model(pnstrdup(model, len))));
	return m;
}

RulesetData *
ruleset_value_of_model(const char *model, int len)
{
	/*
	 * The cached value itself, not a copy: a sub-select in FROM is pulled up
	 * and ruleset(model) then runs once per row, and a 1,000-rule value is
	 * 100 kB.  It stays valid to the end of the transaction (a superseded
	 * generation is retired, not freed) and nothing writes into a datum.
	 */
	return FindModelOrError(model, len)->value;
}

EngagementRules *
ruleset_model_event_rules_len(const char *model, int len)
{
	return EntryEventRules(ModelEntry(FindModelOrError(model, len)));
}

/* Adds the attnum of column name to *set; false if tupdesc has no such column. */
static bool
AddColumn(TupleDesc tupdesc, const char *name, Bitmapset **set)
{
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(tupdesc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
		{
			*set = bms_add_member(*set, a->attnum);
			return true;
		}
	}
	return false;
}

/*
 * What def reads of a row of tupdesc: by name, as predicate compilation finds
 * columns.  *complete is false if some name is not a column of tupdesc.
 */
static Bitmapset *
NeededColumns(ModelDef *def, TupleDesc tupdesc, bool *complete)
{
	Bitmapset  *set = NULL;
	bool		ok = true;

	for (int i = 0; i < def->nrules; i++)
		ok &= AddColumn(tupdesc, def->rules[i].attribute, &set);
	for (int f = 0; f < def->nframeworks; f++)
		for (int c = 0; c < def->frameworks[f].ncriteria; c++)
			if (def->frameworks[f].criteria[c].has_check)
				ok &= AddColumn(tupdesc, def->frameworks[f].criteria[c].attribute, &set);
	if (def->engagement_column)
		ok &= AddColumn(tupdesc, def->engagement_column, &set);
	*complete = ok;
	return set;
}

bool
ruleset_needed_columns(const char *model, TupleDesc tupdesc, Bitmapset **needed)
{
	CachedModel *m = FindModel(model);
	bool		complete;

	if (m == NULL)
		return false;
	*needed = NeededColumns(ModelEntry(m)->def, tupdesc, &complete);
	return complete;
}

bool
ruleset_value_needed_columns(Datum value, TupleDesc tupdesc, Bitmapset **needed)
{
	bool		complete;

	*needed = NeededColumns(ruleset_value_def(value), tupdesc, &complete);
	return complete;
}

CompiledModel *
ruleset_lookup(const char *model, Oid typid, int32 typmod)
{
	CachedModel *m = FindModelOrError(model, strlen(model));

	return EntryCompiled(ModelEntry(m), m->lead_table, typid, typmod);
}

void
ruleset_row_tuple(HeapTupleHeader row, HeapTuple tuple)
{
	tuple->t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = InvalidOid;
	tuple->t_data = row;
}

static double
EngagementValue(CompiledModel *cm, TupleTableSlot *slot)
{
	Datum		d;

	slot_getsomeattrs(slot, cm->engagement_attno);
	if (slot->tts_isnull[cm->engagement_attno - 1])
		return 0;
	d = slot->tts_values[cm->engagement_attno - 1];
	switch (cm->engagement_type)
	{
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case FLOAT4OID:
			return DatumGetFloat4(d);
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case NUMERICOID:
			/* beyond float8's range: +-Infinity, as a float8 column could hold */
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("engagement column \"%s\" is not numeric", cm->def->engagement_column)));
	}
	return 0;
}

void
ruleset_eval(CompiledModel *cm, HeapTuple row, LeadResult *res)
{
	ExecStoreHeapTuple(row, cm->slot, false);
	ruleset_eval_slot(cm, cm->slot, res);
	ExecClearTuple(cm->slot);
}

void
ruleset_eval_slot(CompiledModel *cm, TupleTableSlot *slot, LeadResult *res)
{
	MemoryContextReset(cm->scratch);
	predicate_set_eval(cm->rules, slot, cm->matched, cm->scratch);

	/*
	 * active[] is in rule_id order, so the sum is deterministic.  Results are
	 * read eight at a time (matched[] is padded with zeros to a multiple of
	 * eight), and only the true ones visited, in order, lowest bit first: no
	 * branch per rule, which predictors cannot guess, and none at all for
	 * eight rules that did not match (most of a large model).  (Summed in
	 * locals: through res the compiler reloads and stores every addition.)
	 */
	{
		const bool *matched = cm->matched;
		const double *points = cm->points;
		const double *fit_points = cm->fit_points;
		const bool *knocks = cm->knocks;
		int			nactive = cm->nactive;
		double		score = 0;
		double		fit = 0;
		bool		knockout = false;

		for (int w = 0; w < nactive; w += 8)
		{
			uint64		eight;

			memcpy(&eight, matched + w, sizeof(eight));
#ifdef WORDS_BIGENDIAN
			eight = pg_bswap64(eight);
#endif
			/* bit 8j: result w + j */
			eight &= UINT64CONST(0x0101010101010101);
			while (eight != 0)
			{
				int			i = w + pg_rightmost_one_pos64(eight) / 8;

				score += points[i];
				fit += fit_points[i];
				knockout |= knocks[i];
				eight &= eight - 1;
			}
		}
		res->score = score;
		res->fit = fit;
		res->knockout = knockout;
		res->engagement = 0;
	}
	if (cm->engagement_attno > 0)
	{
		res->engagement = EngagementValue(cm, slot);
		res->score += res->engagement;
	}
}

int
ruleset_find_framework(ModelDef *def, const char *framework)
{
	for (int i = 0; i < def->nframeworks; i++)
		if (strcmp(def->frameworks[i].framework, framework) == 0)
			return i;
	return -1;
}

void
ruleset_eval_framework(CompiledModel *cm, HeapTuple row, int fw, bool *met)
{
	ExecStoreHeapTuple(row, cm->slot, false);
	ruleset_eval_framework_slot(cm, cm->slot, fw, met);
	ExecClearTuple(cm->slot);
}

void
ruleset_eval_framework_slot(CompiledModel *cm, TupleTableSlot *slot, int fw, bool *met)
{
	CompiledFramework *cf = &cm->frameworks[fw];
	FrameworkDef *def = &cm->def->frameworks[fw];
	bool	   *matched;

	if (cf->def == NULL)
	{
		/*
		 * Compiling reads the checks' values with the columns' input functions,
		 * and a domain's CHECK may score a lead of this model itself, through
		 * cm->slot: what that held is put back.
		 */
		HeapTuple	held = slot == cm->slot && !TTS_EMPTY(slot) ?
			((HeapTupleTableSlot *) slot)->tuple : NULL;
		/* built in the caller's context (freed if this fails), then adopted */
		MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual framework",
												  ALLOCSET_SMALL_SIZES);
		MemoryContext old = MemoryContextSwitchTo(cxt);
		PredicateSpec *specs = palloc(Max(def->ncriteria, 1) * sizeof(PredicateSpec));
		int		   *crit = palloc(Max(def->ncriteria, 1) * sizeof(int));
		int		   *keep = palloc(Max(def->ncriteria, 1) * sizeof(int));
		int			n = 0;

		for (int i = 0; i < def->ncriteria; i++)
		{
			CriterionDef *c = &def->criteria[i];

			if (!c->has_check)
				continue;
			specs[n].label = psprintf("criterion check %s.%s of model \"%s\"",
									  def->framework, c->criterion, cm->def->model);
			specs[n].attribute = c->attribute;
			specs[n].op = c->op;
			specs[n].value = c->value;
			crit[n++] = i;
		}
		/* a check that cannot be evaluated leaves its criterion unmet */
		cf->checks = CompileUsable(cm, specs, n, keep, &cf->nchecks);
		cf->criterion_of = palloc(Max(cf->nchecks, 1) * sizeof(int));
		for (int j = 0; j < cf->nchecks; j++)
			cf->criterion_of[j] = crit[keep[j]];
		MemoryContextSwitchTo(old);
		MemoryContextSetParent(cxt, GetMemoryChunkContext(cm));
		cf->def = def;
		if (held != NULL)
			ExecStoreHeapTuple(held, slot, false);
	}

	MemoryContextReset(cm->scratch);
	matched = MemoryContextAlloc(cm->scratch, Max(cf->nchecks, 1) * sizeof(bool));
	predicate_set_eval(cf->checks, slot, matched, cm->scratch);
	memset(met, 0, def->ncriteria * sizeof(bool));
	for (int i = 0; i < cf->nchecks; i++)
		met[cf->criterion_of[i]] = matched[i];
}
