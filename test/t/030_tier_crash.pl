# Copyright (c) engram authors
#
# Tiered storage: crash safety of migration passes and corruption handling.
#
#  1. kill -9 of a backend at each migration fault point
#     (migrate_after_switch, migrate_before_reclaim): after crash recovery
#     every row is present with identical contents and engram.verify finds
#     nothing at all: a COLD chunk and the references to it are one record
#     on one page (ADR 0010), and a chunk is freed with its last row's move,
#     so no orphan chunk can be left.
#  2. Damaged WARM body and damaged COLD chunk in the relation file:
#     engram.verify lists the rows, a SELECT raises XX001 (data corrupted)
#     and the server keeps running.
#  3. The background worker migrates by policy when preloaded, in slices
#     that hold only AccessShareLock, and reports in engram.tier_worker.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('tier_crash');
$node->init;
# no background worker during the crash part: it would sweep the orphans
$node->append_conf('postgresql.conf', qq{
fsync = on
restart_after_crash = on
autovacuum = off
log_min_messages = warning
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION engram');

$node->safe_psql('postgres', q{
CREATE TABLE t (id int PRIMARY KEY, body text, emb engram.vector(16)) USING engram;
INSERT INTO t
  SELECT g, repeat('note ' || g || ' on tides and lighthouses; ', 1 + g % 11),
         engram.array_to_vector(ARRAY(SELECT sin(g * i)::float4 FROM generate_series(1, 16) i), 16, true)
  FROM generate_series(1, 3000) g;
CREATE TABLE ref AS SELECT * FROM t;
});

my $want = $node->safe_psql('postgres',
	q{SELECT count(*) || ':' || md5(string_agg(r::text, '|' ORDER BY id)) FROM ref r});

sub check_rows
{
	my ($what) = @_;
	my $got = $node->safe_psql('postgres',
		q{SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY id)) FROM t});
	is($got, $want, "$what: all rows present and identical");
	my $idx = $node->safe_psql('postgres', q{
SET enable_seqscan = off; SET enable_bitmapscan = off;
SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY id)) FROM t WHERE id > 0});
	is($idx, $want, "$what: identical through the index");
	my $problems = $node->safe_psql('postgres',
		q{SELECT count(*) FROM engram.verify('t') WHERE problem NOT LIKE 'orphan chunk%'});
	is($problems, '0', "$what: verify finds no corruption");
}

sub tiers
{
	return $node->safe_psql('postgres',
		q{SELECT string_agg(tier || '=' || rows, ' ' ORDER BY tier) FROM engram.tier_stats('t')});
}

# Run a forced pass that dies at fault point $fp (after $skip hits)
sub crash_pass
{
	my ($fp, $skip, $target) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', qq{
SET engram.fault_point = '$fp';
SET engram.fault_action = 'sigkill';
SET engram.fault_skip = $skip;
SELECT * FROM engram.migrate('t', target => '$target');
});
	isnt($ret, 0, "pass to $target killed at $fp (skip $skip)");
	like($err, qr/terminat|connection|closed/i, "backend died at $fp")
		or diag($err);
	$node->poll_query_until('postgres', 'SELECT true') or die "server did not come back";
}

check_rows('before any migration');

# HOT -> COLD, killed after the first data page switched: its chunk and
# its rows' references were written together, the other pages untouched
crash_pass('migrate_after_switch', 0, 'cold');
check_rows('after crash at the first migrate_after_switch');
like(tiers(), qr/cold=[1-9]\d* hot=[1-9]/, 'the first page is COLD, the rest HOT');
is($node->safe_psql('postgres', q{SELECT count(*) FROM engram.verify('t')}), '0',
	'no orphan chunk after the crash');
$node->safe_psql('postgres', 'VACUUM t');
check_rows('VACUUM after the crash');

# HOT -> WARM is one record per page: kill it mid-way through a later fault
# point of a COLD pass instead, after some data pages were switched
crash_pass('migrate_after_switch', 3, 'cold');
check_rows('after crash at migrate_after_switch');
my $t = tiers();
like($t, qr/cold=[1-9]/, "some rows are COLD ($t)");
like($t, qr/hot=[1-9]/, "some rows are still HOT ($t)");

# WARM from the mixed state, then COLD fully, then back to HOT killed before
# the sweep: chunks stay behind as orphans
$node->safe_psql('postgres', q{SELECT * FROM engram.migrate('t', target => 'warm')});
check_rows('mixed state to WARM');
$node->safe_psql('postgres', q{SELECT * FROM engram.migrate('t', target => 'cold')});
check_rows('WARM to COLD');
like(tiers(), qr/cold=3000/, 'all rows COLD');
crash_pass('migrate_before_reclaim', 0, 'hot');
check_rows('after crash at migrate_before_reclaim');
like(tiers(), qr/hot=3000/, 'all rows HOT after the killed pass');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM engram.verify('t') WHERE problem LIKE 'orphan chunk%'}), '0',
	'each chunk went with its last row: nothing left for the sweep');
$node->safe_psql('postgres', q{SELECT * FROM engram.migrate('t')});
is($node->safe_psql('postgres', q{SELECT count(*) FROM engram.verify('t')}), '0',
	'the next pass reclaimed them');

# COLD -> WARM (in place, page by page) killed after two data pages
$node->safe_psql('postgres', q{SELECT * FROM engram.migrate('t', target => 'cold')});
crash_pass('migrate_after_switch', 1, 'warm');
check_rows('after crash in a COLD -> WARM pass');
$t = tiers();
like($t, qr/cold=[1-9]\d* hot=\d+ warm=[1-9]/, "rows are part WARM, part COLD ($t)");
$node->safe_psql('postgres', 'VACUUM t');
check_rows('VACUUM after the crashed pass');
is($node->safe_psql('postgres', q{SELECT count(*) FROM engram.verify('t')}), '0',
	'verify clean');

# ---------------------------------------------------------------------
# Corruption of a WARM body and of a COLD chunk in the file
# ---------------------------------------------------------------------
$node->safe_psql('postgres', q{
CREATE TABLE cw (id int, body text) USING engram;
INSERT INTO cw SELECT g, repeat('warm body ' || g, 20) FROM generate_series(1, 100) g;
SELECT * FROM engram.migrate('cw', target => 'warm');
CREATE TABLE cc (id int, body text) USING engram;
INSERT INTO cc SELECT g, repeat('cold body ' || g, 20) FROM generate_series(1, 100) g;
SELECT * FROM engram.migrate('cc', target => 'cold');
CREATE TABLE cp (id int, body text) USING engram;
INSERT INTO cp SELECT g, repeat('page ' || g, 30) FROM generate_series(1, 200) g;
CHECKPOINT;
});
is($node->safe_psql('postgres', q{SELECT engram.tier_of('cw', '(0,5)')}), 'warm', 'cw row 5 is WARM');
is($node->safe_psql('postgres', q{SELECT engram.tier_of('cc', '(0,5)')}), 'cold', 'cc row 5 is COLD');
my $pgdata = $node->data_dir;
my $cw_path = "$pgdata/" . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('cw')});
my $cc_path = "$pgdata/" . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('cc')});
my $cp_path = "$pgdata/" . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('cp')});
ok(-s $cp_path >= 3 * 8192, 'cp has at least three pages');
$node->stop;

sub read_page
{
	my ($path, $blk) = @_;
	open(my $fh, '<:raw', $path) or die "open $path: $!";
	seek($fh, $blk * 8192, 0);
	my $page;
	read($fh, $page, 8192) == 8192 or die "short read";
	close $fh;
	return $page;
}

sub write_bytes
{
	my ($path, $pos, $bytes) = @_;
	open(my $fh, '+<:raw', $path) or die "open $path: $!";
	seek($fh, $pos, 0);
	print $fh $bytes;
	close $fh;
}

# line pointer $off of a page: (lp_off, lp_len)
sub item_pos
{
	my ($page, $off) = @_;
	my $lp = unpack('V', substr($page, 24 + 4 * ($off - 1), 4));
	return ($lp & 0x7fff, ($lp >> 17) & 0x7fff);
}

# WARM row (0,5): raw_len += 1, so decompression yields the wrong length
{
	my $page = read_page($cw_path, 0);
	my ($ioff, $ilen) = item_pos($page, 5);
	is(ord(substr($page, $ioff, 1)), 1, 'item (0,5) of cw is WARM on disk');
	my $t_hoff = ord(substr($page, $ioff + 8 + 22, 1));
	my $body = $ioff + 8 + $t_hoff;
	my $raw_len = unpack('V', substr($page, $body, 4));
	write_bytes($cw_path, $body, pack('V', $raw_len + 1));
}

# COLD chunk: flip bytes inside the compressed block of the first chunk
# item (item header flags 0x01, ADR 0010) of the first page that has one
my $chunk_blk;
{
	my $size = -s $cc_path;
	BLOCK: for my $blk (0 .. $size / 8192 - 1)
	{
		my $page = read_page($cc_path, $blk);
		my $nlp = (unpack('v', substr($page, 12, 2)) - 24) / 4;
		for my $off (1 .. $nlp)
		{
			my ($ioff, $ilen) = item_pos($page, $off);
			next unless $ilen > 32 && (ord(substr($page, $ioff + 1, 1)) & 1);
			$chunk_blk = $blk;
			my $chunk = $ioff + 32;		# item header + tuple header
			my $nbodies = unpack('v', substr($page, $chunk + 4, 2));
			my $data = $chunk + 20 + 4 * ($nbodies + 1);
			my $mid = $data + int(($ioff + $ilen - $data) / 2);
			my $orig = substr($page, $mid, 4);
			write_bytes($cc_path, $blk * 8192 + $mid, ~$orig);
			last BLOCK;
		}
	}
}
ok(defined $chunk_blk, "found a chunk item of cc (block $chunk_blk)");

# cp block 0: pd_upper beyond pd_special (the buffer manager refuses it);
# block 1: a sane header but a foreign page id in the special space
write_bytes($cp_path, 14, pack('v', 0x7fff));
write_bytes($cp_path, 8192 + 8192 - 2, pack('v', 0x1234));

$node->start;

my $vw = $node->safe_psql('postgres', q{SELECT blkno || ',' || offnum || ': ' || problem FROM engram.verify('cw')});
like($vw, qr/^0,5: WARM body decompresses to \d+ bytes, expected \d+$/, 'verify reports the damaged WARM row')
	or diag($vw);
my $vc = $node->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE problem LIKE 'chunk: chunk checksum mismatch%'),
	count(*) FILTER (WHERE problem LIKE 'COLD reference into the damaged chunk%') FROM engram.verify('cc')});
like($vc, qr/^1\|[1-9]\d*$/, "verify reports the damaged chunk and the rows in it ($vc)");

my ($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
SELECT count(*), sum(length(body)) FROM cw});
isnt($ret, 0, 'SELECT over the damaged WARM row fails');
like($err, qr/ERROR:\s+XX001: corrupt compressed row at \(0,5\) in relation "cw"/, 'with XX001 naming the row')
	or diag($err);
like($err, qr/engram\.verify/, 'and a hint to run engram.verify');
($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
SELECT count(*), sum(length(body)) FROM cc});
isnt($ret, 0, 'SELECT over the damaged chunk fails');
like($err, qr/ERROR:\s+XX001: corrupt compressed row .* in relation "cc"/, 'with XX001')
	or diag($err);
like($err, qr/checksum mismatch/, 'naming the checksum mismatch');

is($node->safe_psql('postgres',
		q{SELECT string_agg(id::text, ',' ORDER BY id) FROM cw WHERE ctid = ANY ('{"(0,4)","(0,6)"}'::tid[])}),
	'4,6', 'the other WARM rows still read');
my $vp = $node->safe_psql('postgres', q{SELECT blkno || ':' || problem FROM engram.verify('cp') ORDER BY blkno});
like($vp, qr/^0:page cannot be read: invalid page in block 0.*\n1:page id 0x1234 is not engram's$/s,
	'verify reports both damaged page headers and goes on')
	or diag($vp);
($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
SELECT count(*) FROM cp});
like($err, qr/ERROR:\s+XX001: (page 1 of relation "cp" is not an engram page|invalid page in block 0 of relation)/,
	'a sequential scan over the damaged pages raises XX001')
	or diag($err);
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still up');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal (11|6)/, 'no backend crashed');

# ---------------------------------------------------------------------
# The background worker migrates by policy
# ---------------------------------------------------------------------
$node->safe_psql('postgres', q{
DROP TABLE cw, cc, cp;
CREATE TABLE w (id int, body text) USING engram;
INSERT INTO w SELECT g, repeat('worker row ' || g, 10) FROM generate_series(1, 200) g;
});
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'engram'
engram.migrate_naptime = '1s'
engram.warm_after = 0
engram.cold_after = '1h'
});
$node->restart;
ok($node->poll_query_until('postgres',
		q{SELECT rows = 200 FROM engram.tier_stats('w') WHERE tier = 'warm'}),
	'the background worker moved never-read rows to WARM by policy');
is($node->safe_psql('postgres', q{SELECT count(*) FROM engram.verify('w')}), '0', 'verify clean after worker passes');
# its state is in engram.tier_worker (issue 24 item 5)
like($node->safe_psql('postgres',
		q{SELECT running, database, passes > 0, rows_moved >= 200, bytes_moved > 0, errors FROM engram.tier_worker}),
	qr/^t\|postgres\|t\|t\|t\|0$/, 'engram.tier_worker shows the passes and the rows moved');
# a slice holds AccessShareLock only: VACUUM (ShareUpdateExclusiveLock)
# never waits for it; a table lock the worker could hold at most this one
is($node->safe_psql('postgres', q{BEGIN; SET LOCAL lock_timeout = '5s'; LOCK TABLE w IN SHARE UPDATE EXCLUSIVE MODE; SELECT 'locked'; COMMIT;}),
	'locked', 'VACUUM\'s lock on a table the worker migrates is granted');

$node->stop;
done_testing();
