-- engram table access method (src/engram_am_*.c).

CREATE FUNCTION @extschema@.engram_am_handler(internal)
RETURNS pg_catalog.table_am_handler
AS 'MODULE_PATHNAME', 'engram_am_handler'
LANGUAGE C STRICT;
COMMENT ON FUNCTION @extschema@.engram_am_handler(internal) IS
'handler of the engram table access method';

CREATE ACCESS METHOD engram TYPE TABLE HANDLER @extschema@.engram_am_handler;

COMMENT ON ACCESS METHOD engram IS
    'engram: MVCC row storage with HOT/WARM/COLD tiers for agent memory';
