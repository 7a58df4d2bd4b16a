# Copyright (c) engram authors
#
# Hot-standby safety of engram tables (issue 13).
#
# A standby session holding a REPEATABLE READ snapshot must, after the
# primary removes rows (DELETE + VACUUM), reuses their slots, or truncates
# the table, either see exactly what it saw before or be cancelled with a
# recovery-conflict error -- never silently see fewer (or other) rows.  With
# hot_standby_feedback the rows are kept and nothing is cancelled.  A stock
# standby that never loaded engram's library replays everything, and
# wal_consistency_checking finds no unlogged page change.
#
# The standby session runs one psql process fed a script: it counts, then
# calls a function that waits (inside a running statement, so a conflict
# cancels the statement instead of terminating the connection) until the
# test drops a flag file into the standby's data directory, then counts
# again.

use strict;
use warnings;

use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', qq{
fsync = on
autovacuum = off
wal_consistency_checking = 'generic'
max_wal_senders = 10
wal_keep_size = 256MB
log_min_messages = warning
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION engram');

# A table the no-library standby is asked to read at the end.
$primary->safe_psql('postgres',
	'CREATE TABLE probe (id int) USING engram; INSERT INTO probe VALUES (1)');

# Waits for a flag file in the data directory, then runs a query: a
# statement that is running while the standby replays removals.
$primary->safe_psql(
	'postgres', q{
CREATE FUNCTION wait_then(flag text, q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	WHILE (pg_stat_file(flag, true)).size IS NULL LOOP
		PERFORM pg_sleep(0.05);
	END LOOP;
	EXECUTE q INTO r;
	RETURN r;
END
$$;
});

$primary->backup('bk');

# Standby with the library: feedback off, immediate cancellation.
my $standby = PostgreSQL::Test::Cluster->new('standby_lib');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->append_conf(
	'postgresql.conf', qq{
hot_standby_feedback = off
max_standby_streaming_delay = 0
wal_receiver_status_interval = 1
wal_consistency_checking = 'generic'
log_min_messages = warning
});
$standby->start;

# Stock standby that has never loaded engram: replays only.
my $nolib = PostgreSQL::Test::Cluster->new('standby_nolib',
	install_path => $ENV{ENGRAM_NOLIB_INSTALL});
$nolib->init_from_backup($primary, 'bk', has_streaming => 1);
$nolib->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = ''
wal_consistency_checking = 'generic'
log_min_messages = warning
});
$nolib->start;

my $flagno = 0;

# Start a standby session: returns a handle after the first count is known.
# $q is a query returning one value, run before and after the flag.
sub start_session
{
	my ($node, $q, %opts) = @_;
	my $flag = 'engram_flag_' . (++$flagno);
	my ($in, $out, $err) = ('', '', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-f', '-' ],
		'<', \$in, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	(my $qq = $q) =~ s/'/''/g;
	$in .= "BEGIN ISOLATION LEVEL REPEATABLE READ;\n";
	$in .= "SET LOCAL enable_seqscan = off;\n" if $opts{index};
	$in .= "SELECT 'first=' || ($q);\n";
	$in .= "SELECT 'xmin=' || txid_snapshot_xmin(txid_current_snapshot());\n";
	$in .= "SELECT 'second=' || wait_then('$flag', '$qq');\n";
	$in .= "SELECT 'third=' || ($q);\n";
	$in .= "COMMIT;\n";
	$h->pump until $out =~ /xmin=\d+/ || $err =~ /ERROR|FATAL/;
	my ($first) = $out =~ /first=(\d+)/;
	my ($xmin) = $out =~ /xmin=(\d+)/;
	return {
		h => $h,
		out => \$out,
		err => \$err,
		in => \$in,
		flag => $flag,
		node => $node,
		first => $first,
		xmin => $xmin
	};
}

# Let the session read again and finish; returns (second, third, conflict).
sub finish_session
{
	my ($s) = @_;
	my $path = File::Spec->catfile($s->{node}->data_dir, $s->{flag});
	open(my $fh, '>', $path) or die "could not create $path: $!";
	close($fh);
	$s->{h}->finish;
	my ($second) = ${ $s->{out} } =~ /second=(\d+)/;
	my ($third) = ${ $s->{out} } =~ /third=(\d+)/;
	my $conflict = ${ $s->{err} } =~ /conflict with recovery/ ? 1 : 0;
	note "session stdout: ${ $s->{out} }";
	note "session stderr: ${ $s->{err} }";
	return ($second, $third, $conflict);
}

# The safety property: same rows, or a recovery-conflict error.
sub check_session
{
	my ($name, $s, $second, $third, $conflict) = @_;
	ok(defined $s->{first}, "$name: first count read ($s->{first})");
	if ($conflict)
	{
		like(${ $s->{err} }, qr/ERROR:\s+canceling statement due to conflict with recovery/,
			"$name: the waiting statement (not the connection) was cancelled with a recovery conflict");
		ok(!defined $second || $second == $s->{first},
			"$name: no changed count before the conflict");
	}
	else
	{
		is($second, $s->{first}, "$name: same count after replay");
		is($third, $s->{first}, "$name: same count in the next statement");
	}
}

sub catchup
{
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
}

{

	# ---- A: DELETE + VACUUM under an old snapshot, no feedback -------------
	$primary->safe_psql(
		'postgres', q{
CREATE TABLE ca (id int PRIMARY KEY, body text) USING engram;
INSERT INTO ca SELECT g, repeat('a', 200) FROM generate_series(1, 2000) g;
});
	catchup();
	my $s = start_session($standby, 'SELECT count(*) FROM ca');
	is($s->{first}, 2000, 'A: standby sees 2000 rows');
	$primary->safe_psql('postgres', 'DELETE FROM ca WHERE id % 2 = 0');
	$primary->safe_psql('postgres', 'VACUUM ca');
	is( $primary->safe_psql(
			'postgres',
			"SELECT n_live_tup || '/' || n_dead_tup FROM pg_stat_user_tables WHERE relname = 'ca'"
		),
		'1000/0',
		'A: primary VACUUM removed the deleted rows');
	catchup();
	my @r = finish_session($s);
	check_session('A', $s, @r);
	ok($r[2], 'A: removal conflicted with the old snapshot (conflict record replayed first)');

	# ---- B: slots reused by new rows, snapshot taken after the DELETE ------
	# (every other row deleted: no page becomes empty, so no truncation)
	$primary->safe_psql(
		'postgres', q{
CREATE TABLE cb (id int PRIMARY KEY, body text) USING engram;
INSERT INTO cb SELECT g, repeat('b', 200) FROM generate_series(1, 2000) g;
DELETE FROM cb WHERE id % 2 = 0;
});
	catchup();
	$s = start_session($standby, 'SELECT count(*) FROM cb WHERE id > 0',
		index => 1);
	is($s->{first}, 1000, 'B: standby sees 1000 rows (index scan)');
	$primary->safe_psql('postgres', 'VACUUM cb');
	my $size_b = $primary->safe_psql('postgres', "SELECT pg_relation_size('cb')");
	$primary->safe_psql('postgres',
		"INSERT INTO cb SELECT g, repeat('n', 200) FROM generate_series(5001, 6000) g"
	);
	is($primary->safe_psql('postgres', "SELECT pg_relation_size('cb')"),
		$size_b, 'B: new rows reused the freed slots (table did not grow)');
	catchup();
	@r = finish_session($s);
	check_session('B', $s, @r);
	# the removed rows were invisible to this snapshot: nothing to cancel
	ok(!$r[2], 'B: no conflict for rows the snapshot could not see');
	is($standby->safe_psql('postgres',
			'SET enable_seqscan = off; SELECT count(*) FROM cb WHERE id > 0'),
		2000, 'B: a new standby query sees old and new rows');

	# ---- C: truncation of the table's tail --------------------------------
	$primary->safe_psql(
		'postgres', q{
CREATE TABLE cc (id int PRIMARY KEY, body text) USING engram;
INSERT INTO cc SELECT g, repeat('c', 200) FROM generate_series(1, 3000) g;
});
	catchup();
	$s = start_session($standby, 'SELECT count(*) FROM cc');
	my $size_before =
	  $primary->safe_psql('postgres', "SELECT pg_relation_size('cc')");
	$primary->safe_psql('postgres', 'DELETE FROM cc WHERE id > 100');
	$primary->safe_psql('postgres', 'VACUUM cc');
	my $size_after =
	  $primary->safe_psql('postgres', "SELECT pg_relation_size('cc')");
	cmp_ok($size_after, '<', $size_before, 'C: VACUUM truncated the table');
	catchup();
	@r = finish_session($s);
	check_session('C', $s, @r);
	is($standby->safe_psql('postgres', 'SELECT count(*) FROM cc'),
		100, 'C: a new standby query sees the 100 remaining rows');
}

# ---- F: freezing rows a standby snapshot still sees as in progress -------
# Freezing makes a row visible to every snapshot, so it also needs a
# conflict record: a standby snapshot taken while the inserter was running
# must not suddenly see its rows after VACUUM (FREEZE) is replayed.
{
	$primary->safe_psql(
		'postgres', q{
CREATE TABLE cf (id int PRIMARY KEY, body text) USING engram;
INSERT INTO cf SELECT g, 'f' FROM generate_series(1, 100) g;
});
	my $writer = $primary->background_psql('postgres');
	$writer->query_safe(
		"BEGIN; INSERT INTO cf SELECT g, 'late' FROM generate_series(101, 150) g");
	catchup();
	my $s = start_session($standby, 'SELECT count(*) FROM cf');
	is($s->{first}, 100, 'F: standby snapshot does not see the running insert');
	$writer->query_safe('COMMIT');
	$writer->quit;
	$primary->safe_psql('postgres', 'VACUUM (FREEZE) cf');
	catchup();
	my @r = finish_session($s);
	check_session('F', $s, @r);
	ok($r[2], 'F: freezing conflicted with the snapshot that saw the inserter running');
	is($standby->safe_psql('postgres', 'SELECT count(*) FROM cf'),
		150, 'F: a new standby query sees all rows');
}

{

	# ---- D: hot_standby_feedback keeps the rows, nothing is cancelled -----
	$standby->safe_psql('postgres',
		'ALTER SYSTEM SET hot_standby_feedback = on');
	$standby->reload;
	$primary->safe_psql(
		'postgres', q{
CREATE TABLE cd (id int PRIMARY KEY, body text) USING engram;
INSERT INTO cd SELECT g, repeat('d', 200) FROM generate_series(1, 2000) g;
});
	catchup();
	my $s = start_session($standby, 'SELECT count(*) FROM cd');
	is($s->{first}, 2000, 'D: standby sees 2000 rows');
	my $xmin32 = $s->{xmin} % (2**32);
	$primary->poll_query_until('postgres',
		"SELECT backend_xmin IS NOT NULL AND backend_xmin::text::bigint <= $xmin32 "
		  . "FROM pg_stat_replication WHERE application_name = 'standby_lib'")
	  or die 'hot_standby_feedback never reached the primary';
	$primary->safe_psql('postgres', 'DELETE FROM cd WHERE id % 2 = 0');
	$primary->safe_psql('postgres', 'VACUUM cd');
	is( $primary->safe_psql(
			'postgres',
			"SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'cd'"),
		'1000',
		'D: primary VACUUM kept the rows the standby snapshot needs');
	catchup();
	my @r = finish_session($s);
	ok(!$r[2], 'D: no recovery conflict with hot_standby_feedback');
	is($r[0], 2000, 'D: same count after replay');
	is($r[1], 2000, 'D: same count in the next statement');

	# once the snapshot is gone the rows go
	$standby->safe_psql('postgres',
		'ALTER SYSTEM SET hot_standby_feedback = off');
	$standby->reload;
	$primary->poll_query_until('postgres',
		"SELECT backend_xmin IS NULL FROM pg_stat_replication WHERE application_name = 'standby_lib'"
	);
	$primary->safe_psql('postgres', 'VACUUM cd');
	is( $primary->safe_psql(
			'postgres',
			"SELECT n_live_tup || '/' || n_dead_tup FROM pg_stat_user_tables WHERE relname = 'cd'"
		),
		'1000/0',
		'D: rows removed once no standby snapshot needs them');
}

{

	# ---- E: tier migration under a held snapshot needs no conflict --------
	# Bodies move to COLD chunk pages and back; TIDs, headers and contents
	# stay, so a snapshot can see no difference and nothing is cancelled.
	$primary->safe_psql(
		'postgres', q{
CREATE TABLE ce (id int PRIMARY KEY, body text) USING engram;
INSERT INTO ce SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 2000) g;
});
	catchup();
	my $q = "SELECT count(*) || ':' || sum(length(body)) || ':' || "
	  . "md5(string_agg(body, ',' ORDER BY id)) FROM ce";
	for my $target ('cold', 'hot')
	{
		my $s = start_session($standby, $q);
		my ($rc, $out, $err) = $primary->psql('postgres',
			"SELECT * FROM engram.migrate('ce'::regclass, target => '$target')");
		note "migrate $target: rc=$rc out=$out err=$err";
		# VACUUM sweeps the chunk pages no row refers to any more (TRUNCATE
		# off: giving the emptied tail back takes an AccessExclusiveLock,
		# which a standby reader of the table conflicts with, see C)
		$primary->safe_psql('postgres', 'VACUUM (TRUNCATE off) ce');
		catchup();
		finish_session($s);
		my ($first) = ${ $s->{out} } =~ /first=(\S+)/;
		my ($second) = ${ $s->{out} } =~ /second=(\S+)/;
		ok(${ $s->{err} } !~ /conflict with recovery/,
			"E ($target): migration caused no recovery conflict");
		ok(defined $first, "E ($target): first read ($first)");
		is($second, $first, "E ($target): same rows and bodies after migration");
		is($standby->safe_psql('postgres', $q), $first,
			"E ($target): a new standby query reads the migrated bodies");
	}
}

# ---- the stock standby replayed everything ---------------------------------
my $target = $primary->lsn('insert');
$primary->wait_for_catchup($nolib, 'replay', $target);
cmp_ok($nolib->safe_psql('postgres', "SELECT pg_wal_lsn_diff('$target', pg_last_wal_replay_lsn())"),
	'<=', 0, 'no-library standby replayed up to the primary insert LSN');
my ($rc, $out, $err) = $nolib->psql('postgres', 'SELECT count(*) FROM probe');
isnt($rc, 0, 'no-library standby refuses to read an engram table');
like($err, qr/engram|access method|library/i,
	'no-library standby gives a clean error');
is($nolib->safe_psql('postgres', 'SELECT 1'), 1, 'no-library standby still up');

# ---- no unlogged page change anywhere --------------------------------------
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
for my $node ($standby, $nolib)
{
	my $log = slurp_file($node->logfile);
	unlike($log, qr/inconsistent page found/,
		$node->name . ': wal_consistency_checking found no inconsistent page');
	unlike($log, qr/PANIC/, $node->name . ': no PANIC during replay');
}

$standby->stop;
$nolib->stop;
$primary->stop;
done_testing();
