-- ALTER EXTENSION engram UPDATE from the released 0.1.0 (sql/engram--0.1.0.sql,
-- frozen) to the current version: data stays in place, and the upgraded
-- catalog is exactly that of a fresh install (every object of the
-- extension with its definition, privileges, options, columns, indexes,
-- constraints, triggers and policies).  A change made to sql/install/
-- without its twin in sql/upgrade/ makes this test fail.
--
-- Runs in a database of its own.
\set SHOW_CONTEXT never
\set VERBOSITY terse
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_engram_upgrade;
\c regress_engram_upgrade

SELECT name, version FROM pg_available_extension_versions
WHERE name = 'engram' ORDER BY version;
SELECT default_version FROM pg_available_extensions WHERE name = 'engram';

CREATE EXTENSION engram VERSION '0.1.0';

-- data of 0.1.0: memories with an association, a space grant, an engram
-- table with a btree and an engram_hnsw index, rows in every tier
CREATE ROLE regress_upg_role;
SELECT engram.create_space('upg');
SELECT engram.grant_space('upg', 'regress_upg_role');
SELECT count(engram.remember('memory ' || i, engram.embed_text('memory ' || i, 16), space => 'upg')) AS remembered
FROM generate_series(1, 20) i;
SELECT engram.associate(a.id, b.id) IS NOT NULL AS associated
FROM engram.memory a, engram.memory b
WHERE a.content OPERATOR(pg_catalog.=) 'memory 1' AND b.content OPERATOR(pg_catalog.=) 'memory 2';
CREATE TABLE upg_t (id int PRIMARY KEY, body text, v engram.vector(3)) USING engram;
INSERT INTO upg_t SELECT i, repeat('body ' || i, 20), ('[' || i || ',1,2]')::engram.vector
FROM generate_series(1, 300) i;
CREATE INDEX upg_t_v ON upg_t USING engram_hnsw (v engram.vector_l2_ops);
SELECT count(*) > 0 AS moved FROM engram.migrate('upg_t', NULL, 'cold') \gset
SELECT md5(string_agg(id || body || v::text, ',' ORDER BY id)) AS before_md5 FROM upg_t \gset

ALTER EXTENSION engram UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'engram';

-- data in place
SELECT md5(string_agg(id || body || v::text, ',' ORDER BY id)) = :'before_md5' AS same_rows FROM upg_t;
SELECT count(*) AS verify_problems FROM engram.verify('upg_t');
SET enable_seqscan = off;
SELECT id FROM upg_t ORDER BY v OPERATOR(engram.<->) '[7,1,2]' LIMIT 3;
RESET enable_seqscan;
SELECT count(*) AS memories, count(DISTINCT space) AS spaces FROM engram.memory;
SELECT count(*) AS associations FROM engram.association;
SELECT space, role::text FROM engram.space_grant ORDER BY 1, 2;
SET ROLE regress_upg_role;
SELECT count(*) AS recalled FROM engram.recall(engram.embed_text('memory 3', 16), 5, 'upg');
SELECT engram.remember('written after the upgrade', space => 'upg') > 0 AS remembered;
RESET ROLE;
-- the 0.1.0 tenant keeps SELECT and loses table-level writes (ADR 0009),
-- and the upgrade's REVOKEs leave no initial privileges on the tables
-- (pg_dump would then omit the tenant's SELECT)
SELECT has_table_privilege('regress_upg_role', 'engram.memory', 'SELECT') AS sel,
	   has_table_privilege('regress_upg_role', 'engram.memory', 'INSERT') AS ins,
	   has_table_privilege('regress_upg_role', 'engram.association', 'DELETE') AS del,
	   has_sequence_privilege('regress_upg_role', 'engram.memory_id_seq', 'USAGE') AS seq;
SELECT count(*) AS table_init_privs FROM pg_init_privs
WHERE objoid IN ('engram.memory'::regclass, 'engram.association'::regclass);

-- the catalog of the extension, rendered without OIDs
CREATE FUNCTION public.engram_fingerprint() RETURNS TABLE (obj text, def text)
LANGUAGE sql AS $fp$
WITH members AS (
	SELECT d.classid, d.objid, d.objsubid
	FROM pg_depend d
	WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'engram')
)
SELECT pg_describe_object(m.classid, m.objid, m.objsubid),
	CASE m.classid
	WHEN 'pg_proc'::regclass THEN (
		SELECT concat_ws(' | ',
			CASE WHEN p.prokind = 'a' THEN p.oid::regprocedure::text ELSE pg_get_functiondef(p.oid) END,
			p.proacl::text, p.prosecdef, p.proconfig::text, p.provolatile, p.proparallel,
			p.proisstrict, p.procost, p.prorows, obj_description(p.oid, 'pg_proc'))
		FROM pg_proc p WHERE p.oid = m.objid)
	WHEN 'pg_class'::regclass THEN (
		SELECT concat_ws(' | ', c.relkind, c.relacl::text, c.relrowsecurity, c.relforcerowsecurity,
			c.reloptions::text, am.amname, obj_description(c.oid, 'pg_class'),
			CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END,
			(SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
					CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
					coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '') ||
					coalesce(' identity ' || nullif(a.attidentity::text, ''), '') ||
					coalesce(' acl ' || a.attacl::text, ''), ', ' ORDER BY a.attname)
			 FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
			 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
			(SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY pg_get_indexdef(i.indexrelid))
			 FROM pg_index i WHERE i.indrelid = c.oid),
			(SELECT string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), '; ' ORDER BY co.conname)
			 FROM pg_constraint co WHERE co.conrelid = c.oid),
			(SELECT string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY t.tgname)
			 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
			(SELECT string_agg(concat_ws(' ', po.polname, po.polcmd, po.polpermissive, po.polroles::regrole[]::text,
					pg_get_expr(po.polqual, po.polrelid), pg_get_expr(po.polwithcheck, po.polrelid)), '; ' ORDER BY po.polname)
			 FROM pg_policy po WHERE po.polrelid = c.oid),
			(SELECT s.seqtypid::regtype || ' ' || s.seqincrement || ' ' || s.seqmin || ' ' || s.seqmax
			 FROM pg_sequence s WHERE s.seqrelid = c.oid))
		FROM pg_class c LEFT JOIN pg_am am ON am.oid = c.relam WHERE c.oid = m.objid)
	WHEN 'pg_type'::regclass THEN (
		SELECT concat_ws(' | ', t.typtype, t.typlen, t.typalign, t.typstorage, t.typinput::text,
			t.typoutput::text, t.typreceive::text, t.typsend::text, t.typmodin::text,
			t.typmodout::text, t.typanalyze::text, t.typacl::text)
		FROM pg_type t WHERE t.oid = m.objid)
	WHEN 'pg_operator'::regclass THEN (
		SELECT concat_ws(' | ', o.oprcode::text, o.oprcom::regoperator::text, o.oprnegate::regoperator::text,
			o.oprrest::text, o.oprjoin::text, o.oprcanmerge, o.oprcanhash)
		FROM pg_operator o WHERE o.oid = m.objid)
	WHEN 'pg_cast'::regclass THEN (
		SELECT concat_ws(' | ', ca.castfunc::regprocedure::text, ca.castcontext, ca.castmethod)
		FROM pg_cast ca WHERE ca.oid = m.objid)
	WHEN 'pg_opclass'::regclass THEN (
		SELECT concat_ws(' | ', oc.opcdefault, oc.opckeytype::regtype::text,
			(SELECT string_agg(ao.amopstrategy || ' ' || ao.amopopr::regoperator ||
					coalesce(' ' || nullif(ao.amopsortfamily, 0)::regclass::text, ''), ', ' ORDER BY ao.amopstrategy)
			 FROM pg_amop ao WHERE ao.amopfamily = oc.opcfamily),
			(SELECT string_agg(ap.amprocnum || ' ' || ap.amproc::regprocedure, ', ' ORDER BY ap.amprocnum)
			 FROM pg_amproc ap WHERE ap.amprocfamily = oc.opcfamily))
		FROM pg_opclass oc WHERE oc.oid = m.objid)
	WHEN 'pg_am'::regclass THEN (
		SELECT concat_ws(' | ', a.amtype, a.amhandler::text) FROM pg_am a WHERE a.oid = m.objid)
	WHEN 'pg_event_trigger'::regclass THEN (
		SELECT concat_ws(' | ', e.evtevent, e.evtfoid::regprocedure::text, e.evtenabled, e.evttags::text)
		FROM pg_event_trigger e WHERE e.oid = m.objid)
	ELSE '' END
FROM members m
$fp$;

-- the extension's configuration-table registrations and ACLs on its schema
CREATE FUNCTION public.engram_fingerprint_ext() RETURNS TABLE (obj text, def text)
LANGUAGE sql AS $fp$
SELECT 'extconfig', (SELECT string_agg(c::regclass::text || ' ' || coalesce(w, ''), ', ' ORDER BY c::regclass::text)
					 FROM pg_extension e, unnest(e.extconfig, e.extcondition) u(c, w)
					 WHERE e.extname = 'engram')
UNION ALL
SELECT 'schema acl', (SELECT n.nspacl::text FROM pg_namespace n WHERE n.nspname = 'engram')
UNION ALL
SELECT 'default acl', (SELECT string_agg(d.defaclobjtype::text || ' ' || d.defaclacl::text, ', ' ORDER BY 1)
					   FROM pg_default_acl d WHERE d.defaclnamespace = 'engram'::regnamespace)
$fp$;

CREATE TABLE public.fp_upgraded AS
SELECT * FROM public.engram_fingerprint() UNION ALL SELECT * FROM public.engram_fingerprint_ext();

-- a fresh install of the current version in the same database
DROP EXTENSION engram CASCADE;
DROP SCHEMA engram;
CREATE EXTENSION engram;
-- the same space grant as above (grants show in the tables' ACLs)
SELECT engram.create_space('upg');
SELECT engram.grant_space('upg', 'regress_upg_role');
CREATE TABLE public.fp_fresh AS
SELECT * FROM public.engram_fingerprint() UNION ALL SELECT * FROM public.engram_fingerprint_ext();

SELECT count(*) > 100 AS many_objects FROM public.fp_fresh;
-- what only the upgraded database has, and what only the fresh one has:
-- both empty
SELECT 'only after upgrade' AS side, obj, def FROM (TABLE public.fp_upgraded EXCEPT TABLE public.fp_fresh) x
UNION ALL
SELECT 'only in fresh install', obj, def FROM (TABLE public.fp_fresh EXCEPT TABLE public.fp_upgraded) y
ORDER BY 2, 1;

\c :regress_db
DROP DATABASE regress_engram_upgrade;
DROP ROLE regress_upg_role;
