
# Copyright (c) engram authors
#
# The engram table AM's bulk and DDL write paths under physical replication
# with wal_consistency_checking = 'generic' (issue 4): COPY (multi-insert,
# one record per page), VACUUM FULL and CLUSTER (rewrites with full-page
# images, btree sort and GiST index order), ALTER TABLE SET ACCESS METHOD
# both ways, CREATE INDEX CONCURRENTLY, TRUNCATE, toasted rows.  The standby
# must replay without an inconsistent page, read the same rows, and its
# btree indexes must hold every row (amcheck heapallindexed, which runs the
# AM's index build scan).  An unlogged engram table is empty and usable
# after a crash of the primary.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $primary = EngramTest::new_primary('primary', wcc => 1);
my $f = EngramTest::features($primary);
my $standby = EngramTest::new_standby($primary, 'standby');

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $copyfile = "$tmp/copy.tsv";
{
	open my $fh, '>', $copyfile or die;
	for my $i (1 .. 6000)
	{
		my $body = ($i % 500 == 0) ? ('z' x 9000) . $i : "row $i " . ('p' x ($i % 200));
		print $fh "$i\t" . ($i % 17) . "\t$body\t(" . ($i % 60) . "," . int($i / 60) . ")\n";
	}
	close $fh;
	chmod 0644, $copyfile;
}

$primary->safe_psql('postgres', qq{
	CREATE TABLE d (id int PRIMARY KEY, grp int, body text, p point) USING engram;
	COPY d FROM '$copyfile';
	CREATE INDEX d_grp ON d (grp);
	CREATE INDEX d_p ON d USING gist (p);
	DELETE FROM d WHERE id % 5 = 0;
});
my @steps = (
	'VACUUM FULL d',
	'CLUSTER d USING d_grp',
	'CLUSTER d USING d_p',
	'CREATE INDEX CONCURRENTLY d_body ON d (left(body, 20))',
	'ALTER TABLE d SET ACCESS METHOD heap',
	'ALTER TABLE d SET ACCESS METHOD engram',
	q{INSERT INTO d SELECT g, g % 17, 'late ' || g, point(g, g) FROM generate_series(7001, 9000) g},
	q{CREATE TABLE d2 USING engram AS SELECT * FROM d WHERE id % 3 = 0},
	q{BEGIN; TRUNCATE d2; INSERT INTO d2 SELECT * FROM d WHERE id < 100; COMMIT},
	q{CREATE UNLOGGED TABLE u (id int, t text) USING engram;
	  INSERT INTO u SELECT g, 'u' || g FROM generate_series(1, 3000) g;
	  CREATE INDEX u_id ON u (id)},
);
for my $sql (@steps)
{
	$primary->safe_psql('postgres', $sql);
}
my $before = EngramTest::table_checksum($primary, 'd', 'id');
$primary->safe_psql('postgres', 'CHECKPOINT');
EngramTest::wait_catchup($primary, $standby);

ok(EngramTest::postmaster_alive($standby), 'standby still running after the DDL workload');
my $log = slurp_file($standby->logfile);
unlike($log, qr/inconsistent page found|PANIC|FATAL:.*redo/,
	'no inconsistent page or redo failure on the wcc standby');

is(EngramTest::table_checksum($standby, 'd', 'id'), $before,
	'standby reads the rows of d the primary has');
is(EngramTest::table_checksum($standby, 'd2', 'id'),
	EngramTest::table_checksum($primary, 'd2', 'id'),
	'standby reads the rows of d2 the primary has');
like($before, qr/^6800:/, 'd has the expected number of rows');

my ($seq, $idx) = EngramTest::index_vs_seqscan($standby, 'd', 'grp, id');
is($idx, $seq, 'standby: index scan on d(grp) gives the rows of a seq scan');

{
	my ($n, @bad) = EngramTest::amcheck_btrees($primary, 'd');
	ok($n >= 3, "amcheck checked $n btree indexes of d");
	is(join("\n", @bad), '', 'btree indexes of d hold every row (heapallindexed)');
}

# An unlogged table comes back empty after a crash, and works.
is($primary->safe_psql('postgres', 'SELECT count(*) FROM u'), '3000', 'unlogged table filled');
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', 'SELECT count(*) FROM u'), '0',
	'unlogged engram table is empty after a crash');
$primary->safe_psql('postgres', q{INSERT INTO u SELECT g, 'again' FROM generate_series(1, 100) g});
is($primary->safe_psql('postgres',
	'SET enable_seqscan = off; SELECT count(*) FROM u WHERE id BETWEEN 1 AND 50'), '50',
	'unlogged table and its index usable after the crash');
is(EngramTest::table_checksum($primary, 'd', 'id'), $before,
	'logged table d unchanged by the crash');

done_testing();
