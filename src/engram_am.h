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
 *							hot-standby conflict records, relstats
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

#include "access/htup.h"
#include "access/tableam.h"
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

extern void engram_copy_header(Relation rel, BlockNumber blkno, Page page,
							   OffsetNumber off,
							   EngramHeaderCopy *copy, HeapTuple tup);

/*
 * Visibility of a row (header copy from engram_copy_header or full copy
 * from engram_copy_tuple) for snapshot.  Uses Postgres's own
 * HeapTupleSatisfiesVisibility.  Hint bits it would set land only in the
 * copy: engram never writes unlogged bytes into its pages (see
 * engram_page.h), VACUUM sets them durably instead.  buf must be pinned
 * and locked (at least share).
 */
extern bool engram_tuple_visible(HeapTuple tup, Snapshot snapshot, Buffer buf);

/* ---- engram_am_insert.c ---- */

/*
 * Return a pinned, exclusively locked buffer of a DATA page of rel with at
 * least len bytes free (for one item plus its line pointer), extending the
 * relation if needed.  *is_new is set when the page was just initialised in
 * this call (it must then be registered with GENERIC_XLOG_FULL_IMAGE).
 * If otherBuffer is valid it is already locked by the caller (update): the
 * function never returns a page that would break the lock order (lower block
 * first) and may return otherBuffer itself when it has room.
 */
extern Buffer engram_buffer_for_insert(Relation rel, Size len,
									   Buffer otherBuffer, bool *is_new);

/* Toast a tuple if needed (heap's rules and thresholds); may return tup */
extern HeapTuple engram_prepare_insert(Relation rel, HeapTuple tup,
									   TransactionId xid, CommandId cid,
									   int options);

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

/* ---- access history (tier_access.c) ---- */

/*
 * Record a read of the row at tid (recall).  Kept in backend memory and
 * written to the row's item header with generic WAL when the transaction
 * commits, without a new row version.  No-op on a standby or for a
 * relation that is not an engram table.
 */
extern void engram_record_access(Relation rel, ItemPointer tid);

/* Read a row's access history; false if rel is not engram or tid is gone */
extern bool engram_get_access(Relation rel, ItemPointer tid,
							  uint32 *count, TimestampTz *last);

#endif							/* ENGRAM_AM_H */
