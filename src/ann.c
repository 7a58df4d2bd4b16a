/*-------------------------------------------------------------------------
 *
 * ann.c
 *	  engram: approximate recall index handler (stub, to be written).
 *
 * IDENTIFICATION
 *	  src/ann.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engram.h"

void
ann_init(void)
{
}
