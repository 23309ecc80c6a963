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
	sql = psprintf("OPERATOR(%s.%s)", quote_identifier(get_namespace_name(op->oprnamespace)),
				   NameStr(op->oprname));
	ReleaseSysCache(tup);
	return sql;
}

char *
key_collate_sql(Oid lead_table, AttrNumber key_att)
{
	Oid			type;
	int32		typmod;
	Oid			collid;
	HeapTuple	tup;
	Form_pg_collation coll;
	char	   *sql;

	get_atttypetypmodcoll(lead_table, key_att, &type, &typmod, &collid);
	if (!OidIsValid(collid))
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
