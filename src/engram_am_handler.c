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
