"""engram: long-term memory for agents, on PostgreSQL with the engram extension.

    from engram import Memory, ServerEmbedder
    mem = Memory("dbname=app", embedder=ServerEmbedder(384))
    mid = mem.remember("Alice met Bob at the coffee shop on Friday.")
    for r in mem.recall("where did Alice meet Bob?", k=5):
        print(r.score, r.content)

See clients/python/README.md.
"""

from .client import Memory
from .embedders import Embedder, FunctionEmbedder, ServerEmbedder
from .types import Consolidation, Recalled, Space, Spread

__all__ = ["Memory", "Embedder", "FunctionEmbedder", "ServerEmbedder",
           "Consolidation", "Recalled", "Space", "Spread"]
__version__ = "0.2.0"
