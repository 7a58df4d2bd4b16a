
# Copyright (c) engram authors
#
# Two-phase commit on engram tables (issue 17).  Prepared transactions
# insert, update, delete and lock rows of an engram table e and, in the same
# transactions, of its heap shadow e_ref.  While prepared: nothing of them is
# visible (on the primary and on a streaming standby), their row locks hold,
# VACUUM keeps the rows they deleted.  They survive a kill -9 of the
# primary and of the standby.  Then one is committed and one rolled back:
# e must equal e_ref on both nodes (its changes all there, or none of them),
# btree indexes pass amcheck, engram.verify is clean, and the standby reads
# the same rows as the primary.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('twophase', wcc => 1,
	extra_conf => 'max_prepared_transactions = 10');
EngramTest::features($node);
my $standby = EngramTest::new_standby($node, 'twophase_standby',
	extra_conf => "max_prepared_transactions = 10\nhot_standby_feedback = off");

$node->safe_psql('postgres', q{
	CREATE EXTENSION amcheck;
	CREATE TABLE e (id int8 PRIMARY KEY, v int NOT NULL, body text NOT NULL) USING engram;
	CREATE TABLE e_ref (id int8 PRIMARY KEY, v int NOT NULL, body text NOT NULL) USING heap;
	INSERT INTO e SELECT i, i, repeat(md5(i::text), 1 + i % 6) FROM generate_series(1, 3000) i;
	INSERT INTO e_ref SELECT * FROM e;
});

sub both
{
	my ($sql) = @_;
	(my $ref = $sql) =~ s/\be\b/e_ref/g;
	return "$sql; $ref;";
}

my $before = EngramTest::table_checksum($node, 'e', 'id');

# p_commit: insert, update, delete; p_abort: the same on other rows;
# p_lock: only a row lock (FOR UPDATE), rolled back later
$node->safe_psql('postgres', 'BEGIN; '
	  . both("INSERT INTO e SELECT i, -i, 'prepared commit ' || i FROM generate_series(10001, 10500) i")
	  . both("UPDATE e SET v = v + 1000000, body = body || ' pc' WHERE id % 10 = 1")
	  . both("DELETE FROM e WHERE id % 10 = 2")
	  . " PREPARE TRANSACTION 'p_commit'");
$node->safe_psql('postgres', 'BEGIN; '
	  . both("INSERT INTO e SELECT i, -i, 'prepared abort ' || i FROM generate_series(20001, 20500) i")
	  . both("UPDATE e SET v = v + 2000000, body = body || ' pa' WHERE id % 10 = 3")
	  . both("DELETE FROM e WHERE id % 10 = 4")
	  . " PREPARE TRANSACTION 'p_abort'");
$node->safe_psql('postgres',
	"BEGIN; SELECT count(*) FROM (SELECT id FROM e WHERE id % 10 = 5 FOR UPDATE) s; PREPARE TRANSACTION 'p_lock'");

sub check_pending
{
	my ($n, $what) = @_;
	is(EngramTest::table_checksum($n, 'e', 'id'), $before,
		"$what: nothing of the prepared transactions is visible");
	is(EngramTest::table_checksum($n, 'e_ref', 'id'), $before,
		"$what: (the heap shadow agrees)");
	return;
}

sub check_locks
{
	my ($what) = @_;
	for my $c (['id = 12', 'a row p_commit deleted'], ['id = 13', 'a row p_abort updated'],
		['id = 15', 'a row p_lock locked'])
	{
		my ($rc, $out, $err) = $node->psql('postgres',
			"SET lock_timeout = '200ms'; UPDATE e SET v = 0 WHERE $c->[0]");
		like($err, qr/canceling statement due to lock timeout/,
			"$what: $c->[1] stays locked by its prepared transaction");
	}
	return;
}

check_pending($node, 'primary, prepared');
check_locks('primary, prepared');
is($node->safe_psql('postgres', 'SELECT string_agg(gid, \',\' ORDER BY gid) FROM pg_prepared_xacts'),
	'p_abort,p_commit,p_lock', 'three prepared transactions');

# VACUUM must keep what the prepared transactions deleted or updated
$node->safe_psql('postgres', 'VACUUM e');
check_pending($node, 'primary, after VACUUM');

EngramTest::wait_catchup($node, $standby);
check_pending($standby, 'standby, prepared');

# ---- crash both nodes with the transactions prepared ---------------------------
EngramTest::kill9_and_restart($node);
EngramTest::kill9_and_restart($standby);
is($node->safe_psql('postgres', 'SELECT string_agg(gid, \',\' ORDER BY gid) FROM pg_prepared_xacts'),
	'p_abort,p_commit,p_lock', 'after kill -9: the three prepared transactions are still there');
check_pending($node, 'primary, after the crash');
check_locks('primary, after the crash');
EngramTest::wait_catchup($node, $standby);
check_pending($standby, 'standby, after both crashed');

# ---- resolve ---------------------------------------------------------------------
$node->safe_psql('postgres', "COMMIT PREPARED 'p_commit'");
$node->safe_psql('postgres', "ROLLBACK PREPARED 'p_abort'");
$node->safe_psql('postgres', "ROLLBACK PREPARED 'p_lock'");
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_prepared_xacts'), '0', 'none left prepared');

is(EngramTest::table_checksum($node, 'e', 'id'), EngramTest::table_checksum($node, 'e_ref', 'id'),
	'primary: e equals its heap shadow after COMMIT / ROLLBACK PREPARED');
is($node->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE body LIKE 'prepared commit%') || '/' || count(*) FILTER (WHERE body LIKE 'prepared abort%') "
		  . "|| '/' || count(*) FILTER (WHERE id % 10 = 2) || '/' || count(*) FILTER (WHERE id % 10 = 4 AND id <= 3000) FROM e"),
	'450/0/0/300', 'committed: 500 inserted (50 of them deleted again), deletes done; rolled back: no insert, deletes undone');
is($node->safe_psql('postgres', 'SELECT count(*) FROM e WHERE id % 10 = 3 AND v > 2000000'), '0',
	'the rolled-back update left no trace');
is($node->safe_psql('postgres', 'SELECT count(*) FROM e WHERE id % 10 = 1 AND v > 1000000 AND id <= 3000'), '300',
	'the committed update is on all 300 rows');
# the lock of p_lock is gone
$node->safe_psql('postgres', "SET lock_timeout = '5s'; BEGIN; " . both("UPDATE e SET v = 0 WHERE id = 15") . " COMMIT;");

# a crash right after the resolution, then VACUUM
EngramTest::kill9_and_restart($node);
is(EngramTest::table_checksum($node, 'e', 'id'), EngramTest::table_checksum($node, 'e_ref', 'id'),
	'after a crash following the resolution: e equals e_ref');
$node->safe_psql('postgres', 'VACUUM e');
is(EngramTest::table_checksum($node, 'e', 'id'), EngramTest::table_checksum($node, 'e_ref', 'id'),
	'after VACUUM: e equals e_ref');
my ($n, @bad) = EngramTest::amcheck_btrees($node, 'e');
is(scalar @bad, 0, "amcheck passes on e's btree index") or diag(join("\n", @bad));
my @p = EngramTest::verify_problems($node, 'e');
is(scalar @p, 0, 'engram.verify is clean') or diag(join("\n", @p));

EngramTest::wait_catchup($node, $standby);
is(EngramTest::table_checksum($standby, 'e', 'id'), EngramTest::table_checksum($node, 'e', 'id'),
	'standby: the same rows as the primary');
is(EngramTest::table_checksum($standby, 'e', 'id'), EngramTest::table_checksum($standby, 'e_ref', 'id'),
	'standby: e equals e_ref');
($n, @bad) = EngramTest::amcheck_btrees($standby, 'e');
is(scalar @bad, 0, "standby: amcheck passes on e's btree index") or diag(join("\n", @bad));
unlike(slurp_file($standby->logfile), qr/inconsistent page found|PANIC/,
	'standby: no WAL consistency failure');

$standby->stop;
$node->stop;
done_testing();
