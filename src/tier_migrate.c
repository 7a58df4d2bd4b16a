/*-------------------------------------------------------------------------
 *
 * tier_migrate.c
 *	  engram: tier migration (stub, to be written).
 *
 * IDENTIFICATION
 *	  src/tier_migrate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engram.h"

void
tier_init(void)
{
}
