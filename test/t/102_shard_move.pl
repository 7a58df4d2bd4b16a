# Copyright (c) engram authors
#
# Moving a placed space between shards online (issue 19, engram.move_space;
# docs/architecture/0011-sharding.md).  A coordinator and three shards.
#  - a quiet move s1 -> s2: every memory arrives with its id, every column
#    and its access history (md5 of each row's moved form equal), the
#    associations too, recall through the coordinator returns the same
#    memories in the same order with the same scores, nothing is left on
#    s1;
#  - a move s2 -> s3 under a remember load from the coordinator, with the
#    cutover held (a tenant transaction holding a routed write open) while
#    memories are deleted, updated and read on the source after the first
#    copy: all of it reaches s3, every acknowledged memory is on s3
#    exactly once, none of the space is left on s2, writes acknowledged
#    after the move are on s3;
#  - a move to a stopped shard fails with 08006 naming it and leaves the
#    placement and the source as they were; tenants may not move spaces.
# Every node runs with engram.decay_rate = 0 so that activation does not
# depend on the instant of the recall (the scores compare exactly).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;
use Time::HiRes ();

sub psql_err
{
	my ($node, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return $err;
}
my $conf = "engram.decay_function = 'exponential'\nengram.decay_rate = 0\n";

my @shards;
for my $i (1 .. 3)
{
	my $s = EngramTest::new_primary("mshard$i", extra_conf => $conf);
	$s->safe_psql('postgres', qq{
		CREATE ROLE engram_svc LOGIN PASSWORD 'svc';
		SELECT engram.shard_init($i, 'engram_svc');
	});
	push @shards, $s;
}
my $coord = EngramTest::new_primary('mcoord', extra_conf => $conf);
$coord->safe_psql('postgres', 'CREATE EXTENSION postgres_fdw; CREATE EXTENSION dblink;');
for my $i (1 .. 3)
{
	my ($h, $p) = ($shards[ $i - 1 ]->host, $shards[ $i - 1 ]->port);
	$coord->safe_psql('postgres',
		"SELECT engram.add_shard('s$i', 'host=$h port=$p dbname=postgres user=engram_svc password=svc')");
}
$coord->safe_psql('postgres', q{
	CREATE ROLE alice;
	SELECT engram.create_space('m');
	SELECT engram.grant_space('m', 'alice');
	SELECT engram.place_space('m', 's1');
});

# 150 memories through the coordinator, then accesses, associations and
# an update on s1
my $words = "'apple','river','stone','cloud','market','violin','garden','engine','harbor','winter'";
$coord->safe_psql('postgres', qq{
	SELECT count(*) FROM (
		SELECT engram.remember(c, engram.embed_text(c, 32), (0.5 + (i % 5) / 10.0)::real, 'm',
							   metadata => jsonb_build_object('i', i, 'tag', (ARRAY[$words])[1 + i % 10]))
		FROM (SELECT i, format('memory %s about %s and %s', i, (ARRAY[$words])[1 + i % 10],
							   (ARRAY[$words])[1 + (i * 7) % 10]) AS c
			  FROM generate_series(1, 150) i) x) y;
	SET ROLE alice;
	SELECT count(*) FROM engram.recall(engram.embed_text('river stone', 32), k => 10, space => 'm');
	SELECT count(*) FROM engram.recall(engram.embed_text('river stone', 32), k => 5, space => 'm');
	SELECT count(*) FROM engram.recall(NULL, cue_text => 'violin', k => 8, space => 'm');
});
$shards[0]->safe_psql('postgres', q{
	SELECT engram.associate(a.id, b.id, 0.25 + (a.id % 4) / 10.0)
	FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM engram.memory) a
	JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM engram.memory) b ON b.n = a.n + 1
	WHERE a.n % 10 = 1;
	UPDATE engram.memory SET metadata = metadata || '{"updated": true}', version = version + 1,
		   updated_at = now() WHERE id = (SELECT min(id) FROM engram.memory);
});

my $digest_sql = q{SELECT count(*) || ' ' || md5(string_agg(id || ':' || digest, ',' ORDER BY id)) FROM engram._move_digest('m')};
my $assoc_sql = q{SELECT count(*) || ' ' || coalesce(md5(string_agg(src || '-' || dst || '=' || weight || '@' || created_at, ',' ORDER BY src, dst)), '') FROM engram.association};
my %cues = (
	vector => q{engram.embed_text('river stone garden', 32), cue_text => NULL},
	text   => q{NULL, cue_text => 'river OR winter'},
	hybrid => q{engram.embed_text('violin market', 32), cue_text => 'violin harbor'});
sub recall_all
{
	my $out = '';
	for my $kind (sort keys %cues)
	{
		$out .= "$kind\n" . $coord->safe_psql('postgres', qq{SET ROLE alice;
			SELECT string_agg(id || ' ' || score || '/' || similarity || '/' || activation || ' ' || tier, E'\\n' ORDER BY n)
			FROM engram.recall($cues{$kind}, k => 12, space => 'm', record_access => false)
			WITH ORDINALITY AS r(id, content, score, similarity, activation, confidence, tier, created_at, metadata, n)}) . "\n";
	}
	return $out;
}

my $digest1 = $shards[0]->safe_psql('postgres', $digest_sql);
my $assoc1  = $shards[0]->safe_psql('postgres', $assoc_sql);
my $recall1 = recall_all();
like($digest1, qr/^150 /, 's1 holds the 150 memories of m');
is($shards[0]->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE access_count > 0) > 5 AND max(access_count) = 2 FROM engram.memories}),
	't', 'some memories of m have recorded accesses (up to 2) on s1');
like($assoc1, qr/^15 /, 'and 15 associations');

# ---- quiet move s1 -> s2 ----------------------------------------------------
my $t0 = Time::HiRes::time();
is($coord->safe_psql('postgres', q{SELECT engram.move_space('m', 's2')}), '150', 'move_space(m, s2) moves 150 memories');
diag(sprintf('shard_move_ms: quiet move of 150 memories and 15 associations: %.0f', (Time::HiRes::time() - $t0) * 1000));
is($coord->safe_psql('postgres', q{SELECT shard FROM engram.placements WHERE space = 'm'}), 's2', 'm is placed on s2');
is($shards[1]->safe_psql('postgres', $digest_sql), $digest1,
	'on s2: the same ids with every column and access history equal (md5 of each row)');
is($shards[1]->safe_psql('postgres', $assoc_sql), $assoc1, 'on s2: the same associations (ends, weights, times)');
is($shards[0]->safe_psql('postgres', q{SELECT count(*) FROM engram.memory}) . ','
	. $shards[0]->safe_psql('postgres', q{SELECT count(*) FROM engram.association}), '0,0',
	'nothing of m is left on s1');
is(recall_all(), $recall1, 'recall of m through the coordinator: same ids, order, scores and tiers after the move (vector, text, hybrid)');

# ---- move s2 -> s3 under load, the cutover held -------------------------------
my $writer = EngramTest::start_writer($coord,
	client => 1, no_rollback => 1,
	sql => q{SELECT engram.remember(%CONTENT%, NULL, 1, 'm')});
ok($writer->wait_acked(30, 120), 'the remember load through the coordinator runs');

# a tenant transaction with a routed write open holds the cutover back
my $holder = $coord->background_psql('postgres');
$holder->query_safe(q{BEGIN; SET ROLE alice; SELECT engram.remember('held during the move', NULL, 1, 'm')});
my $mover = $coord->background_psql('postgres');
$mover->query_until(qr/started/, "\\echo started\nSELECT 'moved ' || engram.move_space('m', 's3');\n");
ok($coord->poll_query_until('postgres', q{SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND NOT l.granted AND a.query LIKE '%move_space%')}),
	'the move copied and waits for the open routed write at its cutover');
# changes on the source after the first copy: a delete, an update, a read
my ($del, $upd, $read) = split /\|/, $shards[1]->safe_psql('postgres', q{
	SELECT (SELECT min(id) FROM engram.memory WHERE content LIKE 'memory 3 %'),
		   (SELECT min(id) FROM engram.memory WHERE content LIKE 'memory 4 %'),
		   (SELECT min(id) FROM engram.memory WHERE content LIKE 'memory 5 %')});
$shards[1]->safe_psql('postgres', qq{
	DELETE FROM engram.memory WHERE id = $del;
	UPDATE engram.memory SET metadata = '{"changed": "during the move"}', version = version + 1, updated_at = now() WHERE id = $upd;
	SELECT engram._record_access('engram.memory', ctid) FROM engram.memory WHERE id = $read;
	SELECT engram._record_access('engram.memory', ctid) FROM engram.memory WHERE id = $read;
});
my $read_count = $shards[1]->safe_psql('postgres', "SELECT engram.access_count($read)");
$holder->query_safe('COMMIT');
like($mover->query_until(qr/moved \d+/, ''), qr/moved \d+/, 'the move completes once the open write commits');
$mover->quit;
$holder->quit;
my $acked_moved = scalar($writer->acked);
ok($writer->wait_acked($acked_moved + 30, 120), 'the load goes on after the move');
$writer->stop;
my @acked = $writer->acked;
my @after = @acked[ $acked_moved .. $#acked ];

is($coord->safe_psql('postgres', q{SELECT shard FROM engram.placements WHERE space = 'm'}), 's3', 'm is placed on s3');
is($shards[1]->safe_psql('postgres', q{SELECT count(*) FROM engram.memory WHERE space = 'm'}), '0', 'nothing of m is left on s2');
my %on3;
for (split /\n/, $shards[2]->safe_psql('postgres', q{SELECT content FROM engram.memory WHERE content LIKE 'c1-%'}))
{
	$on3{$1}++ if /^c1-(\d+)-/;
}
my $bad = grep { ($on3{$_} // 0) != 1 } @acked;
is($bad, 0, sprintf('every acknowledged memory (%d, %d of them by the end of the move) is on s3 exactly once', scalar(@acked), $acked_moved));
is(scalar(grep { ($on3{$_} // 0) == 1 } @after), scalar(@after), sprintf('the %d remembered after the move are on s3', scalar(@after)));
cmp_ok(scalar(@after), '>=', 30, 'writes after the move were acknowledged');
is($shards[2]->safe_psql('postgres', q{SELECT count(*) FROM (SELECT content FROM engram.memory GROUP BY 1 HAVING count(*) > 1) d}),
	'0', 'no memory is duplicated on s3');
is($shards[2]->safe_psql('postgres', qq{SELECT
		(SELECT count(*) FROM engram.memory WHERE id = $del) || ','
		|| (SELECT metadata ->> 'changed' FROM engram.memory WHERE id = $upd) || ','
		|| engram.access_count($read) || ','
		|| (SELECT count(*) FROM engram.memory WHERE content = 'held during the move')}),
	"0,during the move,$read_count,1",
	'what changed on s2 after the first copy reached s3: the delete, the update, the recorded accesses, the held write');
is($shards[2]->safe_psql('postgres', q{SELECT count(*) FROM engram.memory WHERE content LIKE 'memory %'}), '149',
	'the 150 seeded memories minus the deleted one are on s3');

# ---- a failing move and refusals ------------------------------------------------
my $digest3 = $shards[2]->safe_psql('postgres', $digest_sql);
$shards[0]->stop('immediate');
like(psql_err($coord, q{SELECT engram.move_space('m', 's1')}),
	qr/08006: moving memory space "m" from shard "s3" to shard "s1" failed: shard "s1" is unavailable/,
	'a move to a stopped shard fails with 08006 naming it');
is($coord->safe_psql('postgres', q{SELECT shard FROM engram.placements WHERE space = 'm'}), 's3', 'the placement is unchanged');
is($shards[2]->safe_psql('postgres', $digest_sql), $digest3, 'the source is intact (every row and its history)');
like(psql_err($coord, q{SET ROLE alice; SELECT engram.move_space('m', 's2')}),
	qr/42501: permission denied to administer shards/, 'tenants cannot move spaces');
$coord->safe_psql('postgres', q{SELECT engram.create_space('local')});
like(psql_err($coord, q{SELECT engram.move_space('local', 's2')}),
	qr/0A000: memory space "local" is not placed on a shard/, 'an unplaced space is not moved');
like(psql_err($coord, q{SELECT engram.move_space('m', 'nope')}),
	qr/42704: shard "nope" does not exist/, 'a move to an unknown shard is refused');
is($coord->safe_psql('postgres', q{SET ROLE alice; SELECT count(*) FROM engram.recall(NULL, cue_text => 'river', space => 'm', k => 100)}),
	$shards[2]->safe_psql('postgres', q{SELECT count(*) FROM engram.recall(NULL, cue_text => 'river', space => 'm', k => 100)}),
	'recall of m through the coordinator reads s3');

$_->stop for ($shards[1], $shards[2], $coord);
done_testing();
