"""A minimal agent loop with engram as its long-term memory.

    python3 examples/agent_loop.py "dbname=app"

Each user turn: recall what is relevant, answer from it (this "agent" just
quotes its best memory; a real one would put the memories into its LLM
prompt), then remember the turn.  Uses engram's lexical demo embedder, so
it needs nothing but the database; pass a real embedder
(engram.FunctionEmbedder) in real use.
"""

import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from engram import Memory, ServerEmbedder  # noqa: E402

TURNS = [
    "Alice works at the bakery on Main Street.",
    "Bob is allergic to peanuts.",
    "The team offsite is in Lisbon in March.",
    "Where does Alice work?",
    "What is Bob allergic to?",
    "Where is the offsite?",
]


def main(dsn):
    space = "agent_" + uuid.uuid4().hex[:8]
    with Memory(dsn, space=space, embedder=ServerEmbedder(256)) as mem:
        mem.create_space(space)
        try:
            for turn in TURNS:
                print(f"user:  {turn}")
                if turn.endswith("?"):
                    hits = mem.recall(turn, k=3)
                    best = hits[0] if hits else None
                    print(f"agent: I remember: {best.content}" if best else "agent: I don't know.")
                    print(f"       (memory {best.id}, score {best.score:.3f}, {len(hits)} recalled)")
                else:
                    mid = mem.remember(turn, metadata={"source": "user"})
                    print(f"agent: noted (memory {mid})")
            print(f"consolidation: {mem.consolidate()}")
        finally:
            mem.drop_space(space, cascade=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ENGRAM_DSN", ""))
