/*
 * simulate.c — leadqual.simulate(lead_table, candidate): what promoting a
 * candidate rule set and then CALL leadqual.rescore(lead_table) would do to
 * each lead, without writing anything.
 *
 * One read of the attached table (SPI, as the caller: row-level security
 * applies), and where an events table is attached one read of it too: rescore
 * recomputes each lead's engagement from its events first, with the event
 * rules the model then has (the candidate's), so the simulation does the same
 * and scores the lead with that engagement.  Per lead the decision is
 * rescore's and the lead trigger's (lead_policy.c): the new score as the score
 * column stores it; a lead in sql, won or lost, or locked by a person, keeps
 * its stage; any other lead gets the candidate's stage.  A lead appears when
 * its stage or stored score would change.  Only then is the current model
 * evaluated too, for the names of the rules gained and lost.
 *
 * Consistency: the candidate is a value; the current model and the rows are
 * read once under the statement's snapshot, so a rule change committed while
 * the simulation runs does not change what it reports.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/params.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "analytics.h"
#include "lead_policy.h"
#include "lead_trigger.h"
#include "pin.h"
#include "rescore.h"
#include "ruleset.h"
#include "scoring.h"

/* One lead whose stage or score would change. */
typedef struct SimRow
{
	char	   *lead_id;
	int			old_stage;		/* -1: NULL */
	int			new_stage;
	bool		old_score_null;
	double		old_score;
	double		new_score;
	bool		locked;			/* rescore keeps its stage */
	ArrayType  *gained;
	ArrayType  *lost;
} SimRow;

typedef void (*SimEmit) (SimRow *row, void *arg);

/* What one simulation of a table needs. */
typedef struct Sim
{
	Oid			relid;
	char	   *table;			/* quoted, qualified */
	AttachmentDef att;
	LeadColumns cols;
	TupleDesc	tupdesc;		/* the table's row type */
	CompiledModel *current;
	CompiledModel *candidate;
	FmgrInfo	key_out;
	AttrNumber	engagement_att; /* the live engagement column, 0: no events attached */
	char	   *sql;
	MemoryContext rowcxt;
} Sim;

/*
 * Reads relid's attachment and its events attachment, and builds the query
 * (inside the caller's SPI connection).
 */
static void
PlanSim(Sim *sim, Oid relid, Datum candidate)
{
	AttachmentDef *att;
	Relation	rel;
	Oid			outfunc;
	bool		isvarlena;
	EventsSource ev;

	sim->relid = relid;
	att = ruleset_find_attachment(relid);
	if (att == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not attached to a leadqual model",
						format_type_be(get_rel_type_id(relid))),
				 errdetail("leadqual.simulate shows what a rescore of an attached table would do."),
				 errhint("Score any table with leadqual.score(l, candidate) and leadqual.classify(l, candidate).")));
	sim->table = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));
	/* copied: the cache's entry lasts only as long as its rule-set generation */
	sim->att.lead_table = relid;
	sim->att.model = pstrdup(att->model);
	sim->att.score_column = pstrdup(att->score_column);
	sim->att.stage_column = pstrdup(att->stage_column);
	sim->att.locked_column = att->locked_column ? pstrdup(att->locked_column) : NULL;
	sim->att.key_column = pstrdup(att->key_column);

	rel = table_open(relid, AccessShareLock);
	lead_columns(rel, &sim->att, true, &sim->cols);
	sim->tupdesc = CreateTupleDescCopy(RelationGetDescr(rel));
	table_close(rel, AccessShareLock);
	getTypeOutputInfo(sim->cols.key_type, &outfunc, &isvarlena);
	fmgr_info(outfunc, &sim->key_out);

	/*
	 * where events are attached, rescore recomputes engagement first
	 * (rescore.c), into the engagement column promote gives the model: the
	 * candidate's
	 */
	if (rescore_events_source(sim->att.model, relid, &sim->cols, CurrentMemoryContext, &ev) &&
		ruleset_value_def(candidate)->engagement_column != NULL)
	{
		char	   *eng = ruleset_value_def(candidate)->engagement_column;
		const char *key = quote_identifier(sim->att.key_column);
		AttrNumber	att;

		att = SPI_fnumber(sim->tupdesc, eng);
		if (att <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("engagement column \"%s\" of model \"%s\" does not exist in %s",
							eng, sim->att.model, sim->table)));
		sim->engagement_att = att;
		/* each lead's events matched as rescore matches them: by the key's equality */
		sim->sql = psprintf("SELECT %s, (COALESCE(x.engagement, 0))::%s "
							"FROM %s l LEFT JOIN "
							"  (SELECT k.%s AS id, "
							"          leadqual.engagement(ev.%s, ev.%s, $1, pg_catalog.now()) AS engagement "
							"     FROM %s k JOIN %s ev ON ev.%s %s k.%s%s GROUP BY k.%s) x "
							"  ON x.id %s l.%s",
							analytics_whole_row(relid),
							format_type_with_typemod(TupleDescAttr(sim->tupdesc, att - 1)->atttypid,
													 TupleDescAttr(sim->tupdesc, att - 1)->atttypmod),
							sim->table, key, ev.type_column, ev.time_column,
							sim->table, ev.events_table, ev.lead_column, ev.key_eq, key,
							ev.key_collate, key, ev.key_eq, key);
	}
	else
		sim->sql = psprintf("SELECT %s FROM %s l", analytics_whole_row(relid), sim->table);
}

/* Compares matched rule names (qsort). */
static int
CompareNames(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names of the rules cm matched in its last evaluation, sorted. */
static char **
MatchedNames(CompiledModel *cm, int *n)
{
	char	  **names = palloc(Max(cm->nactive, 1) * sizeof(char *));

	*n = 0;
	for (int i = 0; i < cm->nactive; i++)
		if (cm->matched[i])
			names[(*n)++] = cm->def->rules[cm->active[i]].name;
	qsort(names, *n, sizeof(char *), CompareNames);
	return names;
}

/* The names of a not in b (both sorted), as text[]. */
static ArrayType *
NamesMinus(char **a, int na, char **b, int nb)
{
	Datum	   *d = palloc(Max(na, 1) * sizeof(Datum));
	int			n = 0;
	int			j = 0;

	for (int i = 0; i < na; i++)
	{
		int			c = 1;

		while (j < nb && (c = strcmp(b[j], a[i])) < 0)
			j++;
		if (j < nb && c == 0)
			continue;
		/* a name twice in a (cannot be: names are unique per model) counts once */
		if (n > 0 && strcmp(TextDatumGetCString(d[n - 1]), a[i]) == 0)
			continue;
		d[n++] = CStringGetTextDatum(a[i]);
	}
	return construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT);
}

/*
 * Simulates one lead: row is the lead as stored, engagement (if events are
 * attached) what rescore would write into its engagement column.
 */
static void
SimulateLead(Sim *sim, HeapTuple row, Datum engagement, bool with_engagement,
			 SimEmit emit, void *arg)
{
	HeapTuple	candidate_row = row;
	LeadResult	res;
	Stage		automatic;
	SimRow		out;
	bool		isnull;
	Datum		d;
	bool		kept;

	if (with_engagement)
	{
		int			cols[1] = {sim->engagement_att};
		bool		nulls[1] = {false};

		candidate_row = heap_modify_tuple_by_cols(row, sim->tupdesc, 1, cols, &engagement, nulls);
	}

	memset(&out, 0, sizeof(out));
	d = heap_getattr(row, sim->cols.score_att, sim->tupdesc, &isnull);
	out.old_score_null = isnull;
	out.old_score = isnull ? 0 : lead_score_float8(d, sim->cols.score_type);
	d = heap_getattr(row, sim->cols.stage_att, sim->tupdesc, &isnull);
	out.old_stage = lead_stage(&sim->cols, d, isnull);
	d = heap_getattr(row, sim->cols.locked_att, sim->tupdesc, &isnull);
	out.locked = !isnull && DatumGetBool(d);

	automatic = scoring_classify(sim->candidate, candidate_row, &res);
	out.new_score = lead_stored_score(res.score, sim->cols.score_type);

	/* the lead trigger's rule for an UPDATE that does not name the stage column */
	kept = lead_stage_kept(out.old_stage, out.locked);
	out.new_stage = kept ? out.old_stage : (int) automatic;
	out.locked = kept;
	if (!out.old_score_null && out.old_score == out.new_score && out.old_stage == out.new_stage)
		return;

	/* it changes: which rules it gains and loses */
	{
		int			nnew;
		int			ncur;
		char	  **new_names = MatchedNames(sim->candidate, &nnew);
		char	  **cur_names;

		ruleset_eval(sim->current, row, &res);
		cur_names = MatchedNames(sim->current, &ncur);
		out.gained = NamesMinus(new_names, nnew, cur_names, ncur);
		out.lost = NamesMinus(cur_names, ncur, new_names, nnew);
	}
	d = heap_getattr(row, sim->cols.key_att, sim->tupdesc, &isnull);
	out.lead_id = isnull ? NULL : OutputFunctionCall(&sim->key_out, d);
	emit(&out, arg);
}

/* The receiver of the scan: each row is simulated as it arrives (nothing is copied). */
typedef struct SimReceiver
{
	DestReceiver pub;
	Sim		   *sim;
	SimEmit		emit;
	void	   *arg;
} SimReceiver;

static bool
SimReceive(TupleTableSlot *slot, DestReceiver *self)
{
	SimReceiver *r = (SimReceiver *) self;
	Sim		   *sim = r->sim;
	bool		isnull;
	Datum		d = slot_getattr(slot, 1, &isnull);
	HeapTupleData row;
	MemoryContext old;
	Datum		engagement = (Datum) 0;

	if (isnull)
		return true;
	old = MemoryContextSwitchTo(sim->rowcxt);
	ruleset_row_tuple(DatumGetHeapTupleHeader(d), &row);
	if (sim->engagement_att > 0)
		engagement = slot_getattr(slot, 2, &isnull);
	SimulateLead(sim, &row, engagement, sim->engagement_att > 0, r->emit, r->arg);
	MemoryContextSwitchTo(old);
	MemoryContextReset(sim->rowcxt);
	return true;
}

static void
SimStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
SimShutdown(DestReceiver *self)
{
}

static void
SimDestroy(DestReceiver *self)
{
}

/*
 * Runs the simulation of relid under candidate (a leadqual.ruleset), calling
 * emit for each lead that would change.  As the current user, with the
 * settings rescore pins.
 */
static void
Simulate(Oid relid, Datum candidate, Oid rulestype, SimEmit emit, void *arg)
{
	Sim			sim;
	SimReceiver receiver;
	SPIExecuteOptions options;
	ParamListInfo params = NULL;
	int			nestlevel;
	MemoryContext cxt = CurrentMemoryContext;

	memset(&sim, 0, sizeof(sim));
	nestlevel = pin_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(cxt);
	PlanSim(&sim, relid, candidate);
	sim.current = ruleset_lookup(sim.att.model, sim.tupdesc->tdtypeid, -1);
	/* for the table's rows, as the model will be: a rule it cannot use there is skipped */
	sim.candidate = ruleset_compiled_for_table(candidate, relid, sim.tupdesc->tdtypeid);
	sim.rowcxt = AllocSetContextCreate(cxt, "leadqual simulate row", ALLOCSET_DEFAULT_SIZES);

	if (sim.engagement_att > 0)
	{
		params = makeParamList(1);
		params->params[0].value = candidate;
		params->params[0].isnull = false;
		params->params[0].pflags = PARAM_FLAG_CONST;
		params->params[0].ptype = rulestype;
	}
	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = SimReceive;
	receiver.pub.rStartup = SimStartup;
	receiver.pub.rShutdown = SimShutdown;
	receiver.pub.rDestroy = SimDestroy;
	receiver.pub.mydest = DestNone;
	receiver.sim = &sim;
	receiver.emit = emit;
	receiver.arg = arg;
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = (DestReceiver *) &receiver;
	/* (a SELECT whose rows go to a DestNone receiver reports SPI_OK_UTILITY) */
	if (SPI_execute_extended(sim.sql, &options) < 0)
		elog(ERROR, "could not read %s", sim.table);
	SPI_finish();
	pin_pop(nestlevel);
	MemoryContextDelete(sim.rowcxt);
}

/* simulate's rows go into its tuplestore. */
typedef struct SimOut
{
	Tuplestorestate *store;
	TupleDesc	desc;
} SimOut;

static void
EmitRow(SimRow *r, void *arg)
{
	SimOut	   *o = (SimOut *) arg;
	Datum		values[8];
	bool		nulls[8] = {false, false, false, false, false, false, false, false};

	nulls[0] = r->lead_id == NULL;
	values[0] = r->lead_id ? CStringGetTextDatum(r->lead_id) : (Datum) 0;
	nulls[1] = r->old_stage < 0;
	values[1] = r->old_stage < 0 ? (Datum) 0 : stage_datum(r->old_stage);
	values[2] = stage_datum(r->new_stage);
	nulls[3] = r->old_score_null;
	values[3] = Float8GetDatum(r->old_score);
	values[4] = Float8GetDatum(r->new_score);
	values[5] = PointerGetDatum(r->gained);
	values[6] = PointerGetDatum(r->lost);
	values[7] = BoolGetDatum(r->locked);
	tuplestore_putvalues(o->store, o->desc, values, nulls);
}

PG_FUNCTION_INFO_V1(leadqual_simulate);
Datum
leadqual_simulate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SimOut		out;
	TupleDesc	desc;
	MemoryContext old;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	out.desc = CreateTupleDescCopy(desc);
	out.store = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(old);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = out.store;
	rsinfo->setDesc = out.desc;

	Simulate(PG_GETARG_OID(0), PG_GETARG_DATUM(1), get_fn_expr_argtype(fcinfo->flinfo, 1),
			 EmitRow, &out);
	return (Datum) 0;
}

/* Counts the leads that would change stage. */
static void
CountMove(SimRow *r, void *arg)
{
	if (r->old_stage != r->new_stage)
		(*(int64 *) arg)++;
}

/*
 * leadqual.promote_notice(model, candidate): per table attached to model, a
 * NOTICE with the leads the simulation expects to change stage, each table
 * simulated as its owner (SECURITY_RESTRICTED_OPERATION, like validation: its
 * row-level security, key type and events run as the one who wrote them).
 * For those who may change models (leadqual.require_config_write).
 */
PG_FUNCTION_INFO_V1(leadqual_promote_notice);
Datum
leadqual_promote_notice(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		candidate = PG_GETARG_DATUM(1);
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	MemoryContext cxt = CurrentMemoryContext;
	List	   *tables = NIL;
	ListCell   *lc;
	OwnerContext owner;
	int			nestlevel;

	/* as the caller: may it change models at all? */
	nestlevel = pin_search_path();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = CStringGetTextDatum(psprintf("promote into model \"%s\"", model));
	if (SPI_execute_with_args("SELECT leadqual.require_config_write($1)",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check privileges");
	SPI_finish();
	pin_pop(nestlevel);

	/* the attached tables (read as the owner, like every read of the configuration) */
	args[0] = PG_GETARG_DATUM(0);
	ruleset_become_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT a.lead_table::pg_catalog.oid, c.relowner FROM leadqual.attachments a "
							  "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.lead_table "
							  "WHERE a.model OPERATOR(pg_catalog.=) $1 "
							  "ORDER BY a.lead_table::pg_catalog.text COLLATE \"C\"",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual.attachments");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		Oid		   *pair = palloc(2 * sizeof(Oid));

		pair[0] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		pair[1] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		tables = lappend(tables, pair);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	ruleset_restore_user(&owner);

	if (tables == NIL)
		ereport(NOTICE,
				(errmsg("promoting into model \"%s\": no table is attached to it", model)));
	foreach(lc, tables)
	{
		Oid		   *pair = (Oid *) lfirst(lc);
		int64		moves = 0;
		char	   *table;

		/*
		 * Only for members of the table owner's role: the count is computed as
		 * the owner (past the caller's privileges and row-level security), and
		 * the candidate is any value, so for anyone else it would disclose the
		 * table's rows.
		 */
		if (!has_privs_of_role(GetUserId(), pair[1]))
		{
			ereport(NOTICE,
					(errmsg("promoting into model \"%s\": %s is not simulated",
							model, format_type_be(get_rel_type_id(pair[0]))),
					 errdetail("Only members of the table owner's role see what the simulation expects here; leadqual.simulate shows the rows you may read.")));
			continue;
		}
		ruleset_become_user(pair[1], &owner);
		Simulate(pair[0], candidate, get_fn_expr_argtype(fcinfo->flinfo, 1), CountMove, &moves);
		ruleset_restore_user(&owner);
		table = format_type_be(get_rel_type_id(pair[0]));
		ereport(NOTICE,
				(errmsg("promoting into model \"%s\": the simulation expects " INT64_FORMAT " leads of %s to change stage",
						model, moves, table),
				 errhint("CALL leadqual.rescore('%s') applies the promoted rules to the leads; leadqual.simulate lists them.",
						 table)));
	}
	PG_RETURN_VOID();
}
