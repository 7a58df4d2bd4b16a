/*-------------------------------------------------------------------------
 *
 * tier_migrate.c
 *	  Moving row bodies between the HOT, WARM and COLD tiers of an engram
 *	  table, the policy that decides where a row belongs, and the sweep
 *	  that reclaims COLD chunk pages nobody refers to.
 *
 * Heat.  A row's heat is its access count weighted by recency:
 *
 *		heat = (1 + access_count) * 2 ^ (-age / engram.heat_half_life)
 *
 * where age = now - last_access (seconds).  A row read often keeps its
 * heat longer; one read once halves its heat every half-life.  Heat orders
 * HOT rows for engram.hot_budget: when the HOT bodies of a table would
 * exceed the budget, the coldest HOT rows (lowest heat) become WARM first.
 *
 * Tier by age (when no target is forced):
 *		age <  engram.warm_after				-> HOT
 *		engram.warm_after <= age < cold_after	-> WARM
 *		age >= engram.cold_after				-> COLD
 * and HOT rows beyond the budget -> WARM.  Rows move toward that tier in
 * both directions: a WARM or COLD row read again (age 0) is promoted back
 * to HOT when its page has room (a TID cannot move, so without room it
 * stays where it is, or becomes WARM when that fits).  Only rows that have
 * been read (access_count > 0) are promoted: a row merely stamped as first
 * seen, or forced down by engram.migrate(target => ...), stays down until
 * it is read.
 *
 * Rows never read.  last_access = 0 means "never read and never seen by a
 * migration pass".  We cannot know a row's insert time from its header, so
 * the first pass that meets such a row stamps last_access = now (in the
 * same generic WAL record as the page's other changes; access_count stays
 * 0) and leaves its tier alone; its age then counts from that moment.  The
 * worker runs every engram.migrate_naptime, so the stamp lags the insert by
 * at most that much.  (If the insert path sets last_access = now the stamp
 * is simply never needed.)  engram_get_access reports last_access only for
 * rows with access_count > 0, so a stamp is never mistaken for a read.
 *
 * Crash safety of a pass: every page change is one generic WAL record.
 * HOT<->WARM and COLD->HOT/WARM rewrite bodies in place on their own page.
 * Going COLD writes the chunk page first (FULL_IMAGE), then switches each
 * data page's rows to references, one record per data page: a crash in
 * between leaves the rows in their old tier and an orphan chunk that the
 * sweep reclaims.  At no point is a row readable zero or two times, and its
 * contents never change.
 *
 * IDENTIFICATION
 *	  src/tier_migrate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "access/generic_xlog.h"
#include "access/htup_details.h"
#include "access/xlog.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "engram.h"
#include "engram_am.h"
#include "fault.h"
#include "tier.h"

/*
 * A fault point of a pass.  When a crash test has armed one, first flush
 * the WAL this backend wrote, so the crash leaves exactly the state reached
 * at this point (otherwise the unflushed records die with the backend and
 * recovery always sees "nothing happened", which tests nothing).  In real
 * life the same state arises whenever another commit flushes the WAL.
 */
#define TIER_FAULT_POINT(name) \
	do { \
		if (unlikely(fault_armed) && XactLastRecEnd != InvalidXLogRecPtr) \
			XLogFlush(XactLastRecEnd); \
		ENGRAM_FAULT_POINT(name); \
	} while (0)

int			tier_warm_after = 86400;
int			tier_cold_after = 7 * 86400;
int			tier_heat_half_life = 86400;
int			tier_migrate_naptime = 60;
int			tier_migrate_batch = 64 * 1024;
int			tier_hot_budget = -1;
char	   *tier_migrate_database = NULL;
bool		tier_cold_shuffle = true;
int			tier_debug_chunk_id = 0;
int			tier_cold_level = 13;
int			tier_migrate_pages = 1024;

void
tier_init(void)
{
	DefineCustomIntVariable("engram.warm_after",
							"Rows not read for this long become WARM (lz4 per row).",
							NULL, &tier_warm_after, 86400, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.cold_after",
							"Rows not read for this long become COLD (zstd chunks of a page's rows).",
							NULL, &tier_cold_after, 7 * 86400, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.heat_half_life",
							"Time after which a row's heat halves when it is not read.",
							"heat = (1 + access_count) * 2^(-age / heat_half_life)",
							&tier_heat_half_life, 86400, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.hot_budget",
							"Most HOT row data per engram table; beyond it the coldest HOT rows become WARM.",
							"-1 means unlimited.",
							&tier_hot_budget, -1, -1, INT_MAX,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.migrate_naptime",
							"Time between migration passes of the background worker.",
							NULL, &tier_migrate_naptime, 60, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.migrate_batch",
							"Most row data the background worker moves per table per pass.",
							"-1 means unlimited.",
							&tier_migrate_batch, 64 * 1024, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.migrate_pages",
							"Most pages of a table the background worker visits per pass; the next pass goes on from there.",
							NULL, &tier_migrate_pages, 1024, 1, INT_MAX,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("engram.migrate_database",
							   "Only database the background workers serve; empty: every database that has engram.",
							   "Templates and databases that do not allow connections are never served.",
							   &tier_migrate_database, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("engram.cold_shuffle",
							 "Also try byte-shuffled 4-byte lanes when compressing COLD chunks, keeping the smaller.",
							 "Lossless; it doubles the compression work and makes float vector chunks smaller with zstd (docs/architecture/0010-cold-chunks-in-data-pages.md).",
							 &tier_cold_shuffle, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.cold_level",
							"zstd compression level of COLD chunks.",
							"Higher is smaller and slower to compress; decoding speed hardly depends on it.",
							&tier_cold_level, 13, 1, 22,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.debug_chunk_id",
							"For tests only: give every new COLD chunk this id (0: a random id).",
							NULL, &tier_debug_chunk_id, 0, 0, INT_MAX,
							PGC_SUSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);

	if (process_shared_preload_libraries_in_progress)
		tier_worker_register();
}

uint32
tier_now_seconds(void)
{
	TimestampTz now = GetCurrentTimestamp();

	if (now <= 0)
		return 1;
	return (uint32) Min(now / USECS_PER_SEC, (TimestampTz) PG_UINT32_MAX);
}

double
tier_heat(uint32 access_count, uint32 last_access, uint32 now)
{
	double		age;

	if (last_access == 0)
		return 0.0;
	age = now > last_access ? (double) (now - last_access) : 0.0;
	return (1.0 + access_count) * exp2(-age / (double) tier_heat_half_life);
}

/* ---- one pass ---- */

/* a row of the page being visited that is to become COLD */
typedef struct ColdCand
{
	OffsetNumber off;
	uint8		from_tier;
	Size		itemlen;		/* whole item as stored */
	Size		bodylen;		/* its body as stored */
	char	   *raw;			/* attribute data (palloc'd) */
	uint32		rawlen;
} ColdCand;

typedef struct PassState
{
	Relation	rel;
	int			target;
	int64		max_bytes;
	int64		moved;
	uint32		now;
	bool		budget_on;
	double		heat_threshold; /* HOT rows with heat <= this go WARM */
	TierLossy	lossy;			/* the table's cold_vectors option */
	TierPassResult *res;
} PassState;

static inline bool
tier_budget_left(PassState *ps)
{
	return ps->max_bytes < 0 || ps->moved < ps->max_bytes;
}

static int
tier_desired(PassState *ps, EngramItemHeader ih)
{
	uint32		age;
	int			d;

	if (ps->target >= 0)
		return ps->target;
	if (ih->last_access == 0)
		return ih->tier;		/* stamped now, judged from the next pass on */
	age = ps->now > ih->last_access ? ps->now - ih->last_access : 0;
	if (age >= (uint32) tier_cold_after)
		d = ENGRAM_TIER_COLD;
	else if (age >= (uint32) tier_warm_after)
		d = ENGRAM_TIER_WARM;
	else
		d = ENGRAM_TIER_HOT;
	if (d == ENGRAM_TIER_HOT && ps->budget_on &&
		tier_heat(ih->access_count, ih->last_access, ps->now) <= ps->heat_threshold)
		d = ENGRAM_TIER_WARM;
	/* only a row that has been read moves up (not one merely stamped) */
	if (d < ih->tier && ih->access_count == 0)
		d = ih->tier;
	return d;
}

typedef struct HeatBytes
{
	double		heat;
	Size		bytes;
} HeatBytes;

static int
heatbytes_desc(const void *a, const void *b)
{
	double		ha = ((const HeatBytes *) a)->heat;
	double		hb = ((const HeatBytes *) b)->heat;

	return ha > hb ? -1 : ha < hb ? 1 : 0;
}

/*
 * engram.hot_budget: find the heat at and below which HOT rows must go
 * WARM so the HOT rows' data fits the budget.  One share-locked scan.
 */
static void
tier_compute_budget(PassState *ps)
{
	Relation	rel = ps->rel;
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	BlockNumber blk;
	HeatBytes  *hb = NULL;
	int			n = 0;
	int			max = 0;
	Size		budget = (Size) tier_hot_budget * 1024;
	Size		total = 0;
	int			i;

	ps->budget_on = false;
	if (tier_hot_budget < 0 || ps->target >= 0)
		return;

	for (blk = 0; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || tier_page_problem(page) != NULL ||
			EngramPageGetOpaque(page)->kind != ENGRAM_PAGE_DATA)
		{
			UnlockReleaseBuffer(buf);
			continue;
		}
		maxoff = PageGetMaxOffsetNumber(page);
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			Size		itemlen;
			Item		item = tier_page_item(page, off, &itemlen);
			EngramItemHeader ih;
			uint32		age;

			if (item == NULL)
				continue;
			ih = (EngramItemHeader) item;
			/* rows that would be HOT by age alone */
			if (ih->last_access == 0)
			{
				if (ih->tier != ENGRAM_TIER_HOT)
					continue;
			}
			else
			{
				age = ps->now > ih->last_access ? ps->now - ih->last_access : 0;
				if (age >= (uint32) tier_warm_after)
					continue;
			}
			if (n == max)
			{
				max = max ? max * 2 : 1024;
				hb = hb ? repalloc_huge(hb, sizeof(HeatBytes) * max) :
					palloc(sizeof(HeatBytes) * max);
			}
			hb[n].heat = tier_heat(ih->access_count, ih->last_access, ps->now);
			hb[n].bytes = tier_raw_data_len(item, itemlen);
			n++;
		}
		UnlockReleaseBuffer(buf);
	}
	if (n == 0)
		return;
	qsort(hb, n, sizeof(HeatBytes), heatbytes_desc);
	for (i = 0; i < n; i++)
	{
		total += hb[i].bytes;
		if (total > budget)
		{
			ps->budget_on = true;
			ps->heat_threshold = hb[i].heat;
			break;
		}
	}
	pfree(hb);
}

/*
 * Record a DATA page's free space for inserts after its bodies changed, the
 * way the insert path counts it (PageGetHeapFreeSpace has already taken off
 * the line pointer a new item needs).
 */
static void
tier_record_free(Relation rel, BlockNumber blk, Page page)
{
	Size		free = PageGetHeapFreeSpace(page);

	RecordPageWithFreeSpace(rel, blk, free > 0 ? free + sizeof(ItemIdData) : 0);
}

/* does newlen fit in place of the item at off (PageIndexTupleOverwrite's rule)? */
static bool
tier_fits(Page page, OffsetNumber off, Size newlen)
{
	PageHeader	ph = (PageHeader) page;
	Size		oldlen = MAXALIGN(ItemIdGetLength(PageGetItemId(page, off)));

	return MAXALIGN(newlen) <= oldlen + (ph->pd_upper - ph->pd_lower);
}

uint32
tier_new_chunk_id(void)
{
	uint32		id;

	if (tier_debug_chunk_id > 0)
		return (uint32) tier_debug_chunk_id;
	do
	{
		id = pg_prng_uint32(&pg_global_prng_state);
	} while (id == 0);
	return id;
}

/*
 * Try to make cands[0..n) of scratch (a private copy of block blk) COLD,
 * together with the rows of the page that are COLD already in chunk items
 * of this page when merge (their chunk is rebuilt with the new rows, which
 * compresses better than several small chunks and frees their chunks'
 * space).  Returns false (scratch then undefined) if the chunk does not fit,
 * or by policy would not free more than it takes.
 */
static bool
tier_cold_try(PassState *ps, BlockNumber blk, Page scratch, ColdCand *cands,
			  int n, bool merge)
{
	OffsetNumber maxoff = PageGetMaxOffsetNumber(scratch);
	Size		free_before = PageGetExactFreeSpace(scratch);
	uint32		chunk_id = tier_new_chunk_id();
	OffsetNumber old_offs[MaxHeapTuplesPerPage];
	char	   *old_raw[MaxHeapTuplesPerPage];
	uint32		old_len[MaxHeapTuplesPerPage];
	int			nold = 0;
	OffsetNumber coff = InvalidOffsetNumber;
	char	  **bodies;
	uint32	   *lens;
	char	   *chunk;
	Size		chunklen;
	char	   *citem;
	Size		citemlen;
	OffsetNumber off;
	int			total;
	int			i;
	bool		ok;

	if (merge)
	{
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			Size		itemlen;
			Item		item = tier_page_item(scratch, off, &itemlen);
			EngramColdRef ref;
			Size		rawlen;

			if (item == NULL || ((EngramItemHeader) item)->tier != ENGRAM_TIER_COLD ||
				EngramItemBodySize(item, itemlen) != sizeof(EngramColdRef))
				continue;
			memcpy(&ref, EngramItemGetBody(item), sizeof(ref));
			if (ref.chunk_off == 0)
				continue;		/* 0.1 chunk page: left as it is */
			old_raw[nold] = tier_decode_body(ps->rel, blk, scratch, off, item,
											 itemlen, &rawlen);
			old_len[nold] = (uint32) rawlen;
			old_offs[nold] = off;
			if (coff == InvalidOffsetNumber || ref.chunk_off < coff)
				coff = ref.chunk_off;
			nold++;
		}
		if (nold == 0)
			return false;
	}
	else
	{
		coff = maxoff + 1;
		if (coff > MaxHeapTuplesPerPage)
			return false;
	}

	total = nold + n;
	if (total > ENGRAM_CHUNK_MAX_BODIES)
		return false;
	bodies = palloc(sizeof(char *) * total);
	lens = palloc(sizeof(uint32) * total);
	for (i = 0; i < nold; i++)
	{
		bodies[i] = old_raw[i];
		lens[i] = old_len[i];
	}
	for (i = 0; i < n; i++)
	{
		bodies[nold + i] = cands[i].raw;
		lens[nold + i] = cands[i].rawlen;
	}
	if (ps->lossy.mode != TIER_COLD_LOSSLESS)
	{
		/*
		 * cold_vectors = float16: the chunk holds the rows' vectors rounded
		 * (a copy for candidates, whose raw data may yet stay in their tier)
		 */
		for (i = 0; i < total; i++)
		{
			OffsetNumber roff = i < nold ? old_offs[i] : cands[i - nold].off;
			HeapTupleHeader th =
				EngramItemGetTupleHeader(PageGetItem(scratch, PageGetItemId(scratch, roff)));

			if (i >= nold)
			{
				char	   *copy = palloc(Max(lens[i], 1));

				memcpy(copy, bodies[i], lens[i]);
				bodies[i] = copy;
			}
			tier_lossy_round(&ps->lossy, th, bodies[i], lens[i]);
		}
	}
	chunk = tier_chunk_build_ext(chunk_id, total, bodies, lens,
								 ENGRAM_MAX_ITEM_SIZE - TIER_CHUNK_ITEM_OVERHEAD,
								 tier_cold_shuffle,
								 ps->lossy.mode != TIER_COLD_LOSSLESS, &chunklen);
	if (ps->lossy.mode != TIER_COLD_LOSSLESS)
		for (i = nold; i < total; i++)
			pfree(bodies[i]);
	pfree(bodies);
	pfree(lens);
	for (i = 0; i < nold; i++)
		pfree(old_raw[i]);
	if (chunk == NULL)
		return false;

	/* every row of the chunk refers to (blk, coff) */
	for (i = 0; i < total; i++)
	{
		OffsetNumber roff = i < nold ? old_offs[i] : cands[i - nold].off;
		Item		item = PageGetItem(scratch, PageGetItemId(scratch, roff));
		EngramColdRef ref;
		char	   *newitem;
		Size		newlen;

		ref.chunk_blkno = blk;
		ref.chunk_id = chunk_id;
		ref.index = (uint16) i;
		ref.chunk_off = coff;
		ref.raw_len = i < nold ? old_len[i] : cands[i - nold].rawlen;
		newitem = tier_make_item(item, (char *) &ref, sizeof(ref),
								 ENGRAM_TIER_COLD, &newlen);
		if (!PageIndexTupleOverwrite(scratch, roff, (Item) newitem, newlen))
			elog(ERROR, "could not shrink item (%u,%u) to a COLD reference",
				 blk, roff);
		pfree(newitem);
	}

	citem = tier_chunk_item(chunk, chunklen, &citemlen);
	pfree(chunk);
	if (merge)
	{
		/* the other old chunks are unreferenced now; coff's is replaced */
		tier_prune_page_chunks(scratch, true);
		ok = tier_fits(scratch, coff, citemlen) &&
			PageIndexTupleOverwrite(scratch, coff, (Item) citem, citemlen);
	}
	else
		ok = PageGetExactFreeSpace(scratch) >= MAXALIGN(citemlen) + sizeof(ItemIdData) &&
			PageAddItemExtended(scratch, (Item) citem, citemlen, coff,
								PAI_IS_HEAP) == coff;
	pfree(citem);
	if (!ok)
		return false;
	/* by policy a move must pay for itself: the page may not fill up */
	if (ps->target < 0 && PageGetExactFreeSpace(scratch) <= free_before)
		return false;
	return true;
}

/*
 * Make the rows cands[0..n) of the page wpage (a GenericXLog working copy of
 * block blk) COLD: one chunk holding their data (merged with the page's
 * other COLD rows when that fits), kept as a chunk item on the same page,
 * and their bodies replaced by references to it, all in the page's one
 * record.  The chunk lives where the rows' bodies were, so the page (and
 * the relation) never grows.  Rows whose chunk would not fit stay in their
 * tier: the chunk is rebuilt with fewer rows.  Returns the rows moved.
 */
static int
tier_cold_page(PassState *ps, BlockNumber blk, Page wpage, ColdCand *cands,
			   int n)
{
	PGAlignedBlock scratch;

	while (n > 0)
	{
		int			merge;

		CHECK_FOR_INTERRUPTS();
		for (merge = 1; merge >= 0; merge--)
		{
			memcpy(scratch.data, wpage, BLCKSZ);
			if (tier_cold_try(ps, blk, scratch.data, cands, n, merge == 1))
			{
				int			i;

				memcpy(wpage, scratch.data, BLCKSZ);
				for (i = 0; i < n; i++)
				{
					ps->res->rows[cands[i].from_tier][ENGRAM_TIER_COLD]++;
					ps->res->bytes[cands[i].from_tier][ENGRAM_TIER_COLD] += cands[i].rawlen;
				}
				return n;
			}
		}
		if (n == 1)
			break;
		/* too big for the room it would have: try with fewer rows */
		n = Max(1, n * 3 / 4);
	}
	return 0;
}

/* a COLD row to promote that did not fit while its chunk took room */
typedef struct PendingUp
{
	OffsetNumber off;
	char	   *raw;
	Size		rawlen;
	bool		moved;
} PendingUp;

/* is item a COLD row whose chunk is a chunk item of its own page? */
static bool
tier_ref_in_page(Item item, Size itemlen)
{
	EngramColdRef ref;

	if (((EngramItemHeader) item)->tier != ENGRAM_TIER_COLD ||
		EngramItemBodySize(item, itemlen) != sizeof(EngramColdRef))
		return false;
	memcpy(&ref, EngramItemGetBody(item), sizeof(ref));
	return ref.chunk_off != 0;
}

/* a pending row that stays: WARM in place if that fits */
static void
tier_pending_warm(PassState *ps, Page wpage, PendingUp *pu)
{
	Item		item = PageGetItem(wpage, PageGetItemId(wpage, pu->off));
	char	   *wb;
	Size		wblen;
	char	   *newitem;
	Size		newlen;

	wb = tier_warm_encode(pu->raw, pu->rawlen, pu->rawlen, &wblen);
	if (wb == NULL)
		return;
	newitem = tier_make_item(item, wb, wblen, ENGRAM_TIER_WARM, &newlen);
	pfree(wb);
	if (tier_fits(wpage, pu->off, newlen) &&
		PageIndexTupleOverwrite(wpage, pu->off, (Item) newitem, newlen))
	{
		pu->moved = true;
		ps->res->rows[ENGRAM_TIER_COLD][ENGRAM_TIER_WARM]++;
		ps->res->bytes[ENGRAM_TIER_COLD][ENGRAM_TIER_WARM] += pu->rawlen;
		ps->moved += pu->rawlen;
	}
	pfree(newitem);
}

/*
 * Promote COLD rows whose chunk item is referenced by no other row than
 * them: drop the chunk, then give each its HOT (or, failing that, WARM)
 * body, all on a copy of the page, which replaces wpage only if every one
 * of those rows fits (otherwise they all stay COLD, their chunk intact).
 */
static void
tier_promote_pending(PassState *ps, Page wpage, PendingUp *pending, int n)
{
	PGAlignedBlock scratch;
	Page		sp = scratch.data;
	OffsetNumber maxoff = PageGetMaxOffsetNumber(wpage);
	bool		others[MaxHeapTuplesPerPage + 1];
	bool		drop[MaxHeapTuplesPerPage + 1];
	bool		is_pending[MaxHeapTuplesPerPage + 1];
	OffsetNumber chunk_of[MaxHeapTuplesPerPage];
	int			newtiers[MaxHeapTuplesPerPage];
	OffsetNumber off;
	int			i;
	bool		any = false;

	memset(others, 0, sizeof(others));
	memset(drop, 0, sizeof(drop));
	memset(is_pending, 0, sizeof(is_pending));
	for (i = 0; i < n; i++)
		is_pending[pending[i].off] = true;
	for (off = FirstOffsetNumber; off <= maxoff; off++)
	{
		Size		itemlen;
		Item		item = tier_page_item(wpage, off, &itemlen);
		EngramColdRef ref;

		if (item == NULL || ((EngramItemHeader) item)->tier != ENGRAM_TIER_COLD ||
			EngramItemBodySize(item, itemlen) != sizeof(EngramColdRef))
			continue;
		memcpy(&ref, EngramItemGetBody(item), sizeof(ref));
		if (ref.chunk_off == 0 || ref.chunk_off > maxoff)
			continue;
		if (!is_pending[off])
			others[ref.chunk_off] = true;
	}
	for (i = 0; i < n; i++)
	{
		Size		itemlen;
		Item		item = tier_page_item(wpage, pending[i].off, &itemlen);
		EngramColdRef ref;

		chunk_of[i] = InvalidOffsetNumber;
		if (item == NULL || EngramItemBodySize(item, itemlen) != sizeof(EngramColdRef))
			continue;
		memcpy(&ref, EngramItemGetBody(item), sizeof(ref));
		if (ref.chunk_off == 0 || ref.chunk_off > maxoff || others[ref.chunk_off] ||
			tier_page_chunk_item(wpage, ref.chunk_off, &itemlen) == NULL)
			continue;
		chunk_of[i] = ref.chunk_off;
		drop[ref.chunk_off] = true;
		any = true;
	}
	if (!any)
		return;

	memcpy(sp, wpage, BLCKSZ);
	for (off = FirstOffsetNumber; off <= maxoff; off++)
		if (drop[off])
			ItemIdSetUnused(PageGetItemId(sp, off));
	PageRepairFragmentation(sp);
	for (i = 0; i < n; i++)
	{
		PendingUp  *pu = &pending[i];
		Item		item;
		char	   *newitem;
		Size		newlen;
		int			newtier = ENGRAM_TIER_HOT;

		if (chunk_of[i] == InvalidOffsetNumber)
			continue;
		item = PageGetItem(sp, PageGetItemId(sp, pu->off));
		newitem = tier_make_item(item, pu->raw, pu->rawlen, ENGRAM_TIER_HOT, &newlen);
		if (!tier_fits(sp, pu->off, newlen))
		{
			char	   *wb;
			Size		wblen;

			pfree(newitem);
			newitem = NULL;
			wb = tier_warm_encode(pu->raw, pu->rawlen, pu->rawlen, &wblen);
			if (wb != NULL)
			{
				newitem = tier_make_item(item, wb, wblen, ENGRAM_TIER_WARM, &newlen);
				newtier = ENGRAM_TIER_WARM;
				pfree(wb);
			}
		}
		if (newitem == NULL || !tier_fits(sp, pu->off, newlen) ||
			!PageIndexTupleOverwrite(sp, pu->off, (Item) newitem, newlen))
			return;				/* one does not fit: all stay COLD */
		pfree(newitem);
		newtiers[i] = newtier;
	}
	for (i = 0; i < n; i++)
	{
		if (chunk_of[i] == InvalidOffsetNumber)
			continue;
		pending[i].moved = true;
		ps->res->rows[ENGRAM_TIER_COLD][newtiers[i]]++;
		ps->res->bytes[ENGRAM_TIER_COLD][newtiers[i]] += pending[i].rawlen;
		ps->moved += pending[i].rawlen;
	}
	PageTruncateLinePointerArray(sp);
	for (off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(sp); off++)
		if (!ItemIdIsUsed(PageGetItemId(sp, off)))
		{
			EngramPageGetOpaque(sp)->flags |= ENGRAM_PAGE_HAS_FREE_LP;
			break;
		}
	memcpy(wpage, sp, BLCKSZ);
}

/* One DATA page: in-place moves, stamps, COLD rows and chunk pruning */
static void
tier_pass_page(PassState *ps, BlockNumber blk)
{
	Relation	rel = ps->rel;
	Buffer		buf;
	Page		page;
	Page		wpage = NULL;
	GenericXLogState *state = NULL;
	OffsetNumber off;
	OffsetNumber maxoff;
	bool		is_new;
	bool		moved_here = false;
	bool		has_chunks = false;
	ColdCand	cands[MaxHeapTuplesPerPage];
	int			ncands = 0;
	bool		stamped_here = false;
	PendingUp	pending[MaxHeapTuplesPerPage];
	int			npending = 0;
	int			i;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	if (tier_page_problem(page) != NULL ||
		(!PageIsNew(page) && PageGetMaxOffsetNumber(page) > MaxHeapTuplesPerPage))
	{
		/* leave a damaged page alone; the rest of the table still moves */
		UnlockReleaseBuffer(buf);
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("engram: skipping damaged page %u of relation \"%s\" in the migration pass",
						blk, RelationGetRelationName(rel)),
				 errhint("Run SELECT * FROM engram.verify('%s').",
						 RelationGetRelationName(rel))));
		return;
	}
	is_new = PageIsNew(page);
	ps->res->pages++;
	if (is_new || EngramPageGetOpaque(page)->kind != ENGRAM_PAGE_DATA)
	{
		if (!is_new && EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_COLD)
			ps->res->chunk_pages++;
		UnlockReleaseBuffer(buf);
		return;
	}

	maxoff = PageGetMaxOffsetNumber(page);
	for (off = FirstOffsetNumber; off <= maxoff; off++)
	{
		Size		itemlen;
		Item		item = tier_page_item(page, off, &itemlen);
		EngramItemHeader ih;
		int			from;
		int			to;
		char	   *raw;
		Size		rawlen;
		Size		bodylen;
		char	   *newitem = NULL;
		Size		newlen = 0;
		int			newtier = -1;

		if (item == NULL)
		{
			if (ItemIdIsNormal(PageGetItemId(page, off)) &&
				EngramItemIsChunk(PageGetItem(page, PageGetItemId(page, off))))
				has_chunks = true;
			continue;
		}
		ih = (EngramItemHeader) item;
		from = ih->tier;

		if (ih->last_access == 0 && ps->target < 0)
		{
			/* first sight of a never-read row: its age starts now */
			if (state == NULL)
			{
				state = GenericXLogStart(rel);
				wpage = GenericXLogRegisterBuffer(state, buf, 0);
			}
			((EngramItemHeader) PageGetItem(wpage, PageGetItemId(wpage, off)))->last_access = ps->now;
			ps->res->stamped++;
			stamped_here = true;
			continue;
		}

		to = tier_desired(ps, ih);
		if (to == from || !tier_budget_left(ps))
			continue;

		bodylen = EngramItemBodySize(item, itemlen);
		if (from == ENGRAM_TIER_HOT)
		{
			raw = EngramItemGetBody(item);
			rawlen = bodylen;
		}
		else
			raw = tier_decode_body(rel, blk, page, off, item, itemlen, &rawlen);

		if (to == ENGRAM_TIER_COLD)
		{
			/* worth it only if the reference is smaller than the body */
			if (MAXALIGN(itemlen - bodylen + sizeof(EngramColdRef)) < MAXALIGN(itemlen) &&
				rawlen > 0)
			{
				ColdCand   *c = &cands[ncands++];

				c->off = off;
				c->from_tier = (uint8) from;
				c->itemlen = itemlen;
				c->bodylen = bodylen;
				c->raw = palloc(rawlen);
				memcpy(c->raw, raw, rawlen);
				c->rawlen = (uint32) rawlen;
				ps->moved += rawlen;
			}
		}
		else if (to == ENGRAM_TIER_WARM)
		{
			char	   *wb;
			Size		wblen;

			/* WARM must beat the raw body; from HOT it must also shrink */
			wb = tier_warm_encode(raw, rawlen, rawlen, &wblen);
			if (wb != NULL)
			{
				newitem = tier_make_item(item, wb, wblen, ENGRAM_TIER_WARM, &newlen);
				newtier = ENGRAM_TIER_WARM;
				pfree(wb);
				if (from == ENGRAM_TIER_HOT && MAXALIGN(newlen) >= MAXALIGN(itemlen))
				{
					pfree(newitem);
					newitem = NULL;
				}
			}
			else if (from == ENGRAM_TIER_COLD)
			{
				/* incompressible alone: plain is the smallest per-row form */
				newitem = tier_make_item(item, raw, rawlen, ENGRAM_TIER_HOT, &newlen);
				newtier = ENGRAM_TIER_HOT;
			}
		}
		else					/* to HOT */
		{
			newitem = tier_make_item(item, raw, rawlen, ENGRAM_TIER_HOT, &newlen);
			newtier = ENGRAM_TIER_HOT;
		}

		if (newitem != NULL)
		{
			if (state == NULL)
			{
				state = GenericXLogStart(rel);
				wpage = GenericXLogRegisterBuffer(state, buf, 0);
			}
			if (!tier_fits(wpage, off, newlen) && from == ENGRAM_TIER_COLD &&
				newtier == ENGRAM_TIER_HOT && npending < MaxHeapTuplesPerPage &&
				tier_ref_in_page(item, itemlen))
			{
				/* its own chunk may be what takes the room: see below */
				PendingUp  *pu = &pending[npending++];

				pu->off = off;
				pu->raw = palloc(Max(rawlen, 1));
				memcpy(pu->raw, raw, rawlen);
				pu->rawlen = rawlen;
				pu->moved = false;
				pfree(newitem);
				newitem = NULL;
			}
			else if (!tier_fits(wpage, off, newlen) && from == ENGRAM_TIER_COLD &&
					 newtier == ENGRAM_TIER_HOT)
			{
				/* no room to be HOT: WARM may fit */
				char	   *wb;
				Size		wblen;

				pfree(newitem);
				newitem = NULL;
				wb = tier_warm_encode(raw, rawlen, rawlen, &wblen);
				if (wb != NULL)
				{
					newitem = tier_make_item(item, wb, wblen, ENGRAM_TIER_WARM, &newlen);
					newtier = ENGRAM_TIER_WARM;
					pfree(wb);
				}
			}
			if (newitem != NULL && tier_fits(wpage, off, newlen) &&
				PageIndexTupleOverwrite(wpage, off, (Item) newitem, newlen))
			{
				ps->res->rows[from][newtier]++;
				ps->res->bytes[from][newtier] += rawlen;
				ps->moved += rawlen;
				moved_here = true;
			}
			if (newitem != NULL)
				pfree(newitem);
		}
		if (from != ENGRAM_TIER_HOT)
			pfree(raw);
	}

	if (npending > 0)
	{
		tier_promote_pending(ps, wpage, pending, npending);
		/* those whose chunk must stay: WARM where that fits, as before */
		for (i = 0; i < npending; i++)
			if (!pending[i].moved)
				tier_pending_warm(ps, wpage, &pending[i]);
		for (i = 0; i < npending; i++)
		{
			if (pending[i].moved)
				moved_here = true;
			pfree(pending[i].raw);
		}
	}

	if (ncands > 0)
	{
		int			done;

		if (state == NULL)
		{
			state = GenericXLogStart(rel);
			wpage = GenericXLogRegisterBuffer(state, buf, 0);
		}
		done = tier_cold_page(ps, blk, wpage, cands, ncands);
		if (done > 0)
		{
			moved_here = true;
			has_chunks = true;
		}
		/* rows left out did not move: give their bytes back to the budget */
		for (i = 0; i < ncands; i++)
		{
			if (i >= done)
				ps->moved -= cands[i].rawlen;
			pfree(cands[i].raw);
		}
	}

	/* chunks of this page no row refers to any more (rows promoted, deleted) */
	if (has_chunks && moved_here && tier_prune_page_chunks(wpage, false) > 0)
		tier_prune_page_chunks(wpage, true);

	if (state != NULL)
	{
		if (moved_here || stamped_here)
			GenericXLogFinish(state);
		else
			GenericXLogAbort(state);
	}
	if (moved_here)
		tier_record_free(rel, blk, page);
	UnlockReleaseBuffer(buf);
	/* rows of a data page switched in place to another tier */
	if (moved_here)
		TIER_FAULT_POINT("migrate_after_switch");
}

void
tier_migrate_pass(Relation rel, int target, int64 max_bytes,
				  TierPassResult *result)
{
	PassState	ps;
	BlockNumber nblocks;
	BlockNumber blk;

	memset(result, 0, sizeof(*result));
	memset(&ps, 0, sizeof(ps));
	ps.rel = rel;
	ps.target = target;
	ps.max_bytes = max_bytes;
	ps.now = tier_now_seconds();
	ps.res = result;
	tier_lossy_init(&ps.lossy, RelationGetRelid(rel), RelationGetDescr(rel));

	tier_compute_budget(&ps);

	/* a pass never extends the relation: every change is within a page */
	nblocks = RelationGetNumberOfBlocks(rel);
	for (blk = 0; blk < nblocks; blk++)
	{
		CHECK_FOR_INTERRUPTS();
		tier_pass_page(&ps, blk);
	}

	TIER_FAULT_POINT("migrate_before_reclaim");
	result->swept = tier_sweep_chunks(rel);
	FreeSpaceMapVacuum(rel);
}

bool
tier_migrate_slice(Relation rel, TierCursor *cur, int64 max_bytes,
				   BlockNumber max_pages, TierPassResult *result)
{
	PassState	ps;
	BlockNumber nblocks;
	BlockNumber blk;
	BlockNumber start;

	memset(result, 0, sizeof(*result));
	memset(&ps, 0, sizeof(ps));
	ps.rel = rel;
	ps.target = -1;
	ps.max_bytes = max_bytes;
	ps.now = tier_now_seconds();
	ps.res = result;
	tier_lossy_init(&ps.lossy, RelationGetRelid(rel), RelationGetDescr(rel));

	nblocks = RelationGetNumberOfBlocks(rel);
	if (cur->next == 0 || cur->next >= nblocks)
	{
		/* a new cycle over the table */
		cur->next = 0;
		cur->chunk_pages = false;
		tier_compute_budget(&ps);
		cur->budget_on = ps.budget_on;
		cur->heat_threshold = ps.heat_threshold;
	}
	else
	{
		ps.budget_on = cur->budget_on;
		ps.heat_threshold = cur->heat_threshold;
	}

	start = cur->next;
	for (blk = start; blk < nblocks && blk - start < max_pages && tier_budget_left(&ps); blk++)
	{
		CHECK_FOR_INTERRUPTS();
		tier_pass_page(&ps, blk);
	}
	if (result->chunk_pages > 0)
		cur->chunk_pages = true;
	if (blk > start)
		FreeSpaceMapVacuumRange(rel, start, blk);
	cur->next = blk;
	if (blk >= nblocks)
	{
		cur->next = 0;
		return true;
	}
	return false;
}

/* ---- chunk sweep ---- */

typedef struct ChunkKey
{
	BlockNumber blkno;
	uint32		chunk_id;
} ChunkKey;

static int
chunkkey_cmp(const void *a, const void *b)
{
	const ChunkKey *x = a;
	const ChunkKey *y = b;

	if (x->blkno != y->blkno)
		return x->blkno < y->blkno ? -1 : 1;
	if (x->chunk_id != y->chunk_id)
		return x->chunk_id < y->chunk_id ? -1 : 1;
	return 0;
}

/*
 * Reclaim chunks that no row refers to: chunk items of DATA pages whose
 * rows were promoted, updated or deleted and vacuumed, and (format 0.1)
 * COLD chunk pages, left by a crash between writing a chunk and switching
 * rows to it, or emptied by promotions and VACUUM.  Returns how many.
 *
 * A chunk item is referenced only by rows of its own page, so it is judged
 * and removed under that page's exclusive lock alone.  No code writes
 * references to 0.1 chunk pages any more, so a chunk page unreferenced
 * during our scan stays unreferenced.  The caller holds
 * ShareUpdateExclusiveLock all the same (VACUUM does; the worker takes it
 * only if it is free at once).
 *
 * If any page cannot be read as a sane engram page we reclaim nothing: a
 * damaged DATA page might hold references we could not see.
 *
 * No hot-standby conflict record is needed: every row's content is the same
 * before and after (a chunk page is reclaimed only when no row refers to
 * it), and readers, on the primary and in standby redo alike, follow a
 * reference only while holding the referring DATA page's lock.  Redo applies
 * records in order, so the record switching a row away from a chunk (which
 * needs that DATA page's lock) is replayed before the record reclaiming the
 * chunk; a reader that still sees the reference therefore finds the chunk
 * intact.  No snapshot can see a row version this removes: it removes none.
 */
BlockNumber
tier_sweep_chunks(Relation rel)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	BlockNumber blk;
	ChunkKey   *refs = NULL;
	int			nrefs = 0;
	int			maxrefs = 0;
	ChunkKey   *chunks = NULL;
	int			nchunks = 0;
	int			maxchunks = 0;
	BlockNumber swept = 0;
	BlockNumber *prune = NULL;
	int			nprune = 0;
	int			maxprune = 0;
	int			i;

	for (blk = 0; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		EngramPageOpaque opaque;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page))
		{
			UnlockReleaseBuffer(buf);
			continue;
		}
		if (tier_page_problem(page) != NULL)
		{
			UnlockReleaseBuffer(buf);
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("engram: page %u of relation \"%s\" is damaged; no chunk pages reclaimed",
							blk, RelationGetRelationName(rel)),
					 errhint("Run SELECT * FROM engram.verify('%s').",
							 RelationGetRelationName(rel))));
			if (refs)
				pfree(refs);
			if (chunks)
				pfree(chunks);
			return 0;
		}
		opaque = EngramPageGetOpaque(page);
		if (opaque->kind == ENGRAM_PAGE_COLD)
		{
			if (nchunks == maxchunks)
			{
				maxchunks = maxchunks ? maxchunks * 2 : 64;
				chunks = chunks ? repalloc(chunks, sizeof(ChunkKey) * maxchunks) :
					palloc(sizeof(ChunkKey) * maxchunks);
			}
			chunks[nchunks].blkno = blk;
			chunks[nchunks].chunk_id = opaque->chunk_id;
			nchunks++;
		}
		else
		{
			OffsetNumber off;
			OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

			for (off = FirstOffsetNumber; off <= maxoff; off++)
			{
				ItemId		lp = PageGetItemId(page, off);
				Size		itemlen;
				Item		item;
				EngramColdRef ref;

				if (!ItemIdIsNormal(lp))
					continue;
				if (ItemIdGetOffset(lp) >= ((PageHeader) page)->pd_upper &&
					ItemIdGetOffset(lp) + ItemIdGetLength(lp) <= ((PageHeader) page)->pd_special &&
					ItemIdGetLength(lp) >= SizeOfEngramItemHeader &&
					EngramItemIsChunk(PageGetItem(page, lp)))
					continue;
				item = tier_page_item(page, off, &itemlen);
				if (item == NULL)
				{
					/* cannot tell whether it refers to a chunk: be safe */
					UnlockReleaseBuffer(buf);
					ereport(WARNING,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("engram: item (%u,%u) of relation \"%s\" is damaged; no chunk pages reclaimed",
									blk, off, RelationGetRelationName(rel))));
					if (refs)
						pfree(refs);
					if (chunks)
						pfree(chunks);
					return 0;
				}
				if (((EngramItemHeader) item)->tier != ENGRAM_TIER_COLD ||
					EngramItemBodySize(item, itemlen) < sizeof(EngramColdRef))
					continue;
				memcpy(&ref, EngramItemGetBody(item), sizeof(ref));
				if (ref.chunk_off != 0)
					continue;	/* a chunk item of this page: see below */
				if (nrefs == maxrefs)
				{
					maxrefs = maxrefs ? maxrefs * 2 : 1024;
					refs = refs ? repalloc_huge(refs, sizeof(ChunkKey) * maxrefs) :
						palloc(sizeof(ChunkKey) * maxrefs);
				}
				refs[nrefs].blkno = ref.chunk_blkno;
				refs[nrefs].chunk_id = ref.chunk_id;
				nrefs++;
			}
			if (tier_prune_page_chunks(page, false) > 0)
			{
				if (nprune == maxprune)
				{
					maxprune = maxprune ? maxprune * 2 : 64;
					prune = prune ? repalloc(prune, sizeof(BlockNumber) * maxprune) :
						palloc(sizeof(BlockNumber) * maxprune);
				}
				prune[nprune++] = blk;
			}
		}
		UnlockReleaseBuffer(buf);
	}

	/*
	 * Chunk items no row of their page refers to.  A COLD row refers only to
	 * a chunk of its own page, so this is decided under that page's
	 * exclusive lock alone.
	 */
	for (i = 0; i < nprune; i++)
	{
		Buffer		buf;
		Page		page;
		GenericXLogState *state;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, prune[i], RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page) && tier_page_problem(page) == NULL &&
			EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_DATA &&
			tier_prune_page_chunks(page, false) > 0)
		{
			state = GenericXLogStart(rel);
			page = GenericXLogRegisterBuffer(state, buf, 0);
			swept += tier_prune_page_chunks(page, true);
			GenericXLogFinish(state);
			tier_record_free(rel, prune[i], BufferGetPage(buf));
		}
		UnlockReleaseBuffer(buf);
	}
	if (prune)
		pfree(prune);

	if (nrefs > 1)
		qsort(refs, nrefs, sizeof(ChunkKey), chunkkey_cmp);

	for (i = 0; i < nchunks; i++)
	{
		Buffer		buf;
		Page		page;
		GenericXLogState *state;

		if (nrefs > 0 &&
			bsearch(&chunks[i], refs, nrefs, sizeof(ChunkKey), chunkkey_cmp) != NULL)
			continue;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, chunks[i].blkno, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page) && tier_page_problem(page) == NULL &&
			EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_COLD &&
			EngramPageGetOpaque(page)->chunk_id == chunks[i].chunk_id)
		{
			state = GenericXLogStart(rel);
			page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
			engram_page_init(page, ENGRAM_PAGE_DATA);
			GenericXLogFinish(state);
			tier_record_free(rel, chunks[i].blkno, BufferGetPage(buf));
			swept++;
		}
		UnlockReleaseBuffer(buf);
	}
	if (refs)
		pfree(refs);
	if (chunks)
		pfree(chunks);
	if (swept > 0)
		FreeSpaceMapVacuum(rel);
	return swept;
}

/* ---- VACUUM FULL / CLUSTER ---- */

/* stub bytes of a COLD row whose tuple header takes hoff bytes */
#define TIER_STUB_SPACE(hoff) \
	(MAXALIGN(SizeOfEngramItemHeader + (hoff) + sizeof(EngramColdRef)) + sizeof(ItemIdData))

/*
 * Build the chunk of tups[0..n) for tier_pack_cold.  Returns the chunk (or
 * NULL) and the page bytes it and the n references take in *need.
 */
static char *
tier_pack_build(HeapTuple *tups, int n, uint32 chunk_id, bool lossy,
				Size *chunklen, Size *need)
{
	char	  **bodies = palloc(sizeof(char *) * n);
	uint32	   *lens = palloc(sizeof(uint32) * n);
	Size		stubs = 0;
	char	   *chunk;
	int			i;

	for (i = 0; i < n; i++)
	{
		HeapTupleHeader th = tups[i]->t_data;

		bodies[i] = (char *) th + th->t_hoff;
		lens[i] = tups[i]->t_len - th->t_hoff;
		stubs += TIER_STUB_SPACE(th->t_hoff);
	}
	chunk = tier_chunk_build_ext(chunk_id, n, bodies, lens,
								 ENGRAM_MAX_ITEM_SIZE - TIER_CHUNK_ITEM_OVERHEAD,
								 tier_cold_shuffle, lossy, chunklen);
	pfree(bodies);
	pfree(lens);
	*need = stubs + MAXALIGN(TIER_CHUNK_ITEM_OVERHEAD + *chunklen) + sizeof(ItemIdData);
	return chunk;
}

int
tier_pack_cold(Page page, HeapTuple *tups, int ntups, bool lossy)
{
	static double ratio = 2.0;	/* raw / compressed of the last chunk */
	Size		avail = PageGetExactFreeSpace(page);
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	int			maxrows = Min(ntups, Min(ENGRAM_CHUNK_MAX_BODIES,
										 (int) MaxHeapTuplesPerPage - (int) maxoff - 1));
	uint32		chunk_id = tier_new_chunk_id();
	char	   *best = NULL;
	Size		bestlen = 0;
	int			bestn = 0;
	int			lo = 0;			/* most rows known to fit */
	int			hi = maxrows + 1;	/* fewest rows known not to fit */
	int			n;
	int			tries;
	Size		est = MAXALIGN(TIER_CHUNK_ITEM_OVERHEAD + EngramChunkHeaderSize(0)) + sizeof(ItemIdData);
	Size		raw = 0;
	char	   *citem;
	Size		citemlen;
	OffsetNumber coff;
	int			i;

	if (maxrows <= 0)
		return 0;

	/* first guess from the last chunk's ratio */
	for (n = 0; n < maxrows; n++)
	{
		HeapTupleHeader th = tups[n]->t_data;
		Size		r = tups[n]->t_len - th->t_hoff;
		Size		cost = TIER_STUB_SPACE(th->t_hoff) + sizeof(uint32) + (Size) (r / ratio);

		if (est + cost > avail || raw + r > ENGRAM_CHUNK_MAX_RAW)
			break;
		est += cost;
		raw += r;
	}
	n = Max(n, 1);

	for (tries = 0; tries < 8 && n > lo && n < hi; tries++)
	{
		Size		chunklen;
		Size		need;
		char	   *chunk;

		CHECK_FOR_INTERRUPTS();
		raw = 0;
		for (i = 0; i < n; i++)
			raw += tups[i]->t_len - tups[i]->t_data->t_hoff;
		if (raw > ENGRAM_CHUNK_MAX_RAW)
		{
			hi = n;
			n = Max(lo + 1, n / 2);
			continue;
		}
		chunk = tier_pack_build(tups, n, chunk_id, lossy, &chunklen, &need);
		if (chunklen > 0)
			ratio = Max(1.0, (double) raw / (double) chunklen);
		if (chunk != NULL && need <= avail)
		{
			if (best)
				pfree(best);
			best = chunk;
			bestlen = chunklen;
			bestn = lo = n;
			if (n >= maxrows)
				break;
			/* room left: grow by what it would hold at this ratio */
			n = n + Max(1, (int) ((avail - need) /
								  (TIER_STUB_SPACE(tups[n]->t_data->t_hoff) +
								   (tups[n]->t_len - tups[n]->t_data->t_hoff) / ratio + 4)));
			n = Min(n, Min(maxrows, hi - 1));
		}
		else
		{
			if (chunk)
				pfree(chunk);
			if (chunklen == 0)
				break;
			hi = n;
			n = lo + Max(1, (int) ((n - lo) * ((double) avail / (double) need) * 0.97));
			n = Min(n, hi - 1);
		}
	}
	if (bestn == 0)
		return 0;

	/* the chunk first, then the references to it */
	coff = maxoff + 1;
	citem = tier_chunk_item(best, bestlen, &citemlen);
	if (PageAddItemExtended(page, (Item) citem, citemlen, coff, PAI_IS_HEAP) != coff)
		elog(ERROR, "could not add a chunk item of %zu bytes to a new page", citemlen);
	pfree(citem);
	pfree(best);
	for (i = 0; i < bestn; i++)
	{
		HeapTupleHeader th = tups[i]->t_data;
		Size		len = SizeOfEngramItemHeader + th->t_hoff + sizeof(EngramColdRef);
		char	   *item = palloc0(len);
		EngramItemHeader ih = (EngramItemHeader) item;
		EngramColdRef ref;

		ih->tier = ENGRAM_TIER_COLD;
		memcpy(item + SizeOfEngramItemHeader, th, th->t_hoff);
		ref.chunk_blkno = InvalidBlockNumber;
		ref.chunk_id = chunk_id;
		ref.index = (uint16) i;
		ref.chunk_off = coff;
		ref.raw_len = tups[i]->t_len - th->t_hoff;
		memcpy(item + SizeOfEngramItemHeader + th->t_hoff, &ref, sizeof(ref));
		if (PageAddItemExtended(page, (Item) item, len, InvalidOffsetNumber,
								PAI_IS_HEAP) == InvalidOffsetNumber)
			elog(ERROR, "could not add a COLD reference to a new page");
		pfree(item);
		if (!(HeapTupleHeaderXminFrozen(th) && (th->t_infomask & HEAP_XMAX_INVALID)))
			EngramPageGetOpaque(page)->flags &= ~ENGRAM_PAGE_ALL_FROZEN;
	}
	return bestn;
}
