/*-------------------------------------------------------------------------
 *
 * tier_body.c
 *	  WARM and COLD row bodies: codecs, the COLD chunk format, a small
 *	  per-backend cache of decompressed chunks, and tier_materialize.
 *
 * WARM: the attribute data of one row compressed with LZ4 (fast mode) and
 * stored in place of the HOT body as EngramWarmBody.
 *
 * COLD: the attribute data of the COLD rows of one DATA page concatenated
 * and compressed with zstd (engram.cold_level) as one chunk, kept as a
 * chunk item on that same page (engram_page.h); each row keeps an
 * EngramColdRef to it.  Compressing rows together finds the redundancy
 * between them (shared words, field layouts, float exponents) that per-row
 * compression cannot; zstd's entropy coding is what makes text and float
 * vectors smaller than LZ4 can (ADR 0010 has the measurements).  Chunks of
 * format 0.1 (LZ4 HC, on chunk pages of their own) are still read.
 *
 * Byte shuffling: with engram.cold_shuffle on (the default), a chunk that
 * the plain layout compresses by less than a quarter is compressed again
 * transposed as 4-byte lanes (all first bytes, then all second bytes, ...)
 * and the smaller layout is kept; the choice is recorded per chunk
 * (ENGRAM_CHUNK_SHUFFLED) and readers always honour it.  Grouping the
 * sign/exponent bytes of float4 vectors lets zstd's entropy coder shrink
 * them; text loses its matches when shuffled, so text-heavy chunks, which
 * compress well plain, are not tried.  Lossless either way.
 *
 * Nothing here trusts what it reads: every length is checked before it is
 * used, decompression uses LZ4_decompress_safe / ZSTD_decompress into
 * buffers of the stated size, and damage is reported as
 * ERRCODE_DATA_CORRUPTED naming the row (or, for tier_chunk_decode, as a
 * string so engram.verify can list it without erroring out).
 *
 * IDENTIFICATION
 *	  src/tier_body.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <lz4.h>
#include <zstd.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "engram_am.h"
#include "engram_compat.h"
#include "tier.h"

const char *
tier_name(int tier)
{
	switch (tier)
	{
		case ENGRAM_TIER_HOT:
			return "hot";
		case ENGRAM_TIER_WARM:
			return "warm";
		case ENGRAM_TIER_COLD:
			return "cold";
	}
	return "unknown";
}

/* ---- small helpers ---- */

/* line pointer number of item within page, for error messages */
static OffsetNumber
tier_item_offnum(Page page, Item item)
{
	OffsetNumber maxoff;
	OffsetNumber off;

	if (page == NULL)
		return InvalidOffsetNumber;
	maxoff = PageGetMaxOffsetNumber(page);
	for (off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId(page, off);

		if (ItemIdHasStorage(lp) && (char *) page + ItemIdGetOffset(lp) == (char *) item)
			return off;
	}
	return InvalidOffsetNumber;
}

static void
tier_corrupt(Relation rel, BlockNumber blkno, Page page, OffsetNumber off,
			 Item item, const char *detail)
{
	if (!OffsetNumberIsValid(off))
		off = tier_item_offnum(page, item);
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("corrupt compressed row at (%u,%u) in relation \"%s\"",
					blkno, off, RelationGetRelationName(rel)),
			 errdetail_internal("%s", detail),
			 errhint("Run SELECT * FROM engram.verify('%s') for details; restore the table from a backup or a standby.",
					 RelationGetRelationName(rel))));
}

Size
tier_raw_data_len(Item item, Size itemlen)
{
	EngramItemHeader ih = (EngramItemHeader) item;
	Size		bodylen = EngramItemBodySize(item, itemlen);
	char	   *body = EngramItemGetBody(item);
	uint32		raw;

	switch (ih->tier)
	{
		case ENGRAM_TIER_WARM:
			if (bodylen < offsetof(EngramWarmBody, data))
				return 0;
			memcpy(&raw, body + offsetof(EngramWarmBody, raw_len), sizeof(uint32));
			return raw;
		case ENGRAM_TIER_COLD:
			if (bodylen < sizeof(EngramColdRef))
				return 0;
			memcpy(&raw, body + offsetof(EngramColdRef, raw_len), sizeof(uint32));
			return raw;
		default:
			return bodylen;
	}
}

char *
tier_warm_encode(const char *raw, Size rawlen, Size limit, Size *bodylen)
{
	char	   *dst;
	int			cap;
	int			c;
	uint32		r = (uint32) rawlen;

	if (limit <= offsetof(EngramWarmBody, data) + 1 || rawlen == 0 ||
		rawlen > ENGRAM_MAX_RAW_BODY)
		return NULL;
	cap = (int) (limit - offsetof(EngramWarmBody, data) - 1);
	dst = palloc(offsetof(EngramWarmBody, data) + cap);
	c = LZ4_compress_default(raw, dst + offsetof(EngramWarmBody, data),
							 (int) rawlen, cap);
	if (c <= 0)
	{
		pfree(dst);
		return NULL;
	}
	memcpy(dst + offsetof(EngramWarmBody, raw_len), &r, sizeof(uint32));
	*bodylen = offsetof(EngramWarmBody, data) + c;
	return dst;
}

char *
tier_make_item(Item item, const char *body, Size bodylen, int tier,
			   Size *newlen)
{
	Size		hdrlen = SizeOfEngramItemHeader + EngramItemGetTupleHeader(item)->t_hoff;
	char	   *newitem = palloc(hdrlen + bodylen);

	memcpy(newitem, item, hdrlen);
	((EngramItemHeader) newitem)->tier = (uint8) tier;
	memcpy(newitem + hdrlen, body, bodylen);
	*newlen = hdrlen + bodylen;
	return newitem;
}

/* ---- byte shuffling of 4-byte lanes ---- */

static void
tier_shuffle(const char *src, char *dst, Size len)
{
	Size		n = len / 4;
	Size		i;
	int			lane;

	for (lane = 0; lane < 4; lane++)
		for (i = 0; i < n; i++)
			dst[lane * n + i] = src[i * 4 + lane];
	memcpy(dst + n * 4, src + n * 4, len - n * 4);
}

static void
tier_unshuffle(const char *src, char *dst, Size len)
{
	Size		n = len / 4;
	Size		i;
	int			lane;

	for (lane = 0; lane < 4; lane++)
		for (i = 0; i < n; i++)
			dst[i * 4 + lane] = src[lane * n + i];
	memcpy(dst + n * 4, src + n * 4, len - n * 4);
}

/* ---- chunks ---- */

/* zstd level of COLD chunks: engram.cold_level (tier_migrate.c) */

/* zstd-compress src into dst; returns the compressed size or -1 */
static int
tier_zstd(const char *src, Size len, char *dst, Size cap)
{
	size_t		c = ZSTD_compress(dst, cap, src, len, tier_cold_level);

	if (ZSTD_isError(c) || c > (size_t) INT_MAX)
		return -1;
	return (int) c;
}

char *
tier_chunk_build(uint32 chunk_id, int nbodies, char **bodies, uint32 *lens,
				 Size max_item, bool try_shuffle, Size *itemlen)
{
	return tier_chunk_build_ext(chunk_id, nbodies, bodies, lens, max_item,
								try_shuffle, false, itemlen);
}

char *
tier_chunk_build_ext(uint32 chunk_id, int nbodies, char **bodies,
					 uint32 *lens, Size max_item, bool try_shuffle,
					 bool always_shuffle, Size *itemlen)
{
	Size		hdrsize = EngramChunkHeaderSize(nbodies);
	Size		raw_len = 0;
	char	   *raw;
	char	   *comp;
	char	   *item;
	EngramChunkHeader *hdr;
	uint32	   *offsets;
	int			bound;
	int			c;
	int			i;
	bool		shuffled = false;

	*itemlen = 0;
	if (nbodies <= 0 || nbodies > ENGRAM_CHUNK_MAX_BODIES)
		return NULL;
	for (i = 0; i < nbodies; i++)
		raw_len += lens[i];
	if (raw_len == 0 || raw_len > ENGRAM_CHUNK_MAX_RAW)
		return NULL;

	raw = palloc(raw_len);
	offsets = palloc(sizeof(uint32) * (nbodies + 1));
	raw_len = 0;
	for (i = 0; i < nbodies; i++)
	{
		offsets[i] = (uint32) raw_len;
		memcpy(raw + raw_len, bodies[i], lens[i]);
		raw_len += lens[i];
	}
	offsets[nbodies] = (uint32) raw_len;

	/* compress into a buffer large enough to learn the size we need */
	bound = (int) ZSTD_compressBound(raw_len);
	comp = palloc(bound);
	c = tier_zstd(raw, raw_len, comp, bound);

	/*
	 * Shuffled lanes help only data that is mostly binary numbers (float
	 * vectors), which the plain layout barely compresses; text-heavy chunks
	 * compress well plain and lose their matches when shuffled, so they are
	 * not tried again.
	 */
	if (try_shuffle && raw_len >= 64 &&
		(always_shuffle || c <= 0 || (Size) c > raw_len * 3 / 4))
	{
		char	   *shuf = palloc(raw_len);
		char	   *comp2 = palloc(bound);
		int			c2;

		tier_shuffle(raw, shuf, raw_len);
		c2 = tier_zstd(shuf, raw_len, comp2, bound);
		if (c2 > 0 && (c <= 0 || c2 < c))
		{
			pfree(comp);
			comp = comp2;
			c = c2;
			shuffled = true;
		}
		else
			pfree(comp2);
		pfree(shuf);
	}
	pfree(raw);
	if (c <= 0)
	{
		pfree(comp);
		pfree(offsets);
		return NULL;
	}
	*itemlen = hdrsize + c;
	if (hdrsize + c > max_item)
	{
		/* too big: the caller retries with fewer bodies */
		pfree(comp);
		pfree(offsets);
		return NULL;
	}

	item = palloc(hdrsize + c);
	hdr = (EngramChunkHeader *) item;
	hdr->chunk_id = chunk_id;
	hdr->nbodies = (uint16) nbodies;
	hdr->flags = ENGRAM_CHUNK_ZSTD | (shuffled ? ENGRAM_CHUNK_SHUFFLED : 0);
	hdr->raw_len = (uint32) raw_len;
	hdr->comp_len = (uint32) c;
	INIT_CRC32C(hdr->crc);
	COMP_CRC32C(hdr->crc, comp, c);
	FIN_CRC32C(hdr->crc);
	memcpy(hdr->offsets, offsets, sizeof(uint32) * (nbodies + 1));
	memcpy(item + hdrsize, comp, c);
	pfree(comp);
	pfree(offsets);
	return item;
}

char *
tier_chunk_decode(const char *item, Size itemlen, uint32 page_chunk_id,
				  TierChunk *chunk)
{
	EngramChunkHeader fixed;
	uint32	   *offsets;
	Size		hdrsize;
	pg_crc32c	crc;
	char	   *dst;
	char	   *tmp = NULL;
	int			d;
	int			i;

	if (itemlen < offsetof(EngramChunkHeader, offsets))
		return psprintf("chunk item too short (%zu bytes)", itemlen);
	memcpy(&fixed, item, offsetof(EngramChunkHeader, offsets));
	if (fixed.chunk_id == 0 || fixed.chunk_id != page_chunk_id)
		return psprintf("chunk item id %u does not match page chunk id %u",
						fixed.chunk_id, page_chunk_id);
	if (fixed.nbodies == 0 || fixed.nbodies > ENGRAM_CHUNK_MAX_BODIES)
		return psprintf("chunk has invalid body count %u", fixed.nbodies);
	if (fixed.flags & ~ENGRAM_CHUNK_FLAGS)
		return psprintf("chunk has unknown flags 0x%04x", fixed.flags);
	if (fixed.raw_len == 0 || fixed.raw_len > ENGRAM_CHUNK_MAX_RAW)
		return psprintf("chunk has invalid raw length %u", fixed.raw_len);
	hdrsize = EngramChunkHeaderSize(fixed.nbodies);
	if (fixed.comp_len == 0 || (uint64) hdrsize + fixed.comp_len > itemlen)
		return psprintf("chunk compressed length %u does not fit its item of %zu bytes",
						fixed.comp_len, itemlen);

	offsets = palloc(sizeof(uint32) * (fixed.nbodies + 1));
	memcpy(offsets, item + offsetof(EngramChunkHeader, offsets),
		   sizeof(uint32) * (fixed.nbodies + 1));
	if (offsets[0] != 0 || offsets[fixed.nbodies] != fixed.raw_len)
	{
		pfree(offsets);
		return pstrdup("chunk body offsets do not span its raw length");
	}
	for (i = 0; i < fixed.nbodies; i++)
		if (offsets[i] > offsets[i + 1])
		{
			pfree(offsets);
			return psprintf("chunk body offsets decrease at body %d", i);
		}

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, item + hdrsize, fixed.comp_len);
	FIN_CRC32C(crc);
	if (!EQ_CRC32C(crc, fixed.crc))
	{
		pfree(offsets);
		return psprintf("chunk checksum mismatch (stored %08x, computed %08x)",
						fixed.crc, crc);
	}

	dst = palloc(fixed.raw_len);
	if (fixed.flags & ENGRAM_CHUNK_SHUFFLED)
		tmp = palloc(fixed.raw_len);
	if (fixed.flags & ENGRAM_CHUNK_ZSTD)
	{
		size_t		z = ZSTD_decompress(tmp ? tmp : dst, fixed.raw_len,
										item + hdrsize, fixed.comp_len);

		d = ZSTD_isError(z) ? -1 : (int) z;
	}
	else
		d = LZ4_decompress_safe(item + hdrsize, tmp ? tmp : dst,
								(int) fixed.comp_len, (int) fixed.raw_len);
	if (d != (int) fixed.raw_len)
	{
		pfree(offsets);
		pfree(dst);
		if (tmp)
			pfree(tmp);
		return psprintf("chunk decompresses to %d bytes, expected %u",
						d, fixed.raw_len);
	}
	if (tmp)
	{
		tier_unshuffle(tmp, dst, fixed.raw_len);
		pfree(tmp);
	}

	chunk->chunk_id = fixed.chunk_id;
	chunk->nbodies = fixed.nbodies;
	chunk->raw_len = fixed.raw_len;
	chunk->offsets = offsets;
	chunk->raw = dst;
	return NULL;
}

/* ---- per-backend cache of decompressed chunks ---- */

/*
 * An entry is found by where the chunk lies (relation file, block, line
 * pointer; 0 for a chunk page) and is used only if the chunk there now has
 * the same id, CRC-32C and lengths as the one decoded: a chunk removed by
 * the sweep and replaced by another one at the same place, even with the
 * same id, is decoded afresh (issue 24 item 4; sql/tier_size.sql forces
 * equal ids with engram.debug_chunk_id).  The header fields are read under
 * the page's lock on every lookup, which costs 20 bytes of copying.
 */
#define TIER_CACHE_SIZE 8

typedef struct TierCacheKey
{
	Oid			relid;
	char		node[12];		/* the relation's file locator */
	BlockNumber blkno;
	OffsetNumber off;			/* chunk item, 0 = chunk page */
	uint32		chunk_id;
	pg_crc32c	crc;
	uint32		comp_len;
	uint32		raw_len;
} TierCacheKey;

typedef struct TierCacheEntry
{
	bool		valid;
	TierCacheKey key;
	uint64		lru;
	TierChunk	chunk;			/* allocated in TierCacheContext */
} TierCacheEntry;

static MemoryContext TierCacheContext = NULL;
static TierCacheEntry tier_cache[TIER_CACHE_SIZE];
static uint64 tier_cache_clock = 0;

StaticAssertDecl(sizeof(engram_rel_locator((Relation) NULL)) == 12,
				 "relation file locator must be 12 bytes");

static void
tier_cache_free(TierCacheEntry *e)
{
	if (e->valid)
	{
		pfree(e->chunk.raw);
		pfree(e->chunk.offsets);
	}
	e->valid = false;
}

void
tier_cache_invalidate(Oid relid)
{
	int			i;

	for (i = 0; i < TIER_CACHE_SIZE; i++)
		if (tier_cache[i].valid &&
			(relid == InvalidOid || tier_cache[i].key.relid == relid))
			tier_cache_free(&tier_cache[i]);
}

static void
tier_cache_key(TierCacheKey *key, Relation rel, BlockNumber blkno,
			   OffsetNumber off, const char *chunk, Size chunklen)
{
	EngramChunkHeader fixed;

	memset(key, 0, sizeof(*key));
	key->relid = RelationGetRelid(rel);
	memcpy(key->node, &engram_rel_locator(rel), sizeof(key->node));
	key->blkno = blkno;
	key->off = off;
	if (chunklen >= offsetof(EngramChunkHeader, offsets))
	{
		memcpy(&fixed, chunk, offsetof(EngramChunkHeader, offsets));
		key->chunk_id = fixed.chunk_id;
		key->crc = fixed.crc;
		key->comp_len = fixed.comp_len;
		key->raw_len = fixed.raw_len;
	}
}

static TierChunk *
tier_cache_lookup(const TierCacheKey *key)
{
	int			i;

	for (i = 0; i < TIER_CACHE_SIZE; i++)
	{
		TierCacheEntry *e = &tier_cache[i];

		if (e->valid && memcmp(&e->key, key, sizeof(TierCacheKey)) == 0)
		{
			e->lru = ++tier_cache_clock;
			return &e->chunk;
		}
	}
	return NULL;
}

static TierChunk *
tier_cache_insert(const TierCacheKey *key, TierChunk *chunk)
{
	TierCacheEntry *victim = &tier_cache[0];
	MemoryContext old;
	int			i;

	if (TierCacheContext == NULL)
		TierCacheContext = AllocSetContextCreate(TopMemoryContext,
												 "engram tier chunk cache",
												 ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < TIER_CACHE_SIZE; i++)
	{
		/* an older chunk at the same place is stale now */
		if (tier_cache[i].valid && tier_cache[i].key.relid == key->relid &&
			tier_cache[i].key.blkno == key->blkno &&
			tier_cache[i].key.off == key->off)
			tier_cache_free(&tier_cache[i]);
	}
	for (i = 0; i < TIER_CACHE_SIZE; i++)
	{
		if (!tier_cache[i].valid)
		{
			victim = &tier_cache[i];
			break;
		}
		if (tier_cache[i].lru < victim->lru)
			victim = &tier_cache[i];
	}
	tier_cache_free(victim);

	old = MemoryContextSwitchTo(TierCacheContext);
	victim->chunk.raw = palloc(chunk->raw_len);
	memcpy(victim->chunk.raw, chunk->raw, chunk->raw_len);
	victim->chunk.offsets = palloc(sizeof(uint32) * (chunk->nbodies + 1));
	memcpy(victim->chunk.offsets, chunk->offsets,
		   sizeof(uint32) * (chunk->nbodies + 1));
	MemoryContextSwitchTo(old);
	victim->chunk.chunk_id = chunk->chunk_id;
	victim->chunk.nbodies = chunk->nbodies;
	victim->chunk.raw_len = chunk->raw_len;
	victim->key = *key;
	victim->lru = ++tier_cache_clock;
	victim->valid = true;
	return &victim->chunk;
}

/* ---- chunk items on DATA pages ---- */

char *
tier_chunk_item(const char *chunk, Size chunklen, Size *itemlen)
{
	Size		len = TIER_CHUNK_ITEM_OVERHEAD + chunklen;
	char	   *item = palloc0(len);
	EngramItemHeader ih = (EngramItemHeader) item;
	HeapTupleHeader th = EngramItemGetTupleHeader(item);

	ih->tier = ENGRAM_TIER_HOT;
	ih->flags = ENGRAM_ITEM_CHUNK;
	/* an insert that aborted: no snapshot sees it, no attributes */
	HeapTupleHeaderSetXmin(th, InvalidTransactionId);
	HeapTupleHeaderSetXmax(th, InvalidTransactionId);
	th->t_infomask = HEAP_XMIN_INVALID | HEAP_XMAX_INVALID;
	HeapTupleHeaderSetNatts(th, 0);
	th->t_hoff = MAXALIGN(SizeofHeapTupleHeader);
	ItemPointerSetInvalid(&th->t_ctid);
	memcpy(item + TIER_CHUNK_ITEM_OVERHEAD, chunk, chunklen);
	*itemlen = len;
	return item;
}

/*
 * The chunk item at off of a DATA page: its chunk bytes, or NULL if off is
 * not a sane chunk item.
 */
static const char *
tier_page_chunk(Page page, OffsetNumber off, Size *chunklen)
{
	PageHeader	ph = (PageHeader) page;
	ItemId		lp;
	Size		len;
	Item		item;

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return NULL;
	lp = PageGetItemId(page, off);
	if (!ItemIdIsNormal(lp))
		return NULL;
	len = ItemIdGetLength(lp);
	if (ItemIdGetOffset(lp) < ph->pd_upper ||
		ItemIdGetOffset(lp) + len > ph->pd_special ||
		len < TIER_CHUNK_ITEM_OVERHEAD + offsetof(EngramChunkHeader, offsets))
		return NULL;
	item = PageGetItem(page, lp);
	if (!EngramItemIsChunk(item) ||
		EngramItemGetTupleHeader(item)->t_hoff != MAXALIGN(SizeofHeapTupleHeader))
		return NULL;
	*chunklen = len - TIER_CHUNK_ITEM_OVERHEAD;
	return (const char *) item + TIER_CHUNK_ITEM_OVERHEAD;
}

/* soft accessor for verify, tier_stats and the sweep */
const char *
tier_page_chunk_item(Page page, OffsetNumber off, Size *chunklen)
{
	return tier_page_chunk(page, off, chunklen);
}

int
tier_prune_page_chunks(Page page, bool apply)
{
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	OffsetNumber off;
	bool		referenced[MaxHeapTuplesPerPage + 1];
	int			removed = 0;

	if (maxoff > MaxHeapTuplesPerPage)
		return 0;
	memset(referenced, 0, sizeof(referenced));
	for (off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId(page, off);
		Size		itemlen;
		Item		item;
		EngramColdRef ref;

		if (!ItemIdIsNormal(lp))
			continue;
		item = PageGetItem(page, lp);
		if (EngramItemIsChunk(item))
			continue;
		item = tier_page_item(page, off, &itemlen);
		if (item == NULL)
			return 0;			/* cannot tell what it refers to: keep all */
		if (((EngramItemHeader) item)->tier != ENGRAM_TIER_COLD ||
			EngramItemBodySize(item, itemlen) != sizeof(EngramColdRef))
			continue;
		memcpy(&ref, EngramItemGetBody(item), sizeof(ref));
		if (ref.chunk_off >= FirstOffsetNumber && ref.chunk_off <= maxoff)
			referenced[ref.chunk_off] = true;
	}
	for (off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId(page, off);

		if (!ItemIdIsNormal(lp) || referenced[off] ||
			!EngramItemIsChunk(PageGetItem(page, lp)))
			continue;
		if (apply)
			ItemIdSetUnused(lp);
		removed++;
	}
	if (removed > 0 && apply)
	{
		PageRepairFragmentation(page);
		PageTruncateLinePointerArray(page);
		for (off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
			if (!ItemIdIsUsed(PageGetItemId(page, off)))
			{
				EngramPageGetOpaque(page)->flags |= ENGRAM_PAGE_HAS_FREE_LP;
				break;
			}
	}
	return removed;
}

/*
 * Find the chunk a COLD reference names: a chunk item of the row's own
 * DATA page (already locked by the caller) or, for 0.1 data, the chunk page
 * cblk, which is locked (share) and released here.  Uses the cache or
 * decompresses.
 */
static TierChunk *
tier_get_chunk(Relation rel, BlockNumber datablk, Page datapage,
			   OffsetNumber off, Item item, EngramColdRef *ref)
{
	BlockNumber cblk = ref->chunk_blkno;
	uint32		chunk_id = ref->chunk_id;
	Buffer		cbuf;
	Page		cpage;
	EngramPageOpaque opaque;
	TierChunk  *cached;
	TierChunk	chunk;
	TierCacheKey key;
	ItemId		lp;
	char	   *copy;
	Size		len;
	char	   *problem;
	bool		is_new;

	if (ref->chunk_off != 0)
	{
		const char *c;

		if (cblk != datablk || datapage == NULL)
			tier_corrupt(rel, datablk, datapage, off, item,
						 psprintf("COLD reference to a chunk item on block %u, not on the row's own page", cblk));
		c = tier_page_chunk(datapage, ref->chunk_off, &len);
		if (c == NULL)
			tier_corrupt(rel, datablk, datapage, off, item,
						 psprintf("COLD reference to line pointer %u, which is not a chunk item",
								  ref->chunk_off));
		tier_cache_key(&key, rel, datablk, ref->chunk_off, c, len);
		if (key.chunk_id != chunk_id)
			tier_corrupt(rel, datablk, datapage, off, item,
						 psprintf("COLD reference to chunk %u, but line pointer %u holds chunk %u",
								  chunk_id, ref->chunk_off, key.chunk_id));
		cached = tier_cache_lookup(&key);
		if (cached != NULL)
			return cached;
		problem = tier_chunk_decode(c, len, chunk_id, &chunk);
		if (problem)
			tier_corrupt(rel, datablk, datapage, off, item,
						 psprintf("chunk item %u: %s", ref->chunk_off, problem));
		cached = tier_cache_insert(&key, &chunk);
		pfree(chunk.raw);
		pfree(chunk.offsets);
		return cached;
	}

	if (cblk == datablk || cblk >= RelationGetNumberOfBlocks(rel))
		tier_corrupt(rel, datablk, datapage, off, item,
					 psprintf("COLD reference points to block %u, which is not a chunk page", cblk));

	cbuf = ReadBufferExtended(rel, MAIN_FORKNUM, cblk, RBM_NORMAL, NULL);
	LockBuffer(cbuf, BUFFER_LOCK_SHARE);
	cpage = BufferGetPage(cbuf);
	engram_check_page(rel, cblk, cpage, &is_new);
	opaque = EngramPageGetOpaque(cpage);
	if (is_new || opaque->kind != ENGRAM_PAGE_COLD || opaque->chunk_id != chunk_id)
	{
		char	   *d = psprintf("COLD reference to chunk %u on block %u, but that page %s",
								 chunk_id, cblk,
								 is_new ? "is empty" :
								 opaque->kind != ENGRAM_PAGE_COLD ? "is not a chunk page" :
								 psprintf("holds chunk %u", opaque->chunk_id));

		UnlockReleaseBuffer(cbuf);
		tier_corrupt(rel, datablk, datapage, off, item, d);
	}

	if (PageGetMaxOffsetNumber(cpage) != 1 ||
		!ItemIdIsNormal(PageGetItemId(cpage, FirstOffsetNumber)))
	{
		UnlockReleaseBuffer(cbuf);
		tier_corrupt(rel, datablk, datapage, off, item,
					 psprintf("chunk page %u does not hold exactly one chunk item", cblk));
	}
	lp = PageGetItemId(cpage, FirstOffsetNumber);
	len = ItemIdGetLength(lp);
	if (ItemIdGetOffset(lp) < SizeOfPageHeaderData ||
		ItemIdGetOffset(lp) + len > ((PageHeader) cpage)->pd_special)
	{
		UnlockReleaseBuffer(cbuf);
		tier_corrupt(rel, datablk, datapage, off, item,
					 psprintf("chunk item on page %u lies outside the page", cblk));
	}
	tier_cache_key(&key, rel, cblk, 0, PageGetItem(cpage, lp), len);
	cached = tier_cache_lookup(&key);
	if (cached != NULL)
	{
		UnlockReleaseBuffer(cbuf);
		return cached;
	}
	/* copy out, then decompress without holding the chunk page lock */
	copy = palloc(len);
	memcpy(copy, PageGetItem(cpage, lp), len);
	UnlockReleaseBuffer(cbuf);

	problem = tier_chunk_decode(copy, len, chunk_id, &chunk);
	pfree(copy);
	if (problem)
		tier_corrupt(rel, datablk, datapage, off, item,
					 psprintf("chunk page %u: %s", cblk, problem));
	cached = tier_cache_insert(&key, &chunk);
	pfree(chunk.raw);
	pfree(chunk.offsets);
	return cached;
}

/*
 * Decode item's attribute data into dst, which has room for exactly rawlen
 * bytes (rawlen = tier_raw_data_len, already checked <= ENGRAM_MAX_RAW_BODY).
 */
static void
tier_decode_into(Relation rel, BlockNumber blkno, Page page, OffsetNumber off,
				 Item item, Size itemlen, char *dst, Size rawlen)
{
	EngramItemHeader ih = (EngramItemHeader) item;
	char	   *body = EngramItemGetBody(item);
	Size		bodylen = EngramItemBodySize(item, itemlen);

	switch (ih->tier)
	{
		case ENGRAM_TIER_HOT:
			memcpy(dst, body, rawlen);
			break;
		case ENGRAM_TIER_WARM:
			{
				int			d;

				if (bodylen <= offsetof(EngramWarmBody, data))
					tier_corrupt(rel, blkno, page, off, item, "WARM body too short");
				d = LZ4_decompress_safe(body + offsetof(EngramWarmBody, data), dst,
										(int) (bodylen - offsetof(EngramWarmBody, data)),
										(int) rawlen);
				if (d != (int) rawlen)
					tier_corrupt(rel, blkno, page, off, item,
								 psprintf("WARM body decompresses to %d bytes, expected %zu",
										  d, rawlen));
				break;
			}
		case ENGRAM_TIER_COLD:
			{
				EngramColdRef ref;
				TierChunk  *chunk;
				uint32		start;
				uint32		end;

				if (bodylen != sizeof(EngramColdRef))
					tier_corrupt(rel, blkno, page, off, item,
								 psprintf("COLD reference has %zu bytes, expected %zu",
										  bodylen, sizeof(EngramColdRef)));
				memcpy(&ref, body, sizeof(ref));
				chunk = tier_get_chunk(rel, blkno, page, off, item, &ref);
				if (ref.index >= chunk->nbodies)
					tier_corrupt(rel, blkno, page, off, item,
								 psprintf("COLD reference to body %u of chunk %u, which has %d bodies",
										  ref.index, ref.chunk_id, chunk->nbodies));
				start = chunk->offsets[ref.index];
				end = chunk->offsets[ref.index + 1];
				if (end - start != rawlen)
					tier_corrupt(rel, blkno, page, off, item,
								 psprintf("body %u of chunk %u has %u bytes, reference says %zu",
										  ref.index, ref.chunk_id, end - start, rawlen));
				memcpy(dst, chunk->raw + start, rawlen);
				break;
			}
		default:
			tier_corrupt(rel, blkno, page, off, item,
						 psprintf("unknown tier %u", ih->tier));
	}
}

static Size
tier_checked_raw_len(Relation rel, BlockNumber blkno, Page page,
					 OffsetNumber off, Item item, Size itemlen)
{
	HeapTupleHeader th = EngramItemGetTupleHeader(item);
	Size		rawlen;

	if (itemlen < SizeOfEngramItemHeader + SizeofHeapTupleHeader ||
		th->t_hoff < SizeofHeapTupleHeader ||
		SizeOfEngramItemHeader + th->t_hoff > itemlen)
		tier_corrupt(rel, blkno, page, off, item, "item shorter than its headers");
	rawlen = tier_raw_data_len(item, itemlen);
	if (rawlen > ENGRAM_MAX_RAW_BODY)
		tier_corrupt(rel, blkno, page, off, item,
					 psprintf("stored raw length %zu is impossible", rawlen));
	return rawlen;
}

char *
tier_decode_body(Relation rel, BlockNumber blkno, Page page, OffsetNumber off,
				 Item item, Size itemlen, Size *rawlen)
{
	Size		len = tier_checked_raw_len(rel, blkno, page, off, item, itemlen);
	char	   *dst = palloc(Max(len, 1));

	tier_decode_into(rel, blkno, page, off, item, itemlen, dst, len);
	*rawlen = len;
	return dst;
}

HeapTuple
tier_materialize(Relation rel, Buffer databuf, Item item, Size itemlen)
{
	BlockNumber blkno = BufferGetBlockNumber(databuf);
	Page		page = BufferGetPage(databuf);
	HeapTupleHeader th = EngramItemGetTupleHeader(item);
	Size		rawlen;
	Size		hoff;
	HeapTuple	tup;

	rawlen = tier_checked_raw_len(rel, blkno, page, InvalidOffsetNumber,
								  item, itemlen);
	hoff = th->t_hoff;
	tup = (HeapTuple) palloc(HEAPTUPLESIZE + hoff + rawlen);
	tup->t_len = hoff + rawlen;
	tup->t_data = (HeapTupleHeader) ((char *) tup + HEAPTUPLESIZE);
	ItemPointerSetInvalid(&tup->t_self);
	tup->t_tableOid = InvalidOid;
	memcpy(tup->t_data, th, hoff);
	tier_decode_into(rel, blkno, page, InvalidOffsetNumber, item, itemlen,
					 (char *) tup->t_data + hoff, rawlen);
	return tup;
}

/*
 * Soft version of engram_check_page for code that must not error out on a
 * damaged page (verify, sweep, access history): NULL if the page header,
 * special space and id are sane (or the page is new), else a description.
 */
char *
tier_page_problem(Page page)
{
	PageHeader	ph = (PageHeader) page;
	EngramPageOpaque opaque;

	if (PageIsNew(page))
		return NULL;
	if (ph->pd_special != BLCKSZ - MAXALIGN(sizeof(EngramPageOpaqueData)))
		return psprintf("special space at %u, expected %zu", ph->pd_special,
						(Size) (BLCKSZ - MAXALIGN(sizeof(EngramPageOpaqueData))));
	if (ph->pd_lower < SizeOfPageHeaderData || ph->pd_lower > ph->pd_upper ||
		ph->pd_upper > ph->pd_special)
		return psprintf("page bounds lower %u upper %u special %u are inconsistent",
						ph->pd_lower, ph->pd_upper, ph->pd_special);
	if (PageGetPageSize(page) != BLCKSZ)
		return psprintf("page size %zu", (Size) PageGetPageSize(page));
	opaque = EngramPageGetOpaque(page);
	if (opaque->page_id != ENGRAM_PAGE_ID)
		return psprintf("page id 0x%04x is not engram's", opaque->page_id);
	if (opaque->version != ENGRAM_FORMAT_VERSION)
		return psprintf("format version %u", opaque->version);
	if (opaque->kind != ENGRAM_PAGE_DATA && opaque->kind != ENGRAM_PAGE_COLD)
		return psprintf("unknown page kind %u", opaque->kind);
	if (opaque->kind == ENGRAM_PAGE_COLD && opaque->chunk_id == 0)
		return pstrdup("chunk page with chunk id 0");
	return NULL;
}

/*
 * Soft check of a DATA page's line pointer off: returns the item (and its
 * length) if it is a row (a normal item whose headers fit, not a chunk
 * item), else NULL.
 */
Item
tier_page_item(Page page, OffsetNumber off, Size *itemlen)
{
	Item		item;

	/* the readers' rule (engram_item_problem), without the table's natts */
	if (engram_item_problem(page, off, MaxTupleAttributeNumber, itemlen) != NULL)
		return NULL;
	item = PageGetItem(page, PageGetItemId(page, off));
	if (EngramItemIsChunk(item))
		return NULL;
	return item;
}


/* ---- lossy COLD vectors (engram.table_option cold_vectors) ---- */

/*
 * f rounded to 11 significant bits (float16's precision; float's exponent
 * range is kept, so nothing over- or underflows): the low 13 mantissa bits
 * cleared, round half to even.  |result - f| <= 2^-11 * |f| for normal f
 * (2^-137 absolute for float subnormals).  False if rounding would reach
 * infinity; infinities and NaNs are kept.
 */
static bool
tier_round_half(float f, float *out)
{
	uint32		bits;
	uint32		sign;
	uint32		mag;

	memcpy(&bits, &f, sizeof(bits));
	sign = bits & 0x80000000;
	mag = bits & 0x7fffffff;
	if (mag >= 0x7f800000)
	{
		*out = f;
		return true;
	}
	mag += 0x0fff + ((mag >> 13) & 1);
	mag &= ~(uint32) 0x1fff;
	if (mag >= 0x7f800000)
		return false;
	bits = sign | mag;
	memcpy(out, &bits, sizeof(bits));
	return true;
}

/* round one inline, uncompressed engram.vector varlena at p (avail bytes) */
static bool
tier_round_vector(char *p, Size avail)
{
	Size		hdr;
	Size		size;
	int16		dim;
	int			i;
	char	   *x;

	if (avail < 1 || VARATT_IS_EXTERNAL(p) || VARATT_IS_COMPRESSED(p))
		return false;
	if (VARATT_IS_SHORT(p))
		hdr = VARHDRSZ_SHORT;
	else
	{
		if (avail < VARHDRSZ)
			return false;
		hdr = VARHDRSZ;
	}
	size = VARSIZE_ANY(p);
	if (size > avail || size < hdr + 2 * sizeof(int16))
		return false;
	memcpy(&dim, p + hdr, sizeof(int16));
	if (dim <= 0 || size != hdr + 2 * sizeof(int16) + sizeof(float) * (Size) dim)
		return false;
	x = p + hdr + 2 * sizeof(int16);
	/* all or nothing: a vector that would round to infinity stays exact */
	for (i = 0; i < dim; i++)
	{
		float		f;
		float		r;

		memcpy(&f, x + i * sizeof(float), sizeof(float));
		if (!tier_round_half(f, &r))
			return false;
	}
	for (i = 0; i < dim; i++)
	{
		float		f;
		float		r;

		memcpy(&f, x + i * sizeof(float), sizeof(float));
		(void) tier_round_half(f, &r);
		memcpy(x + i * sizeof(float), &r, sizeof(float));
	}
	return true;
}

int
tier_lossy_round(const TierLossy *lz, HeapTupleHeader th, char *data,
				 Size len)
{
	TupleDesc	desc = lz->desc;
	bool		hasnulls;
	int			natts;
	int			attnum;
	Size		off = 0;
	int			rounded = 0;

	if (lz->mode != TIER_COLD_FLOAT16 || desc == NULL || !OidIsValid(lz->vectype))
		return 0;
	hasnulls = (th->t_infomask & HEAP_HASNULL) != 0;
	natts = Min((int) HeapTupleHeaderGetNatts(th), desc->natts);
	for (attnum = 0; attnum < natts; attnum++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, attnum);

		if (hasnulls && att_isnull(attnum, th->t_bits))
			continue;
		if (att->attlen == -1)
		{
			if (off >= len)
				break;
			off = att_align_pointer(off, att->attalign, -1, data + off);
		}
		else
			off = att_align_nominal(off, att->attalign);
		if (off >= len)
			break;
		if (att->attlen == -1)
		{
			/* read the varlena length only where it lies inside data */
			if (!VARATT_IS_1B(data + off) && len - off < VARHDRSZ)
				break;
			if (VARATT_IS_EXTERNAL(data + off) && len - off < VARHDRSZ_EXTERNAL)
				break;
			if (VARSIZE_ANY(data + off) > len - off)
				break;
			if (att->atttypid == lz->vectype && !att->attisdropped &&
				tier_round_vector(data + off, len - off))
				rounded++;
		}
		else if (att->attlen == -2)
		{
			if (strnlen(data + off, len - off) >= len - off)
				break;
		}
		else if ((Size) att->attlen > len - off)
			break;
		off = att_addlength_pointer(off, att->attlen, data + off);
	}
	return rounded;
}

void
tier_lossy_init(TierLossy *lz, Oid relid, TupleDesc desc)
{
	Oid			nsp;
	Oid			optrel;
	Relation	rel;
	TableScanDesc scan;
	ScanKeyData key;
	Snapshot	snap;
	TupleTableSlot *slot;
	HeapTuple	ctup;
	Form_pg_class cform;
	Oid			owner;
	Oid			relnsp;
	NameData	relname;

	memset(lz, 0, sizeof(*lz));
	lz->desc = desc;
	if (!OidIsValid(get_extension_oid("engram", true)))
		return;
	nsp = get_namespace_oid("engram", true);
	if (!OidIsValid(nsp))
		return;
	optrel = get_relname_relid("table_option", nsp);
	if (!OidIsValid(optrel))
		return;
	/* the identity of the table now holding relid */
	ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(ctup))
		return;
	cform = (Form_pg_class) GETSTRUCT(ctup);
	owner = cform->relowner;
	relnsp = cform->relnamespace;
	namestrcpy(&relname, NameStr(cform->relname));
	ReleaseSysCache(ctup);

	rel = table_open(optrel, AccessShareLock);

	/*
	 * Columns: 1 relation regclass, 2 cold_vectors text, and the identity of
	 * the table the option was set for, 3 relowner regrole, 4 relnamespace
	 * regnamespace, 5 relname name, and 6 rounded bool (cold_vectors has
	 * been float16: rows may hold rounded vectors).  Any other shape:
	 * lossless.
	 */
	if (RelationGetDescr(rel)->natts < 6 ||
		TupleDescAttr(RelationGetDescr(rel), 0)->atttypid != REGCLASSOID ||
		TupleDescAttr(RelationGetDescr(rel), 1)->atttypid != TEXTOID ||
		TupleDescAttr(RelationGetDescr(rel), 2)->atttypid != REGROLEOID ||
		TupleDescAttr(RelationGetDescr(rel), 3)->atttypid != REGNAMESPACEOID ||
		TupleDescAttr(RelationGetDescr(rel), 4)->atttypid != NAMEOID ||
		TupleDescAttr(RelationGetDescr(rel), 5)->atttypid != BOOLOID)
	{
		table_close(rel, AccessShareLock);
		return;
	}
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	snap = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snap, 1, &key);
	slot = table_slot_create(rel, NULL);
	if (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		bool		nullo,
					nulln,
					nullr,
					nullrd;
		bool		float16 = false;
		Datum		d = slot_getattr(slot, 2, &isnull);
		Datum		o = slot_getattr(slot, 3, &nullo);
		Datum		n = slot_getattr(slot, 4, &nulln);
		Datum		r = slot_getattr(slot, 5, &nullr);
		Datum		rd = slot_getattr(slot, 6, &nullrd);

		if (!isnull)
		{
			char	   *v = TextDatumGetCString(d);

			float16 = strcmp(v, "float16") == 0;
			pfree(v);
		}

		/*
		 * Rows rounded while the option was float16 stay rounded after it
		 * went back to lossless (the row is kept, rounded set): scans of
		 * the table keep widening their bounds.
		 */
		lz->listed = float16 || (!nullrd && DatumGetBool(rd));

		/*
		 * A row left behind by a table that is gone (a TEMP table dropped at
		 * session end, a drop with event triggers disabled) may carry the OID
		 * of a later table: it applies only while the owner, schema and name
		 * it recorded are the table's.
		 */
		if (float16 &&
			(nullo || nulln || nullr ||
			 DatumGetObjectId(o) != owner ||
			 DatumGetObjectId(n) != relnsp ||
			 strcmp(NameStr(*DatumGetName(r)), NameStr(relname)) != 0))
			elog(DEBUG1, "engram: table_option row for OID %u is not for relation \"%s\": ignored",
				 relid, NameStr(relname));
		else if (float16)
			lz->mode = TIER_COLD_FLOAT16;
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	if (lz->mode != TIER_COLD_LOSSLESS)
		lz->vectype = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
									  CStringGetDatum("vector"),
									  ObjectIdGetDatum(nsp));
}

bool
tier_table_lossy(Oid relid)
{
	TierLossy	lz;

	tier_lossy_init(&lz, relid, NULL);
	return lz.mode != TIER_COLD_LOSSLESS || lz.listed;
}
