
# Copyright (c) engram authors
#
# Failover under load (issue 9): a primary with a synchronous streaming
# standby; two clients write engram rows (and memories, if the memory API
# exists) through a multi-host connection string that follows the writable
# node; every client row goes to the engram table t and its heap shadow
# t_ref in one statement (one transaction).  The primary is stopped with
# -m immediate, the standby promoted, the clients keep writing to it.  The
# old primary is then started alone (read-only by default, so the clients
# do not pick it) and DIVERGES: it inserts, updates and deletes engram rows,
# creates a table, migrates and checkpoints on its own timeline.  Then it is
# rewound with pg_rewind (wal_log_hints = on) and attached as a standby of
# the new one.  Asserted: the divergent writes existed before the rewind and
# are gone after it, the rewound node follows the new primary (a later row
# reaches it), no acknowledged write lost (synchronous commit), rows
# identical to what the clients sent, t = t_ref on both nodes, both nodes
# agree (pg_dumpall identical, table checksums), engram.verify clean and
# amcheck passes on both.
use strict;
use warnings;
use File::Copy;
use IPC::Run;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $old = EngramTest::new_primary('old_primary');
my $f = EngramTest::features($old);
my $am = $f->{test_am};
$old->safe_psql('postgres', qq{
	CREATE EXTENSION amcheck;
	CREATE TABLE t (id int8 PRIMARY KEY, client int NOT NULL, content text NOT NULL) USING $am;
	CREATE TABLE t_ref (id int8 PRIMARY KEY, client int NOT NULL, content text NOT NULL) USING heap;
	INSERT INTO t SELECT i, 0, md5(i::text) FROM generate_series(1, 2000) i;
	INSERT INTO t_ref SELECT i, 0, md5(i::text) FROM generate_series(1, 2000) i;
});
my $new = EngramTest::new_standby($old, 'new_primary');
$old->append_conf('postgresql.conf', "synchronous_standby_names = 'new_primary'");
$old->reload;
$old->poll_query_until('postgres',
	"SELECT sync_state = 'sync' FROM pg_stat_replication WHERE application_name = 'new_primary'")
  or die 'standby never became synchronous';

my $connstr = EngramTest::multihost_connstr($old, $new);
# one statement, one transaction: the engram row and its heap shadow
my $both = "WITH r AS (INSERT INTO t_ref(id, client, content) VALUES (%ID%, %CLIENT%, %CONTENT%)) "
  . "INSERT INTO t(id, client, content) VALUES (%ID%, %CLIENT%, %CONTENT%)";
my @w = map { EngramTest::start_writer($old, table => 't', client => $_, connstr => $connstr, sleep_ms => 3, sql => $both) } (1, 2);
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
$old->safe_psql('postgres', q{
	BEGIN;
	UPDATE t SET content = content || 'x' WHERE client = 0 AND id % 3 = 0;
	UPDATE t_ref SET content = content || 'x' WHERE client = 0 AND id % 3 = 0;
	COMMIT;
	BEGIN;
	DELETE FROM t WHERE client = 0 AND id % 5 = 0;
	DELETE FROM t_ref WHERE client = 0 AND id % 5 = 0;
	COMMIT;
	VACUUM t});

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
$new->safe_psql('postgres', q{
	BEGIN;
	UPDATE t SET content = content || 'y' WHERE client = 0 AND id % 7 = 0;
	UPDATE t_ref SET content = content || 'y' WHERE client = 0 AND id % 7 = 0;
	COMMIT;
	VACUUM t; CHECKPOINT});
my $new_t_before_div = EngramTest::table_checksum($new, 't', 'id', undef, 'client = 0');

# ---- the old primary diverges --------------------------------------------------
# Started alone on its old timeline.  default_transaction_read_only keeps the
# clients (target_session_attrs=read-write) away; the test's own session
# turns it off.  Synchronous replication off: its standby is gone.
$old->append_conf('postgresql.conf',
	"synchronous_standby_names = ''\ndefault_transaction_read_only = on");
$old->start;
my $div = q{SET default_transaction_read_only = off;
	INSERT INTO t SELECT i, 0, 'diverged ' || i FROM generate_series(900000001, 900003000) i;
	UPDATE t SET content = 'diverged update' WHERE client = 0 AND id <= 2000 AND id % 11 = 0;
	DELETE FROM t WHERE client = 0 AND id <= 2000 AND id % 13 = 0;
	CREATE TABLE only_on_old (id int) USING engram;
	INSERT INTO only_on_old SELECT generate_series(1, 1000);
	SELECT count(*) FROM (SELECT engram.migrate('t'::regclass, 1000000000, 'warm')) s;
	VACUUM t;
	CHECKPOINT;};
$old->safe_psql('postgres', $div);
is($old->safe_psql('postgres', "SELECT count(*) FROM t WHERE id > 900000000"), '3000',
	'old primary: 3000 divergent rows written after the promotion');
isnt(EngramTest::table_checksum($old, 't', 'id', undef, 'client = 0'), $new_t_before_div,
	'old primary: its client-0 rows differ from the new primary\'s (real divergence)');
is($old->safe_psql('postgres', 'SELECT count(*) FROM only_on_old'), '1000',
	'old primary: a table that exists only there');
$old->stop('immediate');

# ---- pg_rewind the old primary and attach it as a standby ----------------------
my $tmp = PostgreSQL::Test::Utils::tempdir();
# pg_rewind copies the source's configuration files; keep the old node's own
copy($old->data_dir . '/postgresql.conf', "$tmp/postgresql.conf") or die;
my ($rw_out, $rw_err) = ('', '');
my $rw_ok = IPC::Run::run(
	[ 'pg_rewind', '--target-pgdata', $old->data_dir,
	  '--source-server', $new->connstr('postgres'), '--progress' ],
	'>', \$rw_out, '2>', \$rw_err);
ok($rw_ok, 'pg_rewind of the old primary from the promoted standby') or diag($rw_err);
note("pg_rewind: $rw_out$rw_err");
like($rw_out . $rw_err, qr/servers diverged at WAL location/,
	'pg_rewind found the point where the timelines diverged');
unlike($rw_out . $rw_err, qr/no rewind required/, 'and had something to rewind');
copy("$tmp/postgresql.conf", $old->data_dir . '/postgresql.conf') or die;
$old->append_conf('postgresql.conf', "synchronous_standby_names = ''\ndefault_transaction_read_only = off");
$old->enable_streaming($new);
$old->start;
$new->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_replication WHERE application_name = 'old_primary' AND state = 'streaming'")
  or die 'old primary does not stream from the new one';
ok($old->safe_psql('postgres', 'SELECT pg_is_in_recovery()') eq 't', 'old primary runs as a standby of the new primary');
is($old->safe_psql('postgres', "SELECT count(*) FROM t WHERE id > 900000000 OR content LIKE 'diverged%'"), '0',
	'rewound node: none of the divergent rows or updates is left');
is($old->safe_psql('postgres', "SELECT to_regclass('only_on_old') IS NULL"), 't',
	'rewound node: the table created only on the old timeline is gone');
$new->safe_psql('postgres', "INSERT INTO t VALUES (800000001, 0, 'after rewind'); INSERT INTO t_ref VALUES (800000001, 0, 'after rewind')");
EngramTest::wait_catchup($new, $old);
is($old->safe_psql('postgres', 'SELECT content FROM t WHERE id = 800000001'), 'after rewind',
	'rewound node follows the new primary: a row written after the rewind reaches it');

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
is(EngramTest::table_checksum($new, 't', 'id'), EngramTest::table_checksum($new, 't_ref', 'id'),
	'new primary: t equals its heap shadow t_ref');
is(EngramTest::table_checksum($old, 't', 'id'), EngramTest::table_checksum($old, 't_ref', 'id'),
	'rewound node: t equals its heap shadow t_ref');
EngramTest::dumps_identical($new, $old, 'pg_dumpall of new primary and rewound old primary are identical');
my ($seq, $idx) = EngramTest::index_vs_seqscan($old, 't', 'id');
is($idx, $seq, 'rewound node: index scan agrees with seq scan');
my ($n, @bad) = EngramTest::amcheck_btrees($new, 't');
is(scalar @bad, 0, 'amcheck passes on the new primary') or diag(join("\n", @bad));
($n, @bad) = EngramTest::amcheck_btrees($old, 't');
is(scalar @bad, 0, 'amcheck passes on the rewound node') or diag(join("\n", @bad));
{
	my @p = EngramTest::verify_problems($new, 't');
	is(scalar @p, 0, 'engram.verify clean on the new primary') or diag(join("\n", @p));
	@p = EngramTest::verify_problems($old, 't');
	is(scalar @p, 0, 'engram.verify clean on the rewound node') or diag(join("\n", @p));
}

$old->stop;
$new->stop;
done_testing();
