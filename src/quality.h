/*
 * quality.h — the exact AUC arithmetic score_quality and calibrate share, so the two
 * agree to the bit.
 */
#ifndef LEADQUAL_QUALITY_H
#define LEADQUAL_QUALITY_H

#include "postgres.h"
#include "common/int128.h"

/*
 * Adds one run of tied scores to 2U (Mann-Whitney): its negatives lose to the
 * pos_above positives scored higher and tie with its own pos positives.
 */
extern void auc_add_run(INT128 *twice_u, int64 pos_above, int64 pos, int64 neg);

/* AUC = 2U / (2·P·N); NaN when a class is empty. */
extern float8 auc_from_twice_u(INT128 twice_u, int64 pos, int64 neg);

#endif
