/*
 * narrow.c — the planner support function of score, classify, explain and
 * qualify, and the run-time side of the calls it makes (see narrow.h).
 *
 * Why the result stays right:
 *  - The row keeps its type and attnums (NULL constants in the columns left
 *    out), so the model compiles and evaluates as for the whole row.
 *  - The plan depends on leadqual.config_generation (PlannedStmt.relationOids):
 *    config_changed's relcache invalidation of it makes PREPAREd, PL/pgSQL and
 *    view plans replan at their next execution.
 *  - An invalidation can still arrive after the plan was checked (another
 *    session commits between two statements of our transaction, whose locks
 *    we already hold): the call compares the columns its statement's rule set
 *    reads with the ones passed, and reads the whole row back by ctid if any is
 *    missing.  Only calls the support function made (marked COERCE_SQL_SYNTAX,
 *    which SQL cannot produce for these functions) read rows back, so a user
 *    calling a *_narrowed function cannot use it to read a row.
 *  - Only whole-row Vars of plain tables, matviews and partitioned tables in
 *    a SELECT are narrowed: their tuples sit at their ctid for the statement.
 */
#include "postgres.h"

#include "access/heaptoast.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "storage/itemptr.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/supportnodes.h"
#include "parser/parse_func.h"
#include "parser/parse_relation.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "compat.h"
#include "narrow.h"
#include "ruleset.h"

#define NARROWED_SUFFIX "_narrowed"

/* Which of our functions funcid is: its base name and whether it is narrowed; NULL if none. */
static char *
OurFunction(Oid funcid, bool *narrowed, int *base_nargs)
{
	char	   *name = get_func_name(funcid);
	char	   *nsp = get_namespace_name(get_func_namespace(funcid));
	size_t		len;

	if (name == NULL || nsp == NULL || strcmp(nsp, "leadqual") != 0)
		return NULL;
	len = strlen(name);
	*narrowed = len > strlen(NARROWED_SUFFIX) &&
		strcmp(name + len - strlen(NARROWED_SUFFIX), NARROWED_SUFFIX) == 0;
	if (*narrowed)
		name[len - strlen(NARROWED_SUFFIX)] = '\0';
	if (strcmp(name, "score") != 0 && strcmp(name, "classify") != 0 &&
		strcmp(name, "explain") != 0 && strcmp(name, "qualify") != 0)
		return NULL;
	*base_nargs = strcmp(name, "qualify") == 0 ? 3 : 2;
	return name;
}

/* leadqual.<name>[_narrowed] with the argument types the rewrite uses. */
static Oid
FunctionOid(const char *name, bool narrowed, int base_nargs)
{
	Oid			argtypes[5] = {RECORDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	int			nargs = base_nargs + (narrowed ? 2 : 0);
	char	   *fname = narrowed ? psprintf("%s%s", name, NARROWED_SUFFIX) : pstrdup(name);

	if (narrowed)
	{
		argtypes[base_nargs] = OIDOID;
		argtypes[base_nargs + 1] = TIDOID;
	}
	return LookupFuncName(list_make2(makeString("leadqual"), makeString(fname)),
						  nargs, argtypes, true);
}

/*
 * Whether the query selects rte's whole row (its permission bits say so): the
 * planner sometimes simplifies an expression with another query's root
 * (convert_EXISTS_to_ANY passes the parent's), and a Var of that other query
 * must not be taken for this query's table.
 */
static bool
SelectsWholeRow(PlannerInfo *root, RangeTblEntry *rte)
{
	return bms_is_member(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber,
						 RteSelectedCols(root->parse, rte));
}

/*
 * Whether a partitioned table has a partition whose rows are not stored here (a
 * foreign table, e.g. postgres_fdw's): those have no ctid to read a row back at.  The
 * partitions a plan scans are fixed when it is made, so the check at planning holds.
 */
static bool
HasForeignPartition(Oid relid)
{
	List	   *rels = find_all_inheritors(relid, NoLock, NULL);
	ListCell   *lc;

	foreach(lc, rels)
	{
		if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_FOREIGN_TABLE)
			return true;
	}
	return false;
}

/* The relation rte names, if it is one whose rows narrowing can read back. */
static bool
NarrowableRelation(PlannerInfo *root, Index varno, Oid rowtype)
{
	RangeTblEntry *rte;

	if (varno < 1 || varno > list_length(root->parse->rtable))
		return false;
	rte = rt_fetch(varno, root->parse->rtable);
	return rte->rtekind == RTE_RELATION &&
		(rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_MATVIEW ||
		 (rte->relkind == RELKIND_PARTITIONED_TABLE && !HasForeignPartition(rte->relid))) &&
		get_rel_type_id(rte->relid) == rowtype && SelectsWholeRow(root, rte);
}

/*
 * Whether the whole-row Var is one of root's own query (found at the same
 * parse location in its expressions, sub-queries not entered).  The planner
 * simplifies an EXISTS subquery's WHERE with the parent's root
 * (convert_EXISTS_to_ANY): a Var of the subquery then carries the number of
 * one of the parent's range table entries, and rewriting it there leaves
 * system column Vars that the subquery's pull-up of an inlined SQL function
 * cannot resolve ("could not find attribute -6").
 */
typedef struct OwnVarContext
{
	Var		   *whole;
	bool		found;
} OwnVarContext;

static bool
OwnVarWalker(Node *node, OwnVarContext *ctx)
{
	if (node == NULL || ctx->found)
		return false;
	if (IsA(node, Var))
	{
		Var		   *v = (Var *) node;

		if (v->varno == ctx->whole->varno && v->varattno == InvalidAttrNumber &&
			v->varlevelsup == 0 && v->location == ctx->whole->location)
			ctx->found = true;
		return false;
	}
	if (IsA(node, Query))
		return false;			/* another query level */
	return expression_tree_walker(node, OwnVarWalker, (void *) ctx);
}

static bool
OwnVar(PlannerInfo *root, Var *whole)
{
	OwnVarContext ctx = {whole, false};

	(void) query_tree_walker(root->parse, OwnVarWalker, (void *) &ctx,
							 QTW_IGNORE_RT_SUBQUERIES | QTW_IGNORE_CTE_SUBQUERIES);
	return ctx.found;
}

static Node *
Narrow(PlannerInfo *root, FuncExpr *fexpr, const char *name, int base_nargs)
{
	Var		   *whole = linitial(fexpr->args);
	Const	   *model = lsecond(fexpr->args);
	TupleDesc	tupdesc;
	Bitmapset  *needed = NULL;
	RowExpr    *row;
	List	   *args;
	Oid			narrowed;
	FuncExpr   *result;
	int			nkept = 0;
	int			ncols = 0;
	bool		ok;

	if (!IsA(whole, Var) || whole->varattno != InvalidAttrNumber ||
		whole->varlevelsup != 0 || whole->vartype == RECORDOID ||
		!IsA(model, Const) || model->constisnull || model->consttype != TEXTOID ||
		root->parse->commandType != CMD_SELECT ||
		!NarrowableRelation(root, whole->varno, whole->vartype) ||
		!OwnVar(root, whole) || !ActiveSnapshotSet())
		return NULL;

	tupdesc = lookup_rowtype_tupdesc_copy(whole->vartype, -1);
	ok = ruleset_needed_columns(TextDatumGetCString(model->constvalue), tupdesc, &needed);
	if (!ok)
		return NULL;			/* unknown model or column: the call reports it */

	row = makeNode(RowExpr);
	row->row_typeid = whole->vartype;
	row->row_format = COERCE_IMPLICIT_CAST;
	row->location = whole->location;
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(tupdesc, i);
		Node	   *e;

		if (a->attisdropped)
			e = (Node *) makeNullConst(INT4OID, -1, InvalidOid);
		else if (bms_is_member(a->attnum, needed))
		{
			e = (Node *) makeVar(whole->varno, a->attnum, a->atttypid, a->atttypmod,
								 a->attcollation, 0);
			nkept++;
		}
		else
			e = (Node *) makeNullConst(a->atttypid, a->atttypmod, a->attcollation);
		if (!a->attisdropped)
			ncols++;
		row->args = lappend(row->args, e);
	}
	if (nkept == ncols)
		return NULL;			/* the rules read every column */
	/* trailing columns are left out: the executor fills them with NULLs itself */
	while (row->args != NIL && IsA(llast(row->args), Const))
		row->args = list_delete_last(row->args);

	narrowed = FunctionOid(name, true, base_nargs);
	if (!OidIsValid(narrowed))
		return NULL;

	args = list_copy(fexpr->args);
	linitial(args) = row;
	args = lappend(args, makeVar(whole->varno, TableOidAttributeNumber, OIDOID, -1,
								 InvalidOid, 0));
	args = lappend(args, makeVar(whole->varno, SelfItemPointerAttributeNumber, TIDOID, -1,
								 InvalidOid, 0));
	result = makeFuncExpr(narrowed, fexpr->funcresulttype, args, fexpr->funccollid,
						  fexpr->inputcollid, COERCE_SQL_SYNTAX);
	result->funcretset = fexpr->funcretset;
	result->location = fexpr->location;

	/* replan when the rule set changes (config_changed invalidates this relation) */
	root->glob->relationOids = lappend_oid(root->glob->relationOids,
										   ruleset_generation_relid());
	return (Node *) result;
}

/* The OID of type leadqual.ruleset (InvalidOid if missing). */
static Oid
RulesetTypeOid(void)
{
	Oid			nsp = get_namespace_oid("leadqual", true);

	if (!OidIsValid(nsp))
		return InvalidOid;
	return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("ruleset"),
						   ObjectIdGetDatum(nsp));
}

/*
 * score(w, <constant rule set>) and the others: the same row built of only the
 * columns the value reads, the call otherwise unchanged.  The value cannot
 * change, so the plan depends on nothing and no row is ever read back: any
 * relation whose row the query reads whole qualifies (a foreign table too, so
 * that postgres_fdw fetches only those columns).
 */
static Node *
NarrowValue(PlannerInfo *root, FuncExpr *fexpr)
{
	Var		   *whole = linitial(fexpr->args);
	Const	   *value = lsecond(fexpr->args);
	RangeTblEntry *rte;
	TupleDesc	tupdesc;
	Bitmapset  *needed = NULL;
	RowExpr    *row;
	List	   *args;
	FuncExpr   *result;
	int			nkept = 0;
	int			ncols = 0;

	if (!IsA(whole, Var) || whole->varattno != InvalidAttrNumber ||
		whole->varlevelsup != 0 || whole->vartype == RECORDOID ||
		!IsA(value, Const) || value->constisnull ||
		whole->varno < 1 || whole->varno > list_length(root->parse->rtable))
		return NULL;
	rte = rt_fetch(whole->varno, root->parse->rtable);
	if (rte->rtekind != RTE_RELATION ||
		!(rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_MATVIEW ||
		  rte->relkind == RELKIND_PARTITIONED_TABLE || rte->relkind == RELKIND_FOREIGN_TABLE) ||
		get_rel_type_id(rte->relid) != whole->vartype || !SelectsWholeRow(root, rte))
		return NULL;

	tupdesc = lookup_rowtype_tupdesc_copy(whole->vartype, -1);
	if (!ruleset_value_needed_columns(value->constvalue, tupdesc, &needed))
		return NULL;			/* a column the row lacks: the call reports it */

	row = makeNode(RowExpr);
	row->row_typeid = whole->vartype;
	row->row_format = COERCE_IMPLICIT_CAST;
	row->location = whole->location;
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(tupdesc, i);
		Node	   *e;

		if (a->attisdropped)
			e = (Node *) makeNullConst(INT4OID, -1, InvalidOid);
		else if (bms_is_member(a->attnum, needed))
		{
			e = (Node *) makeVar(whole->varno, a->attnum, a->atttypid, a->atttypmod,
								 a->attcollation, 0);
			nkept++;
		}
		else
			e = (Node *) makeNullConst(a->atttypid, a->atttypmod, a->attcollation);
		if (!a->attisdropped)
			ncols++;
		row->args = lappend(row->args, e);
	}
	if (nkept == ncols)
		return NULL;			/* the rules read every column */
	while (row->args != NIL && IsA(llast(row->args), Const))
		row->args = list_delete_last(row->args);

	args = list_copy(fexpr->args);
	linitial(args) = row;
	result = makeFuncExpr(fexpr->funcid, fexpr->funcresulttype, args, fexpr->funccollid,
						  fexpr->inputcollid, fexpr->funcformat);
	result->funcretset = fexpr->funcretset;
	result->location = fexpr->location;
	return (Node *) result;
}

/*
 * A narrowed call seen again: the planner sometimes simplifies an expression
 * with another query's root (convert_EXISTS_to_ANY passes the parent's), so
 * the rewrite is checked against the query that finally plans it, and turned
 * back into the plain call over the whole row if its Vars do not name a
 * narrowable relation there.  (Narrow's OwnVar check keeps such a rewrite
 * from being made in the first place when the Var is not the root's own; this
 * is the second line of defence.)
 */
static Node *
Recheck(PlannerInfo *root, FuncExpr *fexpr, const char *name, int base_nargs)
{
	RowExpr    *row = linitial(fexpr->args);
	Var		   *tableoid = list_nth(fexpr->args, base_nargs);
	Var		   *whole;
	List	   *args;
	Oid			plain;

	/*
	 * (The support function sees a stand-in FuncExpr without funcformat, so
	 * the rewrite is recognised by its arguments: a system column Var.)
	 */
	if (!IsA(row, RowExpr) || !IsA(tableoid, Var) ||
		tableoid->varattno != TableOidAttributeNumber)
		return NULL;
	if (tableoid->varlevelsup == 0 &&
		NarrowableRelation(root, tableoid->varno, row->row_typeid))
		return NULL;

	plain = FunctionOid(name, false, base_nargs);
	if (!OidIsValid(plain))
		return NULL;
	whole = makeVar(tableoid->varno, InvalidAttrNumber, row->row_typeid, -1, InvalidOid,
					tableoid->varlevelsup);
	args = list_truncate(list_copy(fexpr->args), base_nargs);
	linitial(args) = whole;
	return (Node *) makeFuncExpr(plain, fexpr->funcresulttype, args, fexpr->funccollid,
								 fexpr->inputcollid, COERCE_EXPLICIT_CALL);
}

PG_FUNCTION_INFO_V1(leadqual_narrow_support);
Datum
leadqual_narrow_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestSimplify *req;
	PlannerInfo *root;
	FuncExpr   *fexpr;
	char	   *name;
	bool		narrowed;
	int			base_nargs;

	if (!IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestSimplify *) rawreq;
	root = req->root;
	fexpr = req->fcall;
	/* without a query there is no plan to depend on (e.g. a constraint expression) */
	if (root == NULL || root->parse == NULL || root->glob == NULL)
		PG_RETURN_POINTER(NULL);
	name = OurFunction(fexpr->funcid, &narrowed, &base_nargs);
	if (name == NULL)
		PG_RETURN_POINTER(NULL);
	/* the variants taking a rule set value */
	if (!narrowed && list_length(fexpr->args) >= 2 &&
		exprType(lsecond(fexpr->args)) == RulesetTypeOid())
		PG_RETURN_POINTER(NarrowValue(root, fexpr));
	if (!narrowed && list_length(fexpr->args) == base_nargs)
		PG_RETURN_POINTER(Narrow(root, fexpr, name, base_nargs));
	if (narrowed && list_length(fexpr->args) == base_nargs + 2)
		PG_RETURN_POINTER(Recheck(root, fexpr, name, base_nargs));
	PG_RETURN_POINTER(NULL);
}

void
narrow_init_call(FunctionCallInfo fcinfo, int base_nargs, NarrowedCall *nc)
{
	FuncExpr   *fexpr = (FuncExpr *) fcinfo->flinfo->fn_expr;
	MemoryContext old;

	memset(nc, 0, sizeof(*nc));
	nc->narrowed = PG_NARGS() == base_nargs + 2;
	if (!nc->narrowed)
		return;

	/*
	 * Who may score is governed by EXECUTE on score, classify …: the rewrite
	 * must not open a way around a REVOKE.
	 */
	{
		bool		narrowed;
		int			n;
		char	   *name = OurFunction(fcinfo->flinfo->fn_oid, &narrowed, &n);
		Oid			plain = name ? FunctionOid(name, false, base_nargs) : InvalidOid;

		if (!OidIsValid(plain))
			elog(ERROR, "leadqual: no plain function for narrowed function %u",
				 fcinfo->flinfo->fn_oid);
		/* (the SQL-level check: the same call on every supported server) */
		if (!DatumGetBool(DirectFunctionCall2(has_function_privilege_id,
											  ObjectIdGetDatum(plain),
											  CStringGetTextDatum("EXECUTE"))))
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_FUNCTION, name);
	}
	nc->trusted = fexpr != NULL && IsA(fexpr, FuncExpr) &&
		fexpr->funcformat == COERCE_SQL_SYNTAX;
	if (!nc->trusted)
		return;					/* the row is what the caller says it is */

	/* a column is passed unless the plan has a NULL constant there */
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (IsA(linitial(fexpr->args), RowExpr))
	{
		RowExpr    *row = linitial(fexpr->args);
		ListCell   *lc;
		int			attnum = 0;

		foreach(lc, row->args)
		{
			Node	   *e = lfirst(lc);

			attnum++;
			if (!(IsA(e, Const) && ((Const *) e)->constisnull))
				nc->passed = bms_add_member(nc->passed, attnum);
		}
	}
	MemoryContextSwitchTo(old);
}

void
narrow_check(NarrowedCall *nc, CompiledModel *cm)
{
	nc->refetch = nc->trusted && !bms_is_subset(cm->needed, nc->passed);
}

/* Maps the row type's attributes to rel's by name (a partition or inheritance child). */
static void
BuildMap(FunctionCallInfo fcinfo, NarrowedCall *nc, Relation rel, TupleDesc desc)
{
	TupleDesc	reldesc = RelationGetDescr(rel);

	if (nc->map)
		pfree(nc->map);
	nc->map = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									 Max(desc->natts, 1) * sizeof(AttrNumber));
	nc->map_natts = desc->natts;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attisdropped)
			continue;
		for (int j = 0; j < reldesc->natts; j++)
		{
			Form_pg_attribute b = TupleDescAttr(reldesc, j);

			if (!b->attisdropped && strcmp(NameStr(a->attname), NameStr(b->attname)) == 0)
			{
				nc->map[i] = b->attnum;
				break;
			}
		}
	}
	nc->map_relid = RelationGetRelid(rel);
	nc->map_typid = desc->tdtypeid;
}

/*
 * Reads the whole row back: the tuple version the scan returned is still at
 * its ctid (it is visible to this statement, so nothing can have pruned it),
 * and it is flattened as a whole-row Var would be.
 */
static void
Refetch(FunctionCallInfo fcinfo, NarrowedCall *nc, HeapTupleHeader row, HeapTuple tuple)
{
	Oid			relid = PG_GETARG_OID(PG_NARGS() - 2);
	ItemPointer tid = (ItemPointer) PG_GETARG_POINTER(PG_NARGS() - 1);
	Oid			typid = HeapTupleHeaderGetTypeId(row);
	TupleDesc	desc = lookup_rowtype_tupdesc(typid, HeapTupleHeaderGetTypMod(row));
	Relation	rel = table_open(relid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	Datum	   *values = palloc(Max(desc->natts, 1) * sizeof(Datum));
	bool	   *nulls = palloc(Max(desc->natts, 1) * sizeof(bool));
	bool		same = rel->rd_rel->reltype == typid;
	HeapTuple	full;

	/* never planned so (NarrowableRelation): a row without storage here has no ctid */
	if (rel->rd_tableam == NULL)
		elog(ERROR, "leadqual cannot read back a row of \"%s\", which is not stored here",
			 RelationGetRelationName(rel));
	if (!table_tuple_fetch_row_version(rel, tid, SnapshotAny, slot))
		elog(ERROR, "leadqual could not read back row (%u,%u) of \"%s\"",
			 ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
			 RelationGetRelationName(rel));
	slot_getallattrs(slot);
	if (!same && (nc->map_relid != relid || nc->map_typid != typid ||
				  nc->map_natts != desc->natts))
		BuildMap(fcinfo, nc, rel, desc);
	for (int i = 0; i < desc->natts; i++)
	{
		AttrNumber	src = same ? i + 1 : nc->map[i];

		if (TupleDescAttr(desc, i)->attisdropped || src == 0)
		{
			values[i] = (Datum) 0;
			nulls[i] = true;
		}
		else
		{
			values[i] = slot->tts_values[src - 1];
			nulls[i] = slot->tts_isnull[src - 1];
		}
	}
	full = toast_build_flattened_tuple(desc, values, nulls);	/* copies the values */
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	ReleaseTupleDesc(desc);
	*tuple = *full;
}

void
narrow_row(FunctionCallInfo fcinfo, NarrowedCall *nc, HeapTupleHeader row, HeapTuple tuple)
{
	if (nc->refetch)
		Refetch(fcinfo, nc, row, tuple);
	else
		ruleset_row_tuple(row, tuple);
}
