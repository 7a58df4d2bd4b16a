
# Copyright (c) engram authors

=pod

=head1 NAME

EngramTest - shared helpers for engram's TAP tests (crash safety, replication)

=head1 SYNOPSIS

  use EngramTest;
  my $primary = EngramTest::new_primary('primary', wcc => 1);
  my $standby = EngramTest::new_standby($primary, 'standby');
  my $f = EngramTest::features($primary);
  ...
  my $w = EngramTest::start_writer($primary, table => 't', client => 1);
  ...
  $w->stop;
  my $r = EngramTest::check_acked($primary, 't', [$w]);

=head1 DESCRIPTION

The runner (test/scripts/run_tests.sh) passes C<-I test/perl>.  Nodes are
PostgreSQL::Test::Cluster nodes; the binaries on PATH are the private
installation WITH engram, and $ENV{ENGRAM_NOLIB_INSTALL} is the same server
WITHOUT engram.

features() checks that the installed extension provides everything the
tests exercise and dies (failing the test file) when something is missing:
a missing piece is a failure, never a skip.

=cut

package EngramTest;

use strict;
use warnings;

use Carp;
use Digest::MD5 qw(md5_hex);
use File::Path qw(make_path);
use IO::Handle;
use IPC::Open2;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# ---------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------

# Settings that every engram test node gets (on top of Cluster.pm's).
sub _base_conf
{
	my (%opts) = @_;
	my $conf = join("\n",
		# durable commits: every engram node flushes WAL and data files as
		# production does (Cluster.pm's default is fsync = off)
		"fsync = on",
		"shared_buffers = 32MB",
		"max_connections = 30",
		"max_wal_size = 256MB",
		"max_wal_senders = 10",
		"max_replication_slots = 10",
		"wal_keep_size = 256MB",
		# crash tests kill backends; let the postmaster reinitialise
		"restart_after_crash = " . ($opts{restart_after_crash} // 1 ? 'on' : 'off'),
		"log_statement = none",
		"log_min_messages = warning",
		"log_connections = off",
		"lock_timeout = 60s",
		"statement_timeout = 0",
		"checkpoint_timeout = 30min",
		"autovacuum = " . ($opts{autovacuum} ? 'on' : 'off'),
		"");
	$conf .= "wal_consistency_checking = 'generic'\n" if $opts{wcc};
	$conf .= "shared_preload_libraries = 'engram'\n" if $opts{preload};
	$conf .= "wal_log_hints = on\n";
	$conf .= "full_page_writes = on\n";
	$conf .= "hot_standby_feedback = on\n";
	$conf .= $opts{extra_conf} . "\n" if defined $opts{extra_conf};
	return $conf;
}

=pod

=item new_primary($name, %opts)

Create and start a primary with wal_level replica and room for standbys,
then CREATE EXTENSION engram (the with-library installation).  Options:
wcc => 1 (wal_consistency_checking = 'generic', checked by standbys),
preload => 1 (shared_preload_libraries = 'engram'), has_archiving => 1,
extra_conf => "...", autovacuum => 1, no_start => 1, no_extension => 1,
checksums => 1 (initdb --data-checksums; standbys made from its backups
inherit them).  Every node runs with fsync = on.

=cut

sub new_primary
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name,
		$opts{install_path} ? (install_path => $opts{install_path}) : ());
	$node->init(
		allows_streaming => 1,
		has_archiving => $opts{has_archiving} // 0,
		extra => [ @{ $opts{initdb_extra} // [] },
			$opts{checksums} ? ('--data-checksums') : () ]);
	$node->append_conf('postgresql.conf', _base_conf(%opts));
	return $node if $opts{no_start};
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS engram')
	  unless $opts{no_extension};
	return $node;
}

=pod

=item new_standby($primary, $name, %opts)

Take a base backup of $primary and start a streaming standby from it.
Options: nolib => 1 (use $ENV{ENGRAM_NOLIB_INSTALL}: the same server without
engram; shared_preload_libraries is cleared there), install_path => ...,
extra_conf => "...", no_start => 1, backup_name => ...

=cut

sub new_standby
{
	my ($primary, $name, %opts) = @_;
	my $backup = $opts{backup_name} // "bk_for_$name";
	$primary->backup($backup) unless $opts{reuse_backup};
	my $install = $opts{install_path};
	$install = nolib_install() if $opts{nolib};
	my $node = PostgreSQL::Test::Cluster->new($name,
		$install ? (install_path => $install) : ());
	$node->init_from_backup($primary, $backup,
		has_streaming => 1,
		has_restoring => $opts{has_restoring} // 0);
	$node->append_conf('postgresql.conf', "shared_preload_libraries = ''")
	  if $opts{nolib};
	$node->append_conf('postgresql.conf', $opts{extra_conf})
	  if defined $opts{extra_conf};
	$node->start unless $opts{no_start};
	return $node;
}

# The installation without engram (a directory with bin/ and lib/)
sub nolib_install
{
	my $p = $ENV{ENGRAM_NOLIB_INSTALL};
	croak "ENGRAM_NOLIB_INSTALL is not set (run through test/scripts/run_tests.sh)"
	  unless $p && -d "$p/bin";
	return $p;
}

=pod

=item switch_install($node, $path_or_undef)

Change the installation a (stopped) node's binaries come from.
PostgreSQL::Test::Cluster keeps the installation in $node->{_install_path}
and resolves every binary through it (installed_command/_get_env) at each
call, so changing it between a stop and a start is all it takes to
"install the library" on a node: undef means the binaries on PATH (the
installation with engram).

=cut

sub switch_install
{
	my ($node, $path) = @_;
	croak "switch_install needs a stopped node" if defined $node->{_pid};
	if (defined $path)
	{
		$node->{_install_path} = $path;
	}
	else
	{
		delete $node->{_install_path};
	}
	return;
}

# Wait until $node accepts queries (e.g. after a crash restart); returns
# seconds waited, dies after $timeout.
sub wait_ready
{
	my ($node, $timeout) = @_;
	$timeout //= $PostgreSQL::Test::Utils::timeout_default;
	my $t0 = time;
	while (time - $t0 < $timeout)
	{
		my ($rc, $out, $err) = $node->psql('postgres', 'SELECT 1',
			timeout => 10);
		return time - $t0 if $rc == 0 && defined $out && $out eq '1';
		usleep(50_000);
	}
	croak "node " . $node->name . " did not accept queries within $timeout s";
}

# Is the node's postmaster alive (pid file + signal 0)?
sub postmaster_alive
{
	my ($node) = @_;
	my $pidfile = $node->data_dir . '/postmaster.pid';
	return 0 unless -f $pidfile;
	open my $fh, '<', $pidfile or return 0;
	my $pid = <$fh>;
	close $fh;
	return 0 unless defined $pid;
	chomp $pid;
	return ($pid =~ /^\d+$/ && kill(0, $pid)) ? 1 : 0;
}

# After a session died: wait until the server log (from byte $logpos) shows
# a backend crash, then until the postmaster has reinitialised and accepts
# queries again.  Returns the log text since $logpos when a crash happened,
# undef when none showed up within $timeout seconds (the session failed for
# another reason).  Needed because a client sees its connection drop before
# the postmaster has even noticed the child's death: a connection made at
# that moment may still succeed.
sub wait_crash_restart
{
	my ($node, $logpos, $timeout) = @_;
	$timeout //= 15;
	my $t0 = time;
	my $log = '';
	while (time - $t0 < $timeout)
	{
		$log = substr(slurp_file($node->logfile), $logpos);
		last if $log =~ /server process \(PID \d+\) was terminated by signal|terminated by signal/;
		usleep(50_000);
	}
	return undef unless $log =~ /terminated by signal/;
	my $crashpos = $logpos + $-[0];
	while (time - $t0 < $PostgreSQL::Test::Utils::timeout_default)
	{
		my $after = substr(slurp_file($node->logfile), $crashpos);
		last if $after =~ /database system is ready to accept connections/;
		usleep(50_000);
	}
	wait_ready($node);
	return substr(slurp_file($node->logfile), $logpos);
}

# SIGKILL the postmaster (and then every child still around: with the
# postmaster gone a busy backend could keep the shared memory attached, and
# restart would fail), then start again.  Returns seconds from start to the
# first accepted query.
sub kill9_and_restart
{
	my ($node) = @_;
	my $pidfile = $node->data_dir . '/postmaster.pid';
	my $pm;
	if (open my $fh, '<', $pidfile)
	{
		$pm = <$fh>;
		chomp $pm if defined $pm;
		close $fh;
	}
	my @children = _children_of($pm) if $pm;
	$node->kill9;
	kill 'KILL', @children if @children;
	# wait for the postmaster and its children to be gone
	my $t0 = time;
	while (time - $t0 < 30)
	{
		last unless grep { kill 0, $_ } ($pm // (), @children);
		usleep(20_000);
	}
	return restart_after_crash($node);
}

sub _children_of
{
	my ($ppid) = @_;
	my @kids;
	opendir my $d, '/proc' or return ();
	for my $p (grep { /^\d+$/ } readdir $d)
	{
		open my $fh, '<', "/proc/$p/stat" or next;
		my $stat = <$fh>;
		close $fh;
		next unless defined $stat && $stat =~ /\)\s+\S+\s+(\d+)/;
		push @kids, $p if $1 == $ppid;
	}
	closedir $d;
	return @kids;
}

# "Pull the plug": SIGKILL the postmaster and all its children at once (a
# walsender must not get a chance to send more WAL) and leave the node down.
# Returns the time of the kill.
sub kill9_all
{
	my ($node) = @_;
	my $pidfile = $node->data_dir . '/postmaster.pid';
	my $pm;
	if (open my $fh, '<', $pidfile)
	{
		$pm = <$fh>;
		chomp $pm if defined $pm;
		close $fh;
	}
	croak "no postmaster pid for " . $node->name unless $pm && $pm =~ /^\d+$/;
	my @children = _children_of($pm);
	kill 'STOP', $pm;    # no new children while we collect them
	@children = _children_of($pm);
	my $t = time;
	kill 'KILL', $pm, @children;
	$node->{_pid} = undef;
	my $t0 = time;
	while (time - $t0 < 30)
	{
		last unless grep { kill 0, $_ } ($pm, @children);
		usleep(20_000);
	}
	return $t;
}

# libpq connection string reaching whichever of @nodes accepts writes
sub multihost_connstr
{
	my (@nodes) = @_;
	return 'host=' . join(',', map { $_->host } @nodes)
	  . ' port=' . join(',', map { $_->port } @nodes)
	  . ' dbname=postgres target_session_attrs=read-write connect_timeout=5';
}

# Start a node that crashed (postmaster gone); returns seconds until it
# accepts a query.
sub restart_after_crash
{
	my ($node) = @_;
	$node->{_pid} = undef;
	my $t0 = time;
	for my $try (1 .. 20)
	{
		last if $node->start(fail_ok => 1);
		usleep(250_000);
	}
	wait_ready($node);
	return time - $t0;
}

=pod

=item wait_catchup($primary, $standby)

Wait until $standby has replayed everything $primary has inserted so far.

=cut

sub wait_catchup
{
	my ($primary, $standby) = @_;
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
	return;
}

# ---------------------------------------------------------------------------
# What the installed extension provides
# ---------------------------------------------------------------------------

=pod

=item features($node)

Hashref of what the installed engram provides: am (table AM engram), hnsw
(index AM engram_hnsw), cosine_ops, migrate, verify, memory
(engram.memory table), remember, recall, forget, associate, consolidate,
fault (engram.fault_point exists), amcheck (extension available),
embed_text, and test_am ('engram', the table AM under test).  Dies when any
of them is missing.

=cut

sub features
{
	my ($node, $db) = @_;
	$db //= 'postgres';
	my $q = <<'SQL';
SELECT concat_ws(',',
  CASE WHEN EXISTS (SELECT 1 FROM pg_am WHERE amname = 'engram' AND amtype = 't') THEN 'am' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_am WHERE amname = 'engram_hnsw' AND amtype = 'i') THEN 'hnsw' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
                    WHERE a.amname = 'engram_hnsw' AND c.opcname = 'vector_cosine_ops') THEN 'cosine_ops' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'migrate' AND pronamespace::regnamespace::text = 'engram') THEN 'migrate' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'verify' AND pronamespace::regnamespace::text = 'engram') THEN 'verify' END,
  CASE WHEN to_regclass('engram.memory') IS NOT NULL THEN 'memory' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'remember' AND pronamespace::regnamespace::text = 'engram') THEN 'remember' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'recall' AND pronamespace::regnamespace::text = 'engram') THEN 'recall' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'forget' AND pronamespace::regnamespace::text = 'engram') THEN 'forget' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'associate' AND pronamespace::regnamespace::text = 'engram') THEN 'associate' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'consolidate' AND pronamespace::regnamespace::text = 'engram') THEN 'consolidate' END,
  CASE WHEN to_regtype('engram.vector') IS NOT NULL THEN 'vector' END,
  CASE WHEN EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck') THEN 'amcheck' END)
SQL
	my $out = $node->safe_psql($db, $q);
	my %f = map { $_ => 1 } split /,/, $out;
	# the fault GUCs exist once the library is loaded
	my ($rc, $o) = $node->psql($db,
		"LOAD 'engram'; SELECT current_setting('engram.fault_point', true) IS NOT NULL");
	$f{fault} = 1 if $rc == 0 && defined $o && $o eq 't';
	$f{embed_text} = 1 if $node->safe_psql($db,
		"SELECT to_regproc('engram.embed_text') IS NOT NULL") eq 't';
	# Hard requirements: every test runs against the whole extension.
	my @missing = grep { !$f{$_} } qw(am hnsw cosine_ops migrate verify memory
	  remember recall forget associate consolidate vector embed_text amcheck fault);
	croak "the installed engram lacks: @missing (every TAP test needs the whole extension)"
	  if @missing;
	$f{test_am} = 'engram';
	return \%f;
}

# "the engram table AM (CREATE TABLE ... USING engram)" etc., for skip messages
sub missing_msg
{
	my ($what) = @_;
	return "not in the installed extension yet: $what";
}

# The source files of the tree the test runs from (fault point discovery)
sub source_dir
{
	my $d = $ENV{TESTDIR} // '.';
	return -d "$d/src" ? "$d/src" : 'src';
}

=pod

=item fault_points()

Every name used as ENGRAM_FAULT_POINT("name") in src/*.c (sorted, unique):
the list of C<grep -ho 'ENGRAM_FAULT_POINT("[a-z_]*")' src/*.c>, plus the
names passed to subsystem wrappers of it (TIER_FAULT_POINT("name") etc.).

=cut

sub fault_points
{
	my %seen;
	my $dir = source_dir();
	for my $f (glob("$dir/*.c"))
	{
		my $text = slurp_file($f);
		# also subsystem wrappers such as TIER_FAULT_POINT("...") that expand
		# to ENGRAM_FAULT_POINT(name)
		$seen{$1} = 1 while $text =~ /\b[A-Z_]*FAULT_POINT\("([a-z0-9_]*)"\)/g;
	}
	return sort keys %seen;
}

# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------

=pod

=item table_checksum($node, $table, $key, $db, $where)

md5 of the text of every row, ordered by $key, plus the row count:
"count:md5".  Two nodes with the same rows give the same string.

=cut

sub table_checksum
{
	my ($node, $table, $key, $db, $where) = @_;
	$db //= 'postgres';
	$where //= 'true';
	return $node->safe_psql($db,
		"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY $key)), '-') FROM $table t WHERE $where"
	);
}

=pod

=item dumpall($node, $file) / dumps_identical($a, $b, $name)

pg_dumpall both nodes with the same (the primary installation's)
pg_dumpall, --no-sync, and compare the text.  Almost nothing is filtered: both
nodes run the same binaries and a physical standby has the same catalogs,
roles and rows, so any difference is a real one.  Only the "-- Dumped from
database version / by pg_dumpall version" comment lines could differ in
principle (different installations): they are dropped before comparing.
Sequence values (setval lines) are masked: a standby's sequences run up to
32 values ahead of the primary's by design (see dumpall()).
Where pg_dumpall has --restrict-key (15.14 and later), a fixed key is used
so that the \restrict lines match.

=cut

sub dumpall
{
	my ($node, $file) = @_;
	# always the with-library installation's pg_dumpall (on PATH), even for
	# a node running from another installation
	my @cmd = ('pg_dumpall', '--no-sync', '-h', $node->host, '-p', $node->port,
		'-f', $file);
	# pg_dumpall 15.14+ wraps the script in \restrict <random key>: fix the
	# key so that two dumps can be compared
	push @cmd, '--restrict-key=engramtest' if _dumpall_has_restrict_key();
	my $ok = IPC::Run::run(\@cmd, '>', \my $out, '2>', \my $err);
	croak "pg_dumpall of " . $node->name . " failed: $err" unless $ok;
	my $text = slurp_file($file);
	$text =~ s/^-- Dumped (from database version|by pg_dumpall version).*\n//mg;
	# A standby's sequences are ahead of the primary's: nextval() WAL-logs
	# 32 values in advance (SEQ_LOG_VALS) and redo applies the logged value.
	# So the value of setval() lines is masked; everything else is compared.
	$text =~ s/^(SELECT pg_catalog\.setval\('[^']+', )\d+(, (true|false)\);)$/$1<n>$2/mg;
	return $text;
}

my $_restrict_key;

sub _dumpall_has_restrict_key
{
	if (!defined $_restrict_key)
	{
		IPC::Run::run([ 'pg_dumpall', '--help' ], '>', \my $help);
		$_restrict_key = ($help // '') =~ /--restrict-key/ ? 1 : 0;
	}
	return $_restrict_key;
}

sub dumps_identical
{
	my ($a, $b, $name) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my $da = dumpall($a, "$dir/" . $a->name . ".sql");
	my $db = dumpall($b, "$dir/" . $b->name . ".sql");
	my $same = $da eq $db;
	ok($same, $name);
	unless ($same)
	{
		# show the first differing lines to make the failure readable
		my @la = split /\n/, $da;
		my @lb = split /\n/, $db;
		my $shown = 0;
		for my $i (0 .. ($#la > $#lb ? $#la : $#lb))
		{
			my ($x, $y) = ($la[$i] // '<eof>', $lb[$i] // '<eof>');
			next if $x eq $y;
			diag("line $i: " . $a->name . ": $x\n" . $b->name . ": $y");
			last if ++$shown >= 5;
		}
	}
	return $same;
}

=pod

=item verify_problems($node, $rel)

engram.verify($rel) rows that are real problems, as "blk/off: problem"
strings.  Rows whose text says "not corruption" (an orphan chunk left by a
migration that crashed, which the next VACUUM or migration reclaims) are
expected after a crash and not counted; pass all => 1 to count them too.

=cut

sub verify_problems
{
	my ($node, $rel, %o) = @_;
	my $filter = $o{all} ? 'true' : "problem NOT LIKE '%not corruption%'";
	my $db = $o{db} // 'postgres';
	# engram.verify reads the table in one pass under AccessShareLock: a
	# migration pass running at the same time can add a chunk page behind it
	# and switch rows to it, which verify then reports as references to a
	# page that is not a chunk (seen in 020 part B with the maintenance
	# client migrating).  The tests check a state, not verify's concurrency:
	# on a primary, keep VACUUM and migration out while verify runs.
	my $lock = $node->safe_psql($db, 'SELECT pg_is_in_recovery()') eq 'f'
	  ? "LOCK TABLE $rel IN SHARE UPDATE EXCLUSIVE MODE;" : '';
	my $out = $node->safe_psql($db,
		"BEGIN; $lock SELECT coalesce(blkno::text, '-') || '/' || coalesce(offnum::text, '-') || ': ' || problem FROM engram.verify('$rel'::regclass) WHERE $filter; COMMIT;");
	return grep { $_ ne '' } split /\n/, $out;
}

# Run amcheck's bt_index_check (with heapallindexed) on every btree index of
# $table; returns (number checked, list of "index: error").
sub amcheck_btrees
{
	my ($node, $table, $db) = @_;
	$db //= 'postgres';
	# (a hot standby cannot create it: it must come from the primary)
	$node->safe_psql($db, 'SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS amcheck')
	  if $node->safe_psql($db, 'SELECT pg_is_in_recovery()') eq 'f';
	my $idx = $node->safe_psql($db, qq{
		SELECT string_agg(c.oid::regclass::text, ' ')
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am a ON a.oid = c.relam
		WHERE i.indrelid = '$table'::regclass AND a.amname = 'btree'});
	my @bad;
	my $n = 0;
	for my $ix (split / /, $idx)
	{
		$n++;
		my ($rc, $out, $err) = $node->psql($db,
			"SELECT bt_index_check('$ix'::regclass, true)");
		push @bad, "$ix: $err" if $rc != 0;
	}
	return ($n, @bad);
}

# Does an index scan on $key give the same rows as a sequential scan?
# Returns (seqscan checksum, indexscan checksum).
sub index_vs_seqscan
{
	my ($node, $table, $key, $db) = @_;
	$db //= 'postgres';
	# OFFSET 0 keeps the subquery (and its scan) from being flattened away
	my $q = "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY $key)), '-') FROM (SELECT * FROM $table ORDER BY $key OFFSET 0) t";
	my $noidx = 'SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;';
	my $noseq = 'SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off;';
	my $seq = $node->safe_psql($db, "$noidx $q");
	my $plan = $node->safe_psql($db, "$noseq EXPLAIN (COSTS OFF) $q");
	my $idx = $node->safe_psql($db, "$noseq $q");
	note("index plan: $plan");
	return ($seq, $idx, $plan);
}

# ---------------------------------------------------------------------------
# Acknowledged-writes clients
# ---------------------------------------------------------------------------

# Deterministic content of row $id written by $client: what the client sends.
# Mixed sizes; every 97th row is large enough to be toasted.
sub row_content
{
	my ($client, $id) = @_;
	my $h = md5_hex("engram:$client:$id");
	my $reps = 1 + ($id % 7);
	$reps = 400 if $id % 97 == 0;
	return "c$client-$id-" . ($h x $reps);
}

=pod

=item start_writer($node, %opts)

Fork a client that inserts rows with known ids and content into a table
(id int8, client int, content text[, ...]) and appends each id to a log file
only after its COMMIT returned.  Every 10th transaction is rolled back on
purpose and its id goes to the rolled-back log.  The client reconnects after
a failure (libpq multi-host connstr: pass connstr => "host=... port=p1,p2
target_session_attrs=read-write" to follow a failover).

Options: table, client (number, part of the id space: ids are
client * 10_000_000 + n), connstr, max_rows, sql (a template, see below),
sleep_ms between rows, sync_commit (value for synchronous_commit).

The statement template gets %ID%, %CLIENT%, %CONTENT% substituted (the
content as a dollar-quoted literal).  The default inserts into
"table(id, client, content)".  For the memory API pass a template that calls
engram.remember.

Returns an object with ->stop, ->acked (list of ids), ->rolled_back,
->sent (ids attempted, in doubt or not), ->expected_md5($id).

=cut

sub start_writer
{
	my ($node, %opts) = @_;
	my $self = bless {%opts}, 'EngramTest::Writer';
	$self->{client} //= 1;
	$self->{table}  //= 't';
	$self->{max_rows} //= 1_000_000;
	$self->{sleep_ms} //= 0;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	$self->{dir}      = $dir;
	$self->{ackfile}  = "$dir/acked";
	$self->{rbfile}   = "$dir/rolledback";
	$self->{sentfile} = "$dir/sent";
	$self->{stopfile} = "$dir/stop";
	$self->{connstr} //= $node->connstr('postgres') if $node;
	$self->{sql} //=
	  "INSERT INTO $self->{table}(id, client, content) VALUES (%ID%, %CLIENT%, %CONTENT%)";
	$self->{psql} = $node ? $node->installed_command('psql') : 'psql';

	my $pid = fork();
	croak "fork failed: $!" unless defined $pid;
	if ($pid == 0)
	{
		# own process group: stop() can kill the client and its psql at once
		POSIX::setpgid(0, 0);
		$self->_run;
		POSIX::_exit(0);
	}
	$self->{pid} = $pid;
	return $self;
}

package EngramTest::Writer;

use strict;
use warnings;
use IPC::Open2;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time usleep);

sub _append
{
	my ($file, $line) = @_;
	open my $fh, '>>', $file or die "$file: $!";
	print $fh "$line\n";
	close $fh;    # flushed before the next statement is sent
	return;
}

# child process: the write loop
sub _run
{
	my ($self) = @_;
	$SIG{PIPE} = 'IGNORE';
	my $n = 0;
	my @acked_here;
	my $t_end = time + 600;    # hard bound whatever the parent does
	my $parent = getppid();
	# also end when the test process is gone (killed by a timeout)
	my $go = sub { !-e $self->{stopfile} && time < $t_end && getppid() == $parent };
	while ($n < $self->{max_rows} && $go->())
	{
		my ($out, $in);
		my $pid = eval {
			open2($out, $in, $self->{psql}, '-XAtq', '-v', 'ON_ERROR_STOP=1',
				'-d', $self->{connstr});
		};
		if (!$pid)
		{
			usleep(200_000);
			next;
		}
		$in->autoflush(1);
		if (defined $self->{sync_commit})
		{
			print $in "SET synchronous_commit = '$self->{sync_commit}';\n";
		}
		print $in "SET application_name = 'engram_writer_$self->{client}';\n";
		my $alive = 1;
		while ($alive && $n < $self->{max_rows} && $go->())
		{
			$n++;
			my $id = $self->{client} * 10_000_000 + $n;
			my $content = EngramTest::row_content($self->{client}, $id);
			my $tmpl = $self->{sql};
			$tmpl = $tmpl->[ $n % scalar(@$tmpl) ] if ref $tmpl;
			my $stmt = $tmpl;
			$stmt =~ s/%ID%/$id/g;
			$stmt =~ s/%CLIENT%/$self->{client}/g;
			$stmt =~ s/%CONTENT%/\$eg\$$content\$eg\$/g;
			my $rollback = (!$self->{no_rollback} && $n % 10 == 0);
			my ($ackf, $sentf) = ($rollback ? $self->{rbfile} : $self->{ackfile}, $self->{sentfile});
			my $logid = $id;
			if (!$rollback && $self->{forget_every} && $n % $self->{forget_every} == 0
				&& @acked_here > 3)
			{
				# forget a row acknowledged a little earlier
				$logid = $acked_here[-3];
				@acked_here = grep { $_ != $logid } @acked_here;
				$stmt = $self->{forget_sql};
				$stmt =~ s/%FID%/$logid/g;
				($ackf, $sentf) = ("$self->{dir}/forgotten", "$self->{dir}/forget_sent");
			}
			_append($sentf, $logid);
			if ($rollback)
			{
				print $in "BEGIN;\n$stmt;\nROLLBACK;\n\\echo done $id\n";
			}
			else
			{
				print $in "$stmt;\n\\echo done $id\n";
			}
			# The \echo runs only after the statement returned success
			# (ON_ERROR_STOP=1 ends psql at the first error): in autocommit
			# mode Postgres sends CommandComplete after the commit, so "done"
			# means acknowledged.
			my $ok = 0;
			while (my $line = <$out>)
			{
				chomp $line;
				if ($line eq "done $id")
				{
					$ok = 1;
					last;
				}
			}
			if ($ok)
			{
				_append($ackf, $logid);
				push @acked_here, $id if $ackf eq $self->{ackfile};
				shift @acked_here if @acked_here > 50;
			}
			else
			{
				$alive = 0;
			}
			usleep($self->{sleep_ms} * 1000) if $self->{sleep_ms};
		}
		close $in;
		close $out;
		kill 'TERM', $pid;
		waitpid($pid, 0);
		usleep(100_000) unless $alive;
	}
	return;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	open my $fh, '>', $self->{stopfile};
	close $fh;
	my $t0 = time;
	while (time - $t0 < 60)
	{
		last if waitpid($self->{pid}, WNOHANG) != 0;
		usleep(50_000);
	}
	if (waitpid($self->{pid}, WNOHANG) == 0)
	{
		# stuck (e.g. a commit waiting for a standby that is gone)
		kill 'KILL', -$self->{pid};
		waitpid($self->{pid}, 0);
	}
	delete $self->{pid};
	return;
}

sub _read_ids
{
	my ($file) = @_;
	my @ids;
	if (-f $file && open my $fh, '<', $file)
	{
		@ids = grep { /^\d+$/ } map { chomp; $_ } <$fh>;
		close $fh;
	}
	return wantarray ? @ids : scalar @ids;
}

sub acked       { return _read_ids($_[0]->{ackfile}); }
sub rolled_back { return _read_ids($_[0]->{rbfile}); }
sub sent        { return _read_ids($_[0]->{sentfile}); }
sub forgotten   { return _read_ids($_[0]->{dir} . '/forgotten'); }
sub forget_sent { return _read_ids($_[0]->{dir} . '/forget_sent'); }

# wait until at least $n acknowledged rows (or $timeout seconds)
sub wait_acked
{
	my ($self, $n, $timeout) = @_;
	$timeout //= 120;
	my $t0 = time;
	while (time - $t0 < $timeout)
	{
		return 1 if scalar($self->acked) >= $n;
		usleep(50_000);
	}
	return 0;
}

sub DESTROY
{
	my ($self) = @_;
	local $?;
	$self->stop if $self->{pid} && $self->{pid} != $$;
	return;
}

package EngramTest;

=pod

=item check_acked($node, $table, \@writers, %opts)

Compare what the writers were told was committed with what $node holds:
returns a hashref with acked (count), lost (acked ids missing), wrong
(present with content different from what the client sent), phantom (ids
present that no writer ever sent), rolled_visible (rolled-back ids that are
visible), in_doubt (present ids sent but never acknowledged: their commit
may or may not have happened before the crash, both are correct).
opts: id_col (id), content_expr (SQL expression giving the content text for
a row, default content), where (extra filter).

=cut

sub check_acked
{
	my ($node, $table, $writers, %opts) = @_;
	my $idc = $opts{id_col} // 'id';
	my $cexpr = $opts{content_expr} // 'content';
	my $where = $opts{where} // 'true';

	# What the clients were told, read BEFORE the query: anything
	# acknowledged later may or may not be in the query's snapshot.
	my (%acked, %rb, %forgotten);
	for my $w (@$writers)
	{
		$acked{$_} = 1 for $w->acked;
		$rb{$_} = 1 for $w->rolled_back;
		$forgotten{$_} = 1 for $w->forgotten;
	}
	my $rows = $node->safe_psql($opts{db} // 'postgres',
		"SELECT $idc, md5($cexpr) FROM $table WHERE $where ORDER BY 1");
	# What the clients sent (in doubt or not), read AFTER the query: anything
	# that can be in the query's snapshot was sent before it.
	my (%sent, %forget_sent);
	for my $w (@$writers)
	{
		$sent{$_} = 1 for $w->sent;
		$forget_sent{$_} = 1 for $w->forget_sent;
	}
	my %present;
	for my $l (split /\n/, $rows)
	{
		my ($id, $m) = split /\|/, $l;
		$present{$id} = $m;
	}
	my %r = (acked => scalar(keys %acked), lost => [], wrong => [],
		phantom => [], rolled_visible => [], in_doubt => [],
		forgotten_visible => [], forgotten => scalar(keys %forgotten),
		present => scalar(keys %present));
	for my $id (sort { $a <=> $b } keys %acked)
	{
		if (!exists $present{$id})
		{
			# a forget of it may have committed without acknowledgement
			push @{ $r{lost} }, $id unless $forget_sent{$id};
		}
		elsif ($present{$id} ne md5_hex(row_content(int($id / 10_000_000), $id)))
		{
			push @{ $r{wrong} }, $id;
		}
	}
	for my $id (sort { $a <=> $b } keys %rb)
	{
		push @{ $r{rolled_visible} }, $id if exists $present{$id};
	}
	for my $id (sort { $a <=> $b } keys %forgotten)
	{
		push @{ $r{forgotten_visible} }, $id if exists $present{$id};
	}
	my %clients = map { $_->{client} => 1 } @$writers;
	for my $id (sort { $a <=> $b } keys %present)
	{
		next unless $clients{ int($id / 10_000_000) };
		if (!$sent{$id})
		{
			push @{ $r{phantom} }, $id;
		}
		elsif (!$acked{$id} && !$rb{$id})
		{
			push @{ $r{in_doubt} }, $id;
		}
	}
	return \%r;
}

# One-line summary of check_acked's result
sub ack_summary
{
	my ($r) = @_;
	return sprintf(
		"acked=%d present=%d lost=%d wrong=%d rolled_back_visible=%d phantom=%d in_doubt=%d forgotten=%d forgotten_visible=%d",
		$r->{acked}, $r->{present}, scalar @{ $r->{lost} }, scalar @{ $r->{wrong} },
		scalar @{ $r->{rolled_visible} }, scalar @{ $r->{phantom} },
		scalar @{ $r->{in_doubt} }, $r->{forgotten} // 0,
		scalar @{ $r->{forgotten_visible} // [] });
}

# Assert the usual invariants of check_acked's result
sub ack_ok
{
	my ($r, $what) = @_;
	note("$what: " . ack_summary($r));
	is(scalar @{ $r->{lost} }, 0, "$what: no acknowledged row lost")
	  or diag("lost ids: @{$r->{lost}}[0 .. ($#{$r->{lost}} < 9 ? $#{$r->{lost}} : 9)]");
	is(scalar @{ $r->{wrong} }, 0, "$what: every acknowledged row has the content the client sent")
	  or diag("wrong ids: @{$r->{wrong}}[0 .. ($#{$r->{wrong}} < 9 ? $#{$r->{wrong}} : 9)]");
	is(scalar @{ $r->{rolled_visible} }, 0, "$what: no rolled-back row visible");
	is(scalar @{ $r->{phantom} }, 0, "$what: no row that was never sent");
	is(scalar @{ $r->{forgotten_visible} }, 0, "$what: no acknowledged forget undone")
	  if $r->{forgotten};
	return;
}

# Seeded pseudo-random numbers independent of Perl's rand() state
sub rng
{
	my ($seed) = @_;
	my $s = $seed & 0x7fffffff;
	return sub {
		$s = (1103515245 * $s + 12345) & 0x7fffffff;
		return $s / 0x80000000;
	};
}

1;
