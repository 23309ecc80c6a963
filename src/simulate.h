/*
 * simulate.h — what simulate.c shares with rescore.c.
 */
#ifndef LEADQUAL_SIMULATE_H
#define LEADQUAL_SIMULATE_H

#include "postgres.h"

/* rescore.c: a score as a score column of base type `type` stores it, as float8. */
extern double rescore_stored_score(double score, Oid type);

#endif
