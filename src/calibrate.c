/*
 * calibrate.c — leadqual.calibrate(model, outcome_column): how well each rule predicts
 * the outcome, and points that rank the model's leads at least as well as today's.
 *
 * One scan of the lead table (an SPI cursor, as the caller: row-level security applies)
 * evaluates the rules through the rule engine and keeps, per lead with a known outcome,
 * its rule-hit bitmap and outcome: ceil(nrules / 8) + 1 bytes (4 MB per million leads
 * at 20 rules; up to twice that while the array grows).  Sorting those records
 * groups the leads into distinct hit patterns with counts of converted and lost leads;
 * the AUC of a set of points is then computed over patterns, not leads, 21 times (the
 * alpha grid), exactly (Mann-Whitney in 128-bit integers, ties count one half); a
 * pattern costs 48 bytes more, and there are at most min(leads, 2^nrules) of them.
 *
 * Knocked-out leads rank below every other lead (score -Infinity): classify disqualifies
 * them whatever their points.  The engagement column is not part of the ranking:
 * calibrate tunes rule points.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "common/int128.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "analytics.h"
#include "quality.h"
#include "ruleset.h"

#define CAL_GRID		20		/* alpha = 0, 1/20, ..., 1 */
#define SCAN_FETCH		1000	/* rows per cursor fetch */
#define CAL_NCOLS		12

/* One distinct rule-hit pattern and how many converted and lost leads share it. */
typedef struct CalPattern
{
	const uint8 *bits;
	int64		pos;
	int64		neg;
	bool		knockout;
	float8		score;			/* under the points being evaluated */
} CalPattern;

/* The exact AUC of a ranking: 2U and 2PN, and as a double (NaN when undefined). */
typedef struct CalAuc
{
	INT128		twice_u;
	float8		auc;
} CalAuc;

static int
RecordCmp(const void *a, const void *b, void *arg)
{
	return memcmp(a, b, *(int *) arg);
}

/* float8 order with NaN above everything (as float8 sorts); descending. */
static int
PatternScoreCmpDesc(const void *a, const void *b)
{
	float8		x = (*(CalPattern *const *) a)->score;
	float8		y = (*(CalPattern *const *) b)->score;

	if (unlikely(isnan(x) || isnan(y)))
		return isnan(x) ? (isnan(y) ? 0 : -1) : 1;
	return (x < y) - (x > y);
}

/*
 * Scores every pattern with the given points and returns the ranking's AUC: the same
 * arithmetic as score_quality's final function, so the two agree to the bit.
 */
static CalAuc
PatternAuc(CalPattern *pats, CalPattern **order, int64 npats, int nrules,
		   const float8 *points, int64 pos_total, int64 neg_total)
{
	CalAuc		r;
	int64		pos_above = 0;

	for (int64 j = 0; j < npats; j++)
	{
		CalPattern *p = &pats[j];
		float8		s = 0;

		if (p->knockout)
			s = -get_float8_infinity();
		else
		{
			/* rule_id order from 0, as ruleset_eval adds points */
			for (int i = 0; i < nrules; i++)
				if (p->bits[i >> 3] & (1 << (i & 7)))
					s += points[i];
		}
		p->score = s;
		order[j] = p;
	}
	qsort(order, npats, sizeof(CalPattern *), PatternScoreCmpDesc);

	r.twice_u = int64_to_int128(0);
	for (int64 j = 0; j < npats;)
	{
		int64		k = j;
		int64		pos = 0,
					neg = 0;

		/* a run of equal scores: its positives beat the negatives below, tie with its own */
		while (k < npats && PatternScoreCmpDesc(&order[j], &order[k]) == 0)
		{
			pos += order[k]->pos;
			neg += order[k]->neg;
			k++;
		}
		auc_add_run(&r.twice_u, pos_above, pos, neg);
		pos_above += pos;
		j = k;
	}
	r.auc = auc_from_twice_u(r.twice_u, pos_total, neg_total);
	return r;
}

/* The lead table's outcome column, checked: it must exist and be boolean (fit uses it too). */
void
analytics_check_outcome_column(Oid relid, const char *column, const char *model)
{
	HeapTuple	tup = SearchSysCacheAttName(relid, column);
	Form_pg_attribute att;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						column, get_rel_name(relid)),
				 errhint("Name the boolean column of the lead table of model \"%s\" that records whether a lead converted.",
						 model)));
	att = (Form_pg_attribute) GETSTRUCT(tup);
	if (att->attnum <= 0)
	{
		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" is a system column",
						column, get_rel_name(relid)),
				 errhint("Name the boolean column of the lead table of model \"%s\" that records whether a lead converted.",
						 model)));
	}
	if (getBaseType(att->atttypid) != BOOLOID)
	{
		Oid			typid = att->atttypid;

		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("outcome column \"%s\" of relation \"%s\" is of type %s, not boolean",
						column, get_rel_name(relid), format_type_be(typid)),
				 errhint("The outcome column says whether a lead converted: true, false, or NULL while unknown.")));
	}
	ReleaseSysCache(tup);
}

char *
analytics_whole_row(Oid relid)
{
	/* l.*, cast to its own type: a column named l would be taken for a bare l */
	return psprintf("l.*::%s",
					quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											   get_rel_name(relid)));
}

int64
analytics_scan_leads(CompiledModel *cm, const char *sql, LeadVisitor visit, void *arg)
{
	MemoryContext batchcxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual lead scan",
												   ALLOCSET_DEFAULT_SIZES);
	Portal		portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
	int64		null_outcomes = 0;

	for (;;)
	{
		MemoryContext old;

		SPI_cursor_fetch(portal, true, SCAN_FETCH);
		if (SPI_processed == 0)
			break;
		if (SPI_gettypeid(SPI_tuptable->tupdesc, 1) != cm->typid ||
			getBaseType(SPI_gettypeid(SPI_tuptable->tupdesc, 2)) != BOOLOID)
			elog(ERROR, "leadqual: the lead scan returned other columns than the row and its outcome");
		old = MemoryContextSwitchTo(batchcxt);
		for (uint64 t = 0; t < SPI_processed; t++)
		{
			HeapTuple	row = SPI_tuptable->vals[t];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			bool		converted;
			Datum		lead;
			HeapTupleData tuple;
			LeadResult	res;

			converted = DatumGetBool(SPI_getbinval(row, desc, 2, &isnull));
			if (isnull)
			{
				null_outcomes++;
				continue;
			}
			lead = SPI_getbinval(row, desc, 1, &isnull);
			if (isnull)
				continue;		/* cannot happen: a whole-row value is never NULL */
			ruleset_row_tuple(DatumGetHeapTupleHeader(lead), &tuple);
			ruleset_eval(cm, &tuple, &res);
			visit(arg, converted, &res, row, desc);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(batchcxt);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(batchcxt);
	return null_outcomes;
}

/* calibrate's scan: each lead's hit pattern, an outcome byte after it (see CalVisit) */
typedef struct CalScan
{
	const CompiledModel *cm;
	const char *model;
	MemoryContext cxt;			/* holds records */
	int			nbytes;			/* of a hit bitmap */
	int			stride;			/* of a record: the bitmap, then the outcome byte */
	uint8	   *records;
	int64		nleads;
	int64		cap;
	int64		pos_total;
	int64	   *hits;			/* per rule */
	int64	   *conv_hit;
} CalScan;

static void
CalVisit(void *arg, bool converted, const LeadResult *res, HeapTuple row, TupleDesc desc)
{
	CalScan    *cs = arg;
	uint8	   *rec;

	if (cs->nleads == cs->cap)
	{
		cs->cap = cs->cap == 0 ? 65536 : cs->cap * 2;
		if ((Size) cs->cap * cs->stride > MaxAllocHugeSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many leads to calibrate model \"%s\"", cs->model)));
		cs->records = cs->records == NULL
			? MemoryContextAllocHuge(cs->cxt, (Size) cs->cap * cs->stride)
			: repalloc_huge(cs->records, (Size) cs->cap * cs->stride);
	}
	rec = cs->records + cs->nleads * cs->stride;
	memset(rec, 0, cs->stride);
	for (int i = 0; i < cs->cm->nactive; i++)
	{
		if (!cs->cm->matched[i])
			continue;
		rec[i >> 3] |= 1 << (i & 7);
		cs->hits[i]++;
		if (converted)
			cs->conv_hit[i]++;
	}
	rec[cs->nbytes] = converted;
	cs->pos_total += converted;
	cs->nleads++;
}

/* One row per enabled rule: hit and conversion counts, lift, and suggested points. */
PG_FUNCTION_INFO_V1(leadqual_calibrate);
Datum
leadqual_calibrate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *model;
	char	   *outcome;
	Oid			relid;
	TupleDesc	leaddesc;
	CompiledModel *cm;
	ModelDef   *def;
	int			nrules;
	int			nbytes;
	int			stride;
	MemoryContext cxt,
				old;
	uint8	   *records;
	int64		nleads;
	int64		pos_total;
	int64	   *hits,
			   *conv_hit;
	bool	   *is_knockout;
	char	   *sql;
	CalPattern *pats;
	CalPattern **order;
	int64		npats = 0;
	float8	   *w,
			   *points,
			   *trial;
	float8		sum_points = 0,
				sum_w = 0,
				scale;
	CalAuc		auc_current,
				best;
	int			best_k = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model and outcome_column must not be NULL")));
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	outcome = pstrdup(NameStr(*PG_GETARG_NAME(1)));

	InitMaterializedSRF(fcinfo, 0);

	relid = ruleset_model_lead_table(model, NULL);
	leaddesc = ruleset_lead_tupdesc(relid, model);
	analytics_check_outcome_column(relid, outcome, model);
	cm = ruleset_lookup(model, leaddesc->tdtypeid, -1);
	def = cm->def;
	nrules = cm->nactive;
	if (nrules == 0)
		return (Datum) 0;

	/* everything below lives here and is freed before returning */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual calibrate",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	nbytes = (nrules + 7) / 8;
	stride = nbytes + 1;		/* the bitmap, then the outcome byte */
	hits = palloc0(nrules * sizeof(int64));
	conv_hit = palloc0(nrules * sizeof(int64));
	is_knockout = palloc0(nrules * sizeof(bool));
	for (int i = 0; i < nrules; i++)
		is_knockout[i] = def->rules[cm->active[i]].knockout;
	sql = psprintf("SELECT %s, l.%s FROM %s l", analytics_whole_row(relid),
				   quote_identifier(outcome),
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											  get_rel_name(relid)));
	MemoryContextSwitchTo(old);

	/* the caller's query: SECURITY INVOKER, so row-level security applies */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		CalScan		cs = {cm, model, cxt, nbytes, stride, NULL, 0, 0, 0, hits, conv_hit};

		(void) analytics_scan_leads(cm, sql, CalVisit, &cs);
		records = cs.records;
		nleads = cs.nleads;
		pos_total = cs.pos_total;
	}
	SPI_finish();

	old = MemoryContextSwitchTo(cxt);

	/* sorted, leads with the same hit pattern are adjacent: count each pattern once */
	if (nleads > 1)
		qsort_arg(records, nleads, stride, RecordCmp, &stride);
	for (int64 j = 0; j < nleads; j++)
		if (j == 0 || memcmp(records + (j - 1) * stride, records + j * stride, nbytes) != 0)
			npats++;
	pats = palloc_extended(Max(npats, 1) * sizeof(CalPattern), MCXT_ALLOC_HUGE);
	npats = 0;
	for (int64 j = 0; j < nleads; j++)
	{
		uint8	   *rec = records + j * stride;

		if (npats == 0 || memcmp(pats[npats - 1].bits, rec, nbytes) != 0)
		{
			CalPattern *p = &pats[npats++];

			p->bits = rec;
			p->pos = p->neg = 0;
			p->knockout = false;
			for (int i = 0; i < nrules; i++)
				if (is_knockout[i] && (rec[i >> 3] & (1 << (i & 7))))
					p->knockout = true;
		}
		if (rec[nbytes])
			pats[npats - 1].pos++;
		else
			pats[npats - 1].neg++;
	}
	order = palloc_extended(Max(npats, 1) * sizeof(CalPattern *), MCXT_ALLOC_HUGE);

	/* smoothed log-odds weights, scaled to the size of the model's points */
	w = palloc(nrules * sizeof(float8));
	points = palloc(nrules * sizeof(float8));
	trial = palloc(nrules * sizeof(float8));
	for (int i = 0; i < nrules; i++)
	{
		int64		lost_total = nleads - pos_total;
		float8		ch = conv_hit[i],
					lh = hits[i] - conv_hit[i],
					cmiss = pos_total - conv_hit[i],
					lmiss = lost_total - (hits[i] - conv_hit[i]);

		points[i] = def->rules[cm->active[i]].points;
		w[i] = log(((ch + 0.5) / (lh + 0.5)) / ((cmiss + 0.5) / (lmiss + 0.5)));
		/* a knockout rule disqualifies whatever its points: it takes no part in scaling */
		if (!is_knockout[i])
		{
			sum_points += fabs(points[i]);
			sum_w += fabs(w[i]);
		}
	}
	scale = sum_w > 0 ? sum_points / sum_w : 1;
	for (int i = 0; i < nrules; i++)
		w[i] = is_knockout[i] ? points[i] : scale * w[i];

	/* alpha on a grid; 0 (today's points) is a candidate, so the AUC never drops */
	auc_current = PatternAuc(pats, order, npats, nrules, points, pos_total, nleads - pos_total);
	best = auc_current;
	for (int k = 1; k <= CAL_GRID; k++)
	{
		float8		alpha = (float8) k / CAL_GRID;
		CalAuc		a;

		for (int i = 0; i < nrules; i++)
			trial[i] = points[i] + alpha * (w[i] - points[i]);
		a = PatternAuc(pats, order, npats, nrules, trial, pos_total, nleads - pos_total);
		if (int128_compare(a.twice_u, best.twice_u) > 0)
		{
			best = a;
			best_k = k;
		}
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(old);

	for (int i = 0; i < nrules; i++)
	{
		RuleDef    *r = &def->rules[cm->active[i]];
		float8		alpha = (float8) best_k / CAL_GRID;
		int64		misses = nleads - hits[i];
		Datum		values[CAL_NCOLS];
		bool		nulls[CAL_NCOLS] = {0};

		values[0] = Int64GetDatum(r->rule_id);
		values[1] = CStringGetTextDatum(r->name);
		values[2] = Float8GetDatum(r->points);
		values[3] = Int64GetDatum(hits[i]);
		values[4] = Float8GetDatum(nleads > 0 ? (float8) hits[i] / nleads : 0);
		nulls[4] = nleads == 0;
		values[5] = Float8GetDatum(hits[i] > 0 ? (float8) conv_hit[i] / hits[i] : 0);
		nulls[5] = hits[i] == 0;
		values[6] = Float8GetDatum(misses > 0 ? (float8) (pos_total - conv_hit[i]) / misses : 0);
		nulls[6] = misses == 0;
		/* lift: conversion among hits over conversion overall */
		if (hits[i] > 0 && pos_total > 0)
			values[7] = Float8GetDatum(((float8) conv_hit[i] / hits[i]) /
									   ((float8) pos_total / nleads));
		else
			nulls[7] = true;
		values[8] = Float8GetDatum(best_k == 0 ? points[i]
								   : points[i] + alpha * (w[i] - points[i]));
		values[9] = Float8GetDatum(alpha);
		values[10] = Float8GetDatum(auc_current.auc);
		nulls[10] = isnan(auc_current.auc);
		values[11] = Float8GetDatum(best.auc);
		nulls[11] = isnan(best.auc);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
