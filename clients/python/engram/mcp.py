"""An MCP (Model Context Protocol) server that gives an assistant engram as memory.

    python3 -m engram.mcp --dsn "dbname=app user=agent" [--space default] [--dims 384] [--role r]

It speaks MCP over stdio: JSON-RPC 2.0 messages, one per line, answering
``initialize``, ``ping``, ``tools/list`` and ``tools/call``.  Tools:
``remember``, ``recall``, ``forget`` and ``associate``, each a call of
``engram.Memory``.  Embeddings come from engram's lexical demo embedder
(``engram.embed_text``) unless ``--no-embed`` (full-text recall only).

To use it from an MCP client, register the command above as a stdio server,
for example in a client's JSON configuration::

    {"mcpServers": {"engram": {"command": "python3",
                               "args": ["-m", "engram.mcp", "--dsn", "dbname=app"],
                               "env": {"PYTHONPATH": "/path/to/engram/clients/python"}}}}

Standard library and psycopg only: no MCP SDK is needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, Optional

from . import __version__
from .client import Memory
from .embedders import ServerEmbedder

PROTOCOL_VERSION = "2024-11-05"

TOOLS = [
    {
        "name": "remember",
        "description": "Store a memory (a fact, an event, a preference) for later recall. Returns its id.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "content": {"type": "string", "description": "what to remember"},
                "metadata": {"type": "object", "description": "optional JSON tags"},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["content"],
        },
    },
    {
        "name": "recall",
        "description": "Recall the memories most relevant to a query, best first.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "k": {"type": "integer", "minimum": 1, "maximum": 100, "default": 5},
                "metadata": {"type": "object", "description": "only memories whose metadata contains this"},
            },
            "required": ["query"],
        },
    },
    {
        "name": "forget",
        "description": "Delete a memory by id.",
        "inputSchema": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
    },
    {
        "name": "associate",
        "description": "Link two memories so that recalling one can bring up the other.",
        "inputSchema": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"},
                           "weight": {"type": "number", "minimum": 0, "maximum": 1}},
            "required": ["a", "b"],
        },
    },
]


class Server:
    def __init__(self, memory: Memory):
        self.memory = memory

    def call_tool(self, name: str, args: Dict[str, Any]) -> Dict[str, Any]:
        m = self.memory
        if name == "remember":
            mid = m.remember(args["content"], metadata=args.get("metadata"),
                             confidence=float(args.get("confidence", 1.0)))
            return {"id": mid}
        if name == "recall":
            hits = m.recall(args["query"], k=int(args.get("k", 5)), metadata=args.get("metadata"))
            return {"memories": [{"id": h.id, "content": h.content, "score": round(h.score, 4),
                                  "created_at": h.created_at.isoformat(), "metadata": h.metadata}
                                 for h in hits]}
        if name == "forget":
            return {"forgotten": m.forget(int(args["id"]))}
        if name == "associate":
            m.associate(int(args["a"]), int(args["b"]), float(args.get("weight", 1.0)))
            return {"associated": [int(args["a"]), int(args["b"])]}
        raise KeyError(name)

    def handle(self, msg: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """The response to one JSON-RPC message (None for a notification)."""
        method = msg.get("method")
        mid = msg.get("id")
        if mid is None:
            return None         # notifications (initialized, cancelled, ...): nothing to say
        params = msg.get("params") or {}
        if method == "initialize":
            result = {"protocolVersion": PROTOCOL_VERSION,
                      "capabilities": {"tools": {}},
                      "serverInfo": {"name": "engram", "version": __version__}}
        elif method == "ping":
            result = {}
        elif method == "tools/list":
            result = {"tools": TOOLS}
        elif method == "tools/call":
            name = params.get("name")
            if name not in {t["name"] for t in TOOLS}:
                return _error(mid, -32602, f"unknown tool: {name}")
            try:
                out = self.call_tool(name, params.get("arguments") or {})
                result = {"content": [{"type": "text", "text": json.dumps(out)}], "isError": False}
            except Exception as e:  # noqa: BLE001 -- a tool error is a result, not a crash
                result = {"content": [{"type": "text", "text": f"{type(e).__name__}: {e}"}],
                          "isError": True}
        else:
            return _error(mid, -32601, f"method not found: {method}")
        return {"jsonrpc": "2.0", "id": mid, "result": result}

    def serve(self, inp=sys.stdin, out=sys.stdout) -> None:
        for line in inp:
            line = line.strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except json.JSONDecodeError as e:
                reply = _error(None, -32700, f"parse error: {e}")
            else:
                reply = self.handle(msg) if isinstance(msg, dict) else _error(None, -32600, "invalid request")
            if reply is not None:
                out.write(json.dumps(reply) + "\n")
                out.flush()


def _error(mid, code: int, message: str) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "id": mid, "error": {"code": code, "message": message}}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m engram.mcp", description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", required=True, help="libpq connection string")
    ap.add_argument("--space", default="default")
    ap.add_argument("--dims", type=int, default=384, help="dimensions of engram.embed_text")
    ap.add_argument("--no-embed", action="store_true", help="store no embeddings; recall by text")
    ap.add_argument("--role", default=None, help="run every call as this role")
    a = ap.parse_args(argv)
    embedder = None if a.no_embed else ServerEmbedder(a.dims)
    with Memory(a.dsn, space=a.space, embedder=embedder, role=a.role) as memory:
        Server(memory).serve()


if __name__ == "__main__":
    main()
