
# Copyright (c) engram authors
#
# Failover under load (issue 9): a primary with a synchronous streaming
# standby; two clients write engram rows (and memories, if the memory API
# exists) through a multi-host connection string that follows the writable
# node.  The primary is stopped with -m immediate, the standby promoted, the
# clients keep writing to it.  The old primary is then rewound with
# pg_rewind (wal_log_hints = on) and attached as a standby of the new one.
# Asserted: no acknowledged write lost (synchronous commit), rows identical
# to what the clients sent, both nodes agree (pg_dumpall identical, table
# checksums), engram.verify clean and amcheck passes on both.
use strict;
use warnings;
use File::Copy;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $old = EngramTest::new_primary('old_primary');
my $f = EngramTest::features($old);
if (!$f->{test_am})
{
	plan skip_all => EngramTest::missing_msg('table AM engram (pg_am)');
}
my $am = $f->{test_am};
$old->safe_psql('postgres', qq{
	CREATE EXTENSION amcheck;
	CREATE TABLE t (id int8 PRIMARY KEY, client int NOT NULL, content text NOT NULL) USING $am;
	INSERT INTO t SELECT i, 0, md5(i::text) FROM generate_series(1, 2000) i;
});
my $new = EngramTest::new_standby($old, 'new_primary');
$old->append_conf('postgresql.conf', "synchronous_standby_names = 'new_primary'");
$old->reload;
$old->poll_query_until('postgres',
	"SELECT sync_state = 'sync' FROM pg_stat_replication WHERE application_name = 'new_primary'")
  or die 'standby never became synchronous';

my $connstr = EngramTest::multihost_connstr($old, $new);
my @w = map { EngramTest::start_writer($old, table => 't', client => $_, connstr => $connstr, sleep_ms => 3) } (1, 2);
my @wm;
my $mem = $f->{remember} && $f->{forget};
if ($mem)
{
	@wm = (EngramTest::start_writer($old, client => 11, connstr => $connstr, sleep_ms => 5,
		sql => "SELECT engram.remember(%CONTENT%, engram.embed_text(%CONTENT%, 64), metadata => jsonb_build_object('wid', %ID%))",
		forget_every => 7,
		forget_sql => "SELECT engram.forget(m.id) FROM engram.memory m WHERE m.metadata->>'wid' = '%FID%'"));
}
$_->wait_acked(100) for @w;
$old->safe_psql('postgres', 'UPDATE t SET content = content || \'x\' WHERE client = 0 AND id % 3 = 0; DELETE FROM t WHERE client = 0 AND id % 5 = 0; VACUUM t');

# ---- failover ------------------------------------------------------------------
my $acked_before = scalar($w[0]->acked) + scalar($w[1]->acked);
my $t_fail = time;
$old->stop('immediate');
$new->promote;
$new->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'promotion did not finish';
# writers find the new primary on their own
ok($w[0]->wait_acked(scalar($w[0]->acked) + 50, 120), 'writes continue on the promoted standby');
my $rto = time - $t_fail;
diag(sprintf("failover (immediate stop -> promote -> writes acknowledged again): %.1f s", $rto));
$new->safe_psql('postgres', 'UPDATE t SET content = content || \'y\' WHERE client = 0 AND id % 7 = 0; VACUUM t; CHECKPOINT');

# ---- pg_rewind the old primary and attach it as a standby ----------------------
my $tmp = PostgreSQL::Test::Utils::tempdir();
# pg_rewind copies the source's configuration files; keep the old node's own
copy($old->data_dir . '/postgresql.conf', "$tmp/postgresql.conf") or die;
command_ok(
	[ 'pg_rewind', '--target-pgdata', $old->data_dir,
	  '--source-server', $new->connstr('postgres'), '--progress' ],
	'pg_rewind of the old primary from the promoted standby');
copy("$tmp/postgresql.conf", $old->data_dir . '/postgresql.conf') or die;
$old->append_conf('postgresql.conf', "synchronous_standby_names = ''");
$old->enable_streaming($new);
$old->start;
$new->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_replication WHERE application_name = 'old_primary' AND state = 'streaming'")
  or die 'old primary does not stream from the new one';
ok($old->safe_psql('postgres', 'SELECT pg_is_in_recovery()') eq 't', 'old primary runs as a standby of the new primary');

# more writes through the new topology, then stop the clients
$w[1]->wait_acked(scalar($w[1]->acked) + 50, 120);
$_->stop for (@w, @wm);
EngramTest::wait_catchup($new, $old);

my $r = EngramTest::check_acked($new, 't', \@w, where => 'client > 0');
EngramTest::ack_ok($r, 'new primary');
diag("acknowledged before failover: $acked_before, total: $r->{acked}, in doubt: " . scalar @{ $r->{in_doubt} });
if ($mem)
{
	my $rm = EngramTest::check_acked($new, 'engram.memory', \@wm,
		id_col => "(metadata->>'wid')::int8", where => "metadata ? 'wid'");
	EngramTest::ack_ok($rm, 'new primary, memories');
}
is(EngramTest::table_checksum($old, 't', 'id'), EngramTest::table_checksum($new, 't', 'id'),
	'rewound old primary reads the same engram rows as the new primary');
EngramTest::dumps_identical($new, $old, 'pg_dumpall of new primary and rewound old primary are identical');
my ($seq, $idx) = EngramTest::index_vs_seqscan($old, 't', 'id');
is($idx, $seq, 'rewound node: index scan agrees with seq scan');
my ($n, @bad) = EngramTest::amcheck_btrees($new, 't');
is(scalar @bad, 0, 'amcheck passes on the new primary') or diag(join("\n", @bad));
SKIP:
{
	skip EngramTest::missing_msg('engram.verify'), 2 unless $f->{verify} && $am eq 'engram';
	my @p = EngramTest::verify_problems($new, 't');
	is(scalar @p, 0, 'engram.verify clean on the new primary') or diag(join("\n", @p));
	@p = EngramTest::verify_problems($old, 't');
	is(scalar @p, 0, 'engram.verify clean on the rewound node') or diag(join("\n", @p));
}

$old->stop;
$new->stop;
done_testing();
