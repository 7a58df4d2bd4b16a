/*-------------------------------------------------------------------------
 *
 * engram_am_vacuum.c
 *	  engram table AM: VACUUM (stub, to be written).
 *
 * IDENTIFICATION
 *	  src/engram_am_vacuum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/vacuum.h"

#include "engram_am.h"
#include "engram_compat.h"

void
engram_relation_vacuum(Relation rel, struct VacuumParams *params,
					   BufferAccessStrategy bstrategy)
{
}

void
engram_log_removal_conflict(Relation rel, BlockNumber blkno,
							TransactionId latestRemovedXid)
{
	if (RelationNeedsWAL(rel))
		engram_compat_log_conflict(rel, blkno, latestRemovedXid);
}
