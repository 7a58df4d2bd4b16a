# Copyright (c) engram authors
#
# old_snapshot_threshold (issue 24, item 2).  With it on, VACUUM's cutoffs
# come from the limited horizon (vacuum_set_xid_limits), so VACUUM may
# freeze or remove rows an old snapshot still needs; heap then raises
# "snapshot too old" in readers whose snapshot predates the threshold and
# that read a page changed since (TestForOldSnapshot).  engram must do the
# same:
#
# A. rows inserted after a REPEATABLE READ snapshot, then VACUUM FREEZE:
#    the old snapshot must get "snapshot too old" (or its old rows), never
#    the newer rows (the frozen xmin would make them visible to it).
# B. rows deleted after that snapshot, then VACUUM FREEZE: VACUUM must not
#    fail with "cannot freeze committed xmax" (the freeze cutoff is newer
#    than what removal used to allow), and the old snapshot again gets
#    "snapshot too old" or its old rows.
# C. the same with an index fetch.
#
# The threshold is 1 minute (its smallest setting other than 0, whose
# testing mode never limits VACUUM's horizon): the test waits until the
# minute after the next one has begun (2-3 minutes), taking a snapshot every
# few seconds so the server's xid-by-minute map has entries.  The wait only
# makes the snapshots old enough; nothing is asserted about time.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('old_snapshot');
$node->init;
$node->append_conf('postgresql.conf', qq{
autovacuum = off
old_snapshot_threshold = 1
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION engram;
	CREATE TABLE osa (id int, v int) USING engram;
	CREATE TABLE osb (id int, v int) USING engram;
	CREATE TABLE osc (id int PRIMARY KEY, v int) USING engram;
	INSERT INTO osa SELECT g, g FROM generate_series(1, 100) g;
	INSERT INTO osb SELECT g, g FROM generate_series(1, 100) g;
	INSERT INTO osc SELECT g, g FROM generate_series(1, 100) g;});

my %s;
for my $t (qw(osa osb osc))
{
	$s{$t} = $node->background_psql('postgres', on_error_stop => 0);
	$s{$t}->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
	is($s{$t}->query_safe("SELECT count(*) FROM $t"), '100', "$t: the old snapshot sees 100 rows");
}

$node->safe_psql('postgres', q{
	INSERT INTO osa SELECT g, g FROM generate_series(101, 200) g;
	DELETE FROM osb WHERE id <= 50;
	UPDATE osc SET v = -v WHERE id <= 50;});
# wait until the minute after the next has begun, with fresh snapshots
# (which feed the xid-by-minute map) all along
my $t0 = time();
my $until = (int($t0 / 60) + 2) * 60 + 3;
while (time() < $until)
{
	$node->safe_psql('postgres', 'SELECT 1');
	sleep(3);
}
note('waited ' . (time() - $t0) . ' s');

for my $t (qw(osa osb osc))
{
	my ($rc, $out, $err) = $node->psql('postgres', "VACUUM FREEZE $t");
	is($rc, 0, "$t: VACUUM FREEZE succeeds") or diag($err);
	unlike($err, qr/cannot freeze/, "$t: no 'cannot freeze committed xmax'");
}

sub old_read
{
	my ($t, $sql, $want, $what) = @_;
	my $sess = $s{$t};
	$sess->{stderr} = '';
	my $out = $sess->query($sql);
	my $err = $sess->{stderr};
	ok($err =~ /snapshot too old/ || ($err eq '' && $out eq $want),
		"$t: $what: snapshot too old, or the snapshot's own rows")
	  or diag("got '$out', error '$err'");
	return $err =~ /snapshot too old/ ? 'too old' : $out;
}
my %got;
$got{osa} = old_read('osa', 'SELECT count(*) FROM osa', '100', 'seq scan after rows were inserted and frozen');
$got{osb} = old_read('osb', 'SELECT count(*) FROM osb', '100', 'seq scan after rows were deleted and vacuumed');
$got{osc} = old_read('osc',
	'SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT sum(v) FROM osc WHERE id BETWEEN 1 AND 100',
	'5050', 'index fetch after rows were updated and vacuumed');
note(join(', ', map { "$_: $got{$_}" } sort keys %got));

$s{$_}->quit for keys %s;

# a fresh snapshot sees the current rows
is($node->safe_psql('postgres', 'SELECT count(*) FROM osa'), '200', 'osa: current contents');
is($node->safe_psql('postgres', 'SELECT count(*) FROM osb'), '50', 'osb: current contents');
is($node->safe_psql('postgres', 'SELECT sum(v) FROM osc'), (-1275 + 3775) . '', 'osc: current contents');
ok($node->log_contains('terminated by signal') == 0, 'no backend crashed');
$node->stop;
done_testing();
