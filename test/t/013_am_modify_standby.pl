
# Copyright (c) engram authors
#
# Row modification (engram_am_modify.c) under wal_consistency_checking.
# A primary with wal_consistency_checking = 'generic' runs the pg_regress
# script sql/am_modify.sql (UPDATE/DELETE incl. rows moving pages, toasted
# values, savepoints, ON CONFLICT, row locks, foreign keys, WHERE CURRENT
# OF, combo cids) and a block that builds multixacts from subtransactions
# (locks of several strengths, an update among lockers, rolled back and
# released savepoints).  The standby checks every generic WAL record
# against its own redo: no inconsistency may be reported, the standby reads
# the same rows as the primary, and pg_dumpall of both are identical.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $primary = EngramTest::new_primary('modprimary', wcc => 1);
my $f = EngramTest::features($primary);
my $am = $f->{test_am};
my $standby = EngramTest::new_standby($primary, 'modstandby');

# the regression script, minus its final DROP so the standby has rows to show
my $script = slurp_file(($ENV{TESTDIR} // '.') . '/sql/am_modify.sql');
$script =~ s/^DROP TABLE m, .*$//m;
$script =~ s/USING engram/USING $am/g;
my ($rc, $out, $err) = $primary->psql('postgres', $script, on_error_stop => 0);
# the script has expected errors (FK violations, ON CONFLICT twice)
like($err, qr/violates foreign key constraint/, 'regression script ran (with its expected errors)');
unlike($err, qr/PANIC|server closed|could not|TRAP/, 'no unexpected failure in the script')
  or diag($err);

$primary->safe_psql('postgres', qq{
	CREATE TABLE mx (id int PRIMARY KEY, v int, pad text) USING $am;
	INSERT INTO mx SELECT g, g, repeat('p', g * 10) FROM generate_series(1, 80) g;
});
$primary->safe_psql('postgres', q{
	BEGIN;
	SELECT count(*) FROM (SELECT id FROM mx WHERE id <= 10 FOR KEY SHARE) s;
	SAVEPOINT a;
	SELECT count(*) FROM (SELECT id FROM mx WHERE id <= 10 FOR SHARE) s;
	SAVEPOINT b;
	SELECT count(*) FROM (SELECT id FROM mx WHERE id <= 5 FOR NO KEY UPDATE) s;
	UPDATE mx SET v = v + 100 WHERE id <= 3;
	ROLLBACK TO b;
	UPDATE mx SET v = -v, pad = pad || 'x' WHERE id BETWEEN 4 AND 8;
	RELEASE a;
	SELECT count(*) FROM (SELECT id FROM mx WHERE id BETWEEN 20 AND 30 FOR UPDATE) s;
	SAVEPOINT c;
	DELETE FROM mx WHERE id BETWEEN 25 AND 27;
	UPDATE mx SET id = id + 1000 WHERE id BETWEEN 28 AND 29;
	COMMIT;
});
$primary->safe_psql('postgres', q{
	INSERT INTO mx SELECT g, 0, 'new' FROM generate_series(70, 90) g
	  ON CONFLICT (id) DO UPDATE SET v = mx.v + 1000;
	INSERT INTO mx SELECT g, 0, 'new' FROM generate_series(85, 95) g
	  ON CONFLICT DO NOTHING;
	UPDATE mx SET pad = repeat(pad, 40) WHERE id % 9 = 0;
	DELETE FROM mx WHERE id % 13 = 0;
});

EngramTest::wait_catchup($primary, $standby);
for my $t ([ 'm', 'id' ], [ 'mv', 'id' ], [ 'mt', 'id' ], [ 'mc', 'k' ],
	[ 'child', 'id' ], [ 'parent', 'id' ], [ 'echild', 'id' ], [ 'cc', 'id' ],
	[ 'mx', 'id' ])
{
	my ($name, $key) = @$t;
	is(EngramTest::table_checksum($standby, $name, $key),
		EngramTest::table_checksum($primary, $name, $key),
		"hot standby reads the same rows of $name as the primary");
}
is($primary->safe_psql('postgres', 'SELECT count(*), sum(v) FROM mx'),
	'86|12855', 'mx holds the expected rows after locks, updates and upserts');

$primary->safe_psql('postgres', 'CHECKPOINT');
EngramTest::wait_catchup($primary, $standby);
ok(EngramTest::postmaster_alive($standby), 'standby still running');
my $log = slurp_file($standby->logfile);
unlike($log, qr/inconsistent page found|PANIC|FATAL:.*redo/,
	'no inconsistent page or redo failure in the standby log');
my $plog = slurp_file($primary->logfile);
unlike($plog, qr/PANIC|TRAP:/, 'no PANIC or assertion failure on the primary');
EngramTest::dumps_identical($primary, $standby,
	'pg_dumpall of primary and standby are identical');

$standby->stop;
$primary->stop;
done_testing();
