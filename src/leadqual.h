/*
 * leadqual.h — declarations shared between leadqual's modules.
 */
#ifndef LEADQUAL_H
#define LEADQUAL_H

/* ruleset.c: GUCs and cache callbacks */
extern void ruleset_init(void);

/* validate.c: the DDL guard setting */
extern void validate_init(void);

/* validate.c: refuses a rule's points that are not finite (22023) or out of bounds (22003) */
extern void validate_points(const char *label, double points);

/* history.c: the leadqual.actor and leadqual.notify settings */
extern void history_init(void);

/*
 * The bound on a rule's or event rule's points (and an event rule's cap):
 * scores are sums of points, and at most 1e6 per rule no sum of any number of
 * rules and events comes near float8's range, so no score is ever Infinity
 * or NaN.  The CHECK constraints of leadqual.rules and leadqual.event_rules
 * (sql/1.0--1.1/20_limits.sql) hold the same bound.
 */
#define LEADQUAL_MAX_POINTS 1000000.0

#endif
