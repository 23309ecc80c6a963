/*
 * keys.h — how leadqual's SQL compares a lead table's keys with the events'
 * lead column: as the lead table compares them.
 */
#ifndef LEADQUAL_KEYS_H
#define LEADQUAL_KEYS_H

/*
 * "OPERATOR(schema.=)": the key type's own equality (citext's, say, not
 * text's through a cast), whatever the search_path.  Refuses a type without.
 */
extern char *key_equality_sql(Oid keytype, Oid lead_table);

/* " COLLATE schema.name" of the key column's collation, or "" for none. */
extern char *key_collate_sql(Oid lead_table, AttrNumber key_att);

#endif
