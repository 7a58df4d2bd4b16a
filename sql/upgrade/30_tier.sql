-- ---------------------------------------------------------------------
-- 30_tier (upgrade 0.1.0 -> 0.2.0).  Twin of sql/install/30_tier.sql.
--   * tier_stats() and verify() are for the table's owner and
--     pg_read_all_stats (src/tier_sql.c); the view tier_stats_all lists
--     only those tables (issue 16).
--   * tier_stats names its byte columns for what they count (issue 22):
--     bytes -> body_bytes, ratio -> body_ratio.  The view depends on it.
--   * the background worker's state: tier_worker_state(), view tier_worker
--     (issue 24 item 5).
-- ---------------------------------------------------------------------

DROP VIEW @extschema@.tier_stats_all;
DROP FUNCTION @extschema@.tier_stats(pg_catalog.regclass);

CREATE FUNCTION @extschema@.tier_stats(rel pg_catalog.regclass)
	RETURNS TABLE(tier pg_catalog.text, rows pg_catalog.int8, body_bytes pg_catalog.int8,
				  raw_bytes pg_catalog.int8, body_ratio pg_catalog.float4)
	AS 'MODULE_PATHNAME', 'engram_tier_stats'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.tier_stats(pg_catalog.regclass) IS
'Row versions per tier, the bytes of their bodies as stored (COLD: references plus the chunk items they use; not row headers, line pointers or free space: pg_relation_size gives the file), their raw attribute bytes and raw_bytes / body_bytes. For the table''s owner and members of pg_read_all_stats.';

COMMENT ON FUNCTION @extschema@.verify(pg_catalog.regclass) IS
'Check every page, line pointer, row header and compressed body of an engram table; one row per problem, none when healthy. For the table''s owner and members of pg_read_all_stats.';

CREATE VIEW @extschema@.tier_stats_all AS
	SELECT c.oid::pg_catalog.regclass AS relation, s.tier, s.rows, s.body_bytes, s.raw_bytes, s.body_ratio
	FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_am a ON a.oid = c.relam AND a.amname = 'engram'
	CROSS JOIN LATERAL @extschema@.tier_stats(c.oid::pg_catalog.regclass) s
	WHERE c.relkind IN ('r', 'm')
	  AND (c.relpersistence <> 't' OR c.relnamespace = pg_catalog.pg_my_temp_schema())
	  AND (pg_catalog.pg_has_role(c.relowner, 'USAGE')
		   OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));

-- the background worker's state (issue 24 item 5)

CREATE FUNCTION @extschema@.tier_worker_state(
	OUT running pg_catalog.bool, OUT pid pg_catalog.int4, OUT database pg_catalog.text,
	OUT started pg_catalog.timestamptz, OUT last_pass_start pg_catalog.timestamptz,
	OUT last_pass_end pg_catalog.timestamptz, OUT passes pg_catalog.int8,
	OUT table_slices pg_catalog.int8, OUT pages pg_catalog.int8,
	OUT rows_moved pg_catalog.int8, OUT bytes_moved pg_catalog.int8,
	OUT chunks_reclaimed pg_catalog.int8, OUT errors pg_catalog.int8,
	OUT last_error_time pg_catalog.timestamptz, OUT last_error pg_catalog.text)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'engram_tier_worker_state'
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.tier_worker_state() IS
'State of the background tier migration workers, one row per database they serve (none unless engram is in shared_preload_libraries): passes, pages visited, rows and raw bytes moved, chunks reclaimed, errors and the last one.';

REVOKE ALL ON FUNCTION @extschema@.tier_worker_state() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.tier_worker_state() TO pg_read_all_stats;

CREATE VIEW @extschema@.tier_worker AS
	SELECT running, pid, database, started, last_pass_start, last_pass_end, passes,
		   table_slices, pages, rows_moved, bytes_moved, chunks_reclaimed, errors,
		   last_error_time, last_error
	FROM @extschema@.tier_worker_state();

COMMENT ON VIEW @extschema@.tier_worker IS
'The background tier migration workers, one row per database served: whether they run, the last pass, totals since the server started, errors.';

REVOKE ALL ON @extschema@.tier_worker FROM PUBLIC;
GRANT SELECT ON @extschema@.tier_worker TO pg_read_all_stats;
