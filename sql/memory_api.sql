-- The memory API end to end: remember, recall (vector, text, hybrid,
-- filters, spread), associate, spread, forget, consolidate, dedup,
-- transactions, read-only use.  Embeddings come from engram.embed_text so
-- the data is deterministic.  Ids are captured with \gset and results
-- are shown by content, so the test does not depend on sequence values.
\set SHOW_CONTEXT never

-- Decay rate 0: every memory's activation is exactly 1, so scores depend
-- only on similarity and confidence, not on the clock.
SET engram.decay_function = 'exponential';
SET engram.decay_rate = 0;

-- the default space exists; a new space starts without fixed dimensions
SELECT name FROM engram.space WHERE name = 'default';
SELECT engram.create_space('api');
SELECT dims IS NULL AS dims_not_fixed_yet FROM engram.space WHERE name = 'api';

-- embed_text: deterministic, case and punctuation blind, unit length
SELECT engram.vector_dims(engram.embed_text('hello world')) AS dims_384,
       engram.vector_dims(engram.embed_text('hello world', 16)) AS dims_16,
       round(engram.l2_norm(engram.embed_text('hello world'))::numeric, 5) AS norm,
       engram.embed_text('Hello, WORLD!') OPERATOR(engram.=) engram.embed_text('hello world') AS case_blind,
       engram.embed_text('hello world') OPERATOR(engram.=) engram.embed_text('world hello') AS order_matters,
       engram.embed_text('the cat') OPERATOR(engram.=) engram.embed_text('a cat') AS stop_words_dropped;
SELECT round((1 - (engram.embed_text('the cat sat on the mat')
                   OPERATOR(engram.<=>) engram.embed_text('a cat sat on a mat')))::numeric, 2) > 0.5 AS similar_texts_close,
       round((1 - (engram.embed_text('the cat sat on the mat')
                   OPERATOR(engram.<=>) engram.embed_text('quarterly revenue grew')))::numeric, 2) < 0.2 AS unrelated_texts_far;

SELECT engram.remember('The cat sat on the warm mat by the fire',
       engram.embed_text('The cat sat on the warm mat by the fire'), 0.9, 'api') AS m1 \gset
SELECT engram.remember('A black cat chased a small mouse across the kitchen',
       engram.embed_text('A black cat chased a small mouse across the kitchen'), 0.8, 'api') AS m2 \gset
SELECT engram.remember('Postgres writes every change to the write-ahead log before the data pages',
       engram.embed_text('Postgres writes every change to the write-ahead log before the data pages'), 1.0, 'api') AS m3 \gset
SELECT engram.remember('The write-ahead log lets Postgres recover after a crash',
       engram.embed_text('The write-ahead log lets Postgres recover after a crash'), 0.7, 'api') AS m4 \gset
SELECT engram.remember('Alice met Bob at the coffee shop on Friday',
       engram.embed_text('Alice met Bob at the coffee shop on Friday'), 1.0, 'api',
       metadata => '{"source": "diary"}', location => 'Lisbon',
       participants => ARRAY['Alice', 'Bob']) AS m5 \gset
SELECT engram.remember('Bob ordered a large coffee and a croissant',
       engram.embed_text('Bob ordered a large coffee and a croissant'), 0.6, 'api') AS m6 \gset
SELECT engram.remember('The stock market fell sharply on Monday morning', NULL, 0.5, 'api') AS m7 \gset

-- the first embedding fixed the space's dimensions
SELECT dims FROM engram.space WHERE name = 'api';
SELECT content, confidence, kind, location, participants, metadata, occurred_at IS NOT NULL AS has_occurred_at
FROM engram.memory WHERE space = 'api' ORDER BY id;

-- vector recall: nearest by cosine similarity
SELECT content, round(similarity::numeric, 3) AS similarity, activation, confidence, tier
FROM engram.recall(engram.embed_text('a cat sitting on a mat'), 3, 'api');
-- the score is exactly 0.7 * similarity + 0.2 * activation + 0.1 * confidence
SELECT bool_and(abs(score - (0.7 * similarity + 0.2 * activation + 0.1 * confidence)) < 1e-6) AS score_formula,
       count(*) AS rows
FROM engram.recall(engram.embed_text('the write-ahead log'), 5, 'api');
-- scores are in descending order
SELECT bool_and(s.score >= s.next_score) AS descending
FROM (SELECT score, lead(score, 1, '-Infinity') OVER (ORDER BY ord) AS next_score
      FROM engram.recall(engram.embed_text('coffee with Bob'), 6, 'api') WITH ORDINALITY AS r(id, content, score, similarity, activation, confidence, tier, created_at, metadata, ord)) s;
-- other weights change the ranking: confidence only
SET engram.weight_similarity = 0;
SET engram.weight_activation = 0;
SET engram.weight_confidence = 1;
SELECT content, score FROM engram.recall(engram.embed_text('a cat sitting on a mat'), 3, 'api');
RESET engram.weight_similarity;
RESET engram.weight_activation;
RESET engram.weight_confidence;

-- text recall (websearch syntax: all words must match; english stemming):
-- relevance is ts_rank / best rank, so the best match has 1
SELECT content, round(similarity::numeric, 4) AS similarity
FROM engram.recall(NULL, 5, 'api', cue_text => 'Postgres log');
SELECT content FROM engram.recall(NULL, 5, 'api', cue_text => 'crashes');
SELECT content FROM engram.recall(NULL, 5, 'api', cue_text => 'coffee -croissant');
-- only stop words: nothing to match
SELECT count(*) FROM engram.recall(NULL, 5, 'api', cue_text => 'the and of');

-- hybrid: reciprocal rank fusion (k = 60) of both lists, normalised by 2/61
SELECT content, round(similarity::numeric, 4) AS rrf
FROM engram.recall(engram.embed_text('write-ahead log'), 3, 'api', cue_text => 'crash');

-- a text cue of stop words only adds nothing to a vector cue
SELECT (SELECT array_agg(id) FROM engram.recall(engram.embed_text('write-ahead log'), 3, 'api', cue_text => 'the of'))
       = (SELECT array_agg(id) FROM engram.recall(engram.embed_text('write-ahead log'), 3, 'api')) AS same_as_vector_only;

-- filters: time window on created_at, minimum confidence
SELECT created_at AS t5 FROM engram.memory WHERE id = :m5 \gset
SELECT content FROM engram.recall(engram.embed_text('coffee'), 10, 'api', since => :'t5') ORDER BY content;
SELECT content FROM engram.recall(engram.embed_text('coffee'), 10, 'api', until => :'t5') ORDER BY content;
SELECT content FROM engram.recall(engram.embed_text('cat'), 10, 'api', min_confidence => 0.85) ORDER BY content;

-- access history goes through engram._access / engram._record_access.
-- Heap storage keeps none (count 0, last access = creation time); the
-- engram table AM counts each recalled row once per recall.
SELECT (SELECT a.amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid
        WHERE c.oid = 'engram.memory'::regclass) = 'engram' AS has_history \gset
SELECT engram.access_count(:m1) AS c0 \gset
SELECT engram.last_access(:m1) >= (SELECT created_at FROM engram.memory WHERE id = :m1) AS last_after_created,
       engram.access_count(-1) IS NULL AS unknown_id_null,
       :'has_history'::boolean OR :c0 = 0 AS heap_counts_nothing;
SELECT content FROM engram.recall(engram.embed_text('The cat sat on the warm mat by the fire'), 1, 'api',
                                  record_access => false);
SELECT engram.access_count(:m1) = :c0 AS not_recorded;
SELECT content FROM engram.recall(engram.embed_text('The cat sat on the warm mat by the fire'), 1, 'api');
SELECT engram.access_count(:m1) = :c0 + CASE WHEN :'has_history'::boolean THEN 1 ELSE 0 END AS recorded_once;
SELECT engram.access_count(:m1) AS c1 \gset
BEGIN READ ONLY;
SELECT content FROM engram.recall(engram.embed_text('The cat sat on the warm mat by the fire'), 1, 'api');
COMMIT;
SELECT engram.access_count(:m1) = :c1 AS read_only_records_nothing;

-- associations: undirected, stored with src < dst, upserted
SELECT engram.associate(:m1, :m2, 0.8);
SELECT engram.associate(:m2, :m1, 0.6);
SELECT engram.associate(:m5, :m2, 0.5);
SELECT engram.associate(:m5, :m6);
SELECT count(*) AS links, count(*) FILTER (WHERE src < dst) AS ordered
FROM engram.association WHERE src IN (:m1, :m2, :m5, :m6);
SELECT weight FROM engram.association WHERE src = :m1 AND dst = :m2;

-- spread: seeds 1.0, activation * weight * decay per hop, both directions
CREATE TEMP TABLE names (id bigint, name text);
INSERT INTO names VALUES (:m1, 'm1'), (:m2, 'm2'), (:m3, 'm3'), (:m4, 'm4'),
                         (:m5, 'm5'), (:m6, 'm6'), (:m7, 'm7');
SELECT n.name, s.activation, s.hops FROM engram.spread(ARRAY[:m1]::bigint[]) s JOIN names n USING (id);
SELECT n.name, s.activation, s.hops FROM engram.spread(ARRAY[:m6]::bigint[]) s JOIN names n USING (id);
SELECT n.name, s.activation, s.hops FROM engram.spread(ARRAY[:m1]::bigint[], max_hops => 1) s JOIN names n USING (id);
SELECT n.name, s.activation, s.hops FROM engram.spread(ARRAY[:m1]::bigint[], threshold => 0.2) s JOIN names n USING (id);
SELECT n.name, s.activation, s.hops FROM engram.spread(ARRAY[:m1, :m6]::bigint[], decay => 1) s JOIN names n USING (id);
SELECT count(*) FROM engram.spread(ARRAY[]::bigint[]);

-- recall with spread: the text cue matches only m6; spreading from it
-- brings in its associates (relevance 0, activation from the spread)
SELECT content FROM engram.recall(NULL, 5, 'api', cue_text => 'croissant');
SELECT content, round(similarity::numeric, 4) AS similarity
FROM engram.recall(NULL, 5, 'api', cue_text => 'croissant', spread => true);

-- dedup: a near-identical memory reinforces the existing one
SET engram.dedup_threshold = 0.95;
SELECT engram.remember('the cat sat on the warm mat by the fire!',
       engram.embed_text('the cat sat on the warm mat by the fire!'), 0.5, 'api') = :m1 AS reinforced_m1;
-- confidence 0.9 + (1 - 0.9) * 0.5 / 2 = 0.925
SELECT round(confidence::numeric, 4) AS confidence FROM engram.memory WHERE id = :m1;
SELECT engram.remember('A dog slept under the kitchen table',
       engram.embed_text('A dog slept under the kitchen table'), 1.0, 'api') AS m8 \gset
SELECT :m8 <> ALL (ARRAY[:m1, :m2, :m3, :m4, :m5, :m6, :m7]::bigint[]) AS new_memory;
RESET engram.dedup_threshold;
SELECT count(*) FROM engram.memory WHERE space = 'api';

-- transactions: a rolled-back remember leaves nothing behind, not even the
-- dimensions it would have fixed
SELECT engram.create_space('tx');
BEGIN;
SELECT engram.remember('rolled back', engram.embed_text('rolled back', 8), space => 'tx') > 0 AS remembered;
SELECT count(*) FROM engram.memory WHERE space = 'tx';
ROLLBACK;
SELECT count(*) FROM engram.memory WHERE space = 'tx';
SELECT dims IS NULL AS dims_not_fixed FROM engram.space WHERE name = 'tx';
SELECT engram.drop_space('tx');

-- read-only transactions can recall (no access is recorded) but not write
BEGIN READ ONLY;
SELECT engram.writes_allowed();
SELECT content FROM engram.recall(engram.embed_text('a cat sitting on a mat'), 1, 'api');
SELECT engram.remember('not allowed', space => 'api');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN READ ONLY;
SELECT * FROM engram.consolidate('api');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- forget one memory: its associations go too
SELECT engram.forget(:m5);
SELECT engram.forget(:m5);
SELECT count(*) AS links_left FROM engram.association WHERE :m5 IN (src, dst);
SELECT count(*) AS links_left FROM engram.association WHERE src IN (:m1, :m2, :m6) OR dst IN (:m1, :m2, :m6);
-- forget by confidence and by time
SELECT engram.forget('api', below_confidence => 0.65);
SELECT content FROM engram.memory WHERE space = 'api' ORDER BY id;
SELECT engram.forget('api', before => :'t5');
SELECT content FROM engram.memory WHERE space = 'api' ORDER BY id;

-- views
SELECT space, kind, content, access_count, tier, has_embedding
FROM engram.memories WHERE space = 'api' ORDER BY id;
SELECT space, memories, episodic, semantic, with_embedding, accesses
FROM engram.memory_stats WHERE space = 'api';

-- consolidate: three near-duplicates become one semantic memory
SELECT engram.create_space('cons');
SELECT engram.remember('Alice likes green tea.', engram.embed_text('Alice likes green tea.'), 0.6, 'cons') AS c1 \gset
SELECT engram.remember('alice likes GREEN tea', engram.embed_text('alice likes GREEN tea'), 0.9, 'cons') AS c2 \gset
SELECT engram.remember('Alice likes green tea!!', engram.embed_text('Alice likes green tea!!'), 0.5, 'cons') AS c3 \gset
SELECT engram.remember('The train to Porto leaves at nine', engram.embed_text('The train to Porto leaves at nine'), 0.15, 'cons') AS c4 \gset
SELECT * FROM engram.consolidate('cons');
SELECT content, confidence, kind,
       metadata->'sources' = to_jsonb(ARRAY[:c1, :c2, :c3]::bigint[]) AS sources_ok,
       round((1 - (embedding OPERATOR(engram.<=>) engram.embed_text('alice likes green tea')))::numeric, 4) AS sim_to_members
FROM engram.memory WHERE space = 'cons' AND kind = 'semantic';
SELECT id AS sem FROM engram.memory WHERE space = 'cons' AND kind = 'semantic' \gset
SELECT count(*) AS provenance_links, min(weight) AS min_w, max(weight) AS max_w
FROM engram.association WHERE :sem IN (src, dst);
SELECT count(*) AS marked FROM engram.memory
WHERE space = 'cons' AND (metadata->>'consolidated_into')::bigint = :sem;
-- a second run groups nothing again
SELECT * FROM engram.consolidate('cons');
-- decay: everything episodic counts as unused (forget_after 0): confidence
-- halves, and what falls below 0.3 is forgotten (c3: 0.25, c4: 0.075)
SET engram.forget_after = '0';
SET engram.forget_threshold = 0.3;
SELECT * FROM engram.consolidate('cons');
SELECT content, confidence, kind FROM engram.memory WHERE space = 'cons' ORDER BY id;
RESET engram.forget_after;
RESET engram.forget_threshold;

-- drop_space with cascade forgets the memories
SELECT engram.drop_space('cons', cascade => true);
SELECT count(*) FROM engram.memory WHERE space = 'cons';
SELECT count(*) FROM engram.space WHERE name = 'cons';
SELECT engram.drop_space('api', true);
