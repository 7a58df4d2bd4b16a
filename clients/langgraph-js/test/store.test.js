// EngramStore against a real PostgreSQL with engram (ENGRAM_TEST_DSN), and
// inside a real LangGraph graph (@langchain/langgraph from npm).
// Run by test/t/090_langgraph_js.pl: node --test test/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { EngramStore } from "../src/index.js";

// a connection string in ENGRAM_TEST_DSN, or libpq's PGHOST/PGPORT/... variables
const dsn = process.env.ENGRAM_TEST_DSN;
if (!dsn && !process.env.PGHOST) throw new Error("set ENGRAM_TEST_DSN or PGHOST/PGPORT/PGDATABASE");
const pool = new pg.Pool(dsn ? { connectionString: dsn, max: 4 } : { max: 4 });
const space = "lgjs_" + randomUUID().slice(0, 8);
let store;

before(async () => {
  await pool.query("CREATE EXTENSION IF NOT EXISTS engram");
  store = new EngramStore({ pool, space, dims: 128 });
  await store.setup();
});

after(async () => {
  await pool.query("SELECT engram.drop_space($1, true)", [space]);
  await pool.end();
});

test("put, get, update, delete", async () => {
  const ns = ["users", "alice", "memories"];
  assert.equal(await store.get(ns, "k1"), null);
  await store.put(ns, "k1", { text: "likes green tea", n: 1 });
  const got = await store.get(ns, "k1");
  assert.deepEqual([got.namespace, got.key, got.value], [ns, "k1", { text: "likes green tea", n: 1 }]);
  assert.ok(got.createdAt instanceof Date && got.updatedAt instanceof Date);
  await new Promise((r) => setTimeout(r, 10));
  await store.put(ns, "k1", { text: "likes black coffee", n: 2 });
  const again = await store.get(ns, "k1");
  assert.equal(again.value.n, 2);
  assert.equal(again.createdAt.getTime(), got.createdAt.getTime());
  assert.ok(again.updatedAt > got.updatedAt);
  assert.equal((await store.search(["users", "alice"], { limit: 100 })).length, 1);
  assert.equal(await store.get(["users", "bob", "memories"], "k1"), null);
  await store.delete(ns, "k1");
  assert.equal(await store.get(ns, "k1"), null);
});

test("search: prefix, filter, paging, semantic query", async () => {
  for (let i = 0; i < 5; i++) {
    await store.put(["docs", "a"], `d${i}`, { kind: i % 2 === 0 ? "even" : "odd", i });
    await new Promise((r) => setTimeout(r, 3));
  }
  await store.put(["docs", "b"], "other", { kind: "even" });
  let res = await store.search(["docs"], { limit: 10 });
  assert.equal(res.length, 6);
  assert.equal(res[0].key, "other");
  res = await store.search(["docs", "a"], { filter: { kind: "even" } });
  assert.deepEqual(res.map((r) => r.key), ["d4", "d2", "d0"]);
  res = await store.search(["docs", "a"], { limit: 2, offset: 1 });
  assert.deepEqual(res.map((r) => r.key), ["d3", "d2"]);

  const ns = ["facts", "u1"];
  await store.put(ns, "f1", { text: "Alice works at the bakery on Main Street" }, ["text"]);
  await store.put(ns, "f2", { text: "Bob is allergic to peanuts" }, ["text"]);
  await store.put(["facts", "u2"], "x", { text: "Bob is allergic to peanuts" }, ["text"]);
  await store.put(ns, "f3", { text: "peanuts everywhere" }, false);
  res = await store.search(ns, { query: "what is Bob allergic to", limit: 2 });
  assert.equal(res[0].key, "f2");
  assert.equal(typeof res[0].score, "number");
  assert.ok(res.every((r) => r.namespace[1] === "u1"));
  res = await store.search(ns, { query: "peanuts", limit: 10 });
  assert.ok(!res.map((r) => r.key).includes("f3"));
});

test("a tenant with only a space grant: put (new and existing key), get, search, delete, listNamespaces", async () => {
  const role = "lgjs_tenant_" + randomUUID().slice(0, 8);
  await pool.query(`CREATE ROLE "${role}" LOGIN`);
  await pool.query("SELECT engram.grant_space($1, $2)", [space, role]);
  const privs = await pool.query(
    "SELECT pg_catalog.has_table_privilege($1, 'engram.memory', p) AS ok" +
    " FROM pg_catalog.unnest('{SELECT,INSERT,UPDATE,DELETE}'::text[]) p", [role]);
  assert.deepEqual(privs.rows.map((r) => r.ok), [true, false, false, false]);
  const tenantPool = new pg.Pool(dsn ? { connectionString: dsn, user: role, max: 2 } : { user: role, max: 2 });
  try {
    // connected as the tenant, and as the tenant through the `role` option
    const stores = [["login", new EngramStore({ pool: tenantPool, space, dims: 128 })],
      ["role option", new EngramStore({ pool, space, dims: 128, role })]];
    for (const [how, s] of stores) {
      const ns = ["tenant", how, "carol"];
      assert.equal(await s.get(ns, "pref"), null, how);
      await s.put(ns, "pref", { text: "likes green tea", n: 1 });
      const got = await s.get(ns, "pref");
      assert.deepEqual(got.value, { text: "likes green tea", n: 1 }, how);
      await new Promise((r) => setTimeout(r, 10));
      await s.put(ns, "pref", { text: "likes black coffee", n: 2 });
      const again = await s.get(ns, "pref");
      assert.deepEqual(again.value, { text: "likes black coffee", n: 2 }, how);
      assert.equal(again.createdAt.getTime(), got.createdAt.getTime(), how);
      assert.ok(again.updatedAt > got.updatedAt, how);
      await s.put(["tenant", how, "dave"], "pref", { text: "allergic to peanuts" }, ["text"]);
      assert.deepEqual((await s.search(["tenant", how, "carol"])).map((r) => r.key), ["pref"], how);
      assert.equal((await s.search(["tenant", how], { limit: 10 })).length, 2, how);
      const found = await s.search(["tenant", how], { query: "black coffee", limit: 1 });
      assert.deepEqual(found.map((r) => [r.namespace, r.key]), [[ns, "pref"]], how);
      assert.deepEqual(await s.listNamespaces({ prefix: ["tenant", how] }),
        [["tenant", how, "carol"], ["tenant", how, "dave"]], how);
      // the update was engram.put's new version of one keyed memory
      const rows = await pool.query(
        "SELECT key, namespace, version FROM engram.memory WHERE space = $1 AND namespace[1:2] = $2::text[]" +
        " ORDER BY namespace", [space, ["tenant", how]]);
      assert.deepEqual(rows.rows.map((r) => [r.key, r.namespace, r.version]),
        [["pref", ns, 2], ["pref", ["tenant", how, "dave"], 1]], how);
      await s.delete(ns, "pref");
      assert.equal(await s.get(ns, "pref"), null, how);
      await s.delete(ns, "pref");
      assert.deepEqual(await s.listNamespaces({ prefix: ["tenant", how] }), [["tenant", how, "dave"]], how);
      await s.delete(["tenant", how, "dave"], "pref");
      assert.deepEqual(await s.listNamespaces({ prefix: ["tenant"] }), [], how);
    }
  } finally {
    await tenantPool.end();
    await pool.query("SELECT engram.revoke_space($1, $2)", [space, role]);
    await pool.query(`DROP OWNED BY "${role}"`);
    await pool.query(`DROP ROLE "${role}"`);
  }
});

test("listNamespaces and batch", async () => {
  const s = new EngramStore({ pool, space, dims: 128 });
  for (const ns of [["n", "b", "c"], ["n", "b", "d", "e"], ["n", "b", "d", "i"], ["n", "b", "f"], ["n", "c", "f"]]) {
    await s.put(ns, "k", { v: 1 });
  }
  assert.deepEqual(await s.listNamespaces({ prefix: ["n", "b"], maxDepth: 3 }),
    [["n", "b", "c"], ["n", "b", "d"], ["n", "b", "f"]]);
  assert.deepEqual(await s.listNamespaces({ prefix: ["n", "*", "f"] }), [["n", "b", "f"], ["n", "c", "f"]]);
  assert.deepEqual(await s.listNamespaces({ prefix: ["n"], suffix: ["f"] }), [["n", "b", "f"], ["n", "c", "f"]]);
  const r = await s.batch([
    { namespace: ["bt"], key: "x", value: { v: 1 } },
    { namespace: ["bt"], key: "x" },
    { namespacePrefix: ["bt"] },
    { namespace: ["bt"], key: "x", value: null },
    { namespace: ["bt"], key: "x" },
  ]);
  assert.equal(r[0], undefined);
  assert.deepEqual(r[1].value, { v: 1 });
  assert.deepEqual(r[2].map((i) => i.key), ["x"]);
  assert.equal(r[4], null);
  // LangGraph validates namespaces itself (its BaseStore.put), before batch
  await assert.rejects(async () => s.put(["bad.label"], "k", { v: 1 }), /cannot contain periods/);
  await assert.rejects(s.batch([{ namespace: ["bad.label"], key: "k", value: { v: 1 } }]), /invalid namespace label/);
});

test("a LangGraph graph remembers and recalls through the store", async () => {
  const State = Annotation.Root({
    messages: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }),
  });
  const agent = async (state, config) => {
    const memStore = config.store;
    const ns = ["memories", config.configurable.user_id];
    const last = state.messages[state.messages.length - 1];
    if (last.startsWith("remember ")) {
      await memStore.put(ns, randomUUID(), { data: last.slice("remember ".length) }, ["data"]);
      return { messages: ["ok"] };
    }
    const found = await memStore.search(ns, { query: last, limit: 3 });
    return { messages: [found.length ? `I recall: ${found[0].value.data}` : "I recall nothing"] };
  };
  const graph = new StateGraph(State).addNode("agent", agent)
    .addEdge(START, "agent").addEdge("agent", END).compile({ store });
  const cfg = { configurable: { user_id: "u42" } };
  await graph.invoke({ messages: ["remember my name is Ada"] }, cfg);
  await graph.invoke({ messages: ["remember I live in Oslo"] }, cfg);
  const out = await graph.invoke({ messages: ["where do I live"] }, cfg);
  assert.equal(out.messages[out.messages.length - 1], "I recall: I live in Oslo");
  const other = await graph.invoke({ messages: ["where do I live"] }, { configurable: { user_id: "nobody" } });
  assert.equal(other.messages[other.messages.length - 1], "I recall nothing");
  // the memories are engram memories, recallable through engram's own API
  const r = await pool.query(
    "SELECT count(*)::int AS n FROM engram.memory WHERE space = $1 AND metadata @> $2::jsonb",
    [space, JSON.stringify({ lg_ns: "memories.u42" })]);
  assert.equal(r.rows[0].n, 2);
});
