/*-------------------------------------------------------------------------
 *
 * memory_recall.c
 *	  engram memory API: recall's candidate search and scoring, and
 *	  consolidate's near-duplicate search, in one pass each.
 *
 * engram._recall_ranked() is what engram.recall() (PL/pgSQL, which checks
 * the arguments) calls for every cue without spread => true.  It runs ONE
 * candidate statement through SPI as the calling user (row-level security,
 * any index, any table access method apply), reads the candidates as they
 * come, and scores them in C:
 *
 *	score = engram.weight_similarity * relevance
 *		  + engram.weight_activation * activation_norm(created_at, last access,
 *												 access count, now())
 *		  + engram.weight_confidence * confidence
 *
 * with the same float4/float8 steps as the SQL definition (recall_score,
 * activation_norm), so rows, scores and order are those of the SQL path.
 * Access history is read straight from storage (memory_access_get) for rows
 * the candidate statement returned -- rows the caller may see -- so there is
 * no function call and no row-visibility query per candidate, and the
 * returned rows get their access recorded in the same pass.
 *
 * Early stop (vector and text cues): the candidate statement returns rows
 * in relevance order (ORDER BY distance, or ORDER BY rank DESC), so a row
 * read later has a relevance no larger than the current one and, with
 * activation and confidence at most 1, a score of at most
 *	ub = weight_similarity * relevance + weight_activation + weight_confidence.
 * Once k rows are held and ub is below the k-th best score, no further
 * candidate can enter the result: reading stops.  The result is exactly the
 * k best of the first max(engram.recall_candidates, 10k) candidates (the
 * SQL definition), but usually after reading little more than k rows.  An
 * engram_hnsw index delivers exact distance order (ann_scan.c), so the scan
 * it serves stops as early as an exact one; engram.ef_search is raised to
 * 2k for it (never lowered), not to the whole candidate count.
 *
 * Hybrid cues fuse the two lists by reciprocal rank fusion; both lists are
 * read in full (at most the candidate count each).
 *
 * Validity and expiry (sql/install/55_memory_features.sql): the candidate
 * statement keeps only memories not expired and, unless include_invalid,
 * valid now or as of as_of (recall_filters), so every list, the early stop
 * and the candidate count are over those rows only, as in the SQL path.
 *
 * engram._near_duplicates() finds consolidate's groups: seeds in id order,
 * each seed's neighbours by a walk of the level-0 graph of a cosine
 * engram_hnsw index on embedding, read once (NdGraph below: O(n) for the
 * space), or else by ORDER BY embedding <=> seed LIMIT n (served by an ANN
 * index when there is one -- planned with enable_sort = off so that the
 * planner takes it: O(n log n) for the space instead of all pairs),
 * widening n while the last neighbour is still similar enough.
 *
 * IDENTIFICATION
 *	  src/memory_recall.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "optimizer/cost.h"
#include "parser/parse_type.h"
#include "lib/stringinfo.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ann.h"
#include "memory.h"
#include "vector.h"

/* Arguments of _recall_ranked, also the candidate statements' $n. */
#define RA_CUE			0		/* vector */
#define RA_QUERY		1		/* tsquery */
#define RA_K			2		/* int4 */
#define RA_SPACE		3		/* text */
#define RA_SINCE		4		/* timestamptz */
#define RA_UNTIL		5		/* timestamptz */
#define RA_MINCONF		6		/* float4 */
#define RA_RECORD		7		/* bool */
#define RA_NCAND		8		/* int4 */
#define RA_METADATA		9		/* jsonb */
#define RA_KIND			10		/* text */
#define RA_PARTICIPANTS 11		/* text[] */
#define RA_OCC_AFTER	12		/* timestamptz */
#define RA_OCC_BEFORE	13		/* timestamptz */
#define RA_AS_OF		14		/* timestamptz */
#define RA_INCL_INVALID 15		/* bool */
#define RA_NS_PREFIX	16		/* text[] */
#define RA_NARGS		17

/*
 * Candidate statement parameters ($1..$13), and those of the text index's
 * bucket statements only ($14 the bucket's TIDs, $15 its rank, $16 the
 * rows still wanted).
 */
#define CP_NARGS		16

typedef struct RecallCand
{
	ItemPointerData tid;
	int64		id;
	double		dist;			/* vector list: distance */
	float4		rank;			/* text list: ts_rank */
	int			vrank;			/* 1-based rank in the vector list, 0 = absent */
	int			trank;			/* 1-based rank in the text list, 0 = absent */
	bool		relnull;		/* relevance is NULL */
	float4		rel;
	float4		act;
	float4		conf;
	float4		score;
	TimestampTz created;
	Datum		content;
	Datum		metadata;
} RecallCand;

/* ORDER BY score DESC, id (float4 order: NaN above everything) */
static int
cand_cmp_score(const RecallCand *a, const RecallCand *b)
{
	int			c = float4_cmp_internal(b->score, a->score);

	if (c != 0)
		return c;
	return (a->id > b->id) - (a->id < b->id);
}

static int
cand_qsort_score(const void *a, const void *b)
{
	return cand_cmp_score(*(RecallCand *const *) a, *(RecallCand *const *) b);
}

static int
cand_qsort_id(const void *a, const void *b)
{
	const RecallCand *x = *(RecallCand *const *) a;
	const RecallCand *y = *(RecallCand *const *) b;

	return (x->id > y->id) - (x->id < y->id);
}

/* ORDER BY dist, id (float8 order: NaN last) */
static int
cand_qsort_dist(const void *a, const void *b)
{
	const RecallCand *x = *(RecallCand *const *) a;
	const RecallCand *y = *(RecallCand *const *) b;
	int			c = float8_cmp_internal(x->dist, y->dist);

	if (c != 0)
		return c;
	return (x->id > y->id) - (x->id < y->id);
}

/*
 * The k best so far: a binary heap whose root is the worst of them (by
 * cand_cmp_score), so the k-th best score is heap[0]->score once full.
 */
typedef struct TopK
{
	RecallCand **heap;
	int			n;
	int			k;
} TopK;

static void
topk_sift_down(TopK *t, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					w = i;

		/* "worse" = sorts later = cand_cmp_score > 0 */
		if (l < t->n && cand_cmp_score(t->heap[l], t->heap[w]) > 0)
			w = l;
		if (r < t->n && cand_cmp_score(t->heap[r], t->heap[w]) > 0)
			w = r;
		if (w == i)
			return;
		{
			RecallCand *tmp = t->heap[i];

			t->heap[i] = t->heap[w];
			t->heap[w] = tmp;
		}
		i = w;
	}
}

static void
topk_add(TopK *t, RecallCand *c)
{
	if (t->n < t->k)
	{
		int			i = t->n++;

		t->heap[i] = c;
		while (i > 0)
		{
			int			p = (i - 1) / 2;

			if (cand_cmp_score(t->heap[i], t->heap[p]) <= 0)
				break;
			{
				RecallCand *tmp = t->heap[i];

				t->heap[i] = t->heap[p];
				t->heap[p] = tmp;
			}
			i = p;
		}
	}
	else if (cand_cmp_score(c, t->heap[0]) < 0)
	{
		t->heap[0] = c;
		topk_sift_down(t, 0);
	}
}

/* The schema engram is installed in: that of the calling SQL function. */
static char *
memory_schema(FunctionCallInfo fcinfo, Oid *nspoid)
{
	Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	char	   *name = get_namespace_name(nsp);

	if (name == NULL)
		elog(ERROR, "schema of function %u not found", fcinfo->flinfo->fn_oid);
	*nspoid = nsp;
	return name;
}

/*
 * The filters of a candidate statement, on $3..$11: only those given
 * (bits of mask, FILTER_*), so that the generic plan's row estimate is that
 * of the filters in use ("$n IS NULL OR ..." would be estimated as
 * selective and turn the plan into a sort of every row).
 */
#define FILTER_SINCE		0x01
#define FILTER_UNTIL		0x02
#define FILTER_MINCONF		0x04
#define FILTER_METADATA		0x08
#define FILTER_KIND			0x10
#define FILTER_PARTICIPANTS 0x20
#define FILTER_OCC_AFTER	0x40
#define FILTER_OCC_BEFORE	0x80
#define FILTER_VALID_NOW	0x100
#define FILTER_AS_OF		0x200
#define FILTER_VALID_AS_OF	0x400
#define FILTER_NS_PREFIX	0x800

/*
 * qs: the quoted schema.  Validity (FILTER_VALID_NOW, or FILTER_AS_OF and
 * FILTER_VALID_AS_OF) and namespace_prefix are filters like the others;
 * the expiry conditions are in every statement (recall never returns an
 * expired memory): expires_at, and the sliding ttl against the last
 * recorded access (engram._access, evaluated only for rows with a ttl).
 */
static const char *
recall_filters(int mask, const char *qs)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfo(&b,
					 " AND (m.expires_at IS NULL OR m.expires_at OPERATOR(pg_catalog.>) pg_catalog.now())"
					 " AND (m.ttl IS NULL OR GREATEST(m.created_at, m.updated_at,"
					 " (%s._access(%s::pg_catalog.regclass, m.ctid)).last_access)"
					 " OPERATOR(pg_catalog.+) m.ttl OPERATOR(pg_catalog.>) pg_catalog.now())",
					 qs, quote_literal_cstr(psprintf("%s.memory", qs)));
	/*
	 * Validity: engram.valid_at(valid_from, valid_to, NULL) and, as of $12,
	 * valid_at(valid_from, CASE WHEN invalidated_at <= $12 THEN valid_to
	 * END, $12), spelled out on the columns: the planner estimates
	 * "valid_to IS NULL OR ..." from the column's statistics (nearly every
	 * row), but a function call as a third of the rows -- which made an
	 * unfiltered recall's LIMIT look like a read of the whole ANN index and
	 * lose the index to a sort (sql/memory_recall.sql checks it is used).
	 */
	if (mask & FILTER_VALID_NOW)
		appendStringInfoString(&b,
							   " AND (m.valid_from IS NULL OR m.valid_from OPERATOR(pg_catalog.<=) pg_catalog.now())"
							   " AND (m.valid_to IS NULL OR m.valid_to OPERATOR(pg_catalog.>) pg_catalog.now())");
	if (mask & FILTER_AS_OF)
		appendStringInfoString(&b, " AND m.created_at OPERATOR(pg_catalog.<=) $12");
	if (mask & FILTER_VALID_AS_OF)
		appendStringInfoString(&b,
							   " AND (m.valid_from IS NULL OR m.valid_from OPERATOR(pg_catalog.<=) $12)"
							   " AND (m.valid_to IS NULL OR m.invalidated_at IS NULL"
							   " OR m.invalidated_at OPERATOR(pg_catalog.>) $12"
							   " OR m.valid_to OPERATOR(pg_catalog.>) $12)");
	if (mask & FILTER_NS_PREFIX)
		appendStringInfoString(&b, " AND m.namespace[1:pg_catalog.cardinality($13)] OPERATOR(pg_catalog.=) $13");
	if (mask & FILTER_SINCE)
		appendStringInfoString(&b, " AND m.created_at OPERATOR(pg_catalog.>=) $3");
	if (mask & FILTER_UNTIL)
		appendStringInfoString(&b, " AND m.created_at OPERATOR(pg_catalog.<) $4");
	if (mask & FILTER_MINCONF)
		appendStringInfoString(&b, " AND m.confidence OPERATOR(pg_catalog.>=) $5");
	if (mask & FILTER_METADATA)
		appendStringInfoString(&b, " AND m.metadata OPERATOR(pg_catalog.@>) $7");
	if (mask & FILTER_KIND)
		appendStringInfoString(&b, " AND m.kind OPERATOR(pg_catalog.=) $8");
	if (mask & FILTER_PARTICIPANTS)
		appendStringInfoString(&b, " AND m.participants OPERATOR(pg_catalog.@>) $9");
	if (mask & FILTER_OCC_AFTER)
		appendStringInfoString(&b, " AND m.occurred_at OPERATOR(pg_catalog.>=) $10");
	if (mask & FILTER_OCC_BEFORE)
		appendStringInfoString(&b, " AND m.occurred_at OPERATOR(pg_catalog.<) $11");
	return b.data;
}

/*
 * Kept plans of the candidate statements, one per (list, schema, space,
 * candidate count): the space and the LIMIT are literals in the statement,
 * so the generic plan knows them -- a partial ANN index of one space
 * (WHERE space = '...', the way to index spaces of different dimensions)
 * is usable, and the LIMIT is costed right -- and no call plans it again.
 * A few entries, least recently used replaced.
 */
#define RECALL_PLAN_SLOTS 32

typedef struct RecallPlanSlot
{
	SPIPlanPtr	plan;
	int			which;			/* 0 vector list, 1 text list, 2 top text
								 * bucket, 3 other text bucket */
	bool		ordered;		/* planned with enable_sort = off (unused) */
	int			mask;			/* FILTER_* in the statement */
	int64		ncand;
	char	   *schema;
	char	   *space;
	uint64		used;
} RecallPlanSlot;

static RecallPlanSlot recall_plans[RECALL_PLAN_SLOTS];
static uint64 recall_plan_clock = 0;

static SPIPlanPtr
recall_plan(int which, bool ordered, int mask, const char *schema, const char *space,
			int64 ncand, Oid vectype)
{
	char	   *q;
	Oid			types[CP_NARGS];
	SPIPlanPtr	plan;
	const char *qs = quote_identifier(schema);
	char	   *qspace;
	RecallPlanSlot *slot = &recall_plans[0];

	for (int i = 0; i < RECALL_PLAN_SLOTS; i++)
	{
		RecallPlanSlot *s = &recall_plans[i];

		if (s->plan != NULL && s->which == which && s->ordered == ordered && s->mask == mask &&
			s->ncand == ncand &&
			strcmp(s->schema, schema) == 0 && strcmp(s->space, space) == 0)
		{
			s->used = ++recall_plan_clock;
			return s->plan;
		}
		if (s->plan == NULL || (slot->plan != NULL && s->used < slot->used))
			slot = s;
	}
	if (slot->plan != NULL)
	{
		SPI_freeplan(slot->plan);
		pfree(slot->schema);
		pfree(slot->space);
		slot->plan = NULL;
	}

	types[0] = which == 0 ? vectype : TSQUERYOID;
	types[1] = TEXTOID;
	types[2] = TIMESTAMPTZOID;
	types[3] = TIMESTAMPTZOID;
	types[4] = FLOAT4OID;
	types[5] = INT8OID;
	types[6] = JSONBOID;
	types[7] = TEXTOID;
	types[8] = TEXTARRAYOID;
	types[9] = TIMESTAMPTZOID;
	types[10] = TIMESTAMPTZOID;
	types[11] = TIMESTAMPTZOID;
	types[12] = TEXTARRAYOID;
	types[13] = TIDARRAYOID;
	types[14] = FLOAT4OID;
	types[15] = INT8OID;
	qspace = quote_literal_cstr(space);

	/* $2 (the space) and $6 (the count) are spelled as literals instead */
	if (which == 0)
		q = psprintf("SELECT m.ctid, m.id, m.embedding OPERATOR(%s.<=>) $1, m.confidence,"
					 " m.created_at, m.content, m.metadata"
					 " FROM %s.memory m"
					 " WHERE m.embedding IS NOT NULL AND m.space OPERATOR(pg_catalog.=) %s%s"
					 " ORDER BY m.embedding OPERATOR(%s.<=>) $1"
					 " LIMIT " INT64_FORMAT,
					 qs, qs, qspace, recall_filters(mask, qs), qs, ncand);
	else if (which == 1)
		q = psprintf("SELECT m.ctid, m.id, pg_catalog.ts_rank(m.content_tsv, $1), m.confidence,"
					 " m.created_at, m.content, m.metadata"
					 " FROM %s.memory m"
					 " WHERE m.content_tsv OPERATOR(pg_catalog.@@) $1 AND m.space OPERATOR(pg_catalog.=) %s%s"
					 " ORDER BY 3 DESC, m.id"
					 " LIMIT " INT64_FORMAT,
					 qs, qspace, recall_filters(mask, qs), ncand);
	else

		/*
		 * The text list's statement over one bucket of the text index
		 * (memory_text.c): its TIDs ($14).  tideq is leakproof, so the TID
		 * scan serves it under row-level security.  Index entries always
		 * describe the row version at their TID (entries go before a TID
		 * is reused), so every visible row read holds the lexeme that many
		 * times.  The top bucket (which 2: 16 or more positions) is ranked;
		 * every row of any other bucket (which 3) has the same rank ($15,
		 * the rank of that many positions), so it is read in id order and
		 * its tsvector is not read (detoasted) at all.
		 */
		q = psprintf("SELECT m.ctid, m.id, %s, m.confidence,"
					 " m.created_at, m.content, m.metadata"
					 " FROM %s.memory m"
					 " WHERE m.ctid OPERATOR(pg_catalog.=) ANY ($14)"
					 " AND m.space OPERATOR(pg_catalog.=) %s%s"
					 " ORDER BY %s"
					 " LIMIT $16",
					 which == 2 ? "pg_catalog.ts_rank(m.content_tsv, $1)" : "$15",
					 qs, qspace, recall_filters(mask, qs),
					 which == 2 ? "3 DESC, m.id" : "m.id");

	/*
	 * A generic plan: the statement's shape does not depend on the
	 * remaining values (only the filters in use are in it), and
	 * planning it with a 384-dimension constant on every call would cost
	 * more than the scan.
	 */
	plan = SPI_prepare_cursor(q, CP_NARGS, types, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	slot->plan = plan;
	slot->which = which;
	slot->ordered = ordered;
	slot->mask = mask;
	slot->ncand = ncand;
	slot->schema = MemoryContextStrdup(TopMemoryContext, schema);
	slot->space = MemoryContextStrdup(TopMemoryContext, space);
	slot->used = ++recall_plan_clock;
	pfree(q);
	return plan;
}

/* activation_norm(created_at, last access, access count, now())::float4 */
static float4
cand_activation(Relation rel, RecallCand *c, TimestampTz now)
{
	uint32		count;
	TimestampTz last;
	bool		known;

	known = memory_access_get(rel, &c->tid, &count, &last);
	return (float4) memory_activation_normalise((MemoryDecayFunction) memory_decay_function,
												memory_activation_raw((MemoryDecayFunction) memory_decay_function,
																	  memory_decay_rate, c->created,
																	  known ? last : 0,
																	  known ? (int64) count : 0,
																	  now));
}

/*
 * recall_score(rel, act, conf): a NULL or NaN input counts as 0, as in
 * engram_recall_score (a zero embedding stored by 0.1.0 has NaN cosine
 * similarity, and NaN sorts above every score).
 */
static float4
cand_score(const RecallCand *c)
{
	double		s = (c->relnull || isnan(c->rel)) ? 0.0 : c->rel;
	double		a = isnan(c->act) ? 0.0 : c->act;
	double		f = isnan(c->conf) ? 0.0 : c->conf;

	return (float4) (memory_weight_similarity * s +
					 memory_weight_activation * a +
					 memory_weight_confidence * f);
}

/* The best score a candidate with relevance rel can reach. */
static float4
score_bound(float4 rel)
{
	return (float4) (memory_weight_similarity * rel +
					 memory_weight_activation * 1.0 +
					 memory_weight_confidence * 1.0);
}

static Datum
recall_detoast(Datum d)
{
	if (VARATT_IS_EXTERNAL(DatumGetPointer(d)))
		return PointerGetDatum(detoast_external_attr((struct varlena *) DatumGetPointer(d)));
	return d;
}

static void
cand_from_tuple(RecallCand *c, HeapTuple tup, TupleDesc td, bool vector)
{
	bool		isnull;
	Datum		d;

	memset(c, 0, sizeof(*c));
	ItemPointerCopy((ItemPointer) DatumGetPointer(SPI_getbinval(tup, td, 1, &isnull)), &c->tid);
	c->id = DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull));
	d = SPI_getbinval(tup, td, 3, &isnull);
	if (vector)
		c->dist = isnull ? get_float8_nan() : DatumGetFloat8(d);
	else
		c->rank = isnull ? 0.0f : DatumGetFloat4(d);
	c->conf = DatumGetFloat4(SPI_getbinval(tup, td, 4, &isnull));
	c->created = DatumGetTimestampTz(SPI_getbinval(tup, td, 5, &isnull));
	c->content = SPI_getbinval(tup, td, 6, &isnull);
	c->metadata = SPI_getbinval(tup, td, 7, &isnull);
}

/*
 * Reading one candidate list: rows arrive in list order (from a cursor, or
 * bucket by bucket from the text index) and are taken by reader_take.
 * With early (vector-only or text-only recall), they are scored as they
 * arrive and reading stops once no further row can enter the k best.
 */
typedef struct ListReader
{
	bool		vector;
	bool		early;
	Relation	rel;
	TimestampTz now;
	TopK	   *topk;
	int64		ncand;
	int			cap;
	int			n;
	RecallCand *cands;
	List	   *chunks;
	int			chunkbase;
	float4		maxrank;
} ListReader;

static void
reader_init(ListReader *r, bool vector, bool early, Relation rel, TimestampTz now,
			TopK *topk, int64 ncand)
{
	memset(r, 0, sizeof(*r));
	r->vector = vector;
	r->early = early;
	r->rel = rel;
	r->now = now;
	r->topk = topk;
	r->ncand = ncand;
	r->cap = 64;
	r->cands = palloc(sizeof(RecallCand) * r->cap);
}

/* forget what was read (the caller reads the list again another way) */
static void
reader_reset(ListReader *r)
{
	ListReader	fresh;

	reader_init(&fresh, r->vector, r->early, r->rel, r->now, r->topk, r->ncand);
	*r = fresh;
	r->topk->n = 0;
}

/*
 * Take the rows of SPI_tuptable.  Returns false once reading should stop:
 * the early stop, or the candidate count reached.  The tuples stay until
 * SPI_finish: candidates point into them.
 */
static bool
reader_take(ListReader *r)
{
	TopK	   *topk = r->topk;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		RecallCand *c;

		/*
		 * Candidates are referenced by pointer from the heap, so the array
		 * must not move: collect them in chunks and copy at the end.
		 */
		if (r->n - r->chunkbase == r->cap)
		{
			r->chunks = lappend(r->chunks, r->cands);
			r->chunkbase = r->n;
			r->cap *= 2;
			r->cands = palloc(sizeof(RecallCand) * r->cap);
		}
		c = &r->cands[r->n - r->chunkbase];
		cand_from_tuple(c, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, r->vector);
		r->n++;
		if (!r->vector && r->n == 1)
			r->maxrank = c->rank;
		if (r->early)
		{
			/* relevance, as the SQL definition computes it */
			if (r->vector)
				c->rel = (float4) (1.0 - c->dist);
			else if (r->maxrank == 0.0f)
				c->relnull = true;
			else
				c->rel = c->rank / r->maxrank;

			if (topk->n == topk->k &&
				!c->relnull &&
				float4_cmp_internal(score_bound(c->rel), topk->heap[0]->score) < 0)
			{
				/* neither this row nor any later one can enter the k best */
				r->n--;
				return false;
			}
			c->act = cand_activation(r->rel, c, r->now);
			c->score = cand_score(c);
			topk_add(topk, c);
		}
		if (r->n >= r->ncand)
			return false;
	}
	return true;
}

/* the candidates read, in list order, keeping the addresses the heap holds */
static int
reader_finish(ListReader *r, RecallCand ***out)
{
	RecallCand **ptrs = palloc(sizeof(RecallCand *) * Max(r->n, 1));
	int			i = 0;
	ListCell   *lc;
	int			sz = 64;

	foreach(lc, r->chunks)
	{
		RecallCand *ch = lfirst(lc);

		for (int j = 0; j < sz && i < r->n; j++)
			ptrs[i++] = &ch[j];
		sz *= 2;
	}
	for (int j = 0; i < r->n; j++)
		ptrs[i++] = &r->cands[j];
	*out = ptrs;
	return r->n;
}

/*
 * Read one candidate list from a cursor.  Returns the candidates read (in
 * list order) in *out.  Past maxrows rows without the early stop, *gaveup
 * is set (the caller reads again with a wider search).
 */
static int
read_list(Portal portal, bool vector, bool early, Relation rel, TimestampTz now,
		  TopK *topk, int64 ncand, int64 maxrows, bool *gaveup, RecallCand ***out)
{
	ListReader	r;
	long		batch = early ? topk->k + 1 : 256;

	*gaveup = false;
	if (batch > maxrows)
		batch = maxrows;
	reader_init(&r, vector, early, rel, now, topk, ncand);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, batch);
		if (SPI_processed == 0)
			break;
		if (!reader_take(&r))
			break;
		if (r.n >= maxrows)
		{
			*gaveup = true;
			break;
		}
		batch = Min(batch * 2, 1024);
		if (r.n + batch > maxrows)
			batch = Max(maxrows - r.n, 1);
	}
	return reader_finish(&r, out);
}

/*
 * Read the text list of a one-lexeme cue bucket by bucket from the text
 * index (memory_text.c): the same rows in the same order as the full
 * statement, but only the buckets read before the early stop or the
 * candidate count.  Returns -1, having read nothing that counts, when the
 * index cannot serve the cue (the caller reads the full statement).
 */
static int
read_text_buckets(Datum *args, char *nulls, bool early, Relation rel, TimestampTz now,
				  TopK *topk, int64 ncand, int mask, const char *schema,
				  const char *spacename, RecallCand ***out)
{
	TSQuery		query = DatumGetTSQuery(args[0]);
	const char *lexeme;
	int			len;
	Relation	index;
	ListReader	r;
	SPIPlanPtr	plan;
	bool		ok = true;

	if (!memory_text_enabled)
		return -1;
	lexeme = memory_text_single_lexeme(query, &len);
	if (lexeme == NULL)
		return -1;
	/*
	 * Without SELECT on the table the full statement reports the error:
	 * no probe of the index first.
	 */
	if (pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return -1;
	index = memory_text_index(rel);
	if (index == NULL)
		return -1;
	reader_init(&r, false, early, rel, now, topk, ncand);

	/*
	 * One snapshot for the probes and the bucket statements (read_only
	 * SPI runs on the active one): a row updated between a probe and its
	 * statement would otherwise be in neither.  Taken as SPI takes the
	 * full statement's (open_list), so both paths see the same rows.
	 */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());

	/* bucket 0 first: any such row of the lexeme means the full statement */
	for (int b = 0; b <= MEMORY_TEXT_TOP_BUCKET; b++)
	{
		int			bucket = b == 0 ? 0 : MEMORY_TEXT_TOP_BUCKET + 1 - b;
		Datum		tids;
		int			ntids;
		int			rc;

		CHECK_FOR_INTERRUPTS();
		if (!memory_text_bucket_tids(index, bucket, spacename, lexeme, len, &tids, &ntids))
		{
			ok = false;
			break;
		}
		if (bucket == 0 && ntids > 0)
		{
			pfree(DatumGetPointer(tids));
			ok = false;
			break;
		}
		if (ntids == 0)
			continue;
		args[13] = tids;
		nulls[13] = ' ';
		if (bucket < MEMORY_TEXT_TOP_BUCKET)
		{
			args[14] = Float4GetDatum(memory_text_bucket_rank(query, bucket, lexeme, len));
			nulls[14] = ' ';
		}
		args[15] = Int64GetDatum(ncand - r.n);
		nulls[15] = ' ';
		plan = recall_plan(bucket < MEMORY_TEXT_TOP_BUCKET ? 3 : 2, false, mask, schema,
						   spacename, 0, InvalidOid);
		rc = SPI_execute_plan(plan, args, nulls, true, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
		pfree(DatumGetPointer(tids));
		if (SPI_processed > 0 && !reader_take(&r))
			break;
	}
	PopActiveSnapshot();
	nulls[13] = nulls[14] = nulls[15] = 'n';
	index_close(index, AccessShareLock);
	if (!ok)
	{
		reader_reset(&r);
		return -1;
	}
	return reader_finish(&r, out);
}

static Portal
open_list(SPIPlanPtr plan, Datum *args, const char *nulls)
{
	Portal		portal = SPI_cursor_open(NULL, plan, args, nulls, false);

	if (portal == NULL)
		elog(ERROR, "SPI_cursor_open failed: %s", SPI_result_code_string(SPI_result));
	return portal;
}

/*
 * enable_sort = off for the statements planned from here to the end of the
 * current GUC nest level, and jit = off: a plan that must sort anyway (no
 * index can serve the ORDER BY) carries the planner's disable_cost, which
 * would otherwise make it look expensive enough to be JIT-compiled.
 */
static void
prefer_ordered_index(void)
{
	(void) set_config_option("enable_sort", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Run with engram.ef_search at least ef (restored by AtEOXact_GUC with the
 * returned level).
 */
static int
raise_ef_search(int ef)
{
	int			nest = NewGUCNestLevel();

	ef = Min(ef, 1000);
	if (ann_ef_search < ef)
	{
		char		buf[16];

		snprintf(buf, sizeof(buf), "%d", ef);
		(void) set_config_option("engram.ef_search", buf, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	return nest;
}

/*
 * engram._recall_ranked(cue vector, query tsquery, k int4, space text,
 *	 since timestamptz, until timestamptz, min_confidence float4,
 *	 record_access bool, ncand int4, metadata_filter jsonb, kind text,
 *	 participants text[], occurred_after timestamptz,
 *	 occurred_before timestamptz, as_of timestamptz, include_invalid bool,
 *	 namespace_prefix text[])
 * RETURNS TABLE (id, content, score, similarity, activation, confidence,
 *				  tier, created_at, metadata)
 *
 * The arguments are checked by engram.recall().  cue and/or query must be
 * non-NULL.
 */
PG_FUNCTION_INFO_V1(engram_recall_ranked);
Datum
engram_recall_ranked(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		has_cue = !PG_ARGISNULL(RA_CUE);
	bool		has_query = !PG_ARGISNULL(RA_QUERY);
	int			k;
	int64		ncand;
	bool		record;
	Oid			nsp;
	char	   *schema;
	Oid			relid;
	Relation	rel;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Datum		args[CP_NARGS];
	char		nulls[CP_NARGS];
	TopK		topk;
	RecallCand **result;
	int			nresult;
	int			nest;
	Oid			vectype;
	char	   *spacename;
	int			mask;
	MemoryContext callcxt = CurrentMemoryContext;

	if (PG_ARGISNULL(RA_K) || PG_ARGISNULL(RA_SPACE) || PG_ARGISNULL(RA_MINCONF) ||
		PG_ARGISNULL(RA_RECORD) || PG_ARGISNULL(RA_NCAND) || (!has_cue && !has_query))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("engram._recall_ranked: a cue, k, space, min_confidence, record_access and the candidate count are required"),
				 errhint("Call engram.recall(), which checks its arguments.")));
	k = PG_GETARG_INT32(RA_K);
	ncand = PG_GETARG_INT32(RA_NCAND);
	/*
	 * Executable by every role (recall() runs as its caller and calls it),
	 * so k is held to recall's limit here too: k sizes an allocation.
	 */
	if (k < 1 || k > 10000 || ncand < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and 10000 and the candidate count positive, got k = %d", k),
				 errhint("Call engram.recall(), which checks its arguments.")));
	record = PG_GETARG_BOOL(RA_RECORD) && !RecoveryInProgress() && !XactReadOnly;
	spacename = text_to_cstring(PG_GETARG_TEXT_PP(RA_SPACE));
	mask = (PG_ARGISNULL(RA_SINCE) ? 0 : FILTER_SINCE) |
		(PG_ARGISNULL(RA_UNTIL) ? 0 : FILTER_UNTIL) |
		/* confidence is never below 0 (CHECK constraint) */
		(PG_GETARG_FLOAT4(RA_MINCONF) > 0 ? FILTER_MINCONF : 0) |
		(PG_ARGISNULL(RA_METADATA) ? 0 : FILTER_METADATA) |
		(PG_ARGISNULL(RA_KIND) ? 0 : FILTER_KIND) |
		(PG_ARGISNULL(RA_PARTICIPANTS) ? 0 : FILTER_PARTICIPANTS) |
		(PG_ARGISNULL(RA_OCC_AFTER) ? 0 : FILTER_OCC_AFTER) |
		(PG_ARGISNULL(RA_OCC_BEFORE) ? 0 : FILTER_OCC_BEFORE) |
		(PG_ARGISNULL(RA_AS_OF) ? 0 : FILTER_AS_OF) |
		(PG_ARGISNULL(RA_NS_PREFIX) ? 0 : FILTER_NS_PREFIX);
	/* include_invalid drops the validity condition (not as_of's created_at) */
	if (PG_ARGISNULL(RA_INCL_INVALID) || !PG_GETARG_BOOL(RA_INCL_INVALID))
		mask |= PG_ARGISNULL(RA_AS_OF) ? FILTER_VALID_NOW : FILTER_VALID_AS_OF;
	/*
	 * Under a metadata filter the planner's choice stands (recall_plan is
	 * never asked for an "ordered" plan): an ANN scan widening until k rows
	 * pass a 1% filter was measured several times slower than reading the
	 * matching rows through the GIN index on metadata (or an exact scan)
	 * and sorting them; for broad filters the planner takes the ANN index.
	 */

	/*
	 * The space: the rule of engram._check_space, checked here too because
	 * _recall_ranked is callable by every role and reads the text index
	 * from C (no row-level security there): without it a role could learn
	 * from a probe of another space's buckets -- whether a statement ran,
	 * the index's tuple counts -- whether that space's memories hold a word.
	 * For a tenant a space it may not use and one that does not exist are
	 * the same error.
	 */
	if (!DatumGetBool(DirectFunctionCall1(engram_rls_bypassed, (Datum) 0)) &&
		!DatumGetBool(DirectFunctionCall1(engram_space_allowed, PG_GETARG_DATUM(RA_SPACE))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for memory space \"%s\"", spacename),
				 errhint("The space's owner can run SELECT engram.grant_space(%s, %s).",
						 quote_literal_cstr(spacename),
						 quote_literal_cstr(GetUserNameFromId(GetUserId(), false)))));

	InitMaterializedSRF(fcinfo, 0);

	schema = memory_schema(fcinfo, &nsp);
	relid = get_relname_relid("memory", nsp);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s.memory does not exist", quote_identifier(schema)),
				 errhint("It was dropped or renamed: rename it back, or restore it from a backup.")));
	{
		Oid		   *argtypes;
		int			nargs;

		(void) get_func_signature(fcinfo->flinfo->fn_oid, &argtypes, &nargs);
		vectype = argtypes[RA_CUE];
	}

	/* candidate statement parameters */
	memset(nulls, ' ', sizeof(nulls));
	nulls[13] = nulls[14] = nulls[15] = 'n';
#define CP_SET(i, argno) \
	do { \
		if (PG_ARGISNULL(argno)) { args[i] = (Datum) 0; nulls[i] = 'n'; } \
		else args[i] = PG_GETARG_DATUM(argno); \
	} while (0)
	CP_SET(1, RA_SPACE);
	CP_SET(2, RA_SINCE);
	CP_SET(3, RA_UNTIL);
	CP_SET(4, RA_MINCONF);
	args[5] = Int64GetDatum(ncand);
	CP_SET(6, RA_METADATA);
	CP_SET(7, RA_KIND);
	CP_SET(8, RA_PARTICIPANTS);
	CP_SET(9, RA_OCC_AFTER);
	CP_SET(10, RA_OCC_BEFORE);
	CP_SET(11, RA_AS_OF);
	CP_SET(12, RA_NS_PREFIX);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rel = table_open(relid, AccessShareLock);

	topk.k = k;
	topk.n = 0;
	topk.heap = palloc(sizeof(RecallCand *) * k);

	if (has_cue != has_query)
	{
		/* one list, read until no further row can enter the k best */
		bool		vector = has_cue;
		RecallCand **cands;
		Portal		portal;
		bool		gaveup;
		int			ef1 = Max(ann_ef_search, Min(2 * k, 1000));
		int			ef2 = Max(ann_ef_search, (int) Min(ncand, 1000));

		args[0] = PG_GETARG_DATUM(vector ? RA_CUE : RA_QUERY);
		nulls[0] = ' ';

		/*
		 * Vector list, first pass: an ANN scan with ef_search = max(its
		 * setting, 2k), read for at most ef/2 rows -- beyond that the scan
		 * starts widening rounds, which cost several times its first round.
		 * Most recalls stop well before.  Otherwise the second pass reads
		 * the list again with ef_search = the candidate count (at most
		 * 1000), as one round, to the same early stop.  The result is the
		 * same either way (exact distance order); only the cost differs.
		 */
		if (vector && ef1 < ef2)
		{
			nest = raise_ef_search(ef1);
			portal = open_list(recall_plan(0, false, mask, schema, spacename, ncand, vectype),
							   args, nulls);
			(void) read_list(portal, true, true, rel, now, &topk, ncand,
							 Max(ef1 / 2, k + 1), &gaveup, &cands);
			SPI_cursor_close(portal);
			AtEOXact_GUC(true, nest);
			if (!gaveup)
				goto done_one;
			topk.n = 0;
		}
		/* text list: bucket by bucket from the text index when it serves */
		if (!vector &&
			read_text_buckets(args, nulls, true, rel, now, &topk, ncand, mask, schema,
							  spacename, &cands) >= 0)
			goto done_one;
		nest = raise_ef_search(vector ? ef2 : 0);
		portal = open_list(recall_plan(vector ? 0 : 1, false, mask, schema, spacename, ncand, vectype),
						   args, nulls);
		(void) read_list(portal, vector, true, rel, now, &topk, ncand, ncand, &gaveup,
						 &cands);
		SPI_cursor_close(portal);
		AtEOXact_GUC(true, nest);
done_one:
		result = topk.heap;
		nresult = topk.n;
	}
	else
	{
		/* hybrid: both lists, fused by reciprocal rank fusion */
		RecallCand **vl,
				  **tl,
				  **all;
		int			nv,
					nt,
					nall = 0;
		bool		gaveup;
		Portal		portal;

		/*
		 * The vector list is read in full: ef_search 2 * ncand (at most
		 * 1000) gives it in one search round, where ef_search = ncand ran
		 * widening rounds past ncand / 2 rows (measured at 50k memories,
		 * 384 dims, ncand 100: 8 ms against 2.3 ms).
		 */
		nest = raise_ef_search((int) Min(2 * ncand, 1000));
		args[0] = PG_GETARG_DATUM(RA_CUE);
		nulls[0] = ' ';
		portal = open_list(recall_plan(0, false, mask, schema, spacename, ncand, vectype),
						   args, nulls);
		nv = read_list(portal, true, false, rel, now, &topk, ncand, ncand, &gaveup, &vl);
		SPI_cursor_close(portal);
		AtEOXact_GUC(true, nest);

		args[0] = PG_GETARG_DATUM(RA_QUERY);
		nt = read_text_buckets(args, nulls, false, rel, now, &topk, ncand, mask, schema,
							   spacename, &tl);
		if (nt < 0)
		{
			portal = open_list(recall_plan(1, false, mask, schema, spacename, ncand, InvalidOid), args, nulls);
			nt = read_list(portal, false, false, rel, now, &topk, ncand, ncand, &gaveup, &tl);
			SPI_cursor_close(portal);
		}

		/* row_number() OVER (ORDER BY dist, id) */
		qsort(vl, nv, sizeof(RecallCand *), cand_qsort_dist);
		for (int i = 0; i < nv; i++)
			vl[i]->vrank = i + 1;
		/* the text list is already ORDER BY rank DESC, id */
		for (int i = 0; i < nt; i++)
			tl[i]->trank = i + 1;

		/* FULL JOIN on id */
		all = palloc(sizeof(RecallCand *) * Max(nv + nt, 1));
		memcpy(all, vl, sizeof(RecallCand *) * nv);
		memcpy(all + nv, tl, sizeof(RecallCand *) * nt);
		qsort(all, nv + nt, sizeof(RecallCand *), cand_qsort_id);
		for (int i = 0; i < nv + nt; i++)
		{
			RecallCand *c = all[i];

			if (nall > 0 && all[nall - 1]->id == c->id)
			{
				RecallCand *prev = all[nall - 1];

				if (c->vrank)
					prev->vrank = c->vrank;
				if (c->trank)
					prev->trank = c->trank;
				continue;
			}
			all[nall++] = c;
		}
		for (int i = 0; i < nall; i++)
		{
			RecallCand *c = all[i];
			double		rrf = 0.0;

			if (c->vrank)
				rrf += 1.0 / (60 + c->vrank);
			if (c->trank)
				rrf += 1.0 / (60 + c->trank);
			c->rel = (float4) (rrf / (2.0 / 61));
			c->act = cand_activation(rel, c, now);
			c->score = cand_score(c);
			topk_add(&topk, c);
		}
		result = topk.heap;
		nresult = topk.n;
	}

	/* the k best, best first; record their access; build the result */
	qsort(result, nresult, sizeof(RecallCand *), cand_qsort_score);
	for (int i = 0; i < nresult; i++)
	{
		RecallCand *c = result[i];
		Datum		values[9];
		bool		rnulls[9] = {false};
		const char *tier;
		MemoryContext old;

		if (record)
			memory_access_record(rel, &c->tid);
		tier = memory_tier_get(rel, &c->tid);

		old = MemoryContextSwitchTo(callcxt);
		values[0] = Int64GetDatum(c->id);
		/*
		 * Out-of-line values are fetched now, as PL/pgSQL does with the
		 * values it returns: the rows handed back must not depend on TOAST
		 * rows staying around after the scan.
		 */
		values[1] = recall_detoast(c->content);
		values[2] = Float4GetDatum(c->score);
		values[3] = Float4GetDatum(c->rel);
		rnulls[3] = c->relnull;
		values[4] = Float4GetDatum(c->act);
		values[5] = Float4GetDatum(c->conf);
		if (tier != NULL)
			values[6] = CStringGetTextDatum(tier);
		else
			rnulls[6] = true;
		values[7] = TimestampTzGetDatum(c->created);
		values[8] = recall_detoast(c->metadata);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, rnulls);
		MemoryContextSwitchTo(old);
	}

	table_close(rel, AccessShareLock);
	SPI_finish();
	return (Datum) 0;
}

/*
 * consolidate's neighbour search on the graph of an engram_hnsw index
 * -----------------------------------------------------------------------
 *
 * Searching the index once per seed (an executor, a descent through the
 * levels and a beam of ef nodes each) cost ~3 ms per seed at 50k memories
 * of 384 dims: 52,000 seeds took minutes.  Near-duplicates are the very
 * nearest nodes, and a node of the graph is already linked to its nearest
 * ones.  So, when the space's memories have a cosine engram_hnsw index
 * (one without predicate, or whose predicate follows from space = the
 * space) of at most half maintenance_work_mem, the level-0 graph (links
 * and 8-bit codes) is read once, page by page, and each seed's group is a
 * walk from the seed's own node: its neighbours and their neighbours are
 * looked at, and further only nodes that can be within the threshold.  A
 * node is a candidate when the upper bound of its cosine similarity from
 * the codes (x = x^ + r, |r| <= resid: x.y <= x^.y^ + |x^| resid_y +
 * |y^| resid_x + resid_x resid_y) reaches the threshold; a candidate is a
 * member when its exact similarity, from the table's own vectors (read by
 * TID with the query's snapshot), does -- as 1 - (embedding <=> seed) of
 * the SQL search.  Only memories the seed statement returned (under
 * row-level security, with every condition of ND_WHERE) can be members.
 * Like any ANN search the walk can miss a member the exact scan finds (a
 * near-duplicate reachable only through nodes outside the threshold);
 * sql/memory_recall.sql checks it finds the exact groups on its data.
 * A seed without a node in the graph (none expected) is searched with the
 * SQL statement.
 */
typedef struct NdGraph
{
	int			n;				/* nodes */
	int			dim;
	int			cap0;			/* links per node on level 0 */
	int8	   *codes;			/* n * dimpad */
	int			dimpad;
	float	   *scale;
	float	   *norm;			/* |x^| */
	float	   *resid;
	uint64	   *heaptid;		/* packed heap TID */
	int32	   *nb;				/* n * cap0 node numbers, -1 = none */
	HTAB	   *bytid;			/* packed heap TID -> node (not deleted) */
} NdGraph;

typedef struct NdIdEntry
{
	uint64		key;
	int32		node;
} NdIdEntry;

static inline uint64
nd_pack_tid(const ItemPointerData *t)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(t) << 16) |
		(uint64) ItemPointerGetOffsetNumberNoCheck(t);
}

/*
 * The cosine engram_hnsw index on memory.embedding that a search of the
 * space can use, or InvalidOid.
 */
static Oid
nd_find_index(Relation rel, AttrNumber embatt, AttrNumber spaceatt, text *space)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;
	Expr	   *clause;

	clause = make_opclause(TextEqualOperator, BOOLOID, false,
						   (Expr *) makeVar(1, spaceatt, TEXTOID, -1, DEFAULT_COLLATION_OID, 0),
						   (Expr *) makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
											  PointerGetDatum(cstring_to_text(text_to_cstring(space))),
											  false, false),
						   InvalidOid, DEFAULT_COLLATION_OID);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		bool		ok;

		ok = index->rd_indam->amgettuple == ann_amgettuple &&
			index->rd_index->indisvalid && index->rd_index->indisready &&
			index->rd_index->indnatts == 1 &&
			index->rd_index->indkey.values[0] == embatt &&
			RelationGetIndexExpressions(index) == NIL;
		if (ok)
		{
			List	   *pred = RelationGetIndexPredicate(index);

			ok = pred == NIL || predicate_implied_by(pred, list_make1(clause), false);
		}
		if (ok)
			ok = ann_get_metric(index) == ANN_METRIC_COSINE;
		index_close(index, AccessShareLock);
		if (ok)
		{
			found = lfirst_oid(lc);
			break;
		}
	}
	list_free(indexes);
	return found;
}

/* Read the level-0 graph of the index; false when it is too large or empty. */
static bool
nd_read_graph(Relation index, NdGraph *g)
{
	AnnMetaPageData meta;
	AnnShape	s;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber blk;
	int			cap = 0;
	uint64	   *rawnb;
	HASHCTL		hctl;
	HTAB	   *byid;
	BufferAccessStrategy bas = GetAccessStrategy(BAS_BULKREAD);

	ann_read_meta(index, &meta);
	if (meta.dim <= 0 || meta.ep_level < 0 || meta.metric != ANN_METRIC_COSINE)
		return false;
	/*
	 * The copy (codes, links as node ids while reading, then as node
	 * numbers, hash tables) takes at most about twice the index's size.
	 */
	if (2.0 * nblocks * BLCKSZ > (double) maintenance_work_mem * 1024.0)
		return false;
	ann_shape_from_meta(&meta, &s);
	g->dim = s.dim;
	g->dimpad = (int) ann_codes_size(s.dim);
	g->cap0 = ann_level_cap(&s, 0);
	g->n = 0;
	/* at most this many nodes: a node takes more than its codes */
	cap = (int) Max(16, ((double) nblocks * BLCKSZ) / (sizeof(AnnNodeHeader) + g->dimpad) + 1);
	g->codes = palloc_extended((Size) cap * g->dimpad, MCXT_ALLOC_HUGE);
	g->scale = palloc_extended(sizeof(float) * cap, MCXT_ALLOC_HUGE);
	g->norm = palloc_extended(sizeof(float) * cap, MCXT_ALLOC_HUGE);
	g->resid = palloc_extended(sizeof(float) * cap, MCXT_ALLOC_HUGE);
	g->heaptid = palloc_extended(sizeof(uint64) * cap, MCXT_ALLOC_HUGE);
	rawnb = palloc_extended(sizeof(uint64) * cap * g->cap0, MCXT_ALLOC_HUGE);

	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = sizeof(uint64);
	hctl.entrysize = sizeof(NdIdEntry);
	hctl.hcxt = CurrentMemoryContext;
	byid = hash_create("consolidate graph nodes", cap, &hctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	g->bytid = hash_create("consolidate graph heap tids", cap, &hctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	for (blk = ANN_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, bas);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || PageGetSpecialSize(page) != MAXALIGN(sizeof(AnnPageOpaqueData)) ||
			AnnPageGetOpaque(page)->page_id != ANN_PAGE_ID ||
			!(AnnPageGetOpaque(page)->flags & ANN_PAGE_NODE))
		{
			UnlockReleaseBuffer(buf);
			continue;
		}
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		lp = PageGetItemId(page, off);
			AnnNodeHeader *node;
			int			i = g->n;
			int			cnt;
			ItemPointerData *nbs;
			bool		found;
			NdIdEntry  *e;

			if (!ItemIdIsNormal(lp))
				continue;
			node = (AnnNodeHeader *) PageGetItem(page, lp);
			if (ItemIdGetLength(lp) < ann_node_size(&s, 0) || node->level > s.max_level ||
				ItemIdGetLength(lp) < ann_node_size(&s, node->level))
				ereport(ERROR,
						(errcode(ERRCODE_INDEX_CORRUPTED),
						 errmsg("index \"%s\" has a node of %u bytes at (%u,%u), too short for its level %d",
								RelationGetRelationName(index), ItemIdGetLength(lp), blk, off, node->level),
						 errhint("REINDEX the index.")));
			if (i >= cap)
				ereport(ERROR,
						(errcode(ERRCODE_INDEX_CORRUPTED),
						 errmsg("index \"%s\" has more nodes than its size allows",
								RelationGetRelationName(index))));
			memcpy(g->codes + (Size) i * g->dimpad, AnnNodeCodes(node), g->dimpad);
			g->scale[i] = node->scale;
			g->norm[i] = sqrtf(Max(node->norm2, 0.0f));
			g->resid[i] = node->resid;
			g->heaptid[i] = nd_pack_tid(&node->heaptid);
			cnt = Min(*AnnNodeCount(&s, node, 0), g->cap0);
			nbs = AnnNodeNeighbors(&s, node, 0);
			for (int j = 0; j < g->cap0; j++)
				rawnb[(Size) i * g->cap0 + j] = j < cnt ?
					AnnIdMake(ItemPointerGetBlockNumberNoCheck(&nbs[j]),
							  ItemPointerGetOffsetNumberNoCheck(&nbs[j])) : ANN_INVALID_ID;
			{
				uint64		id = AnnIdMake(blk, off);

				e = hash_search(byid, &id, HASH_ENTER, &found);
				e->node = i;
			}
			if (!(node->flags & ANN_NODE_DELETED))
			{
				e = hash_search(g->bytid, &g->heaptid[i], HASH_ENTER, &found);
				e->node = i;
			}
			g->n++;
		}
		UnlockReleaseBuffer(buf);
	}
	FreeAccessStrategy(bas);

	/* links as node numbers (a link to a node not read -- none -- is dropped) */
	g->nb = palloc_extended(sizeof(int32) * (Size) Max(g->n, 1) * g->cap0, MCXT_ALLOC_HUGE);
	for (Size j = 0; j < (Size) g->n * g->cap0; j++)
	{
		NdIdEntry  *e = NULL;

		if (rawnb[j] != ANN_INVALID_ID)
			e = hash_search(byid, &rawnb[j], HASH_FIND, NULL);
		g->nb[j] = e ? e->node : -1;
	}
	pfree(rawnb);
	hash_destroy(byid);
	pgstat_count_index_scan(index);
	return g->n > 0;
}

/* upper bound of the cosine similarity of nodes a and b, from their codes */
static inline double
nd_sim_bound(const NdGraph *g, int a, int b)
{
	double		dot = (double) g->scale[a] * g->scale[b] *
		(double) ann_dot_i8(g->codes + (Size) a * g->dimpad, g->codes + (Size) b * g->dimpad, g->dim);

	return dot + (double) g->norm[a] * g->resid[b] + (double) g->norm[b] * g->resid[a] +
		(double) g->resid[a] * g->resid[b] + 1e-4;
}

/*
 * engram._near_duplicates(space text, threshold float8)
 * RETURNS TABLE (seed bigint, members bigint[], sims real[])
 *
 * consolidate's grouping (sql/install/52_memory_recall.sql): in id order,
 * each episodic memory of the space with an embedding, not consolidated
 * yet, valid now (valid_to IS NULL), not expired (expires_at, ttl as in
 * recall) and not in an earlier group, seeds a group of the not-yet-grouped
 * such memories with cosine similarity >= threshold to it (itself
 * included); groups of two or more are returned, members in id order, sims
 * = least(1, greatest(0.001, similarity))::real.
 *
 * A seed's neighbours come from the graph of a cosine engram_hnsw index on
 * embedding, read once (see NdGraph above: O(n) reads, a few hundred code
 * comparisons per seed), or else from ORDER BY embedding <=> seed LIMIT n,
 * which an ANN index serves (each search O(log n)) and otherwise an exact
 * scan per seed does, n widened while the n-th neighbour is still within
 * the threshold.  Spaces of more than 10000 seeds report progress with a
 * NOTICE every 10000 seeds.
 */
#define ND_PROGRESS_EVERY 10000

typedef struct NdSql
{
	SPIPlanPtr	nbplan;
	Datum		args[3];
} NdSql;

/* a seed's not-yet-grouped neighbours within the threshold, by SQL */
static int
nd_sql_search(NdSql *sq, Datum emb, double threshold, HTAB *done,
			  int64 **idsp, float4 **simsp)
{
	int64		limit = 16;
	int64	   *ids = NULL;
	float4	   *sims = NULL;
	int			nm = 0;
	bool		isnull;

	for (;;)
	{
		char		buf[16];
		bool		more;

		snprintf(buf, sizeof(buf), "%d", (int) Min(Max(2 * limit, 16), 1000));
		(void) set_config_option("engram.ef_search", buf, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		sq->args[1] = emb;
		sq->args[2] = Int64GetDatum(limit);
		if (SPI_execute_plan(sq->nbplan, sq->args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan failed");
		nm = 0;
		ids = palloc(sizeof(int64) * Max(SPI_processed, 1));
		sims = palloc(sizeof(float4) * Max(SPI_processed, 1));
		more = false;
		for (uint64 j = 0; j < SPI_processed; j++)
		{
			int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[j], SPI_tuptable->tupdesc, 1, &isnull));
			Datum		dd = SPI_getbinval(SPI_tuptable->vals[j], SPI_tuptable->tupdesc, 2, &isnull);
			double		sim;

			if (isnull)
				continue;
			sim = 1 - DatumGetFloat8(dd);
			if (!(sim >= threshold))
			{
				/* nearest first: the rest are farther (NaN last) */
				break;
			}
			if (j == SPI_processed - 1 && (int64) SPI_processed == limit)
				more = true;
			if (hash_search(done, &id, HASH_FIND, NULL) != NULL)
				continue;
			ids[nm] = id;
			sims[nm] = (float4) Min(1.0, Max(0.001, sim));
			nm++;
		}
		SPI_freetuptable(SPI_tuptable);
		if (!more)
			break;
		limit *= 4;
	}
	*idsp = ids;
	*simsp = sims;
	return nm;
}

/* the embedding of the row at tid, as the query sees it (a copy), or NULL */
static EngramVector *
nd_fetch_vector(Relation rel, TupleTableSlot *slot, uint64 ptid, AttrNumber embatt)
{
	ItemPointerData tid;
	Datum		d;
	bool		isnull;
	EngramVector *v;

	ItemPointerSet(&tid, (BlockNumber) (ptid >> 16), (OffsetNumber) (ptid & 0xFFFF));
	if (!table_tuple_fetch_row_version(rel, &tid, GetActiveSnapshot(), slot))
		return NULL;
	d = slot_getattr(slot, embatt, &isnull);
	v = isnull ? NULL : (EngramVector *) PG_DETOAST_DATUM_COPY(d);
	ExecClearTuple(slot);
	return v;
}

PG_FUNCTION_INFO_V1(engram_near_duplicates);
Datum
engram_near_duplicates(PG_FUNCTION_ARGS)
{
	text	   *space = PG_GETARG_TEXT_PP(0);
	double		threshold = PG_GETARG_FLOAT8(1);
	Oid			nsp;
	char	   *schema;
	const char *qs;
	char	   *qspace;
	char	   *qrel;
	char	   *q;
	SPIPlanPtr	seedplan,
				countplan;
	NdSql		sq;
	Oid			types[3];
	Portal		seeds;
	HASHCTL		hctl;
	HTAB	   *done;
	int64		total,
				examined = 0,
				groups = 0;
	int			nest;
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext seedcxt;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid		   *argtypes;
	int			nargs;
	bool		isnull;
	Oid			relid;
	Relation	rel;
	AttrNumber	embatt;
	Oid			indexoid;
	NdGraph		graph = {0};
	bool		use_graph = false;
	int64	   *seed_id = NULL;
	uint64	   *seed_tid = NULL;
	int64		nseeds = 0;
	int32	   *nodeseed = NULL;
	uint32	   *visit = NULL;
	uint32		stamp = 0;
	int32	   *queue = NULL;
	TupleTableSlot *slot = NULL;

	InitMaterializedSRF(fcinfo, 0);
	schema = memory_schema(fcinfo, &nsp);
	qs = quote_identifier(schema);
	(void) get_func_signature(fcinfo->flinfo->fn_oid, &argtypes, &nargs);
	relid = get_relname_relid("memory", nsp);
	if (!OidIsValid(relid))
		elog(ERROR, "table %s.memory not found", schema);
	embatt = get_attnum(relid, "embedding");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rel = table_open(relid, AccessShareLock);

#define ND_WHERE \
	" WHERE m.space OPERATOR(pg_catalog.=) $1" \
	" AND m.space OPERATOR(pg_catalog.=) %s" \
	" AND m.kind OPERATOR(pg_catalog.=) 'episodic' AND m.embedding IS NOT NULL" \
	" AND NOT (m.metadata OPERATOR(pg_catalog.?) 'consolidated_into')" \
	" AND m.valid_to IS NULL" \
	" AND (m.expires_at IS NULL OR m.expires_at OPERATOR(pg_catalog.>) pg_catalog.now())" \
	" AND (m.ttl IS NULL OR GREATEST(m.created_at, m.updated_at," \
	" (%s._access(%s::pg_catalog.regclass, m.ctid)).last_access)" \
	" OPERATOR(pg_catalog.+) m.ttl OPERATOR(pg_catalog.>) pg_catalog.now())"

	types[0] = TEXTOID;
	/*
	 * The space is also spelled as a literal, so that the generic plan of
	 * the neighbour search can use a partial index of the space.
	 */
	qspace = quote_literal_cstr(text_to_cstring(space));
	qrel = quote_literal_cstr(psprintf("%s.memory", qs));
	q = psprintf("SELECT m.id, m.ctid FROM %s.memory m" ND_WHERE " ORDER BY m.id", qs, qspace, qs, qrel);
	seedplan = SPI_prepare_cursor(q, 1, types, 0);
	q = psprintf("SELECT pg_catalog.count(*) FROM %s.memory m" ND_WHERE, qs, qspace, qs, qrel);
	countplan = SPI_prepare(q, 1, types);
	/* the vector type: that of this extension's <=> (same schema) */
	{
		char	   *tq = psprintf("%s.vector", qs);
		Oid			typoid;
		int32		typmod;

		parseTypeString(tq, &typoid, &typmod, false);
		types[1] = typoid;
	}
	types[2] = INT8OID;
	q = psprintf("SELECT m.id, m.embedding OPERATOR(%s.<=>) $2 FROM %s.memory m" ND_WHERE
				 " ORDER BY m.embedding OPERATOR(%s.<=>) $2 LIMIT $3", qs, qs, qspace, qs, qrel, qs);
	sq.nbplan = SPI_prepare_cursor(q, 3, types, CURSOR_OPT_GENERIC_PLAN);
	if (seedplan == NULL || countplan == NULL || sq.nbplan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));

	sq.args[0] = PointerGetDatum(space);
	if (SPI_execute_plan(countplan, sq.args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed");
	total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);

	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = sizeof(int64);
	hctl.entrysize = sizeof(int64);
	hctl.hcxt = CurrentMemoryContext;
	done = hash_create("consolidate groups", 1024, &hctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	/* the seeds, in id order, with their TIDs */
	seed_id = palloc_extended(sizeof(int64) * Max(total, 1), MCXT_ALLOC_HUGE);
	seed_tid = palloc_extended(sizeof(uint64) * Max(total, 1), MCXT_ALLOC_HUGE);
	seeds = SPI_cursor_open(NULL, seedplan, sq.args, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(seeds, true, 1024);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed && nseeds < total; r++)
		{
			seed_id[nseeds] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
			seed_tid[nseeds] = nd_pack_tid((ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull)));
			nseeds++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(seeds);

	/* the graph of a cosine engram_hnsw index, when there is one */
	if (nseeds > 1 && enable_indexscan && embatt != InvalidAttrNumber)
	{
		indexoid = nd_find_index(rel, embatt, get_attnum(relid, "space"), space);
		if (OidIsValid(indexoid))
		{
			Relation	index = index_open(indexoid, AccessShareLock);

			use_graph = nd_read_graph(index, &graph);
			elog(DEBUG1, "consolidate: %s the graph of index \"%s\" (%d nodes) for " INT64_FORMAT " seeds",
				 use_graph ? "walking" : "not walking", RelationGetRelationName(index), graph.n, nseeds);
			index_close(index, AccessShareLock);
		}
	}
	if (use_graph)
	{
		nodeseed = palloc_extended(sizeof(int32) * graph.n, MCXT_ALLOC_HUGE);
		memset(nodeseed, 0xff, sizeof(int32) * graph.n);
		for (int64 p = 0; p < nseeds; p++)
		{
			NdIdEntry  *e = hash_search(graph.bytid, &seed_tid[p], HASH_FIND, NULL);

			if (e != NULL)
				nodeseed[e->node] = (int32) p;
		}
		visit = palloc_extended(sizeof(uint32) * graph.n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		queue = palloc_extended(sizeof(int32) * graph.n, MCXT_ALLOC_HUGE);
		slot = table_slot_create(rel, NULL);
	}

	/*
	 * SQL neighbour searches need only the few nearest nodes: a beam of
	 * twice the rows asked for (at least 16) finds near-duplicates, which
	 * are the very nearest; engram.ef_search is restored at the end.
	 */
	nest = NewGUCNestLevel();
	/* prefer an ANN index over sorting the space (see raise_ef_search) */
	if (enable_indexscan)
		prefer_ordered_index();
	seedcxt = AllocSetContextCreate(CurrentMemoryContext, "near duplicates seed",
									ALLOCSET_DEFAULT_SIZES);
	if (slot == NULL)
		slot = table_slot_create(rel, NULL);

	for (int64 p = 0; p < nseeds; p++)
	{
		int64		seed = seed_id[p];
		int64	   *ids = NULL;
		float4	   *sims = NULL;
		int			nm = 0;
		MemoryContext old;
		NdIdEntry  *e = NULL;

		CHECK_FOR_INTERRUPTS();
		examined++;
		if (total > ND_PROGRESS_EVERY && examined % ND_PROGRESS_EVERY == 0)
			ereport(NOTICE,
					(errmsg("consolidate: " INT64_FORMAT " of " INT64_FORMAT " memories of space \"%s\" examined, " INT64_FORMAT " groups so far",
							examined, total, text_to_cstring(space), groups)));
		if (hash_search(done, &seed, HASH_FIND, NULL) != NULL)
			continue;

		old = MemoryContextSwitchTo(seedcxt);
		if (use_graph)
			e = hash_search(graph.bytid, &seed_tid[p], HASH_FIND, NULL);
		if (e != NULL)
		{
			/* walk the graph from the seed's node (see NdGraph) */
			int			s = e->node;
			int			qn = 1;
			int			cap = 16;
			EngramVector *sv = NULL;

			ids = palloc(sizeof(int64) * cap);
			sims = palloc(sizeof(float4) * cap);
			if (++stamp == 0)
			{
				memset(visit, 0, sizeof(uint32) * graph.n);
				stamp = 1;
			}
			visit[s] = stamp;
			queue[0] = s;
			for (int qi = 0; qi < qn; qi++)
			{
				int			u = queue[qi];
				const int32 *nb = graph.nb + (Size) u * graph.cap0;

				for (int j = 0; j < graph.cap0; j++)
				{
					int			v = nb[j];
					double		bound;
					bool		within;

					if (v < 0 || visit[v] == stamp)
						continue;
					visit[v] = stamp;
					bound = nd_sim_bound(&graph, s, v);
					within = bound >= threshold;
					if (within && nodeseed[v] >= 0 &&
						hash_search(done, &seed_id[nodeseed[v]], HASH_FIND, NULL) == NULL)
					{
						EngramVector *cv;

						if (sv == NULL)
						{
							sv = nd_fetch_vector(rel, slot, seed_tid[p], embatt);
							if (sv == NULL)
								elog(ERROR, "memory " INT64_FORMAT " is not visible to consolidate", seed);
							/* the seed itself, as the SQL search finds it */
							{
								double		sim = 1 - vector_cosine_distance_raw(sv->x, sv->x, sv->dim);

								if (sim >= threshold)
								{
									ids[nm] = seed;
									sims[nm] = (float4) Min(1.0, Max(0.001, sim));
									nm++;
								}
							}
						}
						cv = nd_fetch_vector(rel, slot, seed_tid[nodeseed[v]], embatt);
						if (cv != NULL && cv->dim == sv->dim)
						{
							double		sim = 1 - vector_cosine_distance_raw(sv->x, cv->x, sv->dim);

							if (sim >= threshold)
							{
								if (nm == cap)
								{
									cap *= 2;
									ids = repalloc(ids, sizeof(int64) * cap);
									sims = repalloc(sims, sizeof(float4) * cap);
								}
								ids[nm] = seed_id[nodeseed[v]];
								sims[nm] = (float4) Min(1.0, Max(0.001, sim));
								nm++;
							}
						}
					}
					/*
					 * Walk on through nodes within twice the threshold's
					 * distance of the seed: a member linked only through
					 * a node farther than that is left (as an ANN search
					 * would leave it).
					 */
					if (bound >= 2 * threshold - 1)
					{
						queue[qn] = v;
						qn++;
					}
				}
			}
		}
		else
		{
			EngramVector *sv = nd_fetch_vector(rel, slot, seed_tid[p], embatt);

			if (sv != NULL)
				nm = nd_sql_search(&sq, PointerGetDatum(sv), threshold, done, &ids, &sims);
		}
		MemoryContextSwitchTo(old);

		if (nm >= 2)
		{
			Datum	   *ed = palloc(sizeof(Datum) * nm);
			Datum	   *sd = palloc(sizeof(Datum) * nm);
			int		   *order = palloc(sizeof(int) * nm);
			Datum		values[3];
			bool		vnulls[3] = {false, false, false};

			/* members in id order (insertion sort: groups are small) */
			for (int i = 0; i < nm; i++)
			{
				int			j = i;

				while (j > 0 && ids[order[j - 1]] > ids[i])
				{
					order[j] = order[j - 1];
					j--;
				}
				order[j] = i;
			}
			for (int i = 0; i < nm; i++)
			{
				bool		found;

				(void) hash_search(done, &ids[order[i]], HASH_ENTER, &found);
				ed[i] = Int64GetDatum(ids[order[i]]);
				sd[i] = Float4GetDatum(sims[order[i]]);
			}
			old = MemoryContextSwitchTo(callcxt);
			values[0] = Int64GetDatum(seed);
			values[1] = PointerGetDatum(construct_array(ed, nm, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			values[2] = PointerGetDatum(construct_array(sd, nm, FLOAT4OID, 4, true, TYPALIGN_INT));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, vnulls);
			MemoryContextSwitchTo(old);
			groups++;
		}
		MemoryContextReset(seedcxt);
	}
	ExecDropSingleTupleTableSlot(slot);
	AtEOXact_GUC(true, nest);
	table_close(rel, AccessShareLock);
	SPI_finish();
	return (Datum) 0;
}
