
# Copyright (c) engram authors
#
# Concurrent row modification on engram tables (engram_am_modify.c).
# pgbench clients run, for a fixed number of transactions each (no timing
# in the assertions): money transfers between a few hot rows (UPDATE/UPDATE
# waits, deadlocks), FOR KEY SHARE / FOR SHARE SKIP LOCKED plus foreign-key
# inserts and non-key updates of the referenced rows, upserts and deletes
# with FOR UPDATE SKIP LOCKED, and REPEATABLE READ transfers (serialization
# failures).  Deadlocks and serialization failures are expected and only
# counted by pgbench; any other error stops a client and fails the run.
# Afterwards: the total balance is unchanged, the index and a sequential
# scan agree, amcheck (heapallindexed) is clean, no child row is orphaned,
# engram.verify finds nothing, before and after VACUUM.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('modconc');
my $f = EngramTest::features($node);
my $am = $f->{test_am};

$node->safe_psql('postgres', qq{
	CREATE TABLE acc (id int PRIMARY KEY, bal int NOT NULL, note text) USING $am;
	INSERT INTO acc SELECT g, 1000, repeat('n', g % 50) FROM generate_series(1, 20) g;
	CREATE TABLE acc_child (id serial PRIMARY KEY,
		aid int REFERENCES acc ON DELETE CASCADE, x int) USING $am;
	CREATE INDEX acc_child_aid ON acc_child (aid);
});

my %scripts = (
	'014_transfer@5' => q{
\set a random(1, 20)
\set b random(1, 20)
\set amt random(1, 50)
BEGIN;
UPDATE acc SET bal = bal - :amt WHERE id = :a;
UPDATE acc SET bal = bal + :amt WHERE id = :b;
END;
},
	'014_lock@3' => q{
\set a random(1, 20)
BEGIN;
SELECT id FROM acc WHERE id = :a FOR KEY SHARE;
SELECT id FROM acc WHERE id >= :a ORDER BY id LIMIT 2 FOR SHARE SKIP LOCKED;
INSERT INTO acc_child (aid, x) VALUES (:a, 1);
UPDATE acc SET note = note || '.' WHERE id = :a AND length(note) < 200;
END;
},
	'014_upsert@2' => q{
\set a random(1, 20)
INSERT INTO acc VALUES (:a, 0, 'x') ON CONFLICT (id) DO UPDATE SET note = left(acc.note, 10) || 'u';
DELETE FROM acc_child WHERE id IN (SELECT id FROM acc_child WHERE aid = :a ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED);
},
	'014_rr@2' => q{
\set a random(1, 20)
\set b random(1, 20)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT sum(bal) FROM acc;
UPDATE acc SET bal = bal - 1 WHERE id = :a;
UPDATE acc SET bal = bal + 1 WHERE id = :b;
END;
},
);
my $clients = 6;
my $per_client = 250;
$node->pgbench(
	"--no-vacuum --client=$clients --jobs=2 --transactions=$per_client",
	0,
	[qr{actually processed: \d+/@{[ $clients * $per_client ]}}],
	[qr{^(?!.*aborted)}s],
	'concurrent transfers, locks, FK inserts, upserts and RR transactions run to the end',
	\%scripts);

sub check_all
{
	my ($what) = @_;
	is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id), sum(bal) FROM acc'),
		'20|20|20000', "$what: 20 accounts, total balance unchanged");
	my ($seq, $idx) = EngramTest::index_vs_seqscan($node, 'acc', 'id');
	is($idx, $seq, "$what: index scan on acc gives the rows of a seq scan");
	is($node->safe_psql('postgres',
			'SELECT count(*) FROM acc_child c WHERE NOT EXISTS (SELECT 1 FROM acc a WHERE a.id = c.aid)'),
		'0', "$what: no orphaned child row");
	if ($f->{amcheck})
	{
		$node->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS amcheck');
		my ($n, @errs) = EngramTest::amcheck_btrees($node, 'acc');
		my ($n2, @errs2) = EngramTest::amcheck_btrees($node, 'acc_child');
		is(join("\n", @errs, @errs2), '', "$what: amcheck heapallindexed clean on $n + $n2 indexes");
	}
	if ($f->{verify})
	{
		is($node->safe_psql('postgres',
				"SELECT count(*) FROM engram.verify('acc') UNION ALL SELECT count(*) FROM engram.verify('acc_child')"),
			"0\n0", "$what: engram.verify finds no problem");
	}
	return;
}

check_all('after the run');
$node->safe_psql('postgres', 'VACUUM acc; VACUUM acc_child');
check_all('after VACUUM');

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|server process .* was terminated/, 'no crash or assertion failure');
my %errs;
$errs{$1}++ while $log =~ /ERROR:  ([^\n]*)/g;
my @unexpected = grep {
	!/^(deadlock detected|could not serialize access due to concurrent (update|delete))$/
} keys %errs;
is(join("\n", sort @unexpected), '', 'only deadlocks and serialization failures were reported');
note("errors seen: " . join(', ', map { "$_ x$errs{$_}" } sort keys %errs));

$node->stop;
done_testing();
