/*-------------------------------------------------------------------------
 *
 * memory_api.c
 *	  engram: memory API (stub, to be written).
 *
 * IDENTIFICATION
 *	  src/memory_api.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engram.h"

void
memory_init(void)
{
}
