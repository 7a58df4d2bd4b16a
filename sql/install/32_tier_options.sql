-- ---------------------------------------------------------------------
-- 32_tier_options: per-table options of the tiered storage (issue 22).
-- Wholly new in 0.2.0: the upgrade runs this file as it is
-- (sql/upgrade/32_tier_options.sql links to it).
--
--   cold_vectors  'lossless' (default: no row is in the table, or the row
--                 kept with rounded set after 'float16' was turned off) or
--                 'float16': engram.vector values of rows that go COLD
--                 are rounded to float16's precision, 11 significant bits
--                 (kept as float4, float4's range).  VALUES CHANGE.  Read by migration passes and
--                 by VACUUM FULL / CLUSTER (src/tier_body.c,
--                 tier_lossy_init, which applies a row only while the
--                 owner, schema and name it recorded are the table's); ADR 0013.
--   rounded       set once cold_vectors has been 'float16' for the row's
--                 table, never cleared while the table exists (a trigger
--                 below): its rows may hold rounded vectors whose
--                 engram_hnsw codes were computed from the original values,
--                 so index scans keep widening their distance bounds
--                 (src/ann_scan.c, tier_table_lossy) also after the option
--                 goes back to 'lossless', which keeps the row.
-- ---------------------------------------------------------------------

-- A row can outlive its table (the drop trigger below does not run when a
-- TEMP table goes at session end, nor when event triggers are disabled), and
-- the table's OID can then be reused by another role's table.  So each row
-- also records the identity of the table it was set for, its owner, schema
-- and name; the row-level security policies below hold direct writes to the
-- table's current identity, and the C reader (tier_lossy_init) applies a row
-- only while all three still match the table's pg_class row: a stale row
-- never makes another table lossy.  ALTER TABLE ... RENAME / SET SCHEMA /
-- OWNER TO make the option stop applying (back to lossless) until it is set
-- again.
CREATE TABLE @extschema@.table_option (
	relation pg_catalog.regclass PRIMARY KEY,
	cold_vectors pg_catalog.text NOT NULL DEFAULT 'lossless'
		CHECK (cold_vectors IN ('lossless', 'float16')),
	relowner pg_catalog.regrole NOT NULL,
	relnamespace pg_catalog.regnamespace NOT NULL,
	relname pg_catalog.name NOT NULL,
	rounded pg_catalog.bool NOT NULL DEFAULT false
);

COMMENT ON TABLE @extschema@.table_option IS
'Per-table options of engram tables, set with engram.set_table_option. cold_vectors = float16 is LOSSY: vectors of COLD rows are rounded to float16 precision (11 significant bits) and keep the rounded values.';

-- a role sets options of the tables it has the privileges of the owner of
ALTER TABLE @extschema@.table_option ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_option_read ON @extschema@.table_option FOR SELECT USING (true);
-- (USING: the current owner of the table with that OID may replace any row
-- for it, a stale one too; WITH CHECK: a written row names the table's
-- current owner, schema and name)
CREATE POLICY table_option_insert ON @extschema@.table_option FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM pg_catalog.pg_class c
						 WHERE c.oid = relation
						   AND c.relowner = table_option.relowner
						   AND c.relnamespace = table_option.relnamespace
						   AND c.relname = table_option.relname
						   AND pg_catalog.pg_has_role(c.relowner, 'USAGE')));
CREATE POLICY table_option_update ON @extschema@.table_option FOR UPDATE
	USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
								   WHERE c.oid = relation), 'USAGE'))
	WITH CHECK (EXISTS (SELECT 1 FROM pg_catalog.pg_class c
						 WHERE c.oid = relation
						   AND c.relowner = table_option.relowner
						   AND c.relnamespace = table_option.relnamespace
						   AND c.relname = table_option.relname
						   AND pg_catalog.pg_has_role(c.relowner, 'USAGE')));
-- the owner deletes only a row that never said float16: a rounded table's
-- row stays while the table exists (its index scans widen by it)
CREATE POLICY table_option_delete ON @extschema@.table_option FOR DELETE
	USING (NOT rounded AND cold_vectors = 'lossless'
		   AND pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
									   WHERE c.oid = relation), 'USAGE'));
-- anyone may forget the option of a table that no longer exists (the drop
-- trigger below runs as whoever drops it, e.g. by DROP SCHEMA ... CASCADE)
CREATE POLICY table_option_gone ON @extschema@.table_option FOR DELETE
	USING (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = relation));

REVOKE ALL ON @extschema@.table_option FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.table_option TO PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.table_option', '');

CREATE FUNCTION @extschema@.set_table_option(rel pg_catalog.regclass,
											 option pg_catalog.text,
											 value pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql VOLATILE STRICT
	SET search_path = pg_catalog, pg_temp
AS $opt$
DECLARE
	owner pg_catalog.oid;
	nsp pg_catalog.oid;
	tname pg_catalog.name;
	am pg_catalog.name;
BEGIN
	SELECT c.relowner, c.relnamespace, c.relname, a.amname INTO owner, nsp, tname, am
	  FROM pg_catalog.pg_class c
	  LEFT JOIN pg_catalog.pg_am a ON a.oid = c.relam
	 WHERE c.oid = rel;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', rel::pg_catalog.oid
			USING ERRCODE = 'undefined_table';
	END IF;
	-- runs as the caller; the row-level security policy holds direct writes
	-- to the same rule
	IF NOT pg_catalog.pg_has_role(owner, 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table %', rel
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF am IS DISTINCT FROM 'engram' THEN
		RAISE EXCEPTION '"%" is not an engram table', rel
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'Table options apply to tables created USING engram.';
	END IF;
	IF option <> 'cold_vectors' THEN
		RAISE EXCEPTION 'unknown engram table option "%"', option
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The only option is cold_vectors (''lossless'' or ''float16'').';
	END IF;
	IF value NOT IN ('lossless', 'float16') THEN
		RAISE EXCEPTION 'invalid value "%" for engram table option cold_vectors', value
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''lossless'' (the default) or ''float16'' (lossy: values change).';
	END IF;
	IF value = 'lossless' THEN
		-- the row stays, rounded set (by the trigger below) when it said
		-- float16: rows rounded before keep their values, and the index
		-- codes computed from the originals need the widened bounds
		UPDATE @extschema@.table_option
		   SET cold_vectors = value, relowner = owner, relnamespace = nsp, relname = tname
		 WHERE relation = rel;
	ELSE
		-- (the identity too: it replaces a stale row left for the OID)
		INSERT INTO @extschema@.table_option
				(relation, cold_vectors, relowner, relnamespace, relname)
			VALUES (rel, value, owner, nsp, tname)
			ON CONFLICT (relation) DO UPDATE
			SET cold_vectors = EXCLUDED.cold_vectors, relowner = EXCLUDED.relowner,
				relnamespace = EXCLUDED.relnamespace, relname = EXCLUDED.relname;
	END IF;
END
$opt$;

COMMENT ON FUNCTION @extschema@.set_table_option(pg_catalog.regclass, pg_catalog.text, pg_catalog.text) IS
'Set an option of an engram table (its owner only). cold_vectors: ''lossless'' (default) or ''float16'', which is LOSSY: every engram.vector of a row that goes COLD (migration, VACUUM FULL, CLUSTER) is rounded to float16 precision (11 significant bits, float4 range), each component by at most 2^-11 of itself, and keeps the rounded value if it becomes HOT again.';

-- rounded only ever goes on while its table exists: set with float16, kept
-- by every later write (also direct ones, which row-level security allows
-- the owner), and a rounded row is not moved to another live table's OID
CREATE FUNCTION @extschema@.table_option_keep_rounded()
	RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $keep$
BEGIN
	NEW.rounded := coalesce(NEW.rounded, false) OR NEW.cold_vectors = 'float16';
	IF TG_OP = 'UPDATE' AND (OLD.rounded OR OLD.cold_vectors = 'float16') THEN
		IF NEW.relation::pg_catalog.oid <> OLD.relation::pg_catalog.oid AND
		   EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = OLD.relation::pg_catalog.oid) THEN
			RAISE EXCEPTION 'cannot move the engram.table_option row of table % to another table', OLD.relation
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = 'Its rows may hold vectors rounded to float16 precision.';
		END IF;
		NEW.rounded := true;
	END IF;
	RETURN NEW;
END
$keep$;

COMMENT ON FUNCTION @extschema@.table_option_keep_rounded() IS
	'trigger: engram.table_option.rounded is set with cold_vectors = float16 and kept while the table exists';

REVOKE ALL ON FUNCTION @extschema@.table_option_keep_rounded() FROM PUBLIC;

CREATE TRIGGER table_option_keep_rounded
	BEFORE INSERT OR UPDATE ON @extschema@.table_option
	FOR EACH ROW EXECUTE FUNCTION @extschema@.table_option_keep_rounded();

-- the option of a dropped table must not apply to a later one with its OID
CREATE FUNCTION @extschema@.table_option_cleanup()
	RETURNS event_trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $clean$
BEGIN
	-- not while DROP EXTENSION drops the table itself
	IF pg_catalog.to_regclass('@extschema@.table_option') IS NULL THEN
		RETURN;
	END IF;
	DELETE FROM @extschema@.table_option o
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid = 0
	   AND d.objid = o.relation::pg_catalog.oid;
END
$clean$;

COMMENT ON FUNCTION @extschema@.table_option_cleanup() IS
	'event trigger: forgets the engram.table_option row of a dropped table';

REVOKE ALL ON FUNCTION @extschema@.table_option_cleanup() FROM PUBLIC;

CREATE EVENT TRIGGER engram_table_option_cleanup
	ON sql_drop
	EXECUTE FUNCTION @extschema@.table_option_cleanup();
