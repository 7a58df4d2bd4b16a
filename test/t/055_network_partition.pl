
# Copyright (c) engram authors
#
# A standby cut off from the network, then rejoining (issue 17).
# The standby streams from the primary through a TCP relay that this test
# runs (a forked Perl process on 127.0.0.1): cutting the "network" makes the
# relay silently drop every byte in both directions and accept nothing new
# (no FIN, no RST: a partition, not a closed connection); healing it closes
# the dead connections and relays again.  No root, no iptables needed.
# Asserted: during the partition the primary keeps committing engram rows
# (asynchronous replication) and the standby keeps answering read queries
# with the rows it had; both sides notice (wal_sender_timeout /
# wal_receiver_timeout) -- the primary drops the walsender, the standby's
# receiver is no longer streaming; after healing the standby reconnects by
# itself, catches up, and then has exactly the primary's rows, its engram
# table equals the heap shadow changed in the same transactions, amcheck
# and engram.verify are clean there, no redo failure.
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $primary = EngramTest::new_primary('part_primary', wcc => 1,
	extra_conf => "listen_addresses = '127.0.0.1'\nwal_sender_timeout = 3s");
EngramTest::features($primary);
$primary->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust");
$primary->reload;

# ---- the relay -----------------------------------------------------------------
my $relay_port = PostgreSQL::Test::Cluster::get_free_port();
my $ctl = PostgreSQL::Test::Utils::tempdir();
my $cutfile = "$ctl/cut";
my $relay_pid = fork();
die "fork: $!" unless defined $relay_pid;
if ($relay_pid == 0)
{
	my $parent = getppid();
	my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $relay_port,
		Listen => 16, ReuseAddr => 1) or POSIX::_exit(1);
	my $sel = IO::Select->new($l);
	my %peer;    # socket -> its other end
	my $was_cut = 0;
	while (getppid() == $parent)
	{
		my $cut = -e $cutfile ? 1 : 0;
		if ($was_cut && !$cut)
		{
			# healed: the connections that lived through the partition die
			for my $s ($sel->handles)
			{
				next if $s == $l;
				$sel->remove($s);
				close $s;
			}
			%peer = ();
		}
		$was_cut = $cut;
		for my $s ($sel->can_read(0.1))
		{
			if ($s == $l)
			{
				my $c = $l->accept or next;
				if ($cut)
				{
					# the SYN got through to nobody: hold it, never answer
					$sel->add($c);
					next;
				}
				my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $primary->port);
				if (!$u)
				{
					close $c;
					next;
				}
				$peer{$c} = $u;
				$peer{$u} = $c;
				$sel->add($c, $u);
				next;
			}
			my $buf;
			my $n = sysread($s, $buf, 65536);
			my $o = $peer{$s};
			if (!$n)
			{
				$sel->remove($s);
				close $s;
				if ($o)
				{
					$sel->remove($o);
					close $o;
					delete $peer{$o};
				}
				delete $peer{$s};
				next;
			}
			next if $cut || !$o;    # partitioned: the bytes are lost
			my $off = 0;
			while ($off < $n)
			{
				my $w = syswrite($o, $buf, $n - $off, $off);
				last unless defined $w;
				$off += $w;
			}
		}
	}
	POSIX::_exit(0);
}
END { kill 'KILL', $relay_pid if $relay_pid; }

my $standby = EngramTest::new_standby($primary, 'part_standby', no_start => 1,
	extra_conf => "wal_receiver_timeout = 3s\nwal_retrieve_retry_interval = 1s");
$standby->append_conf('postgresql.conf',
	"primary_conninfo = 'host=127.0.0.1 port=$relay_port application_name=part_standby connect_timeout=2'");
$standby->start;

$primary->safe_psql('postgres', q{
	CREATE EXTENSION amcheck;
	CREATE TABLE p (id int8 PRIMARY KEY, body text NOT NULL) USING engram;
	CREATE TABLE p_ref (id int8 PRIMARY KEY, body text NOT NULL) USING heap;
	BEGIN;
	INSERT INTO p SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
	INSERT INTO p_ref SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
	COMMIT;
});
EngramTest::wait_catchup($primary, $standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM p'), '2000', 'standby streams through the relay');
is($primary->safe_psql('postgres', "SELECT client_addr FROM pg_stat_replication WHERE application_name = 'part_standby'"),
	'127.0.0.1', 'over TCP, from the relay');

# ---- cut the network -----------------------------------------------------------------
{ open my $fh, '>', $cutfile or die; close $fh; }
for my $k (1 .. 10)
{
	$primary->safe_psql('postgres', "BEGIN; "
		  . "INSERT INTO p SELECT g, md5(g::text) || ' part' FROM generate_series(2001 + ($k - 1) * 300, 2000 + $k * 300) g; "
		  . "INSERT INTO p_ref SELECT g, md5(g::text) || ' part' FROM generate_series(2001 + ($k - 1) * 300, 2000 + $k * 300) g; "
		  . "UPDATE p SET body = body || ' u$k' WHERE id % 50 = $k; UPDATE p_ref SET body = body || ' u$k' WHERE id % 50 = $k; "
		  . "DELETE FROM p WHERE id % 97 = $k; DELETE FROM p_ref WHERE id % 97 = $k; COMMIT");
}
$primary->safe_psql('postgres', 'VACUUM p; CHECKPOINT');
cmp_ok($primary->safe_psql('postgres', 'SELECT count(*) FROM p WHERE id > 2000'), '>', 2500,
	'the primary commits while the standby is cut off');
ok($primary->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_replication WHERE application_name = 'part_standby'"),
	'the primary notices (wal_sender_timeout) and drops the walsender');
ok($standby->poll_query_until('postgres',
		"SELECT coalesce((SELECT status <> 'streaming' FROM pg_stat_wal_receiver), true)"),
	'the standby notices (wal_receiver_timeout): its receiver is not streaming');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM p WHERE id > 2000'), '0',
	'the cut-off standby has none of the new rows');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM p'), '2000',
	'and still answers read queries with the rows it had');

# ---- heal -------------------------------------------------------------------------------
unlink $cutfile or die;
EngramTest::wait_catchup($primary, $standby);
is($primary->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_replication WHERE application_name = 'part_standby' AND state = 'streaming'"),
	'1', 'after healing the standby reconnected by itself and streams');
is(EngramTest::table_checksum($standby, 'p', 'id'), EngramTest::table_checksum($primary, 'p', 'id'),
	'the standby has exactly the primary\'s rows');
is(EngramTest::table_checksum($standby, 'p', 'id'), EngramTest::table_checksum($standby, 'p_ref', 'id'),
	'standby: p equals its heap shadow');
my ($n, @bad) = EngramTest::amcheck_btrees($standby, 'p');
is(scalar @bad, 0, 'standby: amcheck passes') or diag(join("\n", @bad));
my @p = EngramTest::verify_problems($standby, 'p');
is(scalar @p, 0, 'standby: engram.verify is clean') or diag(join("\n", @p));
unlike(slurp_file($standby->logfile), qr/inconsistent page found|PANIC|FATAL:.*redo/, 'standby: no redo failure');

$standby->stop;
$primary->stop;
kill 'KILL', $relay_pid;
waitpid($relay_pid, 0);
$relay_pid = undef;
done_testing();
