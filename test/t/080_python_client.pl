# Copyright (c) engram authors
#
# The Python client (clients/python/) against a real throwaway cluster:
# its unittest suite (remember / recall with filters / forget / associate /
# spread / consolidate / spaces, per-request roles under row-level
# security, a psycopg_pool pool, pluggable embedders, typed results), the
# MCP server (tests/test_mcp.py, spoken to over stdio as a client would), the
# LangGraph store EngramStore (tests/test_langgraph_store.py, also as a
# tenant login role holding only a space grant, against
# stand-ins of LangGraph's documented BaseStore interface: LangGraph cannot
# be installed here), and the example agent loop, whose answers are checked.
#
# Needs Debian's python3-psycopg (test/scripts/deps.sh installs it); its
# absence fails the test.  psycopg_pool (python3-psycopg-pool) is optional:
# without it the pool test reports itself skipped and the count below says
# so.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $src = $ENV{TESTDIR} // '.';
my $client = "$src/clients/python";
# Debian's interpreter, where Debian's python3-psycopg is installed
my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';

my ($rc, $out, $err) = run_cmd([ $python, '-c', 'import psycopg; print(psycopg.__version__)' ]);
ok($rc, "python3-psycopg importable") or diag($err);

my $node = PostgreSQL::Test::Cluster->new('python_client');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE pyclient');
$node->safe_psql('pyclient', 'CREATE EXTENSION engram');
my $dsn = $node->connstr('pyclient');

sub run_cmd
{
	my ($cmd) = @_;
	my ($o, $e);
	my $ok = IPC::Run::run($cmd, '>', \$o, '2>', \$e);
	return ($ok, $o // '', $e // '');
}

{
	local $ENV{ENGRAM_TEST_DSN} = $dsn;
	($rc, $out, $err) = run_cmd(
		[ $python, '-m', 'unittest', 'discover', '-v', '-s', "$client/tests", '-t', "$client/tests" ]);
}
# unittest reports on stderr
note($err);
ok($rc, 'Python client unittest suite passes');
my ($ran) = $err =~ /^Ran (\d+) tests?/m;
my ($skipped) = $err =~ /skipped=(\d+)/;
$skipped //= 0;
cmp_ok($ran // 0, '>=', 19, 'all client tests ran (' . ($ran // 0) . ')');
like($err, qr/^OK\b/m, 'unittest says OK');
is($skipped, 0, 'no client test skipped (psycopg_pool present)')
  or diag('skipped tests: install python3-psycopg-pool to run the pool test');

# the example agent loop answers from memory
($rc, $out, $err) = run_cmd([ $python, "$client/examples/agent_loop.py", $dsn ]);
ok($rc, 'example agent loop runs') or diag($err);
like($out, qr/Where does Alice work\?\nagent: I remember: Alice works at the bakery on Main Street\./,
	'agent recalls where Alice works');
like($out, qr/What is Bob allergic to\?\nagent: I remember: Bob is allergic to peanuts\./,
	'agent recalls the allergy');
like($out, qr/Where is the offsite\?\nagent: I remember: The team offsite is in Lisbon in March\./,
	'agent recalls the offsite');

# the tests and the example clean up after themselves
is($node->safe_psql('pyclient', q{SELECT count(*) FROM engram.memory}), '0',
	'no memories left behind');
is($node->safe_psql('pyclient', q{SELECT count(*) FROM engram.space WHERE name <> 'default'}), '0',
	'no spaces left behind');

$node->stop;
done_testing();
