/*
 * scoring.h — turning a lead's rule results into a stage.
 */
#ifndef LEADQUAL_SCORING_H
#define LEADQUAL_SCORING_H

#include "executor/tuptable.h"
#include "fmgr.h"

#include "ruleset.h"

/* Stages in the order of leadqual.stage's labels. */
typedef enum Stage
{
	STAGE_DISQUALIFIED, STAGE_NURTURE, STAGE_MQL, STAGE_SQL, STAGE_WON, STAGE_LOST,
	NUM_STAGES
} Stage;

extern const char *const stage_labels[NUM_STAGES];

/* Evaluates the rules over row and classifies it; res receives the points. */
extern Stage scoring_classify(CompiledModel *cm, HeapTuple row, LeadResult *res);
/* The same for a row already in a slot of cm's row type (cm->slot, deformed or not). */
extern Stage scoring_classify_slot(CompiledModel *cm, TupleTableSlot *slot, LeadResult *res);

/*
 * The row of a scoring call in a slot, and the model to evaluate it with (kept
 * per call site in fn_extra); NULL for a NULL row.  base_nargs is the arity
 * of the call over a whole row (lead, rules, ...); a narrowed call passes its
 * row's columns after those (narrow.h).  The caller clears the slot.
 */
extern TupleTableSlot *scoring_call_slot(FunctionCallInfo fcinfo, int base_nargs, bool narrowed,
										 CompiledModel **cm);

/* The enum value of a stage (leadqual.stage), and a label's stage (-1 if none). */
extern Datum stage_datum(Stage stage);
extern Oid	stage_type_oid(void);
extern int	stage_from_label(const text *label);

#endif
