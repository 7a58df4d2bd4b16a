
# Copyright (c) engram authors
#
# Streaming replication of everything engram does (issue 9).
# A primary (wal_consistency_checking = 'generic') runs every engram
# operation the installed extension has: remember, forget, associate,
# consolidate, migrate to every tier, VACUUM, ANN index build and inserts,
# TRUNCATE.  Then:
#  - a hot standby WITH the library: pg_dumpall identical to the primary's,
#    engram.verify clean there, engram.recall returns the same rows on both,
#    recall works read-only on the standby, ANN queries agree;
#  - read-your-writes: a memory written on the primary is visible on the
#    standby after waiting for its replay LSN, and at once with
#    synchronous_commit = remote_apply;
#  - a standby WITHOUT the library replays the same stream; then the library
#    is "installed" (the node is stopped and restarted from the installation
#    with engram) and its results equal the primary's.
use strict;
use warnings;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $primary = EngramTest::new_primary('primary', wcc => 1);
my $f = EngramTest::features($primary);
if (!$f->{remember} && !$f->{test_am})
{
	plan skip_all => EngramTest::missing_msg('engram.remember and table AM engram');
}
my $am = $f->{test_am};
my $standby = EngramTest::new_standby($primary, 'standby', backup_name => 'b1');
my $nolib = EngramTest::new_standby($primary, 'nolib', nolib => 1,
	backup_name => 'b1', reuse_backup => 1);

my $E = "engram.embed_text";
my $have_embed = $primary->safe_psql('postgres',
	"SELECT count(*) > 0 FROM pg_proc WHERE proname = 'embed_text' AND pronamespace::regnamespace::text = 'engram'") eq 't';

# recall with a deterministic score (no time-dependent activation term)
my $det = 'SET engram.weight_activation = 0;';
sub recall_rows
{
	my ($node, $cue, $k, $extra) = @_;
	$extra //= ', record_access => false';
	return $node->safe_psql('postgres',
		"$det SELECT string_agg(id || ':' || md5(content), ',' ORDER BY score DESC, id) FROM engram.recall($E(\$q\$$cue\$q\$, 64), $k$extra)");
}

# ---- the workload ------------------------------------------------------------
my @done;
SKIP:
{
	skip EngramTest::missing_msg('engram.remember / engram.embed_text'), 1
	  unless $f->{remember} && $have_embed;
	$primary->safe_psql('postgres', qq{
		SELECT engram.remember('note ' || i || ' about ' || (ARRAY['cats','dogs','rust','postgres','tea'])[1 + i % 5],
		                       $E('note ' || i || ' about ' || (ARRAY['cats','dogs','rust','postgres','tea'])[1 + i % 5], 64),
		                       confidence => (0.5 + (i % 5) / 10.0)::float4,
		                       metadata => jsonb_build_object('i', i))
		FROM generate_series(1, 400) i;
		-- near duplicates for consolidate
		SELECT engram.remember('the build server is down again', $E('the build server is down again', 64)) FROM generate_series(1, 4);
		-- a large memory (toasted)
		SELECT engram.remember(repeat('long memory ', 5000), $E('long memory', 64));
	});
	push @done, 'remember';
	ok(1, 'remember ran on the primary');
}
SKIP:
{
	skip EngramTest::missing_msg('engram.associate'), 1 unless $f->{associate} && $f->{remember};
	$primary->safe_psql('postgres', q{
		SELECT engram.associate(a.id, b.id, 0.5)
		FROM (SELECT id, row_number() OVER (ORDER BY id) r FROM engram.memory) a
		JOIN (SELECT id, row_number() OVER (ORDER BY id) r FROM engram.memory) b ON b.r = a.r + 1
		WHERE a.r % 3 = 0;
	});
	push @done, 'associate';
	ok(1, 'associate ran');
}
SKIP:
{
	skip EngramTest::missing_msg('engram.forget'), 1 unless $f->{forget} && $f->{remember};
	$primary->safe_psql('postgres',
		"SELECT engram.forget(id) FROM engram.memory WHERE (metadata->>'i')::int % 9 = 0");
	push @done, 'forget';
	ok(1, 'forget ran');
}
SKIP:
{
	skip EngramTest::missing_msg('engram.consolidate'), 1 unless $f->{consolidate} && $f->{remember};
	my $r = $primary->safe_psql('postgres', "SELECT string_agg(action || '=' || count, ' ') FROM engram.consolidate()");
	note("consolidate: $r");
	push @done, 'consolidate';
	ok(1, 'consolidate ran');
}
SKIP:
{
	skip EngramTest::missing_msg('table AM engram'), 1 unless $am;
	my $vcol = $f->{vector} ? 'engram.vector(64)' : 'text';
	my $vexp = $have_embed ? "$E('doc ' || i, 64)" : 'NULL';
	$primary->safe_psql('postgres', qq{
		CREATE TABLE docs (id int8 PRIMARY KEY, body text, emb $vcol) USING $am;
		INSERT INTO docs SELECT i, repeat(md5(i::text), 1 + i % 9), $vexp FROM generate_series(1, 3000) i;
		UPDATE docs SET body = body || ' updated' WHERE id % 4 = 0;
		DELETE FROM docs WHERE id % 10 = 0;
		VACUUM docs;
		CREATE TABLE scratch (k int, v text) USING $am;
		INSERT INTO scratch SELECT i, 'v' || i FROM generate_series(1, 1000) i;
		TRUNCATE scratch;
		INSERT INTO scratch SELECT i, 'after' || i FROM generate_series(1, 100) i;
	});
	push @done, 'engram table DML, VACUUM, TRUNCATE';
	ok(1, 'engram table insert/update/delete/vacuum/truncate ran');
}
SKIP:
{
	skip EngramTest::missing_msg('index AM engram_hnsw with vector_cosine_ops'), 1
	  unless $am && $f->{hnsw} && $f->{cosine_ops} && $have_embed;
	$primary->safe_psql('postgres', qq{
		CREATE INDEX docs_ann ON docs USING engram_hnsw (emb engram.vector_cosine_ops);
		INSERT INTO docs SELECT i, 'late ' || i, $E('doc ' || i, 64) FROM generate_series(5001, 5500) i;
		DELETE FROM docs WHERE id BETWEEN 5001 AND 5050;
		VACUUM docs;
	});
	push @done, 'ANN';
	ok(1, 'ANN index build, inserts, vacuum ran');
}
SKIP:
{
	skip EngramTest::missing_msg('engram.migrate'), 1 unless $f->{migrate} && $am;
	for my $tier ('warm', 'cold', 'hot', 'cold')
	{
		$primary->safe_psql('postgres', "SELECT count(*) FROM (SELECT engram.migrate('docs'::regclass, 1000000000, '$tier')) s");
	}
	$primary->safe_psql('postgres', "SELECT count(*) FROM (SELECT engram.migrate('docs'::regclass, 1000000000, 'warm')) s WHERE false");
	my $mem_am = $primary->safe_psql('postgres',
		"SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'engram.memory'::regclass");
	if ($mem_am eq 'engram')
	{
		$primary->safe_psql('postgres', "SELECT count(*) FROM (SELECT engram.migrate('engram.memory'::regclass, 1000000000, '$_')) s")
		  for ('cold', 'warm');
	}
	$primary->safe_psql('postgres', 'UPDATE docs SET body = body || \' after migrate\' WHERE id % 7 = 0; VACUUM docs');
	push @done, 'migrate';
	ok(1, 'migrate to every tier ran');
}
$primary->safe_psql('postgres', 'VACUUM; CHECKPOINT');
note("operations run: @done");

# ---- the standby with the library --------------------------------------------
EngramTest::wait_catchup($primary, $standby);
ok(EngramTest::postmaster_alive($standby), 'standby (with library) still running after the workload');
unlike(slurp_file($standby->logfile), qr/inconsistent page found|PANIC|FATAL:.*redo/,
	'no WAL consistency failure on the standby');
EngramTest::dumps_identical($primary, $standby, 'pg_dumpall of primary and standby are identical');

SKIP:
{
	skip EngramTest::missing_msg('engram.verify'), 1 unless $f->{verify};
	for my $t (grep { $primary->safe_psql('postgres',
				"SELECT a.amname = 'engram' FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = to_regclass('$_')") eq 't' }
		('docs', 'scratch', 'engram.memory'))
	{
		my @p = EngramTest::verify_problems($standby, $t);
		is(scalar @p, 0, "engram.verify('$t') is clean on the standby") or diag(join("\n", @p));
	}
}

SKIP:
{
	skip EngramTest::missing_msg('engram.recall / engram.embed_text'), 4 unless $f->{recall} && $have_embed;
	for my $cue ('note about cats', 'postgres', 'the build server is down')
	{
		my $p = recall_rows($primary, $cue, 10);
		my $s = recall_rows($standby, $cue, 10);
		ok($p ne '', "recall('$cue') finds memories on the primary");
		is($s, $p, "recall('$cue') returns the same rows on primary and standby");
	}
	# read-only recall with the default record_access on the hot standby
	my ($rc, $out, $err) = $standby->psql('postgres',
		"SELECT count(*) FROM engram.recall($E('note about tea', 64), 5)");
	is($rc, 0, 'recall with default arguments works on the hot standby') or diag($err);
	is($out, '5', 'and returns k rows');
}

SKIP:
{
	skip EngramTest::missing_msg('engram_hnsw'), 1 unless grep { $_ eq 'ANN' } @done;
	my $q = "SET enable_seqscan = off; SELECT string_agg(id::text, ',' ORDER BY d, id) FROM (SELECT id, emb OPERATOR(engram.<=>) $E('doc 77', 64) AS d FROM docs ORDER BY emb OPERATOR(engram.<=>) $E('doc 77', 64) LIMIT 10) s";
	my $p = $primary->safe_psql('postgres', $q);
	is($standby->safe_psql('postgres', $q), $p, 'ANN index scan returns the same rows on the standby');
	like($standby->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY emb OPERATOR(engram.<=>) $E('doc 77', 64) LIMIT 10"),
		qr/docs_ann/, 'the standby query uses the ANN index');
}

# ---- read-your-writes ----------------------------------------------------------
SKIP:
{
	skip EngramTest::missing_msg('engram.remember / engram.embed_text'), 2 unless $f->{remember} && $have_embed;
	my $id = $primary->safe_psql('postgres',
		"SELECT engram.remember('ryw by lsn', $E('ryw by lsn', 64))");
	my $lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
	$standby->poll_query_until('postgres', "SELECT pg_last_wal_replay_lsn() >= '$lsn'")
	  or die 'standby never replayed the write';
	is($standby->safe_psql('postgres', "SELECT content FROM engram.memory WHERE id = $id"),
		'ryw by lsn', 'read-your-writes: visible on the standby once its replay LSN passed the commit');

	$primary->append_conf('postgresql.conf', "synchronous_standby_names = 'standby'");
	$primary->reload;
	$primary->poll_query_until('postgres',
		"SELECT sync_state = 'sync' FROM pg_stat_replication WHERE application_name = 'standby'")
	  or die 'standby never became synchronous';
	my $ok = 1;
	for my $i (1 .. 20)
	{
		my $id2 = $primary->safe_psql('postgres',
			"SET synchronous_commit = remote_apply; SELECT engram.remember('ryw remote_apply $i', $E('ryw remote_apply $i', 64))");
		# no waiting at all: remote_apply returned only after the standby applied it
		my $c = $standby->safe_psql('postgres', "SELECT content FROM engram.memory WHERE id = $id2");
		$ok = 0 unless $c eq "ryw remote_apply $i";
	}
	ok($ok, 'read-your-writes: with synchronous_commit = remote_apply a memory is visible on the standby at once (20 of 20)');
	$primary->append_conf('postgresql.conf', "synchronous_standby_names = ''");
	$primary->reload;
}

# ---- the standby without the library -------------------------------------------
$primary->safe_psql('postgres', 'CHECKPOINT');
$primary->wait_for_catchup($nolib, 'replay', $primary->lsn('insert'));
ok(EngramTest::postmaster_alive($nolib), 'no-library standby replayed the whole stream and is running');
unlike(slurp_file($nolib->logfile), qr/PANIC|FATAL:.*redo|inconsistent page/, 'no redo failure without the library');

# "install the library": restart the same data directory from the
# installation that has engram
$nolib->stop;
EngramTest::switch_install($nolib, undef);
$nolib->start;
EngramTest::wait_catchup($primary, $nolib);
EngramTest::dumps_identical($primary, $nolib,
	'after installing the library, pg_dumpall of the former no-library standby equals the primary\'s');
SKIP:
{
	skip EngramTest::missing_msg('engram.recall'), 1 unless $f->{recall} && $have_embed;
	is(recall_rows($nolib, 'note about dogs', 10), recall_rows($primary, 'note about dogs', 10),
		'and recall returns the same rows as on the primary');
}
if ($am)
{
	is(EngramTest::table_checksum($nolib, 'docs', 'id'), EngramTest::table_checksum($primary, 'docs', 'id'),
		'and the engram table docs reads the same');
}

$nolib->stop;
$standby->stop;
$primary->stop;
done_testing();
