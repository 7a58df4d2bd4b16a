--
-- Publications and engram tables: engram's changes are generic WAL, which
-- logical decoding cannot decode, so publications may not list them.
--
SET client_min_messages = warning;  -- hide the wal_level warning of CREATE PUBLICATION
CREATE TABLE am_pub_heap (id int PRIMARY KEY);
CREATE TABLE am_pub_mem (id int PRIMARY KEY) USING engram;
CREATE SCHEMA am_pub_s;
CREATE TABLE am_pub_s.mem2 (id int PRIMARY KEY) USING engram;
CREATE TABLE am_pub_s.heap2 (id int PRIMARY KEY);
RESET client_min_messages;

-- an explicit engram table is refused, alone or with others
CREATE PUBLICATION am_pub1 FOR TABLE am_pub_mem;
CREATE PUBLICATION am_pub1 FOR TABLE am_pub_heap, am_pub_mem;
SELECT count(*) FROM pg_publication WHERE pubname = 'am_pub1';

-- heap tables are fine; adding an engram table later is refused
SET client_min_messages = error;
CREATE PUBLICATION am_pub1 FOR TABLE am_pub_heap;
RESET client_min_messages;
ALTER PUBLICATION am_pub1 ADD TABLE am_pub_mem;
ALTER PUBLICATION am_pub1 SET TABLE am_pub_heap, am_pub_s.mem2;
SELECT prrelid::regclass FROM pg_publication_rel pr
  JOIN pg_publication p ON p.oid = pr.prpubid WHERE p.pubname = 'am_pub1';
-- other changes to the publication still work
ALTER PUBLICATION am_pub1 SET (publish = 'insert, update');
ALTER PUBLICATION am_pub1 ADD TABLE am_pub_s.heap2;

-- turning a published heap table into an engram table is refused
ALTER TABLE am_pub_heap SET ACCESS METHOD engram;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.oid = 'am_pub_heap'::regclass;

-- FOR ALL TABLES / FOR TABLES IN SCHEMA cannot exclude tables: warning
SET client_min_messages = warning;
CREATE PUBLICATION am_pub_all FOR ALL TABLES;
CREATE PUBLICATION am_pub_schema FOR TABLES IN SCHEMA am_pub_s;
ALTER PUBLICATION am_pub1 ADD TABLES IN SCHEMA am_pub_s;
SELECT pubname FROM pg_publication WHERE pubname LIKE 'am_pub%' ORDER BY 1;
-- a schema without engram tables: no warning
CREATE SCHEMA am_pub_h;
CREATE TABLE am_pub_h.t (id int PRIMARY KEY);
CREATE PUBLICATION am_pub_h FOR TABLES IN SCHEMA am_pub_h;
RESET client_min_messages;

DROP PUBLICATION am_pub1, am_pub_all, am_pub_schema, am_pub_h;
DROP TABLE am_pub_heap, am_pub_mem;
DROP SCHEMA am_pub_s, am_pub_h CASCADE;
