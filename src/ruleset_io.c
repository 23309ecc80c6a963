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
	appendStringInfoString(&buf, "\",\n ");
	Assert(buf.len - hash_at == HASH_MEMBER_LEN);

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

static void pg_attribute_noreturn()
Malformed(const char *fmt,...) pg_attribute_printf(1, 2);

static void
Malformed(const char *fmt,...)
{
	char		detail[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s", TYPE_NAME),
			 errdetail("%s", detail),
			 errhint("The text form is the JSON document that leadqual.ruleset(model) returns; README.md describes it.")));
}

/* -- duplicate keys (jsonb keeps the last silently): a pass of the JSON parser -- */

#define DUP_MAX_KEYS 32			/* objects of the schema have fewer: more is refused later */

typedef struct DupObject
{
	int			nkeys;
	char	   *keys[DUP_MAX_KEYS];
} DupObject;

typedef struct DupState
{
	List	   *stack;			/* of DupObject */
} DupState;

#if PG_VERSION_NUM >= 160000
#define JSON_ACTION_TYPE JsonParseErrorType
#define JSON_ACTION_DONE return JSON_SUCCESS
#else
#define JSON_ACTION_TYPE void
#define JSON_ACTION_DONE return
#endif

static JSON_ACTION_TYPE
DupObjectStart(void *state)
{
	DupState   *ds = state;

	ds->stack = lcons(palloc0(sizeof(DupObject)), ds->stack);
	JSON_ACTION_DONE;
}

static JSON_ACTION_TYPE
DupObjectEnd(void *state)
{
	DupState   *ds = state;
	DupObject  *o = linitial(ds->stack);

	for (int i = 0; i < o->nkeys && i < DUP_MAX_KEYS; i++)
		pfree(o->keys[i]);
	pfree(o);
	ds->stack = list_delete_first(ds->stack);
	JSON_ACTION_DONE;
}

static JSON_ACTION_TYPE
DupField(void *state, char *fname, bool isnull)
{
	DupState   *ds = state;
	DupObject  *o = linitial(ds->stack);

	for (int i = 0; i < o->nkeys && i < DUP_MAX_KEYS; i++)
		if (strcmp(o->keys[i], fname) == 0)
			Malformed("The key \"%s\" appears twice in one object.", fname);
	if (o->nkeys < DUP_MAX_KEYS)
		o->keys[o->nkeys] = fname;
	else
		pfree(fname);
	o->nkeys++;
	JSON_ACTION_DONE;
}

static void
RefuseDuplicateKeys(const char *doc, int len)
{
	DupState	ds = {NIL};
	JsonSemAction sem;
	JsonLexContext *lex;
	JsonParseErrorType rc;

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &ds;
	sem.object_start = DupObjectStart;
	sem.object_end = DupObjectEnd;
	sem.object_field_start = DupField;
#if PG_VERSION_NUM >= 170000
	lex = makeJsonLexContextCstringLen(NULL, doc, len, GetDatabaseEncoding(), true);
#else
	lex = makeJsonLexContextCstringLen((char *) doc, len, GetDatabaseEncoding(), true);
#endif
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
		Malformed("The document is not valid JSON.");	/* jsonb input said it was */
}

/* -- walking the schema -- */

typedef struct Field
{
	const char *key;
	JsonbValue	value;
	bool		present;
} Field;

static const char *
Where(const char *where, const char *key)
{
	return where[0] ? psprintf("%s.%s", where, key) : key;
}

/* Reads an object's members into fields (every one required); others are refused. */
static void
ReadObject(JsonbValue *obj, const char *where, Field *fields, int nfields)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;

	if (obj->type != jbvBinary || !JsonContainerIsObject(obj->val.binary.data))
		Malformed("%s must be an object.", where[0] ? where : "The document");
	it = JsonbIteratorInit(obj->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			i;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		for (i = 0; i < nfields; i++)
			if (strcmp(fields[i].key, key) == 0)
				break;
		if (i == nfields)
			Malformed("%s has an unknown key \"%s\".", where[0] ? where : "The document", key);
		fields[i].value = v;
		fields[i].present = true;
	}
	for (int i = 0; i < nfields; i++)
		if (!fields[i].present && strcmp(fields[i].key, "hash") != 0)
			Malformed("%s lacks the key \"%s\".", where[0] ? where : "The document", fields[i].key);
}

static char *
GetString(Field *f, const char *where, bool nullable)
{
	JsonbValue *v = &f->value;

	if (v->type == jbvNull && nullable)
		return NULL;
	if (v->type != jbvString)
		Malformed("%s must be a string%s.", Where(where, f->key), nullable ? " or null" : "");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static bool
GetNumber(Field *f, const char *where, bool nullable, double *result)
{
	JsonbValue *v = &f->value;

	if (v->type == jbvNull && nullable)
		return false;
	if (v->type != jbvNumeric)
		Malformed("%s must be a number%s.", Where(where, f->key), nullable ? " or null" : "");
	*result = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
												 NumericGetDatum(v->val.numeric)));
	if (isinf(*result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range for type double precision", Where(where, f->key))));
	return true;
}

static int64
GetInteger(Field *f, const char *where)
{
	JsonbValue *v = &f->value;
	Datum		i;

	if (v->type != jbvNumeric)
		Malformed("%s must be an integer.", Where(where, f->key));
	i = DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric));
	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(v->val.numeric),
										  DirectFunctionCall1(int8_numeric, i))))
		Malformed("%s must be an integer.", Where(where, f->key));
	return DatumGetInt64(i);
}

static bool
GetBool(Field *f, const char *where)
{
	if (f->value.type != jbvBool)
		Malformed("%s must be true or false.", Where(where, f->key));
	return f->value.val.boolean;
}

/* An array member: its container and size. */
static JsonbContainer *
GetArray(Field *f, const char *where, int *n)
{
	JsonbValue *v = &f->value;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerIsScalar(v->val.binary.data))
		Malformed("%s must be an array.", Where(where, f->key));
	*n = JsonContainerSize(v->val.binary.data);
	return v->val.binary.data;
}

/* A half-life: interval text (months count 30 days, years 365.25) that is positive. */
static bool
GetHalfLife(Field *f, const char *where, const char *label, bool validate, int64 *us)
{
	char	   *text = GetString(f, where, true);
	Interval   *span;
	double		d;

	if (text == NULL)
		return false;
	span = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text),
												 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	d = engagement_interval_us(span);
	if (validate && !(d > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: half_life must be longer than zero, not %s", label, text),
				 errhint("Use null for no decay (or, in an event rule, to take the model's half-life); months count 30 days and years 365.25 days.")));
	*us = (int64) d;
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
ReadRule(JsonbValue *obj, const char *where, const char *model, bool validate, RuleDef *r)
{
	Field		f[] = {{"rule_id"}, {"name"}, {"category"}, {"attribute"}, {"op"},
	{"value"}, {"points"}, {"knockout"}};
	char	   *category;
	char	   *label;

	ReadObject(obj, where, f, lengthof(f));
	r->rule_id = GetInteger(&f[0], where);
	r->name = GetString(&f[1], where, false);
	category = GetString(&f[2], where, false);
	r->attribute = GetString(&f[3], where, false);
	r->op = GetString(&f[4], where, false);
	r->value = GetString(&f[5], where, true);
	(void) GetNumber(&f[6], where, false, &r->points);
	r->knockout = GetBool(&f[7], where);
	r->fit = strcmp(category, "fit") == 0;
	label = psprintf("rule \"%s\" of model \"%s\"", r->name, model);
	if (!r->fit && strcmp(category, "intent") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: unknown category \"%s\"", label, category),
				 errhint("A rule's category is fit or intent.")));
	if (validate)
	{
		validate_points(label, r->points);
		CheckSpec(label, r->attribute, r->op, r->value);
	}
}

static void
ReadFramework(JsonbValue *obj, const char *where, const char *model, bool validate,
			  FrameworkDef *fw)
{
	Field		f[] = {{"framework"}, {"criteria"}};
	JsonbContainer *arr;
	int			n;

	ReadObject(obj, where, f, lengthof(f));
	fw->framework = GetString(&f[0], where, false);
	arr = GetArray(&f[1], where, &n);
	fw->ncriteria = n;
	fw->criteria = palloc0(Max(n, 1) * sizeof(CriterionDef));
	for (int i = 0; i < n; i++)
	{
		Field		cf[] = {{"criterion"}, {"attribute"}, {"op"}, {"value"}};
		const char *w = psprintf("%s.criteria[%d]", where, i);
		CriterionDef *c = &fw->criteria[i];

		ReadObject(getIthJsonbValueFromContainer(arr, i), w, cf, lengthof(cf));
		c->criterion = GetString(&cf[0], w, false);
		c->attribute = GetString(&cf[1], w, true);
		c->op = GetString(&cf[2], w, true);
		c->value = GetString(&cf[3], w, true);
		c->has_check = c->attribute != NULL;
		if (!c->has_check && (c->op != NULL || c->value != NULL))
			Malformed("%s has no attribute, so op and value must be null (a criterion without a check is unmet).", w);
		if (c->has_check && c->op == NULL)
			Malformed("%s.op must be a string when it has an attribute.", w);
		if (validate && c->has_check)
			CheckSpec(psprintf("criterion check %s.%s of model \"%s\"", fw->framework,
							   c->criterion, model),
					  c->attribute, c->op, c->value);
	}
}

static void
ReadEventRule(JsonbValue *obj, const char *where, const char *model, bool validate,
			  EventRuleDef *e)
{
	Field		f[] = {{"event_type"}, {"points"}, {"max_points"}, {"half_life"}};
	char	   *label;

	ReadObject(obj, where, f, lengthof(f));
	e->event_type = GetString(&f[0], where, false);
	(void) GetNumber(&f[1], where, false, &e->points);
	e->has_cap = GetNumber(&f[2], where, true, &e->max_points);
	label = psprintf("event rule \"%s\" of model \"%s\"", e->event_type, model);
	e->has_half_life = GetHalfLife(&f[3], where, label, validate, &e->half_life_us);
	if (!validate)
		return;
	if (e->event_type[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event rule of model \"%s\": event_type must not be empty", model)));
	validate_points(label, e->points);
	if (e->has_cap)
	{
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

/*
 * Parses a document into a ModelDef in the current memory context.  validate
 * false skips the checks of what a value's input already checked (the cache
 * re-reading a stored value).  *hash receives the document's "hash" member,
 * and *has_hash whether it had one.
 */
static ModelDef *
ParseDocument(const char *doc, int len, bool validate, uint8 *hash, bool *has_hash)
{
	Field		f[] = {{"format"}, {"hash"}, {"model"}, {"mql_threshold"}, {"fit_threshold"},
	{"framework"}, {"engagement_column"}, {"half_life"}, {"rules"}, {"frameworks"},
	{"event_rules"}};
	Jsonb	   *jb;
	JsonbValue	top;
	ModelDef   *def = palloc0(sizeof(ModelDef));
	JsonbContainer *arr;
	int			n;
	int64		format;
	ParseContext pc = {NULL};
	ErrorContextCallback errcb;

	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(pnstrdup(doc, len))));
	if (validate)
		RefuseDuplicateKeys(doc, len);
	if (JB_ROOT_IS_SCALAR(jb) || !JB_ROOT_IS_OBJECT(jb))
		Malformed("The document must be a JSON object.");
	top.type = jbvBinary;
	top.val.binary.data = &jb->root;
	top.val.binary.len = VARSIZE(jb) - VARHDRSZ;

	/* the format first: another format may have other keys */
	{
		JsonbValue *fv = getKeyJsonValueFromContainer(&jb->root, "format", 6, NULL);
		Field		ff = {"format"};

		if (fv == NULL)
			Malformed("The document lacks the key \"format\".");
		ff.value = *fv;
		format = GetInteger(&ff, "");
	}
	if (format != RULESET_FORMAT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported %s format version " INT64_FORMAT, TYPE_NAME, format),
				 errdetail("This version of leadqual reads format %d.", RULESET_FORMAT)));
	ReadObject(&top, "", f, lengthof(f));
	*has_hash = f[1].present;
	if (f[1].present)
	{
		char	   *hex = GetString(&f[1], "", false);

		if (strlen(hex) != 2 * RULESET_HASH_LEN)
			Malformed("hash must be 64 hexadecimal digits.");
		for (int i = 0; i < RULESET_HASH_LEN; i++)
		{
			unsigned int b;

			if (!isxdigit((unsigned char) hex[2 * i]) || !isxdigit((unsigned char) hex[2 * i + 1]) ||
				sscanf(hex + 2 * i, "%2x", &b) != 1)
				Malformed("hash must be 64 hexadecimal digits.");
			hash[i] = (uint8) b;
		}
	}
	def->model = GetString(&f[2], "", false);
	(void) GetNumber(&f[3], "", false, &def->mql_threshold);
	def->has_fit_threshold = GetNumber(&f[4], "", true, &def->fit_threshold);
	def->framework = GetString(&f[5], "", true);
	def->engagement_column = GetString(&f[6], "", true);
	def->has_half_life = GetHalfLife(&f[7], "", psprintf("model \"%s\"", def->model), validate,
									 &def->half_life_us);

	errcb.callback = ParseErrorContext;
	errcb.arg = &pc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	arr = GetArray(&f[8], "", &n);
	def->nrules = n;
	def->rules = palloc0(Max(n, 1) * sizeof(RuleDef));
	for (int i = 0; i < n; i++)
	{
		pc.what = psprintf("rules[%d]", i);
		ReadRule(getIthJsonbValueFromContainer(arr, i), pc.what, def->model, validate,
				 &def->rules[i]);
		if (i > 0 && def->rules[i].rule_id <= def->rules[i - 1].rule_id)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rules must be in ascending rule_id order, without duplicates"),
					 errdetail("rules[%d] has rule_id " INT64_FORMAT " after " INT64_FORMAT ".",
							   i, def->rules[i].rule_id, def->rules[i - 1].rule_id),
					 errhint("Points are summed in rule_id order; give a new rule an id above the others.")));
	}

	arr = GetArray(&f[9], "", &n);
	def->nframeworks = n;
	def->frameworks = palloc0(Max(n, 1) * sizeof(FrameworkDef));
	for (int i = 0; i < n; i++)
	{
		pc.what = psprintf("frameworks[%d]", i);
		ReadFramework(getIthJsonbValueFromContainer(arr, i), pc.what, def->model, validate,
					  &def->frameworks[i]);
		if (i > 0 && strcmp(def->frameworks[i].framework, def->frameworks[i - 1].framework) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("frameworks must be in ascending order of name (bytewise), without duplicates"),
					 errdetail("frameworks[%d] is \"%s\", after \"%s\".", i,
							   def->frameworks[i].framework, def->frameworks[i - 1].framework)));
	}

	arr = GetArray(&f[10], "", &n);
	def->nevents = n;
	def->events = palloc0(Max(n, 1) * sizeof(EventRuleDef));
	for (int i = 0; i < n; i++)
	{
		pc.what = psprintf("event_rules[%d]", i);
		ReadEventRule(getIthJsonbValueFromContainer(arr, i), pc.what, def->model, validate,
					  &def->events[i]);
		if (i > 0 && strcmp(def->events[i].event_type, def->events[i - 1].event_type) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("event_rules must be in ascending order of event_type (bytewise), without duplicates"),
					 errdetail("event_rules[%d] is \"%s\", after \"%s\".", i,
							   def->events[i].event_type, def->events[i - 1].event_type)));
	}
	error_context_stack = errcb.previous;
	return def;
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

	/* leadqual.ruleset('m') is a cast of a literal, not a call of ruleset(model text) */
	while (i < len && isspace((unsigned char) doc[i]))
		i++;
	if (i == len || doc[i] != '{')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%.*s\"", TYPE_NAME, Min(len, 64), doc),
				 errdetail("A rule set's text form is a JSON object."),
				 errhint("To get a model's rule set, pass the name as text: leadqual.ruleset('m'::text) or leadqual.ruleset(model => 'm'); leadqual.ruleset('m') alone is read as a rule set literal.")));
	def = ParseDocument(doc, len, true, given, &has_hash);
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
	PG_RETURN_POINTER(ruleset_value_of_model(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}
