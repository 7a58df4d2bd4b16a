/*-------------------------------------------------------------------------
 *
 * engram_am_scan.c
 *	  engram table AM: sequential, parallel, bitmap, sample and ANALYZE
 *	  scans, index fetches, row version fetches, index build and validation.
 *
 * Every reader works page at a time: it pins and share-locks a DATA page,
 * checks it, copies the page into scan-local memory, decides visibility of
 * each row on that copy while the lock is still held (hint bits land only
 * in the copy), decodes WARM/COLD bodies through engram_copy_tuple while
 * the page is still locked, and then releases the page before it returns
 * any row.  No pointer into a shared buffer survives the unlock (see
 * engram_page.h for why).  HOT rows are returned as HeapTupleData pointing
 * into the scan's page copy; decoded rows live in a per-page memory context.
 * Either stays valid until the scan moves to another page, is rescanned or
 * ends, the same lifetime a heap scan gives its slot contents through the
 * buffer pin.
 *
 * COLD chunk pages hold no rows of their own and are skipped.
 *
 * IDENTIFICATION
 *	  src/engram_am_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/tsmapi.h"
#include "access/valid.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "nodes/tidbitmap.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/predicate.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"

#include "engram_am.h"
#include "tier.h"

typedef struct EngramScanDescData
{
	TableScanDescData rs_base;	/* AM independent part, must be first */

	BlockNumber rs_nblocks;		/* relation size when the scan started */
	BlockNumber rs_startblock;	/* first block to scan (TID range scans) */
	BlockNumber rs_endblock;	/* block after the last one to scan */
	ItemPointerData rs_mintid;	/* TID range scans: bounds, inclusive */
	ItemPointerData rs_maxtid;
	BlockNumber rs_cblock;		/* block whose rows are loaded, or Invalid */
	bool		rs_inited;		/* false until the first block is chosen */
	BufferAccessStrategy rs_strategy;	/* bulk-read strategy or NULL */

	/* parallel scans: this worker's share of the shared block allocator */
	ParallelBlockTableScanWorkerData *rs_pwork;

	/* rows of the current page */
	MemoryContext rs_pagecxt;	/* decoded rows; reset per page */
	int			rs_ntuples;		/* rows loaded */
	int			rs_cindex;		/* index of the row last returned */
	OffsetNumber rs_maxoff;		/* max offset of the loaded page */
	HeapTupleData rs_tuples[MaxHeapTuplesPerPage];
	int16		rs_byoff[MaxHeapTuplesPerPage + 1]; /* offset -> rs_tuples
													 * index, -1 if none */

	/* ANALYZE: the page being sampled, kept pinned and share-locked */
	Buffer		rs_abuf;
	OffsetNumber rs_aoff;

	PGAlignedBlock rs_page;		/* scan-local copy of the current page */
} EngramScanDescData;

typedef EngramScanDescData *EngramScanDesc;

/*
 * Index fetches keep only a pin on the last page they read (index scans
 * often hit the same page many times in a row); every fetch locks the page
 * and copies what it needs, nothing else survives between calls.
 */
typedef struct EngramIndexFetchData
{
	IndexFetchTableData xs_base;
	Buffer		xs_cbuf;		/* pinned, not locked; or InvalidBuffer */
} EngramIndexFetchData;

/* ----------------------------------------------------------------
 *		loading one page
 * ----------------------------------------------------------------
 */

/* a DATA page never has more line pointers than a heap page may */
static OffsetNumber
engram_data_page_maxoff(Relation rel, BlockNumber blkno, Page page)
{
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

	if (maxoff > MaxHeapTuplesPerPage)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("page %u of relation \"%s\" has %u line pointers, more than the %d a data page can hold",
						blkno, RelationGetRelationName(rel), maxoff,
						(int) MaxHeapTuplesPerPage)));
	return maxoff;
}

/*
 * Read blkno, share-lock it and load its rows visible to the scan's
 * snapshot into the scan (all LP_NORMAL rows if snapshot is NULL, for
 * callers that classify rows themselves).  When offsets is given only those
 * offsets are candidates (exact bitmap pages).  Returns false when the page
 * is not a DATA page with rows (new or COLD pages), or lies beyond the end.
 */
static bool
engram_load_page(EngramScanDesc scan, BlockNumber blkno,
				 OffsetNumber *offsets, int noffsets, bool predlock_tids)
{
	Relation	rel = scan->rs_base.rs_rd;
	Snapshot	snapshot = scan->rs_base.rs_snapshot;
	Buffer		buf;
	Page		spage;
	Page		page = scan->rs_page.data;
	bool		is_new;
	OffsetNumber maxoff;
	int			i;
	int			ncand;

	MemoryContextReset(scan->rs_pagecxt);
	scan->rs_ntuples = 0;
	scan->rs_cindex = -1;
	scan->rs_maxoff = 0;
	scan->rs_cblock = blkno;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blkno, RBM_NORMAL,
							 scan->rs_strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	spage = BufferGetPage(buf);
	/* old_snapshot_threshold: as heapgetpage, a changed page may be too new */
	TestForOldSnapshot(snapshot, rel, spage);
	engram_check_page(rel, blkno, spage, &is_new);
	if (is_new || EngramPageGetOpaque(spage)->kind != ENGRAM_PAGE_DATA)
	{
		UnlockReleaseBuffer(buf);
		return false;
	}

	maxoff = engram_data_page_maxoff(rel, blkno, spage);
	memcpy(page, spage, BLCKSZ);
	scan->rs_maxoff = maxoff;
	for (i = 0; i <= maxoff; i++)
		scan->rs_byoff[i] = -1;

	ncand = offsets ? noffsets : maxoff;
	for (i = 0; i < ncand; i++)
	{
		OffsetNumber off = offsets ? offsets[i] : (OffsetNumber) (i + 1);
		ItemId		lp;
		Item		item;
		EngramHeaderCopy hc;
		HeapTupleData htup;
		HeapTuple	out;
		bool		visible;

		if (off < FirstOffsetNumber || off > maxoff)
			continue;
		lp = PageGetItemId(page, off);
		if (!ItemIdIsNormal(lp))
			continue;

		ItemPointerSet(&htup.t_self, blkno, off);
		engram_copy_header(rel, blkno, page, off, &hc, &htup);
		if (snapshot != NULL)
		{
			visible = engram_tuple_visible(&htup, snapshot, buf);
			HeapCheckForSerializableConflictOut(visible, rel, &htup, buf,
												snapshot);
			if (!visible)
				continue;
			if (predlock_tids)
				PredicateLockTID(rel, &htup.t_self, snapshot,
								 HeapTupleHeaderGetXmin(htup.t_data));
		}

		out = &scan->rs_tuples[scan->rs_ntuples];
		item = PageGetItem(page, lp);
		if (((EngramItemHeader) item)->tier == ENGRAM_TIER_HOT)
		{
			out->t_data = EngramItemGetTupleHeader(item);
			out->t_len = ItemIdGetLength(lp) - SizeOfEngramItemHeader;
		}
		else
		{
			MemoryContext old = MemoryContextSwitchTo(scan->rs_pagecxt);
			HeapTuple	dec = engram_copy_tuple(rel, buf, spage, off);

			MemoryContextSwitchTo(old);
			out->t_data = dec->t_data;
			out->t_len = dec->t_len;
		}
		out->t_self = htup.t_self;
		out->t_tableOid = RelationGetRelid(rel);
		scan->rs_byoff[off] = scan->rs_ntuples;
		scan->rs_ntuples++;
	}

	UnlockReleaseBuffer(buf);
	return true;
}

/* ----------------------------------------------------------------
 *		scan descriptors
 * ----------------------------------------------------------------
 */

static void
engram_initscan(EngramScanDesc scan, ScanKey key, bool keep_startblock)
{
	Relation	rel = scan->rs_base.rs_rd;

	if (scan->rs_base.rs_parallel != NULL)
	{
		ParallelBlockTableScanDesc pbscan =
		(ParallelBlockTableScanDesc) scan->rs_base.rs_parallel;

		scan->rs_nblocks = pbscan->phs_nblocks;
	}
	else
		scan->rs_nblocks = RelationGetNumberOfBlocks(rel);
	scan->rs_startblock = 0;
	scan->rs_endblock = scan->rs_nblocks;

	/* large seq scans should not flush the whole buffer cache */
	if ((scan->rs_base.rs_flags & SO_ALLOW_STRAT) &&
		!RelationUsesLocalBuffers(rel) &&
		scan->rs_nblocks > (BlockNumber) (NBuffers / 4))
	{
		if (scan->rs_strategy == NULL)
			scan->rs_strategy = GetAccessStrategy(BAS_BULKREAD);
	}
	else if (scan->rs_strategy != NULL)
	{
		FreeAccessStrategy(scan->rs_strategy);
		scan->rs_strategy = NULL;
	}

	/* engram never joins synchronized scans: results come in block order */
	scan->rs_base.rs_flags &= ~SO_ALLOW_SYNC;

	scan->rs_inited = false;
	scan->rs_cblock = InvalidBlockNumber;
	scan->rs_ntuples = 0;
	scan->rs_cindex = -1;
	scan->rs_maxoff = 0;
	MemoryContextReset(scan->rs_pagecxt);

	if (key != NULL && scan->rs_base.rs_nkeys > 0)
		memcpy(scan->rs_base.rs_key, key,
			   scan->rs_base.rs_nkeys * sizeof(ScanKeyData));

	if (scan->rs_base.rs_flags & SO_TYPE_SEQSCAN)
		pgstat_count_heap_scan(rel);
}

TableScanDesc
engram_scan_begin(Relation rel, Snapshot snapshot, int nkeys,
				  struct ScanKeyData *key, ParallelTableScanDesc pscan,
				  uint32 flags)
{
	EngramScanDesc scan;

	RelationIncrementReferenceCount(rel);

	scan = (EngramScanDesc) palloc0(sizeof(EngramScanDescData));
	scan->rs_base.rs_rd = rel;
	scan->rs_base.rs_snapshot = snapshot;
	scan->rs_base.rs_nkeys = nkeys;
	scan->rs_base.rs_flags = flags;
	scan->rs_base.rs_parallel = pscan;
	scan->rs_strategy = NULL;
	scan->rs_pwork = NULL;
	scan->rs_abuf = InvalidBuffer;
	scan->rs_pagecxt = AllocSetContextCreate(CurrentMemoryContext,
											 "engram scan page",
											 ALLOCSET_DEFAULT_SIZES);

	if (pscan != NULL)
		scan->rs_pwork = palloc0(sizeof(ParallelBlockTableScanWorkerData));

	/* serializable: a seq or sample scan reads the whole relation */
	if (flags & (SO_TYPE_SEQSCAN | SO_TYPE_SAMPLESCAN))
	{
		Assert(snapshot);
		PredicateLockRelation(rel, snapshot);
	}

	if (nkeys > 0)
		scan->rs_base.rs_key = palloc(sizeof(ScanKeyData) * nkeys);
	else
		scan->rs_base.rs_key = NULL;

	engram_initscan(scan, key, false);
	return (TableScanDesc) scan;
}

void
engram_scan_rescan(TableScanDesc sscan, struct ScanKeyData *key,
				   bool set_params, bool allow_strat, bool allow_sync,
				   bool allow_pagemode)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;

	if (set_params)
	{
		if (allow_strat)
			sscan->rs_flags |= SO_ALLOW_STRAT;
		else
			sscan->rs_flags &= ~SO_ALLOW_STRAT;
		/* allow_sync and allow_pagemode make no difference to engram */
	}
	if (BufferIsValid(scan->rs_abuf))
	{
		UnlockReleaseBuffer(scan->rs_abuf);
		scan->rs_abuf = InvalidBuffer;
	}
	engram_initscan(scan, key, true);
}

void
engram_scan_end(TableScanDesc sscan)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;

	if (BufferIsValid(scan->rs_abuf))
		UnlockReleaseBuffer(scan->rs_abuf);

	RelationDecrementReferenceCount(sscan->rs_rd);

	if (sscan->rs_key)
		pfree(sscan->rs_key);
	if (scan->rs_strategy != NULL)
		FreeAccessStrategy(scan->rs_strategy);
	if (scan->rs_pwork)
		pfree(scan->rs_pwork);
	if (sscan->rs_flags & SO_TEMP_SNAPSHOT)
		UnregisterSnapshot(sscan->rs_snapshot);
	MemoryContextDelete(scan->rs_pagecxt);
	pfree(scan);
}

/*
 * Next block of a forward scan, or InvalidBlockNumber at the end.  Serial
 * scans go from block 0 up; parallel scans take blocks from the shared
 * allocator.
 */
static BlockNumber
engram_next_block_forward(EngramScanDesc scan)
{
	Relation	rel = scan->rs_base.rs_rd;

	if (scan->rs_base.rs_parallel != NULL)
	{
		ParallelBlockTableScanDesc pbscan =
		(ParallelBlockTableScanDesc) scan->rs_base.rs_parallel;

		if (!scan->rs_inited)
			table_block_parallelscan_startblock_init(rel, scan->rs_pwork,
													 pbscan);
		scan->rs_inited = true;
		return table_block_parallelscan_nextpage(rel, scan->rs_pwork, pbscan);
	}

	if (!scan->rs_inited)
	{
		scan->rs_inited = true;
		return scan->rs_startblock < scan->rs_endblock ?
			scan->rs_startblock : InvalidBlockNumber;
	}
	if (scan->rs_cblock == InvalidBlockNumber ||
		scan->rs_cblock + 1 >= scan->rs_endblock)
		return InvalidBlockNumber;
	return scan->rs_cblock + 1;
}

static BlockNumber
engram_next_block_backward(EngramScanDesc scan)
{
	if (scan->rs_base.rs_parallel != NULL)
		elog(ERROR, "parallel engram scans cannot go backward");

	if (!scan->rs_inited)
	{
		scan->rs_inited = true;
		return scan->rs_startblock < scan->rs_endblock ?
			scan->rs_endblock - 1 : InvalidBlockNumber;
	}
	if (scan->rs_cblock == InvalidBlockNumber ||
		scan->rs_cblock <= scan->rs_startblock)
		return InvalidBlockNumber;
	return scan->rs_cblock - 1;
}

/* does the row pass the scan keys (catalog-style callers only) */
static bool
engram_key_test(EngramScanDesc scan, HeapTuple tup)
{
	bool		result;

	if (scan->rs_base.rs_nkeys <= 0)
		return true;
	HeapKeyTest(tup, RelationGetDescr(scan->rs_base.rs_rd),
				scan->rs_base.rs_nkeys, scan->rs_base.rs_key, result);
	return result;
}

bool
engram_scan_getnextslot(TableScanDesc sscan, ScanDirection direction,
						TupleTableSlot *slot)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;
	bool		backward = ScanDirectionIsBackward(direction);

	if (ScanDirectionIsNoMovement(direction))
	{
		if (scan->rs_cindex >= 0 && scan->rs_cindex < scan->rs_ntuples)
		{
			ExecStoreHeapTuple(&scan->rs_tuples[scan->rs_cindex], slot, false);
			return true;
		}
		ExecClearTuple(slot);
		return false;
	}

	/* the slot may point into the page copy we are about to replace */
	ExecClearTuple(slot);

	for (;;)
	{
		BlockNumber blkno;

		if (scan->rs_inited && scan->rs_cblock != InvalidBlockNumber)
		{
			/* continue within the loaded page */
			if (!backward)
			{
				while (scan->rs_cindex + 1 < scan->rs_ntuples)
				{
					HeapTuple	tup = &scan->rs_tuples[++scan->rs_cindex];

					if (engram_key_test(scan, tup))
					{
						pgstat_count_heap_getnext(sscan->rs_rd);
						ExecStoreHeapTuple(tup, slot, false);
						return true;
					}
				}
			}
			else
			{
				if (scan->rs_cindex > scan->rs_ntuples)
					scan->rs_cindex = scan->rs_ntuples;
				while (scan->rs_cindex - 1 >= 0)
				{
					HeapTuple	tup = &scan->rs_tuples[--scan->rs_cindex];

					if (engram_key_test(scan, tup))
					{
						pgstat_count_heap_getnext(sscan->rs_rd);
						ExecStoreHeapTuple(tup, slot, false);
						return true;
					}
				}
			}
		}

		CHECK_FOR_INTERRUPTS();
		blkno = backward ? engram_next_block_backward(scan) :
			engram_next_block_forward(scan);
		if (blkno == InvalidBlockNumber)
		{
			/* end: a following fetch in either direction starts afresh */
			scan->rs_inited = false;
			scan->rs_cblock = InvalidBlockNumber;
			scan->rs_ntuples = 0;
			scan->rs_cindex = -1;
			return false;
		}
		if (!engram_load_page(scan, blkno, NULL, 0,
							  (sscan->rs_flags & SO_TYPE_TIDRANGESCAN) != 0))
		{
			scan->rs_ntuples = 0;
			scan->rs_cindex = -1;
			continue;
		}
		scan->rs_cindex = backward ? scan->rs_ntuples : -1;
	}
}

/* ----------------------------------------------------------------
 *		TID range scans
 * ----------------------------------------------------------------
 */

void
engram_scan_set_tidrange(TableScanDesc sscan, ItemPointer mintid,
						 ItemPointer maxtid)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;

	scan->rs_mintid = *mintid;
	scan->rs_maxtid = *maxtid;
	scan->rs_inited = false;
	scan->rs_cblock = InvalidBlockNumber;
	scan->rs_ntuples = 0;
	scan->rs_cindex = -1;

	if (ItemPointerCompare(mintid, maxtid) > 0 ||
		ItemPointerGetBlockNumberNoCheck(mintid) >= scan->rs_nblocks)
	{
		/* nothing can match */
		scan->rs_startblock = scan->rs_endblock = 0;
		return;
	}
	scan->rs_startblock = ItemPointerGetBlockNumberNoCheck(mintid);
	/*
	 * With no upper bound the executor passes (InvalidBlockNumber, 0xFFFF):
	 * its block + 1 wraps to 0, so clamp before adding (found by PG's
	 * tidrangescan test, test/core-regress; sql/am_tidrange.sql).
	 */
	if (ItemPointerGetBlockNumberNoCheck(maxtid) >= scan->rs_nblocks)
		scan->rs_endblock = scan->rs_nblocks;
	else
		scan->rs_endblock = ItemPointerGetBlockNumberNoCheck(maxtid) + 1;
}

bool
engram_scan_getnextslot_tidrange(TableScanDesc sscan, ScanDirection direction,
								 TupleTableSlot *slot)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;

	while (engram_scan_getnextslot(sscan, direction, slot))
	{
		if (ItemPointerCompare(&slot->tts_tid, &scan->rs_mintid) < 0)
		{
			if (ScanDirectionIsBackward(direction))
				break;			/* below the range: nothing more */
			continue;
		}
		if (ItemPointerCompare(&slot->tts_tid, &scan->rs_maxtid) > 0)
		{
			if (ScanDirectionIsForward(direction))
				break;			/* above the range: nothing more */
			continue;
		}
		return true;
	}
	ExecClearTuple(slot);
	return false;
}

/* ----------------------------------------------------------------
 *		parallel scans
 * ----------------------------------------------------------------
 */

Size
engram_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan)
{
	Size		sz = table_block_parallelscan_initialize(rel, pscan);

	/* workers always start at block 0: no synchronized scan position */
	pscan->phs_syncscan = false;
	return sz;
}

/* ----------------------------------------------------------------
 *		fetching single rows by TID
 * ----------------------------------------------------------------
 */

struct IndexFetchTableData *
engram_index_fetch_begin(Relation rel)
{
	EngramIndexFetchData *f = palloc0(sizeof(EngramIndexFetchData));

	f->xs_base.rel = rel;
	f->xs_cbuf = InvalidBuffer;
	return &f->xs_base;
}

void
engram_index_fetch_reset(struct IndexFetchTableData *scan)
{
	EngramIndexFetchData *f = (EngramIndexFetchData *) scan;

	if (BufferIsValid(f->xs_cbuf))
	{
		ReleaseBuffer(f->xs_cbuf);
		f->xs_cbuf = InvalidBuffer;
	}
}

void
engram_index_fetch_end(struct IndexFetchTableData *scan)
{
	engram_index_fetch_reset(scan);
	pfree(scan);
}

/* unlock; drop the pin unless the caller keeps it for the next fetch */
static inline void
engram_fetch_release(Buffer buf, Buffer *keep_buf)
{
	if (keep_buf != NULL)
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	else
		UnlockReleaseBuffer(buf);
}

/*
 * Fetch the row at tid if snapshot sees it, storing a copy in slot.
 * With all_dead non-NULL, report whether the row is dead to everyone (only
 * meaningful when it is not visible): engram has no HOT chains, so every
 * index entry points at exactly one row version and the entry may be killed
 * when that version is surely dead.  A slot that is not a normal item (dead,
 * unused, out of range) also counts as dead, as in heap.
 */
static bool
engram_fetch_by_tid(Relation rel, ItemPointer tid, Snapshot snapshot,
					TupleTableSlot *slot, bool *all_dead, bool predlock,
					Buffer *keep_buf)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Buffer		buf;
	Page		page;
	bool		data_page;
	EngramHeaderCopy hc;
	HeapTupleData htup;
	bool		visible;
	HeapTuple	copy;
	MemoryContext old;

	if (all_dead)
		*all_dead = false;

	if (keep_buf != NULL)
	{
		/* reuse the pin of the previous fetch when it is the same page */
		if (!BufferIsValid(*keep_buf) || BufferGetBlockNumber(*keep_buf) != blkno)
			*keep_buf = ReleaseAndReadBuffer(*keep_buf, rel, blkno);
		buf = *keep_buf;
	}
	else
		buf = ReadBuffer(rel, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	TestForOldSnapshot(snapshot, rel, page);	/* as heap_fetch */
	if (!engram_page_has_row(rel, blkno, page, off, &data_page))
	{
		/* an index entry pointing at no row of a DATA page is dead */
		if (all_dead && data_page)
			*all_dead = true;
		engram_fetch_release(buf, keep_buf);
		return false;
	}

	ItemPointerSet(&htup.t_self, blkno, off);
	engram_copy_header(rel, blkno, page, off, &hc, &htup);
	visible = engram_tuple_visible(&htup, snapshot, buf);
	HeapCheckForSerializableConflictOut(visible, rel, &htup, buf, snapshot);
	if (!visible)
	{
		if (all_dead)
			*all_dead = HeapTupleIsSurelyDead(&htup, GlobalVisTestFor(rel));
		engram_fetch_release(buf, keep_buf);
		return false;
	}
	if (predlock)
		PredicateLockTID(rel, &htup.t_self, snapshot,
						 HeapTupleHeaderGetXmin(htup.t_data));

	old = MemoryContextSwitchTo(slot->tts_mcxt);
	copy = engram_copy_tuple(rel, buf, page, off);
	MemoryContextSwitchTo(old);
	engram_fetch_release(buf, keep_buf);

	ExecStoreHeapTuple(copy, slot, true);
	return true;
}

bool
engram_index_fetch_tuple(struct IndexFetchTableData *scan, ItemPointer tid,
						 Snapshot snapshot, TupleTableSlot *slot,
						 bool *call_again, bool *all_dead)
{
	bool		found;

	/* no HOT chains: one index entry, one row version */
	*call_again = false;
	found = engram_fetch_by_tid(scan->rel, tid, snapshot, slot, all_dead, true,
								&((EngramIndexFetchData *) scan)->xs_cbuf);
	if (found)
		pgstat_count_heap_fetch(scan->rel);
	return found;
}

bool
engram_tuple_fetch_row_version(Relation rel, ItemPointer tid,
							   Snapshot snapshot, TupleTableSlot *slot)
{
	return engram_fetch_by_tid(rel, tid, snapshot, slot, NULL, true, NULL);
}

bool
engram_tuple_tid_valid(TableScanDesc sscan, ItemPointer tid)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;

	return ItemPointerIsValid(tid) &&
		ItemPointerGetBlockNumber(tid) < scan->rs_nblocks;
}

/*
 * Does snapshot see the row version in slot?  The slot holds a copy, so
 * the current header is read from the page again.
 */
bool
engram_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot,
								Snapshot snapshot)
{
	ItemPointer tid = &slot->tts_tid;
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Buffer		buf;
	Page		page;
	bool		is_new;
	EngramHeaderCopy hc;
	HeapTupleData htup;
	bool		visible = false;

	if (!ItemPointerIsValid(tid) || blkno >= RelationGetNumberOfBlocks(rel))
		return false;

	buf = ReadBuffer(rel, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	engram_check_page(rel, blkno, page, &is_new);
	if (!is_new && EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_DATA &&
		off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page) &&
		ItemIdIsNormal(PageGetItemId(page, off)))
	{
		ItemPointerSet(&htup.t_self, blkno, off);
		engram_copy_header(rel, blkno, page, off, &hc, &htup);
		visible = engram_tuple_visible(&htup, snapshot, buf);
	}
	UnlockReleaseBuffer(buf);
	return visible;
}

/* ----------------------------------------------------------------
 *		bitmap heap scans
 * ----------------------------------------------------------------
 */

bool
engram_scan_bitmap_next_block(TableScanDesc sscan,
							  struct TBMIterateResult *tbmres)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;
	BlockNumber blkno = tbmres->blockno;
	bool		ok;

	scan->rs_ntuples = 0;
	scan->rs_cindex = -1;

	/* the bitmap may name blocks added after the scan started: ignore */
	if (blkno >= scan->rs_nblocks)
		return false;

	if (tbmres->ntuples >= 0)
		ok = engram_load_page(scan, blkno, tbmres->offsets, tbmres->ntuples,
							  true);
	else
		ok = engram_load_page(scan, blkno, NULL, 0, true);

	return ok && scan->rs_ntuples > 0;
}

bool
engram_scan_bitmap_next_tuple(TableScanDesc sscan,
							  struct TBMIterateResult *tbmres,
							  TupleTableSlot *slot)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;

	if (scan->rs_cindex + 1 >= scan->rs_ntuples)
		return false;
	scan->rs_cindex++;
	pgstat_count_heap_fetch(sscan->rs_rd);
	ExecStoreHeapTuple(&scan->rs_tuples[scan->rs_cindex], slot, false);
	return true;
}

/* ----------------------------------------------------------------
 *		TABLESAMPLE
 * ----------------------------------------------------------------
 */

bool
engram_scan_sample_next_block(TableScanDesc sscan,
							  struct SampleScanState *scanstate)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;
	TsmRoutine *tsm = scanstate->tsmroutine;
	BlockNumber blkno;

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();

		if (scan->rs_nblocks == 0)
			blkno = InvalidBlockNumber;
		else if (tsm->NextSampleBlock)
			blkno = tsm->NextSampleBlock(scanstate, scan->rs_nblocks);
		else if (!scan->rs_inited)
			blkno = 0;
		else if (scan->rs_cblock + 1 < scan->rs_nblocks)
			blkno = scan->rs_cblock + 1;
		else
			blkno = InvalidBlockNumber;

		scan->rs_inited = true;
		if (!BlockNumberIsValid(blkno))
		{
			scan->rs_cblock = InvalidBlockNumber;
			scan->rs_inited = false;
			scan->rs_ntuples = 0;
			return false;
		}

		/* the sample method picks offsets on the whole page: load all */
		if (engram_load_page(scan, blkno, NULL, 0, false))
			return true;
		/* a COLD or empty page: offer nothing, keep the page numbering */
		scan->rs_maxoff = 0;
		return true;
	}
}

bool
engram_scan_sample_next_tuple(TableScanDesc sscan,
							  struct SampleScanState *scanstate,
							  TupleTableSlot *slot)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;
	TsmRoutine *tsm = scanstate->tsmroutine;

	ExecClearTuple(slot);
	for (;;)
	{
		OffsetNumber off;

		CHECK_FOR_INTERRUPTS();
		off = tsm->NextSampleTuple(scanstate, scan->rs_cblock, scan->rs_maxoff);
		if (!OffsetNumberIsValid(off))
			return false;
		if (off > scan->rs_maxoff || scan->rs_byoff[off] < 0)
			continue;
		pgstat_count_heap_getnext(sscan->rs_rd);
		ExecStoreHeapTuple(&scan->rs_tuples[scan->rs_byoff[off]], slot, false);
		return true;
	}
}

/* ----------------------------------------------------------------
 *		ANALYZE
 * ----------------------------------------------------------------
 */

/*
 * The sampled page stays pinned and share-locked until its rows are all
 * classified, as in heap: the classification needs the buffer locked.
 */
bool
engram_scan_analyze_next_block(TableScanDesc sscan, BlockNumber blockno,
							   BufferAccessStrategy bstrategy)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;
	Relation	rel = sscan->rs_rd;
	Buffer		buf;
	bool		is_new;

	if (BufferIsValid(scan->rs_abuf))
	{
		UnlockReleaseBuffer(scan->rs_abuf);
		scan->rs_abuf = InvalidBuffer;
	}

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blockno, RBM_NORMAL, bstrategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	engram_check_page(rel, blockno, BufferGetPage(buf), &is_new);
	if (is_new ||
		EngramPageGetOpaque(BufferGetPage(buf))->kind != ENGRAM_PAGE_DATA)
	{
		UnlockReleaseBuffer(buf);
		return false;
	}
	scan->rs_abuf = buf;
	scan->rs_cblock = blockno;
	scan->rs_aoff = FirstOffsetNumber;
	return true;
}

bool
engram_scan_analyze_next_tuple(TableScanDesc sscan, TransactionId OldestXmin,
							   double *liverows, double *deadrows,
							   TupleTableSlot *slot)
{
	EngramScanDesc scan = (EngramScanDesc) sscan;
	Relation	rel = sscan->rs_rd;
	Buffer		buf = scan->rs_abuf;
	Page		page;
	OffsetNumber maxoff;

	if (!BufferIsValid(buf))
		return false;
	page = BufferGetPage(buf);
	maxoff = PageGetMaxOffsetNumber(page);

	for (; scan->rs_aoff <= maxoff; scan->rs_aoff++)
	{
		OffsetNumber off = scan->rs_aoff;
		ItemId		lp = PageGetItemId(page, off);
		EngramHeaderCopy hc;
		HeapTupleData htup;
		bool		sample_it = false;

		if (ItemIdIsDead(lp))
		{
			*deadrows += 1;
			continue;
		}
		if (!ItemIdIsNormal(lp))
			continue;

		ItemPointerSet(&htup.t_self, scan->rs_cblock, off);
		engram_copy_header(rel, scan->rs_cblock, page, off, &hc, &htup);
		/* a COLD chunk item (ADR 0010) is neither a live nor a dead row */
		if (EngramItemIsChunk(PageGetItem(page, lp)))
			continue;

		engram_prehint_strict(htup.t_data);
		switch (HeapTupleSatisfiesVacuum(&htup, OldestXmin, buf))
		{
			case HEAPTUPLE_LIVE:
				sample_it = true;
				*liverows += 1;
				break;
			case HEAPTUPLE_DEAD:
			case HEAPTUPLE_RECENTLY_DEAD:
				*deadrows += 1;
				break;
			case HEAPTUPLE_INSERT_IN_PROGRESS:
				/* our own inserts count, others' do not (as in heap) */
				if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(htup.t_data)))
				{
					sample_it = true;
					*liverows += 1;
				}
				break;
			case HEAPTUPLE_DELETE_IN_PROGRESS:
				if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetUpdateXid(htup.t_data)))
					*deadrows += 1;
				else
				{
					sample_it = true;
					*liverows += 1;
				}
				break;
		}

		if (sample_it)
		{
			MemoryContext old = MemoryContextSwitchTo(slot->tts_mcxt);
			HeapTuple	copy = engram_copy_tuple(rel, buf, page, off);

			MemoryContextSwitchTo(old);
			ExecStoreHeapTuple(copy, slot, true);
			scan->rs_aoff++;
			return true;
		}
	}

	UnlockReleaseBuffer(buf);
	scan->rs_abuf = InvalidBuffer;
	ExecClearTuple(slot);
	return false;
}

/* ----------------------------------------------------------------
 *		index builds
 * ----------------------------------------------------------------
 */

/* what an index build does with one row */
typedef struct EngramBuildRow
{
	HeapTuple	tup;
	bool		alive;
} EngramBuildRow;

double
engram_index_build_range_scan(Relation table_rel, Relation index_rel,
							  struct IndexInfo *indexInfo, bool allow_sync,
							  bool anyvisible, bool progress,
							  BlockNumber start_blockno, BlockNumber numblocks,
							  IndexBuildCallback callback,
							  void *callback_state, TableScanDesc sscan)
{
	EngramScanDesc scan;
	Snapshot	snapshot;
	bool		need_unregister_snapshot = false;
	bool		checking_uniqueness;
	TransactionId OldestXmin = InvalidTransactionId;
	EState	   *estate;
	ExprContext *econtext;
	ExprState  *predicate;
	TupleTableSlot *slot;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	double		reltuples = 0;
	BlockNumber blkno;
	BlockNumber end_blockno;
	BlockNumber blocks_done = 0;
	EngramBuildRow *rows;
	MemoryContext pagecxt;

	checking_uniqueness = (indexInfo->ii_Unique ||
						   indexInfo->ii_ExclusionOps != NULL);
	Assert(!(anyvisible && checking_uniqueness));

	estate = CreateExecutorState();
	econtext = GetPerTupleExprContext(estate);
	slot = table_slot_create(table_rel, NULL);
	econtext->ecxt_scantuple = slot;
	predicate = ExecPrepareQual(indexInfo->ii_Predicate, estate);

	if (sscan == NULL)
	{
		/* concurrent builds use an MVCC snapshot, others see every row */
		if (indexInfo->ii_Concurrent)
		{
			snapshot = RegisterSnapshot(GetTransactionSnapshot());
			need_unregister_snapshot = true;
		}
		else
			snapshot = SnapshotAny;
		sscan = table_beginscan_strat(table_rel, snapshot, 0, NULL, true, false);
	}
	else
	{
		/* parallel build: the leader chose the snapshot */
		Assert(!IsBootstrapProcessingMode());
		snapshot = sscan->rs_snapshot;
	}
	scan = (EngramScanDesc) sscan;

	if (snapshot == SnapshotAny)
		OldestXmin = GetOldestNonRemovableTransactionId(table_rel);

	end_blockno = scan->rs_nblocks;
	if (numblocks != InvalidBlockNumber && start_blockno + numblocks < end_blockno)
		end_blockno = start_blockno + numblocks;

	if (progress)
	{
		BlockNumber total = scan->rs_nblocks;

		if (sscan->rs_parallel == NULL && numblocks != InvalidBlockNumber)
			total = end_blockno > start_blockno ? end_blockno - start_blockno : 0;
		pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_TOTAL, total);
	}

	rows = palloc(sizeof(EngramBuildRow) * MaxHeapTuplesPerPage);
	pagecxt = AllocSetContextCreate(CurrentMemoryContext, "engram index build page",
									ALLOCSET_DEFAULT_SIZES);

	blkno = start_blockno;
	for (;;)
	{
		Buffer		buf;
		Page		page;
		bool		is_new;
		int			nrows;
		OffsetNumber off,
					maxoff;
		TransactionId xwait;
		int			i;

		CHECK_FOR_INTERRUPTS();

		if (sscan->rs_parallel != NULL)
		{
			blkno = engram_next_block_forward(scan);
			if (blkno == InvalidBlockNumber)
				break;
			scan->rs_cblock = blkno;
		}
		else if (blkno >= end_blockno)
			break;

recheck:
		MemoryContextReset(pagecxt);
		nrows = 0;
		xwait = InvalidTransactionId;

		buf = ReadBufferExtended(table_rel, MAIN_FORKNUM, blkno, RBM_NORMAL,
								 scan->rs_strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		engram_check_page(table_rel, blkno, page, &is_new);
		if (is_new || EngramPageGetOpaque(page)->kind != ENGRAM_PAGE_DATA)
			maxoff = 0;
		else
			maxoff = engram_data_page_maxoff(table_rel, blkno, page);

		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			EngramHeaderCopy hc;
			HeapTupleData htup;
			bool		indexIt = false;
			bool		alive = false;

			if (!ItemIdIsNormal(PageGetItemId(page, off)))
				continue;
			ItemPointerSet(&htup.t_self, blkno, off);
			engram_copy_header(table_rel, blkno, page, off, &hc, &htup);

			if (snapshot != SnapshotAny)
			{
				indexIt = engram_tuple_visible(&htup, snapshot, buf);
				alive = true;
				if (indexIt)
					reltuples += 1;
			}
			else
			{
				engram_prehint_strict(htup.t_data);
		switch (HeapTupleSatisfiesVacuum(&htup, OldestXmin, buf))
				{
					case HEAPTUPLE_DEAD:
						break;
					case HEAPTUPLE_LIVE:
						indexIt = alive = true;
						reltuples += 1;
						break;
					case HEAPTUPLE_RECENTLY_DEAD:
						/* old snapshots may still reach it via the index */
						indexIt = true;
						alive = false;
						break;
					case HEAPTUPLE_INSERT_IN_PROGRESS:
						if (anyvisible)
						{
							indexIt = alive = true;
							reltuples += 1;
							break;
						}
						if (!TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(htup.t_data)))
						{
							if (checking_uniqueness)
							{
								xwait = HeapTupleHeaderGetXmin(htup.t_data);
								break;
							}
							elog(WARNING, "concurrent insert in progress within table \"%s\"",
								 RelationGetRelationName(table_rel));
						}
						indexIt = alive = true;
						reltuples += 1;
						break;
					case HEAPTUPLE_DELETE_IN_PROGRESS:
						if (anyvisible)
						{
							indexIt = alive = true;
							reltuples += 1;
							break;
						}
						if (!TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetUpdateXid(htup.t_data)))
						{
							if (checking_uniqueness)
							{
								xwait = HeapTupleHeaderGetUpdateXid(htup.t_data);
								break;
							}
							elog(WARNING, "concurrent delete in progress within table \"%s\"",
								 RelationGetRelationName(table_rel));
							reltuples += 1;
						}
						/* index it, but never check it for uniqueness */
						indexIt = true;
						alive = false;
						break;
				}
			}
			if (TransactionIdIsValid(xwait))
				break;
			if (indexIt)
			{
				MemoryContext old = MemoryContextSwitchTo(pagecxt);

				rows[nrows].tup = engram_copy_tuple(table_rel, buf, page, off);
				rows[nrows].alive = alive;
				nrows++;
				MemoryContextSwitchTo(old);
			}
		}
		UnlockReleaseBuffer(buf);

		if (TransactionIdIsValid(xwait))
		{
			/* a uniqueness check could fail on a row that will go away */
			ItemPointerData tid;

			ItemPointerSet(&tid, blkno, off);
			XactLockTableWait(xwait, table_rel, &tid, XLTW_InsertIndexUnique);
			goto recheck;
		}

		for (i = 0; i < nrows; i++)
		{
			HeapTuple	tup = rows[i].tup;

			MemoryContextReset(econtext->ecxt_per_tuple_memory);
			ExecStoreHeapTuple(tup, slot, false);
			if (predicate != NULL && !ExecQual(predicate, econtext))
				continue;
			FormIndexDatum(indexInfo, slot, estate, values, isnull);
			callback(index_rel, &tup->t_self, values, isnull, rows[i].alive,
					 callback_state);
		}
		ExecClearTuple(slot);

		blocks_done++;
		if (progress)
			pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_DONE,
										 blocks_done);
		if (sscan->rs_parallel == NULL)
			blkno++;
	}

	table_endscan(sscan);
	if (need_unregister_snapshot)
		UnregisterSnapshot(snapshot);

	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	MemoryContextDelete(pagecxt);
	pfree(rows);

	/* these may have been pointing to the now-gone estate */
	indexInfo->ii_ExpressionsState = NIL;
	indexInfo->ii_PredicateState = NULL;

	return reltuples;
}

/*
 * CREATE INDEX CONCURRENTLY, phase 3: insert into the index every row the
 * reference snapshot sees that the index does not have yet.  The index's
 * TIDs arrive sorted; a scan in block order yields rows in TID order, so
 * one merge pass finds the missing ones.
 */
void
engram_index_validate_scan(Relation table_rel, Relation index_rel,
						   struct IndexInfo *indexInfo, Snapshot snapshot,
						   struct ValidateIndexState *state)
{
	TableScanDesc sscan;
	TupleTableSlot *slot;
	EState	   *estate;
	ExprContext *econtext;
	ExprState  *predicate;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	ItemPointerData indexcursor;
	bool		tuplesort_empty = false;
	BlockNumber last_block = InvalidBlockNumber;

	ItemPointerSetInvalid(&indexcursor);

	estate = CreateExecutorState();
	econtext = GetPerTupleExprContext(estate);
	slot = table_slot_create(table_rel, NULL);
	econtext->ecxt_scantuple = slot;
	predicate = ExecPrepareQual(indexInfo->ii_Predicate, estate);

	sscan = table_beginscan_strat(table_rel, snapshot, 0, NULL, true, false);
	pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_TOTAL,
								 ((EngramScanDesc) sscan)->rs_nblocks);

	while (engram_scan_getnextslot(sscan, ForwardScanDirection, slot))
	{
		ItemPointer tid = &slot->tts_tid;
		bool		in_index = false;

		CHECK_FOR_INTERRUPTS();

		if (ItemPointerGetBlockNumber(tid) != last_block)
		{
			last_block = ItemPointerGetBlockNumber(tid);
			pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_DONE,
										 last_block);
		}

		/* advance the index cursor to the first TID >= this row's */
		while (!tuplesort_empty &&
			   (!ItemPointerIsValid(&indexcursor) ||
				ItemPointerCompare(&indexcursor, tid) < 0))
		{
			Datum		ts_val;
			bool		ts_isnull;

			tuplesort_empty = !tuplesort_getdatum(state->tuplesort, true,
												  &ts_val, &ts_isnull, NULL);
			Assert(tuplesort_empty || !ts_isnull);
			if (!tuplesort_empty)
			{
				itemptr_decode(&indexcursor, DatumGetInt64(ts_val));
				state->itups += 1;
			}
		}
		if (!tuplesort_empty && ItemPointerEquals(&indexcursor, tid))
			in_index = true;

		state->htups += 1;
		if (in_index)
			continue;

		MemoryContextReset(econtext->ecxt_per_tuple_memory);
		if (predicate != NULL && !ExecQual(predicate, econtext))
			continue;
		FormIndexDatum(indexInfo, slot, estate, values, isnull);
		index_insert(index_rel, values, isnull, tid, table_rel,
					 indexInfo->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 false, indexInfo);
		state->tups_inserted += 1;
	}

	table_endscan(sscan);
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);

	indexInfo->ii_ExpressionsState = NIL;
	indexInfo->ii_PredicateState = NULL;
}
