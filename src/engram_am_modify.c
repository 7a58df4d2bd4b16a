/*-------------------------------------------------------------------------
 *
 * engram_am_modify.c
 *	  engram table AM: delete, update, row locks (EvalPlanQual support),
 *	  completion of speculative inserts and get_latest_tid.
 *
 * A row's header is heap's HeapTupleHeaderData, so the rules for xmax,
 * multixacts, combo cids and t_ctid chains are heap's (README.tuplock);
 * this file applies them with engram's own page access:
 *
 *	- Decisions are taken on a COPY of the row header made while the page is
 *	  exclusively locked (engram_copy_header).  HeapTupleSatisfiesUpdate may
 *	  set hint bits: they land in the copy only.  The page itself changes
 *	  only inside a generic WAL record (the whole new header is written, so
 *	  hint bits the copy learnt travel with that logged change).
 *	- Waiting for another transaction always happens with no buffer lock
 *	  held; after waiting the page is locked again, the header copied again
 *	  and, if xmax moved meanwhile, the check starts over.
 *	- An UPDATE writes the new version as a new item (no HOT): on the old
 *	  version's page if it fits, else on a page with a higher block number
 *	  (engram_buffer_for_insert keeps the lock order); both pages change in
 *	  one generic WAL record.  Indexes always get new entries.  A new
 *	  version that needs toasting is toasted as heap_update does it: the old
 *	  version is first marked locked by us (its own generic WAL record), the
 *	  page is unlocked while the toaster runs (so cancel, timeouts, readers
 *	  and the deadlock detector work meanwhile), then relocked and the
 *	  header copied again.
 *	- FOR KEY SHARE coexists with a non-key UPDATE: the key-share locker
 *	  locks the version it found and every later version of its update
 *	  chain (engram_lock_updated_chain), as heap does.
 *	- A new version starts with a fresh access history (item header), like
 *	  any new row.
 *
 * IDENTIFICATION
 *	  src/engram_am_modify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/heapam.h"
#include "access/heaptoast.h"
#include "access/htup_details.h"
#include "access/multixact.h"
#include "access/relscan.h"
#include "access/sysattr.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/visibilitymap.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/predicate.h"
#include "storage/procarray.h"
#include "utils/datum.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "engram_am.h"
#include "engram_compat.h"
#include "fault.h"

/*
 * Per tuple-lock mode: the heavyweight lock taken on the TID while queueing
 * for a row, and the multixact member status of a locker / an updater.
 */
typedef struct EngramLockModeInfo
{
	LOCKMODE	hwlock;
	MultiXactStatus lockstatus;
	int			updstatus;		/* -1: no update has this mode */
} EngramLockModeInfo;

static const EngramLockModeInfo engram_lockmodes[MaxLockTupleMode + 1] =
{
	[LockTupleKeyShare] = {AccessShareLock, MultiXactStatusForKeyShare, -1},
	[LockTupleShare] = {RowShareLock, MultiXactStatusForShare, -1},
	[LockTupleNoKeyExclusive] = {ExclusiveLock, MultiXactStatusForNoKeyUpdate,
	MultiXactStatusNoKeyUpdate},
	[LockTupleExclusive] = {AccessExclusiveLock, MultiXactStatusForUpdate,
	MultiXactStatusUpdate},
};

/* the row lock strength a multixact member status stands for */
static LockTupleMode
engram_mode_of_status(MultiXactStatus status)
{
	switch (status)
	{
		case MultiXactStatusForKeyShare:
			return LockTupleKeyShare;
		case MultiXactStatusForShare:
			return LockTupleShare;
		case MultiXactStatusForNoKeyUpdate:
		case MultiXactStatusNoKeyUpdate:
			return LockTupleNoKeyExclusive;
		case MultiXactStatusForUpdate:
		case MultiXactStatusUpdate:
			return LockTupleExclusive;
	}
	elog(ERROR, "unrecognized multixact status %d", (int) status);
	return LockTupleExclusive;	/* keep compiler quiet */
}

static MultiXactStatus
engram_status_for(LockTupleMode mode, bool is_update)
{
	if (is_update)
	{
		if (engram_lockmodes[mode].updstatus < 0)
			elog(ERROR, "invalid lock mode %d for an update", (int) mode);
		return (MultiXactStatus) engram_lockmodes[mode].updstatus;
	}
	return engram_lockmodes[mode].lockstatus;
}

/*
 * Does a member holding 'held' block a transaction that wants 'wanted'?
 * The lock-manager conflict table of the modes' heavyweight locks decides
 * (README.tuplock's table).
 */
static bool
engram_status_conflicts(MultiXactStatus held, MultiXactStatus wanted)
{
	return DoLockModesConflict(engram_lockmodes[engram_mode_of_status(held)].hwlock,
							   engram_lockmodes[engram_mode_of_status(wanted)].hwlock);
}

/* lock-strength infomask bits of a single locker */
static uint16
engram_lock_bits(LockTupleMode mode)
{
	switch (mode)
	{
		case LockTupleKeyShare:
			return HEAP_XMAX_KEYSHR_LOCK;
		case LockTupleShare:
			return HEAP_XMAX_SHR_LOCK;
		case LockTupleNoKeyExclusive:
		case LockTupleExclusive:
			return HEAP_XMAX_EXCL_LOCK;
	}
	return HEAP_XMAX_EXCL_LOCK;
}

/*
 * Infomask bits describing a multixact xmax: the strongest member's lock
 * strength, KEYS_UPDATED if a member updates keys or holds FOR UPDATE, and
 * LOCK_ONLY when no member is an updater.
 */
static void
engram_multi_hint_bits(MultiXactId multi, uint16 *infomask, uint16 *infomask2)
{
	MultiXactMember *members;
	int			nmembers;
	LockTupleMode strongest = LockTupleKeyShare;
	bool		has_update = false;
	uint16		bits = HEAP_XMAX_IS_MULTI;
	uint16		bits2 = 0;

	nmembers = GetMultiXactIdMembers(multi, &members, false, false);
	for (int i = 0; i < nmembers; i++)
	{
		LockTupleMode mode = engram_mode_of_status(members[i].status);

		if (mode > strongest)
			strongest = mode;
		if (members[i].status == MultiXactStatusForUpdate ||
			members[i].status == MultiXactStatusUpdate)
			bits2 |= HEAP_KEYS_UPDATED;
		if (ISUPDATE_from_mxstatus(members[i].status))
			has_update = true;
	}
	if (nmembers > 0)
		pfree(members);

	bits |= engram_lock_bits(strongest);
	if (!has_update)
		bits |= HEAP_XMAX_LOCK_ONLY;
	*infomask = bits;
	*infomask2 = bits2;
}

/* the updating member of a multixact, or InvalidTransactionId */
static TransactionId
engram_multi_update_xid(MultiXactId multi, uint16 infomask)
{
	MultiXactMember *members;
	int			nmembers;
	TransactionId result = InvalidTransactionId;

	if (HEAP_XMAX_IS_LOCKED_ONLY(infomask))
		return InvalidTransactionId;
	nmembers = GetMultiXactIdMembers(multi, &members, false, false);
	for (int i = 0; i < nmembers; i++)
	{
		if (ISUPDATE_from_mxstatus(members[i].status))
		{
			result = members[i].xid;
			break;
		}
	}
	if (nmembers > 0)
		pfree(members);
	return result;
}

/*
 * Would a multixact's live members block a transaction wanting 'mode'?
 * Members of the current transaction never block; *current_is_member (if
 * not NULL) tells whether there is one.  An updater blocks unless it
 * aborted, a locker only while it runs.
 */
static bool
engram_multi_conflicts(MultiXactId multi, uint16 infomask, LockTupleMode mode,
					   bool is_update, bool *current_is_member)
{
	MultiXactMember *members;
	int			nmembers;
	bool		result = false;
	MultiXactStatus wanted = engram_status_for(mode, is_update);

	if (HEAP_LOCKED_UPGRADED(infomask))
		return false;
	nmembers = GetMultiXactIdMembers(multi, &members, false,
									 HEAP_XMAX_IS_LOCKED_ONLY(infomask));
	for (int i = 0; i < nmembers; i++)
	{
		TransactionId memxid = members[i].xid;

		if (result && (current_is_member == NULL || *current_is_member))
			break;
		if (TransactionIdIsCurrentTransactionId(memxid))
		{
			if (current_is_member)
				*current_is_member = true;
			continue;
		}
		if (!engram_status_conflicts(members[i].status, wanted))
			continue;
		if (ISUPDATE_from_mxstatus(members[i].status))
		{
			if (TransactionIdDidAbort(memxid))
				continue;
		}
		else if (!TransactionIdIsInProgress(memxid))
			continue;
		result = true;
	}
	if (nmembers > 0)
		pfree(members);
	return result;
}

/*
 * Wait until every member of multi whose status conflicts with 'status'
 * has ended.  With nowait, return false instead of sleeping on the first
 * one still running.  *remaining (if not NULL) counts members that are
 * still running afterwards (ours and non-conflicting ones).
 */
static bool
engram_multi_wait(MultiXactId multi, MultiXactStatus status, uint16 infomask,
				  bool nowait, Relation rel, ItemPointer tid, XLTW_Oper oper,
				  int *remaining)
{
	MultiXactMember *members;
	int			nmembers;
	int			remain = 0;
	bool		ok = true;

	if (HEAP_LOCKED_UPGRADED(infomask))
		nmembers = -1;
	else
		nmembers = GetMultiXactIdMembers(multi, &members, false,
										 HEAP_XMAX_IS_LOCKED_ONLY(infomask));
	for (int i = 0; i < nmembers; i++)
	{
		TransactionId memxid = members[i].xid;

		if (TransactionIdIsCurrentTransactionId(memxid))
		{
			remain++;
			continue;
		}
		if (!engram_status_conflicts(members[i].status, status))
		{
			if (remaining && TransactionIdIsInProgress(memxid))
				remain++;
			continue;
		}
		if (nowait)
		{
			if (!ConditionalXactLockTableWait(memxid))
			{
				ok = false;
				break;
			}
		}
		else
			XactLockTableWait(memxid, rel, tid, oper);
	}
	if (nmembers > 0)
		pfree(members);
	if (remaining)
		*remaining = remain;
	return ok;
}

/*
 * Take the heavyweight lock on a TID that queues row lockers fairly.
 * Returns false only for LockWaitSkip when it is not free.
 */
static bool
engram_acquire_tuplock(Relation rel, ItemPointer tid, LockTupleMode mode,
					   LockWaitPolicy policy, bool *have_tuple_lock)
{
	LOCKMODE	hw = engram_lockmodes[mode].hwlock;

	if (*have_tuple_lock)
		return true;
	switch (policy)
	{
		case LockWaitBlock:
			LockTuple(rel, tid, hw);
			break;
		case LockWaitSkip:
			if (!ConditionalLockTuple(rel, tid, hw))
				return false;
			break;
		case LockWaitError:
			if (!ConditionalLockTuple(rel, tid, hw))
				ereport(ERROR,
						(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
						 errmsg("could not obtain lock on row in relation \"%s\"",
								RelationGetRelationName(rel))));
			break;
	}
	*have_tuple_lock = true;
	return true;
}

static void
engram_release_tuplock(Relation rel, ItemPointer tid, LockTupleMode mode,
					   bool *have_tuple_lock)
{
	if (*have_tuple_lock)
		UnlockTuple(rel, tid, engram_lockmodes[mode].hwlock);
	*have_tuple_lock = false;
}

/* did xmax (and the bits saying what kind it is) change while we waited? */
static bool
engram_xmax_changed(HeapTupleHeader now, uint16 old_infomask,
					TransactionId old_xmax)
{
	const uint16 interesting = HEAP_XMAX_IS_MULTI | HEAP_XMAX_LOCK_ONLY |
		HEAP_LOCK_MASK;

	return (now->t_infomask & interesting) != (old_infomask & interesting) ||
		!TransactionIdEquals(HeapTupleHeaderGetRawXmax(now), old_xmax);
}

/*
 * After waiting for a plain xid xmax, record in the header copy whether it
 * committed (an update that stays) or not (lock gone / update aborted).
 */
static void
engram_note_xmax_outcome(HeapTupleHeader hdr, TransactionId xid)
{
	if (hdr->t_infomask & (HEAP_XMAX_COMMITTED | HEAP_XMAX_INVALID))
		return;
	if (!HEAP_XMAX_IS_LOCKED_ONLY(hdr->t_infomask) &&
		TransactionIdDidCommit(xid))
		hdr->t_infomask |= HEAP_XMAX_COMMITTED;
	else
		hdr->t_infomask |= HEAP_XMAX_INVALID;
}

/*
 * Compute the xmax and infomask bits a row version gets when transaction
 * add_xid locks it in 'mode' (is_update false) or updates/deletes it
 * (is_update true), keeping other live lockers and a committed updater in a
 * multixact.  May create a multixact, so call it before the WAL record.
 */
static void
engram_compute_new_xmax(TransactionId xmax, uint16 old_infomask,
						uint16 old_infomask2, TransactionId add_xid,
						LockTupleMode mode, bool is_update,
						TransactionId *result_xmax, uint16 *result_infomask,
						uint16 *result_infomask2)
{
	for (;;)
	{
		MultiXactStatus old_status;

		if (old_infomask & HEAP_XMAX_INVALID)
		{
			/* nobody else holds the row: our xid alone */
			*result_xmax = add_xid;
			*result_infomask = 0;
			*result_infomask2 = 0;
			if (!is_update)
				*result_infomask = HEAP_XMAX_LOCK_ONLY | engram_lock_bits(mode);
			if (mode == LockTupleExclusive)
				*result_infomask2 = HEAP_KEYS_UPDATED;
			return;
		}

		if (old_infomask & HEAP_XMAX_IS_MULTI)
		{
			MultiXactId newmulti;

			if (HEAP_LOCKED_UPGRADED(old_infomask))
			{
				old_infomask = HEAP_XMAX_INVALID;
				continue;
			}
			/* all members gone and no committed update: start afresh */
			if (!MultiXactIdIsRunning(xmax, HEAP_XMAX_IS_LOCKED_ONLY(old_infomask)))
			{
				if (HEAP_XMAX_IS_LOCKED_ONLY(old_infomask) ||
					!TransactionIdDidCommit(engram_multi_update_xid(xmax, old_infomask)))
				{
					old_infomask = HEAP_XMAX_INVALID;
					continue;
				}
			}
			newmulti = MultiXactIdExpand((MultiXactId) xmax, add_xid,
										 engram_status_for(mode, is_update));
			engram_multi_hint_bits(newmulti, result_infomask, result_infomask2);
			*result_xmax = newmulti;
			return;
		}

		if ((old_infomask & HEAP_XMAX_COMMITTED) ||
			(!HEAP_XMAX_IS_LOCKED_ONLY(old_infomask) &&
			 !TransactionIdIsInProgress(xmax) &&
			 TransactionIdDidCommit(xmax)))
		{
			/* a committed updater stays recorded next to us */
			MultiXactId newmulti;

			old_status = (old_infomask2 & HEAP_KEYS_UPDATED) ?
				MultiXactStatusUpdate : MultiXactStatusNoKeyUpdate;
			newmulti = MultiXactIdCreate(xmax, old_status, add_xid,
										 engram_status_for(mode, is_update));
			engram_multi_hint_bits(newmulti, result_infomask, result_infomask2);
			*result_xmax = newmulti;
			return;
		}

		if (TransactionIdIsInProgress(xmax))
		{
			MultiXactId newmulti;

			if (HEAP_XMAX_IS_LOCKED_ONLY(old_infomask))
			{
				if (HEAP_XMAX_IS_KEYSHR_LOCKED(old_infomask))
					old_status = MultiXactStatusForKeyShare;
				else if (HEAP_XMAX_IS_SHR_LOCKED(old_infomask))
					old_status = MultiXactStatusForShare;
				else if (HEAP_XMAX_IS_EXCL_LOCKED(old_infomask))
					old_status = (old_infomask2 & HEAP_KEYS_UPDATED) ?
						MultiXactStatusForUpdate : MultiXactStatusForNoKeyUpdate;
				else
				{
					/* LOCK_ONLY without strength: not a live lock */
					old_infomask = HEAP_XMAX_INVALID;
					continue;
				}
			}
			else
				old_status = (old_infomask2 & HEAP_KEYS_UPDATED) ?
					MultiXactStatusUpdate : MultiXactStatusNoKeyUpdate;

			if (TransactionIdEquals(xmax, add_xid))
			{
				/* our own earlier lock: keep only the stronger of both */
				LockTupleMode old_mode = engram_mode_of_status(old_status);

				if (mode < old_mode)
					mode = old_mode;
				old_infomask = HEAP_XMAX_INVALID;
				continue;
			}
			newmulti = MultiXactIdCreate(xmax, old_status, add_xid,
										 engram_status_for(mode, is_update));
			engram_multi_hint_bits(newmulti, result_infomask, result_infomask2);
			*result_xmax = newmulti;
			return;
		}

		/* a finished locker or an aborted updater: as if there was none */
		old_infomask = HEAP_XMAX_INVALID;
	}
}

/*
 * Read and exclusively lock the page of tid, check it is a DATA page with a
 * normal item at tid, and copy the row header.  Returns with the buffer
 * locked; ERROR (can't happen for callers passing a TID they got from a
 * scan) otherwise.
 */
static void
engram_lock_and_copy(Relation rel, Buffer buf, ItemPointer tid, int lockmode,
					 EngramHeaderCopy *copy, HeapTuple tup)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Page		page;

	LockBuffer(buf, lockmode);
	page = BufferGetPage(buf);
	if (!engram_page_has_row(rel, blkno, page, off, NULL))
	{
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		elog(ERROR, "no row at (%u,%u) in relation \"%s\"",
			 blkno, off, RelationGetRelationName(rel));
	}
	engram_copy_header(rel, blkno, page, off, copy, tup);
	tup->t_self = *tid;
}

/* the tuple header of the item at off of a (registered copy of a) page */
static HeapTupleHeader
engram_page_header(Page page, OffsetNumber off)
{
	return EngramItemGetTupleHeader(PageGetItem(page, PageGetItemId(page, off)));
}

/* remember on the page that a row may become removable once xid is old */
static void
engram_set_prunable(Page page, TransactionId xid)
{
	EngramPageOpaque opaque = EngramPageGetOpaque(page);

	if (!TransactionIdIsNormal(xid))
		return;
	if (!TransactionIdIsValid(opaque->prune_xid) ||
		TransactionIdPrecedes(xid, opaque->prune_xid))
		opaque->prune_xid = xid;
}

/*
 * Common first half of delete and update: lock the old version's page and
 * find out whether the current transaction may replace it, waiting for
 * conflicting lockers/updaters when 'wait'.  'mode' is the row lock the
 * operation amounts to (LockTupleExclusive for deletes and key updates,
 * LockTupleNoKeyExclusive for other updates).
 *
 * Returns with buf exclusively locked and *tup (backed by *copy) the
 * current header.  *checked_lockers / *locker_remains tell whether the
 * lockers were waited for and whether some (ours, key-share) survive.
 */
static TM_Result
engram_check_modify(Relation rel, ItemPointer tid, CommandId cid,
					Snapshot crosscheck, bool wait, LockTupleMode mode,
					Buffer buf, EngramHeaderCopy *copy, HeapTuple tup,
					bool *have_tuple_lock, bool *checked_lockers,
					bool *locker_remains, const char *what, XLTW_Oper oper)
{
	TM_Result	result;

	*checked_lockers = false;
	*locker_remains = false;

	for (;;)
	{
		TransactionId xwait;
		uint16		infomask;
		bool		can_continue = false;

		CHECK_FOR_INTERRUPTS();
		engram_lock_and_copy(rel, buf, tid, BUFFER_LOCK_EXCLUSIVE, copy, tup);
		engram_prehint_strict(tup->t_data);
		result = HeapTupleSatisfiesUpdate(tup, cid, buf);

		if (result == TM_Invisible)
		{
			UnlockReleaseBuffer(buf);
			engram_release_tuplock(rel, tid, mode, have_tuple_lock);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("attempted to %s invisible tuple", what)));
		}
		if (result != TM_BeingModified || !wait)
			break;

		xwait = HeapTupleHeaderGetRawXmax(tup->t_data);
		infomask = tup->t_data->t_infomask;

		if (infomask & HEAP_XMAX_IS_MULTI)
		{
			bool		current_is_member = false;
			TransactionId update_xact;

			if (engram_multi_conflicts(xwait, infomask, mode, true,
									   &current_is_member))
			{
				int			remain;

				LockBuffer(buf, BUFFER_LOCK_UNLOCK);
				/* promoting our own lock: don't queue behind others */
				if (!current_is_member)
					engram_acquire_tuplock(rel, tid, mode, LockWaitBlock,
										   have_tuple_lock);
				engram_multi_wait(xwait, engram_status_for(mode, true),
								  infomask, false, rel, tid, oper, &remain);
				*checked_lockers = true;
				*locker_remains = remain != 0;
				LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
				engram_copy_header(rel, ItemPointerGetBlockNumber(tid),
								   BufferGetPage(buf),
								   ItemPointerGetOffsetNumber(tid), copy, tup);
				if (engram_xmax_changed(tup->t_data, infomask, xwait))
				{
					LockBuffer(buf, BUFFER_LOCK_UNLOCK);
					continue;
				}
			}

			/*
			 * Surviving members (ours, non-conflicting lockers) stay in the
			 * new xmax; an updater among them must have aborted for us to
			 * go on.
			 */
			if (!HEAP_XMAX_IS_LOCKED_ONLY(tup->t_data->t_infomask))
				update_xact = HeapTupleGetUpdateXid(tup->t_data);
			else
				update_xact = InvalidTransactionId;
			if (!TransactionIdIsValid(update_xact) ||
				TransactionIdDidAbort(update_xact))
				can_continue = true;
		}
		else if (TransactionIdIsCurrentTransactionId(xwait))
		{
			/* only we lock it: keep our lock information */
			*checked_lockers = true;
			*locker_remains = true;
			can_continue = true;
		}
		else if (HEAP_XMAX_IS_KEYSHR_LOCKED(infomask) &&
				 mode == LockTupleNoKeyExclusive)
		{
			/* a key-share locker doesn't block a non-key update */
			*checked_lockers = true;
			*locker_remains = true;
			can_continue = true;
		}
		else
		{
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			engram_acquire_tuplock(rel, tid, mode, LockWaitBlock,
								   have_tuple_lock);
			XactLockTableWait(xwait, rel, tid, oper);
			*checked_lockers = true;
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			engram_copy_header(rel, ItemPointerGetBlockNumber(tid),
							   BufferGetPage(buf),
							   ItemPointerGetOffsetNumber(tid), copy, tup);
			if (engram_xmax_changed(tup->t_data, infomask, xwait))
			{
				LockBuffer(buf, BUFFER_LOCK_UNLOCK);
				continue;
			}
			engram_note_xmax_outcome(tup->t_data, xwait);
			if (tup->t_data->t_infomask & HEAP_XMAX_INVALID)
				can_continue = true;
		}

		if (can_continue)
			result = TM_Ok;
		else if (!ItemPointerEquals(tid, &tup->t_data->t_ctid))
			result = TM_Updated;
		else
			result = TM_Deleted;
		break;
	}

	/* RI checks in transaction-snapshot mode: must also see it there */
	if (crosscheck != InvalidSnapshot && result == TM_Ok &&
		!engram_tuple_visible(tup, crosscheck, buf))
		result = TM_Updated;

	return result;
}

/* fill *tmfd for a failed delete/update/lock from the header copy */
static void
engram_fill_tmfd(TM_Result result, HeapTuple tup, TM_FailureData *tmfd)
{
	tmfd->ctid = tup->t_data->t_ctid;
	tmfd->xmax = HeapTupleHeaderGetUpdateXid(tup->t_data);
	if (result == TM_SelfModified)
		tmfd->cmax = HeapTupleHeaderGetCmax(tup->t_data);
	else
		tmfd->cmax = InvalidCommandId;
}

/*
 * Write the replaced version's new header fields into the registered page
 * copy: xmax/infomask from engram_compute_new_xmax, cmax, t_ctid.
 */
static void
engram_set_replaced(Page page, OffsetNumber off, HeapTuple oldcopy,
					TransactionId new_xmax, uint16 new_infomask,
					uint16 new_infomask2, CommandId cmax, bool iscombo,
					ItemPointer ctid)
{
	HeapTupleHeader htup = engram_page_header(page, off);

	/* the copy is the page's header plus hint bits it learnt under lock */
	htup->t_infomask = (oldcopy->t_data->t_infomask &
						~(HEAP_XMAX_BITS | HEAP_MOVED)) | new_infomask;
	htup->t_infomask2 = (oldcopy->t_data->t_infomask2 &
						 ~(HEAP_KEYS_UPDATED | HEAP_HOT_UPDATED)) | new_infomask2;
	HeapTupleHeaderSetXmax(htup, new_xmax);
	HeapTupleHeaderSetCmax(htup, cmax, iscombo);
	htup->t_ctid = *ctid;
	EngramPageGetOpaque(page)->flags &= ~ENGRAM_PAGE_ALL_FROZEN;
}

TM_Result
engram_tuple_delete(Relation relation, ItemPointer tid, CommandId cid,
					Snapshot snapshot, Snapshot crosscheck, bool wait,
					TM_FailureData *tmfd, bool changingPart)
{
	TransactionId xid = GetCurrentTransactionId();
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Buffer		buf;
	EngramHeaderCopy copy;
	HeapTupleData tup;
	TM_Result	result;
	bool		have_tuple_lock = false;
	bool		checked_lockers;
	bool		locker_remains;
	TransactionId new_xmax;
	uint16		new_infomask;
	uint16		new_infomask2;
	bool		iscombo;
	GenericXLogState *state;
	Page		page;
	HeapTuple	fulltup = NULL;
	Buffer		vmbuf = InvalidBuffer;
	EngramVmRecord vr = {0};

	if (IsInParallelMode())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("cannot delete tuples during a parallel operation")));

	buf = ReadBuffer(relation, blkno);
	engram_vm_pin_for(relation, buf, &vmbuf);
	result = engram_check_modify(relation, tid, cid, crosscheck, wait,
								 LockTupleExclusive, buf, &copy, &tup,
								 &have_tuple_lock, &checked_lockers,
								 &locker_remains, "delete", XLTW_Delete);
	if (result != TM_Ok)
	{
		engram_fill_tmfd(result, &tup, tmfd);
		UnlockReleaseBuffer(buf);
		engram_vm_release(&vmbuf);
		engram_release_tuplock(relation, tid, LockTupleExclusive,
							   &have_tuple_lock);
		return result;
	}

	/* SSI: we are about to write this row (buffer stays locked until done) */
	CheckForSerializableConflictIn(relation, tid, blkno);

	HeapTupleHeaderAdjustCmax(tup.t_data, &cid, &iscombo);
	MultiXactIdSetOldestMember();
	engram_compute_new_xmax(HeapTupleHeaderGetRawXmax(tup.t_data),
							tup.t_data->t_infomask, tup.t_data->t_infomask2,
							xid, LockTupleExclusive, true,
							&new_xmax, &new_infomask, &new_infomask2);

	/* toast values are deleted after the row; we need its data for that */
	if (HeapTupleHasExternal(&tup) && relation->rd_rel->relkind != RELKIND_TOASTVALUE)
		fulltup = engram_copy_tuple(relation, buf, BufferGetPage(buf), off);

	ENGRAM_FAULT_POINT("delete_before_wal");

	state = GenericXLogStart(relation);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	engram_vm_clear(relation, state, &vr, blkno, page, &vmbuf,
					VISIBILITYMAP_VALID_BITS);
	engram_set_replaced(page, off, &tup, new_xmax, new_infomask, new_infomask2,
						cid, iscombo, tid);
	if (changingPart)
		HeapTupleHeaderSetMovedPartitions(engram_page_header(page, off));
	engram_set_prunable(page, xid);
	GenericXLogFinish(state);
	engram_vm_unlock(&vr);

	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	engram_vm_release(&vmbuf);

	ENGRAM_FAULT_POINT("delete_after_wal");

	if (fulltup)
	{
		heap_toast_delete(relation, fulltup, false);
		heap_freetuple(fulltup);
	}
	ReleaseBuffer(buf);
	engram_release_tuplock(relation, tid, LockTupleExclusive, &have_tuple_lock);
	pgstat_count_heap_delete(relation);
	return TM_Ok;
}

/*
 * Does an update from oldtup to newtup change a column that a unique index
 * usable by foreign keys covers?  Then it takes the FOR UPDATE strength
 * (KEY SHARE lockers must wait), else FOR NO KEY UPDATE.
 */
static bool
engram_keys_changed(Relation rel, HeapTuple oldtup, HeapTuple newtup)
{
	Bitmapset  *keyattrs = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_KEY);
	TupleDesc	desc = RelationGetDescr(rel);
	bool		changed = false;
	int			idx = -1;

	while (!changed && (idx = bms_next_member(keyattrs, idx)) >= 0)
	{
		AttrNumber	attnum = idx + FirstLowInvalidHeapAttributeNumber;
		Datum		v1,
					v2;
		bool		n1,
					n2;
		Form_pg_attribute att;

		/* system columns and whole-row references: assume changed */
		if (attnum <= 0 || attnum > desc->natts)
		{
			if (attnum != TableOidAttributeNumber)
				changed = true;
			continue;
		}
		v1 = heap_getattr(oldtup, attnum, desc, &n1);
		v2 = heap_getattr(newtup, attnum, desc, &n2);
		if (n1 != n2)
			changed = true;
		else if (!n1)
		{
			att = TupleDescAttr(desc, attnum - 1);
			/* a binary difference (e.g. detoasted copy) counts: stronger lock */
			if (!datumIsEqual(v1, v2, att->attbyval, att->attlen))
				changed = true;
		}
	}
	bms_free(keyattrs);
	return changed;
}

TM_Result
engram_tuple_update(Relation relation, ItemPointer otid, TupleTableSlot *slot,
					CommandId cid, Snapshot snapshot, Snapshot crosscheck,
					bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
					bool *update_indexes)
{
	TransactionId xid = GetCurrentTransactionId();
	BlockNumber blkno = ItemPointerGetBlockNumber(otid);
	OffsetNumber ooff = ItemPointerGetOffsetNumber(otid);
	bool		shouldFree = true;
	HeapTuple	newtup;
	HeapTuple	heaptup;
	HeapTuple	oldfull;
	Buffer		buf;
	Buffer		newbuf;
	EngramHeaderCopy copy;
	HeapTupleData oldtup;
	EngramHeaderCopy scratch;
	HeapTupleData scratchtup;
	TM_Result	result;
	LockTupleMode mode;
	bool		have_tuple_lock = false;
	bool		checked_lockers;
	bool		locker_remains;
	TransactionId xmax_old;
	uint16		infomask_old;
	uint16		infomask2_old;
	TransactionId xmax_new;
	uint16		infomask_new;
	uint16		infomask2_new;
	CommandId	cmax = cid;
	bool		iscombo;
	bool		need_toast;
	bool		is_new = false;
	Size		space;
	GenericXLogState *state;
	Page		opage;
	Page		npage;
	BlockNumber newblkno;
	Buffer		vmbuf = InvalidBuffer;
	Buffer		vmbuf_new = InvalidBuffer;
	EngramVmRecord vr = {0};

	*update_indexes = false;

	if (IsInParallelMode())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("cannot update tuples during a parallel operation")));

	newtup = ExecFetchSlotHeapTuple(slot, true, &shouldFree);
	slot->tts_tableOid = RelationGetRelid(relation);
	newtup->t_tableOid = slot->tts_tableOid;

	/*
	 * The old version's data never changes, only its header: copy it once
	 * to compare key columns (which decides the lock strength) and for the
	 * toaster.
	 */
	buf = ReadBuffer(relation, blkno);
	engram_vm_pin_for(relation, buf, &vmbuf);
	engram_lock_and_copy(relation, buf, otid, BUFFER_LOCK_SHARE, &scratch,
						 &scratchtup);
	oldfull = engram_copy_tuple(relation, buf, BufferGetPage(buf), ooff);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);

	mode = engram_keys_changed(relation, oldfull, newtup) ?
		LockTupleExclusive : LockTupleNoKeyExclusive;
	*lockmode = mode;

	result = engram_check_modify(relation, otid, cid, crosscheck, wait, mode,
								 buf, &copy, &oldtup, &have_tuple_lock,
								 &checked_lockers, &locker_remains, "update",
								 XLTW_Update);
	if (result != TM_Ok)
	{
		engram_fill_tmfd(result, &oldtup, tmfd);
		UnlockReleaseBuffer(buf);
		engram_vm_release(&vmbuf);
		engram_release_tuplock(relation, otid, mode, &have_tuple_lock);
		heap_freetuple(oldfull);
		if (shouldFree)
			pfree(newtup);
		return result;
	}

	/* SSI: relation-level check for the new version is included */
	CheckForSerializableConflictIn(relation, otid, blkno);

	MultiXactIdSetOldestMember();
	engram_compute_new_xmax(HeapTupleHeaderGetRawXmax(oldtup.t_data),
							oldtup.t_data->t_infomask,
							oldtup.t_data->t_infomask2,
							xid, mode, true,
							&xmax_old, &infomask_old, &infomask2_old);

	/*
	 * Lockers that survive on the old version (key-share lockers, our own
	 * earlier locks) are carried to the new one, as heap does.
	 */
	if ((oldtup.t_data->t_infomask & HEAP_XMAX_INVALID) ||
		HEAP_LOCKED_UPGRADED(oldtup.t_data->t_infomask) ||
		(checked_lockers && !locker_remains))
		xmax_new = InvalidTransactionId;
	else
		xmax_new = HeapTupleHeaderGetRawXmax(oldtup.t_data);
	if (!TransactionIdIsValid(xmax_new))
	{
		infomask_new = HEAP_XMAX_INVALID;
		infomask2_new = 0;
	}
	else if (oldtup.t_data->t_infomask & HEAP_XMAX_IS_MULTI)
		engram_multi_hint_bits(xmax_new, &infomask_new, &infomask2_new);
	else
	{
		infomask_new = HEAP_XMAX_KEYSHR_LOCK | HEAP_XMAX_LOCK_ONLY;
		infomask2_new = 0;
	}

	newtup->t_data->t_infomask &= ~(HEAP_XACT_MASK);
	newtup->t_data->t_infomask2 &= ~(HEAP2_XACT_MASK);
	HeapTupleHeaderSetXmin(newtup->t_data, xid);
	HeapTupleHeaderSetCmin(newtup->t_data, cid);
	newtup->t_data->t_infomask |= HEAP_UPDATED | infomask_new;
	newtup->t_data->t_infomask2 |= infomask2_new;
	HeapTupleHeaderSetXmax(newtup->t_data, xmax_new);

	HeapTupleHeaderAdjustCmax(oldtup.t_data, &cmax, &iscombo);

	if (relation->rd_rel->relkind != RELKIND_RELATION &&
		relation->rd_rel->relkind != RELKIND_MATVIEW)
		need_toast = false;
	else
		need_toast = HeapTupleHasExternal(oldfull) ||
			HeapTupleHasExternal(newtup) ||
			newtup->t_len > ENGRAM_TOAST_THRESHOLD;

	if (!need_toast)
		heaptup = newtup;
	else
	{
		TransactionId xmax_lock;
		uint16		infomask_lock;
		uint16		infomask2_lock;

		/*
		 * Toasting writes the toast relation and its index, may wait for
		 * locks on them and may take long for a large value: as heap_update
		 * does, not with the old page locked (that would hold off cancel and
		 * timeouts, stall readers and the checkpointer, and hide a lock wait
		 * from the deadlock detector).  First mark the old version locked by
		 * us in the mode of the update, WAL-logged like any xmax, so no one
		 * else can update, delete or lock it conflictingly meanwhile; if we
		 * fail before the update is done, that xmax is of an aborted
		 * transaction and means nothing.
		 */
		engram_compute_new_xmax(HeapTupleHeaderGetRawXmax(oldtup.t_data),
								oldtup.t_data->t_infomask,
								oldtup.t_data->t_infomask2,
								xid, mode, false,
								&xmax_lock, &infomask_lock, &infomask2_lock);
		state = GenericXLogStart(relation);
		opage = GenericXLogRegisterBuffer(state, buf, 0);
		engram_vm_clear(relation, state, &vr, blkno, opage, &vmbuf,
						VISIBILITYMAP_VALID_BITS);
		engram_set_replaced(opage, ooff, &oldtup, xmax_lock, infomask_lock,
							infomask2_lock, cmax, iscombo, otid);
		GenericXLogFinish(state);
		engram_vm_unlock(&vr);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);

		/* reuse the old version's unchanged toast values, delete replaced */
		heaptup = heap_toast_insert_or_update(relation, newtup, oldfull, 0);

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		engram_copy_header(relation, blkno, BufferGetPage(buf), ooff, &copy,
						   &oldtup);
		oldtup.t_self = *otid;

		/*
		 * Only a key-share locker can have joined meanwhile (our lock keeps
		 * everyone else out): its lock must survive on the old version and
		 * carry over to the new one, so compute both xmaxes again from what
		 * is there now (a multixact holding our lock and the newcomer).
		 */
		if (HeapTupleHeaderGetRawXmax(oldtup.t_data) != xmax_lock ||
			(oldtup.t_data->t_infomask & HEAP_XMAX_BITS) != (infomask_lock & HEAP_XMAX_BITS))
		{
			engram_compute_new_xmax(HeapTupleHeaderGetRawXmax(oldtup.t_data),
									oldtup.t_data->t_infomask,
									oldtup.t_data->t_infomask2,
									xid, mode, true,
									&xmax_old, &infomask_old, &infomask2_old);
			if (oldtup.t_data->t_infomask & HEAP_XMAX_IS_MULTI)
			{
				xmax_new = HeapTupleHeaderGetRawXmax(oldtup.t_data);
				engram_multi_hint_bits(xmax_new, &infomask_new, &infomask2_new);
				heaptup->t_data->t_infomask &= ~HEAP_XMAX_BITS;
				heaptup->t_data->t_infomask2 &= ~HEAP_KEYS_UPDATED;
				heaptup->t_data->t_infomask |= infomask_new;
				heaptup->t_data->t_infomask2 |= infomask2_new;
				HeapTupleHeaderSetXmax(heaptup->t_data, xmax_new);
			}
		}
	}

	if (MAXALIGN(SizeOfEngramItemHeader + heaptup->t_len) > ENGRAM_MAX_ITEM_SIZE)
	{
		UnlockReleaseBuffer(buf);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("row is too big: size %zu, maximum size %zu",
						(Size) heaptup->t_len, (Size) ENGRAM_MAX_TUPLE_SIZE),
				 errhint("Use fewer or narrower fixed-width columns; variable-length values are moved out of line automatically.")));
	}

	ENGRAM_FAULT_POINT("update_before_wal");

	/* same page if it fits, else a page after it (lock order) */
	space = MAXALIGN(SizeOfEngramItemHeader + heaptup->t_len) + sizeof(ItemIdData);
	if (PageGetHeapFreeSpace(BufferGetPage(buf)) >= space)
		newbuf = buf;
	else
		newbuf = engram_buffer_for_insert(relation, space, buf, &is_new,
										  &vmbuf_new);
	newblkno = BufferGetBlockNumber(newbuf);

	state = GenericXLogStart(relation);
	opage = GenericXLogRegisterBuffer(state, buf, 0);
	/* both pages' VM bits go in this record: at most 2 + 2 pages */
	engram_vm_clear(relation, state, &vr, blkno, opage, &vmbuf,
					VISIBILITYMAP_VALID_BITS);
	if (newbuf == buf)
		npage = opage;
	else
	{
		npage = GenericXLogRegisterBuffer(state, newbuf,
										  is_new ? GENERIC_XLOG_FULL_IMAGE : 0);
		if (is_new)
			engram_page_init(npage, ENGRAM_PAGE_DATA);
		else
			engram_vm_clear(relation, state, &vr, newblkno, npage, &vmbuf_new,
							VISIBILITYMAP_VALID_BITS);
	}
	if (engram_page_add_tuple(npage, newblkno, heaptup) == InvalidOffsetNumber)
	{
		GenericXLogAbort(state);
		engram_vm_unlock(&vr);
		if (newbuf != buf)
			UnlockReleaseBuffer(newbuf);
		UnlockReleaseBuffer(buf);
		elog(ERROR, "failed to add row version to page %u of relation \"%s\"",
			 newblkno, RelationGetRelationName(relation));
	}
	EngramPageGetOpaque(npage)->flags &= ~ENGRAM_PAGE_ALL_FROZEN;
	engram_set_replaced(opage, ooff, &oldtup, xmax_old, infomask_old,
						infomask2_old, cmax, iscombo, &heaptup->t_self);
	engram_set_prunable(opage, xid);
	GenericXLogFinish(state);
	engram_vm_unlock(&vr);

	if (newbuf != buf)
		UnlockReleaseBuffer(newbuf);
	UnlockReleaseBuffer(buf);
	engram_vm_release(&vmbuf_new);
	engram_vm_release(&vmbuf);

	ENGRAM_FAULT_POINT("update_after_new_version");

	engram_release_tuplock(relation, otid, mode, &have_tuple_lock);
	engram_pgstat_count_update(relation);

	/* report the new TID through the slot */
	if (heaptup != newtup)
	{
		newtup->t_self = heaptup->t_self;
		heap_freetuple(heaptup);
	}
	ItemPointerCopy(&newtup->t_self, &slot->tts_tid);
	heap_freetuple(oldfull);
	if (shouldFree)
		pfree(newtup);

	/* no HOT: every version has its own index entries */
	*update_indexes = true;
	return TM_Ok;
}

/*
 * Put a copy of the row at tid (whatever its state) into slot.  Caller
 * holds a lock on buf.
 */
static void
engram_store_in_slot(Relation rel, Buffer buf, ItemPointer tid,
					 TupleTableSlot *slot)
{
	HeapTuple	tup = engram_copy_tuple(rel, buf, BufferGetPage(buf),
										ItemPointerGetOffsetNumber(tid));

	slot->tts_tableOid = RelationGetRelid(rel);
	ExecStoreHeapTuple(tup, slot, true);
}

/*
 * What a member holding 'status' means for a transaction wanting 'mode' on
 * a later version of an update chain: TM_Ok (go on; *needwait if we must
 * first wait for it), TM_SelfModified (our own lock: nothing to do on this
 * version), or TM_Updated/TM_Deleted when a committed conflicting update
 * already replaced it.
 */
static TM_Result
engram_chain_member_conflict(MultiXactStatus status, TransactionId xid,
							 LockTupleMode mode, ItemPointer self,
							 HeapTupleHeader hdr, bool *needwait)
{
	MultiXactStatus wanted = engram_status_for(mode, false);

	*needwait = false;
	/* in-progress before commit/abort: see heapam_visibility.c */
	if (TransactionIdIsCurrentTransactionId(xid))
		return TM_SelfModified;
	if (TransactionIdIsInProgress(xid))
	{
		*needwait = engram_status_conflicts(status, wanted);
		return TM_Ok;
	}
	if (TransactionIdDidAbort(xid))
		return TM_Ok;
	if (TransactionIdDidCommit(xid))
	{
		/* a finished locker is gone; a committed update stays */
		if (!ISUPDATE_from_mxstatus(status) ||
			!engram_status_conflicts(status, wanted))
			return TM_Ok;
		return ItemPointerEquals(self, &hdr->t_ctid) ? TM_Deleted : TM_Updated;
	}
	return TM_Ok;				/* crashed */
}

/* the multixact member status a single-xid xmax stands for */
static MultiXactStatus
engram_single_xmax_status(uint16 infomask, uint16 infomask2)
{
	if (!HEAP_XMAX_IS_LOCKED_ONLY(infomask))
		return (infomask2 & HEAP_KEYS_UPDATED) ?
			MultiXactStatusUpdate : MultiXactStatusNoKeyUpdate;
	if (HEAP_XMAX_IS_KEYSHR_LOCKED(infomask))
		return MultiXactStatusForKeyShare;
	if (HEAP_XMAX_IS_SHR_LOCKED(infomask))
		return MultiXactStatusForShare;
	if (HEAP_XMAX_IS_EXCL_LOCKED(infomask))
		return (infomask2 & HEAP_KEYS_UPDATED) ?
			MultiXactStatusForUpdate : MultiXactStatusForNoKeyUpdate;
	elog(ERROR, "invalid lock status in row header");
	return MultiXactStatusForKeyShare;	/* keep compiler quiet */
}

/*
 * Lock, in 'mode' for transaction xid, every version of an update chain
 * after the one at tid whose t_ctid is *ctid (that one is the caller's).
 * Waits for conflicting in-progress lockers/updaters of later versions;
 * fails with TM_Updated/TM_Deleted if a committed conflicting change
 * already replaced one.  Versions that vanished (pruned after an abort)
 * simply end the chain.  No heavyweight tuple lock is taken while waiting
 * here, as in heap (such chains are walked rarely).
 */
static TM_Result
engram_lock_updated_chain(Relation rel, ItemPointer tid, ItemPointer ctid,
						  TransactionId xid, LockTupleMode mode)
{
	ItemPointerData cur;
	TransactionId priorXmax = InvalidTransactionId;

	if (ItemPointerIndicatesMovedPartitions(ctid) ||
		ItemPointerEquals(tid, ctid))
		return TM_Ok;			/* not updated, or moved away: nothing to lock */

	MultiXactIdSetOldestMember();
	cur = *ctid;

	for (;;)
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&cur);
		OffsetNumber off = ItemPointerGetOffsetNumber(&cur);
		Buffer		buf;
		Page		page;
		EngramHeaderCopy copy;
		HeapTupleData tup;
		uint16		old_infomask;
		uint16		old_infomask2;
		TransactionId rawxmax;
		TransactionId new_xmax;
		uint16		new_infomask;
		uint16		new_infomask2;
		bool		already_ours = false;
		GenericXLogState *state;
		Page		wpage;
		HeapTupleHeader htup;

		CHECK_FOR_INTERRUPTS();

		if (blkno >= RelationGetNumberOfBlocks(rel))
			return TM_Ok;
		buf = ReadBuffer(rel, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		if (!engram_page_has_row(rel, blkno, page, off, NULL))
		{
			UnlockReleaseBuffer(buf);
			return TM_Ok;
		}
		engram_copy_header(rel, blkno, page, off, &copy, &tup);
		tup.t_self = cur;

		/* an unrelated row in a reused slot, or an aborted version: done */
		if ((TransactionIdIsValid(priorXmax) &&
			 !TransactionIdEquals(HeapTupleHeaderGetXmin(tup.t_data), priorXmax)) ||
			TransactionIdDidAbort(HeapTupleHeaderGetXmin(tup.t_data)))
		{
			UnlockReleaseBuffer(buf);
			return TM_Ok;
		}

		old_infomask = tup.t_data->t_infomask;
		old_infomask2 = tup.t_data->t_infomask2;
		rawxmax = HeapTupleHeaderGetRawXmax(tup.t_data);

		if (!(old_infomask & HEAP_XMAX_INVALID))
		{
			TM_Result	res = TM_Ok;
			bool		needwait = false;
			TransactionId waitfor = InvalidTransactionId;

			if (old_infomask & HEAP_XMAX_IS_MULTI)
			{
				MultiXactMember *members;
				int			nmembers;

				nmembers = GetMultiXactIdMembers(rawxmax, &members, false,
												 HEAP_XMAX_IS_LOCKED_ONLY(old_infomask));
				for (int i = 0; i < nmembers; i++)
				{
					res = engram_chain_member_conflict(members[i].status,
													   members[i].xid, mode,
													   &cur, tup.t_data,
													   &needwait);
					if (res == TM_SelfModified || needwait || res != TM_Ok)
					{
						waitfor = members[i].xid;
						break;
					}
				}
				if (nmembers > 0)
					pfree(members);
			}
			else
			{
				MultiXactStatus status = engram_single_xmax_status(old_infomask,
																   old_infomask2);

				res = engram_chain_member_conflict(status, rawxmax, mode, &cur,
												   tup.t_data, &needwait);
				waitfor = rawxmax;
			}

			if (res == TM_SelfModified)
				already_ours = true;	/* locked on an earlier pass */
			else if (needwait)
			{
				UnlockReleaseBuffer(buf);
				XactLockTableWait(waitfor, rel, &cur, XLTW_LockUpdated);
				continue;		/* look at this version again */
			}
			else if (res != TM_Ok)
			{
				UnlockReleaseBuffer(buf);
				return res;
			}
		}

		if (!already_ours)
		{
			Buffer		vmbuf = InvalidBuffer;
			EngramVmRecord vr = {0};

			engram_compute_new_xmax(rawxmax, old_infomask, old_infomask2, xid,
									mode, false, &new_xmax, &new_infomask,
									&new_infomask2);
			state = GenericXLogStart(rel);
			wpage = GenericXLogRegisterBuffer(state, buf, 0);
			/* a rare path: the VM page, if needed, is pinned under the lock */
			engram_vm_clear(rel, state, &vr, blkno, wpage, &vmbuf,
							VISIBILITYMAP_ALL_FROZEN);
			htup = engram_page_header(wpage, off);
			htup->t_infomask = (old_infomask & ~HEAP_XMAX_BITS) | new_infomask;
			htup->t_infomask2 = (old_infomask2 & ~HEAP_KEYS_UPDATED) |
				new_infomask2;
			HeapTupleHeaderSetXmax(htup, new_xmax);
			EngramPageGetOpaque(wpage)->flags &= ~ENGRAM_PAGE_ALL_FROZEN;
			GenericXLogFinish(state);
			engram_vm_unlock(&vr);
			engram_vm_release(&vmbuf);
			/* look at what the version says now */
			engram_copy_header(rel, blkno, page, off, &copy, &tup);
			tup.t_self = cur;
		}

		/* end of the chain? */
		if ((tup.t_data->t_infomask & HEAP_XMAX_INVALID) ||
			HeapTupleHeaderIndicatesMovedPartitions(tup.t_data) ||
			ItemPointerEquals(&cur, &tup.t_data->t_ctid) ||
			HeapTupleHeaderIsOnlyLocked(tup.t_data))
		{
			UnlockReleaseBuffer(buf);
			return TM_Ok;
		}
		priorXmax = HeapTupleHeaderGetUpdateXid(tup.t_data);
		cur = tup.t_data->t_ctid;
		UnlockReleaseBuffer(buf);
	}
}

/*
 * Lock one row version (heap_lock_tuple's rules, see README.tuplock).
 * Returns with the slot holding a copy of the version (for every result but
 * an ERROR).
 */
static TM_Result
engram_lock_version(Relation rel, ItemPointer tid, CommandId cid,
					LockTupleMode mode, LockWaitPolicy wait_policy,
					bool follow_updates, TupleTableSlot *slot,
					TM_FailureData *tmfd)
{
	Buffer		buf = ReadBuffer(rel, ItemPointerGetBlockNumber(tid));
	Buffer		vmbuf = InvalidBuffer;
	EngramHeaderCopy copy;
	HeapTupleData tup;
	TM_Result	result;
	bool		first_time = true;
	bool		skip_tuple_lock = false;
	bool		have_tuple_lock = false;
	bool		locked = false;
	TransactionId new_xmax;
	uint16		new_infomask;
	uint16		new_infomask2;

	engram_vm_pin_for(rel, buf, &vmbuf);

	for (;;)
	{
		TransactionId xwait;
		uint16		infomask;
		uint16		infomask2;
		ItemPointerData t_ctid;
		bool		require_sleep;

		if (!locked)
			engram_lock_and_copy(rel, buf, tid, BUFFER_LOCK_EXCLUSIVE, &copy,
								 &tup);
		else
			engram_copy_header(rel, ItemPointerGetBlockNumber(tid),
							   BufferGetPage(buf),
							   ItemPointerGetOffsetNumber(tid), &copy, &tup);
		locked = true;

		engram_prehint_strict(tup.t_data);
		result = HeapTupleSatisfiesUpdate(&tup, cid, buf);
		if (result == TM_Invisible || result == TM_SelfModified)
			break;
		if (result == TM_Ok)
			break;

		/* TM_BeingModified, TM_Updated or TM_Deleted */
		xwait = HeapTupleHeaderGetRawXmax(tup.t_data);
		infomask = tup.t_data->t_infomask;
		infomask2 = tup.t_data->t_infomask2;
		t_ctid = tup.t_data->t_ctid;
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		locked = false;

		/*
		 * If some part of our own transaction already holds a lock at least
		 * as strong, we hold the wanted one; succeeding at once also avoids
		 * deadlocking against stronger waiters queued behind us.
		 */
		if (first_time)
		{
			first_time = false;
			if (infomask & HEAP_XMAX_IS_MULTI)
			{
				MultiXactMember *members;
				int			nmembers;
				bool		held = false;

				nmembers = GetMultiXactIdMembers(xwait, &members, false,
												 HEAP_XMAX_IS_LOCKED_ONLY(infomask));
				for (int i = 0; i < nmembers; i++)
				{
					if (!TransactionIdIsCurrentTransactionId(members[i].xid))
						continue;
					if (engram_mode_of_status(members[i].status) >= mode)
						held = true;
					else
						skip_tuple_lock = true;
				}
				if (nmembers > 0)
					pfree(members);
				if (held)
				{
					result = TM_Ok;
					goto done_unlocked;
				}
			}
			else if (TransactionIdIsCurrentTransactionId(xwait))
			{
				bool		held = false;

				switch (mode)
				{
					case LockTupleKeyShare:
						held = true;
						break;
					case LockTupleShare:
						held = HEAP_XMAX_IS_SHR_LOCKED(infomask) ||
							HEAP_XMAX_IS_EXCL_LOCKED(infomask);
						break;
					case LockTupleNoKeyExclusive:
						held = HEAP_XMAX_IS_EXCL_LOCKED(infomask);
						break;
					case LockTupleExclusive:
						held = HEAP_XMAX_IS_EXCL_LOCKED(infomask) &&
							(infomask2 & HEAP_KEYS_UPDATED);
						break;
				}
				if (held)
				{
					result = TM_Ok;
					goto done_unlocked;
				}
			}
		}

		/* cases in which the current holders don't conflict with us */
		require_sleep = true;
		if (mode == LockTupleKeyShare)
		{
			/*
			 * Only key changes (a key update, FOR UPDATE, a delete) conflict
			 * with a key-share lock.  If the row was updated without
			 * touching the key, the later versions get our lock too, so
			 * that nobody can delete the key in them meanwhile.
			 */
			if (!(infomask2 & HEAP_KEYS_UPDATED))
			{
				bool		updated = !HEAP_XMAX_IS_LOCKED_ONLY(infomask);

				if (follow_updates && updated)
				{
					TM_Result	res;

					res = engram_lock_updated_chain(rel, tid, &t_ctid,
													GetCurrentTransactionId(),
													mode);
					if (res != TM_Ok)
					{
						engram_lock_and_copy(rel, buf, tid,
											 BUFFER_LOCK_EXCLUSIVE, &copy, &tup);
						locked = true;
						result = res;
						break;
					}
				}
				engram_lock_and_copy(rel, buf, tid, BUFFER_LOCK_EXCLUSIVE,
									 &copy, &tup);
				locked = true;
				/* a key change meanwhile, or a new update to follow: again */
				if (!HeapTupleHeaderIsOnlyLocked(tup.t_data) &&
					((tup.t_data->t_infomask2 & HEAP_KEYS_UPDATED) || !updated))
					continue;
				require_sleep = false;
			}
		}
		else if (mode == LockTupleShare)
		{
			/* share locks coexist with every lock but exclusive ones */
			if (HEAP_XMAX_IS_LOCKED_ONLY(infomask) &&
				!HEAP_XMAX_IS_EXCL_LOCKED(infomask))
			{
				engram_lock_and_copy(rel, buf, tid, BUFFER_LOCK_EXCLUSIVE,
									 &copy, &tup);
				locked = true;
				if (!HEAP_XMAX_IS_LOCKED_ONLY(tup.t_data->t_infomask) ||
					HEAP_XMAX_IS_EXCL_LOCKED(tup.t_data->t_infomask))
					continue;	/* changed meanwhile: start over */
				require_sleep = false;
			}
		}
		else if (mode == LockTupleNoKeyExclusive)
		{
			bool		ok;

			if (infomask & HEAP_XMAX_IS_MULTI)
				ok = !engram_multi_conflicts(xwait, infomask, mode, false, NULL);
			else
				ok = HEAP_XMAX_IS_KEYSHR_LOCKED(infomask);
			if (ok)
			{
				engram_lock_and_copy(rel, buf, tid, BUFFER_LOCK_EXCLUSIVE,
									 &copy, &tup);
				locked = true;
				if (engram_xmax_changed(tup.t_data, infomask, xwait))
					continue;
				require_sleep = false;
			}
		}

		/* we alone lock it already (weaker): just record the stronger lock */
		if (require_sleep && !(infomask & HEAP_XMAX_IS_MULTI) &&
			TransactionIdIsCurrentTransactionId(xwait))
		{
			engram_lock_and_copy(rel, buf, tid, BUFFER_LOCK_EXCLUSIVE, &copy,
								 &tup);
			locked = true;
			if (engram_xmax_changed(tup.t_data, infomask, xwait))
				continue;
			require_sleep = false;
		}

		if (require_sleep && (result == TM_Updated || result == TM_Deleted))
		{
			/* a committed update/delete: waiting cannot help */
			engram_lock_and_copy(rel, buf, tid, BUFFER_LOCK_EXCLUSIVE, &copy,
								 &tup);
			locked = true;
			break;
		}
		else if (require_sleep)
		{
			bool		got = true;

			/* queue fairly on the TID unless we are promoting our own lock */
			if (!skip_tuple_lock &&
				!engram_acquire_tuplock(rel, tid, mode, wait_policy,
										&have_tuple_lock))
				got = false;
			else if (infomask & HEAP_XMAX_IS_MULTI)
			{
				MultiXactStatus status = engram_status_for(mode, false);

				switch (wait_policy)
				{
					case LockWaitBlock:
						engram_multi_wait(xwait, status, infomask, false, rel,
										  tid, XLTW_Lock, NULL);
						break;
					case LockWaitSkip:
						got = engram_multi_wait(xwait, status, infomask, true,
												rel, tid, XLTW_Lock, NULL);
						break;
					case LockWaitError:
						if (!engram_multi_wait(xwait, status, infomask, true,
											   rel, tid, XLTW_Lock, NULL))
							ereport(ERROR,
									(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
									 errmsg("could not obtain lock on row in relation \"%s\"",
											RelationGetRelationName(rel))));
						break;
				}
			}
			else
			{
				switch (wait_policy)
				{
					case LockWaitBlock:
						XactLockTableWait(xwait, rel, tid, XLTW_Lock);
						break;
					case LockWaitSkip:
						got = ConditionalXactLockTableWait(xwait);
						break;
					case LockWaitError:
						if (!ConditionalXactLockTableWait(xwait))
							ereport(ERROR,
									(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
									 errmsg("could not obtain lock on row in relation \"%s\"",
											RelationGetRelationName(rel))));
						break;
				}
			}

			/* an update we did not have to wait for: lock its successors */
			if (got && follow_updates && !HEAP_XMAX_IS_LOCKED_ONLY(infomask))
			{
				TM_Result	res;

				res = engram_lock_updated_chain(rel, tid, &t_ctid,
												GetCurrentTransactionId(),
												mode);
				if (res != TM_Ok)
				{
					engram_lock_and_copy(rel, buf, tid, BUFFER_LOCK_EXCLUSIVE,
										 &copy, &tup);
					locked = true;
					result = res;
					break;
				}
			}

			engram_lock_and_copy(rel, buf, tid, BUFFER_LOCK_EXCLUSIVE, &copy,
								 &tup);
			locked = true;
			if (!got)
			{
				result = TM_WouldBlock;
				break;
			}
			if (engram_xmax_changed(tup.t_data, infomask, xwait))
				continue;
			if (!(infomask & HEAP_XMAX_IS_MULTI))
				engram_note_xmax_outcome(tup.t_data, xwait);
		}

		/* lockable if no wait was needed, the lock ended or the update aborted */
		if (!require_sleep ||
			(tup.t_data->t_infomask & HEAP_XMAX_INVALID) ||
			HEAP_XMAX_IS_LOCKED_ONLY(tup.t_data->t_infomask) ||
			HeapTupleHeaderIsOnlyLocked(tup.t_data))
			result = TM_Ok;
		else if (!ItemPointerEquals(tid, &tup.t_data->t_ctid))
			result = TM_Updated;
		else
			result = TM_Deleted;
		break;
	}

	Assert(locked);
	if (result == TM_Ok)
	{
		GenericXLogState *state;
		Page		page;
		HeapTupleHeader htup;
		EngramVmRecord vr = {0};

		MultiXactIdSetOldestMember();
		engram_compute_new_xmax(HeapTupleHeaderGetRawXmax(tup.t_data),
								tup.t_data->t_infomask,
								tup.t_data->t_infomask2,
								GetCurrentTransactionId(), mode, false,
								&new_xmax, &new_infomask, &new_infomask2);

		/*
		 * Record the lock.  Cmax is left alone (no combo cid needed, and an
		 * updated version's cmax must survive).  A lock-only xmax clears any
		 * forward link.  The WAL record also makes the xid/multixact durable
		 * before the page can reach disk.
		 */
		state = GenericXLogStart(rel);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		/* the row stays visible to all: only all-frozen goes, as on heap */
		engram_vm_clear(rel, state, &vr, ItemPointerGetBlockNumber(tid), page,
						&vmbuf, VISIBILITYMAP_ALL_FROZEN);
		htup = engram_page_header(page, ItemPointerGetOffsetNumber(tid));
		htup->t_infomask = (tup.t_data->t_infomask & ~HEAP_XMAX_BITS) |
			new_infomask;
		htup->t_infomask2 = (tup.t_data->t_infomask2 & ~HEAP_KEYS_UPDATED) |
			new_infomask2;
		HeapTupleHeaderSetXmax(htup, new_xmax);
		if (HEAP_XMAX_IS_LOCKED_ONLY(new_infomask))
			htup->t_ctid = *tid;
		EngramPageGetOpaque(page)->flags &= ~ENGRAM_PAGE_ALL_FROZEN;
		GenericXLogFinish(state);
		engram_vm_unlock(&vr);
	}
	else if (result != TM_Invisible)
		engram_fill_tmfd(result, &tup, tmfd);

	engram_store_in_slot(rel, buf, tid, slot);
	UnlockReleaseBuffer(buf);
	engram_vm_release(&vmbuf);
	engram_release_tuplock(rel, tid, mode, &have_tuple_lock);
	return result;

done_unlocked:
	/* already locked by us: hand back the current version */
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	engram_store_in_slot(rel, buf, tid, slot);
	UnlockReleaseBuffer(buf);
	engram_vm_release(&vmbuf);
	engram_release_tuplock(rel, tid, mode, &have_tuple_lock);
	return result;
}

/*
 * Look at the row version at tid with SnapshotDirty (for following an
 * update chain).  Returns false if there is no row there at all.  On true,
 * *visible says whether it passed the snapshot, and *hdr and *tup hold a copy
 * of its header.
 */
static bool
engram_fetch_dirty(Relation rel, ItemPointer tid, Snapshot dirty,
				   EngramHeaderCopy *hdr, HeapTuple tup, bool *visible)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Buffer		buf;
	Page		page;
	bool		is_new;
	bool		found = false;

	if (blkno >= RelationGetNumberOfBlocks(rel))
		return false;
	buf = ReadBuffer(rel, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	engram_check_page(rel, blkno, page, &is_new);
	if (!is_new && EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_DATA &&
		off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page) &&
		ItemIdIsNormal(PageGetItemId(page, off)))
	{
		engram_copy_header(rel, blkno, page, off, hdr, tup);
		tup->t_self = *tid;
		*visible = engram_tuple_visible(tup, dirty, buf);
		found = true;
	}
	UnlockReleaseBuffer(buf);
	return found;
}

TM_Result
engram_tuple_lock(Relation relation, ItemPointer tid, Snapshot snapshot,
				  TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
				  LockWaitPolicy wait_policy, uint8 flags,
				  TM_FailureData *tmfd)
{
	TM_Result	result;

	tmfd->traversed = false;

	/*
	 * TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS: when a version under a non-key
	 * update gets a lock that doesn't conflict with that update, lock the
	 * later versions too.
	 */
retry:
	result = engram_lock_version(relation, tid, cid, mode, wait_policy,
								 (flags & TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS) != 0,
								 slot, tmfd);

	if (result == TM_Updated && (flags & TUPLE_LOCK_FLAG_FIND_LAST_VERSION))
	{
		SnapshotData SnapshotDirty;
		TransactionId priorXmax;

		if (ItemPointerEquals(&tmfd->ctid, tid))
			return TM_Deleted;	/* deleted (crosscheck), nothing to follow */

		/* follow the chain to the newest version and lock that instead */
		*tid = tmfd->ctid;
		priorXmax = tmfd->xmax;
		tmfd->traversed = true;
		InitDirtySnapshot(SnapshotDirty);

		for (;;)
		{
			EngramHeaderCopy hdr;
			HeapTupleData tup;
			bool		visible;

			CHECK_FOR_INTERRUPTS();

			if (ItemPointerIndicatesMovedPartitions(tid))
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("tuple to be locked was already moved to another partition due to concurrent update")));

			if (!engram_fetch_dirty(relation, tid, &SnapshotDirty, &hdr, &tup,
									&visible))
				return TM_Deleted;	/* slot empty: latest version gone */

			/* a recycled slot holding an unrelated row: chain ended */
			if (!TransactionIdEquals(HeapTupleHeaderGetXmin(tup.t_data),
									 priorXmax))
				return TM_Deleted;

			if (visible)
			{
				if (TransactionIdIsValid(SnapshotDirty.xmin))
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg_internal("t_xmin %u is uncommitted in tuple (%u,%u) to be updated in table \"%s\"",
											 SnapshotDirty.xmin,
											 ItemPointerGetBlockNumber(tid),
											 ItemPointerGetOffsetNumber(tid),
											 RelationGetRelationName(relation))));

				/* being updated/deleted by someone else: wait, then look again */
				if (TransactionIdIsValid(SnapshotDirty.xmax))
				{
					switch (wait_policy)
					{
						case LockWaitBlock:
							XactLockTableWait(SnapshotDirty.xmax, relation,
											  tid, XLTW_FetchUpdated);
							break;
						case LockWaitSkip:
							if (!ConditionalXactLockTableWait(SnapshotDirty.xmax))
								return TM_WouldBlock;
							break;
						case LockWaitError:
							if (!ConditionalXactLockTableWait(SnapshotDirty.xmax))
								ereport(ERROR,
										(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
										 errmsg("could not obtain lock on row in relation \"%s\"",
												RelationGetRelationName(relation))));
							break;
					}
					continue;
				}

				/* inserted by our own later command: invisible to us */
				if (TransactionIdIsCurrentTransactionId(priorXmax) &&
					HeapTupleHeaderGetCmin(tup.t_data) >= cid)
				{
					tmfd->xmax = priorXmax;
					tmfd->cmax = HeapTupleHeaderGetCmin(tup.t_data);
					return TM_SelfModified;
				}

				/* a live version: lock it */
				goto retry;
			}

			/* dead to SnapshotDirty: deleted (stop) or updated (follow) */
			if (ItemPointerEquals(tid, &tup.t_data->t_ctid))
				return TM_Deleted;
			priorXmax = HeapTupleHeaderGetUpdateXid(tup.t_data);
			*tid = tup.t_data->t_ctid;
		}
	}

	return result;
}

void
engram_tuple_complete_speculative(Relation relation, TupleTableSlot *slot,
								  uint32 specToken, bool succeeded)
{
	ItemPointer tid = &slot->tts_tid;
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Buffer		buf = ReadBuffer(relation, ItemPointerGetBlockNumber(tid));
	EngramHeaderCopy copy;
	HeapTupleData tup;
	GenericXLogState *state;
	Page		page;
	HeapTupleHeader htup;
	HeapTuple	fulltup = NULL;
	Buffer		vmbuf = InvalidBuffer;
	EngramVmRecord vr = {0};

	/*
	 * Our own insert made the page not all-visible and VACUUM cannot set it
	 * again while the row is in progress; engram_vm_clear is only a guard.
	 */
	engram_lock_and_copy(relation, buf, tid, BUFFER_LOCK_EXCLUSIVE, &copy, &tup);

	if (succeeded)
	{
		/* replace the speculative token with the row's own TID */
		if (!HeapTupleHeaderIsSpeculative(tup.t_data))
			elog(ERROR, "row (%u,%u) of relation \"%s\" is not a speculative insertion",
				 ItemPointerGetBlockNumber(tid), off,
				 RelationGetRelationName(relation));
		state = GenericXLogStart(relation);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		engram_vm_clear(relation, state, &vr, ItemPointerGetBlockNumber(tid),
						page, &vmbuf, VISIBILITYMAP_VALID_BITS);
		engram_page_header(page, off)->t_ctid = *tid;
		GenericXLogFinish(state);
		engram_vm_unlock(&vr);
		UnlockReleaseBuffer(buf);
		engram_vm_release(&vmbuf);
		return;
	}

	/*
	 * Super-delete: xmin = Invalid makes the row dead to everybody at once,
	 * so a concurrent inserter of the same key waiting on our token does
	 * not have to wait for our whole transaction.
	 */
	if (!TransactionIdEquals(HeapTupleHeaderGetRawXmin(tup.t_data),
							 GetCurrentTransactionId()))
		elog(ERROR, "attempted to kill a tuple inserted by another transaction");
	if (!HeapTupleHeaderIsSpeculative(tup.t_data))
		elog(ERROR, "attempted to kill a non-speculative tuple");

	if (HeapTupleHasExternal(&tup))
		fulltup = engram_copy_tuple(relation, buf, BufferGetPage(buf), off);

	state = GenericXLogStart(relation);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	engram_vm_clear(relation, state, &vr, ItemPointerGetBlockNumber(tid),
					page, &vmbuf, VISIBILITYMAP_VALID_BITS);
	htup = engram_page_header(page, off);
	htup->t_infomask &= ~(HEAP_XMAX_BITS | HEAP_MOVED);
	htup->t_infomask |= HEAP_XMAX_INVALID;
	htup->t_infomask2 &= ~HEAP_KEYS_UPDATED;
	HeapTupleHeaderSetXmin(htup, InvalidTransactionId);
	HeapTupleHeaderSetXmax(htup, InvalidTransactionId);
	htup->t_ctid = *tid;
	/* the oldest xid it is cheap to know is safe: a pruning hint */
	if (TransactionIdPrecedes(TransactionXmin, relation->rd_rel->relfrozenxid))
		engram_set_prunable(page, relation->rd_rel->relfrozenxid);
	else
		engram_set_prunable(page, TransactionXmin);
	GenericXLogFinish(state);
	engram_vm_unlock(&vr);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	engram_vm_release(&vmbuf);


	if (fulltup)
	{
		heap_toast_delete(relation, fulltup, true);
		heap_freetuple(fulltup);
	}
	ReleaseBuffer(buf);
	pgstat_count_heap_delete(relation);
}

void
engram_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid)
{
	Relation	rel = scan->rs_rd;
	Snapshot	snapshot = scan->rs_snapshot;
	ItemPointerData ctid = *tid;
	TransactionId priorXmax = InvalidTransactionId;
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);

	for (;;)
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&ctid);
		OffsetNumber off = ItemPointerGetOffsetNumber(&ctid);
		Buffer		buf;
		Page		page;
		EngramHeaderCopy copy;
		HeapTupleData tup;
		bool		valid;

		CHECK_FOR_INTERRUPTS();

		/* a bogus link ends the walk: the previous TID stays the answer */
		if (blkno >= nblocks)
			break;
		buf = ReadBuffer(rel, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		TestForOldSnapshot(snapshot, rel, page);	/* as heap_get_latest_tid */
		if (!engram_page_has_row(rel, blkno, page, off, NULL))
		{
			UnlockReleaseBuffer(buf);
			break;
		}
		engram_copy_header(rel, blkno, page, off, &copy, &tup);
		tup.t_self = ctid;

		/* a reused slot holds an unrelated row */
		if (TransactionIdIsValid(priorXmax) &&
			!TransactionIdEquals(priorXmax, HeapTupleHeaderGetXmin(tup.t_data)))
		{
			UnlockReleaseBuffer(buf);
			break;
		}

		valid = engram_tuple_visible(&tup, snapshot, buf);
		HeapCheckForSerializableConflictOut(valid, rel, &tup, buf, snapshot);
		if (valid)
			*tid = ctid;

		if ((tup.t_data->t_infomask & HEAP_XMAX_INVALID) ||
			HeapTupleHeaderIsOnlyLocked(tup.t_data) ||
			HeapTupleHeaderIndicatesMovedPartitions(tup.t_data) ||
			ItemPointerEquals(&ctid, &tup.t_data->t_ctid))
		{
			UnlockReleaseBuffer(buf);
			break;
		}
		ctid = tup.t_data->t_ctid;
		priorXmax = HeapTupleHeaderGetUpdateXid(tup.t_data);
		UnlockReleaseBuffer(buf);
	}
}
