-- Row-level security by space: a role sees and writes only the spaces
-- granted to it (directly or through a role whose privileges it has); the
-- extension owner and superusers see everything.
\set SHOW_CONTEXT never
CREATE ROLE regress_mem_alice;
CREATE ROLE regress_mem_bob;
CREATE ROLE regress_mem_carol IN ROLE regress_mem_alice;	-- inherits alice
CREATE ROLE regress_mem_dave;								-- no grants at all
SELECT engram.create_space('alice_space');
SELECT engram.create_space('bob_space');
SELECT engram.grant_space('alice_space', 'regress_mem_alice');
SELECT engram.grant_space('bob_space', 'regress_mem_bob');
SELECT space, role::regrole FROM engram.space_grant ORDER BY space;

SET ROLE regress_mem_alice;
SELECT engram.remember('alice: the vault code is 1234', engram.embed_text('the vault code is 1234', 32), space => 'alice_space') AS a1 \gset
SELECT engram.remember('alice: lunch with Bob on Tuesday', engram.embed_text('lunch with Bob on Tuesday', 32), space => 'alice_space') AS a2 \gset
SELECT engram.associate(:a1, :a2);
-- not granted: a clear error; direct writes are refused to every tenant
-- (SELECT is its only table privilege: it writes through the API)
SELECT engram.remember('sneaky', space => 'bob_space');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO engram.memory (space, content) VALUES ('bob_space', 'sneaky');
\echo :LAST_ERROR_SQLSTATE
UPDATE engram.memory SET space = 'bob_space' WHERE id = :a1;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall(NULL, 5, 'bob_space', cue_text => 'vault');
\echo :LAST_ERROR_SQLSTATE
SELECT space, content FROM engram.memory ORDER BY id;
SELECT content FROM engram.recall(NULL, 5, 'alice_space', cue_text => 'vault');
RESET ROLE;

SET ROLE regress_mem_bob;
SELECT engram.remember('bob: my bike is blue', engram.embed_text('my bike is blue', 32), space => 'bob_space') AS b1 \gset
-- bob sees nothing of alice's
SELECT space, content FROM engram.memory ORDER BY id;
SELECT count(*) FROM engram.association;
SELECT space, content FROM engram.memories ORDER BY id;
SELECT space, memories FROM engram.memory_stats ORDER BY space;
SELECT engram.forget(:a1);
SELECT engram.forget('alice_space');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY sqlstate
SELECT engram.associate(:b1, :a1);
\set VERBOSITY default
SELECT count(*) FROM engram.spread(ARRAY[:a1]::bigint[]) WHERE hops > 0;
UPDATE engram.memory SET confidence = 0 WHERE space = 'alice_space';
DELETE FROM engram.memory WHERE space = 'alice_space';
RESET ROLE;

-- carol has alice's privileges, so she sees alice's space
SET ROLE regress_mem_carol;
SELECT space, content FROM engram.memory ORDER BY id;
SELECT count(*) AS links FROM engram.association;
RESET ROLE;

-- dave has no grant: no table privileges and a hint for the space
SET ROLE regress_mem_dave;
SELECT count(*) FROM engram.memory;
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('x', space => 'alice_space');
\echo :LAST_ERROR_SQLSTATE
-- and lists no space (row-level security on engram.space)
SELECT name FROM engram.space WHERE name LIKE '%_space' ORDER BY name;
-- access history is a read of the table: no SELECT, no history
SELECT * FROM engram._access('engram.memory', '(0,1)');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._record_access('engram.memory', '(0,1)');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- the owner sees everything; a link across spaces is hidden from both
SELECT space, content FROM engram.memory WHERE space LIKE '%_space' ORDER BY id;
SELECT engram.associate(:a1, :b1);
SET ROLE regress_mem_alice;
SELECT count(*) AS alice_links FROM engram.association;
RESET ROLE;
SELECT count(*) AS owner_links FROM engram.association WHERE :a1 IN (src, dst);

-- access history and tier by row position: bob holds SELECT on
-- engram.memory, but alice's rows are hidden from him by row-level
-- security, so he may neither read nor bump their access history or tier
SELECT ctid AS a1_tid FROM engram.memory WHERE id = :a1 \gset
SELECT ctid AS b1_tid FROM engram.memory WHERE id = :b1 \gset
SELECT engram.access_count(:a1) AS a1_count_before \gset
SET ROLE regress_mem_bob;
-- a position holding no row at all gives the same answer as a hidden row
SELECT * FROM engram._access('engram.memory', '(4000,1)');
-- (alice's row position depends on earlier tests: print the SQLSTATE only)
\set VERBOSITY sqlstate
SELECT * FROM engram._access('engram.memory', :'a1_tid');
SELECT engram._record_access('engram.memory', :'a1_tid');
SELECT engram._tier('engram.memory', :'a1_tid');
SELECT * FROM engram.access_history('engram.memory', :'a1_tid');
SELECT engram.record_access('engram.memory', :'a1_tid');
SELECT engram.tier_of('engram.memory', :'a1_tid');
\set VERBOSITY default
-- his own row works
SELECT access_count >= 0 AS own_ok FROM engram._access('engram.memory', :'b1_tid');
SELECT engram._record_access('engram.memory', :'b1_tid');
SELECT engram._tier('engram.memory', :'b1_tid');
SELECT engram.tier_of('engram.memory', :'b1_tid');
RESET ROLE;
SELECT engram.access_count(:a1) = :a1_count_before AS a1_count_unchanged;

-- the space checks of _check_space, in C, against 0.1.0's SQL rule for
-- each role and space: a direct grant, one through membership (carol), a
-- NOINHERIT member (erin: no privileges of alice), none (dave), the
-- superuser; a grant to a dropped role counts for nobody
CREATE ROLE regress_mem_erin NOINHERIT IN ROLE regress_mem_alice;
CREATE ROLE regress_mem_gone;
SELECT engram.create_space('gone_space');
SELECT engram.grant_space('gone_space', 'regress_mem_gone');
DROP OWNED BY regress_mem_gone;
DROP ROLE regress_mem_gone;
CREATE TEMP TABLE rls_check (who text, space text, allowed bool, bypassed bool, sql_allowed bool, sql_bypassed bool);
GRANT ALL ON rls_check TO PUBLIC;
CREATE FUNCTION pg_temp.rls_check_fill() RETURNS void LANGUAGE sql AS $$
	INSERT INTO rls_check
	SELECT current_user, s, engram._space_allowed(s), engram._rls_bypassed(),
		   EXISTS (SELECT 1 FROM engram.space_grant g
				   JOIN pg_roles r ON r.oid = g.role::oid
				   WHERE g.space = s AND pg_has_role(r.oid, 'USAGE')),
		   (SELECT r.rolsuper OR r.rolbypassrls OR pg_has_role(c.relowner, 'USAGE')
			FROM pg_roles r, pg_class c
			WHERE r.rolname = current_user AND c.oid = 'engram.memory'::regclass)
	FROM unnest(ARRAY['alice_space', 'bob_space', 'gone_space', 'default', NULL]) s
$$;
SELECT pg_temp.rls_check_fill();
SET ROLE regress_mem_alice;
SELECT pg_temp.rls_check_fill();
SET ROLE regress_mem_bob;
SELECT pg_temp.rls_check_fill();
SET ROLE regress_mem_carol;
SELECT pg_temp.rls_check_fill();
SET ROLE regress_mem_dave;
SELECT pg_temp.rls_check_fill();
SET ROLE regress_mem_erin;
SELECT pg_temp.rls_check_fill();
RESET ROLE;
SELECT CASE WHEN who = current_user THEN 'superuser' ELSE who END AS who,
	   string_agg(coalesce(space, 'NULL') || '=' || allowed, ' ' ORDER BY space) AS allowed,
	   bool_and(bypassed) AS bypassed
FROM rls_check GROUP BY who, bypassed ORDER BY 1;
SELECT count(*) AS checks,
	   count(*) FILTER (WHERE allowed IS DISTINCT FROM coalesce(sql_allowed, false)
						OR bypassed IS DISTINCT FROM sql_bypassed) AS differ_from_sql_rule
FROM rls_check;
DROP TABLE rls_check;
SELECT engram.drop_space('gone_space');
DROP ROLE regress_mem_erin;

-- revoke: alice loses the space and, with no space left, the privileges
SELECT engram.revoke_space('alice_space', 'regress_mem_alice');
SELECT count(*) FROM engram.space_grant WHERE role = 'regress_mem_alice'::regrole;
SET ROLE regress_mem_alice;
SELECT count(*) FROM engram.memory;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- clean up
SELECT engram.revoke_space('bob_space', 'regress_mem_bob');
SELECT engram.drop_space('alice_space', cascade => true);
SELECT engram.drop_space('bob_space', cascade => true);
DROP ROLE regress_mem_carol;
DROP ROLE regress_mem_alice;
DROP ROLE regress_mem_bob;
DROP ROLE regress_mem_dave;
SELECT count(*) FROM engram.space_grant;
