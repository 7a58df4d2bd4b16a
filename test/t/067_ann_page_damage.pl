# Copyright (c) engram authors
#
# Damaged engram_hnsw index pages that the buffer manager accepts (its
# checks cover only the standard page header).  The meta page's m, dim,
# max_level and entry level size arrays and offsets, and a node's level and
# line pointer say where its lists are: each of them out of range once read
# past the node or the page (a stack array of 2 * ANN_MAX_M links written
# with 2 * m of them, a level-255 node's lists read 20 kB past its page, an
# insert copying a node over a slot whose line pointer points past the end
# of the page).  Every index scan, INSERT and VACUUM over such an index must
# fail with SQLSTATE XX002 (index corrupted) naming the index, never crash,
# read past the page or return rows; REINDEX repairs it; an intact index of
# the same database keeps working.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('ann_damage');
my $f = EngramTest::features($node);
plan skip_all => EngramTest::missing_msg('index AM engram_hnsw') unless $f->{hnsw};

my $set = 'SET search_path = public, engram; SET max_parallel_workers_per_gather = 0; '
  . 'SET engram.ann_max_scan_tuples = 1000000; ';
sub vec_expr
{
	my ($i) = @_;
	return "(SELECT array_agg(sin($i * 0.37 + g * 1.71) + cos($i * g * 0.013))::float4[]::engram.vector "
	  . "FROM generate_series(1, 8) g)";
}

# name => what is damaged
my @cases = (
	[ 'h_m',       'meta page m = 200 (at most 64)' ],
	[ 'h_dim',     'meta page dim = 5000 (at most 4000)' ],
	[ 'h_maxlvl',  'meta page max_level = 40 (at most 15)' ],
	[ 'h_eplevel', 'meta page entry level = 20 (above max_level)' ],
	[ 'h_level',   'entry point node of level 255' ],
	[ 'h_lp',      'entry point line pointer past the end of the page' ],
	[ 'h_len',     'entry point line pointer shorter than its node' ],
);
for my $c (@cases, [ 'h_intact', 'none' ])
{
	my $t = $c->[0];
	$node->safe_psql('postgres', $set . qq{
		CREATE TABLE $t (id int PRIMARY KEY, v engram.vector(8));
		INSERT INTO $t SELECT i, } . vec_expr('i') . qq{ FROM generate_series(1, 300) i;
		CREATE INDEX ${t}_v ON $t USING engram_hnsw (v vector_l2_ops);
		CHECKPOINT;});
}
my %file;
$file{$_->[0]} = $node->data_dir . '/'
  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$_->[0]_v')")
  for @cases;
my $blcksz = $node->safe_psql('postgres', 'SHOW block_size');
$node->stop;

sub patch
{
	my ($path, $offset, $bytes) = @_;
	open(my $fh, '+<', $path) or die "open $path: $!";
	binmode $fh;
	sysseek($fh, $offset, 0) or die "seek: $!";
	syswrite($fh, $bytes) == length($bytes) or die "write: $!";
	close $fh;
	return;
}
sub peek
{
	my ($path, $offset, $len) = @_;
	open(my $fh, '<', $path) or die "open $path: $!";
	binmode $fh;
	sysseek($fh, $offset, 0) or die "seek: $!";
	sysread($fh, my $raw, $len) == $len or die "read: $!";
	close $fh;
	return $raw;
}

# AnnMetaPageData after the 24-byte page header: magic u32, version u32,
# dim i32 (32), m i16 (36), ef_construction i16, metric i16, max_level i16
# (42), ep_level i16 (44), ep_offset u16 (46), ep_blkno u32 (48).
# AnnNodeHeader: flags u8, level u8 (1).  Line pointer o of block b: the u32
# at b * BLCKSZ + 24 + 4 * (o - 1), lp_off bits 0-14, lp_len bits 17-31.
sub entry_point
{
	my ($path) = @_;
	my ($off, $blk) = unpack('vV', peek($path, 46, 6));
	my $lppos = $blk * $blcksz + 24 + 4 * ($off - 1);
	my $lp = unpack('V', peek($path, $lppos, 4));
	return ($blk, $off, $lppos, $lp & 0x7fff, $lp >> 17, ($lp >> 15) & 3);
}
patch($file{h_m}, 36, pack('s<', 200));
patch($file{h_dim}, 32, pack('l<', 5000));
patch($file{h_maxlvl}, 42, pack('s<', 40));
{
	my $maxlvl = unpack('s<', peek($file{h_eplevel}, 42, 2));
	cmp_ok($maxlvl, '<', 20, 'entry level case: 20 is above the index\'s max_level');
	patch($file{h_eplevel}, 44, pack('s<', 20));
}
{
	my ($blk, $off, $lppos, $lpoff, $lplen) = entry_point($file{h_level});
	cmp_ok($blk, '>', 0, 'level case: the entry point is on a node page');
	patch($file{h_level}, $blk * $blcksz + $lpoff + 1, pack('C', 255));
}
{
	# lp_off 8190: the node "starts" 2 bytes before the end of the page
	my ($blk, $off, $lppos, $lpoff, $lplen, $lpflags) = entry_point($file{h_lp});
	is($lpflags, 1, 'line pointer case: the entry point item is LP_NORMAL');
	patch($file{h_lp}, $lppos, pack('V', ($blcksz - 2) | (1 << 15) | ($lplen << 17)));
}
{
	# lp_len 30: the header and codes, but none of its lists
	my ($blk, $off, $lppos, $lpoff, $lplen) = entry_point($file{h_len});
	cmp_ok($lplen, '>', 30, 'length case: the node is longer than 30 bytes');
	patch($file{h_len}, $lppos, pack('V', $lpoff | (1 << 15) | (30 << 17)));
}

$node->start;
my $idx = 'SET enable_seqscan = off; SET enable_bitmapscan = off; ';
for my $c (@cases)
{
	my ($t, $what) = @$c;
	my @ops = (
		[ 'index scan', $idx . "SELECT id FROM $t ORDER BY v <-> " . vec_expr(7) . ' LIMIT 5' ],
		[ 'INSERT', "INSERT INTO $t SELECT i, " . vec_expr('i') . ' FROM generate_series(301, 310) i' ],
		[ 'VACUUM', "DELETE FROM $t WHERE id % 10 = 0; VACUUM $t" ],
	);
	for my $op (@ops)
	{
		my ($rc, $out, $err) = $node->psql('postgres',
			"\\set VERBOSITY verbose\n" . $set . $op->[1]);
		isnt($rc, 0, "$what: $op->[0] fails");
		like($err, qr/ERROR:\s+XX002: .*index "${t}_v"/,
			"$what: $op->[0] reports XX002 naming the index") or diag($err);
		unlike($err, qr/server closed the connection|terminated/,
			"$what: $op->[0] does not crash the backend");
	}
	is($node->safe_psql('postgres', $set . "REINDEX INDEX ${t}_v; "
		  . $idx . "SELECT count(*) FROM (SELECT id FROM $t ORDER BY v <-> " . vec_expr(7) . ') s'),
		$node->safe_psql('postgres', "SELECT count(*) FROM $t"),
		"$what: after REINDEX an index scan returns every row");
}
{
	my $knn = "SELECT string_agg(id::text, ',') FROM (SELECT id FROM h_intact ORDER BY v <-> "
	  . vec_expr(7) . ' LIMIT 10) s';
	is($node->safe_psql('postgres', $set . $idx . $knn),
		$node->safe_psql('postgres', $set . 'SET enable_indexscan = off; ' . $knn),
		'an intact index of the same database answers as an exact scan');
	$node->safe_psql('postgres', $set . "INSERT INTO h_intact SELECT i, " . vec_expr('i')
		  . " FROM generate_series(301, 310) i; DELETE FROM h_intact WHERE id % 10 = 0; VACUUM h_intact");
	is($node->safe_psql('postgres', $set . $idx . "SELECT count(*) FROM (SELECT id FROM h_intact ORDER BY v <-> "
		  . vec_expr(7) . ') s'), '279', 'and takes inserts and VACUUM');
}
ok(!$node->log_contains('terminated by signal'), 'no backend crashed');
$node->stop;
done_testing();
