
# Copyright (c) engram authors
#
# Physical replication of engram tables (issue 4).
# A primary with wal_consistency_checking = 'generic' (every generic WAL
# record carries a full image of the page that the standby compares with its
# own redo result) runs a mixed workload: INSERT, COPY, UPDATE, DELETE,
# VACUUM, TRUNCATE, CREATE INDEX, large toasted rows.
#  - A standby WITH the library replays it without an inconsistency, reads
#    the rows in hot standby during and after replay, and pg_dumpall of
#    primary and standby are identical.
#  - A standby WITHOUT the library (the same server, engram never installed)
#    replays the same stream: redo of engram tables is core generic WAL.
#    Reading an engram table there fails with an error (the AM handler's
#    library is missing), not a crash: the server still answers afterwards.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $primary = EngramTest::new_primary('primary', wcc => 1);
my $f = EngramTest::features($primary);
my $am = $f->{test_am};

my $standby = EngramTest::new_standby($primary, 'standby', backup_name => 'b1');
my $nolib = EngramTest::new_standby($primary, 'nolib', nolib => 1,
	backup_name => 'b1', reuse_backup => 1);

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $copyfile = "$tmp/copy.tsv";
{
	open my $fh, '>', $copyfile or die;
	for my $i (100_001 .. 105_000)
	{
		print $fh "$i\t" . ($i % 13) . "\t" . EngramTest::row_content(7, $i) . "\n";
	}
	close $fh;
	chmod 0644, $copyfile;
}

# The workload, in steps so that the hot standby can read in between.
my @steps = (
	[ 'create' => qq{
		CREATE TABLE m (id int8 PRIMARY KEY, grp int, body text) USING $am;
		CREATE TABLE m2 (k int, v text) USING $am;
		CREATE TABLE plain (id int PRIMARY KEY, note text);
	} ],
	[ 'insert' => q{
		INSERT INTO m SELECT i, i % 13, repeat(md5(i::text), 1 + i % 5) FROM generate_series(1, 5000) i;
		INSERT INTO m2 SELECT i, 'v' || i FROM generate_series(1, 2000) i;
		INSERT INTO plain SELECT i, 'n' || i FROM generate_series(1, 100) i;
	} ],
	[ 'large toasted rows' => q{
		INSERT INTO m SELECT 200000 + i, 99, repeat(md5((i * 7)::text), 3000) FROM generate_series(1, 20) i;
		INSERT INTO m SELECT 300000 + i, 98, string_agg(md5((i * j)::text), '') FROM generate_series(1, 10) i, generate_series(1, 2500) j GROUP BY i;
	} ],
	[ 'copy' => "COPY m FROM '$copyfile'" ],
	[ 'update' => q{
		UPDATE m SET body = body || '-u1', grp = grp + 100 WHERE id % 7 = 0;
		UPDATE m SET body = repeat('z', 9000) WHERE id BETWEEN 200001 AND 200005;
		UPDATE m2 SET v = v || '!' WHERE k % 3 = 0;
	} ],
	[ 'delete' => q{
		DELETE FROM m WHERE id % 11 = 0;
		DELETE FROM m WHERE id BETWEEN 200010 AND 200012;
		DELETE FROM m2 WHERE k > 1500;
	} ],
	[ 'vacuum' => 'VACUUM m; VACUUM (FREEZE) m2' ],
	[ 'insert after vacuum' => q{
		INSERT INTO m SELECT i, i % 13, 'again ' || i FROM generate_series(400001, 401000) i;
	} ],
	[ 'create index' => q{
		CREATE INDEX m_grp ON m (grp);
		CREATE INDEX m2_v ON m2 (v);
	} ],
	[ 'truncate' => q{
		TRUNCATE m2;
		INSERT INTO m2 SELECT i, 'after truncate ' || i FROM generate_series(1, 500) i;
	} ],
	[ 'truncate in a rolled-back transaction' => q{
		BEGIN; TRUNCATE m2; INSERT INTO m2 VALUES (-1, 'gone'); ROLLBACK;
	} ],
	[ 'mixed small transactions' => q{
		DO $$ BEGIN
		  FOR i IN 1..200 LOOP
		    INSERT INTO m VALUES (500000 + i, i % 5, 'tx ' || i);
		    UPDATE m SET body = body || '+' WHERE id = 500000 + i - 1;
		    IF i % 4 = 0 THEN DELETE FROM m WHERE id = 500000 + i - 2; END IF;
		  END LOOP; END $$;
	} ],
	[ 'vacuum again' => 'VACUUM m; VACUUM m2' ],
);

for my $s (@steps)
{
	my ($name, $sql) = @$s;
	$primary->safe_psql('postgres', $sql);
	EngramTest::wait_catchup($primary, $standby);
	next if $name eq 'create';
	is(EngramTest::table_checksum($standby, 'm', 'id'),
		EngramTest::table_checksum($primary, 'm', 'id'),
		"hot standby reads the same rows of m as the primary after step '$name'");
}
is(EngramTest::table_checksum($standby, 'm2', 'k'),
	EngramTest::table_checksum($primary, 'm2', 'k'),
	'hot standby reads the same rows of m2 as the primary');

# Index scans on the standby agree with its sequential scans.
my ($seq, $idx) = EngramTest::index_vs_seqscan($standby, 'm', 'grp, id');
is($idx, $seq, 'standby: index scan on m(grp) gives the rows of a seq scan');

# wal_consistency_checking: an inconsistency stops the standby with FATAL.
$primary->safe_psql('postgres', 'CHECKPOINT');
EngramTest::wait_catchup($primary, $standby);
ok(EngramTest::postmaster_alive($standby), 'standby with library still running');
my $log = slurp_file($standby->logfile);
unlike($log, qr/inconsistent page found|PANIC|FATAL:.*redo/, 'no inconsistent page or redo failure in the standby log');
my $plog = slurp_file($primary->logfile);
unlike($plog, qr/PANIC|TRAP:/, 'no PANIC or assertion failure on the primary');

EngramTest::dumps_identical($primary, $standby,
	'pg_dumpall of primary and standby (with library) are identical');

# ---- the standby without the library ------------------------------------
my $target = $primary->lsn('insert');
$primary->wait_for_catchup($nolib, 'replay', $target);
# (compared with the LSN waited for: the primary keeps writing a little WAL
# of its own, e.g. running-xacts records, so its current LSN moves on)
my $lag = $nolib->safe_psql('postgres',
	"SELECT pg_wal_lsn_diff('$target', pg_last_wal_replay_lsn())");
cmp_ok($lag, '<=', 0, 'standby without library replayed up to the primary\'s LSN');
my $nlog = slurp_file($nolib->logfile);
unlike($nlog, qr/inconsistent page found|PANIC|FATAL:.*redo/, 'no redo failure in the no-library standby log');
is($nolib->safe_psql('postgres', 'SELECT count(*) FROM plain'), '100',
	'no-library standby serves plain tables');

{
	my ($rc, $out, $err) = $nolib->psql('postgres', 'SELECT count(*) FROM m');
	isnt($rc, 0, 'reading an engram table without the library fails');
	like($err, qr/ERROR/, 'with an error message') or diag($err);
	ok(EngramTest::postmaster_alive($nolib)
		  && $nolib->safe_psql('postgres', 'SELECT 1') eq '1',
		'the no-library standby is still up and answering after that');
}

$nolib->stop;
$standby->stop;
$primary->stop;
done_testing();
