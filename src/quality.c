/*
 * quality.c — the score_quality aggregate: conversion rate and exact ROC AUC.
 *
 * The state maps each distinct score to its counts of converted (pos) and not converted
 * (neg) leads.  In memory it is an expanded object: sorted runs of distinct scores plus
 * an unsorted append buffer, sorted and merged into the runs when full.  A row costs a
 * binary search (a score already seen) or an append, and nodeAgg never copies the state
 * because the transition function returns the same read/write pointer every time.  Its
 * flat form (parallel workers, text and binary I/O) is a header and the runs.
 *
 * With a bins argument the state stays exact until it holds more distinct finite scores
 * than bins; then each finite score is put in the bin floor(score / 2^k), k the smallest
 * exponent for which [min, max] spans at most bins such bins.  As min and max move, k only
 * grows, and an aligned bin of width 2^k is a union of bins of width 2^(k-1), so
 * re-binning is a linear pass and the final state does not depend on row order or on how
 * a parallel plan split the rows.  NaN and the infinities keep bins of their own.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "common/int.h"
#include "common/int128.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "compat.h"
#include "quality.h"

#define QS_VERSION		1
#define QS_FLAG_BINNED	0x01
#define QS_FLAG_BUCKETS	0x02	/* binary form: a buckets field follows k */
#define QS_MAX_BUCKETS	1000000
#define QS_MIN_BINS		2
#define QS_MAX_BINS		1000000
#define QS_MIN_BUFFER	16
#define QS_SEARCH_LIMIT	4096	/* runs searched per row up to this many entries */
/* bin width exponents: 2^-1100 is below every subnormal, 2^1100 above every double */
#define QS_MIN_K		(-1100)
#define QS_MAX_K		1100
#define QS_TYPE_NAME	"leadqual.quality_state"

/* The flat form: what workers send, what text and binary I/O read and write. */
typedef struct QualityStateFlat
{
	int32		vl_len_;
	uint8		version;		/* QS_VERSION */
	uint8		flags;			/* QS_FLAG_BINNED */
	int16		reserved;
	int32		bins;			/* 0: the exact aggregate */
	int32		k;				/* log2 of the bin width, when binned */
	int32		nentries;
	int32		buckets;		/* gains: the bands asked for; 0 for score_quality */
	QualityEntry entries[FLEXIBLE_ARRAY_MEMBER];	/* strictly ascending */
} QualityStateFlat;

#define QS_HEADER_SIZE	offsetof(QualityStateFlat, entries)
#define QS_MAX_ENTRIES	((MaxAllocSize - QS_HEADER_SIZE) / sizeof(QualityEntry))

/* The expanded form, updated in place. */
typedef struct ExpandedQuality
{
	ExpandedObjectHeader hdr;
	int32		bins;
	bool		binned;
	int32		k;
	int32		buckets;		/* gains: the bands asked for; 0 for score_quality */
	QualityEntry *runs;			/* strictly ascending (by bin when binned) */
	Size		nruns;
	Size		runs_cap;
	QualityEntry *buf;			/* appended, unsorted, duplicates allowed */
	Size		nbuf;
	Size		buf_cap;
} ExpandedQuality;

static Size EQGetFlatSize(ExpandedObjectHeader *eohptr);
static void EQFlattenInto(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods EQ_methods = {
	EQGetFlatSize,
	EQFlattenInto
};

/* Returns the index of x's bin of width 2^k (an integer-valued double). */
static inline float8
BinIndex(float8 x, int k)
{
	float8		v = floor(ldexp(x, -k));

	/* a tiny negative score can underflow to -0, but it lies in bin -1 */
	if (v == 0 && x < 0)
		v = -1;
	return v;
}

/* float8_cmp_internal inlined: NaN equals NaN and sorts above everything else */
static inline int
Float8Cmp(float8 a, float8 b)
{
	if (unlikely(isnan(a) || isnan(b)))
		return isnan(a) ? (isnan(b) ? 0 : 1) : -1;
	return (a > b) - (a < b);
}

/* Orders scores as float8 does (NaN above Infinity); scores in one bin compare equal. */
static inline int
QualityCmp(float8 a, float8 b, bool binned, int k)
{
	if (binned && isfinite(a) && isfinite(b))
	{
		a = BinIndex(a, k);
		b = BinIndex(b, k);
	}
	return Float8Cmp(a, b);
}

static int
EntryCmpExact(const void *a, const void *b)
{
	return Float8Cmp(((const QualityEntry *) a)->score, ((const QualityEntry *) b)->score);
}

static void
CountsOutOfRange(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("score_quality counts out of range")));
}

/* Adds src's counts to dst, keeping the smaller score as the bin's representative. */
static inline void
EntryAbsorb(QualityEntry *dst, const QualityEntry *src)
{
	if (pg_add_s64_overflow(dst->pos, src->pos, &dst->pos) ||
		pg_add_s64_overflow(dst->neg, src->neg, &dst->neg))
		CountsOutOfRange();
	if (Float8Cmp(src->score, dst->score) < 0)
		dst->score = src->score;
}

/* Does [lo, hi] span at most bins bins of width 2^k? */
static inline bool
SpanFits(float8 lo, float8 hi, int k, int32 bins)
{
	float8		span = BinIndex(hi, k) - BinIndex(lo, k) + 1;

	return span <= (float8) bins;	/* false for NaN (overflowed indexes) */
}

/* Returns the smallest k >= kmin for which [lo, hi] spans at most bins bins. */
static int
RequiredK(float8 lo, float8 hi, int32 bins, int kmin)
{
	int			k;

	if (!(lo < hi))
		return kmin;
	/* start just below log2((hi - lo) / bins); halves first so that hi - lo cannot overflow */
	k = ilogb(hi / 2 - lo / 2) - ilogb((float8) bins);
	k = Max(k, kmin);
	k = Min(k, QS_MAX_K);
	while (k < QS_MAX_K && !SpanFits(lo, hi, k, bins))
		k++;
	while (k > kmin && SpanFits(lo, hi, k - 1, bins))
		k--;
	return k;
}

/* Finds the smallest and largest finite scores of a sorted array; false if none. */
static bool
FiniteRange(const QualityEntry *e, Size n, float8 *lo, float8 *hi)
{
	Size		i = 0;
	Size		j = n;

	while (i < n && !isfinite(e[i].score))
		i++;
	while (j > i && !isfinite(e[j - 1].score))
		j--;
	if (i >= j)
		return false;
	*lo = e[i].score;
	*hi = e[j - 1].score;
	return true;
}

static Size
CountFinite(const QualityEntry *e, Size n)
{
	Size		c = 0;

	for (Size i = 0; i < n; i++)
		if (isfinite(e[i].score))
			c++;
	return c;
}

/* Merges adjacent entries of a sorted array that compare equal (one score or one bin). */
static void
CollapseSorted(QualityEntry *e, Size *n, bool binned, int k)
{
	Size		w = 0;

	if (*n == 0)
		return;
	for (Size i = 1; i < *n; i++)
	{
		if (QualityCmp(e[w].score, e[i].score, binned, k) == 0)
			EntryAbsorb(&e[w], &e[i]);
		else
			e[++w] = e[i];
	}
	*n = w + 1;
}

static ExpandedQuality *
NewExpandedQuality(MemoryContext parent, int32 bins, int32 buckets)
{
	MemoryContext objcxt;
	ExpandedQuality *eq;

	objcxt = AllocSetContextCreate(parent, "expanded quality state",
								   ALLOCSET_START_SMALL_SIZES);
	eq = MemoryContextAllocZero(objcxt, sizeof(ExpandedQuality));
	EOH_init_header(&eq->hdr, &EQ_methods, objcxt);
	eq->bins = bins;
	eq->buckets = buckets;
	eq->binned = false;
	eq->k = 0;
	return eq;
}

static void
EnsureRunsCapacity(ExpandedQuality *eq, Size need)
{
	if (need <= eq->runs_cap)
		return;
	if (eq->runs == NULL)
		eq->runs = MemoryContextAllocHuge(eq->hdr.eoh_context, need * sizeof(QualityEntry));
	else
		eq->runs = repalloc_huge(eq->runs, need * sizeof(QualityEntry));
	eq->runs_cap = need;
}

/*
 * Switches to (or stays in) binned mode with the smallest bin width 2^k, k >= kmin, that
 * covers the finite scores of the runs and of the sorted buffer; re-bins the runs.
 */
static void
RaiseK(ExpandedQuality *eq, int kmin)
{
	float8		lo = 0,
				hi = 0,
				blo,
				bhi;
	bool		have = FiniteRange(eq->runs, eq->nruns, &lo, &hi);
	int			k;

	if (FiniteRange(eq->buf, eq->nbuf, &blo, &bhi))
	{
		if (!have || blo < lo)
			lo = blo;
		if (!have || bhi > hi)
			hi = bhi;
		have = true;
	}
	if (eq->binned)
		kmin = Max(kmin, eq->k);
	k = have ? RequiredK(lo, hi, eq->bins, kmin) : kmin;
	if (eq->binned && k == eq->k)
		return;
	eq->binned = true;
	eq->k = k;
	CollapseSorted(eq->runs, &eq->nruns, true, k);
}

/* Sorts the append buffer and merges it into the runs. */
static void
QualityFlush(ExpandedQuality *eq)
{
	Size		i,
				j,
				w,
				total;

	if (eq->nbuf == 0)
		return;
	qsort(eq->buf, eq->nbuf, sizeof(QualityEntry), EntryCmpExact);
	if (eq->binned)
		RaiseK(eq, eq->k);		/* the buffer may have widened [min, max] */
	CollapseSorted(eq->buf, &eq->nbuf, eq->binned, eq->k);

	/* merge from the back, so the runs array needs no second copy */
	total = eq->nruns + eq->nbuf;
	EnsureRunsCapacity(eq, total);
	i = eq->nruns;
	j = eq->nbuf;
	w = total;
	while (i > 0 || j > 0)
	{
		int			c;

		if (i == 0)
			c = -1;
		else if (j == 0)
			c = 1;
		else
			c = QualityCmp(eq->runs[i - 1].score, eq->buf[j - 1].score, eq->binned, eq->k);
		if (c > 0)
			eq->runs[--w] = eq->runs[--i];
		else if (c < 0)
			eq->runs[--w] = eq->buf[--j];
		else
		{
			QualityEntry e = eq->runs[--i];

			EntryAbsorb(&e, &eq->buf[--j]);
			eq->runs[--w] = e;
		}
	}
	if (w > 0)
		memmove(eq->runs, eq->runs + w, (total - w) * sizeof(QualityEntry));
	eq->nruns = total - w;
	eq->nbuf = 0;

	if (!eq->binned && eq->bins > 0 && CountFinite(eq->runs, eq->nruns) > (Size) eq->bins)
		RaiseK(eq, QS_MIN_K);
}

/* Appends an entry to the buffer, flushing first when it is full. */
static void
BufferAppend(ExpandedQuality *eq, const QualityEntry *e)
{
	if (eq->nbuf >= eq->buf_cap)
	{
		Size		cap;

		QualityFlush(eq);
		/* a buffer as large as the runs keeps the merges amortised O(1) per row */
		cap = Max(QS_MIN_BUFFER, eq->nruns);
		if (cap > eq->buf_cap)
		{
			if (eq->buf)
				pfree(eq->buf);
			eq->buf = MemoryContextAllocHuge(eq->hdr.eoh_context, cap * sizeof(QualityEntry));
			eq->buf_cap = cap;
		}
	}
	eq->buf[eq->nbuf++] = *e;
}

/* Appends n entries to the buffer (memcpy in chunks, flushing as BufferAppend does). */
static void
BufferAppendMany(ExpandedQuality *eq, const QualityEntry *e, Size n)
{
	while (n > 0)
	{
		Size		c;

		if (eq->nbuf >= eq->buf_cap)
		{
			BufferAppend(eq, e++);	/* flushes, grows the buffer */
			n--;
			continue;
		}
		c = Min(eq->buf_cap - eq->nbuf, n);
		memcpy(eq->buf + eq->nbuf, e, c * sizeof(QualityEntry));
		eq->nbuf += c;
		e += c;
		n -= c;
	}
}

/* Counts one row. */
static void
QualityAdd(ExpandedQuality *eq, float8 score, bool converted)
{
	QualityEntry e;
	Size		lo = 0,
				hi = eq->nruns;

	if (score == 0)
		score = 0;				/* -0 and 0 are one score; keep the state canonical */
	e.score = score;
	e.pos = converted ? 1 : 0;
	e.neg = converted ? 0 : 1;

	/*
	 * A score (bin) already in small runs is counted in place.  Large runs do not fit in
	 * the CPU cache, and a binary search there costs more than appending and letting the
	 * next merge collapse the duplicates.
	 */
	if (eq->nruns > QS_SEARCH_LIMIT)
		hi = 0;
	else if (!eq->binned && !isnan(score) && hi > 0)
	{
		/*
		 * Exact state, a number: a branch-free search for the last entry <= score (NaN
		 * entries sort last and are never <=), so unpredictable scores cost no branch
		 * mispredictions; it is the same entry the search below would find.
		 */
		QualityEntry *base = eq->runs;
		Size		n = hi;

		while (n > 1)
		{
			Size		half = n / 2;

			base = base[half].score <= score ? base + half : base;
			n -= half;
		}
		if (base->score == score)
			EntryAbsorb(base, &e);
		else
			BufferAppend(eq, &e);
		return;
	}
	while (lo < hi)
	{
		Size		mid = lo + (hi - lo) / 2;
		int			c = QualityCmp(eq->runs[mid].score, score, eq->binned, eq->k);

		if (c == 0)
		{
			EntryAbsorb(&eq->runs[mid], &e);
			return;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	BufferAppend(eq, &e);
}

/* Builds a view of a state datum, flushing an expanded one (its value does not change). */
void
quality_get_view(Datum d, QualityView *v)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
	{
		ExpandedQuality *eq = (ExpandedQuality *) DatumGetEOHP(d);

		Assert(eq->hdr.eoh_methods == &EQ_methods);
		QualityFlush(eq);
		v->bins = eq->bins;
		v->buckets = eq->buckets;
		v->binned = eq->binned;
		v->k = eq->k;
		v->runs = eq->runs;
		v->nruns = eq->nruns;
		v->buf = eq->buf;
		v->nbuf = eq->nbuf;
	}
	else
	{
		QualityStateFlat *flat = (QualityStateFlat *) PG_DETOAST_DATUM(d);

		if (flat->version != QS_VERSION)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("quality state version %d is not supported", flat->version)));
		v->bins = flat->bins;
		v->buckets = flat->buckets;
		v->binned = (flat->flags & QS_FLAG_BINNED) != 0;
		v->k = flat->k;
		v->runs = flat->entries;
		v->nruns = flat->nentries;
		v->buf = NULL;
		v->nbuf = 0;
	}
}

/* Adds every entry of a state to eq (the combine step). */
static void
QualityAbsorb(ExpandedQuality *eq, const QualityView *v)
{
	if (eq->bins != v->bins)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine score_quality states with %d and %d bins",
						eq->bins, v->bins)));
	if (eq->buckets != v->buckets)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine gains states of %d and %d buckets",
						eq->buckets, v->buckets)));

	/*
	 * A state much smaller than the runs (one of many partial states of a group): its
	 * entries are appended, and merged when the buffer (as large as the runs) fills or
	 * the state is read.  Merging each on arrival cost O(runs) per state, quadratic in
	 * the number of states.  (The exact aggregate only: a binned one re-bins as it
	 * merges.)
	 */
	if (eq->bins == 0 && !eq->binned && !v->binned &&
		v->nruns + v->nbuf <= eq->nruns / 8)
	{
		BufferAppendMany(eq, v->runs, v->nruns);
		BufferAppendMany(eq, v->buf, v->nbuf);
		return;
	}
	QualityFlush(eq);
	/* bins of width 2^k split no coarser bin, so the other state's k is a lower bound */
	if (v->binned)
		RaiseK(eq, v->k);
	for (Size i = 0; i < v->nruns; i++)
		BufferAppend(eq, &v->runs[i]);
	for (Size i = 0; i < v->nbuf; i++)
		BufferAppend(eq, &v->buf[i]);
	QualityFlush(eq);
}

/* Copies a state datum (flat or expanded) into a new expanded object under parent. */
static ExpandedQuality *
CopyQuality(Datum d, MemoryContext parent)
{
	QualityView v;
	ExpandedQuality *eq;

	quality_get_view(d, &v);
	eq = NewExpandedQuality(parent, v.bins, v.buckets);
	eq->binned = v.binned;
	eq->k = v.k;
	if (v.nruns > 0)
	{
		EnsureRunsCapacity(eq, v.nruns);
		memcpy(eq->runs, v.runs, v.nruns * sizeof(QualityEntry));
		eq->nruns = v.nruns;
	}
	for (Size i = 0; i < v.nbuf; i++)
		BufferAppend(eq, &v.buf[i]);
	return eq;
}

static Size
EQGetFlatSize(ExpandedObjectHeader *eohptr)
{
	ExpandedQuality *eq = (ExpandedQuality *) eohptr;

	QualityFlush(eq);
	if (eq->nruns > QS_MAX_ENTRIES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("score_quality state of %zu distinct scores is too large to serialize",
						eq->nruns),
				 errhint("Use score_quality(score, converted, bins) to bound the state.")));
	return QS_HEADER_SIZE + eq->nruns * sizeof(QualityEntry);
}

static void
EQFlattenInto(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ExpandedQuality *eq = (ExpandedQuality *) eohptr;
	QualityStateFlat *flat = (QualityStateFlat *) result;

	Assert(eq->nbuf == 0);
	Assert(allocated_size == QS_HEADER_SIZE + eq->nruns * sizeof(QualityEntry));
	memset(flat, 0, QS_HEADER_SIZE);
	SET_VARSIZE(flat, allocated_size);
	flat->version = QS_VERSION;
	flat->flags = eq->binned ? QS_FLAG_BINNED : 0;
	flat->bins = eq->bins;
	flat->k = eq->binned ? eq->k : 0;
	flat->nentries = (int32) eq->nruns;
	flat->buckets = eq->buckets;
	if (eq->nruns > 0)
		memcpy(flat->entries, eq->runs, eq->nruns * sizeof(QualityEntry));
}

/* Reports a malformed state (text or binary input). */
static void
QualityInvalid(int sqlstate, const char *input, const char *detail)
{
	if (input)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid input syntax for type %s: \"%s\"", QS_TYPE_NAME, input),
				 errdetail("%s", detail)));
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid external binary representation of type %s", QS_TYPE_NAME),
			 errdetail("%s", detail)));
}

/* Checks the invariants every state holds; input is the text (NULL for binary input). */
static void
ValidateState(int sqlstate, const char *input, int32 bins, bool binned, int32 k,
			  int32 buckets, const QualityEntry *e, Size n)
{
	int64		pos = 0,
				neg = 0;

	if (buckets < 0 || buckets > QS_MAX_BUCKETS)
		QualityInvalid(sqlstate, input, psprintf("buckets must be between 0 and %d.", QS_MAX_BUCKETS));
	if (buckets > 0 && bins != 0)
		QualityInvalid(sqlstate, input, "A gains state (buckets > 0) is exact (bins=0).");

	if (bins != 0 && (bins < QS_MIN_BINS || bins > QS_MAX_BINS))
		QualityInvalid(sqlstate, input, psprintf("bins must be 0 or between %d and %d.",
												 QS_MIN_BINS, QS_MAX_BINS));
	if (binned && bins == 0)
		QualityInvalid(sqlstate, input, "An exact state (bins=0) cannot be binned.");
	if (binned && (k < QS_MIN_K || k > QS_MAX_K))
		QualityInvalid(sqlstate, input, psprintf("k must be between %d and %d.",
												 QS_MIN_K, QS_MAX_K));
	for (Size i = 0; i < n; i++)
	{
		if (e[i].pos < 0 || e[i].neg < 0 || (e[i].pos == 0 && e[i].neg == 0))
			QualityInvalid(sqlstate, input, "Counts must be non-negative and not both zero.");
		if (pg_add_s64_overflow(pos, e[i].pos, &pos) ||
			pg_add_s64_overflow(neg, e[i].neg, &neg))
			QualityInvalid(sqlstate, input, "The counts add up to more than bigint holds.");
		if (binned && isfinite(e[i].score) && !isfinite(BinIndex(e[i].score, k)))
			QualityInvalid(sqlstate, input, "A score lies outside the range bins of width 2^k can index.");
		if (i > 0 && QualityCmp(e[i - 1].score, e[i].score, binned, k) >= 0)
			QualityInvalid(sqlstate, input, binned ?
						   "Scores must lie in strictly ascending bins." :
						   "Scores must be strictly ascending.");
		if (e[i].score == 0 && signbit(e[i].score))
			QualityInvalid(sqlstate, input, "A score of -0 is written 0.");
	}
	if (pos > PG_INT64_MAX - neg)
		QualityInvalid(sqlstate, input, "The counts add up to more than bigint holds.");
	if (bins > 0 && CountFinite(e, n) > (Size) bins)
		QualityInvalid(sqlstate, input, "The state holds more distinct finite scores than bins.");
}

static QualityStateFlat *
MakeFlat(int32 bins, bool binned, int32 k, int32 buckets, const QualityEntry *e, Size n)
{
	Size		size = QS_HEADER_SIZE + n * sizeof(QualityEntry);
	QualityStateFlat *flat = palloc0(size);

	SET_VARSIZE(flat, size);
	flat->version = QS_VERSION;
	flat->flags = binned ? QS_FLAG_BINNED : 0;
	flat->bins = bins;
	flat->k = binned ? k : 0;
	flat->nentries = (int32) n;
	flat->buckets = buckets;
	if (n > 0)
		memcpy(flat->entries, e, n * sizeof(QualityEntry));
	return flat;
}

/* Reads a decimal int64 at *p (optional minus sign), advancing *p. */
static bool
ParseInt64(const char **p, int64 *result)
{
	const char *s = *p;
	bool		neg = false;
	int64		v = 0;

	if (*s == '-')
	{
		neg = true;
		s++;
	}
	if (!isdigit((unsigned char) *s))
		return false;
	while (isdigit((unsigned char) *s))
	{
		if (pg_mul_s64_overflow(v, 10, &v) ||
			pg_sub_s64_overflow(v, *s - '0', &v))	/* accumulate negatively: -2^63 fits */
			return false;
		s++;
	}
	if (!neg)
	{
		if (v == PG_INT64_MIN)
			return false;
		v = -v;
	}
	*p = s;
	*result = v;
	return true;
}

PG_FUNCTION_INFO_V1(quality_state_in);
/* Reads "v1 bins=B [buckets=G] exact|k=K [score:pos:neg ...]" (buckets: a gains state). */
Datum
quality_state_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	const char *p = str;
	int64		bins,
				k = 0,
				buckets = 0;
	bool		binned;
	Size		n = 0,
				cap = 16;
	QualityEntry *e = palloc(cap * sizeof(QualityEntry));
	const int	bad = ERRCODE_INVALID_TEXT_REPRESENTATION;

	while (isspace((unsigned char) *p))
		p++;
	if (p[0] != 'v')
		QualityInvalid(bad, str, "The state must start with the version marker \"v1\".");
	p++;
	{
		int64		version;

		if (!ParseInt64(&p, &version))
			QualityInvalid(bad, str, "The state must start with the version marker \"v1\".");
		if (version != QS_VERSION)
			QualityInvalid(bad, str, psprintf("Version %lld is not supported; this build reads version %d.",
											  (long long) version, QS_VERSION));
	}
	while (isspace((unsigned char) *p))
		p++;
	if (strncmp(p, "bins=", 5) != 0)
		QualityInvalid(bad, str, "Expected \"bins=\" after the version.");
	p += 5;
	if (!ParseInt64(&p, &bins) || bins < 0 || bins > QS_MAX_BINS)
		QualityInvalid(bad, str, psprintf("bins must be 0 or between %d and %d.",
										  QS_MIN_BINS, QS_MAX_BINS));
	while (isspace((unsigned char) *p))
		p++;
	if (strncmp(p, "buckets=", 8) == 0)
	{
		p += 8;
		if (!ParseInt64(&p, &buckets) || buckets < 1 || buckets > QS_MAX_BUCKETS)
			QualityInvalid(bad, str, psprintf("buckets must be between 1 and %d.", QS_MAX_BUCKETS));
		while (isspace((unsigned char) *p))
			p++;
	}
	if (strncmp(p, "exact", 5) == 0)
	{
		binned = false;
		p += 5;
	}
	else if (strncmp(p, "k=", 2) == 0)
	{
		binned = true;
		p += 2;
		if (!ParseInt64(&p, &k) || k < QS_MIN_K || k > QS_MAX_K)
			QualityInvalid(bad, str, psprintf("k must be between %d and %d.",
											  QS_MIN_K, QS_MAX_K));
	}
	else
		QualityInvalid(bad, str, "Expected \"exact\" or \"k=\" after bins.");

	for (;;)
	{
		char	   *end;

		if (*p != '\0' && !isspace((unsigned char) *p))
			QualityInvalid(bad, str, "Entries must be separated by white space.");
		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			break;
		if (n >= QS_MAX_ENTRIES)
			QualityInvalid(bad, str, "The state has too many entries.");
		if (n == cap)
		{
			cap *= 2;
			e = repalloc_huge(e, cap * sizeof(QualityEntry));
		}
		e[n].score = float8in_internal_compat((char *) p, &end, QS_TYPE_NAME, str);
		p = end;
		if (*p++ != ':' || !ParseInt64(&p, &e[n].pos) ||
			*p++ != ':' || !ParseInt64(&p, &e[n].neg))
			QualityInvalid(bad, str, "Each entry is score:converted:not_converted.");
		n++;
	}
	ValidateState(bad, str, (int32) bins, binned, (int32) k, (int32) buckets, e, n);
	PG_RETURN_POINTER(MakeFlat((int32) bins, binned, (int32) k, (int32) buckets, e, n));
}

static void
AppendScore(StringInfo s, float8 x)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (isnan(x))
		appendStringInfoString(s, "NaN");
	else if (isinf(x))
		appendStringInfoString(s, x > 0 ? "Infinity" : "-Infinity");
	else
	{
		/* shortest exact form, whatever extra_float_digits says */
		double_to_shortest_decimal_buf(x, buf);
		appendStringInfoString(s, buf);
	}
}

PG_FUNCTION_INFO_V1(quality_state_out);
/* Writes a state as "v1 bins=B [buckets=G] exact|k=K [score:pos:neg ...]". */
Datum
quality_state_out(PG_FUNCTION_ARGS)
{
	QualityView v;
	StringInfoData s;

	quality_get_view(PG_GETARG_DATUM(0), &v);
	Assert(v.nbuf == 0);
	initStringInfo(&s);
	appendStringInfo(&s, "v%d bins=%d ", QS_VERSION, v.bins);
	if (v.buckets > 0)
		appendStringInfo(&s, "buckets=%d ", v.buckets);
	if (v.binned)
		appendStringInfo(&s, "k=%d", v.k);
	else
		appendStringInfoString(&s, "exact");
	for (Size i = 0; i < v.nruns; i++)
	{
		appendStringInfoChar(&s, ' ');
		AppendScore(&s, v.runs[i].score);
		appendStringInfo(&s, ":" INT64_FORMAT ":" INT64_FORMAT, v.runs[i].pos, v.runs[i].neg);
	}
	PG_RETURN_CSTRING(s.data);
}

PG_FUNCTION_INFO_V1(quality_state_recv);
/*
 * Reads the binary form: version byte, flags byte, bins, k, [buckets when flagged], n,
 * n x (float8, int8, int8).
 */
Datum
quality_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	const int	bad = ERRCODE_INVALID_BINARY_REPRESENTATION;
	int			version = pq_getmsgbyte(buf);
	int			flags;
	int32		bins,
				k,
				buckets = 0,
				n;
	QualityEntry *e;

	if (version != QS_VERSION)
		QualityInvalid(bad, NULL, psprintf("Version %d is not supported; this build reads version %d.",
										   version, QS_VERSION));
	flags = pq_getmsgbyte(buf);
	if ((flags & ~(QS_FLAG_BINNED | QS_FLAG_BUCKETS)) != 0)
		QualityInvalid(bad, NULL, "Unknown flags are set.");
	bins = pq_getmsgint(buf, 4);
	k = pq_getmsgint(buf, 4);
	if (flags & QS_FLAG_BUCKETS)
	{
		buckets = pq_getmsgint(buf, 4);
		if (buckets < 1)
			QualityInvalid(bad, NULL, psprintf("buckets must be between 1 and %d.", QS_MAX_BUCKETS));
	}
	n = pq_getmsgint(buf, 4);
	/* each entry takes 24 bytes of the message: check before allocating */
	if (n < 0 || (Size) n > QS_MAX_ENTRIES || (Size) n * 24 > (Size) (buf->len - buf->cursor))
		QualityInvalid(bad, NULL, "The entry count does not match the message.");
	e = palloc(Max(n, 1) * sizeof(QualityEntry));
	for (int32 i = 0; i < n; i++)
	{
		e[i].score = pq_getmsgfloat8(buf);
		e[i].pos = pq_getmsgint64(buf);
		e[i].neg = pq_getmsgint64(buf);
	}
	ValidateState(bad, NULL, bins, (flags & QS_FLAG_BINNED) != 0, k, buckets, e, n);
	PG_RETURN_POINTER(MakeFlat(bins, (flags & QS_FLAG_BINNED) != 0, k, buckets, e, n));
}

PG_FUNCTION_INFO_V1(quality_state_send);
/* Writes the binary form read by quality_state_recv. */
Datum
quality_state_send(PG_FUNCTION_ARGS)
{
	QualityView v;
	StringInfoData buf;

	quality_get_view(PG_GETARG_DATUM(0), &v);
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, QS_VERSION);
	pq_sendbyte(&buf, (v.binned ? QS_FLAG_BINNED : 0) | (v.buckets > 0 ? QS_FLAG_BUCKETS : 0));
	pq_sendint32(&buf, v.bins);
	pq_sendint32(&buf, v.binned ? v.k : 0);
	if (v.buckets > 0)
		pq_sendint32(&buf, v.buckets);
	pq_sendint32(&buf, (int32) v.nruns);
	for (Size i = 0; i < v.nruns; i++)
	{
		pq_sendfloat8(&buf, v.runs[i].score);
		pq_sendint64(&buf, v.runs[i].pos);
		pq_sendint64(&buf, v.runs[i].neg);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * Returns the state of argument 0 ready to be updated in place: in an aggregate, an
 * expanded object that is a child of the aggregate context (made once per group); outside
 * one, a read/write expanded argument is ours to change (array_append's convention).
 */
static ExpandedQuality *
StateForUpdate(FunctionCallInfo fcinfo, int32 bins, int32 buckets)
{
	MemoryContext aggcxt;
	bool		in_agg = AggCheckCallContext(fcinfo, &aggcxt) != 0;
	ExpandedQuality *eq;

	if (!in_agg)
		aggcxt = CurrentMemoryContext;
	if (PG_ARGISNULL(0))
		return NewExpandedQuality(aggcxt, bins, buckets);
	if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(PG_GETARG_DATUM(0))))
	{
		eq = (ExpandedQuality *) DatumGetEOHP(PG_GETARG_DATUM(0));
		if (!in_agg || MemoryContextGetParent(eq->hdr.eoh_context) == aggcxt)
			return eq;
	}
	return CopyQuality(PG_GETARG_DATUM(0), aggcxt);
}

/*
 * Counts the row (score in argument 1, converted in 2) into the state in argument 0; bins
 * is 0 for the exact state, buckets 0 except for gains (which keeps it for its final
 * function, since an aggregate's final function sees no argument values).
 */
Datum
quality_transition(FunctionCallInfo fcinfo, int32 bins, int32 buckets)
{
	ExpandedQuality *eq;

	/* an all-NULL group keeps a NULL state: the final function reports zero leads */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	eq = StateForUpdate(fcinfo, bins, buckets);
	if (eq->buckets != buckets)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("buckets must be the same for every row of a group"),
				 errdetail("The group's state has %d buckets; this row asks for %d.", eq->buckets, buckets)));
	if (eq->bins != bins)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be the same for every row of a group"),
				 errdetail("The group's state has %d bins; this row asks for %d (0 means exact).", eq->bins, bins)));
	QualityAdd(eq, PG_GETARG_FLOAT8(1), PG_GETARG_BOOL(2));
	PG_RETURN_DATUM(EOHPGetRWDatum(&eq->hdr));
}

PG_FUNCTION_INFO_V1(quality_trans);
/* Counts one (score, converted) row exactly. */
Datum
quality_trans(PG_FUNCTION_ARGS)
{
	return quality_transition(fcinfo, 0, 0);
}

PG_FUNCTION_INFO_V1(quality_trans_bins);
/* Counts one (score, converted) row in a state of at most bins finite bins. */
Datum
quality_trans_bins(PG_FUNCTION_ARGS)
{
	int32		bins;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("bins must not be null")));
	bins = PG_GETARG_INT32(3);
	if (bins < QS_MIN_BINS || bins > QS_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be between %d and %d, not %d", QS_MIN_BINS, QS_MAX_BINS, bins)));
	return quality_transition(fcinfo, bins, 0);
}

PG_FUNCTION_INFO_V1(quality_combine);
/* Merges two partial states (parallel aggregation). */
Datum
quality_combine(PG_FUNCTION_ARGS)
{
	QualityView v;
	ExpandedQuality *eq;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	quality_get_view(PG_GETARG_DATUM(1), &v);
	eq = StateForUpdate(fcinfo, v.bins, v.buckets);
	QualityAbsorb(eq, &v);
	PG_RETURN_DATUM(EOHPGetRWDatum(&eq->hdr));
}

/* Converts a non-negative INT128 to the nearest double. */
static float8
Int128ToFloat8(INT128 v)
{
#if USE_NATIVE_INT128
	return (float8) v;
#else
	return ldexp((float8) v.hi, 64) + (float8) v.lo;
#endif
}

void
auc_add_run(INT128 *twice_u, int64 pos_above, int64 pos, int64 neg)
{
	int128_add_int64_mul_int64(twice_u, neg, pos_above);
	int128_add_int64_mul_int64(twice_u, neg, pos_above);
	int128_add_int64_mul_int64(twice_u, neg, pos);
}

float8
auc_from_twice_u(INT128 twice_u, int64 pos, int64 neg)
{
	INT128		pairs = int64_to_int128(0);

	if (pos <= 0 || neg <= 0)
		return get_float8_nan();
	int128_add_int64_mul_int64(&pairs, pos, neg);
	int128_add_int64_mul_int64(&pairs, pos, neg);
	return Int128ToFloat8(twice_u) / Int128ToFloat8(pairs);
}

PG_FUNCTION_INFO_V1(quality_final);
/* Returns (leads, conversions, conversion_rate, auc) for a state. */
Datum
quality_final(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int64		pos = 0,
				neg = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (PG_ARGISNULL(0))
	{
		nulls[2] = nulls[3] = true;
	}
	else
	{
		QualityView v;
		INT128		twice_u = int64_to_int128(0);
		int64		pos_above = 0;

		/* flushing an expanded state merges its buffer: the same value, sorted */
		quality_get_view(PG_GETARG_DATUM(0), &v);
		Assert(v.nbuf == 0);

		/*
		 * Mann-Whitney: 2U = sum over negatives of 2 * (positives scored higher) + (positives
		 * tied), all in integers; AUC = 2U / (2 * P * N).
		 */
		for (Size i = v.nruns; i > 0; i--)
		{
			const QualityEntry *e = &v.runs[i - 1];

			auc_add_run(&twice_u, pos_above, e->pos, e->neg);
			if (pg_add_s64_overflow(pos_above, e->pos, &pos_above) ||
				pg_add_s64_overflow(neg, e->neg, &neg))
				CountsOutOfRange();
		}
		pos = pos_above;
		if (pos > PG_INT64_MAX - neg)
			CountsOutOfRange();
		values[2] = Float8GetDatum(pos + neg > 0 ? (float8) pos / (float8) (pos + neg) : 0);
		nulls[2] = (pos + neg == 0);
		if (pos > 0 && neg > 0)
			values[3] = Float8GetDatum(auc_from_twice_u(twice_u, pos, neg));
		else
			nulls[3] = true;
	}
	values[0] = Int64GetDatum(pos + neg);
	values[1] = Int64GetDatum(pos);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
