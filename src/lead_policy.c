/*
 * lead_policy.c — what automation writes into a lead (lead_policy.h): the
 * stages it keeps, and a score as the score column stores it.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "lead_policy.h"
#include "scoring.h"

bool
lead_stage_kept(int stage, bool locked)
{
	return stage >= 0 &&
		(locked || stage == STAGE_SQL || stage == STAGE_WON || stage == STAGE_LOST);
}

Datum
lead_score_datum(double score, Oid type)
{
	switch (type)
	{
		case FLOAT4OID:
			return Float4GetDatum((float4) score);
		case NUMERICOID:
			return DirectFunctionCall1(float8_numeric, Float8GetDatum(score));
		default:
			return Float8GetDatum(score);
	}
}

double
lead_score_float8(Datum d, Oid type)
{
	switch (type)
	{
		case FLOAT4OID:
			return DatumGetFloat4(d);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
		default:
			return DatumGetFloat8(d);
	}
}

double
lead_stored_score(double score, Oid type)
{
	return lead_score_float8(lead_score_datum(score, type), type);
}
