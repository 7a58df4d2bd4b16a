/*-------------------------------------------------------------------------
 *
 * ann_insert.c
 *	  engram_hnsw: reading the on-disk graph and inserting into it.
 *
 * Locking: buffer locks are taken one at a time, except that placing a new
 * node holds the meta page (exclusive) and then the page the node goes to;
 * the meta page is always locked first.  Readers copy what they need under
 * a share lock and let go before reading the next page, so a scan or an
 * insert never waits on two pages at once.
 *
 * WAL: one insert is a series of generic WAL records, each one leaving a
 * usable graph if we crash after it:
 *	 1. the new node with its own outgoing links (+ the meta page when a page
 *		is added or the graph was empty): the node is not reachable yet;
 *	 2. one record per neighbour whose list gains a back link (a single
 *		page, list pruned to capacity with the HNSW heuristic);
 *	 3. the meta page, if the node is the new entry point.
 * A crash between records leaves a node with fewer in-links than it should
 * have; the graph stays connected and searchable.
 *
 * IDENTIFICATION
 *	  src/ann_insert.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ann.h"
#include "fault.h"

/* ---------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------
 */
static void ann_reader_recent(AnnReader *r);

void
ann_reader_init(AnnReader *r, Relation index, const AnnShape *s)
{
	int			i;

	r->index = index;
	r->shape = *s;
	r->buf = InvalidBuffer;
	r->blk = InvalidBlockNumber;
	for (i = 0; i < ANN_READER_SLOTS; i++)
	{
		r->slot_blk[i] = InvalidBlockNumber;
		r->slot_buf[i] = InvalidBuffer;
	}
	ann_reader_recent(r);
}

/*
 * Make sure the block -> buffer hints (see AnnRecent) cover the index as it
 * is now.  They live in the index's relcache entry, so they serve every
 * scan of the backend.  Hints are only hints: ReadRecentBuffer checks that
 * the buffer still holds the block.
 */
static void
ann_reader_recent(AnnReader *r)
{
	AnnRecent  *rc = ann_recent(r->index);
	BlockNumber nblocks = RelationGetNumberOfBlocks(r->index);

	if (rc == NULL || rc->n < nblocks)
	{
		BlockNumber n = nblocks + nblocks / 4 + 16;
		AnnRecent  *nrc = MemoryContextAllocZero(r->index->rd_indexcxt,
												 offsetof(AnnRecent, buf) + sizeof(Buffer) * n);

		nrc->n = n;
		if (rc)
		{
			memcpy(nrc->buf, rc->buf, sizeof(Buffer) * rc->n);
			pfree(rc);
		}
		r->index->rd_amcache = nrc;
	}
}

/*
 * Pin block blk.  Remembering in which shared buffer each block was found
 * lets ReadRecentBuffer pin it again without a lookup in the shared buffer
 * mapping table, which otherwise dominates the cost of walking the graph.
 */
Buffer
ann_reader_pin(AnnReader *r, BlockNumber blk)
{
	AnnRecent  *rc = ann_recent(r->index);
	Buffer		buf;

	if (rc && blk < rc->n && rc->buf[blk] != InvalidBuffer &&
		ReadRecentBuffer(r->index->rd_node, MAIN_FORKNUM, blk, rc->buf[blk]))
		return rc->buf[blk];
	buf = ReadBuffer(r->index, blk);
	/* ReadBuffer may have processed invalidations: fetch rd_amcache again */
	rc = ann_recent(r->index);
	if (rc && blk < rc->n)
		rc->buf[blk] = buf;
	return buf;
}

Page
ann_reader_lock(AnnReader *r, BlockNumber blk)
{
	int			slot = blk % ANN_READER_SLOTS;

	if (r->slot_blk[slot] != blk)
	{
		if (BufferIsValid(r->slot_buf[slot]))
			ReleaseBuffer(r->slot_buf[slot]);
		r->slot_buf[slot] = ann_reader_pin(r, blk);
		r->slot_blk[slot] = blk;
	}
	r->buf = r->slot_buf[slot];
	r->blk = blk;
	LockBuffer(r->buf, BUFFER_LOCK_SHARE);
	return BufferGetPage(r->buf);
}

void
ann_reader_unlock(AnnReader *r)
{
	LockBuffer(r->buf, BUFFER_LOCK_UNLOCK);
}

void
ann_reader_done(AnnReader *r)
{
	int			i;

	if (r->index == NULL)
		return;
	for (i = 0; i < ANN_READER_SLOTS; i++)
	{
		if (BufferIsValid(r->slot_buf[i]))
			ReleaseBuffer(r->slot_buf[i]);
		r->slot_buf[i] = InvalidBuffer;
		r->slot_blk[i] = InvalidBlockNumber;
	}
	r->buf = InvalidBuffer;
	r->blk = InvalidBlockNumber;
}

int
ann_node_neighbors(const AnnShape *s, AnnNodeHeader *node, int level, AnnId *out)
{
	ItemPointerData *nb;
	int			n;
	int			i;
	int			k;

	if (node->level < level)
		return 0;
	n = *AnnNodeCount(s, node, level);
	n = Min(n, ann_level_cap(s, level));
	nb = AnnNodeNeighbors(s, node, level);
	for (i = 0, k = 0; i < n; i++)
	{
		BlockNumber blk = ItemPointerGetBlockNumberNoCheck(&nb[i]);

		/* never follow a (corrupt) link to the meta page */
		if (blk == ANN_METAPAGE_BLKNO || blk == InvalidBlockNumber)
			continue;
		out[k++] = AnnIdMake(blk, ItemPointerGetOffsetNumberNoCheck(&nb[i]));
	}
	return k;
}

/* copy a node's header and codes out of the index; false if no such node */
bool
ann_read_node(Relation index, const AnnShape *s, AnnId id, AnnDiskNode *out,
			  int8 *codes)
{
	Buffer		buf = ReadBuffer(index, AnnIdBlock(id));
	Page		page;
	AnnNodeHeader *node;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	node = ann_page_node(index, s, page, AnnIdBlock(id), AnnIdOffset(id));
	if (node)
	{
		out->id = id;
		out->level = node->level;
		out->flags = node->flags;
		out->heaptid = node->heaptid;
		out->q.scale = node->scale;
		out->q.norm2 = node->norm2;
		out->q.resid = node->resid;
		out->q.codes = codes;
		memcpy(codes, AnnNodeCodes(node), s->dim);
	}
	UnlockReleaseBuffer(buf);
	return node != NULL;
}

void
ann_form_node(const AnnShape *s, char *dst, const AnnQVec *q, int level,
			  ItemPointer heaptid, AnnId **nb, int *nnb)
{
	AnnNodeHeader *node = (AnnNodeHeader *) dst;
	int			l;

	memset(dst, 0, ann_node_size(s, level));
	node->level = level;
	node->heaptid = *heaptid;
	node->scale = q->scale;
	node->norm2 = q->norm2;
	node->resid = q->resid;
	memcpy(AnnNodeCodes(node), q->codes, s->dim);
	for (l = 0; l <= level; l++)
	{
		ItemPointerData *tids = AnnNodeNeighbors(s, node, l);
		int			n = nb ? Min(nnb[l], ann_level_cap(s, l)) : 0;
		int			i;

		*AnnNodeCount(s, node, l) = n;
		for (i = 0; i < n; i++)
			ItemPointerSet(&tids[i], AnnIdBlock(nb[l][i]), AnnIdOffset(nb[l][i]));
	}
}

/* ---------------------------------------------------------------------
 * Graph callbacks for searching on disk with a quantised query
 * ---------------------------------------------------------------------
 */
typedef struct DiskSearchCtx
{
	AnnReader	r;
	AnnQVec    *query;
} DiskSearchCtx;

static int
disk_neighbors(void *arg, AnnId id, int level, AnnId *out)
{
	DiskSearchCtx *ctx = arg;
	Page		page = ann_reader_lock(&ctx->r, AnnIdBlock(id));
	AnnNodeHeader *node = ann_page_node(ctx->r.index, &ctx->r.shape, page,
										AnnIdBlock(id), AnnIdOffset(id));
	int			n = node ? ann_node_neighbors(&ctx->r.shape, node, level, out) : 0;

	ann_reader_unlock(&ctx->r);
	return n;
}

static float
disk_code_distance(void *arg, AnnId id, bool *deleted)
{
	DiskSearchCtx *ctx = arg;
	Page		page = ann_reader_lock(&ctx->r, AnnIdBlock(id));
	AnnNodeHeader *node = ann_page_node(ctx->r.index, &ctx->r.shape, page,
										AnnIdBlock(id), AnnIdOffset(id));
	float		d;

	if (node == NULL)
	{
		ann_reader_unlock(&ctx->r);
		*deleted = true;
		return get_float4_infinity();
	}
	d = ann_code_distance(ctx->r.shape.metric, ctx->query, AnnNodeCodes(node),
						  node->scale, node->norm2, ctx->r.shape.dim);
	*deleted = (node->flags & ANN_NODE_DELETED) != 0;
	ann_reader_unlock(&ctx->r);
	return d;
}

static const AnnGraphOps disk_ops = {disk_neighbors, disk_code_distance, NULL};

/* candidates with their codes, for the neighbour heuristic (ids = index) */
typedef struct PruneSet
{
	int			metric;
	int			dim;
	int			n;
	AnnDiskNode *nodes;
} PruneSet;

static float
prune_pairdist(void *arg, AnnId a, AnnId b)
{
	PruneSet   *ps = arg;
	AnnDiskNode *x = &ps->nodes[a];
	AnnDiskNode *y = &ps->nodes[b];

	return ann_code_distance(ps->metric, &x->q, y->q.codes, y->q.scale,
							 y->q.norm2, ps->dim);
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
 * A planned change of node e's list on one level: "old" is the list it was
 * decided from, "want" the new one, where ANN_INVALID_ID stands for the new
 * node (whose id may not be known yet).
 */
typedef struct Backlink
{
	AnnId		e;
	int			level;
	int			nold;
	int			nwant;
	AnnId	   *old;
	AnnId	   *want;
} Backlink;

/*
 * Decide how node e's list on `level` takes a link to the new node, pruning
 * it with the heuristic when full.  Reads without holding any lock across
 * pages; returns false if there is nothing to do (e deleted or gone, or
 * already linked to newid).
 */
static bool
plan_backlink(Relation index, const AnnShape *s, AnnId e, int level,
			  AnnId newid, const AnnQVec *newq, Backlink *bl)
{
	int			cap = ann_level_cap(s, level);
	Buffer		buf;
	AnnNodeHeader *node;
	int			i;

	bl->e = e;
	bl->level = level;
	bl->old = palloc(sizeof(AnnId) * cap);
	bl->want = palloc(sizeof(AnnId) * cap);

	buf = ReadBuffer(index, AnnIdBlock(e));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	node = ann_page_node(index, s, BufferGetPage(buf), AnnIdBlock(e), AnnIdOffset(e));
	if (node == NULL || (node->flags & ANN_NODE_DELETED) || node->level < level)
	{
		UnlockReleaseBuffer(buf);
		return false;
	}
	bl->nold = ann_node_neighbors(s, node, level, bl->old);
	UnlockReleaseBuffer(buf);

	for (i = 0; i < bl->nold; i++)
		if (newid != ANN_INVALID_ID && bl->old[i] == newid)
			return false;		/* already linked */

	if (bl->nold < cap)
	{
		memcpy(bl->want, bl->old, sizeof(AnnId) * bl->nold);
		bl->want[bl->nold] = ANN_INVALID_ID;
		bl->nwant = bl->nold + 1;
	}
	else
	{
		PruneSet	ps;
		AnnCand    *cand = palloc(sizeof(AnnCand) * (cap + 1));
		AnnCand    *sel = palloc(sizeof(AnnCand) * cap);
		AnnDiskNode *base;
		int			ncand = 0;

		ps.metric = s->metric;
		ps.dim = s->dim;
		ps.nodes = palloc(sizeof(AnnDiskNode) * (cap + 2));
		base = &ps.nodes[cap + 1];
		base->q.codes = palloc(s->dim);
		if (!ann_read_node(index, s, e, base, base->q.codes))
			return false;
		/* distances from e to its neighbours and to the new node */
		for (i = 0; i < bl->nold; i++)
		{
			AnnDiskNode *nd = &ps.nodes[ncand];

			nd->q.codes = palloc(s->dim);
			if (!ann_read_node(index, s, bl->old[i], nd, nd->q.codes) ||
				(nd->flags & ANN_NODE_DELETED))
				continue;		/* drop links to deleted nodes */
			cand[ncand].id = ncand;
			cand[ncand].dist = ann_code_distance(s->metric, &base->q,
												 nd->q.codes, nd->q.scale,
												 nd->q.norm2, s->dim);
			ncand++;
		}
		ps.nodes[ncand].id = ANN_INVALID_ID;
		ps.nodes[ncand].q = *newq;
		cand[ncand].id = ncand;
		cand[ncand].dist = ann_code_distance(s->metric, &base->q,
											 newq->codes, newq->scale,
											 newq->norm2, s->dim);
		ncand++;
		ps.n = ncand;
		qsort(cand, ncand, sizeof(AnnCand), cand_cmp);
		bl->nwant = ann_select_neighbors(cand, ncand, cap, prune_pairdist, &ps, sel);
		for (i = 0; i < bl->nwant; i++)
			if (sel[i].id == ncand - 1)
				break;
		if (i == bl->nwant)
			return false;		/* the new node does not make it: leave e alone */
		for (i = 0; i < bl->nwant; i++)
			bl->want[i] = ps.nodes[sel[i].id].id;
	}
	return true;
}

/*
 * Apply a planned change to the (exclusively locked, WAL-registered) page
 * holding e, if e's list is still the one it was planned from.
 */
static bool
apply_backlink(Relation index, const AnnShape *s, Page page, const Backlink *bl,
			   AnnId newid)
{
	AnnNodeHeader *node = ann_page_node(index, s, page, AnnIdBlock(bl->e),
										AnnIdOffset(bl->e));
	int			cap = ann_level_cap(s, bl->level);
	AnnId		now[2 * ANN_MAX_M];
	ItemPointerData *tids;
	int			nnow;
	int			i;

	if (node == NULL || node->level < bl->level)
		return false;
	nnow = ann_node_neighbors(s, node, bl->level, now);
	if (nnow != bl->nold || memcmp(now, bl->old, sizeof(AnnId) * nnow) != 0)
		return false;
	tids = AnnNodeNeighbors(s, node, bl->level);
	*AnnNodeCount(s, node, bl->level) = bl->nwant;
	for (i = 0; i < bl->nwant; i++)
	{
		AnnId		id = bl->want[i] == ANN_INVALID_ID ? newid : bl->want[i];

		ItemPointerSet(&tids[i], AnnIdBlock(id), AnnIdOffset(id));
	}
	for (; i < cap; i++)
		ItemPointerSetInvalid(&tids[i]);
	return true;
}

/* give node e on level a link to newid: plan, then write if unchanged */
static void
add_backlink(Relation index, const AnnShape *s, AnnId e, int level,
			 AnnId newid, const AnnQVec *newq, bool building)
{
	int			attempt;

	for (attempt = 0; attempt < 10; attempt++)
	{
		Backlink	bl;
		Buffer		buf;
		AnnWal		w;
		Page		page;
		bool		done;

		if (!plan_backlink(index, s, e, level, newid, newq, &bl))
			return;
		buf = ReadBuffer(index, AnnIdBlock(e));
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		/* check on the buffer first: no WAL record for a lost race */
		done = false;
		{
			AnnNodeHeader *node = ann_page_node(index, s, BufferGetPage(buf),
												AnnIdBlock(e), AnnIdOffset(e));
			AnnId		now[2 * ANN_MAX_M];

			if (node && node->level >= level)
			{
				int			nnow = ann_node_neighbors(s, node, level, now);

				done = (nnow == bl.nold &&
						memcmp(now, bl.old, sizeof(AnnId) * nnow) == 0);
			}
		}
		if (done)
		{
			ann_wal_start(&w, index, building);
			page = ann_wal_register(&w, buf, false);
			(void) apply_backlink(index, s, page, &bl, newid);
			ann_wal_finish(&w);
		}
		UnlockReleaseBuffer(buf);
		if (done)
			return;
		/* a concurrent insert or VACUUM changed the list: plan again */
	}
}

/* add_backlink for VACUUM's repairs (always WAL-logged) */
void
ann_add_backlink(Relation index, const AnnShape *s, AnnId e, int level,
				 AnnId newid, const AnnQVec *newq)
{
	add_backlink(index, s, e, level, newid, newq, false);
}

/*
 * Search the on-disk graph from the entry point for the ef live nodes
 * nearest to q on `level` (greedy descent above it), nearest first, into
 * out[] (room for ef).  Used by VACUUM to find new neighbours for a node
 * that lost some, as an insert would.
 */
int
ann_disk_search(Relation index, const AnnShape *s, const AnnQVec *q,
				int level, int ef, AnnCand *out)
{
	AnnMetaPageData *meta = palloc(sizeof(AnnMetaPageData));
	DiskSearchCtx ctx;
	AnnVisited	visited;
	AnnCand		entry;
	AnnCand		found;
	int			n = 0;
	int			l;

	ann_read_meta(index, meta);
	if (meta->ep_level < level)
	{
		pfree(meta);
		return 0;
	}
	ann_reader_init(&ctx.r, index, s);
	ctx.query = (AnnQVec *) q;
	ann_visited_init(&visited, ef * s->m * 4);
	entry.id = AnnIdMake(meta->ep_blkno, meta->ep_offset);
	entry.dist = 0;
	for (l = meta->ep_level; l > level; l--)
	{
		ann_visited_reset(&visited);
		if (ann_search_layer(&disk_ops, &ctx, &entry, 1, 1, l, 2 * s->m,
							 &visited, &found) > 0)
			entry = found;
	}
	ann_visited_reset(&visited);
	n = ann_search_layer(&disk_ops, &ctx, &entry, 1, ef, level, 2 * s->m,
						 &visited, out);
	ann_reader_done(&ctx.r);
	pfree(meta);
	return n;
}

/*
 * Try to put a formed node into the slot of a deleted node, on a page
 * VACUUM recorded in the free space map.  The caller holds the meta page
 * exclusively.  A slot fits if its item is at least as long as the node:
 * the node's level, not the item length, tells readers where its lists
 * are.  Links other nodes may still have to the deleted node now lead to
 * the new one, which is harmless: VACUUM repaired every list that pointed
 * to it before recording the page, and a scan that computed a bound for the
 * old node notices the change (ann_amgettuple).  No slot is reused while a
 * VACUUM runs (ANN_META_VACUUMING: its sets of dead and deleted nodes must
 * not change meanwhile), and never the entry point's.  The FSM holds, per
 * page, the length of its largest deleted slot (ann_record_free), so
 * GetPageWithFreeSpace(size) finds a page where this node fits, and nodes
 * of higher levels find the long slots; on the page the smallest fitting
 * slot is taken (level-0 nodes pass over pages with only longer slots but
 * on their last try), and the page's entry updated to what is left.  The FSM is
 * only a hint and not WAL-logged: after a crash or on a promoted standby
 * it may be stale, which costs a look at a page, and the next VACUUM
 * rebuilds it.  Returns the node's id or
 * ANN_INVALID_ID.
 */
static AnnId
reuse_slot(Relation index, const AnnShape *s, Buffer metabuf, AnnWal *w,
		   char *item, Size size)
{
	AnnMetaPageData *meta = AnnPageGetMeta(BufferGetPage(metabuf));
	BlockNumber nblocks;
	BlockNumber ep_blk = meta->ep_level >= 0 ? meta->ep_blkno : InvalidBlockNumber;
	int			tries;

	if (meta->flags & ANN_META_VACUUMING)
		return ANN_INVALID_ID;
	nblocks = RelationGetNumberOfBlocks(index);
	for (tries = 0; tries < 4; tries++)
	{
		BlockNumber blk = GetPageWithFreeSpace(index, size);
		Buffer		buf;
		Page		page;
		OffsetNumber off;
		OffsetNumber maxoff;
		OffsetNumber found = InvalidOffsetNumber;
		Size		foundlen = 0;
		/* level-0 nodes (the shortest) want an exact fit, but on the last try */
		bool		exact = (((AnnNodeHeader *) item)->level == 0 && tries < 3);

		if (blk == InvalidBlockNumber)
			break;
		if (blk == ANN_METAPAGE_BLKNO || blk >= nblocks)
		{
			RecordPageWithFreeSpace(index, blk, 0);
			continue;
		}
		buf = ReadBuffer(index, blk);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		maxoff = ann_is_node_page(page) ? PageGetMaxOffsetNumber(page) : 0;
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			/* checked: the node is overwritten in place */
			AnnNodeHeader *node = ann_page_node(index, s, page, blk, off);
			Size		len;

			if (node == NULL || !(node->flags & ANN_NODE_DELETED))
				continue;
			if (blk == ep_blk && off == meta->ep_offset)
				continue;		/* the entry point stays walkable */
			len = ItemIdGetLength(PageGetItemId(page, off));
			/* the smallest slot that fits: keep long ones for long nodes */
			if (len >= size && (found == InvalidOffsetNumber || len < foundlen))
			{
				found = off;
				foundlen = len;
			}
		}
		if (found != InvalidOffsetNumber && (!exact || foundlen == size))
		{
			Page		wpage;

			/* registered last: the caller takes it as the node's buffer */
			wpage = ann_wal_register(w, buf, false);
			memcpy(PageGetItem(wpage, PageGetItemId(wpage, found)), item, size);
			/* what the page has left (the copy's flags are the node's now) */
			ann_record_free(index, blk, ann_page_max_slot(index, s, wpage, blk, ep_blk,
														  meta->ep_offset));
			/* the caller finishes the WAL record, then lets go of the page */
			return AnnIdMake(blk, found);
		}
		/* what the page really has (less than this node needs) */
		ann_record_free(index, blk, ann_page_max_slot(index, s, page, blk, ep_blk,
													  meta->ep_offset));
		UnlockReleaseBuffer(buf);
	}
	return ANN_INVALID_ID;
}

/*
 * Place a formed node: on the insert page if it fits, else on a new page.
 * Caller holds the meta buffer exclusively; *metaw tells whether the meta
 * page is already registered in w.  Returns the node's id.
 */
static AnnId
place_node(Relation index, const AnnShape *s, Buffer metabuf, AnnWal *w,
		   Page *metapage, char *item, Size size)
{
	AnnMetaPageData *meta = AnnPageGetMeta(BufferGetPage(metabuf));
	Buffer		buf = InvalidBuffer;
	Page		page;
	OffsetNumber off;
	BlockNumber blk = meta->insert_blkno;
	bool		is_new = false;
	AnnId		reused;

	/* a slot VACUUM freed, if any fits */
	reused = reuse_slot(index, s, metabuf, w, item, size);
	if (reused != ANN_INVALID_ID)
		return reused;

	if (blk != InvalidBlockNumber)
	{
		buf = ReadBuffer(index, blk);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (PageGetFreeSpace(BufferGetPage(buf)) < MAXALIGN(size))
		{
			UnlockReleaseBuffer(buf);
			buf = InvalidBuffer;
		}
	}
	if (!BufferIsValid(buf))
	{
		LockRelationForExtension(index, ExclusiveLock);
		buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		UnlockRelationForExtension(index, ExclusiveLock);
		blk = BufferGetBlockNumber(buf);
		is_new = true;
	}
	if (*metapage == NULL && is_new)
		*metapage = ann_wal_register(w, metabuf, false);
	page = ann_wal_register(w, buf, is_new);
	if (is_new)
	{
		ann_init_page(page, ANN_PAGE_NODE);
		AnnPageGetMeta(*metapage)->insert_blkno = blk;
	}
	off = PageAddItem(page, (Item) item, size, InvalidOffsetNumber, false, false);
	if (off == InvalidOffsetNumber)
		elog(ERROR, "failed to add node to engram_hnsw index \"%s\"",
			 RelationGetRelationName(index));
	/* the caller finishes the WAL record, then lets go of the page */
	return AnnIdMake(blk, off);
}

/*
 * Insert one vector.  building: called by CREATE INDEX after its in-memory
 * graph was flushed (no WAL, the build logs every page at the end).
 */
void
ann_insert_vector(Relation index, const EngramVector *v, ItemPointer heaptid,
				  bool building, pg_prng_state *rng)
{
	AnnMetaPageData meta;
	AnnShape	s;
	float	   *x;
	AnnQVec		q;
	int			level;
	int			l;
	AnnId	  **nb;
	int		   *nnb;
	AnnId		newid;
	int			top;
	Backlink	first;
	bool		first_ok;
	bool		first_done = false;
	float	   *center;
	bool		set_center = false;
	bool		take_entry;
	AnnMetaPageData *newcenter = NULL;

retry:
	ann_read_meta(index, &meta);
	ann_check_dim(index, v->dim, meta.dim);
	ann_shape_from_meta(&meta, &s);
	s.dim = v->dim;
	if (meta.dim == 0)
	{
		/* first vector of an index on a column without typmod */
		s.max_level = ann_compute_max_level(s.dim, s.m);
	}

	x = palloc(sizeof(float) * s.dim);
	center = NULL;
	set_center = false;
	if (s.metric == ANN_METRIC_L2)
	{
		if (meta.flags & ANN_META_CENTER)
			center = ann_center_decode(&meta);	/* set with dim, never without */
		else
		{
			/*
			 * The first vector of an L2 index built without rows: it
			 * becomes the centre (set in the same WAL record as the node).
			 */
			float	   *raw = palloc(sizeof(float) * s.dim);

			if (!ann_prepare_vector(index, s.metric, v, NULL, false, raw))
				return;
			newcenter = palloc0(sizeof(AnnMetaPageData));
			center = palloc(sizeof(float) * s.dim);
			ann_center_encode(raw, s.dim, newcenter, center);
			set_center = true;
		}
	}
	if (!ann_prepare_vector(index, s.metric, v, center, false, x))
		return;					/* zero vector under cosine, NaN: not indexed */
	q.codes = palloc(s.dim);
	ann_quantize(x, s.dim, &q);
	level = ann_random_level(rng, s.m, s.max_level);

	nb = palloc0(sizeof(AnnId *) * (level + 1));
	nnb = palloc0(sizeof(int) * (level + 1));

	if (meta.ep_level >= 0)
	{
		DiskSearchCtx ctx;
		AnnVisited	visited;
		AnnCand    *entry;
		int			nentry = 1;
		int			efc = meta.ef_construction;
		AnnCand    *found = palloc(sizeof(AnnCand) * Max(efc, 1));

		ann_reader_init(&ctx.r, index, &s);
		ctx.query = &q;
		ann_visited_init(&visited, efc * s.m * 4);
		entry = palloc(sizeof(AnnCand) * Max(efc, 1));
		entry[0].id = AnnIdMake(meta.ep_blkno, meta.ep_offset);
		entry[0].dist = 0;

		/* greedy descent through the levels above the node's own */
		for (l = meta.ep_level; l > level; l--)
		{
			int			n;

			ann_visited_reset(&visited);
			n = ann_search_layer(&disk_ops, &ctx, entry, nentry, 1, l,
								 2 * s.m, &visited, found);
			if (n > 0)
			{
				entry[0] = found[0];
				nentry = 1;
			}
		}
		for (l = Min(level, meta.ep_level); l >= 0; l--)
		{
			int			n;
			PruneSet	ps;
			AnnCand    *cand;
			AnnCand    *sel;
			int			ncand = 0;
			int			i;
			int			cap = ann_level_cap(&s, l);

			CHECK_FOR_INTERRUPTS();
			ann_visited_reset(&visited);
			n = ann_search_layer(&disk_ops, &ctx, entry, nentry, efc, l,
								 2 * s.m, &visited, found);
			/* load the codes of the candidates for the heuristic */
			ps.metric = s.metric;
			ps.dim = s.dim;
			ps.nodes = palloc(sizeof(AnnDiskNode) * Max(n, 1));
			cand = palloc(sizeof(AnnCand) * Max(n, 1));
			sel = palloc(sizeof(AnnCand) * cap);
			for (i = 0; i < n; i++)
			{
				AnnDiskNode *nd = &ps.nodes[ncand];

				nd->q.codes = palloc(s.dim);
				if (!ann_read_node(index, &s, found[i].id, nd, nd->q.codes))
					continue;
				cand[ncand].id = ncand;
				cand[ncand].dist = found[i].dist;
				ncand++;
			}
			ps.n = ncand;
			nnb[l] = ann_select_neighbors(cand, ncand, cap, prune_pairdist, &ps, sel);
			nb[l] = palloc(sizeof(AnnId) * Max(nnb[l], 1));
			for (i = 0; i < nnb[l]; i++)
				nb[l][i] = ps.nodes[sel[i].id].id;
			if (n > 0)
			{
				memcpy(entry, found, sizeof(AnnCand) * n);
				nentry = n;
			}
		}
		ann_reader_done(&ctx.r);
	}

	/*
	 * Plan the back link of the nearest level-0 neighbour now, so it can go
	 * into the same WAL record as the node itself: then even a crash right
	 * after that record leaves the node reachable.
	 */
	first_ok = nnb[0] > 0 &&
		plan_backlink(index, &s, nb[0][0], 0, ANN_INVALID_ID, &q, &first);

	/* place the node (record 1) */
	{
		Buffer		metabuf = ReadBuffer(index, ANN_METAPAGE_BLKNO);
		AnnMetaPageData *m;
		AnnWal		w;
		Page		metapage = NULL;
		Size		size = ann_node_size(&s, level);
		char	   *item = palloc(size);

		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		m = AnnPageGetMeta(BufferGetPage(metabuf));
		if ((meta.ep_level < 0 && m->ep_level >= 0) || m->dim != meta.dim ||
			(m->flags & ANN_META_CENTER) != (meta.flags & ANN_META_CENTER))
		{
			/* someone filled the empty index meanwhile: search again */
			UnlockReleaseBuffer(metabuf);
			goto retry;
		}

		/*
		 * The search found no live node although the graph is not empty:
		 * every node it could reach is deleted (VACUUM removed all rows and
		 * kept the entry point walkable, see ann_vacuum.c).  Then no other
		 * live node is reachable either, and this node becomes the entry
		 * point, in the same record; otherwise nothing would link to it.
		 */
		take_entry = (m->ep_level >= 0 && nnb[0] == 0);
		if (take_entry && (m->ep_blkno != meta.ep_blkno || m->ep_offset != meta.ep_offset))
		{
			/* another insert took over meanwhile: search from it instead */
			UnlockReleaseBuffer(metabuf);
			goto retry;
		}
		ann_form_node(&s, item, &q, level, heaptid, nb, nnb);
		ann_wal_start(&w, index, building);
		if (m->ep_level < 0 || m->dim == 0 || take_entry || set_center)
			metapage = ann_wal_register(&w, metabuf, false);
		newid = place_node(index, &s, metabuf, &w, &metapage, item, size);
		if (metapage)
		{
			AnnMetaPageData *wm = AnnPageGetMeta(metapage);

			if (wm->dim == 0)
			{
				wm->dim = s.dim;
				wm->max_level = s.max_level;
			}
			if (set_center)
			{
				wm->center_scale = newcenter->center_scale;
				memcpy(wm->center, newcenter->center, sizeof(int16) * s.dim);
				wm->flags |= ANN_META_CENTER;
			}
			if (wm->ep_level < 0 || take_entry)
			{
				wm->ep_level = level;
				wm->ep_blkno = AnnIdBlock(newid);
				wm->ep_offset = AnnIdOffset(newid);
			}
		}
		{
			Buffer		nodebuf = w.bufs[w.nbuf - 1];
			Buffer		ebuf = InvalidBuffer;

			if (first_ok)
			{
				Page		epage;

				if (AnnIdBlock(first.e) != AnnIdBlock(newid))
				{
					/* meta, then node page, then this one: fixed order */
					ebuf = ReadBuffer(index, AnnIdBlock(first.e));
					LockBuffer(ebuf, BUFFER_LOCK_EXCLUSIVE);
					epage = ann_wal_register(&w, ebuf, false);
				}
				else if (w.building)
					epage = BufferGetPage(nodebuf);
				else
				{
					/* already registered: this returns the same image */
					epage = GenericXLogRegisterBuffer(w.state, nodebuf, 0);
				}
				first_done = apply_backlink(index, &s, epage, &first, newid);
			}
			ann_wal_finish(&w);
			if (BufferIsValid(ebuf))
				UnlockReleaseBuffer(ebuf);
			UnlockReleaseBuffer(nodebuf);
		}
		top = m->ep_level;
		UnlockReleaseBuffer(metabuf);
		pfree(item);
	}
	if (!building)
		ENGRAM_FAULT_POINT("ann_insert_after_node");

	/* back links (records 2..) */
	for (l = 0; l <= level; l++)
	{
		int			i;

		for (i = 0; i < nnb[l]; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (l == 0 && i == 0 && first_done)
				continue;
			add_backlink(index, &s, nb[l][i], l, newid, &q, building);
			if (!building)
				ENGRAM_FAULT_POINT("ann_insert_after_backlink");
		}
	}

	/* new entry point (last record) */
	if (level > top)
	{
		Buffer		metabuf = ReadBuffer(index, ANN_METAPAGE_BLKNO);
		AnnMetaPageData *m;

		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		m = AnnPageGetMeta(BufferGetPage(metabuf));
		if (level > m->ep_level)
		{
			AnnWal		w;
			Page		page;

			ann_wal_start(&w, index, building);
			page = ann_wal_register(&w, metabuf, false);
			m = AnnPageGetMeta(page);
			m->ep_level = level;
			m->ep_blkno = AnnIdBlock(newid);
			m->ep_offset = AnnIdOffset(newid);
			ann_wal_finish(&w);
		}
		UnlockReleaseBuffer(metabuf);
	}
}

bool
ann_aminsert(Relation index, Datum *values, bool *isnull, ItemPointer ht_ctid,
			 Relation heapRel, IndexUniqueCheck checkUnique,
			 bool indexUnchanged, struct IndexInfo *indexInfo)
{
	MemoryContext tmp;
	MemoryContext old;
	pg_prng_state rng;

	if (isnull[0])
		return false;			/* NULL vectors are not indexed */

	tmp = AllocSetContextCreate(CurrentMemoryContext, "engram_hnsw insert",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	/*
	 * The node's level is drawn from a generator seeded with its heap TID:
	 * the same rows inserted the same way give the same graph (reproducible
	 * tests and bug reports), and levels are still independent draws.
	 */
	pg_prng_seed(&rng, AnnIdMake(ItemPointerGetBlockNumber(ht_ctid),
								 ItemPointerGetOffsetNumber(ht_ctid)) ^
				 UINT64CONST(0x656E6772616D));
	/*
	 * Held for the whole insert: VACUUM waits for the inserts that may have
	 * linked to nodes it is deleting before it repairs the graph.
	 */
	LockPage(index, ANN_INSERT_LOCK, ShareLock);
	ann_insert_vector(index, DatumGetEngramVector(values[0]), ht_ctid, false,
					  &rng);
	UnlockPage(index, ANN_INSERT_LOCK, ShareLock);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
	return false;
}
