/*
 * engagement.c — the engagement aggregate and its transition-state type.
 *
 * leadqual.engagement(event_type, occurred_at, model [, as_of]) sums, per event
 * type, points x 0.5^((as_of - occurred_at) / half_life), clamps each type's sum to
 * its max_points and adds the types up.  as_of is known at a group's first row, so
 * the state keeps already-decayed sums: one double per event type of the model,
 * allocated once per group and updated in place.  The state is a real type
 * (leadqual.engagement_state) with text and binary I/O, so partial states can
 * cross process and node boundaries; it carries the model, as_of and a fingerprint
 * of the event rules it was built under, and combining mismatched states fails.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "nodes/primnodes.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "engagement.h"
#include "ruleset.h"

/* ---------------------------------------------------------------------------
 * event_type -> slot: a simplehash keyed by the type's bytes, built once per rules
 */
typedef struct TypeKey
{
	const char *data;
	int			len;
} TypeKey;

typedef struct TypeEntry
{
	TypeKey		key;
	uint32		hash;
	int			slot;
	char		status;
} TypeEntry;

#define SH_PREFIX typetab
#define SH_ELEMENT_TYPE TypeEntry
#define SH_KEY_TYPE TypeKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).data, (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).data, (b).data, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) a->hash
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct EngagementTypeHash
{
	typetab_hash *tab;
};

/* ---------------------------------------------------------------------------
 * The transition state
 */
#define ENGAGEMENT_STATE_VERSION 1

typedef struct EngagementState
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		version;		/* ENGAGEMENT_STATE_VERSION */
	uint8		pad[3];
	uint32		fingerprint;	/* EngagementRules.fingerprint */
	int32		ntypes;
	TimestampTz as_of;
	double		sums[FLEXIBLE_ARRAY_MEMBER];	/* decayed points per slot */
	/* then the model name, NUL-terminated */
} EngagementState;

#define STATE_MODEL(st) ((char *) &(st)->sums[(st)->ntypes])
#define STATE_SIZE(ntypes, model_len) \
	(offsetof(EngagementState, sums) + sizeof(double) * (ntypes) + (model_len) + 1)

/*
 * A state built with a rule set value (engagement(type, at, rules, as_of)):
 * version 2, identified by the rule set's content hash, and carrying each
 * type's cap so that it can be finished without the rules.
 *   sums[ntypes], caps[ntypes] (NaN: no cap), hash[32]
 */
#define ENGAGEMENT_STATE_V2 2
#define STATE_CAPS(st) (&(st)->sums[(st)->ntypes])
#define STATE_HASH(st) ((uint8 *) &(st)->sums[2 * (st)->ntypes])
#define STATE_SIZE_V2(ntypes) \
	(offsetof(EngagementState, sums) + 2 * sizeof(double) * (ntypes) + 32)

/* ---------------------------------------------------------------------------
 * Building rules from a model definition
 */

/*
 * A half-life in microseconds, counted the way extract(epoch from ...) does.
 * Beyond HALF_LIFE_MAX_US it is HALF_LIFE_MAX_US (as is an infinite
 * interval): nothing decays measurably over that span anyway, and the value
 * then always fits an int64 and prints back as an interval.
 */
int64
engagement_half_life_us(const Interval *span)
{
	double		us;

	us = (double) span->time;
	us += (double) span->day * USECS_PER_DAY;
	us += (double) (span->month / MONTHS_PER_YEAR) * DAYS_PER_YEAR * USECS_PER_DAY;
	us += (double) (span->month % MONTHS_PER_YEAR) * DAYS_PER_MONTH * USECS_PER_DAY;
	if (us >= (double) HALF_LIFE_MAX_US)
		return HALF_LIFE_MAX_US;
	if (us <= -(double) HALF_LIFE_MAX_US)
		return -HALF_LIFE_MAX_US;
	return (int64) us;
}

static uint32
HashDouble(uint32 h, double v)
{
	return hash_combine(h, hash_bytes((const unsigned char *) &v, sizeof(v)));
}

EngagementRules *
engagement_rules_build(const ModelDef *def, const uint8 *ruleset_hash, MemoryContext mcxt)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	EngagementRules *rules = palloc0(sizeof(EngagementRules));
	uint32		fp;

	rules->model = pstrdup(def->model);
	rules->model_len = strlen(def->model);
	memcpy(rules->ruleset_hash, ruleset_hash, sizeof(rules->ruleset_hash));
	rules->rules = palloc0(sizeof(EngagementRule) * Max(def->nevents, 1));
	rules->ntypes = def->nevents;

	/* the fingerprint model-name states carry (as 1.0 computed it) */
	fp = hash_bytes((const unsigned char *) rules->model, rules->model_len);
	for (int i = 0; i < def->nevents; i++)
	{
		const EventRuleDef *e = &def->events[i];
		EngagementRule *r = &rules->rules[i];

		r->event_type = pstrdup(e->event_type);
		r->type_len = strlen(e->event_type);
		r->points = e->points;
		r->has_cap = e->has_cap;
		r->max_points = e->has_cap ? e->max_points : 0.0;
		if (e->has_half_life)
			r->half_life_us = (double) e->half_life_us;
		else
			r->half_life_us = def->has_half_life ? (double) def->half_life_us : 0.0;

		fp = hash_combine(fp, hash_bytes((const unsigned char *) r->event_type, r->type_len));
		fp = HashDouble(fp, r->points);
		fp = HashDouble(fp, r->has_cap ? r->max_points : get_float8_nan());
		fp = HashDouble(fp, r->half_life_us);
	}
	rules->fingerprint = hash_combine(fp, (uint32) rules->ntypes);

	/* event_type -> slot */
	rules->hash = palloc(sizeof(struct EngagementTypeHash));
	rules->hash->tab = typetab_create(mcxt, Max(rules->ntypes, 8), NULL);
	for (int i = 0; i < rules->ntypes; i++)
	{
		TypeKey		key = {rules->rules[i].event_type, rules->rules[i].type_len};
		bool		found;
		TypeEntry  *e = typetab_insert(rules->hash->tab, key, &found);

		e->slot = i;
	}
	MemoryContextSwitchTo(old);
	return rules;
}

/* Returns the slot of an event type, -1 when the model has no rule for it. */
int
engagement_rules_slot(const EngagementRules *rules, const char *event_type, int len)
{
	TypeKey		key = {event_type, len};
	TypeEntry  *e = typetab_lookup(rules->hash->tab, key);

	return e ? e->slot : -1;
}

/* Clamps each type's sum to its cap and adds the types up. */
double
engagement_total(const EngagementRules *rules, const double *sums)
{
	double		total = 0.0;

	for (int i = 0; i < rules->ntypes; i++)
	{
		const EngagementRule *r = &rules->rules[i];
		double		s = sums[i];

		if (r->has_cap)
		{
			/* a cap bounds the side its points are on */
			if (r->max_points >= 0)
				s = Min(s, r->max_points);
			else
				s = Max(s, r->max_points);
		}
		total += s;
	}
	return total;
}

/* Computes the engagement of n (type, time) events at as_of. */
double
engagement_compute(const EngagementRules *rules, int n,
				   const char *const *types, const int *type_lens,
				   const TimestampTz *times, TimestampTz as_of)
{
	double	   *sums = palloc0(sizeof(double) * Max(rules->ntypes, 1));
	double		total;

	for (int i = 0; i < n; i++)
	{
		int			slot;

		if (types[i] == NULL || times[i] > as_of)
			continue;
		slot = engagement_rules_slot(rules, types[i], type_lens[i]);
		if (slot >= 0)
			engagement_accumulate(rules, sums, slot, as_of, times[i]);
	}
	total = engagement_total(rules, sums);
	pfree(sums);
	return total;
}

/* ---------------------------------------------------------------------------
 * The aggregate's functions
 *
 * The rules come from the rule cache (ruleset.c) on every call, by model name
 * under the statement's snapshot or by the value's content hash: nothing is
 * kept in fn_extra, so a caller that gives every call a fresh FmgrInfo (Citus'
 * worker_partial_agg) costs what a plain aggregate costs.
 */

static void
CheckAsOf(TimestampTz as_of)
{
	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite timestamp")));
}

static EngagementState *
NewState(const EngagementRules *rules, TimestampTz as_of, MemoryContext mcxt)
{
	Size		size = STATE_SIZE(rules->ntypes, rules->model_len);
	EngagementState *st = MemoryContextAllocZero(mcxt, size);

	SET_VARSIZE(st, size);
	st->version = ENGAGEMENT_STATE_VERSION;
	st->fingerprint = rules->fingerprint;
	st->ntypes = rules->ntypes;
	st->as_of = as_of;
	memcpy(STATE_MODEL(st), rules->model, rules->model_len);
	return st;
}

static EngagementState *
NewStateV2(const EngagementRules *rules, TimestampTz as_of, MemoryContext mcxt)
{
	Size		size = STATE_SIZE_V2(rules->ntypes);
	EngagementState *st = MemoryContextAllocZero(mcxt, size);

	SET_VARSIZE(st, size);
	st->version = ENGAGEMENT_STATE_V2;
	memcpy(&st->fingerprint, rules->ruleset_hash, sizeof(st->fingerprint));
	st->ntypes = rules->ntypes;
	st->as_of = as_of;
	for (int i = 0; i < rules->ntypes; i++)
		STATE_CAPS(st)[i] = rules->rules[i].has_cap ? rules->rules[i].max_points :
			get_float8_nan();
	memcpy(STATE_HASH(st), rules->ruleset_hash, 32);
	return st;
}

static inline bool
StateModelIs(const EngagementState *st, const char *model, int len)
{
	const char *m = STATE_MODEL(st);

	return memcmp(m, model, len) == 0 && m[len] == '\0';
}

/* Fetches a state argument in a plain (aligned, uncompressed) form, of a known version. */
static EngagementState *
GetState(FunctionCallInfo fcinfo, int argno)
{
	EngagementState *st = (EngagementState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));

	if (st->version != ENGAGEMENT_STATE_VERSION && st->version != ENGAGEMENT_STATE_V2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("engagement state has unsupported version %d", st->version)));
	return st;
}

/* Adds one event (arguments 1 and 2) to st, under rules. */
static inline void
AddEvent(FunctionCallInfo fcinfo, const EngagementRules *rules, EngagementState *st)
{
	TimestampTz occurred_at;
	text	   *event_type;
	int			slot;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return;
	occurred_at = PG_GETARG_TIMESTAMPTZ(2);
	if (occurred_at > st->as_of)
		return;
	event_type = PG_GETARG_TEXT_PP(1);
	slot = engagement_rules_slot(rules, VARDATA_ANY(event_type),
								 VARSIZE_ANY_EXHDR(event_type));
	if (slot >= 0)
		engagement_accumulate(rules, st->sums, slot, st->as_of, occurred_at);
}

static void
CheckAggContext(FunctionCallInfo fcinfo)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("engagement transition function called outside an aggregate")));
}

PG_FUNCTION_INFO_V1(engagement_transfn);
/* Adds one event to a group's state; the 3-argument form uses now() as as_of. */
Datum
engagement_transfn(PG_FUNCTION_ARGS)
{
	EngagementState *st;
	EngagementRules *rules;
	text	   *model;
	const char *model_p;
	int			model_len;
	TimestampTz as_of;

	CheckAggContext(fcinfo);
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("engagement model must not be null")));
	model = PG_GETARG_TEXT_PP(3);
	model_p = VARDATA_ANY(model);
	model_len = VARSIZE_ANY_EXHDR(model);

	if (PG_NARGS() > 4)
	{
		if (PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("engagement as_of must not be null")));
		as_of = PG_GETARG_TIMESTAMPTZ(4);
	}
	else
		as_of = GetCurrentTransactionStartTimestamp();

	rules = ruleset_model_event_rules_len(model_p, model_len);
	if (PG_ARGISNULL(0))
	{
		CheckAsOf(as_of);

		/*
		 * nodeAgg copies a new state into the aggregate context itself (it cannot
		 * tell where we allocated it), so build it in the per-row context.
		 */
		st = NewState(rules, as_of, CurrentMemoryContext);
	}
	else
	{
		st = (EngagementState *) PG_GETARG_POINTER(0);
		if (st->version != ENGAGEMENT_STATE_VERSION)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("engagement state was built with a rule set value, not a model name")));
		if (!StateModelIs(st, model_p, model_len))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("engagement model must be the same for every row of a group"),
					 errdetail("The group started with model \"%s\", a later row names \"%.*s\".",
							   STATE_MODEL(st), model_len, model_p)));
		if (st->as_of != as_of)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("engagement as_of must be the same for every row of a group")));
		/* a state from elsewhere (an INITCOND, a user's own aggregate) must fit these rules */
		if (st->ntypes != rules->ntypes || st->fingerprint != rules->fingerprint)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("engagement state does not belong to model \"%.*s\" and its current event rules",
							model_len, model_p)));
	}
	AddEvent(fcinfo, rules, st);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(engagement_rs_transfn);
/* engagement(event_type, occurred_at, rules leadqual.ruleset, as_of): one event. */
Datum
engagement_rs_transfn(PG_FUNCTION_ARGS)
{
	EngagementState *st;
	EngagementRules *rules;
	TimestampTz as_of;

	CheckAggContext(fcinfo);
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("engagement rules must not be null")));
	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("engagement as_of must not be null")));
	as_of = PG_GETARG_TIMESTAMPTZ(4);
	rules = ruleset_value_event_rules(PG_GETARG_DATUM(3));
	if (PG_ARGISNULL(0))
	{
		CheckAsOf(as_of);
		st = NewStateV2(rules, as_of, CurrentMemoryContext);
	}
	else
	{
		st = (EngagementState *) PG_GETARG_POINTER(0);
		if (st->version != ENGAGEMENT_STATE_V2 || st->ntypes != rules->ntypes ||
			memcmp(STATE_HASH(st), rules->ruleset_hash, 32) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("engagement rules must be the same for every row of a group"),
					 errdetail("The group's state was built with another rule set.")));
		if (st->as_of != as_of)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("engagement as_of must be the same for every row of a group")));
	}
	AddEvent(fcinfo, rules, st);
	PG_RETURN_POINTER(st);
}

static void
AppendHex(StringInfo buf, const uint8 *bytes, int n)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < n; i++)
	{
		appendStringInfoChar(buf, hex[bytes[i] >> 4]);
		appendStringInfoChar(buf, hex[bytes[i] & 15]);
	}
}

/* Fails unless two states were built for the same model (or rule set), as_of and rules. */
static void
CheckCombinable(const EngagementState *a, const EngagementState *b)
{
	if (a->version != b->version)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine an engagement state of a model name with one of a rule set value")));
	if (a->version == ENGAGEMENT_STATE_VERSION && strcmp(STATE_MODEL(a), STATE_MODEL(b)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine engagement states of different models"),
				 errdetail("One state is for model \"%s\", the other for \"%s\".",
						   STATE_MODEL(a), STATE_MODEL(b))));
	if (a->as_of != b->as_of)
	{
		/* (timestamptz_to_str returns a static buffer) */
		char	   *as_of_a = pstrdup(timestamptz_to_str(a->as_of));
		char	   *as_of_b = pstrdup(timestamptz_to_str(b->as_of));

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine engagement states of different as_of"),
				 errdetail("The states were decayed to %s and %s.", as_of_a, as_of_b)));
	}
	if (a->version == ENGAGEMENT_STATE_V2)
	{
		if (a->ntypes != b->ntypes || memcmp(STATE_HASH(a), STATE_HASH(b), 32) != 0 ||
			memcmp(STATE_CAPS(a), STATE_CAPS(b), sizeof(double) * a->ntypes) != 0)
		{
			StringInfoData ha;
			StringInfoData hb;

			initStringInfo(&ha);
			initStringInfo(&hb);
			AppendHex(&ha, STATE_HASH(a), 32);
			AppendHex(&hb, STATE_HASH(b), 32);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot combine engagement states built with different rule sets"),
					 errdetail("The states' rule sets have hashes %s and %s.", ha.data, hb.data)));
		}
		return;
	}
	if (a->fingerprint != b->fingerprint || a->ntypes != b->ntypes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine engagement states built under different event rules of model \"%s\"",
						STATE_MODEL(a)),
				 errhint("Compute both parts under the same leadqual.event_rules.")));
}

PG_FUNCTION_INFO_V1(engagement_combine);
/* Adds the second state's sums into the first (in place inside an aggregate). */
Datum
engagement_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	EngagementState *a = GetState(fcinfo, 0);
	EngagementState *b = GetState(fcinfo, 1);

	CheckCombinable(a, b);
	if (!AggCheckCallContext(fcinfo, &aggcxt))
	{
		/* called directly: never scribble on an input */
		EngagementState *copy = palloc(VARSIZE(a));

		memcpy(copy, a, VARSIZE(a));
		a = copy;
	}
	for (int i = 0; i < a->ntypes; i++)
		a->sums[i] += b->sums[i];
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(engagement_final);
/* Clamps each type's sum to its cap and returns the sum over types. */
Datum
engagement_final(PG_FUNCTION_ARGS)
{
	EngagementState *st = GetState(fcinfo, 0);
	const char *model;
	EngagementRules *rules;

	if (st->version != ENGAGEMENT_STATE_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("engagement state was built with a rule set value, not a model name")));
	model = STATE_MODEL(st);
	rules = ruleset_model_event_rules_len(model, strlen(model));
	if (rules->fingerprint != st->fingerprint || rules->ntypes != st->ntypes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("engagement state was built under other event rules of model \"%s\"",
						model),
				 errhint("Finish a state under the same leadqual.event_rules it was built with.")));
	PG_RETURN_FLOAT8(engagement_total(rules, st->sums));
}

PG_FUNCTION_INFO_V1(engagement_rs_final);
/* The same for a state of a rule set value: its caps travel with it. */
Datum
engagement_rs_final(PG_FUNCTION_ARGS)
{
	EngagementState *st = GetState(fcinfo, 0);
	double		total = 0.0;

	if (st->version != ENGAGEMENT_STATE_V2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("engagement state was built with a model name, not a rule set value")));
	for (int i = 0; i < st->ntypes; i++)
	{
		double		s = st->sums[i];
		double		cap = STATE_CAPS(st)[i];

		if (!isnan(cap))
			s = cap >= 0 ? Min(s, cap) : Max(s, cap);
		total += s;
	}
	PG_RETURN_FLOAT8(total);
}

/* ---------------------------------------------------------------------------
 * Text and binary I/O of leadqual.engagement_state:
 *   v1:model="default";as_of=2026-05-01 12:00:00+00;rules=1a2b3c4d;sums={5,2.5}
 * Sums are written shortest-exact, so a round trip is lossless.
 */
#define STATE_SYNTAX_ERROR(str, why) \
	ereport(ERROR, \
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), \
			 errmsg("invalid input syntax for type %s: \"%s\"", \
					"leadqual.engagement_state", str), \
			 errdetail("%s", why)))

static void
AppendAsOf(StringInfo buf, TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	appendStringInfo(buf, "%04d-%02d-%02d %02d:%02d:%02d",
					 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (fsec != 0)
	{
		char		frac[8];
		int			len;

		/* ".5", not ".500000" */
		len = snprintf(frac, sizeof(frac), ".%06d", (int) fsec);
		while (frac[len - 1] == '0')
			len--;
		appendBinaryStringInfo(buf, frac, len);
	}
	appendStringInfoString(buf, "+00");
}

/* Parses "YYYY-MM-DD HH:MM:SS[.ffffff]+00" (UTC) at *p. */
static bool
ParseAsOf(char **p, TimestampTz *result)
{
	struct pg_tm tm = {0};
	int			n = 0;
	int			fsec = 0;
	char	   *s = *p;

	if (sscanf(s, "%d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n == 0)
		return false;
	s += n;
	if (*s == '.')
	{
		int			digits = 0;

		s++;
		while (isdigit((unsigned char) *s) && digits < 6)
		{
			fsec = fsec * 10 + (*s++ - '0');
			digits++;
		}
		if (digits == 0 || isdigit((unsigned char) *s))
			return false;
		while (digits++ < 6)
			fsec *= 10;
	}
	if (strncmp(s, "+00", 3) != 0)
		return false;
	s += 3;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
		tm.tm_mday > day_tab[isleap(tm.tm_year)][tm.tm_mon - 1] ||
		tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59 ||
		tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
		return false;
	if (tm2timestamp(&tm, fsec, NULL, result) != 0 || TIMESTAMP_NOT_FINITE(*result))
		return false;
	*p = s;
	return true;
}

static bool
Expect(char **p, const char *word)
{
	size_t		len = strlen(word);

	if (strncmp(*p, word, len) != 0)
		return false;
	*p += len;
	return true;
}

/* Parses "{n,n,...}" at *p (the brace included) into a palloc'd array. */
static double *
ParseNumbers(char **pp, const char *str, int *count)
{
	char	   *p = *pp;
	int			n = 0;
	int			cap = 8;
	double	   *nums = palloc(sizeof(double) * cap);

	if (!Expect(&p, "{"))
		STATE_SYNTAX_ERROR(str, "Expected {...}.");
	if (*p != '}')
	{
		for (;;)
		{
			if (n == cap)
			{
				cap *= 2;
				nums = repalloc(nums, sizeof(double) * cap);
			}
			if (*p == '\0' || *p == ',' || *p == '}' || isspace((unsigned char) *p))
				STATE_SYNTAX_ERROR(str, "A number is missing.");
			nums[n++] = float8in_internal_compat(p, &p, "double precision", str);
			if (*p == ',')
				p++;
			else
				break;
		}
	}
	if (!Expect(&p, "}"))
		STATE_SYNTAX_ERROR(str, "Expected } after the numbers.");
	*pp = p;
	*count = n;
	return nums;
}

static int
HexDigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Reads the text form of a rule set value's state: v2:rules=<hash>;as_of=...;sums={...};caps={...} */
static EngagementState *
StateInV2(char *str, char *p)
{
	uint8		hash[32];
	TimestampTz as_of;
	double	   *sums;
	double	   *caps;
	int			nsums;
	int			ncaps;
	EngagementState *st;
	Size		size;

	if (!Expect(&p, "rules="))
		STATE_SYNTAX_ERROR(str, "Expected rules=<64 hexadecimal digits>.");
	for (int i = 0; i < 32; i++)
	{
		int			hi = HexDigit(p[0]);
		int			lo = hi < 0 ? -1 : HexDigit(p[1]);

		if (lo < 0)
			STATE_SYNTAX_ERROR(str, "Expected rules=<64 lower-case hexadecimal digits>.");
		hash[i] = (uint8) (hi * 16 + lo);
		p += 2;
	}
	if (!Expect(&p, ";as_of=") || !ParseAsOf(&p, &as_of))
		STATE_SYNTAX_ERROR(str, "Expected as_of=YYYY-MM-DD HH:MM:SS[.ffffff]+00.");
	if (!Expect(&p, ";sums="))
		STATE_SYNTAX_ERROR(str, "Expected sums={...}.");
	sums = ParseNumbers(&p, str, &nsums);
	if (!Expect(&p, ";caps="))
		STATE_SYNTAX_ERROR(str, "Expected caps={...}.");
	caps = ParseNumbers(&p, str, &ncaps);
	if (*p != '\0')
		STATE_SYNTAX_ERROR(str, "Unexpected text after the caps.");
	if (ncaps != nsums)
		STATE_SYNTAX_ERROR(str, "There must be as many caps as sums.");
	for (int i = 0; i < ncaps; i++)
		if (isinf(caps[i]))
			STATE_SYNTAX_ERROR(str, "A cap must be a finite number or NaN (no cap).");

	size = STATE_SIZE_V2(nsums);
	st = palloc0(size);
	SET_VARSIZE(st, size);
	st->version = ENGAGEMENT_STATE_V2;
	memcpy(&st->fingerprint, hash, sizeof(st->fingerprint));
	st->ntypes = nsums;
	st->as_of = as_of;
	memcpy(st->sums, sums, sizeof(double) * nsums);
	memcpy(STATE_CAPS(st), caps, sizeof(double) * nsums);
	memcpy(STATE_HASH(st), hash, 32);
	return st;
}

PG_FUNCTION_INFO_V1(engagement_state_in);
/* Reads the text form of an engagement state. */
Datum
engagement_state_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	char	   *p = str;
	StringInfoData model;
	TimestampTz as_of;
	unsigned long fp;
	char	   *end;
	int			nsums = 0;
	int			cap = 8;
	double	   *sums = palloc(sizeof(double) * cap);
	EngagementState *st;
	Size		size;

	if (Expect(&p, "v2:"))
		PG_RETURN_POINTER(StateInV2(str, p));
	if (!Expect(&p, "v1:"))
		STATE_SYNTAX_ERROR(str, "The text must start with the version marker \"v1:\" or \"v2:\".");

	if (!Expect(&p, "model=\""))
		STATE_SYNTAX_ERROR(str, "Expected model=\"...\".");
	initStringInfo(&model);
	for (;;)
	{
		if (*p == '\0')
			STATE_SYNTAX_ERROR(str, "The model name is not terminated.");
		if (*p == '"')
		{
			if (p[1] != '"')
				break;
			p++;				/* "" stands for one quote */
		}
		appendStringInfoChar(&model, *p++);
	}
	p++;
	if (model.len == 0)
		STATE_SYNTAX_ERROR(str, "The model name is empty.");

	if (!Expect(&p, ";as_of=") || !ParseAsOf(&p, &as_of))
		STATE_SYNTAX_ERROR(str, "Expected as_of=YYYY-MM-DD HH:MM:SS[.ffffff]+00.");

	if (!Expect(&p, ";rules=") || !isxdigit((unsigned char) *p))
		STATE_SYNTAX_ERROR(str, "Expected rules=<8 hexadecimal digits>.");
	errno = 0;
	fp = strtoul(p, &end, 16);
	if (errno != 0 || end - p != 8)
		STATE_SYNTAX_ERROR(str, "Expected rules=<8 hexadecimal digits>.");
	p = end;

	if (!Expect(&p, ";sums={"))
		STATE_SYNTAX_ERROR(str, "Expected sums={...}.");
	if (*p != '}')
	{
		for (;;)
		{
			if (nsums == cap)
			{
				cap *= 2;
				sums = repalloc(sums, sizeof(double) * cap);
			}
			if (*p == '\0' || *p == ',' || *p == '}' || isspace((unsigned char) *p))
				STATE_SYNTAX_ERROR(str, "A sum is missing.");
			sums[nsums++] = float8in_internal_compat(p, &p, "double precision", str);
			if (*p == ',')
				p++;
			else
				break;
		}
	}
	if (!Expect(&p, "}") || *p != '\0')
		STATE_SYNTAX_ERROR(str, "Unexpected text after the sums.");

	size = STATE_SIZE(nsums, model.len);
	st = palloc0(size);
	SET_VARSIZE(st, size);
	st->version = ENGAGEMENT_STATE_VERSION;
	st->fingerprint = (uint32) fp;
	st->ntypes = nsums;
	st->as_of = as_of;
	memcpy(st->sums, sums, sizeof(double) * nsums);
	memcpy(STATE_MODEL(st), model.data, model.len);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(engagement_state_out);
/* Writes the text form of an engagement state. */
Datum
engagement_state_out(PG_FUNCTION_ARGS)
{
	EngagementState *st = GetState(fcinfo, 0);
	StringInfoData buf;
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	initStringInfo(&buf);
	if (st->version == ENGAGEMENT_STATE_V2)
	{
		appendStringInfoString(&buf, "v2:rules=");
		AppendHex(&buf, STATE_HASH(st), 32);
		appendStringInfoString(&buf, ";as_of=");
		AppendAsOf(&buf, st->as_of);
		for (int part = 0; part < 2; part++)
		{
			appendStringInfoString(&buf, part == 0 ? ";sums={" : "};caps={");
			for (int i = 0; i < st->ntypes; i++)
			{
				if (i > 0)
					appendStringInfoChar(&buf, ',');
				double_to_shortest_decimal_buf(part == 0 ? st->sums[i] : STATE_CAPS(st)[i], num);
				appendStringInfoString(&buf, num);
			}
		}
		appendStringInfoChar(&buf, '}');
		PG_RETURN_CSTRING(buf.data);
	}
	appendStringInfoString(&buf, "v1:model=\"");
	for (const char *m = STATE_MODEL(st); *m; m++)
	{
		if (*m == '"')
			appendStringInfoChar(&buf, '"');
		appendStringInfoChar(&buf, *m);
	}
	appendStringInfoString(&buf, "\";as_of=");
	AppendAsOf(&buf, st->as_of);
	appendStringInfo(&buf, ";rules=%08x;sums={", st->fingerprint);
	for (int i = 0; i < st->ntypes; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		double_to_shortest_decimal_buf(st->sums[i], num);
		appendStringInfoString(&buf, num);
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

PG_FUNCTION_INFO_V1(engagement_state_send);
/* Writes the binary form: version, fingerprint, as_of, model, sums. */
Datum
engagement_state_send(PG_FUNCTION_ARGS)
{
	EngagementState *st = GetState(fcinfo, 0);
	const char *model = STATE_MODEL(st);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, st->version);
	if (st->version == ENGAGEMENT_STATE_V2)
	{
		pq_sendbytes(&buf, (const char *) STATE_HASH(st), 32);
		pq_sendint64(&buf, st->as_of);
		pq_sendint32(&buf, st->ntypes);
		for (int i = 0; i < st->ntypes; i++)
			pq_sendfloat8(&buf, st->sums[i]);
		for (int i = 0; i < st->ntypes; i++)
			pq_sendfloat8(&buf, STATE_CAPS(st)[i]);
		PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
	}
	pq_sendint32(&buf, st->fingerprint);
	pq_sendint64(&buf, st->as_of);
	pq_sendcountedtext_compat(&buf, model, strlen(model));
	pq_sendint32(&buf, st->ntypes);
	for (int i = 0; i < st->ntypes; i++)
		pq_sendfloat8(&buf, st->sums[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Reads the binary form of a rule set value's state (after the version byte). */
static EngagementState *
StateRecvV2(StringInfo msg)
{
	uint8		hash[32];
	TimestampTz as_of;
	int			ntypes;
	EngagementState *st;

	pq_copymsgbytes(msg, (char *) hash, 32);
	as_of = pq_getmsgint64(msg);
	if (TIMESTAMP_NOT_FINITE(as_of) || !IS_VALID_TIMESTAMP(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("engagement state has an invalid as_of")));
	ntypes = pq_getmsgint(msg, 4);
	if (ntypes < 0 || ntypes > (msg->len - msg->cursor) / (int) (2 * sizeof(double)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("engagement state has an invalid number of sums")));
	st = palloc0(STATE_SIZE_V2(ntypes));
	SET_VARSIZE(st, STATE_SIZE_V2(ntypes));
	st->version = ENGAGEMENT_STATE_V2;
	memcpy(&st->fingerprint, hash, sizeof(st->fingerprint));
	st->ntypes = ntypes;
	st->as_of = as_of;
	for (int i = 0; i < ntypes; i++)
		st->sums[i] = pq_getmsgfloat8(msg);
	for (int i = 0; i < ntypes; i++)
	{
		STATE_CAPS(st)[i] = pq_getmsgfloat8(msg);
		if (isinf(STATE_CAPS(st)[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("engagement state has an infinite cap")));
	}
	memcpy(STATE_HASH(st), hash, 32);
	pq_getmsgend(msg);
	return st;
}

PG_FUNCTION_INFO_V1(engagement_state_recv);
/* Reads the binary form written by engagement_state_send. */
Datum
engagement_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	int			version;
	uint32		fp;
	TimestampTz as_of;
	int			len;
	int			nbytes;
	char	   *model;
	int			ntypes;
	EngagementState *st;
	Size		size;

	version = pq_getmsgbyte(msg);
	if (version == ENGAGEMENT_STATE_V2)
		PG_RETURN_POINTER(StateRecvV2(msg));
	if (version != ENGAGEMENT_STATE_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported engagement state version %d", version)));
	fp = pq_getmsgint(msg, 4);
	as_of = pq_getmsgint64(msg);
	if (TIMESTAMP_NOT_FINITE(as_of) || !IS_VALID_TIMESTAMP(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("engagement state has an invalid as_of")));
	len = pq_getmsgint(msg, 4);
	if (len <= 0 || len > msg->len - msg->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("engagement state has an invalid model name length")));
	model = pq_getmsgtext(msg, len, &nbytes);
	ntypes = pq_getmsgint(msg, 4);
	if (ntypes < 0 || ntypes > (msg->len - msg->cursor) / (int) sizeof(double))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("engagement state has an invalid number of sums")));

	size = STATE_SIZE(ntypes, nbytes);
	st = palloc0(size);
	SET_VARSIZE(st, size);
	st->version = ENGAGEMENT_STATE_VERSION;
	st->fingerprint = fp;
	st->ntypes = ntypes;
	st->as_of = as_of;
	for (int i = 0; i < ntypes; i++)
		st->sums[i] = pq_getmsgfloat8(msg);
	memcpy(STATE_MODEL(st), model, nbytes);
	pq_getmsgend(msg);
	PG_RETURN_POINTER(st);
}
