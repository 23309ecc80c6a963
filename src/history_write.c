/*
 * history_write.c — stage_history rows written the way COPY writes rows.
 *
 * The history trigger used to hand its rows to an INSERT ... SELECT over
 * unnest()ed parameter arrays (SPI), which costs the arrays, a function scan
 * materialising them, a projection and one heap_insert (one WAL record, one
 * buffer lock) per row.  Here they go straight to the table: slots filled
 * from the Change values and the columns' own defaults (the identity's
 * nextval, clock_timestamp(), whatever the owner set), NOT NULL and CHECK
 * constraints checked, table_multi_insert through a BulkInsertState a batch
 * at a time (one WAL record per page), then each row's index entries —
 * CopyMultiInsertBufferFlush's sequence.  What an INSERT would do beyond
 * that (triggers, rules, row security, generated columns, partition routing, a
 * column of another type that would need a cast) makes history_write_direct
 * return false, and the caller runs its INSERT.
 *
 * README ("Benchmark") has the alternatives measured: the INSERT over arrays
 * (leadqual.history_write = insert), this (direct, the default).
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "history_write.h"
#include "scoring.h"

/*
 * rows per table_multi_insert: some pages' worth (a history row is ~100
 * bytes); each call sets up this many slots, so not COPY's 1000
 */
#define HISTORY_BATCH 250

int			history_write_method = HISTORY_WRITE_DIRECT;

/* stage_history's columns the trigger supplies (the others get their defaults) */
enum
{
	COL_LEAD_TABLE, COL_LEAD_ID, COL_MODEL, COL_OLD_STAGE, COL_NEW_STAGE, COL_SCORE,
	COL_MANUAL, COL_CHANGED_BY, NUM_COLS
};

static const char *const col_names[NUM_COLS] = {
	"lead_table", "lead_id", "model", "old_stage", "new_stage", "score", "manual",
	"changed_by"
};

/* Where each supplied column is (0-based), or false if the table is not as expected. */
static bool
MapColumns(Relation rel, int *pos)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			stagetype = stage_type_oid();
	Oid			types[NUM_COLS] = {REGCLASSOID, TEXTOID, TEXTOID, stagetype, stagetype,
		FLOAT8OID, BOOLOID, TEXTOID};

	for (int k = 0; k < NUM_COLS; k++)
	{
		pos[k] = -1;
		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute a = TupleDescAttr(desc, i);

			if (!a->attisdropped && strcmp(NameStr(a->attname), col_names[k]) == 0)
			{
				if (a->atttypid != types[k] || a->attgenerated)
					return false;
				pos[k] = i;
				break;
			}
		}
		if (pos[k] < 0)
			return false;
	}
	return true;
}

/* Where stage_history.version is: -1 if absent, -2 if not an int4 one can write. */
static int
VersionColumn(TupleDesc desc)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), "version") == 0)
			return a->atttypid == INT4OID && !a->attgenerated ? i : -2;
	}
	return -1;
}

/* Whether an INSERT into rel would do nothing this path leaves out. */
static bool
Writable(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;

	return rel->rd_rel->relkind == RELKIND_RELATION &&
		rel->trigdesc == NULL &&
		rel->rd_rules == NULL &&	/* CREATE RULE ... ON INSERT: the rewriter's */
		!(constr && (constr->has_generated_stored
#if PG_VERSION_NUM >= 180000
					 || constr->has_generated_virtual
#endif
					 )) &&
		check_enable_rls(RelationGetRelid(rel), InvalidOid, true) != RLS_ENABLED &&
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT) == ACLCHECK_OK;
}

/* Inserts the filled slots and their index entries. */
static void
Flush(Relation rel, ResultRelInfo *rri, EState *estate, TupleTableSlot **slots, int nslots,
	  CommandId cid, BulkInsertState bistate)
{
	table_multi_insert(rel, slots, nslots, cid, 0, bistate);
	if (rri->ri_NumIndices > 0)
		for (int i = 0; i < nslots; i++)
		{
			List	   *recheck;

			recheck = ExecInsertIndexTuples(rri, slots[i], estate, false, false, NULL, NIL
#if PG_VERSION_NUM >= 160000
											,false
#endif
				);
			/* a deferred constraint's recheck needs its trigger, which Writable excluded */
			Assert(recheck == NIL);
			list_free(recheck);
			ResetPerTupleExprContext(estate);
		}
	for (int i = 0; i < nslots; i++)
		ExecClearTuple(slots[i]);
}

bool
history_write_direct(Oid lead_table, const char *model, const char *actor,
					 int32 version, const Change *c, int n)
{
	Oid			relid;
	Relation	rel;
	TupleDesc	desc;
	int			pos[NUM_COLS];
	ExprState **defaults;
	bool	   *supplied;
	EState	   *estate;
	ExprContext *econtext;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	TupleTableSlot **slots;
	MemoryContext batchcxt;
	MemoryContext old;
	CommandId	cid;
	Datum		stage_values[NUM_STAGES];
	Datum		model_d;
	Datum		actor_d;
	int			version_pos;
	int			nslots;
	int			filled = 0;

	if (history_write_method != HISTORY_WRITE_DIRECT || n <= 0)
		return n <= 0;
	relid = get_relname_relid("stage_history", get_namespace_oid("leadqual", false));
	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, RowExclusiveLock);
	if (!Writable(rel) || !MapColumns(rel, pos))
	{
		table_close(rel, NoLock);
		return false;
	}
	desc = RelationGetDescr(rel);
	/* stage_history.version (1.1; absent until ALTER EXTENSION UPDATE has run) */
	version_pos = VersionColumn(desc);
	if (version_pos == -2)
	{
		table_close(rel, NoLock);
		return false;
	}

	estate = CreateExecutorState();
	old = MemoryContextSwitchTo(estate->es_query_cxt);
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 0, NULL, 0);
	ExecOpenIndices(rri, false);

	/* the defaults of the columns not supplied (planned as an INSERT would) */
	supplied = palloc0(desc->natts * sizeof(bool));
	for (int k = 0; k < NUM_COLS; k++)
		supplied[pos[k]] = true;
	if (version_pos >= 0)
		supplied[version_pos] = true;
	defaults = palloc0(desc->natts * sizeof(ExprState *));
	for (int i = 0; i < desc->natts; i++)
	{
		Node	   *expr;

		if (supplied[i] || TupleDescAttr(desc, i)->attisdropped)
			continue;
		expr = build_column_default(rel, i + 1);
		if (expr != NULL)
			defaults[i] = ExecPrepareExpr((Expr *) expression_planner((Expr *) expr), estate);
	}
	econtext = GetPerTupleExprContext(estate);

	nslots = Min(n, HISTORY_BATCH);
	slots = palloc(nslots * sizeof(TupleTableSlot *));
	for (int i = 0; i < nslots; i++)
		slots[i] = table_slot_create(rel, &estate->es_tupleTable);
	for (int i = 0; i < NUM_STAGES; i++)
		stage_values[i] = stage_datum(i);
	model_d = model ? CStringGetTextDatum(model) : (Datum) 0;
	actor_d = CStringGetTextDatum(actor);
	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual history batch",
									 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(old);

	bistate = GetBulkInsertState();
	cid = GetCurrentCommandId(true);

	for (int r = 0; r < n; r++)
	{
		TupleTableSlot *slot = slots[filled];
		Datum	   *values = slot->tts_values;
		bool	   *nulls = slot->tts_isnull;

		old = MemoryContextSwitchTo(batchcxt);
		ExecClearTuple(slot);
		for (int i = 0; i < desc->natts; i++)
		{
			nulls[i] = true;
			values[i] = (Datum) 0;
			if (defaults[i] != NULL)
				values[i] = ExecEvalExpr(defaults[i], econtext, &nulls[i]);
		}
		values[pos[COL_LEAD_TABLE]] = ObjectIdGetDatum(lead_table);
		nulls[pos[COL_LEAD_TABLE]] = false;
		nulls[pos[COL_LEAD_ID]] = c[r].lead_id == NULL;
		if (c[r].lead_id != NULL)
			values[pos[COL_LEAD_ID]] = CStringGetTextDatum(c[r].lead_id);
		values[pos[COL_MODEL]] = model_d;
		nulls[pos[COL_MODEL]] = model == NULL;
		nulls[pos[COL_OLD_STAGE]] = c[r].old_stage < 0;
		if (c[r].old_stage >= 0)
			values[pos[COL_OLD_STAGE]] = stage_values[c[r].old_stage];
		nulls[pos[COL_NEW_STAGE]] = c[r].new_stage < 0;
		if (c[r].new_stage >= 0)
			values[pos[COL_NEW_STAGE]] = stage_values[c[r].new_stage];
		nulls[pos[COL_SCORE]] = c[r].score_null;
		values[pos[COL_SCORE]] = Float8GetDatum(c[r].score);
		values[pos[COL_MANUAL]] = BoolGetDatum(c[r].manual);
		nulls[pos[COL_MANUAL]] = false;
		values[pos[COL_CHANGED_BY]] = actor_d;
		nulls[pos[COL_CHANGED_BY]] = false;
		if (version_pos >= 0)
		{
			values[version_pos] = Int32GetDatum(version);
			nulls[version_pos] = version <= 0 || c[r].manual;
		}
		ExecStoreVirtualTuple(slot);
		MemoryContextSwitchTo(old);

		if (desc->constr)
			ExecConstraints(rri, slot, estate);
		ResetPerTupleExprContext(estate);

		if (++filled == nslots)
		{
			Flush(rel, rri, estate, slots, filled, cid, bistate);
			MemoryContextReset(batchcxt);
			filled = 0;
		}
	}
	if (filled > 0)
		Flush(rel, rri, estate, slots, filled, cid, bistate);

	FreeBulkInsertState(bistate);
	ExecCloseIndices(rri);
	ExecResetTupleTable(estate->es_tupleTable, false);
	MemoryContextDelete(batchcxt);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
	/* as the INSERT did: the rows are visible to what runs next */
	CommandCounterIncrement();
	return true;
}
