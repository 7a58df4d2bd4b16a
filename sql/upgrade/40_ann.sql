
-- engram_hnsw ---------------------------------------------------------------
-- 0.2.0 stores indexes in storage version 3 (L2 indexes quantise relative to
-- a centre kept in the meta page; freed slots are found through the free
-- space map).  0.2.0 refuses to read the version 2 indexes 0.1.0 built
-- (ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "REINDEX INDEX ..."), so the
-- update rebuilds every engram_hnsw index of this database.  An index the
-- updating role may not rebuild is left alone with a WARNING; it must be
-- rebuilt by its owner before it is used (docs/operations.md).
DO $ann_reindex$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT c.oid::pg_catalog.regclass AS idx
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_am a ON a.oid = c.relam
		WHERE a.amname OPERATOR(pg_catalog.=) 'engram_hnsw' AND c.relkind OPERATOR(pg_catalog.=) 'i'
		  AND c.relpersistence OPERATOR(pg_catalog.<>) 't'
		ORDER BY c.oid
	LOOP
		BEGIN
			EXECUTE pg_catalog.format('REINDEX INDEX %s', r.idx);
		EXCEPTION WHEN insufficient_privilege THEN
			RAISE WARNING 'engram_hnsw index % was not rebuilt: %', r.idx, SQLERRM
				USING HINT = pg_catalog.format('Its owner must run REINDEX INDEX %s before it is used.', r.idx);
		END;
	END LOOP;
END
$ann_reindex$;
