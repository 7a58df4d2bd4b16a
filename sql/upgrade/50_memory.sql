-- ---------------------------------------------------------------------
-- 50_memory (upgrade 0.1.0 -> 0.2.0): the security model of
-- docs/architecture/0009-security-model.md, as in sql/install/50_memory.sql
--   * tenants hold SELECT only on the memory tables; writes go through the
--     write primitives (src/memory_write.c), which check the space grant
--   * engram.space and engram.space_grant show a role only its own grants
--   * the trigger function is no longer SECURITY DEFINER and checks where
--     it fires; EXECUTE on it is revoked from PUBLIC
--   * zero embeddings refused, forget's bounds checked, cue_text limited,
--     NaN scores count as 0
--   * space administration functions refuse non-administrators first
-- Every statement here has its twin in sql/install/50_memory.sql (the
-- functions are copied from it verbatim: a change there is repeated here).
-- ---------------------------------------------------------------------

-- space and grant lists: own grants only
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

-- changed functions ----------------------------------------------------------

-- the space checks in C (src/memory_write.c; same rule, no SQL function
-- planned again in every transaction)
CREATE OR REPLACE FUNCTION @extschema@._space_allowed(pg_catalog.text)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'engram_space_allowed'
	LANGUAGE C STABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@._rls_bypassed()
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'engram_rls_bypassed'
	LANGUAGE C STABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION @extschema@._check_space(pg_catalog.text)
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

CREATE OR REPLACE FUNCTION @extschema@.create_space(name pg_catalog.text, dims pg_catalog.int4 DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION @extschema@.drop_space(name pg_catalog.text, "cascade" pg_catalog.bool DEFAULT false)
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

CREATE OR REPLACE FUNCTION @extschema@.grant_space(space pg_catalog.text, role pg_catalog.regrole)
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

CREATE OR REPLACE FUNCTION @extschema@.revoke_space(space pg_catalog.text, role pg_catalog.regrole)
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

CREATE OR REPLACE FUNCTION @extschema@._memory_before_write()
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
-- 0.2.0: metadata is held to engram.max_content_bytes too
DROP TRIGGER memory_before_write ON @extschema@.memory;
CREATE TRIGGER memory_before_write
	BEFORE INSERT OR UPDATE OF content, embedding, space, metadata ON @extschema@.memory
	FOR EACH ROW EXECUTE FUNCTION @extschema@._memory_before_write();

CREATE OR REPLACE FUNCTION @extschema@.remember(
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

CREATE OR REPLACE FUNCTION @extschema@.associate(a pg_catalog.int8, b pg_catalog.int8,
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

REVOKE EXECUTE ON FUNCTION @extschema@._memory_before_write() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.forget(id pg_catalog.int8)
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

CREATE OR REPLACE FUNCTION @extschema@.forget(space pg_catalog.text,
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

COMMENT ON FUNCTION @extschema@.recall_score(pg_catalog.float4, pg_catalog.float4, pg_catalog.float4) IS
'engram.weight_similarity * similarity + engram.weight_activation * activation + engram.weight_confidence * confidence (NULL or NaN counts as 0)';

REVOKE ALL ON SEQUENCE @extschema@.memory_id_seq FROM PUBLIC;
-- Tenants of 0.1.0 hold INSERT, UPDATE, DELETE on the memory tables and
-- USAGE on the id sequence (0.1.0's grant_space gave them): take them back,
-- leaving SELECT, so the ACLs are those grant_space gives now.
DO $upg$
DECLARE
	r	record;
BEGIN
	FOR r IN
		SELECT DISTINCT c.oid::pg_catalog.regclass AS rel, c.relkind, a.grantee
		FROM pg_catalog.pg_class c, LATERAL pg_catalog.aclexplode(c.relacl) a
		WHERE c.oid IN ('@extschema@.memory'::pg_catalog.regclass,
						'@extschema@.association'::pg_catalog.regclass,
						'@extschema@.memory_id_seq'::pg_catalog.regclass)
		  AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
		  AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'USAGE')
	LOOP
		EXECUTE pg_catalog.format('REVOKE %s ON %s %s FROM %s',
			CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'S' THEN 'USAGE'
				 ELSE 'INSERT, UPDATE, DELETE, TRUNCATE' END,
			CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
			r.rel,
			CASE WHEN r.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
				 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.grantee)) END);
	END LOOP;
END
$upg$;
-- A REVOKE in an extension script records the object's whole ACL as its
-- initial privileges (pg_init_privs), tenants' SELECT included, and
-- pg_dump dumps only what differs from them: a dump of this database
-- would then lose the tenants' grants.  The two tables have no initial
-- privileges in a fresh install, so drop what the REVOKEs above recorded
-- (the sequence's are the owner's alone, as in a fresh install).
DELETE FROM pg_catalog.pg_init_privs ip
	WHERE ip.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	  AND ip.objoid IN ('@extschema@.memory'::pg_catalog.regclass,
						'@extschema@.association'::pg_catalog.regclass)
	  AND ip.privtype OPERATOR(pg_catalog.=) 'e';
