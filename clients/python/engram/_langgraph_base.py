"""Stand-ins for ``langgraph.store.base`` when LangGraph is not installed.

The names and fields follow LangGraph's documented store interface
(``BaseStore.batch`` / ``abatch`` and the operations they take), so
``EngramStore`` runs, and is tested, the same way with or without the
library.  Only what EngramStore and its tests need is here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, Dict, Iterable, List, Literal, NamedTuple, Optional, Tuple, Union


class Item:
    """A stored value with its namespace, key and timestamps."""

    def __init__(self, *, value: Dict[str, Any], key: str, namespace: Tuple[str, ...],
                 created_at: datetime, updated_at: datetime):
        self.value = value
        self.key = key
        self.namespace = tuple(namespace)
        self.created_at = created_at
        self.updated_at = updated_at

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Item) and self.value == other.value and self.key == other.key
                and self.namespace == other.namespace and self.created_at == other.created_at
                and self.updated_at == other.updated_at)

    def __hash__(self) -> int:
        return hash((self.namespace, self.key))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self.namespace!r}, key={self.key!r}, value={self.value!r})"


class SearchItem(Item):
    """An item found by a search, with its relevance score (None without a query)."""

    def __init__(self, namespace, key, value, created_at, updated_at, score: Optional[float] = None):
        super().__init__(value=value, key=key, namespace=namespace,
                         created_at=created_at, updated_at=updated_at)
        self.score = score


class GetOp(NamedTuple):
    namespace: Tuple[str, ...]
    key: str
    refresh_ttl: bool = True


class SearchOp(NamedTuple):
    namespace_prefix: Tuple[str, ...]
    filter: Optional[Dict[str, Any]] = None
    limit: int = 10
    offset: int = 0
    query: Optional[str] = None
    refresh_ttl: bool = True


class PutOp(NamedTuple):
    namespace: Tuple[str, ...]
    key: str
    value: Optional[Dict[str, Any]]
    index: Union[Literal[False], List[str], None] = None
    ttl: Optional[float] = None


class MatchCondition(NamedTuple):
    match_type: Literal["prefix", "suffix"]
    path: Tuple[str, ...]


class ListNamespacesOp(NamedTuple):
    match_conditions: Optional[Tuple[MatchCondition, ...]] = None
    max_depth: Optional[int] = None
    limit: int = 100
    offset: int = 0


def _check_namespace(namespace: Tuple[str, ...]) -> None:
    if not namespace:
        raise ValueError("a namespace has at least one label")
    for label in namespace:
        if not isinstance(label, str) or not label or "." in label:
            raise ValueError(f"invalid namespace label {label!r}: a non-empty string without '.'")


class BaseStore(ABC):
    """The store interface: ``batch``/``abatch`` plus convenience methods."""

    @abstractmethod
    def batch(self, ops: Iterable[Any]) -> List[Any]:
        ...

    @abstractmethod
    async def abatch(self, ops: Iterable[Any]) -> List[Any]:
        ...

    def get(self, namespace, key):
        return self.batch([GetOp(tuple(namespace), key)])[0]

    def search(self, namespace_prefix, /, *, query=None, filter=None, limit=10, offset=0):
        return self.batch([SearchOp(tuple(namespace_prefix), filter, limit, offset, query)])[0]

    def put(self, namespace, key, value, index=None):
        _check_namespace(tuple(namespace))
        self.batch([PutOp(tuple(namespace), key, value, index)])

    def delete(self, namespace, key):
        self.batch([PutOp(tuple(namespace), key, None)])

    def list_namespaces(self, *, prefix=None, suffix=None, max_depth=None, limit=100, offset=0):
        conds = []
        if prefix:
            conds.append(MatchCondition("prefix", tuple(prefix)))
        if suffix:
            conds.append(MatchCondition("suffix", tuple(suffix)))
        return self.batch([ListNamespacesOp(tuple(conds), max_depth, limit, offset)])[0]

    async def aget(self, namespace, key):
        return (await self.abatch([GetOp(tuple(namespace), key)]))[0]

    async def asearch(self, namespace_prefix, /, *, query=None, filter=None, limit=10, offset=0):
        return (await self.abatch([SearchOp(tuple(namespace_prefix), filter, limit, offset, query)]))[0]

    async def aput(self, namespace, key, value, index=None):
        _check_namespace(tuple(namespace))
        await self.abatch([PutOp(tuple(namespace), key, value, index)])

    async def adelete(self, namespace, key):
        await self.abatch([PutOp(tuple(namespace), key, None)])
