
# Copyright (c) engram authors
#
# Crash suite (issue 8).
#
# A. Every fault point in the code: the list is read from src/*.c (the same
#    as grep -ho 'ENGRAM_FAULT_POINT("[a-z_]*")' src/*.c), so new points are
#    covered automatically.  For each, a session arms it (sigkill or panic,
#    alternately, with a seeded fault_skip), then once more with the `error`
#    action (statement fails, server goes on), and runs the operation that
#    reaches it, chosen by the name's prefix (insert/multi_insert -> INSERT /
#    COPY, update -> UPDATE, delete -> DELETE, vacuum -> VACUUM, migrate ->
#    engram.migrate, ann/index -> index build and inserts, access -> recall);
#    the other operations follow so that a point in shared code is reached
#    anyway.  Each data-changing step changes the engram table fp and a heap
#    reference table fp_ref in the same transaction, so after the crash the
#    two must hold exactly the same rows (atomicity and durability against a
#    trusted reference).  Two clients keep inserting into another engram
#    table throughout and every acknowledged row must survive.
# B. kill -9 of the postmaster at seeded pseudo-random moments while two
#    clients remember and forget memories, a third runs CHECKPOINT, VACUUM
#    and migrate: every acknowledged memory is present with the content,
#    embedding and metadata sent, no rolled-back or acknowledged-forgotten
#    one is visible.
# C. Torn pages: CHECKPOINT, update every row, kill -9, then overwrite half
#    of several of fp's blocks on disk (a torn 8 kB write); recovery must
#    restore them from the full-page images in WAL.
# After each crash: engram.verify is clean (if it exists), btree indexes pass
# amcheck, the ANN index returns results (if it exists).  A streaming standby
# (wal_consistency_checking = 'generic' on the primary) follows through all
# of it and must end with the same rows and no redo inconsistency.
# Prints "kill points tried: N, acknowledged rows lost: M" and fails if M > 0.
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

# fsync = on (every EngramTest node) and data checksums
# (max_wal_size large: no checkpoint may start by itself between part C's
# CHECKPOINT and its kill, or the torn pages would not be torn writes)
my $node = EngramTest::new_primary('crashsuite', wcc => 1, checksums => 1,
	extra_conf => 'max_wal_size = 4GB');
my $f = EngramTest::features($node);
my $am = $f->{test_am};
my $rng = EngramTest::rng(20261128);
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $vec = $f->{vector} ? 'engram.vector(16)' : 'text';
my $emb = $f->{vector} ? "engram.embed_text('e' || i, 16)" : "NULL";
$emb = "NULL" unless $node->safe_psql('postgres', "SELECT to_regproc('engram.embed_text') IS NOT NULL") eq 't';

$node->safe_psql('postgres', qq{
	CREATE EXTENSION amcheck;
	CREATE TABLE fp (id int8 PRIMARY KEY, grp int NOT NULL, content text NOT NULL, emb $vec) USING $am;
	CREATE INDEX fp_grp ON fp (grp, id);
	CREATE TABLE fp_ref (id int8 PRIMARY KEY, grp int NOT NULL, content text NOT NULL, emb $vec) USING heap;
	CREATE TABLE w (id int8 PRIMARY KEY, client int NOT NULL, content text NOT NULL) USING $am;
});

# A streaming standby follows through every crash: what the primary's crash
# recovery produced must be what the standby replays (with
# wal_consistency_checking = 'generic' set on the primary, the standby also
# compares every generic WAL record's result with the primary's page image).
# No hot_standby_feedback: its xmin would keep the primary's VACUUM from
# removing the rows the vacuum fault points need to see removed.
my $standby = EngramTest::new_standby($node, 'crashsuite_standby',
	extra_conf => 'hot_standby_feedback = off');

my $kills = 0;
my %lost;    # acknowledged ids lost, over all checks

# rows for ids a..b: the same expression feeds fp and fp_ref
sub rows_sql
{
	my ($a, $b) = @_;
	return "SELECT i, i % 7, CASE WHEN i % 50 = 0 THEN repeat(md5(i::text), 300) ELSE repeat(md5(i::text), 1 + i % 5) END, $emb FROM generate_series($a, $b) i";
}

my $next_id = 1;
sub take_ids
{
	my ($n) = @_;
	my $a = $next_id;
	$next_id += $n;
	return ($a, $next_id - 1);
}

# The operations, by kind: each a list of SQL steps (one transaction each)
sub op_sql
{
	my ($kind, $k) = @_;
	if ($kind eq 'insert')
	{
		my ($a, $b) = take_ids(300);
		my $r = rows_sql($a, $b);
		return ("BEGIN; INSERT INTO fp $r; INSERT INTO fp_ref $r; COMMIT;");
	}
	if ($kind eq 'copy')
	{
		my ($a, $b) = take_ids(300);
		my $file = "$tmp/copy_$a.tsv";
		$node->safe_psql('postgres', "COPY (" . rows_sql($a, $b) . ") TO '$file'");
		return ("BEGIN; COPY fp FROM '$file'; COPY fp_ref FROM '$file'; COMMIT;");
	}
	if ($kind eq 'update')
	{
		my $m = 5;
		return ("BEGIN; UPDATE fp SET grp = grp + 1, content = content || 'u' WHERE id % $m = $k % $m; "
			  . "UPDATE fp_ref SET grp = grp + 1, content = content || 'u' WHERE id % $m = $k % $m; COMMIT;");
	}
	if ($kind eq 'delete')
	{
		return ("BEGIN; DELETE FROM fp WHERE id % 13 = $k % 13; DELETE FROM fp_ref WHERE id % 13 = $k % 13; COMMIT;");
	}
	if ($kind eq 'vacuum')
	{
		# dead rows everywhere and empty pages at the end: prune and truncate
		return (
			"BEGIN; DELETE FROM fp WHERE id % 17 = $k % 17 OR id >= (SELECT max(id) - 120 FROM fp_ref); "
			  . "DELETE FROM fp_ref WHERE id % 17 = $k % 17 OR id >= (SELECT max(id) - 120 FROM fp_ref); COMMIT;",
			"VACUUM fp;",
			"VACUUM (FREEZE) fp;");
	}
	if ($kind eq 'migrate')
	{
		return () unless $f->{migrate};
		return map { "SELECT count(*) >= 0 FROM (SELECT engram.migrate('fp'::regclass, 100000000, '$_')) s;" }
		  ('warm', 'cold', 'hot', 'cold');
	}
	if ($kind eq 'index')
	{
		return () unless $f->{hnsw} && $emb ne 'NULL';
		my ($a, $b) = take_ids(100);
		my $r = rows_sql($a, $b);
		return (
			# with a parallel worker (ann_build_parallel_insert fires only then)
			"SET max_parallel_maintenance_workers = 1; SET min_parallel_table_scan_size = 0; "
			  . "DROP INDEX IF EXISTS fp_hnsw; CREATE INDEX fp_hnsw ON fp USING engram_hnsw (emb engram.vector_cosine_ops);",
			"BEGIN; INSERT INTO fp $r; INSERT INTO fp_ref $r; COMMIT;");
	}
	if ($kind eq 'access')
	{
		return () unless $f->{recall} && $f->{remember};
		return (
			"SELECT count(*) >= 0 FROM engram.recall(engram.embed_text('c1 memory', 64), 5);",
			"SELECT count(*) >= 0 FROM engram.recall(engram.embed_text('another cue', 64), 20);");
	}
	die "unknown kind $kind";
}

my @all_kinds = qw(insert copy update delete vacuum migrate index access);
my %prefix_kinds = (
	multi_insert => [qw(copy insert)],
	insert => [qw(insert copy)],
	update => ['update'],
	delete => ['delete'],
	vacuum => ['vacuum'],
	migrate => ['migrate'],
	ann => ['index'],
	index => ['index'],
	access => ['access'],
	recall => ['access']);

sub kinds_for
{
	my ($point) = @_;
	my @first;
	for my $p (sort { length($b) <=> length($a) } keys %prefix_kinds)
	{
		if (index($point, $p) == 0)
		{
			@first = @{ $prefix_kinds{$p} };
			last;
		}
	}
	my %seen = map { $_ => 1 } @first;
	return (@first, grep { !$seen{$_} } @all_kinds);
}

# Everything that must hold after a crash
sub check_after
{
	my ($what, $writers, %o) = @_;
	is(EngramTest::table_checksum($node, 'fp', 'id'),
		EngramTest::table_checksum($node, 'fp_ref', 'id'),
		"$what: fp holds exactly the committed rows (same as its heap reference)");
	if ($writers && @$writers)
	{
		my $r = EngramTest::check_acked($node, $o{table} // 'w', $writers, %o);
		$lost{$_} = 1 for @{ $r->{lost} };
		EngramTest::ack_ok($r, $what);
	}
	if ($f->{verify})
	{
		for my $t ('fp', 'w', ($f->{memory} ? 'engram.memory' : ()))
		{
			my $am_of = $node->safe_psql('postgres',
				"SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = '$t'::regclass");
			next if $am_of ne 'engram';    # e.g. engram.memory while it is heap
			my @p = EngramTest::verify_problems($node, $t);
			is(scalar @p, 0, "$what: engram.verify('$t') reports no problem") or diag(join("\n", @p));
		}
	}
	for my $t ('fp', 'w')
	{
		my ($n, @bad) = EngramTest::amcheck_btrees($node, $t);
		is(scalar @bad, 0, "$what: amcheck passes on the btree indexes of $t") or diag(join("\n", @bad));
	}
	if ($f->{hnsw}
		&& $node->safe_psql('postgres', "SELECT to_regclass('fp_hnsw') IS NOT NULL") eq 't')
	{
		my $n = $node->safe_psql('postgres',
			"SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM fp WHERE emb IS NOT NULL ORDER BY emb OPERATOR(engram.<=>) engram.embed_text('e42', 16) LIMIT 5) s");
		is($n, '5', "$what: the ANN index returns results");
	}
	return;
}

# ---- A. fault points -------------------------------------------------------
my @points = EngramTest::fault_points();
note("fault points found in src: @points");
$node->safe_psql('postgres', "BEGIN; INSERT INTO fp " . rows_sql(take_ids(500)) . "; INSERT INTO fp_ref " . rows_sql(1, 500) . "; COMMIT;");
if ($f->{hnsw} && $emb ne 'NULL')
{
	$node->safe_psql('postgres', 'CREATE INDEX fp_hnsw ON fp USING engram_hnsw (emb engram.vector_cosine_ops)');
}
if ($f->{remember})
{
	# something for recall to find
	$node->safe_psql('postgres',
		"SELECT engram.remember('seed memory ' || i, engram.embed_text('seed memory ' || i, 64)) FROM generate_series(1, 50) i");
}

my @wa = map { EngramTest::start_writer($node, table => 'w', client => $_, sleep_ms => 5) } (1, 2);
$_->wait_acked(20) for @wa;
my $points_fired = 0;
{
	my $i = 0;
	for my $p (@points)
	{
		$i++;
		my $action = $i % 2 ? 'sigkill' : 'panic';
		my $fired = 0;
		my $why = '';
		for my $skip (int($rng->() * 3), 0)
		{
			my @steps = map { op_sql($_, $i) } kinds_for($p);
			my $script = "LOAD 'engram';\nSET engram.fault_point = '$p';\nSET engram.fault_action = '$action';\nSET engram.fault_skip = $skip;\n";
			my $s = 0;
			$script .= join('', map { $s++; "$_\n\\echo step $s done\n" } @steps);
			my $logpos = -s $node->logfile;
			my ($rc, $out, $err) = $node->psql('postgres', $script, on_error_stop => 1);
			# the postmaster logs the crash and reinitialises after psql
			# has seen the connection drop: wait for that before looking
			my $log = $rc != 0 ? EngramTest::wait_crash_restart($node, $logpos) : undef;
			if (defined $log && $log =~ /engram fault point "\Q$p\E" reached|terminated by signal 9/)
			{
				$fired = 1;
				last;
			}
			$why = $rc ? "session failed: $err" : 'workload completed without reaching it';
			last if $skip == 0;
		}
		ok($fired, "fault point $p ($action) fired") or diag("$p: $why");
		next unless $fired;
		$points_fired++;
		$kills++;
		check_after("after fault point $p", \@wa);

		# the same point with fault_action = 'error': the statement fails,
		# the transaction aborts and the server goes on (no crash, unless
		# the point is inside a critical section, where ERROR becomes PANIC);
		# the error path must leave no lock, pin or half-logged page behind
		# (top the table up first, unarmed: the crash runs of the vacuum and
		# delete points remove rows and never reach the inserts)
		$node->safe_psql('postgres', join("\n", op_sql('insert', $i), op_sql('copy', $i)));
		my @esteps = map { op_sql($_, $i) } kinds_for($p);
		my $escript = "LOAD 'engram';\nSET engram.fault_point = '$p';\nSET engram.fault_action = 'error';\n"
		  . join('', map { "$_\n" } @esteps);
		my $elogpos = -s $node->logfile;
		my ($erc, $eout, $eerr) = $node->psql('postgres', $escript, on_error_stop => 1);
		my $elog = ($erc != 0 && $eerr !~ /ERROR:\s+engram fault point/)
		  ? EngramTest::wait_crash_restart($node, $elogpos) : undef;
		if (defined $elog)
		{
			like($elog, qr/PANIC:.*engram fault point "\Q$p\E" reached/,
				"fault point $p (error): inside a critical section the ERROR became a PANIC");
			$kills++;
		}
		else
		{
			like($eerr, qr/ERROR:\s+engram fault point "\Q$p\E" reached/,
				"fault point $p (error): the statement failed with the fault's ERROR");
			ok(EngramTest::postmaster_alive($node) && $node->safe_psql('postgres', 'SELECT 1') eq '1',
				"fault point $p (error): the server kept running");
		}
		check_after("after fault point $p (error)", \@wa);
	}
}
$_->stop for @wa;

# ---- B. kill -9 at random moments under a memory workload ------------------
{
	my $remember = "SELECT engram.remember(%CONTENT%, engram.embed_text(%CONTENT%, 64), metadata => jsonb_build_object('wid', %ID%, 'client', %CLIENT%))";
	my $forget = "SELECT engram.forget(m.id) FROM engram.memory m WHERE m.metadata->>'wid' = '%FID%'";
	my @wm = map {
		EngramTest::start_writer($node, client => $_, sql => $remember,
			forget_every => 5, forget_sql => $forget, sleep_ms => 5)
	} (11, 12);
	my @maint = ('CHECKPOINT', 'VACUUM engram.memory', 'VACUUM fp',
		($f->{migrate} && $am eq 'engram')
		? ("SELECT count(*) FROM (SELECT engram.migrate('w'::regclass, 200000, 'warm')) s",
		   "SELECT count(*) FROM (SELECT engram.migrate('w'::regclass, 200000, 'cold')) s")
		: ());
	my $mw = EngramTest::start_writer($node, client => 50, sql => \@maint,
		no_rollback => 1, sleep_ms => 300);
	my @ww = map { EngramTest::start_writer($node, table => 'w', client => $_, sleep_ms => 5) } (3, 4);
	$_->wait_acked(20) for @wm;
	my $mem_where = "metadata ? 'wid'";
	my $mem_id = "(metadata->>'wid')::int8";
	for my $k (1 .. 6)
	{
		usleep(int((0.5 + 2.5 * $rng->()) * 1_000_000));
		EngramTest::kill9_and_restart($node);
		$kills++;
		# writers reconnect and continue; check with them still running
		$wm[0]->wait_acked(scalar($wm[0]->acked) + 10, 60);
		my $r = EngramTest::check_acked($node, 'engram.memory', \@wm,
			id_col => $mem_id, where => $mem_where);
		$lost{$_} = 1 for @{ $r->{lost} };
		EngramTest::ack_ok($r, "random kill $k: memories");
		check_after("random kill $k", \@ww);
	}
	$_->stop for (@wm, @ww, $mw);
	my $r = EngramTest::check_acked($node, 'engram.memory', \@wm,
		id_col => $mem_id, where => $mem_where);
	$lost{$_} = 1 for @{ $r->{lost} };
	EngramTest::ack_ok($r, 'after the random kills: memories');
	ok($r->{acked} > 0 && $r->{forgotten} > 0, "memories were remembered ($r->{acked}) and forgotten ($r->{forgotten})");
	is($node->safe_psql('postgres',
		"SELECT count(*) FROM engram.memory WHERE $mem_where AND (embedding::text IS DISTINCT FROM engram.embed_text(content, 64)::text OR metadata <> jsonb_build_object('wid', $mem_id, 'client', $mem_id / 10000000))"),
		'0', 'every surviving memory has the embedding and metadata it was given');
	if ($f->{recall})
	{
		my $n = $node->safe_psql('postgres',
			"SELECT count(*) FROM engram.recall(engram.embed_text(\$\$c11-11000005\$\$, 64), 5, record_access => false)");
		is($n, '5', 'recall works after the crashes');
	}
}

# ---- C. torn pages ---------------------------------------------------------
{
	$node->safe_psql('postgres', 'CHECKPOINT');
	my ($cd0) = run_command([ 'pg_controldata', $node->data_dir ]);
	my ($redo_c) = $cd0 =~ /Latest checkpoint's REDO location:\s+(\S+)/;
	my $blocks = $node->safe_psql('postgres',
		"SELECT string_agg(b::text, ' ' ORDER BY b) FROM (SELECT DISTINCT (ctid::text::point)[0]::int8 AS b FROM fp) s");
	my @blocks = split / /, $blocks;
	$node->safe_psql('postgres', q{
		BEGIN;
		UPDATE fp SET content = content || 't', grp = grp + 100;
		UPDATE fp_ref SET content = content || 't', grp = grp + 100;
		COMMIT;
	});
	my $path = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('fp')");
	$node->kill9;
	# a torn write can only hit a page changed since the last checkpoint, whose
	# first change after it carries a full-page image: make sure no other
	# checkpoint came between (it would have written the pages whole)
	my ($cd) = run_command([ 'pg_controldata', $node->data_dir ]);
	my ($redo) = $cd =~ /Latest checkpoint's REDO location:\s+(\S+)/;
	is($redo, $redo_c, 'torn pages: the last checkpoint is the one before the UPDATE (its FPIs are replayed)');
	# wait for the children to notice
	my $t0 = time;
	usleep(100_000) while EngramTest::postmaster_alive($node) && time - $t0 < 10;
	sleep 1;
	# tear up to 6 blocks the UPDATE changed: second half replaced by garbage
	my @torn = grep { defined } @blocks[ map { int($_ * @blocks / 6) } 0 .. 5 ];
	my %torn = map { $_ => 1 } @torn;
	open my $fh, '+<', $path or die "$path: $!";
	binmode $fh;
	for my $b (sort { $a <=> $b } keys %torn)
	{
		next if $b * 8192 + 8192 > -s $path;
		seek($fh, $b * 8192 + 4096, 0);
		print $fh chr(0xAB) x 4096;
	}
	close $fh;
	note("torn blocks: " . join(' ', sort { $a <=> $b } keys %torn));
	EngramTest::restart_after_crash($node);
	$kills++;
	check_after('after torn pages', undef);
	my ($seq, $idx) = EngramTest::index_vs_seqscan($node, 'fp', 'id');
	is($idx, $seq, 'after torn pages: index scan agrees with seq scan');
}

if ($f->{verify} && $am eq 'engram')
{
	# orphan chunks left by crashed migrations are reclaimed by VACUUM
	$node->safe_psql('postgres', 'VACUUM fp; VACUUM w');
	for my $t ('fp', 'w')
	{
		my @p = EngramTest::verify_problems($node, $t, all => 1);
		is(scalar @p, 0, "after VACUUM engram.verify('$t') reports nothing at all (orphans reclaimed)")
		  or diag(join("\n", @p));
	}
}

# ---- the standby saw the same history ----------------------------------------
EngramTest::wait_catchup($node, $standby);
for my $t (['fp', 'id'], ['fp_ref', 'id'], ['w', 'id'])
{
	is(EngramTest::table_checksum($standby, $t->[0], $t->[1]),
		EngramTest::table_checksum($node, $t->[0], $t->[1]),
		"standby that followed all the crashes reads the same $t->[0]");
}
ok(EngramTest::postmaster_alive($standby), 'standby still running after all the crashes');
unlike(slurp_file($standby->logfile), qr/inconsistent page found|PANIC|FATAL:.*redo/,
	'no WAL consistency or redo failure on the standby');
if ($f->{verify} && $am eq 'engram')
{
	for my $t ('fp', 'w')
	{
		my @p = EngramTest::verify_problems($standby, $t);
		is(scalar @p, 0, "engram.verify('$t') clean on the standby") or diag(join("\n", @p));
	}
}
$standby->stop;

my $m = scalar keys %lost;
diag("kill points tried: $kills, acknowledged rows lost: $m");
diag("fault points: " . scalar(@points) . " in src, $points_fired fired");
is($m, 0, 'no acknowledged row lost over all crashes');

$node->stop;
done_testing();
