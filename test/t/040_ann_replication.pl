
# Copyright (c) engram authors
#
# engram_hnsw under physical replication and crashes (issue 7).
#  - A primary and a streaming standby with wal_consistency_checking =
#    'generic': build (log_newpage_range), inserts (generic WAL, several
#    records per insert), DELETE + VACUUM (neighbour repair, deleted flags)
#    and inserts again.  The standby replays it all without an
#    inconsistency and answers the same nearest-neighbour queries as the
#    primary, which equal exact search.
#  - A standby of the same server WITHOUT the engram library replays the
#    same stream (all core record types) and catches up.
#  - kill -9 (immediate stop) during inserts into an indexed table: after
#    restart the index answers and agrees with exact search; REINDEX gives
#    the same answers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;
use IPC::Run;
use Time::HiRes qw(usleep);

my $primary = EngramTest::new_primary('primary', wcc => 1);
my $f = EngramTest::features($primary);

my $standby = EngramTest::new_standby($primary, 'standby', backup_name => 'b1',
	extra_conf => "wal_consistency_checking = 'generic'");
my $nolib = EngramTest::new_standby($primary, 'nolib', nolib => 1,
	backup_name => 'b1', reuse_backup => 1);

# tables: a heap table, and one on engram's table AM when it exists
my @tables = ('ann_heap');
push @tables, 'ann_eng' if $f->{test_am};

my $set = 'SET search_path = public, engram; SET engram.ef_search = 1000; '
  . 'SET max_parallel_workers_per_gather = 0; ';

# deterministic 16-dim vectors from generate_series math
sub vec_expr
{
	my ($i) = @_;
	return "(SELECT array_agg(sin($i * 0.37 + g * 1.71) + cos($i * g * 0.013))::float4[]::engram.vector "
	  . "FROM generate_series(1, 16) g)";
}

sub insert_rows
{
	my ($node, $table, $from, $to) = @_;
	my $v = vec_expr('i');
	$node->safe_psql('postgres',
		"SET search_path = public, engram; INSERT INTO $table SELECT i, i % 10, $v FROM generate_series($from, $to) i");
}

$primary->safe_psql('postgres', 'SET search_path = public, engram; '
	  . 'CREATE TABLE ann_heap (id int PRIMARY KEY, grp int, v engram.vector(16))');
$primary->safe_psql('postgres', "SET search_path = public, engram; "
	  . "CREATE TABLE ann_eng (id int, grp int, v engram.vector(16)) USING $f->{test_am}")
  if $f->{test_am};
for my $t (@tables)
{
	insert_rows($primary, $t, 1, 1500);
	$primary->safe_psql('postgres', "SET search_path = public, engram; "
		  . "CREATE INDEX ${t}_cos ON $t USING engram_hnsw (v vector_cosine_ops); "
		  . "CREATE INDEX ${t}_l2 ON $t USING engram_hnsw (v vector_l2_ops) WITH (m = 8)");
}

# top-10 ids for 6 queries, index scan or exact, as one string
sub answers
{
	my ($node, $table, $op, $mode) = @_;
	my $planner = $mode eq 'index'
	  ? 'SET enable_seqscan = off; SET enable_bitmapscan = off; '
	  : 'SET enable_indexscan = off; SET enable_bitmapscan = off; ';
	my $q = vec_expr('(q * 1000 + 7)');
	return $node->safe_psql('postgres', $set . $planner
		  . "SELECT string_agg(ids, ';' ORDER BY q) FROM ("
		  . "SELECT q, array_to_string(ARRAY(SELECT id FROM $table ORDER BY v $op $q LIMIT 10), ',') AS ids "
		  . "FROM generate_series(1, 6) q) s");
}

sub explain_uses_index
{
	my ($node, $table, $op) = @_;
	my $plan = $node->safe_psql('postgres', $set . 'SET enable_seqscan = off; '
		  . "EXPLAIN (COSTS OFF) SELECT id FROM $table ORDER BY v $op '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]' LIMIT 10");
	return $plan =~ /Index Scan using ${table}_(cos|l2)/;
}

sub check_all
{
	my ($label) = @_;
	EngramTest::wait_catchup($primary, $standby);
	for my $t (@tables)
	{
		for my $op ('<=>', '<->')
		{
			my $exact = answers($primary, $t, $op, 'exact');
			my $p = answers($primary, $t, $op, 'index');
			my $s = answers($standby, $t, $op, 'index');
			is($p, $exact, "$label: $t $op: primary index scan = exact search");
			is($s, $p, "$label: $t $op: standby answers like the primary");
		}
		ok(explain_uses_index($standby, $t, '<=>'), "$label: $t: standby plans the index scan");
	}
}

check_all('after build');

for my $t (@tables)
{
	insert_rows($primary, $t, 1501, 2200);
}
check_all('after inserts');

for my $t (@tables)
{
	$primary->safe_psql('postgres', "DELETE FROM $t WHERE id % 4 = 0 OR id BETWEEN 100 AND 400");
	$primary->safe_psql('postgres', "VACUUM $t");
}
check_all('after delete + vacuum');

for my $t (@tables)
{
	$primary->safe_psql('postgres', "DELETE FROM $t WHERE id > 0");    # everything
	insert_rows($primary, $t, 3001, 3600);
	$primary->safe_psql('postgres', "VACUUM $t");
	insert_rows($primary, $t, 3601, 3900);
}
check_all('after delete all + vacuum + inserts');

# ---- concurrent inserts, deletes, VACUUM and scans -------------------------
$primary->safe_psql('postgres', 'SET search_path = public, engram; '
	  . 'CREATE TABLE ann_conc (id serial PRIMARY KEY, v engram.vector(16)); '
	  . 'CREATE INDEX ann_conc_cos ON ann_conc USING engram_hnsw (v vector_cosine_ops); '
	  . 'CREATE INDEX ann_conc_l2 ON ann_conc USING engram_hnsw (v vector_l2_ops) WITH (m = 4)');
my $rv = '(SELECT array_agg(sin(r * 0.37 + g * 1.71) + cos(r * g * 0.013))::float4[]::engram.vector '
  . 'FROM generate_series(1, 16) g)';
$primary->safe_psql('postgres',
	"INSERT INTO ann_conc (v) SELECT $rv FROM (SELECT i * 1.7 AS r FROM generate_series(1, 500) i) s");
$primary->pgbench(
	'--no-vacuum --client=3 --time=6', 0, [qr{processed}], [qr{^$}],
	'concurrent inserts, deletes, VACUUM and index scans',
	{
		'040_ins@6' => "INSERT INTO ann_conc (v) SELECT $rv FROM (SELECT random() * 100000 AS r) s;",
		'040_del@2' => 'DELETE FROM ann_conc WHERE id = (random() * 3000)::int;',
		'040_vac@1' => 'VACUUM ann_conc;',
		'040_q@3' => 'SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM ann_conc '
		  . "ORDER BY v OPERATOR(engram.<=>) (SELECT v FROM ann_conc ORDER BY id DESC LIMIT 1) LIMIT 10) s;",
	},
	'postgres');
$primary->safe_psql('postgres', 'VACUUM ann_conc');
{
	my $n = $primary->safe_psql('postgres', 'SELECT count(*) FROM ann_conc');
	my @t = ('ann_conc');
	EngramTest::wait_catchup($primary, $standby);
	for my $op ('<=>', '<->')
	{
		my $exact = answers($primary, 'ann_conc', $op, 'exact');
		is(answers($primary, 'ann_conc', $op, 'index'), $exact,
			"concurrent ($n rows): $op primary index scan = exact search");
		is(answers($standby, 'ann_conc', $op, 'index'), $exact,
			"concurrent: $op standby index scan = exact search");
	}
	my $all = $primary->safe_psql('postgres', $set . 'SET enable_seqscan = off; SET engram.ann_max_scan_tuples = 100000; SET engram.ann_strict_order = off; '
		  . "SELECT count(*) FROM (SELECT id FROM ann_conc ORDER BY v <=> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 100000) s");
	is($all, $n, 'concurrent: every row is reachable through the index');
}

# the standby without the library replayed the same stream
my $target = $primary->lsn('insert');
$primary->wait_for_catchup('nolib', 'replay', $target);
my $caught = $primary->safe_psql('postgres',
	"SELECT replay_lsn >= '$target'::pg_lsn FROM pg_stat_replication WHERE application_name = 'nolib'");
is($caught, 't', 'standby without engram replayed everything (pg_stat_replication.replay_lsn)');
is($nolib->safe_psql('postgres', "SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn"), 't',
	'standby without engram: its own replay lsn agrees');
is($nolib->safe_psql('postgres', 'SELECT 1'), '1', 'standby without engram is alive');

# ---- crash during inserts -------------------------------------------------
$primary->safe_psql('postgres', 'SET search_path = public, engram; '
	  . 'CREATE TABLE ann_crash (id int, grp int, v engram.vector(16)); '
	  . 'CREATE INDEX ann_crash_cos ON ann_crash USING engram_hnsw (v vector_cosine_ops)');
insert_rows($primary, 'ann_crash', 1, 300);
my $v = vec_expr('i');


my ($in, $out, $err) = ('', '', '');
my $h = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $primary->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$err);
$in .= "SET search_path = public, engram;\n";
for my $b (0 .. 199)
{
	my $from = 1000 + $b * 20;
	my $to = $from + 19;
	$in .= "INSERT INTO ann_crash SELECT i, i % 10, $v FROM generate_series($from, $to) i;\n";
}
$h->pump_nb;
# let some batches commit, then crash in the middle of the stream
my $deadline = time + 60;
while (time < $deadline)
{
	$h->pump_nb;
	my $n = $primary->safe_psql('postgres', 'SELECT count(*) FROM ann_crash');
	last if $n >= 800;
	usleep(20_000);
}
$primary->stop('immediate');
$h->kill_kill;
$primary->start;

my $n = $primary->safe_psql('postgres', 'SELECT count(*) FROM ann_crash');
ok($n >= 800, "crash: $n rows survived");
my $exact = answers($primary, 'ann_crash', '<=>', 'exact');
my $idx = answers($primary, 'ann_crash', '<=>', 'index');
is($idx, $exact, 'crash: index scan after restart = exact search');
my $all = $primary->safe_psql('postgres', $set . 'SET enable_seqscan = off; SET engram.ann_max_scan_tuples = 100000; SET engram.ann_strict_order = off; '
	  . "SELECT count(*) FROM (SELECT id FROM ann_crash ORDER BY v <=> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 100000) s");
is($all, $n, 'crash: every row is reachable through the index');
insert_rows($primary, 'ann_crash', 50001, 50200);
is(answers($primary, 'ann_crash', '<=>', 'index'), answers($primary, 'ann_crash', '<=>', 'exact'),
	'crash: inserts after restart keep index = exact');
$primary->safe_psql('postgres', 'REINDEX INDEX ann_crash_cos');
is(answers($primary, 'ann_crash', '<=>', 'index'), answers($primary, 'ann_crash', '<=>', 'exact'),
	'crash: REINDEX gives the same answers');

EngramTest::wait_catchup($primary, $standby);
is(answers($standby, 'ann_crash', '<=>', 'index'), answers($primary, 'ann_crash', '<=>', 'index'),
	'crash: standby follows the restarted primary');
$primary->wait_for_catchup('nolib', 'replay', $primary->lsn('insert'));
is($nolib->safe_psql('postgres', 'SELECT 1'), '1', 'standby without engram still replays after the crash');

# no consistency-check failure on the standbys
my $slog = slurp_file($standby->logfile);
unlike($slog, qr/inconsistent page|PANIC/, 'standby log: no inconsistency (wal_consistency_checking) and no PANIC');
my $nlog = slurp_file($nolib->logfile);
unlike($nlog, qr/PANIC|inconsistent page/, 'standby without engram: no PANIC');

done_testing();
