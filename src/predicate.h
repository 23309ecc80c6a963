/*
 * predicate.h — compiling (attribute, op, value) predicates against a row type
 * and evaluating many of them over one row at once.
 *
 * Rules and criterion checks share this engine.  A PredicateSet is compiled
 * for one row type: predicates are grouped by column so that per-column work
 * (deforming, lower-casing for ilike, converting for regex) is done once per
 * row, and eq/in/not_in predicates of a column share one hash table.
 */
#ifndef LEADQUAL_PREDICATE_H
#define LEADQUAL_PREDICATE_H

#include "postgres.h"
#include "access/tupdesc.h"
#include "executor/tuptable.h"
#include "nodes/bitmapset.h"

typedef enum PredOp
{
	PRED_EQ, PRED_NE, PRED_LT, PRED_LE, PRED_GT, PRED_GE, PRED_BETWEEN,
	PRED_IN, PRED_NOT_IN, PRED_LIKE, PRED_ILIKE, PRED_REGEX, PRED_IREGEX,
	PRED_IS_NULL, PRED_NOT_NULL
} PredOp;

/* What a rule or criterion check says, as text (from the config tables). */
typedef struct PredicateSpec
{
	const char *label;			/* "rule \"x\" of model \"m\"", for messages */
	const char *attribute;
	const char *op;
	const char *value;			/* NULL allowed */
} PredicateSpec;

typedef struct PredicateSet PredicateSet;

/* Parses an operator name; returns false if unknown. */
extern bool pred_op_from_name(const char *name, PredOp *op);

/*
 * Compiles specs[0..n-1] for tupdesc.  Errors (unknown column, bad value,
 * unsupported operator, invalid pattern) are raised with ereport.  The result
 * and everything it needs live in the current memory context; deleting that
 * context frees it (compiled regexes included).
 */
extern PredicateSet *predicate_set_compile(TupleDesc tupdesc, PredicateSpec *specs, int n);

/*
 * Evaluates every predicate over the row in slot; sets matched[i] for each
 * predicate i that holds.  matched must have room for n entries and is
 * cleared first.  Scratch allocations go to scratch (reset by the caller).
 */
extern void predicate_set_eval(PredicateSet *set, TupleTableSlot *slot,
							   bool *matched, MemoryContext scratch);

/* Checks what can be checked without a row type (raising the errors compiling would). */
extern void predicate_spec_check(PredicateSpec *spec);

/* Checks what can be checked without raising an error (for parallel workers). */
extern bool predicate_spec_usable(TupleDesc tupdesc, PredicateSpec *spec, char **why);

/* Highest attribute number the set reads (for slot_getsomeattrs). */
extern int	predicate_set_max_attno(PredicateSet *set);

/*
 * Validates one predicate against a column type and returns its value in
 * canonical form (type output under DateStyle ISO, TimeZone UTC,
 * IntervalStyle postgres), or NULL when the operator takes no value.
 */
extern char *predicate_canonical_value(TupleDesc tupdesc, PredicateSpec *spec);

#endif
