/*-------------------------------------------------------------------------
 *
 * engram_am_handler.c
 *	  engram: table access method handler and callbacks (stub, to be written).
 *
 * IDENTIFICATION
 *	  src/engram_am_handler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engram.h"

void
engram_am_init(void)
{
}

/* stub until the handler lands */
#include "engram_am.h"

const TableAmRoutine *
engram_table_am_routine(void)
{
	return NULL;
}
