# Copyright (c) engram authors
#
# Fuzzing the page decoder: random byte flips in the DATA pages, COLD chunks
# (chunk items on DATA pages since 0.2.0, ADR 0010; chunk pages in 0.1) and
# WARM bodies of a stopped cluster's relation files (checksums
# off, so the buffer manager's own check is only the page header sanity
# test).  After each round of flips the cluster is started and a seq scan,
# index fetches, an UPDATE, VACUUM and engram.verify run over the damaged
# table.  Each statement must either succeed or fail with SQLSTATE XX001
# (data corrupted); the server must never crash (it must still answer, and
# its log must hold no "terminated by signal", "stack smashing" or PANIC).
#
# What this does not claim: a flip in attribute data or in visibility bits
# (xmin/xmax/infomask) can change values or which rows are seen without
# any check noticing, exactly as on heap without checksums; data checksums
# are the defence against that.  The tables have fixed-width columns only:
# like heap, engram does not re-validate varlena lengths inside attribute
# data when deforming a row (docs/durability-charter.md, I7).
#
# The seed is fixed (ENGRAM_FUZZ_SEED overrides it) so a failure can be
# replayed; ENGRAM_FUZZ_ITERATIONS (default 12) sets the number of rounds
# (make test-long runs many more).

use strict;
use warnings;

use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $iterations = $ENV{ENGRAM_FUZZ_ITERATIONS} || 12;
my $seed = $ENV{ENGRAM_FUZZ_SEED} // 20241;
srand($seed);
note("fuzz seed $seed, $iterations iterations");

my $node = PostgreSQL::Test::Cluster->new('page_fuzz');
$node->init;
$node->append_conf('postgresql.conf', qq{
autovacuum = off
restart_after_crash = off
log_min_messages = warning
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION engram');
my $blcksz = $node->safe_psql('postgres', 'SHOW block_size');

# Rows of about 300 bytes (so a damaged t_hoff of up to 255 lies within the
# item), every fifth with a NULL (so rows with a null bitmap are there too).
my $ncols = 70;
my $cols = join(', ', map { "z$_ int" } 1 .. $ncols);
my $vals = join(', ', map { $_ == $ncols ? "CASE WHEN g % 5 = 0 THEN NULL ELSE g END" : ($_ % 10 == 0 ? 'g' : '0') } 1 .. $ncols);
my %tier = (f_hot => undef, f_warm => 'warm', f_cold => 'cold');
for my $t (sort keys %tier)
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE $t (id int PRIMARY KEY, a bigint, $cols) USING engram;
		INSERT INTO $t SELECT g, g * 1000, $vals FROM generate_series(1, 300) g;});
	if (defined $tier{$t})
	{
		$node->safe_psql('postgres',
			"SELECT count(*) FROM engram.migrate('$t'::regclass, target => '$tier{$t}')");
		my $n = $node->safe_psql('postgres',
			"SELECT count(*) FROM $t WHERE engram.tier_of('$t'::regclass, ctid) = '$tier{$t}'");
		is($n, '300', "$t: every row is $tier{$t}");
	}
}
$node->safe_psql('postgres', 'CHECKPOINT');

my %expect;
for my $t (sort keys %tier)
{
	$expect{$t} = $node->safe_psql('postgres',
		"SELECT count(*), sum(id), sum(a), sum(z10), count(z$ncols) FROM $t");
	is($expect{$t}, "300|45150|45150000|45150|240", "$t: intact contents");
}

# files that a round may damage or that statements may change: restored
# from pristine copies before every round
my (%main, @restore);
for my $t (sort keys %tier)
{
	for my $r ($t, "${t}_pkey")
	{
		my $path = $node->data_dir . '/'
		  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$r')");
		$main{$r} = $path;
		push @restore, grep { -f $_ } ($path, "${path}_fsm", "${path}_vm");
	}
}
$node->stop;
my $pristine = PostgreSQL::Test::Utils::tempdir();
my %copy;
for my $f (@restore)
{
	(my $name = $f) =~ s{.*/}{};
	$copy{$f} = "$pristine/$name";
	copy($f, $copy{$f}) or die "copy $f: $!";
}

sub read_file_bytes
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "open $path: $!";
	binmode $fh;
	local $/;
	my $data = <$fh>;
	close $fh;
	return $data;
}

# the pages of a relation file: kind (1 DATA, 2 COLD chunk page of 0.1), line
# pointers, and which items are COLD chunk items (ENGRAM_ITEM_CHUNK, 0x01 in
# the second byte of the item header)
sub pages_of
{
	my ($path) = @_;
	my $data = read_file_bytes($path);
	my @pages;
	for (my $b = 0; $b * $blcksz < length($data); $b++)
	{
		my $page = substr($data, $b * $blcksz, $blcksz);
		my ($lower, $upper, $special) = unpack('v v v', substr($page, 12, 6));
		next if $lower == 0;
		my $kind = unpack('v', substr($page, $blcksz - 16, 2));
		my @items;
		for (my $o = 24; $o + 4 <= $lower; $o += 4)
		{
			my $lp = unpack('V', substr($page, $o, 4));
			my ($off, $flags, $len) = ($lp & 0x7fff, ($lp >> 15) & 3, $lp >> 17);
			push @items, [ $off, $len, (ord(substr($page, $off + 1, 1)) & 1) ] if $flags == 1;
		}
		my $nchunk = grep { $_->[2] } @items;
		push @pages, { blkno => $b, kind => $kind, lower => $lower, items => \@items, nchunk => $nchunk };
	}
	return @pages;
}

my %pages = map { $_ => [ pages_of($main{$_}) ] } keys %tier;
for my $t (sort keys %tier)
{
	my @d = grep { $_->{kind} == 1 && @{ $_->{items} } } @{ $pages{$t} };
	my @c = grep { $_->{kind} == 2 || $_->{nchunk} } @{ $pages{$t} };
	cmp_ok(scalar(@d), '>', 0, "$t: has DATA pages with rows");
	cmp_ok(scalar(@c), '>', 0, "$t: has pages with COLD chunks") if $t eq 'f_cold';
}

sub flip
{
	my ($path, $pos) = @_;
	open(my $fh, '+<', $path) or die "open $path: $!";
	binmode $fh;
	sysseek($fh, $pos, 0) or die "seek: $!";
	sysread($fh, my $b, 1) == 1 or die "read: $!";
	my $x = 1 + int(rand(255));
	sysseek($fh, $pos, 0) or die "seek: $!";
	syswrite($fh, chr(ord($b) ^ $x)) == 1 or die "write: $!";
	close $fh;
	return sprintf('%d^0x%02x', $pos, $x);
}

# where in a page a flip lands: mostly in the structures the decoder reads
# (item and tuple headers, line pointers, page header and special space,
# WARM bodies and chunk items), sometimes anywhere
sub pick_offset
{
	my ($pg) = @_;
	my $r = rand();
	my @items = @{ $pg->{items} };
	# on a page with chunk items, half of the item flips land in one
	@items = grep { $_->[2] } @items if $pg->{nchunk} && rand() < 0.5;
	if (@items && $r < 0.5)
	{
		my $it = $items[ int(rand(@items)) ];
		# engram item header + tuple header; or anywhere in a WARM body or
		# chunk item (they are the whole item)
		my $span = $pg->{kind} == 2 || $it->[2] || rand() < 0.3 ? $it->[1] : 8 + 32;
		$span = $it->[1] if $span > $it->[1];
		return $it->[0] + int(rand($span));
	}
	return 24 + int(rand($pg->{lower} - 24)) if $r < 0.65;
	return int(rand(24)) if $r < 0.72;
	return $blcksz - 16 + int(rand(16)) if $r < 0.8;
	return int(rand($blcksz));
}

my @statements = (
	[ 'seq scan', sub { "SELECT count(*), sum(id), sum(a), sum(z10), count(z$ncols) FROM $_[0]" } ],
	[ 'index fetch', sub { "SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT sum(a) FROM $_[0] WHERE id IN (1, 17, 64, 150, 222, 299)" } ],
	[ 'bitmap scan', sub { "SET enable_seqscan = off; SET enable_indexscan = off; SELECT count(*) FROM $_[0] WHERE id BETWEEN 10 AND 200" } ],
	[ 'update', sub { "UPDATE $_[0] SET a = a + 1 WHERE id % 37 = 0" } ],
	[ 'delete', sub { "DELETE FROM $_[0] WHERE id % 41 = 0" } ],
	[ 'vacuum', sub { "VACUUM $_[0]" } ],
	[ 'verify', sub { "SELECT count(*) >= 0 FROM engram.verify('$_[0]')" } ],
	[ 'seq scan after', sub { "SELECT count(*) FROM $_[0]" } ],
);

my (%outcome, @bad);
my @tables = sort keys %tier;
for my $i (1 .. $iterations)
{
	# restore, then damage one page of one table
	copy($copy{$_}, $_) or die "restore $_: $!" for @restore;
	my $t = $tables[ int(rand(@tables)) ];
	my @cand = @{ $pages{$t} };
	if ($t eq 'f_cold' && rand() < 0.6)
	{
		@cand = grep { $_->{kind} == 2 || $_->{nchunk} } @cand;
	}
	else
	{
		@cand = grep { $_->{kind} == 1 && @{ $_->{items} } } @cand;
	}
	my $pg = $cand[ int(rand(@cand)) ];
	my $nflips = 1 + int(rand(3));
	my @done = map { flip($main{$t}, $pg->{blkno} * $blcksz + pick_offset($pg)) } 1 .. $nflips;
	my $what = "round $i: $t block $pg->{blkno} (kind $pg->{kind}) bytes @done";

	my $logstart = -s $node->logfile;
	$node->start(fail_ok => 1) or do { push @bad, "$what: server did not start"; last; };
	for my $s (@statements)
	{
		my ($name, $sql) = @$s;
		my ($rc, $out, $err) = $node->psql('postgres',
			"\\set VERBOSITY verbose\n" . $sql->($t));
		if ($rc == 0)
		{
			$outcome{"$name ok"}++;
		}
		elsif ($err =~ /ERROR:\s+XX001:/)
		{
			$outcome{"$name XX001"}++;
		}
		else
		{
			$err =~ s/\n/ /g;
			push @bad, "$what: $name: rc $rc: $err";
		}
	}
	my ($arc, $alive) = $node->psql('postgres', 'SELECT 1');
	push @bad, "$what: server does not answer after the statements"
	  unless $arc == 0 && $alive eq '1';
	my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile, $logstart);
	push @bad, "$what: server log shows a crash: $1"
	  if $log =~ /(terminated by signal[^\n]*|stack smashing[^\n]*|PANIC:[^\n]*|was terminated[^\n]*)/;
	$node->stop('fast', fail_ok => 1);
	last if @bad > 20;
}
note("outcomes: " . join(', ', map { "$_: $outcome{$_}" } sort keys %outcome));
is(scalar(@bad), 0, "every statement over damaged pages succeeded or failed with XX001, no crash")
  or diag(join("\n", @bad));

# the undamaged files still give the intact contents
copy($copy{$_}, $_) or die "restore $_: $!" for @restore;
$node->start;
for my $t (sort keys %tier)
{
	is($node->safe_psql('postgres',
		"SELECT count(*), sum(id), sum(a), sum(z10), count(z$ncols) FROM $t"),
		$expect{$t}, "$t: restored pristine files read back intact");
}
$node->stop;
done_testing();
