
# Copyright (c) engram authors
#
# Sharding (issue 19): a coordinator and three shard nodes on localhost,
# plus a single node holding the same data.
#  - placement catalog: add_shard (postgres_fdw server + user mapping),
#    place_space, engram.placements, remove_shard refused while spaces are
#    placed;
#  - ids: each shard's memories carry its node number (id >> 48) and ids
#    are unique across nodes;
#  - routing: remember, recall, forget (by id and by space), associate,
#    spread, consolidate called on the coordinator run on the owning shard; the
#    access history is recorded on the shard;
#  - equality: recall on the coordinator returns the same memories, in the
#    same order, with the same scores as the single node, for vector, text
#    and hybrid cues, for every space (three placed, one local);
#  - security: a tenant without a grant on the coordinator is refused
#    (42501) for a placed space although the shard's service role could do
#    it, also when it calls the routing primitive directly; forget by id
#    cannot reach another tenant's memory on the same shard;
#  - associations: within a shard they work, across shards they fail with
#    0A000 naming both nodes;
#  - a stopped shard fails only its own spaces, with 08006 naming it.
# Scores depend on the instant of each write through activation; the two
# clusters cannot write at the same instants, so every node runs with
# engram.decay_function = exponential and engram.decay_rate = 0
# (activation 1 for every memory) and the comparison is exact.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

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
	my $s = EngramTest::new_primary("shard$i", extra_conf => $conf);
	$s->safe_psql('postgres', qq{
		CREATE ROLE engram_svc LOGIN PASSWORD 'svc';
		SELECT engram.shard_init($i, 'engram_svc');
	});
	push @shards, $s;
}
my $coord = EngramTest::new_primary('coord', extra_conf => $conf);
my $single = EngramTest::new_primary('single', extra_conf => $conf);

$coord->safe_psql('postgres', 'CREATE EXTENSION postgres_fdw; CREATE EXTENSION dblink;');
for my $i (1 .. 3)
{
	my ($h, $p) = ($shards[ $i - 1 ]->host, $shards[ $i - 1 ]->port);
	is($coord->safe_psql('postgres',
			"SELECT engram.add_shard('s$i', 'host=$h port=$p dbname=postgres user=engram_svc password=''svc''')"),
		$i, "add_shard s$i returns the shard's node number");
}

# a second shard with a node number already in use is refused
{
	my ($h, $p) = ($shards[0]->host, $shards[0]->port);
	my ($rc, $out, $err) = $coord->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT engram.add_shard('dup', 'host=$h port=$p dbname=postgres user=engram_svc password=svc')");
	like($err, qr/23505: node number 1 of shard "dup" is already used/, 'a duplicate node number is refused');
}

my $spaces_sql = q{
	CREATE ROLE alice; CREATE ROLE bob;
	SELECT engram.create_space(s) FROM unnest(ARRAY['a', 'b', 'c', 'd']) s;
	SELECT engram.grant_space(s, 'alice') FROM unnest(ARRAY['a', 'b', 'c', 'd']) s;
	SELECT engram.grant_space('b', 'bob');
};
$coord->safe_psql('postgres', $spaces_sql);
$single->safe_psql('postgres', $spaces_sql);
$coord->safe_psql('postgres', q{
	SELECT engram.place_space('a', 's1');
	SELECT engram.place_space('b', 's2');
	SELECT engram.place_space('c', 's3');
});
is($coord->safe_psql('postgres',
		q{SELECT string_agg(space || '@' || shard || '#' || node, ' ' ORDER BY space) FROM engram.placements}),
	'a@s1#1 b@s2#2 c@s3#3', 'engram.placements lists the placed spaces; d stays local');

# the same memories, written by alice in the same order on both clusters:
# d first, then a, b, c, so that ids compare alike on both (the local
# space d has node 0's ids on the coordinator, a, b and c those of nodes
# 1, 2, 3) -- score ties are broken by id
my $words = "'apple','river','stone','cloud','market','violin','garden','engine','harbor','winter'";
my $write_sql = qq{
	CREATE TABLE ids (sp text, i int, id bigint);
	GRANT SELECT ON ids TO alice, bob;
	GRANT INSERT ON ids TO alice;
	SET ROLE alice;
	INSERT INTO ids
	SELECT sp, i, engram.remember(c, engram.embed_text(c, 64), (0.5 + (i % 5) / 10.0)::real, sp) AS id
	FROM (SELECT sp, i,
				 format('%s memory %s about %s and %s', sp, i, (ARRAY[$words])[1 + i % 10],
						(ARRAY[$words])[1 + (i * 7) % 10]) AS c
		  FROM unnest(ARRAY['a', 'b', 'c', 'd']) sp, generate_series(1, 40) i
		  ORDER BY sp = 'd' DESC, sp, i) x;
	RESET ROLE;
};
my $ids_check = q{SELECT string_agg(sp || ':' || node || ':' || count, ' ' ORDER BY sp)
	FROM (SELECT sp, id >> 48 AS node, count(*) FROM ids GROUP BY 1, 2) g};
is($coord->safe_psql('postgres', $write_sql . $ids_check),
	'a:1:40 b:2:40 c:3:40 d:0:40', "remember routed: each space's ids carry its node's number");
$single->safe_psql('postgres', $write_sql);

is($coord->safe_psql('postgres', 'SELECT count(*) FROM engram.memory'), '40',
	'the coordinator stores only the local space d (placed spaces hold nothing here)');
is(join(',', map { $_->safe_psql('postgres', 'SELECT count(*) FROM engram.memory') } @shards),
	'40,40,40', 'each shard holds its space');
is(join(',', map { $_->safe_psql('postgres',
				'SELECT count(*) FROM engram.memory WHERE id >> 48 <> engram.shard_node()') } @shards),
	'0,0,0', 'every id on a shard is in its node range');

# recall equality: coordinator vs single node, per space and cue kind
my %cues = (
	vector => q{engram.embed_text('river stone garden', 64), cue_text => NULL},
	text   => q{NULL, cue_text => 'river OR winter'},
	hybrid => q{engram.embed_text('violin market', 64), cue_text => 'violin harbor'});
for my $sp (qw(a b c d))
{
	for my $kind (sort keys %cues)
	{
		my $q = qq{SET ROLE alice;
			SELECT string_agg(content || '=' || score || '/' || similarity || '/' || activation, E'\\n' ORDER BY n)
			FROM engram.recall($cues{$kind}, k => 12, space => '$sp', record_access => false)
			WITH ORDINALITY AS r(id, content, score, similarity, activation, confidence, tier, created_at, metadata, n)};
		my $want = $single->safe_psql('postgres', $q);
		my $got = $coord->safe_psql('postgres', $q);
		isnt($want, '', "single node recall of $sp ($kind) returns rows");
		is($got, $want, "recall of space $sp, $kind cue: coordinator = single node (memories, order, scores)");
	}
}

# recall across spaces: per-node candidate lists merged on the coordinator
# give the ranking of one node holding every space
for my $kind (sort keys %cues)
{
	my $q = qq{SET ROLE alice;
		SELECT string_agg(space || ' ' || content || '=' || score || '/' || similarity, E'\\n' ORDER BY n)
		FROM engram.recall_spaces($cues{$kind}, spaces => ARRAY['a', 'b', 'c', 'd'], k => 15, record_access => false)
		WITH ORDINALITY AS r(id, space, content, score, similarity, activation, confidence, tier, created_at, metadata, n)};
	my $want = $single->safe_psql('postgres', $q);
	my %seen = map { (split / /)[0] => 1 } split /\n/, $want;
	cmp_ok(scalar(keys %seen), '>=', 2, "single node recall_spaces ($kind) mixes several spaces");
	is($coord->safe_psql('postgres', $q), $want,
		"recall_spaces over 3 shards + 1 local space, $kind cue: coordinator = single node (memories, order, scores)");
	# and over one space it is recall
	my $one = qq{SET ROLE alice;
		SELECT string_agg(content || '=' || score, E'\\n' ORDER BY n)
		FROM engram.%s WITH ORDINALITY AS r(%s)};
	is($single->safe_psql('postgres', sprintf($one,
				"recall_spaces($cues{$kind}, spaces => ARRAY['b'], k => 12, record_access => false)",
				'id, space, content, score, similarity, activation, confidence, tier, created_at, metadata, n')),
		$single->safe_psql('postgres', sprintf($one,
				"recall($cues{$kind}, k => 12, space => 'b', record_access => false)",
				'id, content, score, similarity, activation, confidence, tier, created_at, metadata, n')),
		"recall_spaces over one space = recall of it ($kind cue)");
}
like(psql_err($coord, q{SET ROLE bob; SELECT count(*) FROM engram.recall_spaces(NULL, ARRAY['b', 'a'], cue_text => 'apple')}),
	qr/42501: permission denied for memory space "a"/, 'recall_spaces refuses a space not granted on the coordinator');
my $returned = $coord->safe_psql('postgres', q{SET ROLE alice;
	SELECT string_agg(space || ':' || n, ',' ORDER BY space) FROM (SELECT space, count(*) AS n
	FROM engram.recall_spaces(engram.embed_text('cloud engine', 64), ARRAY['b', 'c'], k => 6, cue_text => 'cloud') GROUP BY 1) x});
is($returned, 'b:' . $shards[1]->safe_psql('postgres', q{SELECT count(*) FROM engram.memories WHERE access_count > 0})
	. ',c:' . $shards[2]->safe_psql('postgres', q{SELECT count(*) FROM engram.memories WHERE access_count > 0}),
	"recall_spaces records each returned row's access on the shard holding it ($returned)");

# measured, not asserted: per-call cost of routing (docs/distributed-architecture-rfc.md §7)
{
	my $timing = $coord->safe_psql('postgres', q{
		SET ROLE alice;
		CREATE TEMP TABLE t AS SELECT clock_timestamp() AS t0;
		SELECT count(*) FROM generate_series(1, 50) i, engram.recall(engram.embed_text('river ' || i, 64), k => 10, space => 'd', record_access => false) r;
		INSERT INTO t SELECT clock_timestamp();
		SELECT count(*) FROM generate_series(1, 50) i, engram.recall(engram.embed_text('river ' || i, 64), k => 10, space => 'a', record_access => false) r;
		INSERT INTO t SELECT clock_timestamp();
		SELECT count(*) FROM generate_series(1, 20) i, engram.recall_spaces(engram.embed_text('river ' || i, 64), ARRAY['a', 'b', 'c', 'd'], k => 10, record_access => false) r;
		INSERT INTO t SELECT clock_timestamp();
		RESET ROLE;
		SELECT count(*) FROM generate_series(1, 50) i, dblink('engram_shard_s1', 'SELECT ' || i) AS d(x int);
		INSERT INTO t SELECT clock_timestamp();
		SELECT string_agg(round((extract(epoch FROM t0 - lag) * 1000 / n)::numeric, 2)::text, ' ' ORDER BY t0)
		FROM (SELECT t0, lag(t0) OVER (ORDER BY t0), (ARRAY[50, 50, 20, 50])[row_number() OVER (ORDER BY t0) - 1] AS n FROM t) x
		WHERE lag IS NOT NULL;
	});
	my ($local, $routed, $fan, $conn) = split / /, (split /\n/, $timing)[-1];
	diag("shard_recall_ms: local $local, routed to a shard $routed, recall_spaces over 3 shards + local $fan (k 10, 40 memories per space); a bare dblink call (new connection, SELECT 1) $conn");
}

# access history is recorded on the shard that holds the row
$coord->safe_psql('postgres', q{SET ROLE alice;
	SELECT count(*) FROM engram.recall(engram.embed_text('apple', 64), k => 3, space => 'a')});
is($shards[0]->safe_psql('postgres',
		q{SELECT count(*) FROM engram.memories WHERE space = 'a' AND access_count > 0}),
	'3', 'recall through the coordinator records 3 accesses on shard s1');
is($shards[0]->safe_psql('postgres',
		q{SELECT count(*) FROM engram.recall(engram.embed_text('apple', 64), k => 3, space => 'a')}),
	'3', 'the same API called on the shard itself works locally');

# security: bob holds only b on the coordinator
like(psql_err($coord, q{SET ROLE bob; SELECT engram.remember('intrusion', NULL, 1, 'a')}),
	qr/42501: permission denied for memory space "a"/, 'bob may not remember into placed space a');
like(psql_err($coord, q{SET ROLE bob; SELECT * FROM engram.recall(NULL, cue_text => 'apple', space => 'a')}),
	qr/42501: permission denied for memory space "a"/, 'bob may not recall placed space a');
like(psql_err($coord,
		q{SET ROLE bob; SELECT engram._shard_call('s1', 'remember', '{"space": "a", "content": "intrusion", "confidence": 1, "metadata": {}, "kind": "episodic", "allowed": ["a"]}')}),
	qr/42501: permission denied for memory space "a"/,
	'bob calling the routing primitive directly is refused by the shard (his own "allowed" is overwritten)');
like(psql_err($coord, q{SET ROLE bob; SELECT * FROM dblink('engram_shard_s1', 'SELECT 1') AS t(x int)}),
	qr/42704: user mapping not found for "bob"/, 'bob cannot use the shard server himself (the mapping is the owner\'s only)');
is($shards[0]->safe_psql('postgres',
		q{SELECT engram.remember('the service role may write a', NULL, 1, 'a') > 0},
		extra_params => [ '-U', 'engram_svc' ]),
	't', "the shard's service role itself could write into a");
$shards[0]->safe_psql('postgres', q{SELECT engram.forget(id) FROM engram.memory WHERE content LIKE 'the service role%'});
is($coord->safe_psql('postgres', q{SET ROLE bob; SELECT engram.forget(id) FROM ids WHERE sp = 'a' AND i = 1}),
	'f', "bob's forget(id) of a memory of a does nothing (no shard holding his spaces has it)");
is($coord->safe_psql('postgres', q{SET ROLE bob; SELECT engram.remember('bob was here', NULL, 1, 'b') >> 48}),
	'2', 'bob remembers into b, routed to s2');
is($coord->safe_psql('postgres', q{SET ROLE bob; SELECT count(*) FROM engram.recall(NULL, cue_text => 'bob', space => 'b')}),
	'1', 'bob recalls from b');

# forget routed, by id and by space
is($coord->safe_psql('postgres', q{SET ROLE alice; SELECT engram.forget(id) FROM ids WHERE sp = 'c' AND i = 1}),
	't', 'forget(id) of a memory on s3 through the coordinator');
is($shards[2]->safe_psql('postgres', 'SELECT count(*) FROM engram.memory'), '39', 's3 lost exactly that memory');
is($coord->safe_psql('postgres', q{SET ROLE alice; SELECT engram.forget('c', below_confidence => 0.6)}),
	'8', 'forget(space, below_confidence) routed to s3 (the 8 memories with confidence 0.5)');

# associations: within a shard, not across
is($coord->safe_psql('postgres', q{SET ROLE alice;
	SELECT engram.associate((SELECT id FROM ids WHERE sp = 'a' AND i = 2), (SELECT id FROM ids WHERE sp = 'a' AND i = 3), 0.7)}),
	'', 'associate two memories of a (both on s1)');
is($shards[0]->safe_psql('postgres', 'SELECT count(*), min(weight) FROM engram.association'), '1|0.7',
	'the association is stored on s1');
# spread routed: the walk runs on the shard holding the seeds
{
	my $spread = q{SELECT string_agg((id = %1$s)::int || ':' || activation || ':' || hops, ',' ORDER BY activation DESC, hops, id)
		FROM engram.spread(ARRAY[%1$s]::bigint[], 2, 0.5, 0.01)};
	my $a2 = $coord->safe_psql('postgres', q{SELECT id FROM ids WHERE sp = 'a' AND i = 2});
	my $on_shard = $shards[0]->safe_psql('postgres', sprintf($spread, $a2));
	is($on_shard, '1:1:0,0:0.35:1', 'spread on s1 itself: the seed and its associated memory');
	is($coord->safe_psql('postgres', 'SET ROLE alice; ' . sprintf($spread, $a2)), $on_shard,
		'spread of a seed on s1 through the coordinator = spread on s1');
	is($coord->safe_psql('postgres', q{SET ROLE bob; } . sprintf($spread, $a2)), '1:1:0',
		'bob, without a, gets no walk from a seed of a (nothing on the shards holding his spaces)');
}
like(psql_err($coord, q{SET ROLE alice;
	SELECT engram.associate((SELECT id FROM ids WHERE sp = 'a' AND i = 2), (SELECT id FROM ids WHERE sp = 'b' AND i = 3))}),
	qr/0A000: cannot associate memories on different nodes.*on shard "s1", memory \d+ on shard "s2"/s,
	'associating memories of two shards fails, naming both');
like(psql_err($coord, q{SET ROLE alice;
	SELECT engram.associate((SELECT id FROM ids WHERE sp = 'a' AND i = 2), (SELECT id FROM ids WHERE sp = 'd' AND i = 3))}),
	qr/0A000: cannot associate memories on different nodes.*on shard "s1", memory \d+ on this coordinator/s,
	'associating a shard memory with a local one fails too');

# consolidate routed
is($coord->safe_psql('postgres', q{SET ROLE alice; SELECT string_agg(action, ',' ORDER BY action) FROM engram.consolidate('a')}),
	'decayed,forgotten,grouped,semantic_created', 'consolidate(a) runs on s1');

# administration
like(psql_err($coord, q{SELECT engram.remove_shard('s1')}),
	qr/2BP01: shard "s1" holds 1 placed memory spaces/, 'remove_shard refuses a shard with placed spaces');
like(psql_err($coord, q{SET ROLE alice; SELECT engram.place_space('d', 's1')}),
	qr/42501: permission denied to administer shards/, 'tenants cannot place spaces');
like(psql_err($coord, q{SELECT engram.place_space('d', 's1')}),
	qr/55006: memory space "d" holds memories on this node/, 'a space with local memories is not placed');

# a lost shard fails only its spaces
$shards[2]->stop('immediate');
like(psql_err($coord, q{SET ROLE alice; SELECT count(*) FROM engram.recall(NULL, cue_text => 'river', space => 'c')}),
	qr/08006: shard "s3" is unavailable/, 'recall of c with s3 down: an error naming s3');
is($coord->safe_psql('postgres', q{SET ROLE alice;
	SELECT (SELECT count(*) FROM engram.recall(NULL, cue_text => 'river', space => 'a'))
		|| ',' || (SELECT count(*) FROM engram.recall(NULL, cue_text => 'river', space => 'b'))
		|| ',' || (SELECT count(*) FROM engram.recall(NULL, cue_text => 'river', space => 'd'))}),
	'8,8,8', 'spaces on s1, s2 and the local one are unaffected');
$shards[2]->start;
is($coord->safe_psql('postgres', q{SET ROLE alice; SELECT count(*) FROM engram.recall(NULL, cue_text => 'river', space => 'c')}),
	'7', 'c is back with s3 (7 of its 8 river memories left)');

$_->stop for (@shards, $coord, $single);
done_testing();
