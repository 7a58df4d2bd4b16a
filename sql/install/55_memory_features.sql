-- ---------------------------------------------------------------------
-- 55_memory_features: updates with history, supersede, validity in time,
-- expiry (TTL), keys and namespaces, core memory blocks
-- (src/memory_features.c, docs/memory_api.md "Features").
--
-- The upgrade script runs this file as it is (sql/upgrade/55_memory_features.sql is a link to it; 56 adds the grants of 0.1.0 grantees): a 0.1.0
-- database gets the columns by ALTER TABLE, a fresh install too, so both
-- catalogs are identical.
--
-- Writes: each public write function (update_memory, supersede,
-- invalidate, set_expiry, expire, put, delete_key, set_space_ttl,
-- set_block, append_block, replace_block, delete_block) is the C function
-- engram_write_feature, SECURITY INVOKER: it computes the spaces granted to
-- its caller and runs engram._<name>_impl as the owner of engram.memory,
-- with the arguments as typed parameters and those spaces (NULL: all) as
-- the last one.  The _impl functions (EXECUTE revoked from PUBLIC) check
-- every argument and touch only rows of those spaces.  Reads (history,
-- get, list_namespaces, get_block, core_blocks, block_history) run as the
-- caller under row-level security.
-- ---------------------------------------------------------------------

-- columns of engram.memory ---------------------------------------------------

ALTER TABLE @extschema@.memory
	ADD COLUMN updated_at pg_catalog.timestamptz,
	ADD COLUMN version pg_catalog.int4 NOT NULL DEFAULT 1,
	ADD COLUMN valid_from pg_catalog.timestamptz,
	ADD COLUMN valid_to pg_catalog.timestamptz,
	ADD COLUMN invalidated_at pg_catalog.timestamptz,
	ADD COLUMN superseded_by pg_catalog.int8,
	ADD COLUMN expires_at pg_catalog.timestamptz,
	ADD COLUMN ttl pg_catalog.interval,
	ADD COLUMN key pg_catalog.text,
	ADD COLUMN namespace pg_catalog.text[] NOT NULL DEFAULT '{}',
	ADD CONSTRAINT memory_valid_range_check
		CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_from OPERATOR(pg_catalog.<=) valid_to),
	ADD CONSTRAINT memory_ttl_check
		CHECK (ttl IS NULL OR ttl OPERATOR(pg_catalog.>) '0'::pg_catalog.interval),
	ADD CONSTRAINT memory_key_check
		CHECK (key IS NULL OR pg_catalog.octet_length(key) BETWEEN 1 AND 1024),
	ADD CONSTRAINT memory_namespace_check
		CHECK (pg_catalog.cardinality(namespace) OPERATOR(pg_catalog.<=) 32
			   AND pg_catalog.array_position(namespace, NULL) IS NULL);
COMMENT ON COLUMN @extschema@.memory.updated_at IS
'when the current version was written by update_memory, put, supersede or invalidate (NULL: never changed)';
COMMENT ON COLUMN @extschema@.memory.version IS
'version number, 1 at creation, +1 at every change kept in engram.memory_history';
COMMENT ON COLUMN @extschema@.memory.valid_from IS
'event time: when the fact became true (NULL: unknown, counts as always)';
COMMENT ON COLUMN @extschema@.memory.valid_to IS
'event time: when the fact stopped being true (NULL: still true); set by supersede and invalidate';
COMMENT ON COLUMN @extschema@.memory.invalidated_at IS
'record time: when valid_to was set (for recall as of a past time)';
COMMENT ON COLUMN @extschema@.memory.superseded_by IS
'the memory that superseded this one (may name a memory forgotten since)';
COMMENT ON COLUMN @extschema@.memory.expires_at IS
'fixed expiry: engram.expire() deletes the memory from this time on';
COMMENT ON COLUMN @extschema@.memory.ttl IS
'sliding expiry: engram.expire() deletes the memory once it was neither written nor read (recorded access) for this long';
COMMENT ON COLUMN @extschema@.memory.key IS
'caller-chosen key, unique within (space, namespace); engram.put / engram.get';
COMMENT ON COLUMN @extschema@.memory.namespace IS
'hierarchical namespace within the space, e.g. {users,u1,prefs}; listed by engram.list_namespaces';

CREATE UNIQUE INDEX memory_key_idx ON @extschema@.memory (space, namespace, key)
	WHERE key IS NOT NULL;
CREATE INDEX memory_expires_idx ON @extschema@.memory (expires_at)
	WHERE expires_at IS NOT NULL;
CREATE INDEX memory_ttl_idx ON @extschema@.memory (space)
	WHERE ttl IS NOT NULL;

-- engram.memories (sql/install/50_memory.sql) gets the new columns, after
-- its 0.1.0 ones (CREATE OR REPLACE VIEW can only append; the options are
-- replaced, so security_invoker is given again)
CREATE OR REPLACE VIEW @extschema@.memories WITH (security_invoker = true) AS
	SELECT m.id, m.space, m.kind, m.content, m.confidence, m.created_at, m.occurred_at,
		   m.location, m.participants, m.metadata,
		   a.access_count,
		   greatest(a.last_access, m.created_at) AS last_access,
		   @extschema@._tier('@extschema@.memory'::pg_catalog.regclass, m.ctid) AS tier,
		   m.embedding IS NOT NULL AS has_embedding,
		   m.version, m.updated_at, m.valid_from, m.valid_to, m.invalidated_at,
		   m.superseded_by, m.expires_at, m.ttl, m.key, m.namespace
	FROM @extschema@.memory m
	CROSS JOIN LATERAL @extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid) a;
COMMENT ON VIEW @extschema@.memories IS
'memories with access history and tier, version, validity, expiry, key and namespace (row-level security of engram.memory applies)';

-- history, space policy, core blocks ---------------------------------------------

CREATE TABLE @extschema@.memory_history (
	memory_id	pg_catalog.int8 NOT NULL REFERENCES @extschema@.memory (id) ON DELETE CASCADE,
	version		pg_catalog.int4 NOT NULL,
	space		pg_catalog.text NOT NULL,
	content		pg_catalog.text NOT NULL,
	embedding	@extschema@.vector,
	metadata	pg_catalog.jsonb NOT NULL,
	confidence	pg_catalog.float4 NOT NULL,
	valid_from	pg_catalog.timestamptz,
	valid_to	pg_catalog.timestamptz,
	written_at	pg_catalog.timestamptz NOT NULL,
	replaced_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	replaced_by pg_catalog.text NOT NULL
				CONSTRAINT memory_history_replaced_by_check
				CHECK (replaced_by IN ('update', 'put', 'supersede', 'invalidate')),
	PRIMARY KEY (memory_id, version)
);
COMMENT ON TABLE @extschema@.memory_history IS
'earlier versions of memories (engram.history(id)); forgetting a memory removes its history';

CREATE TABLE @extschema@.space_policy (
	space		pg_catalog.text PRIMARY KEY REFERENCES @extschema@.space (name) ON DELETE CASCADE,
	default_ttl pg_catalog.interval
				CONSTRAINT space_policy_ttl_check
				CHECK (default_ttl IS NULL OR default_ttl OPERATOR(pg_catalog.>) '0'::pg_catalog.interval),
	refresh_on_read pg_catalog.bool NOT NULL DEFAULT true,
	consolidate_every pg_catalog.interval
				CONSTRAINT space_policy_consolidate_check
				CHECK (consolidate_every IS NULL OR consolidate_every OPERATOR(pg_catalog.>=) '1 minute'::pg_catalog.interval),
	last_consolidated pg_catalog.timestamptz
);
COMMENT ON TABLE @extschema@.space_policy IS
'per-space policies: default TTL of new memories (engram.set_space_ttl: sliding, memory.ttl, with refresh_on_read, else fixed, memory.expires_at) and the background worker''s consolidation schedule (engram.set_space_schedule)';

CREATE TABLE @extschema@.core_block (
	space		pg_catalog.text NOT NULL REFERENCES @extschema@.space (name) ON DELETE CASCADE,
	label		pg_catalog.text NOT NULL
				CONSTRAINT core_block_label_check CHECK (label OPERATOR(pg_catalog.~) '^[A-Za-z0-9_.-]{1,64}$'),
	value		pg_catalog.text NOT NULL,
	"limit"		pg_catalog.int4 NOT NULL DEFAULT 2000
				CONSTRAINT core_block_limit_check CHECK ("limit" BETWEEN 1 AND 1000000),
	description pg_catalog.text,
	version		pg_catalog.int4 NOT NULL DEFAULT 1,
	created_at	pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at	pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (space, label),
	CONSTRAINT core_block_value_check CHECK (pg_catalog.char_length(value) OPERATOR(pg_catalog.<=) "limit")
);
COMMENT ON TABLE @extschema@.core_block IS
'core memory blocks (Letta-style): small labelled texts per space, at most "limit" characters, edited in place with history';

CREATE TABLE @extschema@.core_block_history (
	space		pg_catalog.text NOT NULL,
	label		pg_catalog.text NOT NULL,
	version		pg_catalog.int4 NOT NULL,
	value		pg_catalog.text NOT NULL,
	"limit"		pg_catalog.int4 NOT NULL,
	written_at	pg_catalog.timestamptz NOT NULL,
	replaced_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	replaced_by pg_catalog.text NOT NULL
				CONSTRAINT core_block_history_replaced_by_check
				CHECK (replaced_by IN ('set', 'append', 'replace')),
	PRIMARY KEY (space, label, version),
	FOREIGN KEY (space, label) REFERENCES @extschema@.core_block (space, label) ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.core_block_history IS
'earlier values of core memory blocks (engram.block_history); deleting a block removes its history';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.memory_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.space_policy', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.core_block', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.core_block_history', '');

-- Row-level security: a role holding a space grant may query the tables
-- (SELECT follows engram.space_grant, see _feature_grant_sync below) and
-- sees the rows of the spaces granted to it (the rule of the policy on
-- engram.memory); no role but the owner writes them (the write functions
-- run as the owner).
ALTER TABLE @extschema@.memory_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY memory_history_by_space ON @extschema@.memory_history FOR SELECT
	USING (space OPERATOR(pg_catalog.=) ANY (
			   SELECT g.space
			   FROM @extschema@.space_grant g
			   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid
			   WHERE pg_catalog.pg_has_role(r.oid, 'USAGE')));
ALTER TABLE @extschema@.space_policy ENABLE ROW LEVEL SECURITY;
CREATE POLICY space_policy_by_space ON @extschema@.space_policy FOR SELECT
	USING (space OPERATOR(pg_catalog.=) ANY (
			   SELECT g.space
			   FROM @extschema@.space_grant g
			   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid
			   WHERE pg_catalog.pg_has_role(r.oid, 'USAGE')));
ALTER TABLE @extschema@.core_block ENABLE ROW LEVEL SECURITY;
CREATE POLICY core_block_by_space ON @extschema@.core_block FOR SELECT
	USING (space OPERATOR(pg_catalog.=) ANY (
			   SELECT g.space
			   FROM @extschema@.space_grant g
			   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid
			   WHERE pg_catalog.pg_has_role(r.oid, 'USAGE')));
ALTER TABLE @extschema@.core_block_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY core_block_history_by_space ON @extschema@.core_block_history FOR SELECT
	USING (space OPERATOR(pg_catalog.=) ANY (
			   SELECT g.space
			   FROM @extschema@.space_grant g
			   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid
			   WHERE pg_catalog.pg_has_role(r.oid, 'USAGE')));

-- SELECT on these tables follows the space grants, as grant_space and
-- revoke_space do for engram.memory: a role gets it with its first grant
-- and loses it with its last.  Not SECURITY DEFINER: it runs as the role
-- that changes engram.space_grant, which only the owner and superusers
-- may (directly or through grant_space, revoke_space, drop_space).
CREATE FUNCTION @extschema@._feature_grant_sync()
	RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF TG_RELID OPERATOR(pg_catalog.<>) '@extschema@.space_grant'::pg_catalog.regclass::pg_catalog.oid
	   OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'ROW' THEN
		RAISE EXCEPTION 'engram._feature_grant_sync() is the row trigger of engram.space_grant only'
			USING ERRCODE = 'wrong_object_type';
	END IF;
	IF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
		IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
				   WHERE r.oid OPERATOR(pg_catalog.=) NEW.role::pg_catalog.oid) THEN
			EXECUTE pg_catalog.format('GRANT SELECT ON %s.memory_history, %s.space_policy, %s.core_block, %s.core_block_history TO %s',
									  '@extschema@', '@extschema@', '@extschema@', '@extschema@', NEW.role);
		END IF;
		RETURN NULL;
	END IF;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
			   WHERE r.oid OPERATOR(pg_catalog.=) OLD.role::pg_catalog.oid)
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.space_grant g
					   WHERE g.role::pg_catalog.oid OPERATOR(pg_catalog.=) OLD.role::pg_catalog.oid) THEN
		EXECUTE pg_catalog.format('REVOKE SELECT ON %s.memory_history, %s.space_policy, %s.core_block, %s.core_block_history FROM %s',
								  '@extschema@', '@extschema@', '@extschema@', '@extschema@', OLD.role);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@._feature_grant_sync() IS
'internal: trigger on engram.space_grant giving a role SELECT on memory_history, space_policy, core_block and core_block_history with its first space grant and taking it with its last';
CREATE TRIGGER space_grant_feature_sync
	AFTER INSERT OR DELETE ON @extschema@.space_grant
	FOR EACH ROW EXECUTE FUNCTION @extschema@._feature_grant_sync();
REVOKE EXECUTE ON FUNCTION @extschema@._feature_grant_sync() FROM PUBLIC;

-- validity in time ---------------------------------------------------------------

CREATE FUNCTION @extschema@.valid_at(valid_from pg_catalog.timestamptz,
									 valid_to pg_catalog.timestamptz,
									 as_of pg_catalog.timestamptz DEFAULT NULL)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'engram_valid_at'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.valid_at(pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
'true when as_of (NULL: now()) lies in [valid_from, valid_to); a NULL bound is open; never NULL';

-- internal helpers ------------------------------------------------------------------

-- For the _impl functions (which run as the owner): the space must be
-- among the caller's spaces (NULL: all) and exist; returns its dimensions.
-- For a role under row-level security a space it may not use and one that
-- does not exist are the same error.
CREATE FUNCTION @extschema@._feature_space(space pg_catalog.text, spaces pg_catalog.text[])
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_dims		pg_catalog.int4;
BEGIN
	PERFORM @extschema@._check_space_name($1);
	IF $2 IS NOT NULL AND NOT ($1 OPERATOR(pg_catalog.=) ANY ($2)) THEN
		RAISE EXCEPTION 'permission denied for memory space "%"', $1
			USING ERRCODE = 'insufficient_privilege',
				  HINT = pg_catalog.format('The space''s owner can run SELECT engram.grant_space(%L, role).', $1);
	END IF;
	SELECT s.dims INTO v_dims FROM @extschema@.space s WHERE s.name OPERATOR(pg_catalog.=) $1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'memory space "%" does not exist', $1
			USING ERRCODE = 'undefined_object',
				  HINT = pg_catalog.format('Create it with SELECT engram.create_space(%L).', $1);
	END IF;
	RETURN v_dims;
END
$$;
COMMENT ON FUNCTION @extschema@._feature_space(pg_catalog.text, pg_catalog.text[]) IS
'internal: raises an error unless the space is among the given ones (NULL: all) and exists; returns its dimensions';
REVOKE EXECUTE ON FUNCTION @extschema@._feature_space(pg_catalog.text, pg_catalog.text[]) FROM PUBLIC;

-- checks of new values shared by update_memory, supersede and put
CREATE FUNCTION @extschema@._feature_check_values(content pg_catalog.text,
												  embedding @extschema@.vector,
												  metadata pg_catalog.jsonb,
												  confidence pg_catalog.float4,
												  dims pg_catalog.int4,
												  space pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_norm		pg_catalog.float8;
BEGIN
	IF $1 IS NOT NULL THEN
		PERFORM @extschema@._check_content($1);
	END IF;
	IF $4 IS NOT NULL AND ($4 OPERATOR(pg_catalog.=) 'NaN' OR $4 OPERATOR(pg_catalog.<) 0
						   OR $4 OPERATOR(pg_catalog.>) 1) THEN
		RAISE EXCEPTION 'confidence must be between 0 and 1, got %', $4
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = '1.0 means certain, 0 means no confidence at all.';
	END IF;
	IF $3 IS NOT NULL AND pg_catalog.jsonb_typeof($3) OPERATOR(pg_catalog.<>) 'object' THEN
		RAISE EXCEPTION 'memory metadata must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass ''{}'' for no metadata.';
	END IF;
	IF $2 IS NOT NULL THEN
		IF $5 IS NOT NULL AND @extschema@.vector_dims($2) OPERATOR(pg_catalog.<>) $5 THEN
			RAISE EXCEPTION 'embedding has % dimensions but memory space "%" has %',
							@extschema@.vector_dims($2), $6, $5
				USING ERRCODE = 'data_exception',
					  HINT = 'Every embedding of a space must come from the same model; use another space for another model.';
		END IF;
		v_norm := @extschema@.l2_norm($2);
		IF v_norm OPERATOR(pg_catalog.=) 0 OR v_norm OPERATOR(pg_catalog.=) 'NaN'
		   OR v_norm OPERATOR(pg_catalog.=) 'Infinity' THEN
			RAISE EXCEPTION 'embedding must have a finite, non-zero length'
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Cosine similarity is undefined for a zero vector: it would score NaN against every cue.';
		END IF;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._feature_check_values(pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.float4, pg_catalog.int4, pg_catalog.text) IS
'internal: raises an error for blank or oversized content, a confidence outside [0,1] or NaN, metadata that is not an object, an embedding of the wrong dimensions or of zero or non-finite length (NULL: not given)';
REVOKE EXECUTE ON FUNCTION @extschema@._feature_check_values(pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.float4, pg_catalog.int4, pg_catalog.text) FROM PUBLIC;

-- the memory with this id in one of the caller's spaces, locked for update
CREATE FUNCTION @extschema@._feature_lock_memory(id pg_catalog.int8, spaces pg_catalog.text[])
	RETURNS @extschema@.memory
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_row		@extschema@.memory;
BEGIN
	IF $1 IS NULL THEN
		RAISE EXCEPTION 'memory id must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT m.* INTO v_row FROM @extschema@.memory m
		WHERE m.id OPERATOR(pg_catalog.=) $1
		  AND ($2 IS NULL OR m.space OPERATOR(pg_catalog.=) ANY ($2))
		FOR UPDATE;
	IF NOT FOUND THEN
		-- the same error for an id of a space the caller may not use
		RAISE EXCEPTION 'memory % does not exist', $1
			USING ERRCODE = 'no_data_found',
				  HINT = 'Pass an id returned by engram.remember or engram.put that has not been forgotten.';
	END IF;
	RETURN v_row;
END
$$;
COMMENT ON FUNCTION @extschema@._feature_lock_memory(pg_catalog.int8, pg_catalog.text[]) IS
'internal: the memory with this id in one of the given spaces (NULL: any), locked FOR UPDATE; no_data_found otherwise';
REVOKE EXECUTE ON FUNCTION @extschema@._feature_lock_memory(pg_catalog.int8, pg_catalog.text[]) FROM PUBLIC;

-- the current version of a memory goes to engram.memory_history
CREATE FUNCTION @extschema@._feature_keep_version(m @extschema@.memory, replaced_by pg_catalog.text)
	RETURNS void
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
	AS $$
	INSERT INTO @extschema@.memory_history (memory_id, version, space, content, embedding, metadata,
											confidence, valid_from, valid_to, written_at, replaced_by)
	VALUES (($1).id, ($1).version, ($1).space, ($1).content, ($1).embedding, ($1).metadata,
			($1).confidence, ($1).valid_from, ($1).valid_to,
			coalesce(($1).updated_at, ($1).created_at), $2)
	$$;
COMMENT ON FUNCTION @extschema@._feature_keep_version(@extschema@.memory, pg_catalog.text) IS
'internal: store the given version of a memory in engram.memory_history';
REVOKE EXECUTE ON FUNCTION @extschema@._feature_keep_version(@extschema@.memory, pg_catalog.text) FROM PUBLIC;

CREATE FUNCTION @extschema@._feature_writes_allowed()
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	IF NOT @extschema@.writes_allowed() THEN
		RAISE EXCEPTION 'cannot change memories in a read-only transaction'
			USING ERRCODE = 'read_only_sql_transaction',
				  HINT = 'Run it on the primary, outside a read-only transaction.';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._feature_writes_allowed() IS
'internal: raises read_only_sql_transaction on a standby or in a read-only transaction';

-- An interval the background worker may add to a timestamp of any space:
-- positive, at most 100 years and no field negative (a value such as
-- '71000000 months -2130000000 days' compares as 0 days, yet adding it
-- overflows).  A stored TTL is added to a timestamp by expire() over every
-- space, consolidate_every by the worker's schedules: one that overflowed
-- there (22008) would stop the expiry or the schedules of all spaces.
CREATE FUNCTION @extschema@._feature_interval_ok(value pg_catalog.interval)
	RETURNS pg_catalog.bool
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT $1 OPERATOR(pg_catalog.>) '0'::pg_catalog.interval
	   AND $1 OPERATOR(pg_catalog.<=) '100 years'::pg_catalog.interval
	   AND pg_catalog.date_part('year', $1) OPERATOR(pg_catalog.>=) 0
	   AND pg_catalog.date_part('month', $1) OPERATOR(pg_catalog.>=) 0
	   AND pg_catalog.date_part('day', $1) OPERATOR(pg_catalog.>=) 0
	   AND pg_catalog.date_part('hour', $1) OPERATOR(pg_catalog.>=) 0
	   AND pg_catalog.date_part('minute', $1) OPERATOR(pg_catalog.>=) 0
	   AND pg_catalog.date_part('second', $1) OPERATOR(pg_catalog.>=) 0
	$$;
COMMENT ON FUNCTION @extschema@._feature_interval_ok(pg_catalog.interval) IS
'internal: whether an interval is positive, at most 100 years and has no negative field (months, days, time)';

-- a TTL as given (NULL: none), or an error
CREATE FUNCTION @extschema@._feature_check_ttl(ttl pg_catalog.interval)
	RETURNS pg_catalog.interval
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	IF $1 IS NOT NULL AND NOT @extschema@._feature_interval_ok($1) THEN
		RAISE EXCEPTION 'ttl must be a positive interval of at most 100 years with no negative field, got %', $1
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL for no expiry.';
	END IF;
	RETURN $1;
END
$$;
COMMENT ON FUNCTION @extschema@._feature_check_ttl(pg_catalog.interval) IS
'internal: the TTL as given; raises an error unless it is NULL or positive, at most 100 years and without a negative field';

-- Default TTL of a space for new memories.  Not SECURITY DEFINER: it runs
-- as the role that inserts (the owner, through the write functions, or a
-- role that bypasses row-level security).  A session with row_security =
-- off (pg_dump's output, pg_restore) restores memories as they were.
CREATE FUNCTION @extschema@._memory_default_ttl()
	RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_policy	record;
BEGIN
	IF TG_RELID OPERATOR(pg_catalog.<>) '@extschema@.memory'::pg_catalog.regclass::pg_catalog.oid
	   OR TG_WHEN OPERATOR(pg_catalog.<>) 'BEFORE' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'ROW'
	   OR TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN
		RAISE EXCEPTION 'engram._memory_default_ttl() is the insert trigger of engram.memory only'
			USING ERRCODE = 'wrong_object_type';
	END IF;
	IF NEW.expires_at IS NULL AND NEW.ttl IS NULL
	   AND pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.<>) 'off' THEN
		SELECT p.default_ttl, p.refresh_on_read INTO v_policy
			FROM @extschema@.space_policy p WHERE p.space OPERATOR(pg_catalog.=) NEW.space;
		IF FOUND AND v_policy.default_ttl IS NOT NULL THEN
			IF v_policy.refresh_on_read THEN
				NEW.ttl := v_policy.default_ttl;
			ELSE
				NEW.expires_at := pg_catalog.now() OPERATOR(pg_catalog.+) v_policy.default_ttl;
			END IF;
		END IF;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@._memory_default_ttl() IS
'internal: insert trigger giving a new memory its space''s default TTL (engram.space_policy) unless it has one';
CREATE TRIGGER memory_default_ttl
	BEFORE INSERT ON @extschema@.memory
	FOR EACH ROW EXECUTE FUNCTION @extschema@._memory_default_ttl();
REVOKE EXECUTE ON FUNCTION @extschema@._memory_default_ttl() FROM PUBLIC;

-- update and supersede with history -------------------------------------------

CREATE FUNCTION @extschema@._update_memory_impl(id pg_catalog.int8, content pg_catalog.text,
												embedding @extschema@.vector, metadata pg_catalog.jsonb,
												confidence pg_catalog.float4,
												expected_version pg_catalog.int4,
												spaces pg_catalog.text[])
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_old		@extschema@.memory;
	v_dims		pg_catalog.int4;
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	IF $2 IS NULL AND $3 IS NULL AND $4 IS NULL AND $5 IS NULL THEN
		RAISE EXCEPTION 'nothing to update'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass content, embedding, metadata or confidence (NULL keeps the current value).';
	END IF;
	v_old := @extschema@._feature_lock_memory($1, $7);
	IF v_old.superseded_by IS NOT NULL OR v_old.valid_to IS NOT NULL THEN
		RAISE EXCEPTION 'memory % is no longer valid (superseded or invalidated)', $1
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('valid_to = %s, superseded_by = %s', v_old.valid_to,
											 coalesce(v_old.superseded_by::pg_catalog.text, 'none')),
				  HINT = 'Update the memory that superseded it; engram.history(id) shows the old versions.';
	END IF;
	IF $6 IS NOT NULL AND $6 OPERATOR(pg_catalog.<>) v_old.version THEN
		RAISE EXCEPTION 'memory % is at version %, not %', $1, v_old.version, $6
			USING ERRCODE = 'serialization_failure',
				  HINT = 'Someone changed it meanwhile: read it again (engram.history) and retry.';
	END IF;
	SELECT s.dims INTO v_dims FROM @extschema@.space s WHERE s.name OPERATOR(pg_catalog.=) v_old.space;
	PERFORM @extschema@._feature_check_values($2, $3, $4, $5, v_dims, v_old.space);
	PERFORM @extschema@._feature_keep_version(v_old, 'update');
	UPDATE @extschema@.memory m
		SET content = coalesce($2, m.content),
			embedding = coalesce($3, m.embedding),
			metadata = coalesce($4, m.metadata),
			confidence = coalesce($5, m.confidence),
			version = m.version OPERATOR(pg_catalog.+) 1,
			updated_at = pg_catalog.now()
		WHERE m.id OPERATOR(pg_catalog.=) $1;
	RETURN v_old.version OPERATOR(pg_catalog.+) 1;
END
$$;
COMMENT ON FUNCTION @extschema@._update_memory_impl(pg_catalog.int8, pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.float4, pg_catalog.int4, pg_catalog.text[]) IS
'internal: engram.update_memory as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._update_memory_impl(pg_catalog.int8, pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.float4, pg_catalog.int4, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.update_memory(id pg_catalog.int8,
										  content pg_catalog.text DEFAULT NULL,
										  embedding @extschema@.vector DEFAULT NULL,
										  metadata pg_catalog.jsonb DEFAULT NULL,
										  confidence pg_catalog.float4 DEFAULT NULL,
										  expected_version pg_catalog.int4 DEFAULT NULL)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.update_memory(pg_catalog.int8, pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.float4, pg_catalog.int4) IS
'change a memory''s content, embedding, metadata and/or confidence (NULL keeps the value), keeping the old version in engram.memory_history; refused for a superseded or invalidated memory, and with expected_version when the memory is at another version (40001); returns the new version';

CREATE FUNCTION @extschema@._supersede_impl(old_id pg_catalog.int8, new_content pg_catalog.text,
											embedding @extschema@.vector, metadata pg_catalog.jsonb,
											confidence pg_catalog.float4,
											valid_from pg_catalog.timestamptz,
											spaces pg_catalog.text[])
	RETURNS pg_catalog.int8
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_old		@extschema@.memory;
	v_dims		pg_catalog.int4;
	v_from		pg_catalog.timestamptz := coalesce($6, pg_catalog.now());
	v_new		pg_catalog.int8;
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	IF $2 IS NULL THEN
		RAISE EXCEPTION 'the superseding memory needs content'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	v_old := @extschema@._feature_lock_memory($1, $7);
	IF v_old.superseded_by IS NOT NULL THEN
		RAISE EXCEPTION 'memory % was already superseded by memory %', $1, v_old.superseded_by
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = pg_catalog.format('Supersede memory %s, its current version, instead.', v_old.superseded_by);
	END IF;
	IF v_old.valid_to IS NOT NULL THEN
		RAISE EXCEPTION 'memory % was invalidated at %', $1, v_old.valid_to
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF v_old.valid_from IS NOT NULL AND v_from OPERATOR(pg_catalog.<) v_old.valid_from THEN
		RAISE EXCEPTION 'valid_from % is before the superseded memory''s valid_from %', v_from, v_old.valid_from
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A memory is superseded from a time at which it was valid.';
	END IF;
	SELECT s.dims INTO v_dims FROM @extschema@.space s WHERE s.name OPERATOR(pg_catalog.=) v_old.space;
	PERFORM @extschema@._feature_check_values($2, $3, $4, $5, v_dims, v_old.space);

	PERFORM @extschema@._feature_keep_version(v_old, 'supersede');
	-- the key (if any) moves to the new memory, so that get(space, key)
	-- finds the current version: the old row lets go of it first
	v_new := pg_catalog.nextval('@extschema@.memory_id_seq'::pg_catalog.regclass);
	UPDATE @extschema@.memory m
		SET valid_to = v_from, invalidated_at = pg_catalog.now(), superseded_by = v_new, key = NULL,
			version = m.version OPERATOR(pg_catalog.+) 1, updated_at = pg_catalog.now()
		WHERE m.id OPERATOR(pg_catalog.=) $1;
	INSERT INTO @extschema@.memory (id, space, content, embedding, confidence, occurred_at, location,
									participants, metadata, kind, valid_from, expires_at, ttl,
									key, namespace)
		OVERRIDING SYSTEM VALUE
		VALUES (v_new, v_old.space, $2, $3, coalesce($5, v_old.confidence), pg_catalog.now(),
				v_old.location, v_old.participants,
				coalesce($4, v_old.metadata), v_old.kind, v_from, v_old.expires_at, v_old.ttl,
				v_old.key, v_old.namespace);
	RETURN v_new;
END
$$;
COMMENT ON FUNCTION @extschema@._supersede_impl(pg_catalog.int8, pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.float4, pg_catalog.timestamptz, pg_catalog.text[]) IS
'internal: engram.supersede as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._supersede_impl(pg_catalog.int8, pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.float4, pg_catalog.timestamptz, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.supersede(old_id pg_catalog.int8, new_content pg_catalog.text,
									  embedding @extschema@.vector DEFAULT NULL,
									  metadata pg_catalog.jsonb DEFAULT NULL,
									  confidence pg_catalog.float4 DEFAULT NULL,
									  valid_from pg_catalog.timestamptz DEFAULT NULL)
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.supersede(pg_catalog.int8, pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.float4, pg_catalog.timestamptz) IS
'replace a memory by a new one valid from valid_from (NULL: now()): the old one is kept, with valid_to = valid_from, invalidated_at = now() and superseded_by = the new id; the new one inherits space, kind, namespace, key, expiry and (when NULL is passed) metadata and confidence; returns the new id';

CREATE FUNCTION @extschema@._invalidate_impl(id pg_catalog.int8, valid_to pg_catalog.timestamptz,
											 spaces pg_catalog.text[])
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_old		@extschema@.memory;
	v_to		pg_catalog.timestamptz := coalesce($2, pg_catalog.now());
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	v_old := @extschema@._feature_lock_memory($1, $3);
	IF v_old.valid_to IS NOT NULL THEN
		RAISE EXCEPTION 'memory % was already invalidated at %', $1, v_old.valid_to
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF v_old.valid_from IS NOT NULL AND v_to OPERATOR(pg_catalog.<) v_old.valid_from THEN
		RAISE EXCEPTION 'valid_to % is before the memory''s valid_from %', v_to, v_old.valid_from
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@._feature_keep_version(v_old, 'invalidate');
	UPDATE @extschema@.memory m
		SET valid_to = v_to, invalidated_at = pg_catalog.now(),
			version = m.version OPERATOR(pg_catalog.+) 1, updated_at = pg_catalog.now()
		WHERE m.id OPERATOR(pg_catalog.=) $1;
	RETURN v_old.version OPERATOR(pg_catalog.+) 1;
END
$$;
COMMENT ON FUNCTION @extschema@._invalidate_impl(pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.text[]) IS
'internal: engram.invalidate as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._invalidate_impl(pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.invalidate(id pg_catalog.int8, valid_to pg_catalog.timestamptz DEFAULT NULL)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.invalidate(pg_catalog.int8, pg_catalog.timestamptz) IS
'mark a memory no longer true from valid_to (NULL: now()) without replacing or deleting it; returns the new version';

CREATE FUNCTION @extschema@.history(id pg_catalog.int8)
	RETURNS TABLE (version pg_catalog.int4, content pg_catalog.text, metadata pg_catalog.jsonb,
				   confidence pg_catalog.float4, valid_from pg_catalog.timestamptz,
				   valid_to pg_catalog.timestamptz, written_at pg_catalog.timestamptz,
				   replaced_at pg_catalog.timestamptz, replaced_by pg_catalog.text,
				   is_current pg_catalog.bool)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	IF history.id IS NULL THEN
		RAISE EXCEPTION 'memory id must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- row-level security: only memories of the caller's spaces
	IF NOT EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.id = history.id) THEN
		RAISE EXCEPTION 'memory % does not exist', history.id
			USING ERRCODE = 'no_data_found',
				  HINT = 'Pass an id returned by engram.remember or engram.put that has not been forgotten.';
	END IF;
	RETURN QUERY
		SELECT h.version, h.content, h.metadata, h.confidence, h.valid_from, h.valid_to,
			   h.written_at, h.replaced_at, h.replaced_by, false
		FROM @extschema@.memory_history h
		WHERE h.memory_id = history.id
		UNION ALL
		SELECT m.version, m.content, m.metadata, m.confidence, m.valid_from, m.valid_to,
			   coalesce(m.updated_at, m.created_at), NULL, NULL, true
		FROM @extschema@.memory m
		WHERE m.id = history.id
		ORDER BY 1;
END
$$;
COMMENT ON FUNCTION @extschema@.history(pg_catalog.int8) IS
'every version of a memory, oldest first, the current one last (is_current); what replaced each old version (update, put, supersede, invalidate) and when';

-- expiry ------------------------------------------------------------------------

CREATE FUNCTION @extschema@._set_expiry_impl(id pg_catalog.int8, expires_at pg_catalog.timestamptz,
											 ttl pg_catalog.interval, spaces pg_catalog.text[])
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_old		@extschema@.memory;
	v_ttl		pg_catalog.interval;
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	v_ttl := @extschema@._feature_check_ttl($3);
	IF $2 IN ('infinity'::pg_catalog.timestamptz, '-infinity'::pg_catalog.timestamptz) THEN
		RAISE EXCEPTION 'expires_at must be a finite time'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL for no fixed expiry.';
	END IF;
	v_old := @extschema@._feature_lock_memory($1, $4);
	UPDATE @extschema@.memory m SET expires_at = $2, ttl = v_ttl
		WHERE m.id OPERATOR(pg_catalog.=) $1;
END
$$;
COMMENT ON FUNCTION @extschema@._set_expiry_impl(pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.interval, pg_catalog.text[]) IS
'internal: engram.set_expiry as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._set_expiry_impl(pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.interval, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.set_expiry(id pg_catalog.int8,
									   expires_at pg_catalog.timestamptz DEFAULT NULL,
									   ttl pg_catalog.interval DEFAULT NULL)
	RETURNS void
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.set_expiry(pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.interval) IS
'set a memory''s fixed expiry (expires_at) and/or sliding expiry (ttl: expires once neither written nor read for that long); NULL removes it';

CREATE FUNCTION @extschema@._set_space_ttl_impl(space pg_catalog.text, ttl pg_catalog.interval,
												refresh_on_read pg_catalog.bool,
												spaces pg_catalog.text[])
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	PERFORM @extschema@._feature_space($1, $4);
	INSERT INTO @extschema@.space_policy AS p (space, default_ttl, refresh_on_read)
		VALUES ($1, @extschema@._feature_check_ttl($2), coalesce($3, true))
		ON CONFLICT (space) DO UPDATE
			SET default_ttl = EXCLUDED.default_ttl, refresh_on_read = EXCLUDED.refresh_on_read;
END
$$;
COMMENT ON FUNCTION @extschema@._set_space_ttl_impl(pg_catalog.text, pg_catalog.interval, pg_catalog.bool, pg_catalog.text[]) IS
'internal: engram.set_space_ttl as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._set_space_ttl_impl(pg_catalog.text, pg_catalog.interval, pg_catalog.bool, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.set_space_ttl(space pg_catalog.text, ttl pg_catalog.interval,
										  refresh_on_read pg_catalog.bool DEFAULT true)
	RETURNS void
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.set_space_ttl(pg_catalog.text, pg_catalog.interval, pg_catalog.bool) IS
'default TTL of memories written into the space from now on (NULL: none): sliding (memory.ttl, refreshed by every recorded read) with refresh_on_read, else fixed (memory.expires_at = now() + ttl); existing memories keep theirs';

CREATE FUNCTION @extschema@._expire_impl(space pg_catalog.text, spaces pg_catalog.text[])
	RETURNS pg_catalog.int8
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_count		pg_catalog.int8;
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	IF $1 IS NOT NULL THEN
		PERFORM @extschema@._feature_space($1, $2);
	END IF;
	/*
	 * Candidates come from the partial indexes on expires_at and on ttl;
	 * the expiry test is repeated on the row the DELETE deletes, so a row
	 * changed meanwhile (set_expiry, put, a read of a sliding TTL) is
	 * judged by its latest version (READ COMMITTED re-checks it).
	 */
	DELETE FROM @extschema@.memory m
		WHERE m.id OPERATOR(pg_catalog.=) ANY (ARRAY(
			SELECT x.id FROM @extschema@.memory x
			WHERE x.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()
			  AND ($1 IS NULL OR x.space OPERATOR(pg_catalog.=) $1)
			  AND ($2 IS NULL OR x.space OPERATOR(pg_catalog.=) ANY ($2))
			UNION
			SELECT x.id FROM @extschema@.memory x
			WHERE x.ttl IS NOT NULL
			  AND ($1 IS NULL OR x.space OPERATOR(pg_catalog.=) $1)
			  AND ($2 IS NULL OR x.space OPERATOR(pg_catalog.=) ANY ($2))))
		  AND (m.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()
			   OR (m.ttl IS NOT NULL
				   AND greatest(m.created_at, m.updated_at,
						(@extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid)).last_access)
					   OPERATOR(pg_catalog.+) m.ttl OPERATOR(pg_catalog.<=) pg_catalog.now()));
	GET DIAGNOSTICS v_count = ROW_COUNT;
	RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@._expire_impl(pg_catalog.text, pg_catalog.text[]) IS
'internal: engram.expire as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._expire_impl(pg_catalog.text, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.expire(space pg_catalog.text DEFAULT NULL)
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.expire(pg_catalog.text) IS
'delete the expired memories of a space (NULL: of every space the caller may use): expires_at <= now(), or ttl set and greatest(created_at, updated_at, last recorded access) + ttl <= now(); one transaction, like any DELETE; returns how many. The background worker runs it every engram.expire_naptime';

CREATE FUNCTION @extschema@._set_space_schedule_impl(space pg_catalog.text,
													 consolidate_every pg_catalog.interval,
													 spaces pg_catalog.text[])
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	PERFORM @extschema@._feature_space($1, $3);
	-- bounded as a TTL (_feature_interval_ok): the worker adds it to
	-- last_consolidated for every space in one statement
	IF $2 IS NOT NULL AND ($2 OPERATOR(pg_catalog.<) '1 minute'::pg_catalog.interval
						   OR NOT @extschema@._feature_interval_ok($2)) THEN
		RAISE EXCEPTION 'consolidate_every must be between 1 minute and 100 years with no negative field, got %', $2
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL to stop scheduled consolidation.';
	END IF;
	INSERT INTO @extschema@.space_policy AS p (space, consolidate_every)
		VALUES ($1, $2)
		ON CONFLICT (space) DO UPDATE SET consolidate_every = EXCLUDED.consolidate_every;
END
$$;
COMMENT ON FUNCTION @extschema@._set_space_schedule_impl(pg_catalog.text, pg_catalog.interval, pg_catalog.text[]) IS
'internal: engram.set_space_schedule as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._set_space_schedule_impl(pg_catalog.text, pg_catalog.interval, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.set_space_schedule(space pg_catalog.text, consolidate_every pg_catalog.interval)
	RETURNS void
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.set_space_schedule(pg_catalog.text, pg_catalog.interval) IS
'let the background worker run engram.consolidate(space) (grouping, decay, forgetting) every consolidate_every (at least 1 minute; NULL: never)';

-- The background worker's schedules (src/memory_features.c): consolidate
-- every space whose consolidate_every has passed, each in a subtransaction
-- of its own (a failing space is reported and the others still run).
CREATE FUNCTION @extschema@._run_schedules()
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_space		pg_catalog.text;
	v_done		pg_catalog.int4 := 0;
	v_dummy		pg_catalog.int8;
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	FOR v_space IN
		SELECT p.space FROM @extschema@.space_policy p
		WHERE p.consolidate_every IS NOT NULL
		  AND (p.last_consolidated IS NULL
			   OR p.last_consolidated OPERATOR(pg_catalog.+) p.consolidate_every
				  OPERATOR(pg_catalog.<=) pg_catalog.now())
		ORDER BY p.space
	LOOP
		BEGIN
			SELECT pg_catalog.sum(c.count) INTO v_dummy FROM @extschema@.consolidate(v_space) c;
			UPDATE @extschema@.space_policy p SET last_consolidated = pg_catalog.now()
				WHERE p.space OPERATOR(pg_catalog.=) v_space;
			v_done := v_done OPERATOR(pg_catalog.+) 1;
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'scheduled consolidation of memory space "%" failed: %', v_space, SQLERRM;
		END;
	END LOOP;
	RETURN v_done;
END
$$;
COMMENT ON FUNCTION @extschema@._run_schedules() IS
'internal: run engram.consolidate(space) for every space whose consolidate_every has passed since last_consolidated (the background worker calls it after each expiry pass); returns how many spaces';
REVOKE EXECUTE ON FUNCTION @extschema@._run_schedules() FROM PUBLIC;

-- keys and namespaces ---------------------------------------------------------------

CREATE FUNCTION @extschema@._check_key(key pg_catalog.text, namespace pg_catalog.text[])
	RETURNS void
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	IF $1 IS NULL OR pg_catalog.btrim($1) OPERATOR(pg_catalog.=) '' THEN
		RAISE EXCEPTION 'key must not be NULL or blank'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF pg_catalog.octet_length($1) OPERATOR(pg_catalog.>) 1024 THEN
		RAISE EXCEPTION 'key is % bytes, more than 1024', pg_catalog.octet_length($1)
			USING ERRCODE = 'program_limit_exceeded',
				  HINT = 'Use a short key and put the data into the content.';
	END IF;
	IF $2 IS NULL THEN
		RAISE EXCEPTION 'namespace must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass ''{}'' for the root of the space.';
	END IF;
	IF pg_catalog.cardinality($2) OPERATOR(pg_catalog.>) 32 THEN
		RAISE EXCEPTION 'namespace has % levels, more than 32', pg_catalog.cardinality($2)
			USING ERRCODE = 'program_limit_exceeded';
	END IF;
	IF pg_catalog.array_position($2, NULL) IS NOT NULL
	   OR EXISTS (SELECT 1 FROM pg_catalog.unnest($2) u(l) WHERE u.l OPERATOR(pg_catalog.=) '') THEN
		RAISE EXCEPTION 'namespace levels must not be NULL or empty'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF pg_catalog.array_ndims($2) OPERATOR(pg_catalog.>) 1 THEN
		RAISE EXCEPTION 'namespace must be a one-dimensional array'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._check_key(pg_catalog.text, pg_catalog.text[]) IS
'internal: raises an error for a NULL, blank or over 1024-byte key, or a NULL, multidimensional, over 32-level namespace or one with NULL or empty levels';

CREATE FUNCTION @extschema@._put_impl(space pg_catalog.text, key pg_catalog.text, content pg_catalog.text,
									  embedding @extschema@.vector, metadata pg_catalog.jsonb,
									  namespace pg_catalog.text[], ttl pg_catalog.interval,
									  confidence pg_catalog.float4, spaces pg_catalog.text[])
	RETURNS pg_catalog.int8
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_dims		pg_catalog.int4;
	v_id		pg_catalog.int8;
	v_old		@extschema@.memory;
	v_meta		pg_catalog.jsonb := coalesce($5, '{}'::pg_catalog.jsonb);
	v_ns		pg_catalog.text[] := coalesce($6, '{}'::pg_catalog.text[]);
	v_ttl		pg_catalog.interval;
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	v_dims := @extschema@._feature_space($1, $9);
	PERFORM @extschema@._check_key($2, v_ns);
	IF $3 IS NULL THEN
		PERFORM @extschema@._check_content($3);
	END IF;
	PERFORM @extschema@._feature_check_values($3, $4, v_meta, coalesce($8, 1.0), v_dims, $1);
	v_ttl := @extschema@._feature_check_ttl($7);
	LOOP
		-- an existing key: a new version, the old one kept in the history
		SELECT m.* INTO v_old FROM @extschema@.memory m
			WHERE m.space OPERATOR(pg_catalog.=) $1 AND m.namespace OPERATOR(pg_catalog.=) v_ns
			  AND m.key OPERATOR(pg_catalog.=) $2
			FOR UPDATE;
		IF FOUND THEN
			PERFORM @extschema@._feature_keep_version(v_old, 'put');
			UPDATE @extschema@.memory m
				SET content = $3, embedding = $4, metadata = v_meta,
					confidence = coalesce($8, m.confidence), ttl = coalesce(v_ttl, m.ttl),
					valid_to = NULL, invalidated_at = NULL,
					version = m.version OPERATOR(pg_catalog.+) 1, updated_at = pg_catalog.now()
				WHERE m.id OPERATOR(pg_catalog.=) v_old.id;
			RETURN v_old.id;
		END IF;
		-- a new key; a concurrent put of the same key makes this one wait
		-- for it, then the loop finds its row
		INSERT INTO @extschema@.memory (space, content, embedding, confidence, metadata, kind,
										ttl, key, namespace)
			VALUES ($1, $3, $4, coalesce($8, 1.0), v_meta, 'semantic', v_ttl, $2, v_ns)
			ON CONFLICT (space, namespace, key) WHERE key IS NOT NULL DO NOTHING
			RETURNING id INTO v_id;
		IF v_id IS NOT NULL THEN
			RETURN v_id;
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@._put_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.text[], pg_catalog.interval, pg_catalog.float4, pg_catalog.text[]) IS
'internal: engram.put as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._put_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.text[], pg_catalog.interval, pg_catalog.float4, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.put(space pg_catalog.text, key pg_catalog.text, content pg_catalog.text,
								embedding @extschema@.vector DEFAULT NULL,
								metadata pg_catalog.jsonb DEFAULT '{}',
								namespace pg_catalog.text[] DEFAULT '{}',
								ttl pg_catalog.interval DEFAULT NULL,
								confidence pg_catalog.float4 DEFAULT NULL)
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.put(pg_catalog.text, pg_catalog.text, pg_catalog.text, @extschema@.vector, pg_catalog.jsonb, pg_catalog.text[], pg_catalog.interval, pg_catalog.float4) IS
'store a semantic memory under a key unique within (space, namespace), or replace the one stored there (content, embedding and metadata as given; its previous version goes to engram.memory_history); ttl is a sliding expiry (NULL: the space''s default for a new key, unchanged for an existing one); returns the memory''s id';

CREATE FUNCTION @extschema@.get(space pg_catalog.text, key pg_catalog.text,
								namespace pg_catalog.text[] DEFAULT '{}',
								record_access pg_catalog.bool DEFAULT true)
	RETURNS TABLE (id pg_catalog.int8, content pg_catalog.text, metadata pg_catalog.jsonb,
				   embedding @extschema@.vector, confidence pg_catalog.float4,
				   version pg_catalog.int4, created_at pg_catalog.timestamptz,
				   updated_at pg_catalog.timestamptz, expires_at pg_catalog.timestamptz,
				   ttl pg_catalog.interval)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	r			record;
	v_recorded	pg_catalog.bool;
BEGIN
	PERFORM @extschema@._check_space(get.space);
	PERFORM @extschema@._check_key(get.key, get.namespace);
	-- row-level security applies; expired memories (not yet deleted by
	-- engram.expire) are not returned
	SELECT m.*, m.ctid AS tid INTO r FROM @extschema@.memory m
		CROSS JOIN LATERAL @extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid) a
		WHERE m.space = get.space AND m.namespace = get.namespace AND m.key = get.key
		  AND (m.expires_at IS NULL OR m.expires_at > pg_catalog.now())
		  AND (m.ttl IS NULL
			   OR greatest(m.created_at, m.updated_at, a.last_access) + m.ttl > pg_catalog.now());
	IF NOT FOUND THEN
		RETURN;
	END IF;
	-- a recorded read refreshes a sliding TTL
	IF get.record_access AND @extschema@.writes_allowed() THEN
		v_recorded := @extschema@._record_access('@extschema@.memory'::pg_catalog.regclass, r.tid);
	END IF;
	id := r.id;
	content := r.content;
	metadata := r.metadata;
	embedding := r.embedding;
	confidence := r.confidence;
	version := r.version;
	created_at := r.created_at;
	updated_at := r.updated_at;
	expires_at := r.expires_at;
	ttl := r.ttl;
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION @extschema@.get(pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.bool) IS
'the memory stored under a key (no row when there is none or it has expired); records an access, which refreshes a sliding TTL, unless record_access is false, on a standby or in a read-only transaction';

CREATE FUNCTION @extschema@._delete_key_impl(space pg_catalog.text, key pg_catalog.text,
											 namespace pg_catalog.text[], spaces pg_catalog.text[])
	RETURNS pg_catalog.bool
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	PERFORM @extschema@._feature_space($1, $4);
	PERFORM @extschema@._check_key($2, $3);
	DELETE FROM @extschema@.memory m
		WHERE m.space OPERATOR(pg_catalog.=) $1 AND m.namespace OPERATOR(pg_catalog.=) $3
		  AND m.key OPERATOR(pg_catalog.=) $2;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@._delete_key_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text[]) IS
'internal: engram.delete_key as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._delete_key_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.delete_key(space pg_catalog.text, key pg_catalog.text,
									   namespace pg_catalog.text[] DEFAULT '{}')
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.delete_key(pg_catalog.text, pg_catalog.text, pg_catalog.text[]) IS
'forget the memory stored under a key (with its history); false when there is none';

CREATE FUNCTION @extschema@.list_namespaces(prefix pg_catalog.text[] DEFAULT '{}',
											space pg_catalog.text DEFAULT 'default',
											max_depth pg_catalog.int4 DEFAULT NULL,
											"limit" pg_catalog.int4 DEFAULT 100,
											"offset" pg_catalog.int4 DEFAULT 0)
	RETURNS TABLE (namespace pg_catalog.text[], memories pg_catalog.int8)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_prefix	pg_catalog.text[] := coalesce(list_namespaces.prefix, '{}');
BEGIN
	PERFORM @extschema@._check_space(list_namespaces.space);
	IF list_namespaces.max_depth IS NOT NULL AND list_namespaces.max_depth < 1 THEN
		RAISE EXCEPTION 'max_depth must be at least 1, got %', list_namespaces.max_depth
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF list_namespaces."limit" IS NULL OR list_namespaces."limit" < 1 OR list_namespaces."limit" > 10000
	   OR list_namespaces."offset" IS NULL OR list_namespaces."offset" < 0 THEN
		RAISE EXCEPTION 'limit must be between 1 and 10000 and offset at least 0'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		SELECT n.ns, pg_catalog.count(*)
		FROM (SELECT CASE WHEN list_namespaces.max_depth IS NULL THEN m.namespace
						  ELSE m.namespace[1:list_namespaces.max_depth] END AS ns
			  FROM @extschema@.memory m
			  WHERE m.space = list_namespaces.space
				AND pg_catalog.cardinality(m.namespace) > 0
				AND m.namespace[1:pg_catalog.cardinality(v_prefix)] = v_prefix) n
		GROUP BY n.ns
		ORDER BY n.ns
		LIMIT list_namespaces."limit" OFFSET list_namespaces."offset";
END
$$;
COMMENT ON FUNCTION @extschema@.list_namespaces(pg_catalog.text[], pg_catalog.text, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
'namespaces of a space that start with prefix (''{}'': all), cut to max_depth levels, with the number of memories in each, in order';

-- core memory blocks ------------------------------------------------------------------

CREATE FUNCTION @extschema@._check_block(label pg_catalog.text, value pg_catalog.text,
										 "limit" pg_catalog.int4)
	RETURNS void
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	IF $1 IS NULL OR $1 OPERATOR(pg_catalog.!~) '^[A-Za-z0-9_.-]{1,64}$' THEN
		RAISE EXCEPTION 'invalid block label %', pg_catalog.quote_nullable($1)
			USING ERRCODE = 'invalid_name',
				  HINT = 'A block label is 1 to 64 characters from A-Z, a-z, 0-9, "_", "." and "-".';
	END IF;
	IF $3 IS NOT NULL AND ($3 OPERATOR(pg_catalog.<) 1 OR $3 OPERATOR(pg_catalog.>) 1000000) THEN
		RAISE EXCEPTION 'block limit must be between 1 and 1000000 characters, got %', $3
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF $2 IS NOT NULL AND $3 IS NOT NULL
	   AND pg_catalog.char_length($2) OPERATOR(pg_catalog.>) $3 THEN
		RAISE EXCEPTION 'block "%" would hold % characters, more than its limit of %',
						$1, pg_catalog.char_length($2), $3
			USING ERRCODE = 'program_limit_exceeded',
				  HINT = 'Shorten the value (engram.set_block or engram.replace_block), or raise the limit with engram.set_block(space, label, value, "limit" => n).';
	END IF;
	-- engram.max_content_bytes (a superuser setting) holds blocks as it
	-- holds memories: a "limit" of up to 1000000 characters is up to 4 MB
	IF $2 IS NOT NULL AND pg_catalog.octet_length($2) OPERATOR(pg_catalog.>)
		  (SELECT s.setting::pg_catalog.int8 FROM pg_catalog.pg_settings s
		   WHERE s.name OPERATOR(pg_catalog.=) 'engram.max_content_bytes') THEN
		RAISE EXCEPTION 'block "%" would hold % bytes, larger than engram.max_content_bytes (%)',
						$1, pg_catalog.octet_length($2), pg_catalog.current_setting('engram.max_content_bytes')
			USING ERRCODE = 'program_limit_exceeded',
				  HINT = 'Shorten the value; engram.max_content_bytes is a superuser setting.';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._check_block(pg_catalog.text, pg_catalog.text, pg_catalog.int4) IS
'internal: raises an error for an invalid label, a limit outside [1, 1000000] or a value longer than the limit or over engram.max_content_bytes';

CREATE FUNCTION @extschema@._set_block_impl(space pg_catalog.text, label pg_catalog.text,
											value pg_catalog.text, "limit" pg_catalog.int4,
											description pg_catalog.text, spaces pg_catalog.text[])
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_old		@extschema@.core_block;
	v_limit		pg_catalog.int4;
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	PERFORM @extschema@._feature_space($1, $6);
	IF $3 IS NULL THEN
		RAISE EXCEPTION 'block value must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass '''' for an empty block.';
	END IF;
	SELECT b.* INTO v_old FROM @extschema@.core_block b
		WHERE b.space OPERATOR(pg_catalog.=) $1 AND b.label OPERATOR(pg_catalog.=) $2
		FOR UPDATE;
	v_limit := coalesce($4, v_old."limit", 2000);
	PERFORM @extschema@._check_block($2, $3, v_limit);
	IF $5 IS NOT NULL AND pg_catalog.octet_length($5) OPERATOR(pg_catalog.>) 4096 THEN
		RAISE EXCEPTION 'block description is % bytes, more than 4096', pg_catalog.octet_length($5)
			USING ERRCODE = 'program_limit_exceeded',
				  HINT = 'A description says what the block is for; put the data into the value.';
	END IF;
	IF v_old.label IS NULL THEN
		INSERT INTO @extschema@.core_block (space, label, value, "limit", description)
			VALUES ($1, $2, $3, v_limit, $5)
			ON CONFLICT (space, label) DO NOTHING;
		IF FOUND THEN
			RETURN 1;
		END IF;
		-- created concurrently: edit that one
		RETURN @extschema@._set_block_impl($1, $2, $3, $4, $5, $6);
	END IF;
	INSERT INTO @extschema@.core_block_history (space, label, version, value, "limit", written_at, replaced_by)
		VALUES ($1, $2, v_old.version, v_old.value, v_old."limit", v_old.updated_at, 'set');
	UPDATE @extschema@.core_block b
		SET value = $3, "limit" = v_limit, description = coalesce($5, b.description),
			version = b.version OPERATOR(pg_catalog.+) 1, updated_at = pg_catalog.now()
		WHERE b.space OPERATOR(pg_catalog.=) $1 AND b.label OPERATOR(pg_catalog.=) $2;
	RETURN v_old.version OPERATOR(pg_catalog.+) 1;
END
$$;
COMMENT ON FUNCTION @extschema@._set_block_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int4, pg_catalog.text, pg_catalog.text[]) IS
'internal: engram.set_block as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._set_block_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int4, pg_catalog.text, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.set_block(space pg_catalog.text, label pg_catalog.text, value pg_catalog.text,
									  "limit" pg_catalog.int4 DEFAULT NULL,
									  description pg_catalog.text DEFAULT NULL)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.set_block(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int4, pg_catalog.text) IS
'create a core memory block or replace its value (the old value goes to engram.core_block_history); "limit" in characters (NULL: unchanged, 2000 for a new block); returns the block''s new version';

-- store a new value of a core block locked by _lock_block, with history
CREATE FUNCTION @extschema@._edit_block(space pg_catalog.text, label pg_catalog.text,
										new_value pg_catalog.text, op pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_old		@extschema@.core_block;
BEGIN
	SELECT b.* INTO STRICT v_old FROM @extschema@.core_block b
		WHERE b.space OPERATOR(pg_catalog.=) $1 AND b.label OPERATOR(pg_catalog.=) $2;
	PERFORM @extschema@._check_block($2, $3, v_old."limit");
	INSERT INTO @extschema@.core_block_history (space, label, version, value, "limit", written_at, replaced_by)
		VALUES ($1, $2, v_old.version, v_old.value, v_old."limit", v_old.updated_at, $4);
	UPDATE @extschema@.core_block b
		SET value = $3, version = b.version OPERATOR(pg_catalog.+) 1, updated_at = pg_catalog.now()
		WHERE b.space OPERATOR(pg_catalog.=) $1 AND b.label OPERATOR(pg_catalog.=) $2;
	RETURN $3;
END
$$;
COMMENT ON FUNCTION @extschema@._edit_block(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'internal: store a new value of a core block locked by the caller, keeping the old one in engram.core_block_history';
REVOKE EXECUTE ON FUNCTION @extschema@._edit_block(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) FROM PUBLIC;

-- the value of a block of a permitted space, locked; no_data_found otherwise
CREATE FUNCTION @extschema@._lock_block(space pg_catalog.text, label pg_catalog.text,
										spaces pg_catalog.text[])
	RETURNS pg_catalog.text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_value		pg_catalog.text;
BEGIN
	PERFORM @extschema@._feature_space($1, $3);
	PERFORM @extschema@._check_block($2, NULL, NULL);
	SELECT b.value INTO v_value FROM @extschema@.core_block b
		WHERE b.space OPERATOR(pg_catalog.=) $1 AND b.label OPERATOR(pg_catalog.=) $2
		FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'core block "%" does not exist in memory space "%"', $2, $1
			USING ERRCODE = 'no_data_found',
				  HINT = pg_catalog.format('Create it with SELECT engram.set_block(%L, %L, '''').', $1, $2);
	END IF;
	RETURN v_value;
END
$$;
COMMENT ON FUNCTION @extschema@._lock_block(pg_catalog.text, pg_catalog.text, pg_catalog.text[]) IS
'internal: the value of a core block of one of the given spaces, locked FOR UPDATE; no_data_found when there is none';
REVOKE EXECUTE ON FUNCTION @extschema@._lock_block(pg_catalog.text, pg_catalog.text, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@._append_block_impl(space pg_catalog.text, label pg_catalog.text,
											   text pg_catalog.text, separator pg_catalog.text,
											   spaces pg_catalog.text[])
	RETURNS pg_catalog.text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_value		pg_catalog.text;
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	v_value := @extschema@._lock_block($1, $2, $5);
	IF $3 IS NULL THEN
		RAISE EXCEPTION 'text to append must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	RETURN @extschema@._edit_block($1, $2,
		CASE WHEN v_value OPERATOR(pg_catalog.=) '' THEN $3
			 ELSE v_value OPERATOR(pg_catalog.||) coalesce($4, '') OPERATOR(pg_catalog.||) $3 END,
		'append');
END
$$;
COMMENT ON FUNCTION @extschema@._append_block_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text[]) IS
'internal: engram.append_block as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._append_block_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.append_block(space pg_catalog.text, label pg_catalog.text, text pg_catalog.text,
										 separator pg_catalog.text DEFAULT E'\n')
	RETURNS pg_catalog.text
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.append_block(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'append text to a core block (after separator unless the block is empty), keeping the old value in the history; over the block''s limit is an error (54000); returns the new value';

CREATE FUNCTION @extschema@._replace_block_impl(space pg_catalog.text, label pg_catalog.text,
												old pg_catalog.text, new pg_catalog.text,
												spaces pg_catalog.text[])
	RETURNS pg_catalog.text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_value		pg_catalog.text;
	v_len		pg_catalog.int8;
	v_limit		pg_catalog.int4;
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	v_value := @extschema@._lock_block($1, $2, $5);
	IF $3 IS NULL OR $3 OPERATOR(pg_catalog.=) '' OR $4 IS NULL THEN
		RAISE EXCEPTION 'old text must be non-empty and new text not NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF pg_catalog.strpos(v_value, $3) OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'block "%" does not contain the text to replace', $2
			USING ERRCODE = 'no_data_found',
				  HINT = 'engram.get_block shows its current value.';
	END IF;
	-- the new length before building the new value: a short old text
	-- replaced by a long new one in a long block would otherwise build up
	-- to 1 GB before the limit check refused it
	-- (every OPERATOR() has the same precedence: parenthesised)
	v_len := pg_catalog.char_length(v_value) OPERATOR(pg_catalog.+)
		((((pg_catalog.char_length(v_value) OPERATOR(pg_catalog.-)
			pg_catalog.char_length(pg_catalog.replace(v_value, $3, '')))::pg_catalog.int8
		   OPERATOR(pg_catalog./) pg_catalog.char_length($3)))
		 OPERATOR(pg_catalog.*) (pg_catalog.char_length($4) OPERATOR(pg_catalog.-) pg_catalog.char_length($3)));
	SELECT b."limit" INTO v_limit FROM @extschema@.core_block b
		WHERE b.space OPERATOR(pg_catalog.=) $1 AND b.label OPERATOR(pg_catalog.=) $2;
	IF v_len OPERATOR(pg_catalog.>) v_limit THEN
		RAISE EXCEPTION 'block "%" would hold % characters, more than its limit of %', $2, v_len, v_limit
			USING ERRCODE = 'program_limit_exceeded',
				  HINT = 'Shorten the value (engram.set_block or engram.replace_block), or raise the limit with engram.set_block(space, label, value, "limit" => n).';
	END IF;
	RETURN @extschema@._edit_block($1, $2, pg_catalog.replace(v_value, $3, $4), 'replace');
END
$$;
COMMENT ON FUNCTION @extschema@._replace_block_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text[]) IS
'internal: engram.replace_block as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._replace_block_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.replace_block(space pg_catalog.text, label pg_catalog.text,
										  old pg_catalog.text, new pg_catalog.text)
	RETURNS pg_catalog.text
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.replace_block(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
'replace every occurrence of old by new in a core block, keeping the old value in the history; old not found is no_data_found; returns the new value';

CREATE FUNCTION @extschema@._delete_block_impl(space pg_catalog.text, label pg_catalog.text,
											   spaces pg_catalog.text[])
	RETURNS pg_catalog.bool
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	PERFORM @extschema@._feature_writes_allowed();
	PERFORM @extschema@._feature_space($1, $3);
	PERFORM @extschema@._check_block($2, NULL, NULL);
	DELETE FROM @extschema@.core_block b
		WHERE b.space OPERATOR(pg_catalog.=) $1 AND b.label OPERATOR(pg_catalog.=) $2;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@._delete_block_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text[]) IS
'internal: engram.delete_block as the owner, for the given spaces (NULL: all)';
REVOKE EXECUTE ON FUNCTION @extschema@._delete_block_impl(pg_catalog.text, pg_catalog.text, pg_catalog.text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.delete_block(space pg_catalog.text, label pg_catalog.text)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'engram_write_feature'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.delete_block(pg_catalog.text, pg_catalog.text) IS
'delete a core block and its history; false when there is none';

CREATE FUNCTION @extschema@.get_block(space pg_catalog.text, label pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_value		pg_catalog.text;
BEGIN
	PERFORM @extschema@._check_space($1);
	PERFORM @extschema@._check_block($2, NULL, NULL);
	SELECT b.value INTO v_value FROM @extschema@.core_block b
		WHERE b.space OPERATOR(pg_catalog.=) $1 AND b.label OPERATOR(pg_catalog.=) $2;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'core block "%" does not exist in memory space "%"', $2, $1
			USING ERRCODE = 'no_data_found',
				  HINT = pg_catalog.format('Create it with SELECT engram.set_block(%L, %L, '''').', $1, $2);
	END IF;
	RETURN v_value;
END
$$;
COMMENT ON FUNCTION @extschema@.get_block(pg_catalog.text, pg_catalog.text) IS
'the value of a core block; no_data_found when there is none';

CREATE FUNCTION @extschema@.core_blocks(space pg_catalog.text DEFAULT 'default')
	RETURNS TABLE (label pg_catalog.text, value pg_catalog.text, "limit" pg_catalog.int4,
				   description pg_catalog.text, version pg_catalog.int4,
				   updated_at pg_catalog.timestamptz)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	PERFORM @extschema@._check_space($1);
	RETURN QUERY
		SELECT b.label, b.value, b."limit", b.description, b.version, b.updated_at
		FROM @extschema@.core_block b
		WHERE b.space OPERATOR(pg_catalog.=) $1
		ORDER BY b.label;
END
$$;
COMMENT ON FUNCTION @extschema@.core_blocks(pg_catalog.text) IS
'every core block of a space, by label: what an agent puts first into its context, before recalled memories';

CREATE FUNCTION @extschema@.block_history(space pg_catalog.text, label pg_catalog.text)
	RETURNS TABLE (version pg_catalog.int4, value pg_catalog.text, "limit" pg_catalog.int4,
				   written_at pg_catalog.timestamptz, replaced_at pg_catalog.timestamptz,
				   replaced_by pg_catalog.text, is_current pg_catalog.bool)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	PERFORM @extschema@.get_block($1, $2);
	RETURN QUERY
		SELECT h.version, h.value, h."limit", h.written_at, h.replaced_at, h.replaced_by, false
		FROM @extschema@.core_block_history h
		WHERE h.space OPERATOR(pg_catalog.=) $1 AND h.label OPERATOR(pg_catalog.=) $2
		UNION ALL
		SELECT b.version, b.value, b."limit", b.updated_at, NULL, NULL, true
		FROM @extschema@.core_block b
		WHERE b.space OPERATOR(pg_catalog.=) $1 AND b.label OPERATOR(pg_catalog.=) $2
		ORDER BY 1;
END
$$;
COMMENT ON FUNCTION @extschema@.block_history(pg_catalog.text, pg_catalog.text) IS
'every value a core block had, oldest first, the current one last (is_current), with what replaced it (set, append, replace)';
