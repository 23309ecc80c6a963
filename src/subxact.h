/*
 * subxact.h — running a step in a subtransaction and catching its error.
 */
#ifndef LEADQUAL_SUBXACT_H
#define LEADQUAL_SUBXACT_H

#include "postgres.h"

/*
 * Runs step(arg) in an internal subtransaction.  Returns NULL when it
 * succeeded; otherwise the subtransaction is rolled back and its error is
 * returned (copied into the caller's memory context) for the caller to
 * report, swallow or re-throw with ReThrowError.  A cancel or timeout, an
 * administrator's shutdown, and out-of-resource and system errors (classes
 * 57, 53, 58) are re-thrown here, after the rollback: no caller may swallow them.
 */
extern ErrorData *subxact_run(void (*step) (void *arg), void *arg);

#endif
