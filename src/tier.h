/*-------------------------------------------------------------------------
 *
 * tier.h
 *	  Tiered storage of row bodies inside engram tables: HOT (plain), WARM
 *	  (lz4 per row) and COLD (lz4 high-compression chunks of many rows),
 *	  migration between them, and access history.
 *
 * The table AM calls this code; this code never calls the table AM's
 * callbacks (it works on pages through engram_page.h and engram_am.h).
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
#include "storage/buf.h"
#include "utils/rel.h"

#include "engram_page.h"

/*
 * Decode a WARM or COLD item into a palloc'd heap-format tuple (header
 * copied, attribute data decompressed) in CurrentMemoryContext.  databuf is
 * the item's DATA page, locked by the caller (share or exclusive); a COLD
 * body's chunk page is locked (share) and released inside, after the data
 * page lock as the lock order requires.  Corrupt bodies raise
 * ERRCODE_DATA_CORRUPTED.  t_self/t_tableOid are left to the caller.
 */
extern HeapTuple tier_materialize(Relation rel, Buffer databuf, Item item,
								  Size itemlen);

/* Length of the attribute data of an item, whatever its tier */
extern Size tier_raw_data_len(Item item, Size itemlen);

/*
 * VACUUM support: turn COLD chunk pages that no row refers to any more back
 * into empty DATA pages.  Caller holds ShareUpdateExclusiveLock on rel.
 */
extern BlockNumber tier_sweep_chunks(Relation rel);

/* tier name for SQL ("hot", "warm", "cold") */
extern const char *tier_name(int tier);

/* Forget cached decompressed chunks of rel (after truncation etc.) */
extern void tier_cache_invalidate(Oid relid);

#endif							/* ENGRAM_TIER_H */
