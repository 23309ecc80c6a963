/*
 * predicate.c — the predicate engine shared by rules and criterion checks.
 *
 * Comparisons follow the column type's default btree ordering under the
 * column's collation; a few common types get an inline comparison instead of
 * an fmgr call per row.  Everything that does not depend on the row (parsing
 * values, lower-casing ilike patterns, compiling regexes, hashing eq/in lists)
 * happens once, at compile time.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "regex/regex.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/formatting.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"
#include "utils/varlena.h"

#include "compat.h"
#include "predicate.h"

/* How a column's values are compared. */
typedef enum ValueKind
{
	KIND_INT,					/* integers, bool, date, time, timestamps */
	KIND_FLOAT,					/* float4, float8 */
	KIND_TEXT,					/* text, varchar under a deterministic collation */
	KIND_GENERIC				/* the type's btree comparison function */
} ValueKind;

/* A value ready for comparison: the field that its kind uses is set. */
typedef struct Key
{
	int64		i;
	double		f;
	const char *s;				/* string bytes (string types only) */
	int			len;
	Datum		d;				/* the datum itself (generic, patterns) */
} Key;

/*
 * Patterns that are only literals — LIKE '%head of%', regex '@(gmail|yahoo)\.' —
 * are matched by searching bytes, without the LIKE or regex engine.
 */
typedef enum LiteralMatch
{
	LIT_NONE,					/* not literal: use the engine */
	LIT_CONTAINS,
	LIT_PREFIX,
	LIT_SUFFIX,
	LIT_EQUALS
} LiteralMatch;

#define MAX_LITERALS 64

typedef struct Predicate
{
	int			index;			/* position in the caller's spec array */
	PredOp		op;
	int			nkeys;
	Key		   *keys;			/* the value(s) to compare with */
	Datum		pattern;		/* like/ilike: text pattern (lowered for ilike) */
	regex_t    *re;				/* regex/iregex */
	LiteralMatch lit;			/* literal fast path, if any */
	int			nlits;
	char	  **lits;			/* any of these (lower-cased for iregex) */
	int		   *litlens;
	int			lit_first;		/* LIT_CONTAINS: the first byte all lits share, else -1 */
	int			scan;			/* SCAN_*: matched by its column's ContainsScan */
} Predicate;

/*
 * The contains-literals of several predicates on one column — ilike
 * '%head of%', '%director%', '%vp%', iregex '(intern|student)' on a job
 * title — are found in one pass over the value's bytes instead of one search
 * per predicate: a table from a byte to the literals that start with it.
 * Literal matches are searched in one of three forms of the value: its bytes
 * (like, regex), lower() of it (ilike) and its ASCII folding (iregex, when
 * the value is ASCII).  One table holds the raw form's literals, another the
 * two lower-case forms', which are the same bytes when the value is ASCII.
 */
#define SCAN_NONE 0
#define SCAN_RAW 1
#define SCAN_LOWER 2
#define SCAN_FOLD 3

/* Values longer than this are searched per literal, by memchr: faster on long text. */
#define SCAN_MAX_LEN 256

typedef struct ScanEntry
{
	const char *lit;
	int			len;
	int			pred;			/* its predicate's index in the spec array */
	bool		fold;			/* SCAN_FOLD: valid only over the ASCII folding */
} ScanEntry;

typedef struct ContainsScan
{
	ScanEntry  *entries;		/* ordered by first byte */
	int			start[257];		/* entries starting with byte b: start[b] .. start[b + 1] - 1 */
} ContainsScan;

/* eq/in/not_in values of one column, hashed: value -> predicates. */
typedef struct ValueEntry
{
	Key			key;
	uint32		hash;
	char		status;
	int			nin;			/* eq/in predicates holding for this value */
	int		   *in;
	int			nnotin;			/* not_in predicates this value excludes */
	int		   *notin;
} ValueEntry;

struct ColumnPlan;
static uint32 KeyHash(struct ColumnPlan *col, const Key *k);
static bool KeysEqual(struct ColumnPlan *col, const Key *a, const Key *b);

#define SH_PREFIX valuehash
#define SH_ELEMENT_TYPE ValueEntry
#define SH_KEY_TYPE Key
#define SH_KEY key
#define SH_HASH_KEY(tb, k) KeyHash((struct ColumnPlan *) (tb)->private_data, &(k))
#define SH_EQUAL(tb, a, b) KeysEqual((struct ColumnPlan *) (tb)->private_data, &(a), &(b))
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* Below this many eq/in/not_in values on a column, comparing one by one wins. */
#define HASH_MIN_VALUES 4

typedef struct ColumnPlan
{
	AttrNumber	attno;
	Oid			typid;			/* base type */
	Oid			collation;
	ValueKind	kind;
	bool		is_string;		/* text, varchar, bpchar: pattern ops allowed */
	FmgrInfo	cmp;			/* btree comparison (generic kind) */
	bool		hashable;
	FmgrInfo	hashfn;			/* hash support (generic kind) */

	bool		need_lower;		/* some ilike predicate reads lower(value) */
	bool		ascii_lower_ok; /* lower() of ASCII is plain ASCII folding */
	bool		need_wchar;		/* some regex predicate reads the value */
	bool		need_ascii_lower;	/* some iregex is matched on ASCII-folded bytes */

	int			nnull;			/* is_null predicates */
	int		   *null_preds;
	int			nnotnull;		/* not_null predicates */
	int		   *notnull_preds;
	int			nnotin;			/* hashed not_in predicates */
	int		   *notin_preds;
	valuehash_hash *hash;		/* hashed eq/in/not_in, or NULL */
	int			npreds;			/* predicates evaluated one by one */
	Predicate  *preds;
	struct varlena *row_numeric;	/* numeric: the row's short value, 4-byte header */
	text	   *row_lower;		/* strings: the row's value ASCII-folded, as text */
	int			row_lower_cap;	/* bytes of row_lower's data it has room for */
	ContainsScan *raw_scan;		/* SCAN_RAW predicates, if two or more */
	ContainsScan *lower_scan;	/* SCAN_LOWER and SCAN_FOLD predicates, if two or more */
} ColumnPlan;

struct PredicateSet
{
	int			npreds;
	int			ncols;
	ColumnPlan *cols;
	int			max_attno;
	List	   *regexes;		/* malloc'd by the regex library: freed on reset */
};

/* A spec after checking: what compile and canonicalisation both need. */
typedef struct ParsedSpec
{
	AttrNumber	attno;
	Oid			typid;			/* the column's declared type */
	Oid			basetype;
	Oid			collation;
	PredOp		op;
	int			nvalues;
	Datum	   *values;			/* parsed values (in, not_in, between: several) */
	text	   *pattern;		/* pattern ops */
} ParsedSpec;

static const char *const op_names[] = {
	"eq", "ne", "lt", "le", "gt", "ge", "between", "in", "not_in",
	"like", "ilike", "regex", "iregex", "is_null", "not_null"
};

bool
pred_op_from_name(const char *name, PredOp *op)
{
	for (int i = 0; i < lengthof(op_names); i++)
	{
		if (strcmp(name, op_names[i]) == 0)
		{
			*op = (PredOp) i;
			return true;
		}
	}
	return false;
}

static bool
OpIsPattern(PredOp op)
{
	return op == PRED_LIKE || op == PRED_ILIKE || op == PRED_REGEX || op == PRED_IREGEX;
}

static bool
OpIsList(PredOp op)
{
	return op == PRED_IN || op == PRED_NOT_IN || op == PRED_BETWEEN;
}

/* Error context: names the rule and column being compiled. */
typedef struct SpecContext
{
	PredicateSpec *spec;
} SpecContext;

static void
SpecErrorContext(void *arg)
{
	PredicateSpec *spec = ((SpecContext *) arg)->spec;

	errcontext("%s, column \"%s\", op %s, value %s%s%s",
			   spec->label, spec->attribute, spec->op,
			   spec->value ? "\"" : "", spec->value ? spec->value : "NULL",
			   spec->value ? "\"" : "");
}

static ValueKind
KindOf(Oid basetype, Oid collation)
{
	switch (basetype)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case BOOLOID:
		case DATEOID:
		case TIMEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case OIDOID:
			return KIND_INT;
		case FLOAT4OID:
		case FLOAT8OID:
			return KIND_FLOAT;
		case TEXTOID:
		case VARCHAROID:
			if (OidIsValid(collation) && get_collation_isdeterministic(collation))
				return KIND_TEXT;
			return KIND_GENERIC;
		default:
			return KIND_GENERIC;
	}
}

static bool
IsStringType(Oid basetype)
{
	return basetype == TEXTOID || basetype == VARCHAROID || basetype == BPCHAROID;
}

/* Fills k from a non-null datum of col's type; detoasted copies go to the current context. */
static inline void
MakeKey(ColumnPlan *col, Datum d, Key *k)
{
	k->d = d;
	switch (col->kind)
	{
		case KIND_INT:
			switch (col->typid)
			{
				case INT2OID:
					k->i = DatumGetInt16(d);
					break;
				case INT4OID:
				case DATEOID:
					k->i = DatumGetInt32(d);
					break;
				case BOOLOID:
					k->i = DatumGetBool(d) ? 1 : 0;
					break;
				case OIDOID:
					k->i = DatumGetObjectId(d);
					break;
				default:
					k->i = DatumGetInt64(d);
					break;
			}
			return;
		case KIND_FLOAT:
			k->f = col->typid == FLOAT4OID ? (double) DatumGetFloat4(d) : DatumGetFloat8(d);
			return;
		default:
			break;
	}
	/*
	 * numeric_cmp detoasts its arguments on every call, copying a short
	 * (1-byte header) value each time: a between compares twice.  Once here.
	 */
	if (col->typid == NUMERICOID)
	{
		k->d = PointerGetDatum(PG_DETOAST_DATUM(d));
		return;
	}
	if (col->is_string)
	{
		struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

		k->d = PointerGetDatum(v);
		k->s = VARDATA_ANY(v);
		k->len = VARSIZE_ANY_EXHDR(v);
	}
}

/*
 * MakeKey for a row's value.  A short numeric would be copied by MakeKey's
 * detoast into a fresh palloc per row; it goes into the column's buffer
 * instead, the row's key living only until the next row's.  (A TOAST pointer
 * has a one-byte header too, and a zero short size: it takes MakeKey's detoast.)
 */
static inline void
MakeRowKey(ColumnPlan *col, Datum d, Key *k)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	if (col->row_numeric != NULL && VARATT_IS_SHORT(v) && !VARATT_IS_EXTERNAL(v))
	{
		Size		len = VARSIZE_SHORT(v) - VARHDRSZ_SHORT;

		memcpy(VARDATA(col->row_numeric), VARDATA_SHORT(v), len);
		SET_VARSIZE(col->row_numeric, VARHDRSZ + len);
		k->d = PointerGetDatum(col->row_numeric);
		return;
	}
	MakeKey(col, d, k);
}

static inline int
KeyCompare(ColumnPlan *col, const Key *a, const Key *b)
{
	switch (col->kind)
	{
		case KIND_INT:
			return (a->i > b->i) - (a->i < b->i);
		case KIND_FLOAT:
			return float8_cmp_internal(a->f, b->f);
		case KIND_TEXT:
			return varstr_cmp(a->s, a->len, b->s, b->len, col->collation);
		default:
			return DatumGetInt32(FunctionCall2Coll(&col->cmp, col->collation, a->d, b->d));
	}
}

static bool
KeysEqual(ColumnPlan *col, const Key *a, const Key *b)
{
	switch (col->kind)
	{
		case KIND_INT:
			return a->i == b->i;
		case KIND_TEXT:
			/* deterministic collation: equal means byte-equal */
			return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
		default:
			return KeyCompare(col, a, b) == 0;
	}
}

static uint32
KeyHash(ColumnPlan *col, const Key *k)
{
	switch (col->kind)
	{
		case KIND_INT:
			return hash_uint32((uint32) k->i ^ (uint32) ((uint64) k->i >> 32));
		case KIND_FLOAT:
			{
				double		f = k->f;
				uint64		bits;

				if (f == 0)
					f = 0;		/* -0 equals 0 */
				if (isnan(f))
					f = get_float8_nan();
				memcpy(&bits, &f, sizeof(bits));
				return hash_uint32((uint32) bits ^ (uint32) (bits >> 32));
			}
		case KIND_TEXT:
			return hash_bytes((const unsigned char *) k->s, k->len);
		default:
			return DatumGetUInt32(FunctionCall1Coll(&col->hashfn, col->collation, k->d));
	}
}

/* Refuses words whose meaning moves with the clock ('now', 'today' …). */
static void
RefuseMovingWords(Oid basetype, const char *value)
{
	static const char *const words[] = {"now", "today", "yesterday", "tomorrow"};
	char	   *lower;

	if (TypeCategory(basetype) != TYPCATEGORY_DATETIME)
		return;
	lower = asc_tolower(value, strlen(value));
	for (int i = 0; i < lengthof(words); i++)
	{
		if (strstr(lower, words[i]) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
					 errmsg("value \"%s\" changes meaning over time", value),
					 errdetail("Rule values are read in every session and every restore; \"%s\" would mean a different moment each time.",
							   words[i]),
					 errhint("Write a fixed date or timestamp, such as 2026-06-01.")));
	}
}

/* Checks a LIKE pattern the way matching would (it must not end with an escape). */
static void
CheckLikePattern(const char *p, int len)
{
	int			backslashes = 0;

	while (len > 0 && p[len - 1] == '\\')
	{
		backslashes++;
		len--;
	}
	if (backslashes % 2 == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_ESCAPE_SEQUENCE),
				 errmsg("LIKE pattern must not end with escape character"),
				 errhint("Double the final backslash to match a backslash.")));
}

/*
 * Reports a regex library failure.  A cancel or statement_timeout makes the
 * library (15) give up with REG_CANCEL: as PostgreSQL's regexp.c does, service the
 * interrupt first, so that it surfaces as 57014 and not as an invalid pattern.
 */
static void
RegexFailure(int rc, regex_t *re, const char *what, const char *hint)
{
	char		msg[256];

	CHECK_FOR_INTERRUPTS();
	if (RegexCanceled(rc))
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling regular expression matching")));
	pg_regerror(rc, re, msg, sizeof(msg));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
			 errmsg("%s: %s", what, msg),
			 hint ? errhint("%s", hint) : 0));
}

/*
 * Why a compiled pattern cannot be a rule, or NULL.  Without back-references
 * and lookaround a match is one pass of the regex library's DFA over the
 * value: linear in its length.  A back-reference makes the library try every
 * split of the value (cubic: a 20,000-character form value held a lead insert
 * for more than 30 s); a lookahead or lookbehind constraint re-scans the value
 * from each position (quadratic).
 */
static const char *
NonLinearFeature(regex_t *re)
{
	if (re->re_info & REG_UBACKREF)
		return "back-references";
	if (re->re_info & REG_ULOOKAROUND)
		return "lookahead or lookbehind constraints";
	return NULL;
}

/* Frees re and raises 2201B if it uses a feature that NonLinearFeature names. */
static void
RefuseNonLinear(regex_t *re)
{
	const char *feature = NonLinearFeature(re);

	if (feature == NULL)
		return;
	pg_regfree(re);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
			 errmsg("regular expressions with %s are not supported in rules", feature),
			 errdetail("Matching them takes time that grows faster than the length of the value: one long form value would hold up the lead insert."),
			 errhint(re->re_info & REG_UBACKREF ?
					 "Write the pattern without back-references (\\1 ...), or split the condition into several rules." :
					 "Write the condition as several rules (a rule with negative points for what must not match), or use like or ilike.")));
}

static regex_t *
CompileRegex(text *pattern, bool icase, Oid collation)
{
	int			len = VARSIZE_ANY_EXHDR(pattern);
	pg_wchar   *wpat = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(VARDATA_ANY(pattern), wpat, len);
	regex_t    *re = palloc(sizeof(regex_t));
	int			rc;

	rc = pg_regcomp(re, wpat, wlen, REG_ADVANCED | (icase ? REG_ICASE : 0), collation);
	pfree(wpat);
	if (rc != REG_OKAY)
		RegexFailure(rc, re, "invalid regular expression",
					 "Write the pattern as for the ~ operator.");
	RefuseNonLinear(re);
	return re;
}

/*
 * Checks spec against tupdesc and parses its value.  Raises the errors that
 * rule validation promises; the input function's own errors pass through.
 */
static void
ParseSpec(TupleDesc tupdesc, PredicateSpec *spec, ParsedSpec *ps)
{
	Form_pg_attribute att = NULL;
	int32		basetypmod = -1;

	memset(ps, 0, sizeof(*ps));
	if (!pred_op_from_name(spec->op, &ps->op))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown operator \"%s\"", spec->op),
				 errhint("Use one of eq, ne, lt, le, gt, ge, between, in, not_in, like, ilike, regex, iregex, is_null, not_null.")));

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(tupdesc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), spec->attribute) == 0)
		{
			att = a;
			break;
		}
	}
	if (att == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in the lead table", spec->attribute),
				 errhint("Name a column of the model's lead_table; names are case-sensitive.")));

	ps->attno = att->attnum;
	ps->typid = att->atttypid;
	ps->basetype = getBaseTypeAndTypmod(att->atttypid, &basetypmod);
	ps->collation = att->attcollation;

	if (ps->op == PRED_IS_NULL || ps->op == PRED_NOT_NULL)
	{
		if (spec->value != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("operator %s takes no value", spec->op),
					 errhint("Set value to NULL.")));
		return;
	}
	if (spec->value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("operator %s needs a value", spec->op),
				 errhint(OpIsList(ps->op) ? "Write an array literal such as {a,b}." :
						 "Write a literal of the column's type.")));

	if (OpIsPattern(ps->op))
	{
		if (!IsStringType(ps->basetype))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("operator %s is not supported for type %s", spec->op,
							format_type_be(ps->typid)),
					 errhint("Pattern operators work on text, varchar and char columns.")));
		if (!OidIsValid(ps->collation) || !get_collation_isdeterministic(ps->collation))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("operator %s is not supported under a nondeterministic collation", spec->op),
					 errhint("Score a view that casts the column to a deterministic collation.")));
		ps->pattern = cstring_to_text(spec->value);
		if (ps->op == PRED_LIKE || ps->op == PRED_ILIKE)
			CheckLikePattern(spec->value, strlen(spec->value));
		else
		{
			regex_t    *re = CompileRegex(ps->pattern, ps->op == PRED_IREGEX, ps->collation);

			pg_regfree(re);
		}
		return;
	}

	/* comparisons: the type needs a default btree ordering */
	{
		TypeCacheEntry *tce = lookup_type_cache(ps->basetype, TYPECACHE_CMP_PROC);

		if (!OidIsValid(tce->cmp_proc))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("operator %s is not supported for type %s", spec->op,
							format_type_be(ps->typid)),
					 errhint("Comparison operators need a type with a default btree operator class.")));
	}

	RefuseMovingWords(ps->basetype, spec->value);

	if (OpIsList(ps->op))
	{
		Oid			arraytype = get_array_type(ps->typid);
		ArrayType  *arr;
		bool	   *nulls;
		int16		typlen;
		bool		typbyval;
		char		typalign;

		if (!OidIsValid(arraytype))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("operator %s is not supported for type %s", spec->op,
							format_type_be(ps->typid)),
					 errhint("The column's type has no array type to read the list with.")));
		arr = DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, (char *) spec->value,
													  ps->typid, -1));
		if (ARR_NDIM(arr) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the value of %s must be a one-dimensional array", spec->op)));
		get_typlenbyvalalign(ps->typid, &typlen, &typbyval, &typalign);
		deconstruct_array(arr, ps->typid, typlen, typbyval, typalign,
						  &ps->values, &nulls, &ps->nvalues);
		for (int i = 0; i < ps->nvalues; i++)
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("the list of %s must not contain NULL", spec->op),
						 errhint("A NULL attribute is matched by is_null.")));
		if (ps->nvalues == 0 && ps->op != PRED_BETWEEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the list of %s must not be empty", spec->op)));
		if (ps->op == PRED_BETWEEN)
		{
			TypeCacheEntry *tce = lookup_type_cache(ps->basetype, TYPECACHE_CMP_PROC_FINFO);

			if (ps->nvalues != 2 ||
				DatumGetInt32(FunctionCall2Coll(&tce->cmp_proc_finfo, ps->collation,
												ps->values[0], ps->values[1])) > 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("between needs two ordered values"),
						 errhint("Write {low,high} with low <= high.")));
		}
	}
	else
	{
		Oid			infunc;
		Oid			ioparam;

		getTypeInputInfo(ps->typid, &infunc, &ioparam);
		ps->nvalues = 1;
		ps->values = palloc(sizeof(Datum));
		ps->values[0] = OidInputFunctionCall(infunc, (char *) spec->value, ioparam, -1);
	}
}

/*
 * Checks what can be checked of a spec without a row type (a leadqual.ruleset
 * value's rules, when the value is read): a known operator, a value where one
 * is needed and none where not, a LIKE pattern that does not end in an escape,
 * a regular expression that compiles (and is linear), a list that is a
 * one-dimensional array literal without NULLs (two elements for between).
 * The same errors, with the same SQLSTATEs, as compiling it for a column.
 */
void
predicate_spec_check(PredicateSpec *spec)
{
	ErrorContextCallback errcb;
	SpecContext ctx = {spec};
	PredOp		op;

	errcb.callback = SpecErrorContext;
	errcb.arg = &ctx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	if (!pred_op_from_name(spec->op, &op))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown operator \"%s\"", spec->op),
				 errhint("Use one of eq, ne, lt, le, gt, ge, between, in, not_in, like, ilike, regex, iregex, is_null, not_null.")));
	if (op == PRED_IS_NULL || op == PRED_NOT_NULL)
	{
		if (spec->value != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("operator %s takes no value", spec->op),
					 errhint("Set value to NULL.")));
	}
	else if (spec->value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("operator %s needs a value", spec->op),
				 errhint(OpIsList(op) ? "Write an array literal such as {a,b}." :
						 "Write a literal of the column's type.")));
	else if (op == PRED_LIKE || op == PRED_ILIKE)
		CheckLikePattern(spec->value, strlen(spec->value));
	else if (op == PRED_REGEX || op == PRED_IREGEX)
		pg_regfree(CompileRegex(cstring_to_text(spec->value), op == PRED_IREGEX,
								DEFAULT_COLLATION_OID));
	else if (OpIsList(op))
	{
		ArrayType  *arr = DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, (char *) spec->value,
																   TEXTOID, -1));
		int			n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));

		if (ARR_NDIM(arr) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the value of %s must be a one-dimensional array", spec->op)));
		if (array_contains_nulls(arr))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the list of %s must not contain NULL", spec->op),
					 errhint("A NULL attribute is matched by is_null.")));
		if (n == 0 && op != PRED_BETWEEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the list of %s must not be empty", spec->op)));
		if (op == PRED_BETWEEN && n != 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("between needs two ordered values"),
					 errhint("Write {low,high} with low <= high.")));
	}
	error_context_stack = errcb.previous;
}

/*
 * Checks, without raising errors, what can be checked of a spec without
 * parsing its value: for parallel workers, which cannot catch errors.
 */
bool
predicate_spec_usable(TupleDesc tupdesc, PredicateSpec *spec, char **why)
{
	PredOp		op;
	Form_pg_attribute att = NULL;
	Oid			basetype;

	if (!pred_op_from_name(spec->op, &op))
	{
		*why = psprintf("unknown operator \"%s\"", spec->op);
		return false;
	}
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(tupdesc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), spec->attribute) == 0)
			att = a;
	}
	if (att == NULL)
	{
		*why = psprintf("column \"%s\" does not exist in the lead table", spec->attribute);
		return false;
	}
	if (op == PRED_IS_NULL || op == PRED_NOT_NULL)
		return true;
	if (spec->value == NULL)
	{
		*why = psprintf("operator %s needs a value", spec->op);
		return false;
	}
	basetype = getBaseType(att->atttypid);
	if (OpIsPattern(op))
	{
		if (!IsStringType(basetype) || !OidIsValid(att->attcollation) ||
			!get_collation_isdeterministic(att->attcollation))
		{
			*why = psprintf("operator %s is not supported for this column", spec->op);
			return false;
		}
		if (op == PRED_REGEX || op == PRED_IREGEX)
		{
			int			len = strlen(spec->value);
			pg_wchar   *wpat = palloc((len + 1) * sizeof(pg_wchar));
			int			wlen = pg_mb2wchar_with_len(spec->value, wpat, len);
			regex_t		re;

			const char *feature;

			if (pg_regcomp(&re, wpat, wlen, REG_ADVANCED | (op == PRED_IREGEX ? REG_ICASE : 0),
						   att->attcollation) != REG_OKAY)
			{
				CHECK_FOR_INTERRUPTS(); /* a cancel is not an invalid pattern */
				*why = pstrdup("invalid regular expression");
				return false;
			}
			feature = NonLinearFeature(&re);
			pg_regfree(&re);
			if (feature != NULL)
			{
				*why = psprintf("regular expressions with %s are not supported in rules", feature);
				return false;
			}
		}
		return true;
	}
	if (!OidIsValid(lookup_type_cache(basetype, TYPECACHE_CMP_PROC)->cmp_proc) ||
		(OpIsList(op) && !OidIsValid(get_array_type(att->atttypid))))
	{
		*why = psprintf("operator %s is not supported for type %s", spec->op,
						format_type_be(att->atttypid));
		return false;
	}
	return true;
}

/* Runs fn under the settings that make values read alike everywhere. */
char *
predicate_canonical_value(TupleDesc tupdesc, PredicateSpec *spec)
{
	ErrorContextCallback errcb;
	SpecContext ctx = {spec};
	ParsedSpec	ps;
	char	   *result;
	int			nestlevel;

	errcb.callback = SpecErrorContext;
	errcb.arg = &ctx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	ParseSpec(tupdesc, spec, &ps);

	if (ps.op == PRED_IS_NULL || ps.op == PRED_NOT_NULL)
		result = NULL;
	else if (OpIsPattern(ps.op))
		result = pstrdup(spec->value);
	else
	{
		nestlevel = NewGUCNestLevel();
		(void) set_config_option("datestyle", "ISO, YMD", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("timezone", "UTC", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("intervalstyle", "postgres", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("extra_float_digits", "1", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (OpIsList(ps.op))
		{
			int16		typlen;
			bool		typbyval;
			char		typalign;
			ArrayType  *arr;

			get_typlenbyvalalign(ps.typid, &typlen, &typbyval, &typalign);
			arr = construct_array(ps.values, ps.nvalues, ps.typid, typlen, typbyval, typalign);
			result = OidOutputFunctionCall(F_ARRAY_OUT, PointerGetDatum(arr));
		}
		else
		{
			Oid			outfunc;
			bool		varlena;

			getTypeOutputInfo(ps.typid, &outfunc, &varlena);
			result = OidOutputFunctionCall(outfunc, ps.values[0]);
		}
		AtEOXact_GUC(true, nestlevel);
	}

	error_context_stack = errcb.previous;
	return result;
}

/* Appends x to a palloc'd int array. */
static void
IntAppend(int **arr, int *n, int x)
{
	*arr = *arr ? repalloc(*arr, (*n + 1) * sizeof(int)) : palloc(sizeof(int));
	(*arr)[(*n)++] = x;
}

/* Does lower() fold ASCII letters to plain ASCII under this collation? */
static bool
AsciiLowerIsPlain(Oid collation)
{
	static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char	   *lowered = str_tolower(upper, sizeof(upper) - 1, collation);

	return strcmp(lowered, "abcdefghijklmnopqrstuvwxyz") == 0;
}

static void
FreeRegexes(void *arg)
{
	PredicateSet *set = (PredicateSet *) arg;
	ListCell   *lc;

	foreach(lc, set->regexes)
		pg_regfree((regex_t *) lfirst(lc));
}

/* Sets up the column plan of attno from its first spec. */
static void
InitColumn(ColumnPlan *col, ParsedSpec *ps)
{
	TypeCacheEntry *tce;

	memset(col, 0, sizeof(*col));
	col->attno = ps->attno;
	col->typid = ps->basetype;
	col->collation = ps->collation;
	col->kind = KindOf(ps->basetype, ps->collation);
	col->is_string = IsStringType(ps->basetype);
	if (col->typid == NUMERICOID)
		col->row_numeric = palloc(VARHDRSZ + VARATT_SHORT_MAX);
	if (col->is_string)
	{
		col->row_lower_cap = 128;
		col->row_lower = palloc(VARHDRSZ + col->row_lower_cap);
	}

	tce = lookup_type_cache(ps->basetype, TYPECACHE_CMP_PROC_FINFO | TYPECACHE_HASH_PROC_FINFO);
	if (OidIsValid(tce->cmp_proc_finfo.fn_oid))
		fmgr_info_copy(&col->cmp, &tce->cmp_proc_finfo, CurrentMemoryContext);
	col->hashable = col->kind != KIND_GENERIC || OidIsValid(tce->hash_proc_finfo.fn_oid);
	if (col->kind == KIND_GENERIC && col->hashable)
		fmgr_info_copy(&col->hashfn, &tce->hash_proc_finfo, CurrentMemoryContext);
}

/* Is a LIKE pattern '%lit%', 'lit%', '%lit' or 'lit' (no _ or escapes inside)? */
static void
LiteralLike(Predicate *p)
{
	text	   *pat = DatumGetTextPP(p->pattern);
	const char *s = VARDATA_ANY(pat);
	int			len = VARSIZE_ANY_EXHDR(pat);
	bool		leading = false;
	bool		trailing = false;

	while (len > 0 && s[0] == '%')
	{
		leading = true;
		s++;
		len--;
	}
	while (len > 0 && s[len - 1] == '%')
	{
		trailing = true;
		len--;
	}
	for (int i = 0; i < len; i++)
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			return;
	p->lit = leading && trailing ? LIT_CONTAINS : leading ? LIT_SUFFIX :
		trailing ? LIT_PREFIX : LIT_EQUALS;
	if (leading && !trailing && len == 0)
		p->lit = LIT_CONTAINS;	/* '%' alone */
	p->nlits = 1;
	p->lits = palloc(sizeof(char *));
	p->litlens = palloc(sizeof(int));
	p->lits[0] = pnstrdup(s, len);
	p->litlens[0] = len;
}

/* Appends one literal character to every alternative built so far. */
static void
AppendToAll(StringInfo alts, int nalts, char c)
{
	for (int i = 0; i < nalts; i++)
		appendStringInfoChar(&alts[i], c);
}

/*
 * Is a regex only literals: ['^'] (literal | '(' ['?:'] lit ('|' lit)* ')')* ['$'],
 * or lit ('|' lit)* at top level?  Expands it into the strings it matches.
 * Escaped punctuation (\.) is literal; any other metacharacter or escape
 * (\m, \d, [, *, ...) leaves the pattern to the regex engine.
 */
static void
LiteralRegex(Predicate *p, const char *pat, bool icase)
{
	int			len = strlen(pat);
	bool		anchored_start = false;
	bool		anchored_end = false;
	StringInfoData alts[MAX_LITERALS];
	int			nalts = 1;
	int			i = 0;

	if (len > 0 && pat[0] == '^')
	{
		anchored_start = true;
		i = 1;
	}
	if (len > i && pat[len - 1] == '$' && (len < 2 || pat[len - 2] != '\\'))
	{
		anchored_end = true;
		len--;
	}
	initStringInfo(&alts[0]);

	/* top-level alternation of plain literals: a|b|c */
	if (!anchored_start && !anchored_end && strchr(pat, '|') && !strchr(pat, '('))
	{
		nalts = 0;
		for (const char *start = pat;; start++)
		{
			const char *bar = strchr(start, '|');
			int			l = bar ? bar - start : (int) strlen(start);

			if (nalts == MAX_LITERALS)
				return;
			for (int k = 0; k < l; k++)
				if (strchr("\\.[]()*+?{}^$", start[k]))
					return;
			initStringInfo(&alts[nalts]);
			appendBinaryStringInfo(&alts[nalts], start, l);
			nalts++;
			if (!bar)
				break;
			start = bar;
		}
		i = len;
	}

	while (i < len)
	{
		char		c = pat[i];

		if (c == '\\')
		{
			if (i + 1 >= len || isalnum((unsigned char) pat[i + 1]))
				return;
			AppendToAll(alts, nalts, pat[i + 1]);
			i += 2;
		}
		else if (c == '(')
		{
			/* one group of literal alternatives: multiply what we have */
			StringInfoData opts[MAX_LITERALS];
			int			nopts = 1;
			int			nnew;
			StringInfoData next[MAX_LITERALS];

			i++;
			if (i + 1 < len && pat[i] == '?' && pat[i + 1] == ':')
				i += 2;
			else if (i < len && pat[i] == '?')
				return;
			initStringInfo(&opts[0]);
			for (;;)
			{
				if (i >= len)
					return;
				c = pat[i];
				if (c == ')')
				{
					i++;
					break;
				}
				if (c == '|')
				{
					if (nopts == MAX_LITERALS)
						return;
					initStringInfo(&opts[nopts++]);
					i++;
				}
				else if (c == '\\')
				{
					if (i + 1 >= len || isalnum((unsigned char) pat[i + 1]))
						return;
					appendStringInfoChar(&opts[nopts - 1], pat[i + 1]);
					i += 2;
				}
				else if (strchr(".[]()*+?{}^$", c))
					return;
				else
				{
					appendStringInfoChar(&opts[nopts - 1], c);
					i++;
				}
			}
			if (nalts * nopts > MAX_LITERALS)
				return;
			nnew = 0;
			for (int a = 0; a < nalts; a++)
				for (int o = 0; o < nopts; o++)
				{
					initStringInfo(&next[nnew]);
					appendBinaryStringInfo(&next[nnew], alts[a].data, alts[a].len);
					appendBinaryStringInfo(&next[nnew], opts[o].data, opts[o].len);
					nnew++;
				}
			for (int a = 0; a < nnew; a++)
				alts[a] = next[a];
			nalts = nnew;
		}
		else if (strchr(".[]()*+?{}^$|", c))
			return;
		else
		{
			AppendToAll(alts, nalts, c);
			i++;
		}
	}

	if (icase)
		for (int a = 0; a < nalts; a++)
			for (int k = 0; k < alts[a].len; k++)
			{
				if ((unsigned char) alts[a].data[k] >= 0x80)
					return;		/* ASCII folding only */
				alts[a].data[k] = pg_ascii_tolower((unsigned char) alts[a].data[k]);
			}
	p->lit = anchored_start && anchored_end ? LIT_EQUALS : anchored_start ? LIT_PREFIX :
		anchored_end ? LIT_SUFFIX : LIT_CONTAINS;
	p->nlits = nalts;
	p->lits = palloc(nalts * sizeof(char *));
	p->litlens = palloc(nalts * sizeof(int));
	for (int a = 0; a < nalts; a++)
	{
		p->lits[a] = alts[a].data;
		p->litlens[a] = alts[a].len;
	}
}

/*
 * Whether s contains one of p's literals, which all begin with the byte
 * lit_first (e.g. '@(gmail|yahoo|web)\.'): one scan for that byte, every
 * literal tried where it occurs, instead of a scan per literal.
 */
static bool
ContainsSharedFirst(Predicate *p, const char *s, int len)
{
	const char *end = s + len;
	const char *c = s;

	while (c < end && (c = memchr(c, p->lit_first, end - c)) != NULL)
	{
		for (int a = 0; a < p->nlits; a++)
		{
			int			l = p->litlens[a];
			const char *lit = p->lits[a];

			/* the last byte first: it rules out most places without a call */
			if (l <= end - c && c[l - 1] == lit[l - 1] &&
				memcmp(c + 1, lit + 1, l - 1) == 0)
				return true;
		}
		c++;
	}
	return false;
}

/* Sets lit_first: the first byte of every literal of a contains match, if they share it. */
static void
SharedFirstByte(Predicate *p)
{
	p->lit_first = -1;
	if (p->lit != LIT_CONTAINS || p->nlits < 2)
		return;
	for (int a = 0; a < p->nlits; a++)
		if (p->litlens[a] == 0 || p->lits[a][0] != p->lits[0][0])
			return;
	p->lit_first = (unsigned char) p->lits[0][0];
}

/* Does s contain, start with, end with or equal one of p's literals? */
static bool
MatchLiterals(Predicate *p, const char *s, int len)
{
	for (int a = 0; a < p->nlits; a++)
	{
		const char *lit = p->lits[a];
		int			l = p->litlens[a];

		if (l > len)
			continue;
		switch (p->lit)
		{
			case LIT_EQUALS:
				if (l == len && memcmp(s, lit, l) == 0)
					return true;
				break;
			case LIT_PREFIX:
				if (memcmp(s, lit, l) == 0)
					return true;
				break;
			case LIT_SUFFIX:
				if (memcmp(s + len - l, lit, l) == 0)
					return true;
				break;
			case LIT_CONTAINS:
				if (l == 0)
					return true;
				if (p->lit_first >= 0)
					return ContainsSharedFirst(p, s, len);
				for (const char *c = s; c <= s + len - l; c++)
				{
					c = memchr(c, lit[0], (s + len - l) - c + 1);
					if (c == NULL)
						break;
					if (c[l - 1] == lit[l - 1] && memcmp(c, lit, l) == 0)
						return true;
				}
				break;
			case LIT_NONE:
				break;
		}
	}
	return false;
}

/* The form of the value p's literals are searched in, if a scan can match them. */
static int
ScanFormOf(ColumnPlan *col, Predicate *p)
{
	if (p->lit != LIT_CONTAINS)
		return SCAN_NONE;
	for (int a = 0; a < p->nlits; a++)
		if (p->litlens[a] == 0)
			return SCAN_NONE;	/* matches anything: EvalPredicate says so */
	switch (p->op)
	{
		case PRED_LIKE:
		case PRED_REGEX:
			return SCAN_RAW;
		case PRED_ILIKE:
			return col->need_lower ? SCAN_LOWER : SCAN_NONE;
		case PRED_IREGEX:
			return SCAN_FOLD;
		default:
			return SCAN_NONE;
	}
}

/* The scan of col's predicates of forms a or b, NULL (none marked) if fewer than two. */
static ContainsScan *
BuildScan(ColumnPlan *col, int a, int b)
{
	ContainsScan *cs;
	int			npreds = 0;
	int			nentries = 0;
	int			fill[256] = {0};

	for (int i = 0; i < col->npreds; i++)
	{
		int			form = ScanFormOf(col, &col->preds[i]);

		if (form != SCAN_NONE && (form == a || form == b))
		{
			npreds++;
			nentries += col->preds[i].nlits;
		}
	}
	if (npreds < 2)
		return NULL;

	cs = palloc0(sizeof(ContainsScan));
	cs->entries = palloc(nentries * sizeof(ScanEntry));
	/* count the literals per first byte, then place them */
	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < col->npreds; i++)
		{
			Predicate  *p = &col->preds[i];
			int			form = ScanFormOf(col, p);

			if (form == SCAN_NONE || (form != a && form != b))
				continue;
			for (int l = 0; l < p->nlits; l++)
			{
				unsigned char first = (unsigned char) p->lits[l][0];

				if (pass == 0)
					cs->start[first + 1]++;
				else
					cs->entries[cs->start[first] + fill[first]++] = (ScanEntry) {
						.lit = p->lits[l], .len = p->litlens[l], .pred = p->index,
						.fold = form == SCAN_FOLD
					};
			}
			if (pass == 1)
				p->scan = form;
		}
		if (pass == 0)
			for (int c = 1; c <= 256; c++)
				cs->start[c] += cs->start[c - 1];
	}
	return cs;
}

/*
 * Marks the predicates of cs whose literals occur in s; fold_ok says whether
 * s is the value's ASCII folding (else SCAN_FOLD literals do not count).
 */
static void
ScanContains(const ContainsScan *cs, const char *s, int len, bool fold_ok, bool *matched)
{
	for (int i = 0; i < len; i++)
	{
		unsigned char b = (unsigned char) s[i];

		for (int e = cs->start[b]; e < cs->start[b + 1]; e++)
		{
			const ScanEntry *se = &cs->entries[e];
			int			l = se->len;

			if (l <= len - i && !matched[se->pred] && (fold_ok || !se->fold) &&
				s[i + l - 1] == se->lit[l - 1] &&
				memcmp(s + i + 1, se->lit + 1, l - 1) == 0)
				matched[se->pred] = true;
		}
	}
}

PredicateSet *
predicate_set_compile(TupleDesc tupdesc, PredicateSpec *specs, int n)
{
	PredicateSet *set = palloc0(sizeof(PredicateSet));
	ParsedSpec *parsed = palloc(Max(n, 1) * sizeof(ParsedSpec));
	int		   *col_of = palloc(Max(n, 1) * sizeof(int));
	MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));
	ErrorContextCallback errcb;
	SpecContext ctx;

	cb->func = FreeRegexes;
	cb->arg = set;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);

	set->npreds = n;
	/* at most one plan per column of the row (not per predicate: 1,000 rules read ~10 columns) */
	set->cols = palloc0(Max(Min(n, tupdesc->natts), 1) * sizeof(ColumnPlan));

	errcb.callback = SpecErrorContext;
	errcb.arg = &ctx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	/* parse, and group by column in order of first appearance */
	for (int i = 0; i < n; i++)
	{
		int			c;

		ctx.spec = &specs[i];
		ParseSpec(tupdesc, &specs[i], &parsed[i]);
		for (c = 0; c < set->ncols; c++)
			if (set->cols[c].attno == parsed[i].attno)
				break;
		if (c == set->ncols)
		{
			InitColumn(&set->cols[c], &parsed[i]);
			set->ncols++;
			set->max_attno = Max(set->max_attno, parsed[i].attno);
		}
		col_of[i] = c;
	}

	/* decide per column whether eq/in/not_in go through a hash table */
	for (int c = 0; c < set->ncols; c++)
	{
		ColumnPlan *col = &set->cols[c];
		int			nvalues = 0;
		int			npreds = 0;

		for (int i = 0; i < n; i++)
		{
			if (col_of[i] != c)
				continue;
			npreds++;
			if (parsed[i].op == PRED_EQ || parsed[i].op == PRED_IN || parsed[i].op == PRED_NOT_IN)
				nvalues += parsed[i].nvalues;
		}
		if (col->hashable && nvalues >= HASH_MIN_VALUES)
			col->hash = valuehash_create(CurrentMemoryContext, nvalues, col);
		col->preds = palloc0(Max(npreds, 1) * sizeof(Predicate));
	}

	for (int i = 0; i < n; i++)
	{
		ColumnPlan *col = &set->cols[col_of[i]];
		ParsedSpec *ps = &parsed[i];
		Predicate  *p;

		ctx.spec = &specs[i];
		if (ps->op == PRED_IS_NULL)
		{
			IntAppend(&col->null_preds, &col->nnull, i);
			continue;
		}
		if (ps->op == PRED_NOT_NULL)
		{
			IntAppend(&col->notnull_preds, &col->nnotnull, i);
			continue;
		}
		if (col->hash && (ps->op == PRED_EQ || ps->op == PRED_IN || ps->op == PRED_NOT_IN))
		{
			for (int v = 0; v < ps->nvalues; v++)
			{
				Key			key = {0};
				ValueEntry *e;
				bool		found;

				MakeKey(col, ps->values[v], &key);
				e = valuehash_insert(col->hash, key, &found);
				if (!found)
				{
					e->nin = e->nnotin = 0;
					e->in = e->notin = NULL;
				}
				if (ps->op == PRED_NOT_IN)
					IntAppend(&e->notin, &e->nnotin, i);
				else
					IntAppend(&e->in, &e->nin, i);
			}
			if (ps->op == PRED_NOT_IN)
				IntAppend(&col->notin_preds, &col->nnotin, i);
			continue;
		}

		p = &col->preds[col->npreds++];
		p->index = i;
		p->op = ps->op;
		if (OpIsPattern(ps->op))
		{
			if (ps->op == PRED_ILIKE && pg_database_encoding_max_length() > 1)
			{
				/* as PostgreSQL does: lower() both sides, then LIKE */
				p->pattern = DirectFunctionCall1Coll(lower, col->collation,
													 PointerGetDatum(ps->pattern));
				if (!col->need_lower)
					col->ascii_lower_ok = AsciiLowerIsPlain(col->collation);
				col->need_lower = true;
			}
			else
				p->pattern = PointerGetDatum(ps->pattern);
			/* byte search is exact in UTF-8 and single-byte encodings */
			if (GetDatabaseEncoding() == PG_UTF8 || pg_database_encoding_max_length() == 1)
			{
				if (ps->op == PRED_LIKE || (ps->op == PRED_ILIKE && col->need_lower))
					LiteralLike(p);
				else if (ps->op == PRED_REGEX ||
						 (ps->op == PRED_IREGEX && AsciiLowerIsPlain(col->collation)))
					LiteralRegex(p, text_to_cstring(ps->pattern), ps->op == PRED_IREGEX);
				/* a bpchar's padding: leave char(n) to the engines */
				if (col->typid == BPCHAROID)
					p->lit = LIT_NONE;
			}
			SharedFirstByte(p);
			if (ps->op == PRED_REGEX || ps->op == PRED_IREGEX)
			{
				p->re = CompileRegex(ps->pattern, ps->op == PRED_IREGEX, col->collation);
				set->regexes = lappend(set->regexes, p->re);
				if (p->lit == LIT_NONE || ps->op == PRED_IREGEX)
					col->need_wchar = true; /* iregex falls back on non-ASCII values */
				if (ps->op == PRED_IREGEX && p->lit != LIT_NONE)
					col->need_ascii_lower = true;
			}
			continue;
		}
		p->nkeys = ps->nvalues;
		p->keys = palloc0(ps->nvalues * sizeof(Key));
		for (int v = 0; v < ps->nvalues; v++)
			MakeKey(col, ps->values[v], &p->keys[v]);
	}

	for (int c = 0; c < set->ncols; c++)
	{
		set->cols[c].raw_scan = BuildScan(&set->cols[c], SCAN_RAW, SCAN_NONE);
		set->cols[c].lower_scan = BuildScan(&set->cols[c], SCAN_LOWER, SCAN_FOLD);
	}

	error_context_stack = errcb.previous;
	return set;
}

int
predicate_set_max_attno(PredicateSet *set)
{
	return set->max_attno;
}

/* Per-row forms of a string value that several predicates share. */
typedef struct RowForms
{
	Datum		lowered;		/* lower(value), for ilike */
	const char *folded;			/* ASCII-folded bytes, NULL if the value is not ASCII */
	pg_wchar   *wdata;			/* for the regex engine, converted on first use */
	int			wlen;
} RowForms;

/* Longer values are folded into the row's scratch memory: a buffer would keep them. */
#define ROW_LOWER_MAX 65536

/*
 * The value with ASCII letters lower-cased, as text, NULL if it is not all
 * ASCII.  In the column's buffer, grown as needed in the set's context, so
 * that a row allocates nothing.
 */
static text *
AsciiFold(ColumnPlan *col, const Key *k)
{
	text	   *t = col->row_lower;
	char	   *dst;
	int			i;

	if (k->len > col->row_lower_cap)
	{
		if (k->len > ROW_LOWER_MAX)
			t = palloc(VARHDRSZ + k->len);
		else
		{
			col->row_lower_cap = Min(Max(k->len, 2 * col->row_lower_cap), ROW_LOWER_MAX);
			t = col->row_lower = repalloc(col->row_lower, VARHDRSZ + col->row_lower_cap);
		}
	}
	dst = VARDATA(t);
	i = 0;
	/*
	 * Eight bytes at a time: with no high bit set, adding 0x80 - 'A' sets the
	 * high bit of the bytes >= 'A', adding 0x7f - 'Z' of those > 'Z', without
	 * a carry into the next byte; 0x20 is added to the bytes in between.
	 */
	for (; i + 8 <= k->len; i += 8)
	{
		uint64		w;
		uint64		upper;

		memcpy(&w, k->s + i, 8);
		if (w & UINT64CONST(0x8080808080808080))
			return NULL;
		upper = ((w + UINT64CONST(0x3f3f3f3f3f3f3f3f)) ^ (w + UINT64CONST(0x2525252525252525))) &
			UINT64CONST(0x8080808080808080);
		w |= upper >> 2;
		memcpy(dst + i, &w, 8);
	}
	for (; i < k->len; i++)
	{
		unsigned char ch = (unsigned char) k->s[i];

		if (ch >= 0x80)
			return NULL;
		dst[i] = (ch >= 'A' && ch <= 'Z') ? ch + ('a' - 'A') : ch;
	}
	SET_VARSIZE(t, VARHDRSZ + k->len);
	return t;
}

/*
 * lower(value) under the column's collation, as a text datum; *ascii says
 * whether it is the value's ASCII folding (which iregex literals can share).
 */
static Datum
LowerValue(ColumnPlan *col, const Key *k, bool *ascii_folded)
{
	*ascii_folded = false;
	if (col->ascii_lower_ok)
	{
		text	   *folded = AsciiFold(col, k);

		if (folded != NULL)
		{
			*ascii_folded = true;
			return PointerGetDatum(folded);
		}
	}
	return DirectFunctionCall1Coll(lower, col->collation, k->d);
}

/* EvalPredicate for a KIND_INT column: the comparisons without KeyCompare's dispatch. */
static inline bool
EvalIntPredicate(const Predicate *p, int64 v)
{
	const Key  *keys = p->keys;

	switch (p->op)
	{
		case PRED_EQ:
			return v == keys[0].i;
		case PRED_NE:
			return v != keys[0].i;
		case PRED_LT:
			return v < keys[0].i;
		case PRED_LE:
			return v <= keys[0].i;
		case PRED_GT:
			return v > keys[0].i;
		case PRED_GE:
			return v >= keys[0].i;
		case PRED_BETWEEN:
			return v >= keys[0].i && v <= keys[1].i;
		case PRED_IN:
		case PRED_NOT_IN:
			{
				bool		found = false;

				for (int j = 0; j < p->nkeys; j++)
					found |= v == keys[j].i;
				return p->op == PRED_IN ? found : !found;
			}
		default:
			Assert(false);		/* no pattern or null ops on these types */
			return false;
	}
}

static inline bool
EvalPredicate(ColumnPlan *col, Predicate *p, const Key *k, RowForms *rf)
{
	switch (p->op)
	{
		case PRED_EQ:
			return KeysEqual(col, k, &p->keys[0]);
		case PRED_NE:
			return !KeysEqual(col, k, &p->keys[0]);
		case PRED_LT:
			return KeyCompare(col, k, &p->keys[0]) < 0;
		case PRED_LE:
			return KeyCompare(col, k, &p->keys[0]) <= 0;
		case PRED_GT:
			return KeyCompare(col, k, &p->keys[0]) > 0;
		case PRED_GE:
			return KeyCompare(col, k, &p->keys[0]) >= 0;
		case PRED_BETWEEN:
			return KeyCompare(col, k, &p->keys[0]) >= 0 &&
				KeyCompare(col, k, &p->keys[1]) <= 0;
		case PRED_IN:
		case PRED_NOT_IN:
			{
				bool		found = false;

				for (int v = 0; v < p->nkeys && !found; v++)
					found = KeysEqual(col, k, &p->keys[v]);
				return p->op == PRED_IN ? found : !found;
			}
		case PRED_LIKE:
			if (p->lit != LIT_NONE)
				return MatchLiterals(p, k->s, k->len);
			return DatumGetBool(DirectFunctionCall2Coll(textlike, col->collation,
														k->d, p->pattern));
		case PRED_ILIKE:
			if (rf->lowered != (Datum) 0)
			{
				if (p->lit != LIT_NONE)
					return MatchLiterals(p, VARDATA_ANY(DatumGetPointer(rf->lowered)),
										 VARSIZE_ANY_EXHDR(DatumGetPointer(rf->lowered)));
				return DatumGetBool(DirectFunctionCall2Coll(textlike, col->collation,
															rf->lowered, p->pattern));
			}
			return DatumGetBool(DirectFunctionCall2Coll(texticlike, col->collation,
														k->d, p->pattern));
		case PRED_REGEX:
		case PRED_IREGEX:
			{
				int			rc;

				if (p->lit != LIT_NONE)
				{
					if (p->op == PRED_REGEX)
						return MatchLiterals(p, k->s, k->len);
					if (rf->folded != NULL)
						return MatchLiterals(p, rf->folded, k->len);
				}
				if (rf->wdata == NULL)
				{
					rf->wdata = palloc((k->len + 1) * sizeof(pg_wchar));
					rf->wlen = pg_mb2wchar_with_len(k->s, rf->wdata, k->len);
				}
				rc = pg_regexec(p->re, rf->wdata, rf->wlen, 0, NULL, 0, NULL, 0);

				if (rc == REG_NOMATCH)
					return false;
				if (rc != REG_OKAY)
					RegexFailure(rc, p->re, "regular expression failed", NULL);
				return true;
			}
		case PRED_IS_NULL:
		case PRED_NOT_NULL:
			break;
	}
	return false;
}

void
predicate_set_eval(PredicateSet *set, TupleTableSlot *slot, bool *matched,
				   MemoryContext scratch)
{
	MemoryContext old = MemoryContextSwitchTo(scratch);

	memset(matched, 0, set->npreds * sizeof(bool));
	slot_getsomeattrs(slot, set->max_attno);

	for (int c = 0; c < set->ncols; c++)
	{
		ColumnPlan *col = &set->cols[c];
		Key			k;
		RowForms	rf = {0};
		bool		folded = false;
		bool		scanned[SCAN_FOLD + 1];

		if (slot->tts_isnull[col->attno - 1])
		{
			for (int i = 0; i < col->nnull; i++)
				matched[col->null_preds[i]] = true;
			continue;
		}
		MakeRowKey(col, slot->tts_values[col->attno - 1], &k);

		for (int i = 0; i < col->nnotnull; i++)
			matched[col->notnull_preds[i]] = true;

		if (col->hash)
		{
			ValueEntry *e = valuehash_lookup(col->hash, k);

			for (int i = 0; i < col->nnotin; i++)
				matched[col->notin_preds[i]] = true;
			if (e)
			{
				for (int i = 0; i < e->nin; i++)
					matched[e->in[i]] = true;
				for (int i = 0; i < e->nnotin; i++)
					matched[e->notin[i]] = false;
			}
		}

		if (col->npreds == 0)
			continue;
		if (col->kind == KIND_INT)
		{
			for (int i = 0; i < col->npreds; i++)
				matched[col->preds[i].index] = EvalIntPredicate(&col->preds[i], k.i);
			continue;
		}
		if (col->need_lower)
			rf.lowered = LowerValue(col, &k, &folded);
		if (col->need_ascii_lower)
		{
			text	   *t = folded ? (text *) DatumGetPointer(rf.lowered) : AsciiFold(col, &k);

			rf.folded = t ? VARDATA(t) : NULL;
		}
		/* the scans, for values short enough; scanned[form]: its predicates are done */
		memset(scanned, 0, sizeof(scanned));
		if (col->raw_scan && k.len <= SCAN_MAX_LEN)
		{
			ScanContains(col->raw_scan, k.s, k.len, false, matched);
			scanned[SCAN_RAW] = true;
		}
		if (col->lower_scan)
		{
			const char *bytes = rf.folded;
			int			len = k.len;

			if (rf.lowered != (Datum) 0)
			{
				bytes = VARDATA_ANY(DatumGetPointer(rf.lowered));
				len = VARSIZE_ANY_EXHDR(DatumGetPointer(rf.lowered));
			}
			if (bytes != NULL && len <= SCAN_MAX_LEN)
			{
				bool		fold_ok = rf.folded == bytes;

				ScanContains(col->lower_scan, bytes, len, fold_ok, matched);
				scanned[SCAN_LOWER] = rf.lowered != (Datum) 0;
				scanned[SCAN_FOLD] = fold_ok;
			}
		}
		for (int i = 0; i < col->npreds; i++)
		{
			Predicate  *p = &col->preds[i];

			if (scanned[p->scan])
				continue;
			matched[p->index] = EvalPredicate(col, p, &k, &rf);
		}
	}
	MemoryContextSwitchTo(old);
}
