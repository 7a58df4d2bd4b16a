-- engram_hnsw: bad input and unsupported uses give clear errors
SET search_path = public, engram;

CREATE TABLE ann_e (id int, v engram.vector(3), w engram.vector, big engram.vector(4001));
INSERT INTO ann_e VALUES (1, '[1,2,3]', '[1,2,3]', NULL), (2, '[3,2,1]', '[3,2,1]', NULL);
CREATE INDEX ann_e_v ON ann_e USING engram_hnsw (v);
CREATE INDEX ann_e_w ON ann_e USING engram_hnsw (w vector_l2_ops);

-- query of the wrong dimension
SET enable_seqscan = off;
SELECT id FROM ann_e ORDER BY v <=> '[1,2]' LIMIT 1;
-- vector of the wrong dimension into an index on a column without typmod
INSERT INTO ann_e (id, w) VALUES (3, '[1,2]');
RESET enable_seqscan;

-- more dimensions than the index supports
CREATE INDEX ann_e_big ON ann_e USING engram_hnsw (big);
CREATE TABLE ann_e2 (v engram.vector);
CREATE INDEX ann_e2_v ON ann_e2 USING engram_hnsw (v);
INSERT INTO ann_e2 SELECT array_fill(1::float4, ARRAY[4001])::engram.vector;
-- the limit itself is fine, and then fixes the index's dimension
INSERT INTO ann_e2 SELECT array_fill(1::float4, ARRAY[4000])::engram.vector;
INSERT INTO ann_e2 VALUES ('[1,2,3]');

-- options out of range
CREATE INDEX ON ann_e USING engram_hnsw (v) WITH (m = 1);
CREATE INDEX ON ann_e USING engram_hnsw (v) WITH (m = 65);
CREATE INDEX ON ann_e USING engram_hnsw (v) WITH (ef_construction = 2);
CREATE INDEX ON ann_e USING engram_hnsw (v) WITH (lists = 2);

-- unsupported index shapes and types
CREATE INDEX ON ann_e USING engram_hnsw (id);
CREATE INDEX ON ann_e USING engram_hnsw (v vector_ops);
CREATE INDEX ON ann_e USING engram_hnsw (v, w);
CREATE UNIQUE INDEX ON ann_e USING engram_hnsw (v);

-- an operator the index's class does not have: the index is not used
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ann_e ORDER BY v <-> '[1,2,3]' LIMIT 1;
RESET enable_seqscan;

-- a hand-made operator class without the metric function
CREATE OPERATOR CLASS ann_bad_ops FOR TYPE engram.vector USING engram_hnsw AS
	OPERATOR 1 <-> (engram.vector, engram.vector) FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 l2_distance(engram.vector, engram.vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'ann_bad_ops';
CREATE INDEX ON ann_e USING engram_hnsw (v ann_bad_ops);
DROP OPERATOR CLASS ann_bad_ops USING engram_hnsw;
-- an operator class with a search (non-ORDER BY) operator
CREATE OPERATOR CLASS ann_bad_ops2 FOR TYPE engram.vector USING engram_hnsw AS
	OPERATOR 1 = (engram.vector, engram.vector),
	FUNCTION 1 l2_distance(engram.vector, engram.vector),
	FUNCTION 2 hnsw_metric_l2(internal);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'ann_bad_ops2';
DROP OPERATOR CLASS ann_bad_ops2 USING engram_hnsw;

DROP TABLE ann_e, ann_e2;
