/*-------------------------------------------------------------------------
 *
 * memory_text.c
 *	  engram memory API: the keys of recall's text index and the probes of
 *	  its buckets, for top-k text ranking that stops early.
 *
 * A text cue of one lexeme (websearch_to_tsquery gives 'coffe' for
 * "coffee") ranks the memories that contain it by ts_rank(content_tsv, q).
 * With the default weights and no normalisation that rank depends only on
 * the positions of the lexeme in content_tsv: their count, and their
 * weights.  content_tsv is to_tsvector(content), so every position has
 * weight D and the rank is a strictly increasing function of the count
 * (ts_rank's calc_rank_or: the sum of 0.1 / i^2 over i = 1..count, over
 * pi^2/6).  Reading the memories in rank order is then reading them by
 * count, highest first.
 *
 * engram._text_keys(space, content_tsv) gives, for each lexeme of a
 * memory, the key "NN:<length of space>:<space><lexeme>" where NN is the
 * count of its positions (01..15, 16 for 16 or more), or "**" for NN when
 * a position has a weight other than D or the lexeme has no positions (a
 * tsvector not made by to_tsvector; its rank is not a function of the
 * count).  The space is in the key so that a bucket holds the memories of
 * one space only: a small space is not slowed by the buckets of a large
 * one.  The GIN index memory_text_keys_idx on that expression (core GIN:
 * core WAL records, replayed by any standby) holds one entry per lexeme and
 * memory, as the GIN index on content_tsv does.
 *
 * recall (memory_recall.c, read_text_buckets) probes the buckets of the
 * cue's lexeme in the space from 16 down to 01 -- each probe is a bitmap
 * scan of one key -- and reads each bucket's rows through the candidate
 * statement restricted to the bucket's TIDs (ctid = ANY, a TID scan), as
 * the calling user, so row-level security, visibility and every filter
 * apply as in the full statement.  Index entries always describe the row
 * version at their TID (VACUUM removes them before a TID is used again, as
 * for every index), so the visible rows read are exactly the matching rows
 * of the bucket.  All rows of a bucket below the top one have the same
 * rank, memory_text_bucket_rank (ts_rank of a tsvector holding the lexeme
 * that many times), so they are read in id order without reading their
 * tsvectors; the top bucket's rows are ranked by ts_rank.  Consecutive
 * buckets have strictly decreasing ranks, so the buckets read in turn give
 * the list of ORDER BY ts_rank DESC, id -- the same rows in the same order
 * as the full statement -- and recall's early stop ends the reading after
 * the few buckets that can still reach the k best.
 *
 * Any "**" row of the lexeme, a lossy bitmap page, a cue of several
 * lexemes, a prefix or a weight restriction, or no such index: recall
 * runs the full statement instead (the same result, more slowly).
 *
 * IDENTIFICATION
 *	  src/memory_text.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "tsearch/ts_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "nodes/primnodes.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "lib/stringinfo.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "memory.h"

/* GIN array_ops strategy of @> (ginarrayproc.c) */
#define TEXT_GIN_CONTAINS_STRATEGY 2

/* "NN:<length of space>:<space><lexeme>", bucket 0 as "**" */
static text *
text_key(int bucket, const char *space, int spacelen, const char *lexeme, int len)
{
	char		prefix[32];
	int			plen;
	text	   *t;

	if (bucket <= 0)
		plen = snprintf(prefix, sizeof(prefix), "**:%d:", spacelen);
	else
		plen = snprintf(prefix, sizeof(prefix), "%02d:%d:", bucket, spacelen);
	t = (text *) palloc(VARHDRSZ + plen + spacelen + len);
	SET_VARSIZE(t, VARHDRSZ + plen + spacelen + len);
	memcpy(VARDATA(t), prefix, plen);
	memcpy(VARDATA(t) + plen, space, spacelen);
	memcpy(VARDATA(t) + plen + spacelen, lexeme, len);
	return t;
}

/*
 * engram._text_keys(space, tsvector) -> text[]: the bucket key of every
 * lexeme (see the file header).  IMMUTABLE: a function of its arguments
 * only.
 */
PG_FUNCTION_INFO_V1(engram_text_keys);
Datum
engram_text_keys(PG_FUNCTION_ARGS)
{
	text	   *space = PG_GETARG_TEXT_PP(0);
	TSVector	tsv = PG_GETARG_TSVECTOR(1);
	WordEntry  *we = ARRPTR(tsv);
	char	   *lexemes = STRPTR(tsv);
	Datum	   *keys;
	ArrayType  *result;

	if (tsv->size == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	keys = palloc(sizeof(Datum) * tsv->size);
	for (int i = 0; i < tsv->size; i++)
	{
		int			bucket = 0;

		if (we[i].haspos)
		{
			int			npos = POSDATALEN(tsv, &we[i]);
			WordEntryPos *pos = POSDATAPTR(tsv, &we[i]);

			bucket = Min(npos, MEMORY_TEXT_TOP_BUCKET);
			for (int j = 0; j < npos; j++)
				if (WEP_GETWEIGHT(pos[j]) != 0)	/* 0 is D */
				{
					bucket = 0;
					break;
				}
			if (npos == 0)
				bucket = 0;
		}
		keys[i] = PointerGetDatum(text_key(bucket, VARDATA_ANY(space), VARSIZE_ANY_EXHDR(space),
										   lexemes + we[i].pos, we[i].len));
	}
	result = construct_array(keys, tsv->size, TEXTOID, -1, false, TYPALIGN_INT);
	PG_FREE_IF_COPY(tsv, 1);
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * The lexeme of a query that is one plain lexeme (no prefix match, no
 * weight restriction), or NULL.
 */
char *
memory_text_single_lexeme(TSQuery query, int *len)
{
	QueryItem  *item;

	if (query->size != 1)
		return NULL;
	item = GETQUERY(query);
	if (item->type != QI_VAL || item->qoperand.prefix || item->qoperand.weight != 0)
		return NULL;
	*len = item->qoperand.length;
	return GETOPERAND(query) + item->qoperand.distance;
}

/* text[] of one element: the bucket's key */
static Datum
memory_text_key_array(int bucket, const char *space, const char *lexeme, int len)
{
	Datum		d = PointerGetDatum(text_key(bucket, space, strlen(space), lexeme, len));

	return PointerGetDatum(construct_array(&d, 1, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * ts_rank(content_tsv, query) of every memory in a bucket below the top
 * one: ts_rank itself, of a tsvector holding the lexeme at positions 1..n
 * (weight D), so that the value is ts_rank's to the bit.
 */
float4
memory_text_bucket_rank(TSQuery query, int npos, const char *lexeme, int len)
{
	StringInfoData b;
	Datum		tsv;

	initStringInfo(&b);
	appendStringInfoChar(&b, '\'');
	for (int i = 0; i < len; i++)
	{
		if (lexeme[i] == '\'' || lexeme[i] == '\\')
			appendStringInfoChar(&b, lexeme[i]);
		appendStringInfoChar(&b, lexeme[i]);
	}
	appendStringInfoString(&b, "\':");
	for (int i = 1; i <= npos; i++)
		appendStringInfo(&b, i > 1 ? ",%d" : "%d", i);
	tsv = DirectFunctionCall1(tsvectorin, CStringGetDatum(b.data));
	return DatumGetFloat4(DirectFunctionCall2(ts_rank_tt, tsv, PointerGetDatum(query)));
}

/*
 * The text index of relation rel, opened (AccessShareLock): a
 * valid GIN index named memory_text_keys_idx in its schema, on rel, of
 * the one expression _text_keys(space, content_tsv) of that schema with
 * the array_ops operator family and the default collation, no predicate.  Anything else -- dropped,
 * renamed, rebuilt on another expression or operator class -- is not used
 * (NULL): recall then reads the full statement.
 */
Relation
memory_text_index(Relation rel)
{
	Oid			nsp = RelationGetNamespace(rel);
	Oid			idx = get_relname_relid("memory_text_keys_idx", nsp);
	HeapTuple	tup;
	bool		ok = false;
	Relation	irel;
	List	   *exprs;
	FuncExpr   *fe;
	AttrNumber	spaceatt = get_attnum(RelationGetRelid(rel), "space");
	AttrNumber	tsvatt = get_attnum(RelationGetRelid(rel), "content_tsv");

	if (!OidIsValid(idx) || get_rel_relkind(idx) != RELKIND_INDEX ||
		spaceatt == InvalidAttrNumber || tsvatt == InvalidAttrNumber)
		return NULL;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(idx));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_index ix = (Form_pg_index) GETSTRUCT(tup);

		ok = ix->indrelid == RelationGetRelid(rel) && ix->indisvalid && ix->indisready &&
			ix->indnatts == 1 && ix->indkey.values[0] == 0 &&
			heap_attisnull(tup, Anum_pg_index_indpred, NULL);
		ReleaseSysCache(tup);
	}
	if (!ok)
		return NULL;
	irel = index_open(idx, AccessShareLock);
	/*
	 * GIN compares keys with the index column's collation: only the
	 * default one (a nondeterministic collation could make different keys
	 * equal, and the bucket statements do not re-check the key).
	 */
	ok = irel->rd_rel->relam == GIN_AM_OID &&
		irel->rd_indcollation[0] == DEFAULT_COLLATION_OID &&
		irel->rd_opfamily[0] == get_opfamily_oid(GIN_AM_OID,
												  list_make2(makeString("pg_catalog"),
															 makeString("array_ops")), true);
	exprs = ok ? RelationGetIndexExpressions(irel) : NIL;
	if (ok && list_length(exprs) == 1 && IsA(linitial(exprs), FuncExpr))
	{
		fe = (FuncExpr *) linitial(exprs);
		ok = list_length(fe->args) == 2 &&
			IsA(linitial(fe->args), Var) && ((Var *) linitial(fe->args))->varattno == spaceatt &&
			IsA(lsecond(fe->args), Var) && ((Var *) lsecond(fe->args))->varattno == tsvatt &&
			get_func_namespace(fe->funcid) == nsp;
		if (ok)
		{
			char	   *name = get_func_name(fe->funcid);

			ok = name != NULL && strcmp(name, "_text_keys") == 0;
		}
	}
	else
		ok = false;
	if (!ok)
	{
		index_close(irel, AccessShareLock);
		return NULL;
	}
	return irel;
}

/*
 * The TIDs of the index entries of one bucket key, as a tid[] Datum, and
 * their count in *ntids.  Returns false when the bitmap went lossy (pages
 * without their TIDs): the caller then reads the full statement.
 */
bool
memory_text_bucket_tids(Relation index, int bucket, const char *space,
						const char *lexeme, int len, Datum *tids, int *ntids)
{
	TIDBitmap  *tbm = tbm_create(work_mem * 1024L, NULL);
	IndexScanDesc scan;
	ScanKeyData key;
	TBMIterator *it;
	TBMIterateResult *res;
	ItemPointerData *items = NULL;
	int			n = 0,
				cap = 0;
	bool		exact = true;

	ScanKeyInit(&key, 1, TEXT_GIN_CONTAINS_STRATEGY, F_ARRAYCONTAINS,
				memory_text_key_array(bucket, space, lexeme, len));
	scan = index_beginscan_bitmap(index, GetActiveSnapshot(), 1);
	index_rescan(scan, &key, 1, NULL, 0);
	(void) index_getbitmap(scan, tbm);
	index_endscan(scan);

	it = tbm_begin_iterate(tbm);
	while ((res = tbm_iterate(it)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		if (res->ntuples < 0)
		{
			exact = false;
			break;
		}
		if (n + res->ntuples > cap)
		{
			cap = Max(cap * 2, n + res->ntuples + 64);
			items = items ? repalloc(items, sizeof(ItemPointerData) * cap) :
				palloc(sizeof(ItemPointerData) * cap);
		}
		/* (ItemPointerSet evaluates its pointer more than once) */
		for (int i = 0; i < res->ntuples; i++, n++)
			ItemPointerSet(&items[n], res->blockno, res->offsets[i]);
	}
	tbm_end_iterate(it);
	tbm_free(tbm);
	*ntids = n;
	if (!exact)
	{
		if (items)
			pfree(items);
		return false;
	}
	if (n > 0)
	{
		Datum	   *elems = palloc(sizeof(Datum) * n);

		for (int i = 0; i < n; i++)
			elems[i] = PointerGetDatum(&items[i]);
		*tids = PointerGetDatum(construct_array(elems, n, TIDOID, sizeof(ItemPointerData),
												false, TYPALIGN_SHORT));
		pfree(elems);
		pfree(items);
	}
	else
		*tids = (Datum) 0;
	return true;
}
