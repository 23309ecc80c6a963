/*
 * ruleset.h — the per-backend cache of scoring models compiled for row types.
 *
 * A ModelDef is what the config tables say about one model (plain values, so
 * that it could later arrive as a value instead of from the tables).  A
 * CompiledModel is a ModelDef compiled for one row type.  Both are cached per
 * rule-set generation; each statement uses the generation its snapshot sees.
 */
#ifndef LEADQUAL_RULESET_H
#define LEADQUAL_RULESET_H

#include "postgres.h"
#include "access/tupdesc.h"
#include "executor/tuptable.h"
#include "nodes/bitmapset.h"

#include "predicate.h"

typedef struct RuleDef
{
	int64		rule_id;
	char	   *name;
	bool		fit;			/* category 'fit' (else 'intent') */
	double		points;
	bool		knockout;
	char	   *attribute;
	char	   *op;
	char	   *value;
} RuleDef;

typedef struct CriterionDef
{
	char	   *criterion;
	bool		has_check;		/* no check: the criterion is unmet */
	char	   *attribute;
	char	   *op;
	char	   *value;
} CriterionDef;

typedef struct FrameworkDef
{
	char	   *framework;
	int			ncriteria;
	CriterionDef *criteria;		/* in criterion order */
} FrameworkDef;

/* One row of leadqual.event_rules. */
typedef struct EventRuleDef
{
	char	   *event_type;
	double		points;
	bool		has_cap;
	double		max_points;
	bool		has_half_life;	/* else the model's */
	int64		half_life_us;	/* months count 30 days, years 365.25 */
} EventRuleDef;

/*
 * Everything a model scores with: what the config tables say (LoadModel), or
 * what a leadqual.ruleset value says (ruleset_io.c) -- the JSON document is a
 * serialisation of this struct.  lead_table is InvalidOid for a value.
 */
typedef struct ModelDef
{
	char	   *model;
	Oid			lead_table;
	double		mql_threshold;
	bool		has_fit_threshold;
	double		fit_threshold;
	char	   *framework;		/* NULL: none */
	char	   *engagement_column;	/* NULL: none */
	int			nrules;
	RuleDef    *rules;			/* enabled rules in rule_id order */
	int			nframeworks;
	FrameworkDef *frameworks;	/* every framework, with this model's checks */
	bool		has_half_life;	/* the model's half_life (NULL: no decay) */
	int64		half_life_us;
	int			nevents;
	EventRuleDef *events;		/* sorted by event_type bytewise */
} ModelDef;

/*
 * A leadqual.ruleset value: a small header (so that the hash is read without
 * parsing) and the canonical JSON document, NUL-terminated.
 */
#define RULESET_FORMAT 1
#define RULESET_HASH_LEN 32		/* SHA-256 */

typedef struct RulesetData
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		format;			/* RULESET_FORMAT */
	uint8		pad[3];
	uint8		hash[RULESET_HASH_LEN];
	char		doc[FLEXIBLE_ARRAY_MEMBER];
} RulesetData;

#define RULESET_HEADER_SIZE offsetof(RulesetData, doc)
#define DatumGetRulesetP(d) ((RulesetData *) PG_DETOAST_DATUM(d))

/* ruleset_io.c: the value <-> ModelDef */
extern RulesetData *ruleset_serialize(const ModelDef *def);
extern ModelDef *ruleset_parse(const char *doc, int len, bool validate, uint8 *hash);
/*
 * Offers the value cache a definition just parsed (by the type's input), built
 * in cxt: the cache takes cxt over, or deletes it if it holds that hash.
 */
extern void ruleset_cache_adopt(const uint8 *hash, ModelDef *def, MemoryContext cxt);

/* The hash of a ruleset datum, reading (and detoasting) no more than the header. */
extern void ruleset_datum_hash(Datum d, uint8 *hash);

/* A framework's checks compiled for a row type. */
typedef struct CompiledFramework
{
	FrameworkDef *def;
	PredicateSet *checks;		/* over the criteria that have a check */
	int		   *criterion_of;	/* check index -> criterion index */
	int			nchecks;
} CompiledFramework;

typedef struct CompiledModel
{
	ModelDef   *def;
	Oid			typid;
	int32		typmod;
	uint64		tupdesc_id;		/* the row type's identity when compiled */
	bool		is_lead_rowtype;	/* the model's lead table's own row type */
	TupleDesc	tupdesc;
	TupleTableSlot *slot;
	MemoryContext scratch;		/* reset per evaluated row */

	PredicateSet *rules;		/* over the rules that compiled */
	int			nactive;
	int		   *active;			/* predicate index -> index in def->rules */
	bool	   *matched;		/* scratch: predicate results */
	/* per predicate index */
	double	   *points;			/* its rule's points */
	double	   *fit_points;		/* the same for fit rules, else 0 */
	bool	   *knocks;			/* its rule is a knockout */

	Bitmapset  *needed;			/* attnums any rule, criterion check or the
								 * engagement column reads (see narrow.c) */
	AttrNumber	engagement_attno;	/* 0: none */
	Oid			engagement_type;

	CompiledFramework *frameworks;	/* parallel to def->frameworks, built lazily */
	Oid			lead_table;		/* what the compile was keyed by (InvalidOid: a value) */
	uint64		stamp;			/* the rule-set generation it was compiled under */
	MemoryContext cxt;			/* holds it */
	struct CompiledModel *next;
} CompiledModel;

/* What evaluating one lead gives. */
typedef struct LeadResult
{
	double		score;			/* rules + engagement */
	double		fit;			/* points of matched fit rules */
	double		engagement;
	bool		knockout;
} LeadResult;

extern void ruleset_init(void);

/* The compiled model for a row type, under the current snapshot's rule set. */
extern CompiledModel *ruleset_lookup(const char *model, Oid typid, int32 typmod);

/*
 * The model as the current snapshot sees it, as a leadqual.ruleset value (the
 * cache's: valid to the end of the transaction, never to be written to);
 * error if the model does not exist.
 */
extern RulesetData *ruleset_value_of_model(const char *model, int len);

/*
 * The value cache: a leadqual.ruleset compiled for a row type, once per
 * backend per (content hash, row type).  Bounded: RULESET_CACHE_SIZE rule
 * sets, the least recently used evicted (and freed at transaction end, since
 * a running query may still hold it).  The model-name functions go through
 * the same cache: the generation cache only maps a model name to its value.
 */
#define RULESET_CACHE_SIZE 64

/*
 * What a call site keeps so that repeated calls with the same value and row
 * type skip the lookup: the caller allocates it zeroed and never looks inside.
 */
typedef struct RulesetCallCache
{
	uint8		hash[RULESET_HASH_LEN];
	Oid			typid;
	int32		typmod;
	uint64		epoch;
	CompiledModel *cm;
} RulesetCallCache;

extern CompiledModel *ruleset_compiled_cached(RulesetCallCache *cc, Datum value,
											  Oid typid, int32 typmod);

/*
 * A value compiled for the rows of lead_table (of type typid), as the model
 * it would become scores them: a rule it cannot use there is skipped with a
 * WARNING, not an error.  Valid until the transaction ends.
 */
extern CompiledModel *ruleset_compiled_for_table(Datum value, Oid lead_table, Oid typid);

/* The OID of type leadqual.ruleset (InvalidOid if missing). */
extern Oid	ruleset_type_oid(void);

/*
 * model's rule set read from the tables under the active snapshot, past the
 * cache (NULL if unknown): the versions trigger can fire before the statement
 * that changed the rules has moved the generation on.
 */
extern RulesetData *ruleset_model_value_uncached(const char *model);

/* A value's definition (valid until transaction end). */
extern ModelDef *ruleset_value_def(Datum value);

/* A value's event rules (engagement.h), built once per cache entry. */
extern struct EngagementRules *ruleset_value_event_rules(Datum value);

/* The model's event rules under the current snapshot's rule set (the model-name aggregate). */
extern struct EngagementRules *ruleset_model_event_rules_len(const char *model, int len);

/*
 * The attnums of tupdesc that the model's rules, criterion checks (of every
 * framework) and engagement column read, under the current snapshot's rule
 * set; read as the owner through the same cache as ruleset_lookup.  False when
 * the model does not exist or names a column the row type lacks: the caller
 * then leaves the call alone (scoring reports it).
 */
extern bool ruleset_needed_columns(const char *model, TupleDesc tupdesc, Bitmapset **needed);

/* The same for a leadqual.ruleset value (narrow.c, when the value is a constant). */
extern bool ruleset_value_needed_columns(Datum value, TupleDesc tupdesc, Bitmapset **needed);

/* A counter bumped by every invalidation that might concern the rule set. */
extern uint64 ruleset_inval_count(void);

/*
 * What a cached lookup was made under: the active snapshot's visibility and
 * the invalidation counter.  A different key means "look the rule set up
 * again" (a PL/pgSQL loop keeps its call sites across statements).
 */
typedef struct LookupKey
{
	LocalTransactionId lxid;
	TransactionId xmin;
	TransactionId xmax;
	CommandId	curcid;
	uint64		completions;
	uint64		inval;
} LookupKey;

extern void ruleset_lookup_key(LookupKey *key);

/* A HeapTuple over a composite datum (for the functions below). */
extern void ruleset_row_tuple(HeapTupleHeader row, HeapTuple tuple);

/* Evaluates the rules over a row of cm's row type. */
extern void ruleset_eval(CompiledModel *cm, HeapTuple row, LeadResult *res);

/* The same over a slot of cm's tuple descriptor (any slot type: narrow.c fills a virtual one). */
extern void ruleset_eval_slot(CompiledModel *cm, TupleTableSlot *slot, LeadResult *res);

/* Evaluates framework fw (index in def->frameworks) over a row. */
extern void ruleset_eval_framework(CompiledModel *cm, HeapTuple row, int fw,
								   bool *met);
extern void ruleset_eval_framework_slot(CompiledModel *cm, TupleTableSlot *slot, int fw,
										bool *met);

extern int	ruleset_find_framework(ModelDef *def, const char *framework);

/*
 * What leadqual.attach recorded for a lead table (leadqual.attachments): the
 * triggers carry no arguments and read this at fire time, so a restore (new
 * OIDs) or a model rename (the foreign key cascades) leaves them working.
 */
typedef struct AttachmentDef
{
	Oid			lead_table;		/* the attached table: the firing one or an ancestor */
	char	   *model;
	char	   *score_column;
	char	   *stage_column;
	char	   *locked_column;
	char	   *key_column;
} AttachmentDef;

/*
 * The attachment of relid under the current snapshot's rule set (cached with
 * it).  With ancestors, a partition finds its nearest attached ancestor (row
 * triggers are cloned onto partitions).  Refuses (55000) a table that
 * leadqual.attach did not set up; trigger names the function in the message.
 */
extern AttachmentDef *ruleset_attachment(Oid relid, bool ancestors, const char *trigger);

/* The same for relid itself, NULL if leadqual.attach did not set it up (no error). */
extern AttachmentDef *ruleset_find_attachment(Oid relid);

/*
 * What leadqual.attach_events recorded for an events table
 * (leadqual.event_attachments), with its model's lead table and engagement
 * column (NULL: the model keeps none).
 */
typedef struct EventAttachmentDef
{
	Oid			events_table;
	char	   *model;
	char	   *lead_column;
	char	   *type_column;
	char	   *time_column;
	Oid			lead_table;
	char	   *engagement_column;
} EventAttachmentDef;

/*
 * The events attachment of relid under the current snapshot's rule set
 * (cached with it).  Refuses (55000) a table that leadqual.attach_events did
 * not set up; trigger names the function in the message.
 */
extern EventAttachmentDef *ruleset_event_attachment(Oid relid, const char *trigger);

/*
 * The identity of the rule-set generation the last lookup used: it changes
 * whenever the cache is rebuilt for another generation, so anything derived
 * from the configuration (a saved plan) is valid while it and
 * ruleset_inval_count() are unchanged.
 */
extern uint64 ruleset_generation_stamp(void);

/* The model's lead table (error if the model or its table is gone). */
extern Oid	ruleset_model_lead_table(const char *model, char **engagement_column);

/* The row type of a lead table, with a clear error if it is not a table or view. */
extern TupleDesc ruleset_lead_tupdesc(Oid relid, const char *model);

/* The owner of the extension's tables: config is read as this role, whatever the caller may read. */
extern Oid	ruleset_extension_owner(void);

/* Becoming the extension owner, or another role (restricted, search_path pinned), and back. */
typedef struct OwnerContext
{
	Oid			userid;
	int			sec;
	int			nestlevel;
} OwnerContext;

extern void ruleset_become_owner(OwnerContext *oc);
extern void ruleset_become_user(Oid role, OwnerContext *oc);
extern void ruleset_restore_user(OwnerContext *oc);

/* leadqual.config_generation */
extern Oid	ruleset_generation_relid(void);

#endif
