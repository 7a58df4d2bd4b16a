/*-------------------------------------------------------------------------
 *
 * ann_vacuum.c
 *	  engram_hnsw: VACUUM (ambulkdelete / amvacuumcleanup).
 *
 * Passes over the node pages:
 *	 0. set ANN_META_VACUUMING in the meta page: no insert reuses a slot
 *		until we are done, so the sets below stay true;
 *	 1. collect the nodes whose heap TID the table reports dead, and those
 *		already flagged deleted (together: "gone");
 *	 2. flag the dead nodes deleted (one record per page): from here on no
 *		insert links to them; then wait (ANN_INSERT_LOCK) for the inserts
 *		that started before and may have linked to them;
 *	 3. repair every live node - including nodes inserted while this VACUUM
 *		ran, on any page up to the current end of the index - that links to
 *		a gone node: its list on that level is rebuilt from its live
 *		neighbours, the live neighbours of the gone ones and the result of
 *		a search from the entry point (as an insert would find them),
 *		pruned with the HNSW heuristic (one generic WAL record per repaired
 *		node); a node that lost most of its links also gets back links from
 *		its new neighbours, since the links that led to it were most likely
 *		the gone nodes' own;
 *	 4. move the entry point off a deleted node to the highest live node
 *		seen (if none is live, it stays where it is: deleted nodes keep their
 *		links, and the next insert that finds no live node becomes the entry
 *		point), clear ANN_META_VACUUMING.  Pass 3 recorded every page holding
 *		deleted nodes in the free space map (its largest deleted slot, see
 *		ann_record_free) for inserts to reuse.
 * The graph is never reset: rows inserted while VACUUM runs stay reachable.
 * A crash between passes leaves dead-but-unflagged nodes (which scans may
 * still return: harmless, the table does not return dead rows), or flagged
 * nodes some lists still point to (walkable), and the meta page flag set,
 * which only stops slot reuse: the next VACUUM finishes the job.  So does a
 * VACUUM that fails half-way.
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
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ann.h"
#include "fault.h"

typedef struct VacState
{
	IndexVacuumInfo *info;
	Relation	index;
	AnnShape	s;
	AnnVisited	dead;			/* gone: dead now or deleted before */
	double		live;
	double		ndead;
	int			efc;
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

/*
 * Rebuild node id's list on level without its gone neighbours: candidates
 * are its live neighbours, the live neighbours of the gone ones and what a
 * search from the entry point finds for it.
 */
static void
repair_level(VacState *vs, AnnId id, int level)
{
	AnnShape   *s = &vs->s;
	int			cap = ann_level_cap(s, level);
	AnnId	   *old = palloc(sizeof(AnnId) * cap);
	AnnId	   *hop = palloc(sizeof(AnnId) * cap);
	AnnId	   *want = palloc(sizeof(AnnId) * cap);
	int			ef = Max(vs->efc, cap);
	int			maxcand = cap * (cap + 1) + ef;
	AnnDiskNode *nodes = palloc(sizeof(AnnDiskNode) * (maxcand + 1));
	AnnCand    *cand = palloc(sizeof(AnnCand) * maxcand);
	AnnCand    *sel = palloc(sizeof(AnnCand) * cap);
	AnnCand    *found = palloc(sizeof(AnnCand) * ef);
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
		int			nlive = 0;
		int			ncand = 0;
		int			nwant;
		int			nfound;
		int			i;
		bool		changed;
		AnnWal		w;

		buf = vac_read(vs, AnnIdBlock(id));
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		node = ann_page_node(vs->index, s, page, AnnIdBlock(id), AnnIdOffset(id));
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
				nlive++;
			}
			else
			{
				/* a gone neighbour: offer its own neighbours instead */
				Buffer		b2 = vac_read(vs, AnnIdBlock(old[i]));
				AnnNodeHeader *dn;

				LockBuffer(b2, BUFFER_LOCK_SHARE);
				dn = ann_page_node(vs->index, s, BufferGetPage(b2),
								   AnnIdBlock(old[i]), AnnIdOffset(old[i]));
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

		/*
		 * Two hops do not reach far when a whole region was deleted: also
		 * search from the entry point, as an insert of this node would.
		 */
		nfound = ann_disk_search(vs->index, s, &base->q, level, ef, found);
		for (i = 0; i < nfound && ncand < maxcand; i++)
		{
			AnnDiskNode *nd = &nodes[ncand];

			if (found[i].id == id || is_dead(vs, found[i].id) ||
				!ann_visited_add(&seen, found[i].id))
				continue;
			nd->q.codes = palloc(s->dim);
			if (!ann_read_node(vs->index, s, found[i].id, nd, nd->q.codes) ||
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
		node = ann_page_node(vs->index, s, page, AnnIdBlock(id), AnnIdOffset(id));
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
		node = ann_page_node(vs->index, s, page, AnnIdBlock(id), AnnIdOffset(id));
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

		/*
		 * Links are mostly mutual: a node that lost most of its neighbours
		 * most likely lost most of the links that led to it too.  Have its
		 * new neighbours link back (each pruned as an insert's would be).
		 */
		if (nlive * 2 < nold)
		{
			for (i = 0; i < nwant; i++)
			{
				int			k;

				for (k = 0; k < nold; k++)
					if (old[k] == want[i])
						break;
				if (k < nold)
					continue;	/* it was a neighbour before */
				CHECK_FOR_INTERRUPTS();
				ann_add_backlink(vs->index, s, want[i], level, id, &base->q);
			}
		}
		return;
	}
}

/* set or clear ANN_META_VACUUMING; when clearing, move a deleted entry point */
static void
vac_meta(VacState *vs, bool start)
{
	Buffer		metabuf = ReadBuffer(vs->index, ANN_METAPAGE_BLKNO);
	AnnMetaPageData *m;
	bool		move_ep = false;
	AnnWal		w;
	Page		page;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	m = AnnPageGetMeta(BufferGetPage(metabuf));
	if (!start && m->ep_level >= 0 && vs->best != ANN_INVALID_ID &&
		AnnIdMake(m->ep_blkno, m->ep_offset) != vs->best)
	{
		/* is the entry point deleted?  (meta page, then a node page) */
		Buffer		buf = vac_read(vs, m->ep_blkno);
		AnnNodeHeader *node;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		node = ann_page_node(vs->index, &vs->s, BufferGetPage(buf), m->ep_blkno,
							 m->ep_offset);
		move_ep = (node == NULL || (node->flags & ANN_NODE_DELETED) ||
				   node->level < m->ep_level);
		UnlockReleaseBuffer(buf);
	}
	ann_wal_start(&w, vs->index, false);
	page = ann_wal_register(&w, metabuf, false);
	m = AnnPageGetMeta(page);
	if (start)
		m->flags |= ANN_META_VACUUMING;
	else
		m->flags &= ~ANN_META_VACUUMING;
	if (move_ep)
	{
		m->ep_level = vs->best_level;
		m->ep_blkno = AnnIdBlock(vs->best);
		m->ep_offset = AnnIdOffset(vs->best);
	}
	ann_wal_finish(&w);
	UnlockReleaseBuffer(metabuf);
}

IndexBulkDeleteResult *
ann_ambulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				 IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	VacState	vs;
	AnnMetaPageData *meta;
	BlockNumber nblocks;
	BlockNumber blk;
	MemoryContext tmp;
	MemoryContext old;
	AnnId	   *nbbuf;
	double		ngone = 0;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	meta = palloc(sizeof(AnnMetaPageData));
	ann_read_meta(index, meta);
	nblocks = RelationGetNumberOfBlocks(index);
	stats->num_pages = nblocks;
	if (meta->dim == 0 || nblocks <= 1)
		return stats;

	memset(&vs, 0, sizeof(vs));
	vs.info = info;
	vs.index = index;
	ann_shape_from_meta(meta, &vs.s);
	vs.efc = meta->ef_construction;
	vs.best = ANN_INVALID_ID;
	vs.best_level = -1;
	tmp = AllocSetContextCreate(CurrentMemoryContext, "engram_hnsw vacuum",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	ann_visited_init(&vs.dead, 1024);
	nbbuf = palloc(sizeof(AnnId) * 2 * vs.s.m);

	/* 0. no slot reuse from now on (placements are under the meta lock) */
	vac_meta(&vs, true);

	/* 1. which nodes are dead, which were deleted before */
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
			AnnNodeHeader *node = ann_page_node(index, &vs.s, page, blk, off);

			if (node == NULL)
				continue;
			if (node->flags & ANN_NODE_DELETED)
			{
				ann_visited_add(&vs.dead, AnnIdMake(blk, off));
				ngone++;
			}
			else if (callback(&node->heaptid, callback_state))
			{
				ann_visited_add(&vs.dead, AnnIdMake(blk, off));
				vs.ndead++;
				ngone++;
			}
		}
		UnlockReleaseBuffer(buf);
	}
	ENGRAM_FAULT_POINT("ann_vacuum_after_collect");

	/* 2. flag the dead nodes, then wait for inserts that may link to them */
	if (vs.ndead > 0)
	{
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
			{
				AnnNodeHeader *node = ann_page_node(index, &vs.s, page, blk, off);

				any = node && !(node->flags & ANN_NODE_DELETED) &&
					is_dead(&vs, AnnIdMake(blk, off));
			}
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			if (any)
			{
				AnnWal		w;

				LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
				ann_wal_start(&w, index, false);
				page = ann_wal_register(&w, buf, false);
				for (off = FirstOffsetNumber; off <= maxoff; off++)
				{
					AnnNodeHeader *node = ann_page_node(index, &vs.s, page, blk, off);

					if (node && is_dead(&vs, AnnIdMake(blk, off)))
						node->flags |= ANN_NODE_DELETED;
				}
				ann_wal_finish(&w);
				LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			}
			ReleaseBuffer(buf);
		}
		ENGRAM_FAULT_POINT("ann_vacuum_after_flag");
		LockPage(index, ANN_INSERT_LOCK, ExclusiveLock);
		UnlockPage(index, ANN_INSERT_LOCK, ExclusiveLock);
	}

	/*
	 * 3. repair the live nodes that link to gone ones, on every page there
	 * is now (inserts made meanwhile included); note the highest live node
	 * and the pages with deleted slots.
	 */
	nblocks = RelationGetNumberOfBlocks(index);
	for (blk = ANN_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off;
		OffsetNumber maxoff;
		int			nrep = 0;
		AnnId	   *rep_id;
		int		   *rep_level;
		bool		has_deleted = false;

		vacuum_delay_point();
		buf = vac_read(&vs, blk);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageIsNew(page) ? 0 : PageGetMaxOffsetNumber(page);
		rep_id = palloc(sizeof(AnnId) * (maxoff + 1) * (ANN_MAX_LEVEL + 1));
		rep_level = palloc(sizeof(int) * (maxoff + 1) * (ANN_MAX_LEVEL + 1));
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			AnnNodeHeader *node = ann_page_node(index, &vs.s, page, blk, off);
			int			l;

			if (node == NULL)
				continue;
			if ((node->flags & ANN_NODE_DELETED) || is_dead(&vs, AnnIdMake(blk, off)))
			{
				has_deleted = true;
				continue;
			}
			vs.live++;
			if (node->level > vs.best_level)
			{
				vs.best_level = node->level;
				vs.best = AnnIdMake(blk, off);
			}
			if (ngone == 0)
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

			CHECK_FOR_INTERRUPTS();
			MemoryContextSwitchTo(pass);
			repair_level(&vs, rep_id[nrep], rep_level[nrep]);
			MemoryContextSwitchTo(tmp);
			MemoryContextDelete(pass);
		}
		pfree(rep_id);
		pfree(rep_level);
		if (has_deleted)
		{
			buf = vac_read(&vs, blk);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			ann_record_free(index, blk,
							ann_page_max_slot(index, &vs.s, BufferGetPage(buf), blk,
											  InvalidBlockNumber, InvalidOffsetNumber));
			UnlockReleaseBuffer(buf);
		}
	}
	ENGRAM_FAULT_POINT("ann_vacuum_after_repair");

	/* 4. entry point off a deleted node; slots may be reused again */
	vac_meta(&vs, false);
	IndexFreeSpaceMapVacuum(index);

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
	AnnShape	shape;
	AnnShape   *s = NULL;	/* known geometry: nodes are checked fully */

	if (info->analyze_only)
		return stats;
	if (stats != NULL)
		return stats;

	/*
	 * No bulkdelete this time: count what is there, put the pages with
	 * deleted slots (back) into the free space map, and clear a
	 * ANN_META_VACUUMING left by a VACUUM that crashed or failed.
	 */
	stats = palloc0(sizeof(IndexBulkDeleteResult));
	nblocks = RelationGetNumberOfBlocks(index);
	stats->num_pages = nblocks;
	if (nblocks > ANN_METAPAGE_BLKNO)
	{
		Buffer		metabuf = ReadBuffer(index, ANN_METAPAGE_BLKNO);
		AnnMetaPageData *m;

		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		m = AnnPageGetMeta(BufferGetPage(metabuf));
		if (m->magic == ANN_MAGIC && m->version == ANN_VERSION)
		{
			/* (an index of another storage version is only counted) */
			ann_check_meta(index, m);
			if (m->dim > 0)
			{
				ann_shape_from_meta(m, &shape);
				s = &shape;
			}
		}
		if (m->magic == ANN_MAGIC && m->version == ANN_VERSION &&
			(m->flags & ANN_META_VACUUMING))
		{
			AnnWal		w;

			ann_wal_start(&w, index, false);
			m = AnnPageGetMeta(ann_wal_register(&w, metabuf, false));
			m->flags &= ~ANN_META_VACUUMING;
			ann_wal_finish(&w);
		}
		UnlockReleaseBuffer(metabuf);
	}
	for (blk = ANN_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off;
		OffsetNumber maxoff;
		bool		has_deleted = false;

		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageIsNew(page) ? 0 : PageGetMaxOffsetNumber(page);
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			AnnNodeHeader *node = ann_page_node(index, s, page, blk, off);

			if (node && !(node->flags & ANN_NODE_DELETED))
				stats->num_index_tuples++;
			else if (node)
				has_deleted = true;
		}
		if (has_deleted)
			ann_record_free(index, blk,
							ann_page_max_slot(index, s, page, blk, InvalidBlockNumber,
											  InvalidOffsetNumber));
		UnlockReleaseBuffer(buf);
	}
	IndexFreeSpaceMapVacuum(index);
	return stats;
}
