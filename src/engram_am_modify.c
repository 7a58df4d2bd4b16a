/*-------------------------------------------------------------------------
 *
 * engram_am_modify.c
 *	  engram table AM: delete, update, row locks (stub, to be written).
 *
 * IDENTIFICATION
 *	  src/engram_am_modify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engram_am.h"

static void
not_yet(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("this operation is not implemented yet for engram tables")));
}

TM_Result
engram_tuple_delete(Relation relation, ItemPointer tid, CommandId cid,
					Snapshot snapshot, Snapshot crosscheck, bool wait,
					TM_FailureData *tmfd, bool changingPart)
{
	not_yet();
	return TM_Ok;
}

TM_Result
engram_tuple_update(Relation relation, ItemPointer otid, TupleTableSlot *slot,
					CommandId cid, Snapshot snapshot, Snapshot crosscheck,
					bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
					bool *update_indexes)
{
	not_yet();
	return TM_Ok;
}

TM_Result
engram_tuple_lock(Relation relation, ItemPointer tid, Snapshot snapshot,
				  TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
				  LockWaitPolicy wait_policy, uint8 flags,
				  TM_FailureData *tmfd)
{
	not_yet();
	return TM_Ok;
}

void
engram_tuple_complete_speculative(Relation relation, TupleTableSlot *slot,
								  uint32 specToken, bool succeeded)
{
	not_yet();
}

void
engram_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid)
{
}
