
# Copyright (c) engram authors
#
# Automated failover with Patroni and etcd (issue 17), both from Debian
# (patroni, etcd-server; installed by test/scripts/deps.sh).  One etcd member
# and two Patroni nodes on 127.0.0.1 in the test's temporary directory, the
# PostgreSQL binaries of the private installation with engram,
# synchronous_mode on, data checksums, pg_rewind allowed.  Once there is a
# leader and a streaming replica, engram is created and two clients write
# engram rows through a multi-host connection string.  Then:
#  1. the leader's whole node (Patroni and its postmaster with every child)
#     is SIGKILLed: the replica must become leader and take the writes; no
#     acknowledged write is lost (synchronous mode);
#  2. the old node's Patroni is started again: it must rejoin as a replica
#     of the new leader by itself (pg_rewind) and replay it;
#  3. "patronictl switchover" back to the first node with the clients
#     writing: no acknowledged write lost, both nodes the same rows.
# Measured and printed: seconds from the kill to the first write
# acknowledged by the new leader (Patroni ttl 20 s, loop_wait 2 s: its
# minimum timeouts, not production ones).  Everything started is stopped in
# an END block.
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
use File::Path qw(make_path);
use POSIX ();
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my %bin;
for my $p ('patroni', 'patronictl', 'etcd', 'pg_ctl')
{
	for my $d (split /:/, $ENV{PATH} // '')
	{
		if (-x "$d/$p")
		{
			$bin{$p} = "$d/$p";
			last;
		}
	}
	die "$p not found (Debian packages patroni and etcd-server, installed by test/scripts/deps.sh)"
	  unless $bin{$p};
}
(my $pgbin = $bin{pg_ctl}) =~ s{/pg_ctl$}{};

my $deadline = time + 420;
my $base = PostgreSQL::Test::Utils::tempdir_short();
my %port = map { $_ => PostgreSQL::Test::Cluster::get_free_port() }
  qw(etcd etcd_peer node1 node2 rest1 rest2);
my %pgid;

sub bg
{
	my ($name, @cmd) = @_;
	my $log = "$PostgreSQL::Test::Utils::log_path/056_$name.log";
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		POSIX::setpgid(0, 0);
		open STDOUT, '>>', $log or POSIX::_exit(1);
		open STDERR, '>&', \*STDOUT or POSIX::_exit(1);
		exec @cmd or POSIX::_exit(1);
	}
	$pgid{$name} = $pid;
	note("started $name (pid $pid), log $log");
	return $pid;
}

sub postmaster_pid
{
	my ($n) = @_;
	open my $fh, '<', "$base/$n/postmaster.pid" or return undef;
	my $l = <$fh>;
	close $fh;
	chomp $l if defined $l;
	return ($l && $l =~ /^\d+$/) ? $l : undef;
}

sub children_of
{
	my ($ppid) = @_;
	my @k;
	opendir my $d, '/proc' or return ();
	for my $p (grep { /^\d+$/ } readdir $d)
	{
		open my $fh, '<', "/proc/$p/stat" or next;
		my $st = <$fh>;
		close $fh;
		push @k, $p if defined $st && $st =~ /\)\s+\S+\s+(\d+)/ && $1 == $ppid;
	}
	return @k;
}

# the node's Patroni, its postmaster and every child of it, at once
sub kill_node
{
	my ($n) = @_;
	my $pm = postmaster_pid($n);
	my @victims = ($pm ? ($pm, children_of($pm)) : ());
	kill 'STOP', $pm if $pm;
	@victims = ($pm, children_of($pm)) if $pm;
	kill 'KILL', -$pgid{$n};
	kill 'KILL', @victims if @victims;
	waitpid($pgid{$n}, 0);
	delete $pgid{$n};
	my $t0 = time;
	usleep(50_000) while time - $t0 < 20 && grep { kill 0, $_ } @victims;
	return;
}

sub stop_all
{
	kill 'TERM', -$_ for values %pgid;
	my $t0 = time;
	while (time - $t0 < 15 && grep { kill 0, -$_ } values %pgid)
	{
		usleep(100_000);
		waitpid($_, POSIX::WNOHANG()) for values %pgid;
	}
	for my $n (keys %pgid)
	{
		kill 'KILL', -$pgid{$n};
		waitpid($pgid{$n}, 0);
	}
	%pgid = ();
	for my $n ('node1', 'node2')
	{
		system($bin{pg_ctl}, '-D', "$base/$n", '-m', 'immediate', 'stop')
		  if -f "$base/$n/postmaster.pid";
	}
	return;
}

END
{
	local $?;
	stop_all() if %pgid;
}
$SIG{TERM} = $SIG{INT} = sub { stop_all() if %pgid; exit 1; };

sub psql_at
{
	my ($port, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-XAtq', '-h', '127.0.0.1', '-p', $port, '-U', 'postgres', '-d', 'postgres', '-c', $sql ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(30));
	my $ok = $? == 0 ? 1 : 0;
	chomp $out;
	return ($ok, $out, $err);
}

sub role
{
	my ($n) = @_;
	my ($ok, $out) = psql_at($port{$n}, 'SELECT pg_is_in_recovery()');
	return !$ok ? 'down' : $out eq 'f' ? 'primary' : 'replica';
}

sub streaming_to
{
	my ($leader, $replica) = @_;
	my ($ok, $out) = psql_at($port{$leader},
		"SELECT count(*) FROM pg_stat_replication WHERE application_name = '$replica' AND state = 'streaming'");
	return $ok && $out eq '1';
}

sub wait_until
{
	my ($what, $timeout, $cond) = @_;
	my $t0 = time;
	while (time - $t0 < $timeout && time < $deadline)
	{
		return time - $t0 if $cond->();
		usleep(250_000);
	}
	diag("timed out waiting for $what: node1 " . role('node1') . ', node2 ' . role('node2'));
	return undef;
}

sub give_up
{
	my ($why) = @_;
	diag("giving up: $why; logs: $PostgreSQL::Test::Utils::log_path/056_*.log");
	stop_all();
	done_testing();
	exit 1;
}

# ---- etcd ---------------------------------------------------------------------------
make_path("$base/etcd");
bg('etcd', $bin{etcd}, '--name', 'e1', '--data-dir', "$base/etcd/data",
	'--listen-client-urls', "http://127.0.0.1:$port{etcd}",
	'--advertise-client-urls', "http://127.0.0.1:$port{etcd}",
	'--listen-peer-urls', "http://127.0.0.1:$port{etcd_peer}",
	'--initial-advertise-peer-urls', "http://127.0.0.1:$port{etcd_peer}",
	'--initial-cluster', "e1=http://127.0.0.1:$port{etcd_peer}",
	'--initial-cluster-state', 'new');

# ---- two Patroni nodes ------------------------------------------------------------------
for my $i (1, 2)
{
	my $n = "node$i";
	my $rest = $port{"rest$i"};
	open my $fh, '>', "$base/$n.yml" or die;
	print $fh <<"YAML";
scope: engram_patroni
name: $n
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd3:
  host: 127.0.0.1:$port{etcd}
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 2
    retry_timeout: 5
    maximum_lag_on_failover: 104857600
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_log_hints: 'on'
        fsync: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        hot_standby: 'on'
  initdb:
  - encoding: UTF8
  - data-checksums
  - auth: trust
postgresql:
  listen: 127.0.0.1:$port{$n}
  connect_address: 127.0.0.1:$port{$n}
  data_dir: $base/$n
  bin_dir: $pgbin
  pgpass: $base/pgpass_$n
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
    rewind:
      username: postgres
      password: postgres
  pg_hba:
  - local all all trust
  - host all all 127.0.0.1/32 trust
  - host replication all 127.0.0.1/32 trust
  parameters:
    unix_socket_directories: '$base'
    log_min_messages: warning
YAML
	close $fh;
}
bg('node1', $bin{patroni}, "$base/node1.yml");
ok(defined wait_until('node1 leader', 120, sub { role('node1') eq 'primary' }),
	'Patroni bootstrapped node1 as leader') or give_up('no leader');
bg('node2', $bin{patroni}, "$base/node2.yml");
ok(defined wait_until('node2 streaming', 180, sub { role('node2') eq 'replica' && streaming_to('node1', 'node2') }),
	'node2 is a streaming replica') or give_up('no replica');
ok(defined wait_until('synchronous standby', 60, sub {
	(psql_at($port{node1}, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"))[1] eq '1' }),
	'synchronous_mode: node2 is the synchronous standby') or give_up('not synchronous');
is((psql_at($port{node1}, 'SHOW data_checksums'))[1], 'on', 'Patroni initialised with data checksums');

my ($ok, $out, $err) = psql_at($port{node1},
	'CREATE EXTENSION engram; CREATE TABLE t (id int8 PRIMARY KEY, client int NOT NULL, content text NOT NULL) USING engram');
ok($ok, 'engram table created on the leader') or give_up($err);

my $connstr = "host=127.0.0.1,127.0.0.1 port=$port{node1},$port{node2} user=postgres dbname=postgres target_session_attrs=read-write connect_timeout=3";
my @w = map { EngramTest::start_writer(undef, table => 't', client => $_, connstr => $connstr, sleep_ms => 10) } (1, 2);
ok($w[0]->wait_acked(100, 60), 'writes acknowledged by the leader');

# every id acknowledged (read before the query) present with its content on $n
sub check_node
{
	my ($what, $n) = @_;
	my @acked = map { [ $_->acked ] } @w;
	my ($okr, $rows) = psql_at($port{$n}, 'SELECT id, md5(content) FROM t ORDER BY id');
	ok($okr, "$what: $n answers");
	my %present = map { my ($i, $m) = split /\|/; ($i => $m) } split /\n/, $rows;
	my ($acked, $lost, $wrong) = (0, 0, 0);
	for my $k (0 .. $#w)
	{
		for my $id (@{ $acked[$k] })
		{
			$acked++;
			if (!exists $present{$id}) { $lost++; }
			elsif ($present{$id} ne md5_hex(EngramTest::row_content(int($id / 10_000_000), $id))) { $wrong++; }
		}
		$wrong += grep { exists $present{$_} } $w[$k]->rolled_back;
	}
	diag("patroni, $what: acknowledged=$acked lost=$lost");
	cmp_ok($acked, '>', 0, "$what: writes were acknowledged");
	is($lost, 0, "$what: no acknowledged write lost");
	is($wrong, 0, "$what: rows have the content sent, no rolled-back row visible");
	return;
}

# ---- 1. lose the leader's node ---------------------------------------------------------------
my @acked0 = map { scalar($_->acked) } @w;
my $t_kill = time;
kill_node('node1');
ok(defined wait_until('node2 leader', 120, sub { role('node2') eq 'primary' }), 'node2 became leader')
  or give_up('no failover');
ok(defined wait_until('writes on node2', 60, sub { grep { scalar($w[$_]->acked) > $acked0[$_] } 0 .. $#w }),
	'the clients write to node2');
diag(sprintf("patroni_failover_rto_seconds: %.1f (kill -9 of the leader node -> writes acknowledged by the new leader; ttl 20 s)", time - $t_kill));
check_node('after the failover', 'node2');

# ---- 2. the old leader rejoins ------------------------------------------------------------------
bg('node1', $bin{patroni}, "$base/node1.yml");
ok(defined wait_until('node1 rejoins', 180, sub { role('node1') eq 'replica' && streaming_to('node2', 'node1') }),
	'the old leader rejoined as a streaming replica of node2') or give_up('no rejoin');
$w[1]->wait_acked(scalar($w[1]->acked) + 20, 60);

# ---- 3. switchover back ---------------------------------------------------------------------------
ok(defined wait_until('node1 synchronous', 60, sub {
	(psql_at($port{node2}, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'node1' AND sync_state = 'sync'"))[1] eq '1' }),
	'node1 is the synchronous standby again');
# Patroni switches over only to the member its DCS names synchronous
sub patronictl_list
{
	my ($o, $e) = ('', '');
	IPC::Run::run([ $bin{patronictl}, '-c', "$base/node2.yml", 'list' ], '>', \$o, '2>', \$e, IPC::Run::timeout(30));
	return $o;
}
ok(defined wait_until('node1 Sync Standby in the DCS', 90, sub { patronictl_list() =~ /\bnode1\b[^\n]*Sync Standby/ }),
	'Patroni lists node1 as its Sync Standby') or diag(patronictl_list());
my $t_sw = time;
my $sok;
for my $try (1 .. 3)
{
	my ($sout, $serr) = ('', '');
	$sok = IPC::Run::run([ $bin{patronictl}, '-c', "$base/node2.yml", 'switchover', '--leader', 'node2',
			'--candidate', 'node1', '--force' ], '>', \$sout, '2>', \$serr, IPC::Run::timeout(120));
	note("patronictl switchover (try $try): $sout$serr");
	last if $sok && defined wait_until('node1 leader', 40, sub { role('node1') eq 'primary' });
}
ok($sok, 'patronictl switchover');
ok(defined wait_until('node1 leader again', 120, sub { role('node1') eq 'primary' && role('node2') eq 'replica' }),
	'after the switchover node1 leads and node2 follows') or give_up('switchover did not finish');
my @acked1 = map { scalar($_->acked) } @w;
ok(defined wait_until('writes on node1', 60, sub { grep { scalar($w[$_]->acked) > $acked1[$_] } 0 .. $#w }),
	'the clients write to node1 after the switchover');
diag(sprintf("patroni_switchover_seconds: %.1f", time - $t_sw));
$w[0]->wait_acked(scalar($w[0]->acked) + 20, 30);
$_->stop for @w;
check_node('after rejoin and switchover', 'node1');
my $lsn = (psql_at($port{node1}, 'SELECT pg_current_wal_lsn()'))[1];
ok(defined wait_until('node2 replays', 60, sub { (psql_at($port{node2}, "SELECT pg_last_wal_replay_lsn() >= '$lsn'"))[1] eq 't' }),
	'node2 replays node1');
my $sum = "SELECT count(*) || ':' || md5(string_agg(id || content, ',' ORDER BY id)) FROM t";
is((psql_at($port{node2}, $sum))[1], (psql_at($port{node1}, $sum))[1], 'both nodes hold the same engram rows');

stop_all();
done_testing();
