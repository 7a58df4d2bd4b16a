-- engram extension script, assembled from sql/install/*.sql in name order.
-- Every object is qualified with @extschema@ or pg_catalog so the script is
-- safe whatever the caller's search_path.

\echo Use "CREATE EXTENSION engram" to load this file. \quit
