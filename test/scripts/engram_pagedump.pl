#!/usr/bin/perl
#
# engram_pagedump.pl -- decode an engram table's main fork from its files,
# without engram's code (an independent check of what engram's read path
# returns; used by test/t/021_pagedump.pl).
#
#   perl test/scripts/engram_pagedump.pl [--columns int8,text,...] [--summary] FILE
#
# FILE is the relation's first segment (DATADIR/$(pg_relation_filepath));
# FILE.1, FILE.2, ... are read after it when they exist (block numbers go on
# across segments, 131072 blocks of 8 kB each).  Read it after a CHECKPOINT
# with nothing writing, or on a stopped cluster.
#
# The layout decoded is the one src/engram_page.h and src/tier.h document
# (formats 0.1 and 0.2; ADR 0010):
#  - a standard page header (24 bytes), line pointers (4 bytes each), and
#    EngramPageOpaqueData in the special space (kind, flags, chunk_id,
#    prune_xid, version, page_id = 0xE6A7);
#  - DATA pages: every normal line pointer is an item = 8-byte
#    EngramItemHeaderData (tier, flags, access count, last access) + a
#    heap-layout tuple header + the body at t_hoff: HOT = heap's attribute
#    data, WARM = uint32 raw length + an LZ4 block, COLD = EngramColdRef
#    (chunk block, chunk id, index, chunk_off, raw length);
#  - an item with ENGRAM_ITEM_CHUNK (0x01) in its item header flags is not a
#    row but a COLD chunk of its page (format 0.2): its tuple header is an
#    aborted insert (xmin 0, HEAP_XMIN_INVALID | HEAP_XMAX_INVALID, no
#    attributes) and its body is a chunk (below).  A COLD reference with
#    chunk_off != 0 names such an item on the row's own page;
#  - COLD chunk pages (format 0.1; references with chunk_off = 0): one item,
#    a chunk;
#  - a chunk is EngramChunkHeader (chunk_id, nbodies, flags, raw_len,
#    comp_len, crc, offsets[nbodies + 1]) + one compressed block of comp_len
#    bytes whose CRC-32C is crc: zstd when flag 0x0002 (decompressed with the
#    zstd command-line tool), else LZ4; with flag 0x0001 the first
#    raw_len & ~3 raw bytes are shuffled in 4-byte lanes.
# LZ4 is decoded here in Perl, attributes by heap's rules (alignment, 1- and
# 4-byte varlena headers, null bitmap).  Supported column types: int2, int4,
# int8, bool, text (inline, uncompressed; a toasted or compressed value is
# printed as <toasted> / <compressed>).
#
# Output, one line per row version on a DATA page (tab-separated):
#   blk  off  tier  visibility  col1  col2 ...
# visibility is "frozen" when the row's xmin is frozen and it has no xmax
# (what every row of a table after VACUUM (FREEZE) with no other
# transaction running must show), otherwise "xmin=N xmax=N mask=0xNNNN".
# NULL prints as \N.  --summary prints counts instead.  Exits 1 (with a
# message on stderr) on anything that does not decode: wrong page id or
# version, a line pointer or item outside the page, a COLD reference to a
# page or item that is not its chunk, a chunk whose CRC-32C does not match,
# a body that does not decompress to its recorded length.

use strict;
use warnings;
use Getopt::Long;
use IPC::Open3;
use Symbol qw(gensym);

my $BLCKSZ = 8192;
my $RELSEG_BLOCKS = 131072;
my ($columns, $summary) = ('', 0);
GetOptions('columns=s' => \$columns, 'summary' => \$summary)
  or die "usage: $0 [--columns int8,text] [--summary] FILE\n";
my $file = shift @ARGV or die "usage: $0 [--columns int8,text] [--summary] FILE\n";
my @types = grep { $_ ne '' } split /,/, $columns;

my $errors = 0;
sub problem
{
	my ($msg) = @_;
	print STDERR "engram_pagedump: $msg\n";
	$errors++;
	return;
}

# ---- read every block of every segment ------------------------------------
my @pages;
for (my $seg = 0;; $seg++)
{
	my $path = $seg == 0 ? $file : "$file.$seg";
	last unless -e $path;
	open my $fh, '<:raw', $path or die "$path: $!";
	local $/;
	my $data = <$fh>;
	close $fh;
	die "$path: size " . length($data) . " is not a multiple of $BLCKSZ\n"
	  if length($data) % $BLCKSZ;
	my $n = length($data) / $BLCKSZ;
	die "$path: segment $seg has $n blocks, more than $RELSEG_BLOCKS\n" if $n > $RELSEG_BLOCKS;
	die "$path: segment before it is not full\n" if $seg > 0 && @pages != $seg * $RELSEG_BLOCKS;
	push @pages, substr($data, $_ * $BLCKSZ, $BLCKSZ) for 0 .. $n - 1;
	last if $n < $RELSEG_BLOCKS;
}

# ---- LZ4 block format --------------------------------------------------------
sub lz4_decompress
{
	my ($src, $rawlen) = @_;
	my ($out, $i, $n) = ('', 0, length $src);
	while ($i < $n)
	{
		my $tok = ord substr($src, $i++, 1);
		my $lit = $tok >> 4;
		if ($lit == 15)
		{
			my $b;
			do { die "truncated literal length\n" if $i >= $n; $b = ord substr($src, $i++, 1); $lit += $b } while ($b == 255);
		}
		die "literals past the end\n" if $i + $lit > $n;
		$out .= substr($src, $i, $lit);
		$i += $lit;
		last if $i >= $n;    # the last sequence has no match
		die "truncated match offset\n" if $i + 2 > $n;
		my $off = unpack('v', substr($src, $i, 2));
		$i += 2;
		my $ml = $tok & 15;
		if ($ml == 15)
		{
			my $b;
			do { die "truncated match length\n" if $i >= $n; $b = ord substr($src, $i++, 1); $ml += $b } while ($b == 255);
		}
		$ml += 4;
		die "match offset $off outside the output\n" if $off == 0 || $off > length $out;
		my $start = length($out) - $off;
		if ($off >= $ml)
		{
			$out .= substr($out, $start, $ml);
		}
		else
		{
			$out .= substr($out, $start++, 1) for 1 .. $ml;
		}
		die "output longer than $rawlen\n" if length($out) > $rawlen;
	}
	die "decompressed to " . length($out) . " bytes, expected $rawlen\n" unless length($out) == $rawlen;
	return $out;
}

sub unshuffle
{
	my ($src) = @_;
	my $len = length $src;
	my $n = int($len / 4);
	my @dst = (0) x ($n * 4);
	for my $lane (0 .. 3)
	{
		for my $i (0 .. $n - 1)
		{
			$dst[ $i * 4 + $lane ] = substr($src, $lane * $n + $i, 1);
		}
	}
	return join('', @dst) . substr($src, $n * 4);
}

# ---- page structure ------------------------------------------------------------
sub page_header
{
	my ($p) = @_;
	my ($lsn_hi, $lsn_lo, $cksum, $flags, $lower, $upper, $special, $psv, $prune) =
	  unpack('V V v v v v v v V', $p);
	return { lower => $lower, upper => $upper, special => $special, psv => $psv };
}

sub opaque
{
	my ($p, $h) = @_;
	return undef if $h->{special} + 16 > $BLCKSZ;
	my ($kind, $flags, $chunk_id, $prune_xid, $version, $page_id) =
	  unpack('v v V V v v', substr($p, $h->{special}, 16));
	return { kind => $kind, flags => $flags, chunk_id => $chunk_id,
		version => $version, page_id => $page_id };
}

sub line_pointers
{
	my ($p, $h) = @_;
	my @lp;
	my $n = ($h->{lower} - 24) / 4;
	for my $i (1 .. $n)
	{
		my $w = unpack('V', substr($p, 24 + ($i - 1) * 4, 4));
		push @lp, { off => $w & 0x7fff, flags => ($w >> 15) & 3, len => ($w >> 17) & 0x7fff, num => $i };
	}
	return @lp;
}

# ---- CRC-32C (Castagnoli, reflected, as Postgres's pg_crc32c) -------------
my @crc_table;
for my $i (0 .. 255)
{
	my $c = $i;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$crc_table[$i] = $c;
}

sub crc32c
{
	my ($data) = @_;
	my $crc = 0xFFFFFFFF;
	$crc = $crc_table[ ($crc ^ $_) & 0xFF ] ^ ($crc >> 8) for unpack('C*', $data);
	return $crc ^ 0xFFFFFFFF;
}
die "crc32c self-test failed\n" unless crc32c('123456789') == 0xE3069283;

# ---- zstd, by the zstd command-line tool ---------------------------------------
sub zstd_decompress
{
	my ($src, $rawlen) = @_;
	my ($in, $out, $err) = (undef, undef, gensym);
	my $pid = eval { open3($in, $out, $err, 'zstd', '-d', '-q', '-c') };
	die "cannot run zstd (Debian package zstd): $@\n" unless $pid;
	binmode $_ for $in, $out, $err;
	# the input is at most a page: it fits the pipe, so write it all first
	print $in $src;
	close $in;
	local $/;
	my $raw = <$out> // '';
	my $msg = <$err> // '';
	close $out;
	close $err;
	waitpid($pid, 0);
	chomp $msg;
	die "zstd could not decompress the block (exit " . ($? >> 8) . "): $msg\n" if $?;
	die "zstd block decompressed to " . length($raw) . " bytes, expected $rawlen\n"
	  unless length($raw) == $rawlen;
	return $raw;
}

# decompress a chunk (the bytes of its EngramChunkHeader and block); $where
# names it in messages.  Returns [ bodies ].
sub decode_chunk
{
	my ($item, $expect_id, $where) = @_;
	die "$where: chunk of " . length($item) . " bytes, shorter than its header\n" if length($item) < 20;
	my ($cid, $nb, $cflags, $raw_len, $comp_len, $crc) = unpack('V v v V V V', $item);
	die "$where: chunk id $cid, expected $expect_id\n" unless $cid != 0 && $cid == $expect_id;
	die "$where: chunk has $nb bodies\n" if $nb == 0 || $nb > 1024;
	die sprintf("%s: chunk has unknown flags 0x%04x\n", $where, $cflags) if $cflags & ~3;
	my $hdr = 20 + 4 * ($nb + 1);
	die "$where: compressed length $comp_len does not fit the item\n"
	  if $comp_len == 0 || $hdr + $comp_len > length $item;
	my @offs = unpack("V" . ($nb + 1), substr($item, 20, 4 * ($nb + 1)));
	die "$where: offsets run from $offs[0] to $offs[-1], raw length $raw_len\n"
	  unless $offs[0] == 0 && $offs[-1] == $raw_len;
	for my $i (0 .. $nb - 1)
	{
		die "$where: offsets decrease at body $i\n" if $offs[$i] > $offs[ $i + 1 ];
	}
	my $comp = substr($item, $hdr, $comp_len);
	my $got = crc32c($comp);
	die sprintf("%s: CRC-32C of the compressed block is %08x, stored %08x\n", $where, $got, $crc)
	  unless $got == $crc;
	my $raw = ($cflags & 2) ? zstd_decompress($comp, $raw_len) : lz4_decompress($comp, $raw_len);
	$raw = unshuffle($raw) if $cflags & 1;
	return [ map { substr($raw, $offs[$_], $offs[ $_ + 1 ] - $offs[$_]) } 0 .. $nb - 1 ];
}

my %chunks;    # "blk" (0.1 chunk page) or "blk/off" (0.2 chunk item) -> { id, bodies }

# format 0.1: the chunk is the one item of COLD chunk page $blk
sub chunk_page_bodies
{
	my ($blk) = @_;
	return $chunks{$blk} if exists $chunks{$blk};
	my $p = $pages[$blk];
	die "COLD reference to block $blk past the end\n" unless defined $p;
	my $h = page_header($p);
	my $o = opaque($p, $h);
	die "COLD reference to block $blk, which is not a COLD page\n"
	  unless $o && $o->{page_id} == 0xE6A7 && $o->{kind} == 2;
	my @lp = line_pointers($p, $h);
	die "COLD page $blk has " . scalar(@lp) . " items, not 1\n" unless @lp == 1 && $lp[0]{flags} == 1;
	die "COLD page $blk: its item lies outside the page\n"
	  if $lp[0]{off} < $h->{upper} || $lp[0]{off} + $lp[0]{len} > $h->{special};
	my $item = substr($p, $lp[0]{off}, $lp[0]{len});
	$chunks{$blk} = { id => $o->{chunk_id}, bodies => decode_chunk($item, $o->{chunk_id}, "COLD page $blk") };
	return $chunks{$blk};
}

# format 0.2: is this item (its bytes) a chunk item?  Dies if it says so
# but its tuple header is not that of an aborted insert without attributes.
sub is_chunk_item
{
	my ($item) = @_;
	my (undef, $iflags) = unpack('C C', $item);
	return 0 unless $iflags & 0x01;
	my ($xmin, $xmax, $cid, $ctid_hi, $ctid_lo, $ctid_off, $mask2, $mask, $hoff) =
	  unpack('V V V v v v v v C', substr($item, 8));
	die sprintf("chunk item with xmin %u, infomask 0x%04x, %u attributes, t_hoff %u: not an aborted insert\n",
		$xmin, $mask, $mask2 & 0x07ff, $hoff)
	  unless $xmin == 0 && ($mask & 0x0200) && !($mask & 0x0100) && ($mask2 & 0x07ff) == 0 && $hoff == 24;
	return 1;
}

# format 0.2: the chunk is item $off of the row's own DATA page $blk
sub chunk_item_bodies
{
	my ($blk, $off) = @_;
	my $key = "$blk/$off";
	return $chunks{$key} if exists $chunks{$key};
	my $p = $pages[$blk];
	my $h = page_header($p);
	my @lp = line_pointers($p, $h);
	die "COLD reference to line pointer $off past the page's " . scalar(@lp) . "\n" if $off > @lp;
	my $lp = $lp[ $off - 1 ];
	die "COLD reference to line pointer $off, which is not a normal item\n" unless $lp->{flags} == 1;
	die "COLD reference to line pointer $off, whose item lies outside the page\n"
	  if $lp->{off} < $h->{upper} || $lp->{off} + $lp->{len} > $h->{special} || $lp->{len} < 8 + 24 + 20;
	my $item = substr($p, $lp->{off}, $lp->{len});
	die "COLD reference to line pointer $off, which is not a chunk item\n" unless is_chunk_item($item);
	my ($cid) = unpack('V', substr($item, 32, 4));
	$chunks{$key} = { id => $cid, bodies => decode_chunk(substr($item, 32), $cid, "chunk item ($blk,$off)") };
	return $chunks{$key};
}

# ---- attributes by heap's rules ----------------------------------------------------
my %typ = (
	int2 => { align => 2, len => 2, fmt => 's<' },
	int4 => { align => 4, len => 4, fmt => 'l<' },
	int8 => { align => 8, len => 8, fmt => 'q<' },
	bool => { align => 1, len => 1, fmt => 'C' },
	text => { align => 4, len => -1 });

sub decode_attrs
{
	my ($data, $natts_tuple, $nullbits) = @_;
	my @vals;
	my $pos = 0;
	for my $i (0 .. $#types)
	{
		my $t = $typ{ $types[$i] } or die "unsupported column type $types[$i]\n";
		if ($i >= $natts_tuple || ($nullbits && !vec($nullbits, $i, 1)))
		{
			push @vals, '\N';
			next;
		}
		if ($t->{len} > 0)
		{
			$pos = ($pos + $t->{align} - 1) & ~($t->{align} - 1);
			die "attribute $i past the end of the data\n" if $pos + $t->{len} > length $data;
			my $v = unpack($t->{fmt}, substr($data, $pos, $t->{len}));
			$v = $v ? 't' : 'f' if $types[$i] eq 'bool';
			push @vals, $v;
			$pos += $t->{len};
			next;
		}
		# varlena: a nonzero first byte is a 1-byte header (never padded)
		my $b0 = ord substr($data, $pos, 1);
		if ($b0 == 0)
		{
			$pos = ($pos + 3) & ~3;
			$b0 = ord substr($data, $pos, 1);
		}
		if ($b0 == 0x01)
		{
			push @vals, '<toasted>';
			my $tag = ord substr($data, $pos + 1, 1);
			$pos += 2 + ($tag == 18 ? 16 : 0);    # VARTAG_ONDISK: varatt_external
			next;
		}
		if ($b0 & 0x01)
		{
			my $len = ($b0 >> 1) & 0x7f;
			push @vals, substr($data, $pos + 1, $len - 1);
			$pos += $len;
			next;
		}
		my $hdr = unpack('V', substr($data, $pos, 4));
		my $len = ($hdr >> 2) & 0x3fffffff;
		die "varlena of $len bytes past the end\n" if $pos + $len > length $data;
		push @vals, (($hdr & 3) == 2) ? '<compressed>' : substr($data, $pos + 4, $len - 4);
		$pos += $len;
	}
	return @vals;
}

# ---- walk the pages -------------------------------------------------------------
my %count = (pages => scalar @pages, new => 0, data => 0, cold => 0,
	hot => 0, warm => 0, cold_rows => 0, cold_rows_item => 0, cold_rows_page => 0,
	chunk_items => 0, frozen => 0, other => 0, dead => 0, redirect => 0);
for my $blk (0 .. $#pages)
{
	my $p = $pages[$blk];
	my $h = page_header($p);
	if ($h->{upper} == 0)
	{
		$count{new}++;    # never initialised (extended, not yet used)
		next;
	}
	my $o = opaque($p, $h);
	if (!$o || $o->{page_id} != 0xE6A7 || $o->{version} != 1)
	{
		problem("block $blk: not an engram page of format version 1");
		next;
	}
	if ($h->{lower} < 24 || $h->{lower} > $h->{upper} || $h->{upper} > $h->{special})
	{
		problem("block $blk: bad pd_lower/pd_upper/pd_special $h->{lower}/$h->{upper}/$h->{special}");
		next;
	}
	if ($o->{kind} == 2)
	{
		$count{cold}++;
		next;
	}
	if ($o->{kind} != 1)
	{
		problem("block $blk: unknown page kind $o->{kind}");
		next;
	}
	$count{data}++;
	for my $lp (line_pointers($p, $h))
	{
		$count{dead}++ if $lp->{flags} == 3;
		$count{redirect}++ if $lp->{flags} == 2;
		next unless $lp->{flags} == 1;
		if ($lp->{off} < $h->{upper} || $lp->{off} + $lp->{len} > $h->{special} || $lp->{len} < 8 + 23)
		{
			problem("($blk,$lp->{num}): item at $lp->{off} length $lp->{len} outside the page's item space");
			next;
		}
		my $item = substr($p, $lp->{off}, $lp->{len});
		my $is_chunk = eval { is_chunk_item($item) };
		if (!defined $is_chunk)
		{
			chomp(my $e = $@);
			problem("($blk,$lp->{num}): $e");
			next;
		}
		if ($is_chunk)
		{
			$count{chunk_items}++;    # not a row: its rows' COLD data
			next;
		}
		my ($tier) = unpack('C', $item);
		my $tup = substr($item, 8);
		my ($xmin, $xmax, $cid, $ctid_hi, $ctid_lo, $ctid_off, $mask2, $mask, $hoff) =
		  unpack('V V V v v v v v C', $tup);
		my $natts = $mask2 & 0x07ff;
		my $nullbits = ($mask & 0x0001) ? substr($tup, 23, int(($natts + 7) / 8)) : undef;
		my $body = substr($tup, $hoff);
		my $vis = (($mask & 0x0300) == 0x0300 && (($mask & 0x0800) || $xmax == 0))
		  ? 'frozen' : sprintf('xmin=%u xmax=%u mask=0x%04x', $xmin, $xmax, $mask);
		$vis eq 'frozen' ? $count{frozen}++ : $count{other}++;
		my ($data, $tname);
		my $ok = eval {
			if ($tier == 0)
			{
				$tname = 'hot';
				$data = $body;
			}
			elsif ($tier == 1)
			{
				$tname = 'warm';
				my $raw_len = unpack('V', $body);
				$data = lz4_decompress(substr($body, 4), $raw_len);
			}
			elsif ($tier == 2)
			{
				$tname = 'cold';
				die "COLD body of " . length($body) . " bytes, not an EngramColdRef\n" unless length($body) == 16;
				my ($cblk, $cid2, $idx, $coff, $raw_len) = unpack('V V v v V', $body);
				my $c;
				if ($coff == 0)
				{
					$c = chunk_page_bodies($cblk);    # format 0.1
					$count{cold_rows_page}++;
				}
				else
				{
					die "COLD reference to a chunk item on block $cblk, not on the row's own page\n"
					  unless $cblk == $blk;
					$c = chunk_item_bodies($blk, $coff);
					$count{cold_rows_item}++;
				}
				die "chunk id $cid2 in the reference, $c->{id} in the chunk\n" unless $c->{id} == $cid2;
				die "index $idx past the chunk's " . scalar(@{ $c->{bodies} }) . " bodies\n"
				  unless $idx < @{ $c->{bodies} };
				$data = $c->{bodies}[$idx];
				die "body of " . length($data) . " bytes, reference says $raw_len\n" unless length($data) == $raw_len;
			}
			else
			{
				die "unknown tier $tier\n";
			}
			1;
		};
		if (!$ok)
		{
			chomp(my $e = $@);
			problem("($blk,$lp->{num}): $e");
			next;
		}
		$count{ $tname eq 'cold' ? 'cold_rows' : $tname }++;
		next if $summary;
		my @vals = eval { decode_attrs($data, $natts, $nullbits) };
		if ($@)
		{
			chomp(my $e = $@);
			problem("($blk,$lp->{num}): $e");
			next;
		}
		print join("\t", $blk, $lp->{num}, $tname, $vis, @vals), "\n";
	}
}
if ($summary)
{
	print join(' ', map { "$_=$count{$_}" } qw(pages new data cold chunk_items hot warm cold_rows cold_rows_item cold_rows_page frozen other dead redirect)), "\n";
}
exit($errors ? 1 : 0);
