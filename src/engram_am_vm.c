/*-------------------------------------------------------------------------
 *
 * engram_am_vm.c
 *	  engram table AM: the visibility map, kept in the core VM fork with the
 *	  core bit layout, WAL-logged with generic WAL only (ADR 0012).
 *
 * Postgres's own readers of the map (index-only scans, pg_visibility,
 * visibilitymap_count for pg_class.relallvisible) read the VM fork through
 * visibilitymap.c, so engram keeps exactly that fork and those bits: two per
 * table block, VISIBILITYMAP_ALL_VISIBLE and VISIBILITYMAP_ALL_FROZEN, in
 * PageGetContents() of VM page HEAPBLK_TO_MAPBLOCK(blkno).  The rule is
 * heap's: a bit may be set only while PD_ALL_VISIBLE is set on the table
 * page, and PD_ALL_VISIBLE only while every row on the page is visible to
 * every snapshot (all-frozen: and needs no freezing).
 *
 * Core logs VM changes only as part of heap's own records (XLOG_HEAP2_VISIBLE
 * sets, heap insert/update/delete/lock redo clears).  engram logs every VM
 * change in the SAME generic WAL record as the table page change it belongs
 * to: setting together with VACUUM's record that sets PD_ALL_VISIBLE,
 * clearing together with the record that writes a row on the page.  Generic
 * WAL cannot log a page as core leaves a VM page: visibilitymap.c
 * PageInit()s VM pages with pd_lower = 24 and pd_upper = BLCKSZ, so the whole
 * bitmap lies in the "hole" that GenericXLogFinish neither logs nor keeps (it
 * zeroes [pd_lower, pd_upper) on the primary as well as in redo, also with
 * GENERIC_XLOG_FULL_IMAGE).  So the first time engram registers a VM page it
 * sets pd_lower = pd_upper = BLCKSZ in the record's copy: no hole any more,
 * every bit is covered by the deltas (and by full-page images).  That record
 * is a full image (GENERIC_XLOG_FULL_IMAGE), because visibilitymap_pin
 * extends the VM fork without WAL: a standby may not have the block yet, and
 * only a full-image redo creates it.  Core readers use only the page's
 * contents area (PageGetContents) and accept the header: pd_lower = pd_upper
 * = pd_special = BLCKSZ passes PageIsVerifiedExtended, and truncation
 * (visibilitymap_prepare_truncate) logs a whole-page image, which keeps it.
 *
 * Lock order: table page(s) first, then the VM page (heap's order).  The VM
 * page is pinned before the table page is locked where the caller knows the
 * block (engram_vm_pin_for), else, rarely, under the table page's lock.
 *
 * IDENTIFICATION
 *	  src/engram_am_vm.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/visibilitymap.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"

#include "engram_am.h"

/*
 * The map's layout, as in visibilitymap.c (PG 15), which keeps these macros
 * private: 2 bits per table block, 4 blocks per byte, the map filling
 * PageGetContents of each VM page.
 */
#define ENGRAM_VM_MAPSIZE		(BLCKSZ - MAXALIGN(SizeOfPageHeaderData))
#define ENGRAM_VM_BLOCKS_PER_BYTE	(BITS_PER_BYTE / BITS_PER_HEAPBLOCK)
#define ENGRAM_VM_BLOCKS_PER_PAGE	(ENGRAM_VM_MAPSIZE * ENGRAM_VM_BLOCKS_PER_BYTE)
#define ENGRAM_VM_MAPBYTE(x) \
	(((x) % ENGRAM_VM_BLOCKS_PER_PAGE) / ENGRAM_VM_BLOCKS_PER_BYTE)
#define ENGRAM_VM_OFFSET(x) \
	(((x) % ENGRAM_VM_BLOCKS_PER_BYTE) * BITS_PER_HEAPBLOCK)

/*
 * Pin the VM page for blkno into *vmbuf (kept if it is already the right
 * one) when the table page in buf looks all-visible; buf is pinned, not
 * locked (the unlocked read of pd_flags is heap's own shortcut: a miss only
 * means engram_vm_clear pins under the lock).
 */
void
engram_vm_pin_for(Relation rel, Buffer buf, Buffer *vmbuf)
{
	BlockNumber blkno = BufferGetBlockNumber(buf);

	if (PageIsAllVisible(BufferGetPage(buf)) &&
		!visibilitymap_pin_ok(blkno, *vmbuf))
		visibilitymap_pin(rel, blkno, vmbuf);
}

/* is vmbuf one of the VM buffers this record has locked and registered? */
static int
engram_vm_find(EngramVmRecord *vr, Buffer vmbuf)
{
	int			i;

	for (i = 0; i < vr->nlocked; i++)
		if (vr->locked[i] == vmbuf)
			return i;
	return -1;
}

/*
 * Lock vmbuf (pinned) exclusively and register it in the generic record
 * once; return the record's copy of the VM page, with the hole removed.
 */
static Page
engram_vm_register(GenericXLogState *state, EngramVmRecord *vr, Buffer vmbuf)
{
	int			i = engram_vm_find(vr, vmbuf);
	Page		vmpage;
	PageHeader	ph;
	int			flags = 0;

	if (i >= 0)
		return vr->images[i];

	if (vr->nlocked >= lengthof(vr->locked))
		elog(ERROR, "engram: too many visibility map pages in one record");

	LockBuffer(vmbuf, BUFFER_LOCK_EXCLUSIVE);
	ph = (PageHeader) BufferGetPage(vmbuf);
	/* first time engram logs this VM page: see the file header */
	if (PageIsNew((Page) ph) || ph->pd_lower != BLCKSZ || ph->pd_upper != BLCKSZ)
		flags = GENERIC_XLOG_FULL_IMAGE;
	vmpage = GenericXLogRegisterBuffer(state, vmbuf, flags);
	if (PageIsNew(vmpage))
		PageInit(vmpage, BLCKSZ, 0);
	ph = (PageHeader) vmpage;
	ph->pd_lower = BLCKSZ;
	ph->pd_upper = BLCKSZ;

	vr->locked[vr->nlocked] = vmbuf;
	vr->images[vr->nlocked] = vmpage;
	vr->nlocked++;
	return vmpage;
}

/*
 * wpage is the record's copy of table block blkno, about to change rows.
 * If it is all-visible, clear PD_ALL_VISIBLE on it and both VM bits of the
 * block, in the same record.  *vmbuf is a VM buffer pin (or InvalidBuffer),
 * replaced by the right one if needed.
 */
void
engram_vm_clear(Relation rel, GenericXLogState *state, EngramVmRecord *vr,
				BlockNumber blkno, Page wpage, Buffer *vmbuf, uint8 flags)
{
	Page		vmpage;
	uint8	   *map;

	Assert(flags == VISIBILITYMAP_VALID_BITS || flags == VISIBILITYMAP_ALL_FROZEN);

	if (!PageIsAllVisible(wpage))
		return;

	/* rare: the page became all-visible after the unlocked look */
	if (!visibilitymap_pin_ok(blkno, *vmbuf))
	{
		if (BufferIsValid(*vmbuf) && engram_vm_find(vr, *vmbuf) >= 0)
			elog(ERROR, "engram: visibility map buffer switched inside a record");
		visibilitymap_pin(rel, blkno, vmbuf);
	}

	if (flags & VISIBILITYMAP_ALL_VISIBLE)
		PageClearAllVisible(wpage);
	else
	{
		/*
		 * A row lock (heap_lock_tuple's rule): the rows stay visible to all,
		 * only all-frozen goes.  The block's bits cannot change under us:
		 * setting and clearing both need the table page's exclusive lock,
		 * which the caller holds, so the unlocked read is exact.
		 */
		if (!(visibilitymap_get_status(rel, blkno, vmbuf) & VISIBILITYMAP_ALL_FROZEN))
			return;
	}

	vmpage = engram_vm_register(state, vr, *vmbuf);
	map = (uint8 *) PageGetContents(vmpage);
	map[ENGRAM_VM_MAPBYTE(blkno)] &= ~(flags << ENGRAM_VM_OFFSET(blkno));
}

/*
 * VACUUM: set PD_ALL_VISIBLE on wpage (copy of block blkno) and the block's
 * VM bits to exactly 'flags' (VISIBILITYMAP_ALL_VISIBLE, optionally with
 * VISIBILITYMAP_ALL_FROZEN; 0 clears both) in the same record.  The caller
 * has checked that every row is visible to all and logged the hot-standby
 * conflict record first.  *vmbuf must be pinned for blkno.
 */
void
engram_vm_set(GenericXLogState *state, EngramVmRecord *vr,
			  BlockNumber blkno, Page wpage, Buffer vmbuf, uint8 flags)
{
	Page		vmpage;
	uint8	   *map;
	int			shift = ENGRAM_VM_OFFSET(blkno);

	Assert(visibilitymap_pin_ok(blkno, vmbuf));
	Assert((flags & ~VISIBILITYMAP_VALID_BITS) == 0);
	Assert(flags == 0 || (flags & VISIBILITYMAP_ALL_VISIBLE));

	if (flags != 0)
		PageSetAllVisible(wpage);
	else
		PageClearAllVisible(wpage);

	vmpage = engram_vm_register(state, vr, vmbuf);
	map = (uint8 *) PageGetContents(vmpage);
	map[ENGRAM_VM_MAPBYTE(blkno)] =
		(map[ENGRAM_VM_MAPBYTE(blkno)] & ~(VISIBILITYMAP_VALID_BITS << shift)) |
		(flags << shift);
}

/* after GenericXLogFinish/Abort: unlock the VM pages the record locked */
void
engram_vm_unlock(EngramVmRecord *vr)
{
	int			i;

	for (i = 0; i < vr->nlocked; i++)
		LockBuffer(vr->locked[i], BUFFER_LOCK_UNLOCK);
	vr->nlocked = 0;
}

/* release a VM pin taken by engram_vm_pin_for / engram_vm_clear */
void
engram_vm_release(Buffer *vmbuf)
{
	if (BufferIsValid(*vmbuf))
		ReleaseBuffer(*vmbuf);
	*vmbuf = InvalidBuffer;
}
