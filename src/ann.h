/*-------------------------------------------------------------------------
 *
 * ann.h
 *	  engram_hnsw: approximate nearest-neighbour index access method for
 *	  engram.vector (a graph index, HNSW).
 *
 * Storage format (all pages are standard pages with an AnnPageOpaque in the
 * special space):
 *
 *	block 0		meta page: AnnMetaPageData after the page header (pd_lower
 *				covers it, so generic WAL and full-page images keep it).
 *	block 1..	node pages: one item per indexed heap tuple, an AnnNode:
 *
 *		AnnNodeHeader | int8 codes[dim] (padded to 2) |
 *		for level 0..node level: uint16 count, ItemPointerData nb[cap]
 *
 *	where cap is 2*m on level 0 and m above.  A node's size depends only on
 *	(dim, m, level), so neighbour lists are rewritten in place.
 *
 * The graph carries only an 8-bit, per-vector scalar-quantised copy of each
 * vector (x ~ scale * code, code in -127..127) plus the exact norm of the
 * residual |x - scale*code|.  Scans compute, for each node, a LOWER BOUND of
 * the exact distance from the query and hand it to the executor with
 * xs_recheckorderby, so the executor recomputes the exact distance from the
 * table's own vector and reorders: the rows returned are in exact distance
 * order (see ann_scan.c).  Full-precision vectors are never stored in the
 * index.
 *
 * L2 indexes quantise x - c, where c (the "centre", in the meta page) is
 * the mean of the first vectors the build saw, or the first vector
 * inserted into an empty index: L2 distances do not change under a
 * translation, and the codes then spend their 8 bits on the spread of the
 * data instead of on its offset from the origin.  Cosine and inner-product
 * indexes have no centre.  Scans navigate the graph by the quantised
 * distance (an estimate) and hand the executor a lower bound.
 *
 * Deleted nodes (VACUUM) keep their place and links so concurrent scans can
 * still walk through them; they are never returned and never linked to
 * again.  VACUUM records every page holding deleted nodes in the index's
 * free space map, as the length of its largest deleted slot
 * (RecordPageWithFreeSpace); an insert asks it for a page with a slot at
 * least as long as its node (GetPageWithFreeSpace) and overwrites the
 * smallest such slot before growing the index.  While a VACUUM runs
 * (ANN_META_VACUUMING) no slot is reused, and the entry point's slot never.
 *
 * Readers trust no page: ann_check_meta checks the meta page's geometry
 * and ann_page_node every node's line pointer, level and length before
 * its lists are used (XX002 otherwise).
 *
 * Storage version 3 (engram 0.2.0): centre, no reuse list in the meta
 * page.  Version 2 indexes (engram 0.1.0) are refused with a request to
 * REINDEX.
 *
 * IDENTIFICATION
 *	  src/ann.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGRAM_ANN_H
#define ENGRAM_ANN_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/itup.h"
#include "common/pg_prng.h"
#include "nodes/pathnodes.h"
#include "storage/bufmgr.h"
#include "utils/relcache.h"

#include "vector.h"

#define ANN_MAGIC			0x454E4857	/* "ENHW" */
#define ANN_VERSION			3	/* storage version; 2 = engram 0.1.0 */
#define ANN_PAGE_ID			0xE4A7
#define ANN_METAPAGE_BLKNO	0

/*
 * Largest dimension an index accepts.  A level-0 node of 4000 dims with
 * m = 16 takes about 4.2 kB, so it and a few upper levels fit a page.
 */
#define ANN_MAX_DIM			4000
#define ANN_MAX_LEVEL		15
#define ANN_QUERY_QMAX		4095	/* 4095 * 127 * ANN_MAX_DIM < 2^31 */
#define ANN_CENTER_SAMPLE	1000	/* build: vectors averaged for the centre */
#define ANN_MAX_NORM		1e18	/* larger vectors are refused: float overflow */
#define ANN_INSERT_LOCK		0	/* page lock inserts hold, VACUUM waits for */
#define ANN_MIN_UPPER_LEVELS 3

#define ANN_DEFAULT_M		16
#define ANN_MIN_M			2
#define ANN_MAX_M			64
#define ANN_DEFAULT_EFC		64
#define ANN_MIN_EFC			4
#define ANN_MAX_EFC			1000

/* support procedures */
#define ANN_DISTANCE_PROC	1	/* the ORDER BY operator's function */
#define ANN_METRIC_PROC		2	/* returns the AnnMetric of the opclass */
#define ANN_NPROCS			2
#define ANN_ORDER_STRATEGY	1

/* progress sub-phases (PROGRESS_CREATEIDX_SUBPHASE) */
#define ANN_PHASE_LOAD		2
#define ANN_PHASE_WRITE		3

typedef enum AnnMetric
{
	ANN_METRIC_L2 = 1,
	ANN_METRIC_COSINE = 2,
	ANN_METRIC_IP = 3
} AnnMetric;

typedef struct AnnOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			m;
	int			ef_construction;
} AnnOptions;

/* page special space */
#define ANN_PAGE_META	0x0001
#define ANN_PAGE_NODE	0x0002

typedef struct AnnPageOpaqueData
{
	uint16		flags;
	uint16		page_id;		/* ANN_PAGE_ID, for pg_filedump & friends */
} AnnPageOpaqueData;

#define AnnPageGetOpaque(page) ((AnnPageOpaqueData *) PageGetSpecialPointer(page))

typedef struct AnnMetaPageData
{
	uint32		magic;
	uint32		version;
	int32		dim;			/* 0 until the first vector is indexed */
	int16		m;
	int16		ef_construction;
	int16		metric;			/* AnnMetric */
	int16		max_level;		/* highest level a node may get */
	int16		ep_level;		/* -1: empty graph */
	OffsetNumber ep_offset;
	BlockNumber ep_blkno;
	BlockNumber insert_blkno;	/* page new nodes go to first */
	uint16		flags;			/* ANN_META_* */
	uint16		build_workers;	/* parallel workers CREATE INDEX used (0: none) */
	float		center_scale;	/* centre[i] = center_scale * center[i] */
	int16		center[ANN_MAX_DIM];	/* dim entries used, ANN_META_CENTER */
} AnnMetaPageData;

/* meta page flags */
#define ANN_META_CENTER		0x0001	/* L2: codes are of x - centre */
#define ANN_META_VACUUMING	0x0002	/* a VACUUM runs (or died): no slot reuse */

#define AnnPageGetMeta(page) ((AnnMetaPageData *) PageGetContents(page))

/* node flags */
#define ANN_NODE_DELETED	0x01

typedef struct AnnNodeHeader
{
	uint8		flags;
	uint8		level;
	uint16		unused;
	ItemPointerData heaptid;
	uint16		pad;
	float		scale;			/* x ~ scale * code */
	float		norm2;			/* |scale * code|^2 */
	float		resid;			/* |x - scale * code| (rounded up) */
} AnnNodeHeader;

/* node ids: a node's TID packed as (block << 16) | offset */
typedef uint64 AnnId;
#define ANN_INVALID_ID		UINT64_MAX
#define AnnIdMake(blk, off)	(((uint64) (blk) << 16) | (uint64) (off))
#define AnnIdBlock(id)		((BlockNumber) ((id) >> 16))
#define AnnIdOffset(id)		((OffsetNumber) ((id) & 0xFFFF))

/* quantised vector, in memory */
typedef struct AnnQVec
{
	float		scale;
	float		norm2;
	float		resid;
	int8	   *codes;
} AnnQVec;

/* geometry of nodes for one index */
typedef struct AnnShape
{
	int			dim;
	int			m;
	int			metric;
	int			max_level;
} AnnShape;

static inline int
ann_level_cap(const AnnShape *s, int level)
{
	return level == 0 ? 2 * s->m : s->m;
}

static inline Size
ann_codes_size(int dim)
{
	return (Size) ((dim + 1) & ~1);
}

static inline Size
ann_level_offset(const AnnShape *s, int level)
{
	Size		off = sizeof(AnnNodeHeader) + ann_codes_size(s->dim);

	if (level > 0)
		off += sizeof(uint16) + sizeof(ItemPointerData) * 2 * s->m +
			(Size) (level - 1) * (sizeof(uint16) + sizeof(ItemPointerData) * s->m);
	return off;
}

static inline Size
ann_node_size(const AnnShape *s, int level)
{
	return ann_level_offset(s, level + 1);
}

#define AnnNodeCodes(node)	((int8 *) ((char *) (node) + sizeof(AnnNodeHeader)))
#define AnnNodeCount(s, node, l) \
	((uint16 *) ((char *) (node) + ann_level_offset((s), (l))))
#define AnnNodeNeighbors(s, node, l) \
	((ItemPointerData *) ((char *) (node) + ann_level_offset((s), (l)) + sizeof(uint16)))

#define ANN_MAX_NODE_SIZE \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - sizeof(ItemIdData) - \
	 MAXALIGN(sizeof(AnnPageOpaqueData)))

/* GUCs (ann.c) */
extern int	ann_ef_search;
extern int	ann_max_scan_tuples;
extern bool ann_strict_order;

/* ann.c */
extern int	ann_get_metric(Relation index);
extern void ann_get_options(Relation index, int *m, int *efc);
extern int	ann_compute_max_level(int dim, int m);
extern void ann_check_dim(Relation index, int dim, int index_dim);

/* ann_util.c: quantisation and kernels */
extern bool ann_prepare_vector(Relation index, int metric, const EngramVector *v,
							   const float *center, bool is_query, float *out);
extern void ann_center_encode(const float *x, int dim, AnnMetaPageData *meta,
							  float *center);
extern float *ann_center_decode(const AnnMetaPageData *meta);
extern void ann_quantize(const float *x, int dim, AnnQVec *q);
extern int32 (*ann_dot_i8) (const int8 *a, const int8 *b, int n);
extern int32 (*ann_dot_i16_i8) (const int16 *q, const int8 *c, int n);
extern float ann_quantize_query(const float *q, int dim, int16 *q16, double *resid);
extern void ann_kernels_init(void);
extern float ann_code_distance(int metric, const AnnQVec *a, const int8 *bcodes,
							   float bscale, float bnorm2, int dim);

/* ann_util.c: pages and WAL */
typedef struct AnnWal
{
	Relation	index;
	bool		building;		/* no WAL: the build logs all pages at the end */
	GenericXLogState *state;
	int			nbuf;
	Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
} AnnWal;

extern void ann_wal_start(AnnWal *w, Relation index, bool building);
extern Page ann_wal_register(AnnWal *w, Buffer buf, bool is_new);
extern void ann_wal_finish(AnnWal *w);
extern void ann_wal_abort(AnnWal *w);
extern void ann_init_page(Page page, uint16 flags);
extern void ann_init_meta(Page page, int dim, int m, int efc, int metric, int max_level);
extern void ann_read_meta(Relation index, AnnMetaPageData *meta);
extern void ann_check_meta(Relation index, const AnnMetaPageData *meta);
extern void ann_shape_from_meta(const AnnMetaPageData *meta, AnnShape *s);
extern bool ann_is_node_page(Page page);
extern AnnNodeHeader *ann_page_node(Relation index, const AnnShape *s, Page page,
									BlockNumber blk, OffsetNumber off);
extern Size ann_page_max_slot(Relation index, const AnnShape *s, Page page,
							  BlockNumber blk, BlockNumber ep_blk,
							  OffsetNumber ep_off);
extern void ann_record_free(Relation index, BlockNumber blk, Size maxslot);

/* ann_util.c: generic HNSW search over a graph given by callbacks */
typedef struct AnnCand
{
	float		dist;
	float		bound;			/* scans: lower bound of the exact distance */
	AnnId		id;
} AnnCand;

typedef struct AnnHeap
{
	AnnCand    *a;
	int			n;
	int			cap;
	bool		max;			/* max-heap when true */
} AnnHeap;

extern void ann_heap_init(AnnHeap *h, int cap, bool max);
extern void ann_heap_push(AnnHeap *h, float dist, AnnId id);
extern void ann_heap_push_b(AnnHeap *h, float dist, float bound, AnnId id);
extern AnnCand ann_heap_pop(AnnHeap *h);
static inline AnnCand *
ann_heap_top(AnnHeap *h)
{
	return h->n > 0 ? &h->a[0] : NULL;
}

typedef struct AnnVisited
{
	AnnId	   *slots;
	uint32		mask;
	uint32		n;
	/* dense mode (in-memory build, ids 0..ndense-1): generation stamps */
	uint32	   *dense;
	uint32		ndense;
	uint32		gen;
} AnnVisited;

extern void ann_visited_init(AnnVisited *v, int expected);
extern bool ann_visited_add(AnnVisited *v, AnnId id);	/* true if new */
extern void ann_visited_reset(AnnVisited *v);
extern void ann_visited_dense(AnnVisited *v, uint32 *stamps, uint32 n);

typedef struct AnnGraphOps
{
	/* neighbours of id on level into out (capacity 2*m); returns count */
	int			(*neighbors) (void *ctx, AnnId id, int level, AnnId *out);
	/* distance from the query to id; *deleted set if the node is deleted */
	float		(*distance) (void *ctx, AnnId id, bool *deleted);
	/* optional: start fetching id's data, its distance is wanted soon */
	void		(*prefetch) (void *ctx, AnnId id);
} AnnGraphOps;

extern int	ann_search_layer(const AnnGraphOps *ops, void *ctx, AnnCand *entry,
							 int nentry, int ef, int level, int maxnb,
							 AnnVisited *visited, AnnCand *out);
extern int	ann_select_neighbors(AnnCand *cand, int ncand, int m,
								 float (*pairdist) (void *ctx, AnnId a, AnnId b),
								 void *ctx, AnnCand *out);
extern int	ann_random_level(pg_prng_state *rng, int m, int max_level);

/* ann_insert.c: on-disk graph */

/*
 * Keeps the last few pages it read pinned (a small direct-mapped cache by
 * block number), so walking the graph re-reads hot pages - the upper
 * levels, the entry point's neighbourhood - without a buffer lookup.
 */
#define ANN_READER_SLOTS 6

typedef struct AnnReader
{
	Relation	index;
	AnnShape	shape;
	Buffer		buf;			/* the buffer locked by ann_reader_lock */
	BlockNumber blk;
	BlockNumber slot_blk[ANN_READER_SLOTS];
	Buffer		slot_buf[ANN_READER_SLOTS];
} AnnReader;

/*
 * Buffer each block of an index was last found in (not pinned), kept in
 * the index's rd_amcache, for ReadRecentBuffer.  The relcache may free
 * rd_amcache whenever invalidations are processed, so callers fetch it
 * again with ann_recent() before each use instead of keeping the pointer.
 */
typedef struct AnnRecent
{
	BlockNumber n;
	Buffer		buf[FLEXIBLE_ARRAY_MEMBER];
} AnnRecent;

static inline AnnRecent *
ann_recent(Relation index)
{
	return (AnnRecent *) index->rd_amcache;
}

extern Buffer ann_reader_pin(AnnReader *r, BlockNumber blk);

extern void ann_reader_init(AnnReader *r, Relation index, const AnnShape *s);
extern Page ann_reader_lock(AnnReader *r, BlockNumber blk);
extern void ann_reader_unlock(AnnReader *r);
extern void ann_reader_done(AnnReader *r);
extern int	ann_node_neighbors(const AnnShape *s, AnnNodeHeader *node, int level,
							   AnnId *out);
extern void ann_form_node(const AnnShape *s, char *dst, const AnnQVec *q,
						  int level, ItemPointer heaptid, AnnId **nb, int *nnb);

typedef struct AnnDiskNode
{
	AnnId		id;
	int			level;
	uint8		flags;
	ItemPointerData heaptid;
	AnnQVec		q;
} AnnDiskNode;

extern bool ann_read_node(Relation index, const AnnShape *s, AnnId id,
						  AnnDiskNode *out, int8 *codes);
extern void ann_insert_vector(Relation index, const EngramVector *v,
							  ItemPointer heaptid, bool building,
							  pg_prng_state *rng);
extern int	ann_disk_search(Relation index, const AnnShape *s, const AnnQVec *q,
							int level, int ef, AnnCand *out);
extern void ann_add_backlink(Relation index, const AnnShape *s, AnnId e,
							 int level, AnnId newid, const AnnQVec *newq);
extern bool ann_aminsert(Relation index, Datum *values, bool *isnull,
						 ItemPointer ht_ctid, Relation heapRel,
						 IndexUniqueCheck checkUnique, bool indexUnchanged,
						 struct IndexInfo *indexInfo);

/* ann_build.c */
extern IndexBuildResult *ann_ambuild(Relation heap, Relation index,
									 struct IndexInfo *indexInfo);
extern void ann_ambuildempty(Relation index);

/* ann_scan.c */
extern IndexScanDesc ann_ambeginscan(Relation index, int nkeys, int norderbys);
extern void ann_amrescan(IndexScanDesc scan, ScanKey keys, int nkeys,
						 ScanKey orderbys, int norderbys);
extern bool ann_amgettuple(IndexScanDesc scan, ScanDirection dir);
extern void ann_amendscan(IndexScanDesc scan);

/* ann_vacuum.c */
extern IndexBulkDeleteResult *ann_ambulkdelete(IndexVacuumInfo *info,
											   IndexBulkDeleteResult *stats,
											   IndexBulkDeleteCallback callback,
											   void *callback_state);
extern IndexBulkDeleteResult *ann_amvacuumcleanup(IndexVacuumInfo *info,
												  IndexBulkDeleteResult *stats);

#endif							/* ENGRAM_ANN_H */
