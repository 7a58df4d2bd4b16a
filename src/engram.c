/*-------------------------------------------------------------------------
 *
 * engram.c
 *	  Module magic and _PG_init: defines every subsystem's GUCs and reserves
 *	  the "engram." prefix.
 *
 * IDENTIFICATION
 *	  src/engram.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "engram.h"
#include "memory.h"

PG_MODULE_MAGIC;

bool		engram_preloaded = false;

void		_PG_init(void);

void
_PG_init(void)
{
	engram_preloaded = process_shared_preload_libraries_in_progress;

	engram_am_init();
	tier_init();
	ann_init();
	memory_init();
	memory_features_init();
	fault_init();

	MarkGUCPrefixReserved("engram");
}
