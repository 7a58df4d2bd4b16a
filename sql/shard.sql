-- Sharding (sql/install/60_shard.sql): every error path that needs no
-- second node, and node numbering.  The routed paths, the equality with
-- one node, moves and failover are TAP tests (test/t/100_shard_basic.pl,
-- test/t/102_shard_move.pl, test/t/101_shard_failover.pl).
\set SHOW_CONTEXT never
SELECT engram.shard_node();

-- node numbers
SELECT engram.shard_init(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.shard_init(-1);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.shard_init(32768);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.shard_init(1, 0::oid::regrole);
\echo :LAST_ERROR_SQLSTATE
CREATE ROLE shard_tenant;
SET ROLE shard_tenant;
SELECT engram.shard_init(1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- numbered, a node's new ids are node << 48 + serial (rolled back: the
-- other tests keep node 0)
BEGIN;
SELECT engram.create_space('shard_ids');
SELECT engram.shard_init(7, 'shard_tenant');
SELECT engram.shard_node();
SELECT engram.remember('numbered', NULL, 1, 'shard_ids') >> 48 AS node_of_id;
SELECT has_function_privilege('shard_tenant', 'engram._shard_serve(text, jsonb)', 'EXECUTE') AS service_may_serve;
ROLLBACK;
SELECT engram.shard_node();
SELECT has_function_privilege('shard_tenant', 'engram._shard_serve(text, jsonb)', 'EXECUTE') AS tenant_may_serve;

-- the shard-side entry point refuses what the coordinator did not allow
SELECT engram._shard_serve('remember', '{"space": "default", "content": "x", "allowed": ["other"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._shard_serve('candidates', '{"spaces": ["default", "other"], "allowed": ["default"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._shard_serve('consolidate', '[{"space": "default"}, {"allowed": ["default"]}]');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._shard_serve('consolidate', '{"space": "default"}');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._shard_serve('consolidate', '{"allowed": null}');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._shard_serve('no_such_op', '{"allowed": null}');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._shard_serve('hello', '{"allowed": []}');
-- adopting a space: only for the service role (none on this node)
SELECT engram._shard_adopt('default', NULL);
\echo :LAST_ERROR_SQLSTATE
-- moving a space: the shard-side step only for the service role (none on
-- this node); seeding access history only for the table owner, sane counts
SELECT engram._move_apply('default', '{"purge": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._move_apply('default', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT engram._seed_access('engram.memory', '(0,1)', -1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT engram._seed_access('engram.memory', '(0,1)', NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SET ROLE shard_tenant;
SELECT engram._seed_access('engram.memory', '(0,1)', 1, NULL);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- coordinator administration
SELECT engram.add_shard('Bad Name', 'host=x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.add_shard('s1', 'host=x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._shard_call('s1', 'hello', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT engram._shard_call('s1', 'consolidate', '[{"space": "default"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.place_space('default', 'no_such_shard');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remove_shard('no_such_shard');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.move_space('default', 'no_such_shard');
\echo :LAST_ERROR_SQLSTATE
SET ROLE shard_tenant;
SELECT engram.add_shard('s1', 'host=x');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.place_space('default', 's1');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.move_space('default', 's1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM engram.placements;
-- no placement: the routing hooks leave every call local
SELECT engram._shard_forget(1), engram._shard_associate(1, 2, 1);

-- recall_spaces' argument checks
SELECT * FROM engram.recall_spaces(NULL, ARRAY['default'], k => 0, cue_text => 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall_spaces(NULL, '{}', cue_text => 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall_spaces(NULL, ARRAY['default', NULL], cue_text => 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall_spaces(NULL, ARRAY['default']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall_spaces(NULL, ARRAY['default'], cue_text => 'x', min_confidence => 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall_spaces('[0,0,0]', ARRAY['default']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall_spaces(NULL, ARRAY['default'], cue_text => 'the');
SET ROLE shard_tenant;
SELECT * FROM engram.recall_spaces(NULL, ARRAY['default'], cue_text => 'x');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE shard_tenant;
