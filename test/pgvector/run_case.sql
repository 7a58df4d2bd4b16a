-- pg_temp.run_case(query): the outcome of one single-column query as one
-- line of text, the same way whichever vector extension answers it: its
-- rows' text joined with ' | ' (NULL as NULL), or 'ERROR <SQLSTATE>:
-- <message>'.  Used by sql/pgvector_compat.sql and
-- test/t/070_pgvector_compat.pl to compare engram.vector with pgvector on
-- the cases of test/pgvector/cases.tsv.  The query runs with the caller's
-- search_path, which is the point: it is what a user's query would see.
CREATE FUNCTION pg_temp.run_case(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	r text;
	st text;
	msg text;
BEGIN
	q := rtrim(q, '; ');
	EXECUTE 'SELECT coalesce(pg_catalog.string_agg(coalesce(x::pg_catalog.text, ''NULL''), '' | ''), ''(no rows)'') FROM ('
		|| q || ') s(x)' INTO r;
	RETURN r;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN 'ERROR ' || st || ': ' || msg;
END
$f$;
