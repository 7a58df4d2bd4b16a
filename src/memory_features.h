/*-------------------------------------------------------------------------
 *
 * memory_features.h
 *	  engram memory API features of sql/install/55_memory_features.sql:
 *	  the expiry pass of the background worker and its GUC.
 *
 * IDENTIFICATION
 *	  src/memory_features.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_MEMORY_FEATURES_H
#define ENGRAM_MEMORY_FEATURES_H

#include "postgres.h"

#include "utils/timestamp.h"

/* engram.expire_naptime, in seconds; 0 disables the worker's expiry pass */
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

#endif							/* ENGRAM_MEMORY_FEATURES_H */
