# Copyright (c) engram authors
#
# Memory expiry (engram.expire, sql/install/55_memory_features.sql) and the
# background worker's expiry pass (src/memory_features.c, called from
# src/tier_worker.c) under kill -9.
#
#  1. A backend running engram.expire() is killed (SIGKILL at the table AM's
#     delete_after_wal fault point, after 50 of 200 deletes): after crash
#     recovery every memory is either there or expired-and-gone -- here all
#     200 expired ones are still there, since the pass is one transaction --
#     and every acknowledged non-expired memory is present and identical.
#  2. The same fault armed for the background worker (engram.expire_naptime
#     = 1): the worker dies in its pass, the postmaster recovers; at every
#     look the expired memories are all there or all gone, never part; once
#     the fault is disarmed the worker's next pass deletes exactly the
#     expired memories, and the non-expired ones are intact.
#  3. engram.verify finds no problem after each recovery; the worker's pass
#     also runs a space's consolidation schedule (engram.set_space_schedule).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $node = EngramTest::new_primary('expire_crash', preload => 1,
	extra_conf => "engram.expire_naptime = 0\nengram.migrate_naptime = 86400\nfsync = on");

# 200 memories that have expired (fixed expiry in the past, or a sliding TTL
# unused for longer than it) and 150 that have not (fixed expiry tomorrow,
# sliding TTL of a day, no expiry)
$node->safe_psql('postgres', q{
SELECT engram.create_space('exp', 16);
SELECT count(engram.remember('memory ' || i, engram.embed_text('memory ' || i, 16), space => 'exp',
							 metadata => jsonb_build_object('i', i)))
FROM generate_series(1, 350) i;
UPDATE engram.memory SET expires_at = now() - interval '1 minute'
	WHERE space = 'exp' AND (metadata->>'i')::int <= 150;
UPDATE engram.memory SET ttl = interval '1 hour', created_at = now() - interval '2 hours'
	WHERE space = 'exp' AND (metadata->>'i')::int BETWEEN 151 AND 200;
UPDATE engram.memory SET expires_at = now() + interval '1 day'
	WHERE space = 'exp' AND (metadata->>'i')::int BETWEEN 201 AND 250;
UPDATE engram.memory SET ttl = interval '1 day'
	WHERE space = 'exp' AND (metadata->>'i')::int BETWEEN 251 AND 300;
});

my $live_q = q{SELECT count(*) || ':' || md5(string_agg(m.id || '|' || m.content || '|' || m.embedding::text
									 || '|' || coalesce(m.expires_at::text, '-') || '|' || coalesce(m.ttl::text, '-'),
									 ',' ORDER BY m.id))
FROM engram.memory m WHERE m.space = 'exp' AND (m.metadata->>'i')::int > 200};
my $expired_q = q{SELECT count(*) FROM engram.memory m WHERE m.space = 'exp' AND (m.metadata->>'i')::int <= 200};
my $live = $node->safe_psql('postgres', $live_q);
like($live, qr/^150:/, '150 non-expired memories acknowledged');
is($node->safe_psql('postgres', $expired_q), '200', '200 expired memories before any pass');

sub check_state
{
	my ($what, @allowed) = @_;
	is($node->safe_psql('postgres', $live_q), $live,
		"$what: every non-expired memory present and identical");
	my $expired = $node->safe_psql('postgres', $expired_q);
	ok((grep { $_ eq $expired } @allowed),
		"$what: expired memories all there or all gone ($expired of 200 left)");
	my @problems = EngramTest::verify_problems($node, 'engram.memory');
	is(scalar(@problems), 0, "$what: verify finds no problem") or diag(join("\n", @problems));
}

# 1. a backend killed in the middle of engram.expire()
my $logpos = -s $node->logfile;
my ($ret, $out, $err) = $node->psql('postgres', q{
SET engram.fault_point = 'delete_after_wal';
SET engram.fault_action = 'sigkill';
SET engram.fault_skip = 50;
SELECT engram.expire('exp');
});
isnt($ret, 0, 'engram.expire() killed after 50 deletes');
ok(defined EngramTest::wait_crash_restart($node, $logpos), 'the postmaster recovered from the crash');
check_state('after the killed expire()', '200');

# 2. the background worker killed in its pass
$logpos = -s $node->logfile;
$node->append_conf('postgresql.conf', q{
engram.fault_point = 'delete_after_wal'
engram.fault_action = 'sigkill'
engram.fault_skip = 50
engram.expire_naptime = 1
});
$node->reload;
my $crash = EngramTest::wait_crash_restart($node, $logpos, 60);
ok(defined $crash, 'the worker died in its expiry pass and the postmaster recovered');
like($crash // '', qr/engram tier migration.*terminated by signal 9/,
	'it was the background worker that was killed');
# the restarted worker may die again until the fault is disarmed; at every
# look the state is whole
check_state('after the worker was killed', '200', '0');
$node->append_conf('postgresql.conf', q{
engram.fault_point = ''
});
$node->reload;
EngramTest::wait_ready($node);
ok($node->poll_query_until('postgres', "$expired_q", '0'),
	'the worker\'s next pass deleted the expired memories');
check_state('after the worker\'s pass', '0');
is($node->safe_psql('postgres', q{SELECT count(*) FROM engram.memory WHERE space = 'exp'}), '150',
	'exactly the 150 non-expired memories are left');

# the same worker pass runs the spaces' consolidation schedules
$node->safe_psql('postgres', q{
SELECT engram.create_space('sched', 16);
SELECT engram.remember('the train to Porto leaves at nine', engram.embed_text('the train to Porto leaves at nine', 16),
					   space => 'sched'),
	   engram.remember('the train to Porto leaves at nine.', engram.embed_text('the train to Porto leaves at nine', 16),
					   space => 'sched');
SELECT engram.set_space_schedule('sched', '1 hour');
});
ok($node->poll_query_until('postgres',
		q{SELECT last_consolidated IS NOT NULL FROM engram.space_policy WHERE space = 'sched'}),
	'the worker ran the scheduled consolidation');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM engram.memory WHERE space = 'sched' AND kind = 'semantic'}),
	'1', 'it consolidated the two near-duplicates into one semantic memory');
is($node->safe_psql('postgres', q{SELECT count(*) FROM engram.memory WHERE space = 'exp'}), '150',
	'spaces without a schedule are not consolidated');

# 3. restart: the result of the pass is durable
$node->restart;
check_state('after a restart', '0');

$node->stop;
done_testing();
