/*-------------------------------------------------------------------------
 *
 * shard.h
 *	  engram sharding: memory spaces placed on other nodes
 *	  (sql/install/60_shard.sql, docs/architecture/0011-sharding.md).
 *
 * The placement catalog and the routing functions are SQL (60_shard.sql).
 * C holds the two steps that switch user, both through
 * memory_run_as_owner() (memory_write.c):
 *	engram._shard_call(shard, op, args) on a coordinator: one round trip to
 *		a shard (dblink over the shard's postgres_fdw server, as the owner
 *		of engram.memory, whose user mapping holds the shard credentials),
 *		with the caller's space grants -- read on the coordinator -- sent
 *		along and enforced by the shard;
 *	engram._shard_adopt(space, dims) on a shard: create a placed space and
 *		grant it to the shard's service role, for that role only.
 *
 * IDENTIFICATION
 *	  src/shard.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_SHARD_H
#define ENGRAM_SHARD_H

#include "postgres.h"

/* a memory id's node: the top 16 bits of its 63 (node << 48 | serial) */
#define SHARD_NODE_SHIFT	48
#define SHARD_MAX_NODE		32767

#endif							/* ENGRAM_SHARD_H */
