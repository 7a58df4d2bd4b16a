/*-------------------------------------------------------------------------
 *
 * engram_am_tuple.c
 *	  Page checks, turning items into tuples, and visibility for the engram
 *	  table access method.
 *
 * IDENTIFICATION
 *	  src/engram_am_tuple.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/multixact.h"
#include "access/transam.h"
#include "access/xact.h"
#include "storage/procarray.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "engram_am.h"
#include "tier.h"

void
engram_page_init(Page page, uint16 kind)
{
	EngramPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(EngramPageOpaqueData));
	opaque = EngramPageGetOpaque(page);
	opaque->kind = kind;
	opaque->flags = 0;
	opaque->chunk_id = 0;
	opaque->prune_xid = InvalidTransactionId;
	opaque->version = ENGRAM_FORMAT_VERSION;
	opaque->page_id = ENGRAM_PAGE_ID;
}

void
engram_check_page(Relation rel, BlockNumber blkno, Page page, bool *is_new)
{
	EngramPageOpaque opaque;

	if (PageIsNew(page))
	{
		/* extended but never initialised (crash during extension): empty */
		if (is_new)
			*is_new = true;
		return;
	}
	if (is_new)
		*is_new = false;

	if (PageGetSpecialSize(page) != MAXALIGN(sizeof(EngramPageOpaqueData)) ||
		((PageHeader) page)->pd_lower < SizeOfPageHeaderData ||
		((PageHeader) page)->pd_lower > ((PageHeader) page)->pd_upper ||
		((PageHeader) page)->pd_upper > ((PageHeader) page)->pd_special)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("page %u of relation \"%s\" is not a valid engram page",
						blkno, RelationGetRelationName(rel)),
				 errdetail("The page header or special space is damaged."),
				 errhint("Run SELECT * FROM engram.verify('%s') for details; restore the table from a backup or a standby.",
						 RelationGetRelationName(rel))));

	opaque = EngramPageGetOpaque(page);
	if (opaque->page_id != ENGRAM_PAGE_ID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("page %u of relation \"%s\" is not an engram page",
						blkno, RelationGetRelationName(rel)),
				 errdetail("Page id is 0x%04x, expected 0x%04x.",
						   opaque->page_id, ENGRAM_PAGE_ID)));
	if (opaque->version != ENGRAM_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("page %u of relation \"%s\" has engram format version %u, this library reads version %u",
						blkno, RelationGetRelationName(rel),
						opaque->version, ENGRAM_FORMAT_VERSION)));
	if (opaque->kind != ENGRAM_PAGE_DATA && opaque->kind != ENGRAM_PAGE_COLD)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("page %u of relation \"%s\" has unknown engram page kind %u",
						blkno, RelationGetRelationName(rel), opaque->kind)));
}

bool
engram_page_has_row(Relation rel, BlockNumber blkno, Page page,
					OffsetNumber off, bool *data_page)
{
	bool		is_new;
	bool		is_data;

	engram_check_page(rel, blkno, page, &is_new);
	is_data = !is_new && EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_DATA;
	if (data_page)
		*data_page = is_data;
	return is_data &&
		off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page) &&
		ItemIdIsNormal(PageGetItemId(page, off));
}

/* the largest tuple header a valid row can have fits a header copy */
StaticAssertDecl(MAXALIGN(SizeofHeapTupleHeader + BITMAPLEN(MaxTupleAttributeNumber)) <=
				 sizeof(EngramHeaderCopy),
				 "EngramHeaderCopy must hold the largest valid tuple header");

const char *
engram_item_problem(Page page, OffsetNumber off, int maxnatts, Size *itemlen)
{
	PageHeader	ph = (PageHeader) page;
	ItemId		lp;
	Size		lpoff;
	Size		len;
	Item		item;
	HeapTupleHeader th;
	int			natts;
	Size		expected_hoff;

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return "line pointer is out of range";
	lp = PageGetItemId(page, off);
	if (!ItemIdIsNormal(lp))
		return "line pointer is not a normal item";
	lpoff = ItemIdGetOffset(lp);
	len = ItemIdGetLength(lp);
	if (lpoff < ph->pd_upper || lpoff + len > ph->pd_special ||
		lpoff != MAXALIGN(lpoff))
		return "item lies outside the item area of the page";
	if (len < SizeOfEngramItemHeader + SizeofHeapTupleHeader)
		return "item is shorter than its headers";

	item = PageGetItem(page, lp);
	if (((EngramItemHeader) item)->tier >= ENGRAM_NUM_TIERS)
		return "item has an unknown tier";
	th = EngramItemGetTupleHeader(item);
	natts = HeapTupleHeaderGetNatts(th);
	if (natts > maxnatts)
		return "row has more attributes than the table";

	/*
	 * heap_form_tuple and the toaster always make t_hoff exactly this (no
	 * OIDs since PG 12), as amcheck's verify_heapam also requires: it is
	 * MAXALIGNed, covers the null bitmap, and never exceeds an
	 * EngramHeaderCopy.
	 */
	expected_hoff = SizeofHeapTupleHeader;
	if (th->t_infomask & HEAP_HASNULL)
		expected_hoff += BITMAPLEN(natts);
	expected_hoff = MAXALIGN(expected_hoff);
	if (th->t_hoff != expected_hoff)
		return "tuple header length t_hoff does not match the null bitmap";
	if (SizeOfEngramItemHeader + th->t_hoff > len)
		return "tuple header is longer than the item";

	if (itemlen)
		*itemlen = len;
	return NULL;
}

/*
 * The range of xids and multixacts that exist in the cluster, as last read
 * (oldest still has status, next not yet assigned); refreshed when a row has
 * a newer one.  The cached oldest only lags: that makes the check laxer,
 * never stricter.
 *
 * The bound is the cluster's (oldestXid, oldestMultiXactId: below them
 * pg_xact and pg_multixact may be truncated), not the table's relfrozenxid
 * or relminmxid: a counter moved by pg_resetwal -x/-m can leave those (and
 * even the cluster's oldest, from a stale datminmxid) 2^31 or more away from
 * next, where modulo-2^32 comparisons say nothing, and heap reads such rows
 * fine.  A lower bound that does not precede next is therefore ignored and
 * only the upper bound checked: a false "corrupt row" would make good rows
 * unreadable (test/t/016_wraparound.pl).
 */
static TransactionId engram_oldest_xid_seen = InvalidTransactionId;
static TransactionId engram_next_xid_seen = InvalidTransactionId;
static MultiXactId engram_oldest_multi_seen = InvalidMultiXactId;
static MultiXactId engram_next_multi_seen = InvalidMultiXactId;

static bool
engram_xid_in_range(TransactionId xid)
{
	TransactionId lower;

	if (!TransactionIdIsNormal(xid))
		return true;
	if (!TransactionIdIsValid(engram_next_xid_seen) ||
		!TransactionIdPrecedes(xid, engram_next_xid_seen))
	{
		LWLockAcquire(XidGenLock, LW_SHARED);
		engram_oldest_xid_seen = ShmemVariableCache->oldestXid;
		engram_next_xid_seen = XidFromFullTransactionId(ShmemVariableCache->nextXid);
		LWLockRelease(XidGenLock);
	}
	lower = engram_oldest_xid_seen;
	if (TransactionIdIsNormal(lower) &&
		TransactionIdPrecedes(lower, engram_next_xid_seen) &&
		TransactionIdPrecedes(xid, lower))
		return false;
	return TransactionIdPrecedes(xid, engram_next_xid_seen);
}

static bool
engram_multi_in_range(MultiXactId multi)
{
	MultiXactId lower;

	if (!MultiXactIdIsValid(multi))
		return false;
	if (!MultiXactIdIsValid(engram_next_multi_seen) ||
		!MultiXactIdPrecedes(multi, engram_next_multi_seen))
		ReadMultiXactIdRange(&engram_oldest_multi_seen, &engram_next_multi_seen);
	lower = engram_oldest_multi_seen;
	if (MultiXactIdIsValid(lower) &&
		MultiXactIdPrecedes(lower, engram_next_multi_seen) &&
		MultiXactIdPrecedes(multi, lower))
		return false;
	return MultiXactIdPrecedes(multi, engram_next_multi_seen);
}

/*
 * An xmin or xmax whose outcome is not hinted is looked up in pg_xact (or
 * pg_multixact) by every visibility check.  One outside the range the cluster
 * holds (before its oldest, or not yet assigned) can only
 * be damage; looking it up would fail with "could not access status of
 * transaction" or, worse, read the status of an unrelated xid.  Hinted xids
 * are never looked up, so they are not checked.
 */
static const char *
engram_xid_problem(Relation rel, HeapTupleHeader th)
{
	uint16		infomask = th->t_infomask;

	if ((infomask & (HEAP_XMIN_COMMITTED | HEAP_XMIN_INVALID)) == 0 &&
		!engram_xid_in_range(HeapTupleHeaderGetRawXmin(th)))
		return "row's xmin is outside the range of transaction ids the table can hold";
	if ((infomask & (HEAP_XMAX_INVALID | HEAP_XMAX_COMMITTED)) == 0)
	{
		TransactionId xmax = HeapTupleHeaderGetRawXmax(th);

		if (infomask & HEAP_XMAX_IS_MULTI)
		{
			if (!HEAP_LOCKED_UPGRADED(infomask) && !engram_multi_in_range(xmax))
				return "row's xmax is outside the range of multixact ids the table can hold";
		}
		else if (!engram_xid_in_range(xmax))
			return "row's xmax is outside the range of transaction ids the table can hold";
	}
	return NULL;
}

/*
 * Validate the item at off with engram_item_problem and its unhinted xids
 * with engram_xid_problem; returns it, or raises ERRCODE_DATA_CORRUPTED
 * naming the relation, block and offset.
 */
static Item
engram_get_item(Relation rel, BlockNumber blkno, Page page, OffsetNumber off,
				Size *len)
{
	const char *problem;

	problem = engram_item_problem(page, off, RelationGetNumberOfAttributes(rel),
								  len);
	if (problem == NULL)
		problem = engram_xid_problem(rel,
									 EngramItemGetTupleHeader(PageGetItem(page, PageGetItemId(page, off))));
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt row at (%u,%u) in relation \"%s\"",
						blkno, off, RelationGetRelationName(rel)),
				 errdetail("The %s.", problem),
				 errhint("Run SELECT * FROM engram.verify('%s') for details.",
						 RelationGetRelationName(rel))));
	return PageGetItem(page, PageGetItemId(page, off));
}

HeapTuple
engram_copy_tuple(Relation rel, Buffer buf, Page page, OffsetNumber off)
{
	Size		itemlen;
	Item		item = engram_get_item(rel, BufferGetBlockNumber(buf), page, off,
									   &itemlen);
	HeapTuple	tup;

	if (((EngramItemHeader) item)->tier == ENGRAM_TIER_HOT)
	{
		Size		len = itemlen - SizeOfEngramItemHeader;

		tup = (HeapTuple) palloc(HEAPTUPLESIZE + len);
		tup->t_len = len;
		tup->t_data = (HeapTupleHeader) ((char *) tup + HEAPTUPLESIZE);
		memcpy(tup->t_data, EngramItemGetTupleHeader(item), len);
	}
	else
		tup = tier_materialize(rel, buf, item, itemlen);

	ItemPointerSet(&tup->t_self, BufferGetBlockNumber(buf), off);
	tup->t_tableOid = RelationGetRelid(rel);
	return tup;
}

void
engram_copy_header(Relation rel, BlockNumber blkno, Page page, OffsetNumber off,
				   EngramHeaderCopy *copy, HeapTuple tup)
{
	Size		itemlen;
	Item		item = engram_get_item(rel, blkno, page, off, &itemlen);
	HeapTupleHeader hdr = EngramItemGetTupleHeader(item);

	memcpy(copy->data, hdr, hdr->t_hoff);
	tup->t_data = &copy->hdr;
	tup->t_len = itemlen - SizeOfEngramItemHeader;
	tup->t_tableOid = RelationGetRelid(rel);
	/* t_self is the caller's */
}

/*
 * tup is a backend-local copy of the row header (see engram_am.h).  Hint
 * bits Postgres sets land only in that copy, but SetHintBits also calls
 * MarkBufferDirtyHint on buf: the unchanged shared page is then dirtied and
 * written out again (with checksums, WAL-logged as a full-page image) on
 * every scan of rows that VACUUM has not hinted yet.  For an MVCC snapshot
 * an xid whose outcome clog already records is judged identically with or
 * without the matching hint (a committed one is then only asked
 * XidInMVCCSnapshot; our own running transaction never reads as committed),
 * so we set those hints in the copy ourselves first, which keeps Postgres
 * from touching the buffer.  Postgres still decides visibility.
 * Other snapshot kinds order their in-progress checks differently, and
 * serializable transactions feed the header to HeapTupleSatisfiesVacuum for
 * conflict checks: those get engram_prehint_strict, heap's own hint rule.
 */
void
engram_prehint_strict(HeapTupleHeader hdr)
{
	uint16		infomask = hdr->t_infomask;
	TransactionId xid;

	if (infomask & HEAP_MOVED)
		return;

	xid = HeapTupleHeaderGetRawXmin(hdr);
	if ((infomask & (HEAP_XMIN_COMMITTED | HEAP_XMIN_INVALID)) == 0)
	{
		if (!TransactionIdIsNormal(xid) ||
			TransactionIdIsCurrentTransactionId(xid) ||
			TransactionIdIsInProgress(xid))
			return;				/* heap's checks stay as they are */
		if (TransactionIdDidCommit(xid))
			hdr->t_infomask |= HEAP_XMIN_COMMITTED;
		else
		{
			/* aborted or crashed: heap hints it invalid whatever the xmax */
			hdr->t_infomask |= HEAP_XMIN_INVALID;
			return;
		}
	}
	else if (!HeapTupleHeaderXminCommitted(hdr))
		return;					/* xmin invalid: xmax is never looked at */

	/* xmin committed: heap then examines xmax in the same order */
	infomask = hdr->t_infomask;
	if (infomask & (HEAP_XMAX_INVALID | HEAP_XMAX_COMMITTED))
		return;
	xid = HeapTupleHeaderGetRawXmax(hdr);
	if (infomask & HEAP_XMAX_IS_MULTI)
	{
		/* a lock-only multixact with no member running is no lock at all */
		if (HEAP_XMAX_IS_LOCKED_ONLY(infomask) && !HEAP_LOCKED_UPGRADED(infomask) &&
			!MultiXactIdIsRunning(xid, true))
			hdr->t_infomask |= HEAP_XMAX_INVALID;
		return;
	}
	if (!TransactionIdIsNormal(xid) ||
		TransactionIdIsCurrentTransactionId(xid) ||
		TransactionIdIsInProgress(xid))
		return;
	if (HEAP_XMAX_IS_LOCKED_ONLY(infomask) || !TransactionIdDidCommit(xid))
		hdr->t_infomask |= HEAP_XMAX_INVALID;	/* finished locker, aborted */
	else
		hdr->t_infomask |= HEAP_XMAX_COMMITTED;
}

bool
engram_tuple_visible(HeapTuple tup, Snapshot snapshot, Buffer buf)
{
	HeapTupleHeader hdr = tup->t_data;
	TransactionId xid;

	if (snapshot->snapshot_type != SNAPSHOT_MVCC || IsolationIsSerializable() ||
		(hdr->t_infomask & HEAP_MOVED) != 0)
	{
		/* see engram_prehint_strict: keeps buf from being dirtied */
		engram_prehint_strict(hdr);
		return HeapTupleSatisfiesVisibility(tup, snapshot, buf);
	}

	/*
	 * An xmin that clog reports aborted makes the row invisible on every
	 * path, hinted or not (an aborted subtransaction of ours is no longer
	 * "current").
	 */
	xid = HeapTupleHeaderGetRawXmin(hdr);
	if ((hdr->t_infomask & (HEAP_XMIN_COMMITTED | HEAP_XMIN_INVALID)) == 0 &&
		TransactionIdIsNormal(xid))
	{
		if (TransactionIdDidCommit(xid))
			hdr->t_infomask |= HEAP_XMIN_COMMITTED;
		else if (TransactionIdDidAbort(xid))
			hdr->t_infomask |= HEAP_XMIN_INVALID;
	}

	/*
	 * Likewise a plain (not multi, not lock-only) xmax: clog saying committed
	 * means the MVCC test only asks XidInMVCCSnapshot, hinted or not; clog
	 * saying aborted means the row is not deleted for any snapshot.  Neither
	 * state can change once clog records it.
	 */
	xid = HeapTupleHeaderGetRawXmax(hdr);
	if ((hdr->t_infomask & (HEAP_XMAX_COMMITTED | HEAP_XMAX_INVALID |
							HEAP_XMAX_IS_MULTI)) == 0 &&
		!HEAP_XMAX_IS_LOCKED_ONLY(hdr->t_infomask) &&
		TransactionIdIsNormal(xid))
	{
		if (TransactionIdDidCommit(xid))
			hdr->t_infomask |= HEAP_XMAX_COMMITTED;
		else if (TransactionIdDidAbort(xid))
			hdr->t_infomask |= HEAP_XMAX_INVALID;
	}

	return HeapTupleSatisfiesVisibility(tup, snapshot, buf);
}

bool
engram_is_engram_rel(Relation rel)
{
	return rel->rd_tableam == engram_table_am_routine();
}
