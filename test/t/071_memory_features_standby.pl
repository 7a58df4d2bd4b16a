# Copyright (c) engram authors
#
# The memory features (sql/install/55_memory_features.sql) on streaming
# standbys, with wal_consistency_checking = 'generic' on the primary:
#
#  1. update_memory, supersede, invalidate, put (new key and existing key),
#     set_expiry, expire, core block edits and space policies are replayed:
#     engram.memory, engram.memory_history, engram.core_block(_history) and
#     engram.space_policy are identical on a hot standby with the library;
#     the standbys report no inconsistent page.
#  2. A standby without the library (a stock server) replays the same
#     stream and reads the heap tables of the features (core blocks).
#  3. On the hot standby the reads work (get, history, get_block,
#     core_blocks, list_namespaces, valid_at) with the primary's results,
#     and every write function is refused with 25006.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EngramTest;

my $primary = EngramTest::new_primary('feat_primary', wcc => 1);
my $standby = EngramTest::new_standby($primary, 'feat_standby');
my $nolib = EngramTest::new_standby($primary, 'feat_nolib', nolib => 1);

$primary->safe_psql('postgres', q{
SELECT engram.create_space('fs', 16);
SELECT engram.remember('memory ' || i, engram.embed_text('memory ' || i, 16), space => 'fs')
FROM generate_series(1, 200) i;
SELECT engram.update_memory(id, content => content || ' (revised)', confidence => 0.75)
FROM engram.memory WHERE space = 'fs' AND id % 3 = 0;
SELECT engram.supersede(id, content || ' (superseded)', embedding => engram.embed_text(content, 16))
FROM engram.memory WHERE space = 'fs' AND id % 7 = 0 AND superseded_by IS NULL AND valid_to IS NULL;
SELECT engram.invalidate(id) FROM engram.memory WHERE space = 'fs' AND id % 11 = 0 AND valid_to IS NULL;
SELECT engram.put('fs', 'k' || i, 'keyed ' || i, namespace => ARRAY['users', 'u' || (i % 4)])
FROM generate_series(1, 40) i;
SELECT engram.put('fs', 'k' || i, 'keyed again ' || i, namespace => ARRAY['users', 'u' || (i % 4)])
FROM generate_series(1, 20) i;
SELECT engram.set_expiry(id, expires_at => now() - interval '1 second')
FROM engram.memory WHERE space = 'fs' AND id % 13 = 0 AND key IS NULL;
SELECT engram.expire('fs');
SELECT engram.set_space_ttl('fs', '7 days');
SELECT engram.remember('with the default ttl', space => 'fs');
SELECT engram.set_block('fs', 'persona', 'I am helpful.');
SELECT engram.append_block('fs', 'persona', 'I am brief.');
SELECT engram.replace_block('fs', 'persona', 'brief', 'concise');
SELECT engram.set_block('fs', 'human', 'Name: Ann.');
});
EngramTest::wait_catchup($primary, $standby);
EngramTest::wait_catchup($primary, $nolib);

# 1. identical tables on the hot standby
for my $t (['engram.memory', 'id'], ['engram.memory_history', 'memory_id, version'],
		   ['engram.core_block', 'space, label'], ['engram.core_block_history', 'space, label, version'],
		   ['engram.space_policy', 'space'])
{
	my ($table, $key) = @$t;
	my $p = EngramTest::table_checksum($primary, $table, $key);
	like($p, qr/^[1-9]\d*:/, "$table has rows on the primary");
	is(EngramTest::table_checksum($standby, $table, $key), $p, "$table identical on the standby");
}
is($primary->safe_psql('postgres', q{SELECT count(*) FROM engram.memory_history WHERE replaced_by = 'put'}),
	'20', 'the primary kept the 20 replaced keyed versions');
my @problems = EngramTest::verify_problems($standby, 'engram.memory');
is(scalar(@problems), 0, 'verify finds no problem on the standby') or diag(join("\n", @problems));

# 2. the standby without the library replayed everything
is(EngramTest::table_checksum($nolib, 'engram.core_block', 'space, label'),
	EngramTest::table_checksum($primary, 'engram.core_block', 'space, label'),
	'core blocks identical on the standby without the library');
is(EngramTest::table_checksum($nolib, 'engram.core_block_history', 'space, label, version'),
	EngramTest::table_checksum($primary, 'engram.core_block_history', 'space, label, version'),
	'core block history identical on the standby without the library');
for my $n ($standby, $nolib)
{
	unlike(slurp_file($n->logfile), qr/inconsistent page|FATAL|PANIC/,
		$n->name . ': no inconsistent page, no FATAL or PANIC in the log');
}

# 3. reads on the hot standby equal the primary's; writes are refused
for my $q (
	q{SELECT content, version FROM engram.get('fs', 'k3', '{users,u3}')},
	q{SELECT string_agg(version || ':' || content || ':' || coalesce(replaced_by, '-'), ',' ORDER BY version)
	  FROM engram.history((SELECT min(id) FROM engram.memory WHERE space = 'fs' AND superseded_by IS NOT NULL))},
	q{SELECT engram.get_block('fs', 'persona')},
	q{SELECT string_agg(label || '=' || value, ',' ORDER BY label) FROM engram.core_blocks('fs')},
	q{SELECT string_agg(namespace::text || memories, ',') FROM engram.list_namespaces('{users}', 'fs')},
	q{SELECT count(*) FROM engram.memory WHERE space = 'fs' AND engram.valid_at(valid_from, valid_to)})
{
	my $p = $primary->safe_psql('postgres', $q);
	isnt($p, '', "primary answers: $q");
	is($standby->safe_psql('postgres', $q), $p, "standby answers the same: $q");
}
for my $w (
	q{SELECT engram.update_memory((SELECT min(id) FROM engram.memory WHERE space = 'fs' AND valid_to IS NULL), content => 'x')},
	q{SELECT engram.put('fs', 'k1', 'x', namespace => '{users,u1}')},
	q{SELECT engram.expire()},
	q{SELECT engram.append_block('fs', 'persona', 'x')})
{
	my ($rc, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\n$w");
	like($err, qr/25006/, "refused on the standby with 25006: $w");
}

$nolib->stop;
$standby->stop;
$primary->stop;
done_testing();
