/*-------------------------------------------------------------------------
 *
 * engram_am_vacuum.c
 *	  engram table AM: VACUUM (removal of dead rows, freezing, durable hint
 *	  bits, index cleanup, truncation), index tuple deletion support, and the
 *	  hot-standby conflict records that go before every removal.
 *
 * VACUUM works in the two phases heap uses, because a row's TID may only be
 * handed out again once no index entry points to it any more:
 *
 * Pass 1 visits every DATA page under an exclusive content lock and
 * classifies each row with HeapTupleSatisfiesVacuumHorizon on a copy of its
 * header, deciding removability with GlobalVisTestFor(rel) exactly as heap
 * pruning does (so hot_standby_feedback protects rows a standby still needs).
 * Everything the page needs is done in ONE generic WAL record: dead rows lose
 * their storage (LP_DEAD when the table has indexes, LP_UNUSED at once when
 * it has none), the page is compacted, surviving rows are frozen with heap's
 * own freeze code and get the hint bits the visibility check found (the only
 * place hint bits ever reach an engram page), ENGRAM_PAGE_ALL_FROZEN /
 * HAS_FREE_LP and prune_xid are brought up to date.  If the record removes
 * rows, engram_log_removal_conflict() is emitted first with the newest xid
 * that any removed row could still matter to, so a standby cancels queries
 * whose snapshots could see those rows before it replays the removal.
 *
 * The TIDs of LP_DEAD items go into a sorted array (bounded by
 * maintenance_work_mem); when it is full and at the end, every index is
 * bulk-deleted with it, and then pass 2 turns those items LP_UNUSED so
 * inserts can reuse the slots.  Pass 2 removes no row data (pass 1 already
 * did, after its conflict record), so it needs no conflict record of its own.
 *
 * Pages with nothing to do are not written.  COLD chunk pages hold no rows
 * and are left to tier_sweep_chunks(), which runs after the scan.
 *
 * The visibility map (ADR 0012, engram_am_vm.c): a page whose rows are all
 * visible to every snapshot gets PD_ALL_VISIBLE and its VM bits (all-frozen
 * too when no row needs freezing again) in the same record as the rest of
 * its change, in pass 1 or, when LP_DEAD items kept it back, in pass 2; the
 * conflict record before it then also covers the newest xmin on the page.
 * Runs of all-visible pages (all-frozen in an aggressive VACUUM) are
 * skipped as heap skips them; pg_class.relallvisible is counted from the map.
 *
 * IDENTIFICATION
 *	  src/engram_am_vacuum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/generic_xlog.h"
#include "access/heapam.h"
#include "access/heapam_xlog.h"
#include "access/htup_details.h"
#include "access/multixact.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/visibilitymap.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/storage.h"
#include "commands/dbcommands.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/autovacuum.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "engram_am.h"
#include "engram_compat.h"
#include "fault.h"
#include "tier.h"

/* truncation: heap's thresholds, so the AccessExclusiveLock is worth it */
#define ENGRAM_TRUNCATE_MINIMUM		1000
#define ENGRAM_TRUNCATE_FRACTION	16
/* how long to retry the conditional AccessExclusiveLock for truncation */
#define ENGRAM_TRUNCATE_LOCK_WAIT_US	50000	/* 50 ms per try */
#define ENGRAM_TRUNCATE_LOCK_TRIES		100 /* 5 s in all, as heap */

/* skip all-visible pages only in runs at least this long, as heap does */
#define ENGRAM_SKIP_PAGES_THRESHOLD	((BlockNumber) 32)

/* bottom-up index deletion: table blocks we are willing to visit per call */
#define ENGRAM_BOTTOMUP_MAX_BLOCKS	3

typedef struct EngramVacState
{
	Relation	rel;
	BufferAccessStrategy bstrategy;
	int			elevel;

	/* cutoffs */
	GlobalVisState *vistest;
	TransactionId OldestXmin;
	MultiXactId OldestMxact;
	TransactionId FreezeLimit;
	MultiXactId MultiXactCutoff;
	TransactionId relfrozenxid; /* pg_class values at start */
	MultiXactId relminmxid;
	TransactionId NewRelfrozenXid;	/* what we can advance them to */
	MultiXactId NewRelminMxid;
	bool		aggressive;		/* must freeze every page not all-frozen */
	bool		skippedallvis;	/* skipped a page not all-frozen */

	/* visibility map (ADR 0012) */
	Buffer		vmbuf;			/* pinned VM page of the current block */

	/* indexes */
	int			nindexes;
	Relation   *indrels;
	IndexBulkDeleteResult **indstats;
	bool		do_index_vacuuming; /* bulk-delete + pass 2 */
	bool		do_index_cleanup;	/* amvacuumcleanup */

	/* TIDs of LP_DEAD items awaiting index bulk-delete, in TID order */
	ItemPointerData *dead;
	int			ndead;
	int			maxdead;

	/* counters */
	BlockNumber rel_pages;
	BlockNumber scanned_pages;
	BlockNumber cold_pages;
	BlockNumber pages_written;
	BlockNumber pages_removed;
	BlockNumber frozen_pages;	/* DATA pages left ALL_FROZEN */
	BlockNumber skipped_pages;	/* not visited: all-visible (all-frozen) */
	BlockNumber vm_set_pages;	/* pages this VACUUM made all-visible */
	double		live_tuples;
	double		recently_dead_tuples;
	double		removed_tuples;
	double		frozen_tuples;
	double		lpdead_items;	/* LP_DEAD items made LP_UNUSED in pass 2 */
	int			num_index_scans;
} EngramVacState;

static int
engram_tid_cmp(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/*
 * Queue a TID for index bulk-delete (ItemPointerSet is a macro that
 * evaluates its pointer argument more than once, hence the function).
 */
static inline void
engram_vac_add_dead(EngramVacState *vs, BlockNumber blkno, OffsetNumber off)
{
	Assert(vs->ndead < vs->maxdead);
	ItemPointerSet(&vs->dead[vs->ndead], blkno, off);
	vs->ndead++;
}

/* Index bulk-delete callback: is this TID in the dead array? */
static bool
engram_vac_tid_reaped(ItemPointer itemptr, void *state)
{
	EngramVacState *vs = (EngramVacState *) state;

	if (vs->ndead == 0)
		return false;
	/* cheap range check before the binary search */
	if (ItemPointerCompare(itemptr, &vs->dead[0]) < 0 ||
		ItemPointerCompare(itemptr, &vs->dead[vs->ndead - 1]) > 0)
		return false;
	return bsearch(itemptr, vs->dead, vs->ndead, sizeof(ItemPointerData),
				   engram_tid_cmp) != NULL;
}

/* Size of the dead-TID array, from maintenance_work_mem as heap does */
static int
engram_vac_max_dead(BlockNumber rel_pages)
{
	int			mem_kb;
	double		n;

	mem_kb = (IsAutoVacuumWorkerProcess() && autovacuum_work_mem != -1) ?
		autovacuum_work_mem : maintenance_work_mem;
	n = (double) mem_kb * 1024.0 / sizeof(ItemPointerData);
	n = Min(n, (double) (MaxAllocSize / sizeof(ItemPointerData)));
	/* no need for more than the table could hold */
	n = Min(n, (double) Max(rel_pages, 1) * MaxHeapTuplesPerPage);
	/* at least one page's worth, so a page always fits */
	n = Max(n, (double) MaxHeapTuplesPerPage);
	return (int) n;
}

/*
 * Does every row on the page have a frozen xmin and no xmax?  (Pass 1 may
 * have left LP_DEAD items that kept the flag off; pass 2 re-evaluates it.)
 */
static bool
engram_vac_page_all_frozen(Page page)
{
	OffsetNumber off,
				maxoff = PageGetMaxOffsetNumber(page);
	int			nrows = 0;

	for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
	{
		ItemId		lp = PageGetItemId(page, off);
		HeapTupleHeader th;

		if (!ItemIdIsUsed(lp))
			continue;
		if (!ItemIdIsNormal(lp))
			return false;
		th = EngramItemGetTupleHeader(PageGetItem(page, lp));
		if (!HeapTupleHeaderXminFrozen(th) ||
			!(th->t_infomask & HEAP_XMAX_INVALID))
			return false;
		nrows++;
	}
	return nrows > 0;
}

/*
 * Is every row on page (a copy of block blkno, whose buffer buf is locked
 * exclusively) visible to every snapshot, as heap_page_is_all_visible asks:
 * no LP_DEAD item, every row HEAPTUPLE_LIVE with a committed xmin older than
 * OldestXmin?  COLD chunk items are not rows and do not count.  On true,
 * *cutoff_xid is the newest unfrozen xmin (the hot-standby conflict horizon,
 * Invalid if none) and *all_frozen whether no row needs freezing ever again.
 */
static bool
engram_vac_page_visible_to_all(EngramVacState *vs, Buffer buf,
							   BlockNumber blkno, Page page,
							   TransactionId *cutoff_xid, bool *all_frozen)
{
	OffsetNumber off,
				maxoff = PageGetMaxOffsetNumber(page);

	*cutoff_xid = InvalidTransactionId;
	*all_frozen = true;
	for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
	{
		ItemId		lp = PageGetItemId(page, off);
		EngramHeaderCopy copy;
		HeapTupleData tup;
		TransactionId xmin;

		if (!ItemIdIsUsed(lp))
			continue;
		if (!ItemIdIsNormal(lp))
			return false;
		if (EngramItemIsChunk(PageGetItem(page, lp)))
			continue;
		engram_copy_header(vs->rel, blkno, page, off, &copy, &tup);
		ItemPointerSet(&tup.t_self, blkno, off);
		engram_prehint_strict(tup.t_data);
		if (HeapTupleSatisfiesVacuum(&tup, vs->OldestXmin, buf) != HEAPTUPLE_LIVE)
			return false;
		if (!HeapTupleHeaderXminCommitted(tup.t_data))
			return false;
		xmin = HeapTupleHeaderGetXmin(tup.t_data);
		if (!TransactionIdPrecedes(xmin, vs->OldestXmin))
			return false;
		if (TransactionIdIsNormal(xmin) &&
			(!TransactionIdIsValid(*cutoff_xid) ||
			 TransactionIdFollows(xmin, *cutoff_xid)))
			*cutoff_xid = xmin;
		if (heap_tuple_needs_eventual_freeze(tup.t_data))
			*all_frozen = false;
	}
	return true;
}

/*
 * Pass 2 for the TIDs collected so far: every index has already forgotten
 * them, so their LP_DEAD line pointers can become LP_UNUSED and be reused.
 * No row data goes away here (pass 1 removed it after logging the conflict),
 * so no conflict record is needed.
 */
static void
engram_vac_pass2(EngramVacState *vs)
{
	Relation	rel = vs->rel;
	int			i = 0;
	BlockNumber nvacuumed = 0;

	pgstat_progress_update_param(PROGRESS_VACUUM_PHASE,
								 PROGRESS_VACUUM_PHASE_VACUUM_HEAP);

	while (i < vs->ndead)
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&vs->dead[i]);
		int			j;
		Buffer		buf;
		Page		page;
		bool		is_new;
		int			nchanged = 0;

		for (j = i; j < vs->ndead &&
			 ItemPointerGetBlockNumber(&vs->dead[j]) == blkno; j++)
			;

		vacuum_delay_point();
		CHECK_FOR_INTERRUPTS();

		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blkno, RBM_NORMAL,
								 vs->bstrategy);
		/* the VM page before the table page's lock, as heap does */
		visibilitymap_pin(rel, blkno, &vs->vmbuf);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		engram_check_page(rel, blkno, page, &is_new);

		if (!is_new && EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_DATA)
		{
			OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
			int			k;

			/* only write the page if an item really is still LP_DEAD */
			for (k = i; k < j; k++)
			{
				OffsetNumber off = ItemPointerGetOffsetNumber(&vs->dead[k]);

				if (off <= maxoff && ItemIdIsDead(PageGetItemId(page, off)))
					nchanged++;
			}

			if (nchanged > 0)
			{
				GenericXLogState *state;
				Page		wpage;
				EngramPageOpaque wopaque;
				EngramVmRecord vr = {0};
				TransactionId cutoff_xid;
				bool		all_frozen;

				ENGRAM_FAULT_POINT("vacuum_before_pass2_page");

				state = GenericXLogStart(rel);
				wpage = GenericXLogRegisterBuffer(state, buf, 0);
				for (k = i; k < j; k++)
				{
					OffsetNumber off = ItemPointerGetOffsetNumber(&vs->dead[k]);
					ItemId		lp;

					if (off > maxoff)
						continue;
					lp = PageGetItemId(wpage, off);
					if (ItemIdIsDead(lp))
						ItemIdSetUnused(lp);
				}
				/* gives back trailing slots, sets PD_HAS_FREE_LINES */
				PageTruncateLinePointerArray(wpage);
				wopaque = EngramPageGetOpaque(wpage);
				if (engram_vac_page_all_frozen(wpage))
					wopaque->flags |= ENGRAM_PAGE_ALL_FROZEN;
				else
					wopaque->flags &= ~ENGRAM_PAGE_ALL_FROZEN;
				if (PageHasFreeLinePointers(wpage))
					wopaque->flags |= ENGRAM_PAGE_HAS_FREE_LP;
				else
					wopaque->flags &= ~ENGRAM_PAGE_HAS_FREE_LP;

				/*
				 * Its last LP_DEAD items gone, the page may now be visible to
				 * all (pass 1 never sets that while LP_DEAD items remain):
				 * conflict record first, then the bits in this record.
				 */
				if (engram_vac_page_visible_to_all(vs, buf, blkno, wpage,
												   &cutoff_xid, &all_frozen))
				{
					engram_log_removal_conflict(rel, blkno, cutoff_xid);
					engram_vm_set(state, &vr, blkno, wpage, vs->vmbuf,
								  VISIBILITYMAP_ALL_VISIBLE |
								  (all_frozen ? VISIBILITYMAP_ALL_FROZEN : 0));
					vs->vm_set_pages++;
				}
				GenericXLogFinish(state);
				engram_vm_unlock(&vr);

				vs->lpdead_items += nchanged;
				vs->pages_written++;
			}
		}

		if (nchanged > 0)
		{
			Size		freespace = PageGetHeapFreeSpace(page);

			UnlockReleaseBuffer(buf);
			RecordPageWithFreeSpace(rel, blkno,
									freespace >= ENGRAM_MIN_FREE_FOR_FSM ? freespace : 0);
		}
		else
			UnlockReleaseBuffer(buf);

		nvacuumed++;
		pgstat_progress_update_param(PROGRESS_VACUUM_HEAP_BLKS_VACUUMED,
									 nvacuumed);
		i = j;
	}
}

/* Bulk-delete the collected TIDs from every index, then pass 2 */
static void
engram_vac_indexes_and_pass2(EngramVacState *vs)
{
	int			i;

	if (vs->ndead == 0)
		return;

	pgstat_progress_update_param(PROGRESS_VACUUM_PHASE,
								 PROGRESS_VACUUM_PHASE_VACUUM_INDEX);
	for (i = 0; i < vs->nindexes; i++)
	{
		IndexVacuumInfo ivinfo;

		ivinfo.index = vs->indrels[i];
		ivinfo.analyze_only = false;
		ivinfo.report_progress = false;
		ivinfo.estimated_count = true;
		ivinfo.message_level = vs->elevel;
		/* reltuples is -1 until the first VACUUM/ANALYZE */
		ivinfo.num_heap_tuples = Max(vs->rel->rd_rel->reltuples, 0);
		ivinfo.strategy = vs->bstrategy;

		vs->indstats[i] = index_bulk_delete(&ivinfo, vs->indstats[i],
											engram_vac_tid_reaped, vs);
		ereport(vs->elevel,
				(errmsg("scanned index \"%s\" to remove %d row versions",
						RelationGetRelationName(vs->indrels[i]), vs->ndead)));
		vacuum_delay_point();
	}
	vs->num_index_scans++;
	pgstat_progress_update_param(PROGRESS_VACUUM_NUM_INDEX_VACUUMS,
								 vs->num_index_scans);

	ENGRAM_FAULT_POINT("vacuum_after_index_bulkdelete");

	engram_vac_pass2(vs);

	vs->ndead = 0;
	pgstat_progress_update_param(PROGRESS_VACUUM_NUM_DEAD_TUPLES, 0);
	pgstat_progress_update_param(PROGRESS_VACUUM_PHASE,
								 PROGRESS_VACUUM_PHASE_SCAN_HEAP);
}

/* what pass 1 decided about one line pointer */
#define ENGRAM_VAC_KEEP		0	/* nothing to do */
#define ENGRAM_VAC_REMOVE	1	/* dead row: drop its storage */
#define ENGRAM_VAC_UPDATE	2	/* live row whose header changes */
#define ENGRAM_VAC_UNUSED	3	/* LP_DEAD item -> LP_UNUSED (no indexes) */

/*
 * Pass 1 for one DATA page; buf is pinned and exclusively locked.  Returns
 * the free space to record in the FSM (0 = none worth offering).
 */
static Size
engram_vac_scan_page(EngramVacState *vs, Buffer buf, BlockNumber blkno,
					 bool *keeps_rows)
{
	Relation	rel = vs->rel;
	Page		page = BufferGetPage(buf);
	EngramPageOpaque opaque = EngramPageGetOpaque(page);
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	OffsetNumber off;
	uint8		action[MaxHeapTuplesPerPage + 1];
	uint16		newinfomask[MaxHeapTuplesPerPage + 1];
	bool		dofreeze[MaxHeapTuplesPerPage + 1];
	xl_heap_freeze_tuple frz[MaxHeapTuplesPerPage + 1];
	TransactionId latestRemovedXid = InvalidTransactionId;
	TransactionId new_prune_xid = InvalidTransactionId;
	TransactionId freeze_conflict_xid = InvalidTransactionId;
	int			nremove = 0,
				nupdate = 0,
				nunused_from_dead = 0,
				nlpdead = 0,
				nfrozen = 0,
				nrows = 0;
	bool		all_frozen = true;
	bool		has_unused = false;
	uint16		newflags;
	bool		dead_to_lpdead = (vs->nindexes > 0);
	bool		write;

	/*
	 * Visibility map, heap's rules (lazy_scan_prune): all_visible while
	 * every row is LIVE with a committed xmin older than OldestXmin and no
	 * LP_DEAD item stays; vis_broken when the page has what no all-visible
	 * page can have (a row that is not LIVE, a dead item), as opposed to a
	 * row merely newer than this VACUUM's OldestXmin, which can move back.
	 */
	bool		all_visible = true;
	bool		vis_broken = false;
	TransactionId visibility_cutoff_xid = InvalidTransactionId;
	uint8		vmstatus;
	int			vmflags = -1;	/* bits to write, -1 = leave the VM alone */

	if (maxoff > MaxHeapTuplesPerPage)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("page %u of relation \"%s\" has %u line pointers, more than the maximum %d",
						blkno, RelationGetRelationName(rel), maxoff,
						(int) MaxHeapTuplesPerPage)));

	for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
	{
		ItemId		lp = PageGetItemId(page, off);
		EngramHeaderCopy copy;
		HeapTupleData tup;
		HeapTupleHeader onpage;
		HTSV_Result res;
		TransactionId dead_after = InvalidTransactionId;
		bool		totally_frozen;

		action[off] = ENGRAM_VAC_KEEP;
		dofreeze[off] = false;

		if (!ItemIdIsUsed(lp))
		{
			has_unused = true;
			continue;
		}
		if (ItemIdIsDead(lp))
		{
			/* left by an earlier VACUUM that could not clean the indexes */
			if (vs->nindexes == 0)
			{
				action[off] = ENGRAM_VAC_UNUSED;
				nunused_from_dead++;
			}
			else
			{
				nlpdead++;
				all_visible = false;
			}
			vis_broken = true;
			continue;
		}
		if (!ItemIdIsNormal(lp))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("unexpected redirect line pointer at (%u,%u) in relation \"%s\"",
							blkno, off, RelationGetRelationName(rel))));

		engram_copy_header(rel, blkno, page, off, &copy, &tup);
		/* a COLD chunk of this page, not a row: tier_sweep_chunks frees it */
		if (EngramItemIsChunk(PageGetItem(page, lp)))
			continue;
		ItemPointerSet(&tup.t_self, blkno, off);
		onpage = EngramItemGetTupleHeader(PageGetItem(page, lp));

		engram_prehint_strict(tup.t_data);
		res = HeapTupleSatisfiesVacuumHorizon(&tup, buf, &dead_after);

		/*
		 * Removable for every snapshot (GlobalVisTestFor), or older than
		 * OldestXmin: that is GetOldestNonRemovableTransactionId, or with
		 * old_snapshot_threshold the limited horizon, as heap prunes with.
		 * FreezeLimit never follows OldestXmin, so every committed deleter
		 * the freeze code could meet has been removed here first (freezing
		 * a row whose xmax committed before the cutoff is an error).  Old
		 * snapshots that needed such rows get "snapshot too old" from
		 * TestForOldSnapshot in the readers, since this page's LSN moves.
		 */
		if (res == HEAPTUPLE_RECENTLY_DEAD &&
			(GlobalVisTestIsRemovableXid(vs->vistest, dead_after) ||
			 TransactionIdPrecedes(dead_after, vs->OldestXmin)))
			res = HEAPTUPLE_DEAD;

		if (res == HEAPTUPLE_DEAD)
		{
			/*
			 * Covers committed deletes no snapshot can see, aborted inserts
			 * and super-deleted speculative inserts (xmin invalid).
			 */
			HeapTupleHeaderAdvanceLatestRemovedXid(tup.t_data,
												   &latestRemovedXid);
			action[off] = ENGRAM_VAC_REMOVE;
			nremove++;
			if (dead_to_lpdead)
				all_visible = false;
			vis_broken = true;
			continue;
		}

		nrows++;
		switch (res)
		{
			case HEAPTUPLE_LIVE:
				vs->live_tuples += 1;
				if (!HeapTupleHeaderXminCommitted(tup.t_data))
				{
					all_visible = false;
					vis_broken = true;
				}
				else
				{
					TransactionId xmin = HeapTupleHeaderGetXmin(tup.t_data);

					if (!TransactionIdPrecedes(xmin, vs->OldestXmin))
						all_visible = false;
					else if (TransactionIdIsNormal(xmin) &&
							 (!TransactionIdIsValid(visibility_cutoff_xid) ||
							  TransactionIdFollows(xmin, visibility_cutoff_xid)))
						visibility_cutoff_xid = xmin;
				}
				break;
			case HEAPTUPLE_RECENTLY_DEAD:
				all_visible = false;
				vis_broken = true;
				vs->recently_dead_tuples += 1;
				if (!TransactionIdIsValid(new_prune_xid) ||
					TransactionIdPrecedes(dead_after, new_prune_xid))
					new_prune_xid = dead_after;
				break;
			case HEAPTUPLE_DELETE_IN_PROGRESS:
				/* counted live, as heap does: the delete may abort */
				vs->live_tuples += 1;
				all_visible = false;
				vis_broken = true;
				break;
			case HEAPTUPLE_INSERT_IN_PROGRESS:
				/* counted by the inserter's own stats when it commits */
				all_visible = false;
				vis_broken = true;
				break;
			default:
				elog(ERROR, "unexpected HeapTupleSatisfiesVacuum result %d",
					 (int) res);
		}

		/*
		 * Hint bits the check found live only in the copy; they go into the
		 * page with the rest of this page's WAL record.
		 */
		newinfomask[off] = copy.hdr.t_infomask;
		if (newinfomask[off] != onpage->t_infomask)
			action[off] = ENGRAM_VAC_UPDATE;

		if (heap_prepare_freeze_tuple(&copy.hdr,
									  vs->relfrozenxid, vs->relminmxid,
									  vs->FreezeLimit, vs->MultiXactCutoff,
									  &frz[off], &totally_frozen,
									  &vs->NewRelfrozenXid,
									  &vs->NewRelminMxid))
		{
			dofreeze[off] = true;
			action[off] = ENGRAM_VAC_UPDATE;
			nfrozen++;

			/*
			 * A frozen xmin is visible to every snapshot, even one that saw
			 * the inserter still running: such standby snapshots must be
			 * cancelled first, as for removals (heap's freeze record does
			 * the same).  Hint bits and cleared lock-only/aborted xmax need
			 * nothing: snapshots still check xmin/xmax against themselves.
			 */
			if ((frz[off].t_infomask & HEAP_XMIN_FROZEN) == HEAP_XMIN_FROZEN &&
				!HeapTupleHeaderXminFrozen(&copy.hdr))
			{
				TransactionId xmin = HeapTupleHeaderGetRawXmin(&copy.hdr);

				if (TransactionIdIsNormal(xmin) &&
					(!TransactionIdIsValid(freeze_conflict_xid) ||
					 TransactionIdFollows(xmin, freeze_conflict_xid)))
					freeze_conflict_xid = xmin;
			}
		}
		if (!totally_frozen)
			all_frozen = false;
		if (action[off] == ENGRAM_VAC_UPDATE)
			nupdate++;
	}

	/* page flags after this pass */
	newflags = opaque->flags & ~(ENGRAM_PAGE_ALL_FROZEN | ENGRAM_PAGE_HAS_FREE_LP);
	if (all_frozen && nrows > 0 && nlpdead == 0 &&
		(nremove == 0 || !dead_to_lpdead))
		newflags |= ENGRAM_PAGE_ALL_FROZEN;
	if (has_unused || nunused_from_dead > 0 || (nremove > 0 && !dead_to_lpdead))
		newflags |= ENGRAM_PAGE_HAS_FREE_LP;

	/*
	 * What the VM and PD_ALL_VISIBLE should say after this record.  A page
	 * that is all-visible by our rules gets both bits (all-frozen too when
	 * no row will ever need freezing).  One that cannot be all-visible but
	 * is marked so, or whose VM bit is set without PD_ALL_VISIBLE, is a bug
	 * heap also checks for: the marks go, with a WARNING.  A page whose rows
	 * are merely too new for this VACUUM's OldestXmin keeps its marks.
	 */
	vmstatus = visibilitymap_get_status(rel, blkno, &vs->vmbuf);
	if (all_visible)
	{
		uint8		want = VISIBILITYMAP_ALL_VISIBLE |
			(all_frozen ? VISIBILITYMAP_ALL_FROZEN : 0);

		if (!PageIsAllVisible(page) || (vmstatus & want) != want)
			vmflags = vmstatus | want;
	}
	else if (PageIsAllVisible(page) && vis_broken)
	{
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("page %u of relation \"%s\" is marked all-visible but has rows not visible to all",
						blkno, RelationGetRelationName(rel))));
		vmflags = 0;
	}
	else if (!PageIsAllVisible(page) && vmstatus != 0)
	{
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("page %u of relation \"%s\" is not marked all-visible but its visibility map bit is set",
						blkno, RelationGetRelationName(rel))));
		vmflags = 0;
	}

	write = (nremove > 0 || nupdate > 0 || nunused_from_dead > 0 ||
			 newflags != opaque->flags || vmflags >= 0 ||
			 (TransactionIdIsValid(opaque->prune_xid) &&
			  opaque->prune_xid != new_prune_xid));

	if (write)
	{
		GenericXLogState *state;
		Page		wpage;
		EngramPageOpaque wopaque;
		EngramVmRecord vr = {0};

		/*
		 * Standbys must first cancel queries that could still see the rows
		 * we are about to remove, or that must not yet see the rows we are
		 * about to freeze, or (page newly all-visible: index-only scans stop
		 * checking its rows) that could still see the newest xmin on the
		 * page as running; the page's record follows right after.
		 */
		if (TransactionIdIsValid(freeze_conflict_xid) &&
			(!TransactionIdIsValid(latestRemovedXid) ||
			 TransactionIdFollows(freeze_conflict_xid, latestRemovedXid)))
			latestRemovedXid = freeze_conflict_xid;
		if (vmflags > 0 &&
			(!PageIsAllVisible(page) || !(vmstatus & VISIBILITYMAP_ALL_VISIBLE)) &&
			TransactionIdIsValid(visibility_cutoff_xid) &&
			(!TransactionIdIsValid(latestRemovedXid) ||
			 TransactionIdFollows(visibility_cutoff_xid, latestRemovedXid)))
			latestRemovedXid = visibility_cutoff_xid;
		if (TransactionIdIsValid(latestRemovedXid))
			engram_log_removal_conflict(rel, blkno, latestRemovedXid);

		ENGRAM_FAULT_POINT("vacuum_after_conflict_record");

		state = GenericXLogStart(rel);
		wpage = GenericXLogRegisterBuffer(state, buf, 0);

		for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
		{
			ItemId		lp = PageGetItemId(wpage, off);

			switch (action[off])
			{
				case ENGRAM_VAC_REMOVE:
					if (dead_to_lpdead)
					{
						ItemIdSetDead(lp);
						if (vs->do_index_vacuuming)
							engram_vac_add_dead(vs, blkno, off);
					}
					else
						ItemIdSetUnused(lp);
					break;
				case ENGRAM_VAC_UNUSED:
					ItemIdSetUnused(lp);
					break;
				case ENGRAM_VAC_UPDATE:
					{
						HeapTupleHeader th =
						EngramItemGetTupleHeader(PageGetItem(wpage, lp));

						th->t_infomask = newinfomask[off];
						if (dofreeze[off])
							heap_execute_freeze_tuple(th, &frz[off]);
					}
					break;
				default:
					/* LP_DEAD left over: queue it for the indexes again */
					if (ItemIdIsDead(lp) && vs->do_index_vacuuming)
						engram_vac_add_dead(vs, blkno, off);
					break;
			}
		}

		/* reclaim the space of removed rows */
		if (nremove > 0 || nunused_from_dead > 0)
			PageRepairFragmentation(wpage);
		if (nunused_from_dead > 0 || (nremove > 0 && !dead_to_lpdead))
			PageTruncateLinePointerArray(wpage);

		wopaque = EngramPageGetOpaque(wpage);
		wopaque->flags = newflags;
		if (PageHasFreeLinePointers(wpage))
			wopaque->flags |= ENGRAM_PAGE_HAS_FREE_LP;
		else
			wopaque->flags &= ~ENGRAM_PAGE_HAS_FREE_LP;
		wopaque->prune_xid = new_prune_xid;

		if (vmflags >= 0)
		{
			engram_vm_set(state, &vr, blkno, wpage, vs->vmbuf, (uint8) vmflags);
			if (vmflags > 0 && !PageIsAllVisible(page))
				vs->vm_set_pages++;
		}

		GenericXLogFinish(state);
		engram_vm_unlock(&vr);
		vs->pages_written++;
	}
	else if (vs->do_index_vacuuming && nlpdead > 0)
	{
		/* nothing to write, but earlier LP_DEAD items still need the indexes */
		for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
			if (ItemIdIsDead(PageGetItemId(page, off)))
				engram_vac_add_dead(vs, blkno, off);
	}

	/*
	 * Whether truncation could give this page back: only if no row remains
	 * and pass 2 will free the LP_DEAD items.
	 */
	*keeps_rows = nrows > 0 ||
		(!vs->do_index_vacuuming && (nlpdead > 0 || (nremove > 0 && dead_to_lpdead)));

	vs->removed_tuples += nremove;
	vs->frozen_tuples += nfrozen;
	if (EngramPageGetOpaque(page)->flags & ENGRAM_PAGE_ALL_FROZEN)
		vs->frozen_pages++;

	{
		Size		freespace = PageGetHeapFreeSpace(page);

		return freespace >= ENGRAM_MIN_FREE_FOR_FSM ? freespace : 0;
	}
}

/* true if a page holds nothing: new, or a DATA page with no used slot */
static bool
engram_page_is_empty(Relation rel, BlockNumber blkno, Page page)
{
	bool		is_new;
	OffsetNumber off,
				maxoff;

	engram_check_page(rel, blkno, page, &is_new);
	if (is_new)
		return true;
	if (EngramPageGetOpaque(page)->kind != ENGRAM_PAGE_DATA)
		return false;
	maxoff = PageGetMaxOffsetNumber(page);
	for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
		if (ItemIdIsUsed(PageGetItemId(page, off)))
			return false;
	return true;
}

/*
 * Scan backwards from the end for the first page that is not empty; return
 * the number of pages to keep.  Only exact when the caller holds
 * AccessExclusiveLock (truncation); otherwise an estimate.
 */
static BlockNumber
engram_count_nondeletable_pages(EngramVacState *vs, BlockNumber nblocks)
{
	BlockNumber blkno = nblocks;

	while (blkno > 0)
	{
		Buffer		buf;
		bool		empty;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(vs->rel, MAIN_FORKNUM, blkno - 1, RBM_NORMAL,
								 vs->bstrategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		empty = engram_page_is_empty(vs->rel, blkno - 1, BufferGetPage(buf));
		UnlockReleaseBuffer(buf);
		if (!empty)
			break;
		blkno--;
	}
	return blkno;
}

/*
 * Give empty trailing pages back to the operating system, like heap's
 * lazy_truncate_heap.  Every row that lived on them was removed earlier, each
 * removal after its own conflict record, so the pages hold nothing a standby
 * snapshot could need: the AccessExclusiveLock (WAL-logged, so a standby
 * takes it too and cancels conflicting queries) and the core smgr truncation
 * record are all a standby needs.
 */
static void
engram_vac_truncate(EngramVacState *vs, BlockNumber nonempty_from)
{
	Relation	rel = vs->rel;
	BlockNumber old_pages = RelationGetNumberOfBlocks(rel);
	BlockNumber new_pages;
	int			tries;

	if (old_pages <= nonempty_from)
		return;
	if (old_pages - nonempty_from < ENGRAM_TRUNCATE_MINIMUM &&
		old_pages - nonempty_from < old_pages / ENGRAM_TRUNCATE_FRACTION)
		return;

	pgstat_progress_update_param(PROGRESS_VACUUM_PHASE,
								 PROGRESS_VACUUM_PHASE_TRUNCATE);

	for (tries = 0;; tries++)
	{
		if (ConditionalLockRelation(rel, AccessExclusiveLock))
			break;
		if (tries >= ENGRAM_TRUNCATE_LOCK_TRIES)
		{
			ereport(vs->elevel,
					(errmsg("\"%s\": stopping truncate due to conflicting lock request",
							RelationGetRelationName(rel))));
			return;
		}
		CHECK_FOR_INTERRUPTS();
		pg_usleep(ENGRAM_TRUNCATE_LOCK_WAIT_US);
	}

	/* the table may have grown or been filled while we waited */
	old_pages = RelationGetNumberOfBlocks(rel);
	new_pages = engram_count_nondeletable_pages(vs, old_pages);

	if (new_pages < old_pages)
	{
		RelationTruncate(rel, new_pages);
		tier_cache_invalidate(RelationGetRelid(rel));
		vs->pages_removed += old_pages - new_pages;
		vs->rel_pages = new_pages;
		ereport(vs->elevel,
				(errmsg("table \"%s\": truncated %u to %u pages",
						RelationGetRelationName(rel), old_pages, new_pages)));
	}

	UnlockRelation(rel, AccessExclusiveLock);
}

void
engram_relation_vacuum(Relation rel, struct VacuumParams *params,
					   BufferAccessStrategy bstrategy)
{
	EngramVacState vs;
	bool		verbose = (params->options & VACOPT_VERBOSE) != 0;
	TimestampTz starttime = GetCurrentTimestamp();
	BlockNumber blkno;
	BlockNumber last_nonempty = 0;	/* 1 + last page with anything on it */
	BlockNumber next_skip_check = 0;
	BlockNumber new_rel_allvisible;
	double		new_live_tuples;
	bool		skipwithvm = true;
	bool		frozenxid_updated,
				minmulti_updated;
	int			i;
	const int	prog_index[] = {
		PROGRESS_VACUUM_TOTAL_HEAP_BLKS,
		PROGRESS_VACUUM_MAX_DEAD_TUPLES
	};
	int64		prog_val[2];

	memset(&vs, 0, sizeof(vs));
	vs.rel = rel;
	vs.bstrategy = bstrategy;
	vs.elevel = verbose ? INFO : DEBUG2;

	pgstat_progress_start_command(PROGRESS_COMMAND_VACUUM,
								  RelationGetRelid(rel));

	/* cutoffs: OldestXmin for counting, FreezeLimit for freezing */
	vs.aggressive = vacuum_set_xid_limits(rel,
										  params->freeze_min_age,
										  params->freeze_table_age,
										  params->multixact_freeze_min_age,
										  params->multixact_freeze_table_age,
										  &vs.OldestXmin, &vs.OldestMxact,
										  &vs.FreezeLimit, &vs.MultiXactCutoff);
	if (params->options & VACOPT_DISABLE_PAGE_SKIPPING)
	{
		/* heap's meaning: visit every page, and freeze as if aggressive */
		vs.aggressive = true;
		skipwithvm = false;
	}
	vs.vmbuf = InvalidBuffer;
	vs.vistest = GlobalVisTestFor(rel);
	vs.relfrozenxid = rel->rd_rel->relfrozenxid;
	vs.relminmxid = rel->rd_rel->relminmxid;
	/* ratcheted back by heap_prepare_freeze_tuple for xids that stay */
	vs.NewRelfrozenXid = vs.OldestXmin;
	vs.NewRelminMxid = vs.OldestMxact;

	vac_open_indexes(rel, RowExclusiveLock, &vs.nindexes, &vs.indrels);
	vs.indstats = (IndexBulkDeleteResult **)
		palloc0(sizeof(IndexBulkDeleteResult *) * Max(vs.nindexes, 1));
	/* AUTO means "yes" for us: we have no bypass heuristics */
	vs.do_index_vacuuming = vs.nindexes > 0 &&
		params->index_cleanup != VACOPTVALUE_DISABLED;
	vs.do_index_cleanup = vs.do_index_vacuuming;

	vs.rel_pages = RelationGetNumberOfBlocks(rel);
	if (vs.do_index_vacuuming)
	{
		vs.maxdead = engram_vac_max_dead(vs.rel_pages);
		vs.dead = (ItemPointerData *)
			palloc(sizeof(ItemPointerData) * vs.maxdead);
	}

	ereport(vs.elevel,
			(errmsg("vacuuming \"%s.%s.%s\"",
					get_database_name(MyDatabaseId),
					get_namespace_name(RelationGetNamespace(rel)),
					RelationGetRelationName(rel))));

	prog_val[0] = vs.rel_pages;
	prog_val[1] = vs.maxdead;
	pgstat_progress_update_multi_param(2, prog_index, prog_val);
	pgstat_progress_update_param(PROGRESS_VACUUM_PHASE,
								 PROGRESS_VACUUM_PHASE_SCAN_HEAP);

	/* ---- pass 1 over every page ---- */
	for (blkno = 0; blkno < vs.rel_pages; blkno++)
	{
		Buffer		buf;
		Page		page;
		bool		is_new;
		Size		freespace = 0;
		bool		record_fsm = true;

		vacuum_delay_point();
		CHECK_FOR_INTERRUPTS();

		/*
		 * Page skipping, heap's rule (lazy_scan_skip): a run of at least
		 * ENGRAM_SKIP_PAGES_THRESHOLD pages whose VM says all-visible (in
		 * an aggressive VACUUM: all-frozen) is not visited; the last page
		 * always is (truncation looks at it).  A page that is all-visible
		 * holds no dead row and no LP_DEAD item, so skipping it loses
		 * nothing but the freezing an aggressive VACUUM does.
		 */
		if (skipwithvm && blkno >= next_skip_check && blkno + 1 < vs.rel_pages)
		{
			BlockNumber end = blkno;
			bool		allvis_only = false;

			while (end + 1 < vs.rel_pages)
			{
				uint8		st = visibilitymap_get_status(rel, end, &vs.vmbuf);

				if (!(st & (vs.aggressive ? VISIBILITYMAP_ALL_FROZEN :
							VISIBILITYMAP_ALL_VISIBLE)))
					break;
				if (!(st & VISIBILITYMAP_ALL_FROZEN))
					allvis_only = true;
				end++;
			}
			if (end - blkno >= ENGRAM_SKIP_PAGES_THRESHOLD)
			{
				if (allvis_only)
					vs.skippedallvis = true;
				vs.skipped_pages += end - blkno;
				blkno = end - 1;	/* the loop's blkno++ lands on end */
				continue;
			}
			/* too short a run: visit it all, look again after it */
			next_skip_check = end + 1;
		}

		/* make sure a whole page's dead TIDs fit */
		if (vs.do_index_vacuuming &&
			vs.maxdead - vs.ndead < MaxHeapTuplesPerPage)
			engram_vac_indexes_and_pass2(&vs);

		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blkno, RBM_NORMAL,
								 bstrategy);
		/* the VM page before the table page's lock, as heap does */
		visibilitymap_pin(rel, blkno, &vs.vmbuf);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		engram_check_page(rel, blkno, page, &is_new);

		if (is_new)
		{
			/* extended but never initialised: all free for inserts */
			freespace = BLCKSZ - SizeOfPageHeaderData -
				MAXALIGN(sizeof(EngramPageOpaqueData));
		}
		else if (EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_COLD)
		{
			/* chunk pages are never offered for inserts */
			vs.cold_pages++;
			last_nonempty = blkno + 1;
			freespace = 0;
		}
		else
		{
			int			ndead_before = vs.ndead;
			bool		keeps_rows;

			freespace = engram_vac_scan_page(&vs, buf, blkno, &keeps_rows);
			if (keeps_rows)
				last_nonempty = blkno + 1;
			if (vs.ndead != ndead_before)
				pgstat_progress_update_param(PROGRESS_VACUUM_NUM_DEAD_TUPLES,
											 vs.ndead);
			/* pass 2 will record pages that still have LP_DEAD items */
			if (vs.ndead != ndead_before)
				record_fsm = false;
		}
		UnlockReleaseBuffer(buf);

		if (record_fsm &&
			(freespace > 0 || GetRecordedFreeSpace(rel, blkno) > 0))
			RecordPageWithFreeSpace(rel, blkno, freespace);

		vs.scanned_pages++;
		pgstat_progress_update_param(PROGRESS_VACUUM_HEAP_BLKS_SCANNED,
									 vs.scanned_pages);
	}

	/* ---- remaining index bulk-delete and pass 2 ---- */
	if (vs.do_index_vacuuming)
		engram_vac_indexes_and_pass2(&vs);
	engram_vm_release(&vs.vmbuf);

	/*
	 * Chunk pages no row refers to any more become empty DATA pages; pass 1
	 * counted them as occupied, so look at the tail again for truncation.
	 */
	if (tier_sweep_chunks(rel) > 0)
		last_nonempty = engram_count_nondeletable_pages(&vs, vs.rel_pages);

	/* ---- index cleanup ---- */
	if (vs.do_index_cleanup)
	{
		pgstat_progress_update_param(PROGRESS_VACUUM_PHASE,
									 PROGRESS_VACUUM_PHASE_INDEX_CLEANUP);
		for (i = 0; i < vs.nindexes; i++)
		{
			IndexVacuumInfo ivinfo;

			ivinfo.index = vs.indrels[i];
			ivinfo.analyze_only = false;
			ivinfo.report_progress = false;
			/* exact when we saw every page */
			ivinfo.estimated_count = vs.scanned_pages < vs.rel_pages;
			ivinfo.message_level = vs.elevel;
			ivinfo.num_heap_tuples = vs.live_tuples + vs.recently_dead_tuples;
			ivinfo.strategy = bstrategy;

			vs.indstats[i] = index_vacuum_cleanup(&ivinfo, vs.indstats[i]);
			vacuum_delay_point();

			if (vs.indstats[i] && !vs.indstats[i]->estimated_count)
				vac_update_relstats(vs.indrels[i],
									vs.indstats[i]->num_pages,
									vs.indstats[i]->num_index_tuples,
									0, false,
									InvalidTransactionId, InvalidMultiXactId,
									NULL, NULL, false);
			if (vs.indstats[i])
				ereport(vs.elevel,
						(errmsg("index \"%s\" now contains %.0f row versions in %u pages",
								RelationGetRelationName(vs.indrels[i]),
								vs.indstats[i]->num_index_tuples,
								vs.indstats[i]->num_pages)));
		}
	}

	pgstat_progress_update_param(PROGRESS_VACUUM_PHASE,
								 PROGRESS_VACUUM_PHASE_FINAL_CLEANUP);
	FreeSpaceMapVacuum(rel);

	/* ---- truncation of empty trailing pages ---- */
	if (params->truncate != VACOPTVALUE_DISABLED && vs.rel_pages > 0 &&
		old_snapshot_threshold < 0)
		engram_vac_truncate(&vs, last_nonempty);

	/*
	 * Every page not skipped was scanned (pages added after we started hold
	 * only xids newer than OldestXmin), and skipped pages are all-frozen
	 * unless skippedallvis: then relfrozenxid/relminmxid may advance to what
	 * the freeze pass left in the table, as heap decides.
	 */
	if (vs.skippedallvis)
	{
		Assert(!vs.aggressive);
		vs.NewRelfrozenXid = InvalidTransactionId;
		vs.NewRelminMxid = InvalidMultiXactId;
	}
	/* skipped pages: estimate reltuples from the scanned ones, as heap */
	new_live_tuples = vac_estimate_reltuples(rel, vs.rel_pages,
											 vs.scanned_pages, vs.live_tuples);
	visibilitymap_count(rel, &new_rel_allvisible, NULL);
	if (new_rel_allvisible > vs.rel_pages)
		new_rel_allvisible = vs.rel_pages;
	vac_update_relstats(rel, vs.rel_pages, new_live_tuples,
						new_rel_allvisible, vs.nindexes > 0,
						vs.NewRelfrozenXid, vs.NewRelminMxid,
						&frozenxid_updated, &minmulti_updated, false);

	pgstat_report_vacuum(RelationGetRelid(rel), rel->rd_rel->relisshared,
						 (PgStat_Counter) new_live_tuples,
						 (PgStat_Counter) vs.recently_dead_tuples);

	vac_close_indexes(vs.nindexes, vs.indrels, NoLock);

	if (verbose ||
		(IsAutoVacuumWorkerProcess() && params->log_min_duration >= 0 &&
		 TimestampDifferenceExceeds(starttime, GetCurrentTimestamp(),
									params->log_min_duration)))
		ereport(verbose ? INFO : LOG,
				(errmsg("finished vacuuming \"%s.%s.%s\": index scans: %d",
						get_database_name(MyDatabaseId),
						get_namespace_name(RelationGetNamespace(rel)),
						RelationGetRelationName(rel), vs.num_index_scans),
				 errdetail("pages: %u scanned (%u cold chunk pages), %u skipped using visibility map, %u written, %u removed, %u remain, %u all-frozen, %u newly all-visible\n"
						   "tuples: %.0f removed, %.0f remain, %.0f are dead but not yet removable, %.0f frozen\n"
						   "line pointers reused: %.0f\n"
						   "removable cutoff: %u, new relfrozenxid: %u%s, new relminmxid: %u%s",
						   vs.scanned_pages, vs.cold_pages, vs.skipped_pages,
						   vs.pages_written, vs.pages_removed, vs.rel_pages,
						   vs.frozen_pages, vs.vm_set_pages,
						   vs.removed_tuples,
						   vs.live_tuples + vs.recently_dead_tuples,
						   vs.recently_dead_tuples, vs.frozen_tuples,
						   vs.lpdead_items,
						   vs.OldestXmin, vs.NewRelfrozenXid,
						   frozenxid_updated ? " (advanced)" : "",
						   vs.NewRelminMxid,
						   minmulti_updated ? " (advanced)" : "")));

	pgstat_progress_end_command();
}

void
engram_log_removal_conflict(Relation rel, BlockNumber blkno,
							TransactionId latestRemovedXid)
{
	/* only a hot standby needs it, as for heap's and GiST's own records */
	if (RelationNeedsWAL(rel) && XLogStandbyInfoActive())
		engram_compat_log_conflict(rel, blkno, latestRemovedXid);
}

/* ---------------------------------------------------------------------
 * Index tuple deletion (btree simple and bottom-up deletion)
 * ---------------------------------------------------------------------
 */

static int
engram_deltid_cmp(const void *a, const void *b)
{
	return ItemPointerCompare(&((TM_IndexDelete *) a)->tid,
							  &((TM_IndexDelete *) b)->tid);
}

/*
 * Tell the index AM which of its entries point to rows no snapshot can see
 * any more, and return the newest xid among those rows (the index AM puts it
 * into its own deletion record, whose redo resolves standby conflicts).
 *
 * Entries the index AM already knows to be deletable (LP_DEAD in the index)
 * only contribute their xids.  Other entries are marked deletable only when
 * the row is DEAD for everyone (GlobalVisTestFor) or its slot is LP_DEAD
 * (VACUUM removed the row after its own conflict record).  An LP_UNUSED or
 * out-of-range slot is left alone: by the two-pass rule an index entry never
 * outlives its slot, and a slot reused by a new row must never be deletable.
 * Bottom-up callers get a bounded, best-effort check of promising entries.
 */
TransactionId
engram_index_delete_tuples(Relation rel, TM_IndexDeleteOp *delstate)
{
	TransactionId latestRemovedXid = InvalidTransactionId;
	GlobalVisState *vistest = NULL;
	BlockNumber nblocks;
	BlockNumber curblk = InvalidBlockNumber;
	Buffer		buf = InvalidBuffer;
	Page		page = NULL;
	bool		usable = false;
	int			nblocksvisited = 0;
	int			freespace = 0;
	int			i;

	if (delstate->ndeltids <= 0)
		return InvalidTransactionId;

	nblocks = RelationGetNumberOfBlocks(rel);
	qsort(delstate->deltids, delstate->ndeltids, sizeof(TM_IndexDelete),
		  engram_deltid_cmp);

	for (i = 0; i < delstate->ndeltids; i++)
	{
		TM_IndexDelete *d = &delstate->deltids[i];
		TM_IndexStatus *st = &delstate->status[d->id];
		BlockNumber blk = ItemPointerGetBlockNumber(&d->tid);
		OffsetNumber off = ItemPointerGetOffsetNumber(&d->tid);
		ItemId		lp;
		EngramHeaderCopy copy;
		HeapTupleData tup;
		HTSV_Result res;
		TransactionId dead_after = InvalidTransactionId;

		if (delstate->bottomup)
		{
			if (!st->promising)
				continue;
			if (freespace >= delstate->bottomupfreespace)
				break;
		}
		if (blk >= nblocks)
			continue;

		if (blk != curblk)
		{
			bool		is_new;

			if (BufferIsValid(buf))
				UnlockReleaseBuffer(buf);
			buf = InvalidBuffer;
			curblk = blk;
			if (delstate->bottomup &&
				++nblocksvisited > ENGRAM_BOTTOMUP_MAX_BLOCKS)
				break;
			buf = ReadBuffer(rel, blk);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			engram_check_page(rel, blk, page, &is_new);
			usable = !is_new &&
				EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_DATA;
		}
		if (!usable || off < FirstOffsetNumber ||
			off > PageGetMaxOffsetNumber(page))
			continue;

		lp = PageGetItemId(page, off);
		if (ItemIdIsDead(lp))
		{
			/* row already removed by VACUUM, conflict already logged */
			if (!st->knowndeletable)
			{
				st->knowndeletable = true;
				freespace += st->freespace;
			}
			continue;
		}
		if (!ItemIdIsNormal(lp))
			continue;

		engram_copy_header(rel, blk, page, off, &copy, &tup);
		ItemPointerSet(&tup.t_self, blk, off);

		if (st->knowndeletable)
		{
			HeapTupleHeaderAdvanceLatestRemovedXid(tup.t_data,
												   &latestRemovedXid);
			continue;
		}

		if (vistest == NULL)
			vistest = GlobalVisTestFor(rel);
		engram_prehint_strict(tup.t_data);
		res = HeapTupleSatisfiesVacuumHorizon(&tup, buf, &dead_after);
		if (res == HEAPTUPLE_DEAD ||
			(res == HEAPTUPLE_RECENTLY_DEAD &&
			 GlobalVisTestIsRemovableXid(vistest, dead_after)))
		{
			st->knowndeletable = true;
			freespace += st->freespace;
			HeapTupleHeaderAdvanceLatestRemovedXid(tup.t_data,
												   &latestRemovedXid);
		}
	}

	if (BufferIsValid(buf))
		UnlockReleaseBuffer(buf);

	return latestRemovedXid;
}
