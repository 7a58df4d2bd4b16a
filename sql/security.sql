-- The security model (docs/architecture/0009-security-model.md): every
-- attack of issue 16, run as an ordinary login role, is refused with a
-- fitting SQLSTATE, while the legitimate tenant keeps working; plus
-- catalog checks that no function of the extension runs with more rights
-- than its caller unless it is on the documented list.
\set SHOW_CONTEXT never
SELECT current_database() AS regress_db \gset

CREATE ROLE regress_sec_victim LOGIN;
CREATE ROLE regress_sec_mallory LOGIN;
CREATE ROLE regress_sec_monitor LOGIN IN ROLE pg_read_all_stats;
-- mallory's own schema, for the types and functions an attacker can make
CREATE SCHEMA regress_sec_mal AUTHORIZATION regress_sec_mallory;
SELECT engram.create_space('sec_victim', 4);
SELECT engram.create_space('sec_open');			-- dimensions not fixed yet
SELECT engram.create_space('sec_mallory', 4);
SELECT engram.grant_space('sec_victim', 'regress_sec_victim');
SELECT engram.grant_space('sec_open', 'regress_sec_victim');
SELECT engram.grant_space('sec_mallory', 'regress_sec_mallory');

SET ROLE regress_sec_victim;
SELECT engram.remember('victim: the launch code is 0000', '[1,0,0,0]', space => 'sec_victim') AS v1 \gset
SELECT engram.remember('victim: lunch on Tuesday', '[0.9,0.1,0,0]', space => 'sec_victim') AS v2 \gset
SELECT engram.remember('victim: the sky is blue', '[0,0,1,0]', space => 'sec_victim') AS v3 \gset
RESET ROLE;

-- ---------------------------------------------------------------------
-- 1. the trigger function: not SECURITY DEFINER, not executable by
-- PUBLIC, and it refuses to run anywhere but on engram.memory
SELECT prosecdef, has_function_privilege('public', oid, 'EXECUTE') AS public_execute
FROM pg_proc WHERE oid = 'engram._memory_before_write'::regproc;
SET ROLE regress_sec_mallory;
CREATE TABLE regress_sec_mal.evil (space text, content text, embedding engram.vector);
CREATE TRIGGER evil BEFORE INSERT ON regress_sec_mal.evil
	FOR EACH ROW EXECUTE FUNCTION engram._memory_before_write();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- even attached by a superuser, it refuses another table (and fixes no
-- space's dimensions)
CREATE TEMP TABLE sec_t (space text, content text, embedding engram.vector);
CREATE TRIGGER sec_t BEFORE INSERT ON sec_t
	FOR EACH ROW EXECUTE FUNCTION engram._memory_before_write();
INSERT INTO sec_t VALUES ('sec_open', 'x', '[1,2,3]');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE sec_t;
SELECT name, dims FROM engram.space WHERE name = 'sec_open';
-- a value of a type mallory owns, with her implicit cast to engram.vector:
-- the cast runs in her own call, as her, never as the extension's owner
SET ROLE regress_sec_mallory;
CREATE TYPE regress_sec_mal.payload AS (x text);
CREATE FUNCTION regress_sec_mal.to_vector(regress_sec_mal.payload) RETURNS engram.vector
LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'cast runs as %', current_user;
	RETURN '[0,1,0,0]';
END $$;
CREATE CAST (regress_sec_mal.payload AS engram.vector)
	WITH FUNCTION regress_sec_mal.to_vector(regress_sec_mal.payload) AS IMPLICIT;
SELECT engram.remember('mallory 1', ROW('x')::regress_sec_mal.payload, space => 'sec_mallory') > 0 AS remembered;
SELECT engram._memory_insert('sec_mallory', 'mallory 2', ROW('x')::regress_sec_mal.payload,
							 1, now(), NULL, NULL, '{}', 'episodic') > 0 AS inserted;
-- and her own "=" for bigint, for a session whose search_path puts her
-- schema before pg_catalog
CREATE FUNCTION regress_sec_mal.eq(bigint, bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'operator runs as %', current_user;
	RETURN $1 OPERATOR(pg_catalog.=) $2;
END $$;
CREATE OPERATOR regress_sec_mal.= (LEFTARG = bigint, RIGHTARG = bigint,
								   FUNCTION = regress_sec_mal.eq);
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sec_mallory';

-- ---------------------------------------------------------------------
-- 2. schema squatting (in a database of its own): CREATE EXTENSION
-- refuses a schema engram that an ordinary role owns, that grants CREATE
-- to one, or that already holds objects
CREATE DATABASE regress_engram_squat;
\c regress_engram_squat
\set SHOW_CONTEXT never
CREATE SCHEMA engram AUTHORIZATION regress_sec_mallory;
CREATE EXTENSION engram;
\echo :LAST_ERROR_SQLSTATE
ALTER SCHEMA engram OWNER TO CURRENT_USER;
GRANT CREATE ON SCHEMA engram TO regress_sec_mallory;
CREATE EXTENSION engram;
\echo :LAST_ERROR_SQLSTATE
GRANT CREATE ON SCHEMA engram TO PUBLIC;
CREATE EXTENSION engram;
\echo :LAST_ERROR_SQLSTATE
REVOKE CREATE ON SCHEMA engram FROM PUBLIC, regress_sec_mallory;
CREATE FUNCTION engram.l2_norm(text) RETURNS float8 LANGUAGE sql AS 'SELECT 0::float8';
CREATE EXTENSION engram;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'engram';
-- an empty schema of a superuser is fine (it is what DROP EXTENSION leaves)
DROP FUNCTION engram.l2_norm(text);
CREATE EXTENSION engram;
SELECT extname, pg_get_userbyid(n.nspowner) = current_user AS schema_mine
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE extname = 'engram';
\c :regress_db
\set SHOW_CONTEXT never
DROP DATABASE regress_engram_squat;

-- ---------------------------------------------------------------------
-- 3. and 5. no direct writes, no ids taken, no table locks: a tenant holds
-- SELECT on the memory tables and nothing else
SELECT c.relname,
	   has_table_privilege('regress_sec_victim', c.oid, 'SELECT') AS sel,
	   has_table_privilege('regress_sec_victim', c.oid, 'INSERT') AS ins,
	   has_table_privilege('regress_sec_victim', c.oid, 'UPDATE') AS upd,
	   has_table_privilege('regress_sec_victim', c.oid, 'DELETE') AS del,
	   has_table_privilege('regress_sec_victim', c.oid, 'TRUNCATE') AS trunc
FROM pg_class c WHERE c.oid IN ('engram.memory'::regclass, 'engram.association'::regclass,
								'engram.space'::regclass, 'engram.space_grant'::regclass)
ORDER BY 1;
SELECT has_sequence_privilege('regress_sec_victim', 'engram.memory_id_seq', 'USAGE') AS seq_usage;
SELECT last_value AS seq_before FROM engram.memory_id_seq \gset
SET ROLE regress_sec_mallory;
INSERT INTO engram.memory (id, space, content) OVERRIDING SYSTEM VALUE
	VALUES (:v3 + 1, 'sec_mallory', 'squat');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO engram.memory (space, content) VALUES ('sec_mallory', 'direct');
\echo :LAST_ERROR_SQLSTATE
SELECT nextval('engram.memory_id_seq');
\echo :LAST_ERROR_SQLSTATE
UPDATE engram.memory SET confidence = 0;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM engram.memory;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE engram.memory;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO engram.association (src, dst) VALUES (:v1, :v2);
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM engram.memory FOR UPDATE;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
LOCK TABLE engram.memory IN ACCESS EXCLUSIVE MODE;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
LOCK TABLE engram.association IN EXCLUSIVE MODE;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
LOCK TABLE engram.space IN SHARE ROW EXCLUSIVE MODE;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
LOCK TABLE engram.space_grant IN ACCESS EXCLUSIVE MODE;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- the write primitives keep to mallory's spaces: the victim's rows are
-- neither deleted, nor reinforced, nor linked
SELECT engram._memory_delete(ARRAY[:v1, :v2, :v3]::bigint[]) AS deleted;
SELECT engram._memory_delete_space('sec_victim', NULL, NULL) AS deleted;
SELECT engram._memory_reinforce(:v1, 1) AS reinforced_tid;
SELECT engram._memory_decay(ARRAY[:v1]::bigint[], 0) AS decayed;
SELECT engram._memory_mark_consolidated(ARRAY[:v1]::bigint[], 1) AS marked;
SELECT engram._memory_insert('sec_victim', 'planted', NULL, 1, now(), NULL, NULL, '{}', 'episodic');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._association_upsert(ARRAY[:v1]::bigint[], ARRAY[:v2]::bigint[], ARRAY[1]::real[]);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.forget(:v1) AS forgot;
-- nor can she administer spaces: grant herself the victim's, make her own
-- spaces, grant or drop them
SELECT engram.grant_space('sec_victim', 'regress_sec_mallory');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.grant_space('sec_mallory', 'regress_sec_victim');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.revoke_space('sec_mallory', 'regress_sec_mallory');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.create_space('sec_mallory_2');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.drop_space('sec_victim', cascade => true);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.drop_space('sec_mallory', cascade => true);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS victim_rows, min(confidence) AS min_conf, count(*) FILTER (WHERE metadata <> '{}') AS marked
FROM engram.memory WHERE space = 'sec_victim';
SELECT last_value = :seq_before AS no_id_taken FROM engram.memory_id_seq;
-- the victim's remember gets the next id as usual
SET ROLE regress_sec_victim;
SELECT engram.remember('victim: still working', '[0,0,0,1]', space => 'sec_victim') > :v3 AS remembered;
RESET ROLE;

-- ---------------------------------------------------------------------
-- 4. zero embeddings are refused; one stored before (0.1.0, restored with
-- row_security = off) has similarity NaN, which the score counts as 0: it
-- is no longer ranked first for every cue
SET ROLE regress_sec_mallory;
SELECT engram.remember('poison', '[0,0,0,0]', space => 'sec_mallory');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._memory_insert('sec_mallory', 'poison', '[0,0,0,0]', 1, now(), NULL, NULL, '{}', 'episodic');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('poison', '[NaN,0,0,0]', space => 'sec_mallory');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET row_security = off;
INSERT INTO engram.memory (space, content, embedding) VALUES ('sec_victim', 'legacy zero', '[0,0,0,0]');
RESET row_security;
SET ROLE regress_sec_victim;
SELECT (array_agg(content))[1] AS first, count(*) AS recalled,
	   count(*) FILTER (WHERE score = 'NaN') AS nan_scores,
	   count(*) FILTER (WHERE content = 'legacy zero') AS legacy_zero_recalled
FROM engram.recall('[0,0,1,0]', 10, 'sec_victim', record_access => false);
SELECT (array_agg(content))[1] AS first, count(*) FILTER (WHERE score = 'NaN') AS nan_scores
FROM engram.recall('[0,0,1,0]', 10, 'sec_victim', spread => true, record_access => false);
SELECT (array_agg(content))[1] AS first
FROM engram.recall('[0,1,0,0]', 10, 'sec_victim', cue_text => 'lunch', record_access => false);
RESET ROLE;
DELETE FROM engram.memory WHERE content = 'legacy zero';

-- ---------------------------------------------------------------------
-- 6. whole-table statistics only for the owner and pg_read_all_stats
SET ROLE regress_sec_victim;
SELECT * FROM engram.tier_stats('engram.memory');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.verify('engram.memory');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS listed FROM engram.tier_stats_all WHERE relation = 'engram.memory'::regclass;
\echo :LAST_ERROR_SQLSTATE
-- what the role may see of its own rows
SELECT space, memories FROM engram.memory_stats ORDER BY space;
RESET ROLE;
SET ROLE regress_sec_monitor;
SELECT sum(rows) > 0 AS monitor_sees_rows FROM engram.tier_stats('engram.memory');
SELECT count(*) AS problems FROM engram.verify('engram.memory');
RESET ROLE;

-- ---------------------------------------------------------------------
-- 7. spaces and grants: a role lists only its own
SET ROLE regress_sec_mallory;
SELECT name FROM engram.space WHERE name LIKE 'sec%' ORDER BY 1;
SELECT space, role FROM engram.space_grant ORDER BY 1;
-- a space it may not use and one that does not exist: the same answer
SELECT engram.remember('x', space => 'sec_victim');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('x', space => 'sec_no_such_space');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_sec_victim;
SELECT name FROM engram.space WHERE name LIKE 'sec%' ORDER BY 1;
SELECT space, role FROM engram.space_grant ORDER BY 1;
RESET ROLE;

-- ---------------------------------------------------------------------
-- 8. engram.max_content_bytes is a superuser setting
SELECT context FROM pg_settings WHERE name = 'engram.max_content_bytes';
SET ROLE regress_sec_mallory;
SET engram.max_content_bytes = '4MB';
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('engram.max_content_bytes', '4194304', false);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember(repeat('m', 2 * 1024 * 1024), space => 'sec_mallory');
\echo :LAST_ERROR_SQLSTATE
-- row_security = off exempts a restore, not an API call
SET row_security = off;
SELECT engram._memory_insert('sec_mallory', repeat('m', 2 * 1024 * 1024), NULL, 1, now(),
							 NULL, NULL, '{}', 'episodic');
\echo :LAST_ERROR_SQLSTATE
RESET row_security;
RESET ROLE;
SELECT max(octet_length(content)) < 1024 * 1024 AS no_big_memory FROM engram.memory;

-- ---------------------------------------------------------------------
-- 9. forget's bounds: NaN or outside [0, 1] deletes nothing
SET ROLE regress_sec_victim;
SELECT count(*) AS before FROM engram.memory WHERE space = 'sec_victim';
SELECT engram.forget('sec_victim', below_confidence => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.forget('sec_victim', below_confidence => 1.5);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.forget('sec_victim', below_confidence => -0.1);
\echo :LAST_ERROR_SQLSTATE
SELECT engram._memory_delete_space('sec_victim', NULL, 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS after FROM engram.memory WHERE space = 'sec_victim';
-- a bound in range still works: nothing is below 0.5
SELECT engram.forget('sec_victim', below_confidence => 0.5) AS forgotten;
RESET ROLE;

-- ---------------------------------------------------------------------
-- 10. big input: clear limits, no internal or stack-depth error
SELECT engram.embed_text(repeat('ab ', 23000000));
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_sec_victim;
SELECT count(*) FROM engram.recall(NULL, 5, 'sec_victim', cue_text => repeat('word ', 200000));
\echo :LAST_ERROR_SQLSTATE
-- under 64 kB but 32768 terms: matching them recursed out of stack
SELECT count(*) FROM engram.recall(NULL, 5, 'sec_victim', cue_text => repeat('x ', 32767) || 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM engram.recall('[1,0,0,0]', 5, 'sec_victim', cue_text => repeat('-x ', 21844) || 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM engram.recall(NULL, 5, 'sec_victim',
	cue_text => (SELECT string_agg('w' || i, ' ') FROM generate_series(1, 2049) i));
\echo :LAST_ERROR_SQLSTATE
-- a cue at the limit works (2048 terms, 2047 operators)
SELECT content FROM engram.recall(NULL, 5, 'sec_victim',
	cue_text => (SELECT string_agg('w' || i, ' or ') FROM generate_series(1, 2047) i) || ' or lunch',
	record_access => false);
RESET ROLE;

-- ---------------------------------------------------------------------
-- 11. the memory features (55_memory_features.sql) and recall's helpers
-- (52_memory_recall.sql), merged after the security model
CREATE ROLE regress_sec_nogrant LOGIN;
SET ROLE regress_sec_victim;
SELECT engram.set_block('sec_victim', 'persona', 'victim persona') AS block_version;
SELECT engram.update_memory(:v2, content => 'victim: lunch on Wednesday') AS version;
SELECT engram.set_space_ttl('sec_victim', '30 days');
SELECT engram.set_space_schedule('sec_victim', '1 day');
SELECT engram.put('sec_victim', 'secret', 'victim: a keyed secret') > 0 AS put;
RESET ROLE;
-- a tenant touches no other space: its memories, history, blocks, keys,
-- TTL policy or schedule; a hidden id or space gives the errors of a
-- missing one
SET ROLE regress_sec_mallory;
\set VERBOSITY sqlstate
SELECT engram.update_memory(:v1, content => 'pwned');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.supersede(:v1, 'pwned');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.invalidate(:v1);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_expiry(:v1, expires_at => now());
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.history(:v2);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT engram.set_block('sec_victim', 'persona', 'pwned');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.append_block('sec_victim', 'persona', 'pwned');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.delete_block('sec_victim', 'persona');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.get_block('sec_victim', 'persona');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('sec_victim', 'secret', 'pwned');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.delete_key('sec_victim', 'secret');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.get('sec_victim', 'secret');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_ttl('sec_victim', '1 second', false);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_schedule('sec_victim', '1 minute');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_schedule(NULL, '1 minute');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.expire('sec_victim');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._set_space_schedule_impl('sec_victim', '1 minute', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT engram._run_schedules();
\echo :LAST_ERROR_SQLSTATE
SELECT (SELECT count(*) FROM engram.memory_history) AS history,
	   (SELECT count(*) FROM engram.space_policy) AS policies,
	   (SELECT count(*) FROM engram.core_block) AS blocks,
	   (SELECT count(*) FROM engram.core_block_history) AS block_history;
-- recall's C helpers: _recall_ranked refuses a space the caller may not
-- use (42501, before it reads any index); both read as the caller
-- (row-level security)
SELECT count(*) AS recalled FROM engram._recall_ranked('[1,0,0,0]', NULL, 5, 'sec_victim', NULL, NULL, 0,
	false, 100, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL);
SELECT count(*) AS groups FROM engram._near_duplicates('sec_victim', 0.0);
-- they are executable by every role (recall and consolidate run as their
-- caller), so they check what sizes their work: k beyond recall's limit
-- was an internal error (XX000, an allocation of 16 GB)
SELECT count(*) FROM engram._recall_ranked('[1,0,0,0]', NULL, 2147483647, 'sec_mallory', NULL, NULL, 0,
	false, 100, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL);
\echo :LAST_ERROR_SQLSTATE
-- a TTL that overflows a timestamp stopped engram.expire() over every
-- space (the background worker's pass: 22008 for all tenants); a TTL is
-- at most 100 years, with no negative field (months hidden behind
-- negative days compare as 0 days)
SELECT engram.remember('mallory ttl', '[0,0,0,1]', space => 'sec_mallory') AS m_ttl \gset
SELECT engram.set_expiry(:m_ttl, ttl => '200000 years');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_expiry(:m_ttl, ttl => '71000000 months -2129999999 days');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_expiry(:m_ttl, ttl => '-1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('sec_mallory', 'k', 'mallory keyed', ttl => '200000 years');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_ttl('sec_mallory', '1000000 months -29999999 days');
\echo :LAST_ERROR_SQLSTATE
-- the same for a schedule: the worker adds consolidate_every to
-- last_consolidated for every space in one statement
SELECT engram.set_space_schedule('sec_mallory', '200000 years');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_schedule('sec_mallory', '71000000 months -2129999999 days');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_schedule('sec_mallory', '1 month -1 hour');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_schedule('sec_mallory', '2 days');
SELECT consolidate_every FROM engram.space_policy WHERE space = 'sec_mallory';
SELECT engram.set_space_schedule('sec_mallory', NULL);
SELECT engram.set_expiry(:m_ttl, ttl => '1 month -1 hour');
\echo :LAST_ERROR_SQLSTATE
-- a legitimate TTL is stored as given
SELECT engram.set_expiry(:m_ttl, ttl => '36 hours');
SELECT ttl FROM engram.memory WHERE id = :m_ttl;
-- a core block is held to engram.max_content_bytes (1 MB) like a memory:
-- its "limit" of up to 1000000 characters is up to 4 MB
SELECT engram.set_block('sec_mallory', 'big', repeat('é', 600000), "limit" => 1000000);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_block('sec_mallory', 'big', 'small', "limit" => 1000000) AS block_version;
SELECT engram.append_block('sec_mallory', 'big', repeat('é', 600000));
\echo :LAST_ERROR_SQLSTATE
-- nor through its description; and replace_block refuses a value over
-- the limit before building it (replacing 'a' by 10000 characters in a
-- block of 100000 'a' built up to 1 GB before the check)
SELECT engram.set_block('sec_mallory', 'big', 'small', description => repeat('é', 600000));
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_block('sec_mallory', 'amp', repeat('a', 100000), "limit" => 1000000) AS block_version;
SELECT engram.replace_block('sec_mallory', 'amp', 'a', repeat('b', 10000));
\echo :LAST_ERROR_SQLSTATE
SELECT char_length(engram.replace_block('sec_mallory', 'amp', 'aa', 'b')) AS replaced_length;
RESET ROLE;
-- the worker's expiry pass over every space still runs
SELECT engram.expire() >= 0 AS expired;
-- a role with no grant at all: nothing to write, nothing to see
SET ROLE regress_sec_nogrant;
SELECT engram.put('sec_mallory', 'k', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_block('sec_open', 'b', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.expire() AS expired;
SELECT count(*) AS namespaces FROM engram.list_namespaces('{}', 'sec_victim');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS blocks FROM engram.core_blocks('sec_victim');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the victim's data is intact
SET ROLE regress_sec_victim;
SELECT engram.get_block('sec_victim', 'persona') AS persona;
SELECT content FROM engram.get('sec_victim', 'secret', record_access => false);
SELECT version, content, is_current FROM engram.history(:v2) ORDER BY version;
SELECT space, default_ttl, consolidate_every FROM engram.space_policy ORDER BY 1;
RESET ROLE;
SELECT engram.delete_key('sec_victim', 'secret') AS deleted_key;
DROP ROLE regress_sec_nogrant;

-- ---------------------------------------------------------------------
-- the legitimate tenant: the whole API still works
SET ROLE regress_sec_victim;
SELECT content FROM engram.recall('[1,0,0,0]', 2, 'sec_victim', record_access => false);
SELECT engram.associate(:v1, :v2);
SELECT count(*) AS links FROM engram.association;
SELECT count(*) AS spread FROM engram.spread(ARRAY[:v1]::bigint[]) WHERE hops > 0;
RESET ROLE;
-- a superuser whose search_path puts mallory's schema (and her "=" for
-- bigint, see 1.) before pg_catalog: engram's functions never use her
-- operator (SQL functions pin their search_path, C queries qualify it)
SET search_path = regress_sec_mal, pg_catalog;
SELECT count(*) AS spread FROM engram.spread(ARRAY[:v1]::bigint[]);
SELECT count(*) AS recalled FROM engram.recall('[1,0,0,0]', 3, 'sec_victim', spread => true, record_access => false);
SELECT engram.access_count(:v1) AS accesses;
RESET search_path;
SET ROLE regress_sec_victim;
SET engram.dedup_threshold = 0.99;
SELECT engram.remember('victim: the launch code is 0000 (again)', '[1,0,0,0]', space => 'sec_victim') = :v1 AS reinforced;
RESET engram.dedup_threshold;
SELECT engram.remember('first embedding fixes dims', '[1,2,3]', space => 'sec_open') > 0 AS remembered;
SELECT action, count FROM engram.consolidate('sec_victim') ORDER BY 1;
SELECT engram.forget(:v3) AS forgot;
SELECT engram.forget('sec_victim', before => now() + interval '1 hour') AS forgotten;
SELECT count(*) AS left_over FROM engram.memory WHERE space = 'sec_victim';
RESET ROLE;
SELECT name, dims FROM engram.space WHERE name = 'sec_open';

-- ---------------------------------------------------------------------
-- catalog: no function of the extension is SECURITY DEFINER, and the
-- functions that run a statement as the table owner (the write
-- primitives, src/memory_write.c; they check the caller's space grant in
-- C) are exactly the documented list
CREATE TEMP VIEW sec_ext_functions AS
SELECT p.oid, p.oid::regprocedure::text AS function, p.prosecdef, p.prosrc, p.prolang, p.proconfig,
	   has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'engram');
SELECT function FROM sec_ext_functions WHERE prosecdef ORDER BY 1;
CREATE TEMP TABLE sec_allowed (function text, why text);
INSERT INTO sec_allowed VALUES
	('engram._memory_insert(text,text,engram.vector,real,timestamp with time zone,text,text[],jsonb,text)', 'inserts only into a space granted to the caller'),
	('engram._memory_delete(bigint[])', 'deletes only rows of spaces granted to the caller'),
	('engram._memory_delete_space(text,timestamp with time zone,real)', 'same; bounds checked'),
	('engram._memory_reinforce(bigint,real)', 'updates only rows of spaces granted to the caller'),
	('engram._memory_decay(bigint[],real)', 'same; factor checked'),
	('engram._memory_mark_consolidated(bigint[],bigint)', 'same'),
	('engram._association_upsert(bigint[],bigint[],real[])', 'links only memories of spaces granted to the caller'),
	('engram.update_memory(bigint,text,engram.vector,jsonb,real,integer)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.supersede(bigint,text,engram.vector,jsonb,real,timestamp with time zone)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.invalidate(bigint,timestamp with time zone)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.set_expiry(bigint,timestamp with time zone,interval)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.set_space_ttl(text,interval,boolean)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.set_space_schedule(text,interval)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.expire(text)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.put(text,text,text,engram.vector,jsonb,text[],interval,real)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.delete_key(text,text,text[])', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.set_block(text,text,text,integer,text)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.append_block(text,text,text,text)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.replace_block(text,text,text,text)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram.delete_block(text,text)', 'memory features: runs its engram._<name>_impl as the owner with the spaces granted to the caller (src/memory_features.c)'),
	('engram._shard_call(text,text,jsonb)', 'sharding, on a coordinator: one dblink round trip to a shard as the owner (its user mapping), sending the caller''s granted spaces, which the shard enforces (src/shard_route.c)'),
	('engram._shard_adopt(text,integer)', 'sharding, on a shard: creates a placed space and grants it to the service role, only for that role (src/shard_route.c)'),
	('engram._move_apply(text,jsonb)', 'sharding, on a shard: a step of engram.move_space on a space granted to the caller (insert copied rows with ids and access history, drop, purge), only for the service role (src/shard_route.c)');
-- functions running as the owner but not on the list, and listed ones that are gone
(SELECT function FROM sec_ext_functions WHERE prosrc LIKE 'engram\_write\_%' OR prosecdef
 EXCEPT SELECT function FROM sec_allowed)
UNION ALL
(SELECT function FROM sec_allowed
 EXCEPT SELECT function FROM sec_ext_functions WHERE prosrc LIKE 'engram\_write\_%');
-- and each pins its search_path
SELECT function, proconfig FROM sec_ext_functions
WHERE function IN (SELECT function FROM sec_allowed) ORDER BY 1;
-- every SQL and PL/pgSQL function of the extension pins its search_path
SELECT function FROM sec_ext_functions f JOIN pg_language l ON l.oid = f.prolang
WHERE l.lanname IN ('sql', 'plpgsql')
  AND (f.proconfig IS NULL OR NOT 'search_path=pg_catalog, pg_temp' = ANY (f.proconfig))
ORDER BY 1;
-- the feature writes (src/memory_features.c) run engram._<name>_impl as
-- the owner: which they are, that each has its implementation, and that
-- PUBLIC may not call an implementation directly (it trusts its last
-- argument, the caller's spaces)
SELECT function FROM sec_ext_functions WHERE prosrc = 'engram_write_feature' ORDER BY 1;
SELECT f.function FROM sec_ext_functions f JOIN pg_proc p ON p.oid = f.oid
WHERE f.prosrc = 'engram_write_feature'
  AND NOT EXISTS (SELECT 1 FROM pg_proc q
				  WHERE q.pronamespace = p.pronamespace AND q.proname = '_' || p.proname || '_impl');
SELECT function, public_execute FROM sec_ext_functions
WHERE function LIKE 'engram.\_%\_impl(%' ORDER BY 1;
-- internal trigger function: not executable by PUBLIC
SELECT function, public_execute FROM sec_ext_functions
WHERE oid IN (SELECT tgfoid FROM pg_trigger WHERE NOT tgisinternal) ORDER BY 1;
-- what PUBLIC holds on the extension's tables: SELECT on the two lists
-- (narrowed by row-level security), and on table_option (per-table options,
-- sql/install/32_tier_options.sql) what row-level security allows: writes
-- only for the tables one owns (sql/tier_lossy.sql), nothing else
SELECT c.relname, a.privilege_type
FROM pg_class c
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'engram'),
LATERAL aclexplode(c.relacl) a
WHERE a.grantee = 0
ORDER BY 1, 2;
SELECT relname, relrowsecurity FROM pg_class
WHERE oid IN ('engram.memory'::regclass, 'engram.association'::regclass,
			  'engram.space'::regclass, 'engram.space_grant'::regclass)
ORDER BY 1;
-- the fault-injection settings are superuser-only
SELECT name, context FROM pg_settings WHERE name LIKE 'engram.fault%' ORDER BY 1;

-- clean up
SELECT engram.revoke_space('sec_victim', 'regress_sec_victim');
SELECT engram.revoke_space('sec_open', 'regress_sec_victim');
SELECT engram.revoke_space('sec_mallory', 'regress_sec_mallory');
SELECT engram.drop_space('sec_victim', cascade => true);
SELECT engram.drop_space('sec_open', cascade => true);
SELECT engram.drop_space('sec_mallory', cascade => true);
DROP SCHEMA regress_sec_mal CASCADE;
DROP ROLE regress_sec_victim;
DROP ROLE regress_sec_mallory;
DROP ROLE regress_sec_monitor;
