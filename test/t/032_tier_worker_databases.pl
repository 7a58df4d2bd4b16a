# Copyright (c) engram authors
#
# The background workers serve every database that has engram (issue 24
# item 5, src/tier_worker.c): a launcher lists the databases each round and
# runs a worker in each in turn.
#
#  1. Two databases with engram (db1, db2) and a third without (db3): the
#     workers move never-read rows to WARM by policy and delete expired
#     memories in both; db3 is visited every round (its transaction count
#     grows while nobody else connects) and the log has no error, db3 gets
#     no extension and no row in engram.tier_worker.
#  2. engram.tier_worker has one row per database served, with its passes
#     and rows moved.
#  3. A database created and given the extension after start (db4) is
#     served; DROP EXTENSION (db2) ends its service and its row.
#  4. A reload of engram.migrate_database = 'db1' restricts the rounds to
#     db1 (db4's passes stop while db1's go on), '' serves all again.
#  5. No worker stays connected between passes: DROP DATABASE without FORCE
#     succeeds.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('tier_dbs', preload => 1, extra_conf => q{
engram.migrate_naptime = 1
engram.expire_naptime = 1
engram.warm_after = 0
engram.cold_after = '1h'
log_line_prefix = '%m [%p] db=%d %b '
log_min_messages = warning
});
my $logpos = -s $node->logfile;

# the data of one engram database: 200 never-read rows, 30 memories of
# which 20 have expired
my $setup = q{
CREATE EXTENSION engram;
CREATE TABLE w (id int, body text) USING engram;
INSERT INTO w SELECT g, repeat('worker row ' || g, 10) FROM generate_series(1, 200) g;
SELECT engram.create_space('exp', 16);
SELECT count(engram.remember('memory ' || i, engram.embed_text('memory ' || i, 16), space => 'exp',
							 metadata => jsonb_build_object('i', i)))
FROM generate_series(1, 30) i;
UPDATE engram.memory SET expires_at = now() - interval '1 minute'
	WHERE space = 'exp' AND (metadata->>'i')::int <= 20;
};
my $warm_q = q{SELECT coalesce((SELECT rows FROM engram.tier_stats('w') WHERE tier = 'warm'), 0)};
my $mem_q = q{SELECT count(*) FROM engram.memory WHERE space = 'exp'};

for my $db (qw(db1 db2 db3))
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
}
$node->safe_psql($_, $setup) for qw(db1 db2);
$node->safe_psql('db3', q{
CREATE TABLE h (id int, body text);
INSERT INTO h SELECT g, 'heap row ' || g FROM generate_series(1, 100) g;
});

# 1. both engram databases are served
for my $db (qw(db1 db2))
{
	ok($node->poll_query_until($db, $warm_q, '200'),
		"$db: the worker moved the 200 never-read rows to WARM");
	ok($node->poll_query_until($db, $mem_q, '10'),
		"$db: the worker deleted the 20 expired memories");
	is($node->safe_psql($db, q{SELECT count(*) FROM engram.memory WHERE space = 'exp' AND (metadata->>'i')::int > 20}),
		'10', "$db: the 10 memories that have not expired are all there");
	is($node->safe_psql($db, q{SELECT count(*) FROM engram.verify('w')}), '0', "$db: verify clean");
}

# db3 is visited every round: its commits grow with no client connected
my $xacts_q = q{SELECT xact_commit FROM pg_stat_database WHERE datname = 'db3'};
my $x0 = $node->safe_psql('postgres', $xacts_q);
ok($node->poll_query_until('postgres', "SELECT ($xacts_q) >= $x0 + 6"),
	'db3 (no engram) is visited by the workers round after round');
is($node->safe_psql('db3', q{SELECT count(*) FROM pg_extension WHERE extname = 'engram'}), '0',
	'db3 has no engram extension');
is($node->safe_psql('db3', q{SELECT count(*) || ':' || sum(id) FROM h}), '100:5050',
	'db3\'s heap table is untouched');

# 2. one row per database served
is($node->safe_psql('db1', q{SELECT string_agg(database, ',' ORDER BY database) FROM engram.tier_worker}),
	'db1,db2,postgres', 'engram.tier_worker lists the three databases with engram, not db3');
is($node->safe_psql('db1', q{SELECT string_agg(database || ':' || running || ':' || (passes > 0) || ':' ||
		(rows_moved >= 200) || ':' || errors, ',' ORDER BY database) FROM engram.tier_worker
		WHERE database IN ('db1', 'db2')}),
	'db1:true:true:true:0,db2:true:true:true:0', 'each row has its passes, rows moved and no error');

# 3. a database created and given engram after start is served
$node->safe_psql('postgres', 'CREATE DATABASE db4');
$node->safe_psql('db4', $setup);
ok($node->poll_query_until('db4', $warm_q, '200'), 'db4 (created after start): rows moved to WARM');
ok($node->poll_query_until('db4', $mem_q, '10'), 'db4: expired memories deleted');
ok($node->poll_query_until('db1', q{SELECT count(*) FROM engram.tier_worker WHERE database = 'db4' AND passes > 0}, '1'),
	'db4 has its row in engram.tier_worker');

# DROP EXTENSION ends the service: the row goes
$node->safe_psql('db2', 'DROP EXTENSION engram CASCADE');
ok($node->poll_query_until('db1', q{SELECT count(*) FROM engram.tier_worker WHERE database = 'db2'}, '0'),
	'after DROP EXTENSION in db2, db2 leaves engram.tier_worker');

# 4. a reload restricts the rounds to engram.migrate_database
$node->append_conf('postgresql.conf', "engram.migrate_database = 'db1'\n");
$node->reload;
# a round begun before the reload may still visit db4 once
my $passes_q = q{SELECT passes FROM engram.tier_worker WHERE database = '%s'};
my $p1 = $node->safe_psql('db1', sprintf($passes_q, 'db1'));
ok($node->poll_query_until('db1', sprintf("SELECT (%s) >= $p1 + 2", sprintf($passes_q, 'db1'))),
	'with migrate_database = db1, db1 is still served');
my $p4 = $node->safe_psql('db1', sprintf($passes_q, 'db4'));
$p1 = $node->safe_psql('db1', sprintf($passes_q, 'db1'));
ok($node->poll_query_until('db1', sprintf("SELECT (%s) >= $p1 + 3", sprintf($passes_q, 'db1'))),
	'db1 had three more passes');
is($node->safe_psql('db1', sprintf($passes_q, 'db4')), $p4, 'and db4 none meanwhile');
$node->append_conf('postgresql.conf', "engram.migrate_database = ''\n");
$node->reload;
ok($node->poll_query_until('db1', sprintf("SELECT (%s) > $p4", sprintf($passes_q, 'db4'))),
	'with migrate_database = \'\' again, db4 is served again');

# 5. no worker holds a database between passes
my ($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE db4');
is($rc, 0, 'DROP DATABASE of a served database succeeds without FORCE') or diag($err);

# no error in the log (none in db3, none anywhere)
my $log = substr(slurp_file($node->logfile), $logpos);
my @bad = grep { /\b(ERROR|FATAL|PANIC|WARNING):/ } split /\n/, $log;
is(scalar(@bad), 0, 'the server log has no ERROR, FATAL or WARNING') or diag(join("\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]));
unlike($log, qr/terminated by signal/, 'no process crashed');

$node->stop;
done_testing();
