/*
 * gains.c — the gains aggregate: how many leads, and how many of the conversions, each
 * score band from the top holds (a gains / lift table).
 *
 * The state is score_quality's exact quality_state (a sorted histogram score ->
 * converted, not converted; text and binary I/O; an expanded object updated in place;
 * combined by quality_combine), which also keeps the number of bands asked for, since
 * a final function sees no argument values.  The final function walks the histogram from
 * the highest score down.  Bands have equal counts with ties never split: a run of equal
 * scores goes, whole, to the band that an equal-count split (lead i of N, counted from
 * the top from 0, in band floor(i * buckets / N) + 1) gives the run's first lead; bands
 * left empty because a run filled them are dropped and the rest numbered 1, 2, ...
 * Rows whose score or outcome is NULL are not counted.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "quality.h"

#define GAINS_MAX_BUCKETS	1000000
#define GAINS_NCOLS			8

PG_FUNCTION_INFO_V1(gains_trans);
/* Counts one (score, converted) row for gains(score, converted, buckets). */
Datum
gains_trans(PG_FUNCTION_ARGS)
{
	int32		buckets;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("buckets must not be null")));
	buckets = PG_GETARG_INT32(3);
	if (buckets < 1 || buckets > GAINS_MAX_BUCKETS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("buckets must be between 1 and %d, not %d", GAINS_MAX_BUCKETS, buckets)));
	return quality_transition(fcinfo, 0, buckets);
}

PG_FUNCTION_INFO_V1(gains_trans10);
/* Counts one (score, converted) row for gains(score, converted): ten bands. */
Datum
gains_trans10(PG_FUNCTION_ARGS)
{
	return quality_transition(fcinfo, 0, 10);
}

/* One band as a gains_band datum. */
static Datum
BandDatum(TupleDesc desc, int32 band, float8 min_score, int64 leads, int64 cum_leads,
		  int64 conv, int64 cum_conv, int64 total, int64 total_conv)
{
	Datum		values[GAINS_NCOLS];
	bool		nulls[GAINS_NCOLS] = {0};

	values[0] = Int32GetDatum(band);
	values[1] = Float8GetDatum(min_score);
	values[2] = Int64GetDatum(leads);
	values[3] = Float8GetDatum((float8) cum_leads / (float8) total);
	values[4] = Int64GetDatum(conv);
	/* capture and lift need a conversion somewhere */
	values[5] = Float8GetDatum(total_conv > 0 ? (float8) cum_conv / (float8) total_conv : 0);
	nulls[5] = total_conv == 0;
	values[6] = Float8GetDatum((float8) conv / (float8) leads);
	values[7] = Float8GetDatum(total_conv > 0
							   ? ((float8) conv / (float8) leads) /
							   ((float8) total_conv / (float8) total) : 0);
	nulls[7] = total_conv == 0;
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

PG_FUNCTION_INFO_V1(gains_final);
/* Returns the bands of a state, from the top: leadqual.gains_band[]. */
Datum
gains_final(PG_FUNCTION_ARGS)
{
	Oid			arraytype = get_func_rettype(fcinfo->flinfo->fn_oid);
	Oid			bandtype;
	TupleDesc	desc;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	QualityView v;
	int64		total = 0,
				total_conv = 0;
	Datum	   *bands;
	int			nbands = 0;
	int64		cum = 0,
				cum_conv = 0;
	int64		band_leads = 0,
				band_conv = 0;
	int64		cur_raw = -1;
	float8		band_min = 0;

	if (!OidIsValid(arraytype) || !OidIsValid(bandtype = get_element_type(arraytype)))
		elog(ERROR, "gains_final must return an array of a row type");
	desc = lookup_rowtype_tupdesc_copy(bandtype, -1);
	desc = BlessTupleDesc(desc);
	get_typlenbyvalalign(bandtype, &typlen, &typbyval, &typalign);

	/* no counted row: no band */
	if (PG_ARGISNULL(0))
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(bandtype));

	quality_get_view(PG_GETARG_DATUM(0), &v);
	Assert(v.nbuf == 0);
	/* a state is text anyone can write: one score_quality made is not a gains state */
	if (v.buckets < 1 || v.binned)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("leadqual.gains_final needs the state of leadqual.gains, not of score_quality")));
	for (Size i = 0; i < v.nruns; i++)
	{
		if (pg_add_s64_overflow(total, v.runs[i].pos, &total) ||
			pg_add_s64_overflow(total, v.runs[i].neg, &total))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("leadqual.gains: more leads than bigint counts")));
		total_conv += v.runs[i].pos;
	}
	if (total == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(bandtype));

	bands = palloc(sizeof(Datum) * Min((Size) v.buckets, v.nruns));
	for (Size i = v.nruns; i > 0; i--)
	{
		const QualityEntry *e = &v.runs[i - 1];
		int64		n = e->pos + e->neg;
		int64		raw;

		/* the band of the run's first lead in an equal-count split */
		if (cum <= PG_INT64_MAX / v.buckets)
			raw = cum * v.buckets / total;
		else					/* (rounding can reach buckets: the last band holds it) */
			raw = Min((int64) floor(((double) cum / (double) total) * v.buckets),
					  (int64) v.buckets - 1);

		if (raw != cur_raw && band_leads > 0)
		{
			nbands++;
			bands[nbands - 1] = BandDatum(desc, nbands, band_min, band_leads, cum, band_conv,
										  cum_conv, total, total_conv);
			band_leads = band_conv = 0;
		}
		cur_raw = raw;
		band_leads += n;
		band_conv += e->pos;
		band_min = e->score;
		cum += n;
		cum_conv += e->pos;
	}
	nbands++;
	bands[nbands - 1] = BandDatum(desc, nbands, band_min, band_leads, cum, band_conv,
								  cum_conv, total, total_conv);

	PG_RETURN_ARRAYTYPE_P(construct_array(bands, nbands, bandtype, typlen, typbyval, typalign));
}
