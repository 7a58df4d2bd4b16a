-- Memory API features (sql/install/55_memory_features.sql): updates with
-- history, supersede and invalidate, validity in time, expiry (TTL), keys
-- and namespaces, core memory blocks; their errors; row-level security and
-- the write path (tenants write only through the functions).
\set SHOW_CONTEXT never
CREATE ROLE regress_feat_alice;
CREATE ROLE regress_feat_bob;			-- no grant at all
SELECT engram.create_space('feat', 8);
SELECT engram.create_space('feat_other');
SELECT engram.grant_space('feat', 'regress_feat_alice');
-- ids in messages do not depend on the tests before this one (the
-- sequence is put back at the end)
SELECT last_value AS saved_last, is_called AS saved_called FROM engram.memory_id_seq \gset
ALTER SEQUENCE engram.memory_id_seq RESTART WITH 1000001;

-- 1. update_memory keeps the old version ---------------------------------------
SELECT engram.remember('Alice lives in Paris', engram.embed_text('Alice lives in Paris', 8),
					   space => 'feat', metadata => '{"user": "alice"}') AS m1 \gset
SELECT version, updated_at IS NULL AS never_updated FROM engram.memory WHERE id = :m1;
SELECT engram.update_memory(:m1, content => 'Alice lives in Lyon',
							embedding => engram.embed_text('Alice lives in Lyon', 8));
SELECT engram.update_memory(:m1, metadata => '{"user": "alice", "source": "chat"}', confidence => 0.8);
SELECT content, metadata, confidence, version, updated_at IS NOT NULL AS updated
FROM engram.memory WHERE id = :m1;
SELECT version, content, metadata, confidence, replaced_by, is_current,
	   replaced_at IS NULL AS open, written_at <= coalesce(replaced_at, now()) AS ordered
FROM engram.history(:m1);
-- the embedding of version 1 is kept too
SELECT embedding::text = engram.embed_text('Alice lives in Paris', 8)::text AS old_embedding_kept
FROM engram.memory_history WHERE memory_id = :m1 AND version = 1;
-- optimistic concurrency: the expected version must be the current one
SELECT engram.update_memory(:m1, content => 'stale write', expected_version => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:m1, content => 'Alice lives in Lyon, France', expected_version => 3);

-- errors
SELECT engram.update_memory(999999, content => 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(NULL, content => 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:m1);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:m1, content => '   ');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:m1, confidence => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:m1, confidence => 1.5);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:m1, metadata => '[1, 2]');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:m1, embedding => '[1,2,3]');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:m1, embedding => '[0,0,0,0,0,0,0,0]');
\echo :LAST_ERROR_SQLSTATE
SET engram.max_content_bytes = 100;
SELECT engram.update_memory(:m1, content => repeat('x', 101));
\echo :LAST_ERROR_SQLSTATE
RESET engram.max_content_bytes;
BEGIN READ ONLY;
SELECT engram.update_memory(:m1, content => 'read only');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- nothing of the failed calls was written
SELECT version, content FROM engram.memory WHERE id = :m1;
SELECT count(*) AS history_rows FROM engram.memory_history WHERE memory_id = :m1;

-- 2. supersede: the old memory stays, invalid from a time -----------------------
SELECT engram.supersede(:m1, 'Alice lives in Berlin',
						embedding => engram.embed_text('Alice lives in Berlin', 8),
						valid_from => '2026-06-01 00:00+00') AS m2 \gset
SELECT id = :m1 AS is_old, content, valid_from, valid_to, superseded_by = :m2 AS superseded_by_new,
	   invalidated_at IS NOT NULL AS invalidated, metadata, confidence
FROM engram.memory WHERE id IN (:m1, :m2) ORDER BY id;
SELECT version, replaced_by, is_current FROM engram.history(:m1);
-- a superseded memory is neither superseded nor updated again
SELECT engram.supersede(:m1, 'Alice lives in Rome');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:m1, content => 'Alice lives in Rome');
\echo :LAST_ERROR_SQLSTATE
-- the new one can be superseded in turn, not from before its own validity
SELECT engram.supersede(:m2, 'Alice lives in Rome', valid_from => '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.supersede(:m2, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.supersede(999999, 'x');
\echo :LAST_ERROR_SQLSTATE

-- invalidate: no longer true, without a successor
SELECT engram.remember('The office is open on Saturdays', space => 'feat') AS m3 \gset
SELECT engram.invalidate(:m3, '2026-07-01 00:00+00');
SELECT valid_to, superseded_by, version FROM engram.memory WHERE id = :m3;
SELECT engram.invalidate(:m3);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:m3, content => 'x');
\echo :LAST_ERROR_SQLSTATE

-- 3. validity in time ---------------------------------------------------------------
SELECT f, t, a, engram.valid_at(f, t, a) AS valid
FROM (VALUES (NULL::timestamptz, NULL::timestamptz, '2026-01-01'::timestamptz),
			 ('2026-01-01', NULL, '2025-12-31'),
			 ('2026-01-01', NULL, '2026-01-01'),
			 (NULL, '2026-01-01', '2025-12-31'),
			 (NULL, '2026-01-01', '2026-01-01'),
			 ('2026-01-01', '2026-02-01', '2026-01-15'),
			 ('2026-01-01', '2026-02-01', '2026-02-01')) v(f, t, a)
ORDER BY 1, 2, 3;
-- NULL as_of is now()
SELECT engram.valid_at(NULL, now() + interval '1 day', NULL) AS until_tomorrow,
	   engram.valid_at(NULL, now(), NULL) AS until_now,
	   engram.valid_at(now() + interval '1 day', NULL) AS from_tomorrow;
-- the predicate recall applies (docs/memory_api.md): what is valid now,
-- and what was valid on 2026-03-01 as far as the record then went
SELECT content FROM engram.memory m
WHERE m.space = 'feat' AND engram.valid_at(m.valid_from, m.valid_to, NULL)
ORDER BY id;
SELECT content FROM engram.memory m
WHERE m.space = 'feat'
  AND engram.valid_at(m.valid_from, m.valid_to, '2026-03-01 00:00+00')
ORDER BY id;

-- 4. expiry ---------------------------------------------------------------------------
-- fixed and sliding expiry per memory
SELECT engram.remember('expired yesterday', space => 'feat') AS e1 \gset
SELECT engram.remember('expires tomorrow', space => 'feat') AS e2 \gset
SELECT engram.remember('unused for two hours, ttl one hour', space => 'feat') AS e3 \gset
SELECT engram.remember('created two hours ago, read just now, ttl one hour', space => 'feat') AS e4 \gset
SELECT engram.set_expiry(:e1, expires_at => now() - interval '1 day');
SELECT engram.set_expiry(:e2, expires_at => now() + interval '1 day');
SELECT engram.set_expiry(:e3, ttl => '1 hour');
SELECT engram.set_expiry(:e4, ttl => '1 hour');
-- age them (as the superuser, directly); an update starts a fresh access history
UPDATE engram.memory SET created_at = now() - interval '2 hours' WHERE id IN (:e3, :e4);
-- a read of e4 (as recall records one for every memory it returns),
-- recorded at commit, refreshes its sliding TTL
SELECT engram._record_access('engram.memory', ctid) FROM engram.memory WHERE id = :e4;
SELECT engram.expire('feat') AS expired;
SELECT content AS still_there FROM engram.memory WHERE id IN (:e1, :e2, :e3, :e4) ORDER BY id;
SELECT engram.expire('feat') AS expired_again;
-- get() records its read too, and returns no expired memory
SELECT engram.put('feat', 'note', 'a keyed note', ttl => '1 hour') AS n1 \gset
SELECT content, ttl FROM engram.get('feat', 'note');
SELECT engram.access_count(:n1) AS reads;
SELECT content FROM engram.get('feat', 'note', record_access => false);
SELECT engram.access_count(:n1) AS reads_unchanged;
UPDATE engram.memory SET created_at = now() - interval '2 hours' WHERE id = :n1;
SELECT count(*) AS expired_not_returned FROM engram.get('feat', 'note');
SELECT engram.expire('feat') AS expired_note;
-- a per-space default: fixed, or sliding (refreshed by recorded reads)
SELECT engram.set_space_ttl('feat_other', '30 days', refresh_on_read => false);
SELECT engram.remember('fixed default', space => 'feat_other') AS d1 \gset
SELECT expires_at BETWEEN now() + interval '30 days' - interval '1 minute'
						AND now() + interval '30 days' AS fixed_30_days, ttl
FROM engram.memory WHERE id = :d1;
SELECT engram.set_space_ttl('feat_other', '7 days');
SELECT engram.remember('sliding default', space => 'feat_other') AS d2 \gset
SELECT expires_at, ttl FROM engram.memory WHERE id = :d2;
SELECT space, default_ttl, refresh_on_read FROM engram.space_policy ORDER BY space;
SELECT engram.set_space_ttl('feat_other', NULL);
SELECT engram.remember('no default', space => 'feat_other') AS d3 \gset
SELECT expires_at, ttl FROM engram.memory WHERE id = :d3;
SELECT engram.expire('feat_other') AS nothing_expired;
-- errors
SELECT engram.set_space_ttl('feat_other', '-1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_ttl('no_such_space', '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_ttl('Bad Name', '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_expiry(:d3, ttl => '0 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_expiry(:d3, expires_at => 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_expiry(999999, expires_at => now());
\echo :LAST_ERROR_SQLSTATE
SELECT engram.expire('no_such_space');
\echo :LAST_ERROR_SQLSTATE
-- the background worker's schedule: expiry every engram.expire_naptime,
-- then the consolidations that are due (engram._run_schedules, which the
-- worker calls; here by hand)
SHOW engram.expire_naptime;
SELECT engram.remember('the train to Porto leaves at nine', engram.embed_text('the train to Porto leaves at nine', 8),
					   space => 'feat') > 0 AS r1,
	   engram.remember('the train to Porto leaves at nine.', engram.embed_text('the train to Porto leaves at nine', 8),
					   space => 'feat') > 0 AS r2;
SELECT engram.set_space_schedule('feat', '1 hour');
SELECT engram._run_schedules() AS consolidated_spaces;
SELECT content, jsonb_array_length(metadata->'sources') AS sources FROM engram.memory WHERE space = 'feat' AND kind = 'semantic' AND key IS NULL;
SELECT consolidate_every, last_consolidated IS NOT NULL AS ran FROM engram.space_policy WHERE space = 'feat';
SELECT engram._run_schedules() AS not_due_yet;
SELECT engram.set_space_schedule('feat', '10 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_schedule('feat', NULL);
SELECT engram._run_schedules() AS none_scheduled;

-- 5. keys and namespaces ---------------------------------------------------------
SELECT engram.put('feat', 'prefs', 'likes tea', namespace => '{users,u1}',
				  metadata => '{"kind": "preference"}') AS k1 \gset
SELECT engram.put('feat', 'prefs', 'likes coffee', namespace => '{users,u1}') = :k1 AS same_id;
SELECT engram.put('feat', 'prefs', 'likes water', namespace => '{users,u2}') <> :k1 AS other_namespace;
SELECT engram.put('feat', 'profile', 'name: Ann', namespace => '{users,u2,profile}') AS k3 \gset
SELECT content, metadata, version FROM engram.get('feat', 'prefs', '{users,u1}');
SELECT version, content, replaced_by, is_current FROM engram.history(:k1);
SELECT count(*) AS missing FROM engram.get('feat', 'nope', '{users,u1}');
SELECT * FROM engram.list_namespaces(space => 'feat');
SELECT * FROM engram.list_namespaces('{users}', 'feat', max_depth => 2);
SELECT * FROM engram.list_namespaces('{users,u2}', 'feat');
SELECT * FROM engram.list_namespaces('{nobody}', 'feat');
SELECT * FROM engram.list_namespaces(space => 'feat', "limit" => 1, "offset" => 1);
-- a superseded keyed memory hands its key to its successor
SELECT engram.supersede(:k3, 'name: Anna') AS k4 \gset
SELECT id = :k4 AS successor, content FROM engram.get('feat', 'profile', '{users,u2,profile}');
SELECT engram.delete_key('feat', 'prefs', '{users,u2}') AS deleted,
	   engram.delete_key('feat', 'prefs', '{users,u2}') AS deleted_again;
-- keys are unique in (space, namespace) for direct writes too
INSERT INTO engram.memory (space, content, key, namespace) VALUES ('feat', 'dup', 'prefs', '{users,u1}');
\echo :LAST_ERROR_SQLSTATE
-- errors
SELECT engram.put('feat', NULL, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('feat', '  ', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('feat', repeat('k', 1025), 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('feat', 'k', 'x', namespace => '{a,NULL}');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('feat', 'k', 'x', namespace => '{a,""}');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('feat', 'k', 'x', namespace => (SELECT array_agg(i::text) FROM generate_series(1, 33) i));
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('feat', 'k', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('feat', 'k', 'x', confidence => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('feat', 'k', 'x', ttl => '-1 hour');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('no_such_space', 'k', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.list_namespaces(space => 'feat', max_depth => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.list_namespaces(space => 'feat', "limit" => 0);
\echo :LAST_ERROR_SQLSTATE

-- 6. core memory blocks ------------------------------------------------------------
SELECT engram.set_block('feat', 'persona', 'I am a helpful assistant.', "limit" => 60,
						description => 'who the agent is');
SELECT engram.set_block('feat', 'human', '');
SELECT engram.append_block('feat', 'human', 'Name: Ann.');
SELECT engram.append_block('feat', 'human', 'Likes: tea.');
SELECT engram.replace_block('feat', 'human', 'tea', 'coffee');
SELECT engram.get_block('feat', 'human');
SELECT label, value, "limit", description, version FROM engram.core_blocks('feat');
SELECT version, value, replaced_by, is_current FROM engram.block_history('feat', 'human');
SELECT engram.set_block('feat', 'persona', 'I am a terse assistant.');
SELECT "limit", description, version FROM engram.core_blocks('feat') WHERE label = 'persona';
-- errors: over the limit, unknown block, bad label, bad limit
SELECT engram.append_block('feat', 'persona', repeat('x', 40));
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_block('feat', 'persona', repeat('x', 61));
\echo :LAST_ERROR_SQLSTATE
SELECT engram.get_block('feat', 'nope');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.append_block('feat', 'nope', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.replace_block('feat', 'human', 'not there', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_block('feat', 'bad label!', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_block('feat', 'big', 'x', "limit" => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_block('feat', 'nul', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.get_block('no_such_space', 'human');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.get_block('feat', 'persona');
SELECT engram.delete_block('feat', 'human') AS deleted, engram.delete_block('feat', 'human') AS again;
SELECT count(*) AS history_left FROM engram.core_block_history WHERE space = 'feat' AND label = 'human';

-- 7. tenants: row-level security, writes only through the functions -----------
SET ROLE regress_feat_alice;
SELECT engram.put('feat', 'alice-key', 'alice''s fact') AS a1 \gset
SELECT engram.update_memory(:a1, content => 'alice''s fact, revised');
SELECT version, content, is_current FROM engram.history(:a1);
SELECT engram.set_block('feat', 'alice-block', 'hello');
SELECT engram.append_block('feat', 'alice-block', 'world', ' ');
SELECT engram.set_space_ttl('feat', NULL);
SELECT engram.expire('feat');
SELECT engram.expire() AS expired_in_her_spaces;
-- not her space: refused, and nothing learnt about ids there
SELECT engram.put('feat_other', 'k', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.update_memory(:d3, content => 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.supersede(:d3, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.history(:d3);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_block('feat_other', 'b', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.expire('feat_other');
\echo :LAST_ERROR_SQLSTATE
-- no direct writes to the new tables, no direct call of the implementations
INSERT INTO engram.memory_history (memory_id, version, space, content, metadata, confidence, written_at, replaced_by)
	VALUES (:a1, 99, 'feat', 'forged', '{}', 1, now(), 'update');
\echo :LAST_ERROR_SQLSTATE
UPDATE engram.core_block SET value = 'forged';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO engram.space_policy VALUES ('feat_other', '1 second', true);
\echo :LAST_ERROR_SQLSTATE
SELECT engram._update_memory_impl(:d3, 'x', NULL, NULL, NULL, NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT engram._expire_impl(NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT engram._run_schedules();
\echo :LAST_ERROR_SQLSTATE
SELECT engram.set_space_schedule('feat_other', '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT DISTINCT space FROM engram.memory_history ORDER BY 1;
SELECT DISTINCT space FROM engram.core_block ORDER BY 1;
RESET ROLE;

SET ROLE regress_feat_bob;
SELECT engram.update_memory(:a1, content => 'bob was here');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.put('feat', 'alice-key', 'bob was here');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.get_block('feat', 'alice-block');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.expire() AS nothing_of_his;
-- without a grant no SELECT on the tables at all (no counts, no plans)
SELECT count(*) AS history_rows FROM engram.memory_history;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS blocks FROM engram.core_block;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS policies FROM engram.space_policy;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- SELECT follows the space grants
SELECT r.rolname, t.tbl, has_table_privilege(r.oid, t.tbl, 'SELECT') AS can_select
FROM pg_roles r,
	 (VALUES ('engram.memory_history'), ('engram.space_policy'), ('engram.core_block'),
			 ('engram.core_block_history')) t(tbl)
WHERE r.rolname IN ('regress_feat_alice', 'regress_feat_bob') ORDER BY 1, 2;
SELECT engram.grant_space('feat_other', 'regress_feat_bob');
SELECT has_table_privilege('regress_feat_bob', 'engram.core_block', 'SELECT') AS bob_after_grant;
SET ROLE regress_feat_bob;
SELECT count(*) AS blocks_of_feat_other FROM engram.core_block;
RESET ROLE;
SELECT engram.revoke_space('feat_other', 'regress_feat_bob');
SELECT has_table_privilege('regress_feat_bob', 'engram.core_block', 'SELECT') AS bob_after_revoke;
SELECT content, version FROM engram.memory WHERE id = :a1;
SELECT engram.get_block('feat', 'alice-block');

-- every write function is SECURITY INVOKER and every implementation is
-- closed to PUBLIC
SELECT p.proname, p.prosecdef, has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec
FROM pg_proc p
WHERE p.pronamespace = 'engram'::regnamespace
  AND (p.prosrc = 'engram_write_feature' OR p.proname LIKE '\_%\_impl')
ORDER BY p.proname;

SELECT engram.revoke_space('feat', 'regress_feat_alice');
SELECT engram.drop_space('feat', cascade => true);
SELECT engram.drop_space('feat_other', cascade => true);
SELECT count(*) AS blocks_left FROM engram.core_block WHERE space IN ('feat', 'feat_other');
SELECT count(*) AS policies_left FROM engram.space_policy WHERE space IN ('feat', 'feat_other');
SELECT count(*) AS history_left FROM engram.memory_history WHERE space IN ('feat', 'feat_other');
SELECT setval('engram.memory_id_seq', :saved_last, :'saved_called') IS NOT NULL AS sequence_restored;
DROP ROLE regress_feat_alice;
DROP ROLE regress_feat_bob;
