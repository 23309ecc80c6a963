/*
 * engagement.h — event rules of a model and the decay arithmetic of engagement.
 *
 * The aggregate leadqual.engagement uses these, and so can the events trigger:
 * load a model's rules once (engagement_rules_load), then either accumulate
 * events into a sums array (engagement_rules_slot + engagement_accumulate, then
 * engagement_total) or call engagement_compute on a list of (type, time) pairs.
 */
#ifndef LEADQUAL_ENGAGEMENT_H
#define LEADQUAL_ENGAGEMENT_H

#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "datatype/timestamp.h"

/* One row of leadqual.event_rules, with the half-life resolved. */
typedef struct EngagementRule
{
	const char *event_type;		/* not NUL-free: compared by length and bytes */
	int			type_len;
	double		points;
	double		max_points;		/* only meaningful when has_cap */
	bool		has_cap;
	double		half_life_us;	/* the rule's, else the model's; 0 = no decay */
} EngagementRule;

struct EngagementTypeHash;

/* A model's event rules, sorted by event_type bytewise: index = slot. */
typedef struct EngagementRules
{
	char	   *model;			/* NUL-terminated */
	int			model_len;
	uint32		fingerprint;	/* hash of everything below: states built under
								 * other rules are refused (model-name states) */
	uint8		ruleset_hash[32];	/* the rule set's content hash (ruleset states) */
	int			ntypes;
	EngagementRule *rules;
	struct EngagementTypeHash *hash;	/* event_type -> slot */
} EngagementRules;

struct ModelDef;

/*
 * Builds the event rules of a model definition (ruleset.h) into mcxt; the
 * rule cache calls it once per cached rule set (ruleset_model_event_rules,
 * ruleset_value_event_rules).
 */
extern EngagementRules *engagement_rules_build(const struct ModelDef *def,
											   const uint8 *ruleset_hash,
											   MemoryContext mcxt);

/* Slot of an event type, -1 when the model has no rule for it. */
extern int	engagement_rules_slot(const EngagementRules *rules,
								  const char *event_type, int len);

/*
 * Half-life of an interval in microseconds, as extract(epoch from ...) counts
 * it, at most HALF_LIFE_MAX_US (100,000 years of 365.25 days).
 */
#define HALF_LIFE_MAX_US (INT64CONST(36525000) * USECS_PER_DAY)
extern int64 engagement_half_life_us(const Interval *span);

/* Decay factor 0.5^((as_of - occurred_at) / half_life); 1 without half-life. */
static inline double
engagement_decay(double half_life_us, TimestampTz as_of, TimestampTz occurred_at)
{
	int64		age;

	if (half_life_us <= 0)
		return 1.0;
	if (pg_sub_s64_overflow(as_of, occurred_at, &age))
		return 0.0;				/* occurred at -infinity */
	return exp2(-((double) age) / half_life_us);
}

/* Adds one event (already known to occur at or before as_of) into sums[slot]. */
static inline void
engagement_accumulate(const EngagementRules *rules, double *sums, int slot,
					  TimestampTz as_of, TimestampTz occurred_at)
{
	const EngagementRule *r = &rules->rules[slot];

	sums[slot] += r->points * engagement_decay(r->half_life_us, as_of, occurred_at);
}

/* Clamps each type's sum to its cap and adds the types up. */
extern double engagement_total(const EngagementRules *rules, const double *sums);

/*
 * Engagement of n events (type bytes + lengths, times) at as_of. Events after
 * as_of, NULL types (NULL pointer) and unknown types count nothing.
 */
extern double engagement_compute(const EngagementRules *rules, int n,
								 const char *const *types, const int *type_lens,
								 const TimestampTz *times, TimestampTz as_of);

#endif
