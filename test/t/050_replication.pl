
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

# fsync = on and data checksums (one full replication pass with checksums)
my $primary = EngramTest::new_primary('primary', wcc => 1, checksums => 1);
my $f = EngramTest::features($primary);
my $am = $f->{test_am};
my $standby = EngramTest::new_standby($primary, 'standby', backup_name => 'b1');
my $nolib = EngramTest::new_standby($primary, 'nolib', nolib => 1,
	backup_name => 'b1', reuse_backup => 1);
is($primary->safe_psql('postgres', 'SHOW data_checksums'), 'on', 'the primary runs with data checksums');

my $E = "engram.embed_text";

# recall with a deterministic score (no time-dependent activation term)
my $det = 'SET engram.weight_activation = 0;';
sub recall_rows
{
	my ($node, $cue, $k, $extra) = @_;
	$extra //= ', record_access => false';
	return $node->safe_psql('postgres',
		"$det SELECT string_agg(id || ':' || md5(content), ',' ORDER BY score DESC, id) FROM engram.recall($E(\$q\$$cue\$q\$, 64), $k$extra)");
}
sub q1 { return $primary->safe_psql('postgres', $_[0]); }
q1('CREATE EXTENSION amcheck');

# ---- the workload ------------------------------------------------------------
# Each step asserts its own effect; the engram table docs has a heap shadow
# docs_ref changed in the same transactions, compared on every node below.
my @done;
{
	q1(qq{
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
	is(q1('SELECT count(*) FROM engram.memory'), '405', 'remember stored 405 memories on the primary');
	is(q1("SELECT length(content) FROM engram.memory WHERE content LIKE 'long memory %'"), 5000 * 12,
		'the toasted memory reads back at full length');
}
{
	my $before = q1('SELECT count(*) FROM engram.association');
	q1(q{
		SELECT engram.associate(a.id, b.id, 0.5)
		FROM (SELECT id, row_number() OVER (ORDER BY id) r FROM engram.memory) a
		JOIN (SELECT id, row_number() OVER (ORDER BY id) r FROM engram.memory) b ON b.r = a.r + 1
		WHERE a.r % 3 = 0;
	});
	push @done, 'associate';
	# rows 3, 6, ..., 402 each linked to the next one: 134 links
	is(q1('SELECT count(*) FROM engram.association') - $before, 134, 'associate created 134 links');
}
{
	q1("SELECT engram.forget(id) FROM engram.memory WHERE (metadata->>'i')::int % 9 = 0");
	push @done, 'forget';
	is(q1("SELECT count(*) FROM engram.memory WHERE (metadata->>'i')::int % 9 = 0"), '0',
		'forget removed the 44 memories it was given');
	is(q1('SELECT count(*) FROM engram.memory'), 405 - 44, 'and nothing else');
}
{
	my $r = q1("SELECT string_agg(action || '=' || count, ' ' ORDER BY action) FROM engram.consolidate()");
	note("consolidate: $r");
	push @done, 'consolidate';
	like($r, qr/semantic_created=[1-9]/, 'consolidate created a semantic memory from the near duplicates');
	cmp_ok(q1("SELECT count(*) FROM engram.memory WHERE kind = 'semantic'"), '>=', 1,
		'the semantic memory is stored');
}
{
	q1(qq{
		CREATE TABLE docs (id int8 PRIMARY KEY, body text, emb engram.vector(64)) USING $am;
		CREATE TABLE docs_ref (id int8 PRIMARY KEY, body text, emb engram.vector(64)) USING heap;
		BEGIN;
		INSERT INTO docs SELECT i, repeat(md5(i::text), 1 + i % 9), $E('doc ' || i, 64) FROM generate_series(1, 3000) i;
		INSERT INTO docs_ref SELECT i, repeat(md5(i::text), 1 + i % 9), $E('doc ' || i, 64) FROM generate_series(1, 3000) i;
		COMMIT;
		BEGIN;
		UPDATE docs SET body = body || ' updated' WHERE id % 4 = 0;
		UPDATE docs_ref SET body = body || ' updated' WHERE id % 4 = 0;
		COMMIT;
		BEGIN;
		DELETE FROM docs WHERE id % 10 = 0;
		DELETE FROM docs_ref WHERE id % 10 = 0;
		COMMIT;
		VACUUM docs;
		CREATE TABLE scratch (k int, v text) USING $am;
		INSERT INTO scratch SELECT i, 'v' || i FROM generate_series(1, 1000) i;
		TRUNCATE scratch;
		INSERT INTO scratch SELECT i, 'after' || i FROM generate_series(1, 100) i;
	});
	push @done, 'engram table DML, VACUUM, TRUNCATE';
	is(EngramTest::table_checksum($primary, 'docs', 'id'), EngramTest::table_checksum($primary, 'docs_ref', 'id'),
		'docs after insert/update/delete/VACUUM equals its heap shadow');
	is(q1("SELECT count(*) || ':' || min(v) FROM scratch"), '100:after1', 'scratch after TRUNCATE holds only the new rows');
}
{
	q1(qq{
		CREATE INDEX docs_ann ON docs USING engram_hnsw (emb engram.vector_cosine_ops);
		BEGIN;
		INSERT INTO docs SELECT i, 'late ' || i, $E('doc ' || i, 64) FROM generate_series(5001, 5500) i;
		INSERT INTO docs_ref SELECT i, 'late ' || i, $E('doc ' || i, 64) FROM generate_series(5001, 5500) i;
		COMMIT;
		BEGIN;
		DELETE FROM docs WHERE id BETWEEN 5001 AND 5050;
		DELETE FROM docs_ref WHERE id BETWEEN 5001 AND 5050;
		COMMIT;
		VACUUM docs;
	});
	push @done, 'ANN';
	is(q1("SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM docs ORDER BY emb OPERATOR(engram.<=>) $E('doc 5100', 64) LIMIT 10) s"),
		'10', 'the ANN index built, took inserts and VACUUM, and answers');
}
{
	for my $tier ('warm', 'cold', 'hot', 'cold')
	{
		q1("SELECT count(*) FROM (SELECT engram.migrate('docs'::regclass, 1000000000, '$tier')) s");
		is(q1("SELECT string_agg(tier, ',') FROM engram.tier_stats('docs'::regclass) WHERE rows > 0"), $tier,
			"migrate to $tier: every row of docs is $tier");
	}
	my $mem_am = q1("SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'engram.memory'::regclass");
	if ($mem_am eq 'engram')
	{
		q1("SELECT count(*) FROM (SELECT engram.migrate('engram.memory'::regclass, 1000000000, '$_')) s")
		  for ('cold', 'warm');
	}
	q1("BEGIN; UPDATE docs SET body = body || ' after migrate' WHERE id % 7 = 0; "
	  . "UPDATE docs_ref SET body = body || ' after migrate' WHERE id % 7 = 0; COMMIT; VACUUM docs");
	push @done, 'migrate';
	is(EngramTest::table_checksum($primary, 'docs', 'id'), EngramTest::table_checksum($primary, 'docs_ref', 'id'),
		'docs after migrations and an update equals its heap shadow');
}
$primary->safe_psql('postgres', 'VACUUM; CHECKPOINT');
note("operations run: @done");

# ---- the standby with the library --------------------------------------------
EngramTest::wait_catchup($primary, $standby);
ok(EngramTest::postmaster_alive($standby), 'standby (with library) still running after the workload');
unlike(slurp_file($standby->logfile), qr/inconsistent page found|PANIC|FATAL:.*redo/,
	'no WAL consistency failure on the standby');
EngramTest::dumps_identical($primary, $standby, 'pg_dumpall of primary and standby are identical');
# independent of engram's own checks: the heap shadow and amcheck
is(EngramTest::table_checksum($standby, 'docs', 'id'), EngramTest::table_checksum($standby, 'docs_ref', 'id'),
	'standby: docs equals its heap shadow docs_ref');
for my $t ('docs', 'engram.memory')
{
	my ($n, @bad) = EngramTest::amcheck_btrees($standby, $t);
	cmp_ok($n, '>=', 1, "standby: amcheck checked $n btree index(es) of $t");
	is(scalar @bad, 0, "standby: amcheck passes on the btree indexes of $t") or diag(join("\n", @bad));
}

{
	for my $t (grep { $primary->safe_psql('postgres',
				"SELECT a.amname = 'engram' FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = to_regclass('$_')") eq 't' }
		('docs', 'scratch', 'engram.memory'))
	{
		my @p = EngramTest::verify_problems($standby, $t);
		is(scalar @p, 0, "engram.verify('$t') is clean on the standby") or diag(join("\n", @p));
	}
}

{
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

{
	my $q = "SET enable_seqscan = off; SELECT string_agg(id::text, ',' ORDER BY d, id) FROM (SELECT id, emb OPERATOR(engram.<=>) $E('doc 77', 64) AS d FROM docs ORDER BY emb OPERATOR(engram.<=>) $E('doc 77', 64) LIMIT 10) s";
	my $p = $primary->safe_psql('postgres', $q);
	is($standby->safe_psql('postgres', $q), $p, 'ANN index scan returns the same rows on the standby');
	like($standby->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY emb OPERATOR(engram.<=>) $E('doc 77', 64) LIMIT 10"),
		qr/docs_ann/, 'the standby query uses the ANN index');
}

# ---- read-your-writes ----------------------------------------------------------
{
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
{
	is(recall_rows($nolib, 'note about dogs', 10), recall_rows($primary, 'note about dogs', 10),
		'and recall returns the same rows as on the primary');
}
is(EngramTest::table_checksum($nolib, 'docs', 'id'), EngramTest::table_checksum($primary, 'docs', 'id'),
	'and the engram table docs reads the same');
is(EngramTest::table_checksum($nolib, 'docs', 'id'), EngramTest::table_checksum($nolib, 'docs_ref', 'id'),
	'and equals its heap shadow there');

$nolib->stop;
$standby->stop;
$primary->stop;
done_testing();
