
-- engram_hnsw: approximate nearest-neighbour index for engram.vector ------
--
--   CREATE INDEX ON t USING engram_hnsw (embedding engram.vector_cosine_ops)
--	   WITH (m = 16, ef_construction = 64);
--   SET engram.ef_search = 40;
--   SELECT ... ORDER BY embedding <=> $1 LIMIT 10;
--
-- Operator classes: vector_cosine_ops (<=>, the default), vector_l2_ops (<->),
-- vector_ip_ops (<#>).  Support function 1 is the distance function of the
-- ORDER BY operator, support function 2 names the metric to the index.
-- At most 4000 dimensions.  NULL vectors, and zero vectors under cosine,
-- are not indexed (their distance is NULL / NaN).
--
-- The graph keeps 8-bit quantised vectors only; rows come back re-ranked
-- with the table's own vectors, in exact distance order.  Settings:
--   engram.ef_search (40)             candidate list of a scan; keep it well
--                                      above the LIMIT
--   engram.ann_max_scan_tuples (20000) hard cap on the rows one scan hands
--                                      out: beyond it an error, never a
--                                      short answer
--   engram.ann_strict_order (on)       a row found after farther ones waits
--                                      for the scan's last pass (off: it is
--                                      returned at once); every indexed row
--                                      is returned, also without LIMIT
-- Reloptions: m (16, links per node and level, twice that on level 0),
-- ef_construction (64).

CREATE FUNCTION @extschema@.hnsw_handler(pg_catalog.internal)
	RETURNS pg_catalog.index_am_handler
	AS 'MODULE_PATHNAME', 'hnsw_handler'
	LANGUAGE C STRICT;

CREATE ACCESS METHOD engram_hnsw TYPE INDEX HANDLER @extschema@.hnsw_handler;

COMMENT ON ACCESS METHOD engram_hnsw IS
'engram: graph (HNSW) index over 8-bit quantised engram.vector values for ORDER BY <distance> LIMIT k; rows come back in exact distance order (the executor re-ranks with the table''s vectors)';

CREATE FUNCTION @extschema@.hnsw_metric_l2(pg_catalog.internal)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'hnsw_metric_l2'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.hnsw_metric_cosine(pg_catalog.internal)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'hnsw_metric_cosine'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.hnsw_metric_ip(pg_catalog.internal)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'hnsw_metric_ip'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS @extschema@.vector_cosine_ops
	DEFAULT FOR TYPE @extschema@.vector USING engram_hnsw AS
	OPERATOR 1 @extschema@.<=> (@extschema@.vector, @extschema@.vector)
		FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.cosine_distance(@extschema@.vector, @extschema@.vector),
	FUNCTION 2 @extschema@.hnsw_metric_cosine(pg_catalog.internal);

CREATE OPERATOR CLASS @extschema@.vector_l2_ops
	FOR TYPE @extschema@.vector USING engram_hnsw AS
	OPERATOR 1 @extschema@.<-> (@extschema@.vector, @extschema@.vector)
		FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.l2_distance(@extschema@.vector, @extschema@.vector),
	FUNCTION 2 @extschema@.hnsw_metric_l2(pg_catalog.internal);

CREATE OPERATOR CLASS @extschema@.vector_ip_ops
	FOR TYPE @extschema@.vector USING engram_hnsw AS
	OPERATOR 1 @extschema@.<#> (@extschema@.vector, @extschema@.vector)
		FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.vector_negative_inner_product(@extschema@.vector, @extschema@.vector),
	FUNCTION 2 @extschema@.hnsw_metric_ip(pg_catalog.internal);
