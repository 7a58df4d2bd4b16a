"""The MCP server (python3 -m engram.mcp) as an MCP client sees it: a
subprocess spoken to over stdio, against a real PostgreSQL with engram."""

import json
import os
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from engram import Memory  # noqa: E402

DSN = os.environ.get("ENGRAM_TEST_DSN")
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


@unittest.skipIf(DSN is None, "ENGRAM_TEST_DSN is not set")
class McpServerTest(unittest.TestCase):

    def setUp(self):
        self.space = "mcp_" + uuid.uuid4().hex[:8]
        self.admin = Memory(DSN)
        self.admin.create_space(self.space)
        env = dict(os.environ, PYTHONPATH=HERE)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engram.mcp", "--dsn", DSN, "--space", self.space, "--dims", "64"],
            # cwd: -m puts it first on sys.path, and a directory holding the
            # extension's engram.so would shadow the engram package
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, cwd=HERE)
        self.next_id = 0

    def tearDown(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.admin.drop_space(self.space, cascade=True)
        self.admin.close()

    def send(self, method, params=None, notify=False):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        if not notify:
            self.next_id += 1
            msg["id"] = self.next_id
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        if notify:
            return None
        reply = json.loads(self.proc.stdout.readline())
        self.assertEqual(reply["id"], self.next_id)
        return reply

    def call(self, name, **args):
        r = self.send("tools/call", {"name": name, "arguments": args})["result"]
        return r, json.loads(r["content"][0]["text"]) if not r["isError"] else r["content"][0]["text"]

    def test_session(self):
        init = self.send("initialize", {"protocolVersion": "2024-11-05", "capabilities": {},
                                        "clientInfo": {"name": "test", "version": "0"}})["result"]
        self.assertEqual(init["serverInfo"]["name"], "engram")
        self.assertIn("tools", init["capabilities"])
        self.send("notifications/initialized", notify=True)
        self.assertEqual(self.send("ping")["result"], {})
        tools = {t["name"]: t for t in self.send("tools/list")["result"]["tools"]}
        self.assertEqual(set(tools), {"remember", "recall", "forget", "associate"})
        self.assertEqual(tools["recall"]["inputSchema"]["required"], ["query"])

        _, a = self.call("remember", content="The user's favourite colour is teal.",
                         metadata={"kind": "preference"})
        _, b = self.call("remember", content="The user flies to Tokyo on May 3rd.")
        _, res = self.call("recall", query="what colour does the user like", k=2)
        self.assertEqual(res["memories"][0]["id"], a["id"])
        self.assertEqual(res["memories"][0]["metadata"], {"kind": "preference"})
        _, res = self.call("recall", query="user", metadata={"kind": "preference"})
        self.assertEqual([m["id"] for m in res["memories"]], [a["id"]])
        _, assoc = self.call("associate", a=a["id"], b=b["id"], weight=0.5)
        self.assertEqual(assoc["associated"], [a["id"], b["id"]])
        _, f = self.call("forget", id=b["id"])
        self.assertEqual(f, {"forgotten": True})
        # errors: a failing tool is a result with isError, bad requests are JSON-RPC errors
        r, text = self.call("associate", a=a["id"], b=10 ** 15)
        self.assertTrue(r["isError"])
        self.assertIn("NoDataFound", text)
        self.assertEqual(self.send("tools/call", {"name": "nope", "arguments": {}})["error"]["code"], -32602)
        self.assertEqual(self.send("resources/list")["error"]["code"], -32601)
        self.proc.stdin.write("not json\n")
        self.proc.stdin.flush()
        self.assertEqual(json.loads(self.proc.stdout.readline())["error"]["code"], -32700)
        # the server, and its database connection, kept going after every error
        self.assertEqual(self.send("ping")["result"], {})
        _, res = self.call("recall", query="favourite colour", k=1)
        self.assertEqual(res["memories"][0]["id"], a["id"])


if __name__ == "__main__":
    unittest.main()
