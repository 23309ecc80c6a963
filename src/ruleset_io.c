/*
 * ruleset_io.c — the leadqual.ruleset type: a model's definition as a value.
 *
 * A value is a small header (format version, SHA-256 content hash) and the
 * canonical JSON document of a ModelDef (ruleset.h), so that the hash is read
 * without parsing and the text output is a copy.  The document:
 *
 *   {"format": 1, "hash": "<sha-256 hex>", "model": ..., "mql_threshold": ...,
 *    "fit_threshold": ..., "framework": ..., "engagement_column": ...,
 *    "half_life": ..., "rules": [...], "frameworks": [...], "event_rules": [...]}
 *
 * (README.md, "Rule sets as values", documents every field.)  The hash is
 * SHA-256 of the canonical document without its "hash" member: the same
 * content gives the same hash on every node and after every round trip.
 *
 * Input parses with PostgreSQL's jsonb input (syntax errors, depth limits and
 * Unicode handling are its own), refuses duplicate keys with the JSON parser,
 * then walks the fixed schema and validates what can be validated without a
 * table, with the SQLSTATEs of rule rows (validate.c, predicate.c).  Whatever
 * is given, the stored document is the canonical re-serialisation.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/jsonapi.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonfuncs.h"
#include "utils/memutils.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "engagement.h"
#include "leadqual.h"
#include "predicate.h"
#include "ruleset.h"

#define TYPE_NAME "leadqual.ruleset"

/* ---------------------------------------------------------------------------
 * Writing: ModelDef -> canonical document
 */

static void
AppendString(StringInfo buf, const char *s)
{
	if (s == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, s);
}

static void
AppendNumber(StringInfo buf, double v)
{
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(v, num);
	appendStringInfoString(buf, num);
}

/* A half-life in canonical interval text: "30 days", "1 day 12:00:00", "00:00:00.5". */
static void
AppendHalfLife(StringInfo buf, bool has, int64 us)
{
	int64		days;
	int64		rem;

	if (!has)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	days = us / USECS_PER_DAY;
	rem = us % USECS_PER_DAY;
	appendStringInfoChar(buf, '"');
	if (days != 0)
		appendStringInfo(buf, INT64_FORMAT " day%s", days, days == 1 ? "" : "s");
	if (rem != 0 || days == 0)
	{
		int			h = (int) (rem / USECS_PER_HOUR);
		int			m = (int) ((rem % USECS_PER_HOUR) / USECS_PER_MINUTE);
		int			sec = (int) ((rem % USECS_PER_MINUTE) / USECS_PER_SEC);
		int			frac = (int) (rem % USECS_PER_SEC);

		if (days != 0)
			appendStringInfoChar(buf, ' ');
		appendStringInfo(buf, "%02d:%02d:%02d", h, m, sec);
		if (frac != 0)
		{
			char		f[8];
			int			len = snprintf(f, sizeof(f), ".%06d", frac);

			while (f[len - 1] == '0')
				len--;
			appendBinaryStringInfo(buf, f, len);
		}
	}
	appendStringInfoChar(buf, '"');
}

static void
AppendPredicate(StringInfo buf, const char *attribute, const char *op, const char *value)
{
	appendStringInfoString(buf, "\"attribute\": ");
	AppendString(buf, attribute);
	appendStringInfoString(buf, ", \"op\": ");
	AppendString(buf, op);
	appendStringInfoString(buf, ", \"value\": ");
	AppendString(buf, value);
}

static void
HashHex(const uint8 *hash, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < RULESET_HASH_LEN; i++)
	{
		hex[2 * i] = digits[hash[i] >> 4];
		hex[2 * i + 1] = digits[hash[i] & 15];
	}
	hex[2 * RULESET_HASH_LEN] = '\0';
}

static void
Sha256(const char *a, int alen, const char *b, int blen, uint8 *hash)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) a, alen) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) b, blen) < 0 ||
		pg_cryptohash_final(ctx, hash, RULESET_HASH_LEN) < 0)
		elog(ERROR, "could not compute a SHA-256 hash");
	pg_cryptohash_free(ctx);
}

#define HASH_MEMBER_PREFIX "\"hash\": \""
/* the member left out of the hash: "hash": "<hex>",<newline> */
#define HASH_MEMBER_LEN (sizeof(HASH_MEMBER_PREFIX) - 1 + 2 * RULESET_HASH_LEN + 3)

RulesetData *
ruleset_serialize(const ModelDef *def)
{
	StringInfoData buf;
	int			hash_at;
	uint8		hash[RULESET_HASH_LEN];
	char		hex[2 * RULESET_HASH_LEN + 1];
	RulesetData *rs;
	Size		size;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"format\": %d, ", RULESET_FORMAT);
	hash_at = buf.len;
	appendStringInfoString(&buf, HASH_MEMBER_PREFIX);
	appendStringInfoSpaces(&buf, 2 * RULESET_HASH_LEN);
	appendStringInfoString(&buf, "\",\n");
	Assert(buf.len - hash_at == HASH_MEMBER_LEN);
	appendStringInfoChar(&buf, ' ');

	appendStringInfoString(&buf, "\"model\": ");
	AppendString(&buf, def->model);
	appendStringInfoString(&buf, ", \"mql_threshold\": ");
	AppendNumber(&buf, def->mql_threshold);
	appendStringInfoString(&buf, ", \"fit_threshold\": ");
	if (def->has_fit_threshold)
		AppendNumber(&buf, def->fit_threshold);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"framework\": ");
	AppendString(&buf, def->framework);
	appendStringInfoString(&buf, ", \"engagement_column\": ");
	AppendString(&buf, def->engagement_column);
	appendStringInfoString(&buf, ", \"half_life\": ");
	AppendHalfLife(&buf, def->has_half_life, def->half_life_us);

	appendStringInfoString(&buf, ",\n \"rules\": [");
	for (int i = 0; i < def->nrules; i++)
	{
		const RuleDef *r = &def->rules[i];

		appendStringInfo(&buf, "%s\n  {\"rule_id\": " INT64_FORMAT ", \"name\": ",
						 i > 0 ? "," : "", r->rule_id);
		AppendString(&buf, r->name);
		appendStringInfo(&buf, ", \"category\": \"%s\", ", r->fit ? "fit" : "intent");
		AppendPredicate(&buf, r->attribute, r->op, r->value);
		appendStringInfoString(&buf, ", \"points\": ");
		AppendNumber(&buf, r->points);
		appendStringInfo(&buf, ", \"knockout\": %s}", r->knockout ? "true" : "false");
	}
	appendStringInfoString(&buf, "],\n \"frameworks\": [");
	for (int f = 0; f < def->nframeworks; f++)
	{
		const FrameworkDef *fw = &def->frameworks[f];

		appendStringInfo(&buf, "%s\n  {\"framework\": ", f > 0 ? "," : "");
		AppendString(&buf, fw->framework);
		appendStringInfoString(&buf, ", \"criteria\": [");
		for (int c = 0; c < fw->ncriteria; c++)
		{
			const CriterionDef *cd = &fw->criteria[c];

			appendStringInfo(&buf, "%s{\"criterion\": ", c > 0 ? ", " : "");
			AppendString(&buf, cd->criterion);
			appendStringInfoString(&buf, ", ");
			if (cd->has_check)
				AppendPredicate(&buf, cd->attribute, cd->op, cd->value);
			else
				AppendPredicate(&buf, NULL, NULL, NULL);
			appendStringInfoChar(&buf, '}');
		}
		appendStringInfoString(&buf, "]}");
	}
	appendStringInfoString(&buf, "],\n \"event_rules\": [");
	for (int i = 0; i < def->nevents; i++)
	{
		const EventRuleDef *e = &def->events[i];

		appendStringInfo(&buf, "%s\n  {\"event_type\": ", i > 0 ? "," : "");
		AppendString(&buf, e->event_type);
		appendStringInfoString(&buf, ", \"points\": ");
		AppendNumber(&buf, e->points);
		appendStringInfoString(&buf, ", \"max_points\": ");
		if (e->has_cap)
			AppendNumber(&buf, e->max_points);
		else
			appendStringInfoString(&buf, "null");
		appendStringInfoString(&buf, ", \"half_life\": ");
		AppendHalfLife(&buf, e->has_half_life, e->half_life_us);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");

	/* the hash covers the document without its hash member */
	Sha256(buf.data, hash_at, buf.data + hash_at + HASH_MEMBER_LEN,
		   buf.len - hash_at - HASH_MEMBER_LEN, hash);
	HashHex(hash, hex);
	memcpy(buf.data + hash_at + strlen(HASH_MEMBER_PREFIX), hex, 2 * RULESET_HASH_LEN);

	size = RULESET_HEADER_SIZE + buf.len + 1;
	rs = palloc0(size);
	SET_VARSIZE(rs, size);
	rs->format = RULESET_FORMAT;
	memcpy(rs->hash, hash, RULESET_HASH_LEN);
	memcpy(rs->doc, buf.data, buf.len + 1);
	pfree(buf.data);
	return rs;
}

/* ---------------------------------------------------------------------------
 * Reading: document -> ModelDef
 */

/* (raises an error: never returns) */
static void Malformed(const char *fmt,...) pg_attribute_printf(1, 2);

static void
Malformed(const char *fmt,...)
{
	StringInfoData detail;

	initStringInfo(&detail);
	for (;;)
	{
		va_list		ap;
		int			needed;

		va_start(ap, fmt);
		needed = appendStringInfoVA(&detail, fmt, ap);
		va_end(ap);
		if (needed == 0)
			break;
		enlargeStringInfo(&detail, needed);
	}
	/* a key from the input can be long: cut it short, at a character's end */
	detail.data[pg_mbcliplen(detail.data, detail.len, 500)] = '\0';
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s", TYPE_NAME),
			 errdetail("%s", detail.data),
			 errhint("The text form is the JSON document that leadqual.ruleset(model) returns; README.md describes it.")));
}

/* -- the parser: one pass of PostgreSQL's JSON parser, building the ModelDef -- */

#if PG_VERSION_NUM >= 160000
#define JSON_ACTION_TYPE JsonParseErrorType
#define JSON_ACTION_DONE return JSON_SUCCESS
#else
#define JSON_ACTION_TYPE void
#define JSON_ACTION_DONE return
#endif

/* What an object or array of the schema is. */
typedef enum NodeKind
{
	N_TOP, N_RULE, N_FRAMEWORK, N_CRITERION, N_EVENT,	/* objects */
	N_RULES, N_FRAMEWORKS, N_CRITERIA, N_EVENTS		/* arrays */
} NodeKind;

/* The keys of each object kind; a key's position is its bit in Frame.seen. */
static const char *const TopKeys[] = {"format", "hash", "model", "mql_threshold", "fit_threshold",
	"framework", "engagement_column", "half_life", "rules", "frameworks", "event_rules", NULL};
static const char *const RuleKeys[] = {"rule_id", "name", "category", "attribute", "op", "value",
	"points", "knockout", NULL};
static const char *const FrameworkKeys[] = {"framework", "criteria", NULL};
static const char *const CriterionKeys[] = {"criterion", "attribute", "op", "value", NULL};
static const char *const EventKeys[] = {"event_type", "points", "max_points", "half_life", NULL};

enum
{
	K_FORMAT, K_HASH, K_MODEL, K_MQL, K_FIT, K_FRAMEWORK, K_ENGAGEMENT, K_HALF_LIFE, K_RULES,
	K_FRAMEWORKS, K_EVENT_RULES
};
enum
{
	R_ID, R_NAME, R_CATEGORY, R_ATTRIBUTE, R_OP, R_VALUE, R_POINTS, R_KNOCKOUT
};
enum
{
	C_CRITERION, C_ATTRIBUTE, C_OP, C_VALUE
};
enum
{
	E_TYPE, E_POINTS, E_MAX, E_HALF_LIFE
};

typedef struct Frame
{
	NodeKind	kind;
	int			key;			/* objects: the key whose value comes next, -1 none */
	uint32		seen;			/* objects: keys seen */
	int			index;			/* the element's index in its array */
	int			count;			/* arrays: elements so far */
} Frame;

#define MAX_DEPTH 5				/* top, rules, rule; frameworks, framework, criteria, criterion */

typedef struct ParseState
{
	ModelDef   *def;
	Frame		stack[MAX_DEPTH + 1];
	int			depth;			/* frames on the stack */
	int			rules_cap;
	int			frameworks_cap;
	int			criteria_cap;
	int			events_cap;
	char	   *category;		/* the current rule's, checked when it is complete */
	char	   *bad_category;	/* the first unknown category, and its rule */
	int			bad_category_rule;
	char	   *half_life;		/* the model's (text), read after the parse */
	char	   *event_half_life;	/* per event: kept in a parallel array */
	char	  **event_half_lives;
	bool		has_hash;
	uint8	   *hash;
	int64		format;
} ParseState;

static const char *const *
KeysOf(NodeKind kind)
{
	switch (kind)
	{
		case N_TOP:
			return TopKeys;
		case N_RULE:
			return RuleKeys;
		case N_FRAMEWORK:
			return FrameworkKeys;
		case N_CRITERION:
			return CriterionKeys;
		case N_EVENT:
			return EventKeys;
		default:
			return NULL;
	}
}

/* The path of frame depth d (and key, if >= 0), for messages: rules[3].points */
static char *
PathOf(ParseState *ps, int d, int key)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 1; i <= d; i++)
	{
		Frame	   *f = &ps->stack[i];
		Frame	   *parent = &ps->stack[i - 1];

		if (f->kind >= N_RULES)
		{
			if (buf.len > 0)
				appendStringInfoChar(&buf, '.');
			appendStringInfoString(&buf, KeysOf(parent->kind)[parent->key]);
		}
		else
			appendStringInfo(&buf, "[%d]", f->index);
	}
	if (key >= 0)
	{
		if (buf.len > 0)
			appendStringInfoChar(&buf, '.');
		appendStringInfoString(&buf, KeysOf(ps->stack[d].kind)[key]);
	}
	return buf.len > 0 ? buf.data : "The document";
}

static void
Grow(void **arr, int *cap, int n, Size elem)
{
	if (n < *cap)
		return;
	*cap = Max(*cap * 2, 16);
	*arr = *arr ? repalloc_huge(*arr, *cap * elem) : palloc_extended(*cap * elem, MCXT_ALLOC_HUGE);
}

static JSON_ACTION_TYPE
SaxObjectStart(void *state)
{
	ParseState *ps = state;
	Frame	   *parent = ps->depth > 0 ? &ps->stack[ps->depth - 1] : NULL;
	NodeKind	kind;
	ModelDef   *def = ps->def;
	Frame	   *f;

	if (parent == NULL)
		kind = N_TOP;
	else if (parent->kind < N_RULES)
	{
		/* no key of the schema holds an object */
		const char *key = KeysOf(parent->kind)[parent->key];

		Malformed("%s must be %s.", PathOf(ps, ps->depth - 1, parent->key),
				  strcmp(key, "rules") == 0 || strcmp(key, "frameworks") == 0 ||
				  strcmp(key, "criteria") == 0 || strcmp(key, "event_rules") == 0 ?
				  "an array" : "a scalar");
		JSON_ACTION_DONE;
	}
	else
	{
		kind = parent->kind - N_RULES + N_RULE;
		switch (parent->kind)
		{
			case N_RULES:
				Grow((void **) &def->rules, &ps->rules_cap, def->nrules, sizeof(RuleDef));
				memset(&def->rules[def->nrules++], 0, sizeof(RuleDef));
				break;
			case N_FRAMEWORKS:
				Grow((void **) &def->frameworks, &ps->frameworks_cap, def->nframeworks,
					 sizeof(FrameworkDef));
				memset(&def->frameworks[def->nframeworks++], 0, sizeof(FrameworkDef));
				ps->criteria_cap = 0;
				break;
			case N_CRITERIA:
				{
					FrameworkDef *fw = &def->frameworks[def->nframeworks - 1];

					Grow((void **) &fw->criteria, &ps->criteria_cap, fw->ncriteria,
						 sizeof(CriterionDef));
					memset(&fw->criteria[fw->ncriteria++], 0, sizeof(CriterionDef));
				}
				break;
			case N_EVENTS:
				{
					int			cap = ps->events_cap;

					Grow((void **) &def->events, &ps->events_cap, def->nevents, sizeof(EventRuleDef));
					ps->events_cap = cap;
					Grow((void **) &ps->event_half_lives, &ps->events_cap, def->nevents,
						 sizeof(char *));
					memset(&def->events[def->nevents], 0, sizeof(EventRuleDef));
					ps->event_half_lives[def->nevents++] = NULL;
				}
				break;
			default:
				break;
		}
	}
	if (ps->depth > MAX_DEPTH)
		Malformed("The document is nested too deeply.");
	f = &ps->stack[ps->depth++];
	f->kind = kind;
	f->key = -1;
	f->seen = 0;
	f->index = parent ? parent->count++ : 0;
	f->count = 0;
	JSON_ACTION_DONE;
}

static JSON_ACTION_TYPE
SaxObjectEnd(void *state)
{
	ParseState *ps = state;
	Frame	   *f = &ps->stack[ps->depth - 1];
	const char *const *keys = KeysOf(f->kind);

	for (int i = 0; keys[i] != NULL; i++)
		if (!(f->seen & (1 << i)) && !(f->kind == N_TOP && i == K_HASH))
			Malformed("%s lacks the key \"%s\".", PathOf(ps, ps->depth - 1, -1), keys[i]);
	if (f->kind == N_RULE)
	{
		RuleDef    *r = &ps->def->rules[ps->def->nrules - 1];

		r->fit = strcmp(ps->category, "fit") == 0;
		/* reported with the rule's label once the model's name is known */
		if (!r->fit && strcmp(ps->category, "intent") != 0 && ps->bad_category == NULL)
		{
			ps->bad_category = ps->category;
			ps->bad_category_rule = ps->def->nrules - 1;
		}
	}
	else if (f->kind == N_CRITERION)
	{
		FrameworkDef *fw = &ps->def->frameworks[ps->def->nframeworks - 1];
		CriterionDef *c = &fw->criteria[fw->ncriteria - 1];
		const char *w = PathOf(ps, ps->depth - 1, -1);

		c->has_check = c->attribute != NULL;
		if (!c->has_check && (c->op != NULL || c->value != NULL))
			Malformed("%s has no attribute, so op and value must be null (a criterion without a check is unmet).", w);
		if (c->has_check && c->op == NULL)
			Malformed("%s.op must be a string when it has an attribute.", w);
	}
	ps->depth--;
	JSON_ACTION_DONE;
}

static JSON_ACTION_TYPE
SaxArrayStart(void *state)
{
	ParseState *ps = state;
	Frame	   *parent = ps->depth > 0 ? &ps->stack[ps->depth - 1] : NULL;
	NodeKind	kind = N_RULES;
	Frame	   *f;

	if (parent == NULL)
		Malformed("The document must be a JSON object.");
	else if (parent->kind >= N_RULES)
		Malformed("%s[%d] must be an object.", PathOf(ps, ps->depth - 1, -1), parent->count);
	else
	{
		int			key = parent->key;

		if (parent->kind == N_TOP && key == K_RULES)
			kind = N_RULES;
		else if (parent->kind == N_TOP && key == K_FRAMEWORKS)
			kind = N_FRAMEWORKS;
		else if (parent->kind == N_TOP && key == K_EVENT_RULES)
			kind = N_EVENTS;
		else if (parent->kind == N_FRAMEWORK && key == 1)
			kind = N_CRITERIA;
		else
			Malformed("%s must be a scalar.", PathOf(ps, ps->depth - 1, key));
	}
	f = &ps->stack[ps->depth++];
	f->kind = kind;
	f->key = -1;
	f->seen = 0;
	f->index = 0;
	f->count = 0;
	JSON_ACTION_DONE;
}

static JSON_ACTION_TYPE
SaxArrayEnd(void *state)
{
	ParseState *ps = state;

	ps->depth--;
	JSON_ACTION_DONE;
}

static JSON_ACTION_TYPE
SaxField(void *state, char *fname, bool isnull)
{
	ParseState *ps = state;
	Frame	   *f = &ps->stack[ps->depth - 1];
	const char *const *keys = KeysOf(f->kind);
	int			i;

	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], fname) == 0)
			break;
	if (keys[i] == NULL)
		Malformed("%s has an unknown key \"%s\".", PathOf(ps, ps->depth - 1, -1), fname);
	if (f->seen & (1 << i))
		Malformed("The key \"%s\" appears twice in one object.", fname);
	f->seen |= 1 << i;
	f->key = i;
	pfree(fname);
	JSON_ACTION_DONE;
}

/* -- scalars -- */

static char *
ScalarString(ParseState *ps, char *token, JsonTokenType type, bool nullable)
{
	Frame	   *f = &ps->stack[ps->depth - 1];

	if (type == JSON_TOKEN_NULL && nullable)
		return NULL;
	if (type != JSON_TOKEN_STRING)
		Malformed("%s must be a string%s.", PathOf(ps, ps->depth - 1, f->key),
				  nullable ? " or null" : "");
	return token;
}

static bool
ScalarNumber(ParseState *ps, char *token, JsonTokenType type, bool nullable, double *result)
{
	Frame	   *f = &ps->stack[ps->depth - 1];
	char	   *end;

	if (type == JSON_TOKEN_NULL && nullable)
		return false;
	if (type != JSON_TOKEN_NUMBER)
		Malformed("%s must be a number%s.", PathOf(ps, ps->depth - 1, f->key),
				  nullable ? " or null" : "");
	errno = 0;
	*result = strtod(token, &end);
	/* as float8in: out of range unless a denormal */
	if (errno == ERANGE && (*result == 0.0 || isinf(*result)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range for type double precision",
						PathOf(ps, ps->depth - 1, f->key))));
	return true;
}

static int64
ScalarInteger(ParseState *ps, char *token, JsonTokenType type)
{
	Frame	   *f = &ps->stack[ps->depth - 1];
	const char *p = token;

	if (type == JSON_TOKEN_NUMBER)
	{
		if (*p == '-')
			p++;
		while (isdigit((unsigned char) *p))
			p++;
	}
	if (type != JSON_TOKEN_NUMBER || *p != '\0')
		Malformed("%s must be an integer.", PathOf(ps, ps->depth - 1, f->key));
	return pg_strtoint64(token);
}

static bool
ScalarBool(ParseState *ps, JsonTokenType type)
{
	Frame	   *f = &ps->stack[ps->depth - 1];

	if (type != JSON_TOKEN_TRUE && type != JSON_TOKEN_FALSE)
		Malformed("%s must be true or false.", PathOf(ps, ps->depth - 1, f->key));
	return type == JSON_TOKEN_TRUE;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
ReadHash(ParseState *ps, const char *hex)
{
	if (strlen(hex) != 2 * RULESET_HASH_LEN)
		Malformed("hash must be 64 hexadecimal digits.");
	for (int i = 0; i < RULESET_HASH_LEN; i++)
	{
		int			hi = hex_digit(hex[2 * i]);
		int			lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			Malformed("hash must be 64 hexadecimal digits.");
		ps->hash[i] = (uint8) (hi * 16 + lo);
	}
	ps->has_hash = true;
}

static JSON_ACTION_TYPE
SaxScalar(void *state, char *token, JsonTokenType type)
{
	ParseState *ps = state;
	Frame	   *f;
	ModelDef   *def = ps->def;

	if (ps->depth == 0)
		Malformed("The document must be a JSON object.");
	f = &ps->stack[ps->depth - 1];
	if (f->kind >= N_RULES)
		Malformed("%s[%d] must be an object.", PathOf(ps, ps->depth - 1, -1), f->count);

	switch (f->kind)
	{
		case N_TOP:
			switch (f->key)
			{
				case K_FORMAT:
					ps->format = ScalarInteger(ps, token, type);
					if (ps->format != RULESET_FORMAT)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("unsupported %s format version " INT64_FORMAT, TYPE_NAME,
										ps->format),
								 errdetail("This version of leadqual reads format %d.", RULESET_FORMAT)));
					break;
				case K_HASH:
					ReadHash(ps, ScalarString(ps, token, type, false));
					break;
				case K_MODEL:
					def->model = ScalarString(ps, token, type, false);
					break;
				case K_MQL:
					(void) ScalarNumber(ps, token, type, false, &def->mql_threshold);
					break;
				case K_FIT:
					def->has_fit_threshold = ScalarNumber(ps, token, type, true, &def->fit_threshold);
					break;
				case K_FRAMEWORK:
					def->framework = ScalarString(ps, token, type, true);
					break;
				case K_ENGAGEMENT:
					def->engagement_column = ScalarString(ps, token, type, true);
					break;
				case K_HALF_LIFE:
					ps->half_life = ScalarString(ps, token, type, true);
					break;
				default:
					Malformed("%s must be an array.", PathOf(ps, ps->depth - 1, f->key));
			}
			break;
		case N_RULE:
			{
				RuleDef    *r = &def->rules[def->nrules - 1];

				switch (f->key)
				{
					case R_ID:
						r->rule_id = ScalarInteger(ps, token, type);
						break;
					case R_NAME:
						r->name = ScalarString(ps, token, type, false);
						break;
					case R_CATEGORY:
						ps->category = ScalarString(ps, token, type, false);
						break;
					case R_ATTRIBUTE:
						r->attribute = ScalarString(ps, token, type, false);
						break;
					case R_OP:
						r->op = ScalarString(ps, token, type, false);
						break;
					case R_VALUE:
						r->value = ScalarString(ps, token, type, true);
						break;
					case R_POINTS:
						(void) ScalarNumber(ps, token, type, false, &r->points);
						break;
					case R_KNOCKOUT:
						r->knockout = ScalarBool(ps, type);
						break;
				}
			}
			break;
		case N_FRAMEWORK:
			if (f->key == 0)
				def->frameworks[def->nframeworks - 1].framework =
					ScalarString(ps, token, type, false);
			else
				Malformed("%s must be an array.", PathOf(ps, ps->depth - 1, f->key));
			break;
		case N_CRITERION:
			{
				FrameworkDef *fw = &def->frameworks[def->nframeworks - 1];
				CriterionDef *c = &fw->criteria[fw->ncriteria - 1];

				switch (f->key)
				{
					case C_CRITERION:
						c->criterion = ScalarString(ps, token, type, false);
						break;
					case C_ATTRIBUTE:
						c->attribute = ScalarString(ps, token, type, true);
						break;
					case C_OP:
						c->op = ScalarString(ps, token, type, true);
						break;
					case C_VALUE:
						c->value = ScalarString(ps, token, type, true);
						break;
				}
			}
			break;
		case N_EVENT:
			{
				EventRuleDef *e = &def->events[def->nevents - 1];

				switch (f->key)
				{
					case E_TYPE:
						e->event_type = ScalarString(ps, token, type, false);
						break;
					case E_POINTS:
						(void) ScalarNumber(ps, token, type, false, &e->points);
						break;
					case E_MAX:
						e->has_cap = ScalarNumber(ps, token, type, true, &e->max_points);
						break;
					case E_HALF_LIFE:
						ps->event_half_lives[def->nevents - 1] = ScalarString(ps, token, type, true);
						break;
				}
			}
			break;
		default:
			break;
	}
	JSON_ACTION_DONE;
}

/* A half-life: interval text (months count 30 days, years 365.25) that is positive. */
static bool
HalfLife(const char *text, const char *label, bool validate, int64 *us)
{
	Interval   *span;

	if (text == NULL)
		return false;
	span = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text),
												 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	*us = engagement_half_life_us(span);
	if (validate && *us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: half_life must be longer than zero, not %s", label, text),
				 errhint("Use null for no decay (or, in an event rule, to take the model's half-life); months count 30 days and years 365.25 days.")));
	return true;
}

static void
CheckSpec(const char *label, const char *attribute, const char *op, const char *value)
{
	PredicateSpec spec;

	spec.label = label;
	spec.attribute = attribute;
	spec.op = op;
	spec.value = value;
	predicate_spec_check(&spec);
}

static void
CheckEventRule(const ModelDef *def, const EventRuleDef *e, const char *label)
{
	if (e->event_type[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event rule of model \"%s\": event_type must not be empty", def->model)));
	validate_points(label, e->points);
	if (!e->has_cap)
		return;
	if (e->max_points < -LEADQUAL_MAX_POINTS || e->max_points > LEADQUAL_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s: max_points %g is out of range", label, e->max_points),
				 errdetail("A cap must lie between -1000000 and 1000000, as points do."),
				 errhint("Use null for no cap.")));
	if (e->max_points == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: max_points 0 would cancel every event of this type", label)));
	if (e->points == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: a cap on an event type worth 0 points means nothing", label)));
	if ((e->max_points > 0) != (e->points > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: max_points %g and points %g have different signs", label,
						e->max_points, e->points)));
}

typedef struct ParseContext
{
	const char *what;
} ParseContext;

static void
ParseErrorContext(void *arg)
{
	ParseContext *pc = arg;

	if (pc->what)
		errcontext("%s of %s", pc->what, TYPE_NAME);
}

/* What the parse cannot check as it goes: order, and (validate) the rules' content. */
static void
CheckDefinition(ModelDef *def, ParseState *ps, bool validate)
{
	ParseContext pc = {NULL};
	ErrorContextCallback errcb;

	def->has_half_life = HalfLife(ps->half_life, psprintf("model \"%s\"", def->model), validate,
								  &def->half_life_us);

	errcb.callback = ParseErrorContext;
	errcb.arg = &pc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (int i = 0; i < def->nrules; i++)
	{
		RuleDef    *r = &def->rules[i];

		pc.what = psprintf("rules[%d]", i);
		if (i > 0 && r->rule_id <= def->rules[i - 1].rule_id)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rules must be in ascending rule_id order, without duplicates"),
					 errdetail("rules[%d] has rule_id " INT64_FORMAT " after " INT64_FORMAT ".",
							   i, r->rule_id, def->rules[i - 1].rule_id),
					 errhint("Points are summed in rule_id order; give a new rule an id above the others.")));
		if (ps->bad_category != NULL && ps->bad_category_rule == i)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rule \"%s\" of model \"%s\": unknown category \"%s\"",
							r->name, def->model, ps->bad_category),
					 errhint("A rule's category is fit or intent.")));
		if (validate)
		{
			char	   *label = psprintf("rule \"%s\" of model \"%s\"", r->name, def->model);

			validate_points(label, r->points);
			CheckSpec(label, r->attribute, r->op, r->value);
		}
	}
	for (int i = 0; i < def->nframeworks; i++)
	{
		FrameworkDef *fw = &def->frameworks[i];

		pc.what = psprintf("frameworks[%d]", i);
		if (i > 0 && strcmp(fw->framework, def->frameworks[i - 1].framework) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("frameworks must be in ascending order of name (bytewise), without duplicates"),
					 errdetail("frameworks[%d] is \"%s\", after \"%s\".", i,
							   fw->framework, def->frameworks[i - 1].framework)));
		if (fw->criteria == NULL)
			fw->criteria = palloc0(sizeof(CriterionDef));
		for (int c = 0; validate && c < fw->ncriteria; c++)
			if (fw->criteria[c].has_check)
				CheckSpec(psprintf("criterion check %s.%s of model \"%s\"", fw->framework,
								   fw->criteria[c].criterion, def->model),
						  fw->criteria[c].attribute, fw->criteria[c].op, fw->criteria[c].value);
	}
	for (int i = 0; i < def->nevents; i++)
	{
		EventRuleDef *e = &def->events[i];
		char	   *label = psprintf("event rule \"%s\" of model \"%s\"", e->event_type, def->model);

		pc.what = psprintf("event_rules[%d]", i);
		if (i > 0 && strcmp(e->event_type, def->events[i - 1].event_type) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("event_rules must be in ascending order of event_type (bytewise), without duplicates"),
					 errdetail("event_rules[%d] is \"%s\", after \"%s\".", i,
							   e->event_type, def->events[i - 1].event_type)));
		e->has_half_life = HalfLife(ps->event_half_lives[i], label, validate, &e->half_life_us);
		if (validate)
			CheckEventRule(def, e, label);
	}
	error_context_stack = errcb.previous;

	/* the arrays are never NULL */
	if (def->rules == NULL)
		def->rules = palloc0(sizeof(RuleDef));
	if (def->frameworks == NULL)
		def->frameworks = palloc0(sizeof(FrameworkDef));
	if (def->events == NULL)
		def->events = palloc0(sizeof(EventRuleDef));
}

/*
 * Parses a document into a ModelDef in the current memory context.  validate
 * false skips the checks of what a value's input already checked (the cache
 * re-reading a stored value).  *hash receives the document's "hash" member,
 * and *has_hash whether it had one.
 */
static ModelDef *
ParseDocument(const char *doc, int len, bool validate, uint8 *hash, bool *has_hash)
{
	ParseState	ps;
	JsonSemAction sem;
	JsonLexContext *lex;

	memset(&ps, 0, sizeof(ps));
	ps.def = palloc0(sizeof(ModelDef));
	ps.hash = hash;
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &ps;
	sem.object_start = SaxObjectStart;
	sem.object_end = SaxObjectEnd;
	sem.array_start = SaxArrayStart;
	sem.array_end = SaxArrayEnd;
	sem.object_field_start = SaxField;
	sem.scalar = SaxScalar;
#if PG_VERSION_NUM >= 170000
	lex = makeJsonLexContextCstringLen(NULL, doc, len, GetDatabaseEncoding(), true);
#else
	lex = makeJsonLexContextCstringLen((char *) doc, len, GetDatabaseEncoding(), true);
#endif
	pg_parse_json_or_ereport(lex, &sem);
	CheckDefinition(ps.def, &ps, validate);
	*has_hash = ps.has_hash;
	return ps.def;
}

ModelDef *
ruleset_parse(const char *doc, int len, bool validate, uint8 *hash)
{
	bool		has_hash;

	return ParseDocument(doc, len, validate, hash, &has_hash);
}

/* Parses, validates and re-serialises a document; refuses a hash that does not match. */
static RulesetData *
ValueFromText(const char *doc, int len)
{
	uint8		given[RULESET_HASH_LEN];
	bool		has_hash;
	ModelDef   *def;
	RulesetData *rs;
	int			i = 0;
	MemoryContext cxt;
	MemoryContext old;

	/* leadqual.ruleset('m') is a cast of a literal, not a call of ruleset(model text) */
	while (i < len && isspace((unsigned char) doc[i]))
		i++;
	if (i == len || doc[i] != '{')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%.*s\"", TYPE_NAME,
						pg_mbcliplen(doc, len, 64), doc),
				 errdetail("A rule set's text form is a JSON object."),
				 errhint("To get a model's rule set, pass the name as text: leadqual.ruleset('m'::text) or leadqual.ruleset(model => 'm'); leadqual.ruleset('m') alone is read as a rule set literal.")));
	/* parsed in a context of its own, which the value cache adopts (no second parse) */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual rule set value",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	def = ParseDocument(doc, len, true, given, &has_hash);
	MemoryContextSwitchTo(old);
	rs = ruleset_serialize(def);

	if (has_hash && memcmp(given, rs->hash, RULESET_HASH_LEN) != 0)
	{
		char		hex[2 * RULESET_HASH_LEN + 1];

		HashHex(rs->hash, hex);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("%s hash does not match its content", TYPE_NAME),
				 errdetail("The content hashes to %s.", hex),
				 errhint("After editing a rule set, remove its \"hash\" key (jsonb: value - 'hash'): it is computed on input.")));
	}
	ruleset_cache_adopt(rs->hash, def, cxt);
	return rs;
}

void
ruleset_datum_hash(Datum d, uint8 *hash)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	RulesetData *rs;

	if (VARATT_IS_EXTENDED(v))
		v = PG_DETOAST_DATUM_SLICE(d, 0, RULESET_HEADER_SIZE - VARHDRSZ);
	rs = (RulesetData *) v;
	if (rs->format != RULESET_FORMAT)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s value has unsupported format %d", TYPE_NAME, rs->format)));
	memcpy(hash, rs->hash, RULESET_HASH_LEN);
}

/* ---------------------------------------------------------------------------
 * SQL functions
 */

PG_FUNCTION_INFO_V1(leadqual_ruleset_in);
Datum
leadqual_ruleset_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);

	PG_RETURN_POINTER(ValueFromText(str, strlen(str)));
}

PG_FUNCTION_INFO_V1(leadqual_ruleset_out);
Datum
leadqual_ruleset_out(PG_FUNCTION_ARGS)
{
	RulesetData *rs = DatumGetRulesetP(PG_GETARG_DATUM(0));

	PG_RETURN_CSTRING(pstrdup(rs->doc));
}

/* Binary form: the format byte, the hash, then the document as text. */
PG_FUNCTION_INFO_V1(leadqual_ruleset_send);
Datum
leadqual_ruleset_send(PG_FUNCTION_ARGS)
{
	RulesetData *rs = DatumGetRulesetP(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, rs->format);
	pq_sendbytes(&buf, (const char *) rs->hash, RULESET_HASH_LEN);
	pq_sendtext(&buf, rs->doc, strlen(rs->doc));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(leadqual_ruleset_recv);
Datum
leadqual_ruleset_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	int			format = pq_getmsgbyte(msg);
	uint8		hash[RULESET_HASH_LEN];
	char	   *doc;
	int			nbytes;
	RulesetData *rs;

	if (format != RULESET_FORMAT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported %s format version %d", TYPE_NAME, format)));
	pq_copymsgbytes(msg, (char *) hash, RULESET_HASH_LEN);
	doc = pq_getmsgtext(msg, msg->len - msg->cursor, &nbytes);
	rs = ValueFromText(doc, nbytes);
	if (memcmp(hash, rs->hash, RULESET_HASH_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("%s hash does not match its content", TYPE_NAME)));
	PG_RETURN_POINTER(rs);
}

static bool
SameHash(FunctionCallInfo fcinfo)
{
	uint8		a[RULESET_HASH_LEN];
	uint8		b[RULESET_HASH_LEN];

	ruleset_datum_hash(PG_GETARG_DATUM(0), a);
	ruleset_datum_hash(PG_GETARG_DATUM(1), b);
	return memcmp(a, b, RULESET_HASH_LEN) == 0;
}

PG_FUNCTION_INFO_V1(leadqual_ruleset_eq);
Datum
leadqual_ruleset_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(SameHash(fcinfo));
}

PG_FUNCTION_INFO_V1(leadqual_ruleset_ne);
Datum
leadqual_ruleset_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!SameHash(fcinfo));
}

/* leadqual.ruleset(model): the model as the current snapshot sees it. */
PG_FUNCTION_INFO_V1(leadqual_ruleset_of_model);
Datum
leadqual_ruleset_of_model(PG_FUNCTION_ARGS)
{
	text	   *model = PG_GETARG_TEXT_PP(0);

	PG_RETURN_POINTER(ruleset_value_of_model(VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model)));
}
