
# Copyright (c) engram authors
#
# Disk full (issue 17): an engram table in a tablespace on a small tmpfs
# (mounted by test/scripts/run_tests.sh when it runs as root, path in
# ENGRAM_SMALL_FS; WAL stays on the big disk, so it is the data files that
# cannot grow).
#  1. COPY into the engram table until the filesystem is full: a clean ERROR
#     naming the file and "No space left on device", the server keeps
#     running, the table holds exactly the rows committed before (equal to a
#     heap shadow in the default tablespace), verify and amcheck clean.
#  2. Migration to COLD with the filesystem full: since 0.2.0 COLD chunks
#     live in the free space of their rows' own data page (ADR 0010), so a
#     pass never extends the relation and completes on a full filesystem;
#     the file does not grow, every row reads the same, verify is clean.
#  3. kill -9 after all that: crash recovery replays it (the WAL is
#     elsewhere), rows unchanged.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $small = $ENV{ENGRAM_SMALL_FS} // '';
plan skip_all => 'no small filesystem: ENGRAM_SMALL_FS is empty (the runner mounts a tmpfs only as root)'
  unless $small ne '' && -d $small && -w $small;

my $node = EngramTest::new_primary('diskfull', checksums => 1);
EngramTest::features($node);
mkdir "$small/ts" or die "$small/ts: $!";
$node->safe_psql('postgres', qq{
	CREATE EXTENSION amcheck;
	CREATE TABLESPACE small LOCATION '$small/ts';
	CREATE TABLE f (id int8 PRIMARY KEY, body text NOT NULL) USING engram TABLESPACE small;
	CREATE TABLE f_ref (id int8 PRIMARY KEY, body text NOT NULL) USING heap;
	CREATE TABLE filler (b text) TABLESPACE small;
});
# One row, vacuumed while there is room: VACUUM needs f's visibility map fork
# (ADR 0012), and creating or growing it on a full filesystem fails with
# ENOSPC as heap's VACUUM does; one map page covers 32,672 data pages, so the
# VACUUMs below never have to grow it.
$node->safe_psql('postgres', q{
	INSERT INTO f VALUES (0, 'seed');
	INSERT INTO f_ref VALUES (0, 'seed');
	VACUUM f;
});

# 1000-row COPY files; bodies incompressible-ish and ~600 bytes
my $tmp = PostgreSQL::Test::Utils::tempdir();
sub copy_file
{
	my ($a) = @_;
	my $file = "$tmp/rows_$a.tsv";
	$node->safe_psql('postgres',
		"COPY (SELECT i, string_agg(md5(i::text || ':' || j), '' ORDER BY j) FROM generate_series($a, $a + 999) i, generate_series(1, 19) j GROUP BY i) TO '$file'");
	return $file;
}

# ---- 1. COPY until full ----------------------------------------------------------
# two thirds of the filesystem taken by a heap filler first, so that f stays
# small enough for a COLD copy of it to fit once the filler is dropped
$node->safe_psql('postgres', "INSERT INTO filler SELECT repeat(md5(g::text), 30) FROM generate_series(1, 2000) g")
  for 1 .. 8;
my ($full_err, $batches) = ('', 0);
for (my $a = 1; $a < 200_000; $a += 1000)
{
	my $file = copy_file($a);
	my ($rc, $out, $err) = $node->psql('postgres',
		"BEGIN; COPY f FROM '$file'; COPY f_ref FROM '$file'; COMMIT;");
	if ($rc != 0)
	{
		$full_err = $err;
		last;
	}
	$batches++;
}
note("COPY failed after $batches batches: $full_err");
cmp_ok($batches, '>', 0, "$batches COPY batches fitted before the filesystem was full");
like($full_err, qr/could not (extend|write to) file .*No space left on device/,
	'COPY into the full filesystem fails with ERROR ... No space left on device');
ok(EngramTest::postmaster_alive($node), 'the server is still running');
is(EngramTest::table_checksum($node, 'f', 'id'), EngramTest::table_checksum($node, 'f_ref', 'id'),
	'after the failed COPY: f holds exactly the committed rows (= its heap shadow)');
is($node->safe_psql('postgres', 'SELECT count(*) FROM f'), $batches * 1000 + 1, "and that is $batches * 1000 rows and the seed row");
my @p = EngramTest::verify_problems($node, 'f');
is(scalar @p, 0, 'engram.verify is clean after the failed COPY') or diag(join("\n", @p));
my ($n, @bad) = EngramTest::amcheck_btrees($node, 'f');
is(scalar @bad, 0, 'amcheck passes after the failed COPY') or diag(join("\n", @bad));

# ---- 2. migration with the filesystem full ---------------------------------------------
# VACUUM gives the empty pages the failed COPY added back (truncation), the
# filler (heap, same tablespace) takes what is left: no file of the
# tablespace can grow now
$node->safe_psql('postgres', 'VACUUM f');
my ($frc) = (0);
for my $k (1 .. 200)
{
	($frc) = $node->psql('postgres', "INSERT INTO filler SELECT repeat(md5(g::text), 30) FROM generate_series(1, 2000) g");
	last if $frc != 0;
}
isnt($frc, 0, 'the filesystem is full (filler insert failed)');
my $sum = EngramTest::table_checksum($node, 'f', 'id');
my $size_before = $node->safe_psql('postgres', "SELECT pg_relation_size('f')");
my ($mrc, $mout, $merr) = $node->psql('postgres',
	"SELECT count(*) FROM (SELECT engram.migrate('f'::regclass, NULL, 'cold')) s");
is($mrc, 0, 'migration to COLD completes on the full filesystem (chunks go into the rows\' own pages)')
  or diag($merr);
cmp_ok($node->safe_psql('postgres', "SELECT coalesce(sum(rows), 0) FROM engram.tier_stats('f'::regclass) WHERE tier = 'cold'"),
	'>', 0, 'rows are COLD now');
is($node->safe_psql('postgres', "SELECT pg_relation_size('f')"), $size_before,
	'the relation did not grow');
is(EngramTest::table_checksum($node, 'f', 'id'), $sum, 'after the migration every row of f reads the same');
@p = EngramTest::verify_problems($node, 'f');
is(scalar @p, 0, 'engram.verify finds no corruption after it') or diag(join("\n", @p));

$node->safe_psql('postgres', 'DROP TABLE filler');
$node->safe_psql('postgres', 'CHECKPOINT');
$node->safe_psql('postgres', 'VACUUM f');
is(EngramTest::table_checksum($node, 'f', 'id'), $sum, 'with space freed and after VACUUM the rows read the same');
@p = EngramTest::verify_problems($node, 'f', all => 1);
is(scalar @p, 0, 'after VACUUM engram.verify reports nothing at all') or diag(join("\n", @p));

# ---- 3. crash ---------------------------------------------------------------------------
EngramTest::kill9_and_restart($node);
is(EngramTest::table_checksum($node, 'f', 'id'), $sum, 'after kill -9: f unchanged');
is(EngramTest::table_checksum($node, 'f', 'id'), EngramTest::table_checksum($node, 'f_ref', 'id'),
	'after kill -9: f equals its heap shadow');
($n, @bad) = EngramTest::amcheck_btrees($node, 'f');
is(scalar @bad, 0, 'amcheck passes after the crash') or diag(join("\n", @bad));

$node->safe_psql('postgres', 'DROP TABLE f');
$node->safe_psql('postgres', 'CHECKPOINT');
$node->safe_psql('postgres', 'DROP TABLESPACE small');
$node->stop;
done_testing();
