"""Tests of the engram Python client against a real PostgreSQL with engram.

ENGRAM_TEST_DSN names a database where the caller may CREATE EXTENSION and
CREATE ROLE (a throwaway cluster's superuser: test/t/080_python_client.pl
starts one and runs these tests).  Standard library unittest only, so that
Debian's python3-psycopg is the one dependency.
"""

import os
import sys
import threading
import unittest
import uuid
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import psycopg  # noqa: E402

from engram import (Consolidation, FunctionEmbedder, Memory, Recalled,  # noqa: E402
                    ServerEmbedder, Space, Spread)

DSN = os.environ.get("ENGRAM_TEST_DSN")


def letters_embedder(texts):
    """A toy embedder: counts of a, e, i, o, u, s, t, r (8 dimensions)."""
    return [[t.lower().count(c) + 0.01 for c in "aeioustr"] for t in texts]


def unique(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@unittest.skipIf(DSN is None, "ENGRAM_TEST_DSN is not set")
class MemoryTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with psycopg.connect(DSN, autocommit=True) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS engram")

    def setUp(self):
        self.space = unique("t")
        self.mem = Memory(DSN, space=self.space, embedder=ServerEmbedder(64))
        self.mem.create_space(self.space)

    def tearDown(self):
        self.mem.drop_space(self.space, cascade=True)
        self.mem.close()

    def test_remember_and_recall_typed(self):
        a = self.mem.remember("Alice met Bob at the coffee shop on Friday.",
                              metadata={"who": "alice"})
        self.mem.remember("The quarterly report is due next Tuesday.")
        self.mem.remember("Bob prefers tea over coffee.")
        res = self.mem.recall("where did Alice meet Bob", k=2)
        self.assertEqual(len(res), 2)
        self.assertIsInstance(res[0], Recalled)
        self.assertEqual(res[0].id, a)
        self.assertEqual(res[0].metadata, {"who": "alice"})
        self.assertIsInstance(res[0].created_at, datetime)
        self.assertGreaterEqual(res[0].score, res[1].score)
        self.assertGreater(res[0].similarity, 0.0)
        self.assertEqual(res[0].tier, "hot")

    def test_text_only_without_embedder(self):
        plain = self.mem.in_space(self.space)
        plain.embedder = None
        mid = plain.remember("The deploy key rotates every ninety days.")
        plain.remember("Lunch is at noon.")
        res = plain.recall("deploy key")
        self.assertEqual([r.id for r in res], [mid])

    def test_pluggable_embedder(self):
        space = unique("emb")
        m = Memory(DSN, space=space, embedder=FunctionEmbedder(letters_embedder, dims=8))
        try:
            m.create_space(space, 8)
            x = m.remember("aaaa")
            m.remember("ssss tttt")
            res = m.recall("aaa", k=1)
            self.assertEqual(res[0].id, x)
            self.assertEqual(m.spaces()[[s.name for s in m.spaces()].index(space)].dims, 8)
            bad = Memory(DSN, space=space,
                         embedder=FunctionEmbedder(lambda ts: [[1.0, 2.0] for _ in ts], dims=8))
            with self.assertRaises(ValueError):
                bad.remember("x")
            bad.close()
            # a vector of the wrong dimensions for the space: the server refuses it
            with self.assertRaises(psycopg.errors.DataException):
                m.remember("y", embedding=[1.0, 2.0])
        finally:
            m.drop_space(space, cascade=True)
            m.close()

    def test_filters(self):
        old = self.mem.remember("coffee with the team", confidence=0.3,
                                metadata={"topic": "social"})
        new = self.mem.remember("coffee machine repair", confidence=0.9,
                                metadata={"topic": "office"})
        ids = lambda rs: sorted(r.id for r in rs)  # noqa: E731
        self.assertEqual(ids(self.mem.recall("coffee")), sorted([old, new]))
        self.assertEqual(ids(self.mem.recall("coffee", min_confidence=0.5)), [new])
        self.assertEqual(ids(self.mem.recall("coffee", metadata={"topic": "social"})), [old])
        future = datetime.now(timezone.utc) + timedelta(hours=1)
        self.assertEqual(self.mem.recall("coffee", since=future), [])
        self.assertEqual(ids(self.mem.recall("coffee", until=future)), sorted([old, new]))
        self.assertEqual(ids(self.mem.recall(text="repair")), [new])
        plain = self.mem.in_space(self.space)
        plain.embedder = None
        with self.assertRaises(ValueError):
            plain.recall()

    def test_forget(self):
        a = self.mem.remember("to be forgotten")
        self.mem.remember("low confidence", confidence=0.05)
        self.mem.remember("kept")
        self.assertTrue(self.mem.forget(a))
        self.assertFalse(self.mem.forget(a))
        self.assertEqual(self.mem.forget_where(below_confidence=0.1), 1)
        self.assertEqual([r.content for r in self.mem.recall("kept forgotten confidence")], ["kept"])

    def test_associate_and_spread(self):
        a = self.mem.remember("first")
        b = self.mem.remember("second")
        c = self.mem.remember("third")
        self.mem.associate(a, b, 0.8)
        self.mem.associate(b, c, 0.5)
        got = {s.id: s for s in self.mem.spread([a], max_hops=2, decay=1.0)}
        self.assertIsInstance(got[b], Spread)
        self.assertEqual(got[a].hops, 0)
        self.assertEqual(got[b].hops, 1)
        self.assertEqual(got[c].hops, 2)
        self.assertAlmostEqual(got[b].activation, 0.8, places=5)
        self.assertAlmostEqual(got[c].activation, 0.4, places=5)
        with self.assertRaises(psycopg.errors.NoDataFound):
            self.mem.associate(a, 10 ** 15)

    def test_consolidate(self):
        self.mem.remember("the cat sat on the mat", confidence=0.6)
        self.mem.remember("the cat sat on the mat", confidence=0.8)
        self.mem.remember("an unrelated note about taxes")
        r = self.mem.consolidate()
        self.assertIsInstance(r, Consolidation)
        self.assertEqual(r.grouped, 2)
        self.assertEqual(r.semantic_created, 1)
        got = self.mem.recall("cat mat", k=5)
        semantic = [r for r in got if "sources" in r.metadata]
        self.assertEqual(len(semantic), 1)
        self.assertEqual(len(semantic[0].metadata["sources"]), 2)
        self.assertEqual(sum(1 for r in got if "consolidated_into" in r.metadata), 2)

    def test_spaces(self):
        name = unique("sp")
        self.mem.create_space(name, 16)
        found = [s for s in self.mem.spaces() if s.name == name]
        self.assertEqual(len(found), 1)
        self.assertIsInstance(found[0], Space)
        self.assertEqual(found[0].dims, 16)
        self.mem.drop_space(name)
        self.assertFalse(any(s.name == name for s in self.mem.spaces()))
        with self.assertRaises(psycopg.errors.UndefinedObject):
            self.mem.in_space(unique("nosuch")).remember("x")

    def test_per_request_role(self):
        ta, tb = unique("tenant_a"), unique("tenant_b")
        sa, sb = unique("sa"), unique("sb")
        with psycopg.connect(DSN, autocommit=True) as c:
            login = c.execute("SELECT current_user").fetchone()[0]
            for r in (ta, tb):
                c.execute(f'CREATE ROLE "{r}" NOLOGIN')
                c.execute(f'GRANT "{r}" TO "{login}"')
        try:
            admin = Memory(DSN, embedder=ServerEmbedder(64))
            for s, r in ((sa, ta), (sb, tb)):
                admin.create_space(s)
                admin.grant_space(s, r)
            a = admin.as_role(ta).in_space(sa)
            b = admin.as_role(tb).in_space(sb)
            ida = a.remember("tenant a's secret plan")
            idb = b.remember("tenant b's secret plan")
            self.assertEqual([r.id for r in a.recall("secret plan")], [ida])
            self.assertEqual([r.id for r in b.recall("secret plan")], [idb])
            # tenant a can neither read nor write tenant b's space
            with self.assertRaises(psycopg.errors.InsufficientPrivilege):
                a.in_space(sb).recall("secret plan")
            with self.assertRaises(psycopg.errors.InsufficientPrivilege):
                a.in_space(sb).remember("intrusion")
            # the role never outlives the call on the shared connection ...
            with admin._connection.cursor() as cur:
                self.assertEqual(cur.execute("SELECT current_user").fetchone()[0], login)
            admin._connection.rollback()
            # ... nor inside a transaction of the caller's own
            with psycopg.connect(DSN) as conn:
                m = Memory(connection=conn, space=sa, role=ta, embedder=ServerEmbedder(64))
                with conn.transaction():
                    self.assertEqual(len(m.recall("secret plan")), 1)
                    self.assertEqual(conn.execute("SELECT current_user").fetchone()[0], login)
            for s, r in ((sa, ta), (sb, tb)):
                admin.revoke_space(s, r)
                admin.drop_space(s, cascade=True)
            admin.close()
        finally:
            with psycopg.connect(DSN, autocommit=True) as c:
                for r in (ta, tb):
                    c.execute(f'DROP OWNED BY "{r}"')
                    c.execute(f'DROP ROLE "{r}"')

    def test_pool(self):
        try:
            from psycopg_pool import ConnectionPool
        except ImportError:
            self.skipTest("psycopg_pool is not installed")
        with ConnectionPool(DSN, min_size=2, max_size=2, open=True) as pool:
            m = Memory(pool=pool, space=self.space, embedder=ServerEmbedder(64))
            errors = []

            def work(i):
                try:
                    m.remember(f"note number {i} from a thread")
                except Exception as e:  # noqa: BLE001
                    errors.append(e)

            threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            self.assertEqual(len(m.recall("note thread", k=20)), 8)

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            Memory()
        with self.assertRaises(ValueError):
            self.mem.recall("x", k=0)
        with self.assertRaises(ValueError):
            ServerEmbedder(0)


if __name__ == "__main__":
    unittest.main()
