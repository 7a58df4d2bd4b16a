-- ---- engram tables and logical replication --------------------------------
--
-- Every change to an engram table is WAL-logged with core generic WAL
-- records, which physical standbys replay but logical decoding cannot turn
-- back into row changes.  A publication that lists an engram table would
-- silently send nothing for it, so this event trigger refuses such
-- publications, and warns when FOR ALL TABLES / FOR TABLES IN SCHEMA
-- publications cover engram tables (those cannot be refused without
-- refusing the whole publication).

CREATE FUNCTION @extschema@.am_publication_guard()
RETURNS pg_catalog.event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $guard$
DECLARE
	cmd record;
	pub record;
	pubid oid;
	seen oid[] := '{}';
	tables text;
BEGIN
	FOR cmd IN SELECT * FROM pg_catalog.pg_event_trigger_ddl_commands()
	LOOP
		-- ALTER TABLE ... SET ACCESS METHOD engram on a published table
		IF cmd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass THEN
			SELECT pg_catalog.string_agg(p.pubname::text, ', ' ORDER BY p.pubname)
			  INTO tables
			  FROM pg_catalog.pg_publication_rel pr
			  JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid
			  JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
			  JOIN pg_catalog.pg_am a ON a.oid = c.relam
			 WHERE pr.prrelid = cmd.objid AND a.amname = 'engram';
			IF tables IS NOT NULL THEN
				RAISE EXCEPTION 'engram table % cannot be part of publications: %',
					cmd.objid::pg_catalog.regclass, tables
					USING ERRCODE = 'feature_not_supported',
						  DETAIL = 'Changes to engram tables are WAL-logged as generic records, which logical decoding does not decode: subscribers would receive nothing for them.',
						  HINT = 'Remove the table from the publications first (ALTER PUBLICATION ... DROP TABLE), and replicate it with a physical standby.';
			END IF;
			CONTINUE;
		END IF;

		pubid := CASE cmd.classid
			WHEN 'pg_catalog.pg_publication'::pg_catalog.regclass THEN cmd.objid
			WHEN 'pg_catalog.pg_publication_rel'::pg_catalog.regclass THEN
				(SELECT pr.prpubid FROM pg_catalog.pg_publication_rel pr
				  WHERE pr.oid = cmd.objid)
			WHEN 'pg_catalog.pg_publication_namespace'::pg_catalog.regclass THEN
				(SELECT pn.pnpubid FROM pg_catalog.pg_publication_namespace pn
				  WHERE pn.oid = cmd.objid)
		END;
		CONTINUE WHEN pubid IS NULL OR pubid = ANY (seen);
		seen := seen || pubid;

		SELECT p.oid, p.pubname, p.puballtables INTO pub
		  FROM pg_catalog.pg_publication p WHERE p.oid = pubid;
		CONTINUE WHEN NOT FOUND;

		-- engram tables listed explicitly: refuse
		SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', '
									 ORDER BY c.oid::pg_catalog.regclass::text)
		  INTO tables
		  FROM pg_catalog.pg_publication_rel pr
		  JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
		  JOIN pg_catalog.pg_am a ON a.oid = c.relam
		 WHERE pr.prpubid = pub.oid AND a.amname = 'engram';
		IF tables IS NOT NULL THEN
			RAISE EXCEPTION 'publication "%" cannot include engram tables: %',
				pub.pubname, tables
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'Changes to engram tables are WAL-logged as generic records, which logical decoding does not decode: subscribers would receive nothing for them.',
					  HINT = 'Replicate engram tables with a physical (streaming) standby, or mirror their rows into an ordinary heap table (for example with a trigger) and publish that table instead.';
		END IF;

		-- engram tables covered implicitly: warn (FOR ALL TABLES covers
		-- every engram table of the database: no list then)
		IF pub.puballtables THEN
			IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c
						 JOIN pg_catalog.pg_am a ON a.oid = c.relam
						WHERE a.amname = 'engram' AND c.relkind = 'r'
						  AND c.relpersistence = 'p') THEN
				RAISE WARNING 'publication "%" covers engram tables, whose changes are not logically decoded',
					pub.pubname
					USING DETAIL = 'Changes to engram tables are WAL-logged as generic records, which logical decoding does not decode: subscribers will receive nothing for them.',
						  HINT = 'Replicate engram tables with a physical (streaming) standby, or mirror their rows into an ordinary heap table and publish that table.';
			END IF;
			CONTINUE;
		END IF;
		SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::text, ', '
									 ORDER BY c.oid::pg_catalog.regclass::text)
		  INTO tables
		  FROM pg_catalog.pg_class c
		  JOIN pg_catalog.pg_am a ON a.oid = c.relam
		 WHERE a.amname = 'engram'
		   AND c.relkind = 'r'
		   AND c.relpersistence = 'p'
		   AND c.relnamespace IN (SELECT pn.pnnspid
									FROM pg_catalog.pg_publication_namespace pn
								   WHERE pn.pnpubid = pub.oid);
		IF tables IS NOT NULL THEN
			RAISE WARNING 'publication "%" covers engram tables whose changes are not logically decoded: %',
				pub.pubname, tables
				USING DETAIL = 'Changes to engram tables are WAL-logged as generic records, which logical decoding does not decode: subscribers will receive nothing for these tables.',
					  HINT = 'Replicate engram tables with a physical (streaming) standby, or mirror their rows into an ordinary heap table and publish that table.';
		END IF;
	END LOOP;
END
$guard$;

COMMENT ON FUNCTION @extschema@.am_publication_guard() IS
	'event trigger: refuses publications that list engram tables (their changes are not logically decoded)';

CREATE EVENT TRIGGER engram_publication_guard
	ON ddl_command_end
	WHEN TAG IN ('CREATE PUBLICATION', 'ALTER PUBLICATION', 'ALTER TABLE')
	EXECUTE FUNCTION @extschema@.am_publication_guard();
