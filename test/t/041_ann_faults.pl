
# Copyright (c) engram authors
#
# engram_hnsw: crashes at the index's own fault points, and storage versions
# (issue 21, items 3 and 7).
#  - For each fault point of the index's insert, VACUUM and build paths
#    (ann_insert_after_node, ann_insert_after_backlink,
#    ann_vacuum_after_collect, ann_vacuum_after_flag, ann_vacuum_after_repair,
#    ann_build_before_log) a session arms it with sigkill and runs the
#    operation that reaches it; after the crash and recovery the index scan
#    returns exactly the rows of an exact scan (all of them, through
#    ORDER BY without LIMIT) and the same 10 nearest rows for 5 queries, and
#    so does the index after REINDEX; inserts and VACUUM go on working.
#  - An index whose meta page says storage version 2 (engram 0.1.0) is
#    refused with SQLSTATE 55000 and a hint to REINDEX; after REINDEX it
#    answers again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('annfaults');
my $f = EngramTest::features($node);
plan skip_all => EngramTest::missing_msg('index AM engram_hnsw') unless $f->{hnsw};
plan skip_all => EngramTest::missing_msg('engram.fault_point GUC (src/fault.c)') unless $f->{fault};

my $set = 'SET search_path = public, engram; SET engram.ef_search = 1000; '
  . 'SET engram.ann_max_scan_tuples = 1000000; SET max_parallel_workers_per_gather = 0; ';

sub vec_expr
{
	my ($i) = @_;
	return "(SELECT array_agg(sin($i * 0.37 + g * 1.71) + cos($i * g * 0.013) + 20)::float4[]::engram.vector "
	  . "FROM generate_series(1, 8) g)";
}
my $next = 1;
sub insert_sql
{
	my ($n) = @_;
	my ($a, $b) = ($next, $next + $n - 1);
	$next += $n;
	return "INSERT INTO af SELECT i, " . vec_expr('i') . " FROM generate_series($a, $b) i;";
}

$node->safe_psql('postgres', 'SET search_path = public, engram; '
	  . 'CREATE TABLE af (id int PRIMARY KEY, v engram.vector(8))');
$node->safe_psql('postgres', 'SET search_path = public, engram; ' . insert_sql(600));
$node->safe_psql('postgres', 'SET search_path = public, engram; '
	  . 'CREATE INDEX af_v ON af USING engram_hnsw (v vector_l2_ops)');

# the index scan equals an exact scan: all rows, and the 10 nearest of 5 queries
sub check_index
{
	my ($what) = @_;
	my $all = "SELECT count(*) || ':' || md5(string_agg(id::text, ',' ORDER BY id)) FROM "
	  . "(SELECT id FROM af ORDER BY v <-> " . vec_expr(7) . ") s";
	my $knn = "SELECT string_agg(ids, ' ' ORDER BY q) FROM (SELECT q, "
	  . "(SELECT string_agg(id::text, ',') FROM (SELECT id FROM af ORDER BY v <-> "
	  . vec_expr('q * 101 + 0.5') . " LIMIT 10) s) AS ids FROM generate_series(1, 5) q) t";
	my $idx = 'SET enable_seqscan = off; SET enable_bitmapscan = off; ';
	my $ex = 'SET enable_indexscan = off; SET enable_bitmapscan = off; ';
	my $plan = $node->safe_psql('postgres', $set . $idx . "EXPLAIN (COSTS OFF) SELECT id FROM af ORDER BY v <-> " . vec_expr(7));
	like($plan, qr/Index Scan using af_v/, "$what: the index is used");
	is($node->safe_psql('postgres', $set . $idx . $all),
		$node->safe_psql('postgres', $set . $ex . $all),
		"$what: index scan without LIMIT returns exactly the table's rows");
	is($node->safe_psql('postgres', $set . $idx . $knn),
		$node->safe_psql('postgres', $set . $ex . $knn),
		"$what: 10 nearest of 5 queries as exact search");
	return;
}

check_index('after build');

my @points = (
	[ ann_insert_after_node => sub { (insert_sql(30)) } ],
	[ ann_insert_after_backlink => sub { (insert_sql(30)) } ],
	[ ann_vacuum_after_collect => sub { ('VACUUM af;') } ],
	[ ann_vacuum_after_flag => sub { ('VACUUM af;') } ],
	[ ann_vacuum_after_repair => sub { ('VACUUM af;') } ],
	[ ann_build_before_log => sub { ('CREATE INDEX af_v2 ON af USING engram_hnsw (v vector_l2_ops);') } ],
);
my $k = 0;
for my $p (@points)
{
	my ($name, $ops) = @$p;
	$k++;
	# dead rows for VACUUM to find
	$node->safe_psql('postgres', "DELETE FROM af WHERE id % 11 = $k");
	my @steps = $ops->();
	my $script = "LOAD 'engram';\nSET search_path = public, engram;\n"
	  . "SET engram.fault_point = '$name';\nSET engram.fault_action = 'sigkill';\n"
	  . join("\n", @steps) . "\n";
	my $logpos = -s $node->logfile;
	my ($rc, $out, $err) = $node->psql('postgres', $script);
	my $log = $rc != 0 ? EngramTest::wait_crash_restart($node, $logpos) : undef;
	ok(defined $log && $log =~ /terminated by signal 9/, "fault point $name fired (kill -9)")
	  or diag("rc $rc: $err");
	check_index("after a crash at $name");
	is($node->safe_psql('postgres', "SELECT to_regclass('af_v2') IS NULL"), 't',
		"after a crash at $name: no half-built index left") if $name eq 'ann_build_before_log';
	# the index keeps working: more inserts, a VACUUM
	$node->safe_psql('postgres', 'SET search_path = public, engram; ' . insert_sql(20));
	$node->safe_psql('postgres', 'VACUUM af');
	check_index("after a crash at $name, inserts and VACUUM");
}
$node->safe_psql('postgres', 'REINDEX INDEX af_v');
check_index('after REINDEX');

# ---- storage version ------------------------------------------------------
my $path = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('af_v')");
$node->stop;
{
	# the meta page: page header (24 bytes), magic (4), version (4)
	open my $fh, '+<:raw', $path or die "open $path: $!";
	seek($fh, 28, 0) or die;
	my $buf;
	read($fh, $buf, 4) == 4 or die;
	is(unpack('L<', $buf), 3, 'the meta page says storage version 3');
	seek($fh, 28, 0) or die;
	print $fh pack('L<', 2);
	close $fh or die;
}
$node->start;
my ($rc, $out, $err) = $node->psql('postgres', $set . 'SET enable_seqscan = off; '
	  . 'SELECT id FROM af ORDER BY v <-> ' . vec_expr(7) . ' LIMIT 3',
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($rc, 0, 'a version 2 index is refused');
like($err, qr/55000/, 'with SQLSTATE 55000 (object not in prerequisite state)');
like($err, qr/storage version 2, this engram needs version 3/, 'the message names both versions');
like($err, qr/REINDEX INDEX public\.af_v/, 'the hint names the REINDEX to run');
($rc, $out, $err) = $node->psql('postgres', 'SET search_path = public, engram; ' . insert_sql(1));
isnt($rc, 0, 'inserting into a version 2 index is refused too');
$node->safe_psql('postgres', 'REINDEX INDEX af_v');
check_index('after REINDEX of the version 2 index');

done_testing();
