-- ---------------------------------------------------------------------
-- 52_memory_recall: recall and consolidate, on their C helpers
-- (src/memory_recall.c)
--
-- engram._recall_ranked runs recall's candidate statement once, scores in
-- C, stops reading once no further candidate can enter the k best, and
-- records the accesses of the rows it returns in the same pass.
-- engram._near_duplicates finds consolidate's groups through the ANN index
-- on embedding.  engram.recall (with metadata filters) and
-- engram.consolidate are defined here, after everything of 50_memory.sql
-- they use.  recall's validity and expiry conditions use the columns of
-- 55_memory_features.sql, which loads later: only PL/pgSQL and C refer to
-- them here (checked when run, not when created).
-- ---------------------------------------------------------------------

-- recall's metadata_filter (metadata @> filter): a selective filter reads
-- the matching rows through this index and sorts them by distance, exact
-- and cheaper than an ANN scan widening until k rows pass the filter.
CREATE INDEX memory_metadata_idx ON @extschema@.memory USING gin (metadata jsonb_path_ops);

-- recall's text index (src/memory_text.c): for each lexeme of a memory the
-- key 'NN:<length of space>:<space><lexeme>', NN the count of the
-- lexeme's positions (16: 16 or more; '**' when a position has a weight
-- other than D).  A one-word text cue's rank is a function of that count,
-- so recall reads the buckets of the cue's lexeme in the space from the
-- highest count down and stops early instead of ranking every memory that
-- contains the word.  Core GIN: core WAL records.
CREATE FUNCTION @extschema@._text_keys(space pg_catalog.text, tsv pg_catalog.tsvector)
	RETURNS pg_catalog.text[]
	AS 'MODULE_PATHNAME', 'engram_text_keys'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._text_keys(pg_catalog.text, pg_catalog.tsvector) IS
'internal: the keys of recall''s text index memory_text_keys_idx: for each lexeme ''NN:<length of space>:<space><lexeme>'' with NN the count of its positions (01..15, 16 for 16 or more), or ''**'' for NN when a position has a weight other than D or there are none';
CREATE INDEX memory_text_keys_idx ON @extschema@.memory USING gin (@extschema@._text_keys(space, content_tsv));

CREATE FUNCTION @extschema@._recall_ranked(
	cue @extschema@.vector, query pg_catalog.tsquery, k pg_catalog.int4,
	space pg_catalog.text, since pg_catalog.timestamptz, until pg_catalog.timestamptz,
	min_confidence pg_catalog.float4, record_access pg_catalog.bool, ncand pg_catalog.int4,
	metadata_filter pg_catalog.jsonb, kind pg_catalog.text, participants pg_catalog.text[],
	occurred_after pg_catalog.timestamptz, occurred_before pg_catalog.timestamptz,
	as_of pg_catalog.timestamptz, include_invalid pg_catalog.bool, namespace_prefix pg_catalog.text[])
	RETURNS TABLE (id pg_catalog.int8, content pg_catalog.text, score pg_catalog.float4,
				   similarity pg_catalog.float4, activation pg_catalog.float4,
				   confidence pg_catalog.float4, tier pg_catalog.text,
				   created_at pg_catalog.timestamptz, metadata pg_catalog.jsonb)
	AS 'MODULE_PATHNAME', 'engram_recall_ranked'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._recall_ranked(@extschema@.vector, pg_catalog.tsquery, pg_catalog.int4, pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.float4, pg_catalog.bool, pg_catalog.int4, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text[], pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.bool, pg_catalog.text[]) IS
'internal: engram.recall without spread (arguments checked there): the k best of the ncand candidates by score, read as the calling user, accesses recorded when record_access';

CREATE FUNCTION @extschema@._near_duplicates(space pg_catalog.text, threshold pg_catalog.float8)
	RETURNS TABLE (seed pg_catalog.int8, members pg_catalog.int8[], sims pg_catalog.float4[])
	AS 'MODULE_PATHNAME', 'engram_near_duplicates'
	LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@._near_duplicates(pg_catalog.text, pg_catalog.float8) IS
'internal: consolidate''s groups of a space: in id order, each unconsolidated episodic memory valid now (valid_to IS NULL) and not expired not yet grouped and its not-yet-grouped such neighbours with cosine similarity >= threshold (found by a walk of the graph of a cosine engram_hnsw index on embedding, read once, when there is one of at most half maintenance_work_mem, else by ORDER BY embedding <=> seed per seed); groups of two or more, members in id order';

-- recall ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.recall(
	cue @extschema@.vector,
	k pg_catalog.int4 DEFAULT 10,
	space pg_catalog.text DEFAULT 'default',
	cue_text pg_catalog.text DEFAULT NULL,
	since pg_catalog.timestamptz DEFAULT NULL,
	until pg_catalog.timestamptz DEFAULT NULL,
	spread pg_catalog.bool DEFAULT false,
	min_confidence pg_catalog.float4 DEFAULT 0,
	record_access pg_catalog.bool DEFAULT true,
	metadata_filter pg_catalog.jsonb DEFAULT NULL,
	kind pg_catalog.text DEFAULT NULL,
	participants pg_catalog.text[] DEFAULT NULL,
	occurred_after pg_catalog.timestamptz DEFAULT NULL,
	occurred_before pg_catalog.timestamptz DEFAULT NULL,
	as_of pg_catalog.timestamptz DEFAULT NULL,
	include_invalid pg_catalog.bool DEFAULT false,
	namespace_prefix pg_catalog.text[] DEFAULT NULL)
	RETURNS TABLE (id pg_catalog.int8, content pg_catalog.text, score pg_catalog.float4,
				   similarity pg_catalog.float4, activation pg_catalog.float4,
				   confidence pg_catalog.float4, tier pg_catalog.text,
				   created_at pg_catalog.timestamptz, metadata pg_catalog.jsonb)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_dims		pg_catalog.int4;
	v_ncand		pg_catalog.int4;
	v_query		pg_catalog.tsquery;
	v_mode		pg_catalog.text;
	v_ids		pg_catalog.int8[];
	v_rels		pg_catalog.float4[];
	v_seeds		pg_catalog.int8[];
	v_sp_ids	pg_catalog.int8[];
	v_sp_acts	pg_catalog.float4[];
	v_record	pg_catalog.bool;
	v_recorded	pg_catalog.bool;
	v_ef		pg_catalog.text;
	v_ef_set	pg_catalog.bool := false;
	v_dummy		pg_catalog.text;
	r			record;
BEGIN	IF @extschema@._shard_of(recall.space) IS NOT NULL THEN RETURN QUERY SELECT * FROM @extschema@._shard_recall(recall.cue, recall.k, recall.space, recall.cue_text, recall.since, recall.until, recall.spread, recall.min_confidence, recall.record_access, recall.metadata_filter, recall.kind, recall.participants, recall.occurred_after, recall.occurred_before, recall.as_of, recall.include_invalid, recall.namespace_prefix); RETURN; END IF;	-- placed on a shard (60_shard.sql); on the BEGIN line so that error line numbers stay
	IF recall.k IS NULL OR recall.k <= 0 OR recall.k > 10000 THEN
		RAISE EXCEPTION 'k must be between 1 and 10000, got %', coalesce(recall.k::pg_catalog.text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'k is the number of memories to return.';
	END IF;
	IF recall.min_confidence IS NULL OR recall.min_confidence = 'NaN'
	   OR recall.min_confidence < 0 OR recall.min_confidence > 1 THEN
		RAISE EXCEPTION 'min_confidence must be between 0 and 1, got %', recall.min_confidence
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF recall.metadata_filter IS NOT NULL
	   AND pg_catalog.jsonb_typeof(recall.metadata_filter) <> 'object' THEN
		RAISE EXCEPTION 'metadata_filter must be a JSON object, got %',
						pg_catalog.jsonb_typeof(recall.metadata_filter)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass an object such as ''{"user": "u1"}'': recall keeps memories whose metadata contains it (@>).';
	END IF;
	IF recall.kind IS NOT NULL AND recall.kind NOT IN ('episodic', 'semantic') THEN
		RAISE EXCEPTION 'memory kind must be ''episodic'' or ''semantic'', got %',
						pg_catalog.quote_literal(recall.kind)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL for memories of both kinds.';
	END IF;
	IF recall.participants IS NOT NULL AND pg_catalog.array_position(recall.participants, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'participants must not contain NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the names every recalled memory must list, e.g. ARRAY[''alice''].';
	END IF;
	IF recall.include_invalid IS NULL THEN
		RAISE EXCEPTION 'include_invalid must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass true to recall superseded and invalidated memories too, false (the default) for only those valid.';
	END IF;
	IF recall.namespace_prefix IS NOT NULL AND pg_catalog.array_position(recall.namespace_prefix, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'namespace_prefix must not contain NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the leading namespace elements, e.g. ARRAY[''users'', ''u1''].';
	END IF;
	IF recall.as_of IS NOT NULL AND NOT pg_catalog.isfinite(recall.as_of) THEN
		RAISE EXCEPTION 'as_of must be a finite time, got %', recall.as_of
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL for now.';
	END IF;
	v_dims := @extschema@._check_space(recall.space);
	IF recall.cue IS NOT NULL AND v_dims IS NOT NULL
	   AND @extschema@.vector_dims(recall.cue) <> v_dims THEN
		RAISE EXCEPTION 'cue has % dimensions but memory space "%" has %',
						@extschema@.vector_dims(recall.cue), recall.space, v_dims
			USING ERRCODE = 'data_exception',
				  HINT = 'Embed the cue with the model used for the space''s memories.';
	END IF;
	-- similarity is cosine: a zero cue has no direction and would score
	-- every memory NaN
	IF recall.cue IS NOT NULL AND @extschema@.l2_norm(recall.cue) = 0 THEN
		RAISE EXCEPTION 'cue vector is all zeros'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Cosine similarity is undefined for a zero vector; pass a real embedding or only cue_text.';
	END IF;
	-- a text cue is a query, not a document: matching a tsquery recurses
	-- once per term, so a long cue ran out of stack (54001).  The size
	-- bounds the parse; the count of terms and operators the matching.
	IF pg_catalog.octet_length(recall.cue_text) > 65536 THEN
		RAISE EXCEPTION 'cue_text is % bytes, more than the 65536 bytes recall accepts',
						pg_catalog.octet_length(recall.cue_text)
			USING ERRCODE = 'program_limit_exceeded',
				  HINT = 'Pass the key words of the cue, or embed a long text and pass it as cue.';
	END IF;
	IF recall.cue_text IS NOT NULL AND pg_catalog.btrim(recall.cue_text) <> '' THEN
		v_query := pg_catalog.websearch_to_tsquery('pg_catalog.english'::pg_catalog.regconfig, recall.cue_text);
		IF pg_catalog.numnode(v_query) = 0 THEN
			v_query := NULL;	-- only stop words: nothing to match
		ELSIF pg_catalog.numnode(v_query) > 4095 THEN
			RAISE EXCEPTION 'cue_text has % search terms and operators, more than the 4095 recall accepts',
							pg_catalog.numnode(v_query)
				USING ERRCODE = 'program_limit_exceeded',
					  HINT = 'Pass the key words of the cue (about 2000 words at most), or embed a long text and pass it as cue.';
		END IF;
	ELSIF recall.cue IS NULL THEN
		RAISE EXCEPTION 'recall needs a cue'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass an embedding as cue, or text as cue_text, or both.';
	END IF;
	-- a text cue without lexemes (blank, only stop words) adds nothing
	v_mode := CASE WHEN recall.cue IS NOT NULL AND v_query IS NOT NULL THEN 'hybrid'
				   WHEN recall.cue IS NOT NULL THEN 'vector'
				   ELSE 'text' END;
	v_ncand := greatest(@extschema@._setting('engram.recall_candidates')::pg_catalog.int4,
								   recall.k * 10);

	/*
	 * Without spread: candidates, scores, the k best and their accesses in
	 * one call (src/memory_recall.c), which runs one candidate statement
	 * and stops reading it once no further candidate can enter the k best.
	 * The rows, scores and order are those of the general path below
	 * (which spread => true still runs).
	 */
	IF NOT recall.spread THEN
		IF v_mode = 'text' AND v_query IS NULL THEN
			RETURN;		-- a text cue of stop words only matches nothing
		END IF;
		RETURN QUERY
			SELECT r.id, r.content, r.score, r.similarity, r.activation, r.confidence,
				   r.tier, r.created_at, r.metadata
			FROM @extschema@._recall_ranked(CASE WHEN v_mode <> 'text' THEN recall.cue END,
											v_query, recall.k, recall.space,
											recall.since, recall.until, recall.min_confidence,
											recall.record_access, v_ncand,
											recall.metadata_filter, recall.kind, recall.participants,
											recall.occurred_after, recall.occurred_before,
											recall.as_of, recall.include_invalid, recall.namespace_prefix) r;
		RETURN;
	END IF;

	/*
	 * An ANN index answers ORDER BY ... LIMIT n in one search round when
	 * engram.ef_search is at least 2n (its first round returns up to ef/2
	 * rows); below that it runs expanding rounds (several times slower, and
	 * a round can lose nodes it finds late).  So the candidate statement
	 * runs with ef_search raised to 2 * v_ncand (at most its maximum 1000),
	 * never lowered.  set_config(..., true) would stay in force for
	 * the caller's transaction, so the previous value is put back right
	 * after the candidate statement (an error in between aborts the
	 * (sub)transaction, which undoes the setting too).
	 */
	v_ef := pg_catalog.current_setting('engram.ef_search');
	IF v_ef::pg_catalog.int4 < least(2 * v_ncand, 1000) THEN
		v_dummy := pg_catalog.set_config('engram.ef_search', least(2 * v_ncand, 1000)::pg_catalog.text, true);
		v_ef_set := true;
	END IF;

	/*
	 * Candidates and their relevance ("similarity" in the result):
	 *	vector: the v_ncand nearest by cosine distance; relevance = cosine
	 *		similarity 1 - (embedding <=> cue).  The ORDER BY ... LIMIT shape
	 *		lets an ANN index on embedding serve it; else it is an exact scan.
	 *	text:	the v_ncand best by ts_rank(content_tsv, q) among rows with
	 *		content_tsv @@ websearch_to_tsquery('english', cue_text);
	 *		relevance = rank / (best rank in the list), so the best text
	 *		match has 1 and the scale is comparable to cosine similarity.
	 *	hybrid: both lists fused by reciprocal rank fusion with k = 60:
	 *		rrf = sum over lists of 1/(60 + rank), normalised by its maximum
	 *		2/61 so relevance is in [0,1].
	 * All are restricted to the space, since <= created_at < until,
	 * confidence >= min_confidence, the metadata filters
	 * (metadata @> metadata_filter, kind, participants @> participants,
	 * occurred_after <= occurred_at < occurred_before,
	 * namespace[1:cardinality(namespace_prefix)] = namespace_prefix), to
	 * memories not expired (expires_at > now(), greatest(created_at,
	 * updated_at, last access) + ttl > now()) and, unless include_invalid,
	 * valid: valid_at(valid_from, valid_to) now, or with as_of => t,
	 * created_at <= t and valid at t as recorded at t (a valid_to recorded
	 * after t, invalidated_at > t, does not count).  valid_at is spelled
	 * out on the columns, which the planner estimates from their
	 * statistics (a function call would count as passing a third of the
	 * rows and could cost the ANN index).  The C path (src/memory_recall.c,
	 * recall_filters) puts the same conditions into its candidate
	 * statement.
	 */
	IF v_mode = 'vector' THEN
		SELECT pg_catalog.array_agg(c.id ORDER BY c.id),
			   pg_catalog.array_agg((1 - c.dist)::pg_catalog.float4 ORDER BY c.id)
			INTO v_ids, v_rels
			FROM (SELECT m.id,
						 m.embedding OPERATOR(@extschema@.<=>) recall.cue AS dist
				  FROM @extschema@.memory m
				  WHERE m.space = recall.space
					AND m.embedding IS NOT NULL
					AND (recall.since IS NULL OR m.created_at >= recall.since)
					AND (recall.until IS NULL OR m.created_at < recall.until)
					AND m.confidence >= recall.min_confidence
					AND (recall.metadata_filter IS NULL OR m.metadata OPERATOR(pg_catalog.@>) recall.metadata_filter)
					AND (recall.kind IS NULL OR m.kind = recall.kind)
					AND (recall.participants IS NULL OR m.participants OPERATOR(pg_catalog.@>) recall.participants)
					AND (recall.occurred_after IS NULL OR m.occurred_at >= recall.occurred_after)
					AND (recall.occurred_before IS NULL OR m.occurred_at < recall.occurred_before)
					AND (recall.as_of IS NULL OR m.created_at <= recall.as_of)
					AND (recall.include_invalid
					     OR ((m.valid_from IS NULL OR m.valid_from <= coalesce(recall.as_of, pg_catalog.now()))
					         AND (m.valid_to IS NULL OR m.valid_to > coalesce(recall.as_of, pg_catalog.now())
					              OR (recall.as_of IS NOT NULL
					                  AND (m.invalidated_at IS NULL OR m.invalidated_at > recall.as_of)))))
					AND (m.expires_at IS NULL OR m.expires_at > pg_catalog.now())
					AND (m.ttl IS NULL
					     OR greatest(m.created_at, m.updated_at,
					                 (@extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid)).last_access)
					        + m.ttl > pg_catalog.now())
					AND (recall.namespace_prefix IS NULL
					     OR m.namespace[1:pg_catalog.cardinality(recall.namespace_prefix)] = recall.namespace_prefix)
				  ORDER BY m.embedding OPERATOR(@extschema@.<=>) recall.cue
				  LIMIT v_ncand) c;
	ELSE
		WITH vec AS (
			SELECT c.id, (1 - c.dist)::pg_catalog.float4 AS sim,
				   pg_catalog.row_number() OVER (ORDER BY c.dist, c.id) AS rnk
			FROM (SELECT m.id,
						 m.embedding OPERATOR(@extschema@.<=>) recall.cue AS dist
				  FROM @extschema@.memory m
				  WHERE v_mode <> 'text'
					AND m.space = recall.space
					AND m.embedding IS NOT NULL
					AND (recall.since IS NULL OR m.created_at >= recall.since)
					AND (recall.until IS NULL OR m.created_at < recall.until)
					AND m.confidence >= recall.min_confidence
					AND (recall.metadata_filter IS NULL OR m.metadata OPERATOR(pg_catalog.@>) recall.metadata_filter)
					AND (recall.kind IS NULL OR m.kind = recall.kind)
					AND (recall.participants IS NULL OR m.participants OPERATOR(pg_catalog.@>) recall.participants)
					AND (recall.occurred_after IS NULL OR m.occurred_at >= recall.occurred_after)
					AND (recall.occurred_before IS NULL OR m.occurred_at < recall.occurred_before)
					AND (recall.as_of IS NULL OR m.created_at <= recall.as_of)
					AND (recall.include_invalid
					     OR ((m.valid_from IS NULL OR m.valid_from <= coalesce(recall.as_of, pg_catalog.now()))
					         AND (m.valid_to IS NULL OR m.valid_to > coalesce(recall.as_of, pg_catalog.now())
					              OR (recall.as_of IS NOT NULL
					                  AND (m.invalidated_at IS NULL OR m.invalidated_at > recall.as_of)))))
					AND (m.expires_at IS NULL OR m.expires_at > pg_catalog.now())
					AND (m.ttl IS NULL
					     OR greatest(m.created_at, m.updated_at,
					                 (@extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid)).last_access)
					        + m.ttl > pg_catalog.now())
					AND (recall.namespace_prefix IS NULL
					     OR m.namespace[1:pg_catalog.cardinality(recall.namespace_prefix)] = recall.namespace_prefix)
				  ORDER BY m.embedding OPERATOR(@extschema@.<=>) recall.cue
				  LIMIT v_ncand) c
		),
		txt AS (
			SELECT c.id,
				   c.rank / NULLIF(pg_catalog.max(c.rank) OVER (), 0) AS rank,
				   pg_catalog.row_number() OVER (ORDER BY c.rank DESC, c.id) AS rnk
			FROM (SELECT m.id,
						 pg_catalog.ts_rank(m.content_tsv, v_query) AS rank
				  FROM @extschema@.memory m
				  WHERE v_mode <> 'vector'
					AND v_query IS NOT NULL
					AND m.content_tsv OPERATOR(pg_catalog.@@) v_query
					AND m.space = recall.space
					AND (recall.since IS NULL OR m.created_at >= recall.since)
					AND (recall.until IS NULL OR m.created_at < recall.until)
					AND m.confidence >= recall.min_confidence
					AND (recall.metadata_filter IS NULL OR m.metadata OPERATOR(pg_catalog.@>) recall.metadata_filter)
					AND (recall.kind IS NULL OR m.kind = recall.kind)
					AND (recall.participants IS NULL OR m.participants OPERATOR(pg_catalog.@>) recall.participants)
					AND (recall.occurred_after IS NULL OR m.occurred_at >= recall.occurred_after)
					AND (recall.occurred_before IS NULL OR m.occurred_at < recall.occurred_before)
					AND (recall.as_of IS NULL OR m.created_at <= recall.as_of)
					AND (recall.include_invalid
					     OR ((m.valid_from IS NULL OR m.valid_from <= coalesce(recall.as_of, pg_catalog.now()))
					         AND (m.valid_to IS NULL OR m.valid_to > coalesce(recall.as_of, pg_catalog.now())
					              OR (recall.as_of IS NOT NULL
					                  AND (m.invalidated_at IS NULL OR m.invalidated_at > recall.as_of)))))
					AND (m.expires_at IS NULL OR m.expires_at > pg_catalog.now())
					AND (m.ttl IS NULL
					     OR greatest(m.created_at, m.updated_at,
					                 (@extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid)).last_access)
					        + m.ttl > pg_catalog.now())
					AND (recall.namespace_prefix IS NULL
					     OR m.namespace[1:pg_catalog.cardinality(recall.namespace_prefix)] = recall.namespace_prefix)
				  ORDER BY 2 DESC, m.id
				  LIMIT v_ncand) c
		),
		fused AS (
			SELECT coalesce(v.id, t.id) AS id,
				   (CASE v_mode
						WHEN 'vector' THEN v.sim
						WHEN 'text' THEN t.rank
						ELSE ((coalesce(1.0 / (60 + v.rnk), 0)
							   + coalesce(1.0 / (60 + t.rnk), 0)) / (2.0 / 61))
					END)::pg_catalog.float4 AS rel
			FROM vec v FULL JOIN txt t ON t.id = v.id
		)
		SELECT pg_catalog.array_agg(f.id ORDER BY f.id), pg_catalog.array_agg(f.rel ORDER BY f.id)
			INTO v_ids, v_rels
			FROM fused f;
	END IF;
	IF v_ef_set THEN
		v_dummy := pg_catalog.set_config('engram.ef_search', v_ef, true);
	END IF;

	v_ids := coalesce(v_ids, '{}');
	v_rels := coalesce(v_rels, '{}');

	/*
	 * spread => true: the top k candidates (by the score below) seed
	 * engram.spread(); every memory of the space they reach at hop >= 1
	 * gets activation = greatest(its own activation, spread activation) and
	 * joins the candidates if not there yet (relevance: cosine similarity
	 * for a vector cue, else 0).
	 */
	IF recall.spread AND pg_catalog.cardinality(v_ids) > 0 THEN
		SELECT pg_catalog.array_agg(s.id ORDER BY s.score DESC, s.id)
			INTO v_seeds
			FROM (SELECT c.id,
						 @extschema@.recall_score(c.rel,
												  @extschema@.activation_norm(m.created_at, a.last_access,
																			  a.access_count, pg_catalog.now())::pg_catalog.float4,
												  m.confidence) AS score
				  FROM unnest(v_ids, v_rels) AS c(id, rel)
				  JOIN @extschema@.memory m ON m.id = c.id
				  CROSS JOIN LATERAL @extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid) a
				  ORDER BY 2 DESC, 1
				  LIMIT recall.k) s;
		SELECT pg_catalog.array_agg(s.id), pg_catalog.array_agg(s.activation)
			INTO v_sp_ids, v_sp_acts
			FROM @extschema@.spread(v_seeds) s
			JOIN @extschema@.memory m ON m.id = s.id
			WHERE s.hops > 0
			  AND m.space = recall.space
			  AND (recall.since IS NULL OR m.created_at >= recall.since)
			  AND (recall.until IS NULL OR m.created_at < recall.until)
			  AND m.confidence >= recall.min_confidence
			  AND (recall.metadata_filter IS NULL OR m.metadata OPERATOR(pg_catalog.@>) recall.metadata_filter)
			  AND (recall.kind IS NULL OR m.kind = recall.kind)
			  AND (recall.participants IS NULL OR m.participants OPERATOR(pg_catalog.@>) recall.participants)
			  AND (recall.occurred_after IS NULL OR m.occurred_at >= recall.occurred_after)
			  AND (recall.occurred_before IS NULL OR m.occurred_at < recall.occurred_before)
			  AND (recall.as_of IS NULL OR m.created_at <= recall.as_of)
			  AND (recall.include_invalid
			       OR ((m.valid_from IS NULL OR m.valid_from <= coalesce(recall.as_of, pg_catalog.now()))
			           AND (m.valid_to IS NULL OR m.valid_to > coalesce(recall.as_of, pg_catalog.now())
			                OR (recall.as_of IS NOT NULL
			                    AND (m.invalidated_at IS NULL OR m.invalidated_at > recall.as_of)))))
			  AND (m.expires_at IS NULL OR m.expires_at > pg_catalog.now())
			  AND (m.ttl IS NULL
			       OR greatest(m.created_at, m.updated_at,
			                   (@extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid)).last_access)
			          + m.ttl > pg_catalog.now())
			  AND (recall.namespace_prefix IS NULL
			       OR m.namespace[1:pg_catalog.cardinality(recall.namespace_prefix)] = recall.namespace_prefix);
		SELECT v_ids || coalesce(pg_catalog.array_agg(m.id ORDER BY m.id), '{}'),
			   v_rels || coalesce(pg_catalog.array_agg(
					(CASE
						WHEN v_mode = 'vector' AND m.embedding IS NOT NULL
							THEN 1 - (m.embedding OPERATOR(@extschema@.<=>) recall.cue)
						ELSE 0
					 END)::pg_catalog.float4 ORDER BY m.id), '{}')
			INTO v_ids, v_rels
			FROM @extschema@.memory m
			WHERE m.id = ANY (v_sp_ids) AND m.id <> ALL (v_ids);
	END IF;

	/*
	 * Score (also in the COMMENT of this function):
	 *	score = engram.weight_similarity * relevance
	 *		  + engram.weight_activation * activation
	 *		  + engram.weight_confidence * confidence
	 * where activation = engram.activation_norm(created_at, last access,
	 * access count, now()) in [0,1] (raised to the spread activation when
	 * spread => true).  Ties are broken by id.
	 */
	v_record := recall.record_access AND @extschema@.writes_allowed();
	FOR r IN
		SELECT s.*,
			   @extschema@.recall_score(s.rel, s.act, s.conf) AS sc
		FROM (SELECT m.id, m.ctid AS tid, m.content, c.rel,
					 greatest(
						@extschema@.activation_norm(m.created_at, a.last_access,
													a.access_count, pg_catalog.now())::pg_catalog.float4,
						sp.act) AS act,
					 m.confidence AS conf, m.created_at AS created, m.metadata AS meta
			  FROM unnest(v_ids, v_rels) AS c(id, rel)
			  JOIN @extschema@.memory m ON m.id = c.id
			  CROSS JOIN LATERAL @extschema@._access('@extschema@.memory'::pg_catalog.regclass, m.ctid) a
			  LEFT JOIN unnest(v_sp_ids, v_sp_acts) AS sp(id, act) ON sp.id = c.id) s
		ORDER BY sc DESC, s.id
		LIMIT recall.k
	LOOP
		IF v_record THEN
			-- an assignment, not PERFORM: PL/pgSQL evaluates it as a simple
			-- expression instead of starting an executor per row
			v_recorded := @extschema@._record_access('@extschema@.memory'::pg_catalog.regclass, r.tid);
		END IF;
		id := r.id;
		content := r.content;
		score := r.sc;
		similarity := r.rel;
		activation := r.act;
		confidence := r.conf;
		tier := @extschema@._tier('@extschema@.memory'::pg_catalog.regclass, r.tid);
		created_at := r.created;
		metadata := r.meta;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.recall(@extschema@.vector, pg_catalog.int4, pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.bool, pg_catalog.float4, pg_catalog.bool, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text[], pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.bool, pg_catalog.text[]) IS
'k best memories of a space for an embedding cue, a text cue (cue_text, websearch syntax, english) or both. score = engram.weight_similarity * similarity + engram.weight_activation * activation + engram.weight_confidence * confidence, where similarity is cosine similarity (vector cue), ts_rank(content_tsv, q) / best rank among candidates (text cue) or reciprocal rank fusion sum 1/(60 + rank) / (2/61) (both), and activation is engram.activation_norm() of the memory, raised to its spread activation with spread => true. Candidates: max(engram.recall_candidates, 10k) nearest by <=> (an ANN index is used when present) and/or best by text rank, read only until no further one can enter the k best. Filters: metadata @> metadata_filter, kind, participants @> participants, occurred_after <= occurred_at < occurred_before, namespace[1:cardinality(namespace_prefix)] = namespace_prefix. Only memories not expired (expires_at, ttl) and valid now (engram.valid_at(valid_from, valid_to)); with as_of => t those created by t and valid at t as recorded at t (valid_to counts only when invalidated_at <= t); include_invalid => true drops the validity condition, not the expiry. Returned rows get an access recorded unless record_access is false, on a standby or in a read-only transaction.';


-- consolidate --------------------------------------------------------------

CREATE FUNCTION @extschema@.consolidate(space pg_catalog.text DEFAULT NULL)
	RETURNS TABLE (action pg_catalog.text, count pg_catalog.int8)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	v_threshold pg_catalog.float8;
	v_after		pg_catalog.interval;
	v_factor	pg_catalog.float4;
	v_forget	pg_catalog.float4;
	v_space		pg_catalog.text;
	v_group		record;
	v_members	pg_catalog.int8[];
	v_sims		pg_catalog.float4[];
	v_sum		@extschema@.vector;
	v_emb		@extschema@.vector;
	v_best		record;
	v_new		pg_catalog.int8;
	v_agg		record;
	v_ids		pg_catalog.int8[];
	v_grouped	pg_catalog.int8 := 0;
	v_created	pg_catalog.int8 := 0;
	v_decayed	pg_catalog.int8 := 0;
	v_forgotten pg_catalog.int8 := 0;
BEGIN
	IF @extschema@._shard_of(consolidate.space) IS NOT NULL THEN	-- placed on a shard (60_shard.sql)
		RETURN QUERY SELECT * FROM @extschema@._shard_consolidate(consolidate.space);
		RETURN;
	END IF;
	IF NOT @extschema@.writes_allowed() THEN
		RAISE EXCEPTION 'cannot consolidate memories in a read-only transaction'
			USING ERRCODE = 'read_only_sql_transaction',
				  HINT = 'Run engram.consolidate() on the primary.';
	END IF;
	IF consolidate.space IS NOT NULL THEN
		PERFORM @extschema@._check_space(consolidate.space);
	END IF;
	v_threshold := @extschema@._setting('engram.consolidate_threshold')::pg_catalog.float8;
	BEGIN
		v_after := @extschema@._setting('engram.forget_after')::pg_catalog.interval;
	EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
		RAISE EXCEPTION 'engram.forget_after is not a valid interval: "%"',
						@extschema@._setting('engram.forget_after')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Set it to an interval such as ''90 days''.';
	END;
	v_factor := @extschema@._setting('engram.forget_decay_factor')::pg_catalog.float4;
	v_forget := @extschema@._setting('engram.forget_threshold')::pg_catalog.float4;

	/*
	 * 1. Grouping, per space, greedily in id order: each episodic memory not
	 * yet consolidated, valid now (valid_to IS NULL: neither superseded nor
	 * invalidated) and not expired (expires_at, ttl; as recall) seeds a
	 * group of the not-yet-grouped such memories with cosine similarity >=
	 * engram.consolidate_threshold to it.
	 * A group of two or more becomes a new semantic memory: content of the
	 * most confident member (lowest id on ties), embedding = l2-normalised
	 * mean of the members, confidence = the members' maximum,
	 * metadata.sources = member ids; each member gets an association to it
	 * (weight = its similarity to the seed) and metadata.consolidated_into.
	 * The groups come from engram._near_duplicates (src/memory_recall.c),
	 * which walks the graph of the ANN index on embedding from each seed
	 * (read once; else one ANN search per seed: O(n log n) for the space)
	 * and reports progress for large spaces.
	 */
	FOR v_space IN
		SELECT s.name FROM @extschema@.space s
		WHERE consolidate.space IS NULL OR s.name = consolidate.space
		ORDER BY s.name
	LOOP
		FOR v_group IN
			SELECT g.seed, g.members, g.sims
			FROM @extschema@._near_duplicates(v_space, v_threshold) g
		LOOP
			v_members := v_group.members;
			v_sims := v_group.sims;

			v_sum := NULL;
			FOR v_emb IN SELECT m.embedding FROM @extschema@.memory m
						 WHERE m.id = ANY (v_members) ORDER BY m.id
			LOOP
				v_sum := CASE WHEN v_sum IS NULL THEN v_emb
							  ELSE v_sum OPERATOR(@extschema@.+) v_emb END;
			END LOOP;
			SELECT m.content, m.occurred_at, m.location INTO v_best
				FROM @extschema@.memory m WHERE m.id = ANY (v_members)
				ORDER BY m.confidence DESC, m.id LIMIT 1;
			SELECT pg_catalog.max(m.confidence) AS conf, pg_catalog.min(m.occurred_at) AS occurred
				INTO v_agg
				FROM @extschema@.memory m WHERE m.id = ANY (v_members);
			v_new := @extschema@._memory_insert(v_space, v_best.content, @extschema@.l2_normalize(v_sum),
												v_agg.conf, v_agg.occurred, v_best.location, NULL,
												pg_catalog.jsonb_build_object('sources', pg_catalog.to_jsonb(v_members)),
												'semantic');
			PERFORM @extschema@._association_upsert(v_members,
													pg_catalog.array_fill(v_new, ARRAY[pg_catalog.cardinality(v_members)]),
													v_sims);
			PERFORM @extschema@._memory_mark_consolidated(v_members, v_new);
			v_grouped := v_grouped + pg_catalog.cardinality(v_members);
			v_created := v_created + 1;
		END LOOP;
	END LOOP;

	/*
	 * 2. Decay: episodic memories not accessed (nor created) within
	 * engram.forget_after have their confidence multiplied by
	 * engram.forget_decay_factor (once per consolidate run).
	 */
	SELECT pg_catalog.array_agg(m2.id) INTO v_ids
		FROM @extschema@.memory m2
		CROSS JOIN LATERAL @extschema@._access('@extschema@.memory'::pg_catalog.regclass, m2.ctid) a
		WHERE m2.kind = 'episodic'
		  AND (consolidate.space IS NULL OR m2.space = consolidate.space)
		  AND greatest(m2.created_at, a.last_access) < pg_catalog.now() - v_after;
	IF v_ids IS NOT NULL THEN
		v_decayed := @extschema@._memory_decay(v_ids, v_factor);
	END IF;

	-- 3. Forget episodic memories whose confidence fell below engram.forget_threshold.
	SELECT pg_catalog.array_agg(m.id) INTO v_ids
		FROM @extschema@.memory m
		WHERE m.kind = 'episodic' AND m.confidence < v_forget
		  AND (consolidate.space IS NULL OR m.space = consolidate.space);
	IF v_ids IS NOT NULL THEN
		v_forgotten := @extschema@._memory_delete(v_ids);
	END IF;

	RETURN QUERY VALUES ('grouped'::pg_catalog.text, v_grouped),
						('semantic_created', v_created),
						('decayed', v_decayed),
						('forgotten', v_forgotten);
END
$$;
COMMENT ON FUNCTION @extschema@.consolidate(pg_catalog.text) IS
'group near-duplicate episodic memories valid now (valid_to IS NULL) and not expired (cosine >= engram.consolidate_threshold, neighbours found through the ANN index on embedding when there is one) into new semantic memories with provenance (associations, metadata.sources), multiply the confidence of episodic memories unused for engram.forget_after by engram.forget_decay_factor, forget episodic memories below engram.forget_threshold; returns the count of each action';

