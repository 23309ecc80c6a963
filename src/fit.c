/*
 * fit.c — leadqual.fit_points(model, outcome_column, holdout, l2): points learned from
 * outcomes by an L2-regularised logistic regression over the model's rules.
 *
 * One scan of the lead table (an SPI cursor, as the caller: row-level security applies)
 * evaluates the rules through the rule engine, as calibrate does.  Each lead with a known
 * outcome becomes a key: one bit per enabled non-knockout rule that matched, and a byte
 * saying whether the lead is in the holdout and whether a knockout rule matched it.
 * Leads are counted per distinct key in an open-addressing hash table (converted, not
 * converted), so memory grows with the number of distinct rule-hit patterns (at most
 * min(leads, 2^rules)), not with the leads.  The patterns are sorted, so everything after the scan
 * is deterministic.
 *
 * The model: logit P(converted) = b0 + sum_j b_j x_j over the training leads that no
 * knockout hit (a knocked-out lead is disqualified whatever its points, so it says nothing
 * about them), maximising log-likelihood - l2/2 sum_{j>=1} b_j^2 (the intercept is not
 * penalised).  Newton's method on the patterns: gradient and Hessian summed over patterns
 * (a pattern adds only to the entries of its matched rules), a Cholesky solve of the
 * (k+1) x (k+1) system, step halving if the objective would drop, until the largest step
 * is below 1e-10 relative to the coefficient (or 100 iterations).  Standard errors are the
 * square roots of the diagonal of the inverse of the penalised Hessian at the optimum.
 * With l2 > 0 the objective is strictly concave, so perfect separation gives finite
 * coefficients.
 *
 * Points: suggested = round(scale * b_j, 1) with scale = sum |current points| / sum |b_j|
 * over the fitted rules (the points keep their total size; calibrate scales the same
 * way), or 10 points per unit of log-odds when every current point is 0.  The MQL
 * threshold (and the fit threshold) are translated to keep their meaning as the share of
 * leads qualifying: the new threshold lets through as nearly as possible as many of the
 * scanned, not knocked-out leads as the old one did with today's points (ties: the
 * higher threshold), and sits halfway between two score levels, so the rounding of sums
 * never moves a lead across it.  With every current point 0 the MQLs become the leads at
 * least as likely to convert as the average training lead.  Engagement points take no
 * part.
 *
 * AUCs (exact, as score_quality computes them) rank knocked-out leads last, as calibrate
 * does: with holdout => 0, auc_train_current equals calibrate's auc_current.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int128.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "analytics.h"
#include "quality.h"
#include "ruleset.h"

#define FIT_MAX_ITER	100
#define FIT_TOL			1e-10
#define FIT_MIN_CLASS	10		/* converted and not converted training leads, at least */
#define FIT_SEED		UINT64CONST(0x6c65616471756131)	/* "leadqua1": the split's hash seed */
#define FIT_NCOLS		19
#define FIT_DEFAULT_SCALE 10.0	/* points per unit of log-odds when all points are 0 */

#define KEY_HOLDOUT		0x01
#define KEY_KNOCKOUT	0x02

/*
 * The leads of one key while scanning: an open-addressing hash table (simplehash) whose
 * entries point at a copy of the key; keys are compared by stored hash first.
 */
typedef struct FitEntry
{
	const uint8 *key;
	int64		pos;
	int64		neg;
	uint32		hash;
	char		status;
} FitEntry;

#define SH_PREFIX		fitpat
#define SH_ELEMENT_TYPE	FitEntry
#define SH_KEY_TYPE		const uint8 *
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	hash_bytes((k), *(int *) (tb)->private_data)
#define SH_EQUAL(tb, a, b)	(memcmp((a), (b), *(int *) (tb)->private_data) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a)	((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* One distinct key: rule hits, holdout and knockout flags; counts of its leads. */
typedef struct FitPattern
{
	const uint8 *key;
	bool		holdout;
	bool		knockout;
	int64		pos;
	int64		neg;
	int			nset;
	int		   *set;			/* the fitted rules (feature indexes) it matches */
	float8		score;			/* scratch: under the points being evaluated */
} FitPattern;

typedef struct FitData
{
	int			nfeat;			/* fitted rules */
	int		   *feat_active;	/* feature -> index in cm->active */
	int			keylen;			/* bitmap bytes + the flag byte */
	FitPattern *pats;
	int64		npats;
	int64		train_pos,
				train_neg,
				holdout_pos,
				holdout_neg,
				knocked_out,
				null_outcome;
} FitData;

static int
PatternKeyCmp(const void *a, const void *b, void *arg)
{
	return memcmp(((const FitPattern *) a)->key, ((const FitPattern *) b)->key, *(int *) arg);
}

static int
ScoreCmpDesc(const void *a, const void *b)
{
	float8		x = (*(FitPattern *const *) a)->score;
	float8		y = (*(FitPattern *const *) b)->score;

	return (x < y) - (x > y);
}

/* Scores every pattern: the sum of points[] over its matched fitted rules. */
static void
ScorePatterns(FitData *fd, const float8 *points)
{
	for (int64 j = 0; j < fd->npats; j++)
	{
		FitPattern *p = &fd->pats[j];
		float8		s = 0;

		if (p->knockout)
			s = -get_float8_infinity();
		else
			for (int t = 0; t < p->nset; t++)	/* ascending feature = rule_id order */
				s += points[p->set[t]];
		p->score = s;
	}
}

/* The exact AUC of the scored patterns of one side of the split; NaN when undefined. */
static float8
SideAuc(FitData *fd, FitPattern **order, bool holdout)
{
	int64		n = 0,
				pos_total = 0,
				neg_total = 0,
				pos_above = 0;
	INT128		twice_u = int64_to_int128(0);

	for (int64 j = 0; j < fd->npats; j++)
		if (fd->pats[j].holdout == holdout)
		{
			order[n++] = &fd->pats[j];
			pos_total += fd->pats[j].pos;
			neg_total += fd->pats[j].neg;
		}
	if (pos_total == 0 || neg_total == 0)
		return get_float8_nan();
	qsort(order, n, sizeof(FitPattern *), ScoreCmpDesc);
	for (int64 j = 0; j < n;)
	{
		int64		k = j,
					pos = 0,
					neg = 0;

		while (k < n && order[k]->score == order[j]->score)
		{
			pos += order[k]->pos;
			neg += order[k]->neg;
			k++;
		}
		auc_add_run(&twice_u, pos_above, pos, neg);
		pos_above += pos;
		j = k;
	}
	return auc_from_twice_u(twice_u, pos_total, neg_total);
}

/* log(sigmoid(x)), without overflow. */
static inline float8
LogSigmoid(float8 x)
{
	return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x));
}

static inline float8
Sigmoid(float8 x)
{
	if (x >= 0)
		return 1.0 / (1.0 + exp(-x));
	else
	{
		float8		e = exp(x);

		return e / (1.0 + e);
	}
}

/*
 * Gradient, Hessian (negated: positive definite) and objective at beta over the training
 * patterns no knockout hit.  m = nfeat + 1; index 0 is the intercept.
 */
static float8
Evaluate(FitData *fd, const float8 *beta, float8 l2, float8 *grad, float8 *hess)
{
	int			m = fd->nfeat + 1;
	float8		obj = 0;

	if (grad)
	{
		memset(grad, 0, m * sizeof(float8));
		memset(hess, 0, (Size) m * m * sizeof(float8));
	}
	for (int64 j = 0; j < fd->npats; j++)
	{
		FitPattern *p = &fd->pats[j];
		float8		eta = beta[0],
					mu,
					n,
					r,
					w;

		if (p->holdout || p->knockout)
			continue;
		for (int t = 0; t < p->nset; t++)
			eta += beta[1 + p->set[t]];
		obj += p->pos * LogSigmoid(eta) + p->neg * LogSigmoid(-eta);
		if (!grad)
			continue;
		n = (float8) (p->pos + p->neg);
		mu = Sigmoid(eta);
		r = p->pos - n * mu;
		w = n * mu * (1 - mu);
		grad[0] += r;
		hess[0] += w;
		for (int t = 0; t < p->nset; t++)
		{
			int			a = 1 + p->set[t];

			grad[a] += r;
			hess[a] += w;		/* row 0, column a */
			for (int u = t; u < p->nset; u++)
				hess[(Size) a * m + 1 + p->set[u]] += w;	/* upper triangle */
		}
	}
	for (int a = 1; a < m; a++)
	{
		obj -= 0.5 * l2 * beta[a] * beta[a];
		if (grad)
		{
			grad[a] -= l2 * beta[a];
			hess[(Size) a * m + a] += l2;
		}
	}
	return obj;
}

/* Cholesky factorisation in place (lower triangle from the upper one); false if not positive definite. */
static bool
Cholesky(float8 *h, int m)
{
	for (int j = 0; j < m; j++)
	{
		float8		d = h[(Size) j * m + j];

		for (int k = 0; k < j; k++)
			d -= h[(Size) j * m + k] * h[(Size) j * m + k];
		if (!(d > 0) || !isfinite(d))
			return false;
		d = sqrt(d);
		h[(Size) j * m + j] = d;
		for (int i = j + 1; i < m; i++)
		{
			float8		s = h[(Size) j * m + i];	/* upper triangle holds H[j][i] */

			for (int k = 0; k < j; k++)
				s -= h[(Size) i * m + k] * h[(Size) j * m + k];
			h[(Size) i * m + j] = s / d;
		}
	}
	return true;
}

/* Solves L L^T x = b in place, L from Cholesky. */
static void
CholeskySolve(const float8 *l, int m, float8 *x)
{
	for (int i = 0; i < m; i++)
	{
		float8		s = x[i];

		for (int k = 0; k < i; k++)
			s -= l[(Size) i * m + k] * x[k];
		x[i] = s / l[(Size) i * m + i];
	}
	for (int i = m - 1; i >= 0; i--)
	{
		float8		s = x[i];

		for (int k = i + 1; k < m; k++)
			s -= l[(Size) k * m + i] * x[k];
		x[i] = s / l[(Size) i * m + i];
	}
}

static void
Singular(const char *model)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("cannot fit model \"%s\": its rules do not determine the points", model),
			 errdetail("Without regularisation a rule that matches no training lead, or every one, or exactly the leads another rule matches, has no single best coefficient, and one that separates converted from other leads perfectly has an infinite one."),
			 errhint("Use l2 > 0 (the default is 1).")));
}

/*
 * Newton's method from beta (m entries, updated); fills se with standard errors.
 * Returns the number of iterations.
 */
static int
Newton(FitData *fd, float8 l2, float8 *beta, float8 *se, const char *model)
{
	int			m = fd->nfeat + 1;
	float8	   *grad = palloc(m * sizeof(float8));
	float8	   *hess = palloc((Size) m * m * sizeof(float8));
	float8	   *step = palloc(m * sizeof(float8));
	float8	   *trial = palloc(m * sizeof(float8));
	float8		obj;
	int			iter;
	bool		converged = false;

	obj = Evaluate(fd, beta, l2, grad, hess);
	for (iter = 1; iter <= FIT_MAX_ITER; iter++)
	{
		float8		t = 1.0,
					maxrel = 0,
					newobj;

		if (!Cholesky(hess, m))
			Singular(model);
		memcpy(step, grad, m * sizeof(float8));
		CholeskySolve(hess, m, step);

		/* halve the step while the objective would drop (it never should near the optimum) */
		for (int h = 0; h < 50; h++)
		{
			for (int a = 0; a < m; a++)
				trial[a] = beta[a] + t * step[a];
			newobj = Evaluate(fd, trial, l2, NULL, NULL);
			if (newobj >= obj || fabs(newobj - obj) <= 1e-12 * fabs(obj))
				break;
			t /= 2;
		}
		/* converged when the full Newton step is negligible (not a halved one) */
		for (int a = 0; a < m; a++)
		{
			maxrel = Max(maxrel, fabs(step[a]) / (1.0 + fabs(beta[a])));
			beta[a] = trial[a];
		}
		obj = Evaluate(fd, beta, l2, grad, hess);
		CHECK_FOR_INTERRUPTS();
		if (maxrel < FIT_TOL)
		{
			converged = true;
			break;
		}
	}
	if (!converged)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("fit of model \"%s\" did not converge in %d iterations", model, FIT_MAX_ITER),
				 errhint("A larger l2 makes the problem better conditioned.")));

	/* standard errors: sqrt of the diagonal of the inverse penalised Hessian */
	if (!Cholesky(hess, m))
		Singular(model);
	for (int a = 0; a < m; a++)
	{
		memset(step, 0, m * sizeof(float8));
		step[a] = 1;
		CholeskySolve(hess, m, step);
		se[a] = sqrt(step[a]);
	}
	return Min(iter, FIT_MAX_ITER);
}

/*
 * The threshold on new points that lets through as nearly as possible as many scanned,
 * not knocked-out leads as old_threshold does on old points; halfway between two levels.
 * Only the features with use[j] count (all, or the fit category's).
 */
static float8
TranslateThreshold(FitData *fd, FitPattern **order, const float8 *old_points,
				   const float8 *new_points, const bool *use, float8 old_threshold)
{
	float8	   *pts = palloc(fd->nfeat * sizeof(float8));
	int64		target = 0,
				n = 0,
				above = 0,
				best_diff = -1;
	float8		best = 0;

	for (int j = 0; j < fd->nfeat; j++)
		pts[j] = use[j] ? old_points[j] : 0;
	ScorePatterns(fd, pts);
	for (int64 j = 0; j < fd->npats; j++)
		if (!fd->pats[j].knockout && fd->pats[j].score >= old_threshold)
			target += fd->pats[j].pos + fd->pats[j].neg;

	for (int j = 0; j < fd->nfeat; j++)
		pts[j] = use[j] ? new_points[j] : 0;
	ScorePatterns(fd, pts);
	for (int64 j = 0; j < fd->npats; j++)
		if (!fd->pats[j].knockout)
			order[n++] = &fd->pats[j];
	if (n == 0)
		return old_threshold;
	qsort(order, n, sizeof(FitPattern *), ScoreCmpDesc);

	/* candidates: above the top level (nobody), and each level from the top down */
	best_diff = target;
	best = order[0]->score + 0.05;
	for (int64 j = 0; j < n;)
	{
		int64		k = j;
		int64		diff;

		while (k < n && fabs(order[k]->score - order[j]->score) < 0.025)
		{
			above += order[k]->pos + order[k]->neg;
			k++;
		}
		diff = above > target ? above - target : target - above;
		if (diff < best_diff)
		{
			best_diff = diff;
			best = order[k - 1]->score - 0.05;
		}
		j = k;
	}
	/* a level is a multiple of 0.1: the midpoint below it, to two decimals */
	pfree(pts);
	return rint(best * 100) / 100;
}

/*
 * With every current point 0 the old threshold says nothing (every lead scores the
 * same): the threshold then makes MQLs of the leads whose fitted probability of
 * converting is at least the overall rate among the training leads, i.e. the lowest
 * score level at or above scale * (logit(rate) - intercept), halfway below it.
 */
static float8
BaseRateThreshold(FitData *fd, FitPattern **order, const float8 *new_points, float8 scale,
				  float8 intercept)
{
	float8		rate = (float8) fd->train_pos / (float8) (fd->train_pos + fd->train_neg);
	float8		target = scale * (log(rate / (1 - rate)) - intercept);
	float8		best = get_float8_infinity();
	float8		top = -get_float8_infinity();

	ScorePatterns(fd, new_points);
	for (int64 j = 0; j < fd->npats; j++)
	{
		float8		sc = fd->pats[j].score;

		if (fd->pats[j].knockout)
			continue;
		top = Max(top, sc);
		if (sc >= target - 1e-9 && sc < best)
			best = sc;
	}
	if (isinf(best))			/* no lead reaches it: above the top level */
		return isinf(top) ? 0 : rint((top + 0.05) * 100) / 100;
	return rint((best - 0.05) * 100) / 100;
}

/* fit's scan: each lead's hit pattern, counted per pattern (see FitVisit) */
typedef struct FitScan
{
	FitData    *fd;
	const CompiledModel *cm;
	MemoryContext cxt;			/* holds the patterns' keys */
	fitpat_hash *htab;
	uint8	   *key;			/* scratch: the lead's key */
	int			nbytes;			/* of the feature bitmap */
	bool		keyed;			/* the scan's third column is the holdout key */
	uint64		cut;			/* in the holdout: key hash below this */
} FitScan;

static void
FitVisit(void *arg, bool converted, const LeadResult *res, HeapTuple row, TupleDesc desc)
{
	FitScan    *fs = arg;
	FitData    *fd = fs->fd;
	uint8	   *key = fs->key;
	FitEntry   *entry;
	bool		found;

	memset(key, 0, fd->keylen);
	if (res->knockout)
	{
		key[fs->nbytes] |= KEY_KNOCKOUT;	/* its hits do not matter: one pattern */
		fd->knocked_out++;
	}
	else
		for (int j = 0; j < fd->nfeat; j++)
			if (fs->cm->matched[fd->feat_active[j]])
				key[j >> 3] |= 1 << (j & 7);
	if (fs->keyed)
	{
		char	   *k = SPI_getvalue(row, desc, 3);

		if (k != NULL &&
			hash_bytes_extended((unsigned char *) k, strlen(k), FIT_SEED) < fs->cut)
			key[fs->nbytes] |= KEY_HOLDOUT;
	}
	entry = fitpat_insert(fs->htab, key, &found);
	if (!found)
	{
		/* a new pattern: the entry keeps its own copy of the key */
		uint8	   *copy = MemoryContextAlloc(fs->cxt, fd->keylen);

		memcpy(copy, key, fd->keylen);
		entry->key = copy;
		entry->pos = entry->neg = 0;
	}
	if (converted)
		entry->pos++;
	else
		entry->neg++;
}

/* Scans the lead table as the caller into fd's patterns. */
static void
ScanLeads(FitData *fd, CompiledModel *cm, Oid relid, const char *outcome, float8 holdout,
		  const char *model, MemoryContext cxt)
{
	int			nbytes = (fd->nfeat + 7) / 8;
	fitpat_hash *htab;
	fitpat_iterator iter;
	FitEntry   *entry;
	char	   *sql;
	char	   *keyexpr = NULL;
	uint8	   *key;
	uint64		cut;
	MemoryContext old;
	int64		i;
	char	   *qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													   get_rel_name(relid));

	fd->keylen = nbytes + 1;
	htab = fitpat_create(cxt, 1024, &fd->keylen);
	key = MemoryContextAlloc(cxt, fd->keylen);
	/* a lead is in the holdout when its key hashes below holdout * 2^64 */
	cut = holdout <= 0 ? 0 : (uint64) ldexp(holdout, 64);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (holdout > 0)
	{
		Oid			argtypes[1] = {REGCLASSOID};
		Datum		args[1] = {ObjectIdGetDatum(relid)};
		bool		isnull;

		if (SPI_execute_with_args("SELECT leadqual.primary_key_column($1)", 1, argtypes, args,
								  NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "primary key lookup failed");
		SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		/*
		 * the key (a table without a single-column primary key: the whole
		 * row), as text by its type's output function, never a cast: a cast to
		 * text is anybody's function who owns the type, and must not run as
		 * whoever fits (as the history trigger writes keys)
		 */
		keyexpr = isnull ? analytics_whole_row(relid)
			: psprintf("l.%s", quote_identifier(SPI_getvalue(SPI_tuptable->vals[0],
															 SPI_tuptable->tupdesc, 1)));
	}
	sql = psprintf("SELECT %s, l.%s%s%s FROM %s l", analytics_whole_row(relid), quote_identifier(outcome),
				   keyexpr ? ", " : "", keyexpr ? keyexpr : "", qualified);

	{
		FitScan		fs = {fd, cm, cxt, htab, key, nbytes, keyexpr != NULL, cut};
		int			nest = NewGUCNestLevel();

		/*
		 * The split hashes each key's text: the same text whatever the
		 * session's settings (a timestamptz key's moves with TimeZone, a
		 * float's with extra_float_digits), as candidate_rules pins them.  The
		 * rules are compiled already, under the caller's.
		 */
		static const char *const pinned[][2] = {
			{"DateStyle", "ISO, YMD"}, {"TimeZone", "UTC"}, {"IntervalStyle", "postgres"},
			{"extra_float_digits", "1"}
		};

		for (int i = 0; i < lengthof(pinned); i++)
			(void) set_config_option(pinned[i][0], pinned[i][1], PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
		/* the caller's query: SECURITY INVOKER, so row-level security applies */
		fd->null_outcome += analytics_scan_leads(cm, sql, FitVisit, &fs);
		AtEOXact_GUC(true, nest);
	}
	SPI_finish();

	/* the patterns, sorted by key: everything after the scan is deterministic */
	old = MemoryContextSwitchTo(cxt);
	fd->npats = htab->members;
	fd->pats = palloc_extended(Max(fd->npats, 1) * sizeof(FitPattern), MCXT_ALLOC_HUGE);
	i = 0;
	fitpat_start_iterate(htab, &iter);
	while ((entry = fitpat_iterate(htab, &iter)) != NULL)
	{
		FitPattern *p = &fd->pats[i++];

		p->key = entry->key;
		p->pos = entry->pos;
		p->neg = entry->neg;
	}
	qsort_arg(fd->pats, fd->npats, sizeof(FitPattern), PatternKeyCmp, &fd->keylen);
	for (i = 0; i < fd->npats; i++)
	{
		FitPattern *p = &fd->pats[i];

		p->holdout = (p->key[nbytes] & KEY_HOLDOUT) != 0;
		p->knockout = (p->key[nbytes] & KEY_KNOCKOUT) != 0;
		p->nset = 0;
		for (int j = 0; j < fd->nfeat; j++)
			if (p->key[j >> 3] & (1 << (j & 7)))
				p->nset++;
		p->set = palloc(Max(p->nset, 1) * sizeof(int));
		p->nset = 0;
		for (int j = 0; j < fd->nfeat; j++)
			if (p->key[j >> 3] & (1 << (j & 7)))
				p->set[p->nset++] = j;
		if (p->knockout)
			continue;
		if (p->holdout)
		{
			fd->holdout_pos += p->pos;
			fd->holdout_neg += p->neg;
		}
		else
		{
			fd->train_pos += p->pos;
			fd->train_neg += p->neg;
		}
	}
	MemoryContextSwitchTo(old);
}

/* Refuses an outcome that cannot be fitted: constant, or too few of a class. */
static void
CheckClasses(FitData *fd, const char *model, const char *outcome)
{
	if (fd->train_pos == 0 || fd->train_neg == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot fit model \"%s\": outcome \"%s\" is %s for every training lead",
						model, outcome, fd->train_pos == 0 ? "false" : "true"),
				 errdetail("%lld training leads that no knockout rule hit; %lld leads with a NULL outcome ignored.",
						   (long long) (fd->train_pos + fd->train_neg),
						   (long long) fd->null_outcome),
				 errhint("A fit needs converted and not converted leads.")));
	if (fd->train_pos < FIT_MIN_CLASS || fd->train_neg < FIT_MIN_CLASS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot fit model \"%s\": too few %s training leads (%lld; at least %d needed)",
						model, fd->train_pos < FIT_MIN_CLASS ? "converted" : "not converted",
						(long long) Min(fd->train_pos, fd->train_neg), FIT_MIN_CLASS),
				 errhint("Fit on more leads, or with a smaller holdout.")));
}

/* One row per enabled rule: current and fitted points, coefficient, standard error, AUCs. */
PG_FUNCTION_INFO_V1(leadqual_fit_points);
Datum
leadqual_fit_points(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *model;
	char	   *outcome;
	float8		holdout,
				l2;
	Oid			relid;
	TupleDesc	leaddesc;
	CompiledModel *cm;
	ModelDef   *def;
	FitData		fd = {0};
	MemoryContext cxt,
				old;
	float8	   *beta,
			   *se,
			   *cur,
			   *sugg;
	bool	   *all,
			   *fitcat;
	FitPattern **order;
	float8		sum_p = 0,
				sum_b = 0,
				scale,
				new_mql,
				new_fit = 0;
	float8		auc[4];
	int		   *feat_of_active;
	int			iterations;

	for (int a = 0; a < 4; a++)
		if (PG_ARGISNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("model, outcome_column, holdout and l2 must not be NULL")));
	model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	outcome = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	holdout = PG_GETARG_FLOAT8(2);
	l2 = PG_GETARG_FLOAT8(3);
	if (!(holdout >= 0 && holdout < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holdout must be at least 0 and less than 1, not %g", holdout),
				 errhint("holdout is the share of leads kept out of the fit to measure it; 0 fits on every lead.")));
	if (!(l2 >= 0 && isfinite(l2)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 must be a finite number at least 0, not %g", l2)));

	InitMaterializedSRF(fcinfo, 0);

	relid = ruleset_model_lead_table(model, NULL);
	leaddesc = ruleset_lead_tupdesc(relid, model);
	analytics_check_outcome_column(relid, outcome, model);
	cm = ruleset_lookup(model, leaddesc->tdtypeid, -1);
	def = cm->def;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "leadqual fit", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	fd.feat_active = palloc(Max(cm->nactive, 1) * sizeof(int));
	feat_of_active = palloc(Max(cm->nactive, 1) * sizeof(int));
	for (int i = 0; i < cm->nactive; i++)
	{
		feat_of_active[i] = -1;
		if (!def->rules[cm->active[i]].knockout)
		{
			feat_of_active[i] = fd.nfeat;
			fd.feat_active[fd.nfeat++] = i;
		}
	}
	MemoryContextSwitchTo(old);

	ScanLeads(&fd, cm, relid, outcome, holdout, model, cxt);
	CheckClasses(&fd, model, outcome);
	ereport(NOTICE,
			(errmsg("fit of model \"%s\": %lld training leads, %lld holdout leads",
					model, (long long) (fd.train_pos + fd.train_neg),
					(long long) (fd.holdout_pos + fd.holdout_neg)),
			 errdetail("%lld leads with a NULL outcome ignored; %lld knocked-out leads left out of the fit.",
					   (long long) fd.null_outcome, (long long) fd.knocked_out)));

	old = MemoryContextSwitchTo(cxt);
	beta = palloc0((fd.nfeat + 1) * sizeof(float8));
	se = palloc0((fd.nfeat + 1) * sizeof(float8));
	beta[0] = log((float8) fd.train_pos / (float8) fd.train_neg);
	iterations = Newton(&fd, l2, beta, se, model);

	/* the coefficients on the model's point scale */
	cur = palloc(Max(fd.nfeat, 1) * sizeof(float8));
	sugg = palloc(Max(fd.nfeat, 1) * sizeof(float8));
	all = palloc(Max(fd.nfeat, 1) * sizeof(bool));
	fitcat = palloc(Max(fd.nfeat, 1) * sizeof(bool));
	for (int j = 0; j < fd.nfeat; j++)
	{
		RuleDef    *r = &def->rules[cm->active[fd.feat_active[j]]];

		cur[j] = r->points;
		all[j] = true;
		fitcat[j] = r->fit;
		sum_p += fabs(cur[j]);
		sum_b += fabs(beta[1 + j]);
	}
	scale = sum_p > 0 ? (sum_b > 0 ? sum_p / sum_b : 1) : FIT_DEFAULT_SCALE;
	for (int j = 0; j < fd.nfeat; j++)
	{
		sugg[j] = rint(scale * beta[1 + j] * 10) / 10;
		if (sugg[j] == 0)
			sugg[j] = 0;		/* no -0 */
	}

	order = palloc_extended(Max(fd.npats, 1) * sizeof(FitPattern *), MCXT_ALLOC_HUGE);
	ScorePatterns(&fd, cur);
	auc[0] = SideAuc(&fd, order, false);
	auc[2] = holdout > 0 ? SideAuc(&fd, order, true) : get_float8_nan();
	ScorePatterns(&fd, sugg);
	auc[1] = SideAuc(&fd, order, false);
	auc[3] = holdout > 0 ? SideAuc(&fd, order, true) : get_float8_nan();
	if (sum_p > 0)
		new_mql = TranslateThreshold(&fd, order, cur, sugg, all, def->mql_threshold);
	else
		new_mql = BaseRateThreshold(&fd, order, sugg, scale, beta[0]);
	if (def->has_fit_threshold)
		new_fit = TranslateThreshold(&fd, order, cur, sugg, fitcat, def->fit_threshold);
	MemoryContextSwitchTo(old);

	for (int i = 0; i < cm->nactive; i++)
	{
		RuleDef    *r = &def->rules[cm->active[i]];
		int			j = feat_of_active[i];
		Datum		values[FIT_NCOLS];
		bool		nulls[FIT_NCOLS] = {0};

		values[0] = Int64GetDatum(r->rule_id);
		values[1] = CStringGetTextDatum(r->name);
		values[2] = BoolGetDatum(r->knockout);
		values[3] = Float8GetDatum(r->points);
		/* a knockout keeps its points and stays a knockout */
		values[4] = Float8GetDatum(j >= 0 ? beta[1 + j] : 0);
		nulls[4] = j < 0;
		values[5] = Float8GetDatum(j >= 0 ? se[1 + j] : 0);
		nulls[5] = j < 0;
		values[6] = Float8GetDatum(j >= 0 ? sugg[j] : r->points);
		values[7] = Float8GetDatum(beta[0]);
		values[8] = Float8GetDatum(scale);
		values[9] = Float8GetDatum(def->mql_threshold);
		values[10] = Float8GetDatum(new_mql);
		values[11] = Float8GetDatum(new_fit);
		nulls[11] = !def->has_fit_threshold;
		values[12] = Int64GetDatum(fd.train_pos + fd.train_neg);
		values[13] = Int64GetDatum(fd.holdout_pos + fd.holdout_neg);
		for (int a = 0; a < 4; a++)
		{
			values[14 + a] = Float8GetDatum(auc[a]);
			nulls[14 + a] = isnan(auc[a]);
		}
		values[18] = Int32GetDatum(iterations);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
