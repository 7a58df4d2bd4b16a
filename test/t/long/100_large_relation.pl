
# Copyright (c) engram authors
#
# A relation larger than 1 GB (issue 17), run by `make test-long` only
# (ENGRAM_TESTS=long; too heavy for every CI run on 2 cores: it writes
# about 1.2 GB of table and as much WAL).  Debian's PostgreSQL is built with
# 1 GB segments (RELSEG_SIZE cannot be changed without rebuilding the
# server), so the table really spans two segment files.
# An engram table of ~1.2 M rows of ~900 bytes, with a btree and an
# engram_hnsw index on a vector every 100th row carries: rows beyond block
# 131072 (second segment) are read by seq, index and TID scans; updates,
# deletes and VACUUM there and across the boundary; migration of the whole
# table to COLD and back to HOT; a kill -9 and crash recovery.  Every step
# compares an order-independent checksum with the one computed from the
# generating expressions; engram.verify and amcheck are clean; the ANN
# index answers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('large', checksums => 1,
	extra_conf => "max_wal_size = 1GB\nmaintenance_work_mem = 256MB");
EngramTest::features($node);
my $rows = 1_200_000;
$node->safe_psql('postgres', q{
	CREATE EXTENSION amcheck;
	CREATE TABLE big (id int8 PRIMARY KEY, grp int NOT NULL, body text NOT NULL, emb engram.vector(8)) USING engram;
});
my $gen = "SELECT i, i % 100, repeat(md5(i::text), 28), CASE WHEN i % 100 = 0 THEN engram.embed_text('v' || i, 8) END FROM generate_series(%A, %B) i";
for (my $a = 1; $a <= $rows; $a += 200_000)
{
	my $b = $a + 199_999;
	(my $q = $gen) =~ s/%A/$a/;
	$q =~ s/%B/$b/;
	$node->safe_psql('postgres', "INSERT INTO big $q");
}
# order-independent checksum of (id, grp, body)
my $sum_expr = "count(*) || ':' || sum(('x' || substr(md5(id || ':' || grp || ':' || body), 1, 8))::bit(32)::int8)";
my $expected = $node->safe_psql('postgres',
	"SELECT $sum_expr FROM (SELECT i AS id, i % 100 AS grp, repeat(md5(i::text), 28) AS body FROM generate_series(1, $rows) i) s");
is($node->safe_psql('postgres', "SELECT $sum_expr FROM big"), $expected, 'all rows read back');
my $size = $node->safe_psql('postgres', "SELECT pg_relation_size('big')");
cmp_ok($size, '>', 1024 * 1024 * 1024, "the table is larger than 1 GB ($size bytes)");
my $path = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('big')");
ok(-f "$path.1", 'it has a second segment file');
my $seg2 = $node->safe_psql('postgres', "SELECT count(*) FROM big WHERE (ctid::text::point)[0] >= 131072");
cmp_ok($seg2, '>', 0, "$seg2 rows live in the second segment");

# TID and index scans into the second segment
my $tid = $node->safe_psql('postgres', "SELECT ctid FROM big WHERE (ctid::text::point)[0] >= 131072 ORDER BY id LIMIT 1");
is($node->safe_psql('postgres', "SELECT count(*) FROM big WHERE ctid = '$tid'"), '1', "TID scan at $tid");
my ($seq, $idx) = EngramTest::index_vs_seqscan($node, "(SELECT id, grp FROM big WHERE id > $rows - 50000) q", 'id');
is($idx, $seq, 'index scan over the rows at the end of the table (second segment) = seq scan');

# changes in the second segment and across the boundary
$node->safe_psql('postgres', "UPDATE big SET body = body || 'u' WHERE id % 1000 = 7");
$node->safe_psql('postgres', "DELETE FROM big WHERE id % 1000 = 9");
$node->safe_psql('postgres', 'VACUUM big');
my $expected2 = $node->safe_psql('postgres',
	"SELECT $sum_expr FROM (SELECT i AS id, i % 100 AS grp, repeat(md5(i::text), 28) || CASE WHEN i % 1000 = 7 THEN 'u' ELSE '' END AS body FROM generate_series(1, $rows) i WHERE i % 1000 <> 9) s");
is($node->safe_psql('postgres', "SELECT $sum_expr FROM big"), $expected2, 'after UPDATE, DELETE, VACUUM: the expected rows');

$node->safe_psql('postgres', 'CREATE INDEX big_ann ON big USING engram_hnsw (emb engram.vector_cosine_ops)');
my $ann = "SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM big WHERE emb IS NOT NULL ORDER BY emb OPERATOR(engram.<=>) engram.embed_text('v1100000', 8) LIMIT 10) s";
is($node->safe_psql('postgres', $ann), '10', 'the ANN index over the large table answers');

for my $tier ('cold', 'hot')
{
	$node->safe_psql('postgres', "SELECT count(*) FROM (SELECT engram.migrate('big'::regclass, NULL, '$tier')) s");
	is($node->safe_psql('postgres', "SELECT $sum_expr FROM big"), $expected2, "after migration to $tier: the same rows");
}
$node->safe_psql('postgres', "SELECT count(*) FROM (SELECT engram.migrate('big'::regclass, NULL, 'warm')) s");
$node->safe_psql('postgres', "UPDATE big SET grp = grp WHERE id > $rows - 10");
EngramTest::kill9_and_restart($node);
is($node->safe_psql('postgres', "SELECT $sum_expr FROM big"), $expected2, 'after kill -9 and recovery: the same rows');
my @p = EngramTest::verify_problems($node, 'big');
is(scalar @p, 0, 'engram.verify is clean') or diag(join("\n", @p[0 .. ($#p < 9 ? $#p : 9)]));
my ($n, @bad) = EngramTest::amcheck_btrees($node, 'big');
is(scalar @bad, 0, 'amcheck passes') or diag(join("\n", @bad));
is($node->safe_psql('postgres', $ann), '10', 'the ANN index answers after the crash');

$node->stop;
done_testing();
