# Copyright (c) engram authors
#
# UPDATE of a row whose new version must be toasted (issue 24, item 3).
# Toasting writes the toast relation; here another session holds a lock on
# it (REINDEX TABLE of the toast table in an open transaction: ShareLock),
# so the toaster waits.  Like heap_update, engram must wait with no buffer
# lock held: the waiting UPDATE must be cancellable (pg_cancel_backend,
# statement_timeout), and readers of the same page must not wait for it.
# Before, the old page stayed exclusively locked while toasting: cancel and
# timeouts did nothing until the other session committed, and a reader of
# that page waited uninterruptibly.
#
# Each wait below is bounded by the background session's timeout (30 s):
# an UPDATE or a read that does not come back within it fails the test.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('update_toast');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION engram;
	CREATE TABLE tt (id int PRIMARY KEY, big text) USING engram;
	ALTER TABLE tt ALTER COLUMN big SET STORAGE EXTERNAL;
	INSERT INTO tt SELECT g, 'small ' || g FROM generate_series(1, 20) g;});
my $toast = $node->safe_psql('postgres',
	q{SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 'tt'::regclass});
like($toast, qr/^pg_toast\.pg_toast_\d+$/, "tt has toast table $toast");

# session holding ShareLock on the toast table until it commits
my $locker = $node->background_psql('postgres', on_error_stop => 0);
sub lock_toast
{
	$locker->query_safe('BEGIN');
	$locker->query_safe("REINDEX TABLE $toast");
}

# start an UPDATE that needs toasting in its own session, without waiting
sub start_update
{
	my ($settings) = @_;
	my $s = $node->background_psql('postgres', on_error_stop => 0, timeout => 30);
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	$s->{stdin} .= "$settings\nUPDATE tt SET big = repeat('x', 200000) WHERE id = 1;\n\\echo update-finished\n";
	$s->{run}->pump_nb();
	# until it waits for the toast table's lock
	$node->poll_query_until('postgres', qq{
		SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $pid})
	  or die 'the UPDATE never waited for the toast lock';
	return ($s, $pid);
}

sub finish_update
{
	my ($s) = @_;
	my $ok = eval {
		pump_until($s->{run}, $s->{timeout}, \$s->{stdout}, qr/update-finished/);
		!$s->{timeout}->is_expired;
	};
	return ($ok, $s->{stderr});
}

# ---- pg_cancel_backend, and a reader of the same page meanwhile ----
lock_toast();
my ($s1, $pid1) = start_update('');
my $reader = $node->background_psql('postgres', on_error_stop => 0, timeout => 30);
my $read = eval { $reader->query("SELECT count(*), min(big) FROM tt WHERE id <= 20") };
is($read, '20|small 1', 'a reader of the page is not held up by the waiting UPDATE');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid1)");
my ($ok, $err) = finish_update($s1);
ok($ok, 'the UPDATE waiting in the toaster returns after pg_cancel_backend');
like($err, qr/canceling statement due to user request/, 'with the cancel error');
$locker->query_safe('COMMIT');

# the row is unchanged, and nothing holds it: an UPDATE goes through now
is($node->safe_psql('postgres', q{SELECT big FROM tt WHERE id = 1}), 'small 1',
	'the cancelled UPDATE left the row as it was');

# ---- statement_timeout ----
lock_toast();
my ($s2, $pid2) = start_update("SET statement_timeout = '1s';");
($ok, $err) = finish_update($s2);
ok($ok, 'the UPDATE waiting in the toaster returns at statement_timeout');
like($err, qr/canceling statement due to statement timeout/, 'with the timeout error');
$locker->query_safe('COMMIT');

# ---- without interference the toasted UPDATE works, and so do its neighbours ----
$node->safe_psql('postgres', q{
	UPDATE tt SET big = repeat('y', 200000) WHERE id = 1;
	UPDATE tt SET big = big || '!' WHERE id = 2;});
is($node->safe_psql('postgres', q{SELECT length(big), left(big, 1) FROM tt WHERE id = 1}),
	'200000|y', 'a toasted UPDATE stores its value');
is($node->safe_psql('postgres', q{SELECT big FROM tt WHERE id = 2}), 'small 2!',
	'a neighbouring row updates normally');
# a key-share locker may join while we toast; its lock must survive
$node->safe_psql('postgres', q{
	CREATE TABLE ref (id int REFERENCES tt) USING engram;
	INSERT INTO ref VALUES (1);
	UPDATE tt SET big = repeat('z', 150000) WHERE id = 1;});
is($node->safe_psql('postgres', q{SELECT length(big), left(big, 1) FROM tt WHERE id = 1}),
	'150000|z', 'toasted UPDATE of a referenced row');
is($node->safe_psql('postgres', q{SELECT count(*) FROM engram.verify('tt')}), '0',
	'engram.verify finds nothing');

$_->quit for ($locker, $reader, $s1, $s2);
ok($node->log_contains('terminated by signal') == 0, 'no backend crashed');
$node->stop;
done_testing();
