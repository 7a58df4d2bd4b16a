# Copyright (c) engram authors
#
# Damaged engram page headers that the buffer manager accepts (its checks
# only cover the standard page header): a special space of the wrong size,
# a foreign format version and an unknown page kind; and a row whose tuple
# header length t_hoff is impossible (255: not MAXALIGNed, longer than any
# tuple header, yet within the item, which once overflowed the header copy
# on the stack and killed the backend with SIGABRT).  Each must give a
# clean ERROR with SQLSTATE XX001 (data corrupted) naming the page, never a
# crash or wrong rows; engram.verify must list the page; the other tables
# of the database stay readable.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('page_damage');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION engram');

my @cases = (
	[ 'd_special', 'special', qr/page 0 of relation "d_special" is not a valid engram page/ ],
	[ 'd_version', 'version', qr/page 0 of relation "d_version" has engram format version 99, this library reads version \d+/ ],
	[ 'd_kind',    'kind',    qr/page 0 of relation "d_kind" has unknown engram page kind 7/ ],
	[ 'd_hoff',    't_hoff',  qr/corrupt row at \(0,1\) in relation "d_hoff"(.|\n)*DETAIL:\s+(XX001: )?The tuple header length t_hoff does not match the null bitmap/ ],
);
for my $c (@cases, [ 'd_intact', 'none', undef ])
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE $c->[0] (id int, t text) USING engram;
		INSERT INTO $c->[0] SELECT g, 'row ' || g || repeat('x', 300) FROM generate_series(1, 20) g;
		CHECKPOINT;});
}
my %file;
$file{ $_->[0] } = $node->data_dir . '/'
  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$_->[0]')")
  for @cases;
my $blcksz = $node->safe_psql('postgres', 'SHOW block_size');
$node->stop;

# EngramPageOpaqueData (16 bytes at the end of the page): kind u16,
# flags u16, chunk_id u32, prune_xid u32, version u16, page_id u16.
# pd_special is the u16 at offset 16 of the page header.
sub patch
{
	my ($path, $offset, $bytes) = @_;
	open(my $fh, '+<', $path) or die "open $path: $!";
	binmode $fh;
	sysseek($fh, $offset, 0) or die "seek: $!";
	syswrite($fh, $bytes) == length($bytes) or die "write: $!";
	close $fh;
}
patch($file{d_special}, 16, pack('v', $blcksz - 8));
patch($file{d_version}, $blcksz - 4, pack('v', 99));
patch($file{d_kind}, $blcksz - 16, pack('v', 7));

# t_hoff (u8 at offset 22 of the tuple header, which follows the 8-byte
# engram item header) of the row of line pointer 1 (the u32 at offset 24:
# lp_off in bits 0-14, lp_len in bits 17-31).
sub item_offset
{
	my ($path, $lpno) = @_;
	open(my $fh, '<', $path) or die "open $path: $!";
	binmode $fh;
	sysseek($fh, 24 + 4 * ($lpno - 1), 0) or die "seek: $!";
	sysread($fh, my $raw, 4) == 4 or die "read: $!";
	close $fh;
	my $lp = unpack('V', $raw);
	return ($lp & 0x7fff, $lp >> 17);
}
my ($hoff_item, $hoff_len) = item_offset($file{d_hoff}, 1);
cmp_ok($hoff_len, '>=', 8 + 255, 't_hoff case: the row is long enough that 255 lies within the item');
patch($file{d_hoff}, $hoff_item + 8 + 22, pack('C', 255));

$node->start;
for my $c (@cases)
{
	my ($name, $what, $re) = @$c;
	my ($rc, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT count(*) FROM $name");
	isnt($rc, 0, "$what: SELECT over the damaged page fails");
	like($err, qr/ERROR:\s+XX001: /, "$what: with SQLSTATE XX001");
	like($err, $re, "$what: message names the page and the damage");
	($rc, $out, $err) = $node->psql('postgres',
		"SELECT blkno, problem FROM engram.verify('$name')");
	is($rc, 0, "$what: engram.verify runs") or diag($err);
	like($out, qr/^0\|/m, "$what: engram.verify lists page 0") or diag($out);
	($rc, $out, $err) = $node->psql('postgres',
		"UPDATE $name SET t = 'x' WHERE id = 1");
	like($err, qr/ERROR:/, "$what: UPDATE over the damaged page fails cleanly");
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM d_intact'), '20',
	'an intact table stays readable');
is($node->safe_psql('postgres', q{SELECT count(*) FROM engram.verify('d_intact')}), '0',
	'and verify finds nothing there');
ok($node->log_contains('terminated by signal') == 0, 'no backend crashed');
$node->stop;
done_testing();
