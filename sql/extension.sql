-- Extension hygiene: what \dx shows, descriptions, volatility and parallel
-- safety, objects outside schema engram, search_path safety, DROP EXTENSION
-- CASCADE + re-CREATE, ALTER EXTENSION UPDATE.
--
-- Runs the install-time checks in a database of its own so that dropping
-- and re-creating the extension leaves the regression database alone.
\set SHOW_CONTEXT never
\set VERBOSITY terse
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_engram_ext;
\c regress_engram_ext

-- A hostile schema ahead of public on the search path while the extension
-- is created and used: operators and functions named like ones engram's SQL
-- uses, with argument types for which pg_catalog has no exact match (the
-- only way an unqualified reference could pick them while pg_catalog is,
-- implicitly, searched first) and some with an exact match.
CREATE SCHEMA qa_evil;
CREATE FUNCTION qa_evil.always_true(anyelement, anyelement) RETURNS bool
	LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE FUNCTION qa_evil.always_true_or(oid, regrole) RETURNS bool
	LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE FUNCTION qa_evil.always_true_rr(regrole, regrole) RETURNS bool
	LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE FUNCTION qa_evil.always_true_tt(text, text) RETURNS bool
	LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR qa_evil.= (LEFTARG = oid, RIGHTARG = regrole, FUNCTION = qa_evil.always_true_or);
CREATE OPERATOR qa_evil.= (LEFTARG = regrole, RIGHTARG = regrole, FUNCTION = qa_evil.always_true_rr);
CREATE OPERATOR qa_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = qa_evil.always_true_tt);
CREATE OPERATOR qa_evil.~ (LEFTARG = text, RIGHTARG = text, FUNCTION = qa_evil.always_true_tt);
CREATE FUNCTION qa_evil.now() RETURNS timestamptz
	LANGUAGE sql AS $$SELECT '2000-01-01 00:00:00+00'::timestamptz$$;
CREATE FUNCTION qa_evil.format(text, VARIADIC text[]) RETURNS text
	LANGUAGE sql AS $$SELECT 'hijacked'$$;
CREATE FUNCTION qa_evil.exp(float8) RETURNS float8
	LANGUAGE sql AS 'SELECT 42::float8';
CREATE FUNCTION qa_evil.unnest(bigint[]) RETURNS SETOF bigint
	LANGUAGE sql AS 'SELECT 0::bigint';
CREATE FUNCTION qa_evil.always_true_ff(float8, float8) RETURNS bool
	LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR qa_evil.>= (LEFTARG = float8, RIGHTARG = float8, FUNCTION = qa_evil.always_true_ff);
SET search_path = qa_evil, public;

CREATE EXTENSION engram;

-- nothing of the extension refers to the hostile schema
SELECT count(*) AS refs_to_qa_evil
FROM pg_depend d
WHERE d.refobjid IN (SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'qa_evil'::regnamespace
					 UNION ALL
					 SELECT o.oid FROM pg_operator o WHERE o.oprnamespace = 'qa_evil'::regnamespace)
  AND d.objid IN (SELECT e.objid FROM pg_depend e
				  WHERE e.refclassid = 'pg_extension'::regclass AND e.deptype = 'e');

-- \dx shape
\dx engram

-- every function and aggregate of the extension has a description;
-- those of the ANN subsystem (engram_hnsw, sql/install/40_ann.sql) are
-- still missing theirs
SELECT p.oid::regprocedure AS without_comment
FROM pg_proc p
WHERE p.pronamespace = 'engram'::regnamespace
  AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1::text;

-- VOLATILE or PARALLEL UNSAFE functions, each for a reason:
--   writes: migrate, verify (subtransactions), record_access,
--     _record_access, the memory API's writers (remember, recall which
--     records accesses, associate, forget, consolidate, spaces, grants),
--     the trigger function, am_publication_guard (event trigger)
--   handlers: engram_am_handler, hnsw_handler (volatile like heap's)
--   vector_kernel_selftest draws random vectors
--   _check_space, access_count, last_access, spread: plpgsql/SQL reading
--     engram.memory (RLS, SPI-run checks); PARALLEL UNSAFE by default
SELECT p.proname, p.provolatile AS vol, p.proparallel AS par, p.proisstrict AS strict,
	   p.prosecdef AS secdef
FROM pg_proc p
WHERE p.pronamespace = 'engram'::regnamespace
  AND (p.provolatile = 'v' OR p.proparallel = 'u')
ORDER BY 1, 2, 3;

-- IMMUTABLE functions must not read tables or settings
SELECT p.proname, l.lanname
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'engram'::regnamespace AND p.provolatile = 'i'
  AND l.lanname <> 'c'
ORDER BY 1;

-- objects of the extension outside schema engram: only the access
-- methods, the casts and the event trigger (they have no schema)
SELECT DISTINCT i.type
FROM pg_depend d, LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) i
WHERE d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'engram')
  AND d.deptype = 'e'
  AND i.schema IS DISTINCT FROM 'engram'
ORDER BY 1;
SELECT amname, amtype FROM pg_am
WHERE amname IN ('engram', 'engram_hnsw') ORDER BY 1;
SELECT evtname, evtevent FROM pg_event_trigger ORDER BY 1;

-- SECURITY DEFINER functions pin their search_path
SELECT p.proname, p.proconfig
FROM pg_proc p
WHERE p.pronamespace = 'engram'::regnamespace AND p.prosecdef
ORDER BY 1;

-- SQL and PL/pgSQL functions without a pinned search_path (none: every one
-- runs with SET search_path = pg_catalog, pg_temp, so a caller's search
-- path cannot change what their unqualified operators and functions mean;
-- tables, types and engram's own operators are qualified)
SELECT p.proname, l.lanname
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'engram'::regnamespace
  AND l.lanname IN ('sql', 'plpgsql') AND p.proconfig IS NULL
ORDER BY 1, 2;

-- the memory API with the hostile schema on the search path behaves as
-- usual: space names are still checked, grants still narrow what a role
-- sees, dates are real, formats are not hijacked
SELECT engram.create_space('ext_a');
SELECT engram.create_space('ext_b');
SELECT engram.create_space('NOT VALID');
SELECT engram.remember('alpha fact', space => 'ext_a') > 0 AS remembered;
SELECT engram.remember('beta fact', space => 'ext_b') > 0 AS remembered;
SELECT engram.remember('gamma fact', space => 'no_such_space');
CREATE ROLE regress_ext_role;
SELECT engram.grant_space('ext_a', 'regress_ext_role');
SELECT space, role FROM engram.space_grant;
SET ROLE regress_ext_role;
SELECT space, content FROM engram.memory ORDER BY id;
SELECT content FROM engram.recall(NULL, 5, 'ext_b', cue_text => 'fact');
SELECT content FROM engram.recall(NULL, 5, 'ext_a', cue_text => 'fact');
RESET ROLE;
SELECT count(*) AS created_this_century
FROM engram.memory WHERE created_at > '2020-01-01';
SELECT engram.decay_exponential(1, 0) AS decay_is_real;
SELECT engram.revoke_space('ext_a', 'regress_ext_role');
SELECT count(*) AS grants_left FROM engram.space_grant;
SELECT has_table_privilege('regress_ext_role', 'engram.memory', 'SELECT') AS still_has_select;

-- the same with pg_catalog searched AFTER the hostile schema (the caller's
-- own choice; engram's functions pin theirs)
SET search_path = qa_evil, pg_catalog, public;
SELECT engram.grant_space('ext_a', 'regress_ext_role');
SELECT engram.create_space('NOT VALID');
SELECT engram.remember('delta fact', engram.embed_text('delta fact', 8), space => 'ext_a') > 0 AS remembered;
SELECT engram.remember('epsilon fact', engram.embed_text('epsilon fact', 16), space => 'ext_a');
SET ROLE regress_ext_role;
SELECT content FROM engram.recall(NULL, 5, 'ext_b', cue_text => 'fact');
SELECT content FROM engram.recall(engram.embed_text('delta', 8), 5, 'ext_a', cue_text => 'fact');
SELECT content FROM engram.recall(NULL, 5, 'ext_a', cue_text => 'fact', spread => true) ORDER BY 1;
RESET ROLE;
SELECT engram.associate(a.id, b.id) FROM engram.memory a, engram.memory b
WHERE a.content OPERATOR(pg_catalog.=) 'alpha fact' AND b.content OPERATOR(pg_catalog.=) 'delta fact';
SELECT action, count FROM engram.consolidate('ext_a');
SELECT engram.revoke_space('ext_a', 'regress_ext_role');
SELECT engram.drop_space('ext_b');
RESET search_path;

-- ALTER EXTENSION UPDATE on a current install is a no-op; the upgrade from
-- 0.1.0 (sql/upgrade/*.sql) is checked by sql/upgrade.sql.
ALTER EXTENSION engram UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'engram';
SELECT name, version FROM pg_available_extension_versions
WHERE name = 'engram' ORDER BY version;

-- DROP EXTENSION ... CASCADE removes engram tables, engram_hnsw indexes
-- and vector columns of other tables; CREATE EXTENSION works again after
CREATE TABLE ext_t (id int PRIMARY KEY, v engram.vector(3)) USING engram;
INSERT INTO ext_t VALUES (1, '[1,2,3]'), (2, '[3,2,1]');
CREATE INDEX ON ext_t USING engram_hnsw (v);
CREATE TABLE ext_heap (id int, v engram.vector);
DROP EXTENSION engram;
DROP EXTENSION engram CASCADE;
SELECT count(*) AS ext_t_left FROM pg_class WHERE relname = 'ext_t';
SELECT attname FROM pg_attribute
WHERE attrelid = 'ext_heap'::regclass AND attnum > 0 AND NOT attisdropped;
-- the schema named in engram.control is created by CREATE EXTENSION but is
-- not a member of the extension, so it stays (empty) after the DROP
SELECT count(*) AS engram_schema_left FROM pg_namespace WHERE nspname = 'engram';
SELECT count(*) AS objects_in_engram_schema FROM pg_class WHERE relnamespace = 'engram'::regnamespace;
SELECT count(*) AS engram_ams_left FROM pg_am WHERE amname IN ('engram', 'engram_hnsw');
SELECT count(*) AS event_triggers_left FROM pg_event_trigger;
CREATE EXTENSION engram;
SELECT engram.remember('after re-create') > 0 AS remembered;
SELECT name, dims FROM engram.space ORDER BY name;
CREATE TABLE ext_t (id int PRIMARY KEY, v engram.vector(3)) USING engram;
INSERT INTO ext_t VALUES (1, '[1,2,3]');
SELECT * FROM ext_t;
SELECT * FROM engram.verify('ext_t');

\c :regress_db
DROP DATABASE regress_engram_ext;
DROP ROLE regress_ext_role;
