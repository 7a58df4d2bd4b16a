/*-------------------------------------------------------------------------
 *
 * ann_build.c
 *	  engram_hnsw: CREATE INDEX.
 *
 * The graph is built in memory (quantised vectors + int32 links + bfloat16
 * link distances), within maintenance_work_mem, then written out page by page without WAL and
 * logged at the end with one log_newpage_range over the whole relation.
 * If the graph outgrows maintenance_work_mem, what was built so far is
 * written out and the remaining rows are inserted straight into the
 * on-disk pages (same code as INSERT, minus the WAL): slower, but the build
 * finishes; a NOTICE says so.
 *
 * When the planner grants parallel workers (max_parallel_maintenance_workers,
 * plan_create_index_workers), the graph is built by the leader and the
 * workers together in dynamic shared memory instead: ann_build_parallel.c.
 *
 * IDENTIFICATION
 *	  src/ann_build.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ann.h"
#include "ann_build.h"
#include "fault.h"

typedef struct BuildState
{
	Relation	heap;
	Relation	index;
	AnnShape	s;
	int			efc;
	double		indtuples;
	double		reltuples;
	bool		on_disk;		/* graph outgrew memory: inserting on disk */

	/* in-memory graph */
	BNode	   *nodes;
	int			nnodes;
	int			capnodes;
	int			ep;
	int			ep_level;
	Size		mem_used;
	char	   *arena;
	Size		arena_left;
	Size		mem_limit;

	pg_prng_state rng;
	float	   *xbuf;
	MemoryContext graphctx;
	MemoryContext tmpctx;
	MemoryContext buildctx;		/* lives as long as the build */

	/*
	 * Codes live in segments of ANN_SEG nodes, so the address of a node's
	 * codes is computed from its id without first loading its BNode: the
	 * prefetch of a neighbour's data then starts with no dependent miss.
	 */
	int8	  **codes_seg;
	int			nseg;
	uint32	   *stamps;			/* dense visited set */

	/* scratch for one insertion */
	AnnQVec    *query;
	AnnVisited	visited;

	/*
	 * L2: the centre, the mean of the first ANN_CENTER_SAMPLE vectors,
	 * which wait in the stash until it is known.
	 */
	bool		need_center;
	float	   *center;
	AnnMetaPageData *cmeta;		/* centre as stored (codes, scale) */
	EngramVector **stash;
	ItemPointerData *stash_tid;
	int			nstash;
	MemoryContext stashctx;
} BuildState;

/* graph callbacks over the in-memory graph (ids are array indexes) */
static int
mem_neighbors(void *arg, AnnId id, int level, AnnId *out)
{
	BuildState *bs = arg;
	BNode	   *n = &bs->nodes[id];
	int32	   *nb;
	int			k;
	int			i;

	if (n->level < level)
		return 0;
	nb = n->nb + bnode_offset(&bs->s, level);
	k = n->cnt[level];
	for (i = 0; i < k; i++)
		out[i] = (AnnId) nb[i];
	return k;
}

static float
mem_distance(void *arg, AnnId id, bool *deleted)
{
	BuildState *bs = arg;
	BNode	   *n = &bs->nodes[id];

	*deleted = false;
	return ann_code_distance(bs->s.metric, bs->query, n->q.codes, n->q.scale,
							 n->q.norm2, bs->s.dim);
}

#define ANN_SEG_BITS	12
#define ANN_SEG			(1 << ANN_SEG_BITS)

static inline int8 *
seg_codes(BuildState *bs, AnnId id)
{
	return bs->codes_seg[id >> ANN_SEG_BITS] + (Size) (id & (ANN_SEG - 1)) * bs->s.dim;
}

static void
mem_prefetch(void *arg, AnnId id)
{
	BuildState *bs = arg;
	const char *codes = (const char *) seg_codes(bs, id);
	int			off;

	__builtin_prefetch(&bs->nodes[id]);
	for (off = 0; off < bs->s.dim; off += 64)
		__builtin_prefetch(codes + off);
}

static const AnnGraphOps mem_ops = {mem_neighbors, mem_distance, mem_prefetch};

static float
mem_pairdist(void *arg, AnnId a, AnnId b)
{
	BuildState *bs = arg;
	BNode	   *x = &bs->nodes[a];
	BNode	   *y = &bs->nodes[b];

	return ann_code_distance(bs->s.metric, &x->q, y->q.codes, y->q.scale,
							 y->q.norm2, bs->s.dim);
}

static int
cand_cmp(const void *a, const void *b)
{
	const AnnCand *x = a;
	const AnnCand *y = b;

	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id ? 1 : 0);
}

/*
 * Link a node to nid (at distance dist) on level: nb, nbd and *cnt are the
 * node's links, distances and count on that level.  A full list is pruned
 * with the heuristic.  A link that is already there is not added again.
 */
void
ann_build_link(const AnnShape *s, int level, int32 *nb, uint16 *nbd,
			   uint16 *cnt, int nid, float dist, AnnCand *scratch,
			   AnnCand *sel, AnnPairDist pairdist, void *ctx)
{
	int			cap = ann_level_cap(s, level);
	int			k = *cnt;
	int			i;
	int			nsel;

	for (i = 0; i < k; i++)
		if (nb[i] == nid)
			return;
	if (k < cap)
	{
		nb[k] = nid;
		nbd[k] = bf16_enc(dist);
		*cnt = k + 1;
		return;
	}
	/* distances to the current neighbours were kept with the links */
	for (i = 0; i < k; i++)
	{
		scratch[i].id = nb[i];
		scratch[i].dist = bf16_dec(nbd[i]);
	}
	scratch[k].id = nid;
	scratch[k].dist = dist;
	qsort(scratch, k + 1, sizeof(AnnCand), cand_cmp);
	nsel = ann_select_neighbors(scratch, k + 1, cap, pairdist, ctx, sel);
	for (i = 0; i < nsel; i++)
	{
		nb[i] = (int32) sel[i].id;
		nbd[i] = bf16_enc(sel[i].dist);
	}
	*cnt = nsel;
}

/* link e -> nid on level in the serial build's graph */
static void
mem_backlink(BuildState *bs, int e, int level, int nid, float dist,
			 AnnCand *scratch, AnnCand *sel)
{
	BNode	   *en = &bs->nodes[e];
	int			off = bnode_offset(&bs->s, level);

	ann_build_link(&bs->s, level, en->nb + off, en->nbd + off, &en->cnt[level],
				   nid, dist, scratch, sel, mem_pairdist, bs);
}

static void
mem_insert(BuildState *bs, int nid)
{
	BNode	   *n = &bs->nodes[nid];
	AnnShape   *s = &bs->s;
	AnnCand		entry[1];
	AnnCand    *found;
	AnnCand    *sel;
	AnnCand    *sel2;
	AnnCand    *scratch;
	AnnCand    *entries;
	int			nentry;
	int			l;

	if (bs->ep < 0)
	{
		bs->ep = nid;
		bs->ep_level = n->level;
		return;
	}
	bs->query = &n->q;
	found = palloc(sizeof(AnnCand) * bs->efc);
	entries = palloc(sizeof(AnnCand) * bs->efc);
	sel = palloc(sizeof(AnnCand) * 2 * s->m);
	sel2 = palloc(sizeof(AnnCand) * 2 * s->m);
	scratch = palloc(sizeof(AnnCand) * (2 * s->m + 1));
	entry[0].id = bs->ep;
	entry[0].dist = 0;
	memcpy(entries, entry, sizeof(AnnCand));
	nentry = 1;

	for (l = bs->ep_level; l > n->level; l--)
	{
		ann_visited_reset(&bs->visited);
		if (ann_search_layer(&mem_ops, bs, entries, nentry, 1, l, 2 * s->m,
							 &bs->visited, found) > 0)
			entries[0] = found[0];
	}
	for (l = Min(n->level, bs->ep_level); l >= 0; l--)
	{
		int			nf;
		int			nsel;
		int			cap = ann_level_cap(s, l);
		int32	   *nb = n->nb + bnode_offset(s, l);
		int			i;

		ann_visited_reset(&bs->visited);
		nf = ann_search_layer(&mem_ops, bs, entries, nentry, bs->efc, l,
							  2 * s->m, &bs->visited, found);
		uint16	   *nbd = n->nbd + bnode_offset(s, l);

		nsel = ann_select_neighbors(found, nf, cap, mem_pairdist, bs, sel);
		for (i = 0; i < nsel; i++)
		{
			nb[i] = (int32) sel[i].id;
			nbd[i] = bf16_enc(sel[i].dist);
		}
		n->cnt[l] = nsel;
		/* the code distance is symmetric: the same value serves e -> nid */
		for (i = 0; i < nsel; i++)
			mem_backlink(bs, (int) sel[i].id, l, nid, sel[i].dist, scratch, sel2);
		if (nf > 0)
		{
			memcpy(entries, found, sizeof(AnnCand) * nf);
			nentry = nf;
		}
	}
	if (n->level > bs->ep_level)
	{
		bs->ep = nid;
		bs->ep_level = n->level;
	}
	pfree(found);
	pfree(entries);
	pfree(sel);
	pfree(scratch);
}

/*
 * Write an in-memory graph of nnodes nodes (get() hands out node i) to
 * pages 1.. and fill in the meta page: ep is the entry point's node number
 * (-1: empty), cmeta the centre as stored (NULL: none).  No WAL: the
 * caller logs the relation at the end.
 */
void
ann_build_flush(Relation index, const AnnShape *s, int nnodes,
				AnnBuildGetNode get, void *arg, int ep, int ep_level,
				const AnnMetaPageData *cmeta)
{
	BlockNumber *blk = palloc(sizeof(BlockNumber) * Max(nnodes, 1));
	OffsetNumber *off = palloc(sizeof(OffsetNumber) * Max(nnodes, 1));
	Size		pagefree = BLCKSZ - MAXALIGN(sizeof(AnnPageOpaqueData)) - SizeOfPageHeaderData;
	Size		avail = 0;
	BlockNumber cur = ANN_METAPAGE_BLKNO;
	OffsetNumber curoff = 0;
	int			i;
	int			first = 0;
	char	   *item = palloc(MAXALIGN(ann_node_size(s, s->max_level)));
	AnnId	   *nbids[ANN_MAX_LEVEL + 1];
	int			nnb[ANN_MAX_LEVEL + 1];
	Buffer		metabuf;
	AnnMetaPageData *meta;
	BNode		tmp;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, ANN_PHASE_WRITE);

	/* positions first: links refer to nodes on later pages too */
	for (i = 0; i < nnodes; i++)
	{
		Size		need = MAXALIGN(ann_node_size(s, get(arg, i, &tmp)->level)) + sizeof(ItemIdData);

		if (need > avail)
		{
			cur++;
			curoff = 0;
			avail = pagefree;
		}
		avail -= need;
		blk[i] = cur;
		off[i] = ++curoff;
	}
	for (i = 0; i <= ANN_MAX_LEVEL; i++)
		nbids[i] = palloc(sizeof(AnnId) * 2 * s->m);

	/* then the pages, in block order */
	while (first < nnodes)
	{
		Buffer		buf;
		Page		page;
		int			last = first;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
		if (BufferGetBlockNumber(buf) != blk[first])
			elog(ERROR, "unexpected block %u while writing engram_hnsw index (wanted %u)",
				 BufferGetBlockNumber(buf), blk[first]);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		ann_init_page(page, ANN_PAGE_NODE);
		while (last < nnodes && blk[last] == blk[first])
		{
			BNode	   *n = get(arg, last, &tmp);
			int			l;
			Size		size = ann_node_size(s, n->level);

			for (l = 0; l <= n->level; l++)
			{
				int32	   *nb = n->nb + bnode_offset(s, l);
				int			k;

				nnb[l] = n->cnt[l];
				for (k = 0; k < nnb[l]; k++)
					nbids[l][k] = AnnIdMake(blk[nb[k]], off[nb[k]]);
			}
			ann_form_node(s, item, &n->q, n->level, &n->heaptid, nbids, nnb);
			if (PageAddItem(page, (Item) item, size, off[last], false, false) != off[last])
				elog(ERROR, "failed to add node to engram_hnsw index");
			last++;
		}
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
		first = last;
	}

	metabuf = ReadBuffer(index, ANN_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = AnnPageGetMeta(BufferGetPage(metabuf));
	meta->dim = s->dim;
	meta->max_level = s->max_level;
	if (cmeta && s->dim > 0)
	{
		meta->center_scale = cmeta->center_scale;
		memcpy(meta->center, cmeta->center, sizeof(int16) * s->dim);
		meta->flags |= ANN_META_CENTER;
	}
	if (ep >= 0)
	{
		meta->ep_level = ep_level;
		meta->ep_blkno = blk[ep];
		meta->ep_offset = off[ep];
		meta->insert_blkno = cur;
	}
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);
	pfree(blk);
	pfree(off);
	pfree(item);
	for (i = 0; i <= ANN_MAX_LEVEL; i++)
		pfree(nbids[i]);
}

static BNode *
mem_getnode(void *arg, int i, BNode *tmp)
{
	return &((BuildState *) arg)->nodes[i];
}

/* write the serial build's graph out */
static void
flush_graph(BuildState *bs)
{
	ann_build_flush(bs->index, &bs->s, bs->nnodes, mem_getnode, bs, bs->ep,
					bs->ep_level, bs->cmeta);
}

/*
 * Codes and links come from 64kB blocks, carved sequentially: no per-chunk
 * header or power-of-two rounding, and mem_used is what we really hold.
 */
#define ANN_ARENA_BLOCK (64 * 1024)

static void *
graph_alloc(BuildState *bs, Size size)
{
	void	   *p;

	size = MAXALIGN(size);
	if (size > bs->arena_left)
	{
		Size		blk = Max(size, ANN_ARENA_BLOCK);

		bs->arena = MemoryContextAlloc(bs->graphctx, blk);
		bs->arena_left = blk;
		bs->mem_used += blk;
	}
	p = bs->arena;
	bs->arena += size;
	bs->arena_left -= size;
	return p;
}

static void add_vector(BuildState *bs, ItemPointer tid, EngramVector *v);

/* the centre from the stashed vectors; then add them */
static void
settle_center(BuildState *bs)
{
	double	   *sum = palloc0(sizeof(double) * Max(bs->s.dim, 1));
	float	   *mean = palloc(sizeof(float) * Max(bs->s.dim, 1));
	int			n = 0;
	int			i;
	int			k;

	for (i = 0; i < bs->nstash; i++)
	{
		if (!ann_prepare_vector(bs->index, bs->s.metric, bs->stash[i], NULL,
								false, bs->xbuf))
			continue;
		for (k = 0; k < bs->s.dim; k++)
			sum[k] += bs->xbuf[k];
		n++;
	}
	for (k = 0; k < bs->s.dim; k++)
		mean[k] = n > 0 ? (float) (sum[k] / n) : 0;
	bs->cmeta = MemoryContextAllocZero(bs->buildctx, sizeof(AnnMetaPageData));
	bs->center = MemoryContextAlloc(bs->buildctx, sizeof(float) * Max(bs->s.dim, 1));
	ann_center_encode(mean, bs->s.dim, bs->cmeta, bs->center);
	bs->need_center = false;
	for (i = 0; i < bs->nstash; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(bs->tmpctx);

		add_vector(bs, &bs->stash_tid[i], bs->stash[i]);
		MemoryContextSwitchTo(old);
		MemoryContextReset(bs->tmpctx);
	}
	bs->nstash = 0;
	MemoryContextDelete(bs->stashctx);
	bs->stashctx = NULL;
	pfree(sum);
	pfree(mean);
}

static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	BuildState *bs = state;
	MemoryContext old;
	EngramVector *v;

	if (isnull[0])
		return;					/* NULL vectors are not indexed */

	old = MemoryContextSwitchTo(bs->tmpctx);
	v = DatumGetEngramVector(values[0]);
	if (bs->s.dim == 0)
	{
		/* column without typmod: the first vector decides */
		ann_check_dim(index, v->dim, 0);
		bs->s.dim = v->dim;
		bs->s.max_level = ann_compute_max_level(bs->s.dim, bs->s.m);
		bs->xbuf = MemoryContextAlloc(bs->buildctx, sizeof(float) * bs->s.dim);
	}
	ann_check_dim(index, v->dim, bs->s.dim);

	if (bs->need_center)
	{
		/* wait for the centre; refuse what cannot be indexed right away */
		(void) ann_prepare_vector(index, bs->s.metric, v, NULL, false, bs->xbuf);
		if (bs->stashctx == NULL)
		{
			bs->stashctx = AllocSetContextCreate(bs->buildctx, "engram_hnsw build sample",
												 ALLOCSET_DEFAULT_SIZES);
			bs->stash = MemoryContextAlloc(bs->stashctx, sizeof(EngramVector *) * ANN_CENTER_SAMPLE);
			bs->stash_tid = MemoryContextAlloc(bs->stashctx, sizeof(ItemPointerData) * ANN_CENTER_SAMPLE);
		}
		bs->stash[bs->nstash] = MemoryContextAlloc(bs->stashctx, VARSIZE(v));
		memcpy(bs->stash[bs->nstash], v, VARSIZE(v));
		bs->stash_tid[bs->nstash] = *tid;
		bs->nstash++;
		MemoryContextSwitchTo(old);
		MemoryContextReset(bs->tmpctx);
		if (bs->nstash == ANN_CENTER_SAMPLE)
			settle_center(bs);
		return;
	}
	add_vector(bs, tid, v);
	MemoryContextSwitchTo(old);
	MemoryContextReset(bs->tmpctx);
}

/* add one vector to the graph (in memory, or on disk once it outgrew that) */
static void
add_vector(BuildState *bs, ItemPointer tid, EngramVector *v)
{
	Relation	index = bs->index;
	MemoryContext old = CurrentMemoryContext;

	if (!bs->on_disk && bs->mem_used > bs->mem_limit)
	{
		ereport(NOTICE,
				(errmsg("engram_hnsw graph no longer fits into maintenance_work_mem"),
				 errdetail("%.0f tuples were added in memory; building continues on disk, which is slower.",
						   bs->indtuples),
				 errhint("Increase maintenance_work_mem to speed up builds.")));
		MemoryContextSwitchTo(old);
		flush_graph(bs);
		MemoryContextReset(bs->graphctx);
		bs->nodes = NULL;
		bs->arena = NULL;
		bs->arena_left = 0;
		bs->codes_seg = NULL;
		bs->nseg = 0;
		bs->stamps = NULL;
		bs->visited.dense = NULL;
		bs->on_disk = true;
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, ANN_PHASE_LOAD);
		old = MemoryContextSwitchTo(bs->tmpctx);
	}

	if (bs->on_disk)
		ann_insert_vector(index, v, tid, true, &bs->rng);
	else if (ann_prepare_vector(index, bs->s.metric, v, bs->center, false, bs->xbuf))
	{
		BNode	   *n;
		int			nslots;

		if (bs->nnodes == bs->capnodes)
		{
			/*
			 * First as many as the table is thought to hold, then by half
			 * again: doubling would hold (and count) up to twice the array.
			 */
			Size		newcap = bs->capnodes + bs->capnodes / 2;

			if (bs->capnodes == 0)
			{
				/* at most an eighth of maintenance_work_mem up front */
				double		est = Max(bs->heap->rd_rel->reltuples, 0) + 64;
				double		most = (double) bs->mem_limit / (sizeof(BNode) + sizeof(uint32)) / 8;

				newcap = (Size) Max(Min(est, most), 1024);
			}

			if (bs->nodes == NULL)
				bs->nodes = MemoryContextAllocHuge(bs->graphctx, sizeof(BNode) * newcap);
			else
				bs->nodes = repalloc_huge(bs->nodes, sizeof(BNode) * newcap);
			bs->mem_used += (sizeof(BNode) + sizeof(uint32)) * (newcap - bs->capnodes);
			/* visited stamps, one per node; grown with the node array */
			if (bs->stamps == NULL)
				bs->stamps = MemoryContextAllocHuge(bs->graphctx, sizeof(uint32) * newcap);
			else
				bs->stamps = repalloc_huge(bs->stamps, sizeof(uint32) * newcap);
			memset(bs->stamps + bs->capnodes, 0, sizeof(uint32) * (newcap - bs->capnodes));
			ann_visited_dense(&bs->visited, bs->stamps, newcap);
			bs->capnodes = newcap;
		}
		if ((bs->nnodes >> ANN_SEG_BITS) >= bs->nseg)
		{
			int			seg = bs->nnodes >> ANN_SEG_BITS;

			if (bs->codes_seg == NULL)
				bs->codes_seg = MemoryContextAllocZero(bs->graphctx, sizeof(int8 *) * 64);
			else if (seg % 64 == 0)
				bs->codes_seg = repalloc(bs->codes_seg, sizeof(int8 *) * (seg + 64));
			bs->codes_seg[seg] = graph_alloc(bs, (Size) ANN_SEG * bs->s.dim);
			bs->nseg = seg + 1;
		}
		n = &bs->nodes[bs->nnodes];
		n->heaptid = *tid;
		n->level = ann_random_level(&bs->rng, bs->s.m, bs->s.max_level);
		n->q.codes = seg_codes(bs, bs->nnodes);
		ann_quantize(bs->xbuf, bs->s.dim, &n->q);
		nslots = bnode_offset(&bs->s, n->level + 1);
		n->nb = graph_alloc(bs, sizeof(int32) * nslots);
		n->nbd = graph_alloc(bs, sizeof(uint16) * nslots);
		n->cnt = graph_alloc(bs, sizeof(uint16) * (n->level + 1));
		memset(n->cnt, 0, sizeof(uint16) * (n->level + 1));
		bs->nnodes++;
		mem_insert(bs, bs->nnodes - 1);
	}
	MemoryContextSwitchTo(old);

	bs->indtuples++;
	if (((int64) bs->indtuples & 63) == 0)
	{
		CHECK_FOR_INTERRUPTS();
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->indtuples);
	}
}

static void
write_meta(Relation index, ForkNumber fork, int dim, int m, int efc,
		   int metric, int max_level)
{
	Buffer		buf;
	Page		page;

	buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, NULL);
	Assert(BufferGetBlockNumber(buf) == ANN_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	ann_init_meta(page, dim, m, efc, metric, max_level);
	MarkBufferDirty(buf);
	if (fork == INIT_FORKNUM)
		log_newpage_buffer(buf, true);
	UnlockReleaseBuffer(buf);
}

IndexBuildResult *
ann_ambuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	BuildState	bs;
	int			typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
	int			m;
	int			efc;
	int			nworkers;
	int			nlaunched = 0;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data",
			 RelationGetRelationName(index));

	memset(&bs, 0, sizeof(bs));
	ann_get_options(index, &m, &efc);
	bs.heap = heap;
	bs.index = index;
	bs.s.m = m;
	bs.s.metric = ann_get_metric(index);
	bs.efc = efc;
	bs.s.dim = 0;
	bs.s.max_level = 0;
	if (typmod > 0)
	{
		ann_check_dim(index, typmod, 0);
		bs.s.dim = typmod;
		bs.s.max_level = ann_compute_max_level(typmod, m);
	}
	bs.ep = -1;
	bs.ep_level = -1;
	bs.mem_limit = (Size) maintenance_work_mem * 1024;
	pg_prng_seed(&bs.rng, UINT64CONST(0x656E6772616D));	/* reproducible graphs */
	bs.graphctx = AllocSetContextCreate(CurrentMemoryContext, "engram_hnsw build graph",
										ALLOCSET_DEFAULT_SIZES);
	bs.tmpctx = AllocSetContextCreate(CurrentMemoryContext, "engram_hnsw build tuple",
									  ALLOCSET_DEFAULT_SIZES);
	bs.buildctx = CurrentMemoryContext;
	if (bs.s.dim > 0)
		bs.xbuf = MemoryContextAlloc(bs.buildctx, sizeof(float) * bs.s.dim);
	ann_visited_init(&bs.visited, efc * m * 4);
	bs.need_center = (bs.s.metric == ANN_METRIC_L2);

	write_meta(index, MAIN_FORKNUM, bs.s.dim, m, efc, bs.s.metric, bs.s.max_level);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, ANN_PHASE_LOAD);
	if (heap->rd_rel->reltuples > 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
									 (int64) heap->rd_rel->reltuples);

	/* with parallel workers when the planner grants some (ann_build_parallel.c) */
	nworkers = ann_build_parallel_workers(heap, index);
	if (nworkers > 0 &&
		ann_build_parallel(heap, index, indexInfo, &bs.s, efc, nworkers,
						   &bs.reltuples, &bs.indtuples, &nlaunched))
	{
		Buffer		metabuf = ReadBuffer(index, ANN_METAPAGE_BLKNO);

		/* say in the meta page how many workers built it */
		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		AnnPageGetMeta(BufferGetPage(metabuf))->build_workers = (uint16) nlaunched;
		MarkBufferDirty(metabuf);
		UnlockReleaseBuffer(metabuf);
	}
	else
	{
		bs.reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
											  build_callback, &bs, NULL);
		if (bs.need_center && bs.nstash > 0)
			settle_center(&bs);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs.indtuples);

		if (!bs.on_disk)
		{
			if (bs.s.dim == 0)
				bs.s.max_level = 0;
			flush_graph(&bs);
		}
	}

	ENGRAM_FAULT_POINT("ann_build_before_log");
	/* everything was written without WAL: log all pages now */
	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0,
						  RelationGetNumberOfBlocks(index), true);

	MemoryContextDelete(bs.graphctx);
	MemoryContextDelete(bs.tmpctx);

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = bs.reltuples;
	result->index_tuples = bs.indtuples;
	return result;
}

void
ann_ambuildempty(Relation index)
{
	int			m;
	int			efc;
	int			typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
	int			dim = typmod > 0 ? typmod : 0;

	ann_get_options(index, &m, &efc);
	write_meta(index, INIT_FORKNUM, dim, m, efc, ann_get_metric(index),
			   dim > 0 ? ann_compute_max_level(dim, m) : 0);
}
