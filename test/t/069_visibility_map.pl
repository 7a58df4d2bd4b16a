
# Copyright (c) engram authors
#
# The visibility map of engram tables on standbys and through crashes
# (issue 24 item 8, ADR 0012).
#
# A primary with data checksums and wal_consistency_checking = 'generic'
# runs DML, VACUUM, VACUUM FREEZE, row locks and truncation on an engram
# table.  After each step:
#  - the standby (with the library) has exactly the primary's map and
#    PD_ALL_VISIBLE flags (pg_visibility), and its index-only scans return
#    the primary's rows, with no heap fetch once VACUUM has run;
#  - wal_consistency_checking finds no inconsistent page (VM pages included:
#    they are logged in engram's generic records);
#  - a stock standby without the library replays the same stream.
# VACUUM skips all-visible pages (VERBOSE output) unless DISABLE_PAGE_SKIPPING.
# Hot standby: a standby session whose REPEATABLE READ snapshot predates rows
# that VACUUM then marks all-visible must not see them through an index-only
# scan: the conflict record before the VM record cancels it.
# kill -9 in the middle of VACUUM (fault point) and with DML in flight: after
# restart no VM bit is set on a page without PD_ALL_VISIBLE and index-only
# scans agree with sequential scans.
use strict;
use warnings;

use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $primary = EngramTest::new_primary('primary', wcc => 1, checksums => 1,
	extra_conf => "hot_standby_feedback = off");
my $f = EngramTest::features($primary);

$primary->safe_psql('postgres', q{
CREATE EXTENSION pg_visibility;
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
CREATE TABLE vm (id int PRIMARY KEY, grp int, pad text) USING engram
	WITH (autovacuum_enabled = off);
CREATE TABLE hs (id int PRIMARY KEY) USING engram WITH (autovacuum_enabled = off);
});
$primary->backup('b1');
my $standby = EngramTest::new_standby($primary, 'standby', backup_name => 'b1',
	reuse_backup => 1,
	extra_conf => "hot_standby_feedback = off\nmax_standby_streaming_delay = 0\nwal_receiver_status_interval = 1");
my $nolib = EngramTest::new_standby($primary, 'nolib', nolib => 1,
	backup_name => 'b1', reuse_backup => 1,
	extra_conf => "hot_standby_feedback = off");

sub catchup
{
	my ($node) = @_;
	$primary->wait_for_catchup($node // $standby, 'replay', $primary->lsn('insert'));
	return;
}

# the map and PD_ALL_VISIBLE of every page, as one string
sub vismap
{
	my ($node, $t) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(blkno || ':' || all_visible::int || all_frozen::int || pd_all_visible::int, ' ' ORDER BY blkno), 'empty') FROM pg_visibility('$t')");
}

# rows through an index-only scan (forced), and the plan's heap fetches
sub ios
{
	my ($node, $t) = @_;
	my $set = 'SET enable_seqscan = off; SET enable_bitmapscan = off;';
	my $rows = $node->safe_psql('postgres',
		"$set SELECT count(*) || '/' || coalesce(sum(id), 0) FROM $t WHERE id > 0");
	my $plan = $node->safe_psql('postgres',
		"$set EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id FROM $t WHERE id > 0");
	my ($fetches) = $plan =~ /Heap Fetches: (\d+)/;
	return ($rows, $plan =~ /Index Only Scan/ ? $fetches : undef);
}

sub seq
{
	my ($node, $t) = @_;
	return $node->safe_psql('postgres',
		"SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off; SELECT count(*) || '/' || coalesce(sum(id), 0) FROM $t WHERE id > 0");
}

# ---- 1. the map on the standby, step by step ----------------------------
my @steps = (
	[ 'insert' => q{INSERT INTO vm SELECT g, g % 7, repeat('p', 40) FROM generate_series(1, 20000) g}, 0 ],
	[ 'vacuum' => 'VACUUM vm', 1 ],
	[ 'delete, update, insert' => q{
		DELETE FROM vm WHERE id % 100 = 0;
		UPDATE vm SET pad = repeat('u', 2000) WHERE id % 997 = 1;
		INSERT INTO vm SELECT g, 0, 'late' FROM generate_series(30001, 30300) g;
	}, 0 ],
	[ 'vacuum again' => 'VACUUM vm', 1 ],
	[ 'vacuum freeze' => 'VACUUM (FREEZE) vm', 1 ],
	[ 'row locks' => q{
		SELECT count(*) FROM (SELECT id FROM vm WHERE id % 500 = 3 FOR KEY SHARE) s;
		SELECT count(*) FROM (SELECT id FROM vm WHERE id % 700 = 5 FOR UPDATE) s;
	}, 2 ],
	[ 'delete the tail, vacuum (truncation)' => q{
		DELETE FROM vm WHERE id > 15000;
		VACUUM vm;
	}, 1 ],
	[ 'insert after truncation' => q{INSERT INTO vm SELECT g, 1, 'again' FROM generate_series(40001, 41000) g}, 0 ],
	[ 'vacuum last' => 'VACUUM vm', 1 ],
);
for my $s (@steps)
{
	my ($name, $sql, $after_vacuum) = @$s;
	$primary->safe_psql('postgres', $sql);
	catchup();
	my $pmap = vismap($primary, 'vm');
	is(vismap($standby, 'vm'), $pmap, "step '$name': standby has the primary's visibility map and PD_ALL_VISIBLE");
	my $bad = $primary->safe_psql('postgres',
		"SELECT count(*) FROM pg_visibility('vm') WHERE (all_visible OR all_frozen) AND NOT pd_all_visible");
	is($bad, '0', "step '$name': no VM bit without PD_ALL_VISIBLE on the primary");
	my $want = seq($primary, 'vm');
	my ($rows, $fetches) = ios($standby, 'vm');
	is($rows, $want, "step '$name': standby index-only scan returns the primary's rows");
	ok(defined $fetches, "step '$name': the standby plan is an index-only scan");
	if ($after_vacuum == 2)
	{
		# row locks clear all-frozen only, as on heap
		is($fetches, '0', "step '$name': no heap fetch (the rows stay visible to all)");
		like($pmap, qr/:101/, "step '$name': locked rows' pages lost all-frozen, kept all-visible");
	}
	elsif ($after_vacuum)
	{
		is($fetches, '0', "step '$name': no heap fetch on the standby after VACUUM");
		is($primary->safe_psql('postgres',
				"SELECT relallvisible = relpages AND relpages > 0 FROM pg_class WHERE relname = 'vm'"),
			't', "step '$name': relallvisible = relpages");
	}
	else
	{
		cmp_ok($fetches // 0, '>', 0, "step '$name': heap fetches for changed pages");
	}
}
like(vismap($primary, 'vm'), qr/:111/, 'some pages are all-visible and all-frozen');

# ---- 2. VACUUM skips all-visible pages ------------------------------------
{
	my ($rc, $out, $err) = $primary->psql('postgres', 'VACUUM (VERBOSE) vm');
	my ($scanned, $skipped) = $err =~ /pages: (\d+) scanned .*?, (\d+) skipped using visibility map/;
	my $relpages = $primary->safe_psql('postgres', "SELECT relpages FROM pg_class WHERE relname = 'vm'");
	cmp_ok($skipped // -1, '>=', 32, "VACUUM of an all-visible table skips pages ($skipped of $relpages)")
	  or diag($err);
	cmp_ok($scanned // 99999, '<', $relpages, 'and scans fewer than all');
	($rc, $out, $err) = $primary->psql('postgres', 'VACUUM (VERBOSE, DISABLE_PAGE_SKIPPING) vm');
	($scanned, $skipped) = $err =~ /pages: (\d+) scanned .*?, (\d+) skipped using visibility map/;
	is($skipped, '0', 'DISABLE_PAGE_SKIPPING skips nothing');
	is($scanned, $relpages, 'and scans every page');
	is(seq($primary, 'vm'), (ios($primary, 'vm'))[0], 'rows unchanged after skipping VACUUMs');
}

# ---- 3. hot standby: an old snapshot and a page made all-visible ----------
my $flagno = 0;

sub start_session
{
	my ($node, $q) = @_;
	my $flag = 'engram_vm_flag_' . (++$flagno);
	my ($in, $out, $err) = ('', '', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-f', '-' ],
		'<', \$in, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	(my $qq = $q) =~ s/'/''/g;
	$in .= "BEGIN ISOLATION LEVEL REPEATABLE READ;\n";
	$in .= "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off;\n";
	$in .= "SELECT 'first=' || ($q);\n";
	$in .= "SELECT 'ready';\n";
	$in .= "SELECT 'second=' || wait_then('$flag', '$qq');\n";
	$in .= "SELECT 'third=' || ($q);\n";
	$in .= "COMMIT;\n";
	$h->pump until $out =~ /ready/ || $err =~ /ERROR|FATAL/;
	my ($first) = $out =~ /first=(\S+)/;
	return { h => $h, out => \$out, err => \$err, flag => $flag, node => $node, first => $first };
}

sub finish_session
{
	my ($s) = @_;
	my $path = File::Spec->catfile($s->{node}->data_dir, $s->{flag});
	open(my $fh, '>', $path) or die "could not create $path: $!";
	close($fh);
	$s->{h}->finish;
	my ($second) = ${ $s->{out} } =~ /second=(\S+)/;
	my ($third) = ${ $s->{out} } =~ /third=(\S+)/;
	note "session stdout: ${ $s->{out} }";
	note "session stderr: ${ $s->{err} }";
	return ($second, $third, ${ $s->{err} } =~ /conflict with recovery/ ? 1 : 0);
}

{
	$primary->safe_psql('postgres', 'INSERT INTO hs SELECT g FROM generate_series(1, 1000) g; VACUUM hs');
	catchup();
	my $q = "SELECT count(*) || '/' || sum(id) FROM hs WHERE id > 0";
	my $s = start_session($standby, $q);
	is($s->{first}, '1000/500500', 'hot standby: the old snapshot sees 1000 rows by index-only scan');
	# rows the snapshot must never see, on pages VACUUM then marks all-visible
	$primary->safe_psql('postgres', 'INSERT INTO hs SELECT g FROM generate_series(1001, 3000) g');
	$primary->safe_psql('postgres', 'VACUUM hs');
	is($primary->safe_psql('postgres',
			"SELECT relallvisible = relpages FROM pg_class WHERE relname = 'hs'"),
		't', 'hot standby: the primary marked every page of hs all-visible');
	catchup();
	my ($second, $third, $conflict) = finish_session($s);
	ok($conflict, 'hot standby: the old snapshot was cancelled by the conflict record before the VM record')
	  or diag(${ $s->{err} });
	ok(!defined $second || $second eq '1000/500500',
		'hot standby: the old snapshot never saw the new rows');
	like(${ $s->{err} }, qr/canceling statement due to conflict with recovery/,
		'hot standby: a statement cancellation, not a wrong answer');
	my ($rows, $fetches) = ios($standby, 'hs');
	is($rows, '3000/4501500', 'hot standby: a new snapshot sees every row by index-only scan');
	is($fetches, '0', 'hot standby: without heap fetches');
}

# ---- 4. the stock standby, wal_consistency_checking -------------------------
$primary->safe_psql('postgres', 'CHECKPOINT');
catchup();
catchup($nolib);
ok(EngramTest::postmaster_alive($standby), 'standby with library still running');
unlike(slurp_file($standby->logfile), qr/inconsistent page found|PANIC|FATAL:.*redo/,
	'no inconsistent page (wal_consistency_checking) or redo failure on the standby');
unlike(slurp_file($nolib->logfile), qr/inconsistent page found|PANIC|FATAL:.*redo/,
	'the standby without the library replayed every record');
is($nolib->safe_psql('postgres',
		"SELECT (pg_stat_file(pg_relation_filepath('vm') || '_vm')).size > 0"),
	't', 'the standby without the library has the VM fork');

# ---- 5. kill -9 ------------------------------------------------------------
sub check_crashed
{
	my ($what) = @_;
	for my $t ('vm', 'hs')
	{
		is($primary->safe_psql('postgres',
				"SELECT count(*) FROM pg_visibility('$t') WHERE (all_visible OR all_frozen) AND NOT pd_all_visible"),
			'0', "$what: no VM bit without PD_ALL_VISIBLE in $t");
		is((ios($primary, $t))[0], seq($primary, $t), "$what: index-only scan of $t agrees with a seq scan");
	}
	return;
}

{
	# a VACUUM killed between its conflict record and a page's record
	$primary->safe_psql('postgres', 'UPDATE vm SET grp = grp + 1 WHERE id % 3 = 0');
	my $logpos = -s $primary->logfile;
	my ($rc, $out, $err) = $primary->psql('postgres',
		"LOAD 'engram'; SET engram.fault_point = 'vacuum_after_conflict_record'; SET engram.fault_action = 'sigkill'; SET engram.fault_skip = 5; VACUUM vm;");
	my $log = EngramTest::wait_crash_restart($primary, $logpos);
	ok(defined $log && $log =~ /terminated by signal 9/, 'kill -9 in the middle of VACUUM')
	  or diag("psql: $rc $err");
	check_crashed('after kill -9 during VACUUM');
	$primary->safe_psql('postgres', 'VACUUM vm');
	my ($rows, $fetches) = ios($primary, 'vm');
	is($fetches, '0', 'after kill -9 during VACUUM: the next VACUUM completes the map');

	# DML in flight on all-visible pages, whole server killed
	$primary->safe_psql('postgres', 'VACUUM hs');
	my $h = $primary->background_psql('postgres');
	$h->query_safe('BEGIN; DELETE FROM hs WHERE id % 10 = 0; UPDATE hs SET id = id + 100000 WHERE id % 10 = 1;');
	$primary->safe_psql('postgres', 'INSERT INTO hs SELECT g FROM generate_series(5001, 5100) g');
	EngramTest::kill9_and_restart($primary);
	eval { $h->quit };
	check_crashed('after kill -9 of the server with an open transaction');
	is((ios($primary, 'hs'))[0], seq($primary, 'hs'), 'hs: rows of the killed transaction are back, inserted ones there');
	is($primary->safe_psql('postgres', 'SELECT count(*) FROM hs'), '3100', 'hs has 3000 + 100 rows');
}

$nolib->stop;
$standby->stop;
$primary->stop;
done_testing();
