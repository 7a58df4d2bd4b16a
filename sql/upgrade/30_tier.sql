-- ---------------------------------------------------------------------
-- 30_tier (upgrade 0.1.0 -> 0.2.0): tier_stats() and verify() are for the
-- table's owner and pg_read_all_stats (src/tier_sql.c); the view
-- tier_stats_all lists only those tables.  Twin of sql/install/30_tier.sql.
-- ---------------------------------------------------------------------

COMMENT ON FUNCTION @extschema@.tier_stats(pg_catalog.regclass) IS
'Row versions per tier, their on-disk body bytes (COLD: references plus the chunks they use), their raw attribute bytes and raw/disk ratio. For the table''s owner and members of pg_read_all_stats.';

COMMENT ON FUNCTION @extschema@.verify(pg_catalog.regclass) IS
'Check every page, line pointer, row header and compressed body of an engram table; one row per problem, none when healthy. For the table''s owner and members of pg_read_all_stats.';

CREATE OR REPLACE VIEW @extschema@.tier_stats_all AS
	SELECT c.oid::pg_catalog.regclass AS relation, s.tier, s.rows, s.bytes, s.raw_bytes, s.ratio
	FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_am a ON a.oid = c.relam AND a.amname = 'engram'
	CROSS JOIN LATERAL @extschema@.tier_stats(c.oid::pg_catalog.regclass) s
	WHERE c.relkind IN ('r', 'm')
	  AND (c.relpersistence <> 't' OR c.relnamespace = pg_catalog.pg_my_temp_schema())
	  AND (pg_catalog.pg_has_role(c.relowner, 'USAGE')
		   OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));
