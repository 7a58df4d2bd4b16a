
# Copyright (c) engram authors
#
# Transaction-id and multixact wraparound on engram tables (issue 17).
# pg_resetwal moves the counters ahead (after VACUUM (FREEZE) of every
# database, as an old cluster would have done), with zero-filled pg_xact /
# pg_multixact segments for the new positions, and real transactions then
# consume ids across the boundaries:
#  - multixacts: from 2^32 - 7000 across the multixact wrap, row locks
#    shared by two transactions on engram rows (a new multixact each time);
#  - xids: to 10^9, across 2^31 (the signed boundary), to 3.2 * 10^9, and
#    across 2^32 (the epoch goes from 0 to 1).
# At every step rows are inserted (one transaction each), updated and
# deleted in an engram table and its heap shadow in the same transactions;
# the two must stay equal before and after VACUUM (FREEZE), which must keep
# every row and advance relfrozenxid / relminmxid; engram.verify and amcheck
# stay clean; a kill -9 after the last wrap changes nothing.
# Across the epoch boundary a standby session with a REPEATABLE READ
# snapshot must be cancelled when VACUUM (after the wrap) removes rows
# deleted before the wrap: the conflict record carries a full xid computed
# with engram_compat.h's epoch arithmetic, and a wrong epoch would make the
# standby skip the conflict and show fewer rows.
use strict;
use warnings;
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('wrap', checksums => 1);
EngramTest::features($node);

$node->safe_psql('postgres', q{
	CREATE EXTENSION amcheck;
	CREATE TABLE e (id int8 PRIMARY KEY, v int NOT NULL, body text NOT NULL) USING engram;
	CREATE TABLE e_ref (id int8 PRIMARY KEY, v int NOT NULL, body text NOT NULL) USING heap;
	CREATE TABLE m (id int PRIMARY KEY, v int NOT NULL) USING engram;
	CREATE TABLE m_ref (id int PRIMARY KEY, v int NOT NULL) USING heap;
	INSERT INTO m SELECT g, 0 FROM generate_series(1, 100) g;
	INSERT INTO m_ref SELECT g, 0 FROM generate_series(1, 100) g;
	-- one transaction per row: xmins spread over the ids consumed
	CREATE PROCEDURE ins(a int8, b int8, tag text) LANGUAGE plpgsql AS $$
	BEGIN
		FOR i IN a .. b LOOP
			INSERT INTO e VALUES (i, i % 1000, tag || ' ' || md5(i::text));
			INSERT INTO e_ref VALUES (i, i % 1000, tag || ' ' || md5(i::text));
			COMMIT;
		END LOOP;
	END $$;
	CREATE PROCEDURE burn(n int) LANGUAGE plpgsql AS $$
	BEGIN
		FOR i IN 1 .. n LOOP
			PERFORM pg_current_xact_id();
			COMMIT;
		END LOOP;
	END $$;
	-- share-lock rows one transaction at a time while another session
	-- holds share locks on all of them: a new multixact each time
	CREATE PROCEDURE lockers(n int) LANGUAGE plpgsql AS $$
	BEGIN
		FOR i IN 1 .. n LOOP
			PERFORM 1 FROM m WHERE id = 1 + i % 100 FOR SHARE;
			COMMIT;
		END LOOP;
	END $$;
	ALTER DATABASE template0 ALLOW_CONNECTIONS true;
});
$node->safe_psql('postgres', "CALL ins(1, 2000, 'start')");

sub freeze_all
{
	$node->command_ok([ 'vacuumdb', '--all', '--freeze', '--quiet', '-h', $node->host, '-p', $node->port ],
		'vacuumdb --all --freeze');
	return;
}

# a zero-filled SLRU segment of 32 pages for position $pos
sub slru_segment
{
	my ($dir, $pos, $per_segment) = @_;
	my $f = sprintf('%s/%s/%04X', $node->data_dir, $dir, int($pos / $per_segment));
	return if -e $f;
	open my $fh, '>:raw', $f or die "$f: $!";
	print $fh "\0" x (32 * 8192);
	close $fh;
	return;
}

sub resetwal
{
	my (@args) = @_;
	$node->stop;
	command_ok([ 'pg_resetwal', @args, $node->data_dir ], "pg_resetwal @args");
	$node->start;
	return;
}

# everything that must hold at each step
sub check_tables
{
	my ($what) = @_;
	is(EngramTest::table_checksum($node, 'e', 'id'), EngramTest::table_checksum($node, 'e_ref', 'id'),
		"$what: e equals its heap shadow");
	is(EngramTest::table_checksum($node, 'm', 'id'), EngramTest::table_checksum($node, 'm_ref', 'id'),
		"$what: m equals its heap shadow");
	for my $t ('e', 'm')
	{
		my @p = EngramTest::verify_problems($node, $t);
		is(scalar @p, 0, "$what: engram.verify('$t') is clean") or diag(join("\n", @p));
		my ($n, @bad) = EngramTest::amcheck_btrees($node, $t);
		is(scalar @bad, 0, "$what: amcheck passes on $t") or diag(join("\n", @bad));
	}
	return;
}

sub vacuum_freeze_keeps_rows
{
	my ($what) = @_;
	my $before = EngramTest::table_checksum($node, 'e', 'id');
	$node->safe_psql('postgres', 'VACUUM (FREEZE) e; VACUUM (FREEZE) m');
	is(EngramTest::table_checksum($node, 'e', 'id'), $before, "$what: VACUUM (FREEZE) keeps every row of e");
	is($node->safe_psql('postgres',
			"SELECT age(relfrozenxid) < 100000 AND mxid_age(relminmxid) < 100000 FROM pg_class WHERE relname = 'e'"),
		't', "$what: relfrozenxid and relminmxid of e advanced");
	is($node->safe_psql('postgres',
			"SELECT mxid_age(relminmxid) < 100000 AND age(relfrozenxid) < 100000 FROM pg_class WHERE relname = 'm'"),
		't', "$what: relfrozenxid and relminmxid of m advanced");
	return;
}

sub next_multi
{
	$node->safe_psql('postgres', 'CHECKPOINT');
	my ($out) = run_command([ 'pg_controldata', $node->data_dir ]);
	my ($m) = $out =~ /Latest checkpoint's NextMultiXactId:\s+(\d+)/;
	return $m;
}

# ---- multixact wraparound --------------------------------------------------------
freeze_all();
my $multi0 = 4294967296 - 7000;
slru_segment('pg_multixact/offsets', $multi0, 2048 * 32);
resetwal('-m', "$multi0,$multi0");
is(next_multi(), $multi0, "next multixact id is $multi0");
{
	my $holder = $node->background_psql('postgres');
	$holder->query_safe('BEGIN; SELECT count(*) FROM (SELECT id FROM m FOR SHARE) s');
	$node->safe_psql('postgres', 'CALL lockers(9000)');
	# a multixact from after the wrap in the rows' xmax, then updates of
	# rows whose xmax is a multixact of lockers, in both tables
	$holder->query_safe('COMMIT');
	$holder->quit;
}
my $m_after = next_multi();
cmp_ok($m_after, '<', $multi0, "the multixact counter wrapped around 2^32 (next is now $m_after)");
$node->safe_psql('postgres', 'BEGIN; UPDATE m SET v = v + id WHERE id % 3 = 0; UPDATE m_ref SET v = v + id WHERE id % 3 = 0; COMMIT');
$node->safe_psql('postgres', 'BEGIN; DELETE FROM m WHERE id % 10 = 0; DELETE FROM m_ref WHERE id % 10 = 0; COMMIT');
check_tables('after the multixact wrap');
vacuum_freeze_keeps_rows('after the multixact wrap');
is($node->safe_psql('postgres', 'SELECT count(*) FROM m'), '90', 'after the multixact wrap: m has its 90 rows');

# ---- xid wraparound, step by step -----------------------------------------------------
my $next_id = 100_000;
for my $target (1_000_000_000, 2_147_483_648 - 3000, 3_200_000_000, 4_294_967_296 - 8000)
{
	freeze_all();
	slru_segment('pg_xact', $target, 32768 * 32);
	resetwal('-x', $target);
	my $xid = $node->safe_psql('postgres', 'SELECT pg_current_xact_id()');
	ok($xid >= $target && $xid < $target + 100, "xid counter at $target (got $xid)");
	last if $target > 4_000_000_000;    # the epoch wrap is done below, with a standby
	$node->safe_psql('postgres', "CALL ins($next_id, $next_id + 2999, 'x$target')");
	$next_id += 3000;
	$node->safe_psql('postgres', 'CALL burn(4000)');
	$node->safe_psql('postgres', "BEGIN; UPDATE e SET v = v + 1 WHERE id % 7 = 0; UPDATE e_ref SET v = v + 1 WHERE id % 7 = 0; COMMIT");
	$node->safe_psql('postgres', "BEGIN; DELETE FROM e WHERE id % 101 = 0; DELETE FROM e_ref WHERE id % 101 = 0; COMMIT");
	my $now = $node->safe_psql('postgres', 'SELECT pg_current_xact_id()');
	note("xid now $now");
	check_tables("xid step $target");
	vacuum_freeze_keeps_rows("xid step $target");
}
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM e WHERE body LIKE 'x2147480648 %'"), '>', 2900,
	'rows inserted across the 2^31 boundary are all visible');

# ---- across 2^32: epoch 0 -> 1, with a standby -------------------------------------------
# (pg_resetwal made every database look old: freeze them again and let any
# anti-wraparound autovacuum finish, so that nothing but the VACUUM below
# removes rows while the standby session runs)
freeze_all();
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
  or die 'autovacuum workers did not finish';
$node->safe_psql('postgres', q{
	CREATE TABLE c (id int PRIMARY KEY, body text) USING engram;
	INSERT INTO c SELECT g, repeat('c', 100) FROM generate_series(1, 2000) g;
	CREATE FUNCTION wait_then(flag text, q text) RETURNS text LANGUAGE plpgsql AS $$
	DECLARE r text;
	BEGIN
		WHILE (pg_stat_file(flag, true)).size IS NULL LOOP
			PERFORM pg_sleep(0.05);
		END LOOP;
		EXECUTE q INTO r;
		RETURN r;
	END $$;
});
my $standby = EngramTest::new_standby($node, 'wrap_standby',
	extra_conf => "hot_standby_feedback = off\nmax_standby_streaming_delay = 0");
EngramTest::wait_catchup($node, $standby);

# standby session: an RR snapshot that sees all of c, then waits in a statement
my $flag = 'engram_wrap_flag';
my ($in, $out, $err) = ('', '', '');
my $h = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $standby->connstr('postgres'), '-f', '-' ],
	'<', \$in, '>', \$out, '2>', \$err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
$in .= "BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT 'first=' || count(*) FROM c;\n"
  . "SELECT 'second=' || wait_then('$flag', 'SELECT count(*) FROM c');\nCOMMIT;\n";
$h->pump until $out =~ /first=\d+/ || $err =~ /ERROR|FATAL/;
is(($out =~ /first=(\d+)/)[0], '2000', 'standby session sees the 2000 rows of c');

# delete before the wrap, consume xids across it, then insert and VACUUM after it
my $del_xid = $node->safe_psql('postgres', 'BEGIN; DELETE FROM c WHERE id % 2 = 0; SELECT pg_current_xact_id(); COMMIT');
$node->safe_psql('postgres', "CALL ins($next_id, $next_id + 2999, 'wrap')");
$next_id += 3000;
$node->safe_psql('postgres', 'CALL burn(6000)');
my $fxid = $node->safe_psql('postgres', 'SELECT pg_current_xact_id()');
cmp_ok($fxid, '>', 4294967296, "the xid counter passed 2^32 (full xid $fxid, epoch 1); rows deleted by xid $del_xid of epoch 0");
$node->safe_psql('postgres', "BEGIN; UPDATE e SET v = v + 1 WHERE id % 7 = 0; UPDATE e_ref SET v = v + 1 WHERE id % 7 = 0; COMMIT");
EngramTest::wait_catchup($node, $standby);
$h->pump_nb;
is($err, '', 'the standby session is still running before the VACUUM');
$node->safe_psql('postgres', 'VACUUM c');
is($node->safe_psql('postgres', "SELECT n_live_tup || '/' || n_dead_tup FROM pg_stat_user_tables WHERE relname = 'c'"),
	'1000/0', 'VACUUM in epoch 1 removed the rows deleted in epoch 0');
EngramTest::wait_catchup($node, $standby);
{
	my $path = File::Spec->catfile($standby->data_dir, $flag);
	open my $fh, '>', $path or die "$path: $!";
	close $fh;
}
$h->finish;
note("standby session: out=$out err=$err");
like($err, qr/canceling statement due to conflict with recovery/,
	'the standby session was cancelled: the conflict record\'s full xid (epoch 0, logged in epoch 1) was resolved');
unlike($out, qr/second=(?!2000)\d+/, 'the standby session never saw fewer rows');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM c'), '1000', 'a new standby query sees the 1000 rows left');

check_tables('after the epoch wrap');
vacuum_freeze_keeps_rows('after the epoch wrap');
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM e WHERE body LIKE 'wrap %'"), '>', 2900,
	'rows inserted across 2^32 are all visible');

# a crash after the wrap: the epoch and every row survive
my $sum = EngramTest::table_checksum($node, 'e', 'id');
$node->safe_psql('postgres', "CALL ins($next_id, $next_id + 499, 'crash')");
EngramTest::kill9_and_restart($node);
cmp_ok($node->safe_psql('postgres', 'SELECT pg_current_xact_id()'), '>', $fxid, 'after kill -9: still in epoch 1, past the last xid');
is($node->safe_psql('postgres', "SELECT count(*) FROM e WHERE body LIKE 'crash %'"), '500', 'after kill -9: the committed rows are there');
check_tables('after kill -9 in epoch 1');
EngramTest::wait_catchup($node, $standby);
is(EngramTest::table_checksum($standby, 'e', 'id'), EngramTest::table_checksum($node, 'e', 'id'),
	'standby: the same rows as the primary after the wrap');
unlike(slurp_file($standby->logfile), qr/inconsistent page found|PANIC/, 'standby: no redo failure');

$standby->stop;
$node->stop;
done_testing();
