/*-------------------------------------------------------------------------
 *
 * memory.h
 *	  engram memory API: GUCs and the internal entry points shared by the
 *	  memory_*.c files.
 *
 * The memory API is mostly SQL (sql/install/50_memory.sql).  C holds the
 * parts that must be fast or exact: decay math (memory_activation.c), the
 * lexical embedder (memory_embed.c), spreading activation
 * (memory_spread.c), and the single place that reaches the table AM's
 * access history and tier information (memory_access.c).  recall's
 * candidate scan and scoring and consolidate's near-duplicate search are
 * in memory_recall.c (SQL-callable only: engram._recall_ranked,
 * engram._near_duplicates), on top of the functions declared here.
 *
 * IDENTIFICATION
 *	  src/memory.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_MEMORY_H
#define ENGRAM_MEMORY_H

#include "postgres.h"

#include "storage/itemptr.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

/* engram.decay_function */
typedef enum MemoryDecayFunction
{
	MEMORY_DECAY_EXPONENTIAL,
	MEMORY_DECAY_POWER,
	MEMORY_DECAY_ACTR
} MemoryDecayFunction;

/* Largest text engram.embed_text() accepts (64 MB) */
#define MEMORY_EMBED_MAX_BYTES		(64 * 1024 * 1024)

/* GUCs, defined in memory_api.c (memory_init) */
extern double memory_dedup_threshold;
extern double memory_weight_similarity;
extern double memory_weight_activation;
extern double memory_weight_confidence;
extern int	memory_decay_function;
extern double memory_decay_rate;
extern int	memory_recall_candidates;
extern double memory_consolidate_threshold;
extern char *memory_forget_after;
extern double memory_forget_threshold;
extern double memory_forget_factor;
extern int	memory_max_content_bytes;

/*
 * Access history and tier of one memory row (memory_access.c).  These are
 * the ONLY places the memory API asks storage about access history or
 * tiers; everything in SQL goes through them.
 */
extern bool memory_access_get(Relation rel, ItemPointer tid,
							  uint32 *count, TimestampTz *last);
extern void memory_access_record(Relation rel, ItemPointer tid);
extern const char *memory_tier_get(Relation rel, ItemPointer tid);
extern void engram_check_row_visible(Relation rel, ItemPointer tid);

/* memory_activation.c */
extern double memory_activation_raw(MemoryDecayFunction fn, double rate,
									TimestampTz created_at, TimestampTz last,
									int64 count, TimestampTz now);
extern double memory_activation_normalise(MemoryDecayFunction fn, double raw);

#endif							/* ENGRAM_MEMORY_H */
