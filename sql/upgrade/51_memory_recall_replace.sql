-- 51 (upgrade 0.1.0 -> 0.2.0): recall and consolidate move to
-- sql/install/52_memory_recall.sql (recall with a new signature), which the
-- upgrade script runs as it is (sql/upgrade/52_memory_recall.sql is a link
-- to it): drop the 0.1.0 functions first.
DROP FUNCTION @extschema@.recall(@extschema@.vector, pg_catalog.int4, pg_catalog.text, pg_catalog.text,
	pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.bool, pg_catalog.float4, pg_catalog.bool);
DROP FUNCTION @extschema@.consolidate(pg_catalog.text);
