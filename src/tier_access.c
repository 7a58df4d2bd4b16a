/*-------------------------------------------------------------------------
 *
 * tier_access.c
 *	  Access history of engram rows (stub, to be written).
 *
 * IDENTIFICATION
 *	  src/tier_access.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engram_am.h"

void
engram_record_access(Relation rel, ItemPointer tid)
{
}

bool
engram_get_access(Relation rel, ItemPointer tid, uint32 *count,
				  TimestampTz *last)
{
	return false;
}
