/*
 * narrow.c — the planner support function of score, classify, explain and
 * qualify, and the run-time side of the calls it makes (see narrow.h).
 *
 * Why the result stays right:
 *  - The columns are put in a slot of the row's own type (NULL in the columns
 *    left out), so the model compiles and evaluates as for the whole row.
 *  - A rule set value cannot change: such a call depends on nothing.
 *  - A model-name plan depends on leadqual.config_generation
 *    (PlannedStmt.relationOids): config_changed's relcache invalidation of it
 *    makes PREPAREd, PL/pgSQL and view plans replan at their next execution.
 *  - An invalidation can still arrive after the plan was checked (another
 *    session commits between two statements of our transaction, whose locks
 *    we already hold): the call compares the columns its statement's rule set
 *    reads with the ones passed, and reads the whole row back by ctid if any is
 *    missing.  Only calls the support function made (marked COERCE_SQL_SYNTAX,
 *    which SQL cannot produce for these functions) read rows back, so a user
 *    calling a *_narrowed function cannot use it to read a row.
 *  - Model-name calls are narrowed only over whole-row Vars of plain tables,
 *    matviews and partitioned tables in a SELECT: their tuples sit at their
 *    ctid for the statement.  Value calls never read back, so any relation
 *    qualifies (a foreign table too: postgres_fdw then fetches only those
 *    columns).
 */
#include "postgres.h"

#include "access/heaptoast.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
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
#include "utils/array.h"
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
OurFunction(Oid funcid, bool *narrowed)
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
		strcmp(name, "explain") != 0 && strcmp(name, "qualify") != 0 &&
		strcmp(name, "rescore_needed") != 0)
		return NULL;
	return name;
}

/* The whole-row function's arity that a narrowed call stands for: (lead, rules, ...). */
static int
NarrowedBaseArgs(const char *name)
{
	if (strcmp(name, "rescore_needed") == 0)
		return 6;				/* (lead, model, score, stage, locked, score_type) */
	return strcmp(name, "qualify") == 0 ? 3 : 2;	/* (lead, rules [, framework]) */
}

static List *
OurName(const char *name)
{
	return list_make2(makeString("leadqual"), makeString(pstrdup(name)));
}

/*
 * leadqual.<name>_narrowed for the whole-row function whose base arguments
 * are of these types: the same, plus where the row is and its columns.
 */
static Oid
NarrowedFunctionOid(const char *name, const Oid *base_types)
{
	int			nbase = NarrowedBaseArgs(name);
	Oid			argtypes[FUNC_MAX_ARGS];

	memcpy(argtypes, base_types, nbase * sizeof(Oid));
	argtypes[0] = RECORDOID;
	argtypes[nbase] = OIDOID;
	argtypes[nbase + 1] = TIDOID;
	argtypes[nbase + 2] = INT2ARRAYOID;
	argtypes[nbase + 3] = ANYOID;
	return LookupFuncName(OurName(psprintf("%s%s", name, NARROWED_SUFFIX)), nbase + 4, argtypes, true);
}

/* The whole-row function a narrowed one (of these declared argument types) stands for. */
static Oid
PlainFunctionOid(const char *name, const Oid *narrowed_types)
{
	return LookupFuncName(OurName(name), NarrowedBaseArgs(name), narrowed_types, true);
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
 * Whether a partitioned table or inheritance parent has a member whose rows are
 * not stored here (a foreign table, e.g. postgres_fdw's): those have no ctid to
 * read a row back at.  The members a plan scans are fixed when it is made, so
 * the check at planning holds.
 */
static bool
HasForeignMember(Oid relid)
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

/*
 * Whether varno names a relation whose whole row of type rowtype narrowing may
 * replace: for a model-name call (read back by ctid if need be) one whose rows
 * are stored here; for a value (never read back) any table.
 */
static bool
NarrowableRelation(PlannerInfo *root, Index varno, Oid rowtype, bool by_value)
{
	RangeTblEntry *rte;
	bool		kind;

	if (varno < 1 || varno > list_length(root->parse->rtable))
		return false;
	rte = rt_fetch(varno, root->parse->rtable);
	if (rte->rtekind != RTE_RELATION)
		return false;
	if (by_value)
		kind = rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_MATVIEW ||
			rte->relkind == RELKIND_PARTITIONED_TABLE || rte->relkind == RELKIND_FOREIGN_TABLE;
	else
		kind = (rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_MATVIEW ||
				rte->relkind == RELKIND_PARTITIONED_TABLE) &&
			!(rte->inh && HasForeignMember(rte->relid));
	return kind && get_rel_type_id(rte->relid) == rowtype && SelectsWholeRow(root, rte);
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

/* A column (or system column) of the row whole is, nulled by the same outer joins. */
static Var *
ColumnOf(Var *whole, AttrNumber attnum, Oid type, int32 typmod, Oid collation)
{
	Var		   *v = makeVar(whole->varno, attnum, type, typmod, collation, 0);

#if PG_VERSION_NUM >= 160000
	v->varnullingrels = bms_copy(whole->varnullingrels);
#endif
	return v;
}

/*
 * score(w, <constant rules>) and the others over a whole row w: the same call
 * passed only the columns the rules read (narrow.h), or NULL to leave it be.
 * A rule set value known only when the statement runs (a sub-select, a
 * parameter, a column) gets every column: the row is still not built and
 * taken apart again, nor its out-of-line values detoasted.
 */
static Node *
Narrow(PlannerInfo *root, FuncExpr *fexpr, const char *name, bool by_value)
{
	Var		   *whole = linitial(fexpr->args);
	Node	   *rules = lsecond(fexpr->args);
	bool		constant = IsA(rules, Const);
	bool		every_column = by_value && !constant;
	TupleDesc	tupdesc;
	Bitmapset  *needed = NULL;
	List	   *columns = NIL;
	Datum	   *attnums;
	int			nkept = 0;
	int			ncols = 0;
	int			attnum = -1;
	int			base_nargs = NarrowedBaseArgs(name);
	List	   *args;
	Oid			base_types[FUNC_MAX_ARGS];
	Oid			narrowed;
	FuncExpr   *result;

	if (!IsA(whole, Var) || whole->varattno != InvalidAttrNumber ||
		whole->varlevelsup != 0 || whole->vartype == RECORDOID ||
		(constant ? ((Const *) rules)->constisnull : !by_value) ||
		(!by_value && root->parse->commandType != CMD_SELECT) ||
		/* a grouping set's empty group nulls the row, not the columns passed instead */
		root->parse->groupingSets != NIL ||
		!NarrowableRelation(root, whole->varno, whole->vartype, by_value) ||
		!OwnVar(root, whole) || (!by_value && !ActiveSnapshotSet()))
		return NULL;
	if (by_value && base_nargs == 3 && list_length(fexpr->args) == 3)
	{
		Node	   *framework = lthird(fexpr->args);

		/* the narrowed call takes NULL for "the rule set's own": a strict call's NULL is not that */
		if (!(IsA(framework, Const) && !((Const *) framework)->constisnull))
			return NULL;
	}

	tupdesc = lookup_rowtype_tupdesc_copy(whole->vartype, -1);
	if (every_column)
	{
		for (int i = 0; i < tupdesc->natts; i++)
			if (!TupleDescAttr(tupdesc, i)->attisdropped)
				needed = bms_add_member(needed, i + 1);
	}
	else if (!(by_value ? ruleset_value_needed_columns(((Const *) rules)->constvalue, tupdesc, &needed)
			   : ruleset_needed_columns(TextDatumGetCString(((Const *) rules)->constvalue),
										tupdesc, &needed)))
		return NULL;			/* unknown model or column: the call reports it */

	attnums = palloc(Max(bms_num_members(needed), 1) * sizeof(Datum));
	while ((attnum = bms_next_member(needed, attnum)) >= 0)
	{
		Form_pg_attribute a = TupleDescAttr(tupdesc, attnum - 1);

		columns = lappend(columns, ColumnOf(whole, a->attnum, a->atttypid, a->atttypmod,
											a->attcollation));
		attnums[nkept++] = Int16GetDatum(a->attnum);
	}
	for (int i = 0; i < tupdesc->natts; i++)
		if (!TupleDescAttr(tupdesc, i)->attisdropped)
			ncols++;
	/* nothing to leave out, nothing read, or more columns than a call takes */
	if ((nkept == ncols && !every_column) || nkept == 0 || base_nargs + 3 + nkept > FUNC_MAX_ARGS)
		return NULL;

	/* the call's own arguments after the row; qualify(w, rules) passes the rule set's framework */
	args = lcons(makeNullConst(whole->vartype, -1, InvalidOid), list_copy_tail(fexpr->args, 1));
	if (list_length(args) < base_nargs)
		args = lappend(args, makeNullConst(TEXTOID, -1, DEFAULT_COLLATION_OID));
	for (int i = 0; i < base_nargs; i++)
		base_types[i] = exprType(list_nth(args, i));
	narrowed = NarrowedFunctionOid(name, base_types);
	if (!OidIsValid(narrowed))
		return NULL;
	args = lappend(args, ColumnOf(whole, TableOidAttributeNumber, OIDOID, -1, InvalidOid));
	/* a value never reads a row back, so it needs no ctid (a foreign table has none) */
	args = lappend(args, by_value ? (Node *) makeNullConst(TIDOID, -1, InvalidOid) :
				   (Node *) ColumnOf(whole, SelfItemPointerAttributeNumber, TIDOID, -1, InvalidOid));
	args = lappend(args, makeConst(INT2ARRAYOID, -1, InvalidOid, -1,
								   PointerGetDatum(construct_array(
									   attnums, nkept, INT2OID, 2, true, TYPALIGN_SHORT)),
								   false, false));
	args = list_concat(args, columns);
	result = makeFuncExpr(narrowed, fexpr->funcresulttype, args, fexpr->funccollid,
						  fexpr->inputcollid, COERCE_SQL_SYNTAX);
	result->funcretset = fexpr->funcretset;
	result->location = fexpr->location;

	/* replan when the rule set changes (config_changed invalidates this relation) */
	if (!by_value)
		root->glob->relationOids = lappend_oid(root->glob->relationOids,
											   ruleset_generation_relid());
	return (Node *) result;
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
	bool		by_value;

	if (!IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestSimplify *) rawreq;
	root = req->root;
	fexpr = req->fcall;
	/* without a query there is no plan to depend on (e.g. a constraint expression) */
	if (root == NULL || root->parse == NULL || root->glob == NULL ||
		list_length(fexpr->args) < 2)
		PG_RETURN_POINTER(NULL);
	name = OurFunction(fexpr->funcid, &narrowed);
	if (name == NULL)
		PG_RETURN_POINTER(NULL);
	by_value = exprType(lsecond(fexpr->args)) == ruleset_type_oid();
	/*
	 * A *_narrowed call (ours seen again, or one a user wrote) is left as it
	 * is: turning it back into a whole-row call would read columns its query
	 * never selected, past column privileges and a view's choice of columns.
	 */
	if (narrowed)
		PG_RETURN_POINTER(NULL);
	PG_RETURN_POINTER(Narrow(root, fexpr, name, by_value));
}

/* Fails unless the current user may execute function funcid (the SQL-level check). */
static void
CheckExecute(Oid funcid, const char *name)
{
	if (!DatumGetBool(DirectFunctionCall2(has_function_privilege_id, ObjectIdGetDatum(funcid),
										  CStringGetTextDatum("EXECUTE"))))
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_FUNCTION, name);
}

void
narrow_init_call(FunctionCallInfo fcinfo, int base_nargs, NarrowedCall *nc)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;
	FuncExpr   *fexpr = (FuncExpr *) flinfo->fn_expr;
	int			attnums_arg = base_nargs + 2;
	TupleDesc	desc;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *elemnulls;
	int			n;
	MemoryContext old;

	memset(nc, 0, sizeof(*nc));
	nc->narrowed = true;

	/*
	 * Who may score is governed by EXECUTE on score, classify …: the rewrite
	 * must not open a way around a REVOKE.
	 */
	{
		bool		narrowed;
		char	   *name = OurFunction(flinfo->fn_oid, &narrowed);
		Oid		   *types;
		int			ntypes;
		Oid			plain;

		(void) get_func_signature(flinfo->fn_oid, &types, &ntypes);
		plain = name && ntypes > base_nargs ? PlainFunctionOid(name, types) : InvalidOid;

		if (!OidIsValid(plain))
			elog(ERROR, "leadqual: no plain function for narrowed function %u", flinfo->fn_oid);
		/*
		 * qualify(lead, rules) is narrowed with a NULL framework ("the rule
		 * set's own"): a call with one stands for that function, not the
		 * three-argument one; one whose framework may vary, for both.
		 */
		if (strcmp(name, "qualify") == 0 && types[1] == ruleset_type_oid())
		{
			Oid			two = LookupFuncName(OurName(name), 2, types, false);

			if (!get_fn_expr_arg_stable(flinfo, 2))
				CheckExecute(two, name);
			else if (PG_ARGISNULL(2))
				plain = two;
		}
		CheckExecute(plain, name);
	}
	nc->trusted = fexpr != NULL && IsA(fexpr, FuncExpr) &&
		fexpr->funcformat == COERCE_SQL_SYNTAX;

	/*
	 * Whoever made the call, the columns must be what the row type says they
	 * are: the compiled rules read them as that type.
	 */
	nc->typid = get_fn_expr_argtype(flinfo, 0);
	if (!OidIsValid(nc->typid) || nc->typid == RECORDOID || !type_is_rowtype(nc->typid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the first argument of a narrowed call must be a NULL of a table's row type")));
	if (PG_NARGS() <= attnums_arg || PG_ARGISNULL(attnums_arg) ||
		!get_fn_expr_arg_stable(flinfo, attnums_arg))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the attribute numbers of a narrowed call must be a constant")));
	arr = PG_GETARG_ARRAYTYPE_P(attnums_arg);
	if (ARR_ELEMTYPE(arr) != INT2OID || ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the attribute numbers of a narrowed call must be a smallint[]")));
	deconstruct_array(arr, INT2OID, 2, true, TYPALIGN_SHORT, &elems, &elemnulls, &n);
	nc->first_column = attnums_arg + 1;
	nc->ncolumns = PG_NARGS() - nc->first_column;
	if (n != nc->ncolumns)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a narrowed call names %d attributes but passes %d columns", n,
						nc->ncolumns)));

	old = MemoryContextSwitchTo(flinfo->fn_mcxt);
	desc = lookup_rowtype_tupdesc_copy(nc->typid, -1);
	nc->tupdesc_id = lookup_type_cache(nc->typid, TYPECACHE_TUPDESC)->tupDesc_identifier;
	nc->attnums = palloc(Max(n, 1) * sizeof(AttrNumber));
	for (int k = 0; k < n; k++)
	{
		int			attnum = elemnulls[k] ? 0 : DatumGetInt16(elems[k]);
		Form_pg_attribute a;

		if (attnum < 1 || attnum > desc->natts || TupleDescAttr(desc, attnum - 1)->attisdropped ||
			bms_is_member(attnum, nc->passed))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("attribute number %d of a narrowed call is not a column of %s or is repeated",
							attnum, format_type_be(nc->typid))));
		a = TupleDescAttr(desc, attnum - 1);
		if (get_fn_expr_argtype(flinfo, nc->first_column + k) != a->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of a narrowed call is not of type %s", NameStr(a->attname),
							format_type_be(a->atttypid))));
		nc->attnums[k] = attnum;
		nc->passed = bms_add_member(nc->passed, attnum);
	}
	nc->slot = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
	for (int i = 0; i < desc->natts; i++)
	{
		nc->slot->tts_values[i] = (Datum) 0;
		nc->slot->tts_isnull[i] = true;		/* stays so where nothing is passed */
	}
	MemoryContextSwitchTo(old);
}

bool
narrow_stale(NarrowedCall *nc)
{
	TypeCacheEntry *tc = lookup_type_cache(nc->typid, TYPECACHE_TUPDESC);

	return tc->tupDesc == NULL || tc->tupDesc_identifier != nc->tupdesc_id;
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
}

/*
 * Reads the whole row back: the tuple version the scan returned is still at
 * its ctid (it is visible to this statement, so nothing can have pruned it),
 * and it is flattened as a whole-row Var would be.
 */
static void
Refetch(FunctionCallInfo fcinfo, NarrowedCall *nc)
{
	int			tableoid_arg = nc->first_column - 3;
	Oid			relid = PG_GETARG_OID(tableoid_arg);
	ItemPointer tid;
	TupleDesc	desc = lookup_rowtype_tupdesc(nc->typid, -1);
	Relation	rel;
	TupleTableSlot *slot;
	Datum	   *values = palloc(Max(desc->natts, 1) * sizeof(Datum));
	bool	   *nulls = palloc(Max(desc->natts, 1) * sizeof(bool));
	bool		same;
	HeapTuple	full;

	/* never planned so (NarrowableRelation): a value has nothing to read back */
	if (PG_ARGISNULL(tableoid_arg + 1))
		elog(ERROR, "leadqual cannot read back a row without its ctid");
	tid = (ItemPointer) PG_GETARG_POINTER(tableoid_arg + 1);
	rel = table_open(relid, AccessShareLock);
	same = rel->rd_rel->reltype == nc->typid;
	if (rel->rd_tableam == NULL)
		elog(ERROR, "leadqual cannot read back a row of \"%s\", which is not stored here",
			 RelationGetRelationName(rel));
	slot = table_slot_create(rel, NULL);
	if (!table_tuple_fetch_row_version(rel, tid, SnapshotAny, slot))
		elog(ERROR, "leadqual could not read back row (%u,%u) of \"%s\"",
			 ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
			 RelationGetRelationName(rel));
	slot_getallattrs(slot);
	if (!same && (nc->map_relid != relid || nc->map_natts != desc->natts))
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
	nc->whole = *full;
}

TupleTableSlot *
narrow_slot(FunctionCallInfo fcinfo, NarrowedCall *nc, CompiledModel *cm)
{
	TupleTableSlot *slot = nc->slot;

	if (nc->refetch)
	{
		Refetch(fcinfo, nc);
		ExecStoreHeapTuple(&nc->whole, cm->slot, false);
		return cm->slot;
	}
	ExecClearTuple(slot);
	{
		/* in locals: stores into the slot could alias nc and fcinfo for the compiler */
		const NullableDatum *args = &fcinfo->args[nc->first_column];
		const AttrNumber *attnums = nc->attnums;
		Datum	   *values = slot->tts_values;
		bool	   *isnull = slot->tts_isnull;
		int			n = nc->ncolumns;

		for (int k = 0; k < n; k++)
		{
			values[attnums[k] - 1] = args[k].value;
			isnull[attnums[k] - 1] = args[k].isnull;
		}
	}
	ExecStoreVirtualTuple(slot);
	return slot;
}
