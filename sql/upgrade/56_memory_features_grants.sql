-- 56 (upgrade 0.1.0 -> 0.2.0): after sql/install/55_memory_features.sql, which the
-- upgrade script runs as it is (sql/upgrade/55_memory_features.sql is a link to it).

-- upgrade only: roles holding a space grant in 0.1.0 get SELECT on the new
-- tables, as the trigger of 55 gives it with every new grant
DO $$
DECLARE
	v_role		pg_catalog.regrole;
BEGIN
	FOR v_role IN
		SELECT DISTINCT g.role FROM @extschema@.space_grant g
		JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid
	LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON %s.memory_history, %s.space_policy, %s.core_block, %s.core_block_history TO %s',
								  '@extschema@', '@extschema@', '@extschema@', '@extschema@', v_role);
	END LOOP;
END
$$;
