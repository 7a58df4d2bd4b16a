
# Copyright (c) engram authors
#
# Backup and point-in-time recovery of engram data (issue 9).
# pg_basebackup of a primary with WAL archiving; then a first phase of
# changes (inserts, updates, deletes, VACUUM, migrate, remember/forget/
# associate), a snapshot of the expected state (table checksums, recall
# results), a named restore point and a timestamp; then a second phase of
# changes (more rows, TRUNCATE, deletes, migrate back).  Restores:
#  - to the named restore point (recovery_target_name),
#  - to the timestamp (recovery_target_time),
#  - to the end of the archive,
# each must hold exactly the expected snapshot; engram.verify is clean and
# amcheck passes there.
use strict;
use warnings;
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $primary = EngramTest::new_primary('pitr_primary', has_archiving => 1);
my $f = EngramTest::features($primary);
my $am = $f->{test_am};
my $mem = $f->{remember} && $f->{forget} && $f->{vector};
my $migrate = $f->{migrate} && $am eq 'engram';

$primary->safe_psql('postgres', qq{
	CREATE EXTENSION amcheck;
	CREATE TABLE docs (id int8 PRIMARY KEY, grp int, body text) USING $am;
	CREATE INDEX docs_grp ON docs (grp);
	CREATE TABLE scratch (k int, v text) USING $am;
	INSERT INTO docs SELECT i, i % 10, repeat(md5(i::text), 1 + i % 6) FROM generate_series(1, 3000) i;
	INSERT INTO scratch SELECT i, 'v' || i FROM generate_series(1, 500) i;
});
$primary->backup('base');

sub remember_sql
{
	my ($from, $to, $tag) = @_;
	return "SELECT engram.remember('$tag memory ' || i, engram.embed_text('$tag memory ' || i, 64), metadata => jsonb_build_object('n', i)) FROM generate_series($from, $to) i";
}

# ---- phase 1 --------------------------------------------------------------------
$primary->safe_psql('postgres', q{
	INSERT INTO docs SELECT i, i % 10, 'phase1 ' || repeat(md5(i::text), 200) FROM generate_series(3001, 3050) i;
	UPDATE docs SET body = body || ' p1' WHERE id % 3 = 0;
	DELETE FROM docs WHERE id % 8 = 0;
	VACUUM docs;
});
if ($migrate)
{
	$primary->safe_psql('postgres', "SELECT count(*) FROM (SELECT engram.migrate('docs'::regclass, 1000000000, 'cold')) s");
	$primary->safe_psql('postgres', "SELECT count(*) FROM (SELECT engram.migrate('docs'::regclass, 200000, 'warm')) s");
}
if ($mem)
{
	$primary->safe_psql('postgres', remember_sql(1, 300, 'phase1'));
	$primary->safe_psql('postgres', "SELECT engram.forget(id) FROM engram.memory WHERE (metadata->>'n')::int % 10 = 0");
	$primary->safe_psql('postgres', "SELECT engram.associate(a.id, a.id + 1) FROM engram.memory a WHERE (metadata->>'n')::int % 7 = 1 AND EXISTS (SELECT 1 FROM engram.memory b WHERE b.id = a.id + 1)")
	  if $f->{associate};
}

my $mem_sum = "SELECT count(*) || ':' || coalesce(md5(string_agg(id || content || coalesce(embedding::text, '') || metadata::text || confidence, ',' ORDER BY id)), '-') FROM engram.memory";
my $recall_q = "SET engram.weight_activation = 0; SELECT string_agg(id || ':' || md5(content), ',' ORDER BY score DESC, id) FROM engram.recall(engram.embed_text('phase1 memory 42', 64), 10, record_access => false)";
sub snapshot
{
	my ($node) = @_;
	my %s = (
		docs => EngramTest::table_checksum($node, 'docs', 'id'),
		scratch => EngramTest::table_checksum($node, 'scratch', 'k'));
	if ($mem)
	{
		$s{memory} = $node->safe_psql('postgres', $mem_sum);
		$s{recall} = $node->safe_psql('postgres', $recall_q) if $f->{recall};
	}
	return \%s;
}

my $s1 = snapshot($primary);
$primary->safe_psql('postgres', "SELECT pg_create_restore_point('engram_rp1')");
usleep(1_100_000);
my $t1 = $primary->safe_psql('postgres', 'SELECT now()');
usleep(1_100_000);

# ---- phase 2 --------------------------------------------------------------------
$primary->safe_psql('postgres', q{
	INSERT INTO docs SELECT i, i % 10, 'phase2 ' || md5(i::text) FROM generate_series(5001, 6000) i;
	DELETE FROM docs WHERE id % 5 = 0;
	UPDATE docs SET grp = grp + 100 WHERE id % 11 = 0;
	TRUNCATE scratch;
	INSERT INTO scratch VALUES (1, 'after truncate');
	VACUUM docs;
});
$primary->safe_psql('postgres', "SELECT count(*) FROM (SELECT engram.migrate('docs'::regclass, 1000000000, 'hot')) s")
  if $migrate;
if ($mem)
{
	$primary->safe_psql('postgres', remember_sql(1, 200, 'phase2'));
	$primary->safe_psql('postgres', "SELECT engram.forget(id) FROM engram.memory WHERE content LIKE 'phase1 memory 4%'");
}
my $s2 = snapshot($primary);
isnt($s2->{docs}, $s1->{docs}, 'phase 2 changed docs (the restore points are distinguishable)');

# archive everything
my $walfile = $primary->safe_psql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
$primary->poll_query_until('postgres',
	"SELECT last_archived_wal >= '$walfile' FROM pg_stat_archiver")
  or die "WAL $walfile was not archived";

sub restore_node
{
	my ($name, $target) = @_;
	my $n = PostgreSQL::Test::Cluster->new($name);
	$n->init_from_backup($primary, 'base', has_restoring => 1, standby => 0);
	$n->append_conf('postgresql.conf', "$target\nrecovery_target_action = 'promote'\narchive_mode = off");
	$n->start;
	$n->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
	  or die "$name did not finish recovery";
	return $n;
}

sub compare
{
	my ($n, $exp, $what) = @_;
	my $got = snapshot($n);
	for my $k (sort keys %$exp)
	{
		is($got->{$k}, $exp->{$k}, "$what: $k equals the expected snapshot");
	}
	my ($c, @bad) = EngramTest::amcheck_btrees($n, 'docs');
	is(scalar @bad, 0, "$what: amcheck passes on docs") or diag(join("\n", @bad));
	if ($f->{verify} && $am eq 'engram')
	{
		my @p = EngramTest::verify_problems($n, 'docs');
		is(scalar @p, 0, "$what: engram.verify('docs') clean") or diag(join("\n", @p));
	}
	my ($seq, $idx) = EngramTest::index_vs_seqscan($n, 'docs', 'grp, id');
	is($idx, $seq, "$what: index scan agrees with seq scan");
	return;
}

my $ra = restore_node('pitr_name', "recovery_target_name = 'engram_rp1'");
compare($ra, $s1, 'restored to the named restore point');
$ra->stop;

my $rb = restore_node('pitr_time', "recovery_target_time = '$t1'");
compare($rb, $s1, 'restored to a point in time');
$rb->stop;

my $rc = restore_node('pitr_end', '');
compare($rc, $s2, 'restored to the end of the archive');
EngramTest::dumps_identical($primary, $rc, 'pg_dumpall of the primary and the fully restored node are identical');
# the restored node is a normal primary: it takes writes
$rc->safe_psql('postgres', "INSERT INTO docs VALUES (999999, 0, 'written after restore')");
is($rc->safe_psql('postgres', 'SELECT body FROM docs WHERE id = 999999'), 'written after restore',
	'the restored node accepts writes');
$rc->stop;

$primary->stop;
done_testing();
