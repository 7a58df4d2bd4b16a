/*-------------------------------------------------------------------------
 *
 * fault.c
 *	  engram: fault points for crash tests (stub, to be written).
 *
 * IDENTIFICATION
 *	  src/fault.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engram.h"

void
fault_init(void)
{
}
