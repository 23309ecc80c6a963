/*
 * quality.h — the exact AUC arithmetic score_quality, calibrate and fit share, so they
 * agree to the bit; and the (score -> counts) state score_quality and gains share.
 */
#ifndef LEADQUAL_QUALITY_H
#define LEADQUAL_QUALITY_H

#include "postgres.h"
#include "common/int128.h"
#include "fmgr.h"

/* One distinct score of a quality_state (score_quality, gains) and its counts. */
typedef struct QualityEntry
{
	float8		score;			/* the score; when binned, the smallest in its bin */
	int64		pos;			/* converted leads with this score (bin) */
	int64		neg;			/* the others */
} QualityEntry;

/* A read-only view of a quality_state, flat or expanded: entries strictly ascending. */
typedef struct QualityView
{
	int32		bins;
	bool		binned;
	int32		k;
	int32		buckets;		/* gains: the bands asked for; 0 for score_quality */
	const QualityEntry *runs;
	Size		nruns;
	const QualityEntry *buf;	/* empty once viewed */
	Size		nbuf;
} QualityView;

/* The view of a state datum (an expanded one is flushed first: same value, sorted). */
extern void quality_get_view(Datum d, QualityView *v);

/*
 * The transition step of score_quality and gains: counts (argument 1, argument 2) into
 * the state in argument 0, NULLs skipped; buckets is kept in the state for gains.
 */
extern Datum quality_transition(FunctionCallInfo fcinfo, int32 bins, int32 buckets);

/*
 * Adds one run of tied scores to 2U (Mann-Whitney): its negatives lose to the
 * pos_above positives scored higher and tie with its own pos positives.
 */
extern void auc_add_run(INT128 *twice_u, int64 pos_above, int64 pos, int64 neg);

/* AUC = 2U / (2·P·N); NaN when a class is empty. */
extern float8 auc_from_twice_u(INT128 twice_u, int64 pos, int64 neg);

#endif
