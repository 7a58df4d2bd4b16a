/*-------------------------------------------------------------------------
 *
 * engram.h
 *	  Types and entry points shared by engram's subsystems.
 *
 * Each subsystem owns a prefix and a header (vector.h, engram_am.h,
 * tier.h, ann.h, memory.h, fault.h); this header only lists the per-subsystem
 * init functions that _PG_init (engram.c) calls to define GUCs.
 *
 * IDENTIFICATION
 *	  src/engram.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_H
#define ENGRAM_H

#include "postgres.h"

/* Called once from _PG_init, each defines its subsystem's GUCs. */
extern void engram_am_init(void);	/* engram_am_handler.c */
extern void tier_init(void);		/* tier_migrate.c */
extern void ann_init(void);			/* ann.c */
extern void memory_init(void);		/* memory_api.c */
extern void fault_init(void);		/* fault.c */

/* true while _PG_init runs from shared_preload_libraries */
extern bool engram_preloaded;

#endif							/* ENGRAM_H */
