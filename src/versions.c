/*
 * versions.c — leadqual.ruleset_versions: one version per committing
 * transaction that changes what a model scores with.
 *
 * The config tables carry a deferred constraint trigger (AFTER INSERT OR
 * UPDATE OR DELETE ... DEFERRABLE INITIALLY DEFERRED FOR EACH ROW), so the
 * work happens when the transaction commits, after all its statements; rows
 * changed in a rolled-back savepoint queue nothing (their trigger events go
 * with the subtransaction), a rolled-back transaction fires nothing.  For each
 * model a row names (criteria and frameworks: every model) the trigger
 * computes the model's rule set and records it when its content differs
 * from the model's latest version, read from the tables (not the cache).  A
 * model is handled once per batch of trigger events: the rest of its rows only
 * find it in a transaction-local list (see Handled), so a change made after
 * SET CONSTRAINTS ... IMMEDIATE fired the trigger is handled again, and one
 * rolled back to a savepoint leaves no mark behind.  A version that this same
 * transaction made already (SET CONSTRAINTS IMMEDIATE, TRUNCATE) is rewritten
 * rather than followed by another: one version per transaction.
 *
 * Concurrent changes of the configuration are serialised by the one row of
 * leadqual.config_generation, which every changing statement updates: when a
 * transaction's trigger runs, whoever changed the rules before it has
 * committed, and under READ COMMITTED each SPI statement here takes a new
 * snapshot that sees its version.
 *
 * Runs as the extension's owner with search_path pinned (users who may edit
 * rules may not write versions), and calls nothing a user wrote: the queries
 * read leadqual's own tables with pg_catalog operators; leadqual.ruleset()
 * and the type's output are leadqual's C code.
 *
 * A dump's restore (check_function_bodies = off, as pg_dump's scripts set it,
 * by a superuser or the extension's owner) records nothing: the versions come
 * from the dump itself.  Anybody else's change is versioned whatever it set.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "compat.h"
#include "ruleset.h"
#include "subxact.h"
#include "versions.h"

/*
 * A model handled in this transaction; model NULL: all models.  Valid while
 * nothing has changed since: the invalidation count (config changes), the
 * command counter (a user's statement in between: under SET CONSTRAINTS ...
 * IMMEDIATE its rows fire this before its config_changed moves the count on;
 * the trigger brings the marks up to its own increments as it returns), and
 * the subtransaction (a rolled-back savepoint takes its versions with it).
 */
typedef struct Handled
{
	char	   *model;
	uint64		inval;
	CommandId	cid;
	SubTransactionId subid;
} Handled;

static List *HandledModels = NIL;	/* in TopTransactionContext */
static LocalTransactionId HandledLxid = InvalidLocalTransactionId;

static List *
CurrentHandled(void)
{
	if (HandledLxid != MyProcLocalTransactionId())
	{
		HandledModels = NIL;	/* the old list went with its transaction */
		HandledLxid = MyProcLocalTransactionId();
	}
	return HandledModels;
}

static bool
IsHandled(const char *model)
{
	ListCell   *lc;
	uint64		inval = ruleset_inval_count();
	CommandId	cid = GetCurrentCommandId(false);

	foreach(lc, CurrentHandled())
	{
		Handled    *h = (Handled *) lfirst(lc);

		if (h->inval == inval && h->cid == cid &&
			(h->model == NULL ? model == NULL : model != NULL && strcmp(h->model, model) == 0))
			return true;
	}
	return false;
}

/* A savepoint's marks go with it when it is rolled back; a released one's pass up. */
static void
HandledSubXact(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
			   void *arg)
{
	ListCell   *lc;

	if (HandledLxid != MyProcLocalTransactionId())
		return;
	foreach(lc, HandledModels)
	{
		Handled    *h = (Handled *) lfirst(lc);

		if (h->subid < mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			HandledModels = foreach_delete_current(HandledModels, lc);
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
			h->subid = parentSubid;
	}
}

static void
MarkHandled(const char *model)
{
	static bool registered = false;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	Handled    *h = palloc(sizeof(Handled));

	if (!registered)
	{
		RegisterSubXactCallback(HandledSubXact, NULL);
		registered = true;
	}
	(void) CurrentHandled();
	h->model = model ? pstrdup(model) : NULL;
	h->inval = ruleset_inval_count();
	h->cid = GetCurrentCommandId(false);
	h->subid = GetCurrentSubTransactionId();
	HandledModels = lappend(HandledModels, h);
	MemoryContextSwitchTo(old);
}

/*
 * The marks valid when this trigger call began (at command since) or made in
 * it stay valid past its own command increments.
 */
static void
RefreshHandled(CommandId since)
{
	ListCell   *lc;
	CommandId	cid = GetCurrentCommandId(false);

	foreach(lc, CurrentHandled())
	{
		Handled    *h = (Handled *) lfirst(lc);

		if (h->cid >= since)
			h->cid = cid;
	}
}

/* Who made a version: leadqual.actor when an application says so, else the current user. */
static char *
CreatedBy(void)
{
	const char *actor = GetConfigOption("leadqual.actor", true, false);

	if (actor != NULL && actor[0] != '\0')
		return pstrdup(actor);
	return GetUserNameFromId(GetUserId(), false);
}

/* Whether two rule set values have the same content (their content hashes). */
static bool
SameContent(Datum a, Datum b, Oid typid)
{
	uint8		x[RULESET_HASH_LEN];
	uint8		y[RULESET_HASH_LEN];

	ruleset_datum_hash(a, x);
	ruleset_datum_hash(b, y);
	return memcmp(x, y, RULESET_HASH_LEN) == 0;
}

typedef struct VersionStep
{
	const char *model;
	const char *created_by;
} VersionStep;

/*
 * Records model's rule set as a new version if it differs from the latest
 * (as the owner; see the file comment).  Nothing for a model that is gone.
 */
static void
VersionModel(void *arg)
{
	VersionStep *step = (VersionStep *) arg;
	Oid			argtypes[4] = {TEXTOID, InvalidOid, TEXTOID, INT4OID};
	Datum		args[4];
	OwnerContext owner;
	Datum		rules;
	Oid			rulestype;
	bool		isnull;
	int			nversions;
	int32		mine = 0;		/* a version this transaction made: rewrite it */
	int32		base = 0;		/* the latest version before this transaction */
	Datum		base_rules = (Datum) 0;

	RulesetData *value;

	ruleset_become_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = CStringGetTextDatum(step->model);

	/*
	 * The rule set as this transaction has it now: from the tables, under a
	 * new snapshot (under READ COMMITTED it sees the latest commits too), not
	 * the cache, whose generation the statement that fired this may not have
	 * moved on yet (SET CONSTRAINTS ... IMMEDIATE fires it before).
	 */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	value = ruleset_model_value_uncached(step->model);
	PopActiveSnapshot();
	if (value == NULL)
	{
		SPI_finish();
		ruleset_restore_user(&owner);
		return;					/* deleted (or renamed): its versions stay */
	}
	rulestype = ruleset_type_oid();
	rules = PointerGetDatum(value);

	if (SPI_execute_with_args("SELECT v.version, v.rules, v.xmin FROM leadqual.ruleset_versions v "
							  "WHERE v.model OPERATOR(pg_catalog.=) $1 "
							  "ORDER BY v.version DESC LIMIT 2",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual.ruleset_versions");
	nversions = SPI_processed;
	for (int i = 0; i < nversions; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int32		version = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		TransactionId xmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 3, &isnull));

		if (i == 0 && TransactionIdIsCurrentTransactionId(xmin))
		{
			mine = version;
			continue;
		}
		base = version;
		base_rules = SPI_datumTransfer(SPI_getbinval(tup, desc, 2, &isnull), false, -1);
		break;
	}

	argtypes[1] = INT4OID;
	argtypes[2] = rulestype;
	args[1] = Int32GetDatum(mine);
	args[2] = rules;
	if (base > 0 && SameContent(base_rules, rules, rulestype))
	{
		/* back where it was: no version (and none of this transaction's) */
		if (mine > 0 &&
			SPI_execute_with_args("DELETE FROM leadqual.ruleset_versions v "
								  "WHERE v.model OPERATOR(pg_catalog.=) $1 "
								  "AND v.version OPERATOR(pg_catalog.=) $2",
								  2, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not write leadqual.ruleset_versions");
	}
	else if (mine > 0)
	{
		if (SPI_execute_with_args("UPDATE leadqual.ruleset_versions v SET rules = $3 "
								  "WHERE v.model OPERATOR(pg_catalog.=) $1 "
								  "AND v.version OPERATOR(pg_catalog.=) $2",
								  3, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not write leadqual.ruleset_versions");
	}
	else
	{
		argtypes[1] = INT4OID;
		args[1] = Int32GetDatum(base + 1);
		argtypes[3] = TEXTOID;
		args[3] = CStringGetTextDatum(step->created_by);
		if (SPI_execute_with_args("INSERT INTO leadqual.ruleset_versions "
								  "  (model, version, rules, created_by) VALUES ($1, $2, $3, $4)",
								  4, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write leadqual.ruleset_versions");
	}
	SPI_finish();
	ruleset_restore_user(&owner);
}

/*
 * Versions one model, in a subtransaction: a model whose rule set cannot be
 * computed gets a WARNING and no version, and the commit goes through (the
 * change may be the repair).
 */
static void
VersionOne(const char *model, const char *created_by)
{
	VersionStep step = {model, created_by};
	ErrorData  *edata;

	if (IsHandled(model))
		return;
	edata = subxact_run(VersionModel, &step);
	/*
	 * Not the model's fault but the transaction's: a lock not granted in time
	 * (lock_timeout: any role sets it), a deadlock, a serialization failure, a
	 * concurrent version, SET TRANSACTION READ ONLY after the change.  No
	 * commit may go through without its version.
	 */
	if (edata != NULL &&
		(edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		 edata->sqlerrcode == ERRCODE_UNIQUE_VIOLATION ||
		 ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_TRANSACTION_ROLLBACK ||
		 ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_INVALID_TRANSACTION_STATE))
		ReThrowError(edata);
	if (edata != NULL)
	{
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("no version of model \"%s\" recorded: %s", model, edata->message),
				 errhint("Fix the model; its next change records a version.")));
		FreeErrorData(edata);
	}
	MarkHandled(model);
}

/* Versions every model (a change to frameworks or criteria can reach any of them). */
static void
VersionAll(const char *created_by)
{
	OwnerContext owner;
	List	   *models = NIL;
	ListCell   *lc;
	MemoryContext caller = CurrentMemoryContext;

	if (IsHandled(NULL))
		return;
	ruleset_become_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT m.model FROM leadqual.models m ORDER BY m.model COLLATE \"C\"",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual.models");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *m = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		MemoryContext old = MemoryContextSwitchTo(caller);

		models = lappend(models, pstrdup(m));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	ruleset_restore_user(&owner);
	foreach(lc, models)
		VersionOne((char *) lfirst(lc), created_by);
	MarkHandled(NULL);
}

/* The model column of a row of the trigger's table (NULL if none or NULL). */
static char *
ModelOf(TriggerData *td, HeapTuple tup)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	int			att = SPI_fnumber(desc, "model");
	bool		isnull;
	Datum		d;

	if (att <= 0 || tup == NULL)
		return NULL;
	d = heap_getattr(tup, att, desc, &isnull);
	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * The versions trigger: a deferred constraint trigger on models, rules,
 * criterion_checks and event_rules (the rows' models), criteria and
 * frameworks (every model); and an AFTER TRUNCATE statement trigger (every
 * model, at once: a later change of the same transaction rewrites that
 * version at commit).
 */
PG_FUNCTION_INFO_V1(leadqual_ruleset_version_trigger);
Datum
leadqual_ruleset_version_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	Oid			ext;
	const char *table;
	char	   *created_by;
	bool		per_model;
	CommandId	since = GetCurrentCommandId(false);

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event))
		elog(ERROR, "leadqual_ruleset_version_trigger must be an AFTER trigger");
	rel = td->tg_relation;
	ext = get_extension_oid("leadqual", true);
	if (!OidIsValid(ext) ||
		getExtensionOfObject(RelationRelationId, RelationGetRelid(rel)) != ext)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("leadqual.ruleset_version_trigger() runs only on leadqual's configuration tables, not on table \"%s\"",
						RelationGetRelationName(rel)),
				 errhint("Drop this trigger.")));

	/*
	 * Restoring a dump: its versions are restored with it.  Restores run as a
	 * superuser or the owner; anybody else may set check_function_bodies too,
	 * and a rule editor must not change rules without leaving a version.
	 */
	if (!check_function_bodies && has_privs_of_role(GetUserId(), ruleset_extension_owner()))
		return PointerGetDatum(NULL);

	table = RelationGetRelationName(rel);
	per_model = strcmp(table, "models") == 0 || strcmp(table, "rules") == 0 ||
		strcmp(table, "criterion_checks") == 0 || strcmp(table, "event_rules") == 0;
	created_by = CreatedBy();

	if (!per_model || TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		VersionAll(created_by);
	else
	{
		char	   *old_model = NULL;
		char	   *new_model = NULL;

		if (!TRIGGER_FIRED_BY_INSERT(td->tg_event))
			old_model = ModelOf(td, td->tg_trigtuple);
		if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
			new_model = ModelOf(td, td->tg_trigtuple);
		else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
			new_model = ModelOf(td, td->tg_newtuple);
		if (old_model != NULL)
			VersionOne(old_model, created_by);
		if (new_model != NULL && (old_model == NULL || strcmp(new_model, old_model) != 0))
			VersionOne(new_model, created_by);
	}
	RefreshHandled(since);
	return PointerGetDatum(NULL);
}

bool
versions_installed(void)
{
	Oid			nsp = get_namespace_oid("leadqual", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("stage_history", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "version") != InvalidAttrNumber;
}

/*
 * The version that decides a stage change of model now: its latest version,
 * 0 if it has none.  Where this transaction changed the configuration and has
 * not committed yet (its version is made at commit), the latest version is
 * only taken if it holds what the model scores with now; else 0 (unknown).
 * Called by the history trigger inside its SPI connection, as the owner.
 */
/*
 * What versions_deciding found, per model, under a rule-set generation: the
 * latest version changes only with a committed change of the configuration,
 * which is a new generation row (ruleset_generation_stamp), so a model's
 * version is read once per generation, not per statement.  Not kept while this
 * transaction's own change is pending.
 */
#define DECIDING_CACHE 8
typedef struct Deciding
{
	char		model[NAMEDATALEN * 2];
	uint64		stamp;
	int32		version;
} Deciding;

static Deciding DecidingCache[DECIDING_CACHE];
static int	DecidingNext = 0;

int32
versions_deciding(const char *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	int32		version;
	TransactionId xmin;
	uint64		stamp = ruleset_generation_stamp();
	bool		cacheable = strlen(model) < sizeof(DecidingCache[0].model);

	for (int i = 0; cacheable && i < DECIDING_CACHE; i++)
		if (DecidingCache[i].stamp == stamp && stamp != 0 &&
			strcmp(DecidingCache[i].model, model) == 0)
			return DecidingCache[i].version;

	args[0] = CStringGetTextDatum(model);
	if (SPI_execute_with_args("SELECT v.version FROM leadqual.ruleset_versions v "
							  "WHERE v.model OPERATOR(pg_catalog.=) $1 "
							  "ORDER BY v.version DESC LIMIT 1",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual.ruleset_versions");
	version = SPI_processed == 0 ? 0 :
		DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	if (SPI_execute("SELECT g.xmin FROM leadqual.config_generation g", true, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read leadqual.config_generation");
	xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (TransactionIdIsCurrentTransactionId(xmin))
	{
		/* this transaction changed the configuration: is the latest version what it scores with? */
		if (version == 0)
			return 0;
		if (SPI_execute_with_args("SELECT v.rules, leadqual.ruleset($1) FROM leadqual.ruleset_versions v "
								  "WHERE v.model OPERATOR(pg_catalog.=) $1 "
								  "ORDER BY v.version DESC LIMIT 1",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "could not read leadqual.ruleset_versions");
		if (!SameContent(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
						 SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull),
						 SPI_gettypeid(SPI_tuptable->tupdesc, 1)))
			return 0;
		return version;
	}
	if (cacheable)
	{
		Deciding   *d = &DecidingCache[DecidingNext];

		DecidingNext = (DecidingNext + 1) % DECIDING_CACHE;
		strlcpy(d->model, model, sizeof(d->model));
		d->stamp = stamp;
		d->version = version;
	}
	return version;
}

/*
 * What leadqual.ruleset(model, version) keeps per call site: the first few
 * versions it read in this transaction (a query over stage_history reads a
 * lead's own version each row: they alternate).  Values it hands out stay put
 * to the end of the transaction (a caller may hold them); past these, a read
 * is the caller's, in its memory context.
 */
#define VERSION_CALL_SLOTS 8

typedef struct VersionCall
{
	LocalTransactionId lxid;
	int			n;
	struct
	{
		char	   *model;
		int32		version;
		Datum		rules;
	}			e[VERSION_CALL_SLOTS];
} VersionCall;

/*
 * leadqual.ruleset(model, version): a past version.  Read once per call site
 * and transaction (versions do not change), so leadqual.score(l,
 * leadqual.ruleset('m', 7)) over a million rows reads it once; read as the
 * owner, like every read of the configuration.
 */
PG_FUNCTION_INFO_V1(leadqual_ruleset_version);
Datum
leadqual_ruleset_version(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		version = PG_GETARG_INT32(1);
	VersionCall *vc = (VersionCall *) fcinfo->flinfo->fn_extra;
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	OwnerContext owner;
	bool		isnull;
	int32		last = 0;
	Datum		result = (Datum) 0;
	bool		found;

	if (vc == NULL)
		fcinfo->flinfo->fn_extra = vc =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(VersionCall));
	if (vc->lxid != MyProcLocalTransactionId())
	{
		/* another transaction: nothing handed out before can still be held */
		for (int i = 0; i < vc->n; i++)
		{
			pfree(vc->e[i].model);
			pfree(DatumGetPointer(vc->e[i].rules));
		}
		vc->n = 0;
		vc->lxid = MyProcLocalTransactionId();
	}
	for (int i = 0; i < vc->n; i++)
		if (vc->e[i].version == version && strcmp(vc->e[i].model, model) == 0)
			PG_RETURN_DATUM(vc->e[i].rules);

	args[0] = CStringGetTextDatum(model);
	args[1] = Int32GetDatum(version);
	ruleset_become_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT v.rules FROM leadqual.ruleset_versions v "
							  "WHERE v.model OPERATOR(pg_catalog.=) $1 "
							  "AND v.version OPERATOR(pg_catalog.=) $2",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read leadqual.ruleset_versions");
	found = SPI_processed == 1;
	if (found)
	{
		Datum		rules = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		bool		keep = vc->n < VERSION_CALL_SLOTS;
		MemoryContext old = MemoryContextSwitchTo(keep ? fcinfo->flinfo->fn_mcxt : caller);

		/* (before SPI_finish frees the row) */
		result = datumCopy(rules, false, -1);
		if (keep)
		{
			vc->e[vc->n].model = pstrdup(model);
			vc->e[vc->n].version = version;
			vc->e[vc->n].rules = result;
			vc->n++;
		}
		MemoryContextSwitchTo(old);
	}
	else if (SPI_execute_with_args("SELECT pg_catalog.max(v.version) FROM leadqual.ruleset_versions v "
								   "WHERE v.model OPERATOR(pg_catalog.=) $1",
								   1, argtypes, args, NULL, true, 1) == SPI_OK_SELECT)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		last = isnull ? 0 : DatumGetInt32(d);
	}
	SPI_finish();
	ruleset_restore_user(&owner);
	if (!found && last == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no versions", model),
				 errhint("Versions are rows of leadqual.ruleset_versions; a model gets one with each committed change.")));
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, model),
				 errhint("Model \"%s\" has versions 1 to %d.", model, last)));
	PG_RETURN_DATUM(result);
}
