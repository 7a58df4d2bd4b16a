-- ---------------------------------------------------------------------
-- 60_shard: memory spaces placed on other nodes (shards)
-- (docs/architecture/0011-sharding.md, src/shard_route.c)
--
-- A space lives on exactly one node.  A COORDINATOR keeps the catalog --
-- engram.space (every space), engram.space_grant (authoritative: tenants
-- authenticate here), engram.shard (the shard nodes) and
-- engram.placement (which space lives on which shard) -- and the memory
-- API called on it for a placed space runs on the owning shard in one
-- round trip (dblink over the shard's postgres_fdw server): the hooks in
-- remember, recall, forget, associate and consolidate are one line each
-- that call the engram._shard_* functions below.  Unplaced spaces stay
-- local.  The same calls made on a shard work locally, as on any node.
--
-- Memory ids are unique across nodes without coordination per insert:
-- engram.shard_init(node) confines a node's id sequence to
-- [node << 48, (node + 1) << 48) (node 0, the default: 1 .. 2^48 - 1).
-- ---------------------------------------------------------------------

-- this node ---------------------------------------------------------------

CREATE TABLE @extschema@.shard_self (
	only_row	pg_catalog.bool PRIMARY KEY DEFAULT true
				CONSTRAINT shard_self_one_row CHECK (only_row),
	node		pg_catalog.int4 NOT NULL
				CONSTRAINT shard_self_node_check CHECK (node BETWEEN 0 AND 32767),
	service_role pg_catalog.regrole
);
COMMENT ON TABLE @extschema@.shard_self IS
'this node''s number (memory ids in [node << 48, (node + 1) << 48)) and, on a shard, the role coordinators log in as (engram.shard_init)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.shard_self', '');

CREATE FUNCTION @extschema@.shard_node()
	RETURNS pg_catalog.int4
	LANGUAGE sql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT coalesce((SELECT s.node FROM @extschema@.shard_self s), 0)
	$$;
COMMENT ON FUNCTION @extschema@.shard_node() IS
'this node''s number (0 until engram.shard_init); memory ids remembered here are in [node << 48, (node + 1) << 48)';
GRANT SELECT ON @extschema@.shard_self TO PUBLIC;

CREATE FUNCTION @extschema@.shard_init(node pg_catalog.int4, service_role pg_catalog.regrole DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	v_lo		pg_catalog.int8;
	v_hi		pg_catalog.int8;
	v_max		pg_catalog.int8;
	v_dummy		pg_catalog.text;
BEGIN
	IF NOT pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
								   WHERE c.oid = '@extschema@.memory'::pg_catalog.regclass), 'USAGE') THEN
		RAISE EXCEPTION 'permission denied to initialise this node'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Run engram.shard_init as the extension''s owner or a superuser.';
	END IF;
	IF shard_init.node IS NULL OR shard_init.node < 0 OR shard_init.node > 32767 THEN
		RAISE EXCEPTION 'node number must be between 0 and 32767, got %',
						coalesce(shard_init.node::pg_catalog.text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Give every node of a cluster its own number; ids are node << 48 plus a serial.';
	END IF;
	IF shard_init.service_role::pg_catalog.oid OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'service role must name an existing role'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	v_lo := greatest(shard_init.node::pg_catalog.int8 OPERATOR(pg_catalog.<<) 48, 1);
	v_hi := ((shard_init.node::pg_catalog.int8 + 1) OPERATOR(pg_catalog.<<) 48) - 1;
	SELECT pg_catalog.max(m.id) INTO v_max FROM @extschema@.memory m;
	IF v_max > v_hi OR EXISTS (SELECT 1 FROM @extschema@.memory m
							  WHERE m.id > 0 AND (m.id OPERATOR(pg_catalog.>>) 48)::pg_catalog.int4
											   NOT IN (0, shard_init.node)) THEN
		RAISE EXCEPTION 'this node holds memories with ids outside node %''s range', shard_init.node
			USING ERRCODE = 'object_in_use',
				  HINT = 'Initialise a node before it stores memories, and keep its number.';
	END IF;
	EXECUTE pg_catalog.format('ALTER TABLE %s.memory ALTER COLUMN id SET MINVALUE %s SET MAXVALUE %s SET START WITH %s RESTART WITH %s',
							  '@extschema@', v_lo, v_hi, v_lo, greatest(v_lo, coalesce(v_max, 0) + 1));
	INSERT INTO @extschema@.shard_self (node, service_role)
		VALUES (shard_init.node, shard_init.service_role)
		ON CONFLICT (only_row) DO UPDATE SET node = EXCLUDED.node, service_role = EXCLUDED.service_role;
	IF shard_init.service_role IS NOT NULL THEN
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s._shard_serve(pg_catalog.text, pg_catalog.jsonb) TO %s',
								  '@extschema@', shard_init.service_role);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.shard_init(pg_catalog.int4, pg_catalog.regrole) IS
'number this node (memory ids in [node << 48, (node + 1) << 48), up to 2^48 per node, nodes 0 to 32767) and, on a shard, name the role coordinators log in as (it may adopt placed spaces and call engram._shard_serve); for the extension''s owner';

-- shard side: adopting a placed space -----------------------------------------

CREATE FUNCTION @extschema@._shard_adopt_as_owner(space pg_catalog.text, dims pg_catalog.int4)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM @extschema@.space s WHERE s.name = _shard_adopt_as_owner.space) THEN
		PERFORM @extschema@.create_space(_shard_adopt_as_owner.space, _shard_adopt_as_owner.dims);
	END IF;
	PERFORM @extschema@.grant_space(_shard_adopt_as_owner.space,
									(SELECT s.service_role FROM @extschema@.shard_self s));
END
$$;
COMMENT ON FUNCTION @extschema@._shard_adopt_as_owner(pg_catalog.text, pg_catalog.int4) IS
'internal: create a placed space when missing and grant it to this shard''s service role (run as the owner by engram._shard_adopt)';
REVOKE EXECUTE ON FUNCTION @extschema@._shard_adopt_as_owner(pg_catalog.text, pg_catalog.int4) FROM PUBLIC;

CREATE FUNCTION @extschema@._shard_adopt(space pg_catalog.text, dims pg_catalog.int4)
	RETURNS void
	AS 'MODULE_PATHNAME', 'engram_write_shard_adopt'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._shard_adopt(pg_catalog.text, pg_catalog.int4) IS
'internal: on a shard, for its service role only: create a placed space and grant it to the service role (runs as the table owner)';

-- moving a space: the source's export, the target's import ----------------
-- (engram.move_space, on the coordinator, drives them)

CREATE FUNCTION @extschema@._seed_access(rel pg_catalog.regclass, row_tid pg_catalog.tid,
										 count pg_catalog.int8, last pg_catalog.timestamptz)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'engram_memory_seed_access'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._seed_access(pg_catalog.regclass, pg_catalog.tid, pg_catalog.int8, pg_catalog.timestamptz) IS
'internal: add count recorded accesses, the last at last, to the history of the row at tid (a moved memory keeps its history); for the table''s owner';
REVOKE EXECUTE ON FUNCTION @extschema@._seed_access(pg_catalog.regclass, pg_catalog.tid, pg_catalog.int8, pg_catalog.timestamptz) FROM PUBLIC;

/*
 * A memory as moved: every stored column (content_tsv is generated) plus
 * its access history.  Rows of the space, by id: those after "after" in
 * id order (at most lim), or those in ids.
 */
CREATE FUNCTION @extschema@._move_export(space pg_catalog.text, after pg_catalog.int8,
										 lim pg_catalog.int4, ids pg_catalog.int8[])
	RETURNS SETOF pg_catalog.jsonb
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT (pg_catalog.to_jsonb(m) OPERATOR(pg_catalog.-) 'content_tsv')
		   OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('access_count', a.access_count,
																 'last_access', a.last_access)
	FROM @extschema@.memory m
	CROSS JOIN LATERAL @extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid) a
	WHERE m.space = $1
	  AND ($2 IS NULL OR m.id > $2)
	  AND ($4 IS NULL OR m.id = ANY ($4))
	ORDER BY m.id
	LIMIT $3
	$$;
COMMENT ON FUNCTION @extschema@._move_export(pg_catalog.text, pg_catalog.int8, pg_catalog.int4, pg_catalog.int8[]) IS
'internal: memories of a space being moved as jsonb (every stored column, access_count, last_access), after an id (at most lim) or with the given ids, in id order';

-- one row per memory of the space: its id and an md5 of its moved form
CREATE FUNCTION @extschema@._move_digest(space pg_catalog.text)
	RETURNS TABLE (id pg_catalog.int8, digest pg_catalog.text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT (j OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8, pg_catalog.md5(j::pg_catalog.text)
	FROM @extschema@._move_export($1, NULL, NULL, NULL) j
	$$;
COMMENT ON FUNCTION @extschema@._move_digest(pg_catalog.text) IS
'internal: (id, md5 of the moved form) of every memory of a space: what changed since a copy';

-- the associations between memories of the space
CREATE FUNCTION @extschema@._move_associations(space pg_catalog.text)
	RETURNS SETOF pg_catalog.jsonb
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.to_jsonb(a)
	FROM @extschema@.association a
	WHERE a.src IN (SELECT m.id FROM @extschema@.memory m WHERE m.space = $1)
	  AND a.dst IN (SELECT m.id FROM @extschema@.memory m WHERE m.space = $1)
	ORDER BY a.src, a.dst
	$$;
COMMENT ON FUNCTION @extschema@._move_associations(pg_catalog.text) IS
'internal: the associations between memories of a space being moved, as jsonb rows';

/*
 * Run as the owner (engram._move_apply): apply one step of a move to the
 * space's memories here.  payload keys, each optional:
 *	purge:	true: delete every memory of the space (and so its links);
 *	drop:	ids of the space's memories to delete;
 *	rows:	memories in _move_export's form, inserted with their ids (a
 *			row of the space with the same id is replaced) and their
 *			access history;
 *	associations: the space's links, replacing those it has here.
 * Returns the number of memories of the space here afterwards.
 */
CREATE FUNCTION @extschema@._move_apply_as_owner(space pg_catalog.text, payload pg_catalog.jsonb)
	RETURNS pg_catalog.int8
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	-- a moved row keeps its own ttl (engram._memory_default_ttl: restore)
	SET row_security = off
	AS $$
DECLARE
	v_rows		pg_catalog.jsonb := payload OPERATOR(pg_catalog.->) 'rows';
	v_cols		pg_catalog.text;
	v_sel		pg_catalog.text;
BEGIN
	IF (payload OPERATOR(pg_catalog.->>) 'purge')::pg_catalog.bool THEN
		DELETE FROM @extschema@.memory m WHERE m.space = _move_apply_as_owner.space;
	END IF;
	IF pg_catalog.jsonb_typeof(payload OPERATOR(pg_catalog.->) 'drop') = 'array' THEN
		DELETE FROM @extschema@.memory m
			WHERE m.space = _move_apply_as_owner.space
			  AND m.id = ANY (@extschema@._shard_text_array(payload OPERATOR(pg_catalog.->) 'drop')::pg_catalog.int8[]);
	END IF;
	IF pg_catalog.jsonb_typeof(v_rows) = 'array' AND pg_catalog.jsonb_array_length(v_rows) > 0 THEN
		IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(v_rows) j
				   WHERE j OPERATOR(pg_catalog.->>) 'space' IS DISTINCT FROM _move_apply_as_owner.space) THEN
			RAISE EXCEPTION 'moved rows must belong to memory space "%"', _move_apply_as_owner.space
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		DELETE FROM @extschema@.memory m
			WHERE m.space = _move_apply_as_owner.space
			  AND m.id IN (SELECT (j OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8
						   FROM pg_catalog.jsonb_array_elements(v_rows) j);
		SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
			   pg_catalog.string_agg('r.' || pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
			INTO v_cols, v_sel
			FROM pg_catalog.pg_attribute a
			WHERE a.attrelid = '@extschema@.memory'::pg_catalog.regclass
			  AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
		EXECUTE pg_catalog.format('INSERT INTO %1$s.memory (%2$s) OVERRIDING SYSTEM VALUE'
								  ' SELECT %3$s FROM pg_catalog.jsonb_array_elements($1) j,'
								  ' pg_catalog.jsonb_populate_record(NULL::%1$s.memory, j) r',
								  '@extschema@', v_cols, v_sel)
			USING v_rows;
		PERFORM @extschema@._seed_access('@extschema@.memory'::pg_catalog.regclass, m.ctid,
										 (j OPERATOR(pg_catalog.->>) 'access_count')::pg_catalog.int8,
										 (j OPERATOR(pg_catalog.->>) 'last_access')::pg_catalog.timestamptz)
			FROM pg_catalog.jsonb_array_elements(v_rows) j
			JOIN @extschema@.memory m ON m.id = (j OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8
			WHERE (j OPERATOR(pg_catalog.->>) 'access_count')::pg_catalog.int8 > 0;
	END IF;
	IF pg_catalog.jsonb_typeof(payload OPERATOR(pg_catalog.->) 'associations') = 'array' THEN
		DELETE FROM @extschema@.association a
			WHERE a.src IN (SELECT m.id FROM @extschema@.memory m WHERE m.space = _move_apply_as_owner.space)
			   OR a.dst IN (SELECT m.id FROM @extschema@.memory m WHERE m.space = _move_apply_as_owner.space);
		INSERT INTO @extschema@.association (src, dst, weight, created_at)
			SELECT r.src, r.dst, r.weight, r.created_at
			FROM pg_catalog.jsonb_populate_recordset(NULL::@extschema@.association,
													 payload OPERATOR(pg_catalog.->) 'associations') r
			WHERE r.src IN (SELECT m.id FROM @extschema@.memory m WHERE m.space = _move_apply_as_owner.space)
			  AND r.dst IN (SELECT m.id FROM @extschema@.memory m WHERE m.space = _move_apply_as_owner.space);
	END IF;
	RETURN (SELECT pg_catalog.count(*) FROM @extschema@.memory m WHERE m.space = _move_apply_as_owner.space);
END
$$;
COMMENT ON FUNCTION @extschema@._move_apply_as_owner(pg_catalog.text, pg_catalog.jsonb) IS
'internal: one step of moving a space here or away (purge, drop ids, insert rows with their ids and access history, replace its associations), run as the owner by engram._move_apply; the space''s memory count after it';
REVOKE EXECUTE ON FUNCTION @extschema@._move_apply_as_owner(pg_catalog.text, pg_catalog.jsonb) FROM PUBLIC;

CREATE FUNCTION @extschema@._move_apply(space pg_catalog.text, payload pg_catalog.jsonb)
	RETURNS pg_catalog.int8
	AS 'MODULE_PATHNAME', 'engram_write_move_apply'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._move_apply(pg_catalog.text, pg_catalog.jsonb) IS
'internal: on a shard, for its service role only, on a space granted to it: engram._move_apply_as_owner (a step of engram.move_space) as the table owner';

-- shard side: the one entry point of coordinators ---------------------------

-- jsonb text array or NULL
CREATE FUNCTION @extschema@._shard_text_array(pg_catalog.jsonb)
	RETURNS pg_catalog.text[]
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT CASE WHEN pg_catalog.jsonb_typeof($1) = 'array'
				THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text($1)) END
	$$;
COMMENT ON FUNCTION @extschema@._shard_text_array(pg_catalog.jsonb) IS
'internal: a JSON array as text[] (NULL for anything else)';

-- recall across spaces: the candidates of one node --------------------------

/*
 * The candidates of engram.recall_spaces held on this node, with the raw
 * components the merge needs: for a vector cue the ncand nearest by
 * cosine distance (ties by id), for a text query the ncand best by
 * ts_rank (ties by id), each row with both values where defined (a row of
 * one list may carry the other value: the merge only keeps a global top
 * ncand, which a row beyond its own node's top ncand can never enter),
 * and the inputs of activation (computed by the merge, at one now()).
 * Filters: the spaces, confidence >= min_confidence, valid now and not
 * expired (recall's conditions without as_of and metadata filters).
 */
CREATE FUNCTION @extschema@._recall_candidates(spaces pg_catalog.text[], cue @extschema@.vector,
											   query pg_catalog.tsquery, ncand pg_catalog.int4,
											   min_confidence pg_catalog.float4)
	RETURNS TABLE (id pg_catalog.int8, space pg_catalog.text, content pg_catalog.text,
				   dist pg_catalog.float8, rank pg_catalog.float4,
				   created_at pg_catalog.timestamptz, last_access pg_catalog.timestamptz,
				   access_count pg_catalog.int8, confidence pg_catalog.float4,
				   tier pg_catalog.text, metadata pg_catalog.jsonb)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	WITH live AS (
		SELECT m.id
		FROM @extschema@.memory m
		WHERE m.space = ANY ($1)
		  AND m.confidence >= $5
		  AND (m.valid_from IS NULL OR m.valid_from <= pg_catalog.now())
		  AND (m.valid_to IS NULL OR m.valid_to > pg_catalog.now())
		  AND (m.expires_at IS NULL OR m.expires_at > pg_catalog.now())
		  AND (m.ttl IS NULL
			   OR greatest(m.created_at, m.updated_at,
						   (@extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid)).last_access)
				  + m.ttl > pg_catalog.now())
	), ids AS (
		(SELECT m.id FROM @extschema@.memory m
		 WHERE $2 IS NOT NULL AND m.embedding IS NOT NULL AND m.id IN (SELECT l.id FROM live l)
		 ORDER BY m.embedding OPERATOR(@extschema@.<=>) $2, m.id
		 LIMIT $4)
		UNION
		(SELECT m.id FROM @extschema@.memory m
		 WHERE $3 IS NOT NULL AND m.content_tsv OPERATOR(pg_catalog.@@) $3 AND m.id IN (SELECT l.id FROM live l)
		 ORDER BY pg_catalog.ts_rank(m.content_tsv, $3) DESC, m.id
		 LIMIT $4)
	)
	SELECT m.id, m.space, m.content,
		   CASE WHEN $2 IS NOT NULL AND m.embedding IS NOT NULL
				THEN m.embedding OPERATOR(@extschema@.<=>) $2 END,
		   CASE WHEN $3 IS NOT NULL AND m.content_tsv OPERATOR(pg_catalog.@@) $3
				THEN pg_catalog.ts_rank(m.content_tsv, $3) END,
		   m.created_at, a.last_access, a.access_count, m.confidence,
		   @extschema@._tier('@extschema@.memory'::pg_catalog.regclass, m.ctid), m.metadata
	FROM @extschema@.memory m
	CROSS JOIN LATERAL @extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid) a
	WHERE m.id IN (SELECT i.id FROM ids i)
	$$;
COMMENT ON FUNCTION @extschema@._recall_candidates(pg_catalog.text[], @extschema@.vector, pg_catalog.tsquery, pg_catalog.int4, pg_catalog.float4) IS
'internal: engram.recall_spaces'' candidates on this node: the ncand nearest to cue and the ncand best ranked for query among valid, unexpired memories of the spaces with confidence >= min_confidence, with distance, ts_rank and access history';

CREATE FUNCTION @extschema@._recall_touch(ids pg_catalog.int8[], allowed pg_catalog.text[])
	RETURNS pg_catalog.int8
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.count(*) FILTER (WHERE @extschema@._record_access('@extschema@.memory'::pg_catalog.regclass, m.ctid))
	FROM @extschema@.memory m
	WHERE m.id = ANY ($1) AND ($2 IS NULL OR m.space = ANY ($2))
	$$;
COMMENT ON FUNCTION @extschema@._recall_touch(pg_catalog.int8[], pg_catalog.text[]) IS
'internal: record one access of each memory with these ids (in the spaces given, NULL: any the caller may see); how many were recorded';

/*
 * Runs as the service role (SECURITY INVOKER: the role's own space grants
 * and row-level security apply).  args.allowed is the list of spaces the
 * end user holds on the coordinator (NULL: a role that bypasses row-level
 * security there), set by engram._shard_call and never by its caller: a
 * space outside it is refused, and ops by id act only on memories of
 * allowed spaces.
 */
CREATE FUNCTION @extschema@._shard_serve(op pg_catalog.text, args pg_catalog.jsonb)
	RETURNS SETOF pg_catalog.jsonb
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	v_allowed	pg_catalog.text[] := @extschema@._shard_text_array(args OPERATOR(pg_catalog.->) 'allowed');
	v_space		pg_catalog.text := args OPERATOR(pg_catalog.->>) 'space';
	v_ids		pg_catalog.int8[];
	v_found		pg_catalog.int8[];
BEGIN
	-- "allowed" NULL (every space) only when the coordinator said so: a
	-- JSON null for a caller that bypasses row-level security there
	IF pg_catalog.jsonb_typeof(args) IS DISTINCT FROM 'object'
	   OR (v_allowed IS NULL AND (args OPERATOR(pg_catalog.->) 'allowed') IS DISTINCT FROM 'null'::pg_catalog.jsonb) THEN
		RAISE EXCEPTION 'shard call without the coordinator''s list of allowed spaces'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF op IN ('remember', 'recall', 'forget_space', 'consolidate', 'adopt',
			  'move_export', 'move_digest', 'move_associations', 'move_apply') AND v_space IS NULL THEN
		RAISE EXCEPTION 'shard operation % needs a space', op
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF v_space IS NOT NULL AND v_allowed IS NOT NULL AND NOT v_space = ANY (v_allowed) THEN
		RAISE EXCEPTION 'permission denied for memory space "%"', v_space
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The coordinator''s space grants do not give it to the calling user.';
	END IF;
	IF v_allowed IS NOT NULL AND EXISTS (
		   SELECT 1 FROM pg_catalog.unnest(@extschema@._shard_text_array(args OPERATOR(pg_catalog.->) 'spaces')) x
		   WHERE x <> ALL (v_allowed)) THEN
		RAISE EXCEPTION 'permission denied for memory space "%"',
						(SELECT x FROM pg_catalog.unnest(@extschema@._shard_text_array(args OPERATOR(pg_catalog.->) 'spaces')) x
						 WHERE x <> ALL (v_allowed) LIMIT 1)
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The coordinator''s space grants do not give it to the calling user.';
	END IF;
	IF op = 'hello' THEN
		RETURN NEXT pg_catalog.jsonb_build_object('node', @extschema@.shard_node());
	ELSIF op = 'adopt' THEN
		PERFORM @extschema@._shard_adopt(v_space, (args OPERATOR(pg_catalog.->>) 'dims')::pg_catalog.int4);
		RETURN NEXT '{}'::pg_catalog.jsonb;
	ELSIF op = 'remember' THEN
		RETURN NEXT pg_catalog.jsonb_build_object('id', @extschema@.remember(
			content => args OPERATOR(pg_catalog.->>) 'content',
			embedding => (args OPERATOR(pg_catalog.->>) 'embedding')::@extschema@.vector,
			confidence => (args OPERATOR(pg_catalog.->>) 'confidence')::pg_catalog.float4,
			space => v_space,
			metadata => args OPERATOR(pg_catalog.->) 'metadata',
			occurred_at => (args OPERATOR(pg_catalog.->>) 'occurred_at')::pg_catalog.timestamptz,
			kind => args OPERATOR(pg_catalog.->>) 'kind',
			location => args OPERATOR(pg_catalog.->>) 'location',
			participants => @extschema@._shard_text_array(args OPERATOR(pg_catalog.->) 'participants')));
	ELSIF op = 'recall' THEN
		RETURN QUERY SELECT pg_catalog.to_jsonb(r) FROM @extschema@.recall(
			cue => (args OPERATOR(pg_catalog.->>) 'cue')::@extschema@.vector,
			k => (args OPERATOR(pg_catalog.->>) 'k')::pg_catalog.int4,
			space => v_space,
			cue_text => args OPERATOR(pg_catalog.->>) 'cue_text',
			since => (args OPERATOR(pg_catalog.->>) 'since')::pg_catalog.timestamptz,
			until => (args OPERATOR(pg_catalog.->>) 'until')::pg_catalog.timestamptz,
			spread => (args OPERATOR(pg_catalog.->>) 'spread')::pg_catalog.bool,
			min_confidence => (args OPERATOR(pg_catalog.->>) 'min_confidence')::pg_catalog.float4,
			record_access => (args OPERATOR(pg_catalog.->>) 'record_access')::pg_catalog.bool,
			metadata_filter => NULLIF(args OPERATOR(pg_catalog.->) 'metadata_filter', 'null'::pg_catalog.jsonb),
			kind => args OPERATOR(pg_catalog.->>) 'kind',
			participants => @extschema@._shard_text_array(args OPERATOR(pg_catalog.->) 'participants'),
			occurred_after => (args OPERATOR(pg_catalog.->>) 'occurred_after')::pg_catalog.timestamptz,
			occurred_before => (args OPERATOR(pg_catalog.->>) 'occurred_before')::pg_catalog.timestamptz,
			as_of => (args OPERATOR(pg_catalog.->>) 'as_of')::pg_catalog.timestamptz,
			include_invalid => (args OPERATOR(pg_catalog.->>) 'include_invalid')::pg_catalog.bool,
			namespace_prefix => @extschema@._shard_text_array(args OPERATOR(pg_catalog.->) 'namespace_prefix')) r;
	ELSIF op = 'forget_space' THEN
		RETURN NEXT pg_catalog.jsonb_build_object('count', @extschema@.forget(
			space => v_space,
			before => (args OPERATOR(pg_catalog.->>) 'before')::pg_catalog.timestamptz,
			below_confidence => (args OPERATOR(pg_catalog.->>) 'below_confidence')::pg_catalog.float4));
	ELSIF op = 'consolidate' THEN
		RETURN QUERY SELECT pg_catalog.to_jsonb(c) FROM @extschema@.consolidate(v_space) c;
	ELSIF op = 'move_export' THEN
		RETURN QUERY SELECT j FROM @extschema@._move_export(v_space,
			(args OPERATOR(pg_catalog.->>) 'after')::pg_catalog.int8,
			(args OPERATOR(pg_catalog.->>) 'limit')::pg_catalog.int4,
			@extschema@._shard_text_array(args OPERATOR(pg_catalog.->) 'ids')::pg_catalog.int8[]) j;
	ELSIF op = 'move_digest' THEN
		RETURN QUERY SELECT pg_catalog.to_jsonb(d) FROM @extschema@._move_digest(v_space) d;
	ELSIF op = 'move_associations' THEN
		RETURN QUERY SELECT j FROM @extschema@._move_associations(v_space) j;
	ELSIF op = 'move_apply' THEN
		RETURN NEXT pg_catalog.jsonb_build_object('count',
			@extschema@._move_apply(v_space, args OPERATOR(pg_catalog.->) 'payload'));
	ELSIF op = 'spread' THEN
		-- seeds of allowed spaces held here; the walk's memories of allowed spaces
		v_ids := ARRAY(SELECT m.id FROM @extschema@.memory m
					   WHERE m.id = ANY (@extschema@._shard_text_array(args OPERATOR(pg_catalog.->) 'ids')::pg_catalog.int8[])
						 AND (v_allowed IS NULL OR m.space = ANY (v_allowed)));
		IF pg_catalog.cardinality(v_ids) = 0 THEN
			RETURN NEXT '{"absent": true}'::pg_catalog.jsonb;
		ELSE
			RETURN QUERY SELECT pg_catalog.to_jsonb(s) FROM @extschema@._spread_local(v_ids,
				(args OPERATOR(pg_catalog.->>) 'max_hops')::pg_catalog.int4,
				(args OPERATOR(pg_catalog.->>) 'decay')::pg_catalog.float4,
				(args OPERATOR(pg_catalog.->>) 'threshold')::pg_catalog.float4) s
				WHERE v_allowed IS NULL
				   OR s.id IN (SELECT m.id FROM @extschema@.memory m WHERE m.space = ANY (v_allowed));
		END IF;
	ELSIF op = 'candidates' THEN
		RETURN QUERY SELECT pg_catalog.to_jsonb(c) FROM @extschema@._recall_candidates(
			@extschema@._shard_text_array(args OPERATOR(pg_catalog.->) 'spaces'),
			(args OPERATOR(pg_catalog.->>) 'cue')::@extschema@.vector,
			(args OPERATOR(pg_catalog.->>) 'query')::pg_catalog.tsquery,
			(args OPERATOR(pg_catalog.->>) 'ncand')::pg_catalog.int4,
			(args OPERATOR(pg_catalog.->>) 'min_confidence')::pg_catalog.float4) c;
	ELSIF op = 'touch' THEN
		v_ids := ARRAY(SELECT pg_catalog.jsonb_array_elements_text(args OPERATOR(pg_catalog.->) 'ids'))::pg_catalog.int8[];
		RETURN NEXT pg_catalog.jsonb_build_object('recorded', @extschema@._recall_touch(v_ids, v_allowed));
	ELSIF op IN ('locate', 'forget', 'associate') THEN
		-- the ids held here in allowed spaces (row-level security applies too)
		v_ids := ARRAY(SELECT pg_catalog.jsonb_array_elements_text(args OPERATOR(pg_catalog.->) 'ids'))::pg_catalog.int8[];
		SELECT pg_catalog.array_agg(m.id ORDER BY m.id) INTO v_found
			FROM @extschema@.memory m
			WHERE m.id = ANY (v_ids) AND (v_allowed IS NULL OR m.space = ANY (v_allowed));
		v_found := coalesce(v_found, '{}');
		IF op = 'locate' THEN
			RETURN NEXT pg_catalog.jsonb_build_object('ids', pg_catalog.to_jsonb(v_found));
		ELSIF op = 'forget' THEN
			RETURN NEXT pg_catalog.jsonb_build_object('forgotten',
				pg_catalog.cardinality(v_found) > 0 AND @extschema@._memory_delete(v_found) > 0);
		ELSE
			IF pg_catalog.cardinality(v_found) <> 2 THEN
				RAISE EXCEPTION 'memory % does not exist',
								(SELECT x FROM pg_catalog.unnest(v_ids) x WHERE x <> ALL (v_found) LIMIT 1)
					USING ERRCODE = 'no_data_found';
			END IF;
			PERFORM @extschema@.associate(v_ids[1], v_ids[2],
										  (args OPERATOR(pg_catalog.->>) 'weight')::pg_catalog.float4);
			RETURN NEXT '{}'::pg_catalog.jsonb;
		END IF;
	ELSE
		RAISE EXCEPTION 'unknown shard operation %', pg_catalog.quote_nullable(op)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._shard_serve(pg_catalog.text, pg_catalog.jsonb) IS
'internal: on a shard, what a coordinator asks (hello, adopt, remember, recall, forget_space, consolidate, candidates, touch, locate, forget, associate, spread, move_export, move_digest, move_associations, move_apply), as the calling service role, only on the spaces in args.allowed (the end user''s grants on the coordinator)';
REVOKE EXECUTE ON FUNCTION @extschema@._shard_serve(pg_catalog.text, pg_catalog.jsonb) FROM PUBLIC;

-- coordinator: the catalog ----------------------------------------------------

CREATE TABLE @extschema@.shard (
	name		pg_catalog.text PRIMARY KEY
				CONSTRAINT shard_name_check CHECK (name OPERATOR(pg_catalog.~) '^[a-z0-9_]{1,48}$'),
	node		pg_catalog.int4 NOT NULL UNIQUE
				CONSTRAINT shard_node_check CHECK (node BETWEEN 1 AND 32767),
	server		pg_catalog.name NOT NULL UNIQUE,
	added_at	pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.shard IS
'shard nodes of this coordinator: name, node number (its memory ids are node << 48 + serial) and the postgres_fdw server engram_shard_<name> holding its connection (credentials in the user mapping of engram.memory''s owner)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.shard', '');
-- no credentials here (they are in the user mapping): tenants read it to
-- route by-id calls (engram._shard_candidates)
GRANT SELECT ON @extschema@.shard TO PUBLIC;

CREATE TABLE @extschema@.placement (
	space		pg_catalog.text PRIMARY KEY REFERENCES @extschema@.space (name),
	shard		pg_catalog.text NOT NULL REFERENCES @extschema@.shard (name),
	placed_at	pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX placement_shard_idx ON @extschema@.placement (shard);
COMMENT ON TABLE @extschema@.placement IS
'which shard holds each placed space (a space lives on one node; spaces without a row are local)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.placement', '');
-- tenants see the placements of their own spaces (the routing reads them)
GRANT SELECT ON @extschema@.placement TO PUBLIC;
ALTER TABLE @extschema@.placement ENABLE ROW LEVEL SECURITY;
CREATE POLICY placement_granted ON @extschema@.placement FOR SELECT
	USING (space OPERATOR(pg_catalog.=) ANY (
			   SELECT g.space
			   FROM @extschema@.space_grant g
			   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.role::pg_catalog.oid
			   WHERE pg_catalog.pg_has_role(r.oid, 'USAGE')));

CREATE VIEW @extschema@.placements WITH (security_invoker = true) AS
	SELECT p.space, p.shard, s.node, s.server,
		   (SELECT pg_catalog.string_agg(o, ' ') FROM pg_catalog.unnest(fs.srvoptions) o) AS server_options,
		   p.placed_at
	FROM @extschema@.placement p
	JOIN @extschema@.shard s ON s.name = p.shard
	LEFT JOIN pg_catalog.pg_foreign_server fs ON fs.srvname = s.server;
COMMENT ON VIEW @extschema@.placements IS
'placed spaces with their shard, node number, foreign server and its (credential-free) connection options';

-- coordinator: administration -------------------------------------------------

CREATE FUNCTION @extschema@._shard_check_admin()
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF NOT pg_catalog.has_table_privilege('@extschema@.shard', 'INSERT, DELETE')
	   OR NOT pg_catalog.has_table_privilege('@extschema@.placement', 'INSERT, DELETE') THEN
		RAISE EXCEPTION 'permission denied to administer shards'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Shard administration is for the extension''s owner and superusers.';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._shard_check_admin() IS
'internal: raises an error unless the current role may change engram.shard and engram.placement';

CREATE FUNCTION @extschema@.add_shard(name pg_catalog.text, conninfo pg_catalog.text)
	RETURNS pg_catalog.int4
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	c_pair		CONSTANT pg_catalog.text := '([A-Za-z_]+)\s*=\s*(''((?:[^''\\]|\\.)*)''|[^\s'']+)';
	v_server	pg_catalog.name;
	v_owner		pg_catalog.name;
	v_m			pg_catalog.text[];
	v_key		pg_catalog.text;
	v_val		pg_catalog.text;
	v_srvopts	pg_catalog.text[] := '{}';
	v_umopts	pg_catalog.text[] := '{}';
	v_node		pg_catalog.int4;
BEGIN
	PERFORM @extschema@._shard_check_admin();
	IF add_shard.name IS NULL OR add_shard.name OPERATOR(pg_catalog.!~) '^[a-z0-9_]{1,48}$' THEN
		RAISE EXCEPTION 'invalid shard name "%"', add_shard.name
			USING ERRCODE = 'invalid_name',
				  HINT = 'A shard name is 1 to 48 characters from a-z, 0-9 and "_".';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'postgres_fdw')
	   OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'dblink') THEN
		RAISE EXCEPTION 'a coordinator needs the postgres_fdw and dblink extensions'
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'Run CREATE EXTENSION postgres_fdw; CREATE EXTENSION dblink; (both contrib).';
	END IF;
	IF EXISTS (SELECT 1 FROM @extschema@.shard s WHERE s.name = add_shard.name) THEN
		RAISE EXCEPTION 'shard "%" already exists', add_shard.name
			USING ERRCODE = 'duplicate_object';
	END IF;
	-- keyword = value pairs, values plain or single-quoted (libpq syntax;
	-- URIs are not accepted): user and password go to the user mapping,
	-- the rest (host, port, dbname, target_session_attrs, ...) to the
	-- server, whose validator refuses what libpq does not know
	IF add_shard.conninfo IS NULL
	   OR pg_catalog.regexp_replace(add_shard.conninfo, c_pair, '', 'g') OPERATOR(pg_catalog.!~) '^\s*$' THEN
		RAISE EXCEPTION 'invalid connection string for shard "%"', add_shard.name
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass keyword=value pairs, e.g. ''host=a,b port=5432,5432 dbname=app user=engram_shard password=... target_session_attrs=read-write''.';
	END IF;
	FOR v_m IN SELECT pg_catalog.regexp_matches(add_shard.conninfo, c_pair, 'g') LOOP
		v_key := pg_catalog.lower(v_m[1]);
		v_val := CASE WHEN v_m[3] IS NOT NULL
					  THEN pg_catalog.regexp_replace(v_m[3], '\\(.)', '\1', 'g') ELSE v_m[2] END;
		IF v_key IN ('user', 'password') THEN
			v_umopts := v_umopts || pg_catalog.format('%I %L', v_key, v_val);
		ELSE
			v_srvopts := v_srvopts || pg_catalog.format('%I %L', v_key, v_val);
		END IF;
	END LOOP;
	v_server := 'engram_shard_' || add_shard.name;
	SELECT r.rolname INTO v_owner
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
		WHERE c.oid = '@extschema@.memory'::pg_catalog.regclass;
	EXECUTE pg_catalog.format('CREATE SERVER %I FOREIGN DATA WRAPPER postgres_fdw%s', v_server,
							  CASE WHEN pg_catalog.cardinality(v_srvopts) > 0
								   THEN ' OPTIONS (' || pg_catalog.array_to_string(v_srvopts, ', ') || ')'
								   ELSE '' END);
	EXECUTE pg_catalog.format('CREATE USER MAPPING FOR %I SERVER %I%s', v_owner, v_server,
							  CASE WHEN pg_catalog.cardinality(v_umopts) > 0
								   THEN ' OPTIONS (' || pg_catalog.array_to_string(v_umopts, ', ') || ')'
								   ELSE '' END);
	SELECT (j OPERATOR(pg_catalog.->>) 'node')::pg_catalog.int4 INTO v_node
		FROM @extschema@._shard_rpc(add_shard.name, 'hello', '{}') j;
	IF v_node IS NULL OR v_node = 0 THEN
		RAISE EXCEPTION 'shard "%" has no node number', add_shard.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'On the shard, run SELECT engram.shard_init(<node number>, ''<service role>'') as the extension''s owner.';
	END IF;
	IF v_node = @extschema@.shard_node()
	   OR EXISTS (SELECT 1 FROM @extschema@.shard s WHERE s.node = v_node) THEN
		RAISE EXCEPTION 'node number % of shard "%" is already used in this cluster', v_node, add_shard.name
			USING ERRCODE = 'unique_violation',
				  HINT = 'Every node needs its own number (engram.shard_init) so that memory ids stay unique.';
	END IF;
	INSERT INTO @extschema@.shard (name, node, server) VALUES (add_shard.name, v_node, v_server);
	RETURN v_node;
END
$$;
COMMENT ON FUNCTION @extschema@.add_shard(pg_catalog.text, pg_catalog.text) IS
'register a shard: a postgres_fdw server engram_shard_<name> from the conninfo''s keyword=value pairs (multi-host with target_session_attrs=read-write follows the shard''s failover) and a user mapping for engram.memory''s owner with its user and password; checks the shard answers and has a node number of its own; returns it';

CREATE FUNCTION @extschema@.remove_shard(name pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	v_server	pg_catalog.name;
	v_n			pg_catalog.int8;
BEGIN
	PERFORM @extschema@._shard_check_admin();
	SELECT s.server INTO v_server FROM @extschema@.shard s WHERE s.name = remove_shard.name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'shard "%" does not exist', remove_shard.name
			USING ERRCODE = 'undefined_object';
	END IF;
	SELECT pg_catalog.count(*) INTO v_n FROM @extschema@.placement p WHERE p.shard = remove_shard.name;
	IF v_n > 0 THEN
		RAISE EXCEPTION 'shard "%" holds % placed memory spaces', remove_shard.name, v_n
			USING ERRCODE = 'dependent_objects_still_exist',
				  HINT = 'Move them to another shard or drop them first.';
	END IF;
	DELETE FROM @extschema@.shard s WHERE s.name = remove_shard.name;
	EXECUTE pg_catalog.format('DROP SERVER IF EXISTS %I CASCADE', v_server);
END
$$;
COMMENT ON FUNCTION @extschema@.remove_shard(pg_catalog.text) IS
'unregister a shard that holds no placed space (drops its foreign server and user mapping)';

CREATE FUNCTION @extschema@.place_space(space pg_catalog.text, shard pg_catalog.text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_dims		pg_catalog.int4;
	v_current	pg_catalog.text;
BEGIN
	PERFORM @extschema@._shard_check_admin();
	v_dims := @extschema@._check_space(place_space.space);
	IF NOT EXISTS (SELECT 1 FROM @extschema@.shard s WHERE s.name = place_space.shard) THEN
		RAISE EXCEPTION 'shard "%" does not exist', place_space.shard
			USING ERRCODE = 'undefined_object',
				  HINT = 'Register it with SELECT engram.add_shard(name, conninfo).';
	END IF;
	-- the placement row is locked for the rest of the transaction
	SELECT p.shard INTO v_current FROM @extschema@.placement p WHERE p.space = place_space.space FOR UPDATE;
	IF v_current = place_space.shard THEN
		RETURN;
	ELSIF v_current IS NOT NULL THEN
		RAISE EXCEPTION 'memory space "%" is already placed on shard "%"', place_space.space, v_current
			USING ERRCODE = 'object_in_use',
				  HINT = 'Move it with SELECT engram.move_space(space, to_shard).';
	END IF;
	IF EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.space = place_space.space) THEN
		RAISE EXCEPTION 'memory space "%" holds memories on this node', place_space.space
			USING ERRCODE = 'object_in_use',
				  HINT = 'Place a space before it stores memories (engram.move_space moves placed spaces only).';
	END IF;
	PERFORM @extschema@._shard_rpc(place_space.shard, 'adopt',
								   pg_catalog.jsonb_build_object('space', place_space.space, 'dims', v_dims));
	INSERT INTO @extschema@.placement (space, shard) VALUES (place_space.space, place_space.shard);
END
$$;
COMMENT ON FUNCTION @extschema@.place_space(pg_catalog.text, pg_catalog.text) IS
'place a memory space (existing here, without memories here) on a shard: the shard creates it and grants it to its service role; from then on the memory API called here for the space runs there';

-- coordinator: routing --------------------------------------------------------

CREATE FUNCTION @extschema@._shard_call(shard pg_catalog.text, op pg_catalog.text, args pg_catalog.jsonb)
	RETURNS pg_catalog.jsonb[]
	AS 'MODULE_PATHNAME', 'engram_write_shard_call'
	LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._shard_call(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'internal: one round trip to a shard: engram._shard_serve(op, args || {allowed: the caller''s spaces on this coordinator}) there, through dblink over the server engram_shard_<shard> as the table owner (whose user mapping holds the credentials); the rows as jsonb';

CREATE FUNCTION @extschema@._shard_rpc(shard pg_catalog.text, op pg_catalog.text, args pg_catalog.jsonb)
	RETURNS SETOF pg_catalog.jsonb
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	RETURN QUERY SELECT pg_catalog.unnest(@extschema@._shard_call(_shard_rpc.shard, _shard_rpc.op, _shard_rpc.args));
EXCEPTION WHEN connection_exception OR sqlclient_unable_to_establish_sqlconnection THEN
	RAISE EXCEPTION 'shard "%" is unavailable', _shard_rpc.shard
		USING ERRCODE = 'connection_failure',
			  DETAIL = SQLERRM,
			  HINT = 'Only the spaces placed on this shard are affected; see engram.placements and docs/operations.md, "Replace a failed shard".';
END
$$;
COMMENT ON FUNCTION @extschema@._shard_rpc(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'internal: engram._shard_call as rows; a connection failure becomes an error naming the shard (SQLSTATE 08006)';

CREATE FUNCTION @extschema@._shard_of(space pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT p.shard FROM @extschema@.placement p WHERE p.space = $1
	$$;
COMMENT ON FUNCTION @extschema@._shard_of(pg_catalog.text) IS
'internal: the shard holding a space the caller may see (NULL: local, or not granted -- then the local path refuses it)';

/*
 * Routed calls and engram.move_space meet on advisory locks (no privilege
 * on engram.placement needed, so tenants can take them): a call for a
 * placed space holds (1701734258, hashtext(space)) shared, a call by
 * memory id (forget(id), associate) (1701734259, 0) shared, to the end
 * of its transaction; a move's cutover holds both exclusive.  So a cutover
 * waits for the routed calls in flight (whose work on the shard is
 * committed when their round trip returns) and new ones wait for the
 * cutover, then read the new placement (a new snapshot: READ COMMITTED).
 */
CREATE FUNCTION @extschema@._shard_route(space pg_catalog.text)
	RETURNS pg_catalog.text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	PERFORM pg_catalog.pg_advisory_xact_lock_shared(1701734258, pg_catalog.hashtext(_shard_route.space));
	RETURN (SELECT p.shard FROM @extschema@.placement p WHERE p.space = _shard_route.space);
END
$$;
COMMENT ON FUNCTION @extschema@._shard_route(pg_catalog.text) IS
'internal: engram._shard_of(space) once no move of the space is in its cutover (holds a shared advisory lock on the space to the end of the transaction: engram.move_space waits for the call)';

CREATE FUNCTION @extschema@._shard_route_by_id()
	RETURNS void
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT pg_catalog.pg_advisory_xact_lock_shared(1701734259, 0)
	$$;
COMMENT ON FUNCTION @extschema@._shard_route_by_id() IS
'internal: wait for any move''s cutover before a call by memory id is routed (holds a shared advisory lock to the end of the transaction)';

CREATE FUNCTION @extschema@._shard_remember(content pg_catalog.text, embedding @extschema@.vector,
											confidence pg_catalog.float4, space pg_catalog.text,
											metadata pg_catalog.jsonb, occurred_at pg_catalog.timestamptz,
											kind pg_catalog.text, location pg_catalog.text,
											participants pg_catalog.text[])
	RETURNS pg_catalog.int8
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT (j OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8
	FROM @extschema@._shard_rpc(@extschema@._shard_route($4), 'remember',
		pg_catalog.jsonb_build_object('content', $1, 'embedding', $2, 'confidence', $3, 'space', $4,
									  'metadata', $5, 'occurred_at', $6, 'kind', $7, 'location', $8,
									  'participants', $9)) j
	$$;
COMMENT ON FUNCTION @extschema@._shard_remember(pg_catalog.text, @extschema@.vector, pg_catalog.float4, pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz, pg_catalog.text, pg_catalog.text, pg_catalog.text[]) IS
'internal: engram.remember of a placed space, on its shard';

CREATE FUNCTION @extschema@._shard_recall(
	cue @extschema@.vector, k pg_catalog.int4, space pg_catalog.text, cue_text pg_catalog.text,
	since pg_catalog.timestamptz, until pg_catalog.timestamptz, spread pg_catalog.bool,
	min_confidence pg_catalog.float4, record_access pg_catalog.bool, metadata_filter pg_catalog.jsonb,
	kind pg_catalog.text, participants pg_catalog.text[], occurred_after pg_catalog.timestamptz,
	occurred_before pg_catalog.timestamptz, as_of pg_catalog.timestamptz,
	include_invalid pg_catalog.bool, namespace_prefix pg_catalog.text[])
	RETURNS TABLE (id pg_catalog.int8, content pg_catalog.text, score pg_catalog.float4,
				   similarity pg_catalog.float4, activation pg_catalog.float4,
				   confidence pg_catalog.float4, tier pg_catalog.text,
				   created_at pg_catalog.timestamptz, metadata pg_catalog.jsonb)
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT r.*
	FROM @extschema@._shard_rpc(@extschema@._shard_route($3), 'recall',
		pg_catalog.jsonb_build_object('cue', $1, 'k', $2, 'space', $3, 'cue_text', $4, 'since', $5,
									  'until', $6, 'spread', $7, 'min_confidence', $8,
									  'record_access', $9, 'metadata_filter', $10, 'kind', $11,
									  'participants', $12, 'occurred_after', $13,
									  'occurred_before', $14, 'as_of', $15, 'include_invalid', $16,
									  'namespace_prefix', $17)) WITH ORDINALITY AS j(j, n),
		 pg_catalog.jsonb_to_record(j.j) AS r(id pg_catalog.int8, content pg_catalog.text,
											  score pg_catalog.float4, similarity pg_catalog.float4,
											  activation pg_catalog.float4, confidence pg_catalog.float4,
											  tier pg_catalog.text, created_at pg_catalog.timestamptz,
											  metadata pg_catalog.jsonb)
	ORDER BY j.n
	$$;
COMMENT ON FUNCTION @extschema@._shard_recall(@extschema@.vector, pg_catalog.int4, pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.bool, pg_catalog.float4, pg_catalog.bool, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text[], pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.bool, pg_catalog.text[]) IS
'internal: engram.recall of a placed space, on its shard (rows in its order)';

CREATE FUNCTION @extschema@._shard_forget_space(space pg_catalog.text, before pg_catalog.timestamptz,
												below_confidence pg_catalog.float4)
	RETURNS pg_catalog.int8
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT (j OPERATOR(pg_catalog.->>) 'count')::pg_catalog.int8
	FROM @extschema@._shard_rpc(@extschema@._shard_route($1), 'forget_space',
		pg_catalog.jsonb_build_object('space', $1, 'before', $2, 'below_confidence', $3)) j
	$$;
COMMENT ON FUNCTION @extschema@._shard_forget_space(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.float4) IS
'internal: engram.forget(space, ...) of a placed space, on its shard';

CREATE FUNCTION @extschema@._shard_consolidate(space pg_catalog.text)
	RETURNS TABLE (action pg_catalog.text, count pg_catalog.int8)
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT j OPERATOR(pg_catalog.->>) 'action', (j OPERATOR(pg_catalog.->>) 'count')::pg_catalog.int8
	FROM @extschema@._shard_rpc(@extschema@._shard_route($1), 'consolidate',
								pg_catalog.jsonb_build_object('space', $1)) j
	$$;
COMMENT ON FUNCTION @extschema@._shard_consolidate(pg_catalog.text) IS
'internal: engram.consolidate(space) of a placed space, on its shard';

-- shards where the caller has placed spaces, the id's own node first
CREATE FUNCTION @extschema@._shard_candidates(id pg_catalog.int8)
	RETURNS SETOF pg_catalog.text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT s.name
	FROM @extschema@.shard s
	WHERE EXISTS (SELECT 1 FROM @extschema@.placement p WHERE p.shard = s.name)
	ORDER BY s.node OPERATOR(pg_catalog.<>) ($1 OPERATOR(pg_catalog.>>) 48)::pg_catalog.int4, s.node
	$$;
COMMENT ON FUNCTION @extschema@._shard_candidates(pg_catalog.int8) IS
'internal: the shards holding spaces the caller may see, the one whose node number the id carries first';

/*
 * forget(id) of a memory not found here: ask the shards holding the
 * caller's spaces, the id's own node first (after a move it may be
 * elsewhere), until one forgets it.  false when none does.
 */
CREATE FUNCTION @extschema@._shard_forget(id pg_catalog.int8)
	RETURNS pg_catalog.bool
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	v_shard		pg_catalog.text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM @extschema@.placement) THEN
		RETURN false;
	END IF;
	PERFORM @extschema@._shard_route_by_id();
	FOR v_shard IN SELECT c FROM @extschema@._shard_candidates(_shard_forget.id) c LOOP
		IF (SELECT (j OPERATOR(pg_catalog.->>) 'forgotten')::pg_catalog.bool
			FROM @extschema@._shard_rpc(v_shard, 'forget',
										pg_catalog.jsonb_build_object('ids', ARRAY[_shard_forget.id])) j) THEN
			RETURN true;
		END IF;
	END LOOP;
	RETURN false;
END
$$;
COMMENT ON FUNCTION @extschema@._shard_forget(pg_catalog.int8) IS
'internal: engram.forget(id) of a memory on a shard (one in a space the caller holds); false when no shard has it';

/*
 * associate(a, b) when shards hold spaces the caller may see: false when
 * neither id is on a shard (the local path goes on), true once done on
 * the one shard holding both, an error when they are on different nodes
 * (associations live within a node) or one exists nowhere.
 */
CREATE FUNCTION @extschema@._shard_associate(a pg_catalog.int8, b pg_catalog.int8, weight pg_catalog.float4)
	RETURNS pg_catalog.bool
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_shard		pg_catalog.text;
	v_where_a	pg_catalog.text;
	v_where_b	pg_catalog.text;
	v_found		pg_catalog.int8[];
BEGIN
	IF _shard_associate.a IS NULL OR _shard_associate.b IS NULL
	   OR _shard_associate.a = _shard_associate.b
	   OR NOT EXISTS (SELECT 1 FROM @extschema@.placement) THEN
		RETURN false;
	END IF;
	PERFORM @extschema@._shard_route_by_id();
	IF EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.id = _shard_associate.a) THEN
		v_where_a := 'this coordinator';
	END IF;
	IF EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.id = _shard_associate.b) THEN
		v_where_b := 'this coordinator';
	END IF;
	IF v_where_a IS NOT NULL AND v_where_b IS NOT NULL THEN
		RETURN false;
	END IF;
	FOR v_shard IN SELECT c FROM @extschema@._shard_candidates(coalesce(CASE WHEN v_where_a IS NULL THEN _shard_associate.a END,
																	   _shard_associate.b)) c LOOP
		EXIT WHEN v_where_a IS NOT NULL AND v_where_b IS NOT NULL;
		SELECT @extschema@._shard_text_array(j OPERATOR(pg_catalog.->) 'ids')::pg_catalog.int8[] INTO v_found
			FROM @extschema@._shard_rpc(v_shard, 'locate',
				pg_catalog.jsonb_build_object('ids', ARRAY[_shard_associate.a, _shard_associate.b])) j;
		IF v_where_a IS NULL AND _shard_associate.a = ANY (v_found) THEN
			v_where_a := pg_catalog.format('shard "%s"', v_shard);
		END IF;
		IF v_where_b IS NULL AND _shard_associate.b = ANY (v_found) THEN
			v_where_b := pg_catalog.format('shard "%s"', v_shard);
		END IF;
	END LOOP;
	IF v_where_a IS NULL OR v_where_b IS NULL THEN
		RAISE EXCEPTION 'memory % does not exist',
						CASE WHEN v_where_a IS NULL THEN _shard_associate.a ELSE _shard_associate.b END
			USING ERRCODE = 'no_data_found',
				  HINT = 'Associate memories returned by engram.remember that have not been forgotten.';
	END IF;
	IF v_where_a <> v_where_b THEN
		RAISE EXCEPTION 'cannot associate memories on different nodes'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = pg_catalog.format('Memory %s is on %s, memory %s on %s.',
											 _shard_associate.a, v_where_a, _shard_associate.b, v_where_b),
				  HINT = 'Associations link memories of spaces on the same node: place the spaces on one shard.';
	END IF;
	PERFORM @extschema@._shard_rpc(pg_catalog.substr(v_where_a, 8, pg_catalog.length(v_where_a) - 8), 'associate',
		pg_catalog.jsonb_build_object('ids', ARRAY[_shard_associate.a, _shard_associate.b],
									  'weight', _shard_associate.weight));
	RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@._shard_associate(pg_catalog.int8, pg_catalog.int8, pg_catalog.float4) IS
'internal: engram.associate of memories on a shard: done there (true), false when both are local, an error when they are on different nodes';

-- spread (routed by seed id) -------------------------------------------------------

CREATE FUNCTION @extschema@._spread_local(seeds pg_catalog.int8[], max_hops pg_catalog.int4,
										  decay pg_catalog.float4, threshold pg_catalog.float4)
	RETURNS TABLE (id pg_catalog.int8, activation pg_catalog.float4, hops pg_catalog.int4)
	AS 'MODULE_PATHNAME', 'engram_spread'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@._spread_local(pg_catalog.int8[], pg_catalog.int4, pg_catalog.float4, pg_catalog.float4) IS
'internal: engram.spread on this node (src/memory_spread.c)';

/*
 * Associations live within a node, so a walk runs where its seeds are:
 * here when a seed is a memory of this node (or nothing is placed), else
 * on the first shard holding the caller's spaces, the first seed's own
 * node first, that holds a seed (one round trip when the seed has not
 * moved).  There the walk starts from the seeds in spaces the caller holds
 * on the coordinator and returns only memories of those spaces.
 */
CREATE OR REPLACE FUNCTION @extschema@.spread(seeds pg_catalog.int8[], max_hops pg_catalog.int4 DEFAULT 3,
											  decay pg_catalog.float4 DEFAULT 0.5,
											  threshold pg_catalog.float4 DEFAULT 0.01)
	RETURNS TABLE (id pg_catalog.int8, activation pg_catalog.float4, hops pg_catalog.int4)
	LANGUAGE plpgsql STABLE STRICT
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_shard		pg_catalog.text;
	v_rows		pg_catalog.jsonb[];
BEGIN
	IF pg_catalog.cardinality(spread.seeds) > 0
	   AND EXISTS (SELECT 1 FROM @extschema@.placement)
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.memory m WHERE m.id = ANY (spread.seeds)) THEN
		PERFORM @extschema@._shard_route_by_id();
		FOR v_shard IN SELECT c FROM @extschema@._shard_candidates(spread.seeds[1]) c LOOP
			v_rows := ARRAY(SELECT j FROM @extschema@._shard_rpc(v_shard, 'spread',
				pg_catalog.jsonb_build_object('ids', spread.seeds, 'max_hops', spread.max_hops,
											  'decay', spread.decay, 'threshold', spread.threshold)) j);
			IF NOT coalesce((v_rows[1] OPERATOR(pg_catalog.->>) 'absent')::pg_catalog.bool, false) THEN
				RETURN QUERY SELECT r.id, r.activation, r.hops
					FROM pg_catalog.unnest(v_rows) WITH ORDINALITY AS u(j, n),
						 pg_catalog.jsonb_to_record(u.j) AS r(id pg_catalog.int8, activation pg_catalog.float4,
															  hops pg_catalog.int4)
					ORDER BY u.n;
				RETURN;
			END IF;
		END LOOP;
	END IF;
	RETURN QUERY SELECT s.id, s.activation, s.hops
		FROM @extschema@._spread_local(spread.seeds, spread.max_hops, spread.decay, spread.threshold) s;
END
$$;
COMMENT ON FUNCTION @extschema@.spread(pg_catalog.int8[], pg_catalog.int4, pg_catalog.float4, pg_catalog.float4) IS
'spreading activation: seeds get 1.0; each hop passes activation * weight * decay along associations in both directions; each node keeps its maximum (and the hop it was reached at); offers below threshold are dropped; ordered by activation desc, hops, id; on a coordinator, for seeds on a shard, runs there (one round trip) within the caller''s spaces';

-- recall across spaces (local, placed, or both) ---------------------------------

/*
 * The k best memories of several spaces, as if they were one space:
 *	vector: the ncand nearest of all the spaces; relevance = cosine
 *		similarity;
 *	text:	the ncand best by ts_rank of all the spaces; relevance = rank /
 *		the best rank among them;
 *	hybrid: both lists fused by reciprocal rank fusion, sum 1/(60 + rank)
 *		over the lists, divided by 2/61;
 * ncand = max(engram.recall_candidates, 10 k).  Each node holding some of
 * the spaces returns its own top ncand of each list with raw distances
 * and ranks (engram._recall_candidates: local call, or one round trip
 * per shard); the global lists, their ranks, the normalisation and the
 * score are computed here, so the result is the same whether the spaces
 * are on one node or many (test/t/100_shard_basic.pl).  score = recall's
 * engram.recall_score(relevance, activation_norm(...) at this node's now(),
 * confidence); ties by id.  Accesses of the returned rows are recorded on
 * the nodes holding them.
 */
CREATE FUNCTION @extschema@.recall_spaces(
	cue @extschema@.vector,
	spaces pg_catalog.text[],
	k pg_catalog.int4 DEFAULT 10,
	cue_text pg_catalog.text DEFAULT NULL,
	min_confidence pg_catalog.float4 DEFAULT 0,
	record_access pg_catalog.bool DEFAULT true)
	RETURNS TABLE (id pg_catalog.int8, space pg_catalog.text, content pg_catalog.text,
				   score pg_catalog.float4, similarity pg_catalog.float4,
				   activation pg_catalog.float4, confidence pg_catalog.float4,
				   tier pg_catalog.text, created_at pg_catalog.timestamptz,
				   metadata pg_catalog.jsonb)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_space		pg_catalog.text;
	v_dims		pg_catalog.int4;
	v_query		pg_catalog.tsquery;
	v_mode		pg_catalog.text;
	v_ncand		pg_catalog.int4;
	v_local		pg_catalog.text[];
	v_args		pg_catalog.jsonb;
	v_shard		record;
	v_recorded	pg_catalog.int8;
	v_cand		pg_catalog.jsonb[];
	v_touch		pg_catalog.jsonb[] := '{}';
	r			record;
BEGIN
	IF recall_spaces.k IS NULL OR recall_spaces.k <= 0 OR recall_spaces.k > 10000 THEN
		RAISE EXCEPTION 'k must be between 1 and 10000, got %', coalesce(recall_spaces.k::pg_catalog.text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF recall_spaces.spaces IS NULL OR pg_catalog.cardinality(recall_spaces.spaces) = 0
	   OR pg_catalog.array_position(recall_spaces.spaces, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'spaces must be a non-empty array of space names'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF recall_spaces.min_confidence IS NULL OR recall_spaces.min_confidence = 'NaN'
	   OR recall_spaces.min_confidence < 0 OR recall_spaces.min_confidence > 1 THEN
		RAISE EXCEPTION 'min_confidence must be between 0 and 1, got %', recall_spaces.min_confidence
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF recall_spaces.record_access IS NULL THEN
		RAISE EXCEPTION 'record_access must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- every space: granted to the caller here (the coordinator's grants)
	FOREACH v_space IN ARRAY recall_spaces.spaces LOOP
		v_dims := @extschema@._check_space(v_space);
		IF recall_spaces.cue IS NOT NULL AND v_dims IS NOT NULL
		   AND @extschema@.vector_dims(recall_spaces.cue) <> v_dims THEN
			RAISE EXCEPTION 'cue has % dimensions but memory space "%" has %',
							@extschema@.vector_dims(recall_spaces.cue), v_space, v_dims
				USING ERRCODE = 'data_exception';
		END IF;
	END LOOP;
	IF recall_spaces.cue IS NOT NULL AND @extschema@.l2_norm(recall_spaces.cue) = 0 THEN
		RAISE EXCEPTION 'cue vector is all zeros'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF pg_catalog.octet_length(recall_spaces.cue_text) > 65536 THEN
		RAISE EXCEPTION 'cue_text is % bytes, more than the 65536 bytes recall accepts',
						pg_catalog.octet_length(recall_spaces.cue_text)
			USING ERRCODE = 'program_limit_exceeded';
	END IF;
	IF recall_spaces.cue_text IS NOT NULL AND pg_catalog.btrim(recall_spaces.cue_text) <> '' THEN
		v_query := pg_catalog.websearch_to_tsquery('pg_catalog.english'::pg_catalog.regconfig, recall_spaces.cue_text);
		IF pg_catalog.numnode(v_query) = 0 THEN
			v_query := NULL;
		ELSIF pg_catalog.numnode(v_query) > 4095 THEN
			RAISE EXCEPTION 'cue_text has % search terms and operators, more than the 4095 recall accepts',
							pg_catalog.numnode(v_query)
				USING ERRCODE = 'program_limit_exceeded';
		END IF;
	ELSIF recall_spaces.cue IS NULL THEN
		RAISE EXCEPTION 'recall needs a cue'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass an embedding as cue, or text as cue_text, or both.';
	END IF;
	v_mode := CASE WHEN recall_spaces.cue IS NOT NULL AND v_query IS NOT NULL THEN 'hybrid'
				   WHEN recall_spaces.cue IS NOT NULL THEN 'vector'
				   ELSE 'text' END;
	IF v_mode = 'text' AND v_query IS NULL THEN
		RETURN;
	END IF;
	v_ncand := greatest(@extschema@._setting('engram.recall_candidates')::pg_catalog.int4, recall_spaces.k * 10);

	-- no move of these spaces in its cutover (engram._shard_route)
	PERFORM pg_catalog.pg_advisory_xact_lock_shared(1701734258, pg_catalog.hashtext(s))
		FROM pg_catalog.unnest(recall_spaces.spaces) s
		WHERE @extschema@._shard_of(s) IS NOT NULL;
	-- the candidates of every node, as jsonb rows tagged with their shard
	-- (no temporary table: recall_spaces runs on hot standbys too)
	SELECT pg_catalog.array_agg(s) INTO v_local
		FROM pg_catalog.unnest(recall_spaces.spaces) s
		WHERE @extschema@._shard_of(s) IS NULL;
	IF v_local IS NOT NULL THEN
		SELECT pg_catalog.array_agg(pg_catalog.to_jsonb(c)) INTO v_cand
			FROM @extschema@._recall_candidates(v_local,
				CASE WHEN v_mode <> 'text' THEN recall_spaces.cue END, v_query, v_ncand,
				recall_spaces.min_confidence) c;
	END IF;
	FOR v_shard IN
		SELECT p.shard, pg_catalog.array_agg(p.space ORDER BY p.space) AS spaces
		FROM @extschema@.placement p
		WHERE p.space = ANY (recall_spaces.spaces)
		GROUP BY p.shard ORDER BY p.shard
	LOOP
		v_args := pg_catalog.jsonb_build_object('spaces', v_shard.spaces,
			'cue', CASE WHEN v_mode <> 'text' THEN recall_spaces.cue END,
			'query', v_query::pg_catalog.text, 'ncand', v_ncand,
			'min_confidence', recall_spaces.min_confidence);
		v_cand := coalesce(v_cand, '{}') || ARRAY(
			SELECT j OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('shard', v_shard.shard)
			FROM @extschema@._shard_rpc(v_shard.shard, 'candidates', v_args) j);
	END LOOP;

	FOR r IN
		WITH cand AS (
			SELECT c.*
			FROM pg_catalog.unnest(coalesce(v_cand, '{}')) j,
				 pg_catalog.jsonb_to_record(j) AS c(id pg_catalog.int8, space pg_catalog.text,
					content pg_catalog.text, dist pg_catalog.float8, rank pg_catalog.float4,
					created_at pg_catalog.timestamptz, last_access pg_catalog.timestamptz,
					access_count pg_catalog.int8, confidence pg_catalog.float4,
					tier pg_catalog.text, metadata pg_catalog.jsonb, shard pg_catalog.text)
		), vec AS (
			SELECT c.id, (1 - c.dist)::pg_catalog.float4 AS sim,
				   pg_catalog.row_number() OVER (ORDER BY c.dist, c.id) AS rnk
			FROM (SELECT * FROM cand c
				  WHERE v_mode <> 'text' AND c.dist IS NOT NULL
				  ORDER BY c.dist, c.id LIMIT v_ncand) c
		), txt AS (
			SELECT c.id,
				   coalesce(c.rank / NULLIF(pg_catalog.max(c.rank) OVER (), 0), 0)::pg_catalog.float4 AS rel,
				   pg_catalog.row_number() OVER (ORDER BY c.rank DESC, c.id) AS rnk
			FROM (SELECT * FROM cand c
				  WHERE v_mode <> 'vector' AND c.rank IS NOT NULL
				  ORDER BY c.rank DESC, c.id LIMIT v_ncand) c
		), fused AS (
			SELECT coalesce(v.id, t.id) AS id,
				   (CASE v_mode
						WHEN 'vector' THEN v.sim
						WHEN 'text' THEN t.rel
						ELSE ((coalesce(1.0 / (60 + v.rnk), 0)
							   + coalesce(1.0 / (60 + t.rnk), 0)) / (2.0 / 61))
					END)::pg_catalog.float4 AS rel
			FROM vec v FULL JOIN txt t ON t.id = v.id
		), scored AS (
			SELECT c.id, c.space, c.content, f.rel,
				   @extschema@.activation_norm(c.created_at, c.last_access, c.access_count,
											   pg_catalog.now())::pg_catalog.float4 AS act,
				   c.confidence AS conf, c.tier, c.created_at AS created, c.metadata AS meta, c.shard
			FROM fused f JOIN cand c ON c.id = f.id
		)
		SELECT s.*, @extschema@.recall_score(s.rel, s.act, s.conf) AS sc
		FROM scored s
		ORDER BY sc DESC, s.id
		LIMIT recall_spaces.k
	LOOP
		v_touch := v_touch || pg_catalog.jsonb_build_object('shard', r.shard, 'id', r.id);
		id := r.id;
		space := r.space;
		content := r.content;
		score := r.sc;
		similarity := r.rel;
		activation := r.act;
		confidence := r.conf;
		tier := r.tier;
		created_at := r.created;
		metadata := r.meta;
		RETURN NEXT;
	END LOOP;

	-- accesses, on the nodes holding the rows (one round trip per shard)
	IF recall_spaces.record_access AND @extschema@.writes_allowed() THEN
		FOR v_shard IN
			SELECT t OPERATOR(pg_catalog.->>) 'shard' AS shard,
				   pg_catalog.array_agg((t OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8) AS ids
			FROM pg_catalog.unnest(v_touch) t GROUP BY 1
		LOOP
			IF v_shard.shard IS NULL THEN
				v_recorded := @extschema@._recall_touch(v_shard.ids, NULL);
			ELSE
				PERFORM @extschema@._shard_rpc(v_shard.shard, 'touch',
											   pg_catalog.jsonb_build_object('ids', v_shard.ids));
			END IF;
		END LOOP;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.recall_spaces(@extschema@.vector, pg_catalog.text[], pg_catalog.int4, pg_catalog.text, pg_catalog.float4, pg_catalog.bool) IS
'k best memories of several spaces as if they were one (local and placed spaces alike): candidates are the max(engram.recall_candidates, 10k) nearest (vector cue) and/or best by ts_rank (text cue) over all the spaces, relevance is cosine similarity, rank / best rank, or reciprocal rank fusion (both), score as engram.recall; each node ships its own top candidates with raw distances and ranks and the merge is done here, so the ranking equals that of one node holding all the spaces; only memories valid now and not expired; accesses recorded on the nodes holding the rows unless record_access is false';

-- coordinator: moving a space between shards online -----------------------------

/*
 * engram.move_space(space, to_shard): move a placed space to another shard
 * while it is being written (docs/architecture/0011-sharding.md):
 *	1. the target adopts the space; the source's memories are copied in
 *	   batches of 500 (ids, every stored column, access history), writes
 *	   going on;
 *	2. cutover: the exclusive advisory locks of engram._shard_route wait
 *	   for the routed calls in flight and hold new ones back; the source's
 *	   (id, md5 of the row) list is compared with the target's and what
 *	   changed since the copy (new, updated, accessed, forgotten memories)
 *	   is recopied or dropped, the space's associations are copied, the
 *	   placement switched and the source's copy deleted; the transaction's
 *	   end releases the routed calls, which then go to the target.
 * A failure before the switch (a shard down, ...) leaves the placement and
 * the source as they were and deletes what reached the target.  Returns
 * the number of memories moved.
 */
CREATE FUNCTION @extschema@.move_space(space pg_catalog.text, to_shard pg_catalog.text)
	RETURNS pg_catalog.int8
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	c_batch		CONSTANT pg_catalog.int4 := 500;
	v_dims		pg_catalog.int4;
	v_from		pg_catalog.text;
	v_after		pg_catalog.int8 := NULL;
	v_rows		pg_catalog.jsonb[];
	v_changed	pg_catalog.int8[];
	v_gone		pg_catalog.int8[];
	v_n			pg_catalog.int8;
	v_i			pg_catalog.int4;
	v_adopted	pg_catalog.bool := false;
	v_state		pg_catalog.text;
	v_msg		pg_catalog.text;
	v_detail	pg_catalog.text;
	v_hint		pg_catalog.text;
BEGIN
	PERFORM @extschema@._shard_check_admin();
	v_dims := @extschema@._check_space(move_space.space);
	IF NOT EXISTS (SELECT 1 FROM @extschema@.shard s WHERE s.name = move_space.to_shard) THEN
		RAISE EXCEPTION 'shard "%" does not exist', move_space.to_shard
			USING ERRCODE = 'undefined_object',
				  HINT = 'Register it with SELECT engram.add_shard(name, conninfo).';
	END IF;
	-- one move of a space at a time; place_space waits too
	SELECT p.shard INTO v_from FROM @extschema@.placement p WHERE p.space = move_space.space FOR UPDATE;
	IF v_from IS NULL THEN
		RAISE EXCEPTION 'memory space "%" is not placed on a shard', move_space.space
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'engram.move_space moves a placed space between shards; place an empty local space with engram.place_space.';
	END IF;
	IF v_from = move_space.to_shard THEN
		RETURN 0;
	END IF;
	BEGIN
		-- 1. copy, writes going on
		PERFORM @extschema@._shard_rpc(move_space.to_shard, 'adopt',
									   pg_catalog.jsonb_build_object('space', move_space.space, 'dims', v_dims));
		v_adopted := true;
		-- a leftover of an earlier failed move
		PERFORM @extschema@._shard_rpc(move_space.to_shard, 'move_apply',
			pg_catalog.jsonb_build_object('space', move_space.space, 'payload', '{"purge": true}'::pg_catalog.jsonb));
		LOOP
			v_rows := ARRAY(SELECT j FROM @extschema@._shard_rpc(v_from, 'move_export',
				pg_catalog.jsonb_build_object('space', move_space.space, 'after', v_after, 'limit', c_batch)) j);
			EXIT WHEN pg_catalog.cardinality(v_rows) = 0;
			PERFORM @extschema@._shard_rpc(move_space.to_shard, 'move_apply',
				pg_catalog.jsonb_build_object('space', move_space.space,
											  'payload', pg_catalog.jsonb_build_object('rows', pg_catalog.to_jsonb(v_rows))));
			v_after := (v_rows[pg_catalog.cardinality(v_rows)] OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8;
		END LOOP;

		-- 2. cutover: no routed call of the space (or by id) from here on
		PERFORM pg_catalog.pg_advisory_xact_lock(1701734258, pg_catalog.hashtext(move_space.space));
		PERFORM pg_catalog.pg_advisory_xact_lock(1701734259, 0);
		WITH src AS (
			SELECT (j OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8 AS id, j OPERATOR(pg_catalog.->>) 'digest' AS digest
			FROM @extschema@._shard_rpc(v_from, 'move_digest', pg_catalog.jsonb_build_object('space', move_space.space)) j
		), dst AS (
			SELECT (j OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8 AS id, j OPERATOR(pg_catalog.->>) 'digest' AS digest
			FROM @extschema@._shard_rpc(move_space.to_shard, 'move_digest', pg_catalog.jsonb_build_object('space', move_space.space)) j
		)
		SELECT pg_catalog.array_agg(s.id ORDER BY s.id) FILTER (WHERE s.id IS NOT NULL),
			   pg_catalog.array_agg(d.id ORDER BY d.id) FILTER (WHERE s.id IS NULL)
			INTO v_changed, v_gone
			FROM src s FULL JOIN dst d ON d.id = s.id
			WHERE s.digest IS DISTINCT FROM d.digest;
		IF v_gone IS NOT NULL THEN
			PERFORM @extschema@._shard_rpc(move_space.to_shard, 'move_apply',
				pg_catalog.jsonb_build_object('space', move_space.space,
											  'payload', pg_catalog.jsonb_build_object('drop', v_gone)));
		END IF;
		FOR v_i IN 0 .. coalesce(pg_catalog.cardinality(v_changed) - 1, -1) / c_batch LOOP
			PERFORM @extschema@._shard_rpc(move_space.to_shard, 'move_apply',
				pg_catalog.jsonb_build_object('space', move_space.space,
					'payload', pg_catalog.jsonb_build_object('rows', pg_catalog.to_jsonb(ARRAY(
						SELECT j FROM @extschema@._shard_rpc(v_from, 'move_export',
							pg_catalog.jsonb_build_object('space', move_space.space,
								'ids', v_changed[v_i * c_batch + 1 : (v_i + 1) * c_batch])) j)))));
		END LOOP;
		SELECT (j OPERATOR(pg_catalog.->>) 'count')::pg_catalog.int8 INTO v_n
			FROM @extschema@._shard_rpc(move_space.to_shard, 'move_apply',
				pg_catalog.jsonb_build_object('space', move_space.space,
					'payload', pg_catalog.jsonb_build_object('associations', pg_catalog.to_jsonb(ARRAY(
						SELECT j FROM @extschema@._shard_rpc(v_from, 'move_associations',
							pg_catalog.jsonb_build_object('space', move_space.space)) j))))) j;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
								v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
		-- the placement is unchanged: remove what reached the target
		IF v_adopted THEN
			BEGIN
				PERFORM @extschema@._shard_rpc(move_space.to_shard, 'move_apply',
					pg_catalog.jsonb_build_object('space', move_space.space, 'payload', '{"purge": true}'::pg_catalog.jsonb));
			EXCEPTION WHEN OTHERS THEN
				v_hint := pg_catalog.concat_ws(' ', v_hint, pg_catalog.format(
					'Shard "%s" may hold a partial copy of the space: the next engram.move_space to it deletes it first.',
					move_space.to_shard));
			END;
		END IF;
		RAISE EXCEPTION 'moving memory space "%" from shard "%" to shard "%" failed: %',
						move_space.space, v_from, move_space.to_shard, v_msg
			USING ERRCODE = v_state,
				  DETAIL = coalesce(v_detail, ''),
				  HINT = coalesce(v_hint, '') || CASE WHEN coalesce(v_hint, '') = '' THEN '' ELSE ' ' END
						 || pg_catalog.format('The space stays on shard "%s", unchanged.', v_from);
	END;

	-- switch, then delete the source's copy (committed there before this
	-- transaction commits; if it fails the space is on the target and
	-- the source keeps a copy no call is routed to)
	UPDATE @extschema@.placement p SET shard = move_space.to_shard, placed_at = pg_catalog.now()
		WHERE p.space = move_space.space;
	BEGIN
		PERFORM @extschema@._shard_rpc(v_from, 'move_apply',
			pg_catalog.jsonb_build_object('space', move_space.space, 'payload', '{"purge": true}'::pg_catalog.jsonb));
	EXCEPTION WHEN OTHERS THEN
		RAISE WARNING 'memory space "%" moved to shard "%", but its copy on shard "%" could not be deleted: %',
					  move_space.space, move_space.to_shard, v_from, SQLERRM
			USING HINT = pg_catalog.format('On shard "%s", as the extension''s owner: DELETE FROM engram.memory WHERE space = %L;',
										   v_from, move_space.space);
	END;
	RETURN v_n;
END
$$;
COMMENT ON FUNCTION @extschema@.move_space(pg_catalog.text, pg_catalog.text) IS
'move a placed memory space to another shard while it is written: copy its memories (ids, every column, access history) to the target, then a short cutover that holds routed calls of the space and by id back, copies what changed since, the associations, switches the placement and deletes the source''s copy; a failure leaves the placement and the source unchanged; for the extension''s owner and superusers; returns the number of memories moved';
