# Copyright (c) engram authors
#
# WAL that engram must not write (issue 24, item 9):
#
# A. Checks on rows VACUUM has not hinted yet, by anything but a plain MVCC
#    scan (ANALYZE, serializable scans, the unique check of INSERT ... ON
#    CONFLICT, index builds), decide on a COPY of the row header.  Postgres's visibility
#    code used to hint that copy and then call MarkBufferDirtyHint on the
#    unchanged shared buffer: with wal_log_hints (or checksums) every such
#    page cost a full-page image after each checkpoint.  Now no WAL record
#    at all may name the table's main fork for these read-only statements
#    (counted with pg_waldump --relation).
#
# B. The hot-standby conflict record (GiST page reuse) before VACUUM's
#    removals is for standbys only: written at wal_level = replica
#    (positive control), never at wal_level = minimal.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('hint_wal');
$node->init;
$node->append_conf('postgresql.conf', qq{
autovacuum = off
wal_log_hints = on
wal_level = replica
checkpoint_timeout = 1h
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION engram');

# WAL records naming rel's main fork between two LSNs, by record type
sub records_for
{
	my ($rel, $start, $end) = @_;
	my $path = $node->safe_psql('postgres', qq{
		SELECT coalesce(nullif(reltablespace, 0), (SELECT dattablespace FROM pg_database WHERE datname = current_database()))
			|| '/' || (SELECT oid FROM pg_database WHERE datname = current_database())
			|| '/' || pg_relation_filenode('$rel')
		FROM pg_class WHERE oid = '$rel'::regclass});
	my ($stdout, $stderr);
	IPC::Run::run [ 'pg_waldump', '-p', $node->data_dir . '/pg_wal',
		'-s', $start, '-e', $end, "--relation=$path", '--fork=main' ],
	  '>', \$stdout, '2>', \$stderr;
	my %n;
	for (split /\n/, $stdout)
	{
		$n{"$1/$2"}++ if /rmgr:\s+(\S+).*?desc:\s+(\S+)/;
	}
	return \%n;
}

# GiST page-reuse records between two LSNs (the record registers no block,
# so --relation does not find it; no GiST index exists in this database)
sub gist_reuse_records
{
	my ($start, $end) = @_;
	my ($stdout, $stderr);
	IPC::Run::run [ 'pg_waldump', '-p', $node->data_dir . '/pg_wal',
		'-s', $start, '-e', $end, '--rmgr=Gist' ],
	  '>', \$stdout, '2>', \$stderr;
	return scalar(() = $stdout =~ /PAGE_REUSE/g);
}

sub fmt { my ($h) = @_; return join(', ', map { "$_: $h->{$_}" } sort keys %$h) || 'none'; }

# ---- A: no WAL for checks on unhinted rows ----
$node->safe_psql('postgres', q{
	CREATE TABLE h (id int PRIMARY KEY, v int) USING engram;
	INSERT INTO h SELECT g, g FROM generate_series(1, 5000) g;
	DELETE FROM h WHERE id % 10 = 0;
	UPDATE h SET v = v + 1 WHERE id % 10 = 5;
	BEGIN; DELETE FROM h WHERE id % 10 = 3; ROLLBACK;
	BEGIN; SELECT * FROM h WHERE id % 10 = 7 FOR SHARE; COMMIT;});
my $pages = $node->safe_psql('postgres', q{SELECT pg_relation_size('h') / current_setting('block_size')::int});
cmp_ok($pages, '>', 10, "the table has $pages pages");

$node->safe_psql('postgres', 'CHECKPOINT');
my $lsn1 = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
my $out = $node->safe_psql('postgres', q{
	ANALYZE h;
	SET default_transaction_isolation = serializable;
	SELECT count(*) FROM h;
	SELECT v FROM h WHERE id = 17;
	RESET default_transaction_isolation;
	INSERT INTO h VALUES (1, 0), (2, 0), (3, 0) ON CONFLICT DO NOTHING;
	SELECT count(*) FROM h;});
is($out, "4500\n17\n4500", 'ANALYZE, serializable scan and fetch, ON CONFLICT DO NOTHING give the right rows');
$node->safe_psql('postgres', 'CREATE INDEX h_v ON h (v)');
my $lsn2 = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
my $recs = records_for('h', $lsn1, $lsn2);
note('records naming h between the checkpoint and the end of the read-only statements: ' . fmt($recs));
is(fmt($recs), 'none',
	'no WAL record (no full-page image for hints) names the table for checks on unhinted rows');

# VACUUM does write: it sets the hints durably, in its own generic records
$node->safe_psql('postgres', 'CHECKPOINT');
$lsn1 = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$node->safe_psql('postgres', 'VACUUM h');
$lsn2 = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$recs = records_for('h', $lsn1, $lsn2);
note('records naming h for VACUUM: ' . fmt($recs));
cmp_ok($recs->{'Generic/Generic'} // 0, '>=', $pages, 'VACUUM logs its hints and removals with generic WAL');
is($recs->{'XLOG/FPI_FOR_HINT'} // 0, 0, 'and no hint-only full-page image');

# ---- B: conflict records only when a standby could use them ----
sub conflict_records
{
	my ($table) = @_;
	$node->safe_psql('postgres', qq{
		CREATE TABLE $table (id int, v int) USING engram;
		INSERT INTO $table SELECT g, g FROM generate_series(1, 3000) g;
		DELETE FROM $table WHERE id % 2 = 0;});
	my $s = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
	$node->safe_psql('postgres', "VACUUM $table");
	my $e = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
	my $r = records_for($table, $s, $e);
	note("records naming $table for VACUUM at wal_level "
		  . $node->safe_psql('postgres', 'SHOW wal_level') . ': ' . fmt($r));
	is($node->safe_psql('postgres', "SELECT count(*) FROM $table"), '1500', "$table: VACUUM kept the live rows");
	my $n = gist_reuse_records($s, $e);
	note("GiST page-reuse (conflict) records: $n");
	return $n;
}
cmp_ok(conflict_records('c_replica'), '>', 0, 'wal_level = replica: VACUUM logs conflict records');

$node->append_conf('postgresql.conf', "wal_level = minimal\nmax_wal_senders = 0\n");
$node->restart;
is($node->safe_psql('postgres', 'SHOW wal_level'), 'minimal', 'restarted at wal_level = minimal');
is(conflict_records('c_minimal'), 0, 'wal_level = minimal: no conflict record');

$node->stop;
done_testing();
