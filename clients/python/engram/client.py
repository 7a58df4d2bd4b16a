"""engram.Memory: a psycopg 3 client for engram's memory API.

Every call is one transaction on a connection of its own source (a psycopg
connection, a psycopg_pool pool, or a connection string), and every SQL
name is schema-qualified, so the caller's search_path never matters.

Tenants: ``Memory(..., role="tenant_a")`` or ``memory.as_role("tenant_a")``
runs each call as that role (row-level security then shows the role only
the spaces granted to it).  The role is set with ``set_config('role', ...,
true)`` -- SET LOCAL ROLE -- inside the call's transaction and put back
before it ends, so it never leaks into a pooled connection or into the
caller's own transaction.  The login role must be a member of every role it
switches to (``GRANT tenant_a TO app``).
"""

from __future__ import annotations

import contextlib
import copy
from datetime import datetime
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .embedders import Embedder, ServerEmbedder
from .types import Consolidation, Recalled, Space, Spread


class Memory:
    """Long-term memory for an agent, stored by engram.

    Give exactly one of ``conninfo`` (the client opens and owns one
    connection), ``connection`` (a psycopg.Connection you own) or ``pool``
    (a psycopg_pool.ConnectionPool: each call borrows a connection).

    ``embedder`` turns text into vectors for ``remember`` and ``recall``:
    ``None`` stores no embedding and recalls by full-text search only;
    ``ServerEmbedder(dims)`` uses engram's lexical demo embedder in SQL; any
    object with ``embed(texts)`` (see ``FunctionEmbedder``) embeds on the
    client.
    """

    def __init__(self, conninfo: Optional[str] = None, *,
                 connection: Optional[psycopg.Connection] = None,
                 pool: Any = None,
                 space: str = "default",
                 embedder: Optional[Embedder] = None,
                 role: Optional[str] = None):
        given = [x is not None for x in (conninfo, connection, pool)]
        if sum(given) != 1:
            raise ValueError("give exactly one of conninfo, connection or pool")
        self._owned = None
        if conninfo is not None:
            self._owned = psycopg.connect(conninfo)
            connection = self._owned
        self._connection = connection
        self._pool = pool
        self.space = space
        self.embedder = embedder
        self.role = role

    # -- life cycle -------------------------------------------------------

    def close(self) -> None:
        """Close the connection this client opened itself (if any)."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> "Memory":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def as_role(self, role: Optional[str]) -> "Memory":
        """The same client (same connection source), acting as ``role``."""
        m = copy.copy(self)
        m.role = role
        m._owned = None         # the copy never closes the original's connection
        return m

    def in_space(self, space: str) -> "Memory":
        """The same client, with ``space`` as its default space."""
        m = copy.copy(self)
        m.space = space
        m._owned = None
        return m

    # -- plumbing -----------------------------------------------------------

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor]:
        with contextlib.ExitStack() as stack:
            if self._pool is not None:
                conn = stack.enter_context(self._pool.connection())
            else:
                conn = self._connection
            stack.enter_context(conn.transaction())
            cur = stack.enter_context(conn.cursor(row_factory=dict_row))
            if self.role is None:
                yield cur
                return
            cur.execute("SELECT pg_catalog.current_setting('role') AS r")
            previous = cur.fetchone()["r"]
            cur.execute("SELECT pg_catalog.set_config('role', %s, true)", (self.role,))
            yield cur
            # reached only without an exception: put the caller's role back
            cur.execute("SELECT pg_catalog.set_config('role', %s, true)", (previous,))

    def _embedding_sql(self, text: Optional[str], embedding: Optional[Sequence[float]],
                       params: Dict[str, Any], name: str) -> str:
        """SQL for the vector of ``text`` (or the given ``embedding``)."""
        if embedding is not None:
            params[name] = [float(x) for x in embedding]
            return f"%({name})s::pg_catalog.float8[]::engram.vector"
        if text is None or self.embedder is None:
            return "NULL::engram.vector"
        if isinstance(self.embedder, ServerEmbedder):
            params[name + "_src"] = text
            params[name + "_dims"] = self.embedder.dims
            return f"engram.embed_text(%({name}_src)s, %({name}_dims)s)"
        params[name] = [float(x) for x in self.embedder.embed([text])[0]]
        return f"%({name})s::pg_catalog.float8[]::engram.vector"

    # -- memories -----------------------------------------------------------

    def remember(self, content: str, *,
                 embedding: Optional[Sequence[float]] = None,
                 confidence: float = 1.0,
                 space: Optional[str] = None,
                 metadata: Optional[Mapping[str, Any]] = None,
                 occurred_at: Optional[datetime] = None,
                 kind: str = "episodic",
                 location: Optional[str] = None,
                 participants: Optional[Sequence[str]] = None) -> int:
        """Store a memory; returns its id (an existing near-duplicate's id
        when ``engram.dedup_threshold`` is set and one is found)."""
        params: Dict[str, Any] = {
            "content": content, "confidence": confidence,
            "space": space or self.space, "metadata": Jsonb(dict(metadata or {})),
            "occurred_at": occurred_at, "kind": kind, "location": location,
            "participants": list(participants) if participants is not None else None,
        }
        emb = self._embedding_sql(content, embedding, params, "emb")
        sql = ("SELECT engram.remember(content => %(content)s, embedding => " + emb +
               ", confidence => %(confidence)s::pg_catalog.float4, space => %(space)s,"
               " metadata => %(metadata)s,"
               " occurred_at => COALESCE(%(occurred_at)s::pg_catalog.timestamptz,"
               " pg_catalog.now()), kind => %(kind)s, location => %(location)s,"
               " participants => %(participants)s::pg_catalog.text[]) AS id")
        with self._cursor() as cur:
            cur.execute(sql, params)
            return int(cur.fetchone()["id"])

    def recall(self, query: Optional[str] = None, *,
               embedding: Optional[Sequence[float]] = None,
               text: Optional[str] = None,
               k: int = 10,
               space: Optional[str] = None,
               since: Optional[datetime] = None,
               until: Optional[datetime] = None,
               min_confidence: float = 0.0,
               spread: bool = False,
               metadata: Optional[Mapping[str, Any]] = None,
               record_access: bool = True) -> List[Recalled]:
        """The ``k`` best memories for a cue, best first.

        Cue: ``query`` is embedded with the client's embedder (without one,
        it is used as a full-text query); ``embedding`` gives the vector
        directly; ``text`` adds a full-text cue (vector and text together
        are fused by reciprocal rank, see docs/memory_api.md).

        Filters: ``space``, ``since`` <= created_at < ``until``,
        ``min_confidence``, and ``metadata`` (rows whose metadata contains
        it, jsonb ``@>``).  engram.recall has no metadata filter of its own,
        so with ``metadata`` the client asks for up to 10 * k candidates,
        keeps those that match, returns at most k, and records no access
        (it would otherwise record accesses of rows it filters away).
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        params: Dict[str, Any] = {}
        cue_text = text
        if query is not None and embedding is None and self.embedder is None and cue_text is None:
            cue_text = query
        cue = self._embedding_sql(query, embedding, params, "cue")
        if cue.startswith("NULL") and cue_text is None:
            raise ValueError("recall needs a cue: query (with an embedder or as text), embedding or text")
        fetch_k = k if metadata is None else min(10 * k, 10000)
        params.update({
            "k": fetch_k, "space": space or self.space, "cue_text": cue_text,
            "since": since, "until": until, "spread": spread,
            "min_confidence": min_confidence,
            "record_access": record_access and metadata is None,
        })
        where = ""
        if metadata is not None:
            params["filter"] = Jsonb(dict(metadata))
            where = " WHERE r.metadata OPERATOR(pg_catalog.@>) %(filter)s"
        sql = ("SELECT r.id, r.content, r.score, r.similarity, r.activation, r.confidence,"
               " r.tier, r.created_at, r.metadata"
               " FROM engram.recall(cue => " + cue + ", k => %(k)s, space => %(space)s,"
               " cue_text => %(cue_text)s::pg_catalog.text,"
               " since => %(since)s::pg_catalog.timestamptz,"
               " until => %(until)s::pg_catalog.timestamptz, spread => %(spread)s,"
               " min_confidence => %(min_confidence)s::pg_catalog.float4,"
               " record_access => %(record_access)s) r" + where +
               " ORDER BY r.score DESC, r.id LIMIT %(limit)s")
        params["limit"] = k
        with self._cursor() as cur:
            cur.execute(sql, params)
            return [Recalled(id=int(r["id"]), content=r["content"], score=float(r["score"]),
                             similarity=_opt_float(r["similarity"]),
                             activation=_opt_float(r["activation"]),
                             confidence=float(r["confidence"]), tier=r["tier"],
                             created_at=r["created_at"], metadata=r["metadata"] or {})
                    for r in cur.fetchall()]

    def forget(self, id: int) -> bool:
        """Delete one memory; False when there was none with that id."""
        with self._cursor() as cur:
            cur.execute("SELECT engram.forget(%s::pg_catalog.int8) AS done", (id,))
            return bool(cur.fetchone()["done"])

    def forget_where(self, *, space: Optional[str] = None,
                     before: Optional[datetime] = None,
                     below_confidence: Optional[float] = None) -> int:
        """Delete the memories of a space created before ``before`` and/or
        with confidence below ``below_confidence``; returns how many."""
        with self._cursor() as cur:
            cur.execute(
                "SELECT engram.forget(space => %s, before => %s::pg_catalog.timestamptz,"
                " below_confidence => %s::pg_catalog.float4) AS n",
                (space or self.space, before, below_confidence))
            return int(cur.fetchone()["n"])

    def associate(self, a: int, b: int, weight: float = 1.0) -> None:
        """Link two memories (undirected; an existing link gets the new weight)."""
        with self._cursor() as cur:
            cur.execute("SELECT engram.associate(%s::pg_catalog.int8, %s::pg_catalog.int8,"
                        " %s::pg_catalog.float4)", (a, b, weight))

    def spread(self, seeds: Iterable[int], *, max_hops: int = 3, decay: float = 0.5,
               threshold: float = 0.01) -> List[Spread]:
        """Spreading activation from ``seeds`` along associations."""
        with self._cursor() as cur:
            cur.execute("SELECT id, activation, hops FROM engram.spread(%s::pg_catalog.int8[],"
                        " %s, %s::pg_catalog.float4, %s::pg_catalog.float4)",
                        (list(seeds), max_hops, decay, threshold))
            return [Spread(id=int(r["id"]), activation=float(r["activation"]), hops=int(r["hops"]))
                    for r in cur.fetchall()]

    def consolidate(self, space: Optional[str] = None, *, all_spaces: bool = False) -> Consolidation:
        """One consolidation pass over the client's space (``space``, or every
        visible space with ``all_spaces=True``)."""
        target = None if all_spaces else (space or self.space)
        with self._cursor() as cur:
            cur.execute("SELECT action, count FROM engram.consolidate(%s)", (target,))
            counts = {r["action"]: int(r["count"]) for r in cur.fetchall()}
        return Consolidation(**{k: v for k, v in counts.items()
                                if k in Consolidation.__dataclass_fields__})

    # -- spaces ---------------------------------------------------------------

    def create_space(self, name: str, dims: Optional[int] = None) -> None:
        with self._cursor() as cur:
            cur.execute("SELECT engram.create_space(%s, %s)", (name, dims))

    def drop_space(self, name: str, cascade: bool = False) -> None:
        with self._cursor() as cur:
            cur.execute("SELECT engram.drop_space(%s, %s)", (name, cascade))

    def grant_space(self, space: str, role: str) -> None:
        with self._cursor() as cur:
            cur.execute("SELECT engram.grant_space(%s, %s::pg_catalog.regrole)", (space, role))

    def revoke_space(self, space: str, role: str) -> None:
        with self._cursor() as cur:
            cur.execute("SELECT engram.revoke_space(%s, %s::pg_catalog.regrole)", (space, role))

    def spaces(self) -> List[Space]:
        """Every space (names and dimensions are visible to every role; the
        memories in a space only to the roles granted it)."""
        with self._cursor() as cur:
            cur.execute("SELECT name, dims, created_at FROM engram.space ORDER BY name")
            return [Space(name=r["name"], dims=r["dims"], created_at=r["created_at"])
                    for r in cur.fetchall()]


def _opt_float(x: Any) -> Optional[float]:
    return None if x is None else float(x)
