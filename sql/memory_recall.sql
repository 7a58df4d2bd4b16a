-- recall's C path (src/memory_recall.c): same rows, scores and order as the
-- SQL definition of recall (reference_recall below: the general path of
-- 0.1.0, candidates ranked in full), for vector, text and hybrid cues,
-- several k, weights that make the early stop read far or not at all, and
-- access history; metadata filters; consolidate through the ANN index.
SET client_min_messages = warning;
SELECT engram.create_space('rt');
-- 400 memories: texts from a small vocabulary, varied age and confidence
INSERT INTO engram.memory (space, content, embedding, confidence, created_at, occurred_at,
						   participants, metadata, kind)
SELECT 'rt', s.txt, engram.embed_text(s.txt, 64),
	   0.05 + (i % 10) / 10.0, now() - i * interval '37 minutes', now() - i * interval '1 day',
	   CASE WHEN i % 3 = 0 THEN ARRAY['alice', 'bob'] WHEN i % 3 = 1 THEN ARRAY['bob'] END,
	   jsonb_build_object('user', 'u' || (i % 20), 'n', i),
	   CASE WHEN i % 4 = 0 THEN 'semantic' ELSE 'episodic' END
FROM generate_series(1, 400) i,
	 LATERAL (SELECT string_agg((ARRAY['cat','mat','log','crash','coffee','bob','river','train',
									  'budget','garden','music','server','backup','paris'])
									[1 + ((i * 7 + j * j * 3 + j) % 14)], ' ') AS txt
			  FROM generate_series(1, 4 + i % 5) j) s;
-- some access history, unevenly spread
SELECT count(*) > 0 AS recorded
FROM generate_series(1, 15) g,
	 LATERAL engram.recall(engram.embed_text('coffee river', 64), 3 + g % 4, 'rt') r;

-- the SQL definition, ranking every candidate (no early stop), with
-- recall's default validity and expiry conditions
CREATE FUNCTION reference_recall(cue engram.vector, k int, sp text, q text DEFAULT NULL,
								 mfilter jsonb DEFAULT NULL)
RETURNS TABLE (id bigint, score real, similarity real, activation real)
LANGUAGE sql STABLE AS $$
WITH vec AS (
	SELECT c.id, (1 - c.dist)::real AS sim, row_number() OVER (ORDER BY c.dist, c.id) AS rnk
	FROM (SELECT m.id, m.embedding OPERATOR(engram.<=>) cue AS dist
		  FROM engram.memory m
		  WHERE cue IS NOT NULL AND m.space = sp AND m.embedding IS NOT NULL
			AND (mfilter IS NULL OR m.metadata @> mfilter)
			AND engram.valid_at(m.valid_from, m.valid_to, NULL)
			AND (m.expires_at IS NULL OR m.expires_at > now())
			AND (m.ttl IS NULL OR greatest(m.created_at, m.updated_at,
										   (engram._access('engram.memory'::regclass, m.ctid)).last_access)
									  + m.ttl > now())
		  ORDER BY m.embedding OPERATOR(engram.<=>) cue
		  LIMIT greatest(current_setting('engram.recall_candidates')::int, k * 10)) c),
txt AS (
	SELECT c.id, c.rank / NULLIF(max(c.rank) OVER (), 0) AS rank,
		   row_number() OVER (ORDER BY c.rank DESC, c.id) AS rnk
	FROM (SELECT m.id, ts_rank(m.content_tsv, websearch_to_tsquery('english', q)) AS rank
		  FROM engram.memory m
		  WHERE q IS NOT NULL AND m.content_tsv @@ websearch_to_tsquery('english', q)
			AND m.space = sp AND (mfilter IS NULL OR m.metadata @> mfilter)
			AND engram.valid_at(m.valid_from, m.valid_to, NULL)
			AND (m.expires_at IS NULL OR m.expires_at > now())
			AND (m.ttl IS NULL OR greatest(m.created_at, m.updated_at,
										   (engram._access('engram.memory'::regclass, m.ctid)).last_access)
									  + m.ttl > now())
		  ORDER BY 2 DESC, m.id
		  LIMIT greatest(current_setting('engram.recall_candidates')::int, k * 10)) c),
fused AS (
	SELECT coalesce(v.id, t.id) AS id,
		   (CASE WHEN q IS NULL THEN v.sim
				 WHEN cue IS NULL THEN t.rank
				 ELSE ((coalesce(1.0 / (60 + v.rnk), 0) + coalesce(1.0 / (60 + t.rnk), 0)) / (2.0 / 61))
			END)::real AS rel
	FROM vec v FULL JOIN txt t ON t.id = v.id)
SELECT f.id, engram.recall_score(f.rel, a.act, m.confidence), f.rel, a.act
FROM fused f
JOIN engram.memory m ON m.id = f.id
CROSS JOIN LATERAL (SELECT engram.activation_norm(m.created_at, x.last_access, x.access_count, now())::real AS act
					FROM engram._access('engram.memory'::regclass, m.ctid) x) a
ORDER BY 2 DESC, 1
LIMIT k
$$;

CREATE FUNCTION same_as_reference(cue engram.vector, k int, q text DEFAULT NULL,
								  mfilter jsonb DEFAULT NULL)
RETURNS bool LANGUAGE sql AS $$
SELECT (SELECT array_agg(ROW(r.id, r.score, r.similarity, r.activation)::text ORDER BY r.ord)
		FROM engram.recall(cue, k, 'rt', cue_text => q, record_access => false,
						   metadata_filter => mfilter) WITH ORDINALITY
			 AS r(id, content, score, similarity, activation, confidence, tier, created_at, metadata, ord))
	   IS NOT DISTINCT FROM
	   (SELECT array_agg(ROW(x.id, x.score, x.similarity, x.activation)::text ORDER BY x.score DESC, x.id)
		FROM reference_recall(cue, k, 'rt', q, mfilter) x)
$$;

CREATE TABLE cue_words (i int, w text);
INSERT INTO cue_words VALUES (1, 'cat'), (2, 'coffee river'), (3, 'log crash'), (4, 'bob'),
	(5, 'music garden'), (6, 'paris train budget'), (7, 'server'), (8, 'mat cat bob');

-- default weights, k = 1, 5, 10, 40: vector, text, hybrid
SELECT k, count(*) AS cues,
	   count(*) FILTER (WHERE same_as_reference(engram.embed_text(w, 64), k)) AS vector_same,
	   count(*) FILTER (WHERE same_as_reference(NULL, k, w)) AS text_same,
	   count(*) FILTER (WHERE same_as_reference(engram.embed_text(w, 64), k, w)) AS hybrid_same
FROM cue_words, (VALUES (1), (5), (10), (40)) AS kk(k)
GROUP BY k ORDER BY k;

-- activation dominates: the early stop must read (almost) every candidate
SET engram.weight_activation = 5;
SELECT count(*) AS cues,
	   count(*) FILTER (WHERE same_as_reference(engram.embed_text(w, 64), 10)) AS vector_same,
	   count(*) FILTER (WHERE same_as_reference(NULL, 10, w)) AS text_same
FROM cue_words;
-- similarity only: the early stop ends right after k rows
SET engram.weight_activation = 0;
SET engram.weight_confidence = 0;
SELECT count(*) AS cues,
	   count(*) FILTER (WHERE same_as_reference(engram.embed_text(w, 64), 10)) AS vector_same,
	   count(*) FILTER (WHERE same_as_reference(NULL, 10, w)) AS text_same
FROM cue_words;
RESET engram.weight_activation;
RESET engram.weight_confidence;
-- other decay functions and a small candidate count
SET engram.decay_function = 'power';
SET engram.recall_candidates = 3;
SELECT count(*) AS cues,
	   count(*) FILTER (WHERE same_as_reference(engram.embed_text(w, 64), 4)) AS vector_same,
	   count(*) FILTER (WHERE same_as_reference(engram.embed_text(w, 64), 4, w)) AS hybrid_same
FROM cue_words;
RESET engram.decay_function;
RESET engram.recall_candidates;

-- access history: each returned row gets one access, in the same call
CREATE TEMP TABLE before AS SELECT id, engram.access_count(id) AS n FROM engram.memory WHERE space = 'rt';
CREATE TEMP TABLE got AS SELECT id FROM engram.recall(engram.embed_text('budget paris', 64), 7, 'rt');
SELECT count(*) AS returned,
	   count(*) FILTER (WHERE engram.access_count(b.id) = b.n + 1 AND g.id IS NOT NULL) AS got_one_more,
	   count(*) FILTER (WHERE engram.access_count(b.id) <> b.n AND g.id IS NULL) AS others_changed
FROM before b LEFT JOIN got g USING (id)
WHERE g.id IS NOT NULL OR engram.access_count(b.id) <> b.n;
-- record_access => false and read-only transactions record nothing
CREATE TEMP TABLE before2 AS SELECT id, engram.access_count(id) AS n FROM engram.memory WHERE space = 'rt';
SELECT count(*) FROM engram.recall(engram.embed_text('budget paris', 64), 7, 'rt', record_access => false);
BEGIN READ ONLY;
SELECT count(*) FROM engram.recall(engram.embed_text('budget paris', 64), 7, 'rt');
COMMIT;
SELECT count(*) AS changed FROM before2 b WHERE engram.access_count(b.id) <> b.n;

-- metadata filters: every row matches, k rows while enough match, same as
-- the reference with the filter
SELECT count(*) AS cues,
	   count(*) FILTER (WHERE same_as_reference(engram.embed_text(w, 64), 5, NULL, '{"user": "u3"}')) AS vector_same,
	   count(*) FILTER (WHERE same_as_reference(NULL, 5, w, '{"user": "u3"}')) AS text_same,
	   count(*) FILTER (WHERE same_as_reference(engram.embed_text(w, 64), 5, w, '{"user": "u3"}')) AS hybrid_same
FROM cue_words;
SELECT count(*) AS returned, bool_and(metadata @> '{"user": "u7"}') AS all_match
FROM engram.recall(engram.embed_text('cat mat', 64), 10, 'rt', metadata_filter => '{"user": "u7"}');
SELECT count(*) AS returned, bool_and(m.kind = 'semantic') AS all_semantic
FROM engram.recall(engram.embed_text('cat mat', 64), 10, 'rt', kind => 'semantic') r
JOIN engram.memory m USING (id);
SELECT count(*) AS returned, bool_and(m.participants @> ARRAY['alice']) AS all_alice
FROM engram.recall(NULL, 10, 'rt', cue_text => 'coffee', participants => ARRAY['alice']) r
JOIN engram.memory m USING (id);
SELECT count(*) AS returned,
	   bool_and(m.occurred_at >= now() - interval '30 days' AND m.occurred_at < now() - interval '10 days') AS all_in_range
FROM engram.recall(engram.embed_text('coffee', 64), 50, 'rt',
				   occurred_after => now() - interval '30 days',
				   occurred_before => now() - interval '10 days') r
JOIN engram.memory m USING (id);
-- all filters at once; with spread => true too
SELECT count(*) AS returned
FROM engram.recall(engram.embed_text('coffee', 64), 10, 'rt', cue_text => 'coffee',
				   metadata_filter => '{"user": "u2"}', kind => 'episodic',
				   participants => ARRAY['bob'], occurred_after => now() - interval '400 days');
SELECT count(*) AS returned, bool_and(metadata @> '{"user": "u5"}') AS all_match
FROM engram.recall(engram.embed_text('river', 64), 5, 'rt', spread => true,
				   metadata_filter => '{"user": "u5"}');
-- a filter nothing matches
SELECT count(*) FROM engram.recall(engram.embed_text('cat', 64), 5, 'rt', metadata_filter => '{"user": "nobody"}');
-- bad filters
SELECT count(*) FROM engram.recall(engram.embed_text('cat', 64), 5, 'rt', metadata_filter => '["u1"]');
SELECT count(*) FROM engram.recall(engram.embed_text('cat', 64), 5, 'rt', kind => 'procedural');
SELECT count(*) FROM engram.recall(engram.embed_text('cat', 64), 5, 'rt', participants => ARRAY['bob', NULL]);
-- the internal function needs a cue
SELECT count(*) FROM engram._recall_ranked(NULL, NULL, 5, 'rt', NULL, NULL, 0, false, 100,
										   NULL, NULL, NULL, NULL, NULL, NULL, false, NULL);

-- with an engram_hnsw index: a 1% filter still returns k rows, the same as
-- without the index (the planner reads the matching rows through the GIN
-- index on metadata), and an unfiltered recall uses the ANN index
SELECT engram.create_space('rt_ann');
INSERT INTO engram.memory (space, content, embedding, metadata)
SELECT 'rt_ann', 'memory ' || i,
	   engram.l2_normalize(('[' || sin(i) || ',' || cos(i * 1.3) || ',' || sin(i * 0.7) || ','
							|| cos(i * 0.11) || ',' || sin(i * 2.9) || ',' || cos(i * 0.53) || ']')::engram.vector),
	   jsonb_build_object('user', 'u' || (i % 100))
FROM generate_series(1, 3000) i;
-- a partial index of the space (spaces of other dimensions share the table)
CREATE INDEX memory_rt_ann ON engram.memory USING engram_hnsw (embedding engram.vector_cosine_ops)
	WHERE space = 'rt_ann';
ANALYZE engram.memory;
CREATE TEMP TABLE ann_cues AS
	SELECT g AS i, engram.l2_normalize(('[' || cos(g) || ',' || sin(g * 1.7) || ',' || cos(g * 0.3) || ','
									   || sin(g * 0.9) || ',' || cos(g * 2.1) || ',' || sin(g * 0.37) || ']')::engram.vector) AS cue
	FROM generate_series(1, 20) g;
CREATE TABLE ann_cues_t AS SELECT * FROM ann_cues;
-- recall keeps its candidate plans for the session: a new session for each
-- set of indexes compared
\c -
SET client_min_messages = warning;
SELECT pg_stat_force_next_flush();
CREATE TABLE scans0 AS SELECT indexrelname, idx_scan FROM pg_stat_user_indexes
	WHERE indexrelname IN ('memory_rt_ann', 'memory_metadata_idx');
CREATE TABLE via_index AS
	SELECT c.i, ARRAY(SELECT r.id FROM engram.recall(c.cue, 10, 'rt_ann', record_access => false,
													 metadata_filter => jsonb_build_object('user', 'u' || c.i)) r) AS ids
	FROM ann_cues_t c;
SELECT count(*) FROM ann_cues_t c, LATERAL engram.recall(c.cue, 10, 'rt_ann', record_access => false) r;
SELECT pg_stat_force_next_flush();
SELECT s.indexrelname, s.idx_scan - s0.idx_scan >= 20 AS used
FROM pg_stat_user_indexes s JOIN scans0 s0 USING (indexrelname) ORDER BY 1;
-- the exact answer: the same calls without the index
DROP INDEX engram.memory_rt_ann;
\c -
SET client_min_messages = warning;
CREATE TABLE via_exact AS
	SELECT c.i, ARRAY(SELECT r.id FROM engram.recall(c.cue, 10, 'rt_ann', record_access => false,
													 metadata_filter => jsonb_build_object('user', 'u' || c.i)) r) AS ids
	FROM ann_cues_t c;
SELECT count(*) AS cues,
	   count(*) FILTER (WHERE cardinality(x.ids) = 10) AS exact_k_rows,
	   count(*) FILTER (WHERE cardinality(a.ids) = 10) AS index_k_rows,
	   sum((SELECT count(*) FROM unnest(a.ids) y WHERE y = ANY (x.ids)))::float8
		   / sum(cardinality(x.ids)) AS recall_at_10
FROM via_index a JOIN via_exact x USING (i);

-- consolidate through the ANN index: the same groups as without it
SELECT engram.create_space('rt_dup');
CREATE INDEX memory_rt_dup_ann ON engram.memory USING engram_hnsw (embedding engram.vector_cosine_ops)
	WHERE space = 'rt_dup';
INSERT INTO engram.memory (space, content, embedding)
SELECT 'rt_dup', 'dup ' || g || '.' || j,
	   engram.l2_normalize(('[' || sin(g) + j * 0.01 || ',' || cos(g * 1.3) || ',' || sin(g * 0.7) || ','
							|| cos(g * 0.11) || ',' || sin(g * 2.9) || ',' || cos(g * 0.53) || ']')::engram.vector)
FROM generate_series(1, 60) g, generate_series(1, 1 + g % 3) j
ORDER BY j, g;
SELECT pg_stat_force_next_flush();
SELECT count(*) AS groups, sum(cardinality(members)) AS grouped,
	   md5(string_agg((seed - b.base) || ':' || ARRAY(SELECT x - b.base FROM unnest(members) x)::text
					  || sims::text, ';' ORDER BY seed)) AS groups_md5
FROM engram._near_duplicates('rt_dup', 0.999),
	 (SELECT min(id) AS base FROM engram.memory WHERE space = 'rt_dup') b;
SELECT pg_stat_force_next_flush();
-- the index's graph was read once (one scan), not searched once per seed
SELECT idx_scan AS index_scans FROM pg_stat_user_indexes WHERE indexrelname = 'memory_rt_dup_ann';
DROP INDEX engram.memory_rt_dup_ann;
-- an index whose predicate does not follow from the space alone: its
-- graph is not walked, each seed is an ORDER BY ... LIMIT through it
CREATE INDEX memory_rt_dup_ann2 ON engram.memory USING engram_hnsw (embedding engram.vector_cosine_ops)
	WHERE space = 'rt_dup' AND kind = 'episodic';
SELECT count(*) AS groups, sum(cardinality(members)) AS grouped,
	   md5(string_agg((seed - b.base) || ':' || ARRAY(SELECT x - b.base FROM unnest(members) x)::text
					  || sims::text, ';' ORDER BY seed)) AS groups_md5
FROM engram._near_duplicates('rt_dup', 0.999),
	 (SELECT min(id) AS base FROM engram.memory WHERE space = 'rt_dup') b;
SELECT pg_stat_force_next_flush();
SELECT idx_scan >= 60 AS index_used_per_seed FROM pg_stat_user_indexes WHERE indexrelname = 'memory_rt_dup_ann2';
DROP INDEX engram.memory_rt_dup_ann2;
SELECT count(*) AS groups, sum(cardinality(members)) AS grouped,
	   md5(string_agg((seed - b.base) || ':' || ARRAY(SELECT x - b.base FROM unnest(members) x)::text
					  || sims::text, ';' ORDER BY seed)) AS groups_md5
FROM engram._near_duplicates('rt_dup', 0.999),
	 (SELECT min(id) AS base FROM engram.memory WHERE space = 'rt_dup') b;
SELECT * FROM engram.consolidate('rt_dup');

DROP FUNCTION same_as_reference(engram.vector, int, text, jsonb);
DROP FUNCTION reference_recall(engram.vector, int, text, text, jsonb);
DROP TABLE cue_words, ann_cues_t, scans0, via_index, via_exact;
SELECT engram.forget('rt') + engram.forget('rt_ann') + engram.forget('rt_dup') > 0 AS forgot;
SELECT engram.drop_space('rt'), engram.drop_space('rt_ann'), engram.drop_space('rt_dup');
