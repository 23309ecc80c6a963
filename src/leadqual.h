/*
 * leadqual.h — declarations shared between leadqual's modules.
 */
#ifndef LEADQUAL_H
#define LEADQUAL_H

/* ruleset.c: GUCs and cache callbacks */
extern void ruleset_init(void);

/* validate.c: the DDL guard setting */
extern void validate_init(void);

/* history.c: the leadqual.actor and leadqual.notify settings */
extern void history_init(void);

#endif
