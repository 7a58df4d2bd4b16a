# Copyright (c) engram authors
#
# Tier migrations replicate: a streaming standby with the library checks
# every generic WAL record against full-page images
# (wal_consistency_checking = 'generic') while the primary moves rows
# HOT -> WARM -> COLD -> HOT, records access history and sweeps chunks; the
# standby reads the same rows (seq and index scans, every tier) as the
# primary.  A standby without the library replays the same WAL.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test/perl';
use EngramTest;

my $primary = EngramTest::new_primary('tprimary', wcc => 1);
$primary->safe_psql('postgres', q{
CREATE TABLE tm (id int PRIMARY KEY, body text, emb engram.vector(8)) USING engram;
INSERT INTO tm
  SELECT g, repeat('standby memory ' || g || ' of rivers; ', 1 + g % 7),
         engram.array_to_vector(ARRAY(SELECT cos(g * i)::float4 FROM generate_series(1, 8) i), 8, true)
  FROM generate_series(1, 1500) g;
});
my $standby = EngramTest::new_standby($primary, 'tstandby', extra_conf => "wal_consistency_checking = 'generic'");
my $nolib = EngramTest::new_standby($primary, 'tnolib', nolib => 1);

sub digest
{
	my ($node, $where) = @_;
	$where //= 'true';
	return $node->safe_psql('postgres',
		"SELECT count(*) || ':' || md5(string_agg(tm::text, '|' ORDER BY id)) FROM tm WHERE $where");
}

sub idx_digest
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{
SET enable_seqscan = off; SET enable_bitmapscan = off;
SELECT count(*) || ':' || md5(string_agg(tm::text, '|' ORDER BY id)) FROM tm WHERE id > 0});
}

sub tiers
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		q{SELECT string_agg(tier || '=' || rows, ' ' ORDER BY tier) FROM engram.tier_stats('tm')});
}

my @steps = (
	[ 'warm', q{SELECT * FROM engram.migrate('tm', target => 'warm')} ],
	[ 'dml on warm', q{UPDATE tm SET body = body || '!' WHERE id % 9 = 0; DELETE FROM tm WHERE id % 13 = 0} ],
	[ 'cold', q{SELECT * FROM engram.migrate('tm', target => 'cold')} ],
	[ 'dml on cold', q{UPDATE tm SET emb = NULL WHERE id % 11 = 0; DELETE FROM tm WHERE id % 17 = 0} ],
	[ 'vacuum', q{VACUUM tm} ],
	[ 'access', q{SELECT engram.record_access('tm', ctid) FROM tm WHERE id < 50} ],
	[ 'policy', q{SET engram.warm_after = '1h'; SELECT * FROM engram.migrate('tm')} ],
	[ 'hot', q{SELECT * FROM engram.migrate('tm', target => 'hot')} ],
	[ 'cold again', q{SELECT * FROM engram.migrate('tm', target => 'cold')} ],
	[ 'partial warm', q{SELECT * FROM engram.migrate('tm', max_bytes => 20000, target => 'warm')} ],
	[ 'budget', q{SET engram.hot_budget = '8kB'; SELECT * FROM engram.migrate('tm', target => 'hot'); SELECT * FROM engram.migrate('tm')} ],
	[ 'vacuum again', q{DELETE FROM tm WHERE id % 5 = 0; VACUUM tm} ],
);

for my $s (@steps)
{
	my ($name, $sql) = @$s;
	$primary->safe_psql('postgres', $sql);
	EngramTest::wait_catchup($primary, $standby);
	is(digest($standby), digest($primary), "standby reads the rows of the primary after '$name'");
	is(tiers($standby), tiers($primary), "same tiers on the standby after '$name' (" . tiers($primary) . ")");
}
is(idx_digest($standby), digest($primary), 'standby index scan over mixed tiers');

# cold_vectors = float16 (lossy, ADR 0013): the rounded COLD rows replicate
# as the primary has them, through a migration pass and VACUUM FULL
$primary->safe_psql('postgres', q{
CREATE TABLE tl (id int PRIMARY KEY, emb engram.vector(16)) USING engram;
INSERT INTO tl SELECT g, ARRAY(SELECT sin(g * i + 0.1)::float4 FROM generate_series(1, 16) i)::engram.vector
  FROM generate_series(1, 600) g;
CREATE TABLE tl_orig AS SELECT * FROM tl;
SELECT engram.set_table_option('tl', 'cold_vectors', 'float16');
SELECT * FROM engram.migrate('tl', target => 'cold');
});
my $tl_digest = q{SELECT count(*) || ':' || md5(string_agg(tl::text, '|' ORDER BY id)) FROM tl};
my $tl_rounded = q{SELECT count(*) FROM tl JOIN tl_orig o USING (id)
  WHERE tl.emb::float4[]::text <> o.emb::float4[]::text
    AND NOT EXISTS (SELECT 1 FROM unnest(tl.emb::float4[]) b
                    WHERE get_byte(float4send(b), 3) <> 0 OR get_byte(float4send(b), 2) & 31 <> 0)};
EngramTest::wait_catchup($primary, $standby);
is($primary->safe_psql('postgres', $tl_rounded), '600', 'float16 table: every COLD vector rounded to 11 significant bits');
is($standby->safe_psql('postgres', $tl_digest), $primary->safe_psql('postgres', $tl_digest),
	'standby reads the rounded COLD rows of the primary');
$primary->safe_psql('postgres', 'VACUUM FULL tl');
EngramTest::wait_catchup($primary, $standby);
is($standby->safe_psql('postgres', $tl_digest), $primary->safe_psql('postgres', $tl_digest),
	'standby reads the same rows after VACUUM FULL of the float16 table');
is($standby->safe_psql('postgres', $tl_rounded), '600', 'rounded values kept through VACUUM FULL');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM engram.verify('tl')}), '0',
	'verify is clean on the standby (float16 table)');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM engram.verify('tm')}), '0',
	'verify is clean on the standby');
is($standby->safe_psql('postgres',
		q{SELECT access_count FROM engram.access_history('tm', (SELECT ctid FROM tm WHERE id = 1))}),
	'1', 'access history replicated');

# recording accesses on the standby is a no-op, never an error
$standby->safe_psql('postgres', q{SELECT engram.record_access('tm', ctid) FROM tm WHERE id < 50});
is($standby->safe_psql('postgres',
		q{SELECT access_count FROM engram.access_history('tm', (SELECT ctid FROM tm WHERE id = 1))}),
	'1', 'standby reads record nothing');
my ($ret, $out, $err) = $standby->psql('postgres', q{SELECT * FROM engram.migrate('tm')});
like($err, qr/cannot migrate tiers during recovery|read-only/, 'migrate refuses to run on a standby');

$primary->safe_psql('postgres', 'CHECKPOINT');
EngramTest::wait_catchup($primary, $standby);
my $log = slurp_file($standby->logfile);
unlike($log, qr/inconsistent page found|PANIC|FATAL:.*redo/, 'no inconsistent page in the standby log');

# the standby without the library
$primary->wait_for_catchup($nolib, 'replay', $primary->lsn('insert'));
my $lag = $nolib->safe_psql('postgres',
	"SELECT pg_wal_lsn_diff('" . $primary->lsn('insert') . "', pg_last_wal_replay_lsn())");
cmp_ok($lag, '<=', 0, 'standby without library replayed every migration');
my $nlog = slurp_file($nolib->logfile);
unlike($nlog, qr/inconsistent page found|PANIC|FATAL:.*redo/, 'no redo failure without the library');
# it cannot open the table (no access method), so compare the file itself
my $path = $primary->safe_psql('postgres', q{SELECT pg_relation_filepath('tm')});
is(-s $nolib->data_dir . "/$path",
	$primary->safe_psql('postgres', q{SELECT pg_relation_size('tm')}),
	'same relation size on the no-library standby');

$standby->stop;
$nolib->stop;
$primary->stop;
done_testing();
