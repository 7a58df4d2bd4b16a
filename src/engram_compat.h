/*-------------------------------------------------------------------------
 *
 * engram_compat.h
 *	  Every PostgreSQL-version difference engram depends on, in one place.
 *
 * engram targets PostgreSQL 15; the shims below keep the rest of the code
 * free of PG_VERSION_NUM tests so 16 and 17 can follow.
 *
 * IDENTIFICATION
 *	  src/engram_compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_COMPAT_H
#define ENGRAM_COMPAT_H

#include "postgres.h"

#include "access/gist_private.h"
#include "access/transam.h"
#include "utils/rel.h"

#if PG_VERSION_NUM < 150000
#error "engram requires PostgreSQL 15 or later"
#endif

/*
 * Log a core WAL record whose only effect on redo is to resolve hot-standby
 * conflicts for snapshots that could still see rows with xids up to
 * latestRemovedXid in rel.  We use GiST's page-reuse record: its redo calls
 * ResolveRecoveryConflictWithSnapshot and touches no page, and a stock
 * standby replays it without engram's library.  Its layout changed in 16
 * (RelFileLocator, snapshotConflictHorizon, isCatalogRel): from 16 on the
 * emitter takes the heap relation too and, under wal_level = logical, reads
 * it (RelationIsAccessibleInLogicalDecoding) to fill isCatalogRel, so it
 * must be a real relation.  Ours is the table itself: rel is the "heap" the
 * removed rows belonged to.  (The 16 branch follows PG 16's gistxlog.c and
 * gist_private.h; it is not compiled here, only PG 15 is installed.)
 */
static inline void
engram_compat_log_conflict(Relation rel, BlockNumber blkno,
						   TransactionId latestRemovedXid)
{
	FullTransactionId next = ReadNextFullTransactionId();
	uint32		epoch = EpochFromFullTransactionId(next);
	FullTransactionId fxid;

	if (!TransactionIdIsNormal(latestRemovedXid))
		return;					/* nothing a snapshot could still need */
	/* an xid "after" next belongs to the previous epoch */
	if (latestRemovedXid > XidFromFullTransactionId(next))
		epoch--;
	fxid = FullTransactionIdFromEpochAndXid(epoch, latestRemovedXid);
#if PG_VERSION_NUM >= 160000
	gistXLogPageReuse(rel, rel, blkno, fxid);
#else
	gistXLogPageReuse(rel, blkno, fxid);
#endif
}

#if PG_VERSION_NUM >= 160000
#define engram_rel_locator(rel)	((rel)->rd_locator)
#else
#define engram_rel_locator(rel)	((rel)->rd_node)
#endif

/* ownership check of a table (object_ownercheck replaced it in 16) */
#if PG_VERSION_NUM >= 160000
#define engram_class_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define engram_class_ownercheck(relid, roleid) \
	pg_class_ownercheck((relid), (roleid))
#endif

/* pgstat for an update without HOT (16 added the "new page" argument) */
#if PG_VERSION_NUM >= 160000
#define engram_pgstat_count_update(rel) \
	pgstat_count_heap_update((rel), false, false)
#else
#define engram_pgstat_count_update(rel) \
	pgstat_count_heap_update((rel), false)
#endif

#endif							/* ENGRAM_COMPAT_H */
