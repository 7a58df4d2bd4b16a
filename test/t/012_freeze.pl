# Copyright (c) engram authors
#
# Freezing of engram tables: an anti-wraparound autovacuum processes an
# engram table (even with autovacuum_enabled = false), freezes its rows and
# advances relfrozenxid below autovacuum_freeze_max_age, so it stops; the
# frozen state survives a crash (WAL replay of the freeze records) and a
# wal_consistency_checking standby replays it without difference.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('primary');
$node->init(allows_streaming => 1);
$node->append_conf(
	'postgresql.conf', qq{
fsync = on
autovacuum = on
autovacuum_naptime = 1s
autovacuum_freeze_max_age = 100000
log_autovacuum_min_duration = 0
wal_consistency_checking = 'generic'
max_wal_senders = 5
wal_keep_size = 256MB
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION engram');

$node->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'bk', has_streaming => 1);
$standby->start;

my $has_migrate = $node->safe_psql('postgres',
	"SELECT to_regproc('engram.migrate') IS NOT NULL") eq 't';

# Ordinary autovacuum off for the table: only anti-wraparound may touch it.
$node->safe_psql(
	'postgres', q{
CREATE TABLE fz (id int PRIMARY KEY, body text) USING engram
  WITH (autovacuum_enabled = false);
INSERT INTO fz SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 3000) g;
DELETE FROM fz WHERE id % 10 = 0;
CREATE PROCEDURE burn(n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    PERFORM txid_current();
    COMMIT;
  END LOOP;
END $$;
});
if ($has_migrate)
{
	# some rows' bodies live in COLD chunk pages while their headers freeze
	$node->safe_psql('postgres',
		"SELECT * FROM engram.migrate('fz'::regclass, target => 'cold')");
}
my $sum = $node->safe_psql('postgres',
	"SELECT count(*) || ':' || md5(string_agg(body, ',' ORDER BY id)) FROM fz");

my $age0 = $node->safe_psql('postgres',
	"SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'fz'");
cmp_ok($age0, '<', 100000, 'table starts young');

# Push the table past autovacuum_freeze_max_age (an anti-wraparound
# autovacuum may already start while we burn xids: autovacuum_enabled = false
# means any autovacuum of this table is an anti-wraparound one).
my $x0 = $node->safe_psql('postgres', 'SELECT txid_current()');
$node->safe_psql('postgres', 'CALL burn(120000)');
my $x1 = $node->safe_psql('postgres', 'SELECT txid_current()');
cmp_ok($x1 - $x0, '>', 120000, 'more than autovacuum_freeze_max_age xids consumed');

# The anti-wraparound autovacuum must process it and bring the age down.
ok( $node->poll_query_until(
		'postgres',
		"SELECT age(relfrozenxid) < 100000 AND autovacuum_count > 0 "
		  . "FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
		  . "WHERE c.relname = 'fz'"),
	'anti-wraparound autovacuum advanced relfrozenxid below autovacuum_freeze_max_age'
);
is( $node->safe_psql(
		'postgres', "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'fz'"),
	'0',
	'the autovacuum also removed the deleted rows');
like(slurp_file($node->logfile), qr/finished vacuuming "postgres\.public\.fz"/,
	'autovacuum logged its run on the engram table');
is($node->safe_psql('postgres',
		"SELECT count(*) || ':' || md5(string_agg(body, ',' ORDER BY id)) FROM fz"),
	$sum, 'rows unchanged by freezing');

# A FREEZE vacuum now finds every row already frozen (no error such as
# "found xmin ... from before relfrozenxid"), and relfrozenxid is recent.
$node->safe_psql('postgres', 'VACUUM (FREEZE) fz');
cmp_ok(
	$node->safe_psql(
		'postgres', "SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'fz'"),
	'<', 100, 'VACUUM (FREEZE) leaves relfrozenxid recent');

# Crash: the freeze records are replayed from WAL.
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres',
		"SELECT count(*) || ':' || md5(string_agg(body, ',' ORDER BY id)) FROM fz"),
	$sum, 'rows intact after crash recovery');
my ($rc, $out, $err) = $node->psql('postgres', 'VACUUM (FREEZE) fz');
is($rc, 0, 'VACUUM (FREEZE) after recovery succeeds') or diag $err;
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM engram.verify('fz')"),
		'0', 'engram.verify finds no problem');
}
# the table is still updatable and its frozen rows still lockable
$node->safe_psql('postgres',
	"UPDATE fz SET body = 'u' WHERE id <= 5; DELETE FROM fz WHERE id = 6");
is($node->safe_psql('postgres', "SELECT count(*) FROM fz WHERE body = 'u'"),
	'5', 'frozen rows can be updated');

# The standby replayed it all with wal_consistency_checking.
$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));
is($standby->safe_psql('postgres', 'SELECT count(*) FROM fz'),
	$node->safe_psql('postgres', 'SELECT count(*) FROM fz'),
	'standby has the same rows');
unlike(slurp_file($standby->logfile), qr/inconsistent page found/,
	'standby: wal_consistency_checking found no inconsistent page');

$standby->stop;
$node->stop;
done_testing();
