"""Typed results of the engram memory API (see docs/memory_api.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Optional


@dataclass(frozen=True)
class Recalled:
    """One row of ``engram.recall``: a memory and why it was recalled."""

    id: int
    content: str
    score: float
    similarity: Optional[float]
    activation: Optional[float]
    confidence: float
    tier: Optional[str]
    created_at: datetime
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Spread:
    """One row of ``engram.spread``: a memory reached by spreading activation."""

    id: int
    activation: float
    hops: int


@dataclass(frozen=True)
class Space:
    """A memory space: its name, its fixed dimension count (None until the
    first embedding) and when it was created."""

    name: str
    dims: Optional[int]
    created_at: datetime


@dataclass(frozen=True)
class Consolidation:
    """What one ``engram.consolidate`` pass did."""

    grouped: int = 0
    semantic_created: int = 0
    decayed: int = 0
    forgotten: int = 0
