/*-------------------------------------------------------------------------
 *
 * engram_am_ddl.c
 *	  engram table AM: storage creation, truncation, copying a relation's
 *	  files, VACUUM FULL / CLUSTER, and size estimates.
 *
 * IDENTIFICATION
 *	  src/engram_am_ddl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/genam.h"
#include "access/heapam.h"
#include "access/heaptoast.h"
#include "access/htup_details.h"
#include "access/multixact.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xloginsert.h"
#include "catalog/catalog.h"
#include "catalog/pg_am_d.h"
#include "executor/tuptable.h"
#include "catalog/storage.h"
#include "catalog/storage_xlog.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplesort.h"

#include "engram_am.h"
#include "tier.h"

void
engram_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
								 char persistence, TransactionId *freezeXid,
								 MultiXactId *minmulti)
{
	SMgrRelation srel;

	/* no row in the new storage is older than any running snapshot */
	*freezeXid = RecentXmin;
	*minmulti = GetOldestMultiXactId();

	srel = RelationCreateStorage(*newrnode, persistence, true);

	/*
	 * An unlogged table is reset to its init fork after a crash.  Generic
	 * WAL writes nothing for unlogged relations, so the (empty) init fork is
	 * created and logged here, as heap does.
	 */
	if (persistence == RELPERSISTENCE_UNLOGGED)
	{
		smgrcreate(srel, INIT_FORKNUM, false);
		log_smgrcreate(newrnode, INIT_FORKNUM);
		smgrimmedsync(srel, INIT_FORKNUM);
	}

	smgrclose(srel);
}

void
engram_relation_nontransactional_truncate(Relation rel)
{
	RelationTruncate(rel, 0);
	tier_cache_invalidate(RelationGetRelid(rel));
}

/* ALTER TABLE ... SET TABLESPACE: copy every fork block by block, with WAL */
void
engram_relation_copy_data(Relation rel, const RelFileNode *newrnode)
{
	SMgrRelation dstrel;
	ForkNumber	fork;

	dstrel = smgropen(*newrnode, rel->rd_backend);

	/* the copy reads the files: write back what is only in shared buffers */
	FlushRelationBuffers(rel);

	RelationCreateStorage(*newrnode, rel->rd_rel->relpersistence, true);
	RelationCopyStorage(RelationGetSmgr(rel), dstrel, MAIN_FORKNUM,
						rel->rd_rel->relpersistence);

	for (fork = MAIN_FORKNUM + 1; fork <= MAX_FORKNUM; fork++)
	{
		if (!smgrexists(RelationGetSmgr(rel), fork))
			continue;
		smgrcreate(dstrel, fork, false);

		/* an unlogged table's init fork must be logged too */
		if (RelationIsPermanent(rel) ||
			(rel->rd_rel->relpersistence == RELPERSISTENCE_UNLOGGED &&
			 fork == INIT_FORKNUM))
			log_smgrcreate(newrnode, fork);
		RelationCopyStorage(RelationGetSmgr(rel), dstrel, fork,
							rel->rd_rel->relpersistence);
	}

	RelationDropStorage(rel);
	smgrclose(dstrel);
}

/* ----------------------------------------------------------------
 *		VACUUM FULL / CLUSTER
 * ----------------------------------------------------------------
 */

/*
 * Pages of the new relation are built locally, then logged as full images.
 * Rows keep their tier (ADR 0010): HOT and WARM rows go to page, COLD rows
 * are gathered in cold[] and packed onto pages of their own, as references
 * plus one chunk item per page (tier_pack_cold), so the new relation is as
 * small as the tiers allow.
 */
typedef struct EngramRewriteState
{
	Relation	rel;
	PGAlignedBlock page;
	bool		has_rows;
	BlockNumber written;
	PGAlignedBlock cpage;		/* for COLD rows */
	MemoryContext coldcxt;
	HeapTuple  *cold;
	int			ncold;
	int			maxcold;
	Size		cold_raw;
	TierLossy	lossy;			/* the table's cold_vectors option */
} EngramRewriteState;

/*
 * A row's tier travels with it from engram_cluster_fetch to
 * engram_rewrite_add (through a tuplesort for CLUSTER) in t_ctid, which the
 * new page sets to the row's new TID anyway.
 */
#define REWRITE_SET_TIER(tup, tier) \
	ItemPointerSet(&(tup)->t_data->t_ctid, 0, (OffsetNumber) ((tier) + 1))
#define REWRITE_GET_TIER(tup) \
	((int) Min(Max(ItemPointerGetOffsetNumberNoCheck(&(tup)->t_data->t_ctid), 1), \
			   ENGRAM_NUM_TIERS) - 1)

static void
engram_rewrite_write(EngramRewriteState *rs, Page local)
{
	Buffer		buf;
	GenericXLogState *state;
	Page		page;
	BlockNumber blkno;
	OffsetNumber off,
				maxoff;

	buf = ReadBufferExtended(rs->rel, MAIN_FORKNUM, P_NEW, RBM_ZERO_AND_LOCK,
							 NULL);
	blkno = BufferGetBlockNumber(buf);
	state = GenericXLogStart(rs->rel);
	page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
	memcpy(page, local, BLCKSZ);

	/*
	 * every row is its own newest version: t_ctid = its new TID; COLD
	 * references name this page, where their chunk is
	 */
	maxoff = PageGetMaxOffsetNumber(page);
	for (off = FirstOffsetNumber; off <= maxoff; off++)
	{
		Item		item = PageGetItem(page, PageGetItemId(page, off));
		HeapTupleHeader hdr = EngramItemGetTupleHeader(item);

		if (EngramItemIsChunk(item))
			continue;
		ItemPointerSet(&hdr->t_ctid, blkno, off);
		if (((EngramItemHeader) item)->tier == ENGRAM_TIER_COLD)
		{
			EngramColdRef ref;

			memcpy(&ref, EngramItemGetBody(item), sizeof(ref));
			if (ref.chunk_off != 0)
			{
				ref.chunk_blkno = blkno;
				memcpy(EngramItemGetBody(item), &ref, sizeof(ref));
			}
		}
	}
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	rs->written++;
}

static void
engram_rewrite_flush(EngramRewriteState *rs)
{
	if (!rs->has_rows)
		return;
	engram_rewrite_write(rs, rs->page.data);
	engram_page_init(rs->page.data, ENGRAM_PAGE_DATA);
	rs->has_rows = false;
}

/* Pack gathered COLD rows into pages; unless final, only full pages */
static void
engram_rewrite_cold(EngramRewriteState *rs, bool final)
{
	int			start = 0;

	while (rs->ncold - start > 0 &&
		   (final || rs->cold_raw >= 4 * ENGRAM_MAX_ITEM_SIZE))
	{
		int			n;
		int			i;

		CHECK_FOR_INTERRUPTS();
		engram_page_init(rs->cpage.data, ENGRAM_PAGE_DATA);
		n = tier_pack_cold(rs->cpage.data, rs->cold + start, rs->ncold - start,
						   rs->lossy.mode != TIER_COLD_LOSSLESS);
		if (n == 0)
			elog(ERROR, "row of %u bytes does not fit an empty engram page as COLD",
				 rs->cold[start]->t_len);
		engram_rewrite_write(rs, rs->cpage.data);
		for (i = start; i < start + n; i++)
			rs->cold_raw -= rs->cold[i]->t_len - rs->cold[i]->t_data->t_hoff;
		start += n;
	}
	if (start > 0)
	{
		int			i;

		for (i = 0; i < start; i++)
			heap_freetuple(rs->cold[i]);
		rs->ncold -= start;
		memmove(rs->cold, rs->cold + start, sizeof(HeapTuple) * rs->ncold);
	}
}

static void
engram_rewrite_add(EngramRewriteState *rs, HeapTuple tup)
{
	int			tier = REWRITE_GET_TIER(tup);
	Page		page = rs->page.data;
	HeapTupleHeader th = tup->t_data;
	Size		rawlen = tup->t_len - th->t_hoff;

	ItemPointerSetInvalid(&th->t_ctid);
	if (tier == ENGRAM_TIER_COLD && rawlen > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(rs->coldcxt);

		if (rs->ncold == rs->maxcold)
		{
			rs->maxcold = rs->maxcold ? rs->maxcold * 2 : 256;
			rs->cold = rs->cold ? repalloc(rs->cold, sizeof(HeapTuple) * rs->maxcold) :
				palloc(sizeof(HeapTuple) * rs->maxcold);
		}
		rs->cold[rs->ncold] = heap_copytuple(tup);
		/* cold_vectors = float16: COLD rows keep their vectors rounded */
		tier_lossy_round(&rs->lossy, rs->cold[rs->ncold]->t_data,
						 (char *) rs->cold[rs->ncold]->t_data + th->t_hoff, rawlen);
		rs->ncold++;
		rs->cold_raw += rawlen;
		MemoryContextSwitchTo(old);
		engram_rewrite_cold(rs, false);
		return;
	}
	if (tier == ENGRAM_TIER_WARM && rawlen > 0)
	{
		Size		wblen;
		char	   *wb = tier_warm_encode((char *) th + th->t_hoff, rawlen,
										  rawlen, &wblen);

		if (wb != NULL)
		{
			Size		len = SizeOfEngramItemHeader + th->t_hoff + wblen;
			char	   *item = palloc0(len);

			((EngramItemHeader) item)->tier = ENGRAM_TIER_WARM;
			memcpy(item + SizeOfEngramItemHeader, th, th->t_hoff);
			memcpy(item + SizeOfEngramItemHeader + th->t_hoff, wb, wblen);
			pfree(wb);
			/* fillfactor, as for HOT rows below */
			if (rs->has_rows &&
				PageGetHeapFreeSpace(page) < MAXALIGN(len) +
				RelationGetTargetPageFreeSpace(rs->rel, HEAP_DEFAULT_FILLFACTOR))
				engram_rewrite_flush(rs);
			if (PageAddItemExtended(page, (Item) item, len, InvalidOffsetNumber,
									PAI_IS_HEAP) == InvalidOffsetNumber)
				elog(ERROR, "WARM row of %zu bytes does not fit an empty engram page", len);
			pfree(item);
			if (!(HeapTupleHeaderXminFrozen(th) && (th->t_infomask & HEAP_XMAX_INVALID)))
				EngramPageGetOpaque(page)->flags &= ~ENGRAM_PAGE_ALL_FROZEN;
			rs->has_rows = true;
			return;
		}
	}
	/* fillfactor, as heap's rewrite: a started page keeps that room free */
	if ((!rs->has_rows ||
		 PageGetHeapFreeSpace(page) >=
		 MAXALIGN(SizeOfEngramItemHeader + tup->t_len) +
		 RelationGetTargetPageFreeSpace(rs->rel, HEAP_DEFAULT_FILLFACTOR)) &&
		engram_page_add_tuple(page, InvalidBlockNumber, tup) !=
		InvalidOffsetNumber)
	{
		rs->has_rows = true;
		return;
	}
	engram_rewrite_flush(rs);
	if (engram_page_add_tuple(page, InvalidBlockNumber, tup) ==
		InvalidOffsetNumber)
		elog(ERROR, "row of %u bytes does not fit an empty engram page",
			 tup->t_len);
	rs->has_rows = true;
}

/*
 * Re-form a kept row for the new relation: values of dropped columns become
 * NULL, the transaction fields are kept, xids older than the cutoffs are
 * frozen, and out-of-line values are re-toasted into the new toast table.
 */
static HeapTuple
engram_rewrite_tuple(Relation OldTable, Relation NewTable, HeapTuple tup,
					 TransactionId xid_cutoff, MultiXactId multi_cutoff,
					 Datum *values, bool *isnull)
{
	TupleDesc	olddesc = RelationGetDescr(OldTable);
	TupleDesc	newdesc = RelationGetDescr(NewTable);
	HeapTuple	copy;
	HeapTuple	result;
	int			tier = REWRITE_GET_TIER(tup);
	int			i;

	heap_deform_tuple(tup, olddesc, values, isnull);
	for (i = 0; i < newdesc->natts; i++)
		if (TupleDescAttr(newdesc, i)->attisdropped)
			isnull[i] = true;
	copy = heap_form_tuple(newdesc, values, isnull);

	memcpy(&copy->t_data->t_choice.t_heap, &tup->t_data->t_choice.t_heap,
		   sizeof(HeapTupleFields));
	copy->t_data->t_infomask &= ~HEAP_XACT_MASK;
	copy->t_data->t_infomask2 &= ~HEAP2_XACT_MASK;
	copy->t_data->t_infomask |= tup->t_data->t_infomask & HEAP_XACT_MASK;
	copy->t_data->t_infomask2 |= tup->t_data->t_infomask2 & HEAP2_XACT_MASK;
	/* no HOT in engram; and a moved row has no older chain to join */
	copy->t_data->t_infomask2 &= ~(HEAP_HOT_UPDATED | HEAP_ONLY_TUPLE);

	heap_freeze_tuple(copy->t_data, OldTable->rd_rel->relfrozenxid,
					  OldTable->rd_rel->relminmxid, xid_cutoff, multi_cutoff);

	copy->t_tableOid = RelationGetRelid(NewTable);
	result = copy;
	if (HeapTupleHasExternal(copy) || copy->t_len > ENGRAM_TOAST_THRESHOLD)
	{
		result = heap_toast_insert_or_update(NewTable, copy, NULL,
											 HEAP_INSERT_SKIP_FSM);
		if (result != copy)
			heap_freetuple(copy);
	}
	if (MAXALIGN(SizeOfEngramItemHeader + result->t_len) > ENGRAM_MAX_ITEM_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("row is too big: size %zu, maximum size %zu",
						(Size) result->t_len, (Size) ENGRAM_MAX_TUPLE_SIZE)));
	REWRITE_SET_TIER(result, tier);
	return result;
}

/* counters of a VACUUM FULL / CLUSTER copy */
typedef struct EngramClusterCounts
{
	double		num_tuples;
	double		tups_vacuumed;
	double		tups_recently_dead;
} EngramClusterCounts;

/*
 * Decide whether the row at (buf, off) must be kept (some snapshot may
 * still see it).  Buffer locked by the caller.  Returns the decoded row,
 * with the hint bits the check set, or NULL when the row is dead.
 */
static HeapTuple
engram_cluster_fetch(Relation OldTable, Buffer buf, Page page,
					 OffsetNumber off, TransactionId OldestXmin,
					 EngramClusterCounts *counts)
{
	BlockNumber blkno = BufferGetBlockNumber(buf);
	EngramHeaderCopy hc;
	HeapTupleData htup;
	HeapTuple	full;

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page) ||
		!ItemIdIsNormal(PageGetItemId(page, off)))
		return NULL;
	ItemPointerSet(&htup.t_self, blkno, off);
	engram_copy_header(OldTable, blkno, page, off, &hc, &htup);
	/* a COLD chunk item is not a row: its rows bring their data along */
	if (EngramItemIsChunk(PageGetItem(page, PageGetItemId(page, off))))
		return NULL;

	engram_prehint_strict(htup.t_data);
	switch (HeapTupleSatisfiesVacuum(&htup, OldestXmin, buf))
	{
		case HEAPTUPLE_DEAD:
			counts->tups_vacuumed += 1;
			return NULL;
		case HEAPTUPLE_RECENTLY_DEAD:
			counts->tups_recently_dead += 1;
			break;
		case HEAPTUPLE_LIVE:
		case HEAPTUPLE_INSERT_IN_PROGRESS:
		case HEAPTUPLE_DELETE_IN_PROGRESS:
			break;
	}
	counts->num_tuples += 1;
	pgstat_progress_update_param(PROGRESS_CLUSTER_HEAP_TUPLES_SCANNED,
								 counts->num_tuples);

	full = engram_copy_tuple(OldTable, buf, page, off);
	full->t_data->t_infomask = htup.t_data->t_infomask;
	REWRITE_SET_TIER(full, ((EngramItemHeader) PageGetItem(page, PageGetItemId(page, off)))->tier);
	return full;
}

/*
 * Copy the rows some transaction may still see (LIVE, RECENTLY_DEAD and
 * in-progress ones, per HeapTupleSatisfiesVacuum against OldestXmin) into
 * NewTable: in index order when OldIndex is given (through a sort for
 * btree, by an index scan for other clusterable index AMs such as GiST),
 * else in physical order.
 *
 * Update chains are broken: every copied row gets t_ctid = its own new TID.
 * A recently dead version's successor is therefore not reachable from it
 * any more; a transaction that still sees the old version and tries to
 * update it gets a serialization failure ("concurrent delete") instead of
 * following the chain.  This only concerns transactions whose snapshot
 * predates the rewrite, which holds an ACCESS EXCLUSIVE lock.
 */
void
engram_relation_copy_for_cluster(Relation OldTable, Relation NewTable,
								 Relation OldIndex, bool use_sort,
								 TransactionId OldestXmin,
								 TransactionId *xid_cutoff,
								 MultiXactId *multi_cutoff,
								 double *num_tuples, double *tups_vacuumed,
								 double *tups_recently_dead)
{
	TupleDesc	olddesc = RelationGetDescr(OldTable);
	Tuplesortstate *sort = NULL;
	EngramRewriteState *rs;
	EngramClusterCounts counts = {0};
	Datum	   *values;
	bool	   *isnull;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	bool		by_index_scan;

	by_index_scan = (OldIndex != NULL &&
					 OldIndex->rd_rel->relam != BTREE_AM_OID);
	if (OldIndex != NULL && !by_index_scan)
		sort = tuplesort_begin_cluster(olddesc, OldIndex, maintenance_work_mem,
									   NULL, TUPLESORT_NONE);

	rs = palloc0(sizeof(EngramRewriteState));
	rs->rel = NewTable;
	tier_lossy_init(&rs->lossy, RelationGetRelid(OldTable), RelationGetDescr(NewTable));
	engram_page_init(rs->page.data, ENGRAM_PAGE_DATA);
	rs->coldcxt = AllocSetContextCreate(CurrentMemoryContext, "engram rewrite cold rows",
										ALLOCSET_DEFAULT_SIZES);

	values = palloc(sizeof(Datum) * Max(olddesc->natts, 1));
	isnull = palloc(sizeof(bool) * Max(olddesc->natts, 1));
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "engram rewrite row",
								   ALLOCSET_DEFAULT_SIZES);

	if (by_index_scan)
	{
		IndexScanDesc iscan;
		TupleTableSlot *slot = table_slot_create(OldTable, NULL);

		pgstat_progress_update_param(PROGRESS_CLUSTER_PHASE,
									 PROGRESS_CLUSTER_PHASE_INDEX_SCAN_HEAP);
		iscan = index_beginscan(OldTable, OldIndex, SnapshotAny, 0, 0);
		index_rescan(iscan, NULL, 0, NULL, 0);

		/* SnapshotAny: every row the index points at, then classify it */
		while (index_getnext_slot(iscan, ForwardScanDirection, slot))
		{
			ItemPointerData tid = slot->tts_tid;
			Buffer		buf;
			bool		is_new;
			HeapTuple	full;

			CHECK_FOR_INTERRUPTS();
			ExecClearTuple(slot);

			buf = ReadBufferExtended(OldTable, MAIN_FORKNUM,
									 ItemPointerGetBlockNumber(&tid),
									 RBM_NORMAL, strategy);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			engram_check_page(OldTable, ItemPointerGetBlockNumber(&tid),
							  BufferGetPage(buf), &is_new);
			oldcxt = MemoryContextSwitchTo(rowcxt);
			full = (is_new ||
					EngramPageGetOpaque(BufferGetPage(buf))->kind != ENGRAM_PAGE_DATA) ? NULL :
				engram_cluster_fetch(OldTable, buf, BufferGetPage(buf),
									 ItemPointerGetOffsetNumber(&tid),
									 OldestXmin, &counts);
			UnlockReleaseBuffer(buf);
			if (full != NULL)
				engram_rewrite_add(rs, engram_rewrite_tuple(OldTable, NewTable,
															full, *xid_cutoff,
															*multi_cutoff,
															values, isnull));
			MemoryContextSwitchTo(oldcxt);
			MemoryContextReset(rowcxt);
		}
		index_endscan(iscan);
		ExecDropSingleTupleTableSlot(slot);
	}
	else
	{
		BlockNumber nblocks = RelationGetNumberOfBlocks(OldTable);
		BlockNumber blkno;

		pgstat_progress_update_param(PROGRESS_CLUSTER_PHASE,
									 PROGRESS_CLUSTER_PHASE_SEQ_SCAN_HEAP);
		pgstat_progress_update_param(PROGRESS_CLUSTER_TOTAL_HEAP_BLKS, nblocks);

		for (blkno = 0; blkno < nblocks; blkno++)
		{
			Buffer		buf;
			Page		page;
			bool		is_new;
			OffsetNumber off,
						maxoff;

			CHECK_FOR_INTERRUPTS();

			buf = ReadBufferExtended(OldTable, MAIN_FORKNUM, blkno, RBM_NORMAL,
									 strategy);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			engram_check_page(OldTable, blkno, page, &is_new);
			maxoff = (is_new || EngramPageGetOpaque(page)->kind != ENGRAM_PAGE_DATA) ?
				0 : PageGetMaxOffsetNumber(page);

			for (off = FirstOffsetNumber; off <= maxoff; off++)
			{
				HeapTuple	full;

				oldcxt = MemoryContextSwitchTo(rowcxt);
				full = engram_cluster_fetch(OldTable, buf, page, off,
											OldestXmin, &counts);
				if (full != NULL)
				{
					if (sort)
						tuplesort_putheaptuple(sort, full);
					else
						engram_rewrite_add(rs,
										   engram_rewrite_tuple(OldTable, NewTable,
																full, *xid_cutoff,
																*multi_cutoff,
																values, isnull));
				}
				MemoryContextSwitchTo(oldcxt);
				MemoryContextReset(rowcxt);
			}
			UnlockReleaseBuffer(buf);
			pgstat_progress_update_param(PROGRESS_CLUSTER_HEAP_BLKS_SCANNED,
										 blkno + 1);
		}
	}

	if (sort)
	{
		HeapTuple	tup;
		double		n = 0;

		pgstat_progress_update_param(PROGRESS_CLUSTER_PHASE,
									 PROGRESS_CLUSTER_PHASE_SORT_TUPLES);
		tuplesort_performsort(sort);
		pgstat_progress_update_param(PROGRESS_CLUSTER_PHASE,
									 PROGRESS_CLUSTER_PHASE_WRITE_NEW_HEAP);
		while ((tup = tuplesort_getheaptuple(sort, true)) != NULL)
		{
			CHECK_FOR_INTERRUPTS();
			oldcxt = MemoryContextSwitchTo(rowcxt);
			engram_rewrite_add(rs, engram_rewrite_tuple(OldTable, NewTable, tup,
														*xid_cutoff,
														*multi_cutoff,
														values, isnull));
			MemoryContextSwitchTo(oldcxt);
			MemoryContextReset(rowcxt);
			n += 1;
			pgstat_progress_update_param(PROGRESS_CLUSTER_HEAP_TUPLES_WRITTEN, n);
		}
		tuplesort_end(sort);
	}
	engram_rewrite_flush(rs);
	engram_rewrite_cold(rs, true);
	MemoryContextDelete(rs->coldcxt);

	*num_tuples = counts.num_tuples;
	*tups_vacuumed = counts.tups_vacuumed;
	*tups_recently_dead = counts.tups_recently_dead;

	FreeAccessStrategy(strategy);
	MemoryContextDelete(rowcxt);
	pfree(values);
	pfree(isnull);
	pfree(rs);
}

/* ----------------------------------------------------------------
 *		sizes and planner support
 * ----------------------------------------------------------------
 */

uint64
engram_relation_size(Relation rel, ForkNumber forkNumber)
{
	return table_block_relation_size(rel, forkNumber);
}

/*
 * A toast table is needed when a row could exceed the toast threshold and
 * has a column that can be moved out of line, as for heap.
 */
bool
engram_relation_needs_toast_table(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int32		data_length = 0;
	bool		maxlength_unknown = false;
	bool		has_toastable = false;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		data_length = att_align_nominal(data_length, att->attalign);
		if (att->attlen > 0)
			data_length += att->attlen;
		else
		{
			int32		maxlen = type_maximum_size(att->atttypid,
												   att->atttypmod);

			if (maxlen < 0)
				maxlength_unknown = true;
			else
				data_length += maxlen;
			if (att->attstorage != TYPSTORAGE_PLAIN)
				has_toastable = true;
		}
	}
	if (!has_toastable)
		return false;
	if (maxlength_unknown)
		return true;
	return MAXALIGN(SizeofHeapTupleHeader + BITMAPLEN(desc->natts)) +
		MAXALIGN(data_length) > ENGRAM_TOAST_THRESHOLD;
}

Oid
engram_relation_toast_am(Relation rel)
{
	/* toast_save_datum inserts with heap_insert: the toast table is heap */
	return HEAP_TABLE_AM_OID;
}

void
engram_relation_estimate_size(Relation rel, int32 *attr_widths,
							  BlockNumber *pages, double *tuples,
							  double *allvisfrac)
{
	table_block_relation_estimate_size(rel, attr_widths, pages, tuples,
									   allvisfrac,
									   SizeOfEngramItemHeader +
									   MAXALIGN(SizeofHeapTupleHeader) +
									   sizeof(ItemIdData),
									   BLCKSZ - SizeOfPageHeaderData -
									   MAXALIGN(sizeof(EngramPageOpaqueData)));
}
