/*-------------------------------------------------------------------------
 *
 * tier_access.c
 *	  Access history of engram rows: how often and when a row was recalled.
 *
 * engram_record_access only notes the read in a backend-local hash table
 * (relation, TID) -> (count, last time).  When the top-level transaction
 * commits (XACT_EVENT_PRE_COMMIT, or PRE_PREPARE for two-phase commit) the
 * notes are written into the rows' EngramItemHeaderData: access_count
 * (saturating at 65535) and last_access (seconds since 2000-01-01).  The
 * pages are visited in (relation, block) order, each under an exclusive
 * lock for one generic WAL record holding all of its rows' changes.  No row
 * version is created: the header is metadata, not row content, exactly like
 * a hint, but WAL-logged.
 *
 * Durability boundary: the accesses of a transaction that commits are
 * WAL-logged before its commit and reach disk with the commit's WAL flush
 * (a transaction that wrote nothing else has no xid and no commit record,
 * so its history reaches disk with the next WAL flush: a crash right after
 * such a read-only commit may lose that history, never corrupt anything).
 * Identity: a note also keeps the row's xmin as it was when the read was
 * recorded.  Between that read and the commit the row can be deleted,
 * vacuumed away and its slot reused by another row (nothing holds the old
 * version once the statement's snapshot is gone); the note is then applied
 * only if the slot still holds a row with that xmin, so a reused slot never
 * inherits another row's history.  (The raw xmin survives freezing and tier
 * moves; a new version made by UPDATE has its own TID anyway.)
 *
 * Accesses of aborted transactions are dropped; accesses made in a
 * subtransaction that rolled back are kept (the read did happen).  On a hot
 * standby nothing is recorded (RecoveryInProgress): standby reads leave no
 * trace.  Nothing is recorded for relations that are not engram tables, or
 * in parallel workers (the SQL function is PARALLEL RESTRICTED).
 *
 * IDENTIFICATION
 *	  src/tier_access.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/relation.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "engram_am.h"
#include "tier.h"

typedef struct AccessKey
{
	Oid			relid;
	BlockNumber blkno;
	OffsetNumber off;
	uint16		pad;
} AccessKey;

typedef struct AccessEntry
{
	AccessKey	key;
	TransactionId xmin;			/* raw xmin of the row that was read */
	uint32		count;
	uint32		last;
} AccessEntry;

static HTAB *access_pending = NULL;
static MemoryContext access_cxt = NULL;
static bool access_callback_registered = false;

static void tier_access_xact_callback(XactEvent event, void *arg);

static void
tier_access_discard(void)
{
	if (access_cxt != NULL)
		MemoryContextDelete(access_cxt);
	access_cxt = NULL;
	access_pending = NULL;
}

/*
 * Raw xmin of the row at tid, or InvalidTransactionId when the slot holds
 * no (sane) row.  Soft: never errors on a damaged page.
 */
static TransactionId
tier_access_row_xmin(Relation rel, ItemPointer tid)
{
	BlockNumber blk = ItemPointerGetBlockNumber(tid);
	Buffer		buf;
	Page		page;
	Size		itemlen;
	Item		item;
	TransactionId xmin = InvalidTransactionId;

	if (blk >= RelationGetNumberOfBlocks(rel))
		return InvalidTransactionId;
	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (!PageIsNew(page) && tier_page_problem(page) == NULL &&
		EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_DATA &&
		(item = tier_page_item(page, ItemPointerGetOffsetNumber(tid), &itemlen)) != NULL)
		xmin = HeapTupleHeaderGetRawXmin(EngramItemGetTupleHeader(item));
	UnlockReleaseBuffer(buf);
	return xmin;
}

/*
 * Note count accesses of the row at tid, the last at last (seconds since
 * the Postgres epoch), to be written at commit: one recall's read
 * (engram_record_access) or a moved row's history (engram_seed_access).
 */
static void
tier_access_note(Relation rel, ItemPointer tid, uint32 count, uint32 last)
{
	AccessKey	key;
	AccessEntry *e;
	bool		found;
	TransactionId xmin;

	if (RecoveryInProgress() || IsParallelWorker() ||
		!engram_is_engram_rel(rel) || !ItemPointerIsValid(tid))
		return;

	/* the caller has just seen the row, under its statement's snapshot */
	xmin = tier_access_row_xmin(rel, tid);
	if (!TransactionIdIsValid(xmin))
		return;

	if (!access_callback_registered)
	{
		RegisterXactCallback(tier_access_xact_callback, NULL);
		access_callback_registered = true;
	}
	if (access_pending == NULL)
	{
		HASHCTL		ctl;

		access_cxt = AllocSetContextCreate(TopMemoryContext,
										   "engram access history",
										   ALLOCSET_SMALL_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(AccessKey);
		ctl.entrysize = sizeof(AccessEntry);
		ctl.hcxt = access_cxt;
		access_pending = hash_create("engram pending accesses", 64, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	memset(&key, 0, sizeof(key));
	key.relid = RelationGetRelid(rel);
	key.blkno = ItemPointerGetBlockNumber(tid);
	key.off = ItemPointerGetOffsetNumber(tid);
	e = hash_search(access_pending, &key, HASH_ENTER, &found);
	if (!found || !TransactionIdEquals(e->xmin, xmin))
	{
		/* first read of this slot, or the slot now holds another row */
		e->xmin = xmin;
		e->count = 0;
		e->last = 0;
	}
	e->count = (uint32) Min((uint64) e->count + count, (uint64) PG_UINT32_MAX);
	e->last = Max(e->last, last);
}

void
engram_record_access(Relation rel, ItemPointer tid)
{
	tier_access_note(rel, tid, 1, tier_now_seconds());
}

/*
 * Add count accesses, the last at last, to the history of the row at tid
 * (written at commit like recall's): engram.move_space gives a copied row
 * the history it had on the node it was moved from.
 */
void
engram_seed_access(Relation rel, ItemPointer tid, uint32 count, TimestampTz last)
{
	if (count == 0)
		return;
	tier_access_note(rel, tid, count,
					 last > 0 ? (uint32) Min(last / USECS_PER_SEC, (TimestampTz) PG_UINT32_MAX) : 0);
}

static int
accessentry_cmp(const void *a, const void *b)
{
	const AccessKey *x = &(*(AccessEntry *const *) a)->key;
	const AccessKey *y = &(*(AccessEntry *const *) b)->key;

	if (x->relid != y->relid)
		return x->relid < y->relid ? -1 : 1;
	if (x->blkno != y->blkno)
		return x->blkno < y->blkno ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return 0;
}

/* Write one page's pending accesses e[0..n) (same relation and block) */
static void
tier_access_write_page(Relation rel, BlockNumber nblocks, AccessEntry **e, int n)
{
	BlockNumber blk = e[0]->key.blkno;
	Buffer		buf;
	Page		page;
	GenericXLogState *state;
	Page		wpage;
	int			changed = 0;
	int			i;

	if (blk >= nblocks)
		return;
	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	/* never fail a commit over a damaged page: skip it (verify reports it) */
	if (PageIsNew(page) || tier_page_problem(page) != NULL ||
		EngramPageGetOpaque(page)->kind != ENGRAM_PAGE_DATA)
	{
		UnlockReleaseBuffer(buf);
		return;
	}
	state = GenericXLogStart(rel);
	wpage = GenericXLogRegisterBuffer(state, buf, 0);
	for (i = 0; i < n; i++)
	{
		Size		itemlen;
		Item		item = tier_page_item(wpage, e[i]->key.off, &itemlen);
		EngramItemHeader ih;
		uint32		count;

		if (item == NULL)
			continue;
		/* the slot was reused by another row since the read: not its access */
		if (!TransactionIdEquals(HeapTupleHeaderGetRawXmin(EngramItemGetTupleHeader(item)),
								 e[i]->xmin))
			continue;
		ih = (EngramItemHeader) item;
		count = (uint32) ih->access_count + e[i]->count;
		ih->access_count = (uint16) Min(count, (uint32) PG_UINT16_MAX);
		if (e[i]->last > ih->last_access)
			ih->last_access = e[i]->last;
		changed++;
	}
	if (changed > 0)
		GenericXLogFinish(state);
	else
		GenericXLogAbort(state);
	UnlockReleaseBuffer(buf);
}

static void
tier_access_flush(void)
{
	HASH_SEQ_STATUS seq;
	AccessEntry *ent;
	AccessEntry **arr;
	long		n;
	long		i;

	if (access_pending == NULL)
		return;
	n = hash_get_num_entries(access_pending);
	if (n == 0 || RecoveryInProgress())
		return;

	arr = MemoryContextAlloc(access_cxt, sizeof(AccessEntry *) * n);
	i = 0;
	hash_seq_init(&seq, access_pending);
	while ((ent = hash_seq_search(&seq)) != NULL)
		arr[i++] = ent;
	qsort(arr, n, sizeof(AccessEntry *), accessentry_cmp);

	i = 0;
	while (i < n)
	{
		Oid			relid = arr[i]->key.relid;
		long		j;
		Relation	rel;

		for (j = i; j < n && arr[j]->key.relid == relid; j++)
			;
		/* the relation may have been dropped in this transaction */
		rel = try_relation_open(relid, AccessShareLock);
		if (rel != NULL)
		{
			if (engram_is_engram_rel(rel))
			{
				BlockNumber nblocks = RelationGetNumberOfBlocks(rel);

				while (i < j)
				{
					long		k;

					for (k = i; k < j && arr[k]->key.blkno == arr[i]->key.blkno; k++)
						;
					tier_access_write_page(rel, nblocks, arr + i, (int) (k - i));
					i = k;
				}
			}
			relation_close(rel, NoLock);
		}
		i = j;
	}
}

static void
tier_access_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			tier_access_flush();
			tier_access_discard();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			tier_access_discard();
			break;
		default:
			break;
	}
}

/*
 * Stored history plus what this transaction has noted and not yet written,
 * so a session sees its own recalls at once.  *last is 0 when the row was
 * never read (a migration pass's first-seen stamp is not a read).
 */
bool
engram_get_access(Relation rel, ItemPointer tid, uint32 *count,
				  TimestampTz *last)
{
	BlockNumber blk;
	Buffer		buf;
	Page		page;
	Size		itemlen;
	Item		item;
	EngramItemHeaderData ih;
	uint32		c;
	uint32		l;
	TransactionId xmin;

	*count = 0;
	*last = 0;
	if (!engram_is_engram_rel(rel) || !ItemPointerIsValid(tid))
		return false;
	blk = ItemPointerGetBlockNumber(tid);
	if (blk >= RelationGetNumberOfBlocks(rel))
		return false;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (PageIsNew(page) || tier_page_problem(page) != NULL ||
		EngramPageGetOpaque(page)->kind != ENGRAM_PAGE_DATA ||
		(item = tier_page_item(page, ItemPointerGetOffsetNumber(tid), &itemlen)) == NULL)
	{
		UnlockReleaseBuffer(buf);
		return false;
	}
	memcpy(&ih, item, sizeof(ih));
	xmin = HeapTupleHeaderGetRawXmin(EngramItemGetTupleHeader(item));
	UnlockReleaseBuffer(buf);

	c = ih.access_count;
	l = c > 0 ? ih.last_access : 0;
	if (access_pending != NULL)
	{
		AccessKey	key;
		AccessEntry *e;

		memset(&key, 0, sizeof(key));
		key.relid = RelationGetRelid(rel);
		key.blkno = blk;
		key.off = ItemPointerGetOffsetNumber(tid);
		e = hash_search(access_pending, &key, HASH_FIND, NULL);
		if (e != NULL && TransactionIdEquals(e->xmin, xmin))
		{
			c = (uint32) Min((uint64) c + e->count, (uint64) PG_UINT32_MAX);
			l = Max(l, e->last);
		}
	}
	*count = c;
	*last = l > 0 ? (TimestampTz) l * USECS_PER_SEC : 0;
	return true;
}
