"""EngramStore (engram.langgraph) against a real PostgreSQL with engram.

LangGraph itself cannot be installed here (no Python package index), so
these tests use engram._langgraph_base, stand-ins with the names and
fields of LangGraph's documented store interface, and a node function
written the way LangGraph's memory examples write one (it receives the
store and reads and writes through it).  When langgraph is installed, the
same tests run against its real BaseStore and operation classes.
"""

import asyncio
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from engram import Memory, ServerEmbedder  # noqa: E402
from engram.langgraph import (EngramStore, GetOp, Item, ListNamespacesOp,  # noqa: E402
                              PutOp, SearchItem, SearchOp)

DSN = os.environ.get("ENGRAM_TEST_DSN")


@unittest.skipIf(DSN is None, "ENGRAM_TEST_DSN is not set")
class EngramStoreTest(unittest.TestCase):

    def setUp(self):
        self.space = "lg_" + uuid.uuid4().hex[:8]
        self.mem = Memory(DSN, embedder=ServerEmbedder(128))
        self.store = EngramStore(self.mem, space=self.space)

    def tearDown(self):
        self.mem.drop_space(self.space, cascade=True)
        self.mem.close()

    def test_put_get_update_delete(self):
        ns = ("users", "alice", "memories")
        self.assertIsNone(self.store.get(ns, "k1"))
        self.store.put(ns, "k1", {"text": "likes green tea", "n": 1})
        got = self.store.get(ns, "k1")
        self.assertIsInstance(got, Item)
        self.assertEqual((got.namespace, got.key, got.value), (ns, "k1", {"text": "likes green tea", "n": 1}))
        time.sleep(0.01)
        self.store.put(ns, "k1", {"text": "likes black coffee", "n": 2})
        again = self.store.get(ns, "k1")
        self.assertEqual(again.value["n"], 2)
        self.assertEqual(again.created_at, got.created_at)
        self.assertGreater(again.updated_at, got.updated_at)
        # one memory per (namespace, key), and nothing of another namespace
        self.assertEqual(len(self.store.search(("users",), limit=100)), 1)
        self.assertIsNone(self.store.get(("users", "bob", "memories"), "k1"))
        self.store.delete(ns, "k1")
        self.assertIsNone(self.store.get(ns, "k1"))
        self.store.delete(ns, "k1")        # deleting nothing is fine

    def test_search_prefix_filter_paging(self):
        for i in range(5):
            self.store.put(("docs", "a"), f"d{i}", {"kind": "even" if i % 2 == 0 else "odd", "i": i})
            time.sleep(0.002)
        self.store.put(("docs", "b"), "other", {"kind": "even", "i": 99})
        self.store.put(("misc",), "m", {"kind": "even"})
        res = self.store.search(("docs",), limit=10)
        self.assertTrue(all(isinstance(r, SearchItem) for r in res))
        self.assertEqual(len(res), 6)
        self.assertEqual(res[0].key, "other")          # newest first
        self.assertEqual([r.key for r in self.store.search(("docs", "a"), filter={"kind": "even"})],
                         ["d4", "d2", "d0"])
        self.assertEqual([r.key for r in self.store.search(("docs", "a"), limit=2, offset=1)], ["d3", "d2"])
        self.assertEqual(self.store.search(("nothing",)), [])

    def test_semantic_search(self):
        ns = ("users", "u1", "facts")
        self.store.put(ns, "f1", {"text": "Alice works at the bakery on Main Street"}, index=["text"])
        self.store.put(ns, "f2", {"text": "Bob is allergic to peanuts"}, index=["text"])
        self.store.put(ns, "f3", {"text": "The offsite is in Lisbon"}, index=["text"])
        self.store.put(("users", "u2", "facts"), "x", {"text": "Bob is allergic to peanuts"}, index=["text"])
        self.store.put(ns, "f4", {"text": "peanuts everywhere"}, index=False)   # not embedded
        res = self.store.search(("users", "u1"), query="what is Bob allergic to", limit=2)
        self.assertEqual(res[0].key, "f2")
        self.assertIsInstance(res[0].score, float)
        self.assertTrue(all(r.namespace[:2] == ("users", "u1") for r in res))
        self.assertNotIn("f4", [r.key for r in self.store.search(ns, query="peanuts", limit=10)])
        filtered = self.store.search(ns, query="bakery", filter={"text": "The offsite is in Lisbon"})
        self.assertEqual([r.key for r in filtered], ["f3"])

    def test_list_namespaces(self):
        for ns in [("a", "b", "c"), ("a", "b", "d", "e"), ("a", "b", "d", "i"), ("a", "b", "f"),
                   ("a", "c", "f")]:
            self.store.put(ns, "k", {"v": 1})
        ls = self.store.list_namespaces
        self.assertEqual(ls(prefix=("a", "b"), max_depth=3), [("a", "b", "c"), ("a", "b", "d"), ("a", "b", "f")])
        self.assertEqual(ls(suffix=("f",)), [("a", "b", "f"), ("a", "c", "f")])
        self.assertEqual(ls(prefix=("a", "*", "f")), [("a", "b", "f"), ("a", "c", "f")])
        self.assertEqual(ls(max_depth=1), [("a",)])
        self.assertEqual(len(ls()), 5)
        self.assertEqual(ls(limit=2, offset=1), [("a", "b", "d", "e"), ("a", "b", "d", "i")])

    def test_batch_and_abatch(self):
        ns = ("batch",)
        results = self.store.batch([
            PutOp(ns, "x", {"v": 1}), GetOp(ns, "x"), SearchOp(ns), ListNamespacesOp(),
            PutOp(ns, "x", None), GetOp(ns, "x"),
        ])
        self.assertIsNone(results[0])
        self.assertEqual(results[1].value, {"v": 1})
        self.assertEqual([r.key for r in results[2]], ["x"])
        self.assertEqual(results[3], [ns])
        self.assertIsNone(results[5])

        async def run():
            await self.store.aput(ns, "y", {"v": 2})
            item = await self.store.aget(ns, "y")
            found = await self.store.asearch(ns)
            await self.store.adelete(ns, "y")
            return item, found, await self.store.aget(ns, "y")

        item, found, gone = asyncio.run(run())
        self.assertEqual(item.value, {"v": 2})
        self.assertEqual(len(found), 1)
        self.assertIsNone(gone)

    def test_tenant_with_space_grant_only(self):
        """A login role holding only engram.grant_space (SELECT on
        engram.memory, no INSERT/UPDATE/DELETE) uses the store: every write
        goes through engram.put / engram.delete_key."""
        import psycopg
        role = "lg_tenant_" + uuid.uuid4().hex[:8]
        with psycopg.connect(DSN, autocommit=True) as c:
            c.execute(f'CREATE ROLE "{role}" LOGIN')
            c.execute("SELECT engram.grant_space(%s, %s)", (self.space, role))
            privs = c.execute("SELECT pg_catalog.has_table_privilege(%s, 'engram.memory', p)"
                              " FROM pg_catalog.unnest('{SELECT,INSERT,UPDATE,DELETE}'::text[]) p",
                              (role,)).fetchall()
            self.assertEqual([p[0] for p in privs], [True, False, False, False])
        tenant = Memory(DSN + f" user={role}", embedder=ServerEmbedder(128))
        try:
            store = EngramStore(tenant, space=self.space)
            ns = ("users", "carol")
            self.assertIsNone(store.get(ns, "pref"))
            store.put(ns, "pref", {"text": "likes green tea", "n": 1})            # new key
            got = store.get(ns, "pref")
            self.assertEqual(got.value, {"text": "likes green tea", "n": 1})
            time.sleep(0.01)
            store.put(ns, "pref", {"text": "likes black coffee", "n": 2})         # existing key
            again = store.get(ns, "pref")
            self.assertEqual(again.value, {"text": "likes black coffee", "n": 2})
            self.assertEqual(again.created_at, got.created_at)
            self.assertGreater(again.updated_at, got.updated_at)
            store.put(("users", "dave"), "pref", {"text": "allergic to peanuts"}, index=["text"])
            self.assertEqual([r.key for r in store.search(("users", "carol"))], ["pref"])
            self.assertEqual(len(store.search(("users",), limit=10)), 2)
            found = store.search(("users",), query="black coffee", limit=1)
            self.assertEqual([(r.namespace, r.key) for r in found], [(ns, "pref")])
            self.assertEqual(store.list_namespaces(prefix=("users",)),
                             [("users", "carol"), ("users", "dave")])
            # the update was engram.put's new version of one keyed memory
            with psycopg.connect(DSN) as c:
                rows = c.execute("SELECT key, namespace, version FROM engram.memory"
                                 " WHERE space = %s ORDER BY key, namespace", (self.space,)).fetchall()
            self.assertEqual(rows, [("pref", ["users", "carol"], 2), ("pref", ["users", "dave"], 1)])
            store.delete(ns, "pref")
            self.assertIsNone(store.get(ns, "pref"))
            store.delete(ns, "pref")          # deleting nothing is fine
            self.assertEqual(store.list_namespaces(), [("users", "dave")])
        finally:
            tenant.close()
            with psycopg.connect(DSN, autocommit=True) as c:
                c.execute("SELECT engram.revoke_space(%s, %s)", (self.space, role))
                c.execute(f'DROP OWNED BY "{role}"')
                c.execute(f'DROP ROLE "{role}"')

    def test_item_of_an_older_store_moves_to_a_key(self):
        """An item written before 0.2.0 (a memory without a key, found by its
        metadata) is read, and the next put replaces it by a keyed memory."""
        ns = ("old", "u1")
        self.mem.in_space(self.space).remember(
            "likes tea", metadata={"lg_ns": "old.u1", "lg_prefixes": ["old", "old.u1"], "lg_key": "k",
                                   "value": {"v": 1}, "lg_updated_at": "2025-01-01T00:00:00+00:00"})
        self.assertEqual(self.store.get(ns, "k").value, {"v": 1})
        self.store.put(ns, "k", {"v": 2})
        self.assertEqual(self.store.get(ns, "k").value, {"v": 2})
        with self.mem._cursor() as cur:
            cur.execute("SELECT key FROM engram.memory WHERE space = %s", (self.space,))
            self.assertEqual([r["key"] for r in cur.fetchall()], ["k"])
        self.store.delete(ns, "k")
        self.assertIsNone(self.store.get(ns, "k"))

    def test_invalid_namespace(self):
        with self.assertRaises(ValueError):
            self.store.put((), "k", {"v": 1})
        with self.assertRaises(ValueError):
            self.store.put(("a.b",), "k", {"v": 1})
        with self.assertRaises(TypeError):
            self.store.batch([PutOp(("a",), "k", ["not", "a", "dict"])])

    def test_node_uses_store(self):
        """A graph node in the style of LangGraph's long-term-memory examples:
        it recalls the user's memories, answers, and stores what it learnt."""

        def call_model(state, *, store, config):
            user = config["configurable"]["user_id"]
            ns = ("memories", user)
            found = store.search(ns, query=state["messages"][-1], limit=3)
            if state["messages"][-1].startswith("remember "):
                fact = state["messages"][-1][len("remember "):]
                store.put(ns, str(uuid.uuid4()), {"data": fact}, index=["data"])
                return {"messages": state["messages"] + ["ok"]}
            best = found[0].value["data"] if found else "nothing"
            return {"messages": state["messages"] + [f"I recall: {best}"]}

        cfg = {"configurable": {"user_id": "u42"}}
        for msg in ["remember my name is Ada", "remember I live in Oslo"]:
            call_model({"messages": [msg]}, store=self.store, config=cfg)
        out = call_model({"messages": ["where do I live"]}, store=self.store, config=cfg)
        self.assertEqual(out["messages"][-1], "I recall: I live in Oslo")
        other = call_model({"messages": ["where do I live"]}, store=self.store,
                           config={"configurable": {"user_id": "someone_else"}})
        self.assertEqual(other["messages"][-1], "I recall: nothing")


if __name__ == "__main__":
    unittest.main()
