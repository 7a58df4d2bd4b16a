
# Copyright (c) engram authors
#
# An independent reader of engram pages (issue 17): test/scripts/engram_pagedump.pl
# decodes an engram table's relation files in Perl (page header, line
# pointers, special space, item headers, heap-layout tuple headers and
# attributes, LZ4 for WARM bodies, zstd or LZ4 and CRC-32C for COLD chunks,
# which format 0.2 keeps as chunk items on their rows' own DATA pages)
# without any of engram's code, and its rows must be exactly the rows
# engram's read path returns:
#  - after inserts, updates, deletes and VACUUM (FREEZE), HOT tier;
#  - after migration to WARM, to COLD and back to HOT;
#  - after a kill -9 in the middle of updates and crash recovery;
#  - on a streaming standby (after a restartpoint), against the standby's
#    own SQL answer.
# After the crash its summary must show COLD rows referring to chunk items
# of their own pages and no chunk page; it must reject a damaged page id and
# a chunk item whose compressed bytes are damaged (CRC-32C).
# Every row version the decoder finds must be frozen with no xmax (nothing
# else runs; VACUUM (FREEZE) leaves nothing else), so "every decoded row" is
# "every visible row".  The cluster runs with data checksums and fsync = on;
# pg_checksums --check passes on the stopped primary at the end.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('pagedump', checksums => 1);
EngramTest::features($node);
my $standby = EngramTest::new_standby($node, 'pagedump_standby',
	extra_conf => 'hot_standby_feedback = off');
my $dumper = ($ENV{TESTDIR} // '.') . '/test/scripts/engram_pagedump.pl';
ok(-f $dumper, "the decoder exists ($dumper)");

$node->safe_psql('postgres', q{
	CREATE TABLE pd (id int8 NOT NULL, n int4 NOT NULL, body text NOT NULL, note text) USING engram;
	CREATE INDEX pd_id ON pd (id);
	INSERT INTO pd SELECT i, i * 7 - 50000, repeat(md5(i::text), 1 + i % 20),
	       CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || i END
	FROM generate_series(1, 6000) i;
	UPDATE pd SET body = body || ' upd', n = -n WHERE id % 5 = 0;
	DELETE FROM pd WHERE id % 7 = 0;
	VACUUM (FREEZE) pd;
});

# engram's answer: one line per row, "blk off id n body note"
sub sql_rows
{
	my ($n) = @_;
	return $n->safe_psql('postgres', q{
		SELECT string_agg(concat_ws(E'\t', (ctid::text::point)[0]::int8, (ctid::text::point)[1]::int,
		                            id, n, body, coalesce(note, '\N')), E'\n'
		                  ORDER BY (ctid::text::point)[0], (ctid::text::point)[1])
		FROM pd});
}

# the decoder's answer from $n's files (after a checkpoint / restartpoint)
sub decoded
{
	my ($n, $what) = @_;
	$n->safe_psql('postgres', 'CHECKPOINT');
	my $path = $n->data_dir . '/' . $n->safe_psql('postgres', "SELECT pg_relation_filepath('pd')");
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run([ 'perl', $dumper, '--columns', 'int8,int4,text,text', $path ],
		'>', \$out, '2>', \$err);
	ok($ok, "$what: the decoder reads every page without a problem") or diag($err);
	my (%tiers, %vis, @rows);
	for my $l (split /\n/, $out)
	{
		my ($blk, $off, $tier, $vis, @vals) = split /\t/, $l, -1;
		$tiers{$tier}++;
		$vis{ $vis eq 'frozen' ? 'frozen' : 'other' }++;
		push @rows, join("\t", $blk, $off, @vals);
	}
	is($vis{other} // 0, 0, "$what: every row version on disk is frozen with no xmax");
	return (join("\n", @rows), \%tiers);
}

sub compare
{
	my ($n, $what, $tier) = @_;
	my ($dec, $tiers) = decoded($n, $what);
	my $sql = sql_rows($n);
	my @d = split /\n/, $dec;
	my @s = split /\n/, $sql;
	is(scalar @d, scalar @s, "$what: the decoder finds as many rows as SELECT (" . scalar(@s) . ")");
	my $same = $dec eq $sql;
	ok($same, "$what: decoded rows (position and every column) equal engram's");
	if (!$same)
	{
		for my $i (0 .. $#s)
		{
			next if ($d[$i] // '') eq $s[$i];
			diag("first difference at row $i:\n decoder: " . ($d[$i] // '<none>') . "\n engram:  $s[$i]");
			last;
		}
	}
	# per tier, the decoder's count must be engram.tier_stats' (rows whose
	# body would not shrink stay HOT, so a forced pass need not move all)
	my $stats = $n->safe_psql('postgres',
		"SELECT string_agg(tier || '=' || rows, ',' ORDER BY tier) FROM engram.tier_stats('pd'::regclass) WHERE rows > 0");
	is(join(',', map { "$_=$tiers->{$_}" } sort keys %$tiers), $stats,
		"$what: rows per tier on disk equal engram.tier_stats ($stats)");
	ok(($tiers->{$tier} // 0) > 0, "$what: the decoder found $tier rows");
	return;
}

compare($node, 'after DML and VACUUM (FREEZE)', 'hot');
for my $tier ('warm', 'cold', 'hot')
{
	$node->safe_psql('postgres',
		"SELECT count(*) FROM (SELECT engram.migrate('pd'::regclass, 1000000000, '$tier')) s; VACUUM (FREEZE) pd");
	compare($node, "after migration to $tier", $tier);
}

# a crash in the middle of updates on COLD rows
$node->safe_psql('postgres', "SELECT count(*) FROM (SELECT engram.migrate('pd'::regclass, 1000000000, 'cold')) s");
$node->safe_psql('postgres', 'CHECKPOINT');
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_safe("BEGIN; UPDATE pd SET body = body || ' crash' WHERE id % 2 = 0");
$node->safe_psql('postgres', "UPDATE pd SET note = 'committed before the crash' WHERE id % 2 = 1 AND id % 11 = 1");
EngramTest::kill9_and_restart($node);
eval { $bg->quit };
is($node->safe_psql('postgres', "SELECT count(*) FROM pd WHERE body LIKE '% crash'"), '0',
	'after the crash: the uncommitted update is not visible');
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM pd WHERE note = 'committed before the crash'"), '>', 0,
	'after the crash: the committed update is');
$node->safe_psql('postgres', 'VACUUM (FREEZE) pd');
my ($dec_after_crash, $tiers) = decoded($node, 'after the crash');
is($dec_after_crash, sql_rows($node), 'after the crash: decoded rows equal engram\'s');
ok(($tiers->{cold} // 0) > 0, 'after the crash: COLD rows are decoded from their chunks (' . ($tiers->{cold} // 0) . ')');

# format 0.2 (ADR 0010): COLD rows refer to chunk items on their own page,
# and no chunk pages are written
{
	my $path = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('pd')");
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'perl', $dumper, '--summary', $path ], '>', \$o, '2>', \$e);
	chomp $o;
	my %sum = map { split /=/ } split ' ', $o;
	cmp_ok($sum{chunk_items} // 0, '>', 0, "after the crash: the pages hold COLD chunk items ($o)");
	is($sum{cold_rows_item} // -1, $sum{cold_rows} // -2,
		'after the crash: every COLD row refers to a chunk item of its own page');
	is($sum{cold} // -1, 0, 'after the crash: no 0.1 chunk pages');
}

# the standby: its own files against its own SQL
EngramTest::wait_catchup($node, $standby);
my ($sdec) = decoded($standby, 'standby');
is($sdec, sql_rows($standby), 'standby: decoded rows equal the standby\'s SELECT');
is(sql_rows($standby), sql_rows($node), 'standby: the same rows as the primary');

# the decoder fails on a damaged page (it can fail)
{
	my $path = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('pd')");
	my $copy = PostgreSQL::Test::Utils::tempdir() . '/damaged';
	open my $in, '<:raw', $path or die;
	local $/;
	my $data = <$in>;
	close $in;
	substr($data, 8192 + 8190, 2) = "\x00\x00";    # block 1: page id gone
	open my $out, '>:raw', $copy or die;
	print $out $data;
	close $out;
	my ($o, $e) = ('', '');
	my $ok = IPC::Run::run([ 'perl', $dumper, '--summary', $copy ], '>', \$o, '2>', \$e);
	ok(!$ok, 'the decoder reports a page whose page id is damaged');
	like($e, qr/block 1: not an engram page/, 'naming the block');

	# a chunk item with a damaged compressed byte: its CRC-32C no longer matches
	$data = do { open my $in2, '<:raw', $path or die; local $/; <$in2> };
	my $damaged;
	BLOCK: for my $blk (0 .. length($data) / 8192 - 1)
	{
		my $p = substr($data, $blk * 8192, 8192);
		my $lower = unpack('v', substr($p, 12, 2));
		for my $i (1 .. ($lower - 24) / 4)
		{
			my $w = unpack('V', substr($p, 24 + ($i - 1) * 4, 4));
			my ($off, $flags, $len) = ($w & 0x7fff, ($w >> 15) & 3, ($w >> 17) & 0x7fff);
			next unless $flags == 1 && (ord(substr($p, $off + 1, 1)) & 0x01);    # ENGRAM_ITEM_CHUNK
			my $at = $blk * 8192 + $off + $len - 1;    # last byte of the compressed block
			substr($data, $at, 1) = chr(ord(substr($data, $at, 1)) ^ 0xFF);
			$damaged = "($blk,$i)";
			last BLOCK;
		}
	}
	ok(defined $damaged, 'a chunk item to damage is found (' . ($damaged // 'none') . ')');
	open $out, '>:raw', $copy or die;
	print $out $data;
	close $out;
	($o, $e) = ('', '');
	$ok = IPC::Run::run([ 'perl', $dumper, '--summary', $copy ], '>', \$o, '2>', \$e);
	ok(!$ok, 'the decoder reports a chunk item whose compressed data is damaged');
	like($e, qr/chunk item \Q$damaged\E: CRC-32C/, 'by its CRC-32C, naming the chunk item');
}

$standby->stop;
$node->stop;
command_ok([ 'pg_checksums', '--check', '-D', $node->data_dir ],
	'pg_checksums --check: every page checksum of the stopped primary is valid');
done_testing();
