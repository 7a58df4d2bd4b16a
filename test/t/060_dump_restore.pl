# Copyright (c) engram authors
#
# pg_dump / pg_restore / pg_dumpall of a database using engram: plain
# engram tables (btree, GIN and engram_hnsw indexes, toasted rows, rows in
# the HOT, WARM and COLD tiers) and the memory API (spaces, grants,
# associations, the 'default' space's dimensions, the id sequence).
#
# Three round trips: pg_dump -Fc + pg_restore into a new database,
# pg_dump plain + psql into another, pg_dumpall into a second cluster.
# Each copy must hold identical rows (md5 over ordered rows), answer index
# scans like an exact scan, pass engram.verify, recall the same memories,
# keep spaces, grants and associations, and hand out fresh memory ids.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump_src');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
CREATE ROLE reader LOGIN;
CREATE DATABASE src;
});

$node->safe_psql('src', q{
CREATE EXTENSION engram;
SET search_path = public, engram;
CREATE TABLE docs (
	id		int PRIMARY KEY,
	title	text,
	tags	text[],
	body	text,
	emb		engram.vector(8)
) USING engram;
INSERT INTO docs
SELECT g, 'title ' || g, ARRAY['t' || (g % 7), 'u' || (g % 3)],
	   CASE WHEN g % 50 = 0
			THEN (SELECT string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 300) i)
			ELSE repeat('body ' || g || ' ', 1 + g % 20) END,
	   ('[' || (SELECT string_agg(round((((g * 7 + i * 13) % 101) / 10.0 - 5)::numeric, 1)::text, ',') FROM generate_series(1, 8) i) || ']')::engram.vector
FROM generate_series(1, 600) g;
CREATE INDEX docs_title_idx ON docs (title);
CREATE INDEX docs_tags_idx ON docs USING gin (tags);
CREATE INDEX docs_emb_idx ON docs USING engram_hnsw (emb engram.vector_l2_ops);
-- three tiers: rows 1..200 stay hot, 201..400 warm, 401..600 cold
CREATE TABLE docs_warm (LIKE docs INCLUDING ALL) USING engram;
CREATE TABLE docs_cold (LIKE docs INCLUDING ALL) USING engram;
INSERT INTO docs_warm SELECT * FROM docs WHERE id BETWEEN 201 AND 400;
INSERT INTO docs_cold SELECT * FROM docs WHERE id > 400;
SELECT count(*) FROM engram.migrate('docs_warm', NULL, 'warm');
SELECT count(*) FROM engram.migrate('docs_cold', NULL, 'cold');
});

like( $node->safe_psql('src', q{
	SELECT string_agg(DISTINCT engram.tier_of('docs_warm', ctid), ',') FROM docs_warm}),
	qr/warm/, 'source rows are in the warm tier');
like( $node->safe_psql('src', q{
	SELECT string_agg(DISTINCT engram.tier_of('docs_cold', ctid), ',') FROM docs_cold}),
	qr/cold/, 'source rows are in the cold tier');
ok( $node->safe_psql('src',
		q{SELECT count(*) FROM pg_class WHERE relname = 'docs' AND reltoastrelid <> 0}) == 1
	  && $node->safe_psql('src',
		q{SELECT pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE relname = 'docs'))}) > 0,
	'some rows are toasted');

# the memory API
$node->safe_psql('src', q{
SELECT engram.create_space('notes', 16);
SELECT engram.create_space('shared');
SELECT engram.remember('the moon causes the tides', engram.embed_text('the moon causes the tides', 16), space => 'notes');
SELECT engram.remember('yeast makes bread dough rise', engram.embed_text('yeast makes bread dough rise', 16), space => 'notes');
SELECT engram.remember('postgres writes the write-ahead log', engram.embed_text('postgres writes the write-ahead log', 16), space => 'notes');
SELECT engram.remember('coffee with Alice on Friday', engram.embed_text('coffee with Alice on Friday'));
SELECT engram.remember('croissant and a large coffee', engram.embed_text('croissant and a large coffee'));
SELECT engram.remember('a shared fact', space => 'shared');
-- remembered under a raised limit: the restoring session keeps the default
SET engram.max_content_bytes = '4MB';
SELECT engram.remember(repeat('a memory larger than the default limit ', 50000), space => 'notes');
RESET engram.max_content_bytes;
SELECT engram.associate(a.id, b.id, 0.8)
FROM engram.memory a, engram.memory b
WHERE a.content LIKE 'coffee with%' AND b.content LIKE 'croissant%';
SELECT engram.grant_space('shared', 'reader');
-- a grant left behind by a dropped role (a bare OID): not dumped
CREATE ROLE gone;
SELECT engram.grant_space('notes', 'gone');
REVOKE ALL ON engram.memory, engram.association, engram.memories, engram.memory_stats,
	engram.memory_history, engram.space_policy, engram.core_block, engram.core_block_history FROM gone;
REVOKE ALL ON SEQUENCE engram.memory_id_seq FROM gone;
DROP ROLE gone;
});
is($node->safe_psql('src', q{SELECT count(*) FROM engram.space_grant
	WHERE role::oid NOT IN (SELECT oid FROM pg_roles)}), '1', 'source has a grant of a dropped role');

my %q = (
	docs => q{SELECT md5(string_agg(d::text, '|' ORDER BY id)) FROM docs d},
	docs_warm => q{SELECT md5(string_agg(d::text, '|' ORDER BY id)) FROM docs_warm d},
	docs_cold => q{SELECT md5(string_agg(d::text, '|' ORDER BY id)) FROM docs_cold d},
	memory => q{SELECT md5(string_agg(row(id, space, content, embedding, confidence, created_at,
				occurred_at, location, participants, metadata, kind)::text, '|' ORDER BY id))
				FROM engram.memory},
	spaces => q{SELECT string_agg(name || ':' || coalesce(dims::text, 'null'), ',' ORDER BY name)
				FROM engram.space},
	grants => q{SELECT string_agg(space || ':' || pg_get_userbyid(role), ',' ORDER BY space)
				FROM engram.space_grant WHERE role::oid IN (SELECT oid FROM pg_roles)},
	assoc => q{SELECT string_agg(a.content || '~' || b.content || ':' || x.weight, ',')
			   FROM engram.association x JOIN engram.memory a ON a.id = x.src
			   JOIN engram.memory b ON b.id = x.dst},
	recall_vec => q{SELECT string_agg(content, '|') FROM engram.recall(
			engram.embed_text('tides and the moon', 16), 2, space => 'notes', record_access => false)},
	recall_txt => q{SELECT string_agg(content, '|' ORDER BY content) FROM engram.recall(
			NULL, 5, cue_text => 'coffee', spread => true, record_access => false)},
	reader_sees => q{SET ROLE reader; SELECT string_agg(content, '|') FROM engram.memory},
	table_privs => q{SELECT has_table_privilege('reader', 'engram.memory', 'INSERT')},
	gin => q{SET enable_seqscan = off; SELECT string_agg(id::text, ',' ORDER BY id) FROM docs WHERE tags @> '{t3,u1}'},
	btree => q{SET enable_seqscan = off; SELECT id FROM docs WHERE title = 'title 77'},
	hnsw => q{SET enable_seqscan = off; SELECT string_agg(round(d::numeric, 4)::text, ',') FROM
			(SELECT emb OPERATOR(engram.<->) '[1,2,3,4,5,6,7,8]' AS d FROM docs
			 ORDER BY emb OPERATOR(engram.<->) '[1,2,3,4,5,6,7,8]' LIMIT 5) s},
);
my %src;
$src{$_} = $node->safe_psql('src', $q{$_}) for keys %q;
my $exact_gin = $node->safe_psql('src', q{SET enable_indexscan = off; SET enable_bitmapscan = off;
	SELECT string_agg(id::text, ',' ORDER BY id) FROM docs WHERE tags @> '{t3,u1}'});
my $exact_knn = $node->safe_psql('src', q{SET enable_indexscan = off; SET enable_bitmapscan = off;
	SELECT string_agg(round(d::numeric, 4)::text, ',') FROM
	(SELECT emb OPERATOR(engram.<->) '[1,2,3,4,5,6,7,8]' AS d FROM docs
	 ORDER BY emb OPERATOR(engram.<->) '[1,2,3,4,5,6,7,8]' LIMIT 5) s});
is($src{gin}, $exact_gin, 'source: GIN result = exact');
is($src{hnsw}, $exact_knn, 'source: engram_hnsw result = exact');
like($src{spaces}, qr/default:\d+/, "source: the default space's dims are fixed");
is($src{reader_sees}, 'a shared fact', 'source: reader sees its granted space only');

my $max_id = $node->safe_psql('src', 'SELECT max(id) FROM engram.memory');

# Compares a restored database with the source.
sub check_copy
{
	my ($n, $db, $what) = @_;
	for my $k (sort keys %q)
	{
		my ($rc, $out, $err) = $n->psql($db, $q{$k});
		is($rc, 0, "$what: query $k runs") or diag($err);
		is($out, $src{$k}, "$what: $k identical");
	}
	like($n->safe_psql($db, q{SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE title = 'title 77'}),
		qr/Index (Only )?Scan (using|on) docs_title_idx/, "$what: btree index used");
	like($n->safe_psql($db, q{SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE tags @> '{t3,u1}'}),
		qr/docs_tags_idx/, "$what: GIN index used");
	like($n->safe_psql($db, q{SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY emb OPERATOR(engram.<->) '[1,2,3,4,5,6,7,8]' LIMIT 5}),
		qr/Index Scan using docs_emb_idx/, "$what: engram_hnsw index used");
	is($n->safe_psql($db, q{
		SELECT count(*) FROM (
			SELECT * FROM engram.verify('docs') UNION ALL
			SELECT * FROM engram.verify('docs_warm') UNION ALL
			SELECT * FROM engram.verify('docs_cold') UNION ALL
			SELECT * FROM engram.verify('engram.memory')) v}),
		'0', "$what: engram.verify clean");
	is($n->safe_psql($db, q{SELECT count(*) FROM engram.space_grant
		WHERE role::oid NOT IN (SELECT oid FROM pg_roles)}),
		'0', "$what: no grant of a dropped role restored");
	is($n->safe_psql($db, q{SELECT count(*) FROM pg_extension WHERE extname = 'engram'}),
		'1', "$what: extension present once");
	# the sequence continues: a new memory gets an id above every restored one
	my ($rc, $id, $err) = $n->psql($db,
		q{SELECT engram.remember('a new memory after restore', space => 'notes')});
	is($rc, 0, "$what: remember after restore works") or diag($err);
	cmp_ok($id, '>', $max_id, "$what: fresh id after restore");
	# dims of a restored space are still enforced
	($rc, undef, $err) = $n->psql($db,
		q{SELECT engram.remember('wrong dims', '[1,2,3]', space => 'notes')});
	isnt($rc, 0, "$what: dims of a restored space enforced");
	($rc, undef, $err) = $n->psql($db,
		q{SELECT engram.remember('wrong dims', '[1,2,3]')});
	isnt($rc, 0, "$what: dims of the default space enforced");
	like($err, qr/has 3 dimensions but memory space "default" has 384/,
		"$what: default space keeps 384 dims");
}

my $tmp = PostgreSQL::Test::Utils::tempdir;

# 1. custom format into a new database
$node->command_ok(
	[ 'pg_dump', '-Fc', '-f', "$tmp/src.dump", '-d', $node->connstr('src') ],
	'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE custom');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('custom'), "$tmp/src.dump" ],
	'pg_restore');
check_copy($node, 'custom', 'pg_restore');

# 2. plain format through psql
$node->command_ok(
	[ 'pg_dump', '-f', "$tmp/src.sql", '-d', $node->connstr('src') ],
	'pg_dump plain');
$node->safe_psql('postgres', 'CREATE DATABASE plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('plain'), '-f', "$tmp/src.sql" ],
	'psql restore of plain dump');
check_copy($node, 'plain', 'plain dump');

# 3. pg_dumpall into a second cluster; its roles get other OIDs (a
# placeholder role is created first so that reader's OID differs)
$node->command_ok(
	[ 'pg_dumpall', '-f', "$tmp/all.sql", '-d', $node->connstr('postgres') ],
	'pg_dumpall');
my $node2 = PostgreSQL::Test::Cluster->new('dump_dst');
$node2->init;
$node2->start;
$node2->safe_psql('postgres', 'CREATE ROLE placeholder1; CREATE ROLE placeholder2;');
# the dump's CREATE ROLE of the bootstrap superuser fails harmlessly; stop
# on nothing but report every error
my ($out, $err) = run_command(
	[ 'psql', '-X', '-q', '-d', $node2->connstr('postgres'), '-f', "$tmp/all.sql" ]);
my @errors = grep { /ERROR/ && !/role "\w+" already exists/ } split /\n/, $err;
is(scalar(@errors), 0, 'pg_dumpall restores without errors') or diag($err);
isnt($node2->safe_psql('postgres', q{SELECT oid FROM pg_roles WHERE rolname = 'reader'}),
	$node->safe_psql('postgres', q{SELECT oid FROM pg_roles WHERE rolname = 'reader'}),
	'reader has another OID in the second cluster');
check_copy($node2, 'src', 'pg_dumpall');

$node2->stop;
$node->stop;
done_testing();
