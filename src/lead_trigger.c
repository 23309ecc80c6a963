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
 * AFTER INSERT / AFTER UPDATE (statement, with transition tables): writes one
 * stage_history row per changed stage and sends NOTIFY leadqual_stage, in one
 * set-based statement.  Being AFTER, a skipped or rolled-back row leaves no
 * history.
 *
 * Trigger arguments: model, score column, stage column, locked column, key column.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "leadqual.h"
#include "ruleset.h"
#include "scoring.h"

static char *Actor = NULL;

/*
 * leadqual.notify: which stage changes send NOTIFY leadqual_stage.  handoff
 * (the default) is what a sales alert acts on: a lead reaching mql or sql, or
 * leaving them (to withdraw an alert); a bulk import's new leads going into
 * nurture or disqualified stay silent.  1.0's boolean values keep working.
 */
typedef enum NotifyPolicy
{
	NOTIFY_OFF, NOTIFY_HANDOFF, NOTIFY_ALL
} NotifyPolicy;

static const struct config_enum_entry notify_options[] = {
	{"all", NOTIFY_ALL, false},
	{"handoff", NOTIFY_HANDOFF, false},
	{"off", NOTIFY_OFF, false},
	{"on", NOTIFY_ALL, true},
	{"true", NOTIFY_ALL, true},
	{"yes", NOTIFY_ALL, true},
	{"1", NOTIFY_ALL, true},
	{"false", NOTIFY_OFF, true},
	{"no", NOTIFY_OFF, true},
	{"0", NOTIFY_OFF, true},
	{NULL, 0, false}
};

static int	Notify = NOTIFY_HANDOFF;

void
lead_trigger_init(void)
{
	DefineCustomStringVariable("leadqual.actor",
							   "Who stage_history records as having changed a stage.",
							   "Applications that connect through a pooled role set it to the person acting.",
							   &Actor, "", PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("leadqual.notify",
							 "Which stage changes send NOTIFY leadqual_stage: all, handoff (into or out of mql and sql) or off.",
							 "on and off, as in 1.0, mean all and off.",
							 &Notify, NOTIFY_HANDOFF, notify_options, PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

/* What a lead trigger knows about its table, cached per trigger. */
typedef struct LeadTable
{
	Oid			tgoid;
	uint64		inval;			/* attnums valid while this matches */
	AttrNumber	score_att;
	Oid			score_type;
	AttrNumber	stage_att;
	bool		stage_is_text;
	AttrNumber	locked_att;
	/* the compiled model, valid for one command */
	CompiledModel *cm;
	LookupKey	key;
	Datum		stage_values[NUM_STAGES];
	struct LeadTable *next;
} LeadTable;

static LeadTable *LeadTables = NULL;

static AttrNumber
AttnumOf(Relation rel, const char *column)
{
	AttrNumber	att = SPI_fnumber(RelationGetDescr(rel), column);

	if (att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of the leadqual trigger does not exist in table \"%s\"",
						column, RelationGetRelationName(rel)),
				 errhint("Run leadqual.detach and leadqual.attach again.")));
	return att;
}

static LeadTable *
GetLeadTable(TriggerData *td)
{
	Trigger    *tg = td->tg_trigger;
	Relation	rel = td->tg_relation;
	LeadTable  *lt;
	TupleDesc	desc = RelationGetDescr(rel);
	LookupKey	key;

	if (tg->tgnargs != 5)
		elog(ERROR, "leadqual lead trigger needs 5 arguments");
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
	if (lt->inval != ruleset_inval_count())
	{
		lt->score_att = AttnumOf(rel, tg->tgargs[1]);
		lt->score_type = getBaseType(TupleDescAttr(desc, lt->score_att - 1)->atttypid);
		lt->stage_att = AttnumOf(rel, tg->tgargs[2]);
		{
			Oid			stagetype = getBaseType(TupleDescAttr(desc, lt->stage_att - 1)->atttypid);

			lt->stage_is_text = stagetype == TEXTOID || stagetype == VARCHAROID;
		}
		lt->locked_att = AttnumOf(rel, tg->tgargs[3]);
		lt->stage_values[0] = (Datum) 0;	/* the enum may have been recreated */
		lt->cm = NULL;
		lt->inval = ruleset_inval_count();
	}
	/* one rule set per snapshot: look it up again when the snapshot changes */
	ruleset_lookup_key(&key);
	if (lt->cm == NULL || memcmp(&lt->key, &key, sizeof(key)) != 0)
	{
		lt->cm = ruleset_lookup(tg->tgargs[0], desc->tdtypeid, desc->tdtypmod);
		lt->key = key;
		if (!lt->stage_is_text && lt->stage_values[0] == (Datum) 0)
			for (int i = 0; i < NUM_STAGES; i++)
				lt->stage_values[i] = stage_datum(i);
	}
	return lt;
}

/* The stage held in a stage column value, -1 for NULL. */
static int
ReadStage(LeadTable *lt, Datum d, bool isnull)
{
	int			stage;

	if (isnull)
		return -1;
	if (!lt->stage_is_text)
	{
		for (int i = 0; i < NUM_STAGES; i++)
			if (lt->stage_values[i] == d)
				return i;
		elog(ERROR, "unknown leadqual.stage value");
	}
	stage = stage_from_label(TextDatumGetCString(d));
	if (stage < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid stage \"%s\"", TextDatumGetCString(d)),
				 errhint("Stages are disqualified, nurture, mql, sql, won and lost.")));
	return stage;
}

static Datum
StageValue(LeadTable *lt, int stage)
{
	return lt->stage_is_text ? CStringGetTextDatum(stage_labels[stage]) : stage_datum(stage);
}

static Datum
ScoreValue(LeadTable *lt, double score)
{
	switch (lt->score_type)
	{
		case FLOAT4OID:
			return Float4GetDatum((float4) score);
		case NUMERICOID:
			return DirectFunctionCall1(float8_numeric, Float8GetDatum(score));
		default:
			return Float8GetDatum(score);
	}
}

/* Writes score and stage into the new row (see the file comment for the rules). */
PG_FUNCTION_INFO_V1(leadqual_lead_trigger);
Datum
leadqual_lead_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	newtup;
	TupleDesc	desc;
	LeadTable  *lt;
	LeadResult	res;
	Stage		automatic;
	int			stage;
	bool		locked;
	bool		isnull;
	Datum		d;
	bool		manual = false;
	int			cols[3];
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || TRIGGER_FIRED_BY_DELETE(td->tg_event))
		elog(ERROR, "leadqual_lead_trigger must be a BEFORE INSERT OR UPDATE row trigger");

	newtup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	desc = RelationGetDescr(td->tg_relation);
	lt = GetLeadTable(td);

	d = heap_getattr(newtup, lt->stage_att, desc, &isnull);
	stage = ReadStage(lt, d, isnull);
	locked = DatumGetBool(heap_getattr(newtup, lt->locked_att, desc, &isnull)) && !isnull;

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		manual = stage >= 0;
	else if (bms_is_member(lt->stage_att - FirstLowInvalidHeapAttributeNumber,
						   td->tg_updatedcols))
		manual = stage >= 0;	/* SET stage = NULL releases the lock */
	else if (stage >= 0 && (locked || stage == STAGE_SQL || stage == STAGE_WON ||
							stage == STAGE_LOST))
		manual = locked;		/* kept; stays as locked as it was */
	else
		stage = -1;				/* automation decides */

	automatic = scoring_classify(lt->cm, newtup, &res);
	if (stage < 0)
	{
		stage = automatic;
		locked = false;
	}
	else
		locked = manual;

	cols[0] = lt->score_att;
	values[0] = ScoreValue(lt, res.score);
	cols[1] = lt->stage_att;
	values[1] = StageValue(lt, stage);
	cols[2] = lt->locked_att;
	values[2] = BoolGetDatum(locked);
	return PointerGetDatum(heap_modify_tuple_by_cols(newtup, desc, 3, cols, values, nulls));
}

/* Appends a JSON string, or null. */
static void
AppendJsonText(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, ", \"%s\" : ", key);
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

/*
 * Sends NOTIFY leadqual_stage for one history row (lead_id, old_stage,
 * new_stage, score, manual), with the payload json_build_object would give.
 */
static void
NotifyStageChange(const char *table, HeapTuple tup, TupleDesc desc)
{
	StringInfoData buf;
	bool		isnull;
	Datum		score;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"table\" : ");
	escape_json(&buf, table);
	AppendJsonText(&buf, "lead_id", SPI_getvalue(tup, desc, 1));
	AppendJsonText(&buf, "old_stage", SPI_getvalue(tup, desc, 2));
	AppendJsonText(&buf, "new_stage", SPI_getvalue(tup, desc, 3));
	appendStringInfoString(&buf, ", \"score\" : ");
	score = SPI_getbinval(tup, desc, 4, &isnull);
	if (isnull)
		appendStringInfoString(&buf, "null");
	else if (isnan(DatumGetFloat8(score)) || isinf(DatumGetFloat8(score)))
		escape_json(&buf, float8out_internal(DatumGetFloat8(score)));
	else
		appendStringInfoString(&buf, float8out_internal(DatumGetFloat8(score)));
	appendStringInfo(&buf, ", \"manual\" : %s}",
					 DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull)) ? "true" : "false");
	Async_Notify("leadqual_stage", buf.data);
	pfree(buf.data);
}

/* Records stage changes of the statement's rows in stage_history, and notifies. */
PG_FUNCTION_INFO_V1(leadqual_history_trigger);
Datum
leadqual_history_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *tg;
	bool		is_update;
	bool		stage_set = false;
	const char *actor;
	StringInfoData sql;
	Oid			argtypes[4] = {OIDOID, TEXTOID, TEXTOID, BOOLOID};
	Datum		args[4];
	OwnerContext owner;
	const char *key;
	const char *stagecol;
	const char *scorecol;
	const char *lockedcol;
	const char *stagecast;
	AttrNumber	stage_att;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "leadqual_history_trigger must be an AFTER statement trigger");
	tg = td->tg_trigger;
	if (tg->tgnargs != 5)
		elog(ERROR, "leadqual history trigger needs 5 arguments");
	is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);

	stage_att = AttnumOf(td->tg_relation, tg->tgargs[2]);
	if (is_update)
		stage_set = bms_is_member(stage_att - FirstLowInvalidHeapAttributeNumber,
								  td->tg_updatedcols);

	/* who: leadqual.actor when an application says so, else the current user */
	actor = (Actor && Actor[0]) ? Actor : GetUserNameFromId(GetUserId(), false);

	key = quote_identifier(tg->tgargs[4]);
	/* a leadqual.stage column needs no trip through text */
	stagecast = TupleDescAttr(RelationGetDescr(td->tg_relation), stage_att - 1)->atttypid ==
		stage_type_oid() ? "" : "::pg_catalog.text::leadqual.stage";
	stagecol = quote_identifier(tg->tgargs[2]);
	scorecol = quote_identifier(tg->tgargs[1]);
	lockedcol = quote_identifier(tg->tgargs[3]);
	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "INSERT INTO leadqual.stage_history "
						   "  (lead_table, lead_id, model, old_stage, new_stage, score, manual, changed_by) ");
	/*
	 * Old and new rows are paired by position, not by key: an UPDATE may
	 * change the key.  Both transition tables are appended to together, one
	 * pair per row, and read back in that order.
	 */
	if (is_update)
		appendStringInfo(&sql,
						 "SELECT $1::pg_catalog.regclass, n.k, $2, o.s, n.s, n.sc, $4 AND n.l, $3 "
						 "FROM (SELECT pg_catalog.row_number() OVER () AS r, "
						 "             n.%s::pg_catalog.text AS k, "
						 "             n.%s%s AS s, "
						 "             n.%s::pg_catalog.float8 AS sc, n.%s AS l "
						 "        FROM leadqual_new n) n "
						 "JOIN (SELECT pg_catalog.row_number() OVER () AS r, "
						 "             o.%s%s AS s "
						 "        FROM leadqual_old o) o ON o.r OPERATOR(pg_catalog.=) n.r "
						 "WHERE NOT (o.s OPERATOR(pg_catalog.=) n.s) "
						 "   OR (o.s IS NULL) OPERATOR(pg_catalog.<>) (n.s IS NULL) ",
						 key, stagecol, stagecast, scorecol, lockedcol, stagecol, stagecast);
	else
		appendStringInfo(&sql,
						 "SELECT $1::pg_catalog.regclass, n.%s::pg_catalog.text, $2, NULL, "
						 "       n.%s%s, n.%s::pg_catalog.float8, "
						 "       n.%s, $3 "
						 "FROM leadqual_new n WHERE n.%s IS NOT NULL ",
						 key, stagecol, stagecast, scorecol, lockedcol, stagecol);
	/* inserted rows come in insertion order already; updated ones by key */
	if (is_update)
		appendStringInfoString(&sql, "ORDER BY 2 ");
	if (Notify != NOTIFY_OFF)
		appendStringInfoString(&sql,
							   "RETURNING lead_id, old_stage::pg_catalog.text, "
							   "          new_stage::pg_catalog.text, score, manual");
	if (Notify == NOTIFY_HANDOFF)
	{
		/* every change is recorded; only hand-offs come back to be notified */
		StringInfoData wrapped;

		initStringInfo(&wrapped);
		appendStringInfo(&wrapped,
						 "WITH h AS (%s) SELECT * FROM h "
						 "WHERE old_stage OPERATOR(pg_catalog.=) ANY ('{mql,sql}'::pg_catalog.text[]) "
						 "   OR new_stage OPERATOR(pg_catalog.=) ANY ('{mql,sql}'::pg_catalog.text[])",
						 sql.data);
		sql = wrapped;
	}

	args[0] = ObjectIdGetDatum(RelationGetRelid(td->tg_relation));
	args[1] = CStringGetTextDatum(tg->tgargs[0]);
	args[2] = CStringGetTextDatum(actor);
	args[3] = BoolGetDatum(stage_set);

	/* stage_history is the extension owner's: lead writers need no grant on it */
	ruleset_become_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
		elog(ERROR, "could not register transition tables");
	if (Notify == NOTIFY_OFF)
	{
		if (SPI_execute_with_args(sql.data, 4, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write leadqual.stage_history");
	}
	else
	{
		/* the history rows come back through a cursor, a notification each */
		Portal		portal = SPI_cursor_open_with_args(NULL, sql.data, 4, argtypes, args,
													   NULL, false, 0);
		const char *table = DatumGetCString(DirectFunctionCall1(regclassout,
																ObjectIdGetDatum(RelationGetRelid(td->tg_relation))));

		for (;;)
		{
			SPI_cursor_fetch(portal, true, 10000);
			if (SPI_processed == 0)
				break;
			for (uint64 i = 0; i < SPI_processed; i++)
				NotifyStageChange(table, SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
			SPI_freetuptable(SPI_tuptable);
		}
		SPI_cursor_close(portal);
	}
	SPI_finish();
	ruleset_restore_user(&owner);
	return PointerGetDatum(NULL);
}
