/*-------------------------------------------------------------------------
 *
 * engram_am_insert.c
 *	  engram table AM: insert, speculative insert, multi-insert, toasting
 *	  and choosing the page a new row goes to.
 *
 * A new row is an item (EngramItemHeaderData + heap-layout tuple) added to a
 * DATA page inside one generic WAL record; the page's initialisation, when
 * it is new, is part of the same record (full image).  The row's t_ctid is
 * set to its own TID in that record, so the page is never changed without
 * WAL.  New rows always start in the HOT tier.
 *
 * IDENTIFICATION
 *	  src/engram_am_insert.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/heapam.h"
#include "access/heaptoast.h"
#include "access/hio.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "storage/predicate.h"
#include "utils/rel.h"

#include "engram_am.h"
#include "fault.h"

/* space one tuple takes on a page: item header, tuple, line pointer */
static inline Size
engram_item_space(HeapTuple tup)
{
	return MAXALIGN(SizeOfEngramItemHeader + tup->t_len) + sizeof(ItemIdData);
}

/* free space of a DATA page for new items (0 if no line pointer is left) */
static Size
engram_page_free(Page page)
{
	Size		space;

	if (EngramPageGetOpaque(page)->kind != ENGRAM_PAGE_DATA)
		return 0;
	/* PageGetHeapFreeSpace has already taken a line pointer off */
	space = PageGetHeapFreeSpace(page);
	return space > 0 ? space + sizeof(ItemIdData) : 0;
}

static Buffer
engram_read_buffer(Relation rel, BlockNumber blkno,
				   BufferAccessStrategy strategy)
{
	return ReadBufferExtended(rel, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
}

/* add one all-zero page at the end of rel; returned pinned and locked */
static Buffer
engram_extend(Relation rel, BufferAccessStrategy strategy)
{
	bool		needLock = !RELATION_IS_LOCAL(rel);
	Buffer		buf;

	if (needLock)
		LockRelationForExtension(rel, ExclusiveLock);
	buf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_ZERO_AND_LOCK,
							 strategy);
	if (needLock)
		UnlockRelationForExtension(rel, ExclusiveLock);

	if (!PageIsNew(BufferGetPage(buf)))
		elog(ERROR, "page %u of relation \"%s\" should be empty but is not",
			 BufferGetBlockNumber(buf), RelationGetRelationName(rel));
	return buf;
}

static Buffer
engram_buffer_for_insert_strat(Relation rel, Size len, Buffer otherBuffer,
							   bool *is_new, BufferAccessStrategy strategy,
							   Buffer *vmbuf)
{
	BlockNumber other = BufferIsValid(otherBuffer) ?
	BufferGetBlockNumber(otherBuffer) : InvalidBlockNumber;
	BlockNumber target;
	Buffer		buf;
	Size		save;
	Size		nearly_empty;
	Size		want;

	*is_new = false;
	if (len > ENGRAM_MAX_ITEM_SIZE + sizeof(ItemIdData))
		elog(ERROR, "engram item of %zu bytes cannot fit a page", len);

	/*
	 * fillfactor, as heap's RelationGetBufferForTuple: leave that much of
	 * each page free for later updates, but take a nearly empty page for an
	 * item too big to leave it (a page of only line pointers is "empty").
	 * An UPDATE that fits on its old version's page goes there whatever the
	 * fillfactor (engram_tuple_update checks that first), as on heap.
	 */
	save = RelationGetTargetPageFreeSpace(rel, HEAP_DEFAULT_FILLFACTOR);
	nearly_empty = ENGRAM_MAX_ITEM_SIZE + sizeof(ItemIdData) -
		(MaxHeapTuplesPerPage / 8 * sizeof(ItemIdData));
	if (len + save > nearly_empty)
		want = Max(len, nearly_empty);
	else
		want = len + save;
	len = want;

	/* the FSM keeps no entries below its granularity; ask at least that */
	target = RelationGetTargetBlock(rel);
	if (target == InvalidBlockNumber)
		target = GetPageWithFreeSpace(rel, Max(len, ENGRAM_MIN_FREE_FOR_FSM));
	if (target == InvalidBlockNumber)
	{
		/*
		 * The FSM knows nothing yet (it is filled by VACUUM and when a page
		 * runs full): try the last page before adding one, or every new
		 * session would start a page of its own.
		 */
		BlockNumber nblocks = RelationGetNumberOfBlocks(rel);

		if (nblocks > 0)
			target = nblocks - 1;
	}

	while (target != InvalidBlockNumber)
	{
		Page		page;
		bool		new_page;
		Size		freespace;

		CHECK_FOR_INTERRUPTS();

		if (target == other)
		{
			buf = otherBuffer;	/* already locked by the caller */
			if (engram_page_free(BufferGetPage(buf)) >= len)
			{
				RelationSetTargetBlock(rel, target);
				return buf;
			}
			freespace = engram_page_free(BufferGetPage(buf));
		}
		else
		{
			buf = engram_read_buffer(rel, target, strategy);
			/* the VM page, if the page looks all-visible, before its lock */
			engram_vm_pin_for(rel, buf, vmbuf);
			if (other != InvalidBlockNumber && target < other)
			{
				/*
				 * A lower page than the one the caller holds: waiting for it
				 * could deadlock against the lower-block-first order, so take
				 * it only if its lock is free right now.
				 */
				if (!ConditionalLockBuffer(buf))
				{
					ReleaseBuffer(buf);
					break;		/* extend instead */
				}
			}
			else
				LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			page = BufferGetPage(buf);
			engram_check_page(rel, target, page, &new_page);
			if (new_page)
			{
				*is_new = true;
				RelationSetTargetBlock(rel, target);
				return buf;
			}
			freespace = engram_page_free(page);
			if (freespace >= len)
			{
				RelationSetTargetBlock(rel, target);
				return buf;
			}
			UnlockReleaseBuffer(buf);
		}

		/* not enough room: tell the FSM and ask it again */
		target = RecordAndGetPageWithFreeSpace(rel, target, freespace,
											   Max(len, ENGRAM_MIN_FREE_FOR_FSM));
	}

	buf = engram_extend(rel, strategy);
	*is_new = true;
	RelationSetTargetBlock(rel, BufferGetBlockNumber(buf));
	return buf;
}

Buffer
engram_buffer_for_insert(Relation rel, Size len, Buffer otherBuffer,
						 bool *is_new, Buffer *vmbuf)
{
	return engram_buffer_for_insert_strat(rel, len, otherBuffer, is_new, NULL,
										  vmbuf);
}

HeapTuple
engram_prepare_insert(Relation rel, HeapTuple tup, TransactionId xid,
					  CommandId cid, int options)
{
	HeapTuple	result = tup;
	Size		itemlen;

	tup->t_data->t_infomask &= ~(HEAP_XACT_MASK);
	tup->t_data->t_infomask2 &= ~(HEAP2_XACT_MASK);
	tup->t_data->t_infomask |= HEAP_XMAX_INVALID;
	HeapTupleHeaderSetXmin(tup->t_data, xid);
	if (options & HEAP_INSERT_FROZEN)
		HeapTupleHeaderSetXminFrozen(tup->t_data);
	HeapTupleHeaderSetCmin(tup->t_data, cid);
	HeapTupleHeaderSetXmax(tup->t_data, 0);
	tup->t_tableOid = RelationGetRelid(rel);

	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_MATVIEW)
		Assert(!HeapTupleHasExternal(tup));
	else if (HeapTupleHasExternal(tup) || tup->t_len > ENGRAM_TOAST_THRESHOLD)
		result = heap_toast_insert_or_update(rel, tup, NULL, options);

	itemlen = SizeOfEngramItemHeader + result->t_len;
	if (MAXALIGN(itemlen) > ENGRAM_MAX_ITEM_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("row is too big: size %zu, maximum size %zu",
						(Size) result->t_len, (Size) ENGRAM_MAX_TUPLE_SIZE),
				 errhint("Use fewer or narrower fixed-width columns; variable-length values are moved out of line automatically.")));
	return result;
}

OffsetNumber
engram_page_add_tuple(Page page, BlockNumber blkno, HeapTuple tup)
{
	Size		itemlen = SizeOfEngramItemHeader + tup->t_len;
	char	   *item;
	EngramItemHeader ih;
	OffsetNumber off;
	ItemId		lp;

	/* PageGetHeapFreeSpace already keeps room for one line pointer */
	if (PageGetHeapFreeSpace(page) < MAXALIGN(itemlen))
		return InvalidOffsetNumber;

	item = palloc(itemlen);
	ih = (EngramItemHeader) item;
	ih->tier = ENGRAM_TIER_HOT;
	ih->flags = 0;
	ih->access_count = 0;
	ih->last_access = 0;
	memcpy(item + SizeOfEngramItemHeader, tup->t_data, tup->t_len);

	off = PageAddItemExtended(page, (Item) item, itemlen, InvalidOffsetNumber,
							  PAI_IS_HEAP);
	pfree(item);
	if (off == InvalidOffsetNumber)
		return InvalidOffsetNumber;

	/* a row that is not frozen makes the page need freezing again */
	if (!(HeapTupleHeaderXminFrozen(tup->t_data) &&
		  (tup->t_data->t_infomask & HEAP_XMAX_INVALID)))
		EngramPageGetOpaque(page)->flags &= ~ENGRAM_PAGE_ALL_FROZEN;

	/* the row's own TID, set inside the WAL'd change */
	ItemPointerSet(&tup->t_self, blkno, off);
	lp = PageGetItemId(page, off);
	{
		HeapTupleHeader hdr = EngramItemGetTupleHeader(PageGetItem(page, lp));

		/* a speculative token in t_ctid stays until the insert completes */
		if (!HeapTupleHeaderIsSpeculative(hdr))
			hdr->t_ctid = tup->t_self;
		if (!HeapTupleHeaderIsSpeculative(tup->t_data))
			tup->t_data->t_ctid = tup->t_self;
	}
	return off;
}

/* store one prepared tuple; tup->t_self is set */
static void
engram_insert_prepared(Relation rel, HeapTuple tup, BulkInsertState bistate)
{
	Buffer		buf;
	bool		is_new;
	GenericXLogState *state;
	Page		page;
	BlockNumber blkno;
	Buffer		vmbuf = InvalidBuffer;
	EngramVmRecord vr = {0};

	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);

	buf = engram_buffer_for_insert_strat(rel, engram_item_space(tup),
										 InvalidBuffer, &is_new,
										 bistate ? bistate->strategy : NULL,
										 &vmbuf);
	blkno = BufferGetBlockNumber(buf);

	ENGRAM_FAULT_POINT("insert_before_wal");

	state = GenericXLogStart(rel);
	page = GenericXLogRegisterBuffer(state, buf,
									 is_new ? GENERIC_XLOG_FULL_IMAGE : 0);
	if (is_new)
		engram_page_init(page, ENGRAM_PAGE_DATA);
	else
		engram_vm_clear(rel, state, &vr, blkno, page, &vmbuf,
						VISIBILITYMAP_VALID_BITS);
	if (engram_page_add_tuple(page, blkno, tup) == InvalidOffsetNumber)
	{
		GenericXLogAbort(state);
		engram_vm_unlock(&vr);
		UnlockReleaseBuffer(buf);
		elog(ERROR, "failed to add row to page %u of relation \"%s\"",
			 blkno, RelationGetRelationName(rel));
	}
	GenericXLogFinish(state);
	engram_vm_unlock(&vr);
	UnlockReleaseBuffer(buf);
	engram_vm_release(&vmbuf);

	pgstat_count_heap_insert(rel, 1);
}

static void
engram_insert_slot(Relation rel, TupleTableSlot *slot, CommandId cid,
				   int options, BulkInsertState bistate, uint32 specToken,
				   bool speculative)
{
	bool		shouldFree = true;
	HeapTuple	tuple = ExecFetchSlotHeapTuple(slot, true, &shouldFree);
	HeapTuple	heaptup;

	slot->tts_tableOid = RelationGetRelid(rel);
	tuple->t_tableOid = slot->tts_tableOid;

	heaptup = engram_prepare_insert(rel, tuple, GetCurrentTransactionId(),
									cid, options);
	if (speculative)
		HeapTupleHeaderSetSpeculativeToken(heaptup->t_data, specToken);

	engram_insert_prepared(rel, heaptup, bistate);

	ItemPointerCopy(&heaptup->t_self, &slot->tts_tid);
	if (heaptup != tuple)
	{
		tuple->t_self = heaptup->t_self;
		heap_freetuple(heaptup);
	}
	if (shouldFree)
		pfree(tuple);
}

void
engram_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
					int options, struct BulkInsertStateData *bistate)
{
	engram_insert_slot(rel, slot, cid, options, bistate, 0, false);
}

void
engram_tuple_insert_speculative(Relation rel, TupleTableSlot *slot,
								CommandId cid, int options,
								struct BulkInsertStateData *bistate,
								uint32 specToken)
{
	engram_insert_slot(rel, slot, cid, options, bistate, specToken, true);
}

/*
 * COPY and friends: fill each page with as many rows as fit, one generic
 * WAL record per page.
 */
void
engram_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
					CommandId cid, int options,
					struct BulkInsertStateData *bistate)
{
	TransactionId xid = GetCurrentTransactionId();
	HeapTuple  *tuples;
	HeapTuple  *originals;
	int			i;
	int			done = 0;
	Buffer		vmbuf = InvalidBuffer;

	tuples = palloc(nslots * sizeof(HeapTuple));
	originals = palloc(nslots * sizeof(HeapTuple));
	for (i = 0; i < nslots; i++)
	{
		HeapTuple	tup = ExecFetchSlotHeapTuple(slots[i], true, NULL);

		slots[i]->tts_tableOid = RelationGetRelid(rel);
		tup->t_tableOid = slots[i]->tts_tableOid;
		originals[i] = tup;
		tuples[i] = engram_prepare_insert(rel, tup, xid, cid, options);
	}

	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);

	while (done < nslots)
	{
		Buffer		buf;
		bool		is_new;
		GenericXLogState *state;
		Page		page;
		BlockNumber blkno;
		int			first = done;
		EngramVmRecord vr = {0};

		CHECK_FOR_INTERRUPTS();

		buf = engram_buffer_for_insert_strat(rel,
											 engram_item_space(tuples[done]),
											 InvalidBuffer, &is_new,
											 bistate ? bistate->strategy : NULL,
											 &vmbuf);
		blkno = BufferGetBlockNumber(buf);

		state = GenericXLogStart(rel);
		page = GenericXLogRegisterBuffer(state, buf,
										 is_new ? GENERIC_XLOG_FULL_IMAGE : 0);
		if (is_new)
			engram_page_init(page, ENGRAM_PAGE_DATA);
		else
			engram_vm_clear(rel, state, &vr, blkno, page, &vmbuf,
							VISIBILITYMAP_VALID_BITS);
		/* the first row always goes in; later ones leave fillfactor's room */
		while (done < nslots &&
			   (done == first ||
				PageGetHeapFreeSpace(page) >= engram_item_space(tuples[done]) +
				RelationGetTargetPageFreeSpace(rel, HEAP_DEFAULT_FILLFACTOR)) &&
			   engram_page_add_tuple(page, blkno, tuples[done]) != InvalidOffsetNumber)
			done++;
		if (done == first)
		{
			GenericXLogAbort(state);
			engram_vm_unlock(&vr);
			UnlockReleaseBuffer(buf);
			elog(ERROR, "failed to add row to page %u of relation \"%s\"",
				 blkno, RelationGetRelationName(rel));
		}
		GenericXLogFinish(state);
		engram_vm_unlock(&vr);
		UnlockReleaseBuffer(buf);

		if (done < nslots)
			ENGRAM_FAULT_POINT("multi_insert_mid_batch");
	}

	for (i = 0; i < nslots; i++)
	{
		slots[i]->tts_tid = tuples[i]->t_self;
		if (tuples[i] != originals[i])
		{
			/* a toasted copy: the slot's own tuple needs the TID too */
			originals[i]->t_self = tuples[i]->t_self;
			heap_freetuple(tuples[i]);
		}
	}
	engram_vm_release(&vmbuf);
	pgstat_count_heap_insert(rel, nslots);
	pfree(tuples);
	pfree(originals);
}

void
engram_finish_bulk_insert(Relation rel, int options)
{
	/* rows were WAL-logged as they went in; nothing is buffered */
}
