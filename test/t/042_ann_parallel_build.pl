
# Copyright (c) engram authors
#
# engram_hnsw: parallel CREATE INDEX under replication and crashes (issue 21).
#  - With max_parallel_maintenance_workers = 1 the primary builds an L2 and a
#    cosine index with one worker (the meta page says so); a streaming
#    standby with wal_consistency_checking = 'generic' replays the build (one
#    log_newpage_range) and answers the same 10-nearest queries as the
#    primary, which equal exact search, and every row is reachable through
#    its index; a standby WITHOUT the engram library replays the same stream.
#  - kill -9 of a participant in the middle of a parallel build (fault point
#    ann_build_parallel_insert, fired by the worker or the leader) and kill -9
#    after the pages are written but before they are logged
#    (ann_build_before_log): after crash recovery there is no index, the
#    table holds exactly its rows, the standby still follows, and a new
#    parallel build answers as exact search again.  The same when the test
#    kills the parallel worker itself (kill -9 of its PID) while it waits at
#    the fault point (fault_action 'wait').
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;
use IPC::Run;
use Time::HiRes qw(usleep);

my $primary = EngramTest::new_primary('annpar', wcc => 1);
my $f = EngramTest::features($primary);
plan skip_all => EngramTest::missing_msg('index AM engram_hnsw') unless $f->{hnsw};

my $standby = EngramTest::new_standby($primary, 'annpar_standby', backup_name => 'b1',
	extra_conf => "wal_consistency_checking = 'generic'");
my $nolib = EngramTest::new_standby($primary, 'annpar_nolib', nolib => 1,
	backup_name => 'b1', reuse_backup => 1);

my $set = 'SET search_path = public, engram; SET engram.ef_search = 1000; '
  . 'SET engram.ann_max_scan_tuples = 1000000; SET max_parallel_workers_per_gather = 0; ';
my $par = 'SET max_parallel_maintenance_workers = 1; SET min_parallel_table_scan_size = 0; ';

sub vec_expr
{
	my ($i) = @_;
	return "(SELECT array_agg(sin($i * 0.37 + g * 1.71) + cos($i * g * 0.013) + 2)::float4[]::engram.vector "
	  . "FROM generate_series(1, 16) g)";
}

my $am = $f->{test_am} ? "USING $f->{test_am}" : '';
$primary->safe_psql('postgres', 'SET search_path = public, engram; '
	  . "CREATE TABLE ap (id int, v engram.vector(16)) $am; "
	  . 'INSERT INTO ap SELECT i, ' . vec_expr('i') . ' FROM generate_series(1, 5000) i');
my $rows = EngramTest::table_checksum($primary, 'ap', 'id');

# workers the build of an index used, from its meta page
sub build_workers
{
	my ($idx) = @_;
	return $primary->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS pageinspect; '
		  . "SELECT get_byte(p, 58) + 256 * get_byte(p, 59) FROM get_raw_page('$idx', 0) p");
}

# top-10 ids for 6 queries, index scan or exact, as one string
sub answers
{
	my ($node, $op, $mode) = @_;
	my $planner = $mode eq 'index'
	  ? 'SET enable_seqscan = off; SET enable_bitmapscan = off; '
	  : 'SET enable_indexscan = off; SET enable_bitmapscan = off; ';
	my $q = vec_expr('(q * 1000 + 7)');
	return $node->safe_psql('postgres', $set . $planner
		  . "SELECT string_agg(ids, ';' ORDER BY q) FROM ("
		  . "SELECT q, array_to_string(ARRAY(SELECT id FROM ap ORDER BY v $op $q LIMIT 10), ',') AS ids "
		  . "FROM generate_series(1, 6) q) s");
}

sub reachable
{
	my ($node, $op) = @_;
	return $node->safe_psql('postgres', $set . 'SET enable_seqscan = off; SET enable_bitmapscan = off; '
		  . "SELECT count(*) FROM (SELECT id FROM ap ORDER BY v $op " . vec_expr(3) . " LIMIT 1000000) s");
}

sub check_indexes
{
	my ($label) = @_;
	EngramTest::wait_catchup($primary, $standby);
	for my $op ('<->', '<=>')
	{
		my $exact = answers($primary, $op, 'exact');
		is(answers($primary, $op, 'index'), $exact, "$label: $op: primary index scan = exact search");
		is(answers($standby, $op, 'index'), $exact, "$label: $op: standby index scan = exact search");
		is(reachable($standby, $op), '5000', "$label: $op: every row reachable on the standby");
	}
	my $plan = $standby->safe_psql('postgres', $set . 'SET enable_seqscan = off; '
		  . 'EXPLAIN (COSTS OFF) SELECT id FROM ap ORDER BY v <-> ' . vec_expr(3) . ' LIMIT 10');
	like($plan, qr/Index Scan using ap_l2/, "$label: the standby plans the index scan");
	return;
}

$primary->safe_psql('postgres', $set . $par
	  . 'CREATE INDEX ap_l2 ON ap USING engram_hnsw (v vector_l2_ops); '
	  . 'CREATE INDEX ap_cos ON ap USING engram_hnsw (v vector_cosine_ops)');
is(build_workers('ap_l2'), '1', 'L2 index built with one parallel worker');
is(build_workers('ap_cos'), '1', 'cosine index built with one parallel worker');
check_indexes('after parallel build');

# the standby without the library replayed the same stream
sub nolib_caught_up
{
	my ($label) = @_;
	my $target = $primary->lsn('insert');
	$primary->wait_for_catchup('annpar_nolib', 'replay', $target);
	is($nolib->safe_psql('postgres', "SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn"), 't',
		"$label: standby without engram replayed everything");
	return;
}
nolib_caught_up('after parallel build');

# ---- kill -9 during a parallel build ---------------------------------------
$primary->safe_psql('postgres', 'DROP INDEX ap_l2, ap_cos');
for my $p ([ 'ann_build_parallel_insert', 1500 ], [ 'ann_build_before_log', 0 ])
{
	my ($point, $skip) = @$p;
	my $script = "LOAD 'engram';\n$set\n$par\n"
	  . "SET engram.fault_point = '$point';\nSET engram.fault_action = 'sigkill';\n"
	  . "SET engram.fault_skip = $skip;\n"
	  . "CREATE INDEX ap_crash ON ap USING engram_hnsw (v vector_l2_ops);\n";
	my $logpos = -s $primary->logfile;
	my ($rc, $out, $err) = $primary->psql('postgres', $script);
	my $log = $rc != 0 ? EngramTest::wait_crash_restart($primary, $logpos) : undef;
	ok(defined $log && $log =~ /terminated by signal 9/, "$point: a build participant was killed (kill -9)")
	  or diag("rc $rc: $err");
	like($log // '', qr/parallel worker|server process/, "$point: the postmaster saw the process die");
	is($primary->safe_psql('postgres', "SELECT to_regclass('ap_crash') IS NULL"), 't',
		"$point: no index left after the crash");
	is(EngramTest::table_checksum($primary, 'ap', 'id'), $rows, "$point: the table holds exactly its rows");
	EngramTest::wait_catchup($primary, $standby);
	is(EngramTest::table_checksum($standby, 'ap', 'id'), $rows, "$point: the standby holds the same rows");
}

# poll a query until it returns t, feeding the background sessions meanwhile
sub wait_until
{
	my ($harnesses, $query) = @_;
	for (1 .. 1800)
	{
		$_->pump_nb for @$harnesses;
		return 1 if $primary->safe_psql('postgres', $query) eq 't';
		usleep(100_000);
	}
	return 0;
}

# kill -9 of the worker itself, from outside, while it (and the leader) wait
# at the fault point in the middle of the build (fault_action 'wait' waits
# for the advisory lock the locker session holds)
{
	my ($lin, $lout, $lerr) = ("SELECT pg_advisory_lock(7411);\n", '', '');
	my $locker = IPC::Run::start([ 'psql', '-X', '-q', '-d', $primary->connstr('postgres') ],
		'<', \$lin, '>', \$lout, '2>', \$lerr);
	wait_until([$locker], "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 7411 AND granted")
	  or die 'the advisory lock was not taken';
	my $bin = "LOAD 'engram';\n$set\n$par\nSET engram.fault_point = 'ann_build_parallel_insert';\n"
	  . "SET engram.fault_action = 'wait';\nSET engram.fault_skip = 1000;\n"
	  . "CREATE INDEX ap_crash ON ap USING engram_hnsw (v vector_l2_ops);\n";
	my ($bout, $berr) = ('', '');
	my $builder = IPC::Run::start([ 'psql', '-X', '-q', '-d', $primary->connstr('postgres') ],
		'<', \$bin, '>', \$bout, '2>', \$berr);
	my $wq = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'parallel worker' "
	  . "AND wait_event_type = 'Lock' AND wait_event = 'advisory'";
	wait_until([$locker, $builder], "SELECT count(*) = 1 FROM ($wq) s")
	  or die 'the parallel worker did not reach the fault point';
	my $pid = $primary->safe_psql('postgres', $wq);
	my $logpos = -s $primary->logfile;
	kill 'KILL', $pid;
	my $log = EngramTest::wait_crash_restart($primary, $logpos);
	like($log // '', qr/parallel worker.*\(PID $pid\) was terminated by signal 9/,
		'kill -9 of the parallel worker in the middle of the build');
	$_->kill_kill for ($locker, $builder);
	is($primary->safe_psql('postgres', "SELECT to_regclass('ap_crash') IS NULL"), 't',
		'worker killed: no index left after the crash');
	is(EngramTest::table_checksum($primary, 'ap', 'id'), $rows, 'worker killed: the table holds exactly its rows');
	EngramTest::wait_catchup($primary, $standby);
	is(EngramTest::table_checksum($standby, 'ap', 'id'), $rows, 'worker killed: the standby holds the same rows');
}

# a new parallel build after the crashes works and replicates
$primary->safe_psql('postgres', $set . $par
	  . 'CREATE INDEX ap_l2 ON ap USING engram_hnsw (v vector_l2_ops); '
	  . 'CREATE INDEX ap_cos ON ap USING engram_hnsw (v vector_cosine_ops)');
is(build_workers('ap_l2'), '1', 'after the crashes: L2 index built with one parallel worker');
check_indexes('after the crashes, parallel build');
nolib_caught_up('after the crashes');

done_testing();
