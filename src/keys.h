/*
 * keys.h — how leadqual's SQL compares a lead table's keys with the events'
 * lead column: as the lead table compares them.
 */
#ifndef LEADQUAL_KEYS_H
#define LEADQUAL_KEYS_H

/*
 * "OPERATOR(schema.=)": the key type's own equality (citext's, say, not
 * text's through a cast), whatever the search_path.  Refuses a type without,
 * and a role without USAGE on that operator's schema (42501, with the grant).
 */
extern char *key_equality_sql(Oid keytype, Oid lead_table);

/*
 * " COLLATE schema.name" of the key column's collation where the events'
 * lead column has another one, else "".
 */
extern char *key_collate_sql(Oid lead_table, AttrNumber key_att, Oid events_table,
							 const char *lead_column);

#endif
