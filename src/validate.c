/*
 * validate.c — checks on the config tables when they are written, and the
 * statement trigger that tells every backend the rule set changed.
 *
 * A rule is compiled against its model's lead table when it is written (the
 * same code that scoring runs), so a rule that is stored can be evaluated.
 * Its value is rewritten in canonical form: the type's output under fixed
 * DateStyle/TimeZone/IntervalStyle, so it reads alike in every session.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "predicate.h"
#include "leadqual.h"
#include "ruleset.h"

static bool DdlGuard = true;

void
validate_init(void)
{
	DefineCustomBoolVariable("leadqual.ddl_guard",
							 "Refuses DDL that would break an enabled scoring rule.",
							 "Superusers turn it off for pg_restore --clean and deliberate migrations.",
							 &DdlGuard, true, PGC_SUSET, 0, NULL, NULL, NULL);
}

/* Whether the DDL guard is on (calling it also loads the library, so the GUC is checked). */
PG_FUNCTION_INFO_V1(leadqual_ddl_guard_enabled);
Datum
leadqual_ddl_guard_enabled(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(DdlGuard);
}

/* Column of the trigger's table by name; NULL value gives NULL. */
static char *
GetText(HeapTuple tup, TupleDesc desc, const char *column)
{
	int			att = SPI_fnumber(desc, column);
	bool		isnull;
	Datum		d;

	if (att <= 0)
		elog(ERROR, "column %s missing", column);
	d = heap_getattr(tup, att, desc, &isnull);
	return isnull ? NULL : TextDatumGetCString(d);
}

static Datum
GetDatum(HeapTuple tup, TupleDesc desc, const char *column, bool *isnull)
{
	int			att = SPI_fnumber(desc, column);

	if (att <= 0)
		elog(ERROR, "column %s missing", column);
	return heap_getattr(tup, att, desc, isnull);
}

/* The owner of a lead table (or view). */
static Oid
LeadTableOwner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Compiles one predicate against model's lead table; returns its canonical value.
 *
 * Compiling runs code of the lead table's column types: a domain's CHECK (a
 * function of whoever made the domain) runs when the value is read.  The
 * callers are whoever writes rules, reads rule_problems or issues DDL (the
 * DDL guard, for any ALTER TYPE), often a superuser or the extension's owner;
 * the code is the table owner's.  So it runs as the table's owner, in a
 * security-restricted operation with a pinned search_path, as ANALYZE runs an
 * index expression.
 */
static char *
CheckPredicate(const char *model, const char *label, const char *attribute,
			   const char *op, const char *value)
{
	Oid			lead_table = ruleset_model_lead_table(model, NULL);
	TupleDesc	tupdesc = ruleset_lead_tupdesc(lead_table, model);
	PredicateSpec spec;
	OwnerContext as_owner;
	char	   *canonical;

	spec.label = label;
	spec.attribute = attribute;
	spec.op = op;
	spec.value = value;

	/* an error on the way restores both at (sub)transaction abort */
	ruleset_become_user(LeadTableOwner(lead_table), &as_owner);
	canonical = predicate_canonical_value(tupdesc, &spec);
	ruleset_restore_user(&as_owner);
	return canonical;
}

/*
 * Refuses a rule or criterion check on a column that the lead trigger of one
 * of the model's attached tables writes (score, stage, stage lock).  The
 * trigger evaluates the row before writing them, so such a rule reads the
 * previous result: every write can flip it again (mql -> nurture -> mql, a
 * history row and a NOTIFY each time).  leadqual.attachments has a trigger
 * that refuses the same when an attachment is created or changed.
 */
static void
RefuseOwnColumn(const char *model, const char *label, const char *attribute)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	OwnerContext owner;
	char	   *table = NULL;
	char	   *kind = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	args[0] = CStringGetTextDatum(model);
	args[1] = CStringGetTextDatum(attribute);
	ruleset_become_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(
							  "SELECT a.lead_table::pg_catalog.text, "
							  "       CASE $2::pg_catalog.name WHEN a.score_column THEN 'score' "
							  "            WHEN a.stage_column THEN 'stage' ELSE 'stage lock' END "
							  "FROM leadqual.attachments a "
							  "WHERE a.model OPERATOR(pg_catalog.=) $1 "
							  "  AND $2::pg_catalog.name OPERATOR(pg_catalog.=) "
							  "      ANY (ARRAY[a.score_column, a.stage_column, a.locked_column]) "
							  "ORDER BY 1 LIMIT 1",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual.attachments");
	if (SPI_processed == 1)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		table = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	ruleset_restore_user(&owner);
	if (table != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("%s reads \"%s\", the %s column that leadqual writes in %s",
						label, attribute, kind, table),
				 errdetail("The trigger evaluates the rules before it writes that column, so the rule would read the previous result and every write could change it again."),
				 errhint("Base the rule on the lead's own data, not on the model's score, stage or stage lock column.")));
}

/* Refuses points that are not finite or outside the bound that keeps sums finite. */
void
validate_points(const char *label, double points)
{
	if (isnan(points) || isinf(points))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: points must be a finite number", label),
				 errhint("Write points such as 10 or -5.")));
	if (points < -LEADQUAL_MAX_POINTS || points > LEADQUAL_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s: points %s are out of range", label, float8out_internal(points)),
				 errdetail("Points must lie between -%.0f and %.0f, so that no score can overflow.",
						   LEADQUAL_MAX_POINTS, LEADQUAL_MAX_POINTS),
				 errhint("Scale the model's points and thresholds down together.")));
}

/* Returns tup with its "value" column set to canonical (if it differs). */
static HeapTuple
WithCanonicalValue(HeapTuple tup, TupleDesc desc, const char *value, const char *canonical)
{
	int			att = SPI_fnumber(desc, "value");
	Datum		repl[1];
	bool		nulls[1];

	if ((value == NULL && canonical == NULL) ||
		(value != NULL && canonical != NULL && strcmp(value, canonical) == 0))
		return tup;
	repl[0] = canonical ? CStringGetTextDatum(canonical) : (Datum) 0;
	nulls[0] = canonical == NULL;
	return heap_modify_tuple_by_cols(tup, desc, 1, &att, repl, nulls);
}

/*
 * Refuses to run on a table that is not one of leadqual's own (a member of
 * the extension): these triggers serve the configuration tables only, and
 * config_changed takes the generation row's lock as the owner.
 */
static void
RequireExtensionTable(TriggerData *td, const char *name)
{
	Oid			relid = RelationGetRelid(td->tg_relation);
	Oid			ext = get_extension_oid("leadqual", true);

	if (!OidIsValid(ext) || getExtensionOfObject(RelationRelationId, relid) != ext)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s runs only on leadqual's configuration tables, not on table \"%s\"",
						name, RelationGetRelationName(td->tg_relation)),
				 errhint("Drop this trigger.")));
}

static TriggerData *
CheckRowTrigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "%s must be a BEFORE ROW trigger", name);
	RequireExtensionTable(td, name);
	return td;
}

static HeapTuple
NewTuple(TriggerData *td)
{
	return TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
}

/* Validates a rule as it is written and stores its value canonically. */
PG_FUNCTION_INFO_V1(leadqual_validate_rule);
Datum
leadqual_validate_rule(PG_FUNCTION_ARGS)
{
	TriggerData *td = CheckRowTrigger(fcinfo, "leadqual.validate_rule()");
	HeapTuple	tup = NewTuple(td);
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	char	   *model = GetText(tup, desc, "model");
	char	   *name = GetText(tup, desc, "name");
	char	   *value = GetText(tup, desc, "value");
	char	   *label;
	bool		isnull;
	double		points = DatumGetFloat8(GetDatum(tup, desc, "points", &isnull));
	bool		enabled = DatumGetBool(GetDatum(tup, desc, "enabled", &isnull));
	char	   *attribute = GetText(tup, desc, "attribute");
	char	   *op = GetText(tup, desc, "op");
	char	   *canonical;

	/* NOT NULL is checked after BEFORE triggers: leave a NULL to the constraint */
	if (model == NULL || name == NULL || attribute == NULL || op == NULL)
		return PointerGetDatum(tup);

	label = psprintf("rule \"%s\" of model \"%s\"", name, model);
	validate_points(label, points);
	if (!enabled)
		return PointerGetDatum(tup);	/* drafts are checked when enabled */

	canonical = CheckPredicate(model, label, attribute, op, value);
	RefuseOwnColumn(model, label, attribute);
	return PointerGetDatum(WithCanonicalValue(tup, desc, value, canonical));
}

/* Validates a criterion check as it is written. */
PG_FUNCTION_INFO_V1(leadqual_validate_check);
Datum
leadqual_validate_check(PG_FUNCTION_ARGS)
{
	TriggerData *td = CheckRowTrigger(fcinfo, "leadqual.validate_check()");
	HeapTuple	tup = NewTuple(td);
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	char	   *model = GetText(tup, desc, "model");
	char	   *framework = GetText(tup, desc, "framework");
	char	   *criterion = GetText(tup, desc, "criterion");
	char	   *attribute = GetText(tup, desc, "attribute");
	char	   *op = GetText(tup, desc, "op");
	char	   *value = GetText(tup, desc, "value");
	char	   *label;
	char	   *canonical;

	/* NOT NULL is checked after BEFORE triggers: leave a NULL to the constraint */
	if (model == NULL || framework == NULL || criterion == NULL || attribute == NULL || op == NULL)
		return PointerGetDatum(tup);

	label = psprintf("criterion check %s.%s of model \"%s\"", framework, criterion, model);
	canonical = CheckPredicate(model, label, attribute, op, value);
	RefuseOwnColumn(model, label, attribute);
	return PointerGetDatum(WithCanonicalValue(tup, desc, value, canonical));
}

/* Validates a model: its lead table has columns, its engagement column is numeric. */
PG_FUNCTION_INFO_V1(leadqual_validate_model);
Datum
leadqual_validate_model(PG_FUNCTION_ARGS)
{
	TriggerData *td = CheckRowTrigger(fcinfo, "leadqual.validate_model()");
	HeapTuple	tup = NewTuple(td);
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	char	   *model = GetText(tup, desc, "model");
	bool		isnull;
	Oid			lead_table = DatumGetObjectId(GetDatum(tup, desc, "lead_table", &isnull));
	Datum		engagement;
	TupleDesc	leaddesc;

	/* NOT NULL is checked after BEFORE triggers: leave a NULL to the constraint */
	if (model == NULL || isnull)
		return PointerGetDatum(tup);
	engagement = GetDatum(tup, desc, "engagement_column", &isnull);
	leaddesc = ruleset_lead_tupdesc(lead_table, model);
	if (!isnull)
	{
		const char *column = NameStr(*DatumGetName(engagement));
		Form_pg_attribute att = NULL;

		for (int i = 0; i < leaddesc->natts; i++)
		{
			Form_pg_attribute a = TupleDescAttr(leaddesc, i);

			if (!a->attisdropped && strcmp(NameStr(a->attname), column) == 0)
				att = a;
		}
		if (att == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("engagement column \"%s\" of model \"%s\" does not exist in %s",
							column, model, format_type_be(leaddesc->tdtypeid)),
					 errhint("Add a numeric column for engagement points to the lead table.")));
		switch (getBaseType(att->atttypid))
		{
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case FLOAT4OID:
			case FLOAT8OID:
			case NUMERICOID:
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("engagement column \"%s\" of model \"%s\" has type %s, not a number",
								column, model, format_type_be(att->atttypid)),
						 errhint("Use double precision for the engagement column.")));
		}
	}
	return PointerGetDatum(tup);
}

/* Compiles one predicate for the model and returns its canonical value (rule_problems). */
PG_FUNCTION_INFO_V1(leadqual_check_predicate);
Datum
leadqual_check_predicate(PG_FUNCTION_ARGS)
{
	char	   *value;
	char	   *canonical;

	/* not STRICT (value may be NULL); the others must not be */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model, label, attribute and op must not be NULL")));
	value = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	canonical = CheckPredicate(text_to_cstring(PG_GETARG_TEXT_PP(0)),
							   text_to_cstring(PG_GETARG_TEXT_PP(1)),
							   text_to_cstring(PG_GETARG_TEXT_PP(2)),
							   text_to_cstring(PG_GETARG_TEXT_PP(3)), value);
	if (canonical == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(canonical));
}

/*
 * Statement trigger on every config table (attachments included): bumps the
 * generation (as the extension's owner: writers of rules need no grant on it;
 * the row lock also serialises concurrent rule edits) and sends an
 * invalidation so other backends notice at once.  Only on leadqual's own
 * tables: wired to another, it would let anyone hold that lock.
 */
PG_FUNCTION_INFO_V1(leadqual_config_changed);
Datum
leadqual_config_changed(PG_FUNCTION_ARGS)
{
	OwnerContext owner;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "leadqual_config_changed must be a trigger");
	RequireExtensionTable((TriggerData *) fcinfo->context, "leadqual.config_changed()");

	ruleset_become_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("UPDATE leadqual.config_generation "
					"SET generation = generation OPERATOR(pg_catalog.+) 1",
					false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not bump the leadqual rule generation");
	SPI_finish();
	ruleset_restore_user(&owner);

	CacheInvalidateRelcacheByRelid(ruleset_generation_relid());
	return PointerGetDatum(NULL);
}
