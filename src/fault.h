/*-------------------------------------------------------------------------
 *
 * fault.h
 *	  Named fault points for crash tests.
 *
 * A fault point is a place in a write path where a test may make the
 * backend die: ENGRAM_FAULT_POINT("migrate_after_switch").  A superuser arms
 * one with
 *		SET engram.fault_point = 'migrate_after_switch';
 *		SET engram.fault_action = 'sigkill';	-- or 'panic' (default)
 *		SET engram.fault_skip = 3;				-- fire at the 4th hit
 * When engram.fault_point is empty (the default) a fault point costs one
 * predictable branch.  The list of points is in docs/test-plan.md; every
 * name used in the code must appear there.
 *
 * IDENTIFICATION
 *	  src/fault.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_FAULT_H
#define ENGRAM_FAULT_H

extern bool fault_armed;
extern void fault_hit(const char *name);

#define ENGRAM_FAULT_POINT(name) \
	do { \
		if (unlikely(fault_armed)) \
			fault_hit(name); \
	} while (0)

#endif							/* ENGRAM_FAULT_H */
