-- ---------------------------------------------------------------------
-- 30_tier: tiered storage of engram table rows (src/tier_*.c)
--
-- HOT rows are stored plain, WARM rows lz4-compressed one by one, COLD
-- rows lz4-HC-compressed in chunks of many rows on chunk pages.  A row's
-- TID never changes with its tier.  The background worker (with
-- shared_preload_libraries = 'engram') or engram.migrate() moves rows by
-- heat = (1 + access_count) * 2^(-age / engram.heat_half_life) and the
-- GUCs engram.warm_after, engram.cold_after and engram.hot_budget.
-- ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.migrate(rel pg_catalog.regclass,
									max_bytes pg_catalog.int8 DEFAULT NULL,
									target pg_catalog.text DEFAULT NULL)
	RETURNS TABLE(direction pg_catalog.text, rows pg_catalog.int8, bytes pg_catalog.int8)
	AS 'MODULE_PATHNAME', 'engram_migrate'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.migrate(pg_catalog.regclass, pg_catalog.int8, pg_catalog.text) IS
'One migration pass over an engram table: by policy, or forcing every row to target (''hot'', ''warm'', ''cold''). Returns rows and raw bytes moved per direction.';

CREATE FUNCTION @extschema@.tier_of(rel pg_catalog.regclass, tid pg_catalog.tid)
	RETURNS pg_catalog.text
	AS 'MODULE_PATHNAME', 'engram_tier_of'
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.tier_of(pg_catalog.regclass, pg_catalog.tid) IS
'Storage tier (''hot'', ''warm'', ''cold'') of the row version at tid of an engram table; NULL when no row is stored there.';

CREATE FUNCTION @extschema@.tier_stats(rel pg_catalog.regclass)
	RETURNS TABLE(tier pg_catalog.text, rows pg_catalog.int8, body_bytes pg_catalog.int8,
				  raw_bytes pg_catalog.int8, body_ratio pg_catalog.float4)
	AS 'MODULE_PATHNAME', 'engram_tier_stats'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.tier_stats(pg_catalog.regclass) IS
'Row versions per tier, the bytes of their bodies as stored (COLD: references plus the chunk items they use; not row headers, line pointers or free space: pg_relation_size gives the file), their raw attribute bytes and raw_bytes / body_bytes. For the table''s owner and members of pg_read_all_stats.';

CREATE FUNCTION @extschema@.verify(rel pg_catalog.regclass)
	RETURNS TABLE(blkno pg_catalog.int8, offnum pg_catalog.int4, problem pg_catalog.text)
	AS 'MODULE_PATHNAME', 'engram_verify'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.verify(pg_catalog.regclass) IS
'Check every page, line pointer, row header and compressed body of an engram table; one row per problem, none when healthy. For the table''s owner and members of pg_read_all_stats.';

CREATE FUNCTION @extschema@.access_history(rel pg_catalog.regclass, tid pg_catalog.tid,
										   OUT access_count pg_catalog.int4,
										   OUT last_access pg_catalog.timestamptz)
	AS 'MODULE_PATHNAME', 'engram_access_history'
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.access_history(pg_catalog.regclass, pg_catalog.tid) IS
'Recorded reads (engram.record_access, recall) of the row version at tid of an engram table and the time of the last one.';

CREATE FUNCTION @extschema@.record_access(rel pg_catalog.regclass, tid pg_catalog.tid)
	RETURNS void
	AS 'MODULE_PATHNAME', 'engram_record_access_sql'
	LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.record_access(pg_catalog.regclass, pg_catalog.tid) IS
'Note a read of the row at tid; written into the row header (no new row version) when the transaction commits.';

CREATE VIEW @extschema@.tier_stats_all AS
	SELECT c.oid::pg_catalog.regclass AS relation, s.tier, s.rows, s.body_bytes, s.raw_bytes, s.body_ratio
	FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_am a ON a.oid = c.relam AND a.amname = 'engram'
	CROSS JOIN LATERAL @extschema@.tier_stats(c.oid::pg_catalog.regclass) s
	WHERE c.relkind IN ('r', 'm')
	  AND (c.relpersistence <> 't' OR c.relnamespace = pg_catalog.pg_my_temp_schema())
	  AND (pg_catalog.pg_has_role(c.relowner, 'USAGE')
		   OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));

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
