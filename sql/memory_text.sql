-- recall's text index (src/memory_text.c, memory_text_keys_idx): a
-- one-word text cue reads the buckets of its lexeme, highest count of
-- positions first, and stops early.  Every recall here is compared with
-- the same recall ranking every matching memory (engram.recall_text_index
-- = off), in the same transaction (the same now(), so the same
-- activation): ids and scores must be equal.  The transaction's count
-- of scans of the index (pg_stat_get_xact_numscans) shows whether it was
-- read.
\set SHOW_CONTEXT never

-- the keys: count of positions per lexeme, 16 for 16 or more, '**' when a
-- weight other than D is there or positions are missing
SELECT engram._text_keys('s1', to_tsvector('english', 'coffee coffee tea'));
SELECT engram._text_keys('s1', setweight(to_tsvector('english', 'coffee tea'), 'A'));
SELECT engram._text_keys('s1', strip(to_tsvector('english', 'coffee tea')));
SELECT engram._text_keys('s1', to_tsvector('english', repeat('coffee ', 40) || 'tea'));
SELECT engram._text_keys('s1', ''::tsvector);
SELECT engram._text_keys(NULL, to_tsvector('english', 'tea')) IS NULL AS strict;
SELECT indexdef FROM pg_indexes WHERE indexname = 'memory_text_keys_idx';

-- two spaces with the same words; counts of each word vary from 1 to ~12
SELECT engram.create_space('txt_a');
SELECT engram.create_space('txt_b');
CREATE TEMP TABLE vocab AS
SELECT w, i FROM unnest(string_to_array('coffee garden river budget music paris train design review server backup weather ticket model support invoice sleep', ' ')) WITH ORDINALITY AS v(w, i);
INSERT INTO engram.memory (space, content, embedding, confidence, metadata, kind)
SELECT CASE WHEN g % 4 = 0 THEN 'txt_b' ELSE 'txt_a' END,
	   (SELECT string_agg(v.w, ' ' ORDER BY j)
		FROM generate_series(1, 6 + g % 11) j
		JOIN vocab v ON v.i = 1 + ((g * 31 + j * j * 7 + (g / 5) * j) % 17)),
	   engram.embed_text('memory ' || (g % 97), 32),
	   0.5 + (g % 5) / 10.0,
	   jsonb_build_object('user', 'u' || (g % 10)),
	   CASE WHEN g % 7 = 0 THEN 'semantic' ELSE 'episodic' END
FROM generate_series(1, 3000) g;
ANALYZE engram.memory;

CREATE TEMP TABLE cues AS
SELECT w, k FROM (SELECT w FROM vocab UNION ALL VALUES ('absent')) v, (VALUES (1), (5), (10), (40)) kk(k);

-- a recall's ids and scores as one text value
CREATE FUNCTION pg_temp.rec(w text, k int, sp text DEFAULT 'txt_a', filt jsonb DEFAULT NULL,
							knd text DEFAULT NULL, minconf float4 DEFAULT 0, hybrid bool DEFAULT false)
RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(r.id || '=' || r.score, ',' ORDER BY r.score DESC, r.id), '')
	FROM engram.recall(CASE WHEN hybrid THEN engram.embed_text('memory ' || length(w), 32) END,
					   k, sp, cue_text => w, record_access => false,
					   metadata_filter => filt, kind => knd, min_confidence => minconf) r
$$;

CREATE FUNCTION pg_temp.text_index_scans() RETURNS bigint LANGUAGE sql AS $$
	SELECT pg_stat_get_xact_numscans('engram.memory_text_keys_idx'::regclass)
$$;

-- every cue recalled with each setting: no filter, another space, filters, hybrid
CREATE FUNCTION pg_temp.recall_all() RETURNS TABLE (w text, k int, f text, r text)
LANGUAGE sql AS $$
	SELECT c.w, c.k, f.f,
		   CASE f.f WHEN 'none' THEN pg_temp.rec(c.w, c.k)
					WHEN 'space_b' THEN pg_temp.rec(c.w, c.k, 'txt_b')
					WHEN 'metadata' THEN pg_temp.rec(c.w, c.k, filt => '{"user": "u3"}')
					WHEN 'kind' THEN pg_temp.rec(c.w, c.k, knd => 'semantic')
					WHEN 'min_confidence' THEN pg_temp.rec(c.w, c.k, minconf => 0.8)
					WHEN 'hybrid' THEN pg_temp.rec(c.w, c.k, hybrid => true) END
	FROM cues c, (VALUES ('none'), ('space_b'), ('metadata'), ('kind'), ('min_confidence'), ('hybrid')) f(f)
$$;

-- fast and full recall of every cue, with and without filters, as one table
CREATE FUNCTION pg_temp.compare(label text) RETURNS TABLE (what text, cues bigint, same bigint, index_read bool)
LANGUAGE plpgsql AS $$
DECLARE
	s0 bigint;
	s1 bigint;
BEGIN
	DROP TABLE IF EXISTS fast, slow;
	s0 := pg_temp.text_index_scans();
	CREATE TEMP TABLE fast AS SELECT * FROM pg_temp.recall_all();
	s1 := pg_temp.text_index_scans();
	SET LOCAL engram.recall_text_index = off;
	CREATE TEMP TABLE slow AS SELECT * FROM pg_temp.recall_all();
	SET LOCAL engram.recall_text_index = on;
	IF pg_temp.text_index_scans() <> s1 THEN
		RAISE EXCEPTION 'the text index was read with engram.recall_text_index = off';
	END IF;
	RETURN QUERY
		SELECT label || ': ' || f.f, count(*), count(*) FILTER (WHERE f.r = s.r),
			   CASE WHEN f.f = 'none' THEN s1 > s0 END
		FROM fast f JOIN slow s USING (w, k, f)
		GROUP BY f.f ORDER BY f.f;
END
$$;

BEGIN;
SELECT * FROM pg_temp.compare('pending list');
-- every cue gets rows (the data is as meant), and k rows where there are
SELECT count(*) FILTER (WHERE r <> '') AS with_rows,
	   count(*) FILTER (WHERE w <> 'absent' AND f = 'none'
						AND array_length(string_to_array(r, ','), 1) = k) AS k_rows
FROM fast;
COMMIT;

-- after VACUUM (the entries leave the pending list)
VACUUM engram.memory;
BEGIN;
SELECT * FROM pg_temp.compare('after vacuum');
COMMIT;

-- deleted memories, their TIDs reused by memories of other words (VACUUM
-- removes the old entries first, so no entry points at a row it does not
-- describe; the bucket statements rely on it)
DELETE FROM engram.memory WHERE space = 'txt_a' AND id % 3 = 0;
VACUUM engram.memory;
INSERT INTO engram.memory (space, content, embedding)
SELECT 'txt_a', repeat('weather ', 1 + g % 13) || 'coffee', engram.embed_text('memory ' || g, 32)
FROM generate_series(1, 700) g;
BEGIN;
SELECT * FROM pg_temp.compare('deleted and reused');
COMMIT;

-- other cues read the full statement, with the same result
BEGIN;
SELECT pg_temp.text_index_scans() AS before \gset
SELECT count(*) FROM engram.recall(NULL, 10, 'txt_a', cue_text => 'coffee garden', record_access => false);
SELECT count(*) FROM engram.recall(NULL, 10, 'txt_a', cue_text => 'coffee or garden', record_access => false);
SELECT count(*) FROM engram.recall(NULL, 10, 'txt_a', cue_text => '-coffee', record_access => false);
SELECT count(*) FROM engram.recall(NULL, 10, 'txt_a', cue_text => '"coffee garden"', record_access => false);
SELECT pg_temp.text_index_scans() - :before AS index_scans_for_other_cues;
COMMIT;

-- the index dropped (or renamed): the full statement, the same result
BEGIN;
SELECT pg_temp.rec('coffee', 10) AS with_index \gset
ALTER INDEX engram.memory_text_keys_idx RENAME TO memory_text_keys_old;
SELECT pg_temp.rec('coffee', 10) = :'with_index' AS same_without_index;
ROLLBACK;

-- an index of that name on another expression or operator class is not
-- used: the full ranking, the same result
BEGIN;
SELECT pg_temp.rec('coffee', 10) AS with_index \gset
DROP INDEX engram.memory_text_keys_idx;
CREATE INDEX memory_text_keys_idx ON engram.memory USING gin (engram._text_keys('txt_a', content_tsv));
SELECT pg_temp.text_index_scans() AS before \gset
SELECT pg_temp.rec('coffee', 10) = :'with_index' AS same_other_expression,
	   pg_temp.text_index_scans() = :before AS not_read;
DROP INDEX engram.memory_text_keys_idx;
CREATE INDEX memory_text_keys_idx ON engram.memory USING gin (engram._text_keys(space, content_tsv) COLLATE "C");
SELECT pg_temp.text_index_scans() AS before \gset
SELECT pg_temp.rec('coffee', 10) = :'with_index' AS same_other_collation,
	   pg_temp.text_index_scans() = :before AS not_read;
DROP INDEX engram.memory_text_keys_idx;
CREATE INDEX memory_text_keys_idx ON engram.memory USING gin (content_tsv);
-- (the planner may use this one for the full statement's @@: only the
-- result is compared)
SELECT pg_temp.rec('coffee', 10) = :'with_index' AS same_plain_column;
ROLLBACK;

-- row-level security: a tenant's recall reads the buckets of its space,
-- sees only its rows, and gets what the full ranking gives it
CREATE ROLE regress_text_tenant;
SELECT engram.grant_space('txt_a', 'regress_text_tenant');
GRANT SELECT ON vocab TO regress_text_tenant;
CREATE FUNCTION pg_temp.plan_nodes(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	l text;
	r text := '';
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		IF l ~ '^(->)? *[A-Z][a-z]+ .*Scan on memory' OR l ~ '->  [A-Z][a-z ]+Scan on memory' THEN
			r := r || regexp_replace(l, '^[ ->]*([A-Za-z ]+Scan) on memory.*$', '\1') || ';';
		END IF;
	END LOOP;
	RETURN r;
END $$;
SET ROLE regress_text_tenant;
-- a bucket's rows are read by TID: tideq is leakproof, so the tenant's plan
-- is a TID scan (the @@ of the full statement is not: a tenant's full
-- statement scans the whole table)
SELECT pg_temp.plan_nodes($$SELECT id FROM engram.memory m WHERE m.ctid = ANY ('{"(1,1)","(2,2)"}'::tid[]) AND m.space = 'txt_a'$$) AS bucket_plan,
	   pg_temp.plan_nodes($$SELECT id FROM engram.memory m WHERE m.content_tsv @@ to_tsquery('english', 'coffee') AND m.space = 'txt_a'$$) AS full_plan;
BEGIN;
SELECT pg_temp.text_index_scans() AS before \gset
SELECT pg_temp.rec(w, 10) AS r, w INTO TEMP tenant_fast FROM (SELECT w FROM vocab) v;
SELECT pg_temp.text_index_scans() - :before > 0 AS tenant_read_the_index;
SET LOCAL engram.recall_text_index = off;
SELECT count(*) AS cues, count(*) FILTER (WHERE t.r = pg_temp.rec(t.w, 10)) AS same
FROM tenant_fast t;
COMMIT;
SELECT count(*) AS rows_of_other_spaces
FROM vocab v, engram.recall(NULL, 40, 'txt_a', cue_text => v.w, record_access => false) r
JOIN engram.memory m USING (id) WHERE m.space <> 'txt_a';
-- not granted: refused as before
SELECT * FROM engram.recall(NULL, 5, 'txt_b', cue_text => 'coffee');
\echo :LAST_ERROR_SQLSTATE
-- the internal function, called directly for a space not granted: refused
-- before any probe of the index (a probe's outcome or its tuple counts
-- would tell whether that space's memories hold the word)
BEGIN;
SELECT pg_temp.text_index_scans() AS before \gset
SELECT count(*) FROM engram._recall_ranked(NULL, websearch_to_tsquery('english', 'coffee'), 5, 'txt_b',
	NULL, NULL, 0, false, 50, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT count(*) FROM engram._recall_ranked(NULL, websearch_to_tsquery('english', 'coffee'), 5, 'no_such_space',
	NULL, NULL, 0, false, 50, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT count(*) FROM engram._recall_ranked(NULL, websearch_to_tsquery('english', 'coffee'), 5, 'txt_a',
	NULL, NULL, 0, false, 50, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) AS own_space_rows;
SELECT pg_temp.text_index_scans() > 0 AS own_space_read_the_index;
COMMIT;
-- the keys function gives nothing away: it computes keys of its arguments
SELECT engram._text_keys('txt_b', to_tsvector('english', 'tea'));
RESET ROLE;
DROP TABLE tenant_fast;
SELECT engram.revoke_space('txt_a', 'regress_text_tenant');
REVOKE SELECT ON vocab FROM regress_text_tenant;
DROP ROLE regress_text_tenant;

-- a word as long as a lexeme can be (2047 bytes) is indexed with its key
SELECT engram.remember(repeat('x', 2047), space => 'txt_b') > 0 AS long_word_remembered;
SELECT count(*) FROM engram.recall(NULL, 5, 'txt_b', cue_text => repeat('x', 2047), record_access => false);

SELECT engram.drop_space('txt_a', cascade => true);
SELECT engram.drop_space('txt_b', cascade => true);
