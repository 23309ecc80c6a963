/*
 * scoring.c — the SQL scoring functions: score, explain, classify, qualify.
 *
 * Each call site keeps the compiled model it used in fn_extra, so a statement
 * looks the rule set up once (under its snapshot) and then only evaluates.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "narrow.h"
#include "ruleset.h"
#include "scoring.h"

const char *const stage_labels[NUM_STAGES] = {
	"disqualified", "nurture", "mql", "sql", "won", "lost"
};

/*
 * What a call site keeps: the compiled model it used (found by model name
 * under the statement's snapshot, or by a rule set value's hash), so that a
 * statement looks the rule set up once and then only evaluates.
 */
typedef struct CallCache
{
	bool		by_value;		/* the second argument is a leadqual.ruleset */
	CompiledModel *cm;
	/* by model name */
	LookupKey	key;
	Oid			typid;
	int32		typmod;
	char	   *model;
	int			model_len;
	/* by value */
	RulesetCallCache rc;

	HeapTupleData tuple;		/* the whole-row argument, while cm->slot holds it */
	TupleDesc	explain_desc;	/* explain's result row, built once */
	NarrowedCall narrow;		/* a call the planner narrowed (narrow.h) */
} CallCache;

static CallCache *
GetCallCache(FunctionCallInfo fcinfo, int base_nargs, bool narrowed)
{
	CallCache  *cc = (CallCache *) fcinfo->flinfo->fn_extra;

	if (cc == NULL)
	{
		cc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallCache));
		cc->by_value = get_fn_expr_argtype(fcinfo->flinfo, 1) != TEXTOID;
		if (narrowed)
			narrow_init_call(fcinfo, base_nargs, &cc->narrow);
		fcinfo->flinfo->fn_extra = cc;
	}
	return cc;
}

/* The compiled model for this call's rule set and row type. */
static CompiledModel *
CallModel(FunctionCallInfo fcinfo, CallCache *cc, Oid typid, int32 typmod)
{
	CompiledModel *cm;

	if (cc->by_value)
		cm = ruleset_compiled_cached(&cc->rc, PG_GETARG_DATUM(1), typid, typmod);
	else
	{
		text	   *model = PG_GETARG_TEXT_PP(1);
		int			len = VARSIZE_ANY_EXHDR(model);
		LookupKey	key;

		ruleset_lookup_key(&key);
		if (cc->cm != NULL && memcmp(&cc->key, &key, sizeof(key)) == 0 &&
			cc->typid == typid && cc->typmod == typmod &&
			cc->model_len == len && memcmp(cc->model, VARDATA_ANY(model), len) == 0)
			return cc->cm;
		cc->cm = NULL;
		if (cc->model)
			pfree(cc->model);
		cc->model = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, len + 1);
		memcpy(cc->model, VARDATA_ANY(model), len);
		cc->model[len] = '\0';
		cc->model_len = len;
		cc->typid = typid;
		cc->typmod = typmod;
		cc->key = key;
		cm = ruleset_lookup(cc->model, typid, typmod);
	}
	if (cm != cc->cm)
	{
		cc->cm = cm;
		if (cc->narrow.narrowed)
			narrow_check(&cc->narrow, cm);
	}
	return cm;
}

TupleTableSlot *
scoring_call_slot(FunctionCallInfo fcinfo, int base_nargs, bool narrowed, CompiledModel **cmp)
{
	CallCache  *cc = GetCallCache(fcinfo, base_nargs, narrowed);
	HeapTupleHeader row;

	if (!narrowed && PG_ARGISNULL(0))
		return NULL;
	/* a value known only at run time (the plain value functions are strict) */
	if (PG_ARGISNULL(1) && narrowed && cc->by_value)
		return NULL;
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", cc->by_value ? "rules" : "model")));
	if (narrowed)
	{
		/* the table's tableoid is NULL where the whole row would be (outer joins) */
		if (PG_ARGISNULL(base_nargs))
			return NULL;
		/*
		 * The row type changed under a call site that lives on (a plpgsql
		 * expression across ALTER TYPE): the columns were checked against the
		 * old one, so check them again, and look the model up anew.  (A call
		 * the planner made reads a table's columns: the table cannot be
		 * altered while its statement runs, so it is spared the check.)
		 */
		if (!cc->narrow.trusted && narrow_stale(&cc->narrow))
		{
			narrow_init_call(fcinfo, base_nargs, &cc->narrow);
			cc->cm = NULL;
			cc->rc.cm = NULL;
		}
		*cmp = CallModel(fcinfo, cc, cc->narrow.typid, -1);
		return narrow_slot(fcinfo, &cc->narrow, *cmp);
	}
	row = PG_GETARG_HEAPTUPLEHEADER(0);
	*cmp = CallModel(fcinfo, cc, HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
	ruleset_row_tuple(row, &cc->tuple);
	ExecStoreHeapTuple(&cc->tuple, (*cmp)->slot, false);
	return (*cmp)->slot;
}

Oid
stage_type_oid(void)
{
	static Oid	typoid = InvalidOid;

	if (!OidIsValid(typoid) || !SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(typoid)))
	{
		Oid			nsp = get_namespace_oid("leadqual", false);

		typoid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
								 CStringGetDatum("stage"), ObjectIdGetDatum(nsp));
		if (!OidIsValid(typoid))
			elog(ERROR, "type leadqual.stage is missing");
	}
	return typoid;
}

Datum
stage_datum(Stage stage)
{
	return DirectFunctionCall2(enum_in, CStringGetDatum(stage_labels[stage]),
							   ObjectIdGetDatum(stage_type_oid()));
}

int
stage_from_label(const text *label)
{
	const char *s = VARDATA_ANY(label);
	size_t		len = VARSIZE_ANY_EXHDR(label);

	for (int i = 0; i < NUM_STAGES; i++)
		if (strlen(stage_labels[i]) == len && memcmp(stage_labels[i], s, len) == 0)
			return i;
	return -1;
}

/* Is the model's framework met by the row? (false when the model has none) */
static bool
FrameworkMet(CompiledModel *cm, TupleTableSlot *slot)
{
	int			fw;
	bool	   *met;
	int			n;

	if (cm->def->framework == NULL)
		return false;
	fw = ruleset_find_framework(cm->def, cm->def->framework);
	if (fw < 0)
		return false;
	n = cm->def->frameworks[fw].ncriteria;
	met = palloc(Max(n, 1) * sizeof(bool));
	ruleset_eval_framework_slot(cm, slot, fw, met);
	for (int i = 0; i < n; i++)
		if (!met[i])
			return false;
	return n > 0;
}

static Stage
ClassifySlot(CompiledModel *cm, TupleTableSlot *slot, LeadResult *res)
{
	ModelDef   *def = cm->def;

	ruleset_eval_slot(cm, slot, res);
	if (res->knockout || (def->has_fit_threshold && res->fit < def->fit_threshold))
		return STAGE_DISQUALIFIED;
	if (res->score >= def->mql_threshold)
		return FrameworkMet(cm, slot) ? STAGE_SQL : STAGE_MQL;
	return STAGE_NURTURE;
}

Stage
scoring_classify(CompiledModel *cm, HeapTuple row, LeadResult *res)
{
	Stage		stage;

	ExecStoreHeapTuple(row, cm->slot, false);
	stage = ClassifySlot(cm, cm->slot, res);
	ExecClearTuple(cm->slot);
	return stage;
}

Stage
scoring_classify_slot(CompiledModel *cm, TupleTableSlot *slot, LeadResult *res)
{
	return ClassifySlot(cm, slot, res);
}

/* Points of the matching rules, plus the engagement column where configured. */
static Datum
ScoreCall(FunctionCallInfo fcinfo, bool narrowed)
{
	CompiledModel *cm;
	TupleTableSlot *slot = scoring_call_slot(fcinfo, 2, narrowed, &cm);
	LeadResult	res;

	if (slot == NULL)
		PG_RETURN_NULL();
	ruleset_eval_slot(cm, slot, &res);
	ExecClearTuple(slot);
	PG_RETURN_FLOAT8(res.score);
}

/* The stage automation would give the row. */
static Datum
ClassifyCall(FunctionCallInfo fcinfo, bool narrowed)
{
	CompiledModel *cm;
	TupleTableSlot *slot = scoring_call_slot(fcinfo, 2, narrowed, &cm);
	LeadResult	res;
	Stage		stage;

	if (slot == NULL)
		PG_RETURN_NULL();
	stage = ClassifySlot(cm, slot, &res);
	ExecClearTuple(slot);
	PG_RETURN_DATUM(stage_datum(stage));
}

/*
 * The rules that matched, in rule_id order, and the engagement part (no rows
 * for a NULL row).
 */
static Datum
ExplainCall(FunctionCallInfo fcinfo, bool narrowed)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CompiledModel *cm;
	TupleTableSlot *slot;
	CallCache  *cc;
	LeadResult	res;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	MemoryContext old;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	slot = scoring_call_slot(fcinfo, 2, narrowed, &cm);
	cc = (CallCache *) fcinfo->flinfo->fn_extra;

	/*
	 * Not InitMaterializedSRF: it runs get_call_result_type in per-query
	 * memory on every call, garbage that a SELECT-list call over a million
	 * leads never frees.  The descriptor is built once per call site; each
	 * call hands the executor a copy, which it frees.
	 */
	if (cc->explain_desc == NULL)
	{
		TupleDesc	desc;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cc->explain_desc = CreateTupleDescCopy(BlessTupleDesc(desc));
		MemoryContextSwitchTo(old);
	}
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(false, false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(cc->explain_desc);
	MemoryContextSwitchTo(old);
	if (slot == NULL)
		return (Datum) 0;

	ruleset_eval_slot(cm, slot, &res);
	ExecClearTuple(slot);
	/* the values are copied into the tuplestore: build them in the per-row scratch */
	old = MemoryContextSwitchTo(cm->scratch);
	for (int i = 0; i < cm->nactive; i++)
	{
		RuleDef    *r;

		if (!cm->matched[i])
			continue;
		r = &cm->def->rules[cm->active[i]];
		values[0] = Int64GetDatum(r->rule_id);
		values[1] = CStringGetTextDatum(r->name);
		values[2] = CStringGetTextDatum(r->fit ? "fit" : "intent");
		values[3] = Float8GetDatum(r->points);
		values[4] = BoolGetDatum(r->knockout);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (cm->engagement_attno > 0)
	{
		nulls[0] = true;
		values[1] = CStringGetTextDatum("engagement");
		values[2] = CStringGetTextDatum("intent");
		values[3] = Float8GetDatum(res.engagement);
		values[4] = BoolGetDatum(false);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	return (Datum) 0;
}

/*
 * How far the row meets a framework's criteria: the named one, or when none
 * is named (or the model-name call's framework is NULL) the model's own.
 */
static Datum
QualifyCall(FunctionCallInfo fcinfo, bool narrowed)
{
	CompiledModel *cm;
	TupleTableSlot *slot;
	const char *framework = NULL;
	FrameworkDef *fdef;
	TupleDesc	resdesc;
	bool	   *met;
	int			fw;
	int			nmet = 0;
	ArrayBuildState *missing;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	int			base_nargs = narrowed ? 3 : PG_NARGS();

	slot = scoring_call_slot(fcinfo, base_nargs, narrowed, &cm);
	if (slot == NULL)
		PG_RETURN_NULL();
	if (base_nargs > 2 && !PG_ARGISNULL(2))
		framework = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (framework == NULL)
		framework = cm->def->framework;
	if (framework == NULL)
	{
		bool		by_value = ((CallCache *) fcinfo->flinfo->fn_extra)->by_value;

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" has no framework", cm->def->model),
				 errhint("Name a framework, e.g. leadqual.qualify(l, %s, 'bant'), or set leadqual.models.framework.",
						 by_value ? "rules" : quote_literal_cstr(cm->def->model))));
	}
	fw = ruleset_find_framework(cm->def, framework);
	if (fw < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("framework \"%s\" does not exist", framework),
				 errhint("Frameworks are rows of leadqual.frameworks with criteria in leadqual.criteria.")));
	fdef = &cm->def->frameworks[fw];

	if (get_call_result_type(fcinfo, NULL, &resdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "qualify must return a composite type");
	resdesc = BlessTupleDesc(resdesc);

	met = palloc(Max(fdef->ncriteria, 1) * sizeof(bool));
	ruleset_eval_framework_slot(cm, slot, fw, met);
	ExecClearTuple(slot);
	missing = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	for (int i = 0; i < fdef->ncriteria; i++)
	{
		if (met[i])
			nmet++;
		else
			accumArrayResult(missing, CStringGetTextDatum(fdef->criteria[i].criterion),
							 false, TEXTOID, CurrentMemoryContext);
	}
	values[0] = CStringGetTextDatum(fdef->framework);
	values[1] = Int32GetDatum(nmet);
	values[2] = Int32GetDatum(fdef->ncriteria);
	values[3] = BoolGetDatum(fdef->ncriteria > 0 && nmet == fdef->ncriteria);
	values[4] = makeArrayResult(missing, CurrentMemoryContext);
	return HeapTupleGetDatum(heap_form_tuple(resdesc, values, nulls));
}

/*
 * The SQL entry points.  Each serves the model-name and the rule-set value
 * variant (told apart by the second argument's type); the *_narrowed ones are
 * what the planner rewrites whole-row calls into (narrow.c).
 */
#define ENTRY_POINT(sqlname, fn, narrowed) \
PG_FUNCTION_INFO_V1(sqlname); \
Datum sqlname(PG_FUNCTION_ARGS) { return fn(fcinfo, narrowed); }

ENTRY_POINT(leadqual_score, ScoreCall, false)
ENTRY_POINT(leadqual_classify, ClassifyCall, false)
ENTRY_POINT(leadqual_explain, ExplainCall, false)
ENTRY_POINT(leadqual_qualify, QualifyCall, false)
ENTRY_POINT(leadqual_score_narrowed, ScoreCall, true)
ENTRY_POINT(leadqual_classify_narrowed, ClassifyCall, true)
ENTRY_POINT(leadqual_explain_narrowed, ExplainCall, true)
ENTRY_POINT(leadqual_qualify_narrowed, QualifyCall, true)
