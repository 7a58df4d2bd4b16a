/*-------------------------------------------------------------------------
 *
 * ann_vacuum.c
 *	  engram_hnsw: VACUUM (ambulkdelete / amvacuumcleanup).
 *
 * Three passes over the node pages:
 *	 1. collect the nodes whose heap TID the table reports dead;
 *	 2. repair every live node that links to one of them: its list on that
 *		level is rebuilt from its live neighbours plus the live neighbours of
 *		the dead ones, pruned with the HNSW heuristic (one generic WAL record
 *		per repaired node); move the entry point off a dead node;
 *	 3. flag the dead nodes deleted (one record per page);
 *	 4. remember pages with freed slots in the meta page for inserts.
 * A crash between passes leaves dead-but-unflagged nodes, which scans may
 * still return: harmless, the table does not return dead rows and the next
 * VACUUM finishes the job.  Flagged nodes keep their links so concurrent
 * scans can walk through them; they are never returned or linked to again.
 *
 * Hot standby: the records written here carry no conflict horizon, and
 * need none.  This index only removes TIDs the TABLE has already declared
 * dead, and the table logged that first: heap with its prune/vacuum records
 * (latestRemovedXid), engram's table AM with the core conflict record it
 * emits before removing rows.  Those records already made the standby
 * cancel or wait for every query that could still see the rows, so no
 * standby query can need the index entries removed here.
 *
 * IDENTIFICATION
 *	  src/ann_vacuum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ann.h"

typedef struct VacState
{
	IndexVacuumInfo *info;
	Relation	index;
	AnnShape	s;
	AnnVisited	dead;
	double		live;
	double		ndead;
	AnnId		best;			/* a live node of the highest level */
	int			best_level;
} VacState;

static Buffer
vac_read(VacState *vs, BlockNumber blk)
{
	return ReadBufferExtended(vs->index, MAIN_FORKNUM, blk, RBM_NORMAL,
							  vs->info->strategy);
}

static bool
is_dead(VacState *vs, AnnId id)
{
	/* ann_visited_add would insert; probe instead */
	AnnVisited *v = &vs->dead;
	uint64		h = id * UINT64CONST(0x9E3779B97F4A7C15);
	uint32		i = (uint32) (h >> 32) & v->mask;

	while (v->slots[i] != ANN_INVALID_ID)
	{
		if (v->slots[i] == id)
			return true;
		i = (i + 1) & v->mask;
	}
	return false;
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

typedef struct PairCtx
{
	int			metric;
	int			dim;
	AnnDiskNode *nodes;
} PairCtx;

static float
pairdist(void *arg, AnnId a, AnnId b)
{
	PairCtx    *pc = arg;

	return ann_code_distance(pc->metric, &pc->nodes[a].q, pc->nodes[b].q.codes,
							 pc->nodes[b].q.scale, pc->nodes[b].q.norm2, pc->dim);
}

/* rebuild node id's list on level without its dead neighbours */
static void
repair_level(VacState *vs, AnnId id, int level)
{
	AnnShape   *s = &vs->s;
	int			cap = ann_level_cap(s, level);
	AnnId	   *old = palloc(sizeof(AnnId) * cap);
	AnnId	   *hop = palloc(sizeof(AnnId) * cap);
	AnnId	   *want = palloc(sizeof(AnnId) * cap);
	int			maxcand = cap * (cap + 1);
	AnnDiskNode *nodes = palloc(sizeof(AnnDiskNode) * (maxcand + 1));
	AnnCand    *cand = palloc(sizeof(AnnCand) * maxcand);
	AnnCand    *sel = palloc(sizeof(AnnCand) * cap);
	AnnVisited	seen;
	int			attempt;

	ann_visited_init(&seen, maxcand);
	for (attempt = 0; attempt < 10; attempt++)
	{
		Buffer		buf;
		Page		page;
		AnnNodeHeader *node;
		AnnDiskNode *base = &nodes[maxcand];
		PairCtx		pc;
		int			nold;
		int			ncand = 0;
		int			nwant;
		int			i;
		bool		changed;
		AnnWal		w;

		buf = vac_read(vs, AnnIdBlock(id));
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		node = ann_page_node(page, AnnIdOffset(id));
		if (node == NULL || (node->flags & ANN_NODE_DELETED))
		{
			UnlockReleaseBuffer(buf);
			return;
		}
		nold = ann_node_neighbors(s, node, level, old);
		UnlockReleaseBuffer(buf);

		base->q.codes = palloc(s->dim);
		if (!ann_read_node(vs->index, s, id, base, base->q.codes))
			return;
		ann_visited_reset(&seen);
		ann_visited_add(&seen, id);
		for (i = 0; i < nold; i++)
		{
			int			nhop;
			int			k;

			if (!is_dead(vs, old[i]))
			{
				hop[0] = old[i];
				nhop = 1;
			}
			else
			{
				/* a dead neighbour: offer its own neighbours instead */
				Buffer		b2 = vac_read(vs, AnnIdBlock(old[i]));
				AnnNodeHeader *dn;

				LockBuffer(b2, BUFFER_LOCK_SHARE);
				dn = ann_page_node(BufferGetPage(b2), AnnIdOffset(old[i]));
				nhop = dn ? ann_node_neighbors(s, dn, level, hop) : 0;
				UnlockReleaseBuffer(b2);
			}
			for (k = 0; k < nhop && ncand < maxcand; k++)
			{
				AnnDiskNode *nd = &nodes[ncand];

				if (is_dead(vs, hop[k]) || !ann_visited_add(&seen, hop[k]))
					continue;
				nd->q.codes = palloc(s->dim);
				if (!ann_read_node(vs->index, s, hop[k], nd, nd->q.codes) ||
					(nd->flags & ANN_NODE_DELETED) || nd->level < level)
				{
					pfree(nd->q.codes);
					continue;
				}
				cand[ncand].id = ncand;
				cand[ncand].dist = ann_code_distance(s->metric, &base->q,
													 nd->q.codes, nd->q.scale,
													 nd->q.norm2, s->dim);
				ncand++;
			}
		}
		qsort(cand, ncand, sizeof(AnnCand), cand_cmp);
		pc.metric = s->metric;
		pc.dim = s->dim;
		pc.nodes = nodes;
		nwant = ann_select_neighbors(cand, ncand, cap, pairdist, &pc, sel);
		for (i = 0; i < nwant; i++)
			want[i] = nodes[sel[i].id].id;

		buf = vac_read(vs, AnnIdBlock(id));
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		node = ann_page_node(page, AnnIdOffset(id));
		changed = (node == NULL);
		if (!changed)
		{
			AnnId	   *now = palloc(sizeof(AnnId) * cap);
			int			nnow = ann_node_neighbors(s, node, level, now);

			changed = (nnow != nold || memcmp(now, old, sizeof(AnnId) * nold) != 0);
			pfree(now);
		}
		if (changed)
		{
			UnlockReleaseBuffer(buf);
			continue;			/* an insert changed it meanwhile: again */
		}
		ann_wal_start(&w, vs->index, false);
		page = ann_wal_register(&w, buf, false);
		node = ann_page_node(page, AnnIdOffset(id));
		{
			ItemPointerData *tids = AnnNodeNeighbors(s, node, level);

			*AnnNodeCount(s, node, level) = nwant;
			for (i = 0; i < nwant; i++)
				ItemPointerSet(&tids[i], AnnIdBlock(want[i]), AnnIdOffset(want[i]));
			for (; i < cap; i++)
				ItemPointerSetInvalid(&tids[i]);
		}
		ann_wal_finish(&w);
		UnlockReleaseBuffer(buf);
		return;
	}
}

IndexBulkDeleteResult *
ann_ambulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				 IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	VacState	vs;
	AnnMetaPageData meta;
	BlockNumber nblocks;
	BlockNumber blk;
	MemoryContext tmp;
	MemoryContext old;
	AnnId	   *nbbuf;
	BlockNumber freed[ANN_REUSE_PAGES];
	int			nfreed = 0;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	ann_read_meta(index, &meta);
	nblocks = RelationGetNumberOfBlocks(index);
	stats->num_pages = nblocks;
	if (meta.dim == 0 || nblocks <= 1)
		return stats;

	memset(&vs, 0, sizeof(vs));
	vs.info = info;
	vs.index = index;
	ann_shape_from_meta(&meta, &vs.s);
	vs.best = ANN_INVALID_ID;
	vs.best_level = -1;
	tmp = AllocSetContextCreate(CurrentMemoryContext, "engram_hnsw vacuum",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	ann_visited_init(&vs.dead, 1024);
	nbbuf = palloc(sizeof(AnnId) * 2 * vs.s.m);

	/* 1. which nodes are dead */
	for (blk = ANN_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off;
		OffsetNumber maxoff;

		vacuum_delay_point();
		buf = vac_read(&vs, blk);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageIsNew(page) ? 0 : PageGetMaxOffsetNumber(page);
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			AnnNodeHeader *node = ann_page_node(page, off);

			if (node == NULL || (node->flags & ANN_NODE_DELETED))
				continue;
			if (callback(&node->heaptid, callback_state))
			{
				ann_visited_add(&vs.dead, AnnIdMake(blk, off));
				vs.ndead++;
			}
			else
			{
				vs.live++;
				if (node->level > vs.best_level)
				{
					vs.best_level = node->level;
					vs.best = AnnIdMake(blk, off);
				}
			}
		}
		UnlockReleaseBuffer(buf);
	}

	if (vs.ndead > 0)
	{
		/* 2. repair the live nodes that link to dead ones */
		for (blk = ANN_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
		{
			Buffer		buf;
			Page		page;
			OffsetNumber off;
			OffsetNumber maxoff;
			int			nrep = 0;
			AnnId	   *rep_id;
			int		   *rep_level;

			vacuum_delay_point();
			buf = vac_read(&vs, blk);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			maxoff = PageIsNew(page) ? 0 : PageGetMaxOffsetNumber(page);
			rep_id = palloc(sizeof(AnnId) * (maxoff + 1) * (ANN_MAX_LEVEL + 1));
			rep_level = palloc(sizeof(int) * (maxoff + 1) * (ANN_MAX_LEVEL + 1));
			for (off = FirstOffsetNumber; off <= maxoff; off++)
			{
				AnnNodeHeader *node = ann_page_node(page, off);
				int			l;

				if (node == NULL || (node->flags & ANN_NODE_DELETED) ||
					is_dead(&vs, AnnIdMake(blk, off)))
					continue;
				for (l = 0; l <= node->level; l++)
				{
					int			n = ann_node_neighbors(&vs.s, node, l, nbbuf);
					int			k;

					for (k = 0; k < n; k++)
						if (is_dead(&vs, nbbuf[k]))
							break;
					if (k < n)
					{
						rep_id[nrep] = AnnIdMake(blk, off);
						rep_level[nrep] = l;
						nrep++;
					}
				}
			}
			UnlockReleaseBuffer(buf);
			while (nrep-- > 0)
			{
				MemoryContext pass = AllocSetContextCreate(tmp, "repair",
														   ALLOCSET_DEFAULT_SIZES);

				MemoryContextSwitchTo(pass);
				repair_level(&vs, rep_id[nrep], rep_level[nrep]);
				MemoryContextSwitchTo(tmp);
				MemoryContextDelete(pass);
			}
			pfree(rep_id);
			pfree(rep_level);
		}

		/* move the entry point off a dead node */
		{
			Buffer		metabuf = ReadBuffer(index, ANN_METAPAGE_BLKNO);
			AnnMetaPageData *m;

			LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
			m = AnnPageGetMeta(BufferGetPage(metabuf));
			if (m->ep_level >= 0 && is_dead(&vs, AnnIdMake(m->ep_blkno, m->ep_offset)))
			{
				AnnWal		w;
				Page		page;

				ann_wal_start(&w, index, false);
				page = ann_wal_register(&w, metabuf, false);
				m = AnnPageGetMeta(page);
				if (vs.best != ANN_INVALID_ID)
				{
					m->ep_level = vs.best_level;
					m->ep_blkno = AnnIdBlock(vs.best);
					m->ep_offset = AnnIdOffset(vs.best);
				}
				else
				{
					/*
					 * Nothing live we know of.  Nodes inserted during this
					 * VACUUM may exist, but they were linked to the old graph,
					 * whose nodes stay walkable; starting empty is simplest.
					 */
					m->ep_level = -1;
					m->ep_blkno = InvalidBlockNumber;
					m->ep_offset = InvalidOffsetNumber;
				}
				ann_wal_finish(&w);
			}
			UnlockReleaseBuffer(metabuf);
		}

		/* 3. flag the dead nodes */
		nfreed = 0;
		for (blk = ANN_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
		{
			Buffer		buf;
			Page		page;
			OffsetNumber off;
			OffsetNumber maxoff;
			bool		any = false;

			vacuum_delay_point();
			buf = vac_read(&vs, blk);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			maxoff = PageIsNew(page) ? 0 : PageGetMaxOffsetNumber(page);
			for (off = FirstOffsetNumber; off <= maxoff && !any; off++)
				any = is_dead(&vs, AnnIdMake(blk, off));
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			if (any)
			{
				AnnWal		w;

				LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
				ann_wal_start(&w, index, false);
				page = ann_wal_register(&w, buf, false);
				for (off = FirstOffsetNumber; off <= maxoff; off++)
				{
					AnnNodeHeader *node = ann_page_node(page, off);

					if (node && is_dead(&vs, AnnIdMake(blk, off)))
						node->flags |= ANN_NODE_DELETED;
				}
				ann_wal_finish(&w);
				LockBuffer(buf, BUFFER_LOCK_UNLOCK);
				if (nfreed < ANN_REUSE_PAGES)
					freed[nfreed++] = blk;
			}
			ReleaseBuffer(buf);
		}

		/* 4. tell inserts where the freed slots are */
		if (nfreed > 0)
		{
			Buffer		metabuf = ReadBuffer(index, ANN_METAPAGE_BLKNO);
			AnnMetaPageData *m;
			AnnWal		w;
			int			i;

			LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
			ann_wal_start(&w, index, false);
			m = AnnPageGetMeta(ann_wal_register(&w, metabuf, false));
			for (i = 0; i < nfreed && m->nreuse < ANN_REUSE_PAGES; i++)
			{
				int			k;

				for (k = 0; k < m->nreuse; k++)
					if (m->reuse_blkno[k] == freed[i])
						break;
				if (k == m->nreuse)
					m->reuse_blkno[m->nreuse++] = freed[i];
			}
			ann_wal_finish(&w);
			UnlockReleaseBuffer(metabuf);
		}
	}

	stats->tuples_removed += vs.ndead;
	stats->num_index_tuples = vs.live;
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
	return stats;
}

IndexBulkDeleteResult *
ann_amvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;
	BlockNumber nblocks;
	BlockNumber blk;

	if (info->analyze_only)
		return stats;
	if (stats != NULL)
		return stats;

	/* no bulkdelete this time: count what is there */
	stats = palloc0(sizeof(IndexBulkDeleteResult));
	nblocks = RelationGetNumberOfBlocks(index);
	stats->num_pages = nblocks;
	for (blk = ANN_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off;
		OffsetNumber maxoff;

		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageIsNew(page) ? 0 : PageGetMaxOffsetNumber(page);
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			AnnNodeHeader *node = ann_page_node(page, off);

			if (node && !(node->flags & ANN_NODE_DELETED))
				stats->num_index_tuples++;
		}
		UnlockReleaseBuffer(buf);
	}
	return stats;
}
