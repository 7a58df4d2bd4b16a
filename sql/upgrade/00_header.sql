-- engram upgrade script 0.1.0 -> 0.2.0, assembled from sql/upgrade/*.sql in
-- name order (one fragment per subsystem, like sql/install/).  Every change
-- a 0.2.0 fragment of sql/install/ makes to an object that 0.1.0 already had
-- is repeated here, so that ALTER EXTENSION engram UPDATE gives a database
-- the catalog of a fresh 0.2.0 install with its data in place
-- (checked by sql/upgrade.sql).  Every object is qualified with @extschema@
-- or pg_catalog.

\echo Use "ALTER EXTENSION engram UPDATE TO '0.2.0'" to load this file. \quit
