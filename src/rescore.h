/*
 * rescore.h — what simulate.c shares with rescore.c: the events a rescore
 * recomputes a lead's engagement from.
 */
#ifndef LEADQUAL_RESCORE_H
#define LEADQUAL_RESCORE_H

#include "postgres.h"

/* The events table attached to a model, its columns quoted for a query. */
typedef struct EventsSource
{
	char	   *events_table;	/* as regclass prints it */
	char	   *lead_column;	/* quoted */
	char	   *type_column;	/* quoted */
	char	   *time_column;	/* quoted */
	char	   *engagement_column;	/* the model's engagement column, as named (not
									 * quoted); NULL: none */
	char	   *key_eq;			/* how to compare lead_column with the lead key (keys.h) */
	char	   *key_collate;
} EventsSource;

/*
 * Where an events table is attached to model (and the model has an
 * engagement column: rescore recomputes engagement from the events first),
 * fills *src (allocated in cxt) and returns true; false where none is.
 * Inside the caller's SPI connection.
 */
extern bool rescore_events_source(const char *model, Oid lead_table, const LeadColumns *cols,
								  MemoryContext cxt, EventsSource *src);

#endif
