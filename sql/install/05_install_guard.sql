-- ---------------------------------------------------------------------
-- 05_install_guard: refuse a schema someone else prepared
--
-- engram.control says schema = engram: CREATE EXTENSION creates the schema
-- when it is absent and silently ADOPTS it when it exists.  A schema that
-- an ordinary role owns, or may create objects in, would let that role
-- replace or shadow what the extension's superuser-owned code calls.  So
-- before anything is created, the schema must be owned by a superuser,
-- give CREATE to no other role, and be empty
-- (docs/architecture/0009-security-model.md; test: security).
-- ---------------------------------------------------------------------

DO $guard$
DECLARE
	v_owner		pg_catalog.name;
	v_super		pg_catalog.bool;
	v_creator	pg_catalog.text;
	v_objects	pg_catalog.int8;
BEGIN
	SELECT r.rolname, r.rolsuper INTO v_owner, v_super
		FROM pg_catalog.pg_namespace n
		JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
		WHERE n.nspname OPERATOR(pg_catalog.=) '@extschema@';
	IF NOT coalesce(v_super, false) THEN
		RAISE EXCEPTION 'schema "@extschema@" is owned by role "%", which is not a superuser', v_owner
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Its owner could replace objects that engram''s superuser-owned functions use.',
				  HINT = 'Drop or rename that schema (after checking what it holds), then run CREATE EXTENSION engram again; it creates the schema itself.';
	END IF;
	SELECT pg_catalog.string_agg(CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
									  ELSE pg_catalog.quote_ident(r.rolname) END, ', ')
		INTO v_creator
		FROM pg_catalog.pg_namespace n,
			 LATERAL pg_catalog.aclexplode(n.nspacl) a
			 LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
		WHERE n.nspname OPERATOR(pg_catalog.=) '@extschema@'
		  AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
		  AND NOT coalesce(r.rolsuper, false);
	IF v_creator IS NOT NULL THEN
		RAISE EXCEPTION 'schema "@extschema@" grants CREATE to %', v_creator
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'A role that may create objects in the schema could shadow objects that engram''s functions use.',
				  HINT = 'REVOKE CREATE ON SCHEMA @extschema@ FROM those roles, or drop the schema, then run CREATE EXTENSION engram again.';
	END IF;
	SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c
			WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace)
		 + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p
			WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace)
		 + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_type t
			WHERE t.typnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace)
		 + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_operator o
			WHERE o.oprnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace)
		 + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_opfamily f
			WHERE f.opfnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace)
		 + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_collation co
			WHERE co.collnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace)
		 + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_conversion cv
			WHERE cv.connamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace)
		 + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_ts_config tc
			WHERE tc.cfgnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace)
		 + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_ts_dict td
			WHERE td.dictnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace)
		INTO v_objects;
	IF v_objects OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'schema "@extschema@" already contains % objects', v_objects
			USING ERRCODE = 'duplicate_schema',
				  DETAIL = 'engram installs only into a new or empty schema, so that every object in it is the extension''s.',
				  HINT = 'Move those objects elsewhere or drop the schema, then run CREATE EXTENSION engram again.';
	END IF;
END
$guard$;
