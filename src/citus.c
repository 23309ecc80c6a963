/*
 * citus.c — recognising Citus tables and shards, without linking to Citus.
 *
 * On a Citus cluster, CREATE EXTENSION leadqual reaches every node, but the
 * rows of leadqual's configuration tables (models, rules, attachments, ...)
 * stay on the node that wrote them, normally the coordinator.  A query on a
 * distributed table runs on the workers' shards, and so do the triggers of a
 * distributed table.  Scoring there works when the rule set travels with the
 * query as a value (leadqual.ruleset); what needs the configuration on the
 * worker refuses with an error that says what to do instead of scoring with
 * the wrong (empty) configuration.
 *
 * Everything here is found by catalog name at run time (pg_dist_partition,
 * pg_dist_shard, Citus' application_name for its own connections), so leadqual
 * neither links to Citus nor needs it.  On plain PostgreSQL the only cost is a
 * negative syscache lookup, and only on paths that are about to fail anyway
 * (an unknown model, a trigger without attachment) or that run once per call
 * (attach, rescore).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "citus.h"
#include "ruleset.h"

/* the prefix of application_name on Citus' own connections to a node (Citus 11+) */
#define CITUS_APPLICATION_NAME_PREFIX "citus_internal gpid="

bool
citus_present(void)
{
	return OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE));
}

/* Is this backend running a task that a Citus coordinator (or another node) sent? */
static bool
CitusInternalBackend(void)
{
	const char *app = GetConfigOption("application_name", true, false);

	return app != NULL &&
		strncmp(app, CITUS_APPLICATION_NAME_PREFIX, strlen(CITUS_APPLICATION_NAME_PREFIX)) == 0;
}

/* Runs a one-value query of one int8 or oid parameter; InvalidOid if no row. */
static Oid
CatalogOid(const char *sql, Oid argtype, Datum arg)
{
	Oid			result = InvalidOid;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, 1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read Citus' metadata");
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			result = DatumGetObjectId(d);
	}
	SPI_finish();
	return result;
}

Oid
citus_table_of(Oid relid, bool *is_shard)
{
	char	   *relname;
	char	   *suffix;
	char	   *end;
	int64		shardid;
	Oid			logical;
	char	   *logname;
	size_t		prefix_len;

	*is_shard = false;
	if (!citus_present())
		return InvalidOid;

	/* a Citus table itself: the coordinator's table, or a worker's shell table */
	if (OidIsValid(CatalogOid("SELECT p.logicalrelid::pg_catalog.oid FROM pg_catalog.pg_dist_partition p "
							  "WHERE p.logicalrelid::pg_catalog.oid OPERATOR(pg_catalog.=) $1",
							  OIDOID, ObjectIdGetDatum(relid))))
		return relid;

	/* a shard is named <table>_<shardid> (long names: truncated, a hash, _<shardid>) */
	relname = get_rel_name(relid);
	if (relname == NULL || (suffix = strrchr(relname, '_')) == NULL || suffix[1] == '\0')
		return InvalidOid;
	errno = 0;
	shardid = strtoi64(suffix + 1, &end, 10);
	if (errno != 0 || *end != '\0' || shardid <= 0)
		return InvalidOid;
	logical = CatalogOid("SELECT s.logicalrelid::pg_catalog.oid FROM pg_catalog.pg_dist_shard s "
						 "WHERE s.shardid OPERATOR(pg_catalog.=) $1",
						 INT8OID, Int64GetDatum(shardid));
	if (!OidIsValid(logical) || get_rel_namespace(logical) != get_rel_namespace(relid) ||
		(logname = get_rel_name(logical)) == NULL)
		return InvalidOid;
	prefix_len = suffix - relname;
	if (strlen(logname) + strlen(suffix) < NAMEDATALEN)
	{
		if (strlen(logname) != prefix_len || strncmp(logname, relname, prefix_len) != 0)
			return InvalidOid;
	}
	else if (prefix_len < 9 || strncmp(logname, relname, prefix_len - 9) != 0)
		return InvalidOid;		/* a long name: <truncated>_<8 hex digits>_<shardid> */
	*is_shard = true;
	return logical;
}

void
citus_refuse_table(Oid relid, const char *what, const char *model, bool events)
{
	bool		is_shard;
	Oid			table = citus_table_of(relid, &is_shard);
	char	   *name;
	char	   *lit;
	char	   *hint;
	char	   *leads = "leads";

	if (!OidIsValid(table))
	{
		/* a shard this node has no metadata for yet (create_distributed_table copying rows) */
		if (!CitusInternalBackend() || !citus_present())
			return;
		table = relid;
		is_shard = true;
	}
	lit = quote_literal_cstr(model ? model : "your model");
	if (events && model != NULL)
	{
		Oid			lead_table = ruleset_model_lead_table(model, NULL);

		leads = quote_qualified_identifier(get_namespace_name(get_rel_namespace(lead_table)),
										   get_rel_name(lead_table));
	}
	name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(table)),
									  get_rel_name(table));
	if (events)
		hint = psprintf("Compute engagement with one distributed UPDATE that carries the rule set as a value: UPDATE %s l SET engagement = coalesce(x.points, 0) FROM (SELECT e.lead_id, leadqual.engagement(e.event_type, e.occurred_at, r.rules, now()) AS points FROM %s e, (SELECT leadqual.ruleset(%s::text) AS rules) r GROUP BY e.lead_id) x WHERE x.lead_id = l.id.",
						leads, name, lit);
	else
		hint = psprintf("Keep scores current with one distributed UPDATE that carries the rule set as a value: UPDATE %s l SET score = leadqual.score(l, r.rules), stage = CASE WHEN l.stage_locked OR l.stage IN ('sql', 'won', 'lost') THEN l.stage ELSE leadqual.classify(l, r.rules) END FROM (SELECT leadqual.ruleset(%s::text) AS rules) r.",
						name, lit);
	if (is_shard)
		hint = psprintf("%s Remove leadqual's triggers on the coordinator (Citus needs citus.enable_unsafe_triggers for it): SET citus.enable_unsafe_triggers = on; SELECT leadqual.%s(%s); RESET citus.enable_unsafe_triggers;",
						hint, events ? "detach_events" : "detach", quote_literal_cstr(name));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s does not support the Citus table %s", what, name),
			 is_shard ?
			 errdetail("It ran on the shard %s on a node whose leadqual configuration tables (models, rules, attachments) are empty: Citus copies leadqual's objects to every node, not the rows of its tables.",
					   get_rel_name(relid)) :
			 errdetail("Its rows are written on the shards, on nodes whose leadqual configuration tables (models, rules, attachments) are empty: Citus copies leadqual's objects to every node, not the rows of its tables."),
			 errhint("%s", hint)));
}

int
citus_errdetail_missing_model(const char *model)
{
	if (!CitusInternalBackend() || !citus_present())
		return 0;
	errdetail("The call ran on a Citus node, whose leadqual configuration tables are empty: Citus copies leadqual's objects to every node, not the rows of its tables.");
	errhint("Read the rule set once on the coordinator and pass it as a value, e.g. SELECT leadqual.score(l, r.rules) FROM leads l, (SELECT leadqual.ruleset(%s::text) AS rules) r.",
			quote_literal_cstr(model));
	return 0;
}

/*
 * BEFORE INSERT OR UPDATE trigger on leadqual.attachments and
 * leadqual.event_attachments: refuses to attach a Citus table (its triggers
 * would fire on the shards, where there is no configuration).  Does nothing
 * where Citus is not installed.
 */
PG_FUNCTION_INFO_V1(leadqual_refuse_citus_attach);
Datum
leadqual_refuse_citus_attach(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	const char *what;
	char	   *model;
	bool		events;
	Oid			ext;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("leadqual.refuse_citus_attach() must be a BEFORE ROW trigger")));
	/* it reads its table's columns by position: only leadqual's two attachment tables */
	ext = get_extension_oid("leadqual", true);
	if (!OidIsValid(ext) ||
		getExtensionOfObject(RelationRelationId, RelationGetRelid(td->tg_relation)) != ext ||
		(strcmp(RelationGetRelationName(td->tg_relation), "attachments") != 0 &&
		 strcmp(RelationGetRelationName(td->tg_relation), "event_attachments") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("leadqual.refuse_citus_attach() runs only on leadqual.attachments and leadqual.event_attachments, not on table \"%s\"",
						RelationGetRelationName(td->tg_relation)),
				 errhint("Drop this trigger.")));
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	if (!citus_present())
		return PointerGetDatum(tuple);

	desc = RelationGetDescr(td->tg_relation);
	events = strcmp(RelationGetRelationName(td->tg_relation), "event_attachments") == 0;
	what = events ? "leadqual.attach_events" : "leadqual.attach";
	/* the attached table is the first column of both tables, the model the second */
	d = heap_getattr(tuple, 2, desc, &isnull);
	model = isnull ? NULL : TextDatumGetCString(d);
	d = heap_getattr(tuple, 1, desc, &isnull);
	if (!isnull)
		citus_refuse_table(DatumGetObjectId(d), what, model, events);
	/* an events table feeds its model's lead table */
	if (events && model != NULL)
		citus_refuse_table(ruleset_model_lead_table(model, NULL), what, model, false);
	return PointerGetDatum(tuple);
}
