/*-------------------------------------------------------------------------
 *
 * engram_page.h
 *	  On-disk format of engram tables: the one place that describes it.
 *
 * An engram table's main fork is a sequence of standard pages (PageInit
 * layout, pd_lower <= pd_upper, so generic WAL can log deltas).  Every page
 * carries EngramPageOpaqueData in its special space, with a page id and a
 * format version checked on every read: a page that is not engram's, or of
 * another format version, is refused with ERRCODE_DATA_CORRUPTED.
 *
 * There is no metapage.  Two kinds of page:
 *
 * DATA pages hold rows.  The line pointer array is the slot directory: a
 * row's TID is (block, line pointer number) and never changes for the life
 * of the row version, whatever tier its body is in.  Offsets stay within
 * MaxHeapTuplesPerPage (PageAddItemExtended with PAI_IS_HEAP), so btree,
 * GIN, GiST, BRIN, hash and bitmap scans accept them.  Each item is
 *
 *	  EngramItemHeaderData	(8 bytes: tier, flags, access count, last access)
 *	  HeapTupleHeaderData	(heap's exact layout: xmin/xmax/cid/ctid/infomask,
 *							 null bitmap, t_hoff), so Postgres's own
 *							 visibility, locking and freezing code applies
 *	  body					(depends on tier, see below)
 *
 * The item starts MAXALIGNed and EngramItemHeaderData is 8 bytes, so the
 * tuple header, and therefore the attribute data at t_hoff, stay MAXALIGNed.
 *
 *	  HOT	body = the attribute data exactly as heap stores it.
 *	  WARM	body = EngramWarmBody: raw length + the attribute data compressed
 *				   with lz4 on its own.
 *	  COLD	body = EngramColdRef: where in a COLD chunk page the attribute
 *				   data lives; many rows' data are compressed together there.
 *
 * Moving a body between tiers rewrites only the body part of the item in
 * place (PageIndexTupleOverwrite keeps the line pointer number), together
 * with writing the new body elsewhere if needed: the TID, the row header and
 * therefore every index entry are untouched.
 *
 * COLD chunks (format 0.2, ADR 0010) are items on the DATA page whose rows
 * they hold: a chunk item is an EngramItemHeaderData with ENGRAM_ITEM_CHUNK
 * set (tier HOT), a tuple header that every snapshot sees as an aborted
 * insert (xmin invalid, HEAP_XMIN_INVALID | HEAP_XMAX_INVALID, no
 * attributes), and as body an EngramChunkHeader followed by the compressed
 * concatenation of those rows' attribute data (see tier.h).  A COLD row
 * refers only to a chunk on its own page (EngramColdRef.chunk_off), so a
 * reader never locks a second page and the space a page's rows free by going
 * COLD holds their chunk.  Readers that do not know chunk items see a row
 * version no snapshot can see; VACUUM and CLUSTER skip them by the flag; a
 * chunk item no row of its page refers to any more is removed by the chunk
 * sweep (tier_sweep_chunks).  No index entry ever points at a chunk item.
 *
 * COLD chunk pages (format 0.1) hold one such chunk as their only item.
 * Sequential scans skip them; the FSM never offers them for inserts.  This
 * version still reads them but writes none; a chunk page no row refers to any
 * more is turned back into an empty DATA page by the sweep.
 *
 * PD_ALL_VISIBLE in the standard page header and the core visibility map
 * fork (VM) mean what they mean for heap: every row on the page is visible
 * to every snapshot.  Only VACUUM sets them, every row change clears them,
 * each in the same generic WAL record as the page change (ADR 0012).
 *
 * Readers copy what they need while holding the buffer's content lock and
 * never keep pointers into a shared buffer after releasing it: generic WAL
 * redo on a hot standby rewrites pages under an exclusive lock only (not a
 * cleanup lock), so a reader holding just a pin could see bytes change.
 * A reader that follows a COLD reference keeps the DATA page's share lock
 * while it locks the chunk page (lock order: DATA page, then chunk page).
 *
 * IDENTIFICATION
 *	  src/engram_page.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_PAGE_H
#define ENGRAM_PAGE_H

#include "postgres.h"

#include "access/htup_details.h"
#include "storage/block.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"

#define ENGRAM_PAGE_ID			0xE6A7
#define ENGRAM_FORMAT_VERSION	1

/* page kinds (EngramPageOpaqueData.kind) */
#define ENGRAM_PAGE_DATA		1
#define ENGRAM_PAGE_COLD		2

typedef struct EngramPageOpaqueData
{
	uint16		kind;			/* ENGRAM_PAGE_DATA or ENGRAM_PAGE_COLD */
	uint16		flags;			/* ENGRAM_PAGE_* flags below */
	uint32		chunk_id;		/* COLD: identity of the chunk (never 0) */
	TransactionId prune_xid;	/* DATA: oldest xmax seen that may make rows
								 * removable (a hint for VACUUM), or Invalid */
	uint16		version;		/* ENGRAM_FORMAT_VERSION */
	uint16		page_id;		/* ENGRAM_PAGE_ID; last, as in other AMs */
} EngramPageOpaqueData;

typedef EngramPageOpaqueData *EngramPageOpaque;

/* EngramPageOpaqueData.flags */
#define ENGRAM_PAGE_ALL_FROZEN	0x0001	/* every row's xmin frozen, no xmax */
#define ENGRAM_PAGE_HAS_FREE_LP	0x0002	/* has LP_UNUSED slots to reuse */

#define EngramPageGetOpaque(page) \
	((EngramPageOpaque) PageGetSpecialPointer(page))

/* ---- rows ---- */

/* tiers (EngramItemHeaderData.tier) */
#define ENGRAM_TIER_HOT			0
#define ENGRAM_TIER_WARM		1
#define ENGRAM_TIER_COLD		2
#define ENGRAM_NUM_TIERS		3

typedef struct EngramItemHeaderData
{
	uint8		tier;			/* ENGRAM_TIER_* of the body */
	uint8		flags;			/* ENGRAM_ITEM_* */
	uint16		access_count;	/* reads recorded, saturating at PG_UINT16_MAX */
	uint32		last_access;	/* seconds since the Postgres epoch (2000-01-01)
								 * of the last recorded read; 0 = never */
} EngramItemHeaderData;

typedef EngramItemHeaderData *EngramItemHeader;

/* EngramItemHeaderData.flags */
#define ENGRAM_ITEM_CHUNK		0x01	/* not a row: a COLD chunk of this page */

#define EngramItemIsChunk(item) \
	((((EngramItemHeader) (item))->flags & ENGRAM_ITEM_CHUNK) != 0)

#define SizeOfEngramItemHeader	MAXALIGN(sizeof(EngramItemHeaderData))

StaticAssertDecl(sizeof(EngramItemHeaderData) == 8,
				 "EngramItemHeaderData must stay 8 bytes");

/* the heap-layout tuple header inside an item */
#define EngramItemGetTupleHeader(item) \
	((HeapTupleHeader) ((char *) (item) + SizeOfEngramItemHeader))

/* body of an item: starts at the tuple header's t_hoff */
#define EngramItemGetBody(item) \
	((char *) EngramItemGetTupleHeader(item) + EngramItemGetTupleHeader(item)->t_hoff)
#define EngramItemBodySize(item, itemlen) \
	((Size) (itemlen) - SizeOfEngramItemHeader - EngramItemGetTupleHeader(item)->t_hoff)

/* WARM body: attribute data compressed with lz4 on its own */
typedef struct EngramWarmBody
{
	uint32		raw_len;		/* length of the attribute data */
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* lz4 block */
} EngramWarmBody;

/*
 * COLD body: reference to a chunk.  chunk_off = 0: the chunk is the item of
 * COLD chunk page chunk_blkno (format 0.1); else it is the chunk item at line
 * pointer chunk_off of the row's own page, and chunk_blkno is that page.
 */
typedef struct EngramColdRef
{
	BlockNumber chunk_blkno;	/* page holding the chunk */
	uint32		chunk_id;		/* must equal the chunk's id */
	uint16		index;			/* which body within the chunk */
	uint16		chunk_off;		/* chunk item's line pointer, 0 = chunk page */
	uint32		raw_len;		/* length of the attribute data */
} EngramColdRef;

/*
 * Largest item a DATA page can hold (one item on an empty page).  Rows larger
 * than ENGRAM_TOAST_THRESHOLD are toasted first, as heap does.
 */
#define ENGRAM_MAX_ITEM_SIZE \
	MAXALIGN_DOWN(BLCKSZ - SizeOfPageHeaderData - sizeof(ItemIdData) - \
				  MAXALIGN(sizeof(EngramPageOpaqueData)))

/* FSM: pages with less free space than this are not offered for inserts */
#define ENGRAM_MIN_FREE_FOR_FSM	(SizeOfEngramItemHeader + MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData))

#endif							/* ENGRAM_PAGE_H */
