/*
 * lead_trigger.h — the columns of an attached lead table, shared by the row
 * trigger (lead_trigger.c) and the history trigger (history.c).
 */
#ifndef LEADQUAL_LEAD_TRIGGER_H
#define LEADQUAL_LEAD_TRIGGER_H

#include "postgres.h"
#include "utils/rel.h"

#include "ruleset.h"
#include "scoring.h"

/* Where an attachment's columns are in one table (the firing one), and their types. */
typedef struct LeadColumns
{
	AttrNumber	score_att;
	Oid			score_type;		/* base type: float8, float4 or numeric */
	AttrNumber	stage_att;
	bool		stage_is_text;	/* text or varchar, else leadqual.stage */
	AttrNumber	locked_att;
	AttrNumber	key_att;
	Oid			key_type;
	Datum		stage_values[NUM_STAGES];	/* leadqual.stage's values */
} LeadColumns;

/*
 * Resolves att's columns in rel by name (the key too when with_key), refusing
 * types the triggers cannot handle.
 */
extern void lead_columns(Relation rel, const AttachmentDef *att, bool with_key,
						 LeadColumns *cols);

/* The stage held in a stage column value, -1 for NULL. */
extern int	lead_stage(const LeadColumns *cols, Datum d, bool isnull);

#endif
