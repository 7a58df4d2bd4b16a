# Copyright (c) engram authors
#
# ALTER EXTENSION engram UPDATE from 0.1.0 on a primary with two streaming
# standbys (one with the library, one without it): the data stays in place
# and identical on every node, the standbys replay the upgrade, recall on a
# standby after the upgrade equals recall on the primary, and writes made
# after the upgrade replicate.  The catalog of an upgraded database is
# compared with a fresh install by sql/upgrade.sql.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $primary = EngramTest::new_primary('upg_primary', no_extension => 1, wcc => 1);
$primary->safe_psql('postgres', q{CREATE EXTENSION engram VERSION '0.1.0'});
is($primary->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'engram'}),
	'0.1.0', 'primary starts at 0.1.0');

# data written by 0.1.0
$primary->safe_psql('postgres', q{
	SELECT engram.create_space('upg');
	SELECT engram.remember('fact number ' || i, engram.embed_text('fact number ' || i, 32), space => 'upg')
	FROM generate_series(1, 200) i;
	SELECT engram.associate(a.id, b.id, 0.5) FROM engram.memory a, engram.memory b
	WHERE a.content = 'fact number 1' AND b.content = 'fact number 2';
	CREATE TABLE upg_t (id int PRIMARY KEY, body text, v engram.vector(4)) USING engram;
	INSERT INTO upg_t SELECT i, repeat(md5(i::text), 8), ('[' || i % 17 || ',' || i % 5 || ',1,' || i % 3 || ']')::engram.vector
	FROM generate_series(1, 2000) i;
	CREATE INDEX upg_t_v ON upg_t USING engram_hnsw (v engram.vector_l2_ops);
});
# every tier: all rows WARM, then part of them COLD (a byte budget)
$primary->safe_psql('postgres', q{SELECT count(*) FROM engram.migrate('upg_t', NULL, 'warm')});
$primary->safe_psql('postgres', q{SELECT count(*) FROM engram.migrate('upg_t', 60000, 'cold')});
like($primary->safe_psql('postgres',
		q{SELECT string_agg(DISTINCT engram.tier_of('upg_t', ctid), ',') FROM upg_t}),
	qr/^(cold,warm|warm,cold)$/i, 'rows in the warm and the cold tier before the upgrade');
$primary->safe_psql('postgres', q{UPDATE upg_t SET body = body || 'x' WHERE id % 10 = 0});

my $standby = EngramTest::new_standby($primary, 'upg_standby');
my $standby_nolib = EngramTest::new_standby($primary, 'upg_standby_nolib', nolib => 1);
$primary->wait_for_catchup($standby);
$primary->wait_for_catchup($standby_nolib);

my $sum_q = q{SELECT md5(string_agg(id || body || v::text, ',' ORDER BY id)) FROM upg_t};
my $mem_q = q{SELECT md5(string_agg(id || content || embedding::text || space, ',' ORDER BY id)) FROM engram.memory};
my $before_t = $primary->safe_psql('postgres', $sum_q);
my $before_m = $primary->safe_psql('postgres', $mem_q);

$primary->safe_psql('postgres', 'ALTER EXTENSION engram UPDATE');
is($primary->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'engram'}),
	'0.2.0', 'primary is at 0.2.0 after ALTER EXTENSION UPDATE');
is($primary->safe_psql('postgres', $sum_q), $before_t, 'engram table unchanged by the upgrade');
is($primary->safe_psql('postgres', $mem_q), $before_m, 'memories unchanged by the upgrade');
is(join(',', EngramTest::verify_problems($primary, 'upg_t')), '', 'verify clean after the upgrade');

# writes after the upgrade
$primary->safe_psql('postgres', q{
	SELECT engram.remember('fact after upgrade ' || i, engram.embed_text('fact after upgrade ' || i, 32), space => 'upg')
	FROM generate_series(1, 20) i;
	INSERT INTO upg_t SELECT i, 'new ' || i, '[1,2,3,4]' FROM generate_series(2001, 2100) i;
	DELETE FROM upg_t WHERE id % 7 = 0;
});
$primary->wait_for_catchup($standby);
$primary->wait_for_catchup($standby_nolib);

for my $s ($standby, $standby_nolib)
{
	is($s->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'engram'}),
		'0.2.0', $s->name . ' replayed the upgrade');
}
is($standby->safe_psql('postgres', $sum_q), $primary->safe_psql('postgres', $sum_q),
	'standby has the same engram table rows');
is($standby->safe_psql('postgres', $mem_q), $primary->safe_psql('postgres', $mem_q),
	'standby has the same memories');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM engram.memory'), '220',
	'220 memories on the standby');

my $recall = q{SELECT string_agg(content, '|' ORDER BY score DESC, id)
			   FROM engram.recall(engram.embed_text('fact number 7', 32), 5, 'upg', record_access => false)};
my $knn = q{SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM
			(SELECT id FROM upg_t ORDER BY v OPERATOR(engram.<->) '[3,2,1,1]', id LIMIT 10) s};
is($standby->safe_psql('postgres', $recall), $primary->safe_psql('postgres', $recall),
	'recall on the standby equals recall on the primary');
is($standby->safe_psql('postgres', $knn), $primary->safe_psql('postgres', $knn),
	'engram_hnsw scan on the standby equals the primary');

EngramTest::dumps_identical($primary, $standby, 'pg_dumpall of primary and standby identical');

# the no-library standby replayed everything: give it the library and
# compare its dump too
$standby_nolib->stop;
EngramTest::switch_install($standby_nolib, undef);
$standby_nolib->start;
$primary->wait_for_catchup($standby_nolib);
EngramTest::dumps_identical($primary, $standby_nolib,
	'pg_dumpall of primary and the standby that replayed without the library identical');

done_testing();
