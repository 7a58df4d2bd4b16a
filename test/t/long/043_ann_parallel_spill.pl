
# Copyright (c) engram authors
#
# engram_hnsw: a parallel build whose shared graph outgrows
# maintenance_work_mem (issue 21), run by `make test-long` only
# (ENGRAM_TESTS=long: about two minutes of build on 2 cores).  90,000
# 16-dim vectors with m = 64 need about 840 bytes of shared graph each, so
# 64 MB (the least with which the planner grants one worker) holds ~80k of
# them: the build says so in a NOTICE, writes the graph so far to pages and
# inserts the remaining rows into the on-disk graph from both participants.
# Asserted: one worker used, the NOTICE, every row reachable through the
# index, recall@10 >= 0.95 at ef_search 200 over 20 queries, a standby
# replays it and answers as the primary.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('annspill');
my $f = EngramTest::features($node);
plan skip_all => EngramTest::missing_msg('index AM engram_hnsw') unless $f->{hnsw};
my $standby = EngramTest::new_standby($node, 'annspill_standby');

my $rows = 90_000;
my $am = $f->{test_am} ? "USING $f->{test_am}" : '';
$node->safe_psql('postgres', "SET search_path = public, engram; SELECT setseed(0.2); "
	  . "CREATE TABLE sp (id int, v engram.vector(16)) $am; "
	  . "INSERT INTO sp SELECT i, (SELECT array_agg((random() * 2 - 1)::float4) FROM generate_series(1, 16) g "
	  . "WHERE g > 0 * i)::engram.vector FROM generate_series(1, $rows) i; "
	  . "SELECT setseed(0.9); "
	  . "CREATE TABLE sq AS SELECT i AS qid, (SELECT array_agg((random() * 2 - 1)::float4) "
	  . "FROM generate_series(1, 16) g WHERE g > 0 * i)::engram.vector AS q FROM generate_series(1, 20) i");

my ($rc, $out, $err) = $node->psql('postgres', 'SET search_path = public, engram; '
	  . 'SET max_parallel_maintenance_workers = 1; SET min_parallel_table_scan_size = 0; '
	  . "SET maintenance_work_mem = '64MB'; "
	  . 'CREATE INDEX sp_l2 ON sp USING engram_hnsw (v vector_l2_ops) WITH (m = 64)');
is($rc, 0, 'the parallel build succeeds') or diag($err);
like($err, qr/engram_hnsw graph no longer fits into maintenance_work_mem/, 'it outgrew maintenance_work_mem (NOTICE)');
like($err, qr/(\d+) tuples were added in memory/, 'the NOTICE says how many rows fit');
is($node->safe_psql('postgres', 'CREATE EXTENSION pageinspect; '
		  . "SELECT get_byte(p, 58) + 256 * get_byte(p, 59) FROM get_raw_page('sp_l2', 0) p"),
	'1', 'one parallel worker was used');

my $set = 'SET search_path = public, engram; SET max_parallel_workers_per_gather = 0; ';
my $recall = "SELECT sum((SELECT count(*) FROM unnest(i.ids) x WHERE x = ANY (e.ids)))::float8 / 200 FROM "
  . "(SELECT qid, ARRAY(SELECT id FROM sp ORDER BY v <-> q LIMIT 10) ids FROM sq) i JOIN ex e USING (qid)";
$node->safe_psql('postgres', $set . 'SET enable_indexscan = off; '
	  . 'CREATE TABLE ex AS SELECT qid, ARRAY(SELECT id FROM sp ORDER BY v <-> q LIMIT 10) ids FROM sq');
my $idx = 'SET enable_seqscan = off; SET engram.ef_search = 200; ';
my $r = $node->safe_psql('postgres', $set . $idx . $recall);
cmp_ok($r, '>=', 0.95, "recall\@10 at ef_search 200 ($r)");
my $all = 'SET engram.ann_max_scan_tuples = 1000000; SET engram.ann_strict_order = off; '
  . "SELECT count(*) FROM (SELECT id FROM sp ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 1000000) s";
is($node->safe_psql('postgres', $set . $idx . $all), $rows, 'every row is reachable through the index');

EngramTest::wait_catchup($node, $standby);
is($standby->safe_psql('postgres', $set . $idx . $recall), $r, 'the standby answers as the primary');
is($standby->safe_psql('postgres', $set . $idx . $all), $rows, 'every row is reachable on the standby');

done_testing();
