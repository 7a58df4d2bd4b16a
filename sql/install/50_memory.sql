-- ---------------------------------------------------------------------
-- 50_memory: the memory API (src/memory_*.c)
--
-- Tables: engram.space, engram.space_grant, engram.memory,
-- engram.association.  Functions: create_space, drop_space, grant_space,
-- revoke_space, remember, associate, spread, forget, embed_text,
-- activation math (recall and consolidate: 52_memory_recall.sql).  Views: engram.memories, engram.memory_stats.
--
-- Access history and tiers are read ONLY through engram._access(regclass,
-- tid), engram._record_access(regclass, tid) and engram._tier(regclass,
-- tid), implemented in src/memory_access.c: wiring them to the table AM is
-- a change there and nowhere else.
--
-- Full-text search uses the 'english' configuration (stemming, stop words)
-- for engram.memory.content_tsv and recall's cue_text.
-- ---------------------------------------------------------------------

-- Every role may look into the schema.  What it may read is decided by
-- table privileges (SELECT, given by grant_space) and row-level security;
-- it writes memories only through the API functions, which check the space
-- grant (docs/architecture/0009-security-model.md).
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-- C helpers ---------------------------------------------------------------

CREATE FUNCTION @extschema@._setting(pg_catalog.text)
	RETURNS pg_catalog.text
	AS 'MODULE_PATHNAME', 'engram_memory_setting'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._setting(pg_catalog.text) IS
'internal: current value of an engram.* setting (other names are refused)';

CREATE FUNCTION @extschema@.writes_allowed()
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'engram_memory_writes_allowed'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.writes_allowed() IS
'false on a hot standby or in a read-only transaction (recall then records no accesses)';

CREATE FUNCTION @extschema@._check_content(pg_catalog.text, check_size pg_catalog.bool DEFAULT true)
	RETURNS void
	AS 'MODULE_PATHNAME', 'engram_memory_check_content'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._check_content(pg_catalog.text, pg_catalog.bool) IS
'internal: raises an error for NULL or blank content and, with check_size, content over engram.max_content_bytes';

-- access history and tier: the single wiring point (src/memory_access.c)
CREATE FUNCTION @extschema@._access(rel pg_catalog.regclass, row_tid pg_catalog.tid,
									OUT access_count pg_catalog.int8,
									OUT last_access pg_catalog.timestamptz)
	AS 'MODULE_PATHNAME', 'engram_memory_access'
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._access(pg_catalog.regclass, pg_catalog.tid) IS
'internal: access history of the memory row at tid (only rows the caller can SELECT under row-level security)';

CREATE FUNCTION @extschema@._record_access(rel pg_catalog.regclass, row_tid pg_catalog.tid)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'engram_memory_record_access'
	LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@._record_access(pg_catalog.regclass, pg_catalog.tid) IS
'internal: record one access of the memory row at tid (only rows the caller can SELECT); false on a standby or in a read-only transaction';

CREATE FUNCTION @extschema@._tier(rel pg_catalog.regclass, row_tid pg_catalog.tid)
	RETURNS pg_catalog.text
	AS 'MODULE_PATHNAME', 'engram_memory_tier'
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._tier(pg_catalog.regclass, pg_catalog.tid) IS
'internal: storage tier of the memory row at tid (only rows the caller can SELECT)';

-- activation math (src/memory_activation.c) --------------------------------

CREATE FUNCTION @extschema@.decay_exponential(age_hours pg_catalog.float8, rate pg_catalog.float8)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'engram_decay_exponential'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decay_exponential(pg_catalog.float8, pg_catalog.float8) IS
'exp(-rate * age_hours)';

CREATE FUNCTION @extschema@.decay_power(age_hours pg_catalog.float8, rate pg_catalog.float8)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'engram_decay_power'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decay_power(pg_catalog.float8, pg_catalog.float8) IS
'(1 + age_hours) ^ -rate';

CREATE FUNCTION @extschema@.actr_base_level(n pg_catalog.int8, lifetime_hours pg_catalog.float8,
											recency_hours pg_catalog.float8, d pg_catalog.float8)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'engram_actr_base_level'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.actr_base_level(pg_catalog.int8, pg_catalog.float8, pg_catalog.float8, pg_catalog.float8) IS
'ACT-R base-level activation B = ln(sum_j t_j^-d) for n presentations, by Petrov''s hybrid approximation with one exact term: B = ln(t1^-d + (n-1)(L^(1-d) - t1^(1-d)) / ((1-d)(L - t1))), t1 = recency, L = lifetime (hours, at least 1 second), 0 <= d < 1';

CREATE FUNCTION @extschema@.activation(created_at pg_catalog.timestamptz,
									   last_access pg_catalog.timestamptz,
									   access_count pg_catalog.int8,
									   now pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'engram_activation'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.activation(pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.timestamptz) IS
'base-level activation under engram.decay_function / engram.decay_rate: exponential exp(-d t), power (1+t)^-d with t = hours since last access (or creation); actr: actr_base_level(access_count + 1, hours since creation, hours since last access, d)';

CREATE FUNCTION @extschema@.activation_norm(created_at pg_catalog.timestamptz,
											last_access pg_catalog.timestamptz,
											access_count pg_catalog.int8,
											now pg_catalog.timestamptz DEFAULT pg_catalog.now())
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'engram_activation_norm'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.activation_norm(pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.int8, pg_catalog.timestamptz) IS
'activation() mapped to [0,1]: exponential and power as they are, actr by the logistic 1/(1+exp(-B))';

CREATE FUNCTION @extschema@.recall_score(similarity pg_catalog.float4, activation pg_catalog.float4,
										 confidence pg_catalog.float4)
	RETURNS pg_catalog.float4
	AS 'MODULE_PATHNAME', 'engram_recall_score'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.recall_score(pg_catalog.float4, pg_catalog.float4, pg_catalog.float4) IS
'engram.weight_similarity * similarity + engram.weight_activation * activation + engram.weight_confidence * confidence (NULL or NaN counts as 0)';

-- lexical embedder (src/memory_embed.c) -----------------------------------

CREATE FUNCTION @extschema@.embed_text(pg_catalog.text, dims pg_catalog.int4 DEFAULT 384)
	RETURNS @extschema@.vector
	AS 'MODULE_PATHNAME', 'engram_embed_text'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.embed_text(pg_catalog.text, pg_catalog.int4) IS
'deterministic LEXICAL feature-hashing embedding (words, word pairs, character trigrams; FNV-1a into dims signed buckets; l2-normalised). Texts are close when they share words, not meaning: use a real model for semantic recall.';

-- spaces ----------------------------------------------------------------

CREATE TABLE @extschema@.space (
	name		pg_catalog.text PRIMARY KEY
				CONSTRAINT space_name_check CHECK (name OPERATOR(pg_catalog.~) '^[a-z0-9_-]{1,64}$'),
	dims		pg_catalog.int4
				CONSTRAINT space_dims_check CHECK (dims BETWEEN 1 AND 16000),
	created_at	pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.space IS
'memory spaces; dims is fixed at create_space or by the first embedding remembered in the space';

CREATE TABLE @extschema@.space_grant (
	space		pg_catalog.text NOT NULL REFERENCES @extschema@.space (name) ON DELETE CASCADE,
	-- regrole, not oid: pg_dump writes the role's name, so a restore into
	-- another cluster (pg_dumpall, where roles get new OIDs) grants the
	-- space to the same role and never to whichever role reuses the OID
	role		pg_catalog.regrole NOT NULL,
	PRIMARY KEY (space, role)
);
COMMENT ON TABLE @extschema@.space_grant IS
'roles allowed to read and write a space (row-level security on memory and association)';

INSERT INTO @extschema@.space (name) VALUES ('default');

-- memories ----------------------------------------------------------------

-- Memories live in the engram table access method (tiers, access history).
CREATE TABLE @extschema@.memory (
	id			pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	space		pg_catalog.text NOT NULL DEFAULT 'default'
				REFERENCES @extschema@.space (name),
	content		pg_catalog.text NOT NULL,
	embedding	@extschema@.vector,
	confidence	pg_catalog.float4 NOT NULL DEFAULT 1.0
				CONSTRAINT memory_confidence_check CHECK (confidence >= 0 AND confidence <= 1),
	created_at	pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	occurred_at pg_catalog.timestamptz,
	location	pg_catalog.text,
	participants pg_catalog.text[],
	metadata	pg_catalog.jsonb NOT NULL DEFAULT '{}',
	kind		pg_catalog.text NOT NULL DEFAULT 'episodic'
				CONSTRAINT memory_kind_check CHECK (kind IN ('episodic', 'semantic')),
	content_tsv pg_catalog.tsvector
				GENERATED ALWAYS AS (pg_catalog.to_tsvector('pg_catalog.english'::pg_catalog.regconfig, content)) STORED
) USING engram;
-- Keep embeddings inline: with the type's default (external) storage a
-- memory row over the toast threshold would push its embedding out of line
-- first, and every recall would then fetch it from the toast table.  With
-- main storage the text and tsvector go out of line first.
ALTER TABLE @extschema@.memory ALTER COLUMN embedding SET STORAGE MAIN;
COMMENT ON TABLE @extschema@.memory IS
'memories; embedding dimensions are enforced per space (engram.space.dims) by a trigger';

CREATE INDEX memory_content_tsv_idx ON @extschema@.memory USING gin (content_tsv);
CREATE INDEX memory_space_created_idx ON @extschema@.memory (space, created_at);

CREATE TABLE @extschema@.association (
	src			pg_catalog.int8 NOT NULL REFERENCES @extschema@.memory (id) ON DELETE CASCADE,
	dst			pg_catalog.int8 NOT NULL REFERENCES @extschema@.memory (id) ON DELETE CASCADE,
	weight		pg_catalog.float4 NOT NULL DEFAULT 1.0
				CONSTRAINT association_weight_check CHECK (weight > 0 AND weight <= 1),
	created_at	pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (src, dst),
	CONSTRAINT association_not_self CHECK (src <> dst)
);
CREATE INDEX association_dst_idx ON @extschema@.association (dst);
COMMENT ON TABLE @extschema@.association IS
'undirected weighted links between memories, stored with src < dst; forgetting a memory removes its links';

-- user data is dumped by pg_dump
SELECT pg_catalog.pg_extension_config_dump('@extschema@.space', 'WHERE name <> ''default''');
-- grants to dropped roles (kept as bare OIDs) are not dumped: restored into
-- another cluster they would name whichever role has that OID there
SELECT pg_catalog.pg_extension_config_dump('@extschema@.space_grant',
	'WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) role::pg_catalog.oid)');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.memory', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.memory_id_seq', '');
-- ids come from the sequence only through the write primitives (as the
-- table owner): no tenant may take or skip ids
REVOKE ALL ON SEQUENCE @extschema@.memory_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.association', '');

-- row-level security ---------------------------------------------------------

-- true when the current role may use the space (through a grant to it or
-- to a role whose privileges it has).  Grants to dropped roles are ignored.
-- In C (src/memory_write.c, the rule of the policies below): _check_space
-- calls it in every recall and remember, and a SQL function with SET was
-- planned again in every transaction.
CREATE FUNCTION @extschema@._space_allowed(pg_catalog.text)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'engram_space_allowed'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._space_allowed(pg_catalog.text) IS
'internal: true when the current role holds a grant of the space (row-level security policy)';

-- true when row-level security does not apply to the current role on
-- engram.memory: superusers, BYPASSRLS roles and the table's owner (and
-- roles with its privileges).  In C, as _space_allowed.
CREATE FUNCTION @extschema@._rls_bypassed()
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'engram_rls_bypassed'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._rls_bypassed() IS
'internal: true when row-level security does not apply to the current role on engram.memory';

ALTER TABLE @extschema@.memory ENABLE ROW LEVEL SECURITY;
-- The policy is an uncorrelated IN (subquery): the planner runs it once per
-- query as a hashed subplan instead of calling a function per row (a SQL
-- function with a sublink is never inlined, so each call ran its own query).
-- Same rule as _space_allowed; grants to dropped roles are skipped by the
-- join.  This also keeps engram_check_row_visible's one-row checks cheap.
CREATE POLICY memory_by_space ON @extschema@.memory
	USING (space OPERATOR(pg_catalog.=) ANY (
			   SELECT g.space
			   FROM @extschema@.space_grant g
			   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid
			   WHERE pg_catalog.pg_has_role(r.oid, 'USAGE')))
	WITH CHECK (space OPERATOR(pg_catalog.=) ANY (
			   SELECT g.space
			   FROM @extschema@.space_grant g
			   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid
			   WHERE pg_catalog.pg_has_role(r.oid, 'USAGE')));

ALTER TABLE @extschema@.association ENABLE ROW LEVEL SECURITY;
CREATE POLICY association_by_space ON @extschema@.association
	USING (EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.id = src)
		   AND EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.id = dst))
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.id = src)
				AND EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.id = dst));

-- The space list and the grant list: every role may query them, and
-- row-level security shows it only its own grants (to it or to a role
-- whose privileges it has) and the spaces they name -- no role lists
-- other tenants' spaces or who holds them.  Owner and superusers see all.
GRANT SELECT ON @extschema@.space, @extschema@.space_grant TO PUBLIC;
ALTER TABLE @extschema@.space_grant ENABLE ROW LEVEL SECURITY;
CREATE POLICY space_grant_own ON @extschema@.space_grant FOR SELECT
	USING (role::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (
			   SELECT r.oid FROM pg_catalog.pg_roles r
			   WHERE pg_catalog.pg_has_role(r.oid, 'USAGE')));
ALTER TABLE @extschema@.space ENABLE ROW LEVEL SECURITY;
CREATE POLICY space_granted ON @extschema@.space FOR SELECT
	USING (name OPERATOR(pg_catalog.=) ANY (
			   SELECT g.space
			   FROM @extschema@.space_grant g
			   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid
			   WHERE pg_catalog.pg_has_role(r.oid, 'USAGE')));

-- write primitives (src/memory_write.c) ---------------------------------------
--
-- Tenants hold no INSERT, UPDATE, DELETE or TRUNCATE on engram.memory and
-- engram.association.  These C functions are the only way their writes
-- reach the tables: each is SECURITY INVOKER (so it knows its caller),
-- restricts itself to the spaces granted to the caller, then runs one
-- fixed statement as the owner of engram.memory with the arguments as
-- typed parameters.  They may be called directly: they check everything a
-- write needs (the trigger checks content and dimensions), so a direct
-- call can do no more than the API functions built on them.

CREATE FUNCTION @extschema@._memory_insert(space pg_catalog.text, content pg_catalog.text,
										   embedding @extschema@.vector, confidence pg_catalog.float4,
										   occurred_at pg_catalog.timestamptz, location pg_catalog.text,
										   participants pg_catalog.text[], metadata pg_catalog.jsonb,
										   kind pg_catalog.text)
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'engram_write_memory_insert'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._memory_insert(pg_catalog.text, pg_catalog.text, @extschema@.vector, pg_catalog.float4, pg_catalog.timestamptz, pg_catalog.text, pg_catalog.text[], pg_catalog.jsonb, pg_catalog.text) IS
'internal: insert one memory into a space granted to the caller (runs as the table owner); its id';

CREATE FUNCTION @extschema@._memory_delete(ids pg_catalog.int8[])
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'engram_write_memory_delete'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._memory_delete(pg_catalog.int8[]) IS
'internal: delete the memories with these ids in spaces granted to the caller (runs as the table owner); how many';

CREATE FUNCTION @extschema@._memory_delete_space(space pg_catalog.text, before pg_catalog.timestamptz,
												 below_confidence pg_catalog.float4)
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'engram_write_memory_delete_space'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._memory_delete_space(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.float4) IS
'internal: delete the memories of a space granted to the caller created before a time and/or below a confidence (runs as the table owner); how many';

CREATE FUNCTION @extschema@._memory_reinforce(id pg_catalog.int8, confidence pg_catalog.float4)
	RETURNS pg_catalog.tid
	AS 'MODULE_PATHNAME', 'engram_write_memory_reinforce'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._memory_reinforce(pg_catalog.int8, pg_catalog.float4) IS
'internal: remember''s dedup reinforcement, confidence c becomes least(1, c + (1 - c) * confidence / 2), of a memory in a space granted to the caller (runs as the table owner); the new row version''s tid';

CREATE FUNCTION @extschema@._memory_decay(ids pg_catalog.int8[], factor pg_catalog.float4)
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'engram_write_memory_decay'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._memory_decay(pg_catalog.int8[], pg_catalog.float4) IS
'internal: multiply the confidence of these memories (in spaces granted to the caller) by factor (runs as the table owner); how many';

CREATE FUNCTION @extschema@._memory_mark_consolidated(ids pg_catalog.int8[], into_id pg_catalog.int8)
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'engram_write_memory_mark_consolidated'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._memory_mark_consolidated(pg_catalog.int8[], pg_catalog.int8) IS
'internal: set metadata.consolidated_into of these memories (in spaces granted to the caller) (runs as the table owner); how many';

CREATE FUNCTION @extschema@._association_upsert(a pg_catalog.int8[], b pg_catalog.int8[],
												weight pg_catalog.float4[])
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'engram_write_association_upsert'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._association_upsert(pg_catalog.int8[], pg_catalog.int8[], pg_catalog.float4[]) IS
'internal: link pairs of memories of spaces granted to the caller (an existing link gets the new weight; runs as the table owner); how many';

-- space functions ------------------------------------------------------------

CREATE FUNCTION @extschema@._check_space_name(pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF $1 IS NULL OR $1 OPERATOR(pg_catalog.!~) '^[a-z0-9_-]{1,64}$' THEN
		RAISE EXCEPTION 'invalid space name "%"', $1
			USING ERRCODE = 'invalid_name',
				  HINT = 'A space name is 1 to 64 characters from a-z, 0-9, "_" and "-".';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._check_space_name(pg_catalog.text) IS
'internal: raises an error unless the name is 1 to 64 characters from a-z, 0-9, _ and -';

-- Checks that the space exists and that the current role may use it;
-- returns its fixed dimensions (NULL while not fixed).
CREATE FUNCTION @extschema@._check_space(pg_catalog.text)
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	v_dims		pg_catalog.int4;
BEGIN
	PERFORM @extschema@._check_space_name($1);
	-- row-level security shows a tenant only the spaces granted to it, so
	-- for a tenant a space it may not use and one that does not exist are
	-- the same error: nobody learns the names of other tenants' spaces
	IF NOT (@extschema@._rls_bypassed() OR @extschema@._space_allowed($1)) THEN
		RAISE EXCEPTION 'permission denied for memory space "%"', $1
			USING ERRCODE = 'insufficient_privilege',
				  HINT = pg_catalog.format('The space''s owner can run SELECT engram.grant_space(%L, %L).',
										   $1, current_user);
	END IF;
	SELECT s.dims INTO v_dims FROM @extschema@.space s WHERE s.name = $1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'memory space "%" does not exist', $1
			USING ERRCODE = 'undefined_object',
				  HINT = pg_catalog.format('Create it with SELECT engram.create_space(%L).', $1);
	END IF;
	RETURN v_dims;
END
$$;
COMMENT ON FUNCTION @extschema@._check_space(pg_catalog.text) IS
'internal: raises an error unless the space exists and the current role may use it (for a role under row-level security both are permission denied); returns its dimensions';

CREATE FUNCTION @extschema@.create_space(name pg_catalog.text, dims pg_catalog.int4 DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF NOT pg_catalog.has_table_privilege('@extschema@.space', 'INSERT') THEN
		RAISE EXCEPTION 'permission denied to create memory spaces'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Space administration is for the extension''s owner and superusers.';
	END IF;
	PERFORM @extschema@._check_space_name(create_space.name);
	IF create_space.dims IS NOT NULL AND (create_space.dims < 1 OR create_space.dims > 16000) THEN
		RAISE EXCEPTION 'space dimensions must be between 1 and 16000, got %', create_space.dims
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the embedding model''s dimensions, or NULL to fix them at the first embedding.';
	END IF;
	IF EXISTS (SELECT 1 FROM @extschema@.space s WHERE s.name = create_space.name) THEN
		RAISE EXCEPTION 'memory space "%" already exists', create_space.name
			USING ERRCODE = 'duplicate_object';
	END IF;
	INSERT INTO @extschema@.space (name, dims) VALUES (create_space.name, create_space.dims);
END
$$;
COMMENT ON FUNCTION @extschema@.create_space(pg_catalog.text, pg_catalog.int4) IS
'create a memory space; dims fixes its embedding dimensions (NULL: fixed by the first embedding remembered)';

CREATE FUNCTION @extschema@.drop_space(name pg_catalog.text, "cascade" pg_catalog.bool DEFAULT false)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF NOT pg_catalog.has_table_privilege('@extschema@.space', 'DELETE') THEN
		RAISE EXCEPTION 'permission denied to drop memory spaces'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Space administration is for the extension''s owner and superusers.';
	END IF;
	PERFORM @extschema@._check_space_name(drop_space.name);
	IF NOT EXISTS (SELECT 1 FROM @extschema@.space s WHERE s.name = drop_space.name) THEN
		RAISE EXCEPTION 'memory space "%" does not exist', drop_space.name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF drop_space.name = 'default' THEN
		RAISE EXCEPTION 'cannot drop the default memory space'
			USING ERRCODE = 'object_in_use',
				  HINT = 'Empty it with SELECT engram.forget(''default'') instead.';
	END IF;
	IF EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.space = drop_space.name) THEN
		IF NOT drop_space."cascade" THEN
			RAISE EXCEPTION 'memory space "%" is not empty', drop_space.name
				USING ERRCODE = 'dependent_objects_still_exist',
					  HINT = 'Pass cascade => true to forget its memories too.';
		END IF;
		DELETE FROM @extschema@.memory m WHERE m.space = drop_space.name;
	END IF;
	DELETE FROM @extschema@.space s WHERE s.name = drop_space.name;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_space(pg_catalog.text, pg_catalog.bool) IS
'drop an empty memory space, or with cascade => true its memories too; the default space cannot be dropped';

CREATE FUNCTION @extschema@.grant_space(space pg_catalog.text, role pg_catalog.regrole)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF NOT pg_catalog.has_table_privilege('@extschema@.space_grant', 'INSERT') THEN
		RAISE EXCEPTION 'permission denied to grant memory spaces'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Space administration is for the extension''s owner and superusers.';
	END IF;
	PERFORM @extschema@._check_space(grant_space.space);
	IF grant_space.role IS NULL OR grant_space.role::pg_catalog.oid OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'role must name an existing role'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass a role name, e.g. SELECT engram.grant_space(''space'', ''alice'').';
	END IF;
	INSERT INTO @extschema@.space_grant (space, role)
		VALUES (grant_space.space, grant_space.role)
		ON CONFLICT DO NOTHING;
	-- SELECT only, which row-level security narrows to granted spaces;
	-- writes go through the API functions (src/memory_write.c)
	EXECUTE pg_catalog.format('GRANT SELECT ON %s.memory, %s.association TO %s',
							  '@extschema@', '@extschema@', grant_space.role);
	EXECUTE pg_catalog.format('GRANT SELECT ON %s.memories, %s.memory_stats TO %s',
							  '@extschema@', '@extschema@', grant_space.role);
END
$$;
COMMENT ON FUNCTION @extschema@.grant_space(pg_catalog.text, pg_catalog.regrole) IS
'let a role (and roles with its privileges) read memories of a space (SELECT on the memory tables, narrowed by row-level security) and write them through the API functions';

CREATE FUNCTION @extschema@.revoke_space(space pg_catalog.text, role pg_catalog.regrole)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF NOT pg_catalog.has_table_privilege('@extschema@.space_grant', 'DELETE') THEN
		RAISE EXCEPTION 'permission denied to revoke memory spaces'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Space administration is for the extension''s owner and superusers.';
	END IF;
	PERFORM @extschema@._check_space(revoke_space.space);
	IF revoke_space.role IS NULL OR revoke_space.role::pg_catalog.oid OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'role must name an existing role'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass a role name, e.g. SELECT engram.revoke_space(''space'', ''alice'').';
	END IF;
	DELETE FROM @extschema@.space_grant g
		WHERE g.space = revoke_space.space
		  AND g.role::pg_catalog.oid OPERATOR(pg_catalog.=) revoke_space.role::pg_catalog.oid;
	IF NOT EXISTS (SELECT 1 FROM @extschema@.space_grant g
				   WHERE g.role::pg_catalog.oid OPERATOR(pg_catalog.=) revoke_space.role::pg_catalog.oid) THEN
		-- INSERT, UPDATE, DELETE and the sequence: what 0.1.0 granted
		EXECUTE pg_catalog.format('REVOKE SELECT, INSERT, UPDATE, DELETE ON %s.memory, %s.association FROM %s',
								  '@extschema@', '@extschema@', revoke_space.role);
		EXECUTE pg_catalog.format('REVOKE SELECT ON %s.memories, %s.memory_stats FROM %s',
								  '@extschema@', '@extschema@', revoke_space.role);
		EXECUTE pg_catalog.format('REVOKE USAGE ON SEQUENCE %s.memory_id_seq FROM %s',
								  '@extschema@', revoke_space.role);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_space(pg_catalog.text, pg_catalog.regrole) IS
'take a space away from a role; with no space left the role also loses its privileges on the memory tables';

-- row checks: space exists, content valid, dimensions fixed per space ----

-- Not SECURITY DEFINER: it runs as the role that writes, which is the
-- table owner (the write primitives switch to it) or a superuser; nobody
-- else holds INSERT or UPDATE on engram.memory.  Attached to any other
-- table (EXECUTE is revoked from PUBLIC, and a trigger function runs as
-- the writer anyway) it refuses to run.
CREATE FUNCTION @extschema@._memory_before_write()
	RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	v_dims		pg_catalog.int4;
	v_vdims		pg_catalog.int4;
	v_checks	pg_catalog.bool;
	v_norm		pg_catalog.float8;
	v_len		pg_catalog.int8;
BEGIN
	IF TG_RELID OPERATOR(pg_catalog.<>) '@extschema@.memory'::pg_catalog.regclass::pg_catalog.oid
	   OR TG_WHEN OPERATOR(pg_catalog.<>) 'BEFORE' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'ROW'
	   OR TG_OP NOT IN ('INSERT', 'UPDATE') THEN
		RAISE EXCEPTION 'engram._memory_before_write() is the row trigger of engram.memory only'
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = pg_catalog.format('It was fired %s %s %s on %s.', TG_WHEN, TG_OP, TG_LEVEL,
											 TG_RELID::pg_catalog.regclass);
	END IF;
	-- engram.max_content_bytes (a superuser setting) holds content written
	-- now (an UPDATE that keeps the content is not held to it), and zero
	-- embeddings are refused.  Sessions with row_security = off are
	-- exempt: pg_dump's output and pg_restore set it, and dumped memories
	-- must restore whatever the restoring session's limit is (a memory
	-- stored under a raised limit, or a zero embedding stored by 0.1.0,
	-- would otherwise make the whole COPY of engram.memory fail).  Only
	-- roles that bypass row-level security can write with it off; the
	-- write primitives force it on.
	v_checks := pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.<>) 'off';
	PERFORM @extschema@._check_content(NEW.content,
		v_checks AND (TG_OP OPERATOR(pg_catalog.=) 'INSERT'
					  OR NEW.content IS DISTINCT FROM OLD.content));
	-- metadata is held to the same limit, as text (an UPDATE that keeps it
	-- is not): a tenant could otherwise store up to 1 GB per memory in it.
	-- Nor is consolidate's provenance mark (an UPDATE that only sets
	-- consolidated_into to a memory id): a memory stored at the limit, or
	-- restored above it, must not stop its space from being consolidated.
	IF v_checks AND NEW.metadata IS NOT NULL
	   AND (TG_OP OPERATOR(pg_catalog.=) 'INSERT' OR NEW.metadata IS DISTINCT FROM OLD.metadata)
	   AND NOT (TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND OLD.metadata IS NOT NULL
				AND pg_catalog.jsonb_typeof(NEW.metadata OPERATOR(pg_catalog.->) 'consolidated_into') OPERATOR(pg_catalog.=) 'number'
				AND pg_catalog.octet_length((NEW.metadata OPERATOR(pg_catalog.->) 'consolidated_into')::pg_catalog.text) OPERATOR(pg_catalog.<=) 20
				AND (NEW.metadata OPERATOR(pg_catalog.-) 'consolidated_into'::pg_catalog.text)
					OPERATOR(pg_catalog.=) (OLD.metadata OPERATOR(pg_catalog.-) 'consolidated_into'::pg_catalog.text)) THEN
		v_len := pg_catalog.octet_length(NEW.metadata::pg_catalog.text);
		IF v_len OPERATOR(pg_catalog.>)
			  (SELECT s.setting::pg_catalog.int8 FROM pg_catalog.pg_settings s
			   WHERE s.name OPERATOR(pg_catalog.=) 'engram.max_content_bytes') THEN
			RAISE EXCEPTION 'memory metadata is % bytes as text, larger than engram.max_content_bytes (%)',
							v_len, pg_catalog.current_setting('engram.max_content_bytes')
				USING ERRCODE = 'program_limit_exceeded',
					  HINT = 'Keep metadata to small keys and values and put the text into the content; engram.max_content_bytes is a superuser setting.';
		END IF;
	END IF;
	IF v_checks AND NEW.embedding IS NOT NULL THEN
		v_norm := @extschema@.l2_norm(NEW.embedding);
		IF v_norm OPERATOR(pg_catalog.=) 0 OR v_norm OPERATOR(pg_catalog.=) 'NaN'
		   OR v_norm OPERATOR(pg_catalog.=) 'Infinity' THEN
			RAISE EXCEPTION 'embedding must have a finite, non-zero length'
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Cosine similarity is undefined for a zero vector: it would score NaN against every cue.';
		END IF;
	END IF;
	SELECT s.dims INTO v_dims FROM @extschema@.space s WHERE s.name = NEW.space;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'memory space "%" does not exist', NEW.space
			USING ERRCODE = 'undefined_object',
				  HINT = pg_catalog.format('Create it with SELECT engram.create_space(%L).', NEW.space);
	END IF;
	IF NEW.embedding IS NOT NULL THEN
		v_vdims := @extschema@.vector_dims(NEW.embedding);
		IF v_dims IS NULL THEN
			-- first embedding of the space fixes its dimensions
			UPDATE @extschema@.space s SET dims = v_vdims
				WHERE s.name = NEW.space AND s.dims IS NULL;
			SELECT s.dims INTO v_dims FROM @extschema@.space s WHERE s.name = NEW.space;
		END IF;
		IF v_vdims <> v_dims THEN
			RAISE EXCEPTION 'embedding has % dimensions but memory space "%" has %',
							v_vdims, NEW.space, v_dims
				USING ERRCODE = 'data_exception',
					  HINT = 'Every embedding of a space must come from the same model; use another space for another model.';
		END IF;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@._memory_before_write() IS
'internal: trigger checking content, metadata size, the space and the embedding dimensions of each written memory';

CREATE TRIGGER memory_before_write
	BEFORE INSERT OR UPDATE OF content, embedding, space, metadata ON @extschema@.memory
	FOR EACH ROW EXECUTE FUNCTION @extschema@._memory_before_write();
REVOKE EXECUTE ON FUNCTION @extschema@._memory_before_write() FROM PUBLIC;

-- access history by id (through the single wiring point) ------------------

CREATE FUNCTION @extschema@.access_count(id pg_catalog.int8)
	RETURNS pg_catalog.int8
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT a.access_count
	FROM @extschema@.memory m,
		 @extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid) a
	WHERE m.id = $1
	$$;
COMMENT ON FUNCTION @extschema@.access_count(pg_catalog.int8) IS
'accesses recorded for a memory (0 while storage keeps no access history); NULL for an unknown id';

CREATE FUNCTION @extschema@.last_access(id pg_catalog.int8)
	RETURNS pg_catalog.timestamptz
	LANGUAGE sql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT greatest(a.last_access, m.created_at)
	FROM @extschema@.memory m,
		 @extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid) a
	WHERE m.id = $1
	$$;
COMMENT ON FUNCTION @extschema@.last_access(pg_catalog.int8) IS
'time of the last recorded access of a memory, its creation time when none is recorded (storage may keep access times to the second: never earlier than created_at); NULL for an unknown id';

-- remember -------------------------------------------------------------------

CREATE FUNCTION @extschema@.remember(
	content pg_catalog.text,
	embedding @extschema@.vector DEFAULT NULL,
	confidence pg_catalog.float4 DEFAULT 1.0,
	space pg_catalog.text DEFAULT 'default',
	metadata pg_catalog.jsonb DEFAULT '{}',
	occurred_at pg_catalog.timestamptz DEFAULT pg_catalog.now(),
	kind pg_catalog.text DEFAULT 'episodic',
	location pg_catalog.text DEFAULT NULL,
	participants pg_catalog.text[] DEFAULT NULL)
	RETURNS pg_catalog.int8
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_dims		pg_catalog.int4;
	v_threshold pg_catalog.float8;
	v_id		pg_catalog.int8;
	v_dist		pg_catalog.float8;
	v_tid		pg_catalog.tid;
BEGIN
	IF @extschema@._shard_of(remember.space) IS NOT NULL THEN	-- placed on a shard (60_shard.sql)
		RETURN @extschema@._shard_remember(remember.content, remember.embedding, remember.confidence, remember.space, remember.metadata, remember.occurred_at, remember.kind, remember.location, remember.participants);
	END IF;
	v_dims := @extschema@._check_space(remember.space);
	PERFORM @extschema@._check_content(remember.content);
	IF remember.confidence IS NULL OR remember.confidence = 'NaN'
	   OR remember.confidence < 0 OR remember.confidence > 1 THEN
		RAISE EXCEPTION 'confidence must be between 0 and 1, got %', remember.confidence
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '1.0 means certain, 0 means no confidence at all.';
	END IF;
	IF remember.kind IS NULL OR remember.kind NOT IN ('episodic', 'semantic') THEN
		RAISE EXCEPTION 'memory kind must be ''episodic'' or ''semantic'', got %',
						pg_catalog.quote_nullable(remember.kind)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF remember.metadata IS NULL OR pg_catalog.jsonb_typeof(remember.metadata) <> 'object' THEN
		RAISE EXCEPTION 'memory metadata must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass ''{}'' for no metadata.';
	END IF;
	IF remember.embedding IS NOT NULL AND v_dims IS NOT NULL
	   AND @extschema@.vector_dims(remember.embedding) <> v_dims THEN
		RAISE EXCEPTION 'embedding has % dimensions but memory space "%" has %',
						@extschema@.vector_dims(remember.embedding), remember.space, v_dims
			USING ERRCODE = 'data_exception',
				  HINT = 'Every embedding of a space must come from the same model; use another space for another model.';
	END IF;
	-- similarity is cosine: a zero embedding has no direction, it would
	-- score NaN against every cue (and NaN sorts above every number)
	IF remember.embedding IS NOT NULL AND @extschema@.l2_norm(remember.embedding) = 0 THEN
		RAISE EXCEPTION 'embedding vector is all zeros'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Cosine similarity is undefined for a zero vector; pass a real embedding or none.';
	END IF;

	/*
	 * Dedup: reinforce the nearest memory of the space instead of inserting
	 * when its cosine similarity reaches engram.dedup_threshold.
	 * Reinforcement moves confidence halfway (scaled by the new confidence)
	 * towards 1: c' = c + (1 - c) * confidence / 2, and records an access.
	 */
	v_threshold := @extschema@._setting('engram.dedup_threshold')::pg_catalog.float8;
	IF v_threshold > 0 AND remember.embedding IS NOT NULL THEN
		SELECT m.id, m.embedding OPERATOR(@extschema@.<=>) remember.embedding
			INTO v_id, v_dist
			FROM @extschema@.memory m
			WHERE m.space = remember.space AND m.embedding IS NOT NULL
			ORDER BY m.embedding OPERATOR(@extschema@.<=>) remember.embedding
			LIMIT 1;
		IF FOUND AND 1 - v_dist >= v_threshold THEN
			v_tid := @extschema@._memory_reinforce(v_id, remember.confidence);
			PERFORM @extschema@._record_access('@extschema@.memory'::pg_catalog.regclass, v_tid);
			RETURN v_id;
		END IF;
	END IF;

	RETURN @extschema@._memory_insert(remember.space, remember.content, remember.embedding,
									  remember.confidence, remember.occurred_at, remember.location,
									  remember.participants, remember.metadata, remember.kind);
END
$$;
COMMENT ON FUNCTION @extschema@.remember(pg_catalog.text, @extschema@.vector, pg_catalog.float4, pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz, pg_catalog.text, pg_catalog.text, pg_catalog.text[]) IS
'store a memory and return its id; with engram.dedup_threshold > 0 a memory of the same space with cosine similarity >= the threshold is reinforced (confidence c + (1-c)*confidence/2, one access recorded) and its id returned instead';

-- spread -----------------------------------------------------------------------

CREATE FUNCTION @extschema@.spread(seeds pg_catalog.int8[], max_hops pg_catalog.int4 DEFAULT 3,
								   decay pg_catalog.float4 DEFAULT 0.5,
								   threshold pg_catalog.float4 DEFAULT 0.01)
	RETURNS TABLE (id pg_catalog.int8, activation pg_catalog.float4, hops pg_catalog.int4)
	AS 'MODULE_PATHNAME', 'engram_spread'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.spread(pg_catalog.int8[], pg_catalog.int4, pg_catalog.float4, pg_catalog.float4) IS
'spreading activation: seeds get 1.0; each hop passes activation * weight * decay along associations in both directions; each node keeps its maximum (and the hop it was reached at); offers below threshold are dropped; ordered by activation desc, hops, id';

-- recall: sql/install/52_memory_recall.sql

-- associate -----------------------------------------------------------------

CREATE FUNCTION @extschema@.associate(a pg_catalog.int8, b pg_catalog.int8,
									  weight pg_catalog.float4 DEFAULT 1.0)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_missing	pg_catalog.int8;
BEGIN
	IF @extschema@._shard_associate(associate.a, associate.b, associate.weight) THEN RETURN; END IF;	-- on a shard (60_shard.sql)
	IF associate.a IS NULL OR associate.b IS NULL THEN
		RAISE EXCEPTION 'memory ids must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF associate.a = associate.b THEN
		RAISE EXCEPTION 'cannot associate a memory with itself'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass two different memory ids.';
	END IF;
	IF associate.weight IS NULL OR associate.weight = 'NaN'
	   OR associate.weight <= 0 OR associate.weight > 1 THEN
		RAISE EXCEPTION 'association weight must be in (0, 1], got %', associate.weight
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Spreading activation multiplies by the weight at each hop.';
	END IF;
	SELECT x.id INTO v_missing
		FROM unnest(ARRAY[associate.a, associate.b]) AS x(id)
		WHERE NOT EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.id = x.id)
		LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'memory % does not exist', v_missing
			USING ERRCODE = 'no_data_found',
				  HINT = 'Associate memories returned by engram.remember that have not been forgotten.';
	END IF;
	PERFORM @extschema@._association_upsert(ARRAY[associate.a], ARRAY[associate.b],
											ARRAY[associate.weight]);
END
$$;
COMMENT ON FUNCTION @extschema@.associate(pg_catalog.int8, pg_catalog.int8, pg_catalog.float4) IS
'link two memories (undirected); linking them again replaces the weight';

-- forget -----------------------------------------------------------------------

CREATE FUNCTION @extschema@.forget(id pg_catalog.int8)
	RETURNS pg_catalog.bool
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	RETURN forget.id IS NOT NULL
		   AND (@extschema@._memory_delete(ARRAY[forget.id]) > 0
				OR @extschema@._shard_forget(forget.id));	-- on a shard (60_shard.sql)
END
$$;
COMMENT ON FUNCTION @extschema@.forget(pg_catalog.int8) IS
'delete one memory and its associations; false when there is no such (visible) memory';

CREATE FUNCTION @extschema@.forget(space pg_catalog.text,
								   before pg_catalog.timestamptz DEFAULT NULL,
								   below_confidence pg_catalog.float4 DEFAULT NULL)
	RETURNS pg_catalog.int8
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_count		pg_catalog.int8;
BEGIN
	IF @extschema@._shard_of(forget.space) IS NOT NULL THEN	-- placed on a shard (60_shard.sql)
		RETURN @extschema@._shard_forget_space(forget.space, forget.before, forget.below_confidence);
	END IF;
	PERFORM @extschema@._check_space(forget.space);
	-- a bad bound must never widen the delete: NaN compares above every
	-- confidence, so below_confidence => 'NaN' would empty the space
	IF forget.below_confidence = 'NaN' OR forget.below_confidence < 0
	   OR forget.below_confidence > 1 THEN
		RAISE EXCEPTION 'below_confidence must be between 0 and 1, got %', forget.below_confidence
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL to forget regardless of confidence.';
	END IF;
	v_count := @extschema@._memory_delete_space(forget.space, forget.before, forget.below_confidence);
	RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@.forget(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.float4) IS
'delete the memories of a space created before a time and/or with confidence below a value (all of the space when both are NULL); returns how many';

-- consolidate: sql/install/52_memory_recall.sql

-- views ------------------------------------------------------------------------

CREATE VIEW @extschema@.memories WITH (security_invoker = true) AS
	SELECT m.id, m.space, m.kind, m.content, m.confidence, m.created_at, m.occurred_at,
		   m.location, m.participants, m.metadata,
		   a.access_count,
		   greatest(a.last_access, m.created_at) AS last_access,
		   @extschema@._tier('@extschema@.memory'::pg_catalog.regclass, m.ctid) AS tier,
		   m.embedding IS NOT NULL AS has_embedding
	FROM @extschema@.memory m
	CROSS JOIN LATERAL @extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid) a;
COMMENT ON VIEW @extschema@.memories IS
'memories with access history and tier (row-level security of engram.memory applies)';

CREATE VIEW @extschema@.memory_stats WITH (security_invoker = true) AS
	SELECT m.space,
		   pg_catalog.count(*) AS memories,
		   pg_catalog.count(*) FILTER (WHERE m.kind = 'episodic') AS episodic,
		   pg_catalog.count(*) FILTER (WHERE m.kind = 'semantic') AS semantic,
		   pg_catalog.count(*) FILTER (WHERE m.has_embedding) AS with_embedding,
		   pg_catalog.avg(m.confidence)::pg_catalog.float4 AS avg_confidence,
		   pg_catalog.sum(m.access_count) AS accesses,
		   pg_catalog.max(m.last_access) AS last_access
	FROM @extschema@.memories m
	GROUP BY m.space;
COMMENT ON VIEW @extschema@.memory_stats IS
'per-space counts, confidence and access totals';
