/*-------------------------------------------------------------------------
 *
 * tier_sql.c
 *	  SQL interface of engram's tiers: engram.migrate, tier_of, tier_stats,
 *	  verify, access_history and record_access.
 *
 * IDENTIFICATION
 *	  src/tier_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <lz4.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "engram_am.h"
#include "engram_compat.h"
#include "memory.h"
#include "tier.h"

PG_FUNCTION_INFO_V1(engram_migrate);
PG_FUNCTION_INFO_V1(engram_tier_of);
PG_FUNCTION_INFO_V1(engram_tier_stats);
PG_FUNCTION_INFO_V1(engram_verify);
PG_FUNCTION_INFO_V1(engram_access_history);
PG_FUNCTION_INFO_V1(engram_record_access_sql);

/*
 * Open relid as an engram table, or raise a clear error.  owner: the role
 * must own it; else need is the table privilege to hold, ACL_NO_RIGHTS
 * meaning "owner or pg_read_all_stats" (whole-table statistics).
 */
static Relation
tier_open_engram(Oid relid, LOCKMODE lockmode, AclMode need, bool owner)
{
	Relation	rel = table_open(relid, lockmode);

	if (!engram_is_engram_rel(rel))
	{
		char	   *name = pstrdup(RelationGetRelationName(rel));

		table_close(rel, lockmode);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an engram table", name),
				 errhint("Tiers exist only in tables created with CREATE TABLE ... USING engram.")));
	}
	if (owner)
	{
		if (!engram_class_ownercheck(relid, GetUserId()))
			aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE,
						   RelationGetRelationName(rel));
	}
	else if (need == ACL_NO_RIGHTS)
	{
		/*
		 * Whole-table statistics (tier_stats, verify) count every row
		 * version, including those row-level security hides and those of
		 * aborted transactions: only the table's owner and roles with
		 * pg_read_all_stats may see them (a role with SELECT on a shared
		 * table would otherwise watch other tenants' totals change).
		 */
		if (!engram_class_ownercheck(relid, GetUserId()) &&
			!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for table %s", RelationGetRelationName(rel)),
					 errdetail("Tier statistics and verification cover every row of the table, including rows hidden from the role."),
					 errhint("Only the table's owner and members of pg_read_all_stats may read them.")));
	}
	else if (pg_class_aclcheck(relid, GetUserId(), need) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE,
					   RelationGetRelationName(rel));
	return rel;
}

/* ---- engram.migrate ---- */

Datum
engram_migrate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	int64		max_bytes = -1;
	int			target = -1;
	Relation	rel;
	TierPassResult res;
	int			from;
	int			to;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be NULL")));
	relid = PG_GETARG_OID(0);
	if (!PG_ARGISNULL(1))
	{
		max_bytes = PG_GETARG_INT64(1);
		if (max_bytes < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_bytes must not be negative"),
					 errhint("Pass NULL for no limit.")));
	}
	if (!PG_ARGISNULL(2))
	{
		char	   *t = text_to_cstring(PG_GETARG_TEXT_PP(2));

		if (pg_strcasecmp(t, "hot") == 0)
			target = ENGRAM_TIER_HOT;
		else if (pg_strcasecmp(t, "warm") == 0)
			target = ENGRAM_TIER_WARM;
		else if (pg_strcasecmp(t, "cold") == 0)
			target = ENGRAM_TIER_COLD;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown tier \"%s\"", t),
					 errhint("The target must be 'hot', 'warm', 'cold' or NULL (by policy).")));
	}
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot migrate tiers during recovery")));
	PreventCommandIfReadOnly("engram.migrate()");

	InitMaterializedSRF(fcinfo, 0);

	/* self-conflicting with VACUUM and other passes, never blocks DML */
	rel = tier_open_engram(relid, ShareUpdateExclusiveLock, 0, true);
	tier_migrate_pass(rel, target, max_bytes, &res);
	table_close(rel, NoLock);

	for (from = 0; from < ENGRAM_NUM_TIERS; from++)
		for (to = 0; to < ENGRAM_NUM_TIERS; to++)
		{
			Datum		values[3];
			bool		nulls[3] = {false, false, false};

			if (res.rows[from][to] == 0)
				continue;
			values[0] = CStringGetTextDatum(psprintf("%s->%s", tier_name(from), tier_name(to)));
			values[1] = Int64GetDatum(res.rows[from][to]);
			values[2] = Int64GetDatum(res.bytes[from][to]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	if (res.stamped > 0)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, true};

		values[0] = CStringGetTextDatum("first seen");
		values[1] = Int64GetDatum(res.stamped);
		values[2] = (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (res.swept > 0)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum("chunks reclaimed");
		values[1] = Int64GetDatum((int64) res.swept);
		values[2] = Int64GetDatum((int64) res.swept * BLCKSZ);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---- tier_of ---- */

const char *
tier_of_tid(Relation rel, ItemPointer tid)
{
	BlockNumber blk;
	Buffer		buf;
	Page		page;
	Size		itemlen;
	Item		item;
	int			tier = -1;

	if (!ItemPointerIsValid(tid))
		return NULL;
	blk = ItemPointerGetBlockNumber(tid);
	if (blk >= RelationGetNumberOfBlocks(rel))
		return NULL;
	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (!PageIsNew(page) && tier_page_problem(page) == NULL &&
		EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_DATA &&
		(item = tier_page_item(page, ItemPointerGetOffsetNumber(tid), &itemlen)) != NULL)
		tier = ((EngramItemHeader) item)->tier;
	UnlockReleaseBuffer(buf);
	return tier < 0 ? NULL : tier_name(tier);
}

Datum
engram_tier_of(PG_FUNCTION_ARGS)
{
	Relation	rel = tier_open_engram(PG_GETARG_OID(0), AccessShareLock, ACL_SELECT, false);
	const char *t;

	/* under row-level security only rows the role can see */
	engram_check_row_visible(rel, (ItemPointer) PG_GETARG_POINTER(1));
	t = tier_of_tid(rel, (ItemPointer) PG_GETARG_POINTER(1));

	table_close(rel, AccessShareLock);
	if (t == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(t));
}

/* ---- tier_stats ---- */

typedef struct ChunkInfo
{
	BlockNumber blkno;
	uint32		chunk_id;
	Size		itemlen;		/* tier_stats: on-disk size of the chunk */
	bool		ok;				/* verify: decoded fine */
	bool		referenced;
	int			nbodies;
	uint32	   *offsets;
} ChunkInfo;

static int
chunkinfo_cmp(const void *a, const void *b)
{
	BlockNumber x = ((const ChunkInfo *) a)->blkno;
	BlockNumber y = ((const ChunkInfo *) b)->blkno;

	return x < y ? -1 : x > y ? 1 : 0;
}

static ChunkInfo *
chunkinfo_find(ChunkInfo *chunks, int n, BlockNumber blk)
{
	ChunkInfo	key;

	key.blkno = blk;
	return n > 0 ? bsearch(&key, chunks, n, sizeof(ChunkInfo), chunkinfo_cmp) : NULL;
}

/* verify: a chunk item of the DATA page being checked */
typedef struct PageChunk
{
	bool		is_chunk;
	bool		ok;
	bool		referenced;
	uint32		chunk_id;
	int			nbodies;
	uint32	   *offsets;
} PageChunk;

typedef struct RefInfo
{
	BlockNumber blkno;
	OffsetNumber off;
	EngramColdRef ref;
} RefInfo;

Datum
engram_tier_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel;
	BlockNumber nblocks;
	BlockNumber blk;
	int64		rows[ENGRAM_NUM_TIERS] = {0};
	int64		bytes[ENGRAM_NUM_TIERS] = {0};
	int64		raw[ENGRAM_NUM_TIERS] = {0};
	ChunkInfo  *chunks = NULL;
	int			nchunks = 0;
	int			maxchunks = 0;
	RefInfo    *refs = NULL;
	int			nrefs = 0;
	int			maxrefs = 0;
	int			i;
	int			t;

	InitMaterializedSRF(fcinfo, 0);
	rel = tier_open_engram(PG_GETARG_OID(0), AccessShareLock, ACL_NO_RIGHTS, false);
	nblocks = RelationGetNumberOfBlocks(rel);
	for (blk = 0; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || tier_page_problem(page) != NULL)
		{
			UnlockReleaseBuffer(buf);
			continue;
		}
		if (EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_COLD)
		{
			if (nchunks == maxchunks)
			{
				maxchunks = maxchunks ? maxchunks * 2 : 64;
				chunks = chunks ? repalloc(chunks, sizeof(ChunkInfo) * maxchunks) :
					palloc(sizeof(ChunkInfo) * maxchunks);
			}
			memset(&chunks[nchunks], 0, sizeof(ChunkInfo));
			chunks[nchunks].blkno = blk;
			chunks[nchunks].chunk_id = EngramPageGetOpaque(page)->chunk_id;
			if (PageGetMaxOffsetNumber(page) >= FirstOffsetNumber)
				chunks[nchunks].itemlen =
					ItemIdGetLength(PageGetItemId(page, FirstOffsetNumber));
			nchunks++;
		}
		else
		{
			OffsetNumber off;
			OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
			bool		counted[MaxHeapTuplesPerPage + 1];

			memset(counted, 0, sizeof(counted));
			for (off = FirstOffsetNumber; off <= maxoff; off++)
			{
				Size		itemlen;
				Item		item = tier_page_item(page, off, &itemlen);
				int			tier;
				Size		bodylen;

				if (item == NULL)
					continue;
				if (((EngramItemHeader) item)->tier == ENGRAM_TIER_COLD &&
					EngramItemBodySize(item, itemlen) == sizeof(EngramColdRef))
				{
					EngramColdRef ref;
					Size		chunklen;

					memcpy(&ref, EngramItemGetBody(item), sizeof(ref));
					/* a chunk item of this page: counted once, with the rows using it */
					if (ref.chunk_off != 0)
					{
						if (ref.chunk_off <= maxoff && ref.chunk_off <= MaxHeapTuplesPerPage &&
							!counted[ref.chunk_off] &&
							tier_page_chunk_item(page, ref.chunk_off, &chunklen) != NULL)
						{
							counted[ref.chunk_off] = true;
							bytes[ENGRAM_TIER_COLD] += TIER_CHUNK_ITEM_OVERHEAD + chunklen;
						}
						rows[ENGRAM_TIER_COLD]++;
						bytes[ENGRAM_TIER_COLD] += EngramItemBodySize(item, itemlen);
						raw[ENGRAM_TIER_COLD] += ref.raw_len;
						continue;
					}
				}
				tier = ((EngramItemHeader) item)->tier;
				bodylen = EngramItemBodySize(item, itemlen);
				rows[tier]++;
				bytes[tier] += bodylen;
				raw[tier] += tier_raw_data_len(item, itemlen);
				if (tier == ENGRAM_TIER_COLD && bodylen == sizeof(EngramColdRef))
				{
					if (nrefs == maxrefs)
					{
						maxrefs = maxrefs ? maxrefs * 2 : 1024;
						refs = refs ? repalloc_huge(refs, sizeof(RefInfo) * maxrefs) :
							palloc(sizeof(RefInfo) * maxrefs);
					}
					refs[nrefs].blkno = blk;
					refs[nrefs].off = off;
					memcpy(&refs[nrefs].ref, EngramItemGetBody(item), sizeof(EngramColdRef));
					nrefs++;
				}
			}
		}
		UnlockReleaseBuffer(buf);
	}
	table_close(rel, AccessShareLock);

	/* COLD rows' share of disk: their references plus the chunks they use */
	for (i = 0; i < nrefs; i++)
	{
		ChunkInfo  *c = chunkinfo_find(chunks, nchunks, refs[i].ref.chunk_blkno);

		if (c != NULL && c->chunk_id == refs[i].ref.chunk_id && !c->referenced)
		{
			c->referenced = true;
			bytes[ENGRAM_TIER_COLD] += c->itemlen;
		}
	}

	for (t = 0; t < ENGRAM_NUM_TIERS; t++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(tier_name(t));
		values[1] = Int64GetDatum(rows[t]);
		values[2] = Int64GetDatum(bytes[t]);
		values[3] = Int64GetDatum(raw[t]);
		if (bytes[t] > 0)
			values[4] = Float4GetDatum((float4) ((double) raw[t] / (double) bytes[t]));
		else
			nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---- verify ---- */

typedef struct VerifyState
{
	Tuplestorestate *ts;
	TupleDesc	desc;
	int64		nproblems;
} VerifyState;

static void
verify_report(VerifyState *vs, BlockNumber blk, OffsetNumber off,
			  const char *problem)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = Int64GetDatum((int64) blk);
	if (OffsetNumberIsValid(off))
		values[1] = Int32GetDatum((int32) off);
	else
		nulls[1] = true;
	values[2] = CStringGetTextDatum(problem);
	tuplestore_putvalues(vs->ts, vs->desc, values, nulls);
	vs->nproblems++;
}

/*
 * Copy page blk into dst.  Errors from the buffer manager (an unreadable
 * block, a page header it refuses) are caught in a subtransaction and
 * returned as a problem string, so verify goes on with the next page.
 */
static char *
verify_read_page(Relation rel, BlockNumber blk, char *dst)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	char	   *problem = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		Buffer		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, NULL);

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		memcpy(dst, BufferGetPage(buf), BLCKSZ);
		UnlockReleaseBuffer(buf);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		problem = psprintf("page cannot be read: %s", edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return problem;
}

static void
verify_data_page(VerifyState *vs, Relation rel, BlockNumber blk, Page page,
				 RefInfo **refs, int *nrefs, int *maxrefs)
{
	PageHeader	ph = (PageHeader) page;
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	OffsetNumber off;
	int			relnatts = RelationGetNumberOfAttributes(rel);
	char	   *scratch = NULL;

	PageChunk  *pchunks;

	if (maxoff > MaxHeapTuplesPerPage)
	{
		verify_report(vs, blk, InvalidOffsetNumber,
					  psprintf("%u line pointers, more than %d", maxoff,
							   (int) MaxHeapTuplesPerPage));
		return;
	}

	/* chunk items first: the page's COLD rows are checked against them */
	pchunks = palloc0(sizeof(PageChunk) * (maxoff + 1));
	for (off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId(page, off);
		const char *c;
		Size		clen;
		TierChunk	chunk;
		char	   *problem;

		if (!ItemIdIsNormal(lp) ||
			ItemIdGetOffset(lp) < ph->pd_upper ||
			ItemIdGetOffset(lp) + ItemIdGetLength(lp) > ph->pd_special ||
			ItemIdGetLength(lp) < SizeOfEngramItemHeader + SizeofHeapTupleHeader ||
			!EngramItemIsChunk(PageGetItem(page, lp)))
			continue;
		pchunks[off].is_chunk = true;
		c = tier_page_chunk_item(page, off, &clen);
		if (c == NULL)
		{
			verify_report(vs, blk, off, "chunk item with an invalid header");
			continue;
		}
		if (clen >= offsetof(EngramChunkHeader, offsets))
			memcpy(&pchunks[off].chunk_id, c, sizeof(uint32));
		problem = tier_chunk_decode(c, clen, pchunks[off].chunk_id, &chunk);
		if (problem != NULL)
		{
			verify_report(vs, blk, off, psprintf("chunk: %s", problem));
			continue;
		}
		pchunks[off].ok = true;
		pchunks[off].nbodies = chunk.nbodies;
		pchunks[off].offsets = chunk.offsets;
		pfree(chunk.raw);
	}

	for (off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId(page, off);
		Size		len;
		Size		lpoff;
		Item		item;
		EngramItemHeader ih;
		HeapTupleHeader th;
		int			natts;
		Size		bodylen;
		char	   *body;
		uint32		rawlen;

		if (ItemIdIsRedirected(lp))
		{
			verify_report(vs, blk, off, "redirect line pointer (engram keeps no HOT chains)");
			continue;
		}
		if (!ItemIdIsNormal(lp) || pchunks[off].is_chunk)
			continue;
		len = ItemIdGetLength(lp);
		lpoff = ItemIdGetOffset(lp);
		if (lpoff < ph->pd_upper || lpoff + len > ph->pd_special ||
			lpoff != MAXALIGN(lpoff))
		{
			verify_report(vs, blk, off,
						  psprintf("item at offset %zu length %zu lies outside the item area",
								   lpoff, len));
			continue;
		}
		if (len < SizeOfEngramItemHeader + SizeofHeapTupleHeader)
		{
			verify_report(vs, blk, off, psprintf("item of %zu bytes is shorter than its headers", len));
			continue;
		}
		item = PageGetItem(page, lp);
		ih = (EngramItemHeader) item;
		th = EngramItemGetTupleHeader(item);
		natts = HeapTupleHeaderGetNatts(th);
		if (th->t_hoff < SizeofHeapTupleHeader || th->t_hoff != MAXALIGN(th->t_hoff) ||
			SizeOfEngramItemHeader + th->t_hoff > len ||
			th->t_hoff != MAXALIGN(SizeofHeapTupleHeader +
								   ((th->t_infomask & HEAP_HASNULL) ? BITMAPLEN(natts) : 0)))
		{
			verify_report(vs, blk, off, psprintf("tuple header length t_hoff %u is invalid", th->t_hoff));
			continue;
		}
		if (natts > relnatts)
			verify_report(vs, blk, off,
						  psprintf("row has %d attributes, the table %d", natts, relnatts));
		if ((th->t_infomask & HEAP_HASNULL) &&
			SizeofHeapTupleHeader + BITMAPLEN(natts) > th->t_hoff)
			verify_report(vs, blk, off, "null bitmap does not fit before t_hoff");
		if (ih->flags != 0)
			verify_report(vs, blk, off, psprintf("item header flags 0x%02x of a row are not 0", ih->flags));
		if (ih->tier >= ENGRAM_NUM_TIERS)
		{
			verify_report(vs, blk, off, psprintf("unknown tier %u", ih->tier));
			continue;
		}
		bodylen = EngramItemBodySize(item, len);
		body = EngramItemGetBody(item);
		if (ih->tier == ENGRAM_TIER_WARM)
		{
			int			d;

			if (bodylen <= offsetof(EngramWarmBody, data))
			{
				verify_report(vs, blk, off, "WARM body too short");
				continue;
			}
			memcpy(&rawlen, body, sizeof(uint32));
			if (rawlen == 0 || rawlen > ENGRAM_MAX_RAW_BODY)
			{
				verify_report(vs, blk, off, psprintf("WARM raw length %u is impossible", rawlen));
				continue;
			}
			if (scratch == NULL)
				scratch = palloc(ENGRAM_MAX_RAW_BODY);
			d = LZ4_decompress_safe(body + offsetof(EngramWarmBody, data), scratch,
									(int) (bodylen - offsetof(EngramWarmBody, data)),
									(int) rawlen);
			if (d != (int) rawlen)
				verify_report(vs, blk, off,
							  psprintf("WARM body decompresses to %d bytes, expected %u", d, rawlen));
		}
		else if (ih->tier == ENGRAM_TIER_COLD)
		{
			RefInfo    *r;
			EngramColdRef ref;

			if (bodylen != sizeof(EngramColdRef))
			{
				verify_report(vs, blk, off,
							  psprintf("COLD reference has %zu bytes, expected %zu",
									   bodylen, sizeof(EngramColdRef)));
				continue;
			}
			memcpy(&ref, body, sizeof(EngramColdRef));
			if (ref.chunk_off != 0)
			{
				PageChunk  *pc;

				if (ref.chunk_blkno != blk || ref.chunk_off > maxoff ||
					!pchunks[ref.chunk_off].is_chunk)
				{
					verify_report(vs, blk, off,
								  psprintf("COLD reference to (%u,%u), which is not a chunk item of the row's page",
										   ref.chunk_blkno, ref.chunk_off));
					continue;
				}
				pc = &pchunks[ref.chunk_off];
				pc->referenced = true;
				if (!pc->ok)
					verify_report(vs, blk, off,
								  psprintf("COLD reference into the damaged chunk item %u", ref.chunk_off));
				else if (pc->chunk_id != ref.chunk_id)
					verify_report(vs, blk, off,
								  psprintf("COLD reference to chunk %u, but line pointer %u holds chunk %u",
										   ref.chunk_id, ref.chunk_off, pc->chunk_id));
				else if (ref.index >= pc->nbodies)
					verify_report(vs, blk, off,
								  psprintf("COLD reference to body %u of a chunk with %d bodies",
										   ref.index, pc->nbodies));
				else if (pc->offsets[ref.index + 1] - pc->offsets[ref.index] != ref.raw_len)
					verify_report(vs, blk, off,
								  psprintf("COLD body length %u differs from the reference's %u",
										   pc->offsets[ref.index + 1] - pc->offsets[ref.index],
										   ref.raw_len));
				continue;
			}
			if (*nrefs == *maxrefs)
			{
				*maxrefs = *maxrefs ? *maxrefs * 2 : 1024;
				*refs = *refs ? repalloc_huge(*refs, sizeof(RefInfo) * *maxrefs) :
					palloc(sizeof(RefInfo) * *maxrefs);
			}
			r = &(*refs)[(*nrefs)++];
			r->blkno = blk;
			r->off = off;
			r->ref = ref;
		}
	}
	for (off = FirstOffsetNumber; off <= maxoff; off++)
	{
		if (pchunks[off].is_chunk && pchunks[off].ok && !pchunks[off].referenced)
			verify_report(vs, blk, off,
						  "orphan chunk (not corruption: the next VACUUM or migration reclaims it)");
		if (pchunks[off].offsets)
			pfree(pchunks[off].offsets);
	}
	pfree(pchunks);
	if (scratch)
		pfree(scratch);
}

Datum
engram_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel;
	BlockNumber nblocks;
	BlockNumber blk;
	char	   *page = palloc(BLCKSZ);
	VerifyState vs;
	ChunkInfo  *chunks = NULL;
	int			nchunks = 0;
	int			maxchunks = 0;
	RefInfo    *refs = NULL;
	int			nrefs = 0;
	int			maxrefs = 0;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	vs.ts = rsinfo->setResult;
	vs.desc = rsinfo->setDesc;
	vs.nproblems = 0;

	rel = tier_open_engram(PG_GETARG_OID(0), AccessShareLock, ACL_NO_RIGHTS, false);
	nblocks = RelationGetNumberOfBlocks(rel);
	for (blk = 0; blk < nblocks; blk++)
	{
		char	   *problem;

		CHECK_FOR_INTERRUPTS();
		problem = verify_read_page(rel, blk, page);
		if (problem == NULL && !PageIsNew(page))
			problem = tier_page_problem(page);
		if (problem != NULL)
		{
			verify_report(&vs, blk, InvalidOffsetNumber, problem);
			continue;
		}
		if (PageIsNew(page))
			continue;
		if (EngramPageGetOpaque(page)->kind == ENGRAM_PAGE_COLD)
		{
			ChunkInfo  *c;
			ItemId		lp;
			TierChunk	chunk;

			if (nchunks == maxchunks)
			{
				maxchunks = maxchunks ? maxchunks * 2 : 64;
				chunks = chunks ? repalloc(chunks, sizeof(ChunkInfo) * maxchunks) :
					palloc(sizeof(ChunkInfo) * maxchunks);
			}
			c = &chunks[nchunks++];
			memset(c, 0, sizeof(ChunkInfo));
			c->blkno = blk;
			c->chunk_id = EngramPageGetOpaque(page)->chunk_id;
			if (PageGetMaxOffsetNumber(page) != 1 ||
				!ItemIdIsNormal((lp = PageGetItemId(page, FirstOffsetNumber))) ||
				ItemIdGetOffset(lp) < ((PageHeader) page)->pd_upper ||
				ItemIdGetOffset(lp) + ItemIdGetLength(lp) > ((PageHeader) page)->pd_special)
			{
				verify_report(&vs, blk, InvalidOffsetNumber,
							  "chunk page does not hold exactly one valid chunk item");
				continue;
			}
			problem = tier_chunk_decode(PageGetItem(page, lp), ItemIdGetLength(lp),
										c->chunk_id, &chunk);
			if (problem != NULL)
			{
				verify_report(&vs, blk, InvalidOffsetNumber, psprintf("chunk: %s", problem));
				continue;
			}
			c->ok = true;
			c->nbodies = chunk.nbodies;
			c->offsets = chunk.offsets;
			pfree(chunk.raw);
		}
		else
			verify_data_page(&vs, rel, blk, page, &refs, &nrefs, &maxrefs);
	}
	table_close(rel, AccessShareLock);

	/* chunks are collected in block order already: bsearch works */
	for (i = 0; i < nrefs; i++)
	{
		RefInfo    *r = &refs[i];
		ChunkInfo  *c = chunkinfo_find(chunks, nchunks, r->ref.chunk_blkno);

		if (c == NULL)
			verify_report(&vs, r->blkno, r->off,
						  psprintf("COLD reference to block %u, which is not a chunk page",
								   r->ref.chunk_blkno));
		else if (c->chunk_id != r->ref.chunk_id)
			verify_report(&vs, r->blkno, r->off,
						  psprintf("COLD reference to chunk %u, but block %u holds chunk %u",
								   r->ref.chunk_id, c->blkno, c->chunk_id));
		else
		{
			c->referenced = true;
			if (!c->ok)
				verify_report(&vs, r->blkno, r->off,
							  psprintf("COLD reference into the damaged chunk on block %u", c->blkno));
			else if (r->ref.index >= c->nbodies)
				verify_report(&vs, r->blkno, r->off,
							  psprintf("COLD reference to body %u of a chunk with %d bodies",
									   r->ref.index, c->nbodies));
			else if (c->offsets[r->ref.index + 1] - c->offsets[r->ref.index] != r->ref.raw_len)
				verify_report(&vs, r->blkno, r->off,
							  psprintf("COLD body length %u differs from the reference's %u",
									   c->offsets[r->ref.index + 1] - c->offsets[r->ref.index],
									   r->ref.raw_len));
		}
	}
	for (i = 0; i < nchunks; i++)
		if (!chunks[i].referenced && chunks[i].ok)
			verify_report(&vs, chunks[i].blkno, InvalidOffsetNumber,
						  "orphan chunk (not corruption: the next VACUUM or migration reclaims it)");
	return (Datum) 0;
}

/* ---- access history ---- */

Datum
engram_access_history(PG_FUNCTION_ARGS)
{
	Relation	rel = tier_open_engram(PG_GETARG_OID(0), AccessShareLock, ACL_SELECT, false);
	ItemPointer tid = (ItemPointer) PG_GETARG_POINTER(1);
	TupleDesc	tupdesc;
	uint32		count;
	TimestampTz last;
	bool		known;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	engram_check_row_visible(rel, tid);
	known = engram_get_access(rel, tid, &count, &last);
	table_close(rel, AccessShareLock);

	if (!known)
		nulls[0] = nulls[1] = true;
	else
	{
		values[0] = Int32GetDatum((int32) Min(count, (uint32) PG_INT32_MAX));
		if (last != 0)
			values[1] = TimestampTzGetDatum(last);
		else
			nulls[1] = true;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
engram_record_access_sql(PG_FUNCTION_ARGS)
{
	Relation	rel = tier_open_engram(PG_GETARG_OID(0), AccessShareLock, ACL_SELECT, false);

	engram_check_row_visible(rel, (ItemPointer) PG_GETARG_POINTER(1));
	engram_record_access(rel, (ItemPointer) PG_GETARG_POINTER(1));
	table_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}
