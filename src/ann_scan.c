/*-------------------------------------------------------------------------
 *
 * ann_scan.c
 *	  engram_hnsw: index scans (ORDER BY vector <op> query).
 *
 * Exact order from approximate vectors: the graph holds only quantised
 * vectors, so for every node the scan computes a LOWER BOUND of the exact
 * distance (quantised distance minus what the stored residual norm allows,
 * minus a rounding margin) and returns it with xs_recheckorderby = true.
 * The executor then evaluates the real operator on the table's vector and
 * keeps a reorder queue: it emits a row only once its exact distance is no
 * larger than the bound of the last row the index returned.  So the rows of
 * an index scan come out in exact distance order, re-ranked with the
 * full-precision vectors of the table, without storing those in the index,
 * as long as the bounds handed out do not decrease.  A bound above the
 * exact distance would make the executor fail with "index returned tuples
 * in wrong order", hence the margins below.  The graph is walked by the
 * quantised distance itself (an estimate, not a bound): walking by the
 * bound, whose slack grows with the residuals, visits far more nodes.
 *
 * Expanding search: the scan does not stop after ef_search candidates.
 * It keeps every node it has seen but not returned and every node it has
 * seen but not expanded (see scan_round).  Each round settles the ef
 * nearest unreturned nodes (best-first expansion until the nearest
 * unexpanded node is farther than the ef-th nearest unreturned one),
 * returns them in bound order, and doubles ef for the next round.  With a
 * filter that rejects most rows the scan thus keeps producing candidates.
 * A later round can still find a node nearer than rows the executor
 * already emitted (the search is approximate): with engram.ann_strict_order
 * (the default) such a node is held back; without it, it is returned at
 * once (better recall under selective filters, slightly out of order).
 * When the graph has nothing left, scan_tail hands out every live node not
 * yet returned (held back, or not reachable), so a scan returns every
 * indexed row exactly once.  engram.ann_max_scan_tuples caps the rows a
 * scan hands out: one more is an error, never a silently short answer.
 * Hence ef_search should be comfortably above the LIMIT: then the first
 * round holds the whole answer.
 *
 * IDENTIFICATION
 *	  src/ann_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include <float.h>

#include "ann.h"
#include "tier.h"

/*
 * From the second round on, a round hands out only the nearest
 * 1/ANN_ROUND_EMIT_FRACTION of its result set (see scan_round).
 */
#define ANN_ROUND_EMIT_FRACTION 8

/* highest offset whose line pointer lies inside a page */
#define ANN_MAX_LP_OFFSET \
	((OffsetNumber) ((BLCKSZ - SizeOfPageHeaderData) / sizeof(ItemIdData)))

typedef struct AnnScanState
{
	bool		started;
	bool		done;
	AnnShape	s;
	float	   *query;
	double		qnorm2;
	double		qnorm;
	int16	   *q16;			/* query quantised for the int kernel */
	float		qscale;
	double		qresid;			/* |q - qscale * q16| */
	double		q16norm2;		/* |qscale * q16|^2 */
	double		l2_rel;			/* relative margin of L2 bounds */
	bool		lossy;			/* table rounds COLD vectors (ADR 0013) */
	double		cnorm;			/* |centre| (L2), for the lossy margin */
	AnnReader	r;
	AnnVisited	visited;
	AnnHeap		C;				/* frontier: seen, to expand (min) */
	AnnHeap		W;				/* the ef best seen and unreturned (max) */
	AnnCand    *pool;			/* seen, unreturned, not in W */
	int			npool;
	int			cappool;
	AnnCand    *defer;			/* seen, not expanded, not in C */
	int			ndefer;
	int			capdefer;
	AnnId	   *nb;
	Buffer	   *bbuf;			/* per neighbour: its pinned page */
	float	   *bdist;			/* per neighbour: estimate */
	float	   *bbound;			/* per neighbour: bound */
	bool	   *bdel;			/* per neighbour: deleted */
	int			ef;
	int64		returned;
	float		last_bound;		/* largest bound handed out so far */
	int			rounds;			/* rounds done */
	bool		exhausted;		/* no unexpanded node left */
	AnnVisited	ret;			/* nodes handed out */
	bool		tail;			/* graph done: the exhaustive pass */
	AnnCand    *batch;
	int			nbatch;
	int			pos;
	MemoryContext ctx;
} AnnScanState;

/*
 * Distance from the query q to a node's vector x: the quantised distance
 * (an estimate, returned; the graph is navigated by it) and a LOWER BOUND
 * of the exact distance (*bound; the executor orders by it).
 * With q~ = qscale * q16 and x^ = scale * code, the integer dot product
 * gives <q~, x^> exactly (up to one float multiply), and
 *	 <q, x> = <q~, x^> + <q - q~, x^> + <q, x - x^>
 * where |<q - q~, x^>| <= qresid * |x^| and |<q, x - x^>| <= |q| * resid.
 * For L2, |q - x| >= |q~ - x^| - qresid - resid (triangle inequality; q and
 * x are both taken relative to the index's centre, which changes no L2
 * distance).  The margins cover float rounding: |x^|^2 is stored as a float
 * (relative error 2^-24), and the operator sums dim float squares (relative
 * error below (dim/16 + 8) * 2^-24 with its 16 lanes).  Everything here is
 * in double; results beyond float range are clamped (bound down, estimate
 * up), so a huge query gives no NaN.
 */
static inline float
clamp_down(double d)
{
	float		f;

	if (isnan(d))
		return -get_float4_infinity();
	if (d >= FLT_MAX)
		return FLT_MAX;
	if (d <= -FLT_MAX)
		return -get_float4_infinity();
	f = (float) d;
	if ((double) f > d)
		f = nextafterf(f, -get_float4_infinity());
	return f;
}

static inline float
clamp_est(double d)
{
	if (isnan(d) || d >= FLT_MAX)
		return get_float4_infinity();
	if (d <= -FLT_MAX)
		return -FLT_MAX;
	return (float) d;
}

static float
node_dist(AnnScanState *st, AnnNodeHeader *node, float *bound)
{
	double		ip = (double) st->qscale * node->scale *
		(double) ann_dot_i16_i8(st->q16, AnnNodeCodes(node), st->s.dim);
	double		xnorm = sqrt(node->norm2);
	double		est;
	double		d;

	switch (st->s.metric)
	{
		case ANN_METRIC_L2:
			{
				double		sum = st->q16norm2 + node->norm2;
				double		d2 = sum - 2 * ip;

				est = sqrt(Max(d2, 0.0));
				/* the float |x^|^2, and the double expansion */
				d2 -= 1.2e-7 * sum;
				d = sqrt(Max(d2, 0.0)) - st->qresid - node->resid;
				/* the operator's float sum of squares */
				if (d > 0)
					d *= 1.0 - st->l2_rel;
				break;
			}
		case ANN_METRIC_COSINE:
			est = 1.0 - ip;
			d = 1.0 - ip - st->qresid * xnorm - node->resid;
			d -= 6e-5 + 1e-6 * fabs(d);
			break;
		default:
			est = -ip;
			d = -ip - st->qresid * xnorm - st->qnorm * node->resid;
			d -= 5e-5 * st->qnorm * xnorm + 1e-6 * (1 + fabs(d));
			break;
	}

	/*
	 * A table with cold_vectors = float16, or that had it (its option row
	 * keeps rounded), may hold x rounded (x', when its row went COLD after
	 * it was indexed): |x' - x| <= e |x|, e =
	 * TIER_LOSSY_REL_ERROR, so the bound must hold for every such x'.  L2:
	 * |q - x'| >= |q - x| - e |x|, |x| <= |x - c| + |c|; inner product:
	 * <q, x'> differs by at most |q| e |x|; cosine: x' is within angle
	 * asin(e) of x, and 1 - cos changes by at most the angle.
	 */
	if (st->lossy)
	{
		double		e = TIER_LOSSY_REL_ERROR * 1.001;

		if (st->s.metric == ANN_METRIC_L2)
			d -= e * (xnorm + node->resid + st->cnorm) + 1e-30;
		else if (st->s.metric == ANN_METRIC_COSINE)
			d -= e * 1.001;
		else
			d -= e * st->qnorm * (xnorm + node->resid) + 1e-30;
	}
	*bound = clamp_down(d);
	return clamp_est(est);
}

static int
scan_neighbors(void *arg, AnnId id, int level, AnnId *out)
{
	AnnScanState *st = arg;
	Page		page = ann_reader_lock(&st->r, AnnIdBlock(id));
	AnnNodeHeader *node = ann_page_node(st->r.index, &st->s, page, AnnIdBlock(id),
										AnnIdOffset(id));
	int			n = node ? ann_node_neighbors(&st->s, node, level, out) : 0;

	ann_reader_unlock(&st->r);
	return n;
}

static float
scan_distance(void *arg, AnnId id, bool *deleted)
{
	AnnScanState *st = arg;
	Page		page = ann_reader_lock(&st->r, AnnIdBlock(id));
	AnnNodeHeader *node = ann_page_node(st->r.index, &st->s, page, AnnIdBlock(id),
										AnnIdOffset(id));
	float		d;

	if (node == NULL)
	{
		ann_reader_unlock(&st->r);
		*deleted = true;
		return get_float4_infinity();
	}
	{
		float		b;

		d = node_dist(st, node, &b);
	}
	*deleted = (node->flags & ANN_NODE_DELETED) != 0;
	ann_reader_unlock(&st->r);
	return d;
}

static const AnnGraphOps scan_ops = {scan_neighbors, scan_distance, NULL};

IndexScanDesc
ann_ambeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	AnnScanState *st = palloc0(sizeof(AnnScanState));

	st->ctx = AllocSetContextCreate(CurrentMemoryContext, "engram_hnsw scan",
									ALLOCSET_DEFAULT_SIZES);
	st->r.index = NULL;			/* nothing pinned yet */
	scan->opaque = st;
	/* the AM provides the arrays for ORDER BY values */
	scan->xs_orderbyvals = palloc0(sizeof(Datum) * Max(norderbys, 1));
	scan->xs_orderbynulls = palloc(sizeof(bool) * Max(norderbys, 1));
	return scan;
}

void
ann_amrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys,
			 int norderbys)
{
	AnnScanState *st = scan->opaque;

	ann_reader_done(&st->r);
	MemoryContextReset(st->ctx);
	st->started = false;
	st->done = false;
	st->returned = 0;
	st->last_bound = -get_float4_infinity();
	st->rounds = 0;
	st->nbatch = st->pos = 0;
	st->batch = NULL;			/* was in st->ctx */
	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

/*
 * Distances from the query to the not yet visited nodes among st->nb[0..n):
 * compacts st->nb to those, fills st->bdist/st->bdel, returns their count.
 *
 * Done in passes so that the memory of all the nodes is being fetched at
 * once instead of one cache miss after the other: first prefetch where the
 * pages' line pointers are, then where the nodes are, then pin, lock and
 * compute one node at a time.  The prefetch passes use the buffer each
 * block was last seen in without pinning it: a prefetch of a stale address
 * is harmless (it never faults, the address is inside shared buffers), and
 * the real reads happen under pin and share lock.  Holding few pins at a
 * time also keeps the backend's pin bookkeeping on its fast path.
 */
static int
scan_batch_distances(AnnScanState *st, int n)
{
	AnnReader  *r = &st->r;
	AnnRecent  *rc = ann_recent(r->index);	/* for the prefetch passes only */
	int			k;
	int			m = 0;

	for (k = 0; k < n; k++)
	{
		if (ann_visited_add(&st->visited, st->nb[k]))
			st->nb[m++] = st->nb[k];
	}
	for (k = 0; k < m; k++)
	{
		BlockNumber blk = AnnIdBlock(st->nb[k]);
		OffsetNumber off = AnnIdOffset(st->nb[k]);
		Buffer		hint = (rc && blk < rc->n) ? rc->buf[blk] : InvalidBuffer;

		/*
		 * Only for a buffer number that exists and an offset whose line
		 * pointer lies inside the page: the next pass loads it.
		 */
		if (hint <= 0 || hint > NBuffers ||
			off < FirstOffsetNumber || off > ANN_MAX_LP_OFFSET)
			hint = InvalidBuffer;
		st->bbuf[k] = hint;
		if (hint > 0)
			__builtin_prefetch(PageGetItemId((Page) BufferGetBlock(hint), off));
	}
	for (k = 0; k < m; k++)
	{
		if (st->bbuf[k] > 0)
		{
			/*
			 * Unpinned: the line pointer read may be stale, but it is inside
			 * the buffer (offset checked above), and the address derived
			 * from it stays inside the block; only prefetched.
			 */
			Page		page = (Page) BufferGetBlock(st->bbuf[k]);
			ItemId		lp = PageGetItemId(page, AnnIdOffset(st->nb[k]));
			char	   *node = (char *) page + (ItemIdGetOffset(lp) & (BLCKSZ - 1));

			__builtin_prefetch(node);
			__builtin_prefetch(node + 64);
			__builtin_prefetch(node + 128);
			__builtin_prefetch(node + 192);
		}
	}
	for (k = 0; k < m; k++)
	{
		Buffer		buf = ann_reader_pin(r, AnnIdBlock(st->nb[k]));
		Page		page;
		AnnNodeHeader *node;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		node = ann_page_node(r->index, &st->s, page, AnnIdBlock(st->nb[k]),
							 AnnIdOffset(st->nb[k]));
		if (node == NULL)
		{
			st->bdist[k] = get_float4_infinity();
			st->bbound[k] = get_float4_infinity();
			st->bdel[k] = true;
		}
		else
		{
			st->bdist[k] = node_dist(st, node, &st->bbound[k]);
			st->bdel[k] = (node->flags & ANN_NODE_DELETED) != 0;
		}
		UnlockReleaseBuffer(buf);
	}
	return m;
}

static inline void
pool_add(AnnScanState *st, float d, float b, AnnId id)
{
	if (st->npool == st->cappool)
	{
		st->cappool *= 2;
		st->pool = repalloc_huge(st->pool, sizeof(AnnCand) * st->cappool);
	}
	st->pool[st->npool].dist = d;
	st->pool[st->npool].bound = b;
	st->pool[st->npool].id = id;
	st->npool++;
}

static inline void
defer_add(AnnScanState *st, float d, float b, AnnId id)
{
	if (st->ndefer == st->capdefer)
	{
		st->capdefer *= 2;
		st->defer = repalloc_huge(st->defer, sizeof(AnnCand) * st->capdefer);
	}
	st->defer[st->ndefer].dist = d;
	st->defer[st->ndefer].bound = b;
	st->defer[st->ndefer].id = id;
	st->ndefer++;
}

/* offer a node to W (the ef best unreturned); the loser goes to the pool */
static inline void
offer_result(AnnScanState *st, float d, float b, AnnId id)
{
	if (st->W.n < st->ef)
		ann_heap_push_b(&st->W, d, b, id);
	else if (d < ann_heap_top(&st->W)->dist)
	{
		AnnCand		out = ann_heap_pop(&st->W);

		pool_add(st, out.dist, out.bound, out.id);
		ann_heap_push_b(&st->W, d, b, id);
	}
	else
		pool_add(st, d, b, id);
}

static int
bound_cmp(const void *a, const void *b)
{
	const AnnCand *x = a;
	const AnnCand *y = b;

	if (x->bound != y->bound)
		return x->bound < y->bound ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id ? 1 : 0);
}

/*
 * Settle, then hand out, the next st->ef nearest unreturned nodes.
 *
 * State between rounds: C, the frontier (heap); "defer", nodes seen but
 * not put into C because they were no better than W's worst then; "pool",
 * nodes seen, not returned and not in W.  A round starts by moving defer
 * into C and refilling W from the pool, then runs the usual best-first
 * expansion until the nearest frontier node is farther than W's worst;
 * W, sorted, is the batch.
 */
static void
scan_round(AnnScanState *st)
{
	AnnCand    *old = st->pool;
	int			nold = st->npool;
	int			i;

	for (i = 0; i < st->ndefer; i++)
		ann_heap_push_b(&st->C, st->defer[i].dist, st->defer[i].bound, st->defer[i].id);
	st->ndefer = 0;

	st->pool = palloc(sizeof(AnnCand) * Max(st->cappool, 64));
	st->cappool = Max(st->cappool, 64);
	st->npool = 0;
	st->W.n = 0;
	for (i = 0; i < nold; i++)
		offer_result(st, old[i].dist, old[i].bound, old[i].id);
	pfree(old);

	while (st->C.n > 0)
	{
		AnnCand		c;
		int			n;
		int			k;

		if (st->W.n >= st->ef && ann_heap_top(&st->C)->dist > ann_heap_top(&st->W)->dist)
			break;
		c = ann_heap_pop(&st->C);
		CHECK_FOR_INTERRUPTS();
		n = scan_neighbors(st, c.id, 0, st->nb);
		n = scan_batch_distances(st, n);
		for (k = 0; k < n; k++)
		{
			float		d = st->bdist[k];
			float		b = st->bbound[k];
			AnnId		id = st->nb[k];

			if (st->W.n < st->ef || d < ann_heap_top(&st->W)->dist)
				ann_heap_push_b(&st->C, d, b, id);
			else
				defer_add(st, d, b, id);
			if (!st->bdel[k])
				offer_result(st, d, b, id);
		}
	}

	/*
	 * Hand out W, nearest first.  The first round hands out all of it, so
	 * ORDER BY ... LIMIT k with ef_search above k is answered by one round.
	 * Later rounds (a filter rejected rows, or the executor wanted more)
	 * hand out only the nearest 1/ANN_ROUND_EMIT_FRACTION of W and put
	 * the rest back into the pool: the far end of a result set is where a
	 * deeper search still finds nearer nodes, and a node found after
	 * farther ones were returned is either out of order or, with
	 * engram.ann_strict_order, lost.  Measured on 30k x 384 clustered
	 * vectors with a 5% filter, LIMIT 10, ef_search 40: recall 0.79 when
	 * rounds hand out all of W, 0.90 with a quarter, 0.95 with an eighth.
	 */
	{
		int			nw = st->W.n;
		int			nemit = nw;
		AnnCand    *all = palloc(sizeof(AnnCand) * Max(nw, 1));

		for (i = nw - 1; i >= 0; i--)
			all[i] = ann_heap_pop(&st->W);
		st->exhausted = (st->C.n == 0 && st->ndefer == 0);
		if (st->rounds > 0 && !st->exhausted && nw > 0)
			nemit = Max(nw / ANN_ROUND_EMIT_FRACTION, 1);
		for (i = nemit; i < nw; i++)
			pool_add(st, all[i].dist, all[i].bound, all[i].id);
		/* the graph was walked by estimate; the executor wants bounds */
		qsort(all, nemit, sizeof(AnnCand), bound_cmp);
		st->nbatch = nemit;
		st->pos = 0;
		if (st->batch)
			pfree(st->batch);
		st->batch = all;
	}
	st->rounds++;
}

static void
scan_start(IndexScanDesc scan)
{
	AnnScanState *st = scan->opaque;
	Relation	index = scan->indexRelation;
	AnnMetaPageData meta;
	EngramVector *q;
	AnnCand		entry;
	AnnCand		found;
	int			l;
	int			i;

	st->started = true;
	st->done = true;

	if (scan->numberOfOrderBys < 1 ||
		(scan->orderByData[0].sk_flags & SK_ISNULL))
		return;					/* ORDER BY NULL: no order, no rows from us */

	ann_read_meta(index, &meta);
	q = DatumGetEngramVector(scan->orderByData[0].sk_argument);
	if (meta.dim > 0 && q->dim != meta.dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("query vector has %d dimensions, but index \"%s\" has %d",
						q->dim, RelationGetRelationName(index), meta.dim)));
	if (meta.ep_level < 0)
		return;					/* empty index */

	ann_shape_from_meta(&meta, &st->s);
	st->query = palloc(sizeof(float) * st->s.dim);
	{
		float	   *c = ann_center_decode(&meta);

		st->cnorm = 0;
		if (c != NULL)
		{
			double		n2 = 0;

			for (i = 0; i < st->s.dim; i++)
				n2 += (double) c[i] * c[i];
			st->cnorm = sqrt(n2) * 1.0001;
		}
		st->lossy = scan->heapRelation != NULL &&
			tier_table_lossy(RelationGetRelid(scan->heapRelation));
		if (!ann_prepare_vector(index, st->s.metric, q, c, true, st->query))
			return;				/* zero query under cosine: no direction */
	}
	st->l2_rel = ((double) st->s.dim / 16 + 8) * 6e-8 + 1e-7;
	st->qnorm2 = 0;
	for (i = 0; i < st->s.dim; i++)
		st->qnorm2 += (double) st->query[i] * st->query[i];
	st->qnorm = sqrt(st->qnorm2);
	st->q16 = palloc(sizeof(int16) * st->s.dim);
	st->qscale = ann_quantize_query(st->query, st->s.dim, st->q16, &st->qresid);
	st->q16norm2 = 0;
	for (i = 0; i < st->s.dim; i++)
	{
		double		v = (double) st->qscale * st->q16[i];

		st->q16norm2 += v * v;
	}

	ann_reader_init(&st->r, index, &st->s);
	ann_visited_init(&st->visited, ann_ef_search * st->s.m * 2);
	ann_visited_init(&st->ret, ann_ef_search * 2);
	st->tail = false;
	st->nb = palloc(sizeof(AnnId) * 2 * st->s.m);
	st->bbuf = palloc(sizeof(Buffer) * 2 * st->s.m);
	st->bdist = palloc(sizeof(float) * 2 * st->s.m);
	st->bbound = palloc(sizeof(float) * 2 * st->s.m);
	st->bdel = palloc(sizeof(bool) * 2 * st->s.m);

	/* greedy descent to level 1 */
	entry.id = AnnIdMake(meta.ep_blkno, meta.ep_offset);
	entry.dist = 0;
	for (l = meta.ep_level; l >= 1; l--)
	{
		ann_visited_reset(&st->visited);
		if (ann_search_layer(&scan_ops, st, &entry, 1, 1, l, 2 * st->s.m,
							 &st->visited, &found) > 0)
			entry = found;
	}
	ann_visited_reset(&st->visited);

	ann_heap_init(&st->C, ann_ef_search * 4, false);
	ann_heap_init(&st->W, ann_ef_search + 1, true);
	st->cappool = st->capdefer = Max(ann_ef_search * 4, 64);
	st->pool = palloc(sizeof(AnnCand) * st->cappool);
	st->defer = palloc(sizeof(AnnCand) * st->capdefer);
	st->npool = st->ndefer = 0;
	{
		bool		deleted = true;
		float		d = get_float4_infinity();
		float		b = get_float4_infinity();
		Page		page;
		AnnNodeHeader *node;

		ann_visited_add(&st->visited, entry.id);
		page = ann_reader_lock(&st->r, AnnIdBlock(entry.id));
		node = ann_page_node(index, &st->s, page, AnnIdBlock(entry.id),
							 AnnIdOffset(entry.id));
		if (node)
		{
			d = node_dist(st, node, &b);
			deleted = (node->flags & ANN_NODE_DELETED) != 0;
		}
		ann_reader_unlock(&st->r);
		ann_heap_push_b(&st->C, d, b, entry.id);
		if (!deleted)
			pool_add(st, d, b, entry.id);
	}
	st->ef = ann_ef_search;
	st->done = false;
}

/*
 * The graph search has nothing left (every node it can reach was handed
 * out, or held back as out of order): hand out every other live node,
 * in bound order, from one pass over the index.  These are nodes the
 * graph does not reach from the entry point and, with
 * engram.ann_strict_order, nodes found after farther rows had been
 * returned; so a scan without LIMIT returns every indexed row.  Rows from
 * this pass may come after farther rows (documented in ADR 0007).
 */
static void
scan_tail(AnnScanState *st)
{
	Relation	index = st->r.index;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber blk;
	int			cap = 64;
	int			n = 0;
	AnnCand    *all = palloc(sizeof(AnnCand) * cap);

	st->tail = true;
	for (blk = ANN_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Page		page;
		OffsetNumber off;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		page = ann_reader_lock(&st->r, blk);
		maxoff = ann_is_node_page(page) ? PageGetMaxOffsetNumber(page) : 0;
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			AnnNodeHeader *node = ann_page_node(index, &st->s, page, blk, off);
			AnnId		id = AnnIdMake(blk, off);

			if (node == NULL || (node->flags & ANN_NODE_DELETED))
				continue;
			if (!ann_visited_add(&st->ret, id))
				continue;		/* handed out already */
			if (n == cap)
			{
				cap *= 2;
				all = repalloc_huge(all, sizeof(AnnCand) * cap);
			}
			all[n].dist = node_dist(st, node, &all[n].bound);
			all[n].id = id;
			n++;
		}
		ann_reader_unlock(&st->r);
	}
	qsort(all, n, sizeof(AnnCand), bound_cmp);
	if (st->batch)
		pfree(st->batch);
	st->batch = all;
	st->nbatch = n;
	st->pos = 0;
}

bool
ann_amgettuple(IndexScanDesc scan, ScanDirection dir)
{
	AnnScanState *st = scan->opaque;
	MemoryContext old;

	/* as core's and pgvector's ordered index scans require */
	if (!IsMVCCSnapshot(scan->xs_snapshot))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("engram_hnsw index scans need an MVCC snapshot")));
	old = MemoryContextSwitchTo(st->ctx);
	if (!st->started)
	{
		scan_start(scan);
		pgstat_count_index_scan(scan->indexRelation);
	}

	while (!st->done)
	{
		AnnCand		c;
		Page		page;
		AnnNodeHeader *node;
		bool		ok;

		if (st->pos >= st->nbatch)
		{
			if (st->tail)
			{
				st->done = true;
				break;
			}
			if (st->nbatch > 0)
				st->ef = (int) Min((int64) st->ef * 2, (int64) 1 << 20);
			scan_round(st);
			if (st->nbatch == 0)
				scan_tail(st);
			continue;
		}
		c = st->batch[st->pos++];
		if (!st->tail)
		{
			if (ann_strict_order && c.bound < st->last_bound)
			{
				/*
				 * Found in a later round but nearer than a row already
				 * handed out: returning it now could put it after farther
				 * rows.  It is held back for the final pass (scan_tail),
				 * never dropped.
				 */
				continue;
			}
			if (!ann_visited_add(&st->ret, c.id))
				continue;		/* handed out by an earlier round */
		}

		page = ann_reader_lock(&st->r, AnnIdBlock(c.id));
		node = ann_page_node(st->r.index, &st->s, page, AnnIdBlock(c.id),
							 AnnIdOffset(c.id));
		ok = node && !(node->flags & ANN_NODE_DELETED);

		/*
		 * The slot may have been freed by VACUUM and reused by an insert
		 * since we computed its bound: then it holds another vector, and our
		 * bound could exceed that row's real distance (the executor would
		 * fail with "index returned tuples in wrong order").  The bound is a
		 * deterministic function of the node, so recomputing it tells.
		 */
		if (ok)
		{
			float		b;

			(void) node_dist(st, node, &b);
			if (b != c.bound)
				ok = false;
		}
		if (ok)
			scan->xs_heaptid = node->heaptid;
		ann_reader_unlock(&st->r);
		if (!ok)
			continue;			/* deleted, or replaced, since we saw it */

		/*
		 * engram.ann_max_scan_tuples is a hard cap: the scan raises an
		 * error rather than end early and leave rows out silently.
		 */
		if (st->returned >= ann_max_scan_tuples)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("engram_hnsw index scan of \"%s\" would return more than engram.ann_max_scan_tuples (%d) rows",
							RelationGetRelationName(scan->indexRelation),
							ann_max_scan_tuples),
					 errdetail("The scan stops here rather than leave rows out of the result."),
					 errhint("Add a LIMIT, use a less selective filter, raise engram.ann_max_scan_tuples, or SET enable_indexscan = off for an exact scan.")));
		st->returned++;
		st->last_bound = Max(st->last_bound, c.bound);
		scan->xs_recheck = false;
		scan->xs_recheckorderby = true;
		scan->xs_orderbyvals[0] = Float8GetDatum((double) c.bound);
		scan->xs_orderbynulls[0] = false;
		MemoryContextSwitchTo(old);
		return true;
	}
	MemoryContextSwitchTo(old);
	return false;
}

void
ann_amendscan(IndexScanDesc scan)
{
	AnnScanState *st = scan->opaque;

	ann_reader_done(&st->r);
	MemoryContextDelete(st->ctx);
	pfree(st);
	scan->opaque = NULL;
}
