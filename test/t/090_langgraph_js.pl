# Copyright (c) engram authors
#
# The LangGraph store for JavaScript (clients/langgraph-js): EngramStore, a
# BaseStore of @langchain/langgraph (installed from the npm registry with
# `npm ci`, pinned by package-lock.json) on a real throwaway cluster:
# put / get / update / delete, search by prefix, filter, paging and
# semantic query, listNamespaces, batch, the same as a tenant holding only
# a space grant (writes only through engram.put / delete_key), and a real
# LangGraph StateGraph whose node remembers and recalls through the store.
#
# Needs Node.js >= 20 and npm (the project's machines have them; without
# them it skips, allow-listed) and the npm registry (without it, it fails).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $src = $ENV{TESTDIR} // '.';
my $dir = "$src/clients/langgraph-js";

sub run_cmd
{
	my ($cmd, %env) = @_;
	my ($o, $e);
	local @ENV{ keys %env } = values %env;
	my $ok = IPC::Run::run($cmd, '>', \$o, '2>', \$e);
	return ($ok, $o // '', $e // '');
}

# Node.js >= 20 (@langchain/core needs it): Debian 12's own nodejs is 18,
# so a machine without a newer one skips, through the allow-list
# (test/skip-allowlist.txt); this machine kind ships Node 20.
my ($ok, $out, $err) = run_cmd([ 'node', '--version' ]);
chomp $out;
my ($major) = $out =~ /^v(\d+)/;
plan skip_all => "needs Node.js 20 or later and npm (found: " . ($ok ? $out : 'no node') . ")"
  unless $ok && ($major // 0) >= 20 && (run_cmd([ 'npm', '--version' ]))[0];
ok($ok, "node present ($out)");

# dependencies exactly as locked, into the work copy, with a private cache
my $cache = "$PostgreSQL::Test::Utils::tmp_check/npm-cache";
($ok, $out, $err) = run_cmd([ 'npm', 'ci', '--no-audit', '--no-fund', '--prefix', $dir ],
	npm_config_cache => $cache, npm_config_update_notifier => 'false');
ok($ok, 'npm ci installs @langchain/langgraph, @langchain/core and pg') or diag("$out\n$err");

my $node = PostgreSQL::Test::Cluster->new('langgraph_js');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE lgjs');
$node->safe_psql('lgjs', 'CREATE EXTENSION engram');
my $user = $node->safe_psql('postgres', 'SELECT current_user');

($ok, $out, $err) = run_cmd([ 'node', '--test', "$dir/test/" ],
	PGHOST => $node->host, PGPORT => $node->port, PGDATABASE => 'lgjs', PGUSER => $user,
	ENGRAM_TEST_DSN => '');
note($out);
ok($ok, 'node --test passes') or diag($err);
my ($pass) = $out =~ /^# pass (\d+)/m;
my ($fail) = $out =~ /^# fail (\d+)/m;
cmp_ok($pass // 0, '>=', 4, 'all store tests ran and passed (' . ($pass // 0) . ')');
is($fail, '0', 'no store test failed');
like($out, qr/^ok \d+ - a LangGraph graph remembers and recalls through the store/m,
	'the LangGraph graph test passed');
is($node->safe_psql('lgjs', q{SELECT count(*) FROM engram.space WHERE name LIKE 'lgjs\_%'}),
	'0', 'the tests drop their space');

$node->stop;
done_testing();
