-- recall and consolidate under the validity and expiry model of
-- sql/install/55_memory_features.sql: by default recall returns only
-- memories valid now and not expired; as_of => t what was valid at t as
-- recorded at t; include_invalid => true superseded and invalidated ones
-- too (never expired ones); namespace_prefix.  The same rows from the C
-- path (vector, text, hybrid cues) and the PL/pgSQL path (spread => true),
-- with and without an engram_hnsw index.  consolidate skips invalid and
-- expired memories.
SET client_min_messages = warning;
SELECT engram.create_space('rv', 8);
-- fillers: never matched by the text cue 'Bob'
INSERT INTO engram.memory (space, content, embedding)
SELECT 'rv', 'filler ' || i, engram.embed_text('filler number ' || i, 8)
FROM generate_series(1, 200) i;
SELECT engram.remember('Bob lives in Oslo', engram.embed_text('Bob lives in Oslo', 8), space => 'rv') AS v1 \gset
SELECT engram.remember('Bob likes tea', engram.embed_text('Bob likes tea', 8), space => 'rv') AS i1 \gset
SELECT engram.remember('Bob expired fixed', engram.embed_text('Bob expired fixed', 8), space => 'rv') AS x1 \gset
SELECT engram.set_expiry(:x1, expires_at => now() - interval '1 hour');
SELECT engram.remember('Bob expires tomorrow', engram.embed_text('Bob expires tomorrow', 8), space => 'rv') AS x2 \gset
SELECT engram.set_expiry(:x2, expires_at => now() + interval '1 day');
-- sliding expiry: written two days ago, ttl one day; 'ttl refreshed' was
-- read since (a recorded access, as recall records for what it returns)
INSERT INTO engram.memory (space, content, embedding, created_at, ttl)
VALUES ('rv', 'Bob ttl elapsed', engram.embed_text('Bob ttl elapsed', 8), now() - interval '2 days', '1 day'),
	   ('rv', 'Bob ttl refreshed', engram.embed_text('Bob ttl refreshed', 8), now() - interval '2 days', '1 day'),
	   ('rv', 'Bob ttl fresh', engram.embed_text('Bob ttl fresh', 8), now(), '1 day');
SELECT engram._record_access('engram.memory'::regclass, ctid) AS read
FROM engram.memory WHERE space = 'rv' AND content = 'Bob ttl refreshed';
-- namespaces
INSERT INTO engram.memory (space, content, embedding, namespace)
VALUES ('rv', 'Bob ns users/u1/prefs', engram.embed_text('Bob ns users u1 prefs', 8), '{users,u1,prefs}'),
	   ('rv', 'Bob ns users/u2', engram.embed_text('Bob ns users u2', 8), '{users,u2}'),
	   ('rv', 'Bob ns users', engram.embed_text('Bob ns users', 8), '{users}');
-- valid only from tomorrow (event time)
INSERT INTO engram.memory (space, content, embedding, valid_from)
VALUES ('rv', 'Bob future fact', engram.embed_text('Bob future fact', 8), now() + interval '1 day');
SELECT clock_timestamp() AS t_before \gset
SELECT engram.supersede(:v1, 'Bob lives in Bergen', engram.embed_text('Bob lives in Bergen', 8)) AS v2 \gset
SELECT engram.invalidate(:i1);
SELECT clock_timestamp() AS t_after \gset

-- the non-filler rows recall returns, by content, through each path
CREATE FUNCTION rv(mode text, as_of timestamptz DEFAULT NULL, include_invalid bool DEFAULT false,
				   ns text[] DEFAULT NULL)
RETURNS text LANGUAGE sql VOLATILE AS $$
SELECT coalesce(string_agg(r.content, ' | ' ORDER BY r.content), '')
FROM engram.recall(CASE WHEN mode <> 'text' THEN engram.embed_text('Bob lives', 8) END, 1000, 'rv',
				   cue_text => CASE WHEN mode IN ('text', 'hybrid') THEN 'Bob' END,
				   spread => mode = 'spread', record_access => false,
				   as_of => as_of, include_invalid => include_invalid, namespace_prefix => ns) r
WHERE r.content NOT LIKE 'filler%'
$$;
CREATE TEMP TABLE modes (mode text);
INSERT INTO modes VALUES ('vector'), ('text'), ('hybrid'), ('spread');
-- every path gives the same rows: one line per case
CREATE FUNCTION rv_all(as_of timestamptz DEFAULT NULL, include_invalid bool DEFAULT false,
					   ns text[] DEFAULT NULL)
RETURNS TABLE (paths_agree bool, rows text) LANGUAGE sql VOLATILE AS $$
SELECT count(DISTINCT x.r) = 1, min(x.r)
FROM (SELECT rv(m.mode, as_of, include_invalid, ns) AS r FROM modes m) x
$$;

-- default: valid now and not expired: Bergen, not Oslo; not the
-- invalidated, expired or future ones
SELECT * FROM rv_all();
-- include_invalid: the superseded, invalidated and future ones too, never
-- the expired ones
SELECT * FROM rv_all(include_invalid => true);
-- as of before the supersede: Oslo and tea, not Bergen (created later)
SELECT * FROM rv_all(as_of => :'t_before');
-- as of after it: Bergen
SELECT * FROM rv_all(as_of => :'t_after');
-- as of before, including invalid: still only what was recorded by then
SELECT * FROM rv_all(as_of => :'t_before', include_invalid => true);
-- as of a time before everything: nothing
SELECT * FROM rv_all(as_of => now() - interval '1 year');
-- namespace prefixes ('{}' is every namespace)
SELECT * FROM rv_all(ns => '{users}');
SELECT * FROM rv_all(ns => '{users,u1}');
SELECT * FROM rv_all(ns => '{users,u1,prefs,more}');
SELECT (SELECT rows FROM rv_all(ns => '{}')) = (SELECT rows FROM rv_all()) AS empty_prefix_is_all;
-- the expired memories are still stored, only hidden: expire() deletes them
SELECT content FROM engram.memory WHERE space = 'rv' AND content LIKE 'Bob%' ORDER BY content;
SELECT engram.expire('rv') AS expired;
SELECT (SELECT rows FROM rv_all(include_invalid => true))
	   = (SELECT string_agg(content, ' | ' ORDER BY content) FROM engram.memory
		  WHERE space = 'rv' AND content LIKE 'Bob%') AS all_stored_returned;

-- errors
SELECT count(*) FROM engram.recall(engram.embed_text('Bob', 8), 5, 'rv', namespace_prefix => ARRAY['users', NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM engram.recall(engram.embed_text('Bob', 8), 5, 'rv', include_invalid => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM engram.recall(engram.embed_text('Bob', 8), 5, 'rv', as_of => 'infinity');
\echo :LAST_ERROR_SQLSTATE

-- with an engram_hnsw index (forced) and without any index: the same
-- rows, top 10 and all, for every case.  recall keeps its candidate plans
-- for the session: a new session for each.
CREATE TABLE rv_cases (c int, as_of timestamptz, include_invalid bool, ns text[]);
INSERT INTO rv_cases VALUES (1, NULL, false, NULL), (2, NULL, true, NULL),
	(3, :'t_before', false, NULL), (4, :'t_after', false, NULL), (5, NULL, false, '{users}');
CREATE FUNCTION rv_top(cue engram.vector, k int, c rv_cases, spread bool)
RETURNS text LANGUAGE sql VOLATILE AS $$
SELECT string_agg(r.id::text, ',' ORDER BY r.id)
FROM engram.recall(cue, k, 'rv', spread => spread, record_access => false, as_of => c.as_of,
				   include_invalid => c.include_invalid, namespace_prefix => c.ns) r
$$;
CREATE INDEX memory_rv_ann ON engram.memory USING engram_hnsw (embedding engram.vector_cosine_ops)
	WHERE space = 'rv';
ANALYZE engram.memory;
\c -
SET client_min_messages = warning;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_sort = off;		-- not the btree on (space, created_at) and a sort
SELECT pg_stat_force_next_flush();
SELECT idx_scan AS scans0 FROM pg_stat_user_indexes WHERE indexrelname = 'memory_rv_ann' \gset
CREATE TABLE rv_index AS
	SELECT cs.c, k, sp, q, rv_top(engram.embed_text(q, 8), k, cs, sp) AS ids
	FROM rv_cases cs, (VALUES (10), (1000)) kk(k), (VALUES (false), (true)) s(sp),
		 (VALUES ('Bob lives'), ('filler number 7')) qq(q);
SELECT pg_stat_force_next_flush();
SELECT idx_scan - :scans0 >= 20 AS index_used FROM pg_stat_user_indexes WHERE indexrelname = 'memory_rv_ann';
\c -
SET client_min_messages = warning;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TABLE rv_exact AS
	SELECT cs.c, k, sp, q, rv_top(engram.embed_text(q, 8), k, cs, sp) AS ids
	FROM rv_cases cs, (VALUES (10), (1000)) kk(k), (VALUES (false), (true)) s(sp),
		 (VALUES ('Bob lives'), ('filler number 7')) qq(q);
SELECT count(*) AS compared, count(*) FILTER (WHERE i.ids = x.ids) AS equal,
	   count(*) FILTER (WHERE i.ids IS NULL) AS empty
FROM rv_index i JOIN rv_exact x USING (c, k, sp, q);
DROP INDEX engram.memory_rv_ann;

-- consolidate groups only valid, unexpired memories
SELECT engram.create_space('rvc', 8);
SELECT count(engram.remember('Carol moved ' || i, engram.embed_text('Carol moved', 8), space => 'rvc'))
FROM generate_series(1, 5) i;
SELECT count(engram.invalidate(id)) FROM engram.memory WHERE space = 'rvc' AND content = 'Carol moved 2';
SELECT count(engram.supersede(id, 'Carol moved 3b', engram.embed_text('Carol moved', 8)))
FROM engram.memory WHERE space = 'rvc' AND content = 'Carol moved 3';
SELECT engram.set_expiry(id, expires_at => now() - interval '1 minute')
FROM engram.memory WHERE space = 'rvc' AND content = 'Carol moved 4';
-- 1 and 5, and 3b (which superseded 3): not 2 (invalidated), 3
-- (superseded), 4 (expired)
SELECT action, count FROM engram.consolidate('rvc') ORDER BY action;
SELECT m.content, (SELECT string_agg(s.content, ', ' ORDER BY s.content)
				   FROM jsonb_array_elements_text(m.metadata -> 'sources') j
				   JOIN engram.memory s ON s.id = j::bigint) AS sources
FROM engram.memory m WHERE m.space = 'rvc' AND m.kind = 'semantic';

SELECT engram.drop_space('rv', true);
SELECT engram.drop_space('rvc', true);
DROP FUNCTION rv_top(engram.vector, int, rv_cases, bool);
DROP TABLE rv_cases, rv_index, rv_exact;
DROP FUNCTION rv_all(timestamptz, bool, text[]);
DROP FUNCTION rv(text, timestamptz, bool, text[]);
