
# Copyright (c) engram authors
#
# Crash safety of the engram table AM (issue 4): the server dies while a
# 50k-row COPY and two inserting clients are running, three ways:
#   1. pg_ctl stop -m immediate
#   2. kill -9 of the backend running the COPY (postmaster reinitialises)
#   3. kill -9 of the postmaster
# After each restart: every acknowledged row is present with the content the
# client sent (md5 per row), no row of the unfinished COPY and no rolled-back
# row is visible, nothing appears that was never sent, the btree indexes
# agree with a sequential scan and pass amcheck (bt_index_check with
# heapallindexed).  Finally a COPY that completed survives a crash intact.
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
use IPC::Run;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('crash', checksums => 1);
my $f = EngramTest::features($node);
my $am = $f->{test_am};

$node->safe_psql('postgres', qq{
	CREATE TABLE t (id int8 PRIMARY KEY, client int NOT NULL, content text NOT NULL) USING $am;
	CREATE INDEX t_client_id ON t (client, id);
	CREATE EXTENSION amcheck;
});

# The COPY input: 50k rows of "client" 90, contents from the same generator
# the writers use (every 97th row is toasted).
my $copy_client = 90;
my $copy_rows = 50_000;
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $copyfile = "$tmp/copy.tsv";
{
	open my $fh, '>', $copyfile or die;
	for my $n (1 .. $copy_rows)
	{
		my $id = $copy_client * 10_000_000 + $n;
		print $fh "$id\t$copy_client\t" . EngramTest::row_content($copy_client, $id) . "\n";
	}
	close $fh;
	chmod 0644, $copyfile;
}

# Start the COPY in the background; return the harness once it has
# processed at least $min rows (pg_stat_progress_copy), with its backend pid.
# The COPY shares one implicit transaction with a pg_sleep after it, so even
# on a machine fast enough to finish the 50k rows before we look, the crash
# still comes before that transaction commits.
sub start_copy
{
	my ($min) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres') . ' application_name=engram_copy', '-c',
		  "COPY t FROM '$copyfile'; SELECT pg_sleep(300)" ],
		'>', \$out, '2>', \$err);
	my $pid;
	my $t0 = time;
	while (time - $t0 < 120)
	{
		my ($rc, $o) = $node->psql('postgres', qq{
			SELECT pid FROM pg_stat_progress_copy WHERE relid = 't'::regclass AND tuples_processed >= $min
			UNION ALL
			SELECT pid FROM pg_stat_activity WHERE application_name = 'engram_copy' AND wait_event = 'PgSleep'
			LIMIT 1});
		if ($rc == 0 && $o =~ /^(\d+)$/)
		{
			$pid = $1;
			last;
		}
		last unless $h->pumpable;
		usleep(20_000);
	}
	return ($h, $pid);
}

sub copy_rows_visible
{
	return $node->safe_psql('postgres', "SELECT count(*) FROM t WHERE client = $copy_client");
}

sub check_all
{
	my ($what, $writers, $copy_expected) = @_;
	my $r = EngramTest::check_acked($node, 't', $writers, where => "client <> $copy_client");
	EngramTest::ack_ok($r, $what);
	ok($r->{acked} > 0, "$what: the clients got acknowledgements ($r->{acked})");
	# The clients are stopped before this check, so a row that is present
	# but was never acknowledged can only be one whose commit reply was lost
	# in a crash: at most one per client.
	cmp_ok(scalar @{ $r->{in_doubt} }, '<=', scalar @$writers,
		"$what: row count matches the acknowledged ids (present = acked + at most one in-doubt commit per client)");
	is(copy_rows_visible(), $copy_expected,
		"$what: " . ($copy_expected ? "the committed COPY is complete" : "no row of the interrupted COPY is visible"));
	my ($seq, $idx, $plan) = EngramTest::index_vs_seqscan($node, 't', 'id');
	like($plan, qr/Index/, "$what: the index check really uses an index");
	is($idx, $seq, "$what: primary key index scan returns the same rows as a seq scan");
	my ($seq2, $idx2) = EngramTest::index_vs_seqscan($node, 't', 'client, id');
	is($idx2, $seq2, "$what: (client, id) index scan returns the same rows as a seq scan");
	my ($n, @bad) = EngramTest::amcheck_btrees($node, 't');
	is($n, 2, "$what: two btree indexes checked");
	is(scalar @bad, 0, "$what: bt_index_check(heapallindexed) passes") or diag(join("\n", @bad));
	return;
}

my $seed = 4242;
my @writers;
for my $scenario ('stop immediate', 'kill -9 of the COPY backend', 'kill -9 of the postmaster')
{
	my $c0 = 1 + 2 * scalar(@writers);
	my @w = map {
		EngramTest::start_writer($node, table => 't', client => $_, sleep_ms => 2)
	} ($c0, $c0 + 1);
	$_->wait_acked(50) for @w;
	my ($h, $pid) = start_copy(10_000 + 3_000 * scalar(@writers));
	ok(defined $pid, "$scenario: the COPY's transaction is running when the crash comes");
	if ($scenario eq 'stop immediate')
	{
		$node->stop('immediate');
		$node->start;
	}
	elsif ($scenario eq 'kill -9 of the COPY backend')
	{
		my $logpos = -s $node->logfile;
		kill 'KILL', $pid if $pid;
		ok(defined EngramTest::wait_crash_restart($node, $logpos),
			"$scenario: the postmaster saw the backend die and reinitialised");
	}
	else
	{
		EngramTest::kill9_and_restart($node);
	}
	eval { $h->finish; };
	# let the writers reconnect and commit a bit more after the restart
	my $before = scalar($w[0]->acked);
	$w[0]->wait_acked($before + 20, 60);
	$_->stop for @w;
	push @writers, @w;
	check_all("after $scenario", \@writers, 0);
}

# A COPY that commits must survive a crash completely, row for row.
$node->safe_psql('postgres', "COPY t FROM '$copyfile'");
$node->stop('immediate');
$node->start;
check_all('after a crash following a committed COPY', \@writers, $copy_rows);
my $rows = $node->safe_psql('postgres',
	"SELECT id, md5(content) FROM t WHERE client = $copy_client ORDER BY id");
my $bad = 0;
for my $l (split /\n/, $rows)
{
	my ($id, $m) = split /\|/, $l;
	$bad++ if $m ne md5_hex(EngramTest::row_content($copy_client, $id));
}
is($bad, 0, 'every COPY row has the content of the input file');

# The server still works normally after all that
$node->safe_psql('postgres', "INSERT INTO t VALUES (1, 0, 'after'); UPDATE t SET content = 'after2' WHERE id = 1");
is($node->safe_psql('postgres', 'SELECT content FROM t WHERE id = 1'), 'after2', 'writes work after recovery');

$node->stop;
done_testing();
