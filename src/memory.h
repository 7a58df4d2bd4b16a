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
 * memory_text.c holds the keys and bucket probes of recall's text index
 * (engram._text_keys, memory_text_keys_idx).
 * memory_write.c holds the write primitives and memory_run_as_owner(), the
 * one owner switch of every write function; memory_features.c the
 * features of sql/install/55_memory_features.sql (their write entry point,
 * valid_at(), the background worker's expiry pass and its GUC).
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
#include "tsearch/ts_type.h"
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

/*
 * memory_write.c: run sqlfmt (the extension's schema as %1$s) as the owner
 * of engram.memory for the current user, with values[0..nargs-1] (types,
 * nulls as for SPI) and the caller's permitted spaces (text[], NULL: all)
 * as the last parameter, $nargs+1; see the comment there.  plankey: the
 * calling primitive's OID to keep the plan of a static sqlfmt, InvalidOid
 * to plan per call.  rettype InvalidOid: returns the rows processed
 * (int8); else the first column of the first row (*isnull when none).
 */
extern Datum memory_run_as_owner(Oid plankey, const char *sqlfmt, int nargs,
								 Oid *types, Datum *values, char *nulls,
								 Oid rettype, const char *what, bool *isnull);

/*
 * memory_features.c.  engram.expire_naptime, in seconds; 0 disables the
 * worker's expiry pass.
 */
extern int	memory_expire_naptime;

extern void memory_features_init(void);

/*
 * One expiry pass (engram.expire() over every space) in a transaction of
 * its own, then the spaces' due consolidations (engram._run_schedules())
 * in another; errors are logged, not thrown.  For the background worker,
 * outside any transaction.
 */
extern void memory_expire_pass(void);

/* when the pass after one that ends at 'now' is due (far future: never) */
extern TimestampTz memory_expire_next(TimestampTz now);

/*
 * memory_text.c: recall's text index (memory_text_keys_idx on
 * engram._text_keys(space, content_tsv)).  Buckets 1..MEMORY_TEXT_TOP_BUCKET of
 * a lexeme hold the memories with that many positions of it (the top one:
 * that many or more); bucket 0 those whose rank is not a function of the
 * count (weights other than D, no positions).
 */
#define MEMORY_TEXT_TOP_BUCKET 16

/*
 * memory_write.c: engram._rls_bypassed() and engram._space_allowed(text),
 * also called from C (memory_recall.c checks the space before reading any
 * index of its own accord).
 */
extern Datum engram_rls_bypassed(PG_FUNCTION_ARGS);
extern Datum engram_space_allowed(PG_FUNCTION_ARGS);

/* engram.recall_text_index: recall may read the text index's buckets */
extern bool memory_text_enabled;

extern char *memory_text_single_lexeme(TSQuery query, int *len);
extern float4 memory_text_bucket_rank(TSQuery query, int npos, const char *lexeme, int len);
extern Relation memory_text_index(Relation rel);
extern bool memory_text_bucket_tids(Relation index, int bucket, const char *space,
									const char *lexeme, int len,
									Datum *tids, int *ntids);

#endif							/* ENGRAM_MEMORY_H */
