/*-------------------------------------------------------------------------
 *
 * ann_util.c
 *	  engram_hnsw: quantisation, int8 kernels, page/WAL helpers and the
 *	  generic HNSW layer search shared by build, insert and vacuum.
 *
 * IDENTIFICATION
 *	  src/ann_util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "ann.h"

/* ---------------------------------------------------------------------
 * Kernels.  Plain loops gcc vectorises; the same C compiled a second time
 * with target("avx2") is chosen at run time when the CPU has it.  Both
 * are integer dot products (exact, and associative, so gcc vectorises them
 * at -O2 without -ffast-math: widening multiplies + pmaddwd).  Scans use
 * the query quantised to 13 bits (int16) against the int8 codes.
 * ---------------------------------------------------------------------
 */
#define ANN_LANES 16

#define ANN_DOT_I8_BODY \
	int32		s = 0; \
	int			i; \
	for (i = 0; i < n; i++) \
		s += (int32) a[i] * (int32) b[i]; \
	return s;

/* query (int16, |q| <= ANN_QUERY_QMAX) x codes: exact in int32 up to 4000 dims */
#define ANN_DOT_I16_I8_BODY \
	int32		s = 0; \
	int			i; \
	for (i = 0; i < n; i++) \
		s += (int32) q[i] * (int32) c[i]; \
	return s;

static int32
dot_i8_portable(const int8 *a, const int8 *b, int n)
{
ANN_DOT_I8_BODY
}

static int32
dot_i16_i8_portable(const int16 *q, const int8 *c, int n)
{
ANN_DOT_I16_I8_BODY
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define ANN_HAVE_AVX2 1
__attribute__((target("avx2,fma")))
static int32
dot_i8_avx2(const int8 *a, const int8 *b, int n)
{
ANN_DOT_I8_BODY
}

__attribute__((target("avx2,fma")))
static int32
dot_i16_i8_avx2(const int16 *q, const int8 *c, int n)
{
ANN_DOT_I16_I8_BODY
}
#endif

int32		(*ann_dot_i8) (const int8 *a, const int8 *b, int n) = dot_i8_portable;
int32		(*ann_dot_i16_i8) (const int16 *q, const int8 *c, int n) = dot_i16_i8_portable;

void
ann_kernels_init(void)
{
#ifdef ANN_HAVE_AVX2
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
	{
		ann_dot_i8 = dot_i8_avx2;
		ann_dot_i16_i8 = dot_i16_i8_avx2;
	}
#endif
}

/*
 * Copy v into out as the index sees it: cosine indexes store the unit
 * vector, L2 indexes with a centre store v - centre.  Returns false if the
 * vector cannot be indexed (a zero vector under cosine has no direction;
 * NaN/Inf components neither).  A vector to be indexed whose norm is
 * ANN_MAX_NORM or more is refused with an error: its squared norm would
 * overflow the float the node keeps and its distance bounds become NaN.
 * Queries are not refused (bounds are computed in double and clamped).
 */
bool
ann_prepare_vector(Relation index, int metric, const EngramVector *v,
				   const float *center, bool is_query, float *out)
{
	int			dim = v->dim;
	double		n2 = 0;
	int			i;

	for (i = 0; i < dim; i++)
	{
		if (isnan(v->x[i]) || isinf(v->x[i]))
			return false;
		n2 += (double) v->x[i] * v->x[i];
		out[i] = v->x[i];
	}
	if (!is_query && !(sqrt(n2) < ANN_MAX_NORM))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("vector with norm %g cannot be indexed by engram_hnsw index \"%s\"",
						sqrt(n2), index ? RelationGetRelationName(index) : "?"),
				 errdetail("Vectors in an engram_hnsw index must have a Euclidean norm below %g.",
						   ANN_MAX_NORM),
				 errhint("Scale the vectors down, or keep such rows out of the index with a partial index.")));
	if (metric == ANN_METRIC_COSINE)
	{
		double		norm = sqrt(n2);

		if (norm == 0)
			return false;
		for (i = 0; i < dim; i++)
			out[i] = (float) (out[i] / norm);
	}
	else if (center != NULL)
	{
		for (i = 0; i < dim; i++)
			out[i] = out[i] - center[i];
	}
	return true;
}

/*
 * The centre of an L2 index is stored as int16 codes with one scale; the
 * decoded values are the centre, exactly (any point would do: distances do
 * not depend on it, only how well the codes use their 8 bits).
 * ann_center_encode sets it in *meta and writes the decoded centre to
 * center[].
 */
void
ann_center_encode(const float *x, int dim, AnnMetaPageData *meta, float *center)
{
	float		maxabs = 0;
	int			i;

	for (i = 0; i < dim; i++)
		maxabs = Max(maxabs, fabsf(x[i]));
	meta->center_scale = maxabs / 32767.0f;
	for (i = 0; i < dim; i++)
	{
		int			c = meta->center_scale > 0 ? (int) rintf(x[i] / meta->center_scale) : 0;

		meta->center[i] = (int16) Max(Min(c, 32767), -32767);
	}
	meta->flags |= ANN_META_CENTER;
	if (center)
		for (i = 0; i < dim; i++)
			center[i] = meta->center_scale * (float) meta->center[i];
}

/* the centre of the index as floats (palloc'd), or NULL if it has none */
float *
ann_center_decode(const AnnMetaPageData *meta)
{
	float	   *c;
	int			i;

	if (!(meta->flags & ANN_META_CENTER) || meta->dim <= 0)
		return NULL;
	c = palloc(sizeof(float) * meta->dim);
	for (i = 0; i < meta->dim; i++)
		c[i] = meta->center_scale * (float) meta->center[i];
	return c;
}

/*
 * Symmetric per-vector int8 quantisation: code = rint(x / scale), scale =
 * max|x| / 127.  The residual norm is rounded up a little so that bounds
 * built on it stay bounds after float rounding.
 */
void
ann_quantize(const float *x, int dim, AnnQVec *q)
{
	float		maxabs = 0;
	double		n2 = 0;
	double		r2 = 0;
	float		scale;
	int			i;

	for (i = 0; i < dim; i++)
	{
		float		a = fabsf(x[i]);

		if (a > maxabs)
			maxabs = a;
	}
	scale = maxabs / 127.0f;
	for (i = 0; i < dim; i++)
	{
		int			c = 0;
		double		xh;

		if (scale > 0)
		{
			c = (int) rintf(x[i] / scale);
			if (c > 127)
				c = 127;
			if (c < -127)
				c = -127;
		}
		q->codes[i] = (int8) c;
		xh = (double) scale * c;
		n2 += xh * xh;
		r2 += (x[i] - xh) * (x[i] - xh);
	}
	q->scale = scale;
	q->norm2 = (float) n2;
	/*
	 * Rounded up; the last term covers the rounding of x itself when it was
	 * computed as v - centre in float (at most 2^-24 |x| per component).
	 */
	q->resid = (float) (sqrt(r2) * (1.0 + 1e-6) + 1.2e-7 * sqrt(n2) + 1e-30);
}

/*
 * Quantise a query to int16 with |code| <= ANN_QUERY_QMAX, so that a dot
 * product with int8 codes over up to ANN_MAX_DIM dimensions fits int32:
 * 4095 * 127 * 4000 < 2^31.  Returns the scale; *resid gets |q - scale*q16|
 * rounded up.
 */
float
ann_quantize_query(const float *q, int dim, int16 *q16, double *resid)
{
	float		maxabs = 0;
	float		scale;
	double		r2 = 0;
	int			i;

	for (i = 0; i < dim; i++)
		maxabs = Max(maxabs, fabsf(q[i]));
	scale = maxabs / ANN_QUERY_QMAX;
	for (i = 0; i < dim; i++)
	{
		int			c = scale > 0 ? (int) rintf(q[i] / scale) : 0;
		double		e;

		c = Max(Min(c, ANN_QUERY_QMAX), -ANN_QUERY_QMAX);
		q16[i] = (int16) c;
		e = q[i] - (double) scale * c;
		r2 += e * e;
	}
	/* as in ann_quantize, plus the rounding of q - centre */
	*resid = sqrt(r2) * (1.0 + 1e-6) + 1.2e-7 * maxabs * sqrt((double) dim) + 1e-30;
	return scale;
}

/* approximate distance between two quantised vectors (build and insert) */
float
ann_code_distance(int metric, const AnnQVec *a, const int8 *bcodes,
				  float bscale, float bnorm2, int dim)
{
	float		dot = a->scale * bscale * (float) ann_dot_i8(a->codes, bcodes, dim);

	switch (metric)
	{
		case ANN_METRIC_L2:
			return a->norm2 + bnorm2 - 2 * dot;
		case ANN_METRIC_COSINE:
			return 1.0f - dot;
		default:
			return -dot;
	}
}

/* ---------------------------------------------------------------------
 * Pages and WAL
 * ---------------------------------------------------------------------
 */
void
ann_init_page(Page page, uint16 flags)
{
	AnnPageOpaqueData *op;

	PageInit(page, BLCKSZ, sizeof(AnnPageOpaqueData));
	op = AnnPageGetOpaque(page);
	op->flags = flags;
	op->page_id = ANN_PAGE_ID;
}

void
ann_init_meta(Page page, int dim, int m, int efc, int metric, int max_level)
{
	AnnMetaPageData *meta;

	ann_init_page(page, ANN_PAGE_META);
	meta = AnnPageGetMeta(page);
	memset(meta, 0, sizeof(AnnMetaPageData));
	meta->magic = ANN_MAGIC;
	meta->version = ANN_VERSION;
	meta->dim = dim;
	meta->m = m;
	meta->ef_construction = efc;
	meta->metric = metric;
	meta->max_level = max_level;
	meta->ep_level = -1;
	meta->ep_blkno = InvalidBlockNumber;
	meta->ep_offset = InvalidOffsetNumber;
	meta->insert_blkno = InvalidBlockNumber;
	/* keep the meta data inside pd_lower: FPIs and generic WAL keep it */
	((PageHeader) page)->pd_lower =
		((char *) meta + sizeof(AnnMetaPageData)) - (char *) page;
}

void
ann_read_meta(Relation index, AnnMetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, ANN_METAPAGE_BLKNO);
	Page		page;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	memcpy(meta, AnnPageGetMeta(page), sizeof(AnnMetaPageData));
	UnlockReleaseBuffer(buf);
	ann_check_meta(index, meta);
}

static void
ann_corrupt(Relation index, const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("engram_hnsw index \"%s\" has a corrupt %s",
					RelationGetRelationName(index), what),
			 errdetail_internal("%s", detail),
			 errhint("REINDEX INDEX %s;",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(index)),
												RelationGetRelationName(index)))));
}

/*
 * A meta page this library can use, or an error.  Besides the magic number
 * and the storage version, every field that sizes an array or an offset is
 * checked (a damaged page the buffer manager accepts could otherwise make
 * readers write past a stack array of 2 * ANN_MAX_M links, or read node
 * lists past the end of a page): m, dim, the metric, max_level (nodes of
 * that level must fit a page), the entry point's level and place, and the
 * insert page (never the meta page itself).
 */
void
ann_check_meta(Relation index, const AnnMetaPageData *meta)
{
	const char *problem = NULL;

	if (meta->magic != ANN_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a valid engram_hnsw index",
						RelationGetRelationName(index)),
				 errhint("REINDEX the index.")));
	if (meta->version != ANN_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("engram_hnsw index \"%s\" has storage version %u, this engram needs version %d",
						RelationGetRelationName(index), meta->version, ANN_VERSION),
				 errdetail("Version 2 indexes were built by engram 0.1.0; version 3 (engram 0.2.0) changed how vectors are quantised."),
				 errhint("REINDEX INDEX %s;",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(index)),
													RelationGetRelationName(index)))));
	if (meta->dim < 0 || meta->dim > ANN_MAX_DIM)
		problem = psprintf("dimension %d is outside 0..%d", meta->dim, ANN_MAX_DIM);
	else if (meta->m < ANN_MIN_M || meta->m > ANN_MAX_M)
		problem = psprintf("m = %d is outside %d..%d", meta->m, ANN_MIN_M, ANN_MAX_M);
	else if (meta->ef_construction < ANN_MIN_EFC || meta->ef_construction > ANN_MAX_EFC)
		problem = psprintf("ef_construction = %d is outside %d..%d",
						   meta->ef_construction, ANN_MIN_EFC, ANN_MAX_EFC);
	else if (meta->metric < ANN_METRIC_L2 || meta->metric > ANN_METRIC_IP)
		problem = psprintf("unknown metric %d", meta->metric);
	else if (meta->max_level < 0 || meta->max_level > ANN_MAX_LEVEL)
		problem = psprintf("max_level %d is outside 0..%d", meta->max_level, ANN_MAX_LEVEL);
	else if (meta->ep_level < -1 || meta->ep_level > meta->max_level)
		problem = psprintf("entry point level %d is outside -1..%d (max_level)",
						   meta->ep_level, meta->max_level);
	else if (meta->ep_level >= 0 &&
			 (meta->dim == 0 || meta->ep_blkno == ANN_METAPAGE_BLKNO ||
			  meta->ep_blkno == InvalidBlockNumber ||
			  meta->ep_offset < FirstOffsetNumber))
		problem = psprintf("entry point (%u,%u) of level %d in an index of dimension %d",
						   meta->ep_blkno, meta->ep_offset, meta->ep_level, meta->dim);
	else if (meta->insert_blkno == ANN_METAPAGE_BLKNO)
		problem = pstrdup("the insert page is the meta page");
	else if (meta->dim > 0)
	{
		AnnShape	s;

		s.dim = meta->dim;
		s.m = meta->m;
		if (MAXALIGN(ann_node_size(&s, meta->max_level)) > ANN_MAX_NODE_SIZE)
			problem = psprintf("a node of max_level %d (dimension %d, m = %d) would not fit a page",
							   meta->max_level, meta->dim, meta->m);
	}
	if (problem != NULL)
		ann_corrupt(index, "meta page", problem);
}

void
ann_shape_from_meta(const AnnMetaPageData *meta, AnnShape *s)
{
	s->dim = meta->dim;
	s->m = meta->m;
	s->metric = meta->metric;
	s->max_level = meta->max_level;
}

/* a node page (the special space is ours and says so) */
bool
ann_is_node_page(Page page)
{
	return !PageIsNew(page) &&
		PageGetSpecialSize(page) == MAXALIGN(sizeof(AnnPageOpaqueData)) &&
		(AnnPageGetOpaque(page)->flags & ANN_PAGE_NODE) != 0;
}

/*
 * The node at offset off of page (block blk of index), or NULL if there is
 * none (an offset beyond the page's line pointers, or the meta page, which
 * has no nodes: its data lies before pd_lower, so it seems to have line
 * pointers).  A line pointer that is not LP_NORMAL or whose item does not
 * lie within [pd_upper, pd_special), a node shorter than its header and
 * codes, of a level above the index's max_level or shorter than the lists
 * of its level, is an error (XX002): every reader goes by the node's level
 * to find its lists.  s NULL: the header only.
 */
AnnNodeHeader *
ann_page_node(Relation index, const AnnShape *s, Page page, BlockNumber blk,
			  OffsetNumber off)
{
	PageHeader	ph = (PageHeader) page;
	ItemId		lp;
	Size		len;
	Size		lpoff;
	AnnNodeHeader *node;

	if (blk == ANN_METAPAGE_BLKNO ||
		off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return NULL;
	lp = PageGetItemId(page, off);
	len = ItemIdGetLength(lp);
	lpoff = ItemIdGetOffset(lp);
	if (unlikely(!ItemIdIsNormal(lp) || lpoff < ph->pd_upper ||
				 lpoff + len > ph->pd_special ||
				 len < sizeof(AnnNodeHeader) + (s ? ann_codes_size(s->dim) : 0)))
		ann_corrupt(index, "node",
					psprintf("Line pointer (%u,%u) has flags %u, offset %zu and length %zu; the page's items lie in [%u, %u).",
							 blk, off, ItemIdGetFlags(lp), lpoff, len,
							 ph->pd_upper, ph->pd_special));
	node = (AnnNodeHeader *) PageGetItem(page, lp);
	if (s != NULL &&
		unlikely(node->level > s->max_level || len < ann_node_size(s, node->level)))
		ann_corrupt(index, "node",
					psprintf("Node (%u,%u) has level %u (max_level %d) and length %zu.",
							 blk, off, node->level, s->max_level, len));
	return node;
}

/*
 * Free space map: what the index records for a page is the length of its
 * largest deleted slot (0: none), rounded up to the FSM's next category,
 * so GetPageWithFreeSpace(index, node size) finds a page with a slot at
 * least that long: nodes of higher levels (longer) find the long slots.
 * ep_blk/ep_off: a slot that does not count (the entry point), or invalid.
 */
Size
ann_page_max_slot(Relation index, const AnnShape *s, Page page, BlockNumber blk,
				  BlockNumber ep_blk, OffsetNumber ep_off)
{
	OffsetNumber off;
	OffsetNumber maxoff;
	Size		best = 0;

	if (!ann_is_node_page(page))
		return 0;
	maxoff = PageGetMaxOffsetNumber(page);
	for (off = FirstOffsetNumber; off <= maxoff; off++)
	{
		AnnNodeHeader *node = ann_page_node(index, s, page, blk, off);

		if (node == NULL || !(node->flags & ANN_NODE_DELETED))
			continue;
		if (blk == ep_blk && off == ep_off)
			continue;
		best = Max(best, ItemIdGetLength(PageGetItemId(page, off)));
	}
	return best;
}

void
ann_record_free(Relation index, BlockNumber blk, Size maxslot)
{
	Size		avail = maxslot == 0 ? 0 : Min(maxslot + BLCKSZ / 256 - 1, BLCKSZ - 1);

	RecordPageWithFreeSpace(index, blk, avail);
}

/*
 * Page changes go through this small wrapper: after CREATE INDEX has
 * flushed its in-memory graph it keeps inserting through the same code, but
 * then without WAL (the build ends with log_newpage_range over every page).
 */
void
ann_wal_start(AnnWal *w, Relation index, bool building)
{
	w->index = index;
	w->building = building;
	w->nbuf = 0;
	w->state = building ? NULL : GenericXLogStart(index);
}

Page
ann_wal_register(AnnWal *w, Buffer buf, bool is_new)
{
	Assert(w->nbuf < MAX_GENERIC_XLOG_PAGES);
	w->bufs[w->nbuf++] = buf;
	if (w->building)
		return BufferGetPage(buf);
	return GenericXLogRegisterBuffer(w->state, buf,
									 is_new ? GENERIC_XLOG_FULL_IMAGE : 0);
}

void
ann_wal_finish(AnnWal *w)
{
	if (w->building)
	{
		int			i;

		for (i = 0; i < w->nbuf; i++)
			MarkBufferDirty(w->bufs[i]);
	}
	else
		GenericXLogFinish(w->state);
	w->state = NULL;
	w->nbuf = 0;
}

void
ann_wal_abort(AnnWal *w)
{
	if (w->state)
		GenericXLogAbort(w->state);
	w->state = NULL;
	w->nbuf = 0;
}

/* ---------------------------------------------------------------------
 * Heaps of candidates and the visited set
 * ---------------------------------------------------------------------
 */
void
ann_heap_init(AnnHeap *h, int cap, bool max)
{
	h->cap = Max(cap, 16);
	h->a = palloc(sizeof(AnnCand) * h->cap);
	h->n = 0;
	h->max = max;
}

static inline bool
heap_before(const AnnHeap *h, const AnnCand *x, const AnnCand *y)
{
	if (h->max)
		return x->dist > y->dist || (x->dist == y->dist && x->id > y->id);
	return x->dist < y->dist || (x->dist == y->dist && x->id < y->id);
}

void
ann_heap_push(AnnHeap *h, float dist, AnnId id)
{
	ann_heap_push_b(h, dist, dist, id);
}

/* push a candidate ordered by dist that carries a separate bound */
void
ann_heap_push_b(AnnHeap *h, float dist, float bound, AnnId id)
{
	int			i;

	if (h->n == h->cap)
	{
		h->cap *= 2;
		h->a = repalloc_huge(h->a, sizeof(AnnCand) * h->cap);
	}
	i = h->n++;
	h->a[i].dist = dist;
	h->a[i].bound = bound;
	h->a[i].id = id;
	while (i > 0)
	{
		int			p = (i - 1) / 2;
		AnnCand		t;

		if (!heap_before(h, &h->a[i], &h->a[p]))
			break;
		t = h->a[i];
		h->a[i] = h->a[p];
		h->a[p] = t;
		i = p;
	}
}

AnnCand
ann_heap_pop(AnnHeap *h)
{
	AnnCand		top = h->a[0];
	int			i = 0;

	h->a[0] = h->a[--h->n];
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			b = i;
		AnnCand		t;

		if (l < h->n && heap_before(h, &h->a[l], &h->a[b]))
			b = l;
		if (r < h->n && heap_before(h, &h->a[r], &h->a[b]))
			b = r;
		if (b == i)
			break;
		t = h->a[i];
		h->a[i] = h->a[b];
		h->a[b] = t;
		i = b;
	}
	return top;
}

/* open addressing set of node ids, linear probing, grows at 50% load */
void
ann_visited_init(AnnVisited *v, int expected)
{
	uint32		size = 64;

	while (size < (uint32) expected * 2)
		size <<= 1;
	v->slots = palloc(sizeof(AnnId) * size);
	memset(v->slots, 0xFF, sizeof(AnnId) * size);
	v->mask = size - 1;
	v->n = 0;
	v->dense = NULL;
	v->ndense = 0;
	v->gen = 0;
}

void
ann_visited_reset(AnnVisited *v)
{
	if (v->dense)
	{
		if (++v->gen == 0)
		{
			memset(v->dense, 0, sizeof(uint32) * v->ndense);
			v->gen = 1;
		}
		return;
	}
	if (v->n > 0)
		memset(v->slots, 0xFF, sizeof(AnnId) * (v->mask + 1));
	v->n = 0;
}

/*
 * Switch to (or update) dense mode: ids are small integers below n and the
 * caller provides a zeroed stamp array for them, so resets cost nothing.
 */
void
ann_visited_dense(AnnVisited *v, uint32 *stamps, uint32 n)
{
	if (v->dense == NULL)
		v->gen = 1;
	v->dense = stamps;
	v->ndense = n;
}

static inline uint32
visited_hash(AnnId id)
{
	uint64		h = id * UINT64CONST(0x9E3779B97F4A7C15);

	return (uint32) (h >> 32);
}

bool
ann_visited_add(AnnVisited *v, AnnId id)
{
	uint32		i;

	if (v->dense)
	{
		Assert(id < v->ndense);
		if (v->dense[id] == v->gen)
			return false;
		v->dense[id] = v->gen;
		return true;
	}

	if ((v->n + 1) * 2 > v->mask + 1)
	{
		AnnId	   *old = v->slots;
		uint32		oldsize = v->mask + 1;
		uint32		k;

		v->slots = palloc_extended(sizeof(AnnId) * oldsize * 2, MCXT_ALLOC_HUGE);
		memset(v->slots, 0xFF, sizeof(AnnId) * oldsize * 2);
		v->mask = oldsize * 2 - 1;
		for (k = 0; k < oldsize; k++)
		{
			if (old[k] == ANN_INVALID_ID)
				continue;
			i = visited_hash(old[k]) & v->mask;
			while (v->slots[i] != ANN_INVALID_ID)
				i = (i + 1) & v->mask;
			v->slots[i] = old[k];
		}
		pfree(old);
	}
	i = visited_hash(id) & v->mask;
	while (v->slots[i] != ANN_INVALID_ID)
	{
		if (v->slots[i] == id)
			return false;
		i = (i + 1) & v->mask;
	}
	v->slots[i] = id;
	v->n++;
	return true;
}

/* ---------------------------------------------------------------------
 * HNSW
 * ---------------------------------------------------------------------
 */

/*
 * Best-first search of one layer (HNSW "SEARCH-LAYER").  entry[] are the
 * starting points with their distances; the ef nearest non-deleted nodes
 * found are written to out[] in ascending distance; returns their count.
 * Deleted nodes are walked through but never returned.
 */
int
ann_search_layer(const AnnGraphOps *ops, void *ctx, AnnCand *entry,
				 int nentry, int ef, int level, int maxnb,
				 AnnVisited *visited, AnnCand *out)
{
	AnnHeap		cand;
	AnnHeap		res;
	AnnId	   *nb = palloc(sizeof(AnnId) * maxnb);
	int			i;
	int			n;
	int			m;

	ann_heap_init(&cand, ef * 4, false);
	ann_heap_init(&res, ef + 1, true);
	for (i = 0; i < nentry; i++)
	{
		bool		deleted = false;
		float		d;

		if (!ann_visited_add(visited, entry[i].id))
			continue;
		/* recompute: tells us whether the entry has been deleted since */
		d = ops->distance(ctx, entry[i].id, &deleted);
		ann_heap_push(&cand, d, entry[i].id);
		if (!deleted)
			ann_heap_push(&res, d, entry[i].id);
	}
	while (cand.n > 0)
	{
		AnnCand		c = ann_heap_pop(&cand);
		int			k;

		if (res.n >= ef && c.dist > ann_heap_top(&res)->dist)
			break;
		CHECK_FOR_INTERRUPTS();
		n = ops->neighbors(ctx, c.id, level, nb);
		/* keep the unvisited ones, and have their data fetched meanwhile */
		for (k = 0, m = 0; k < n; k++)
		{
			if (ann_visited_add(visited, nb[k]))
			{
				nb[m++] = nb[k];
				if (ops->prefetch)
					ops->prefetch(ctx, nb[k]);
			}
		}
		for (k = 0; k < m; k++)
		{
			float		d;
			bool		deleted = false;

			d = ops->distance(ctx, nb[k], &deleted);
			if (res.n < ef || d < ann_heap_top(&res)->dist)
			{
				ann_heap_push(&cand, d, nb[k]);
				if (!deleted)
				{
					ann_heap_push(&res, d, nb[k]);
					if (res.n > ef)
						(void) ann_heap_pop(&res);
				}
			}
		}
	}
	n = res.n;
	for (i = n - 1; i >= 0; i--)
		out[i] = ann_heap_pop(&res);
	pfree(cand.a);
	pfree(res.a);
	pfree(nb);
	return n;
}

/*
 * HNSW neighbour-selection heuristic: walk the candidates nearest first and
 * keep one only if it is nearer to the base than to every neighbour kept so
 * far, which keeps links pointing in diverse directions.  cand[] must be in
 * ascending distance.  Returns the number written to out[] (at most m).
 */
int
ann_select_neighbors(AnnCand *cand, int ncand, int m,
					 float (*pairdist) (void *ctx, AnnId a, AnnId b),
					 void *ctx, AnnCand *out)
{
	int			nout = 0;
	int			i;

	for (i = 0; i < ncand && nout < m; i++)
	{
		bool		good = true;
		int			k;

		for (k = 0; k < nout; k++)
		{
			if (pairdist(ctx, cand[i].id, out[k].id) < cand[i].dist)
			{
				good = false;
				break;
			}
		}
		if (good)
			out[nout++] = cand[i];
	}
	return nout;
}

int
ann_random_level(pg_prng_state *rng, int m, int max_level)
{
	double		ml = 1.0 / log((double) m);
	double		u = pg_prng_double(rng);
	int			level;

	if (u <= 0)
		u = 1e-12;
	level = (int) floor(-log(u) * ml);
	return Min(level, max_level);
}
