-- Every user-facing error of the memory API: message, hint and SQLSTATE.
\set SHOW_CONTEXT never
SELECT engram.create_space('err', 3);
SELECT engram.remember('three dims', '[1,2,3]', space => 'err') > 0 AS ok;

-- wrong dimensions for the space (remember, recall, direct INSERT)
SELECT engram.remember('two dims', '[1,2]', space => 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall('[1,2,3,4]', space => 'err');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO engram.memory (space, content, embedding) VALUES ('err', 'direct', '[1,2]');
\echo :LAST_ERROR_SQLSTATE

-- NaN is rejected by the vector type
SELECT engram.remember('nan', '[NaN,1,2]', space => 'err');
\echo :LAST_ERROR_SQLSTATE

-- empty, blank, NULL and oversized content
SELECT engram.remember('', space => 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember(E'  \t\n ', space => 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember(NULL, space => 'err');
\echo :LAST_ERROR_SQLSTATE
SET engram.max_content_bytes = 16;
SELECT engram.remember('this content is longer than sixteen bytes', space => 'err');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO engram.memory (space, content) VALUES ('err', 'this content is longer than sixteen bytes');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('sixteen bytes ok', space => 'err') > 0 AS ok;
RESET engram.max_content_bytes;

-- invalid and unknown spaces
SELECT engram.create_space('Bad Name');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.create_space(repeat('x', 65));
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('x', space => 'no/slash');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('x', space => 'nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall(NULL, space => 'nosuch', cue_text => 'x');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO engram.memory (space, content) VALUES ('nosuch', 'direct');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.create_space('err');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.create_space('zero', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.drop_space('nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.drop_space('err');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.drop_space('default');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.grant_space('nosuch', current_user::regrole);
\echo :LAST_ERROR_SQLSTATE

-- recall arguments
SELECT * FROM engram.recall('[1,2,3]', 0, 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall('[1,2,3]', 10001, 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall('[1,2,3]', NULL, 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall(NULL, 5, 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.recall('[1,2,3]', 5, 'err', min_confidence => 2);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM engram.recall('[1,2,3]', 10000, 'err');

-- remember arguments
SELECT engram.remember('x', confidence => 1.5, space => 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('x', confidence => -0.1, space => 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('x', confidence => 'NaN', space => 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('x', kind => 'procedural', space => 'err');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('x', metadata => '[1,2]', space => 'err');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
UPDATE engram.memory SET confidence = 2 WHERE space = 'err';
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- forget and associate with unknown ids
SELECT engram.forget(-42);
SELECT id AS known FROM engram.memory WHERE space = 'err' ORDER BY id LIMIT 1 \gset
SELECT engram.associate(:known, -42);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.associate(-41, :known);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.associate(:known, :known);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.associate(:known, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.remember('other', '[3,2,1]', space => 'err') AS other \gset
SELECT engram.associate(:known, :other, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.associate(:known, :other, 1.5);
\echo :LAST_ERROR_SQLSTATE

-- spread arguments
SELECT * FROM engram.spread(ARRAY[1]::bigint[], max_hops => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.spread(ARRAY[1]::bigint[], max_hops => 1000);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.spread(ARRAY[1]::bigint[], decay => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM engram.spread(ARRAY[1]::bigint[], threshold => 2);
\echo :LAST_ERROR_SQLSTATE

-- embed_text arguments
SELECT engram.embed_text('hello', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.embed_text('hello', 16001);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.embed_text(' -- !! ');
\echo :LAST_ERROR_SQLSTATE

-- settings
SET engram.dedup_threshold = 1.5;
\echo :LAST_ERROR_SQLSTATE
SELECT engram._setting('work_mem');
\echo :LAST_ERROR_SQLSTATE
SET engram.forget_after = 'soon';
SELECT * FROM engram.consolidate('err');
\echo :LAST_ERROR_SQLSTATE
RESET engram.forget_after;
SELECT * FROM engram.consolidate('nosuch');
\echo :LAST_ERROR_SQLSTATE

SELECT engram.drop_space('err', cascade => true);
