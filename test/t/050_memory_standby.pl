# Copyright (c) engram authors
#
# The memory API on a hot standby: recall (vector, text, hybrid, spread)
# works read-only and records no access there; writes are refused with a
# clear error.  Checks that what the primary remembered is what the standby
# recalls.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('mem_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', 'fsync = on');
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION engram');

my @sentences = (
	'Ocean tides are caused mainly by the gravity of the Moon.',
	'Bread dough must rest so the yeast can make it rise.',
	'Postgres writes every change to the write-ahead log.',
	'Replication sends the write-ahead log to a standby server.',
	'Bob ordered a large coffee and a croissant.',
	'Alice met Bob at the coffee shop on Friday.');
for my $s (@sentences)
{
	$primary->safe_psql('postgres',
		"SELECT engram.remember('$s', engram.embed_text('$s'))");
}
$primary->safe_psql('postgres',
	q{SELECT engram.associate(a.id, b.id, 0.9)
	  FROM engram.memory a, engram.memory b
	  WHERE a.content LIKE 'Bob ordered%' AND b.content LIKE 'Alice met%'});

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('mem_standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'standby is in recovery');
is($standby->safe_psql('postgres', 'SELECT engram.writes_allowed()'),
	'f', 'writes_allowed() is false on the standby');

my $q_vec = q{SELECT content FROM engram.recall(engram.embed_text('the moon and the tides'), 1)};
my $q_txt = q{SELECT string_agg(content, '|' ORDER BY content)
			  FROM engram.recall(NULL, 5, cue_text => 'write-ahead log')};
my $q_hyb = q{SELECT content FROM engram.recall(engram.embed_text('standby replication'), 1,
			  cue_text => 'standby')};
my $q_spr = q{SELECT string_agg(content, '|' ORDER BY content)
			  FROM engram.recall(NULL, 5, cue_text => 'croissant', spread => true)};
# one word: read from the text index's buckets (src/memory_text.c)
my $q_one = q{SELECT string_agg(content, '|' ORDER BY content)
			  FROM engram.recall(NULL, 5, cue_text => 'coffee')};

# the primary's answers first (recall records access there), then the
# standby, whose recalls must record nothing: its access counts, and the
# primary's, stay exactly what replay brought
my %on_primary = map { $_ => $primary->safe_psql('postgres', $_) } ($q_vec, $q_txt, $q_hyb, $q_spr, $q_one);
$primary->safe_psql('postgres', 'CHECKPOINT');    # flushes the access records
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('flush'));
my $counts = q{SELECT string_agg(id || ':' || access_count, ',' ORDER BY id) FROM engram.memories};
my $standby_before = $standby->safe_psql('postgres', $counts);
is($standby_before, $primary->safe_psql('postgres', $counts), 'standby has the primary\'s access counts');
like($standby_before, qr/:[1-9]/, 'the primary\'s recalls were recorded (some access count > 0)');
for my $q ($q_vec, $q_txt, $q_hyb, $q_spr, $q_one)
{
	my ($rc, $out, $err) = $standby->psql('postgres', $q);
	is($rc, 0, 'recall runs on the standby') or diag($err);
	is($out, $on_primary{$q}, 'standby recalls what the primary recalls');
}
is($standby->safe_psql('postgres', $q_vec),
	'Ocean tides are caused mainly by the gravity of the Moon.',
	'vector recall finds the tides');
like($standby->safe_psql('postgres', $q_spr),
	qr/Alice met Bob/, 'spread brings in the associated memory on the standby');
is($standby->safe_psql('postgres', $q_one),
	'Alice met Bob at the coffee shop on Friday.|Bob ordered a large coffee and a croissant.',
	'one-word text cue finds both coffee memories on the standby');
my $one_scans = q{BEGIN;
	SELECT count(*) FROM engram.recall(NULL, 5, cue_text => 'coffee');
	SELECT pg_stat_get_xact_numscans('engram.memory_text_keys_idx'::regclass) > 0;
	COMMIT;};
is($standby->safe_psql('postgres', $one_scans), "2\nt",
	'the standby read the replayed text index for it');
is($standby->safe_psql('postgres', $counts), $standby_before,
	'the recalls on the standby recorded nothing: access counts unchanged');
is($primary->safe_psql('postgres', $counts), $standby_before,
	'and nothing reached the primary either');

# writes are refused
my ($rc, $out, $err) = $standby->psql('postgres',
	q{SELECT engram.remember('nope', engram.embed_text('nope'))});
isnt($rc, 0, 'remember fails on the standby');
like($err, qr/read-only transaction/, 'remember: read-only error');
($rc, $out, $err) = $standby->psql('postgres', 'SELECT * FROM engram.consolidate()');
isnt($rc, 0, 'consolidate fails on the standby');
like($err, qr/cannot consolidate memories in a read-only transaction/,
	'consolidate: clear error');
($rc, $out, $err) = $standby->psql('postgres', 'SELECT engram.forget(1)');
isnt($rc, 0, 'forget fails on the standby');

# the primary keeps working and the standby follows
$primary->safe_psql('postgres',
	q{SELECT engram.remember('A new memory after the backup', engram.embed_text('A new memory after the backup'))});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres',
		q{SELECT content FROM engram.recall(NULL, 1, cue_text => 'backup')}),
	'A new memory after the backup', 'standby recalls a memory made later');
is($standby->safe_psql('postgres', q{BEGIN;
		SELECT count(*) FROM engram.recall(NULL, 1, cue_text => 'backup');
		SELECT pg_stat_get_xact_numscans('engram.memory_text_keys_idx'::regclass) > 0;
		COMMIT;}), "1\nt",
	'through the text index entries replay brought');

$standby->stop;
$primary->stop;
done_testing();
