"""Embedders: how text becomes a vector for remember() and recall().

An embedder is any object with ``embed(texts) -> list of vectors`` (each a
sequence of floats, all of the same length).  Two are provided:

- ``ServerEmbedder``: engram's own ``engram.embed_text`` (deterministic,
  lexical feature hashing), computed by the server in the same statement.
  For demos and tests: it matches words, not meaning.
- ``FunctionEmbedder``: wraps any function from a list of texts to a list
  of vectors -- a sentence-transformers model's ``encode``, an HTTP call to
  an embedding service, ...
"""

from __future__ import annotations

from typing import Callable, List, Optional, Protocol, Sequence, runtime_checkable


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into vectors of one fixed length."""

    def embed(self, texts: Sequence[str]) -> List[Sequence[float]]:
        ...


class ServerEmbedder:
    """``engram.embed_text(text, dims)``, evaluated by the server.

    ``Memory`` recognises it and puts the call into its SQL, so the text is
    sent once and no vector crosses the wire.  ``embed`` also works on its
    own (one round trip) when a connection is given.
    """

    def __init__(self, dims: int = 384):
        if not 1 <= dims <= 16000:
            raise ValueError("dims must be between 1 and 16000")
        self.dims = dims

    def embed(self, texts: Sequence[str], conn=None) -> List[Sequence[float]]:
        if conn is None:
            raise TypeError("ServerEmbedder.embed needs a connection (Memory calls it in SQL)")
        out = []
        with conn.cursor() as cur:
            for t in texts:
                cur.execute(
                    "SELECT engram.embed_text(%s, %s)::real[]::float8[]", (t, self.dims))
                out.append(list(cur.fetchone()[0]))
        return out


class FunctionEmbedder:
    """Wraps ``fn(texts) -> vectors``; ``dims`` (optional) is checked."""

    def __init__(self, fn: Callable[[Sequence[str]], Sequence[Sequence[float]]],
                 dims: Optional[int] = None):
        self.fn = fn
        self.dims = dims

    def embed(self, texts: Sequence[str]) -> List[Sequence[float]]:
        vectors = [list(map(float, v)) for v in self.fn(list(texts))]
        if len(vectors) != len(texts):
            raise ValueError(f"embedder returned {len(vectors)} vectors for {len(texts)} texts")
        for v in vectors:
            if self.dims is not None and len(v) != self.dims:
                raise ValueError(f"embedder returned {len(v)} dimensions, expected {self.dims}")
        return vectors
