
# Copyright (c) engram authors
#
# Automated failover with pg_auto_failover (issue 9).
# A monitor and two Postgres nodes managed by pg_autoctl run on localhost in
# the test's temporary directory (ports from get_free_port, trust auth, no
# SSL, pg_ctl of the private installation with engram).  Once the nodes are
# primary and secondary, engram is created, a client writes engram rows
# through a multi-host connection string, and the primary's whole node (its
# pg_autoctl keeper and its postmaster, as when a machine dies: killing only
# the postmaster would just make the keeper restart it) is SIGKILLed.
# Measured: seconds until the other node is primary and accepts writes
# (rto).  Asserted: the failover happens and no acknowledged write is lost
# (pg_auto_failover's default keeps a synchronous standby while two nodes
# are up).  Then the old primary's keeper is started again: it must rejoin
# by itself as the secondary of node2 and hold every acknowledged row; then
# a planned "pg_autoctl perform switchover" makes node1 primary again with
# the clients still writing, and again nothing acknowledged is lost.  The
# monitor's timeouts are shortened for the test (production defaults are
# documented in docs/operations.md; the RTO printed here is for these
# settings).  Everything started is stopped in an END block, even on failure.
# pg_autoctl is required (test/scripts/deps.sh installs it).
use strict;
use warnings;
use File::Path qw(make_path);
use POSIX ();
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $autoctl;
for my $d (split /:/, $ENV{PATH} // '')
{
	if (-x "$d/pg_autoctl")
	{
		$autoctl = "$d/pg_autoctl";
		last;
	}
}
# a hard requirement: test/scripts/deps.sh installs it
die 'pg_autoctl not found (Debian package postgresql-15-auto-failover, installed by test/scripts/deps.sh)'
  unless $autoctl;
my $pg_ctl;
for my $d (split /:/, $ENV{PATH})
{
	if (-x "$d/pg_ctl")
	{
		$pg_ctl = "$d/pg_ctl";
		last;
	}
}

# Is the engram table AM there?  Ask a throwaway node.
{
	my $probe = EngramTest::new_primary('probe');
	my $f = EngramTest::features($probe);
	$probe->stop;
	$main::am = $f->{test_am};
}
my $am = $main::am;

my $deadline = time + 480;    # the whole test, whatever happens
my $base = PostgreSQL::Test::Utils::tempdir();
# pg_autoctl keeps its state and config under XDG directories: keep them here
$ENV{XDG_CONFIG_HOME} = "$base/xdg_config";
$ENV{XDG_DATA_HOME} = "$base/xdg_data";
$ENV{XDG_RUNTIME_DIR} = "$base/xdg_run";
make_path($ENV{XDG_CONFIG_HOME}, $ENV{XDG_DATA_HOME}, $ENV{XDG_RUNTIME_DIR});
chmod 0700, $ENV{XDG_RUNTIME_DIR};
delete $ENV{PGHOST};
delete $ENV{PGPORT};
delete $ENV{PGDATA};

my %port = map { $_ => PostgreSQL::Test::Cluster::get_free_port() } qw(monitor node1 node2);
my %pgdata = map { $_ => "$base/$_" } qw(monitor node1 node2);
my %pgid;    # process groups we started

sub autoctl
{
	my (@args) = @_;
	my ($out, $err);
	my $ok = IPC::Run::run([ $autoctl, @args ], '>', \$out, '2>', \$err,
		IPC::Run::timeout(120));
	return ($ok, $out // '', $err // '');
}

# Start "pg_autoctl ..." in the background in its own process group
sub bg
{
	my ($name, @args) = @_;
	my $log = "$PostgreSQL::Test::Utils::log_path/054_autoctl_$name.log";
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		POSIX::setpgid(0, 0);
		open STDOUT, '>>', $log or POSIX::_exit(1);
		open STDERR, '>&', \*STDOUT or POSIX::_exit(1);
		exec $autoctl, @args or POSIX::_exit(1);
	}
	$pgid{$name} = $pid;
	note("started pg_autoctl $args[0] for $name (pid $pid), log $log");
	return $pid;
}

sub stop_all
{
	for my $name (keys %pgdata)
	{
		next unless -d $pgdata{$name};
		autoctl('stop', '--pgdata', $pgdata{$name}, '--immediate') if $pgid{$name};
	}
	for my $name (keys %pgid)
	{
		kill 'TERM', -$pgid{$name};
	}
	my $t0 = time;
	while (time - $t0 < 10 && grep { kill 0, -$_ } values %pgid)
	{
		usleep(100_000);
		waitpid($_, POSIX::WNOHANG()) for values %pgid;
	}
	for my $name (keys %pgid)
	{
		kill 'KILL', -$pgid{$name};
		waitpid($pgid{$name}, 0);
	}
	%pgid = ();
	# a postmaster outliving its keeper (should not happen, but be sure)
	for my $name (keys %pgdata)
	{
		system($pg_ctl, '-D', $pgdata{$name}, '-m', 'immediate', 'stop')
		  if -f "$pgdata{$name}/postmaster.pid";
	}
	return;
}

END
{
	local $?;
	stop_all() if %pgid;
}

# the runner's timeout (or ^C) must not leave pg_autoctl processes behind
$SIG{TERM} = $SIG{INT} = sub {
	stop_all() if %pgid;
	exit 1;
};

sub psql_at
{
	my ($port, $db, $sql) = @_;
	my ($out, $err);
	IPC::Run::run([ 'psql', '-XAtq', '-h', '127.0.0.1', '-p', $port, '-d', $db, '-c', $sql ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(30));
	chomp $out if defined $out;
	return ($? == 0 ? 1 : 0, $out // '', $err // '');
}

# states as the monitor sees them: "node1:primary:primary node2:secondary:secondary"
sub states
{
	my ($ok, $out) = psql_at($port{monitor}, 'pg_auto_failover',
		"SELECT string_agg(nodename || ':' || reportedstate || ':' || goalstate, ' ' ORDER BY nodename) FROM pgautofailover.node");
	return $ok ? $out : '';
}

# a setup step failed: stop everything and end here (the failure is reported)
sub give_up
{
	my ($why) = @_;
	diag("giving up: $why");
	diag("see $PostgreSQL::Test::Utils::log_path/054_autoctl_*.log");
	stop_all();
	done_testing();
	exit 1;
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
	diag("timed out waiting for $what; monitor says: " . states());
	return undef;
}

# ---- the monitor ------------------------------------------------------------------
my @common = ('--pgctl', $pg_ctl, '--hostname', '127.0.0.1', '--auth', 'trust', '--no-ssl');
my ($ok, $out, $err) = autoctl('create', 'monitor', '--pgdata', $pgdata{monitor},
	'--pgport', $port{monitor}, @common);
ok($ok, 'pg_autoctl create monitor') or give_up($out . $err);
# faster failure detection than the production defaults (20 s unhealthy timeout)
open my $mc, '>>', "$pgdata{monitor}/postgresql.conf" or die;
print $mc "pgautofailover.health_check_period = 1000\n";
print $mc "pgautofailover.health_check_timeout = 1000\n";
print $mc "pgautofailover.health_check_max_retries = 1\n";
print $mc "pgautofailover.health_check_retry_delay = 500\n";
print $mc "pgautofailover.node_considered_unhealthy_timeout = 4000\n";
# how long the monitor waits for an unreachable primary to demote itself
# before promoting (default 30 s); the killed node cannot write anyway
print $mc "pgautofailover.primary_demote_timeout = 5000\n";
close $mc;
bg('monitor', 'run', '--pgdata', $pgdata{monitor});
ok(defined wait_until('monitor up', 60, sub { (psql_at($port{monitor}, 'pg_auto_failover', 'SELECT 1'))[1] eq '1' }),
	'monitor accepts connections') or give_up('monitor did not start');
# the monitor's URI, as "pg_autoctl show uri" prints it for the monitor
my $uri = "postgres://autoctl_node\@127.0.0.1:$port{monitor}/pg_auto_failover?sslmode=prefer";
note("monitor uri: $uri");

# ---- two Postgres nodes ------------------------------------------------------------
for my $n ('node1', 'node2')
{
	bg($n, 'create', 'postgres', '--pgdata', $pgdata{$n}, '--pgport', $port{$n},
		'--name', $n, '--listen', '127.0.0.1', '--dbname', 'postgres',
		'--monitor', $uri, @common, '--run');
	if ($n eq 'node1')
	{
		ok(defined wait_until('node1 single', 90, sub { states() =~ /node1:single:single/ }),
			'node1 is up as a single primary') or give_up('node1 did not come up');
	}
}
ok(defined wait_until('primary + secondary', 120,
		sub { my $s = states(); $s =~ /node1:primary:primary/ && $s =~ /node2:secondary:secondary/ }),
	'node1 primary and node2 secondary') or give_up('no primary/secondary pair');
note('states: ' . states());

# ---- engram on the pair ------------------------------------------------------------
($ok, $out, $err) = psql_at($port{node1}, 'postgres',
	"CREATE EXTENSION IF NOT EXISTS engram; CREATE TABLE t (id int8 PRIMARY KEY, client int NOT NULL, content text NOT NULL) USING $am");
ok($ok, 'engram extension and table created on the primary') or give_up($err);
my ($ok2, $ssn) = psql_at($port{node1}, 'postgres', 'SHOW synchronous_standby_names');
note("synchronous_standby_names on the primary: $ssn");

my $connstr = "host=127.0.0.1,127.0.0.1 port=$port{node1},$port{node2} dbname=postgres target_session_attrs=read-write connect_timeout=3";

my @w = map {
	EngramTest::start_writer(undef, table => 't', client => $_, connstr => $connstr, sleep_ms => 10)
} (1, 2);
ok($w[0]->wait_acked(100, 60), 'writes acknowledged before the failure');

# ---- lose node1 ---------------------------------------------------------------------
my $pm = do { open my $fh, '<', "$pgdata{node1}/postmaster.pid" or die; my $l = <$fh>; chomp $l; $l };
my @acked0 = map { scalar($_->acked) } @w;
my $t_kill = time;
kill 'KILL', -$pgid{node1};    # the keeper and everything it runs
kill 'KILL', $pm;              # and the postmaster, wherever its group is
waitpid($pgid{node1}, 0);
delete $pgid{node1};
my $t_primary = wait_until('node2 primary', 150, sub { states() =~ /node2:(wait_primary|primary):(wait_primary|primary)/ });
ok(defined $t_primary, 'node2 became primary');
my $t_ack = wait_until('writes acknowledged by node2', 60, sub {
	grep { scalar($w[$_]->acked) > $acked0[$_] } 0 .. $#w });
ok(defined $t_ack, 'writes are acknowledged again after the failover');
my $rto = time - $t_kill;
diag(sprintf("auto_failover_rto_seconds: %.1f (kill -9 of the primary node -> writes acknowledged by the new primary)", $rto));
$w[0]->wait_acked(scalar($w[0]->acked) + 20, 30);

# every acknowledged id present on the node at $port with the content sent
sub check_node
{
	my ($what, $port) = @_;
	# what the clients were told BEFORE the query (the clients may still be
	# writing: a row acknowledged after the query's snapshot is not lost)
	my @acked_ids = map { [ $_->acked ] } @w;
	my ($okr, $rows) = psql_at($port, 'postgres', 'SELECT id, md5(content) FROM t ORDER BY id');
	ok($okr, "$what: the node answers queries");
	my %present = map { my ($i, $m) = split /\|/; ($i => $m) } split /\n/, $rows;
	my ($acked, $lost, $wrong) = (0, 0, 0);
	for my $k (0 .. $#w)
	{
		my $wr = $w[$k];
		for my $id (@{ $acked_ids[$k] })
		{
			$acked++;
			if (!exists $present{$id}) { $lost++; }
			elsif ($present{$id} ne Digest::MD5::md5_hex(EngramTest::row_content(int($id / 10_000_000), $id))) { $wrong++; }
		}
		for my $id ($wr->rolled_back)
		{
			$wrong++ if exists $present{$id};
		}
	}
	diag("auto_failover, $what: acknowledged=$acked lost=$lost");
	cmp_ok($acked, '>', 0, "$what: writes were acknowledged");
	is($lost, 0, "$what: no acknowledged write lost");
	is($wrong, 0, "$what: surviving rows have the content sent; no rolled-back row visible");
	return;
}

# ---- what survived the failover -------------------------------------------------------
check_node('after the failover (node2)', $port{node2});

# ---- the old primary rejoins by itself -------------------------------------------------
# Its keeper is started again on the same data directory, as after a reboot
# of the machine: pg_autoctl rewinds it and it follows node2.
bg('node1', 'run', '--pgdata', $pgdata{node1});
ok(defined wait_until('node1 rejoins as secondary', 180,
		sub { my $s = states(); $s =~ /node1:secondary:secondary/ && $s =~ /node2:primary:primary/ }),
	'the old primary rejoined as the secondary of node2') or give_up('node1 did not rejoin');
my ($okri, $inrec) = psql_at($port{node1}, 'postgres', 'SELECT pg_is_in_recovery()');
is($inrec, 't', 'node1 runs as a standby after rejoining');
$w[1]->wait_acked(scalar($w[1]->acked) + 20, 60);
my $rejoin_lsn = (psql_at($port{node2}, 'postgres', 'SELECT pg_current_wal_lsn()'))[1];
ok(defined wait_until('node1 replays node2', 60,
		sub { (psql_at($port{node1}, 'postgres', "SELECT pg_last_wal_replay_lsn() >= '$rejoin_lsn'"))[1] eq 't' }),
	'node1 replays what node2 wrote');
{
	my ($okc, $c) = psql_at($port{node1}, 'postgres', 'SELECT count(*) FROM t');
	cmp_ok($c, '>=', 1, "node1 serves the engram table read-only after rejoining ($c rows)");
}

# ---- planned switchover back to node1 --------------------------------------------------
my $t_sw = time;
($ok, $out, $err) = autoctl('perform', 'switchover', '--pgdata', $pgdata{node2}, '--wait', '120');
ok($ok, 'pg_autoctl perform switchover') or diag($out . $err);
ok(defined wait_until('node1 primary again', 120,
		sub { my $s = states(); $s =~ /node1:primary:primary/ && $s =~ /node2:secondary:secondary/ }),
	'after the switchover node1 is primary and node2 secondary') or give_up('switchover did not finish');
my @acked_sw = map { scalar($_->acked) } @w;
ok(defined wait_until('writes acknowledged by node1', 60, sub {
	grep { scalar($w[$_]->acked) > $acked_sw[$_] } 0 .. $#w }),
	'the clients write to node1 after the switchover');
diag(sprintf("auto_failover_switchover_seconds: %.1f (perform switchover -> node1 primary and acknowledging)", time - $t_sw));
$w[0]->wait_acked(scalar($w[0]->acked) + 20, 30);
$_->stop for @w;
check_node('after rejoin and switchover (node1)', $port{node1});
my $end_lsn = (psql_at($port{node1}, 'postgres', 'SELECT pg_current_wal_lsn()'))[1];
ok(defined wait_until('node2 replays node1', 60,
		sub { (psql_at($port{node2}, 'postgres', "SELECT pg_last_wal_replay_lsn() >= '$end_lsn'"))[1] eq 't' }),
	'node2 follows node1 after the switchover');
is((psql_at($port{node2}, 'postgres', "SELECT count(*) || ':' || md5(string_agg(id || content, ',' ORDER BY id)) FROM t"))[1],
	(psql_at($port{node1}, 'postgres', "SELECT count(*) || ':' || md5(string_agg(id || content, ',' ORDER BY id)) FROM t"))[1],
	'both nodes hold the same engram rows');

stop_all();
done_testing();
