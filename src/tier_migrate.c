/*-------------------------------------------------------------------------
 *
 * tier_migrate.c
 *	  engram: tier migration (stub, to be written).
 *
 * IDENTIFICATION
 *	  src/tier_migrate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engram.h"

void
tier_init(void)
{
}

/* ---- stubs until the tier code lands ---- */
#include "tier.h"

HeapTuple
tier_materialize(Relation rel, Buffer databuf, Item item, Size itemlen)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("compressed tiers are not implemented yet")));
	return NULL;
}

Size
tier_raw_data_len(Item item, Size itemlen)
{
	return EngramItemBodySize(item, itemlen);
}

BlockNumber
tier_sweep_chunks(Relation rel)
{
	return 0;
}

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

void
tier_cache_invalidate(Oid relid)
{
}
