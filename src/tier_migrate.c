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
static bool tier_cold_shuffle = false;

void
tier_init(void)
{
	DefineCustomIntVariable("engram.warm_after",
							"Rows not read for this long become WARM (lz4 per row).",
							NULL, &tier_warm_after, 86400, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("engram.cold_after",
							"Rows not read for this long become COLD (lz4 HC chunks of many rows).",
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
	DefineCustomStringVariable("engram.migrate_database",
							   "Database whose engram tables the background worker migrates.",
							   NULL, &tier_migrate_database, "postgres",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("engram.cold_shuffle",
							 "Also try byte-shuffled 4-byte lanes when compressing COLD chunks, keeping the smaller.",
							 "Off by default: it doubles the compression work for 2-4% on float-only chunks and nothing on text with embeddings (test/bench/tier_bench.sh).",
							 &tier_cold_shuffle, false,
							 PGC_USERSET, 0, NULL, NULL, NULL);

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

typedef struct ColdCand
{
	BlockNumber blkno;
	OffsetNumber off;
	uint8		from_tier;
	char	   *stored;			/* body as stored, to recheck before switching */
	uint32		storedlen;
	uint32		itemlen;		/* whole item as stored */
	char	   *raw;
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
	double		est_ratio;		/* raw/compressed of the last chunk */
	ColdCand   *cands;
	int			ncands;
	int			maxcands;
	Size		cand_raw;
	MemoryContext candcxt;
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

static void
tier_add_cand(PassState *ps, BlockNumber blk, OffsetNumber off, Item item,
			  Size itemlen, char *raw, Size rawlen)
{
	MemoryContext old = MemoryContextSwitchTo(ps->candcxt);
	ColdCand   *c;
	Size		bodylen = EngramItemBodySize(item, itemlen);

	if (ps->ncands == ps->maxcands)
	{
		ps->maxcands = ps->maxcands ? ps->maxcands * 2 : 256;
		ps->cands = ps->cands ? repalloc(ps->cands, sizeof(ColdCand) * ps->maxcands) :
			palloc(sizeof(ColdCand) * ps->maxcands);
	}
	c = &ps->cands[ps->ncands++];
	c->blkno = blk;
	c->off = off;
	c->from_tier = ((EngramItemHeader) item)->tier;
	c->storedlen = (uint32) bodylen;
	c->itemlen = (uint32) itemlen;
	c->stored = palloc(bodylen);
	memcpy(c->stored, EngramItemGetBody(item), bodylen);
	c->raw = palloc(Max(rawlen, 1));
	memcpy(c->raw, raw, rawlen);
	c->rawlen = (uint32) rawlen;
	ps->cand_raw += rawlen;
	MemoryContextSwitchTo(old);
}

/*
 * A page for a new chunk: an empty DATA page (or a never initialised one)
 * the FSM knows of, or a new page at the end.  Returned pinned and
 * exclusively locked.  Inserters check the page kind after locking, so one
 * that was sent here by the FSM meanwhile just moves on.
 */
static Buffer
tier_chunk_page(Relation rel)
{
	/* FSM category of an empty page, as free bytes (FSM steps are BLCKSZ/256) */
	Size		empty = ((BLCKSZ - SizeOfPageHeaderData -
						  MAXALIGN(sizeof(EngramPageOpaqueData))) / (BLCKSZ / 256)) * (BLCKSZ / 256);
	BlockNumber blk;
	Buffer		buf;
	int			tries;

	for (tries = 0; tries < 4; tries++)
	{
		Page		page;
		bool		ok = true;
		OffsetNumber off;

		blk = GetPageWithFreeSpace(rel, empty);
		if (blk == InvalidBlockNumber)
			break;
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		/* only a page no TID can point into */
		if (PageIsNew(page))
			return buf;
		if (tier_page_problem(page) != NULL ||
			EngramPageGetOpaque(page)->kind != ENGRAM_PAGE_DATA)
			ok = false;
		else
			for (off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
				if (ItemIdIsUsed(PageGetItemId(page, off)))
				{
					ok = false;
					break;
				}
		if (ok)
			return buf;
		if (tier_page_problem(page) == NULL &&
			EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_DATA)
			tier_record_free(rel, blk, page);
		else
			RecordPageWithFreeSpace(rel, blk, 0);
		UnlockReleaseBuffer(buf);
	}

	LockRelationForExtension(rel, ExclusiveLock);
	buf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_ZERO_AND_LOCK, NULL);
	UnlockRelationForExtension(rel, ExclusiveLock);
	return buf;
}

static uint32
tier_new_chunk_id(void)
{
	uint32		id;

	do
	{
		id = pg_prng_uint32(&pg_global_prng_state);
	} while (id == 0);
	return id;
}

/* Write chunk page for cands[0..n), switch the rows to references */
static void
tier_write_chunk(PassState *ps, int n, char *citem, Size citemlen,
				 uint32 chunk_id)
{
	Relation	rel = ps->rel;
	Buffer		cbuf;
	BlockNumber cblk;
	GenericXLogState *state;
	Page		cpage;
	int			i;

	cbuf = tier_chunk_page(rel);
	cblk = BufferGetBlockNumber(cbuf);
	state = GenericXLogStart(rel);
	cpage = GenericXLogRegisterBuffer(state, cbuf, GENERIC_XLOG_FULL_IMAGE);
	engram_page_init(cpage, ENGRAM_PAGE_COLD);
	EngramPageGetOpaque(cpage)->chunk_id = chunk_id;
	if (PageAddItem(cpage, (Item) citem, citemlen, FirstOffsetNumber,
					false, false) != FirstOffsetNumber)
		elog(ERROR, "could not add chunk item of %zu bytes to block %u",
			 citemlen, cblk);
	GenericXLogFinish(state);
	UnlockReleaseBuffer(cbuf);
	RecordPageWithFreeSpace(rel, cblk, 0);

	/* chunk durable (with its WAL), no row refers to it yet */
	TIER_FAULT_POINT("migrate_after_new_body");

	i = 0;
	while (i < n)
	{
		BlockNumber blk = ps->cands[i].blkno;
		int			j;
		Buffer		buf;
		Page		page;
		Page		wpage;
		int			changed = 0;

		for (j = i; j < n && ps->cands[j].blkno == blk; j++)
			;
		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page) && tier_page_problem(page) == NULL &&
			EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_DATA)
		{
			state = GenericXLogStart(rel);
			wpage = GenericXLogRegisterBuffer(state, buf, 0);
			for (; i < j; i++)
			{
				ColdCand   *c = &ps->cands[i];
				Size		itemlen;
				Item		item = tier_page_item(page, c->off, &itemlen);
				EngramColdRef ref;
				char	   *newitem;
				Size		newlen;

				/* the row must still be the one we compressed */
				if (item == NULL ||
					((EngramItemHeader) item)->tier != c->from_tier ||
					EngramItemBodySize(item, itemlen) != c->storedlen ||
					memcmp(EngramItemGetBody(item), c->stored, c->storedlen) != 0)
					continue;
				ref.chunk_blkno = cblk;
				ref.chunk_id = chunk_id;
				ref.index = (uint16) i;
				ref.unused = 0;
				ref.raw_len = c->rawlen;
				newitem = tier_make_item(item, (char *) &ref, sizeof(ref),
										 ENGRAM_TIER_COLD, &newlen);
				if (PageIndexTupleOverwrite(wpage, c->off, (Item) newitem, newlen))
				{
					changed++;
					ps->res->rows[c->from_tier][ENGRAM_TIER_COLD]++;
					ps->res->bytes[c->from_tier][ENGRAM_TIER_COLD] += c->rawlen;
				}
				pfree(newitem);
			}
			if (changed > 0)
				GenericXLogFinish(state);
			else
				GenericXLogAbort(state);
			if (changed > 0)
				tier_record_free(rel, blk, page);
		}
		i = j;
		UnlockReleaseBuffer(buf);
		if (changed > 0)
			TIER_FAULT_POINT("migrate_after_switch");
	}
}

/*
 * Turn collected COLD candidates into chunks.  Unless final, only while
 * enough raw data is waiting to fill a chunk.
 */
static void
tier_flush_cands(PassState *ps, bool final)
{
	Size		cap = ENGRAM_MAX_ITEM_SIZE;

	while (ps->ncands > 0)
	{
		Size		target_raw = (Size) (ps->est_ratio * cap * 0.95);
		Size		raw = 0;
		int			n = 0;
		char	  **bodies;
		uint32	   *lens;
		char	   *citem = NULL;
		Size		citemlen = 0;
		uint32		chunk_id = tier_new_chunk_id();
		int			i;

		target_raw = Min(target_raw, ENGRAM_CHUNK_MAX_RAW);
		if (!final && ps->cand_raw < target_raw)
			break;
		CHECK_FOR_INTERRUPTS();

		while (n < ps->ncands && n < ENGRAM_CHUNK_MAX_BODIES &&
			   (n == 0 || raw + ps->cands[n].rawlen <= target_raw))
			raw += ps->cands[n++].rawlen;

		bodies = palloc(sizeof(char *) * n);
		lens = palloc(sizeof(uint32) * n);
		for (i = 0; i < n; i++)
		{
			bodies[i] = ps->cands[i].raw;
			lens[i] = ps->cands[i].rawlen;
		}
		for (;;)
		{
			citem = tier_chunk_build(chunk_id, n, bodies, lens, cap,
									 tier_cold_shuffle, &citemlen);
			if (citem != NULL || n == 1 || citemlen == 0)
				break;
			/* too big: shrink in proportion, and a little more */
			n = Max(1, Min(n - 1, (int) (n * (double) cap / citemlen * 0.95)));
		}
		pfree(bodies);
		pfree(lens);

		if (citem != NULL)
		{
			Size		freed = 0;

			raw = 0;
			for (i = 0; i < n; i++)
			{
				ColdCand   *c = &ps->cands[i];

				raw += c->rawlen;
				freed += MAXALIGN(c->itemlen) -
					MAXALIGN(c->itemlen - c->storedlen + sizeof(EngramColdRef));
			}
			ps->est_ratio = Max(1.0, (double) raw / (double) citemlen);

			/*
			 * By policy a chunk must pay for its page: the bytes it frees on
			 * the data pages must exceed the page it takes.  Data that does
			 * not compress (random floats) therefore stays where it is.  A
			 * forced target moves rows whatever it costs.
			 */
			if (ps->target < 0 && freed <= BLCKSZ)
			{
				for (i = 0; i < n; i++)
					ps->moved -= ps->cands[i].rawlen;
			}
			else
				tier_write_chunk(ps, n, citem, citemlen, chunk_id);
			pfree(citem);
		}
		else
			n = 1;				/* this body cannot be COLD: leave it */

		for (i = 0; i < n; i++)
		{
			ps->cand_raw -= ps->cands[i].rawlen;
			pfree(ps->cands[i].raw);
			pfree(ps->cands[i].stored);
		}
		ps->ncands -= n;
		memmove(ps->cands, ps->cands + n, sizeof(ColdCand) * ps->ncands);
	}
}

/* One DATA page: in-place moves, stamps, and COLD candidates */
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

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	if (tier_page_problem(page) != NULL)
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
	if (is_new || EngramPageGetOpaque(page)->kind != ENGRAM_PAGE_DATA)
	{
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
			continue;
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
			raw = tier_decode_body(rel, blk, off, item, itemlen, &rawlen);

		if (to == ENGRAM_TIER_COLD)
		{
			/* worth it only if the reference is smaller than the body */
			if (MAXALIGN(itemlen - bodylen + sizeof(EngramColdRef)) < MAXALIGN(itemlen) &&
				rawlen > 0)
			{
				tier_add_cand(ps, blk, off, item, itemlen, raw, rawlen);
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

	if (state != NULL)
		GenericXLogFinish(state);
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
	ps.est_ratio = 3.0;
	ps.res = result;
	ps.candcxt = AllocSetContextCreate(CurrentMemoryContext,
									   "engram migration candidates",
									   ALLOCSET_DEFAULT_SIZES);

	tier_compute_budget(&ps);

	/* chunk pages added by this pass lie beyond nblocks: not revisited */
	nblocks = RelationGetNumberOfBlocks(rel);
	for (blk = 0; blk < nblocks; blk++)
	{
		CHECK_FOR_INTERRUPTS();
		tier_pass_page(&ps, blk);
		tier_flush_cands(&ps, false);
	}
	tier_flush_cands(&ps, true);
	MemoryContextDelete(ps.candcxt);

	TIER_FAULT_POINT("migrate_before_reclaim");
	result->swept = tier_sweep_chunks(rel);
	FreeSpaceMapVacuum(rel);
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
 * Reclaim COLD chunk pages that no row refers to: left by a crash between
 * writing a chunk and switching rows to it, or emptied by promotions and
 * VACUUM.  The caller holds ShareUpdateExclusiveLock, which excludes every
 * other migration pass and VACUUM, the only code that creates references;
 * so a chunk unreferenced during our scan stays unreferenced.
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
		}
		UnlockReleaseBuffer(buf);
	}

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
