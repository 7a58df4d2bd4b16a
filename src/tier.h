/*-------------------------------------------------------------------------
 *
 * tier.h
 *	  Tiered storage of row bodies inside engram tables: HOT (plain), WARM
 *	  (lz4 per row) and COLD (zstd chunks of a data page's rows, kept on
 *	  that page: ADR 0010),
 *	  migration between them, and access history.
 *
 * The table AM calls this code; this code never calls the table AM's
 * callbacks (it works on pages through engram_page.h and engram_am.h).
 *
 * Files:
 *	  tier_body.c		WARM/COLD body codecs, chunk format, the per-backend
 *						cache of decompressed chunks, tier_materialize
 *	  tier_migrate.c	GUCs, heat, engram.migrate passes, the chunk sweep
 *	  tier_worker.c		background worker running migration passes
 *	  tier_access.c		access history (engram_record_access & co.)
 *	  tier_sql.c		tier_of, tier_stats, verify, access SQL functions
 *
 * IDENTIFICATION
 *	  src/tier.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_TIER_H
#define ENGRAM_TIER_H

#include "postgres.h"

#include "access/htup.h"
#include "port/pg_crc32c.h"
#include "storage/buf.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "engram_page.h"

/*
 * Decode a WARM or COLD item into a palloc'd heap-format tuple (header
 * copied, attribute data decompressed) in CurrentMemoryContext.  databuf is
 * the item's DATA page, locked by the caller (share or exclusive); a COLD
 * body's chunk is a chunk item of that page, or (0.1 data) a chunk page,
 * which is locked (share) and released inside, after the data page lock as
 * the lock order requires.  Corrupt bodies raise
 * ERRCODE_DATA_CORRUPTED.  t_self/t_tableOid are left to the caller.
 */
extern HeapTuple tier_materialize(Relation rel, Buffer databuf, Item item,
								  Size itemlen);

/* Length of the attribute data of an item, whatever its tier */
extern Size tier_raw_data_len(Item item, Size itemlen);

/*
 * VACUUM support: remove chunk items no row of their page refers to any
 * more, and turn 0.1 COLD chunk pages no row refers to back into empty DATA
 * pages.  Caller holds ShareUpdateExclusiveLock on rel.
 */
extern BlockNumber tier_sweep_chunks(Relation rel);

/*
 * VACUUM FULL / CLUSTER: add rows as COLD to page (a DATA page being built
 * for a new relation): as many of tups[0..ntups) as fit, as references plus
 * one chunk item holding their data.  The references' chunk_blkno is left
 * InvalidBlockNumber for the caller to set once the page has its block.
 * Returns the number of rows added (0 if not even one fits compressed).
 * lossy: the rows' vectors were rounded (cold_vectors = float16), so both
 * chunk layouts are tried.
 */
extern int	tier_pack_cold(Page page, HeapTuple *tups, int ntups, bool lossy);

/*
 * Lossy COLD vectors (engram.set_table_option(rel, 'cold_vectors', ...),
 * off by default): with 'float16', every engram.vector value of a row that
 * goes COLD is rounded to float16's precision, 11 significant bits (float4's
 * exponent range kept, stored as float4, so the format and every reader are
 * unchanged) before its chunk is compressed.  VALUES CHANGE: each component
 * by at most TIER_LOSSY_REL_ERROR of itself.  Rounding is idempotent.
 * engram_hnsw scans of such a table widen their distance bounds by it
 * (ann_scan.c).
 */
#define TIER_LOSSY_REL_ERROR	(1.0 / 2048.0)

#define TIER_COLD_LOSSLESS		0
#define TIER_COLD_FLOAT16		1

typedef struct TierLossy
{
	int			mode;			/* TIER_COLD_* */
	Oid			vectype;		/* engram.vector */
	TupleDesc	desc;			/* of the rows' relation */
	bool		listed;			/* a row names the OID that says float16
								 * (applying or not: identity mismatch) or
								 * rounded (float16 once, lossless now) */
} TierLossy;

/* look up relid's cold_vectors option (reads engram.table_option) */
extern void tier_lossy_init(TierLossy *lz, Oid relid, TupleDesc desc);

/*
 * may relid hold rounded vectors?  True if a float16 row for its OID exists,
 * also one that does not apply (its recorded owner, schema or name is no
 * longer the table's, e.g. after a rename), or a row with rounded set (the
 * option was float16 once and is lossless now; never cleared while the table
 * exists, REINDEX included): rows rounded before stay so, and widening an
 * index scan's bounds is always safe
 */
extern bool tier_table_lossy(Oid relid);

/*
 * Round the vector attributes of a row's attribute data (data, len bytes,
 * described by th's null bitmap and lz->desc) in place; a no-op when
 * lossless.  Returns the number of vectors rounded.
 */
extern int	tier_lossy_round(const TierLossy *lz, HeapTupleHeader th,
							 char *data, Size len);

/* tier name for SQL ("hot", "warm", "cold") */
extern const char *tier_name(int tier);

/* Forget cached decompressed chunks of rel (after truncation etc.) */
extern void tier_cache_invalidate(Oid relid);

/* ---- COLD chunk pages (tier_body.c) ---- */

/*
 * A COLD chunk: the body of a chunk item on a DATA page (engram_page.h), or
 * the one item of a 0.1 COLD chunk page.  The attribute data of nbodies
 * rows is concatenated (body i is raw bytes offsets[i] .. offsets[i+1]),
 * optionally byte-shuffled (ENGRAM_CHUNK_SHUFFLED: the first raw_len & ~3
 * bytes transposed as 4-byte lanes, so the sign/exponent bytes of float
 * vectors sit together), and compressed as one block of comp_len bytes that
 * follows offsets[nbodies]: zstd when ENGRAM_CHUNK_ZSTD, else LZ4 (HC).
 * crc is CRC-32C of the compressed bytes.
 */
typedef struct EngramChunkHeader
{
	uint32		chunk_id;		/* equals the page's opaque chunk_id */
	uint16		nbodies;		/* >= 1 */
	uint16		flags;			/* ENGRAM_CHUNK_* */
	uint32		raw_len;		/* == offsets[nbodies] */
	uint32		comp_len;		/* bytes of the LZ4 block */
	pg_crc32c	crc;			/* CRC-32C of the LZ4 block */
	uint32		offsets[FLEXIBLE_ARRAY_MEMBER];	/* nbodies + 1 entries */
} EngramChunkHeader;

#define ENGRAM_CHUNK_SHUFFLED	0x0001
#define ENGRAM_CHUNK_ZSTD		0x0002
#define ENGRAM_CHUNK_FLAGS		(ENGRAM_CHUNK_SHUFFLED | ENGRAM_CHUNK_ZSTD)

#define EngramChunkHeaderSize(nbodies) \
	(offsetof(EngramChunkHeader, offsets) + sizeof(uint32) * ((nbodies) + 1))

/* largest decompressed chunk we write (and accept when reading) */
#define ENGRAM_CHUNK_MAX_RAW	(256 * 1024)
/* most bodies in one chunk */
#define ENGRAM_CHUNK_MAX_BODIES	1024

/* Largest raw attribute data a row can have (it fitted a page once) */
#define ENGRAM_MAX_RAW_BODY		ENGRAM_MAX_ITEM_SIZE

/*
 * A chunk decompressed (or being built): raw data and offsets.  Palloc'd;
 * owned by the cache when it comes from tier_chunk_get.
 */
typedef struct TierChunk
{
	uint32		chunk_id;
	int			nbodies;
	uint32		raw_len;
	uint32	   *offsets;		/* nbodies + 1 */
	char	   *raw;
} TierChunk;

/*
 * Validate a chunk item (a copy, itemlen bytes) read from blkno and
 * decompress it into *chunk (palloc'd in CurrentMemoryContext).  Returns
 * NULL on success or a palloc'd description of the problem; never errors
 * out on garbage.  page_chunk_id is the chunk id of the page it came from.
 */
extern char *tier_chunk_decode(const char *item, Size itemlen,
							   uint32 page_chunk_id, TierChunk *chunk);

/*
 * Build a chunk from nbodies bodies (bodies[i], lens[i]), compressed with
 * zstd.  Returns a palloc'd chunk and its length, or NULL if it would not
 * fit in max_item bytes (then *itemlen is the size it would have needed, 0
 * if the bodies cannot form a chunk at all).  Tries shuffled and plain
 * layouts when try_shuffle and keeps the smaller.
 */
extern char *tier_chunk_build(uint32 chunk_id, int nbodies, char **bodies,
							  uint32 *lens, Size max_item, bool try_shuffle,
							  Size *itemlen);

/* as tier_chunk_build; always_shuffle tries both layouts whatever plain gives */
extern char *tier_chunk_build_ext(uint32 chunk_id, int nbodies, char **bodies,
								  uint32 *lens, Size max_item, bool try_shuffle,
								  bool always_shuffle, Size *itemlen);

/* bytes a chunk item of chunklen chunk bytes takes in a DATA page item */
#define TIER_CHUNK_ITEM_OVERHEAD \
	(SizeOfEngramItemHeader + MAXALIGN(SizeofHeapTupleHeader))

/* Wrap a chunk as a DATA page chunk item (palloc'd; see engram_page.h) */
extern char *tier_chunk_item(const char *chunk, Size chunklen, Size *itemlen);

/*
 * Count (and, if apply, remove) the chunk items of a DATA page that no row
 * of the page refers to; apply needs the page exclusively (a GenericXLog
 * working copy).  The removed line pointers become unused (no index entry
 * ever points at a chunk item).  Counts 0 if any row item is damaged.
 */
extern int	tier_prune_page_chunks(Page page, bool apply);

/* a new chunk id: never 0 (engram.debug_chunk_id forces one for tests) */
extern uint32 tier_new_chunk_id(void);
extern int	tier_debug_chunk_id;
extern bool tier_cold_shuffle;
extern int	tier_cold_level;

/*
 * Decode the attribute data of a WARM or COLD item (from a page of rel at
 * blkno/off that the caller holds locked) into a palloc'd buffer; returns
 * its length in *rawlen.  HOT items are copied.  Errors with
 * ERRCODE_DATA_CORRUPTED on damage.
 */
extern char *tier_decode_body(Relation rel, BlockNumber blkno, Page page,
							  OffsetNumber off, Item item, Size itemlen,
							  Size *rawlen);

/*
 * Compress raw attribute data as a WARM body (EngramWarmBody) into a
 * palloc'd buffer if it makes the body smaller than limit bytes; NULL if not.
 */
extern char *tier_warm_encode(const char *raw, Size rawlen, Size limit,
							  Size *bodylen);

/* Item header + tuple header of item, followed by body: a palloc'd item */
extern char *tier_make_item(Item item, const char *body, Size bodylen,
							int tier, Size *newlen);

/* soft page/item checks that never error out (tier_body.c) */
extern const char *tier_page_chunk_item(Page page, OffsetNumber off,
										Size *chunklen);
extern char *tier_page_problem(Page page);
extern Item tier_page_item(Page page, OffsetNumber off, Size *itemlen);

/*
 * Tier of the row at tid ("hot", "warm", "cold"), or NULL if tid is not a
 * row of rel (tier_sql.c).  Takes a share lock on the row's page.
 */
extern const char *tier_of_tid(Relation rel, ItemPointer tid);

/* ---- policy (tier_migrate.c) ---- */

extern int	tier_warm_after;	/* seconds */
extern int	tier_cold_after;	/* seconds */
extern int	tier_heat_half_life;	/* seconds */
extern int	tier_migrate_naptime;	/* seconds */
extern int	tier_migrate_batch; /* kB moved per table per worker pass */
extern int	tier_hot_budget;	/* kB of HOT bodies per table, < 0 unlimited */
extern char *tier_migrate_database;

/* seconds since the Postgres epoch, as stored in last_access */
extern uint32 tier_now_seconds(void);

/* heat of a row (see tier_migrate.c for the formula) */
extern double tier_heat(uint32 access_count, uint32 last_access, uint32 now);

/* Counters of one migration pass */
typedef struct TierPassResult
{
	int64		rows[ENGRAM_NUM_TIERS][ENGRAM_NUM_TIERS];	/* [from][to] */
	int64		bytes[ENGRAM_NUM_TIERS][ENGRAM_NUM_TIERS];	/* raw bytes */
	int64		stamped;		/* never-seen rows given a first-seen time */
	BlockNumber swept;			/* chunks reclaimed */
	BlockNumber pages;			/* pages visited */
	BlockNumber chunk_pages;	/* 0.1 COLD chunk pages met */
} TierPassResult;

/*
 * Where the background worker's incremental passes over one table stand:
 * the next block to visit and the engram.hot_budget threshold computed at
 * the start of the current cycle over the table.
 */
typedef struct TierCursor
{
	Oid			relid;
	BlockNumber next;
	bool		budget_on;
	double		heat_threshold;
	bool		chunk_pages;	/* 0.1 chunk pages met in this cycle */
} TierCursor;

/*
 * One slice of a policy pass (background worker): visits at most max_pages
 * DATA pages from cur->next on, moving at most max_bytes raw bytes (< 0:
 * no limit), and advances cur.  Every change is decided under one page's
 * exclusive lock, so the caller needs only AccessShareLock on rel.  Returns
 * true when the slice reached the end of the table (a cycle is complete).
 */
extern bool tier_migrate_slice(Relation rel, TierCursor *cur, int64 max_bytes,
							   BlockNumber max_pages, TierPassResult *result);
extern int	tier_migrate_pages;

/*
 * One migration pass over rel (caller holds ShareUpdateExclusiveLock).
 * target < 0: by policy; else force every row to that tier where possible.
 * max_bytes < 0: no limit on raw bytes moved.
 */
extern void tier_migrate_pass(Relation rel, int target, int64 max_bytes,
							  TierPassResult *result);

/* tier_worker.c */
extern void tier_worker_register(void);

#endif							/* ENGRAM_TIER_H */
