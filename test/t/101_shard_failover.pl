
# Copyright (c) engram authors
#
# Per-shard failover (issue 19).  A coordinator and three shards on
# localhost: shard "fa" is a pg_auto_failover formation (monitor, node1
# primary, node2 synchronous secondary; the helpers and the shortened
# monitor timeouts are those of 054_auto_failover.pl), shards s2 and s3 are
# single nodes.  The coordinator reaches fa through a multi-host conninfo
# with target_session_attrs=read-write.  A client remembers into the space
# placed on fa through the coordinator, one call at a time, and notes each
# acknowledged memory; node1's keeper and postmaster are SIGKILLed.
# Asserted: node2 becomes primary; remembers through the coordinator are
# acknowledged again without any change on the coordinator (libpq follows
# the conninfo); every acknowledged memory is on node2 (0 lost); while fa
# fails over, every recall of the spaces on s2 and s3 through the
# coordinator succeeds; a call to fa that fails does so with 08006 naming
# shard "fa".  pg_autoctl is required (test/scripts/deps.sh installs it).
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

my $deadline = time + 170;    # the whole test, whatever happens
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
	my $log = "$PostgreSQL::Test::Utils::log_path/101_autoctl_$name.log";
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
	diag("see $PostgreSQL::Test::Utils::log_path/101_autoctl_*.log");
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


# ---- engram on the formation: shard fa ---------------------------------------------
for my $n ('node1', 'node2')
{
	open my $hba, '>>', "$pgdata{$n}/pg_hba.conf" or die;
	print $hba "host all engram_svc 127.0.0.1/32 trust\n";
	close $hba;
	psql_at($port{$n}, 'postgres', 'SELECT pg_reload_conf()');
}
($ok, $out, $err) = psql_at($port{node1}, 'postgres',
	"CREATE EXTENSION IF NOT EXISTS engram; CREATE ROLE engram_svc LOGIN; SELECT engram.shard_init(1, 'engram_svc')");
ok($ok, 'engram on the formation primary, node number 1') or give_up($err);
my ($ok2, $ssn) = psql_at($port{node1}, 'postgres', 'SHOW synchronous_standby_names');
isnt($ssn, '', "node1 has a synchronous standby ($ssn)");

# ---- shards s2, s3 and the coordinator ----------------------------------------------------
my @plain;
for my $i (2, 3)
{
	my $s = EngramTest::new_primary("s$i");
	$s->safe_psql('postgres', "CREATE ROLE engram_svc LOGIN; SELECT engram.shard_init($i, 'engram_svc');");
	push @plain, $s;
}
my $coord = EngramTest::new_primary('coord');
$coord->safe_psql('postgres', 'CREATE EXTENSION postgres_fdw; CREATE EXTENSION dblink;');
$coord->safe_psql('postgres',
	"SELECT engram.add_shard('fa', 'host=127.0.0.1,127.0.0.1 port=$port{node1},$port{node2} dbname=postgres user=engram_svc target_session_attrs=read-write connect_timeout=3')");
for my $i (2, 3)
{
	my $s = $plain[ $i - 2 ];
	$coord->safe_psql('postgres',
		sprintf("SELECT engram.add_shard('s%d', 'host=%s port=%d dbname=postgres user=engram_svc')", $i, $s->host, $s->port));
}
$coord->safe_psql('postgres', q{
	SELECT engram.create_space(s) FROM unnest(ARRAY['fa_space', 'b', 'c']) s;
	SELECT engram.place_space('fa_space', 'fa');
	SELECT engram.place_space('b', 's2');
	SELECT engram.place_space('c', 's3');
	SELECT engram.remember('b memory ' || i, NULL, 1, 'b') FROM generate_series(1, 20) i;
	SELECT engram.remember('c memory ' || i, NULL, 1, 'c') FROM generate_series(1, 20) i;
});
is($coord->safe_psql('postgres', q{SELECT string_agg(space || '@' || shard, ' ' ORDER BY space) FROM engram.placements}),
	'b@s2 c@s3 fa_space@fa', 'three shards, one space each');

# ---- the client: remember into fa_space through the coordinator -----------------------------
my $ackfile = "$base/acked";
my $errfile = "$base/errors";
my $stopfile = "$base/stop";
my ($ch, $cp) = ($coord->host, $coord->port);
my $writer = fork();
die "fork: $!" unless defined $writer;
if ($writer == 0)
{
	POSIX::setpgid(0, 0);
	my $n = 0;
	while (!-e $stopfile)
	{
		$n++;
		my ($o, $e);
		IPC::Run::run([ 'psql', '-XAtq', '-h', $ch, '-p', $cp, '-d', 'postgres', '-v', 'VERBOSITY=verbose', '-c',
				"SELECT engram.remember('load $n', NULL, 1, 'fa_space')" ],
			'>', \$o, '2>', \$e, IPC::Run::timeout(60));
		if ($? == 0 && defined $o && $o =~ /^\d+$/m)
		{
			open my $fh, '>>', $ackfile or POSIX::_exit(1);
			print $fh "$n\n";
			close $fh;
		}
		else
		{
			open my $fh, '>>', $errfile or POSIX::_exit(1);
			print $fh ($e // '') =~ s/\n/ /gr, "\n";
			close $fh;
			usleep(100_000);
		}
	}
	POSIX::_exit(0);
}
$pgid{writer} = $writer;
sub acked
{
	open my $fh, '<', $ackfile or return ();
	my @a = map { chomp; $_ } <$fh>;
	return @a;
}
ok(defined wait_until('50 acknowledged', 60, sub { scalar(acked()) >= 50 }), 'remembers acknowledged through the coordinator');

# ---- lose node1 -------------------------------------------------------------------------
my $pm = do { open my $fh, '<', "$pgdata{node1}/postmaster.pid" or die; my $l = <$fh>; chomp $l; $l };
my $acked0 = scalar(acked());
my $t_kill = time;
kill 'KILL', -$pgid{node1};
kill 'KILL', $pm;
waitpid($pgid{node1}, 0);
delete $pgid{node1};

# recall of the other shards' spaces all the while
my ($reads, $read_fail) = (0, 0);
my $t_primary;
my $t_ack;
while (time - $t_kill < 120 && time < $deadline)
{
	for my $sp ('b', 'c')
	{
		my ($rrc, $rout, $rerr) = $coord->psql('postgres',
			"SELECT count(*) FROM engram.recall(NULL, cue_text => 'memory', k => 5, space => '$sp', record_access => false)");
		$reads++;
		if ($rrc != 0 || $rout ne '5')
		{
			$read_fail++;
			diag("recall of $sp failed: $rerr");
		}
	}
	$t_primary //= time if states() =~ /node2:(wait_primary|primary):(wait_primary|primary)/;
	if (defined $t_primary && scalar(acked()) > $acked0 + 20)
	{
		$t_ack = time;
		last;
	}
	usleep(200_000);
}
ok(defined $t_primary, 'node2 became primary');
ok(defined $t_ack, 'remembers through the coordinator are acknowledged again (routed to node2 by the multi-host conninfo)');
diag(sprintf("shard_failover_rto_seconds: %.1f (kill -9 of shard fa's primary -> remembers through the coordinator acknowledged again)",
		(defined $t_ack ? $t_ack : time) - $t_kill));
cmp_ok($reads, '>', 10, "recall of b and c ran during the failover ($reads calls)");
is($read_fail, 0, 'every recall of the spaces on s2 and s3 succeeded while fa failed over');

open my $sf, '>', $stopfile or die;
close $sf;
waitpid($writer, 0);
delete $pgid{writer};

# ---- nothing acknowledged lost ----------------------------------------------------------------
my @acked = acked();
my ($okc, $rows) = psql_at($port{node2}, 'postgres', q{SELECT content FROM engram.memory WHERE space = 'fa_space'});
ok($okc, 'node2 answers');
my %present = map { $_ => 1 } split /\n/, $rows;
my $lost = grep { !$present{"load $_"} } @acked;
diag(sprintf("shard failover: acknowledged=%d lost=%d", scalar(@acked), $lost));
cmp_ok(scalar(@acked), '>', $acked0, 'memories were acknowledged before and after the failover');
is($lost, 0, 'no acknowledged memory lost (synchronous standby)');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM engram.recall(NULL, cue_text => 'load', k => 10000, space => 'fa_space', record_access => false)}),
	scalar(keys %present), 'recall of fa_space through the coordinator reads node2');
my @errs = do { open my $fh, '<', $errfile or (); <$fh> };
my @unnamed = grep { !/08006: shard "fa" is unavailable/ && !/25006/ && !/read-only/ } @errs;
diag(sprintf("%d failed remember calls during the failover", scalar(@errs)));
is(scalar(@unnamed), 0, 'every failed call to fa failed with 08006 naming shard "fa"') or diag(join('', @unnamed[0 .. ($#unnamed < 4 ? $#unnamed : 4)]));

stop_all();
$_->stop for (@plain, $coord);
done_testing();
