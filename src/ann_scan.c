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
 * full-precision vectors of the table, without storing those in the index.
 * A bound above the exact distance would make the executor fail with
 * "index returned tuples in wrong order", hence the margins below.
 *
 * Expanding search: the scan does not stop after ef_search candidates.
 * It keeps every node it has seen but not returned (D) and every node it
 * has seen but not expanded (C).  Each round settles the ef nearest of D
 * (best-first expansion until the nearest unexpanded node is farther than
 * the ef-th nearest unreturned one), returns them, and doubles ef for the
 * next round.  With a filter that rejects most rows the scan thus keeps
 * producing candidates, up to engram.ann_max_scan_tuples rows.
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

#include "ann.h"

typedef struct AnnScanState
{
	bool		started;
	bool		done;
	AnnShape	s;
	float	   *query;
	double		qnorm2;
	double		qnorm;
	AnnReader	r;
	AnnVisited	visited;
	AnnHeap		C;				/* seen, not expanded (min) */
	AnnHeap		D;				/* seen, not returned (min) */
	AnnHeap		W;				/* ef smallest of D (max), per round */
	AnnId	   *nb;
	int			ef;
	int64		returned;
	AnnCand    *batch;
	int			nbatch;
	int			pos;
	MemoryContext ctx;
} AnnScanState;

/* lower bound of the exact distance from the query to a node */
static float
node_bound(AnnScanState *st, AnnNodeHeader *node)
{
	double		qd = (double) node->scale *
		ann_dot_f_i8(st->query, AnnNodeCodes(node), st->s.dim);
	double		d;

	switch (st->s.metric)
	{
		case ANN_METRIC_L2:
			{
				double		sum = st->qnorm2 + node->norm2;
				double		d2 = sum - 2 * qd;

				/* float rounding of the expansion, before the sqrt */
				d2 -= 5e-5 * sum;
				d = sqrt(Max(d2, 0.0)) - node->resid;
				d -= 1e-6 * (1 + fabs(d));
				break;
			}
		case ANN_METRIC_COSINE:
			d = 1.0 - qd - node->resid;
			d -= 6e-5 + 1e-6 * fabs(d);
			break;
		default:
			d = -qd - st->qnorm * node->resid;
			d -= 5e-5 * st->qnorm * sqrt(node->norm2) + 1e-6 * (1 + fabs(d));
			break;
	}
	return (float) d;
}

static int
scan_neighbors(void *arg, AnnId id, int level, AnnId *out)
{
	AnnScanState *st = arg;
	Page		page = ann_reader_lock(&st->r, AnnIdBlock(id));
	AnnNodeHeader *node = ann_page_node(page, AnnIdOffset(id));
	int			n = node ? ann_node_neighbors(&st->s, node, level, out) : 0;

	ann_reader_unlock(&st->r);
	return n;
}

static float
scan_distance(void *arg, AnnId id, bool *deleted)
{
	AnnScanState *st = arg;
	Page		page = ann_reader_lock(&st->r, AnnIdBlock(id));
	AnnNodeHeader *node = ann_page_node(page, AnnIdOffset(id));
	float		d;

	if (node == NULL)
	{
		ann_reader_unlock(&st->r);
		*deleted = true;
		return get_float4_infinity();
	}
	d = node_bound(st, node);
	*deleted = (node->flags & ANN_NODE_DELETED) != 0;
	ann_reader_unlock(&st->r);
	return d;
}

static const AnnGraphOps scan_ops = {scan_neighbors, scan_distance};

IndexScanDesc
ann_ambeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	AnnScanState *st = palloc0(sizeof(AnnScanState));

	st->ctx = AllocSetContextCreate(CurrentMemoryContext, "engram_hnsw scan",
									ALLOCSET_DEFAULT_SIZES);
	st->r.buf = InvalidBuffer;
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
	st->nbatch = st->pos = 0;
	st->batch = NULL;			/* was in st->ctx */
	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

/* settle, then hand out, the next st->ef nearest unreturned nodes */
static void
scan_round(AnnScanState *st)
{
	int			i;

	/* W: the ef smallest bounds among D */
	st->W.n = 0;
	for (i = 0; i < st->D.n; i++)
	{
		if (st->W.n < st->ef)
			ann_heap_push(&st->W, st->D.a[i].dist, st->D.a[i].id);
		else if (st->D.a[i].dist < ann_heap_top(&st->W)->dist)
		{
			(void) ann_heap_pop(&st->W);
			ann_heap_push(&st->W, st->D.a[i].dist, st->D.a[i].id);
		}
	}

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
		for (k = 0; k < n; k++)
		{
			bool		deleted = false;
			float		d;

			if (!ann_visited_add(&st->visited, st->nb[k]))
				continue;
			d = scan_distance(st, st->nb[k], &deleted);
			ann_heap_push(&st->C, d, st->nb[k]);
			if (deleted)
				continue;
			ann_heap_push(&st->D, d, st->nb[k]);
			if (st->W.n < st->ef)
				ann_heap_push(&st->W, d, st->nb[k]);
			else if (d < ann_heap_top(&st->W)->dist)
			{
				(void) ann_heap_pop(&st->W);
				ann_heap_push(&st->W, d, st->nb[k]);
			}
		}
	}

	/* the ef nearest of D, nearest first */
	st->nbatch = 0;
	st->pos = 0;
	if (st->batch)
		pfree(st->batch);
	st->batch = palloc(sizeof(AnnCand) * Max(Min(st->ef, st->D.n), 1));
	while (st->D.n > 0 && st->nbatch < st->ef)
		st->batch[st->nbatch++] = ann_heap_pop(&st->D);
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
	if (!ann_prepare_vector(st->s.metric, q, st->query))
		return;					/* zero query under cosine: no direction */
	st->qnorm2 = 0;
	for (i = 0; i < st->s.dim; i++)
		st->qnorm2 += (double) st->query[i] * st->query[i];
	st->qnorm = sqrt(st->qnorm2);

	ann_reader_init(&st->r, index, &st->s);
	ann_visited_init(&st->visited, ann_ef_search * st->s.m * 8);
	st->nb = palloc(sizeof(AnnId) * 2 * st->s.m);

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
	ann_heap_init(&st->D, ann_ef_search * 4, false);
	ann_heap_init(&st->W, ann_ef_search + 1, true);
	{
		bool		deleted = false;
		float		d;

		ann_visited_add(&st->visited, entry.id);
		d = scan_distance(st, entry.id, &deleted);
		ann_heap_push(&st->C, d, entry.id);
		if (!deleted)
			ann_heap_push(&st->D, d, entry.id);
	}
	st->ef = ann_ef_search;
	st->done = false;
}

bool
ann_amgettuple(IndexScanDesc scan, ScanDirection dir)
{
	AnnScanState *st = scan->opaque;
	MemoryContext old = MemoryContextSwitchTo(st->ctx);

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
			if (st->returned >= ann_max_scan_tuples)
			{
				st->done = true;
				break;
			}
			if (st->nbatch > 0)
				st->ef = (int) Min((int64) st->ef * 2, (int64) 1 << 20);
			scan_round(st);
			if (st->nbatch == 0)
			{
				st->done = true;
				break;
			}
		}
		c = st->batch[st->pos++];

		page = ann_reader_lock(&st->r, AnnIdBlock(c.id));
		node = ann_page_node(page, AnnIdOffset(c.id));
		ok = node && !(node->flags & ANN_NODE_DELETED);
		if (ok)
			scan->xs_heaptid = node->heaptid;
		ann_reader_unlock(&st->r);
		if (!ok)
			continue;			/* deleted by VACUUM since we saw it */

		st->returned++;
		scan->xs_recheck = false;
		scan->xs_recheckorderby = true;
		scan->xs_orderbyvals[0] = Float8GetDatum((double) c.dist);
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
