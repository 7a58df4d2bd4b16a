/*-------------------------------------------------------------------------
 *
 * engram_am.h
 *	  Internal interface of the engram table access method.
 *
 * Files of the AM (each owns one phase):
 *	  engram_am_handler.c	TableAmRoutine, thin callbacks, engram_am_init()
 *	  engram_am_tuple.c		page checks, item -> HeapTuple, visibility
 *	  engram_am_insert.c	insert, multi-insert, speculative insert, toast,
 *							choosing a page (FSM, extension)
 *	  engram_am_scan.c		sequential/parallel/bitmap/sample scans, index
 *							fetch, fetch_row_version, index build/validate
 *	  engram_am_modify.c	delete, update, lock (EvalPlanQual support),
 *							speculative completion, get_latest_tid
 *	  engram_am_vacuum.c	VACUUM: prune, freeze, index cleanup, truncation,
 *							hot-standby conflict records, relstats, page
 *							skipping with the visibility map
 *	  engram_am_vm.c		the visibility map: set/clear in generic WAL
 *	  engram_am_ddl.c		new filenode, truncate, copy data, cluster,
 *							size estimates, ANALYZE
 *	  tier_*.c				WARM/COLD bodies, migration, access history
 *
 * The on-disk format is in engram_page.h.
 *
 * IDENTIFICATION
 *	  src/engram_am.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_AM_H
#define ENGRAM_AM_H

#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/heaptoast.h"
#include "access/htup.h"
#include "access/tableam.h"
#include "access/visibilitymapdefs.h"
#include "storage/buf.h"
#include "utils/rel.h"
#include "utils/snapshot.h"

#include "engram_page.h"

/* the access method's name, as in CREATE TABLE ... USING engram */
#define ENGRAM_AM_NAME "engram"

/* ---- engram_am_tuple.c ---- */

/* PageInit + special space for a new page of the given kind */
extern void engram_page_init(Page page, uint16 kind);

/*
 * Check that a page read from rel is an engram page of our format version.
 * All-zero (new) pages are accepted and reported as such through *is_new;
 * anything else raises ERRCODE_DATA_CORRUPTED naming the relation and block.
 */
extern void engram_check_page(Relation rel, BlockNumber blkno, Page page,
							  bool *is_new);

/*
 * engram_check_page, then: is (page, off) a row slot (LP_NORMAL item of an
 * initialised DATA page)?  *data_page, if given, tells whether the page is
 * an initialised DATA page at all.  Caller holds a lock on the page.
 */
extern bool engram_page_has_row(Relation rel, BlockNumber blkno, Page page,
								OffsetNumber off, bool *data_page);

/* true if rel is an engram table (its table AM is ours) */
extern bool engram_is_engram_rel(Relation rel);

/* engram_am_handler.c: the AM's routine table */
extern const TableAmRoutine *engram_table_am_routine(void);

/*
 * Build a palloc'd HeapTuple (in CurrentMemoryContext) holding the row at
 * (buf, off): the tuple header copied and the body decoded from whatever
 * tier it is in.  Caller holds at least a share lock on buf, and off must be
 * an LP_NORMAL item.  t_self and t_tableOid are set.
 */
extern HeapTuple engram_copy_tuple(Relation rel, Buffer buf, Page page,
								   OffsetNumber off);

/*
 * Copy only the item's tuple header (into *hdr, which must be at least
 * MAXALIGN(SizeofHeapTupleHeader + null bitmap) bytes: use
 * EngramHeaderCopy) and fill *tup so that HeapTupleSatisfies* can run on it
 * without touching the shared buffer.  Caller holds a lock on buf.
 */
typedef union EngramHeaderCopy
{
	HeapTupleHeaderData hdr;
	char		data[MAXIMUM_ALIGNOF + SizeofHeapTupleHeader + (MaxTupleAttributeNumber + 7) / 8];
	double		force_align;
} EngramHeaderCopy;

/*
 * The rule every reader applies to an item before it touches the row: the
 * line pointer is a normal item inside the page's item area, MAXALIGNed,
 * long enough for both headers; the tier is known; the row has at most
 * maxnatts attributes; t_hoff is exactly what heap_form_tuple makes for
 * that natts and null bitmap (hence MAXALIGNed, within an EngramHeaderCopy)
 * and lies within the item.  NULL if so (and *itemlen, if given, set),
 * else a short description ("item lies outside ...").  Never errors, so
 * soft checkers (verify, access history, migration) use it too.
 */
extern const char *engram_item_problem(Page page, OffsetNumber off,
									   int maxnatts, Size *itemlen);

extern void engram_copy_header(Relation rel, BlockNumber blkno, Page page,
							   OffsetNumber off,
							   EngramHeaderCopy *copy, HeapTuple tup);

/*
 * Visibility of a row (header copy from engram_copy_header or full copy
 * from engram_copy_tuple) for snapshot.  Uses Postgres's own
 * HeapTupleSatisfiesVisibility.  tup->t_data MUST be a backend-local copy:
 * hint bits are written into it (for MVCC snapshots the function first sets
 * the hints clog already justifies, so Postgres never needs to dirty buf),
 * and engram never writes unlogged bytes into its pages (see
 * engram_page.h); VACUUM sets hints durably instead.  buf must be pinned
 * and locked (at least share).
 */
extern bool engram_tuple_visible(HeapTuple tup, Snapshot snapshot, Buffer buf);

/*
 * Set in a header COPY the hint bits heap's visibility functions would set
 * themselves, under heap's own conditions (never for our own or a running
 * transaction, in-progress test before pg_xact, xmax only once xmin is
 * committed; lock-only xmax of finished lockers invalid).  Every
 * HeapTupleSatisfies* function then decides exactly as it would have, but
 * finds nothing to hint, so it never calls MarkBufferDirtyHint on the
 * unchanged shared buffer (which with checksums or wal_log_hints costs a
 * full-page image).  Call it before HeapTupleSatisfiesVacuum*, ...Update,
 * ...Visibility for non-MVCC snapshots; engram_tuple_visible does.  What it
 * leaves unhinted (multixacts with an updater) heap may still hint.
 */
extern void engram_prehint_strict(HeapTupleHeader hdr);

/* ---- engram_am_insert.c ---- */

/*
 * Return a pinned, exclusively locked buffer of a DATA page of rel with at
 * least len bytes free (for one item plus its line pointer), extending the
 * relation if needed.  *is_new is set when the page is still all zeroes (a
 * page just added to the relation, or one left empty by a crash during
 * extension): the buffer itself is NOT modified, so the caller must register
 * it with GENERIC_XLOG_FULL_IMAGE and call engram_page_init(page,
 * ENGRAM_PAGE_DATA) on the copy GenericXLogRegisterBuffer returns, so that
 * the initialisation is part of the WAL record.
 * Space is measured with PageGetHeapFreeSpace, which also says 0 when the
 * page already has MaxHeapTuplesPerPage line pointers and none is free.
 * If otherBuffer is valid it is already locked by the caller (update): the
 * function may return otherBuffer itself when it has room; it never WAITS
 * for a lock on a page below otherBuffer (such a page is taken only when
 * ConditionalLockBuffer succeeds, so the lower-block-first order cannot
 * deadlock), otherwise it extends the relation.
 * *vmbuf (InvalidBuffer or a VM pin) is pinned to the returned page's VM
 * page when that page looked all-visible before it was locked, so
 * engram_vm_clear rarely has to read a VM page under the lock.
 */
extern Buffer engram_buffer_for_insert(Relation rel, Size len,
									   Buffer otherBuffer, bool *is_new,
									   Buffer *vmbuf);

/* Toast a tuple if needed (heap's rules and thresholds); may return tup */
extern HeapTuple engram_prepare_insert(Relation rel, HeapTuple tup,
									   TransactionId xid, CommandId cid,
									   int options);

/*
 * Rows whose tuple (header + data) is longer than this are toasted before
 * they are stored, exactly as heap does (heap_toast_insert_or_update then
 * aims at TOAST_TUPLE_TARGET).  Toasting can still leave a row too long for
 * a page (many fixed-width columns): such a row is refused with
 * ERRCODE_PROGRAM_LIMIT_EXCEEDED, as heap refuses its own.
 */
#define ENGRAM_TOAST_THRESHOLD	TOAST_TUPLE_THRESHOLD

/* longest tuple (heap header + data) an item can carry */
#define ENGRAM_MAX_TUPLE_SIZE	(ENGRAM_MAX_ITEM_SIZE - SizeOfEngramItemHeader)

/*
 * Store an already prepared tuple (engram_prepare_insert done) as a new item
 * on the copy of a DATA page that is registered in a generic WAL record.
 * Sets the item's t_ctid and tup->t_self to the new TID; returns the offset
 * or InvalidOffsetNumber when the page has no room.
 */
extern OffsetNumber engram_page_add_tuple(Page page, BlockNumber blkno,
										  HeapTuple tup);

/* TableAmRoutine callbacks of engram_am_insert.c */
extern void engram_tuple_insert(Relation rel, TupleTableSlot *slot,
								CommandId cid, int options,
								struct BulkInsertStateData *bistate);
extern void engram_tuple_insert_speculative(Relation rel, TupleTableSlot *slot,
											CommandId cid, int options,
											struct BulkInsertStateData *bistate,
											uint32 specToken);
extern void engram_multi_insert(Relation rel, TupleTableSlot **slots,
								int nslots, CommandId cid, int options,
								struct BulkInsertStateData *bistate);
extern void engram_finish_bulk_insert(Relation rel, int options);

/* ---- engram_am_scan.c: TableAmRoutine callbacks ---- */

extern TableScanDesc engram_scan_begin(Relation rel, Snapshot snapshot,
									   int nkeys, struct ScanKeyData *key,
									   ParallelTableScanDesc pscan,
									   uint32 flags);
extern void engram_scan_end(TableScanDesc sscan);
extern void engram_scan_rescan(TableScanDesc sscan, struct ScanKeyData *key,
							   bool set_params, bool allow_strat,
							   bool allow_sync, bool allow_pagemode);
extern bool engram_scan_getnextslot(TableScanDesc sscan,
									ScanDirection direction,
									TupleTableSlot *slot);
extern void engram_scan_set_tidrange(TableScanDesc sscan, ItemPointer mintid,
									 ItemPointer maxtid);
extern bool engram_scan_getnextslot_tidrange(TableScanDesc sscan,
											 ScanDirection direction,
											 TupleTableSlot *slot);
extern Size engram_parallelscan_initialize(Relation rel,
										   ParallelTableScanDesc pscan);
extern struct IndexFetchTableData *engram_index_fetch_begin(Relation rel);
extern void engram_index_fetch_reset(struct IndexFetchTableData *scan);
extern void engram_index_fetch_end(struct IndexFetchTableData *scan);
extern bool engram_index_fetch_tuple(struct IndexFetchTableData *scan,
									 ItemPointer tid, Snapshot snapshot,
									 TupleTableSlot *slot,
									 bool *call_again, bool *all_dead);
extern bool engram_tuple_fetch_row_version(Relation rel, ItemPointer tid,
										   Snapshot snapshot,
										   TupleTableSlot *slot);
extern bool engram_tuple_tid_valid(TableScanDesc scan, ItemPointer tid);
extern bool engram_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot,
											Snapshot snapshot);
extern bool engram_scan_bitmap_next_block(TableScanDesc scan,
										  struct TBMIterateResult *tbmres);
extern bool engram_scan_bitmap_next_tuple(TableScanDesc scan,
										  struct TBMIterateResult *tbmres,
										  TupleTableSlot *slot);
extern bool engram_scan_sample_next_block(TableScanDesc scan,
										  struct SampleScanState *scanstate);
extern bool engram_scan_sample_next_tuple(TableScanDesc scan,
										  struct SampleScanState *scanstate,
										  TupleTableSlot *slot);
extern bool engram_scan_analyze_next_block(TableScanDesc scan,
										   BlockNumber blockno,
										   BufferAccessStrategy bstrategy);
extern bool engram_scan_analyze_next_tuple(TableScanDesc scan,
										   TransactionId OldestXmin,
										   double *liverows, double *deadrows,
										   TupleTableSlot *slot);
extern double engram_index_build_range_scan(Relation table_rel,
											Relation index_rel,
											struct IndexInfo *index_info,
											bool allow_sync, bool anyvisible,
											bool progress,
											BlockNumber start_blockno,
											BlockNumber numblocks,
											IndexBuildCallback callback,
											void *callback_state,
											TableScanDesc scan);
extern void engram_index_validate_scan(Relation table_rel, Relation index_rel,
									   struct IndexInfo *index_info,
									   Snapshot snapshot,
									   struct ValidateIndexState *state);

/* ---- engram_am_ddl.c: TableAmRoutine callbacks ---- */

extern void engram_relation_set_new_filenode(Relation rel,
											 const RelFileNode *newrnode,
											 char persistence,
											 TransactionId *freezeXid,
											 MultiXactId *minmulti);
extern void engram_relation_nontransactional_truncate(Relation rel);
extern void engram_relation_copy_data(Relation rel,
									  const RelFileNode *newrnode);
extern void engram_relation_copy_for_cluster(Relation OldTable,
											 Relation NewTable,
											 Relation OldIndex, bool use_sort,
											 TransactionId OldestXmin,
											 TransactionId *xid_cutoff,
											 MultiXactId *multi_cutoff,
											 double *num_tuples,
											 double *tups_vacuumed,
											 double *tups_recently_dead);
extern uint64 engram_relation_size(Relation rel, ForkNumber forkNumber);
extern bool engram_relation_needs_toast_table(Relation rel);
extern Oid	engram_relation_toast_am(Relation rel);
extern void engram_relation_estimate_size(Relation rel, int32 *attr_widths,
										  BlockNumber *pages, double *tuples,
										  double *allvisfrac);

/* ---- engram_am_vacuum.c (or a stub in engram_am_scan.c) ---- */

extern TransactionId engram_index_delete_tuples(Relation rel,
												TM_IndexDeleteOp *delstate);

/* ---- engram_am_modify.c ---- */

extern TM_Result engram_tuple_delete(Relation relation, ItemPointer tid,
									 CommandId cid, Snapshot snapshot,
									 Snapshot crosscheck, bool wait,
									 TM_FailureData *tmfd, bool changingPart);
extern TM_Result engram_tuple_update(Relation relation, ItemPointer otid,
									 TupleTableSlot *slot, CommandId cid,
									 Snapshot snapshot, Snapshot crosscheck,
									 bool wait, TM_FailureData *tmfd,
									 LockTupleMode *lockmode,
									 bool *update_indexes);
extern TM_Result engram_tuple_lock(Relation relation, ItemPointer tid,
								   Snapshot snapshot, TupleTableSlot *slot,
								   CommandId cid, LockTupleMode mode,
								   LockWaitPolicy wait_policy, uint8 flags,
								   TM_FailureData *tmfd);
extern void engram_tuple_complete_speculative(Relation relation,
											  TupleTableSlot *slot,
											  uint32 specToken, bool succeeded);
extern void engram_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid);

/* ---- engram_am_vacuum.c ---- */

extern void engram_relation_vacuum(Relation rel, struct VacuumParams *params,
								   BufferAccessStrategy bstrategy);

/*
 * Before a WAL record that makes row versions unreachable (removal of dead
 * rows, reuse of their slots, truncation), log a core record whose redo
 * resolves hot-standby conflicts with latestRemovedXid (engram_compat.h).
 */
extern void engram_log_removal_conflict(Relation rel, BlockNumber blkno,
										TransactionId latestRemovedXid);

/* ---- engram_am_vm.c: the visibility map (ADR 0012) ---- */

/*
 * The VM pages one generic WAL record has locked and registered (at most
 * two: an update's two table pages may map to different VM pages).  Start
 * with {0}; after GenericXLogFinish or GenericXLogAbort call
 * engram_vm_unlock.
 */
typedef struct EngramVmRecord
{
	int			nlocked;
	Buffer		locked[2];
	Page		images[2];
} EngramVmRecord;

/* pin the VM page for buf's block before locking buf if it looks all-visible */
extern void engram_vm_pin_for(Relation rel, Buffer buf, Buffer *vmbuf);

/*
 * On the record's copy wpage of block blkno, before rows on it change:
 * if PD_ALL_VISIBLE is set, clear it and the block's VM bits in the same
 * record (flags VISIBILITYMAP_VALID_BITS: insert, delete, update on both
 * pages, speculative completion), or only the all-frozen bit
 * (VISIBILITYMAP_ALL_FROZEN: row locks, which keep every row visible).
 */
extern void engram_vm_clear(Relation rel, GenericXLogState *state,
							EngramVmRecord *vr, BlockNumber blkno, Page wpage,
							Buffer *vmbuf, uint8 flags);

/* VACUUM: PD_ALL_VISIBLE on and the block's VM bits = flags, same record */
extern void engram_vm_set(GenericXLogState *state, EngramVmRecord *vr,
						  BlockNumber blkno, Page wpage, Buffer vmbuf,
						  uint8 flags);
extern void engram_vm_unlock(EngramVmRecord *vr);
extern void engram_vm_release(Buffer *vmbuf);

/* ---- access history (tier_access.c) ---- */

/*
 * Record a read of the row at tid (recall).  Kept in backend memory and
 * written to the row's item header with generic WAL when the transaction
 * commits, without a new row version.  No-op on a standby or for a
 * relation that is not an engram table.
 */
extern void engram_record_access(Relation rel, ItemPointer tid);
extern void engram_seed_access(Relation rel, ItemPointer tid, uint32 count,
							   TimestampTz last);

/* Read a row's access history; false if rel is not engram or tid is gone */
extern bool engram_get_access(Relation rel, ItemPointer tid,
							  uint32 *count, TimestampTz *last);

#endif							/* ENGRAM_AM_H */
