/*
 * lead_trigger.c — the triggers leadqual.attach installs on a lead table.
 *
 * BEFORE INSERT OR UPDATE (row): writes score and stage.  A stage a person
 * supplies (INSERT with a stage, UPDATE whose SET list names the stage
 * column) is kept and locks the lead; locked leads and leads in sql, won or
 * lost keep their stage against automation; a stage set to NULL releases the
 * lock.  The invariant that makes history simple: stage_locked is true exactly
 * when a person decided the current stage.
 *
 * The AFTER statement triggers that record stage changes are in history.c.
 *
 * The triggers carry no arguments: the model and the columns are looked up at
 * fire time in leadqual.attachments (through the rule cache), for the firing
 * table or, on a partition, its nearest attached ancestor.  A table that
 * leadqual.attach did not set up is refused.  Everything here runs as the
 * user writing the lead; only reading the configuration is done as the owner.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "lead_policy.h"
#include "lead_trigger.h"

/* What a lead trigger knows about its table, cached per trigger for one snapshot. */
typedef struct LeadTable
{
	Oid			tgoid;
	LookupKey	key;			/* valid while this matches */
	LeadColumns cols;
	CompiledModel *cm;
	/* the new row's values, formed into the returned row (kept: no palloc per row) */
	int			natts;
	Datum	   *values;
	bool	   *nulls;
	struct LeadTable *next;
} LeadTable;

static LeadTable *LeadTables = NULL;

/* lead triggers scoring a row right now (a rule's comparison function may fire more) */
static int	TriggerDepth = 0;

static AttrNumber
AttnumOf(Relation rel, const char *column, const char *what)
{
	AttrNumber	att = SPI_fnumber(RelationGetDescr(rel), column);

	if (att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s column \"%s\" of leadqual's attachment does not exist in table \"%s\"",
						what, column, RelationGetRelationName(rel)),
				 errhint("Run leadqual.detach and leadqual.attach again.")));
	return att;
}

static void
WrongType(Relation rel, const char *what, AttrNumber att, const char *should)
{
	Form_pg_attribute a = TupleDescAttr(RelationGetDescr(rel), att - 1);

	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("%s column \"%s\" of table \"%s\" has type %s, which cannot hold a %s",
					what, NameStr(a->attname), RelationGetRelationName(rel),
					format_type_with_typemod(a->atttypid, a->atttypmod), what),
			 errhint("Give the column type %s, or run leadqual.detach and leadqual.attach again.",
					 should)));
}

/*
 * The type of column att, if it is a plain type (no domain, no type modifier):
 * the trigger forms the values it writes itself, past a domain's CHECK or a
 * varchar's length, so it writes only columns that accept every such value,
 * the types attach accepts (a column altered since gets this error).
 */
static Oid
PlainType(Relation rel, AttrNumber att)
{
	Form_pg_attribute a = TupleDescAttr(RelationGetDescr(rel), att - 1);

	return a->atttypmod < 0 && get_typtype(a->atttypid) != TYPTYPE_DOMAIN ?
		a->atttypid : InvalidOid;
}

void
lead_columns(Relation rel, const AttachmentDef *att, bool with_key, LeadColumns *cols)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			type;

	cols->score_att = AttnumOf(rel, att->score_column, "score");
	cols->score_type = PlainType(rel, cols->score_att);
	if (cols->score_type != FLOAT8OID && cols->score_type != FLOAT4OID &&
		cols->score_type != NUMERICOID)
		WrongType(rel, "score", cols->score_att, "double precision");

	cols->stage_att = AttnumOf(rel, att->stage_column, "stage");
	type = PlainType(rel, cols->stage_att);
	cols->stage_is_text = type == TEXTOID || type == VARCHAROID;
	if (!cols->stage_is_text && type != stage_type_oid())
		WrongType(rel, "stage", cols->stage_att, "leadqual.stage");

	cols->locked_att = AttnumOf(rel, att->locked_column, "locked");
	if (PlainType(rel, cols->locked_att) != BOOLOID)
		WrongType(rel, "locked", cols->locked_att, "boolean");

	cols->key_att = with_key ? AttnumOf(rel, att->key_column, "key") : InvalidAttrNumber;
	cols->key_type = with_key ? TupleDescAttr(desc, cols->key_att - 1)->atttypid : InvalidOid;

	/* the enum may have been recreated since the last statement */
	for (int i = 0; i < NUM_STAGES; i++)
		cols->stage_values[i] = cols->stage_is_text ? (Datum) 0 : stage_datum(i);
}

int
lead_stage(const LeadColumns *cols, Datum d, bool isnull)
{
	int			stage;

	if (isnull)
		return -1;
	if (!cols->stage_is_text)
	{
		for (int i = 0; i < NUM_STAGES; i++)
			if (cols->stage_values[i] == d)
				return i;
		elog(ERROR, "unknown leadqual.stage value");
	}
	stage = stage_from_label(DatumGetTextPP(d));	/* (no copy per row) */
	if (stage < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid stage \"%s\"", TextDatumGetCString(d)),
				 errhint("Stages are disqualified, nurture, mql, sql, won and lost.")));
	return stage;
}

/* The trigger's table: its attachment and compiled model, looked up once per snapshot. */
static LeadTable *
GetLeadTable(TriggerData *td)
{
	Trigger    *tg = td->tg_trigger;
	Relation	rel = td->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	LeadTable  *lt;
	LookupKey	key;

	for (lt = LeadTables; lt != NULL; lt = lt->next)
		if (lt->tgoid == tg->tgoid)
			break;
	if (lt == NULL)
	{
		lt = MemoryContextAllocZero(TopMemoryContext, sizeof(LeadTable));
		lt->tgoid = tg->tgoid;
		lt->next = LeadTables;
		LeadTables = lt;
	}
	/* one rule set and attachment per snapshot: look them up again when it changes */
	ruleset_lookup_key(&key);
	if (lt->cm == NULL || memcmp(&lt->key, &key, sizeof(key)) != 0)
	{
		AttachmentDef *att;

		lt->cm = NULL;
		att = ruleset_attachment(RelationGetRelid(rel), true, "leadqual.lead_trigger()");
		lead_columns(rel, att, false, &lt->cols);
		lt->cm = ruleset_lookup(att->model, desc->tdtypeid, desc->tdtypmod);
		lt->key = key;
	}
	return lt;
}

static Datum
StageValue(LeadTable *lt, int stage)
{
	return lt->cols.stage_is_text ? CStringGetTextDatum(stage_labels[stage]) :
		lt->cols.stage_values[stage];
}

static Datum
ScoreValue(LeadTable *lt, double score)
{
	return lead_score_datum(score, lt->cols.score_type);
}

/* scoring_classify_slot, counted in TriggerDepth while it runs */
static Stage
Classify(CompiledModel *cm, TupleTableSlot *slot, LeadResult *res)
{
	Stage		stage = STAGE_NURTURE;

	TriggerDepth++;
	PG_TRY();
	{
		stage = scoring_classify_slot(cm, slot, res);
	}
	PG_FINALLY();
	{
		TriggerDepth--;
	}
	PG_END_TRY();
	return stage;
}

/* Writes score and stage into the new row (see the file comment for the rules). */
PG_FUNCTION_INFO_V1(leadqual_lead_trigger);
Datum
leadqual_lead_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	newtup;
	HeapTuple	result;
	TupleDesc	desc;
	LeadTable  *lt;
	LeadResult	res;
	Stage		automatic;
	int			stage;
	bool		locked;
	bool		manual = false;
	Datum	   *values;
	bool	   *nulls;
	TupleTableSlot *slot;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || TRIGGER_FIRED_BY_DELETE(td->tg_event))
		elog(ERROR, "leadqual_lead_trigger must be a BEFORE INSERT OR UPDATE row trigger");

	newtup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	desc = RelationGetDescr(td->tg_relation);
	lt = GetLeadTable(td);

	/*
	 * The row is deformed once, in the compiled model's slot: its values are
	 * copied out (stage and lock are read from them, the new row is formed
	 * from them), then the rules read the slot (heap_modify_tuple would deform
	 * the row again, and heap_getattr walks to the trailing columns once for
	 * each).  cm's row type is the table's (GetLeadTable looked it up by the
	 * table's type).  The value arrays are kept for the next row; a nested
	 * firing (a rule's comparison function may be a user's, and write leads)
	 * takes arrays of its own.
	 */
	if (TriggerDepth > 0)
	{
		values = palloc(desc->natts * sizeof(Datum));
		nulls = palloc(desc->natts * sizeof(bool));
	}
	else
	{
		if (lt->natts < desc->natts)
		{
			if (lt->values)
			{
				pfree(lt->values);
				pfree(lt->nulls);
			}
			lt->values = MemoryContextAlloc(TopMemoryContext, desc->natts * sizeof(Datum));
			lt->nulls = MemoryContextAlloc(TopMemoryContext, desc->natts * sizeof(bool));
			lt->natts = desc->natts;
		}
		values = lt->values;
		nulls = lt->nulls;
	}
	slot = lt->cm->slot;
	if (slot->tts_tupleDescriptor->natts != desc->natts)
		elog(ERROR, "leadqual: compiled row type of table \"%s\" is out of date",
			 RelationGetRelationName(td->tg_relation));
	ExecStoreHeapTuple(newtup, slot, false);
	slot_getallattrs(slot);
	memcpy(values, slot->tts_values, desc->natts * sizeof(Datum));
	memcpy(nulls, slot->tts_isnull, desc->natts * sizeof(bool));
	stage = lead_stage(&lt->cols, values[lt->cols.stage_att - 1],
					   nulls[lt->cols.stage_att - 1]);
	locked = !nulls[lt->cols.locked_att - 1] && DatumGetBool(values[lt->cols.locked_att - 1]);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		manual = stage >= 0;
	else if (bms_is_member(lt->cols.stage_att - FirstLowInvalidHeapAttributeNumber,
						   td->tg_updatedcols))
		manual = stage >= 0;	/* SET stage = NULL releases the lock */
	else if (lead_stage_kept(stage, locked))
		manual = locked;		/* kept; stays as locked as it was */
	else
		stage = -1;				/* automation decides */

	automatic = Classify(lt->cm, slot, &res);
	ExecClearTuple(slot);
	if (stage < 0)
	{
		stage = automatic;
		locked = false;
	}
	else
		locked = manual;

	values[lt->cols.score_att - 1] = ScoreValue(lt, res.score);
	nulls[lt->cols.score_att - 1] = false;
	values[lt->cols.stage_att - 1] = StageValue(lt, stage);
	nulls[lt->cols.stage_att - 1] = false;
	values[lt->cols.locked_att - 1] = BoolGetDatum(locked);
	nulls[lt->cols.locked_att - 1] = false;
	result = heap_form_tuple(desc, values, nulls);
	/* as heap_modify_tuple: the old tuple's identity */
	result->t_data->t_ctid = newtup->t_data->t_ctid;
	result->t_self = newtup->t_self;
	result->t_tableOid = newtup->t_tableOid;
	return PointerGetDatum(result);
}
