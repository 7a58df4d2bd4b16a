"""A LangGraph store backed by engram: ``EngramStore``.

Written against LangGraph's documented ``BaseStore`` interface
(``langgraph.store.base``): ``batch`` / ``abatch`` over ``GetOp``,
``SearchOp``, ``PutOp`` and ``ListNamespacesOp``, and the convenience
methods ``get``, ``search``, ``put``, ``delete``, ``list_namespaces`` (and
their ``a``-prefixed async twins) built on them.  When ``langgraph`` is
installed, ``EngramStore`` subclasses its ``BaseStore`` and returns its
``Item`` / ``SearchItem``; otherwise it uses the stand-ins of
``engram._langgraph_base`` with the same names and fields (this repository's
tests run against those: LangGraph is not installable here).

Storage: every item is one engram memory in the store's space, written
with ``engram.put`` under its key and namespace (``engram.get`` reads it,
``engram.delete_key`` deletes it): the store never writes the table
itself, so it works as a tenant that holds only a space grant (SELECT on
engram.memory).  Its metadata holds the namespace (labels joined with '.', which LangGraph
forbids inside a label), every namespace prefix, the key, the value and the
update time; its content is the text that is embedded: the ``index``
fields of the value (``PutOp.index``, or the store's default), else the
whole value as JSON.  ``search(..., query=...)`` is engram's ``recall``
with the namespace and the filter as a metadata filter, so the score is
engram's (similarity, activation, confidence); without a query, items come
newest first.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from psycopg.types.json import Jsonb

from .client import Memory

try:  # the real thing, when installed
    from langgraph.store.base import (BaseStore, GetOp, Item, ListNamespacesOp,  # type: ignore
                                      MatchCondition, PutOp, SearchItem, SearchOp)
except ImportError:  # pragma: no cover - exercised where langgraph is absent
    from ._langgraph_base import (BaseStore, GetOp, Item, ListNamespacesOp,  # noqa: F401
                                  MatchCondition, PutOp, SearchItem, SearchOp)

SEP = "."


def _ns_key(namespace: Sequence[str]) -> str:
    return SEP.join(namespace)


def _prefixes(namespace: Sequence[str]) -> List[str]:
    return [SEP.join(namespace[:i]) for i in range(1, len(namespace) + 1)]


def _path_matches(ns: Tuple[str, ...], path: Sequence[str], at_end: bool) -> bool:
    if len(path) > len(ns):
        return False
    part = ns[len(ns) - len(path):] if at_end else ns[:len(path)]
    return all(p == "*" or p == n for p, n in zip(path, part))


class EngramStore(BaseStore):
    """LangGraph ``BaseStore`` on engram.

    ``memory``: an ``engram.Memory`` (its connection source, role and
    embedder are used; give it an embedder for semantic search).
    ``space``: the engram space holding the store (created if missing).
    ``index_fields``: value fields embedded by default (None: the whole
    value as JSON).
    """

    def __init__(self, memory: Memory, *, space: str = "langgraph",
                 index_fields: Optional[Sequence[str]] = None):
        super().__init__()
        self.memory = memory.in_space(space)
        self.space = space
        self.index_fields = list(index_fields) if index_fields else None
        if not any(s.name == space for s in self.memory.spaces()):
            self.memory.create_space(space)

    # -- BaseStore -----------------------------------------------------------

    def batch(self, ops: Iterable[Any]) -> List[Any]:
        results: List[Any] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op))
            elif isinstance(op, SearchOp):
                results.append(self._search(op))
            elif isinstance(op, PutOp):
                self._put(op)
                results.append(None)
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            else:
                raise ValueError(f"unknown operation {op!r}")
        return results

    async def abatch(self, ops: Iterable[Any]) -> List[Any]:
        # psycopg's connection is synchronous: run the batch in a thread
        return await asyncio.to_thread(self.batch, list(ops))

    # -- operations -------------------------------------------------------------

    def _legacy(self, cur, namespace: Sequence[str], key: str) -> List[Dict[str, Any]]:
        """Items written by stores before 0.2.0 (a memory without a key,
        found by its metadata); reading needs only SELECT."""
        cur.execute(
            "SELECT m.id, m.metadata, m.created_at FROM engram.memory m"
            " WHERE m.space OPERATOR(pg_catalog.=) %s AND m.key IS NULL"
            " AND m.metadata OPERATOR(pg_catalog.@>) %s ORDER BY m.id",
            (self.space, Jsonb({"lg_ns": _ns_key(namespace), "lg_key": key})))
        return cur.fetchall()

    @staticmethod
    def _item(row: Dict[str, Any], score: Optional[float] = None, search: bool = False):
        md = row["metadata"]
        fields = dict(namespace=tuple(md["lg_ns"].split(SEP)), key=md["lg_key"], value=md["value"],
                      created_at=row["created_at"],
                      updated_at=datetime.fromisoformat(md["lg_updated_at"]))
        if search:
            return SearchItem(score=score, **fields)
        return Item(**fields)

    def _get(self, op) -> Optional[Any]:
        with self.memory._cursor() as cur:
            cur.execute("SELECT g.id, g.metadata, g.created_at"
                        " FROM engram.get(%s, %s, %s::pg_catalog.text[]) g",
                        (self.space, op.key, list(op.namespace)))
            row = cur.fetchone()
            if row is None:
                legacy = self._legacy(cur, op.namespace, op.key)
                row = legacy[0] if legacy else None
        return self._item(row) if row else None

    def _text(self, value: Dict[str, Any], index: Any) -> str:
        fields = self.index_fields if index is None else index
        if fields is False:
            fields = None
        if fields:
            parts = [value.get(f) for f in fields]
            text = " ".join(p if isinstance(p, str) else json.dumps(p) for p in parts if p is not None)
            if text.strip():
                return text
        return json.dumps(value, sort_keys=True)

    def _put(self, op) -> None:
        # only engram's write functions (engram.put / delete_key / forget):
        # a tenant holds no INSERT, UPDATE or DELETE on engram.memory
        namespace, key, value = tuple(op.namespace), op.key, op.value
        if value is not None and not isinstance(value, dict):
            raise TypeError("a store value is a dict")
        with self.memory._cursor() as cur:
            # an item of a store before 0.2.0 moves to a keyed memory
            for old in self._legacy(cur, namespace, key):
                cur.execute("SELECT engram.forget(%s::pg_catalog.int8)", (old["id"],))
            if value is None:
                cur.execute("SELECT engram.delete_key(%s, %s, %s::pg_catalog.text[])",
                            (self.space, key, list(namespace)))
                return
            metadata = {"lg_ns": _ns_key(namespace), "lg_prefixes": _prefixes(namespace),
                        "lg_key": key, "value": value,
                        "lg_updated_at": datetime.now(timezone.utc).isoformat()}
            index = getattr(op, "index", None)
            params: Dict[str, Any] = {"content": self._text(value, index),
                                      "metadata": Jsonb(metadata), "space": self.space,
                                      "key": key, "namespace": list(namespace)}
            emb = ("NULL::engram.vector" if index is False else
                   self.memory._embedding_sql(params["content"], None, params, "emb"))
            cur.execute("SELECT engram.put(space => %(space)s, key => %(key)s,"
                        " content => %(content)s, embedding => " + emb + ","
                        " metadata => %(metadata)s, namespace => %(namespace)s::pg_catalog.text[])",
                        params)

    def _search(self, op) -> List[Any]:
        prefix = tuple(op.namespace_prefix)
        match: Dict[str, Any] = {}
        if prefix:
            match["lg_prefixes"] = [_ns_key(prefix)]
        if op.filter:
            match["value"] = dict(op.filter)
        query = getattr(op, "query", None)
        if query:
            found = self.memory.recall(query, k=op.offset + op.limit, metadata=match)
            found = found[op.offset:op.offset + op.limit]
            if not found:
                return []
            with self.memory._cursor() as cur:
                cur.execute("SELECT m.id, m.metadata, m.created_at FROM engram.memory m"
                            " WHERE m.id OPERATOR(pg_catalog.=) ANY(%s)", ([r.id for r in found],))
                rows = {r["id"]: r for r in cur.fetchall()}
            return [self._item(rows[r.id], r.score, search=True) for r in found if r.id in rows]
        with self.memory._cursor() as cur:
            cur.execute("SELECT m.id, m.metadata, m.created_at FROM engram.memory m"
                        " WHERE m.space OPERATOR(pg_catalog.=) %s"
                        " AND m.metadata OPERATOR(pg_catalog.?) 'lg_key'"
                        " AND m.metadata OPERATOR(pg_catalog.@>) %s"
                        " ORDER BY m.metadata OPERATOR(pg_catalog.->>) 'lg_updated_at' DESC, m.id DESC"
                        " LIMIT %s OFFSET %s",
                        (self.space, Jsonb(match), op.limit, op.offset))
            return [self._item(r, None, search=True) for r in cur.fetchall()]

    def _list_namespaces(self, op) -> List[Tuple[str, ...]]:
        with self.memory._cursor() as cur:
            cur.execute("SELECT DISTINCT m.metadata OPERATOR(pg_catalog.->>) 'lg_ns' AS ns"
                        " FROM engram.memory m WHERE m.space OPERATOR(pg_catalog.=) %s"
                        " AND m.metadata OPERATOR(pg_catalog.?) 'lg_ns'",
                        (self.space,))
            namespaces = [tuple(r["ns"].split(SEP)) for r in cur.fetchall()]
        for cond in op.match_conditions or ():
            at_end = cond.match_type == "suffix"
            namespaces = [n for n in namespaces if _path_matches(n, cond.path, at_end)]
        if op.max_depth is not None:
            namespaces = [n[:op.max_depth] for n in namespaces]
        out = sorted(set(namespaces))
        return out[op.offset:op.offset + op.limit]
