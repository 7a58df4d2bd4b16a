-- Limits found by the second reader's review (docs/test-plan.md): the
-- metadata of a memory is held to engram.max_content_bytes (as text) like
-- its content, on every write path, for the owner and for a tenant, and a
-- restore (row_security = off) is not; engram.memories shows the columns
-- added in 0.2.0.
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT engram.create_space('lim');
SELECT engram.create_space('lim_other');
CREATE ROLE regress_lim_tenant;
SELECT engram.grant_space('lim', 'regress_lim_tenant');
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO regress_lim_tenant;

-- 1. metadata of 2 MB against the default limit (1 MB)
SELECT pg_temp.try($$SELECT engram.remember('big metadata', space => 'lim',
	metadata => jsonb_build_object('blob', repeat('m', 2 * 1024 * 1024)))$$);
SHOW engram.max_content_bytes;
SELECT count(*) AS stored FROM engram.memory WHERE space = 'lim';

-- 2. a limit of 200 bytes: 200 bytes of metadata as text pass, 201 do not
SET engram.max_content_bytes = 200;
SELECT octet_length(jsonb_build_object('k', repeat('x', 191))::text) AS exactly_200;
SELECT pg_temp.try($$SELECT engram.remember('at the limit', space => 'lim',
	metadata => jsonb_build_object('k', repeat('x', 191)))$$);
SELECT pg_temp.try($$SELECT engram.remember('over the limit', space => 'lim',
	metadata => jsonb_build_object('k', repeat('x', 192)))$$);
SELECT content, octet_length(metadata::text) AS metadata_bytes
FROM engram.memory WHERE space = 'lim' ORDER BY id;
SELECT id AS m1 FROM engram.memory WHERE space = 'lim' AND content = 'at the limit' \gset
-- update_memory, put, a direct INSERT and UPDATE by the owner
SELECT pg_temp.try(format($$SELECT engram.update_memory(%s, metadata => jsonb_build_object('k', repeat('y', 300)))$$, :m1));
SELECT pg_temp.try($$SELECT engram.put('lim', 'k1', 'keyed', metadata => jsonb_build_object('k', repeat('z', 300)))$$);
SELECT pg_temp.try($$INSERT INTO engram.memory (space, content, metadata)
	VALUES ('lim', 'direct', jsonb_build_object('k', repeat('d', 300)))$$);
SELECT pg_temp.try(format($$UPDATE engram.memory SET metadata = jsonb_build_object('k', repeat('u', 300)) WHERE id = %s$$, :m1));
-- a write that keeps the metadata is not held to the limit (it was stored
-- under it, or restored), one that shrinks it below the limit passes
SELECT pg_temp.try(format($$SELECT engram.update_memory(%s, confidence => 0.5)$$, :m1));
SELECT pg_temp.try(format($$SELECT engram.update_memory(%s, metadata => '{"k": "small"}')$$, :m1));
SELECT metadata, confidence, version FROM engram.memory WHERE id = :m1;

-- 3. a tenant with a grant on the space: the same limit
SET ROLE regress_lim_tenant;
SELECT pg_temp.try($$SELECT engram.remember('tenant over', space => 'lim',
	metadata => jsonb_build_object('k', repeat('t', 300)))$$);
SELECT pg_temp.try(format($$SELECT engram.update_memory(%s, metadata => jsonb_build_object('k', repeat('t', 300)))$$, :m1));
SELECT pg_temp.try($$SELECT engram.remember('tenant small', space => 'lim', metadata => '{"ok": true}')$$);
-- the tenant cannot lift the limit
SELECT pg_temp.try($$SET engram.max_content_bytes = 100000$$);
RESET ROLE;

-- 4. a restore (row_security = off, as pg_dump's output sets it) is not
-- held to the restoring session's limit
SET row_security = off;
SELECT pg_temp.try($$INSERT INTO engram.memory (space, content, metadata)
	VALUES ('lim', 'restored', jsonb_build_object('k', repeat('r', 300)))$$);
RESET row_security;
SELECT content, octet_length(metadata::text) AS metadata_bytes
FROM engram.memory WHERE space = 'lim' ORDER BY id;
RESET engram.max_content_bytes;

-- 5. engram.memories: the 0.1.0 columns, then those of 0.2.0, in order
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a
WHERE a.attrelid = 'engram.memories'::regclass AND a.attnum > 0
ORDER BY a.attnum;
SELECT reloptions FROM pg_class WHERE oid = 'engram.memories'::regclass;
SELECT engram.put('lim', 'k2', 'keyed memory', namespace => '{users,u1}', ttl => '1 day') AS m2 \gset
SELECT engram.set_expiry(:m1, expires_at => '2100-01-01 00:00:00+00');
SELECT engram.update_memory(:m2, content => 'keyed memory, changed');
SELECT id = :m2 AS is_m2, content, version, updated_at IS NOT NULL AS updated,
	   valid_from, valid_to, invalidated_at, superseded_by, expires_at, ttl, key, namespace
FROM engram.memories WHERE id IN (:m1, :m2) ORDER BY id;
-- the view still applies the caller's row-level security
SELECT engram.remember('not for the tenant', space => 'lim_other') IS NOT NULL AS stored;
SELECT space, count(*) FROM engram.memories WHERE space LIKE 'lim%' GROUP BY space ORDER BY space;
SET ROLE regress_lim_tenant;
SELECT space, count(*) FROM engram.memories WHERE space LIKE 'lim%' GROUP BY space ORDER BY space;
RESET ROLE;
CREATE ROLE regress_lim_nobody;
SET ROLE regress_lim_nobody;
SELECT pg_temp.try($$SELECT count(*) FROM engram.memories$$);
RESET ROLE;

-- 6. recall's C helper on an extension whose memory table was renamed: a
-- clean 42P01 (it was an internal error, XX000)
BEGIN;
ALTER TABLE engram.memory RENAME TO memory_renamed;
SELECT pg_temp.try($$SELECT count(*) FROM engram._recall_ranked('[1,0,0,0]', NULL, 5, 'lim', NULL, NULL, 0,
	false, 100, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL)$$);
ROLLBACK;

-- 7. consolidate's provenance mark (metadata.consolidated_into) on a member
-- whose metadata is at the limit is not refused: one such memory would stop
-- the consolidation of its space (and of every space, for consolidate(NULL));
-- the exemption covers only that: a memory id, nothing else changed
SET engram.max_content_bytes = 200;
SELECT engram.create_space('lim_cons');
SELECT engram.remember('cons one', '[1,0,0,0]', space => 'lim_cons',
	metadata => jsonb_build_object('k', repeat('x', 191))) AS c1 \gset
SELECT engram.remember('cons two', '[1,0,0.01,0]', space => 'lim_cons') IS NOT NULL AS stored;
SELECT pg_temp.try($$SELECT count(*) FROM engram.consolidate('lim_cons')$$);
SELECT content, kind, metadata ? 'consolidated_into' AS marked, metadata ? 'sources' AS has_sources,
	   octet_length(metadata::text) > 200 AS over_limit
FROM engram.memory WHERE space = 'lim_cons' ORDER BY id;
SELECT pg_temp.try(format($$SELECT engram.update_memory(%s,
	metadata => jsonb_build_object('k', repeat('x', 191), 'consolidated_into', repeat('9', 30)))$$, :c1));
SELECT pg_temp.try(format($$SELECT engram.update_memory(%s,
	metadata => jsonb_build_object('k', repeat('y', 191), 'consolidated_into', 1))$$, :c1));
RESET engram.max_content_bytes;
SELECT engram.drop_space('lim_cons', cascade => true);

-- cleanup
SELECT engram.drop_space('lim', cascade => true);
SELECT engram.drop_space('lim_other', cascade => true);
DROP OWNED BY regress_lim_tenant;
DROP ROLE regress_lim_tenant;
DROP ROLE regress_lim_nobody;
