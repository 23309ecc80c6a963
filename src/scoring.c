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

typedef struct CallCache
{
	CompiledModel *cm;
	LookupKey	key;
	Oid			typid;
	int32		typmod;
	char	   *model;
	int			model_len;
	TupleDesc	explain_desc;	/* explain's result row, built once */
	NarrowedCall narrow;		/* a call the planner narrowed (narrow.h) */
} CallCache;

/* The compiled model for this call's row and model, cached per call site. */
static CompiledModel *
LookupForCall(FunctionCallInfo fcinfo, HeapTupleHeader row, text *model, int base_nargs)
{
	CallCache  *cc = (CallCache *) fcinfo->flinfo->fn_extra;
	Oid			typid = HeapTupleHeaderGetTypeId(row);
	int32		typmod = HeapTupleHeaderGetTypMod(row);
	int			len = VARSIZE_ANY_EXHDR(model);
	LookupKey	key;

	ruleset_lookup_key(&key);
	if (cc == NULL)
	{
		cc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallCache));
		fcinfo->flinfo->fn_extra = cc;
		narrow_init_call(fcinfo, base_nargs, &cc->narrow);
	}
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
	cc->cm = ruleset_lookup(cc->model, typid, typmod);
	narrow_check(&cc->narrow, cc->cm);
	return cc->cm;
}

/* The row to evaluate (for a narrowed call, maybe read back whole). */
static void
CallRow(FunctionCallInfo fcinfo, HeapTupleHeader row, HeapTuple tuple)
{
	narrow_row(fcinfo, &((CallCache *) fcinfo->flinfo->fn_extra)->narrow, row, tuple);
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
stage_from_label(const char *label)
{
	for (int i = 0; i < NUM_STAGES; i++)
		if (strcmp(label, stage_labels[i]) == 0)
			return i;
	return -1;
}

/* Is the model's framework met by the row? (false when the model has none) */
static bool
FrameworkMet(CompiledModel *cm, HeapTuple row)
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
	ruleset_eval_framework(cm, row, fw, met);
	for (int i = 0; i < n; i++)
		if (!met[i])
			return false;
	return n > 0;
}

Stage
scoring_classify(CompiledModel *cm, HeapTuple row, LeadResult *res)
{
	ModelDef   *def = cm->def;

	ruleset_eval(cm, row, res);
	if (res->knockout || (def->has_fit_threshold && res->fit < def->fit_threshold))
		return STAGE_DISQUALIFIED;
	if (res->score >= def->mql_threshold)
		return FrameworkMet(cm, row) ? STAGE_SQL : STAGE_MQL;
	return STAGE_NURTURE;
}

/* Points of the matching rules, plus the engagement column where configured. */
PG_FUNCTION_INFO_V1(leadqual_score);
Datum
leadqual_score(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	CompiledModel *cm = LookupForCall(fcinfo, row, PG_GETARG_TEXT_PP(1), 2);
	HeapTupleData tuple;
	LeadResult	res;

	CallRow(fcinfo, row, &tuple);
	ruleset_eval(cm, &tuple, &res);
	PG_RETURN_FLOAT8(res.score);
}

/* The stage automation would give the row. */
PG_FUNCTION_INFO_V1(leadqual_classify);
Datum
leadqual_classify(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	CompiledModel *cm = LookupForCall(fcinfo, row, PG_GETARG_TEXT_PP(1), 2);
	HeapTupleData tuple;
	LeadResult	res;

	CallRow(fcinfo, row, &tuple);
	PG_RETURN_DATUM(stage_datum(scoring_classify(cm, &tuple, &res)));
}

/* Fills explain's result set: the rules that matched, in rule_id order, and the engagement part. */
static void
ExplainRows(FunctionCallInfo fcinfo, CompiledModel *cm, HeapTuple tuple, TupleDesc *descp)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LeadResult	res;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	MemoryContext old;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));

	/*
	 * Not InitMaterializedSRF: it runs get_call_result_type in per-query
	 * memory on every call, garbage that a SELECT-list call over a million
	 * leads never frees.  The descriptor is built once per call site; each
	 * call hands the executor a copy, which it frees.
	 */
	if (*descp == NULL)
	{
		TupleDesc	desc;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		*descp = CreateTupleDescCopy(BlessTupleDesc(desc));
		MemoryContextSwitchTo(old);
	}
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(false, false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(*descp);
	MemoryContextSwitchTo(old);

	ruleset_eval(cm, tuple, &res);
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
}

/* The rules that matched, in rule_id order, and the engagement part. */
PG_FUNCTION_INFO_V1(leadqual_explain);
Datum
leadqual_explain(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	CompiledModel *cm = LookupForCall(fcinfo, row, PG_GETARG_TEXT_PP(1), 2);
	CallCache  *cc = (CallCache *) fcinfo->flinfo->fn_extra;
	HeapTupleData tuple;

	CallRow(fcinfo, row, &tuple);
	ExplainRows(fcinfo, cm, &tuple, &cc->explain_desc);
	return (Datum) 0;
}

/* qualify's result: how far the row meets framework (NULL: the model's). */
static Datum
QualifyRow(FunctionCallInfo fcinfo, CompiledModel *cm, HeapTuple tuple, const char *framework,
		   const char *how)
{
	FrameworkDef *fdef;
	TupleDesc	resdesc;
	bool	   *met;
	int			fw;
	int			nmet = 0;
	ArrayBuildState *missing;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	if (framework == NULL)
		framework = cm->def->framework;
	if (framework == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" has no framework", cm->def->model),
				 errhint("Name a framework, e.g. leadqual.qualify(l, %s, 'bant'), or set leadqual.models.framework.",
						 how)));
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
	ruleset_eval_framework(cm, tuple, fw, met);
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

/* How far the row meets a framework's criteria. */
PG_FUNCTION_INFO_V1(leadqual_qualify);
Datum
leadqual_qualify(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row;
	HeapTupleData tuple;
	CompiledModel *cm;

	/* a narrowed call's ctid is NULL where the whole row would be (outer joins) */
	if (PG_ARGISNULL(0) || (PG_NARGS() == 5 && (PG_ARGISNULL(3) || PG_ARGISNULL(4))))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be NULL")));
	row = PG_GETARG_HEAPTUPLEHEADER(0);
	cm = LookupForCall(fcinfo, row, PG_GETARG_TEXT_PP(1), 3);
	CallRow(fcinfo, row, &tuple);
	PG_RETURN_DATUM(QualifyRow(fcinfo, cm, &tuple,
							   PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)),
							   quote_literal_cstr(cm->def->model)));
}

/* ---------------------------------------------------------------------------
 * The same with a leadqual.ruleset value instead of a model name: IMMUTABLE,
 * compiled once per backend per (content hash, row type) in the value cache.
 */

typedef struct ValueCallCache
{
	RulesetCallCache rc;
	TupleDesc	explain_desc;
} ValueCallCache;

static CompiledModel *
LookupForValue(FunctionCallInfo fcinfo, HeapTupleHeader row, Datum value, HeapTuple tuple)
{
	ValueCallCache *vc = (ValueCallCache *) fcinfo->flinfo->fn_extra;

	if (vc == NULL)
	{
		vc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ValueCallCache));
		fcinfo->flinfo->fn_extra = vc;
	}
	ruleset_row_tuple(row, tuple);
	return ruleset_compiled_cached(&vc->rc, value, HeapTupleHeaderGetTypeId(row),
								   HeapTupleHeaderGetTypMod(row));
}

PG_FUNCTION_INFO_V1(leadqual_score_rs);
Datum
leadqual_score_rs(PG_FUNCTION_ARGS)
{
	HeapTupleData tuple;
	CompiledModel *cm = LookupForValue(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), PG_GETARG_DATUM(1),
									   &tuple);
	LeadResult	res;

	ruleset_eval(cm, &tuple, &res);
	PG_RETURN_FLOAT8(res.score);
}

PG_FUNCTION_INFO_V1(leadqual_classify_rs);
Datum
leadqual_classify_rs(PG_FUNCTION_ARGS)
{
	HeapTupleData tuple;
	CompiledModel *cm = LookupForValue(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), PG_GETARG_DATUM(1),
									   &tuple);
	LeadResult	res;

	PG_RETURN_DATUM(stage_datum(scoring_classify(cm, &tuple, &res)));
}

PG_FUNCTION_INFO_V1(leadqual_explain_rs);
Datum
leadqual_explain_rs(PG_FUNCTION_ARGS)
{
	HeapTupleData tuple;
	CompiledModel *cm = LookupForValue(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), PG_GETARG_DATUM(1),
									   &tuple);

	ExplainRows(fcinfo, cm, &tuple, &((ValueCallCache *) fcinfo->flinfo->fn_extra)->explain_desc);
	return (Datum) 0;
}

/* qualify(lead, rules [, framework]): the value's framework when none is named. */
PG_FUNCTION_INFO_V1(leadqual_qualify_rs);
Datum
leadqual_qualify_rs(PG_FUNCTION_ARGS)
{
	HeapTupleData tuple;
	CompiledModel *cm = LookupForValue(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), PG_GETARG_DATUM(1),
									   &tuple);

	PG_RETURN_DATUM(QualifyRow(fcinfo, cm, &tuple,
							   PG_NARGS() > 2 ? text_to_cstring(PG_GETARG_TEXT_PP(2)) : NULL,
							   "rules"));
}
