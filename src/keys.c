/*
 * keys.c — how leadqual's SQL compares a lead table's keys with the events'
 * lead column (keys.h): the events trigger, rescore's engagement refresh and
 * simulate all join them so, as the lead table's own index and foreign keys
 * would compare them.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "keys.h"

char *
key_equality_sql(Oid keytype, Oid lead_table)
{
	TypeCacheEntry *tc = lookup_type_cache(keytype, TYPECACHE_EQ_OPR);
	HeapTuple	tup;
	Form_pg_operator op;
	char	   *sql;

	if (!OidIsValid(tc->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("the key type %s of lead table \"%s\" has no equality operator",
						format_type_be(keytype), get_rel_name(lead_table))));
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(tc->eq_opr));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", tc->eq_opr);
	op = (Form_pg_operator) GETSTRUCT(tup);
	/*
	 * An extension's type (citext) has its = in the extension's schema: the
	 * query names it, so the role running it needs USAGE there, as for any
	 * query that uses the type's operators.  Said up front, with the grant.
	 */
	if (!DatumGetBool(DirectFunctionCall2(has_schema_privilege_id,
										  ObjectIdGetDatum(op->oprnamespace),
										  CStringGetTextDatum("USAGE"))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for schema %s", get_namespace_name(op->oprnamespace)),
				 errdetail("leadqual compares keys of lead table \"%s\" with the = operator of their type %s, in that schema.",
						   get_rel_name(lead_table), format_type_be(keytype)),
				 errhint("GRANT USAGE ON SCHEMA %s TO the roles that write its events or rescore it.",
						 quote_identifier(get_namespace_name(op->oprnamespace)))));
	sql = psprintf("OPERATOR(%s.%s)", quote_identifier(get_namespace_name(op->oprnamespace)),
				   NameStr(op->oprname));
	ReleaseSysCache(tup);
	return sql;
}

char *
key_collate_sql(Oid lead_table, AttrNumber key_att, Oid events_table, const char *lead_column)
{
	Oid			type;
	int32		typmod;
	Oid			collid;
	HeapTuple	tup;
	Form_pg_collation coll;
	char	   *sql;
	AttrNumber	events_att = get_attnum(events_table, lead_column);
	Oid			events_collid = InvalidOid;

	get_atttypetypmodcoll(lead_table, key_att, &type, &typmod, &collid);
	if (events_att != InvalidAttrNumber)
		get_atttypetypmodcoll(events_table, events_att, &type, &typmod, &events_collid);
	/* the same collation on both sides needs no clause (nor USAGE on its schema) */
	if (!OidIsValid(collid) || collid == events_collid)
		return "";
	tup = SearchSysCache1(COLLOID, ObjectIdGetDatum(collid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for collation %u", collid);
	coll = (Form_pg_collation) GETSTRUCT(tup);
	sql = psprintf(" COLLATE %s",
				   quote_qualified_identifier(get_namespace_name(coll->collnamespace),
											  NameStr(coll->collname)));
	ReleaseSysCache(tup);
	return sql;
}
