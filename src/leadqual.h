/*
 * leadqual.h — declarations shared between leadqual's modules.
 */
#ifndef LEADQUAL_H
#define LEADQUAL_H

/* ruleset.c: GUCs and cache callbacks */
extern void ruleset_init(void);

/* validate.c: the DDL guard setting */
extern void validate_init(void);

/* lead_trigger.c: the leadqual.actor setting */
extern void lead_trigger_init(void);

#endif
